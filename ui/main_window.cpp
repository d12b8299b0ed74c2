// SPDX-License-Identifier: Apache-2.0
#include "ui/main_window.h"

#include <QLabel>

#include "core/binding_registry.h"

namespace bindery::ui {

MainWindow::MainWindow(const core::BindingRegistry &registry, QWidget *parent)
    : QMainWindow(parent)
    , m_registry(registry)
{
    setWindowTitle(QStringLiteral("Bindery"));
    setCentralWidget(new QLabel(QStringLiteral("Bindery"), this));
}

void MainWindow::openWorkspace(const QString &folder)
{
    setWindowTitle(QStringLiteral("Bindery — ") + folder);
}

void MainWindow::openLastWorkspace() {}

} // namespace bindery::ui
