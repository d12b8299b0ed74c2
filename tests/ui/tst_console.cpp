// SPDX-License-Identifier: Apache-2.0
// The console end to end, in one window, on the real runtime with ephemeral ports: the sample
// folder fills the tree, a localstorage request answers 200 with its body, cron events arrive
// with the console's answer, a "be the app" rule of 500 shows as a failed delivery, and saving
// an edited component reloads it in place.
#include <QAbstractItemModelTester>
#include <QDockWidget>
#include <QDir>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLineEdit>
#include <QTextBrowser>
#include <QSignalSpy>
#include <QStandardItemModel>
#include <QTableView>
#include <QHostAddress>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QTest>
#include <QThread>
#include <QUrl>
#include <QUuid>

#include "core/binding_registry.h"
#include "core/runtime.h"
#include "ui/editors/editor_pane.h"
#include "ui/app_server.h"
#include "ui/main_window.h"
#include "ui/models/event_table_model.h"
#include "ui/widgets/app_rules_widget.h"
#include "ui/widgets/composer_widget.h"
#include "ui/widgets/traffic_widget.h"
#include "console_test_env.h"

using namespace bindery;

class TstConsole : public QObject
{
    Q_OBJECT

    core::BindingRegistry m_registry;
    QTemporaryDir m_workspace;
    std::unique_ptr<ui::MainWindow> m_window;
    std::vector<std::unique_ptr<QAbstractItemModelTester>> m_testers;

    /// Index of the newest input delivery of `binding` with the given status, or -1.
    int findDelivery(const QString &binding, int status) const
    {
        ui::EventTableModel *m = m_window->traffic()->model();
        for (int r = m->rowCount() - 1; r >= 0; --r) {
            const core::TrafficRecord rec = m->record(r);
            if (rec.kind == core::TrafficRecord::Kind::Input && rec.binding == binding
                && rec.status == status)
                return r;
        }
        return -1;
    }

private Q_SLOTS:
    void initTestCase()
    {
        core::registerBuiltinBindings(m_registry);
        // A copy of the shipped samples: the console edits files in its workspace.
        const QString samples = qEnvironmentVariable("BINDERY_SOURCE_DIR")
                                + QStringLiteral("/resources/samples/components");
        QVERIFY2(QFileInfo(samples).isDir(), qPrintable(samples));
        const QDir src(samples);
        for (const QString &f : src.entryList(QDir::Files))
            QVERIFY(QFile::copy(src.filePath(f), m_workspace.filePath(f)));
        // localstorage writes under a private folder for this run.
        const QString storage = m_workspace.filePath(QStringLiteral("storage"));
        QFile ls(m_workspace.filePath(QStringLiteral("localstorage.yaml")));
        QVERIFY(ls.open(QIODevice::ReadOnly));
        QString text = QString::fromUtf8(ls.readAll());
        ls.close();
        text.replace(QStringLiteral("/tmp/bindery-storage"), storage);
        QVERIFY(ls.open(QIODevice::WriteOnly | QIODevice::Truncate));
        ls.write(text.toUtf8());
        ls.close();

        m_window = std::make_unique<ui::MainWindow>(m_registry);
        ui::HostSettings hs;
        hs.apiPort = 0;        // a free port: never collides with a running console
        hs.builtinAppPort = 0; // likewise
        hs.grpcApiPort = 0;    // and the gRPC API's
        hs.deliveryTimeoutMs = 3000;
        m_window->applySettings(hs, 1000000);
        for (QAbstractItemModel *model : std::initializer_list<QAbstractItemModel *>{
                 m_window->componentModel(), m_window->traffic()->model(),
                 m_window->composer()->historyModel(), m_window->composer()->savedModel()})
            m_testers.push_back(std::make_unique<QAbstractItemModelTester>(
                model, QAbstractItemModelTester::FailureReportingMode::QtTest));
        m_window->show();
        m_window->openWorkspace(m_workspace.path());
        QTRY_COMPARE_WITH_TIMEOUT(m_window->host().state(), core::RuntimeState::Running, 15000);
        // The API is on the free port the kernel picked (settings say 0), never daprd's default
        // 3500 (ephemeral ports come from ip_local_port_range), and it serves daprd's health API.
        const quint16 port = m_window->host().apiPort();
        QVERIFY(port != 0);
        QVERIFY(port != 3500);
        QCOMPARE(QUrl(m_window->host().apiAddress()).port(), int(port));
        QTcpSocket probe;
        probe.connectToHost(QHostAddress::LocalHost, port);
        QVERIFY(probe.waitForConnected(2000));
        probe.write("GET /v1.0/healthz/outbound HTTP/1.1\r\nHost: x\r\n\r\n");
        QTRY_VERIFY_WITH_TIMEOUT(probe.bytesAvailable() > 0 || probe.waitForReadyRead(100), 3000);
        QVERIFY(probe.readAll().startsWith("HTTP/1.1 204"));
    }

