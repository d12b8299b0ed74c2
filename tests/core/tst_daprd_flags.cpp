// SPDX-License-Identifier: Apache-2.0
// binderyd's command line (issue 18): every daprd 1.18 flag is accepted (acted on, refused with
// a message that says what Bindery does not do, or noted as ignored), never "unknown"; pflag's
// syntax; the Dapr CLI's exact argv; --app-port 0 as "no app"; stray arguments refused.
#include <QTest>

#include "app/daprd_flags.h"
#include "dapr_cli_argv.h"

using namespace bindery;
using namespace bindery::app;
using namespace Qt::Literals::StringLiterals;

namespace {

Result<BinderydConfig> configureArgs(const QStringList &args)
{
    const Result<ParsedFlags> parsed = parseFlags(args);
    if (!parsed)
        return tl::unexpected(parsed.error());
    return configure(*parsed);
}

QStringList cliArgv(const QString &resourcesFlag, const QString &appPort)
{
    bindery::tests::DaprCliRun run;
    run.config = u"/home/u/.dapr/config.yaml"_s;
    run.resourcesFlag = resourcesFlag;
    run.resources = u"/home/u/components"_s;
    run.appPort = appPort;
    run.httpPort = u"36167"_s;
    return bindery::tests::daprCliArgv(run);
}

} // namespace

class tst_DaprdFlags : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void acceptsEveryDaprd118Flag_data();
    void acceptsEveryDaprd118Flag();
    void takesTheDaprCliArgv_data();
    void takesTheDaprCliArgv();
    void readsPflagSyntax();
    void refusesStrayArgumentsAndUnknownFlags_data();
    void refusesStrayArgumentsAndUnknownFlags();
    void honoursTheDeprecatedSizeFlags();
    void mapsAppHealthChecks();
    void picksAnAction();
};

