// SPDX-License-Identifier: Apache-2.0
// Probe + delivery end to end through the Runtime (reference §2, issue 2): the OPTIONS probe on
// the route, `direction: input` skipping it, 404 = not subscribed, delivery through the loopback
// binding, and an app that is down and then comes up.
#include <memory>

#include <QDir>
#include <QFile>
#include <QTcpServer>
#include <QTemporaryDir>
#include <QTest>

#include "core/binding_registry.h"
#include "core/runtime.h"
#include "core/trace_context.h"
#include "core/traffic.h"
#include "http_client.h"
#include "sidecar_fixture.h"
#include "test_app.h"

using namespace bindery::core;
using namespace bindery::tests;
using namespace Qt::Literals::StringLiterals;

namespace {

quint16 freePort()
{
    QTcpServer s;
    s.listen(QHostAddress::LocalHost, 0);
    return s.serverPort();
}

} // namespace

class tst_Runtime : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void init();
    void cleanup();
    void probesThenDeliversToTheRoute_data();
    void probesThenDeliversToTheRoute();
    void skipsTheProbeForDirectionInput();
    void doesNotDeliverWhenTheAppIsNotSubscribed();
    void waitsForTheAppThenProbesAndDelivers();
    void recoversWhenTheAppGoesDownAndComesBack();
    void sendsAppApiTokenOnProbeAndDelivery();
    void failsFastOnBadComponentsUnlessIgnoreErrors();
    void retriesAProbeThatTimedOut();
    void reloadsAFileAndDisablesComponents();
    void reloadResolvesSecretsThroughAStoreInAnotherFile();
    void showsABindingsConnectionStateInStatusLogAndTraffic();
    void everyDeliveryCarriesATraceparent();

private:
    void writeComponent(const QByteArray &name, const QByteArray &type, const QByteArray &items);
    std::unique_ptr<Sidecar> start(quint16 appPort, QByteArray appToken = {});
    /// A loopback component "events" whose deliveries the test app (probe and POST: 200) takes.
    std::unique_ptr<Sidecar> startReadingEvents(quint16 *appPort = nullptr);
    HttpAnswer invoke(Sidecar &rt, const QByteArray &binding, const QByteArray &body);
    static QString subscription(const Sidecar &rt, const QString &name);

    BindingRegistry m_registry;
    TrafficStream m_traffic{100000};
    QNetworkAccessManager m_nam;
    std::unique_ptr<QTemporaryDir> m_dir;
    std::unique_ptr<TestApp> m_app;
    int m_probeTimeoutMs = 3000;
};

void tst_Runtime::initTestCase()
{
    registerBuiltinBindings(m_registry);
    registerLoopbackBinding(m_registry);
}

void tst_Runtime::init()
{
    m_dir = std::make_unique<QTemporaryDir>();
    m_app = std::make_unique<TestApp>();
    m_traffic.drain();
}

void tst_Runtime::cleanup()
{
    m_app.reset();
    m_dir.reset();
}

void tst_Runtime::writeComponent(const QByteArray &name, const QByteArray &type,
                                 const QByteArray &items)
{
    QFile f(m_dir->filePath(QString::fromUtf8(name) + u".yaml"_s));
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write("apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: " + name
            + "\nspec:\n  type: " + type + "\n  metadata:\n" + items);
}

std::unique_ptr<Sidecar> tst_Runtime::start(quint16 appPort, QByteArray appToken)
{
    RuntimeOptions o;
    o.probeTimeoutMs = m_probeTimeoutMs;
    o.httpPort = 0;
    o.appPort = appPort;
    o.appApiToken = std::move(appToken);
    o.resourcesPaths = {m_dir->path()};
    auto rt = std::make_unique<Sidecar>(o, m_registry, m_traffic);
    if (!rt->startAndWait())
        qWarning("runtime failed: %s", qPrintable(rt->lastError()));
    return rt;
}

std::unique_ptr<Sidecar> tst_Runtime::startReadingEvents(quint16 *appPort)
{
    const quint16 port = m_app->start();
    if (appPort)
        *appPort = port;
    m_app->answer("OPTIONS", "/events", 200);
    m_app->answer("POST", "/events", 200);
    writeComponent("events", "bindings.loopback", "  - name: capacity\n    value: 5\n");
    return start(port);
}