    void cleanupTestCase()
    {
        m_testers.clear();
        m_window.reset();
    }

    void sampleFolderFillsTheTree()
    {
        QStandardItemModel *tree = m_window->componentModel();
        QTRY_VERIFY_WITH_TIMEOUT(tree->rowCount() >= 4, 5000);
        QHash<QString, int> rows;
        for (int r = 0; r < tree->rowCount(); ++r)
            rows.insert(tree->item(r, 0)->text(), r);
        for (const QString &name : {QStringLiteral("tick"), QStringLiteral("files"),
                                    QStringLiteral("self-api"), QStringLiteral("local-secrets")})
            QVERIFY2(rows.contains(name), qPrintable(name));
        QCOMPARE(tree->item(rows.value(QStringLiteral("tick")), 1)->text(),
                 QStringLiteral("bindings.cron"));
        QCOMPARE(tree->item(rows.value(QStringLiteral("tick")), 2)->text(), QStringLiteral("in"));
        QCOMPARE(tree->item(rows.value(QStringLiteral("files")), 2)->text(), QStringLiteral("out"));
        QTRY_VERIFY_WITH_TIMEOUT(tree->item(rows.value(QStringLiteral("files")), 3)
                                     ->text()
                                     .startsWith(QStringLiteral("loaded")),
                                 5000);
    }

    void sendingToLocalstorageShows200AndBody()
    {
        ui::ComposerWidget *composer = m_window->composer();
        const QString fileName
            = QStringLiteral("tst-%1.json").arg(QUuid::createUuid().toString(QUuid::WithoutBraces));
        ui::ComposerRequest req;
        req.binding = QStringLiteral("files");
        req.operation = QStringLiteral("create");
        req.metadata = {{QStringLiteral("fileName"), fileName}};
        req.payload = QStringLiteral("{\"hello\": \"bindery\", \"n\": 1}");
        composer->setRequest(req);
        QVERIFY(composer->payloadError().isEmpty());
        QSignalSpy answered(composer, &ui::ComposerWidget::responseReceived);
        composer->send();
        QVERIFY(answered.wait(10000));
        QCOMPARE(composer->lastStatus(), 200);
        QCOMPARE(QJsonDocument::fromJson(composer->lastBody())
                     .object()
                     .value(QStringLiteral("fileName"))
                     .toString(),
                 fileName);

        // Read it back: the body is the stored payload.
        req.operation = QStringLiteral("get");
        req.payload.clear();
        composer->setRequest(req);
        composer->send();
        QVERIFY(answered.wait(10000));
        QCOMPARE(composer->lastStatus(), 200);
        QCOMPARE(QJsonDocument::fromJson(composer->lastBody())
                     .object()
                     .value(QStringLiteral("hello"))
                     .toString(),
                 QStringLiteral("bindery"));

        // Both exchanges are in the history (on disk) and in the live table.
        QVERIFY(composer->historyModel()->rowCount() >= 2);
        QFile history(composer->historyPath());
        QVERIFY(history.open(QIODevice::ReadOnly));
        QVERIFY(history.readAll().contains(fileName.toUtf8()));
        QTRY_VERIFY_WITH_TIMEOUT(
            [&]() {
                ui::EventTableModel *m = m_window->traffic()->model();
                for (int r = 0; r < m->rowCount(); ++r) {
                    const core::TrafficRecord rec = m->record(r);
                    if (rec.kind == core::TrafficRecord::Kind::Output
                        && rec.operation == QStringLiteral("get") && rec.status == 200
                        && rec.responseBody.contains("bindery"))
                        return true;
                }
                return false;
            }(),
            3000);
    }

