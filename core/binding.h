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

/** @brief Log sink a binding may use for warnings at init (e.g. "scheme dropped from brokers"). */
using BindingLogger = std::function<void(const QString &message)>;

/**
 * @brief How a running binding tells the runtime about its connection to its server, for the log
 * and the console tree (e.g. credentials refused, server unreachable, connected again).
 *
 * `healthy` false means the binding cannot work until something changes (it keeps retrying at
 * its own, bounded pace); true means it works again. `text` is a sentence for people and must
 * never contain a secret. Optional: the runtime installs one through setConnectionReporter()
 * before init(). Callable from any thread, cheap and non-blocking (the runtime queues it to its
 * own thread); a binding reports changes, not every attempt.
 */
using ConnectionReporter = std::function<void(bool healthy, const QString &text)>;

/**
 * @brief An input binding, mirroring Dapr's Init/Read/Close.
 *
 * init() runs on the runtime thread; read() runs on a dedicated reader std::jthread and returns
 * when `stop` is requested (every blocking call inside must be bounded, ≤ 200 ms) or on a fatal
 * error. close() is idempotent and called after read() returned.
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
 * init() and invoke() are called on the runtime thread. invoke() must not block: it completes
 * through `done`, exactly once, on any thread (e.g. from a Kafka delivery report). A binding
 * whose client library only blocks runs those calls on a bounded QThreadPool of its own.
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