HttpAnswer tst_Runtime::invoke(Sidecar &rt, const QByteArray &binding, const QByteArray &body)
{
    return httpRequest(m_nam, "POST",
                       QUrl(u"http://127.0.0.1:%1/v1.0/bindings/%2"_s.arg(rt.httpPort())
                                .arg(QString::fromUtf8(binding))),
                       body);
}

QString tst_Runtime::subscription(const Sidecar &rt, const QString &name)
{
    for (const ComponentStatus &c : rt.components()) {
        if (c.name == name)
            return c.subscription;
    }
    return u"<no component>"_s;
}

void tst_Runtime::probesThenDeliversToTheRoute_data()
{
    QTest::addColumn<QByteArray>("items");
    QTest::addColumn<QByteArray>("path");
    QTest::addColumn<int>("probeStatus");
    QTest::newRow("component name, 200") << QByteArray() << QByteArray("/events") << 200;
    QTest::newRow("component name, 405") << QByteArray() << QByteArray("/events") << 405;
    QTest::newRow("route metadata") << QByteArray("  - name: route\n    value: custom/path\n")
                                    << QByteArray("/custom/path") << 204;
}

void tst_Runtime::probesThenDeliversToTheRoute()
{
    QFETCH(QByteArray, items);
    QFETCH(QByteArray, path);
    QFETCH(int, probeStatus);
    const quint16 port = m_app->start();
    m_app->answer("OPTIONS", path, probeStatus);
    m_app->answer("POST", path, 200, "thanks");
    writeComponent("events", "bindings.loopback",
                   items.isEmpty() ? QByteArray("  - name: capacity\n    value: 5\n") : items);
    std::unique_ptr<Sidecar> rt = start(port);
    QCOMPARE(rt->state(), RuntimeState::Running);
    QTRY_COMPARE(m_app->count("OPTIONS", path), 1);
    QTRY_VERIFY2(subscription(*rt, u"events"_s).startsWith(u"reading"_s),
                 qPrintable(subscription(*rt, u"events"_s)));
    QCOMPARE(
        invoke(*rt, "events", R"({"operation":"create","data":{"n":1},"metadata":{"x-key":"k1"}})")
            .status,
        204);
    QTRY_COMPARE(m_app->count("POST", path), 1);
    const TestApp::Request r = m_app->requests().last();
    QCOMPARE(r.body, QByteArray(R"({"n":1})"));
    QCOMPARE(r.header("X-Key"), QByteArray("k1"));
    QCOMPARE(r.header("Content-Type"), QByteArray("application/json"));
    // Both exchanges are in the traffic stream.
    bool probe = false;
    bool delivered = false;
    QTRY_VERIFY([&] {
        for (const TrafficRecord &t : m_traffic.drain()) {
            if (t.kind == TrafficRecord::Kind::Probe && t.status == probeStatus && t.ok
                && t.route == QString::fromUtf8(path))
                probe = true;
            if (t.kind == TrafficRecord::Kind::Input && t.outcome == u"acked"_s && t.status == 200
                && t.responseBody == "thanks" && t.payload == R"({"n":1})")
                delivered = true;
        }
        return probe && delivered;
    }());
}

void tst_Runtime::skipsTheProbeForDirectionInput()
{
    const quint16 port = m_app->start();
    m_app->answer("POST", "/tick", 200);
    writeComponent("tick", "bindings.cron",
                   "  - name: schedule\n    value: \"@every 1s\"\n  - name: direction\n    value: "
                   "\" Input \"\n");
    std::unique_ptr<Sidecar> rt = start(port);
    QTRY_VERIFY_WITH_TIMEOUT(m_app->count("POST", "/tick") >= 2, 5000);
    QCOMPARE(m_app->count("OPTIONS", "/tick"), 0);
    const TestApp::Request r = m_app->requests().first();
    QVERIFY(r.body.isEmpty()); // cron ticks are empty
    QCOMPARE(r.header("Timezone"), QByteArray("Local"));
    QVERIFY(r.header("Readtimeutc").endsWith(" +0000 UTC"));
    // Each tick starts a trace of its own (issue 9 item 10).
    const QByteArray first = m_app->requests().at(0).header("Traceparent");
    const QByteArray second = m_app->requests().at(1).header("Traceparent");
    QVERIFY2(trace::parseTraceparent(first.toStdString()).has_value(), first.constData());
    QVERIFY(first.mid(3, 32) != second.mid(3, 32));
}

