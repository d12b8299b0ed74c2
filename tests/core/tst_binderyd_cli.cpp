// SPDX-License-Identifier: Apache-2.0
// binderyd started exactly as the Dapr CLI v1.18.0 starts daprd (issue 18): the CLI's argv
// (plain, --log-as-json, --app-port 0 for a run without an app, --components-path when no
// resources path is given) serves the API and delivers to the app; --version prints a version
// the CLI parses; --log-as-json lines carry daprd's fields, and a refused flag is logged in JSON.
#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QNetworkAccessManager>
#include <QProcess>
#include <QRegularExpression>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QTest>

#include "dapr_cli_argv.h"
#include "http_client.h"
#include "test_app.h"

using namespace bindery::tests;
using namespace Qt::Literals::StringLiterals;

namespace {

quint16 freePort()
{
    QTcpServer s;
    s.listen(QHostAddress::LocalHost, 0);
    return s.serverPort();
}

QString binderyd()
{
    return qEnvironmentVariable("BINDERY_BIN_DIR") + u"/binderyd"_s;
}

} // namespace

class tst_BinderydCli : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void printsAVersionTheCliParses();
    void servesWithTheCliArgv_data();
    void servesWithTheCliArgv();
    void logsARefusedFlagInJson();
    void waitsForAnotherSidecarToBeOutboundReady();
    void blocksShutdownForTheGivenDuration();

private:
    QStringList cliArgv(const QString &resourcesFlag, quint16 appPort, quint16 httpPort,
                        quint16 grpcPort) const;

    QTemporaryDir m_home;
    QNetworkAccessManager m_nam;
};

void tst_BinderydCli::initTestCase()
{
    QVERIFY2(QFile::exists(binderyd()), qPrintable(binderyd()));
    // What `dapr init --slim` leaves in ~/.dapr, with the two components of the smoke run.
    QDir(m_home.path()).mkpath(u".dapr/components"_s);
    QDir(m_home.path()).mkpath(u"store"_s);
    QFile config(m_home.filePath(u".dapr/config.yaml"_s));
    QVERIFY(config.open(QIODevice::WriteOnly));
    config.write("apiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata:\n  name: "
                 "daprConfig\nspec: {}\n");
    QFile tick(m_home.filePath(u".dapr/components/tick.yaml"_s));
    QVERIFY(tick.open(QIODevice::WriteOnly));
    tick.write("apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: tick\nspec:\n"
               "  type: bindings.cron\n  version: v1\n  metadata:\n  - name: schedule\n"
               "    value: \"@every 1s\"\n");
    QFile files(m_home.filePath(u".dapr/components/files.yaml"_s));
    QVERIFY(files.open(QIODevice::WriteOnly));
    files.write("apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: files\nspec:\n"
                "  type: bindings.localstorage\n  version: v1\n  metadata:\n  - name: rootPath\n"
                "    value: "
                + m_home.filePath(u"store"_s).toUtf8() + "\n");
}

QStringList tst_BinderydCli::cliArgv(const QString &resourcesFlag, quint16 appPort,
                                     quint16 httpPort, quint16 grpcPort) const
{
    DaprCliRun run;
    run.config = m_home.filePath(u".dapr/config.yaml"_s);
    run.resourcesFlag = resourcesFlag;
    run.resources = m_home.filePath(u".dapr/components"_s);
    run.appPort = QString::number(appPort);
    run.httpPort = QString::number(httpPort);
    run.grpcPort = QString::number(grpcPort);
    run.metricsPort = QString::number(freePort());
    run.internalGrpcPort = QString::number(freePort());
    return daprCliArgv(run);
}

