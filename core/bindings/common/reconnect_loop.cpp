// SPDX-License-Identifier: Apache-2.0
#include "core/bindings/common/reconnect_loop.h"

#include <condition_variable>
#include <mutex>

namespace bindery::bindings::common {

using std::chrono::milliseconds;

ReconnectLoop::ReconnectLoop(ReconnectOptions options, Report report)
    : m_options(options)
    , m_report(std::move(report))
    , m_rng(std::random_device{}())
{
}

milliseconds ReconnectLoop::nominalDelay(int failure) const
{
    if (m_options.fixedWait.count() > 0)
        return m_options.fixedWait;
    const double max = static_cast<double>(m_options.max.count());
    double ms = static_cast<double>(m_options.initial.count());
    for (int i = 1; i < failure && ms < max; ++i)
        ms *= qMax(1.0, m_options.multiplier);
    return milliseconds(static_cast<qint64>(qMin(ms, max)));
}

milliseconds ReconnectLoop::jittered(int failure)
{
    const milliseconds nominal = nominalDelay(failure);
    const double jitter = qBound(0.0, m_options.jitter, 1.0);
    if (m_options.fixedWait.count() > 0 || jitter == 0.0 || nominal.count() == 0)
        return nominal;
    const double n = static_cast<double>(nominal.count());
    std::uniform_real_distribution<double> spread(n * (1.0 - jitter), n * (1.0 + jitter));
    return qMin(milliseconds(static_cast<qint64>(spread(m_rng))), m_options.max);
}

bool ReconnectLoop::sleep(std::stop_token stop, milliseconds wait)
{
    if (wait.count() > 0) {
        // condition_variable_any wakes as soon as the token is requested (it registers a
        // stop_callback), so a stop never waits out the backoff.
        std::mutex mutex;
        std::condition_variable_any cv;
        std::unique_lock lock(mutex);
        cv.wait_for(lock, stop, wait, [] { return false; });
    }
    return !stop.stop_requested();
}

void ReconnectLoop::report(ConnectionState state, const QString &detail, int nextAttemptInMs)
{
    m_state = state;
    m_everReported = true;
    if (m_report)
        m_report(state, detail, nextAttemptInMs);
}

void ReconnectLoop::connectionLost(const QString &reason)
{
    m_lost = true;
    m_lostReason = reason;
}

void ReconnectLoop::reportStopped(const QString &detail)
{
    if (!m_everReported || m_state != ConnectionState::Stopped)
        report(ConnectionState::Stopped, detail, -1);
}

bool ReconnectLoop::connect(std::stop_token stop, const Connect &attempt)
{
    if (m_lost) {
        m_lost = false;
        const milliseconds wait = jittered(++m_failures);
        report(ConnectionState::Reconnecting, m_lostReason, static_cast<int>(wait.count()));
        if (!sleep(stop, wait)) {
            report(ConnectionState::Stopped, {}, -1);
            return false;
        }
    }
    for (int n = 1;; ++n) {
        if (stop.stop_requested()) {
            report(ConnectionState::Stopped, {}, -1);
            return false;
        }
        report(ConnectionState::Connecting, n > 1 ? QStringLiteral("attempt %1").arg(n) : QString(),
               0);
        ConnectAttempt result;
        try {
            result = attempt(n);
        } catch (const std::exception &e) {
            result = ConnectAttempt::transient(QString::fromUtf8(e.what()));
        }
        if (result.kind == ConnectAttempt::Kind::Connected) {
            m_failures = 0;
            report(ConnectionState::Connected, {}, 0);
            return true;
        }
        if (stop.stop_requested()) {
            report(ConnectionState::Stopped, result.error, -1);
            return false;
        }
        ++m_failures;
        if (m_options.maxAttempts > 0 && n >= m_options.maxAttempts) {
            report(ConnectionState::Failed,
                   QStringLiteral("gave up after %1 attempts: %2").arg(n).arg(result.error), -1);
            return false;
        }
        milliseconds wait;
        if (result.kind == ConnectAttempt::Kind::Permanent) {
            // Retrying at the backoff pace cannot help (bad credentials, say): wait the longest.
            if (m_options.onPermanent == ReconnectOptions::OnPermanent::Stop) {
                report(ConnectionState::Failed, result.error, -1);
                return false;
            }
            wait = qMax(m_options.max, m_options.fixedWait);
            report(ConnectionState::Failed, result.error, static_cast<int>(wait.count()));
        } else {
            wait = jittered(m_failures);
            report(ConnectionState::Reconnecting, result.error, static_cast<int>(wait.count()));
        }
        if (!sleep(stop, wait)) {
            report(ConnectionState::Stopped, {}, -1);
            return false;
        }
    }
}

QString ReconnectLoop::stateName(ConnectionState state)
{
    return core::connectionStateName(state);
}

QString ReconnectLoop::formatWait(int ms)
{
    return core::formatWait(ms);
}

QString ReconnectLoop::describe(ConnectionState state, const QString &detail, int nextAttemptInMs)
{
    return core::ConnectionReport{state, detail, nextAttemptInMs}.describe();
}

} // namespace bindery::bindings::common