void tst_Runtime::doesNotDeliverWhenTheAppIsNotSubscribed()
{
    const quint16 port = m_app->start();
    // No answers configured: the app answers 404 to everything.
    writeComponent("tick", "bindings.cron", "  - name: schedule\n    value: \"@every 1s\"\n");
    std::unique_ptr<Sidecar> rt = start(port);
    QTRY_COMPARE(m_app->count("OPTIONS", "/tick"), 1);
    QTRY_VERIFY(subscription(*rt, u"tick"_s).startsWith(u"not subscribed"_s));
    QTest::qWait(1500);
    QCOMPARE(m_app->count("POST", "/tick"), 0);
    QCOMPARE(m_app->count("OPTIONS", "/tick"), 1);
}

void tst_Runtime::waitsForTheAppThenProbesAndDelivers()
{
    const quint16 port = freePort();
    writeComponent("tick", "bindings.cron", "  - name: schedule\n    value: \"@every 1s\"\n");
    std::unique_ptr<Sidecar> rt = start(port);
    QCOMPARE(rt->state(), RuntimeState::Running);
    QVERIFY(!rt->runtime()->appReady());
    QTest::qWait(1200);
    QCOMPARE(m_app->requests().size(), 0);
    QVERIFY(subscription(*rt, u"tick"_s).contains(u"waiting"_s));
    // The app comes up: the runtime notices, probes, and ticks arrive.
    m_app->answer("OPTIONS", "/tick", 200);
    m_app->answer("POST", "/tick", 200);
    QCOMPARE(m_app->start(port), port);
    QTRY_VERIFY(rt->runtime()->appReady());
    QTRY_COMPARE(m_app->count("OPTIONS", "/tick"), 1);
    QTRY_VERIFY_WITH_TIMEOUT(m_app->count("POST", "/tick") >= 1, 5000);
}

void tst_Runtime::recoversWhenTheAppGoesDownAndComesBack()
{
    quint16 port = 0;
    std::unique_ptr<Sidecar> rt = startReadingEvents(&port);
    QTRY_VERIFY(subscription(*rt, u"events"_s).startsWith(u"reading"_s));
    QCOMPARE(invoke(*rt, "events", R"({"operation":"create","data":"before"})").status, 204);
    QTRY_COMPARE(m_app->count("POST", "/events"), 1);

    m_app->stop();
    m_traffic.drain();
    QCOMPARE(invoke(*rt, "events", R"({"operation":"create","data":"while down"})").status, 204);
    // The loopback retries (3 attempts) and then drops; each failure is in the traffic stream.
    std::vector<TrafficRecord> failures;
    QTRY_VERIFY([&] {
        for (TrafficRecord &t : m_traffic.drain()) {
            if (t.kind == TrafficRecord::Kind::Input && t.payload == R"("while down")")
                failures.push_back(std::move(t));
        }
        return failures.size() >= 3;
    }());
    for (const TrafficRecord &t : failures) {
        QVERIFY(!t.ok);
        QCOMPARE(t.status, 0);
        QVERIFY2(t.error.startsWith(u"error invoking app: "_s), qPrintable(t.error));
        QCOMPARE(t.outcome, u"retry"_s);
    }
    QList<int> attempts;
    for (const TrafficRecord &t : failures)
        attempts << t.attempt;
    std::sort(attempts.begin(), attempts.end());
    QCOMPARE(attempts, (QList<int>{1, 2, 3}));
    QCOMPARE(rt->state(), RuntimeState::Running);

    QCOMPARE(m_app->start(port), port);
    QCOMPARE(invoke(*rt, "events", R"({"operation":"create","data":"after"})").status, 204);
    QTRY_VERIFY(!m_app->requests().isEmpty() && m_app->requests().last().body == R"("after")");
}