void tst_BinderydCli::printsAVersionTheCliParses()
{
    QProcess p;
    p.start(binderyd(), {u"--version"_s});
    QVERIFY(p.waitForFinished(10000));
    QCOMPARE(p.exitCode(), 0);
    // The CLI runs `daprd --version`, drops the newline and compares "v<output>" as semver
    // (cmd/run.go): a bare semantic version, 1.14 or later.
    const QString out = QString::fromUtf8(p.readAllStandardOutput());
    QCOMPARE(out, u"1.18.0-bindery\n"_s);
    QVERIFY(QRegularExpression(u"^(\\d+)\\.(\\d+)\\.(\\d+)(-[0-9A-Za-z.-]+)?\\n$"_s)
                .match(out)
                .hasMatch());
}

void tst_BinderydCli::servesWithTheCliArgv_data()
{
    QTest::addColumn<QString>("resourcesFlag");
    QTest::addColumn<bool>("withApp");
    QTest::addColumn<bool>("json");
    QTest::newRow("plain") << u"--resources-path"_s << true << false;
    QTest::newRow("--log-as-json") << u"--resources-path"_s << true << true;
    QTest::newRow("no app (--app-port 0)") << u"--resources-path"_s << false << false;
    QTest::newRow("no resources path (--components-path)")
        << u"--components-path"_s << true << false;
}

void tst_BinderydCli::servesWithTheCliArgv()
{
    QFETCH(QString, resourcesFlag);
    QFETCH(bool, withApp);
    QFETCH(bool, json);
    TestApp app;
    const quint16 appPort = withApp ? app.start() : 0;
    app.answer("OPTIONS", "/tick", 200);
    app.answer("POST", "/tick", 200);
    const quint16 httpPort = freePort();
    const quint16 grpcPort = freePort();
    QStringList args = cliArgv(resourcesFlag, appPort, httpPort, grpcPort);
    if (json)
        args << u"--log-as-json"_s;
    QProcess d;
    d.setProcessChannelMode(QProcess::MergedChannels);
    d.start(binderyd(), args);
    QVERIFY(d.waitForStarted());
    const QUrl health(u"http://127.0.0.1:%1/v1.0/healthz"_s.arg(httpPort));
    QTRY_VERIFY2_WITH_TIMEOUT(d.state() == QProcess::Running
                                  && httpRequest(m_nam, "GET", health).status == 204,
                              d.peek(8192).constData(), 10000);
    // The output binding answers through the API.
    const HttpAnswer created = httpRequest(
        m_nam, "POST", QUrl(u"http://127.0.0.1:%1/v1.0/bindings/files"_s.arg(httpPort)),
        R"({"operation":"create","data":"hello from the CLI argv",)"
        R"("metadata":{"fileName":"cli.txt"}})");
    QCOMPARE(created.status, 200);
    QFile stored(m_home.filePath(u"store/cli.txt"_s));
    QVERIFY(stored.open(QIODevice::ReadOnly));
    QVERIFY(stored.readAll().contains("hello from the CLI argv"));
    if (withApp)
        QTRY_VERIFY_WITH_TIMEOUT(app.count("POST", "/tick") >= 1, 5000);
    // The CLI reports a run without an app as up only once --dapr-grpc-port accepts a
    // connection (cli cmd/run.go): binderyd's gRPC API listens there.
    QTcpSocket grpc;
    grpc.connectToHost(QHostAddress::LocalHost, grpcPort);
    QVERIFY(grpc.waitForConnected(3000));
    d.terminate();
    QVERIFY(d.waitForFinished(10000));
    QCOMPARE(d.exitStatus(), QProcess::NormalExit);
    QCOMPARE(d.exitCode(), 0);
    const QList<QByteArray> lines = d.readAll().trimmed().split('\n');
    QVERIFY(!lines.isEmpty());
    qsizetype notes = 0;
    for (const QByteArray &line : lines)
        notes += line.contains("is accepted for daprd compatibility and ignored");
    QVERIFY(notes >= 5);
    const QRegularExpression zoned(
        u"^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d(\\.\\d{1,9})?(Z|[+-]\\d\\d:\\d\\d)$"_s);
    for (const QByteArray &line : lines) {
        if (!json) {
            QVERIFY2(line.startsWith("time=\"") && line.contains(" instance=")
                         && line.contains(" ver=1.18.0-bindery"),
                     line.constData());
            continue;
        }
        // daprd's JSON log line: app_id, instance, level, msg, scope, time (zoned), type, ver.
        QJsonParseError error{};
        const QJsonObject o = QJsonDocument::fromJson(line, &error).object();
        QVERIFY2(error.error == QJsonParseError::NoError, line.constData());
        for (const char *key :
             {"app_id", "instance", "level", "msg", "scope", "time", "type", "ver"})
            QVERIFY2(o.contains(QLatin1StringView(key)), line.constData());
        QCOMPARE(o.value(u"app_id"_s).toString(), u"smoke"_s);
        QCOMPARE(o.value(u"ver"_s).toString(), u"1.18.0-bindery"_s);
        QCOMPARE(o.value(u"type"_s).toString(), u"log"_s);
        QVERIFY2(zoned.match(o.value(u"time"_s).toString()).hasMatch(), line.constData());
    }
}

