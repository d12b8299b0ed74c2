// SPDX-License-Identifier: Apache-2.0
#include "core/grpc/grpc_api.h"

#include <algorithm>
#include <chrono>
#include <future>
#include <map>
#include <string>
#include <thread>

#include <google/protobuf/descriptor.h>
#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/grpcpp.h>

#include <QHostAddress>
#include <QLoggingCategory>
#include <QTcpServer>

#include "core/api/binding_service.h"
#include "core/api/dapr_errors.h"
#include "dapr/proto/runtime/v1/dapr.grpc.pb.h"
#include "dapr/proto/runtime/v1/dapr.pb.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

Q_LOGGING_CATEGORY(lcGrpcApi, "bindery.core.grpc")

namespace bindery::core {

namespace rt = dapr::proto::runtime::v1;

namespace {

const std::string DAPR_SERVICE = "dapr.proto.runtime.v1.Dapr";
const std::string TOKEN_KEY = "dapr-api-token";

const google::protobuf::ServiceDescriptor *daprDescriptor()
{
    // dapr.proto declares no message, so nothing else links dapr.pb.cc out of the static library;
    // naming its descriptor table does, and registers the service in the generated pool.
    google::protobuf::internal::AssignDescriptors(
        &::descriptor_table_dapr_2fproto_2fruntime_2fv1_2fdapr_2eproto);
    return google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(
        rt::Dapr::service_full_name());
}

std::string toStd(const QString &s)
{
    const QByteArray utf8 = s.toUtf8();
    return {utf8.constData(), static_cast<size_t>(utf8.size())};
}

QString fromStd(const std::string &s)
{
    return QString::fromUtf8(s.data(), static_cast<qsizetype>(s.size()));
}

std::string toStd(grpc::string_ref s)
{
    return {s.data(), s.size()};
}

// A status with one google.rpc.ErrorInfo detail, as dapr/kit's errors and daprd's
// ErrorFromHTTPResponseCode build them (grpc-status-details-bin).
grpc::Status richStatus(grpc::StatusCode code, const std::string &message,
                        const std::string &reason,
                        const std::map<std::string, std::string> &metadata = {})
{
    google::rpc::ErrorInfo info;
    info.set_reason(reason);
    info.set_domain("dapr.io");
    for (const auto &[k, v] : metadata)
        (*info.mutable_metadata())[k] = v;
    google::rpc::Status status;
    status.set_code(code);
    status.set_message(message);
    status.add_details()->PackFrom(info);
    return {code, message, status.SerializeAsString()};
}

// A plain status (daprd's messages.APIError: no details).
grpc::Status plainStatus(const api::DaprFailure &failure)
{
    return {static_cast<grpc::StatusCode>(failure.info().grpcStatus), toStd(failure.message)};
}

// gRPC metadata keys are lower-case [0-9a-z_.-]; values of non-binary keys printable ASCII. A
// pair gRPC would refuse is left out rather than failing the whole answer.
bool validHeader(const std::string &key, const std::string &value)
{
    if (key.empty())
        return false;
    for (char c : key) {
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'))
            return false;
    }
    if (key.size() > 4 && key.compare(key.size() - 4, 4, "-bin") == 0)
        return true;
    for (char c : value) {
        if (c < 0x20 || c > 0x7e)
            return false;
    }
    return true;
}

// daprd's checkAPITokenInContext: the first `dapr-api-token` value must be the token; the
// refusal is ErrorFromHTTPResponseCode(401, ...).
std::optional<grpc::Status> refuseToken(const grpc::ServerContextBase &context,
                                        const api::BindingService &service,
                                        const RuntimeOptions &options)
{
    if (options.apiToken.isEmpty())
        return std::nullopt;
    const auto &md = context.client_metadata();
    const auto it = md.find(TOKEN_KEY);
    std::string detail;
    if (it == md.end())
        detail = "missing api token in request metadata";
    else if (!service.tokenAccepted(
                 QByteArray(it->second.data(), static_cast<qsizetype>(it->second.size()))))
        detail = "authentication error: api token mismatch";
    else
        return std::nullopt;
    return richStatus(grpc::StatusCode::UNAUTHENTICATED, "Unauthorized", "Unauthorized",
                      {{"http.code", "401"}, {"http.error_message", detail}});
}

// daprd's InvokeBinding merge (grpc.go): the request's metadata first; traceparent from the
// call's span (all zeros without tracing) when the request has none; then every key of the call's
// metadata that the request does not have (traceparent and tracestate overwrite), with pseudo
// headers and grpc-* keys prefixed dapr-. grpc-go's metadata holds :authority, content-type,
// user-agent and grpc-accept-encoding beside the caller's keys; gRPC C++ keeps some of those out
// of client_metadata(), so they are put back from the call itself.
void mergeCallMetadata(const grpc::CallbackServerContext &context, bool dropToken,
                       QMap<QString, QString> *metadata)
{
    static const QString traceparent = QStringLiteral("traceparent");
    if (!metadata->contains(traceparent))
        metadata->insert(traceparent,
                         QStringLiteral("00-00000000000000000000000000000000-0000000000000000-00"));
    const auto &md = context.client_metadata(); // a multimap: a key's first value comes first
    auto merge = [&](const std::string &key, grpc::string_ref value, bool overwrite) {
        std::string name = key;
        if (key == ":method" || key == ":scheme" || key == ":path" || key == ":authority")
            name = "dapr-" + key.substr(1);
        else if (key.rfind("grpc-", 0) == 0)
            name = "dapr-" + key;
        const QString k = QString::fromUtf8(name.data(), static_cast<qsizetype>(name.size()));
        if (overwrite || !metadata->contains(k))
            metadata->insert(k,
                             QString::fromUtf8(value.data(), static_cast<qsizetype>(value.size())));
    };
    std::string baggage;
    bool haveAuthority = false;
    bool haveContentType = false;
    for (auto it = md.begin(); it != md.end(); it = md.upper_bound(it->first)) {
        const std::string key = toStd(it->first);
        if (dropToken && key == TOKEN_KEY)
            continue; // daprd deletes it once checked
        if (key == "baggage") {
            for (auto b = it; b != md.end() && b->first == it->first; ++b)
                baggage += (baggage.empty() ? "" : ",") + toStd(b->second);
        }
        haveAuthority = haveAuthority || key == ":authority";
        haveContentType = haveContentType || key == "content-type";
        merge(key, it->second, key == "traceparent" || key == "tracestate");
    }
    if (!haveAuthority)
        merge(":authority", context.ExperimentalGetAuthority(), false);
    if (!haveContentType)
        merge("content-type", "application/grpc", false);
    if (!baggage.empty())
        metadata->insert(QStringLiteral("baggage"), fromStd(baggage));
}

/// The served methods; every other method of Dapr goes to the generic fallback.
class DaprService final : public rt::Dapr::CallbackService
{
public:
    DaprService(api::BindingService &service, const RuntimeOptions &options)
        : m_service(service)
        , m_options(options)
    {
        // The generated service registers a bare UNIMPLEMENTED for every method; handing the
        // unserved ones to the generic service lets them answer with what Bindery is.
        const google::protobuf::ServiceDescriptor *descriptor = daprDescriptor();
        for (int i = 0; i < descriptor->method_count(); ++i) {
            if (!isServed(descriptor->method(i)->name()))
                MarkMethodGeneric(i);
        }
    }

