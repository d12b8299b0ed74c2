// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <QWidget>

#include "core/diagnostic.h"

class QLabel;
class QTabWidget;
class QTimer;
class QTreeWidget;
class QTreeWidgetItem;

namespace bindery::core {
class BindingRegistry;
struct ComponentStatus;
} // namespace bindery::core

namespace bindery::ui {

class ComponentForm;
class FindReplaceBar;
class YamlEditor;

/**
 * @brief One open component file: the YAML editor, the generated form (kept in sync both ways),
 * the problems list and the runtime's init result for its components. UI thread.
 */
class EditorPane final : public QWidget
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(EditorPane)

public:
    EditorPane(const core::BindingRegistry &registry, const QString &path,
               QWidget *parent = nullptr);

    QString path() const { return m_path; }
    bool load();
    /// Writes the buffer; false (and an error in *error) when the file cannot be written.
    bool save(QString *error = nullptr);
    bool isModified() const;
    void setText(const QString &text);
    QString text() const;

    YamlEditor *editor() const { return m_editor; }
    ComponentForm *form() const { return m_form; }
    QTreeWidget *problems() const { return m_problems; }
    /// Re-checks now (normally debounced after each edit).
    void recheck();
    const core::Diagnostics &diagnostics() const;
    /// Shows the runtime's view of this file's components (after a save + reload).
    void showRuntimeStatus(const QList<core::ComponentStatus> &components, bool running);
    void showFormTab(bool form);
    /// Opens the find (and replace) bar over the YAML.
    void openFind(bool replace);
    /// A line above the runtime status (e.g. "saved, not reloaded"); empty hides it.
    void setKeptNotice(const QString &text);
    QString statusText() const;
    FindReplaceBar *findBar() const { return m_find; }
    /// Applies a problem's "did you mean" fix; false when it has none.
    bool applyFix(QTreeWidgetItem *item);

Q_SIGNALS:
    void modificationChanged(bool modified);
    void diagnosticsChanged(int errors, int warnings);

private:
    void onTextChanged();
    void applyToForm();
    void onFieldEdited(const QString &name, const QString &value);
    void onSecretRef(const QString &name);
    void replaceTextKeepingView(const QString &text);

    const core::BindingRegistry &m_registry;
    QString m_path;
    YamlEditor *m_editor = nullptr;
    ComponentForm *m_form = nullptr;
    QTabWidget *m_tabs = nullptr;
    QTreeWidget *m_problems = nullptr;
    QLabel *m_status = nullptr;
    QTimer *m_debounce = nullptr;
    bool m_syncing = false;
    FindReplaceBar *m_find = nullptr;
    QString m_keptNotice;
    QString m_runtimeLines;
    QList<QPair<int, QString>> m_runtimeProblems; ///< (1 error / 0 warning, text) from the runtime
};

} // namespace bindery::ui