void tst_BinderydCli::logsARefusedFlagInJson()
{
    QProcess d;
    d.start(binderyd(), {u"--log-as-json"_s, u"--app-protocol"_s, u"h2c"_s});
    QVERIFY(d.waitForFinished(10000));
    QCOMPARE(d.exitCode(), 1);
    const QByteArray out = d.readAllStandardOutput().trimmed();
    QJsonParseError error{};
    const QJsonObject o = QJsonDocument::fromJson(out, &error).object();
    QVERIFY2(error.error == QJsonParseError::NoError, out.constData());
    QCOMPARE(o.value(u"level"_s).toString(), u"fatal"_s);
    QVERIFY2(o.value(u"msg"_s).toString().startsWith(u"--app-protocol h2c: "_s), out.constData());
    QVERIFY(o.contains(u"instance"_s) && o.contains(u"ver"_s));
}

// daprd --wait: polls the sidecar on --dapr-http-port until /v1.0/healthz/outbound is 2xx.
void tst_BinderydCli::waitsForAnotherSidecarToBeOutboundReady()
{
    const quint16 httpPort = freePort();
    QProcess sidecar;
    sidecar.start(binderyd(),
                  {u"--dapr-http-port"_s, QString::number(httpPort), u"--app-id"_s, u"waited"_s});
    QVERIFY(sidecar.waitForStarted());
    QProcess waiter;
    waiter.start(binderyd(), {u"--wait"_s, u"--dapr-http-port"_s, QString::number(httpPort)});
    QVERIFY(waiter.waitForFinished(20000));
    QCOMPARE(waiter.exitCode(), 0);
    QVERIFY2(waiter.readAllStandardError().contains("Dapr is outbound ready!"),
             "the waiter says so, as daprd");
    sidecar.terminate();
    QVERIFY(sidecar.waitForFinished(10000));
}

// --dapr-block-shutdown-duration: after SIGTERM the API keeps serving for that long.
void tst_BinderydCli::blocksShutdownForTheGivenDuration()
{
    const quint16 httpPort = freePort();
    QProcess d;
    d.start(binderyd(), {u"--dapr-http-port"_s, QString::number(httpPort),
                         u"--dapr-block-shutdown-duration"_s, u"1500ms"_s});
    const QUrl health(u"http://127.0.0.1:%1/v1.0/healthz"_s.arg(httpPort));
    QTRY_VERIFY_WITH_TIMEOUT(httpRequest(m_nam, "GET", health).status == 204, 10000);
    QElapsedTimer t;
    t.start();
    d.terminate();
    QTest::qWait(500);
    QCOMPARE(d.state(), QProcess::Running);
    QCOMPARE(httpRequest(m_nam, "GET", health).status, 204);
    QVERIFY(d.waitForFinished(10000));
    QVERIFY2(t.elapsed() >= 1400, qPrintable(QString::number(t.elapsed())));
    QCOMPARE(d.exitCode(), 0);
}

QTEST_GUILESS_MAIN(tst_BinderydCli)
#include "tst_binderyd_cli.moc"