void tst_Runtime::sendsAppApiTokenOnProbeAndDelivery()
{
    const quint16 port = m_app->start();
    m_app->answer("OPTIONS", "/tick", 200);
    m_app->answer("POST", "/tick", 200);
    writeComponent("tick", "bindings.cron", "  - name: schedule\n    value: \"@every 1s\"\n");
    std::unique_ptr<Sidecar> rt = start(port, "app-token-42");
    QTRY_VERIFY_WITH_TIMEOUT(m_app->count("POST", "/tick") >= 1, 5000);
    for (const TestApp::Request &r : m_app->requests())
        QCOMPARE(r.header("dapr-api-token"), QByteArray("app-token-42"));
}

void tst_Runtime::failsFastOnBadComponentsUnlessIgnoreErrors()
{
    writeComponent("bad", "bindings.cron", "  - name: schedule\n    value: \"not a schedule\"\n");
    std::unique_ptr<Sidecar> rt = start(0);
    QCOMPARE(rt->state(), RuntimeState::Failed);
    QVERIFY2(rt->lastError().contains(u"[INIT_COMPONENT_FAILURE]"_s), qPrintable(rt->lastError()));
    QVERIFY2(rt->lastError().contains(u"invalid schedule format"_s), qPrintable(rt->lastError()));
    // Every fatal message names the file and line (issue 14.10).
    QVERIFY2(rt->lastError().startsWith(m_dir->filePath(u"bad.yaml"_s) + u":1: "_s),
             qPrintable(rt->lastError()));
    rt.reset();
    // A typo in the type's category ("binding.") is daprd's "incorrect type": fatal too (14.10).
    writeComponent("bad", "binding.cron", "  - name: schedule\n    value: \"@every 1s\"\n");
    rt = start(0);
    QCOMPARE(rt->state(), RuntimeState::Failed);
    QVERIFY2(rt->lastError().contains(u"incorrect type binding.cron"_s),
             qPrintable(rt->lastError()));
    rt.reset();
    QFile f(m_dir->filePath(u"bad.yaml"_s));
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write(
        "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: bad\nspec:\n  type: "
        "bindings.cron\n"
        "  ignoreErrors: true\n  metadata:\n  - name: schedule\n    value: \"not a schedule\"\n");
    f.close();
    writeComponent("good", "bindings.cron", "  - name: schedule\n    value: \"@every 1s\"\n");
    rt = start(0);
    QCOMPARE(rt->state(), RuntimeState::Running);
    QStringList states;
    for (const ComponentStatus &c : rt->components())
        states << c.name + u'=' + componentStateName(c.state);
    QCOMPARE(states, (QStringList{u"bad=failed"_s, u"good=loaded"_s}));
}

void tst_Runtime::retriesAProbeThatTimedOut()
{
    // A probe that times out is an error (daprd gives up); Bindery retries it every second.
    const quint16 port = m_app->start();
    m_app->answer("OPTIONS", "/tick", -1);
    m_app->answer("POST", "/tick", 200);
    writeComponent("tick", "bindings.cron", "  - name: schedule\n    value: \"@every 1s\"\n");
    m_probeTimeoutMs = 400;
    std::unique_ptr<Sidecar> rt = start(port);
    m_probeTimeoutMs = 3000;
    QTRY_VERIFY_WITH_TIMEOUT(subscription(*rt, u"tick"_s)
                                 .startsWith(u"probe failed, retrying: could not invoke OPTIONS"_s),
                             5000);
    QCOMPARE(m_app->count("POST", "/tick"), 0);
    bool probeError = false;
    for (const TrafficRecord &t : m_traffic.drain())
        probeError
            |= t.kind == TrafficRecord::Kind::Probe && !t.ok && t.status == 0 && !t.error.isEmpty();
    QVERIFY(probeError);
    m_app->answer("OPTIONS", "/tick", 200);
    QTRY_VERIFY_WITH_TIMEOUT(subscription(*rt, u"tick"_s).startsWith(u"reading"_s), 5000);
    QTRY_VERIFY_WITH_TIMEOUT(m_app->count("POST", "/tick") >= 1, 5000);
}

