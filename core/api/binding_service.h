// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <atomic>
#include <functional>
#include <optional>

#include <QList>
#include <QMap>
#include <QPair>
#include <QString>
#include <QStringList>

#include "core/api/dapr_errors.h"
#include "core/binding.h"
#include "core/traffic.h"

namespace bindery::core {
class Runtime;
}

namespace bindery::core::api {

/** @brief Which API a call came through, for the traffic record and the logs. */
enum class Transport { Http, Grpc, Console };

/** @brief The outcome of one output binding call, before any transport encodes it. */
struct InvokeOutcome
{
    std::optional<DaprFailure> failure; ///< set when the call failed
    InvokeResponse response;            ///< valid when !failure
    /// The response metadata (`metadata.<key>` headers); also set on failure when the binding
    /// returned some (the http binding does for a non-2xx upstream).
    QList<QPair<QString, QString>> metadata;
    bool ok() const { return !failure.has_value(); }
};

/// Completion of BindingService::invoke: called exactly once, on any thread.
using InvokeCallback = std::function<void(InvokeOutcome)>;

/** @brief The /v1.0/metadata answer, transport-free. */
struct MetadataSnapshot
{
    struct Component
    {
        QString name, type, version;
        QStringList capabilities; ///< INPUT_BINDING, OUTPUT_BINDING
    };
    QString id;
    QString runtimeVersion;
    QStringList enabledFeatures;
    QList<Component> components;
    QMap<QString, QString> extended;
    int appPort = 0; ///< 0: no appConnectionProperties
    QString appProtocol;
    QString appChannelAddress;
    int appMaxConcurrency = -1;
    QString actorRuntimeStatus; ///< INITIALIZING until the app is up, then DISABLED
    QString placement;          ///< empty while INITIALIZING, then "placement: disconnected"
};

/** @brief GET /v1.0/secrets/<store>/<key>: the secret's key/value map, or Dapr's error. */
struct SecretOutcome
{
    std::optional<DaprFailure> failure;
    QMap<QString, QString> data;
};

/** @brief GET /v1.0/secrets/<store>/bulk: every secret's key/value map, or Dapr's error. */
struct BulkSecretOutcome
{
    std::optional<DaprFailure> failure;
    QMap<QString, QMap<QString, QString>> data;
};

/** @brief What GET /v1.0/healthz and /v1.0/healthz/outbound answer. */
struct HealthSnapshot
{
    bool outboundReady = false; ///< components loaded and the API serving
    bool appReady = false;      ///< the app port accepted a connection (or there is no app)
};

/**
 * @brief The bindings building block of Dapr's API, without a transport: look up the output
 * binding, check the operation, invoke it, record the exchange in the traffic stream, and map
 * every failure to Dapr's error in one place (dapr_errors.h). The HTTP and gRPC APIs are thin
 * transports over it: they decode a request, call the service, and encode its answer.
 *
 * Thread-safe: every method may be called from any thread, concurrently; nothing here waits on
 * the runtime thread. invoke() returns at once and completes through its callback, on whatever
 * thread the binding completes (a transport that owns thread-affine sockets hops back itself).
 * The service must outlive the calls in flight; the Runtime must outlive the service.
 */
class BindingService final
{
public:
    explicit BindingService(Runtime &runtime);
    BindingService(const BindingService &) = delete;
    BindingService &operator=(const BindingService &) = delete;

    /**
     * @brief Runs `operation` on the output binding `name` (reference §1.4's order: missing
     * operation, unknown binding, unsupported operation, then the binding). `done` is called
     * exactly once. A binding that throws, or completes twice, cannot break that promise.
     */
    void invoke(const QString &name, InvokeRequest request, Transport transport,
                InvokeCallback done);
    /// Records a request the transport refused before it reached a binding (malformed body,
    /// over-size, bad baggage), so the traffic view shows it with its answer.
    void recordRejected(const QString &name, const QString &operation, const QByteArray &payload,
                        const DaprFailure &failure, Transport transport);

    /**
     * @brief Dapr's GetSecret (universal/secrets.go): the store's answer for `key`, or
     * ERR_SECRET_STORES_NOT_CONFIGURED, ERR_SECRET_STORE_NOT_FOUND (401) or ERR_SECRET_GET with
     * daprd's messages. `metadata` (the `metadata.*` query parameters) goes to the store; the
     * local stores ignore it, as daprd's do. Thread-safe; does not block on the runtime.
     */
    SecretOutcome getSecret(const QString &store, const QString &key,
                            const QMap<QString, QString> &metadata) const;
    /// Dapr's GetBulkSecret: every secret of `store`, with the same errors as getSecret.
    BulkSecretOutcome getBulkSecret(const QString &store,
                                    const QMap<QString, QString> &metadata) const;

    /// The API token check (DAPR_API_TOKEN), in constant time; true when no token is set.
    bool tokenAccepted(const QByteArray &presented) const;

    /// daprd's answer for publishing to a pub/sub it does not have (Bindery has none).
    static DaprFailure pubsubNotFound(const QString &pubsub);
    /// daprd's answer for a state store that is not configured (Bindery has none).
    DaprFailure stateStoreNotConfigured(const QString &store) const;
    /// Service invocation of `appId`: ERR_DIRECT_INVOKE, saying Bindery serves bindings only.
    static DaprFailure serviceInvocationUnavailable(const QString &appId);

    MetadataSnapshot metadata() const;
    void setExtendedMetadata(const QString &key, const QString &value);
    HealthSnapshot health() const;
    /// Set by the composition root once its API transports are listening (healthz/outbound).
    void setOutboundReady(bool ready) { m_outboundReady.store(ready); }

    Runtime &runtime() const { return m_runtime; }

private:
    Runtime &m_runtime;
    std::atomic<bool> m_outboundReady{false};
};

/// daprd's message prefix for any output binding failure.
QString invokeErrorPrefix(const QString &name);

} // namespace bindery::core::api