    void invalidPayloadIsRefusedWithLineAndColumn()
    {
        ui::ComposerWidget *composer = m_window->composer();
        ui::ComposerRequest req;
        req.binding = QStringLiteral("files");
        req.operation = QStringLiteral("create");
        req.payload = QStringLiteral("{\n  \"a\": 1,\n  \"b\": }");
        composer->setRequest(req);
        QVERIFY2(composer->payloadError().startsWith(QStringLiteral("line 3, column")),
                 qPrintable(composer->payloadError()));
        QVERIFY(composer->curlCommand().contains(QStringLiteral("/v1.0/bindings/files")));
    }

    void cronEventAppearsWithTheConsolesAnswer()
    {
        m_window->appRules()->setRule(
            QStringLiteral("tick"),
            ui::AppRule{ui::AppRule::Mode::Ok, 200, 0, QByteArray("{\"handled\":true}")});
        // @every 2s: one arrives within a few seconds, answered by the built-in app with the body.
        QTRY_VERIFY_WITH_TIMEOUT(
            [&]() {
                const int row = findDelivery(QStringLiteral("tick"), 200);
                return row >= 0
                       && m_window->traffic()->model()->record(row).responseBody
                              == "{\"handled\":true}";
            }(),
            10000);
        const int row = findDelivery(QStringLiteral("tick"), 200);
        const core::TrafficRecord rec = m_window->traffic()->model()->record(row);
        QVERIFY(rec.ok);
        QCOMPARE(rec.route, QStringLiteral("/tick"));
        QCOMPARE(rec.outcome, QStringLiteral("acked"));
        ui::EventTableModel *m = m_window->traffic()->model();
        QCOMPARE(m->data(m->index(row, ui::EventTableModel::Direction)).toString(),
                 QStringLiteral("← in"));
        QVERIFY(m->data(m->index(row, ui::EventTableModel::Summary))
                    .toString()
                    .contains(QStringLiteral("handled")));
    }

    void appRuleOf500ShowsAsFailedDelivery()
    {
        m_window->appRules()->setRule(
            QStringLiteral("tick"),
            ui::AppRule{ui::AppRule::Mode::Error, 500, 0, QByteArray("nope")});
        QTRY_VERIFY_WITH_TIMEOUT(findDelivery(QStringLiteral("tick"), 500) >= 0, 10000);
        ui::EventTableModel *m = m_window->traffic()->model();
        const int row = findDelivery(QStringLiteral("tick"), 500);
        QCOMPARE(m->data(m->index(row, 0), ui::EventTableModel::OkRole).toBool(), false);
        QCOMPARE(m->data(m->index(row, ui::EventTableModel::Status)).toString(),
                 QStringLiteral("500 failed"));
        const core::TrafficRecord rec = m->record(row);
        QCOMPARE(rec.responseBody, QByteArray("nope"));
        QCOMPARE(rec.outcome, QStringLiteral("dropped")); // cron drops what the app refused
        // The detail pane lists the attempt.
        m_window->traffic()->view()->setCurrentIndex(m->index(row, 0));
        QVERIFY(m_window->traffic()->detail()->toPlainText().contains(
            QStringLiteral("Delivery attempts")));
        // Filtering narrows to the failures.
        m_window->traffic()->filterEdit()->setText(QStringLiteral("binding:tick status:error"));
        m_window->traffic()->applyFilter();
        QVERIFY(m->rowCount() >= 1);
        QVERIFY(m->rowCount() < int(m->totalRows()));
        for (int r = 0; r < m->rowCount(); ++r)
            QCOMPARE(m->data(m->index(r, 0), ui::EventTableModel::OkRole).toBool(), false);
        m_window->traffic()->filterEdit()->clear();
        m_window->traffic()->applyFilter();
        m_window->appRules()->setRule(QStringLiteral("tick"), ui::AppRule{});
    }

