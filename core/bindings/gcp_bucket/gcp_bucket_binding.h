// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <memory>
#include <optional>
#include <shared_mutex>

#include <QByteArray>
#include <QString>
#include <QStringList>
#include <QThreadPool>

#include "core/binding.h"
#include "core/bindings/common/rest_client.h"
#include "core/bindings/gcp_bucket/gcp_credentials.h"
#include "core/bindings/gcp_bucket/gcp_token_source.h"
#include "core/bindings/gcp_bucket/gcs_client.h"

namespace bindery::bindings::gcp_bucket {

/** @brief A gcp.bucket component's settings, read once at init. */
struct BucketSettings
{
    QString bucket;
    QString projectId;
    bool decodeBase64 = false;
    bool encodeBase64 = false;
    QString contentType;
    QString signTTL;
    QByteArray endpoint;         ///< scheme://host[:port][/prefix] the requests go to
    bool customEndpoint = false; ///< `endpoint` or STORAGE_EMULATOR_HOST chose it
    QString emulatorHost; ///< STORAGE_EMULATOR_HOST, for signed URLs as Google's libraries do
    QByteArray caCert;
    qint64 chunkSize = 0;
    std::optional<ServiceAccountKey> key; ///< none: anonymous (emulator endpoints only)
    QString signIn; ///< how it signs in, for the log: "the component's service-account key"
};

/**
 * @brief bindings.gcp.bucket: daprd's Cloud Storage output binding over the JSON API (issue 12).
 *
 * Operations, request and answer shapes and error texts are daprd 1.18's (components-contrib
 * bindings/gcp/bucket/bucket.go, measured against a real daprd where it matters): create, get,
 * delete, list, sign, bulkGet, copy, rename, move.
 *
 * Sign-in, in the order Google's libraries use: the component's service-account fields, then the
 * key file GOOGLE_APPLICATION_CREDENTIALS names, then (with `endpoint` or STORAGE_EMULATOR_HOST)
 * anonymous requests; otherwise init fails and says what to set. Metadata-server and
 * workload-identity sign-in are not supported.
 *
 * Large objects: create works on the request's own buffer (unquoted and base64-decoded in place)
 * and uploads it without copying it (a resumable session above `chunkSize`); get streams the
 * download into the one buffer that becomes the answer (base64-encoded in place).
 *
 * Threads: invoke() may be called from any thread, concurrently, and never blocks; `done` runs on
 * the HTTP client's worker or on the binding's small pool (payload preparation and answers
 * above 1 MiB: unquoting, base64, JSON of bulkGet). close() completes every call in flight.
 */
class GcpBucketBinding final : public core::OutputBinding
{
public:
    GcpBucketBinding();
    ~GcpBucketBinding() override;

    Result<> init(const core::ComponentSpec &spec) override;
    QStringList operations() const override;
    void invoke(core::InvokeRequest request, core::InvokeDone done) override;
    void close() override;
    QStringList initWarnings() const override { return m_warnings; }

    const BucketSettings &settings() const { return m_settings; }

    /** @brief Reads and checks the settings (no connection is made). */
    [[nodiscard]] static Result<BucketSettings> readSettings(const core::ComponentSpec &spec,
                                                             QStringList *warnings);

private:
    struct Call;
    using CallPtr = std::shared_ptr<Call>;

    void create(CallPtr call);
    void get(CallPtr call);
    void remove(CallPtr call);
    void list(CallPtr call);
    void sign(CallPtr call);
    void bulkGet(CallPtr call);
    void copyOrMove(CallPtr call, bool move);
    void rename(CallPtr call);
    /// Runs `work` on the pool when `bytes` is large, else at once; `work` must not send.
    void offload(qint64 bytes, std::function<void()> work);
    /// Runs `work` (which sends) on the pool when `bytes` is large: it re-checks close().
    void offloadSending(qint64 bytes, CallPtr call, std::function<void()> work);

    BucketSettings m_settings;
    QStringList m_warnings;
    std::shared_mutex m_lifecycle; // shared while starting requests, unique to close
    bool m_closed = false;         // guarded by m_lifecycle
    std::shared_ptr<TokenSource> m_tokens;
    std::unique_ptr<common::RestClient> m_client;
    std::unique_ptr<GcsClient> m_gcs;
    QThreadPool m_pool;
};

} // namespace bindery::bindings::gcp_bucket