void tst_DaprdFlags::acceptsEveryDaprd118Flag_data()
{
    QTest::addColumn<QString>("flag");
    QTest::addColumn<QString>("value");   // empty: a bool flag given alone
    QTest::addColumn<QString>("refusal"); // empty: accepted
    // Written out from daprd v1.18.3's cmd/daprd/options/options.go (with dapr/kit's logger
    // flags and daprd's metrics flags), independently of binderyd's own table.
    const QList<QStringList> rows = {
        {u"mode"_s, u"standalone"_s, {}},
        {u"dapr-http-port"_s, u"3501"_s, {}},
        {u"dapr-listen-addresses"_s, u"127.0.0.1"_s, {}},
        {u"dapr-public-port"_s, u"3502"_s, u"not on a separate public port"_s},
        {u"dapr-public-listen-address"_s, u"127.0.0.1"_s, {}},
        {u"dapr-grpc-port"_s, u"50001"_s, {}},
        {u"dapr-internal-grpc-port"_s, u"50002"_s, {}},
        {u"dapr-internal-grpc-listen-address"_s, u"127.0.0.1"_s, {}},
        {u"app-port"_s, u"3000"_s, {}},
        {u"profile-port"_s, u"7777"_s, {}},
        {u"app-protocol"_s, u"http"_s, {}},
        {u"components-path"_s, u"/tmp"_s, {}},
        {u"resources-path"_s, u"/tmp"_s, {}},
        {u"config"_s, u"/tmp/config.yaml"_s, {}},
        {u"app-id"_s, u"x"_s, {}},
        {u"control-plane-address"_s, u"localhost:50001"_s, {}},
        {u"sentry-address"_s, u"localhost:50001"_s, {}},
        {u"control-plane-trust-domain"_s, u"cluster.local"_s, {}},
        {u"control-plane-namespace"_s, u"default"_s, {}},
        {u"sentry-request-jwt-audiences"_s, u"a,b"_s, {}},
        {u"allowed-origins"_s, u"*"_s, {}},
        {u"enable-profiling"_s, {}, {}},
        {u"version"_s, {}, {}},
        {u"build-info"_s, {}, {}},
        {u"wait"_s, {}, {}},
        {u"app-max-concurrency"_s, u"4"_s, {}},
        {u"enable-mtls"_s, {}, {}},
        {u"app-ssl"_s, {}, u"no TLS to the app"_s},
        {u"dapr-http-max-request-size"_s, u"8"_s, {}},
        {u"max-body-size"_s, u"8Mi"_s, {}},
        {u"dapr-http-read-buffer-size"_s, u"8"_s, {}},
        {u"read-buffer-size"_s, u"8Ki"_s, {}},
        {u"unix-domain-socket"_s, u"/tmp"_s, {}},
        {u"dapr-graceful-shutdown-seconds"_s, u"5"_s, {}},
        {u"dapr-block-shutdown-duration"_s, u"5s"_s, {}},
        {u"enable-api-logging"_s, {}, {}},
        {u"disable-builtin-k8s-secret-store"_s, {}, {}},
        {u"enable-app-health-check"_s, {}, {}},
        {u"app-health-check-path"_s, u"/health"_s, {}},
        {u"app-health-probe-interval"_s, u"3"_s, {}},
        {u"app-health-probe-timeout"_s, u"200"_s, {}},
        {u"app-health-threshold"_s, u"2"_s, {}},
        {u"app-channel-address"_s, u"127.0.0.1"_s, {}},
        {u"disable-init-endpoints"_s, u"config,subscribe"_s, {}},
        {u"placement-host-address"_s, u"localhost:50005"_s, {}},
        {u"scheduler-host-address"_s, u"localhost:50006"_s, {}},
        {u"scheduler-job-streams"_s, u"3"_s, {}},
        {u"actors-disseminate-timeout"_s, u"10s"_s, {}},
        {u"hot-reload-reconcile-interval"_s, u"30s"_s, {}},
        {u"app-binding-options-timeout"_s, u"5s"_s, {}},
        {u"reminders-service"_s, u"placement:x"_s, {}},
        {u"actors-service"_s, u"placement:x"_s, {}},
        {u"log-level"_s, u"debug"_s, {}},
        {u"log-file"_s, u"/tmp/binderyd-flags-test.log"_s, {}},
        {u"log-as-json"_s, {}, {}},
        {u"metrics-port"_s, u"9090"_s, {}},
        {u"metrics-listen-address"_s, u"127.0.0.1"_s, {}},
        {u"enable-metrics"_s, {}, {}},
    };
    for (const QStringList &r : rows)
        QTest::newRow(qPrintable(r[0])) << r[0] << r[1] << r[2];
    // Values daprd takes that Bindery cannot honour: refused with the reason.
    QTest::newRow("mode kubernetes") << u"mode"_s << u"kubernetes"_s << u"standalone mode only"_s;
    QTest::newRow("app-protocol grpc") << u"app-protocol"_s << u"grpc"_s << QString();
    QTest::newRow("app-protocol https") << u"app-protocol"_s << u"https"_s << u"no TLS"_s;
    QTest::newRow("allowed-origins list")
        << u"allowed-origins"_s << u"http://a.example"_s << u"no CORS headers"_s;
}

void tst_DaprdFlags::acceptsEveryDaprd118Flag()
{
    QFETCH(QString, flag);
    QFETCH(QString, value);
    QFETCH(QString, refusal);
    QStringList args{u"--"_s + flag};
    if (!value.isEmpty())
        args << value;
    const Result<BinderydConfig> c = configureArgs(args);
    if (refusal.isEmpty()) {
        QVERIFY2(c, c ? "" : qPrintable(c.error().message));
    } else {
        QVERIFY(!c);
        QVERIFY2(c.error().message.contains(refusal), qPrintable(c.error().message));
        QVERIFY2(c.error().message.startsWith(u"--"_s + flag),
                 qPrintable(c.error().message)); // names the flag
    }
    if (!c)
        QVERIFY(!c.error().message.contains(u"unknown"_s, Qt::CaseInsensitive));
}

void tst_DaprdFlags::takesTheDaprCliArgv_data()
{
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<int>("appPort");
    QTest::addColumn<bool>("json");
    QTest::newRow("plain") << cliArgv(u"--resources-path"_s, u"47001"_s) << 47001 << false;
    QTest::newRow("--log-as-json")
        << (cliArgv(u"--resources-path"_s, u"47001"_s) << u"--log-as-json"_s) << 47001 << true;
    QTest::newRow("no app: --app-port 0") << cliArgv(u"--resources-path"_s, u"0"_s) << 0 << false;
    QTest::newRow("no resources path: --components-path")
        << cliArgv(u"--components-path"_s, u"47001"_s) << 47001 << false;
}

