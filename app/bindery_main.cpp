// SPDX-License-Identifier: Apache-2.0
// bindery: the desktop console. Composition root only; the window lives in ui/.
#include <QApplication>
#include <QCommandLineParser>
#include <QTimer>

#include "core/binding_registry.h"
#include "ui/main_window.h"
#include "ui/theme.h"
#include "ui/models/event_table_model.h"
#include "ui/widgets/composer_widget.h"
#include "ui/widgets/traffic_widget.h"

#include <QLineEdit>
#include <QScreen>
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
    QCommandLineOption palette(
        QStringLiteral("palette"),
        QStringLiteral("system (default: the desktop's light or dark theme), light or dark."),
        QStringLiteral("name"), QStringLiteral("system"));
    parser.addOption(palette);
    QCommandLineOption maximized(QStringLiteral("maximized"),
                                 QStringLiteral("Start with the window maximized."));
    parser.addOption(maximized);
    QCommandLineOption filter(QStringLiteral("filter"),
                              QStringLiteral("Start with this traffic filter."),
                              QStringLiteral("expression"));
    parser.addOption(filter);
    QCommandLineOption selectAfter(
        QStringLiteral("select-after"),
        QStringLiteral("Select the newest output request after <ms> milliseconds (its detail and "
                       "trace show)."),
        QStringLiteral("ms"));
    parser.addOption(selectAfter);
    parser.process(app);
    if (parser.value(palette) == QStringLiteral("dark")
        || parser.value(palette) == QStringLiteral("light")) {
        QApplication::setStyle(QStringLiteral("Fusion"));
        QApplication::setPalette(parser.value(palette) == QStringLiteral("dark")
                                     ? bindery::ui::theme::darkPalette()
                                     : bindery::ui::theme::lightPalette());
    }

    bindery::core::BindingRegistry registry;
    bindery::core::registerBuiltinBindings(registry);
    bindery::ui::MainWindow window(registry);
    if (parser.isSet(maximized) && window.screen()) {
        // Also without a window manager (Xvfb): take the screen's whole available area.
        window.setGeometry(window.screen()->availableGeometry());
        window.showMaximized();
    } else
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
    if (parser.isSet(filter)) {
        window.traffic()->filterEdit()->setText(parser.value(filter));
        window.traffic()->applyFilter();
    }
    if (parser.isSet(selectAfter))
        QTimer::singleShot(parser.value(selectAfter).toInt(), &window, [&window]() {
            bindery::ui::TrafficWidget *t = window.traffic();
            for (int row = t->model()->rowCount() - 1; row >= 0; --row) {
                const bindery::core::TrafficRecord r = t->model()->record(row);
                if (r.kind == bindery::core::TrafficRecord::Kind::Output) {
                    t->selectRecord(r.id);
                    break;
                }
            }
        });
    if (parser.isSet(quitAfter)) // unattended: quit without asking about the capture
        QTimer::singleShot(parser.value(quitAfter).toInt(), &window, [&window]() {
            window.setAskBeforeDroppingCapture(false);
            window.close();
        });
    return QApplication::exec();
}
