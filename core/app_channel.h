// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <functional>

#include <QByteArray>
#include <QString>

#include "core/binding.h"
#include "core/traffic.h"

namespace bindery::core {

/** @brief The app's answer to a subscription check (HTTP: the OPTIONS probe). */
struct ProbeResult
{
    int status = 0; ///< 0 on transport error or timeout
    QString error;  ///< set on transport error or timeout
    qint64 latencyUs = 0;
    bool subscribed() const { return (status >= 200 && status < 300) || status == 405; }
};

/**
 * @brief How the runtime reaches the app: the subscription check and the delivery of each input
 * event. HttpAppChannel speaks daprd's HTTP app protocol; an app that speaks Dapr's gRPC callback
 * protocol gets a second implementation, with no change to the runtime.
 *
 * Implementations are thread-safe: deliver() is called concurrently from the bindings' reader
 * threads (e.g. one per Kafka partition) and blocks that thread until the app answered or the
 * timeout ran out; probe() runs on the runtime's probe pool. Neither ever runs on the runtime,
 * API or UI thread. Owned through a shared_ptr by the runtime and by every reader that uses it.
 */
class AppChannel
{
public:
    virtual ~AppChannel();

    /// Delivers one event to `route` and waits for the answer (reference §2.3, §2.4).
    virtual AppReply deliver(const QString &route, const BindingEvent &event, int timeoutMs,
                             Headers *responseHeaders)
        = 0;
    /// Whether the app wants the events of this input binding (reference §2.2).
    virtual ProbeResult probe(const QString &bindingName, const QString &route, int timeoutMs) = 0;
    /// "http://127.0.0.1:3000": for logs and the console.
    virtual QString address() const = 0;
    /// "http" or "grpc", as /v1.0/metadata reports it.
    virtual QString protocol() const = 0;

    /// "/route" cleaned as Go's path.Clean plus a leading slash.
    static QString cleanRoute(const QString &route);
    /// Go's CanonicalMIMEHeaderKey ("x-opt-offset" -> "X-Opt-Offset").
    static QByteArray canonicalHeaderKey(const QByteArray &key);
};

/**
 * @brief Delivers `event` through `channel` and records the exchange in `traffic`: `record`
 * brings the binding, type, route (and replayOf); the rest comes from the event and the answer,
 * with `outcome(reply)` as its outcome. When the stream asks for start records a pending one goes
 * first. Blocks like AppChannel::deliver(); called on the delivering thread, never the UI's.
 */
AppReply deliverRecorded(AppChannel &channel, TrafficStream &traffic, TrafficRecord record,
                         const BindingEvent &event, int timeoutMs,
                         const std::function<QString(const AppReply &)> &outcome);

} // namespace bindery::core
