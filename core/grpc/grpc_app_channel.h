// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <memory>

#include <QByteArray>
#include <QString>

#include "core/app_channel.h"

namespace bindery::core {

/**
 * @brief daprd's gRPC app channel (--app-protocol grpc, reference §2.2, §2.6): the app serves
 * Dapr's AppCallback service, and the runtime asks it AppCallback.ListInputBindings instead of the
 * OPTIONS probe, then delivers each event with AppCallback.OnBindingEvent. Any gRPC error is a
 * failed delivery; the reply's status is the gRPC status code (0 = OK), as the traffic records
 * show it. Health probes call AppCallbackHealthCheck.HealthCheck.
 *
 * One HTTP/2 connection to the app, shared by every caller (gRPC multiplexes the calls), as
 * daprd's. Thread-safe: deliver() is called concurrently from the readers' threads and blocks the
 * calling thread until the app answered or `timeoutMs` ran out (the call's deadline); probe() and
 * healthProbe() run on the runtime's probe pool. APP_API_TOKEN goes as `dapr-api-token` metadata
 * on every call.
 *
 * The list of input bindings is asked once and kept, as daprd keeps it: an app that answers it
 * with an error wants no bindings. A transport error (app not answering, deadline) is an error
 * the runtime retries, as it does a failed OPTIONS probe.
 */
class GrpcAppChannel final : public AppChannel
{
public:
    GrpcAppChannel(QString address, int port, QByteArray appApiToken = {});
    ~GrpcAppChannel() override;
    GrpcAppChannel(const GrpcAppChannel &) = delete;
    GrpcAppChannel &operator=(const GrpcAppChannel &) = delete;

    AppReply deliver(const QString &bindingName, const QString &route, const BindingEvent &event,
                     int timeoutMs, Headers *responseHeaders) override;
    ProbeResult probe(const QString &bindingName, const QString &route, int timeoutMs) override;
    /// AppCallbackHealthCheck.HealthCheck: healthy when it answers OK (`path` is HTTP's only).
    ProbeResult healthProbe(const QString &path, int timeoutMs) override;
    QString address() const override;
    QString protocol() const override { return QStringLiteral("grpc"); }
    QString deliveryTarget(const QString &route) const override;

    /// The method path every delivery calls.
    static QString onBindingEventPath();

private:
    struct Private;
    std::unique_ptr<Private> d;
};

/** @brief Go's name of a gRPC status code ("Unknown", "DeadlineExceeded"), as daprd logs it. */
QString grpcCodeName(int code);

} // namespace bindery::core
