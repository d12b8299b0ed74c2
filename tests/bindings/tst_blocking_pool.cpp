// SPDX-License-Identifier: Apache-2.0
// BlockingPool and PerThreadPool (issue 8 part 4): named threads, a bounded queue that never
// blocks the caller, per-thread state created and destroyed on its own thread, and a stop that
// drains or cancels within its bound, each task seeing exactly one of run or cancelled.
#include <pthread.h>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

#include <QElapsedTimer>
#include <QTest>

#include "core/bindings/common/blocking_pool.h"

using namespace bindery;
using namespace bindery::bindings::common;
using namespace std::chrono_literals;
using namespace Qt::Literals::StringLiterals;

namespace {

std::string currentThreadName()
{
    char name[32] = {};
    pthread_getname_np(pthread_self(), name, sizeof name);
    return name;
}

/// A gate tasks wait on until the test opens it.
struct Gate
{
    std::mutex mutex;
    std::condition_variable cv;
    bool open = false;
    int waiting = 0;
    void pass()
    {
        std::unique_lock lock(mutex);
        ++waiting;
        cv.notify_all();
        cv.wait(lock, [&] { return open; });
    }
    bool waitForWaiting(int n)
    {
        std::unique_lock lock(mutex);
        return cv.wait_for(lock, 5s, [&] { return waiting >= n; });
    }
    void release()
    {
        std::lock_guard lock(mutex);
        open = true;
        cv.notify_all();
    }
};

/// What a RabbitMQ connection would be: made, used and destroyed on one thread.
struct Connection
{
    explicit Connection(int w, std::atomic<int> *wrongThread)
        : worker(w)
        , owner(std::this_thread::get_id())
        , m_wrongThread(wrongThread)
    {
    }
    ~Connection()
    {
        if (std::this_thread::get_id() != owner)
            m_wrongThread->fetch_add(1);
    }
    int worker;
    std::thread::id owner;
    int uses = 0;
    std::atomic<int> *m_wrongThread;
};

} // namespace

class tst_BlockingPool : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void namesItsThreadsAfterTheBinding();
    void refusesBeyondTheQueueBoundWithoutBlocking();
    void createsPerThreadStateOnItsThread();
    void drainRunsWhatIsQueued();
    void cancelDropsWhatIsQueuedPromptly();
    void drainThatRunsOutOfTimeCancelsTheRest();
    void boundsStopWhenATaskIgnoresIt();
    void refusesSubmitAfterStop();
};

void tst_BlockingPool::namesItsThreadsAfterTheBinding()
{
    for (const auto &[binding, prefix] :
         {std::pair{u"mq"_s, std::string("bindery-mq-")},
          std::pair{u"rabbitmq"_s, std::string("bindery-rabbi-")}}) {
        BlockingPool pool({binding, 3, 64});
        std::mutex mutex;
        std::set<std::string> names;
        Gate gate;
        for (int i = 0; i < 3; ++i) {
            QVERIFY(pool.submit([&](std::stop_token) {
                {
                    std::lock_guard lock(mutex);
                    names.insert(currentThreadName());
                }
                gate.pass(); // holds each thread, so all three take one task
            }));
        }
        QVERIFY(gate.waitForWaiting(3));
        gate.release();
        QVERIFY(pool.stop(StopMode::Drain, 2s));
        QCOMPARE(names, (std::set<std::string>{prefix + "0", prefix + "1", prefix + "2"}));
        for (const std::string &n : names)
            QVERIFY(n.size() <= 15);
    }
}

void tst_BlockingPool::refusesBeyondTheQueueBoundWithoutBlocking()
{
    BlockingPool pool({u"bound"_s, 2, 3});
    Gate gate;
    std::atomic<int> ran{0};
    auto task = [&](std::stop_token) {
        gate.pass();
        ran.fetch_add(1);
    };
    QVERIFY(pool.submit(task));
    QVERIFY(pool.submit(task));
    QVERIFY(gate.waitForWaiting(2)); // both threads busy
    for (int i = 0; i < 3; ++i)
        QVERIFY(pool.submit(task));
    QCOMPARE(pool.queued(), 3);
    QElapsedTimer t;
    t.start();
    const Result<> refused = pool.submit(task);
    QVERIFY(t.elapsed() < 50);
    QVERIFY(!refused);
    QCOMPARE(refused.error().code, ErrorCode::InvokeFailed);
    QVERIFY2(refused.error().message.contains(u"bound pool is busy"_s),
             qPrintable(refused.error().message));
    gate.release();
    QVERIFY(pool.stop(StopMode::Drain, 2s));
    QCOMPARE(ran.load(), 5);
}

void tst_BlockingPool::createsPerThreadStateOnItsThread()
{
    std::atomic<int> wrongThread{0};
    std::atomic<int> made{0};
    std::atomic<int> misuse{0};
    std::atomic<int> ran{0};
    {
        PerThreadPool<Connection> pool({u"conn"_s, 4, 1000}, [&](int worker) {
            made.fetch_add(1);
            return std::make_unique<Connection>(worker, &wrongThread);
        });
        for (int i = 0; i < 200; ++i) {
            QVERIFY(pool.submit([&](Connection &c, std::stop_token) {
                if (c.owner != std::this_thread::get_id()
                    || currentThreadName() != "bindery-conn-" + std::to_string(c.worker))
                    misuse.fetch_add(1);
                ++c.uses; // no lock: only this thread touches its connection
                ran.fetch_add(1);
                std::this_thread::sleep_for(100us);
            }));
        }
        QVERIFY(pool.stop(StopMode::Drain, 5s));
    }
    QCOMPARE(ran.load(), 200);
    QCOMPARE(made.load(), 4);
    QCOMPARE(misuse.load(), 0);
    QCOMPARE(wrongThread.load(), 0); // destroyed on the thread that made it
}

