// SPDX-License-Identifier: Apache-2.0
// daprd's app health checks (--enable-app-health-check, reference §2.1, issue 18 item 7): the
// inputs start only after the first healthy probe; `threshold` failed probes in a row stop
// reading every input binding (daprd's StopReadingFromBindings); the next healthy probe
// restarts them with a fresh OPTIONS probe. Against a real local app that goes unhealthy and
// back, with a real cron binding.
#include <atomic>
#include <memory>

#include <QElapsedTimer>
#include <QFile>
#include <QTemporaryDir>
#include <QTest>

#include "core/binding_registry.h"
#include "core/host/sidecar.h"
#include "core/runtime.h"
#include "core/traffic.h"
#include "test_app.h"

using namespace bindery::core;
using namespace bindery::tests;
using namespace Qt::Literals::StringLiterals;

class tst_AppHealth : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void pausesInputsWhileTheAppIsUnhealthy();
    void neverStartsInputsForAnAppThatIsNeverHealthy();
    void holdsDeliveriesAtAppMaxConcurrency();
    void stopCancelsADeliveryTheAppNeverAnswers();

private:
    std::unique_ptr<Sidecar> start(quint16 appPort, const QTemporaryDir &dir,
                                   bool healthChecks = true, int maxConcurrency = -1);
    static QString subscription(const Sidecar &rt, const QString &name = QStringLiteral("tick"));

    BindingRegistry m_registry;
    TrafficStream m_traffic{100000};
};

void tst_AppHealth::initTestCase()
{
    registerBuiltinBindings(m_registry);
    registerLoopbackBinding(m_registry);
}

std::unique_ptr<Sidecar> tst_AppHealth::start(quint16 appPort, const QTemporaryDir &dir,
                                              bool healthChecks, int maxConcurrency)
{
    QFile f(dir.filePath(u"tick.yaml"_s));
    if (!f.open(QIODevice::WriteOnly))
        return nullptr;
    f.write("apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: tick\nspec:\n"
            "  type: bindings.cron\n  metadata:\n  - name: schedule\n    value: \"@every 1s\"\n");
    f.close();
    RuntimeOptions o;
    o.httpPort = 0;
    o.appPort = appPort;
    o.resourcesPaths = {dir.path()};
    o.appHealthCheck = healthChecks;
    o.appMaxConcurrency = maxConcurrency;
    o.appHealthCheckPath = u"/healthz"_s;
    o.appHealthProbeIntervalMs = 500;
    o.appHealthProbeTimeoutMs = 300;
    o.appHealthThreshold = 2;
    auto rt = std::make_unique<Sidecar>(o, m_registry, m_traffic);
    if (!rt->startAndWait())
        qWarning("runtime failed: %s", qPrintable(rt->lastError()));
    return rt;
}

QString tst_AppHealth::subscription(const Sidecar &rt, const QString &name)
{
    for (const ComponentStatus &c : rt.components()) {
        if (c.name == name)
            return c.subscription;
    }
    return u"<no component>"_s;
}

void tst_AppHealth::pausesInputsWhileTheAppIsUnhealthy()
{
    QTemporaryDir dir;
    TestApp app;
    const quint16 port = app.start();
    app.answer("GET", "/healthz", 200);
    app.answer("OPTIONS", "/tick", 200);
    app.answer("POST", "/tick", 200);
    std::unique_ptr<Sidecar> rt = start(port, dir);
    QVERIFY(rt && rt->state() == RuntimeState::Running);

    // Healthy: the first probe comes before the OPTIONS probe, then the ticks flow.
    QTRY_VERIFY_WITH_TIMEOUT(app.count("POST", "/tick") >= 2, 6000);
    QVERIFY(rt->runtime()->appHealthy());
    const QList<TestApp::Request> first = app.requests();
    QCOMPARE(first.first().method + ' ' + first.first().path, QByteArray("GET /healthz"));
    QCOMPARE(app.count("OPTIONS", "/tick"), 1);

    // Unhealthy: two failed probes in a row stop reading; no tick reaches the app any more.
    app.answer("GET", "/healthz", 503);
    QTRY_VERIFY_WITH_TIMEOUT(!rt->runtime()->appHealthy(), 5000);
    QTRY_VERIFY2(subscription(*rt).startsWith(u"paused: the app is unhealthy"_s),
                 qPrintable(subscription(*rt)));
    QVERIFY2(subscription(*rt).contains(u"Health check failed with status code: 503"_s),
             qPrintable(subscription(*rt)));
    const int ticksWhenPaused = app.count("POST", "/tick");
    QTest::qWait(2500);
    QCOMPARE(app.count("POST", "/tick"), ticksWhenPaused);
    QVERIFY(app.count("GET", "/healthz") >= 4); // probing goes on

    // Healthy again: a fresh OPTIONS probe, then the ticks come back.
    app.answer("GET", "/healthz", 200);
    QTRY_VERIFY_WITH_TIMEOUT(rt->runtime()->appHealthy(), 5000);
    QTRY_COMPARE(app.count("OPTIONS", "/tick"), 2);
    QTRY_VERIFY_WITH_TIMEOUT(app.count("POST", "/tick") >= ticksWhenPaused + 2, 6000);
    QVERIFY(subscription(*rt).startsWith(u"reading"_s));
    rt->stopAndWait();
}

