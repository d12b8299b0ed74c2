// SPDX-License-Identifier: Apache-2.0
#pragma once

// A generic reconnect loop with backoff, whose every state change the runtime can show in the
// log, the traffic stream and the console tree ("reconnecting in 2 s: connection refused"),
// issue 8 part 4.

#include <chrono>
#include <functional>
#include <random>
#include <stop_token>

#include <QString>

#include "core/binding.h"

namespace bindery::bindings::common {

/// Where a binding's connection is: the runtime's own enum (core/binding.h), so a loop's reports
/// go to InputBinding/OutputBinding::setConnectionReporter unchanged.
using ConnectionState = core::ConnectionState;

/** @brief How a reconnect loop waits between attempts. */
struct ReconnectOptions
{
    /// Backoff: the wait after failure n is initial * multiplier^(n-1), at most `max`, then
    /// spread uniformly by ±jitter (a fraction) and again capped at `max`.
    std::chrono::milliseconds initial{500};
    std::chrono::milliseconds max{30000};
    double multiplier = 2.0;
    double jitter = 0.2;
    /// When > 0, every wait is exactly this (RabbitMQ's reconnectWaitInSeconds); no backoff.
    std::chrono::milliseconds fixedWait{0};
    /// After a permanent error: wait `max` before trying again, or give up.
    enum class OnPermanent { WaitMax, Stop } onPermanent = OnPermanent::WaitMax;
    /// Attempts in all before giving up with Failed; 0 tries until stopped.
    int maxAttempts = 0;
};

/** @brief What one connect attempt came to. */
struct ConnectAttempt
{
    enum class Kind { Connected, Transient, Permanent };
    Kind kind = Kind::Connected;
    QString error;

    static ConnectAttempt connected() { return {Kind::Connected, {}}; }
    /// Worth retrying soon: refused, timed out, broker restarting.
    static ConnectAttempt transient(QString error) { return {Kind::Transient, std::move(error)}; }
    /// Retrying soon cannot help: bad credentials, unknown virtual host, bad certificate.
    static ConnectAttempt permanent(QString error) { return {Kind::Permanent, std::move(error)}; }
};

/**
 * @brief Runs connect attempts with backoff until one succeeds or a stop is requested, and
 * reports every state change.
 *
 * Threads: one loop belongs to one thread (typically a binding's reader or pool thread);
 * connect(), connectionLost() and the report callback all run on it. Waits end within
 * microseconds of a stop request (a condition variable bound to the stop token); an attempt
 * itself must bound its own blocking.
 */
class ReconnectLoop final
{
public:
    /**
     * @brief Receives each state change: `detail` is the error or context (may be empty),
     * `nextAttemptInMs` the wait before the next attempt (0 when none is pending, -1 when none
     * will follow). describe() turns the three into a sentence for people.
     */
    using Report
        = std::function<void(ConnectionState state, const QString &detail, int nextAttemptInMs)>;
    /** @brief One attempt; `attempt` counts from 1 in each connect() call. */
    using Connect = std::function<ConnectAttempt(int attempt)>;

    explicit ReconnectLoop(ReconnectOptions options, Report report = {});

    /**
     * @brief Blocks until an attempt succeeds (true, Connected reported), a stop is requested
     * (false, Stopped reported), or the loop gives up (false, Failed reported with -1).
     * After connectionLost(), it first reports Reconnecting and waits.
     */
    bool connect(std::stop_token stop, const Connect &attempt);

    /** @brief Marks the connection as lost; the next connect() starts with a backoff wait. */
    void connectionLost(const QString &reason);

    /** @brief Reports Stopped (once) when the binding stops while connected. */
    void reportStopped(const QString &detail = {});

    ConnectionState state() const { return m_state; }

    /** @brief The wait after the n-th consecutive failure (1-based), before jitter. */
    std::chrono::milliseconds nominalDelay(int failure) const;

    /** @brief "connecting", "connected", "reconnecting", "failed", "stopped". */
    static QString stateName(ConnectionState state);

    /**
     * @brief A sentence for the log, the traffic stream and the console tree, e.g.
     * "reconnecting in 2 s: connection refused" or "failed: bad credentials; retrying in 30 s".
     */
    static QString describe(ConnectionState state, const QString &detail, int nextAttemptInMs);

    /** @brief "250 ms", "2 s", "2.5 s", "3 min". */
    static QString formatWait(int ms);

private:
    void report(ConnectionState state, const QString &detail, int nextAttemptInMs);
    std::chrono::milliseconds jittered(int failure);
    static bool sleep(std::stop_token stop, std::chrono::milliseconds wait);

    ReconnectOptions m_options;
    Report m_report;
    ConnectionState m_state = ConnectionState::Stopped;
    bool m_everReported = false;
    int m_failures = 0;
    QString m_lostReason;
    bool m_lost = false;
    std::mt19937_64 m_rng;
};

} // namespace bindery::bindings::common
