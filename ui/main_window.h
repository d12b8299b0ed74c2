// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <QMainWindow>

namespace bindery::core {
class BindingRegistry;
}

namespace bindery::ui {

/** @brief The console's main window (placeholder until the console issue lands). UI thread. */
class MainWindow final : public QMainWindow
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(MainWindow)

public:
    explicit MainWindow(const core::BindingRegistry &registry, QWidget *parent = nullptr);
    void openWorkspace(const QString &folder);
    void openLastWorkspace();

private:
    const core::BindingRegistry &m_registry;
};

} // namespace bindery::ui