void tst_Runtime::reloadsAFileAndDisablesComponents()
{
    writeComponent("loop", "bindings.loopback", "  - name: capacity\n    value: 1\n");
    std::unique_ptr<Sidecar> rt = start(0);
    QCOMPARE(rt->state(), RuntimeState::Running);
    QCOMPARE(invoke(*rt, "loop", R"({"operation":"echo","data":1})").status, 200);
    // Hot reload of an edited file: the component is re-created with the new metadata.
    writeComponent("loop", "bindings.loopback",
                   "  - name: capacity\n    value: 2\n  - name: direction\n    value: input\n");
    onRuntime(*rt, [&](Runtime &r) { r.reloadFile(m_dir->filePath(u"loop.yaml"_s)); });
    QCOMPARE(rt->components().size(), 1);
    QCOMPARE(rt->components().first().output, false);
    const HttpAnswer gone = invoke(*rt, "loop", R"({"operation":"echo","data":1})");
    QCOMPARE(gone.status, 500);
    QVERIFY(gone.body.contains("couldn't find output binding loop"));
    writeComponent("loop", "bindings.loopback", "  - name: capacity\n    value: 3\n");
    onRuntime(*rt, [&](Runtime &r) { r.reloadFile(m_dir->filePath(u"loop.yaml"_s)); });
    QCOMPARE(invoke(*rt, "loop", R"({"operation":"echo","data":2})").status, 200);
    // Disabling takes it out of service; enabling brings it back.
    onRuntime(*rt, [&](Runtime &r) { r.setComponentEnabled(u"loop"_s, false); });
    QCOMPARE(rt->components().first().state, ComponentState::Disabled);
    QCOMPARE(invoke(*rt, "loop", R"({"operation":"echo","data":3})").status, 500);
    onRuntime(*rt, [&](Runtime &r) { r.setComponentEnabled(u"loop"_s, true); });
    QCOMPARE(rt->components().first().state, ComponentState::Loaded);
    QCOMPARE(invoke(*rt, "loop", R"({"operation":"echo","data":4})").body, QByteArray("4"));
    // A deleted file unloads its components.
    QFile::remove(m_dir->filePath(u"loop.yaml"_s));
    onRuntime(*rt, [&](Runtime &r) { r.reloadFile(m_dir->filePath(u"loop.yaml"_s)); });
    QCOMPARE(rt->components().size(), 0);
}

// Hot reload of a file whose secretKeyRef points at a store defined in another file (as the
// samples do): the reload must resolve through that store, not fail with "store not loaded".
void tst_Runtime::reloadResolvesSecretsThroughAStoreInAnotherFile()
{
    qputenv("BINDERY_TST_CAPACITY", "7");
    writeComponent("env-secrets", "secretstores.local.env", "");
    const QByteArray loop
        = "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: loop\nspec:\n"
          "  type: bindings.loopback\n  metadata:\n  - name: capacity\n    secretKeyRef:\n"
          "      name: BINDERY_TST_CAPACITY\nauth:\n  secretStore: env-secrets\n";
    QFile f(m_dir->filePath(u"loop.yaml"_s));
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write(loop);
    f.close();
    std::unique_ptr<Sidecar> rt = start(0);
    QCOMPARE(rt->state(), RuntimeState::Running);
    auto loopStatus = [&] {
        for (const ComponentStatus &c : rt->components()) {
            if (c.name == u"loop"_s)
                return c;
        }
        return ComponentStatus{};
    };
    QCOMPARE(loopStatus().state, ComponentState::Loaded);
    onRuntime(*rt, [&](Runtime &r) { r.reloadFile(m_dir->filePath(u"loop.yaml"_s)); });
    QVERIFY2(loopStatus().state == ComponentState::Loaded, qPrintable(loopStatus().error));
    QCOMPARE(invoke(*rt, "loop", R"({"operation":"echo","data":5})").status, 200);
}