    static bool isServed(const std::string &method)
    {
        return method == "InvokeBinding" || method == "GetMetadata" || method == "SetMetadata"
               || method == "GetSecret" || method == "GetBulkSecret";
    }

    grpc::ServerUnaryReactor *InvokeBinding(grpc::CallbackServerContext *context,
                                            const rt::InvokeBindingRequest *request,
                                            rt::InvokeBindingResponse *response) override
    {
        grpc::ServerUnaryReactor *reactor = context->DefaultReactor();
        if (auto refused = refuseToken(*context, m_service, m_options)) {
            reactor->Finish(*refused);
            return reactor;
        }
        InvokeRequest r;
        r.operation = fromStd(request->operation());
        r.data = QByteArray(request->data().data(), static_cast<qsizetype>(request->data().size()));
        for (const auto &[k, v] : request->metadata())
            r.metadata.insert(fromStd(k), fromStd(v));
        mergeCallMetadata(*context, !m_options.apiToken.isEmpty(), &r.metadata);
        const QString name = fromStd(request->name());
        // The answer goes out from the thread the binding completes on; the context, request
        // and response live until Finish() has been called, which the service promises once.
        m_service.invoke(name, std::move(r), api::Transport::Grpc,
                         [context, reactor, response](api::InvokeOutcome outcome) {
                             // daprd sets them even on failure (the http binding's non-2xx).
                             for (const auto &[k, v] : outcome.metadata) {
                                 std::string key = "metadata." + toStd(k);
                                 std::transform(key.begin(), key.end(), key.begin(), [](char c) {
                                     return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c;
                                 });
                                 std::string value = toStd(v);
                                 if (validHeader(key, value))
                                     context->AddInitialMetadata(std::move(key), std::move(value));
                             }
                             if (outcome.failure) {
                                 const api::DaprFailure &f = *outcome.failure;
                                 reactor->Finish(
                                     richStatus(static_cast<grpc::StatusCode>(f.info().grpcStatus),
                                                toStd(f.message), f.info().code));
                                 return;
                             }
                             const QByteArray &data = outcome.response.data;
                             response->set_data(data.constData(), static_cast<size_t>(data.size()));
                             auto &md = *response->mutable_metadata();
                             for (const auto &[k, v] : outcome.metadata)
                                 md[toStd(k)] = toStd(v);
                             reactor->Finish(grpc::Status::OK);
                         });
        return reactor;
    }

