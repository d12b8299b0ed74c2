// SPDX-License-Identifier: Apache-2.0
#include "core/grpc/grpc_app_channel.h"

#include <array>
#include <chrono>
#include <mutex>
#include <optional>

#include <google/protobuf/empty.pb.h>
#include <grpcpp/grpcpp.h>

#include <QElapsedTimer>
#include <QStringList>

#include "dapr/proto/runtime/v1/appcallback.grpc.pb.h"

namespace bindery::core {

namespace rt = dapr::proto::runtime::v1;

namespace {

std::string toStd(const QString &s)
{
    const QByteArray utf8 = s.toUtf8();
    return {utf8.constData(), static_cast<size_t>(utf8.size())};
}

QString fromStd(const std::string &s)
{
    return QString::fromUtf8(s.data(), static_cast<qsizetype>(s.size()));
}

std::chrono::system_clock::time_point deadlineIn(int timeoutMs)
{
    return std::chrono::system_clock::now() + std::chrono::milliseconds(timeoutMs);
}

// The app did not answer at all: worth asking again, unlike an answer that says no.
bool isTransportError(grpc::StatusCode code)
{
    return code == grpc::StatusCode::UNAVAILABLE || code == grpc::StatusCode::DEADLINE_EXCEEDED;
}

// Go's status error text, which daprd wraps as "error invoking app: %w".
QString goStatusError(const grpc::Status &status)
{
    return QStringLiteral("rpc error: code = %1 desc = %2")
        .arg(grpcCodeName(status.error_code()), fromStd(status.error_message()));
}

} // namespace

QString grpcCodeName(int code)
{
    static const std::array<const char *, 17> names = {
        "OK",       "Canceled",       "Unknown",          "InvalidArgument",   "DeadlineExceeded",
        "NotFound", "AlreadyExists",  "PermissionDenied", "ResourceExhausted", "FailedPrecondition",
        "Aborted",  "OutOfRange",     "Unimplemented",    "Internal",          "Unavailable",
        "DataLoss", "Unauthenticated"};
    if (code >= 0 && code < static_cast<int>(names.size()))
        return QString::fromLatin1(names[static_cast<size_t>(code)]);
    return QStringLiteral("Code(%1)").arg(code);
}

struct GrpcAppChannel::Private
{
    QString address; ///< "host:port" as gRPC dials it
    std::string token;
    std::shared_ptr<grpc::Channel> channel;
    std::unique_ptr<rt::AppCallback::Stub> callback;
    std::unique_ptr<rt::AppCallbackHealthCheck::Stub> health;

    std::mutex listMutex; ///< one ListInputBindings at a time; the others reuse its answer
    std::optional<QStringList> bindings;
    QString listVerdict; ///< how the app answered, for the summaries

