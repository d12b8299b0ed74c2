// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <functional>
#include <memory>
#include <stop_token>

#include <QByteArray>
#include <QDateTime>
#include <QList>
#include <QMap>
#include <QMetaType>
#include <QPair>
#include <QString>
#include <QStringList>

#include "core/component_spec.h"
#include "core/result.h"

namespace bindery::core {

/** @brief What a binding does with an event the app did not acknowledge. Shown in traffic. */
enum class FailurePolicy {
    Drop,    ///< logged and dropped (cron; kafka without consumeRetryEnabled moves on)
    Retry,   ///< the binding retries the delivery itself, with backoff
    Requeue, ///< returned to the broker (nack + requeue, not committed)
    /// An error answer drops it (daprd's rule); no answer at all (refused, reset, timeout) is
    /// retried until the app answers (kafka without consumeRetryEnabled, issue 14.7).
    DropAnsweredRetryUnanswered,
};
QString failurePolicyName(FailurePolicy policy);

/** @brief One event read from an input binding, to be delivered to the app. A value type. */
struct BindingEvent
{
    QByteArray data;
    /// Becomes request headers on the POST to the app (e.g. `__offset`, `readTimeUTC`).
    QList<QPair<QString, QString>> metadata;
    QString contentType;
    /// Stable identity of the underlying message across retries (e.g. "topic/3@1234").
    QString eventKey;
    int attempt = 1;
    FailurePolicy onFailure = FailurePolicy::Drop;
    /// The binding knows the app may have seen this message before (a retry, or a record below
    /// what a crashed or revoked consumer had delivered). Shown in traffic as `redelivered`.
    bool redelivered = false;
    /// Cancels the delivery while the app has not answered yet (e.g. the reader is stopping):
    /// the app channel gives up within ~100 ms with an error. Default: never cancelled.
    std::stop_token cancel;
    /// Set when the binding dropped this event without delivering it (e.g. a cron tick skipped
    /// at its bound of deliveries in flight): the runtime records and logs it, does not deliver
    /// it, and answers with an error holding this reason.
    QString skipReason;
    /// The message's own properties that daprd does not pass to the app (e.g. AMQP content-type,
    /// message-id, priority): shown in the traffic and the console, never sent as headers.
    QList<QPair<QString, QString>> properties;
};

/** @brief The app's answer to one delivery, as seen by the runtime. */
struct AppReply
{
    int status = 0; ///< HTTP status, 0 on transport error
    QByteArray body;
    QString error; ///< non-empty on failure (non-2xx or transport error)
    bool ok() const { return error.isEmpty(); }
};

/**
 * @brief Delivers one event to the app and waits for its answer.
 *
 * Called on a thread owned by the binding, possibly concurrently (e.g. one per Kafka partition).
 * Blocks until the app answered or the delivery failed; never throws. A non-ok reply means the
 * binding must apply its FailurePolicy.
 */
using EventHandler = std::function<AppReply(const BindingEvent &)>;

/** @brief What the binding does with a failed delivery, as traffic shows it ("retry", ...). */
QString failureOutcome(const BindingEvent &event, const AppReply &reply);

/** @brief An output request, after the HTTP API re-encoded `data` as daprd does (1.2). */
struct InvokeRequest
{
    QString operation;
    QByteArray data;
    QMap<QString, QString> metadata;
};

/** @brief A binding's answer. `hasData == false` maps to 204, otherwise 200 with `data`. */
struct InvokeResponse
{
    QByteArray data;
    bool hasData = false;
    QList<QPair<QString, QString>> metadata; ///< sent as `metadata.<key>` response headers
    QString contentType;
};

/** @brief The outcome of an invoke: a response, or an error that may still carry metadata. */
struct InvokeResult
{
    Result<InvokeResponse> result;
    /// Metadata returned together with an error (the http binding does this for non-2xx).
    QList<QPair<QString, QString>> errorMetadata;
};

/// Completion callback for OutputBinding::invoke: called exactly once, on any thread.
using InvokeDone = std::function<void(InvokeResult)>;

/** @brief Where a binding's long-lived connection to its server is. */
enum class ConnectionState {
    Connecting,   ///< An attempt is running.
    Connected,    ///< The last attempt succeeded.
    Reconnecting, ///< An attempt failed, or the connection was lost; the next one is scheduled.
    Failed,       ///< A permanent error (e.g. bad credentials), or the attempts ran out.
    Stopped,      ///< A stop was requested.
};
/** @brief "connecting", "connected", "reconnecting", "failed", "stopped". */
QString connectionStateName(ConnectionState state);

/** @brief One change of a binding's connection state, as the binding reports it. A value type. */
struct ConnectionReport
{
    ConnectionState state = ConnectionState::Connecting;
    QString detail;          ///< the error or context; may be empty
    int nextAttemptInMs = 0; ///< wait before the next attempt; 0 none pending, -1 none will follow
    /// A sentence for people: "reconnecting in 2 s: connection refused".
    QString describe() const;
};

/** @brief "250 ms", "2 s", "2.5 s", "3 min". */
QString formatWait(int ms);

/**
 * @brief Receives a binding's connection state changes (see InputBinding::setConnectionReporter).
 *
 * Called on any of the binding's own threads, possibly during init(); must not block and must
 * not call back into the binding. The runtime's reporter logs each change, pushes a
 * TrafficRecord of kind Connection and shows the state in ComponentStatus::connection (the
 * console tree says "reconnecting").
 */
using ConnectionReporter = std::function<void(const ConnectionReport &report)>;

/**
 * @brief An input binding, mirroring Dapr's Init/Read/Close.
 *
 * Threads and lifetime (docs/architecture.md):
 * - The runtime creates the instance on its thread and owns it (a shared_ptr it shares with the
 *   reader thread); the instance lives until the component is stopped, reloaded or disabled.
 * - init() runs on a helper thread the runtime starts for it and waits on, bounded by the
 *   component's `initTimeout`; it must not assume any Qt event loop. Read settings with
 *   BindingSettings (core/binding_settings.h).
 * - read() runs on the binding's own reader std::jthread and returns when `stop` is requested
 *   (every blocking call inside is bounded, ≤ 200 ms, so read() returns within 250 ms of the
 *   request, also while a delivery is in flight) or on a fatal error. It may deliver from threads
 *   of its own (e.g. one per Kafka partition); the EventHandler is thread-safe.
 * - close() is called after read() returned (or without read() when the app never subscribed),
 *   on the runtime thread; it is idempotent, and init() may be called again after it.
 */
class InputBinding
{
public:
    virtual ~InputBinding() = default;
    [[nodiscard]] virtual Result<> init(const ComponentSpec &spec) = 0;
    [[nodiscard]] virtual Result<> read(const EventHandler &handler, std::stop_token stop) = 0;
    virtual void close() = 0;
    /// Optional warnings produced by init (shown in the log and the console).
    virtual QStringList initWarnings() const { return {}; }
    /// Optional: keeps `reporter` to report connection changes (see ConnectionReporter). Called
    /// once, on the runtime thread, before init().
    virtual void setConnectionReporter(ConnectionReporter /*reporter*/) {}
};

/**
 * @brief An output binding, mirroring Dapr's Init/Invoke/Operations/Close.
 *
 * Threads and lifetime (docs/architecture.md):
 * - The runtime owns the instance; every call in flight holds a shared_ptr to it, so a reload
 *   never frees a binding under a call.
 * - init() runs on a helper thread bounded by `initTimeout` (no Qt event loop may be assumed);
 *   close() on the runtime thread; both as for InputBinding. operations() is constant after init.
 * - invoke() may be called from any thread, concurrently (the HTTP and gRPC API threads, the
 *   console). It must not block: it completes through `done`, exactly once, on any thread — also
 *   when close() runs while the call is in flight (then with an error). A binding whose client
 *   library only blocks runs those calls on a pool of its own
 * (core/bindings/common/blocking_pool.h).
 */
class OutputBinding
{
public:
    virtual ~OutputBinding() = default;
    [[nodiscard]] virtual Result<> init(const ComponentSpec &spec) = 0;
    virtual QStringList operations() const = 0;
    virtual void invoke(InvokeRequest request, InvokeDone done) = 0;
    virtual void close() = 0;
    virtual QStringList initWarnings() const { return {}; }
    /// As InputBinding::setConnectionReporter().
    virtual void setConnectionReporter(ConnectionReporter /*reporter*/) {}
};

} // namespace bindery::core

Q_DECLARE_METATYPE(bindery::core::BindingEvent)
