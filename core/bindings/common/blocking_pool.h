// SPDX-License-Identifier: Apache-2.0
#pragma once

// Runs a blocking client library's calls (rabbitmq-c, ...) on a bounded pool of threads that
// belong to one binding, so a slow broker never holds a runtime or API thread (issue 8 part 4,
// STYLE.md §2.4.8).

#include <chrono>
#include <functional>
#include <memory>
#include <stop_token>

#include <QString>

#include "core/result.h"

namespace bindery::bindings::common {

namespace Internal {
class PoolCore;
}

/** @brief Sizes and names of a blocking pool. */
struct BlockingPoolOptions
{
    /// The binding's name; threads are named `bindery-<name>-<n>` (n from 0; the name part is
    /// shortened to fit Linux's 15-byte thread names).
    QString name = QStringLiteral("pool");
    int threads = 2;
    /// Tasks waiting for a thread (not counting running ones); submit() fails beyond it.
    int queueCapacity = 256;
};

/** @brief What stop() does with tasks that have not started. */
enum class StopMode {
    Drain,  ///< Run them, within the bound; what is still queued at the bound is cancelled.
    Cancel, ///< Drop them at once (their `cancelled` callbacks run).
};

/**
 * @brief Runs blocking calls on N threads of the binding's own, with a bounded queue.
 *
 * Threads: submit() may be called from any thread and never blocks: it fails when the queue is
 * full or the pool is stopped. A task runs on one of the pool's threads; its `cancelled`
 * callback (for a task dropped by stop()) runs on the thread that called stop() or the
 * destructor. So each submitted task sees exactly one of `run` or `cancelled`.
 *
 * Stop: stop() waits at most `bound` for the threads to finish. A task that is still blocked
 * at the bound keeps its thread, which is then detached and ends when the task returns; such a
 * task must own (e.g. by shared_ptr) everything it touches. The stop token passed to each
 * task is requested when stopping cancels, so long calls can give up early.
 */
class BlockingPool final
{
public:
    using Task = std::function<void(std::stop_token stop)>;

    explicit BlockingPool(BlockingPoolOptions options);
    /** @brief stop(StopMode::Cancel, 2 s) unless stop() was called. */
    ~BlockingPool();
    BlockingPool(const BlockingPool &) = delete;
    BlockingPool &operator=(const BlockingPool &) = delete;

    /** @brief Queues `run`; fails (ErrorCode::InvokeFailed or Closed) without blocking. */
    [[nodiscard]] Result<> submit(Task run, std::function<void()> cancelled = {});

    /**
     * @brief Stops the pool; returns true when every thread ended within `bound`. Idempotent;
     * blocks the caller up to `bound`. Never call it from a pool thread.
     */
    bool stop(StopMode mode, std::chrono::milliseconds bound);

    /** @brief Tasks waiting for a thread now. */
    int queued() const;
    const BlockingPoolOptions &options() const;

private:
    std::shared_ptr<Internal::PoolCore> m_core;
};

/**
 * @brief A blocking pool whose threads each own a `State` created on that thread, for client
 * handles that must stay on one thread (a rabbitmq-c connection is not thread-safe).
 *
 * Threads: `makeState(n)` runs on worker n before its first task; that worker's tasks get its
 * state; the state is destroyed on the same thread when the worker ends. The factory should
 * not block for long: connect lazily, inside a task. A factory that throws or returns null
 * leaves that worker out (logged). Other rules as for BlockingPool.
 */
template <typename State> class PerThreadPool final
{
public:
    using Factory = std::function<std::unique_ptr<State>(int worker)>;
    using Task = std::function<void(State &state, std::stop_token stop)>;

    PerThreadPool(BlockingPoolOptions options, Factory makeState);
    ~PerThreadPool();
    PerThreadPool(const PerThreadPool &) = delete;
    PerThreadPool &operator=(const PerThreadPool &) = delete;

    [[nodiscard]] Result<> submit(Task run, std::function<void()> cancelled = {});
    bool stop(StopMode mode, std::chrono::milliseconds bound);
    int queued() const;

private:
    std::shared_ptr<Internal::PoolCore> m_core;
};

namespace Internal {

/// The type-erased pool both classes above wrap. The state pointer is what the factory made.
class PoolCore
{
public:
    using StateFactory = std::function<std::shared_ptr<void>(int worker)>;
    using Task = std::function<void(void *state, std::stop_token stop)>;

    static std::shared_ptr<PoolCore> start(BlockingPoolOptions options, StateFactory factory);
    Result<> submit(Task run, std::function<void()> cancelled);
    bool stop(StopMode mode, std::chrono::milliseconds bound);
    int queued() const;
    const BlockingPoolOptions &options() const;

    struct Shared;
    std::shared_ptr<Shared> shared;
};

} // namespace Internal

template <typename State>
PerThreadPool<State>::PerThreadPool(BlockingPoolOptions options, Factory makeState)
    : m_core(Internal::PoolCore::start(
        std::move(options),
        [makeState = std::move(makeState)](int worker) -> std::shared_ptr<void> {
            return std::shared_ptr<State>(makeState(worker));
        }))
{
}

template <typename State> PerThreadPool<State>::~PerThreadPool()
{
    m_core->stop(StopMode::Cancel, std::chrono::seconds(2));
}

template <typename State>
Result<> PerThreadPool<State>::submit(Task run, std::function<void()> cancelled)
{
    return m_core->submit(
        [run = std::move(run)](void *state, std::stop_token stop) {
            run(*static_cast<State *>(state), stop);
        },
        std::move(cancelled));
}

template <typename State>
bool PerThreadPool<State>::stop(StopMode mode, std::chrono::milliseconds bound)
{
    return m_core->stop(mode, bound);
}

template <typename State> int PerThreadPool<State>::queued() const
{
    return m_core->queued();
}

} // namespace bindery::bindings::common