void tst_DaprdFlags::takesTheDaprCliArgv()
{
    QFETCH(QStringList, args);
    QFETCH(int, appPort);
    QFETCH(bool, json);
    const Result<BinderydConfig> c = configureArgs(args);
    QVERIFY2(c, c ? "" : qPrintable(c.error().message));
    QCOMPARE(c->action, BinderydConfig::Action::Run);
    QCOMPARE(c->options.appId, u"smoke"_s);
    QCOMPARE(c->options.appPort, appPort);
    QCOMPARE(c->options.httpPort, 36167);
    QCOMPARE(c->options.resourcesPaths, QStringList{u"/home/u/components"_s});
    QCOMPARE(c->options.maxBodySize, 4 * 1024 * 1024);
    QCOMPARE(c->options.readBufferSize, 4 * 1024);
    QCOMPARE(c->options.appMaxConcurrency, -1);
    QCOMPARE(c->options.appProtocol, u"http"_s);
    // The CLI's --dapr-grpc-port is the gRPC API's port, and is not a default to give up on.
    QCOMPARE(c->options.grpcPort, 39599);
    QVERIFY(!c->options.grpcPortIsDefault);
    QVERIFY(c->notes.filter(u"--dapr-grpc-port"_s).isEmpty());
    QCOMPARE(c->logJson, json);
    QCOMPARE(c->logLevel, 1);
    // Each flag Bindery does not act on says so once, with the reason.
    for (const char *f : {"config", "placement-host-address", "scheduler-host-address",
                          "profile-port", "metrics-port", "dapr-internal-grpc-port"}) {
        const QString name = QString::fromLatin1(f);
        QCOMPARE(c->notes.filter(u"--%1 is accepted"_s.arg(name)).size(), 1);
    }
}

void tst_DaprdFlags::readsPflagSyntax()
{
    const Result<BinderydConfig> c = configureArgs(
        {u"-app-id"_s, u"single-dash"_s, u"--enable-metrics=false"_s, u"--log-as-json=true"_s,
         u"--resources-path"_s, u"a,b"_s, u"--resources-path=c"_s, u"--app-port=0"_s,
         u"--enable-app-health-check"_s});
    QVERIFY2(c, c ? "" : qPrintable(c.error().message));
    QCOMPARE(c->options.appId, u"single-dash"_s);
    QVERIFY(c->logJson);
    QCOMPARE(c->options.resourcesPaths, (QStringList{u"a"_s, u"b"_s, u"c"_s}));
    QCOMPARE(c->options.appPort, 0);
    QVERIFY(c->options.appHealthCheck);
    // A bool never takes the next argument as its value (pflag): that would be a stray one.
    const Result<BinderydConfig> bad = configureArgs({u"--enable-metrics"_s, u"false"_s});
    QVERIFY(!bad);
    QCOMPARE(bad.error().message,
             u"unexpected argument 'false': binderyd takes flags only (see --help)"_s);
    const Result<BinderydConfig> notBool = configureArgs({u"--log-as-json=maybe"_s});
    QVERIFY(!notBool);
    QVERIFY2(
        notBool.error().message.contains(u"invalid argument \"maybe\" for \"--log-as-json\""_s),
        qPrintable(notBool.error().message));
}

void tst_DaprdFlags::refusesStrayArgumentsAndUnknownFlags_data()
{
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<QString>("message");
    // The CLI blanks --scheduler-host-address for a runtime it thinks older than 1.14, leaving
    // '' and the address behind (issue 18, item 3): never accepted silently.
    QTest::newRow("blanked flag") << QStringList{u""_s, u"localhost:50006"_s}
                                  << u"unexpected argument '': binderyd takes flags only (see "
                                     u"--help)"_s;
    QTest::newRow("positional") << QStringList{u"--app-id"_s, u"a"_s, u"extra"_s}
                                << u"unexpected argument 'extra': binderyd takes flags only (see "
                                   u"--help)"_s;
    QTest::newRow("after --") << QStringList{u"--"_s, u"python3"_s}
                              << u"unexpected argument 'python3': binderyd takes flags only (see "
                                 u"--help)"_s;
    QTest::newRow("unknown flag") << QStringList{u"--no-such-flag"_s, u"1"_s}
                                  << u"unknown flag: --no-such-flag (not a daprd 1.18 flag; see "
                                     u"--help)"_s;
    QTest::newRow("missing value")
        << QStringList{u"--app-id"_s} << u"flag needs an argument: --app-id"_s;
    QTest::newRow("bad port") << QStringList{u"--app-port"_s, u"http"_s}
                              << u"--app-port: 'http' is not a port number"_s;
}

