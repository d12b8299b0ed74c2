// SPDX-License-Identifier: Apache-2.0
#include "core/bindings/common/blocking_pool.h"

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "core/bindings/common/kit_p.h"

namespace bindery::bindings::common {

namespace Internal {

struct PoolCore::Shared
{
    struct Item
    {
        Task run;
        std::function<void()> cancelled;
    };

    BlockingPoolOptions options;
    StateFactory factory;

    mutable std::mutex mutex;
    std::condition_variable work;   // a task was queued, or stopping
    std::condition_variable exited; // a worker ended
    std::deque<Item> queue;         // guarded by mutex
    bool stopping = false;          // guarded by mutex
    bool cancelling = false;        // guarded by mutex
    std::vector<char> ended;        // guarded by mutex; one flag per worker
    std::stop_source stopSource;

    std::mutex stopMutex; // serialises stop(); guards threads and stopped
    std::vector<std::thread> threads;
    bool stopped = false;
    bool allEnded = false;

    static void worker(std::shared_ptr<Shared> self, int index);
    bool everyWorkerEnded() const
    {
        for (char e : ended) {
            if (!e)
                return false;
        }
        return true;
    }
};

// The thread owns a reference to the shared state, so a worker detached by a bounded stop()
// can still finish its task safely after the pool object is gone.
void PoolCore::Shared::worker(std::shared_ptr<Shared> self, int index)
{
    setCurrentThreadName(self->options.name, QString::number(index));
    std::shared_ptr<void> state;
    bool usable = true;
    if (self->factory) {
        try {
            state = self->factory(index);
        } catch (const std::exception &e) {
            qCWarning(lcBindingKit, "%s pool: worker %d could not create its state: %s",
                      qPrintable(self->options.name), index, e.what());
        }
        usable = state != nullptr;
        if (!usable)
            qCWarning(lcBindingKit, "%s pool: worker %d has no state and takes no tasks",
                      qPrintable(self->options.name), index);
    }
    while (usable) {
        Item item;
        {
            std::unique_lock lock(self->mutex);
            self->work.wait(lock, [&] { return !self->queue.empty() || self->stopping; });
            if (self->queue.empty() || self->cancelling)
                break;
            item = std::move(self->queue.front());
            self->queue.pop_front();
        }
        try {
            item.run(state.get(), self->stopSource.get_token());
        } catch (const std::exception &e) {
            qCWarning(lcBindingKit, "%s pool: a task threw: %s", qPrintable(self->options.name),
                      e.what());
        } catch (...) {
            qCWarning(lcBindingKit, "%s pool: a task threw", qPrintable(self->options.name));
        }
    }
    state.reset(); // destroyed on the thread that created and used it
    {
        std::lock_guard lock(self->mutex);
        self->ended[static_cast<size_t>(index)] = 1;
    }
    self->exited.notify_all();
}

std::shared_ptr<PoolCore> PoolCore::start(BlockingPoolOptions options, StateFactory factory)
{
    auto core = std::make_shared<PoolCore>();
    core->shared = std::make_shared<Shared>();
    Shared &s = *core->shared;
    options.threads = qMax(1, options.threads);
    options.queueCapacity = qMax(0, options.queueCapacity);
    s.options = std::move(options);
    s.factory = std::move(factory);
    s.ended.assign(static_cast<size_t>(s.options.threads), 0);
    for (int i = 0; i < s.options.threads; ++i)
        s.threads.emplace_back(&Shared::worker, core->shared, i);
    return core;
}

Result<> PoolCore::submit(Task run, std::function<void()> cancelled)
{
    Shared &s = *shared;
    {
        std::lock_guard lock(s.mutex);
        if (s.stopping)
            return fail(ErrorCode::Closed,
                        QStringLiteral("the %1 pool is stopped").arg(s.options.name));
        if (static_cast<int>(s.queue.size()) >= s.options.queueCapacity)
            return fail(
                ErrorCode::InvokeFailed,
                QStringLiteral("the %1 pool is busy: %2 calls already wait for its %3 threads")
                    .arg(s.options.name)
                    .arg(s.queue.size())
                    .arg(s.options.threads));
        s.queue.push_back({std::move(run), std::move(cancelled)});
    }
    s.work.notify_one();
    return {};
}

bool PoolCore::stop(StopMode mode, std::chrono::milliseconds bound)
{
    Shared &s = *shared;
    std::lock_guard stopLock(s.stopMutex);
    if (s.stopped)
        return s.allEnded;
    const auto deadline = std::chrono::steady_clock::now() + bound;
    std::deque<Shared::Item> dropped;
    {
        std::lock_guard lock(s.mutex);
        s.stopping = true;
        if (mode == StopMode::Cancel) {
            s.cancelling = true;
            dropped.swap(s.queue);
        }
    }
    if (mode == StopMode::Cancel)
        s.stopSource.request_stop();
    s.work.notify_all();
    for (Shared::Item &item : dropped) {
        if (item.cancelled)
            item.cancelled();
    }
    dropped.clear();

    bool allEnded = false;
    {
        std::unique_lock lock(s.mutex);
        allEnded = s.exited.wait_until(lock, deadline, [&] { return s.everyWorkerEnded(); });
        if (!allEnded && !s.cancelling) {
            // The drain ran out of time: what has not started is cancelled.
            s.cancelling = true;
            dropped.swap(s.queue);
        }
    }
    if (!allEnded) {
        s.stopSource.request_stop();
        s.work.notify_all();
        for (Shared::Item &item : dropped) {
            if (item.cancelled)
                item.cancelled();
        }
    }

    std::vector<char> ended;
    {
        std::lock_guard lock(s.mutex);
        ended = s.ended;
    }
    for (size_t i = 0; i < s.threads.size(); ++i) {
        if (ended[i] && s.threads[i].get_id() != std::this_thread::get_id()) {
            s.threads[i].join();
        } else {
            qCWarning(lcBindingKit,
                      "%s pool: worker %zu still busy after %lld ms; left to finish on its own",
                      qPrintable(s.options.name), i, static_cast<long long>(bound.count()));
            s.threads[i].detach();
        }
    }
    s.threads.clear();
    s.stopped = true;
    s.allEnded = allEnded;
    return allEnded;
}

int PoolCore::queued() const
{
    std::lock_guard lock(shared->mutex);
    return static_cast<int>(shared->queue.size());
}

const BlockingPoolOptions &PoolCore::options() const
{
    return shared->options;
}

} // namespace Internal

BlockingPool::BlockingPool(BlockingPoolOptions options)
    : m_core(Internal::PoolCore::start(std::move(options), {}))
{
}

BlockingPool::~BlockingPool()
{
    m_core->stop(StopMode::Cancel, std::chrono::seconds(2));
}

Result<> BlockingPool::submit(Task run, std::function<void()> cancelled)
{
    return m_core->submit([run = std::move(run)](void *, std::stop_token stop) { run(stop); },
                          std::move(cancelled));
}

bool BlockingPool::stop(StopMode mode, std::chrono::milliseconds bound)
{
    return m_core->stop(mode, bound);
}

int BlockingPool::queued() const
{
    return m_core->queued();
}

const BlockingPoolOptions &BlockingPool::options() const
{
    return m_core->options();
}

} // namespace bindery::bindings::common