    void savingReloadsTheComponentInPlace()
    {
        ui::EditorPane *pane
            = m_window->openEditor(m_workspace.filePath(QStringLiteral("localstorage.yaml")));
        QVERIFY(pane);
        QString text = pane->text();
        text.replace(QStringLiteral("rootPath"), QStringLiteral("rootPth"));
        pane->setText(text);
        QVERIFY(!pane->diagnostics().isEmpty());
        QVERIFY(m_window->saveEditor(pane));
        // The reload fails in place (required rootPath missing) and the tree says why.
        QTRY_VERIFY_WITH_TIMEOUT(
            [&]() {
                for (const core::ComponentStatus &c : m_window->host().components()) {
                    if (c.name == QStringLiteral("files"))
                        return c.state == core::ComponentState::Failed;
                }
                return false;
            }(),
            10000);
        text.replace(QStringLiteral("rootPth"), QStringLiteral("rootPath"));
        pane->setText(text);
        QVERIFY(pane->diagnostics().isEmpty());
        QVERIFY(m_window->saveEditor(pane));
        QTRY_VERIFY_WITH_TIMEOUT(
            [&]() {
                for (const core::ComponentStatus &c : m_window->host().components()) {
                    if (c.name == QStringLiteral("files"))
                        return c.state == core::ComponentState::Loaded;
                }
                return false;
            }(),
            10000);
        QCOMPARE(m_window->host().state(), core::RuntimeState::Running);
    }

    void neverAnsweringShowsAsTimedOutDelivery()
    {
        // The runtime's delivery timeout is 3 s here: the delivery fails with no status.
        m_window->appRules()->setRule(QStringLiteral("tick"),
                                      ui::AppRule{ui::AppRule::Mode::Timeout, 200, 0, {}});
        QTRY_VERIFY_WITH_TIMEOUT(findDelivery(QStringLiteral("tick"), 0) >= 0, 15000);
        const core::TrafficRecord rec
            = m_window->traffic()->model()->record(findDelivery(QStringLiteral("tick"), 0));
        QVERIFY(!rec.ok);
        QVERIFY2(rec.latencyUs >= 2'900'000, qPrintable(QString::number(rec.latencyUs)));
        QVERIFY(!rec.error.isEmpty());
        m_window->appRules()->setRule(QStringLiteral("tick"), ui::AppRule{});
    }

