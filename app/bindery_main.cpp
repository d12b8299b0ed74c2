// SPDX-License-Identifier: Apache-2.0
// bindery: the desktop console. Composition root only; the window lives in ui/.
#include <QApplication>
#include <QCommandLineParser>
#include <QTimer>

#include "core/binding_registry.h"
#include "ui/main_window.h"

int main(int argc, char *argv[])
{
    QApplication app(argc, argv);
    QApplication::setApplicationName(QStringLiteral("Bindery"));
    QApplication::setOrganizationName(QStringLiteral("Bindery"));
    QApplication::setApplicationVersion(QStringLiteral(BINDERY_VERSION));
    QApplication::setDesktopFileName(QStringLiteral("bindery"));

    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Bindery: a developer console for Dapr bindings."));
    parser.addHelpOption();
    parser.addVersionOption();
    parser.addPositionalArgument(QStringLiteral("folder"), QStringLiteral("A folder of component YAML files to open."));
    QCommandLineOption quitAfter(QStringLiteral("quit-after"),
                                 QStringLiteral("Quit after <ms> milliseconds (screenshots, smoke tests)."),
                                 QStringLiteral("ms"));
    parser.addOption(quitAfter);
    parser.process(app);

    bindery::core::BindingRegistry registry;
    bindery::core::registerBuiltinBindings(registry);
    bindery::ui::MainWindow window(registry);
    window.show();
    if (!parser.positionalArguments().isEmpty())
        window.openWorkspace(parser.positionalArguments().first());
    else
        window.openLastWorkspace();
    if (parser.isSet(quitAfter))
        QTimer::singleShot(parser.value(quitAfter).toInt(), &window, &QWidget::close);
    return QApplication::exec();
}
