// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <functional>

#include <QByteArray>
#include <QString>

#include "core/binding.h"
#include "core/traffic.h"

namespace bindery::core {

/**
 * @brief The app's answer to a subscription check (HTTP: the OPTIONS probe; gRPC:
 * AppCallback.ListInputBindings) or to a health probe.
 */
struct ProbeResult
{
    /// HTTP: the app's status, 0 on transport error or timeout. gRPC: the call's status code
    /// (0 = OK), as the traffic records show it.
    int status = 0;
    QString error; ///< set on transport error or timeout: the check could not be made
    qint64 latencyUs = 0;
    /// The channel's verdict: the app wants this binding's events (probe) or is healthy
    /// (healthProbe). HTTP: 2xx or 405 (2xx for health); gRPC: listed, or SERVING.
    bool accepted = false;
    QString method;  ///< what was asked, for the traffic record: "OPTIONS", "ListInputBindings"
    QString summary; ///< the verdict in words, e.g. "OPTIONS /orders answered 404"
    bool subscribed() const { return accepted; }
};

/**
 * @brief How the runtime reaches the app: the subscription check and the delivery of each input
 * event. HttpAppChannel speaks daprd's HTTP app protocol; GrpcAppChannel (core/grpc) Dapr's gRPC
 * AppCallback service. The runtime picks one by RuntimeOptions::appProtocol.
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

    /// Delivers one event of the input binding `bindingName` to `route` and waits for the answer
    /// (reference §2.3, §2.4, §2.6). HTTP posts to the route; gRPC names the binding.
    virtual AppReply deliver(const QString &bindingName, const QString &route,
                             const BindingEvent &event, int timeoutMs, Headers *responseHeaders)
        = 0;
    /// Whether the app wants the events of this input binding (reference §2.2).
    virtual ProbeResult probe(const QString &bindingName, const QString &route, int timeoutMs) = 0;
    /// daprd's app health probe (--enable-app-health-check): `status` 2xx means healthy; `path`
    /// is --app-health-check-path (HTTP). Runs on the runtime's probe pool. The default says the
    /// channel has none, which the runtime reports as unhealthy.
    virtual ProbeResult healthProbe(const QString &path, int timeoutMs);
    /// "http://127.0.0.1:3000": for logs and the console.
    virtual QString address() const = 0;
    /// "http" or "grpc", as /v1.0/metadata reports it.
    virtual QString protocol() const = 0;
    /// Where deliveries for `route` go, as the traffic records show it: the route itself (HTTP)
    /// or the method path "/dapr.proto.runtime.v1.AppCallback/OnBindingEvent" (gRPC).
    virtual QString deliveryTarget(const QString &route) const { return route; }

    /// "/route" cleaned as Go's path.Clean plus a leading slash.
    static QString cleanRoute(const QString &route);
    /// Go's CanonicalMIMEHeaderKey ("x-opt-offset" -> "X-Opt-Offset").
    static QByteArray canonicalHeaderKey(const QByteArray &key);
};

/**
 * @brief Delivers `event` for `route` through `channel` and records the exchange in `traffic`:
 * `record` brings the binding, type, the route as traffic shows it (and replayOf); the rest comes
 * from the event and the answer, with `outcome(reply)` as its outcome. When the stream asks for
 * start records a pending one goes first. Blocks like AppChannel::deliver(); called on the
 * delivering thread, never the UI's.
 */
AppReply deliverRecorded(AppChannel &channel, TrafficStream &traffic, TrafficRecord record,
                         const QString &route, const BindingEvent &event, int timeoutMs,
                         const std::function<QString(const AppReply &)> &outcome);

} // namespace bindery::core
