// SPDX-License-Identifier: Apache-2.0
#include "core/bindings/gcp_bucket/gcp_token_source.h"

using namespace Qt::Literals::StringLiterals;

namespace bindery::bindings::gcp_bucket {

Result<std::shared_ptr<TokenSource>> TokenSource::create(ServiceAccountKey key, QString scope)
{
    std::shared_ptr<TokenSource> source(new TokenSource(std::move(key), std::move(scope)));
    common::RestClientOptions options;
    options.name = u"gcs-token"_s;
    options.maxHostConnections = 2;
    options.userAgent = "bindery-gcp-bucket";
    Result<std::unique_ptr<common::RestClient>> client = common::RestClient::create(options);
    if (!client)
        return tl::unexpected(client.error());
    source->m_client = std::move(*client);
    return source;
}

TokenSource::TokenSource(ServiceAccountKey key, QString scope)
    : m_key(std::move(key))
    , m_scope(std::move(scope))
{
}

TokenSource::~TokenSource()
{
    shutdown();
}

void TokenSource::shutdown()
{
    {
        std::lock_guard lock(m_mutex);
        m_closed = true;
    }
    // Completes a sign-in in flight with "client closed" (its waiters hear it) and joins; a
    // fetch() sending right now holds m_clientLock shared, so the client outlives that send.
    std::unique_lock clientLock(m_clientLock);
    m_client.reset();
}

int TokenSource::signIns() const
{
    std::lock_guard lock(m_mutex);
    return m_signIns;
}

bool TokenSource::claimFetchLocked(const QDateTime &now, bool background)
{
    if (m_fetching || m_closed)
        return false;
    if (background && now.toMSecsSinceEpoch() < m_retryAfterMs)
        return false;
    m_fetching = true;
    ++m_signIns;
    return true;
}

void TokenSource::whenReady(Ready ready)
{
    const QDateTime now = QDateTime::currentDateTimeUtc();
    std::unique_lock lock(m_mutex);
    if (m_closed) {
        lock.unlock();
        ready(fail(ErrorCode::Closed, u"binding closed"_s));
        return;
    }
    if (m_cache.isUsable(now)) {
        const QByteArray header = m_cache.token().authorizationHeader().toUtf8();
        const bool start = m_cache.needsRefresh(now) && claimFetchLocked(now, true);
        lock.unlock();
        if (start)
            fetch();
        ready(header);
        return;
    }
    m_waiters.push_back(std::move(ready));
    const bool start = claimFetchLocked(now, false);
    lock.unlock();
    if (start)
        fetch();
}

QByteArray TokenSource::authorization()
{
    const QDateTime now = QDateTime::currentDateTimeUtc();
    std::unique_lock lock(m_mutex);
    const QByteArray header
        = m_cache.hasToken() ? m_cache.token().authorizationHeader().toUtf8() : QByteArray();
    const bool start = m_cache.needsRefresh(now) && claimFetchLocked(now, true);
    lock.unlock();
    if (start)
        fetch();
    return header;
}

void TokenSource::prefetch()
{
    const QDateTime now = QDateTime::currentDateTimeUtc();
    std::unique_lock lock(m_mutex);
    const bool start = m_cache.needsRefresh(now) && claimFetchLocked(now, false);
    lock.unlock();
    if (start)
        fetch();
}

void TokenSource::invalidate()
{
    std::lock_guard lock(m_mutex);
    m_cache.clear();
}

void TokenSource::fetch()
{
    // Never called with m_mutex held: a client being destroyed completes the send at once.
    Result<QByteArray> assertion
        = makeJwtAssertion(m_key, m_scope, QDateTime::currentDateTimeUtc());
    std::shared_lock clientLock(m_clientLock);
    common::RestClient *client = m_client.get();
    if (!assertion || !client) {
        clientLock.unlock();
        fetched(assertion ? fail(ErrorCode::Closed, u"binding closed"_s)
                          : Result<AccessToken>(tl::unexpected(assertion.error())));
        return;
    }
    common::RestRequest rq;
    rq.method = "POST";
    rq.url = m_key.tokenUri.toUtf8();
    rq.headers = {{"Content-Type", "application/x-www-form-urlencoded"}};
    rq.body = tokenRequestBody(*assertion);
    rq.timeout = std::chrono::seconds(30);
    const QString tokenUri = m_key.tokenUri;
    client->send(std::move(rq), [self = shared_from_this(), tokenUri](common::RestResponse r) {
        if (!r.ok()) {
            self->fetched(fail(
                ErrorCode::InvokeFailed,
                u"gcp.bucket: cannot reach the token endpoint %1: %2"_s.arg(tokenUri, r.error)));
            return;
        }
        self->fetched(parseTokenResponse(r.body, QDateTime::currentDateTimeUtc(), r.status));
    });
}

void TokenSource::fetched(Result<AccessToken> token)
{
    std::vector<Ready> waiters;
    QByteArray header;
    {
        std::lock_guard lock(m_mutex);
        m_fetching = false;
        if (token) {
            m_cache.store(*token);
            m_retryAfterMs = 0;
            header = token->authorizationHeader().toUtf8();
        } else {
            m_retryAfterMs = QDateTime::currentMSecsSinceEpoch() + RETRY_AFTER_FAILURE_MS;
        }
        waiters.swap(m_waiters);
    }
    for (Ready &ready : waiters)
        ready(token ? Result<QByteArray>(header) : tl::unexpected(token.error()));
}

} // namespace bindery::bindings::gcp_bucket
