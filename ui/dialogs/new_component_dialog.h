// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <QDialog>

class QLineEdit;
class QListWidget;
class QPlainTextEdit;

namespace bindery::core {
class BindingRegistry;
struct BindingMetadata;
} // namespace bindery::core

namespace bindery::ui {

/**
 * @brief New component from the catalog of binding types the registry has (never test-only
 * ones): required fields pre-filled from their examples, written as valid Dapr YAML. UI thread.
 */
class NewComponentDialog final : public QDialog
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(NewComponentDialog)

public:
    NewComponentDialog(const core::BindingRegistry &registry, const QString &folder,
                       QWidget *parent = nullptr);

    /// The file written on accept.
    QString filePath() const { return m_path; }
    /// A Dapr component manifest for `meta` named `name`, required fields from their examples.
    static QString componentYaml(const core::BindingMetadata &meta, const QString &name);

    void accept() override;

private:
    void updatePreview();

    const core::BindingRegistry &m_registry;
    QString m_folder;
    QString m_path;
    QListWidget *m_list = nullptr;
    QLineEdit *m_name = nullptr;
    QPlainTextEdit *m_preview = nullptr;
};

} // namespace bindery::ui