void tst_DaprdFlags::refusesStrayArgumentsAndUnknownFlags()
{
    QFETCH(QStringList, args);
    QFETCH(QString, message);
    const Result<BinderydConfig> c = configureArgs(args);
    QVERIFY(!c);
    QCOMPARE(c.error().message, message);
}

// Issue 9.7: the deprecated MiB flag is honoured when --max-body-size is not given.
void tst_DaprdFlags::honoursTheDeprecatedSizeFlags()
{
    Result<BinderydConfig> c = configureArgs({u"--dapr-http-max-request-size"_s, u"8"_s});
    QVERIFY(c);
    QCOMPARE(c->options.maxBodySize, 8 * 1024 * 1024);
    c = configureArgs({u"--dapr-http-max-request-size"_s, u"8"_s, u"--max-body-size"_s, u"2Mi"_s});
    QVERIFY(c);
    QCOMPARE(c->options.maxBodySize, 2 * 1024 * 1024);
    c = configureArgs({u"--dapr-http-read-buffer-size"_s, u"16"_s});
    QVERIFY(c);
    QCOMPARE(c->options.readBufferSize, 16 * 1024);
}

void tst_DaprdFlags::mapsAppHealthChecks()
{
    Result<BinderydConfig> c = configureArgs({});
    QVERIFY(c);
    QVERIFY(!c->options.appHealthCheck);
    QCOMPARE(c->options.appHealthCheckPath, u"/healthz"_s);
    QCOMPARE(c->options.appHealthProbeIntervalMs, 5000);
    QCOMPARE(c->options.appHealthProbeTimeoutMs, 500);
    QCOMPARE(c->options.appHealthThreshold, 3);
    c = configureArgs({u"--enable-app-health-check"_s, u"--app-health-check-path"_s, u"up"_s,
                       u"--app-health-probe-interval"_s, u"2"_s, u"--app-health-probe-timeout"_s,
                       u"300"_s, u"--app-health-threshold"_s, u"0"_s});
    QVERIFY(c);
    QVERIFY(c->options.appHealthCheck);
    QCOMPARE(c->options.appHealthCheckPath, u"/up"_s);
    QCOMPARE(c->options.appHealthProbeIntervalMs, 2000);
    QCOMPARE(c->options.appHealthProbeTimeoutMs, 300);
    QCOMPARE(c->options.appHealthThreshold, 3); // daprd: below 1 means the default
    c = configureArgs(
        {u"--app-health-probe-interval"_s, u"1"_s, u"--app-health-probe-timeout"_s, u"1500"_s});
    QVERIFY(!c);
    QCOMPARE(c.error().message,
             u"value for 'health-probe-timeout' must be smaller than 'health-probe-interval'"_s);
}

void tst_DaprdFlags::picksAnAction()
{
    QCOMPARE(configureArgs({u"--version"_s})->action, BinderydConfig::Action::Version);
    QCOMPARE(configureArgs({u"--build-info"_s})->action, BinderydConfig::Action::BuildInfo);
    QCOMPARE(configureArgs({u"--wait"_s})->action, BinderydConfig::Action::Wait);
    QCOMPARE(configureArgs({u"-h"_s})->action, BinderydConfig::Action::Help);
    QCOMPARE(configureArgs({u"--version=false"_s})->action, BinderydConfig::Action::Run);
    QVERIFY(usage().contains(u"--read-buffer-size"_s));
}

QTEST_GUILESS_MAIN(tst_DaprdFlags)
#include "tst_daprd_flags.moc"