    void externalAppAnswersAreShown()
    {
        // A real HTTP app on its own port (the console's app server, run as a separate app)
        // answering 503: with the console no longer the app, its answers reach the table.
        QThread appThread;
        auto *external = new ui::AppServer;
        external->moveToThread(&appThread);
        appThread.start();
        quint16 port = 0;
        QMetaObject::invokeMethod(external, "listenOn", Qt::BlockingQueuedConnection,
                                  Q_RETURN_ARG(quint16, port), Q_ARG(quint16, quint16(0)));
        QVERIFY(port != 0);
        external->setRule(QStringLiteral("/tick"), ui::AppRule{ui::AppRule::Mode::Error, 503, 0,
                                                               QByteArray("external says no")});

        ui::HostSettings hs = m_window->host().settings();
        hs.builtinApp = false;
        hs.externalAppPort = port;
        m_window->applySettings(hs, 1000000);
        QTRY_COMPARE_WITH_TIMEOUT(m_window->host().state(), core::RuntimeState::Running, 15000);
        QCOMPARE(m_window->host().appPort(), port);
        QTRY_VERIFY_WITH_TIMEOUT(findDelivery(QStringLiteral("tick"), 503) >= 0, 15000);
        QCOMPARE(m_window->traffic()
                     ->model()
                     ->record(findDelivery(QStringLiteral("tick"), 503))
                     .responseBody,
                 QByteArray("external says no"));

        // Back to being the app.
        hs.builtinApp = true;
        m_window->applySettings(hs, 1000000);
        QTRY_COMPARE_WITH_TIMEOUT(m_window->host().state(), core::RuntimeState::Running, 15000);
        QMetaObject::invokeMethod(external, "closeAll", Qt::BlockingQueuedConnection);
        connect(&appThread, &QThread::finished, external, &QObject::deleteLater);
        appThread.quit();
        appThread.wait();
    }

    void savedRequestIsASmallFileInTheWorkspace()
    {
        ui::ComposerWidget *composer = m_window->composer();
        ui::ComposerRequest req;
        req.binding = QStringLiteral("files");
        req.operation = QStringLiteral("list");
        composer->setRequest(req);
        QVERIFY(composer->saveRequest(QStringLiteral("list files")));
        const QString path
            = m_workspace.filePath(QStringLiteral(".bindery/requests/list-files.json"));
        QFile f(path);
        QVERIFY2(f.open(QIODevice::ReadOnly), qPrintable(path));
        const QJsonObject o = QJsonDocument::fromJson(f.readAll()).object();
        QCOMPARE(o.value(QStringLiteral("operation")).toString(), QStringLiteral("list"));
        QCOMPARE(composer->savedModel()->rowCount(), 1);
    }

    // Runs last: it closes the window. The dock layout a user left is the one they get back. It
    // used to be restored before the window had its size, which squeezed a 430 px workspace
    // column to ~260 px on every restart (and the chart below the table lost its axis labels).
    void dockLayoutSurvivesARestart()
    {
        auto workspaceWidth = [](ui::MainWindow *w) {
            auto *dock = w->findChild<QDockWidget *>(QStringLiteral("workspaceDock"));
            return dock ? dock->width() : -1;
        };
        m_window->resize(1300, 810);
        QTest::qWait(300); // the first-start layout pass has run
        auto *dock = m_window->findChild<QDockWidget *>(QStringLiteral("workspaceDock"));
        QVERIFY(dock);
        m_window->resizeDocks({dock}, {430}, Qt::Horizontal);
        QTRY_VERIFY_WITH_TIMEOUT(qAbs(workspaceWidth(m_window.get()) - 430) <= 8, 2000);
        // Closing saves geometry and dock state, hides at once and finishes once the runtime
        // stopped (it never waits on the UI thread).
        m_window->close();
        QVERIFY(!m_window->isVisible());
        QTRY_VERIFY_WITH_TIMEOUT(!m_window->host().isActive(), 15000);
        m_testers.clear();
        m_window.reset();

        for (int restart = 1; restart <= 2; ++restart) {
            ui::MainWindow again(m_registry);
            again.show();
            QVERIFY(QTest::qWaitForWindowExposed(&again));
            QTest::qWait(500);
            QVERIFY2(qAbs(workspaceWidth(&again) - 430) <= 8,
                     qPrintable(QStringLiteral("restart %1: workspace column is %2 px, was 430 px")
                                    .arg(restart)
                                    .arg(workspaceWidth(&again))));
            QVERIFY(again.close());
        }
    }
};

BINDERY_UI_TEST_MAIN(TstConsole)
#include "tst_console.moc"
