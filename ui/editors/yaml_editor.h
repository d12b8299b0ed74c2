// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <Qsci/qsciscintilla.h>

#include "core/diagnostic.h"

namespace bindery::core {
class BindingRegistry;
struct BindingMetadata;
} // namespace bindery::core

namespace bindery::ui {

/**
 * @brief The component YAML editor: QScintilla with the YAML lexer, folding, line numbers,
 * diagnostics (squiggle, margin marker, tooltip) and schema-driven completion.
 *
 * UI thread. Completion (Ctrl+Space, or typing after `name: ` / `value: ` / `type: `) offers the
 * metadata names of the component's spec.type, the allowed values of the field on the line above,
 * and the registry's binding types.
 */
class YamlEditor final : public QsciScintilla
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(YamlEditor)

public:
    /// Takes the palette's colours (Scintilla does not follow the palette by itself).
    void applyPalette();
    enum Marker { ErrorMarker = 1, WarningMarker = 2 };
    enum ListId { NameList = 1, ValueList = 2, TypeList = 3 };

    explicit YamlEditor(const core::BindingRegistry &registry, QWidget *parent = nullptr);

    void setDiagnostics(const core::Diagnostics &diagnostics);
    const core::Diagnostics &diagnostics() const { return m_diagnostics; }
    /// Diagnostics whose line is `line` (1-based).
    core::Diagnostics diagnosticsAt(int line) const;
    /// The spec.type written in the buffer, or empty.
    QString componentType() const;
    /// What completion would offer at the cursor (also used by tests). Sets *listId.
    QStringList completionsAtCursor(int *listId) const;

public Q_SLOTS:
    void complete();

private:
    void onCharAdded(int ch);
    void onDwell(int position, int x, int y);
    void onUserList(int id, const QString &text);
    const core::BindingMetadata *metadata() const;

    const core::BindingRegistry &m_registry;
    core::Diagnostics m_diagnostics;
    int m_errorIndicator = 8;
    int m_warningIndicator = 9;
};

/// Gives a QScintilla editor the palette's colours (text, paper, margins, caret line,
/// selection), lifting the lexer's styles on dark palettes. UI thread.
void applyPaletteTo(QsciScintilla *editor);

} // namespace bindery::ui