    grpc::ServerUnaryReactor *GetMetadata(grpc::CallbackServerContext *context,
                                          const rt::GetMetadataRequest * /*request*/,
                                          rt::GetMetadataResponse *response) override
    {
        grpc::ServerUnaryReactor *reactor = context->DefaultReactor();
        if (auto refused = refuseToken(*context, m_service, m_options)) {
            reactor->Finish(*refused);
            return reactor;
        }
        const api::MetadataSnapshot m = m_service.metadata();
        response->set_id(toStd(m.id));
        response->set_runtime_version(toStd(m.runtimeVersion));
        for (const QString &f : m.enabledFeatures)
            response->add_enabled_features(toStd(f));
        for (const api::MetadataSnapshot::Component &c : m.components) {
            rt::RegisteredComponents *e = response->add_registered_components();
            e->set_name(toStd(c.name));
            e->set_type(toStd(c.type));
            e->set_version(toStd(c.version));
            for (const QString &cap : c.capabilities)
                e->add_capabilities(toStd(cap));
        }
        auto &extended = *response->mutable_extended_metadata();
        for (auto it = m.extended.cbegin(); it != m.extended.cend(); ++it)
            extended[toStd(it.key())] = toStd(it.value());
        // daprd always sends the app's connection properties (port 0 without an app).
        rt::AppConnectionProperties *app = response->mutable_app_connection_properties();
        app->set_port(m.appPort);
        app->set_protocol(toStd(m.appProtocol.isEmpty() ? m_options.appProtocol : m.appProtocol));
        app->set_channel_address(toStd(m.appChannelAddress.isEmpty() ? m_options.appChannelAddress
                                                                     : m.appChannelAddress));
        app->set_max_concurrency(m.appMaxConcurrency);
        rt::ActorRuntime *actors = response->mutable_actor_runtime();
        rt::ActorRuntime::ActorRuntimeStatus status = rt::ActorRuntime::DISABLED;
        rt::ActorRuntime::ActorRuntimeStatus_Parse(toStd(m.actorRuntimeStatus), &status);
        actors->set_runtime_status(status);
        actors->set_host_ready(false);
        actors->set_placement(toStd(m.placement));
        reactor->Finish(grpc::Status::OK);
        return reactor;
    }

    grpc::ServerUnaryReactor *SetMetadata(grpc::CallbackServerContext *context,
                                          const rt::SetMetadataRequest *request,
                                          google::protobuf::Empty * /*response*/) override
    {
        grpc::ServerUnaryReactor *reactor = context->DefaultReactor();
        if (auto refused = refuseToken(*context, m_service, m_options)) {
            reactor->Finish(*refused);
            return reactor;
        }
        if (!request->key().empty()) // daprd: an empty key is a no-op
            m_service.setExtendedMetadata(fromStd(request->key()), fromStd(request->value()));
        reactor->Finish(grpc::Status::OK);
        return reactor;
    }