void tst_BlockingPool::drainRunsWhatIsQueued()
{
    BlockingPool pool({u"drain"_s, 1, 64});
    std::atomic<int> ran{0}, cancelled{0};
    for (int i = 0; i < 10; ++i) {
        QVERIFY(pool.submit(
            [&](std::stop_token) {
                std::this_thread::sleep_for(5ms);
                ran.fetch_add(1);
            },
            [&] { cancelled.fetch_add(1); }));
    }
    QVERIFY(pool.stop(StopMode::Drain, 2s));
    QCOMPARE(ran.load(), 10);
    QCOMPARE(cancelled.load(), 0);
}

void tst_BlockingPool::cancelDropsWhatIsQueuedPromptly()
{
    BlockingPool pool({u"cancel"_s, 1, 64});
    std::atomic<int> ran{0}, cancelled{0};
    std::atomic<bool> sawStop{false};
    Gate started;
    QVERIFY(pool.submit([&](std::stop_token stop) {
        {
            std::lock_guard lock(started.mutex);
            ++started.waiting;
            started.cv.notify_all();
        }
        // A blocking call that honours the token, e.g. a consume with a stop check.
        std::mutex m;
        std::condition_variable_any cv;
        std::unique_lock lock(m);
        cv.wait_for(lock, stop, 10s, [] { return false; });
        sawStop = stop.stop_requested();
    }));
    QVERIFY(started.waitForWaiting(1));
    for (int i = 0; i < 5; ++i)
        QVERIFY(pool.submit([&](std::stop_token) { ran.fetch_add(1); },
                            [&] { cancelled.fetch_add(1); }));
    QElapsedTimer t;
    t.start();
    QVERIFY(pool.stop(StopMode::Cancel, 1s));
    qInfo("cancel stop took %lld ms", t.elapsed());
    QVERIFY2(t.elapsed() < 100, qPrintable(QString::number(t.elapsed())));
    QVERIFY(sawStop.load());
    QCOMPARE(ran.load(), 0);
    QCOMPARE(cancelled.load(), 5);
}

void tst_BlockingPool::drainThatRunsOutOfTimeCancelsTheRest()
{
    auto ran = std::make_shared<std::atomic<int>>(0);
    std::atomic<int> cancelled{0};
    BlockingPool pool({u"slowdrain"_s, 1, 64});
    for (int i = 0; i < 10; ++i) {
        QVERIFY(pool.submit(
            [ran](std::stop_token) {
                std::this_thread::sleep_for(100ms);
                ran->fetch_add(1);
            },
            [&] { cancelled.fetch_add(1); }));
    }
    QElapsedTimer t;
    t.start();
    QVERIFY(!pool.stop(StopMode::Drain, 250ms)); // a task was still running at the bound
    QVERIFY2(t.elapsed() < 400, qPrintable(QString::number(t.elapsed())));
    QTest::qWait(300); // the detached worker finishes its task
    QCOMPARE(ran->load() + cancelled.load(), 10);
    QVERIFY(ran->load() >= 2 && ran->load() <= 4);
}

void tst_BlockingPool::boundsStopWhenATaskIgnoresIt()
{
    auto finished = std::make_shared<std::atomic<bool>>(false);
    BlockingPool pool({u"stuck"_s, 2, 8});
    Gate started;
    QVERIFY(pool.submit([finished, &started](std::stop_token) {
        {
            std::lock_guard lock(started.mutex);
            ++started.waiting;
            started.cv.notify_all();
        }
        std::this_thread::sleep_for(800ms); // a library call that cannot be interrupted
        *finished = true;
    }));
    QVERIFY(started.waitForWaiting(1));
    QElapsedTimer t;
    t.start();
    QVERIFY(!pool.stop(StopMode::Cancel, 100ms));
    QVERIFY2(t.elapsed() >= 90 && t.elapsed() < 300, qPrintable(QString::number(t.elapsed())));
    QVERIFY(!finished->load());
    QTRY_VERIFY_WITH_TIMEOUT(finished->load(), 3000); // it ends on its own, detached
}

void tst_BlockingPool::refusesSubmitAfterStop()
{
    BlockingPool pool({u"closed"_s, 1, 8});
    QVERIFY(pool.stop(StopMode::Drain, 1s));
    QVERIFY(pool.stop(StopMode::Cancel, 1s)); // idempotent
    const Result<> r = pool.submit([](std::stop_token) {});
    QVERIFY(!r);
    QCOMPARE(r.error().code, ErrorCode::Closed);
    QVERIFY(r.error().message.contains(u"closed pool is stopped"_s));
}

QTEST_GUILESS_MAIN(tst_BlockingPool)
#include "tst_blocking_pool.moc"
