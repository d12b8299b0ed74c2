// SPDX-License-Identifier: Apache-2.0
// ReconnectLoop (issue 8 part 4): the backoff sequence stays within its jitter bounds, a stop
// wakes the loop within 50 ms, permanent errors do not spin, and every state change is
// reported and readable by people.
#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include <QElapsedTimer>
#include <QTest>

#include "core/bindings/common/reconnect_loop.h"

using namespace bindery::bindings::common;
using namespace std::chrono_literals;
using namespace Qt::Literals::StringLiterals;

namespace {

struct Reported
{
    ConnectionState state;
    QString detail;
    int nextMs;
    qint64 atUs;
};

/// Records every report, with the time it was made.
struct Recorder
{
    std::mutex mutex;
    std::vector<Reported> all;
    QElapsedTimer clock;
    Recorder() { clock.start(); }
    ReconnectLoop::Report callback()
    {
        return [this](ConnectionState s, const QString &d, int next) {
            std::lock_guard lock(mutex);
            all.push_back({s, d, next, clock.nsecsElapsed() / 1000});
        };
    }
    std::vector<ConnectionState> states()
    {
        std::lock_guard lock(mutex);
        std::vector<ConnectionState> out;
        for (const Reported &r : all)
            out.push_back(r.state);
        return out;
    }
    std::vector<Reported> copy()
    {
        std::lock_guard lock(mutex);
        return all;
    }
};

} // namespace

class tst_ReconnectLoop : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void backsOffWithinTheJitterBounds();
    void waitsAFixedTimeWhenAsked();
    void stopWakesTheWaitWithin50ms();
    void permanentErrorsDoNotSpin();
    void permanentErrorsCanStopTheLoop();
    void givesUpAfterMaxAttempts();
    void reconnectsAfterTheConnectionIsLost();
    void describesStatesForPeople_data();
    void describesStatesForPeople();
};

void tst_ReconnectLoop::backsOffWithinTheJitterBounds()
{
    ReconnectOptions o;
    o.initial = 20ms;
    o.max = 200ms;
    o.multiplier = 2.0;
    o.jitter = 0.25;
    Recorder rec;
    ReconnectLoop loop(o, rec.callback());
    const std::vector<qint64> nominal{20, 40, 80, 160, 200, 200, 200};
    for (size_t i = 0; i < nominal.size(); ++i)
        QCOMPARE(loop.nominalDelay(static_cast<int>(i) + 1).count(), nominal[i]);

    std::vector<qint64> attemptAtUs;
    std::stop_source stop;
    const bool connected = loop.connect(stop.get_token(), [&](int attempt) {
        attemptAtUs.push_back(rec.clock.nsecsElapsed() / 1000);
        return attempt <= 7 ? ConnectAttempt::transient(u"connection refused"_s)
                            : ConnectAttempt::connected();
    });
    QVERIFY(connected);
    QCOMPARE(loop.state(), ConnectionState::Connected);
    QCOMPARE(attemptAtUs.size(), size_t(8));

    std::vector<int> waits;
    for (const Reported &r : rec.copy()) {
        if (r.state == ConnectionState::Reconnecting) {
            waits.push_back(r.nextMs);
            QCOMPARE(r.detail, u"connection refused"_s);
        }
    }
    QCOMPARE(waits.size(), nominal.size());
    for (size_t i = 0; i < waits.size(); ++i) {
        const double lo = static_cast<double>(nominal[i]) * 0.75 - 1;
        const double hi = qMin(static_cast<double>(nominal[i]) * 1.25, 200.0);
        QVERIFY2(
            waits[i] >= lo && waits[i] <= hi,
            qPrintable(u"wait %1 = %2 ms, bounds [%3, %4]"_s.arg(i).arg(waits[i]).arg(lo).arg(hi)));
        // The loop really waited what it reported.
        const qint64 gapUs = attemptAtUs[i + 1] - attemptAtUs[i];
        QVERIFY2(gapUs >= waits[i] * 1000 - 1000,
                 qPrintable(u"gap %1 µs for wait %2 ms"_s.arg(gapUs).arg(waits[i])));
    }
    // Connecting, then (Reconnecting, Connecting) per failure, then Connected.
    std::vector<ConnectionState> expected{ConnectionState::Connecting};
    for (size_t i = 0; i < nominal.size(); ++i) {
        expected.push_back(ConnectionState::Reconnecting);
        expected.push_back(ConnectionState::Connecting);
    }
    expected.push_back(ConnectionState::Connected);
    QVERIFY(rec.states() == expected);
}