    void prepare(grpc::ClientContext &context, int timeoutMs) const
    {
        context.set_deadline(deadlineIn(timeoutMs));
        if (!token.empty())
            context.AddMetadata("dapr-api-token", token);
    }
};

GrpcAppChannel::GrpcAppChannel(QString address, int port, QByteArray appApiToken)
    : d(std::make_unique<Private>())
{
    QString host = address;
    if (host.contains(u':') && !host.startsWith(u'['))
        host = u'[' + host + u']';
    d->address = host + u':' + QString::number(port);
    d->token = appApiToken.toStdString();
    grpc::ChannelArguments args;
    // Bindery's deadlines and the binding's failure rule decide what happens to a failed
    // delivery; gRPC's own retries would deliver twice behind their back.
    args.SetInt(GRPC_ARG_ENABLE_RETRIES, 0);
    args.SetMaxReceiveMessageSize(-1);
    d->channel
        = grpc::CreateCustomChannel(toStd(d->address), grpc::InsecureChannelCredentials(), args);
    d->callback = rt::AppCallback::NewStub(d->channel);
    d->health = rt::AppCallbackHealthCheck::NewStub(d->channel);
}

GrpcAppChannel::~GrpcAppChannel() = default;

QString GrpcAppChannel::address() const
{
    return QStringLiteral("grpc://") + d->address;
}

QString GrpcAppChannel::onBindingEventPath()
{
    return QStringLiteral("/dapr.proto.runtime.v1.AppCallback/OnBindingEvent");
}

QString GrpcAppChannel::deliveryTarget(const QString &route) const
{
    Q_UNUSED(route); // daprd names the binding in the request, not a route
    return onBindingEventPath();
}

AppReply GrpcAppChannel::deliver(const QString &bindingName, const QString &route,
                                 const BindingEvent &event, int timeoutMs, Headers *responseHeaders)
{
    Q_UNUSED(route);
    rt::BindingEventRequest request;
    request.set_name(toStd(bindingName));
    request.set_data(event.data.constData(), static_cast<size_t>(event.data.size()));
    auto &metadata = *request.mutable_metadata();
    for (const auto &[k, v] : event.metadata)
        metadata[toStd(k)] = toStd(v); // a Go map: the last value of a key wins
    grpc::ClientContext context;
    d->prepare(context, timeoutMs);
    rt::BindingEventResponse response;
    const grpc::Status status = d->callback->OnBindingEvent(&context, request, &response);

    AppReply reply;
    reply.status = status.error_code();
    if (responseHeaders) {
        responseHeaders->clear();
        for (const auto &[k, v] : context.GetServerInitialMetadata())
            responseHeaders->append(
                {QString::fromLatin1(k.data(), static_cast<qsizetype>(k.size())),
                 QString::fromUtf8(v.data(), static_cast<qsizetype>(v.size()))});
    }
    if (!status.ok()) {
        reply.error = QStringLiteral("error invoking app: ") + goStatusError(status);
        return reply;
    }
    reply.body = QByteArray(response.data().data(), static_cast<qsizetype>(response.data().size()));
    return reply;
}

ProbeResult GrpcAppChannel::probe(const QString &bindingName, const QString &route, int timeoutMs)
{
    Q_UNUSED(route);
    ProbeResult result;
    result.method = QStringLiteral("ListInputBindings");
    std::lock_guard lock(d->listMutex);
    if (!d->bindings) {
        grpc::ClientContext context;
        d->prepare(context, timeoutMs);
        google::protobuf::Empty request;
        rt::ListInputBindingsResponse response;
        QElapsedTimer timer;
        timer.start();
        const grpc::Status status = d->callback->ListInputBindings(&context, request, &response);
        result.latencyUs = timer.nsecsElapsed() / 1000;
        result.status = status.error_code();
        if (isTransportError(status.error_code())) {
            result.error = QStringLiteral("could not call AppCallback.ListInputBindings on %1: %2")
                               .arg(d->address, goStatusError(status));
            return result;
        }
        // daprd keeps the first answer; an error answer is an empty list (send.go).
        QStringList names;
        if (status.ok()) {
            for (const std::string &n : response.bindings())
                names << fromStd(n);
            d->listVerdict = QStringLiteral("ListInputBindings answered [%1]")
                                 .arg(names.join(QStringLiteral(", ")));
        } else {
            d->listVerdict
                = QStringLiteral("ListInputBindings answered %1: %2")
                      .arg(grpcCodeName(status.error_code()), fromStd(status.error_message()));
        }
        d->bindings = names;
    }
    result.accepted = d->bindings->contains(bindingName);
    result.summary = d->listVerdict;
    return result;
}

ProbeResult GrpcAppChannel::healthProbe(const QString &path, int timeoutMs)
{
    Q_UNUSED(path);
    ProbeResult result;
    result.method = QStringLiteral("HealthCheck");
    grpc::ClientContext context;
    d->prepare(context, timeoutMs);
    google::protobuf::Empty request;
    rt::HealthCheckResponse response;
    QElapsedTimer timer;
    timer.start();
    const grpc::Status status = d->health->HealthCheck(&context, request, &response);
    result.latencyUs = timer.nsecsElapsed() / 1000;
    result.status = status.error_code();
    result.accepted = status.ok();
    result.summary = QStringLiteral("HealthCheck answered %1").arg(grpcCodeName(result.status));
    if (!status.ok())
        result.error = QStringLiteral("app health check failed: ") + goStatusError(status);
    return result;
}

} // namespace bindery::core
