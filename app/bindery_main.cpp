// SPDX-License-Identifier: Apache-2.0
// bindery: the desktop console. Composition root only; the window lives in ui/.
#include <QApplication>
#include <QCommandLineParser>
#include <QTimer>

#include "core/binding_registry.h"
#include "ui/main_window.h"
#include "ui/widgets/composer_widget.h"
#include "ui/widgets/traffic_widget.h"

#include <QTabWidget>

int main(int argc, char *argv[])
{
    QApplication app(argc, argv);
    QApplication::setApplicationName(QStringLiteral("Bindery"));
    QApplication::setOrganizationName(QStringLiteral("Bindery"));
    QApplication::setApplicationVersion(QStringLiteral(BINDERY_VERSION));
    QApplication::setDesktopFileName(QStringLiteral("bindery"));

    QCommandLineParser parser;
    parser.setApplicationDescription(
        QStringLiteral("Bindery: a developer console for Dapr bindings."));
    parser.addHelpOption();
    parser.addVersionOption();
    parser.addPositionalArgument(QStringLiteral("folder"),
                                 QStringLiteral("A folder of component YAML files to open."));
    QCommandLineOption quitAfter(
        QStringLiteral("quit-after"),
        QStringLiteral("Quit after <ms> milliseconds (screenshots, smoke tests)."),
        QStringLiteral("ms"));
    parser.addOption(quitAfter);
    QCommandLineOption openFile(QStringLiteral("open"),
                                QStringLiteral("Open <file> in the component editor."),
                                QStringLiteral("file"));
    parser.addOption(openFile);
    QCommandLineOption show(QStringLiteral("show"),
                            QStringLiteral("Start on a tab: traffic or composer."),
                            QStringLiteral("tab"));
    parser.addOption(show);
    QCommandLineOption sendAfter(
        QStringLiteral("send-after"),
        QStringLiteral("Send the composer's request after <ms> milliseconds."),
        QStringLiteral("ms"));
    parser.addOption(sendAfter);
    parser.process(app);

    bindery::core::BindingRegistry registry;
    bindery::core::registerBuiltinBindings(registry);
    bindery::ui::MainWindow window(registry);
    window.show();
    if (!parser.positionalArguments().isEmpty())
        window.openWorkspace(parser.positionalArguments().first());
    else
        window.openLastWorkspace();
    if (parser.isSet(openFile))
        window.openEditor(parser.value(openFile));
    if (parser.value(show) == QStringLiteral("composer"))
        window.tabs()->setCurrentWidget(window.composer());
    else if (parser.value(show) == QStringLiteral("traffic"))
        window.tabs()->setCurrentWidget(window.traffic());
    if (parser.isSet(sendAfter))
        QTimer::singleShot(parser.value(sendAfter).toInt(), window.composer(),
                           &bindery::ui::ComposerWidget::send);
    if (parser.isSet(quitAfter))
        QTimer::singleShot(parser.value(quitAfter).toInt(), &window, &QWidget::close);
    return QApplication::exec();
}