// A binding reports its connection state through the reporter the runtime installed before init
// (issue 10): the component's status says it, the log says it, and the traffic has a record.
void tst_Runtime::showsABindingsConnectionStateInStatusLogAndTraffic()
{
    writeComponent("link", "bindings.loopback", "  - name: direction\n    value: \"output\"\n");
    std::unique_ptr<Sidecar> rt = start(0);
    QStringList logged;
    QObject receiver; // gone before `logged`: a late queued message cannot reach a dead list
    connect(rt->runtime(), &Runtime::logMessage, &receiver,
            [&](int, const QString &text) { logged << text; });
    m_traffic.drain();
    auto status = [&] {
        for (const ComponentStatus &c : rt->components()) {
            if (c.name == u"link"_s)
                return c;
        }
        return ComponentStatus{};
    };
    QCOMPARE(status().connectionState, QString()); // nothing reported yet
    QCOMPARE(invoke(*rt, "link",
                    R"({"operation":"report","metadata":{"state":"reconnecting",)"
                    R"("detail":"connection refused","nextAttemptInMs":"5000"}})")
                 .status,
             204);
    QTRY_COMPARE(status().connectionState, u"reconnecting"_s);
    QCOMPARE(status().connection, u"reconnecting in 5 s: connection refused"_s);
    QTRY_VERIFY(logged.contains(
        u"link (bindings.loopback) output: reconnecting in 5 s: connection refused"_s));
    QCOMPARE(
        invoke(*rt, "link", R"({"operation":"report","metadata":{"state":"connected"}})").status,
        204);
    QTRY_COMPARE(status().connectionState, u"connected"_s);
    QCOMPARE(status().connection, u"connected"_s);
    QList<TrafficRecord> connections;
    for (TrafficRecord &r : m_traffic.drain()) {
        if (r.kind == TrafficRecord::Kind::Connection)
            connections << r;
    }
    QCOMPARE(connections.size(), 2);
    QCOMPARE(connections[0].binding, u"link"_s);
    QCOMPARE(connections[0].operation, u"reconnecting"_s);
    QCOMPARE(connections[0].ok, false);
    QCOMPARE(connections[0].error, u"reconnecting in 5 s: connection refused"_s);
    QCOMPARE(connections[0].metadata, (Headers{{u"direction"_s, u"output"_s}}));
    QCOMPARE(connections[1].operation, u"connected"_s);
    QCOMPARE(connections[1].ok, true);
    // The kind survives the traffic log's JSON Lines.
    TrafficRecord back;
    QVERIFY(trafficRecordFromJson(trafficRecordToJson(connections[0]), &back));
    QCOMPARE(back.kind, TrafficRecord::Kind::Connection);
}

// Issue 9 item 10: the event's own traceparent when its binding read one, else a fresh trace
// (real ids, so the console can link a delivery to what caused it).
void tst_Runtime::everyDeliveryCarriesATraceparent()
{
    std::unique_ptr<Sidecar> rt = startReadingEvents();
    QTRY_VERIFY(subscription(*rt, u"events"_s).startsWith(u"reading"_s));
    const QByteArray caller = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    QCOMPARE(httpRequest(m_nam, "POST",
                         QUrl(u"http://127.0.0.1:%1/v1.0/bindings/events"_s.arg(rt->httpPort())),
                         R"({"operation":"create","data":1})", {{"traceparent", caller}})
                 .status,
             204);
    QCOMPARE(invoke(*rt, "events", R"({"operation":"create","data":2})").status, 204);
    QCOMPARE(
        invoke(*rt, "events", R"({"operation":"create","data":3,"metadata":{"traceparent":"bad"}})")
            .status,
        204);
    QTRY_COMPARE(m_app->count("POST", "/events"), 3);
    QList<QByteArray> seen;
    for (const TestApp::Request &r : m_app->requests()) {
        if (r.method == "POST")
            seen << r.header("Traceparent");
    }
    QCOMPARE(seen[0], caller); // carried through the binding as the event's own
    for (const QByteArray &fresh : {seen[1], seen[2]}) {
        QVERIFY2(trace::parseTraceparent(fresh.toStdString()).has_value(), fresh.constData());
        QVERIFY(fresh.endsWith("-01"));
        QVERIFY(!fresh.contains("0af7651916cd43dd8448eb211c80319c"));
    }
    QVERIFY(seen[1].mid(3, 32) != seen[2].mid(3, 32));
}

QTEST_GUILESS_MAIN(tst_Runtime)
#include "tst_runtime.moc"