    grpc::ServerUnaryReactor *GetSecret(grpc::CallbackServerContext *context,
                                        const rt::GetSecretRequest *request,
                                        rt::GetSecretResponse *response) override
    {
        grpc::ServerUnaryReactor *reactor = context->DefaultReactor();
        if (auto refused = refuseToken(*context, m_service, m_options)) {
            reactor->Finish(*refused);
            return reactor;
        }
        const api::SecretOutcome out = m_service.getSecret(
            fromStd(request->store_name()), fromStd(request->key()), toQMap(request->metadata()));
        if (out.failure) {
            reactor->Finish(plainStatus(*out.failure));
            return reactor;
        }
        auto &data = *response->mutable_data();
        for (auto it = out.data.cbegin(); it != out.data.cend(); ++it)
            data[toStd(it.key())] = toStd(it.value());
        reactor->Finish(grpc::Status::OK);
        return reactor;
    }

    grpc::ServerUnaryReactor *GetBulkSecret(grpc::CallbackServerContext *context,
                                            const rt::GetBulkSecretRequest *request,
                                            rt::GetBulkSecretResponse *response) override
    {
        grpc::ServerUnaryReactor *reactor = context->DefaultReactor();
        if (auto refused = refuseToken(*context, m_service, m_options)) {
            reactor->Finish(*refused);
            return reactor;
        }
        const api::BulkSecretOutcome out
            = m_service.getBulkSecret(fromStd(request->store_name()), toQMap(request->metadata()));
        if (out.failure) {
            reactor->Finish(plainStatus(*out.failure));
            return reactor;
        }
        auto &data = *response->mutable_data();
        for (auto it = out.data.cbegin(); it != out.data.cend(); ++it) {
            auto &secrets = *data[toStd(it.key())].mutable_secrets();
            for (auto v = it->cbegin(); v != it->cend(); ++v)
                secrets[toStd(v.key())] = toStd(v.value());
        }
        reactor->Finish(grpc::Status::OK);
        return reactor;
    }

private:
    static QMap<QString, QString> toQMap(const google::protobuf::Map<std::string, std::string> &m)
    {
        QMap<QString, QString> out;
        for (const auto &[k, v] : m)
            out.insert(fromStd(k), fromStd(v));
        return out;
    }

    api::BindingService &m_service;
    const RuntimeOptions &m_options;
};

/// Finishes at once with the given status, before reading anything (unary or stream alike).
class Refusal final : public grpc::ServerGenericBidiReactor
{
public:
    explicit Refusal(const grpc::Status &status) { Finish(status); }
    void OnDone() override { delete this; }
};

/// Every path the Dapr service does not serve: Dapr's other methods name Bindery; other services
/// and methods get grpc-go's words, as daprd answers them.
class Fallback final : public grpc::CallbackGenericService
{
public:
    Fallback(const api::BindingService &service, const RuntimeOptions &options)
        : m_service(service)
        , m_options(options)
    {
    }

    grpc::ServerGenericBidiReactor *
    CreateReactor(grpc::GenericCallbackServerContext *context) override
    {
        const std::string &path = context->method(); // "/<service>/<method>"
        const size_t slash = path.find('/', 1);
        const std::string serviceName
            = slash == std::string::npos ? path.substr(1) : path.substr(1, slash - 1);
        const std::string method
            = slash == std::string::npos ? std::string() : path.substr(slash + 1);
        if (serviceName != DAPR_SERVICE)
            return new Refusal({grpc::StatusCode::UNIMPLEMENTED, "unknown service " + serviceName});
        if (!daprDescriptor()->FindMethodByName(method))
            return new Refusal({grpc::StatusCode::UNIMPLEMENTED,
                                "unknown method " + method + " for service " + serviceName});
        // daprd's token check runs before any handler.
        if (auto refused = refuseToken(*context, m_service, m_options))
            return new Refusal(*refused);
        return new Refusal(
            {grpc::StatusCode::UNIMPLEMENTED,
             "Bindery is a bindings-only Dapr runtime: " + method + " is not served"});
    }

private:
    const api::BindingService &m_service;
    const RuntimeOptions &m_options;
};

std::string listenAddress(const QString &address, quint16 port)
{
    QString host = address;
    if (host.contains(u':') && !host.startsWith(u'['))
        host = u'[' + host + u']';
    return toStd(host + u':' + QString::number(port));
}

// gRPC says only that a port could not be added: ask the system why, for the error message.
QString whyNotListening(const QString &address, quint16 port)
{
    QHostAddress host;
    if (address == QStringLiteral("localhost"))
        host = QHostAddress::LocalHost;
    else if (!host.setAddress(address))
        return QStringLiteral("'%1' is not an IP address").arg(address);
    QTcpServer probe;
    if (!probe.listen(host, port))
        return probe.errorString();
    return QStringLiteral("gRPC could not listen there (see its log line above)");
}

} // namespace

struct GrpcApi::Private
{
    Private(api::BindingService &s, const RuntimeOptions &o)
        : options(o)
        , service(s, options)
        , fallback(s, options)
    {
    }

