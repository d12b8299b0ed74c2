// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <vector>

#include <QByteArray>
#include <QDateTime>
#include <QString>

#include "core/bindings/common/rest_client.h"
#include "core/bindings/gcp_bucket/gcp_credentials.h"
#include "core/bindings/gcp_bucket/gcp_jwt.h"
#include "core/result.h"

namespace bindery::bindings::gcp_bucket {

/**
 * @brief The access token of one service-account key: signed in with an RS256 JWT at the key's
 * token_uri, cached, and refreshed before it expires without making requests wait (issue 12).
 *
 * A request asks whenReady(): with a usable token it continues at once, on its own thread; only
 * when there is none (the first request, or after the token expired unused) does it wait, without
 * blocking any thread, for the sign-in in flight, and continue on the token client's thread. From
 * TokenCache::REFRESH_MARGIN_SECONDS before the expiry on, the next request starts a background
 * refresh and still goes out with the current token. A failed background refresh is tried again
 * after RETRY_AFTER_FAILURE_MS, so a token endpoint that is down is not asked on every request.
 *
 * Threads: every method may be called from any thread. The token endpoint is called through a
 * RestClient of its own (its own worker thread, the system's trusted CAs), so a private CA set
 * for the storage endpoint never applies to Google's token endpoint.
 */
class TokenSource final : public std::enable_shared_from_this<TokenSource>
{
public:
    /// Receives the `Authorization` header value, or why there is none.
    using Ready = std::function<void(Result<QByteArray> authorization)>;
    /// A failed background refresh is not tried again sooner than this.
    static constexpr qint64 RETRY_AFTER_FAILURE_MS = 5000;

    /** @brief Starts the token client. Errors come from RestClient::create. */
    [[nodiscard]] static Result<std::shared_ptr<TokenSource>> create(ServiceAccountKey key,
                                                                     QString scope);
    ~TokenSource();

    /** @brief Calls @p ready once: at once with a usable token, else when the sign-in ends. */
    void whenReady(Ready ready);
    /**
     * @brief The header of the cached token (empty when there is none) for a retry's
     * beforeAttempt; starts a background refresh when one is due. Never blocks.
     */
    QByteArray authorization();
    /** @brief Starts signing in now (at init), so the first request need not wait. */
    void prefetch();
    /** @brief Drops the cached token (the storage API answered 401 with it). */
    void invalidate();
    /**
     * @brief Stops the token client: a sign-in in flight fails its waiters with "closed", and
     * later calls fail at once. Call before destroying what the waiters' continuations use.
     */
    void shutdown();

    const ServiceAccountKey &key() const { return m_key; }
    /** @brief Sign-ins started so far (for tests and the console's diagnostics). */
    int signIns() const;

private:
    TokenSource(ServiceAccountKey key, QString scope);
    /// Decides under the lock whether a sign-in must start; true when the caller must start it.
    bool claimFetchLocked(const QDateTime &now, bool background);
    void fetch();
    void fetched(Result<AccessToken> token);

    const ServiceAccountKey m_key;
    const QString m_scope;
    std::shared_mutex m_clientLock; // shared while sending, unique while destroying m_client
    std::unique_ptr<common::RestClient> m_client;

    mutable std::mutex m_mutex;
    TokenCache m_cache;           // guarded by m_mutex
    bool m_fetching = false;      // guarded by m_mutex
    bool m_closed = false;        // guarded by m_mutex
    qint64 m_retryAfterMs = 0;    // guarded by m_mutex; epoch ms
    int m_signIns = 0;            // guarded by m_mutex
    std::vector<Ready> m_waiters; // guarded by m_mutex
};

} // namespace bindery::bindings::gcp_bucket
