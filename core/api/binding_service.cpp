// SPDX-License-Identifier: Apache-2.0
#include "core/api/binding_service.h"

#include <exception>
#include <memory>

#include <QLoggingCategory>

#include "core/app_channel.h"
#include "core/runtime.h"
#include "core/secret_store.h"

Q_LOGGING_CATEGORY(lcService, "bindery.core.api")

namespace bindery::core::api {

namespace {

/** @brief One call in flight: guards the exactly-once promise and carries its traffic record. */
struct Call
{
    InvokeCallback done;
    std::atomic<bool> finished{false};
    std::unique_ptr<TrafficRecord> record; ///< null when nobody records traffic
    TrafficStream *traffic = nullptr;
    bool grpc = false; ///< the record shows the gRPC status (0 = OK) instead of the HTTP one

    void finish(InvokeOutcome outcome)
    {
        if (finished.exchange(true)) {
            qCCritical(lcService).noquote()
                << QStringLiteral(
                       "binding %1 completed a call twice; the second completion is ignored")
                       .arg(record ? record->binding : QString());
            return;
        }
        if (record) {
            TrafficRecord &r = *record;
            r.latencyUs = nowUs() - r.startedUs;
            if (outcome.failure) {
                r.status = grpc ? outcome.failure->info().grpcStatus
                                : outcome.failure->info().httpStatus;
                r.ok = false;
                r.error = outcome.failure->message;
                r.errorCode = QString::fromLatin1(outcome.failure->info().code);
                r.responseBody = outcome.failure->jsonBody();
            } else {
                r.status = grpc ? 0 : outcome.response.hasData ? 200 : 204;
                r.ok = true;
                r.responseBody = outcome.response.data;
            }
            for (const auto &[k, v] : outcome.metadata)
                r.responseHeaders.append(
                    {QString::fromLatin1(AppChannel::canonicalHeaderKey("metadata." + k.toUtf8())),
                     v});
            traffic->push(std::move(r));
        }
        done(std::move(outcome));
    }
};

InvokeOutcome failure(DaprError error, QString message)
{
    InvokeOutcome o;
    o.failure = DaprFailure{error, std::move(message)};
    return o;
}

// daprd's secretsValidateRequest: no store at all, or not this one.
std::shared_ptr<SecretStore> findSecretStore(const Runtime &runtime, const QString &name,
                                             std::optional<DaprFailure> *failure)
{
    const SecretStores stores = runtime.secretStores();
    if (stores.isEmpty()) {
        *failure = DaprFailure{DaprError::SecretStoresNotConfigured,
                               QStringLiteral("secret store is not configured")};
        return nullptr;
    }
    std::shared_ptr<SecretStore> s = stores.value(name);
    if (!s)
        *failure = DaprFailure{DaprError::SecretStoreNotFound,
                               QStringLiteral("failed finding secret store with key %1").arg(name)};
    return s;
}

} // namespace

QString invokeErrorPrefix(const QString &name)
{
    return QStringLiteral("error invoking output binding %1: ").arg(name);
}

BindingService::BindingService(Runtime &runtime)
    : m_runtime(runtime)
{
}

void BindingService::invoke(const QString &name, InvokeRequest request, Transport transport,
                            InvokeCallback done)
{
    auto call = std::make_shared<Call>();
    call->done = std::move(done);
    call->traffic = &m_runtime.traffic();
    if (call->traffic->enabled()) {
        call->record = std::make_unique<TrafficRecord>();
        TrafficRecord &r = *call->record;
        r.id = call->traffic->nextId();
        r.kind = TrafficRecord::Kind::Output;
        r.startedUs = nowUs();
        r.binding = name;
        r.operation = request.operation;
        r.payload = request.data;
        for (auto it = request.metadata.cbegin(); it != request.metadata.cend(); ++it)
            r.metadata.append({it.key(), it.value()});
    }
    call->grpc = transport == Transport::Grpc;
    auto prefix = [&name] { return invokeErrorPrefix(name); }; // built only on failure
    // daprd's order (reference §1.4): the operation, the binding, then the operation's support.
    if (request.operation.isEmpty()) {
        call->finish(failure(DaprError::InvokeOutputBinding,
                             prefix() + QStringLiteral("operation field is missing from request")));
        return;
    }
    const OutputEntry entry = m_runtime.output(name);
    if (call->record)
        call->record->bindingType = entry.type;
    if (entry.type.isEmpty()) {
        call->finish(
            failure(DaprError::InvokeOutputBinding,
                    prefix() + QStringLiteral("couldn't find output binding %1").arg(name)));
        return;
    }
    if (!entry.ready()) {
        call->finish(failure(
            DaprError::OutputBindingNotReady,
            prefix() + QStringLiteral("binding %1 is being initialised; try again").arg(name)));
        return;
    }
    if (!entry.operations.contains(request.operation)) {
        call->finish(
            failure(DaprError::InvokeOutputBinding,
                    prefix()
                        + QStringLiteral(
                              "binding %1 does not support operation %2. supported operations:%3")
                              .arg(name, request.operation, entry.operations.join(u' '))));
        return;
    }
    std::shared_ptr<OutputBinding> binding = entry.binding;
    try {
        // The binding stays alive until it completed: the callback holds a reference.
        binding->invoke(std::move(request), [call, binding, name](InvokeResult result) {
            InvokeOutcome o;
            if (result.result) {
                o.metadata = result.result->metadata;
                o.response = std::move(*result.result);
            } else {
                o.metadata = result.errorMetadata;
                o.failure = DaprFailure{daprErrorForInvoke(result.result.error().code),
                                        invokeErrorPrefix(name) + result.result.error().message};
            }
            call->finish(std::move(o));
        });
    } catch (const std::exception &e) {
        qCCritical(lcService).noquote()
            << QStringLiteral("binding %1 threw: %2").arg(name, QString::fromUtf8(e.what()));
        call->finish(failure(
            DaprError::InvokeOutputBinding,
            prefix() + QStringLiteral("internal error: %1").arg(QString::fromUtf8(e.what()))));
    } catch (...) {
        qCCritical(lcService).noquote()
            << QStringLiteral("binding %1 threw an unknown exception").arg(name);
        call->finish(
            failure(DaprError::InvokeOutputBinding, prefix() + QStringLiteral("internal error")));
    }
}

void BindingService::recordRejected(const QString &name, const QString &operation,
                                    const QByteArray &payload, const DaprFailure &failure,
                                    Transport transport)
{
    TrafficStream &traffic = m_runtime.traffic();
    if (!traffic.enabled())
        return;
    TrafficRecord r;
    r.id = traffic.nextId();
    r.kind = TrafficRecord::Kind::Output;
    r.startedUs = nowUs();
    r.binding = name;
    r.bindingType = m_runtime.output(name).type;
    r.operation = operation;
    r.payload = payload;
    r.status = failure.info().httpStatus;
    r.error = failure.message;
    r.errorCode = QString::fromLatin1(failure.info().code);
    r.responseBody = failure.jsonBody();
    Q_UNUSED(transport);
    traffic.push(std::move(r));
}

SecretOutcome BindingService::getSecret(const QString &store, const QString &key,
                                        const QMap<QString, QString> &metadata) const
{
    Q_UNUSED(metadata); // the local stores take none (daprd passes it on just the same)
    SecretOutcome out;
    const std::shared_ptr<SecretStore> s = findSecretStore(m_runtime, store, &out.failure);
    if (!s)
        return out;
    const Result<QHash<QString, QString>> r = s->get(key);
    if (!r) {
        out.failure = DaprFailure{
            DaprError::SecretGet,
            QStringLiteral("failed getting secret with key %1 from secret store %2: %3")
                .arg(key, store, r.error().message)};
        return out;
    }
    for (auto it = r->cbegin(); it != r->cend(); ++it)
        out.data.insert(it.key(), it.value());
    return out;
}

BulkSecretOutcome BindingService::getBulkSecret(const QString &store,
                                                const QMap<QString, QString> &metadata) const
{
    Q_UNUSED(metadata);
    BulkSecretOutcome out;
    const std::shared_ptr<SecretStore> s = findSecretStore(m_runtime, store, &out.failure);
    if (!s)
        return out;
    const Result<QHash<QString, QHash<QString, QString>>> r = s->bulkGet();
    if (!r) {
        out.failure = DaprFailure{DaprError::SecretGet,
                                  QStringLiteral("failed getting secrets from secret store %1: %2")
                                      .arg(store, r.error().message)};
        return out;
    }
    for (auto it = r->cbegin(); it != r->cend(); ++it) {
        QMap<QString, QString> values;
        for (auto v = it->cbegin(); v != it->cend(); ++v)
            values.insert(v.key(), v.value());
        out.data.insert(it.key(), values);
    }
    return out;
}

bool BindingService::tokenAccepted(const QByteArray &presented) const
{
    const QByteArray &token = m_runtime.options().apiToken;
    if (token.isEmpty())
        return true;
    // Constant time over the token's length: the answer time says nothing about a prefix.
    unsigned char diff = presented.size() == token.size() ? 0 : 1;
    for (qsizetype i = 0; i < token.size(); ++i)
        diff |= static_cast<unsigned char>(token[i] ^ (i < presented.size() ? presented[i] : 0));
    return diff == 0;
}

DaprFailure BindingService::pubsubNotFound(const QString &pubsub)
{
    DaprFailure f{DaprError::PubsubNotFound,
                  QStringLiteral("pubsub %1 is not found: Bindery serves bindings only, it has no "
                                 "pub/sub building block")
                      .arg(pubsub)};
    f.reason = QStringLiteral("DAPR_PUBSUB_NOT_FOUND");
    return f;
}

DaprFailure BindingService::stateStoreNotConfigured(const QString &store) const
{
    DaprFailure f{DaprError::StateStoreNotConfigured,
                  QStringLiteral("state store %1 is not configured: Bindery serves bindings only, "
                                 "it has no state building block")
                      .arg(store)};
    f.reason = QStringLiteral("DAPR_STATE_NOT_CONFIGURED");
    f.reasonMetadata.insert(QStringLiteral("appID"), m_runtime.options().appId);
    return f;
}

DaprFailure BindingService::serviceInvocationUnavailable(const QString &appId)
{
    return {DaprError::DirectInvoke,
            QStringLiteral("failed to invoke, id: %1, err: Bindery serves bindings only, it has no "
                           "service invocation building block")
                .arg(appId)};
}

MetadataSnapshot BindingService::metadata() const
{
    const RuntimeOptions &o = m_runtime.options();
    MetadataSnapshot m;
    m.id = o.appId;
    m.runtimeVersion = o.runtimeVersion;
    // daprd 1.18's default feature flags, which its /v1.0/metadata lists the same way.
    m.enabledFeatures
        = {QStringLiteral("HotReload"), QStringLiteral("WorkflowsRemoteActivityReminder")};
    const SecretStores stores = m_runtime.secretStores();
    QList<MetadataSnapshot::Component> secretStores;
    for (const ComponentStatus &c : m_runtime.components()) {
        if (c.state != ComponentState::Loaded)
            continue;
        MetadataSnapshot::Component e;
        e.name = c.name;
        e.type = c.type;
        e.version = c.version.isEmpty() ? QStringLiteral("v1") : c.version;
        if (c.input)
            e.capabilities << QStringLiteral("INPUT_BINDING");
        if (c.output)
            e.capabilities << QStringLiteral("OUTPUT_BINDING");
        if (const std::shared_ptr<SecretStore> s = stores.value(c.name)) {
            e.capabilities << s->features();
            secretStores << e; // daprd initialises (and lists) secret stores first
            continue;
        }
        m.components << e;
    }
    m.components = secretStores + m.components;
    m.extended = m_runtime.extendedMetadata();
    m.appPort = o.appPort > 0 ? o.appPort : 0;
    const std::shared_ptr<AppChannel> channel = m_runtime.appChannel();
    m.appProtocol = channel ? channel->protocol() : QStringLiteral("http");
    m.appChannelAddress = o.appChannelAddress;
    // daprd's actor runtime waits for the app, then reports itself disabled (no placement).
    if (m_runtime.appReady()) {
        m.actorRuntimeStatus = QStringLiteral("DISABLED");
        m.placement = QStringLiteral("placement: disconnected");
    } else {
        m.actorRuntimeStatus = QStringLiteral("INITIALIZING");
    }
    return m;
}

void BindingService::setExtendedMetadata(const QString &key, const QString &value)
{
    m_runtime.setExtendedMetadata(key, value);
}

HealthSnapshot BindingService::health() const
{
    return {m_outboundReady.load(), m_runtime.appReady()};
}

} // namespace bindery::core::api