    RuntimeOptions options;
    DaprService service;
    Fallback fallback;
    std::unique_ptr<grpc::Server> server;
    std::thread shutdownThread;
    std::future<void> shutdownDone;
};

GrpcApi::GrpcApi(api::BindingService &service, const RuntimeOptions &options)
    : d(std::make_unique<Private>(service, options))
{
}

GrpcApi::~GrpcApi()
{
    shutdown();
    if (!d->shutdownThread.joinable())
        return;
    // gRPC's Shutdown() returns once every call in flight was answered; the bindings bound their
    // calls, so this is quick. A binding that never completes must not hang the process: after
    // 5 s its calls (and the server they hold) are left behind.
    if (d->shutdownDone.wait_for(std::chrono::seconds(5)) != std::future_status::ready) {
        qCCritical(lcGrpcApi).noquote()
            << QStringLiteral("gRPC API: calls still in flight 5 s after shutdown; leaving them");
        d->shutdownThread.detach();
        d.release(); // deliberately leaked: the calls in flight still use it
        return;
    }
    d->shutdownThread.join();
}

Result<quint16> GrpcApi::listen(const QStringList &addresses, quint16 port)
{
    if (d->server)
        return fail(ErrorCode::Io, QStringLiteral("the gRPC API is already listening"));
    grpc::ServerBuilder builder;
    // gRPC shares a port among processes by default (SO_REUSEPORT): two sidecars would both
    // "listen" on 50001 and split the calls. daprd's Go server refuses a taken port; so do we.
    builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
    // No channelz: nothing reads it, and it counts every call.
    builder.AddChannelArgument(GRPC_ARG_ENABLE_CHANNELZ, 0);
    // daprd: --max-body-size bounds what the gRPC API receives and sends (MaxRecv/SendMsgSize).
    const int limit = static_cast<int>(std::min<qint64>(d->options.maxBodySize, INT32_MAX));
    builder.SetMaxReceiveMessageSize(limit);
    builder.SetMaxSendMessageSize(limit);
    std::vector<int> bound(static_cast<size_t>(addresses.size()), 0);
    for (qsizetype i = 0; i < addresses.size(); ++i)
        builder.AddListeningPort(listenAddress(addresses[i], port),
                                 grpc::InsecureServerCredentials(), &bound[static_cast<size_t>(i)]);
    builder.RegisterService(&d->service);
    builder.RegisterCallbackGenericService(&d->fallback);
    d->server = builder.BuildAndStart();
    for (qsizetype i = 0; i < addresses.size(); ++i) {
        if (!d->server || bound[static_cast<size_t>(i)] == 0) {
            d->server.reset();
            return fail(ErrorCode::Io, QStringLiteral("cannot listen on %1:%2 for the gRPC API: %3")
                                           .arg(addresses[i], QString::number(port),
                                                whyNotListening(addresses[i], port)));
        }
    }
    if (!d->server)
        return fail(ErrorCode::Io, QStringLiteral("the gRPC API did not start"));
    const quint16 first = static_cast<quint16>(bound.empty() ? 0 : bound.front());
    qCInfo(lcGrpcApi).noquote() << QStringLiteral("gRPC API listening on port %1 (%2)")
                                       .arg(first)
                                       .arg(addresses.join(QStringLiteral(", ")));
    return first;
}

void GrpcApi::shutdown()
{
    if (!d->server || d->shutdownThread.joinable())
        return;
    // Shutdown() waits for the calls in flight; they end when their bindings complete, which
    // the runtime's stop (next) makes happen. So it waits on a thread of its own.
    std::promise<void> done;
    d->shutdownDone = done.get_future();
    d->shutdownThread = std::thread([server = d->server.get(), done = std::move(done)]() mutable {
        server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
        done.set_value();
    });
}

} // namespace bindery::core