void tst_ReconnectLoop::waitsAFixedTimeWhenAsked()
{
    ReconnectOptions o;
    o.fixedWait = 30ms; // RabbitMQ's reconnectWaitInSeconds
    Recorder rec;
    ReconnectLoop loop(o, rec.callback());
    std::stop_source stop;
    QVERIFY(loop.connect(stop.get_token(), [](int attempt) {
        return attempt < 4 ? ConnectAttempt::transient(u"refused"_s) : ConnectAttempt::connected();
    }));
    int reconnecting = 0;
    for (const Reported &r : rec.copy()) {
        if (r.state == ConnectionState::Reconnecting) {
            ++reconnecting;
            QCOMPARE(r.nextMs, 30);
        }
    }
    QCOMPARE(reconnecting, 3);
}

void tst_ReconnectLoop::stopWakesTheWaitWithin50ms()
{
    ReconnectOptions o;
    o.fixedWait = 10s;
    Recorder rec;
    ReconnectLoop loop(o, rec.callback());
    std::atomic<bool> waiting{false};
    std::atomic<qint64> returnedAtUs{0};
    std::atomic<bool> result{true};
    std::jthread runner([&](std::stop_token stop) {
        result = loop.connect(stop, [&](int) {
            waiting = true;
            return ConnectAttempt::transient(u"connection refused"_s);
        });
        returnedAtUs = rec.clock.nsecsElapsed() / 1000;
    });
    QTRY_VERIFY(waiting.load());
    QTest::qWait(100); // well inside the 10 s wait
    const qint64 stopAtUs = rec.clock.nsecsElapsed() / 1000;
    runner.request_stop();
    runner.join();
    const qint64 wokeInUs = returnedAtUs.load() - stopAtUs;
    qInfo("stop woke the loop in %lld µs", wokeInUs);
    QVERIFY2(wokeInUs < 50'000, qPrintable(QString::number(wokeInUs)));
    QVERIFY(!result.load());
    QCOMPARE(rec.states().back(), ConnectionState::Stopped);
    QCOMPARE(loop.state(), ConnectionState::Stopped);
}

void tst_ReconnectLoop::permanentErrorsDoNotSpin()
{
    ReconnectOptions o;
    o.initial = 1ms; // a transient error would be retried almost at once
    o.max = 300ms;
    Recorder rec;
    ReconnectLoop loop(o, rec.callback());
    std::atomic<int> attempts{0};
    std::jthread runner([&](std::stop_token stop) {
        loop.connect(stop, [&](int) {
            attempts.fetch_add(1);
            return ConnectAttempt::permanent(u"ACCESS_REFUSED: bad credentials"_s);
        });
    });
    QTest::qWait(1000);
    runner.request_stop();
    runner.join();
    qInfo("%d attempts in 1 s against a permanent error", attempts.load());
    QVERIFY2(attempts.load() >= 3 && attempts.load() <= 5,
             qPrintable(QString::number(attempts.load())));
    int failed = 0;
    for (const Reported &r : rec.copy()) {
        if (r.state == ConnectionState::Failed) {
            ++failed;
            QCOMPARE(r.nextMs, 300);
            QCOMPARE(r.detail, u"ACCESS_REFUSED: bad credentials"_s);
        }
        QVERIFY(r.state != ConnectionState::Reconnecting);
    }
    QVERIFY(failed >= 3);
}

void tst_ReconnectLoop::permanentErrorsCanStopTheLoop()
{
    ReconnectOptions o;
    o.onPermanent = ReconnectOptions::OnPermanent::Stop;
    Recorder rec;
    ReconnectLoop loop(o, rec.callback());
    int attempts = 0;
    std::stop_source stop;
    QElapsedTimer t;
    t.start();
    QVERIFY(!loop.connect(stop.get_token(), [&](int) {
        ++attempts;
        return ConnectAttempt::permanent(u"NOT_FOUND: no vhost 'orders'"_s);
    }));
    QVERIFY(t.elapsed() < 50);
    QCOMPARE(attempts, 1);
    const std::vector<Reported> all = rec.copy();
    QCOMPARE(all.back().state, ConnectionState::Failed);
    QCOMPARE(all.back().nextMs, -1);
    QCOMPARE(ReconnectLoop::describe(all.back().state, all.back().detail, all.back().nextMs),
             u"failed: NOT_FOUND: no vhost 'orders'"_s);
}

void tst_ReconnectLoop::givesUpAfterMaxAttempts()
{
    ReconnectOptions o;
    o.initial = 1ms;
    o.maxAttempts = 3;
    Recorder rec;
    ReconnectLoop loop(o, rec.callback());
    int attempts = 0;
    std::stop_source stop;
    QVERIFY(!loop.connect(stop.get_token(), [&](int) {
        ++attempts;
        return ConnectAttempt::transient(u"connection refused"_s);
    }));
    QCOMPARE(attempts, 3);
    QCOMPARE(loop.state(), ConnectionState::Failed);
    QCOMPARE(rec.copy().back().detail, u"gave up after 3 attempts: connection refused"_s);
}

void tst_ReconnectLoop::reconnectsAfterTheConnectionIsLost()
{
    ReconnectOptions o;
    o.initial = 40ms;
    o.jitter = 0;
    Recorder rec;
    ReconnectLoop loop(o, rec.callback());
    std::stop_source stop;
    QVERIFY(loop.connect(stop.get_token(), [](int) { return ConnectAttempt::connected(); }));
    QCOMPARE(rec.states(), (std::vector{ConnectionState::Connecting, ConnectionState::Connected}));

    loop.connectionLost(u"connection reset by peer"_s);
    QElapsedTimer t;
    t.start();
    QVERIFY(loop.connect(stop.get_token(), [](int) { return ConnectAttempt::connected(); }));
    QVERIFY(t.elapsed() >= 39);
    const std::vector<Reported> all = rec.copy();
    QCOMPARE(all.size(), size_t(5));
    QCOMPARE(all[2].state, ConnectionState::Reconnecting);
    QCOMPARE(ReconnectLoop::describe(all[2].state, all[2].detail, all[2].nextMs),
             u"reconnecting in 40 ms: connection reset by peer"_s);
    QCOMPARE(all[3].state, ConnectionState::Connecting);
    QCOMPARE(all[4].state, ConnectionState::Connected);

    loop.reportStopped();
    loop.reportStopped(); // once
    QCOMPARE(rec.copy().size(), size_t(6));
    QCOMPARE(loop.state(), ConnectionState::Stopped);
}

void tst_ReconnectLoop::describesStatesForPeople_data()
{
    QTest::addColumn<ConnectionState>("state");
    QTest::addColumn<QString>("detail");
    QTest::addColumn<int>("nextMs");
    QTest::addColumn<QString>("text");
    QTest::newRow("reconnecting 2 s") << ConnectionState::Reconnecting << u"connection refused"_s
                                      << 2000 << u"reconnecting in 2 s: connection refused"_s;
    QTest::newRow("reconnecting 250 ms") << ConnectionState::Reconnecting << u"timed out"_s << 250
                                         << u"reconnecting in 250 ms: timed out"_s;
    QTest::newRow("reconnecting 2.5 s") << ConnectionState::Reconnecting << u"refused"_s << 2460
                                        << u"reconnecting in 2.5 s: refused"_s;
    QTest::newRow("reconnecting 3 min")
        << ConnectionState::Reconnecting << QString() << 180000 << u"reconnecting in 3 min"_s;
    QTest::newRow("failed, retrying") << ConnectionState::Failed << u"bad credentials"_s << 30000
                                      << u"failed: bad credentials; retrying in 30 s"_s;
    QTest::newRow("connecting") << ConnectionState::Connecting << QString() << 0 << u"connecting"_s;
    QTest::newRow("connecting again")
        << ConnectionState::Connecting << u"attempt 3"_s << 0 << u"connecting (attempt 3)"_s;
    QTest::newRow("connected") << ConnectionState::Connected << QString() << 0 << u"connected"_s;
    QTest::newRow("stopped") << ConnectionState::Stopped << QString() << -1 << u"stopped"_s;
}

void tst_ReconnectLoop::describesStatesForPeople()
{
    QFETCH(ConnectionState, state);
    QFETCH(QString, detail);
    QFETCH(int, nextMs);
    QFETCH(QString, text);
    QCOMPARE(ReconnectLoop::describe(state, detail, nextMs), text);
}

QTEST_GUILESS_MAIN(tst_ReconnectLoop)
#include "tst_reconnect_loop.moc"