void tst_AppHealth::neverStartsInputsForAnAppThatIsNeverHealthy()
{
    QTemporaryDir dir;
    TestApp app;
    const quint16 port = app.start();
    app.answer("GET", "/healthz", 500);
    app.answer("OPTIONS", "/tick", 200);
    app.answer("POST", "/tick", 200);
    std::unique_ptr<Sidecar> rt = start(port, dir);
    QVERIFY(rt && rt->state() == RuntimeState::Running);
    QTRY_VERIFY_WITH_TIMEOUT(app.count("GET", "/healthz") >= 4, 5000);
    QVERIFY(!rt->runtime()->appHealthy());
    QCOMPARE(app.count("OPTIONS", "/tick"), 0);
    QCOMPARE(app.count("POST", "/tick"), 0);
    QCOMPARE(subscription(*rt), u"waiting for the app to be healthy"_s);
    rt->stopAndWait();
}

// --app-max-concurrency (daprd's app channel semaphore): with 1 and an app that never answers,
// the later ticks wait for the slot instead of reaching the app.
void tst_AppHealth::holdsDeliveriesAtAppMaxConcurrency()
{
    QTemporaryDir dir;
    TestApp app;
    const quint16 port = app.start();
    app.answer("OPTIONS", "/tick", 200);
    app.answer("POST", "/tick", -1); // never answers
    std::unique_ptr<Sidecar> rt = start(port, dir, false, 1);
    QTRY_COMPARE_WITH_TIMEOUT(app.count("POST", "/tick"), 1, 5000);
    QTest::qWait(3000); // three more ticks
    QCOMPARE(app.count("POST", "/tick"), 1);
    QElapsedTimer t;
    t.start();
    rt->stopAndWait(); // the waiting ticks and the one in flight are cancelled
    QVERIFY2(t.elapsed() < 3000, qPrintable(QString::number(t.elapsed())));
}

// daprd cancels the Read context, and with it the deliveries in flight, when it stops reading:
// a binding that sets no cancel token of its own (the loopback here) is stopped promptly too,
// not after the 60 s delivery timeout.
void tst_AppHealth::stopCancelsADeliveryTheAppNeverAnswers()
{
    QTemporaryDir dir;
    QFile f(dir.filePath(u"events.yaml"_s));
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write("apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: events\nspec:\n"
            "  type: bindings.loopback\n  metadata:\n  - name: capacity\n    value: 5\n");
    f.close();
    TestApp app;
    const quint16 port = app.start();
    app.answer("OPTIONS", "/events", 200);
    app.answer("POST", "/events", -1); // never answers
    RuntimeOptions o;
    o.httpPort = 0;
    o.appPort = port;
    o.resourcesPaths = {dir.path()};
    Sidecar rt(o, m_registry, m_traffic);
    QVERIFY(rt.startAndWait());
    QTRY_VERIFY(subscription(rt, u"events"_s).startsWith(u"reading"_s));
    std::atomic<bool> sent{false};
    QMetaObject::invokeMethod(
        rt.runtime(),
        [&] {
            OutputEntry out = rt.runtime()->output(u"events"_s);
            InvokeRequest rq;
            rq.operation = u"create"_s;
            rq.data = "{}";
            out.binding->invoke(rq, [&sent](InvokeResult r) { sent = r.result.has_value(); });
        },
        Qt::BlockingQueuedConnection);
    QTRY_VERIFY(sent.load());
    QTRY_COMPARE(app.count("POST", "/events"), 1);
    QElapsedTimer t;
    t.start();
    rt.stopAndWait();
    QVERIFY2(t.elapsed() < 3000, qPrintable(QString::number(t.elapsed())));
}

QTEST_GUILESS_MAIN(tst_AppHealth)
#include "tst_app_health.moc"
