// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <QByteArray>
#include <QByteArrayView>
#include <QDateTime>
#include <QString>
#include <QStringView>

#include "core/bindings/gcp_bucket/gcp_credentials.h"
#include "core/result.h"

namespace bindery::bindings::gcp_bucket {

/// OAuth 2.0 scope for full control of Cloud Storage (what daprd's client asks for).
inline constexpr QStringView SCOPE_FULL_CONTROL
    = u"https://www.googleapis.com/auth/devstorage.full_control";
/// OAuth 2.0 scope for reading and writing objects only.
inline constexpr QStringView SCOPE_READ_WRITE
    = u"https://www.googleapis.com/auth/devstorage.read_write";
/// The grant type of RFC 7523 (JWT bearer), as Google's token endpoint expects it.
inline constexpr QStringView JWT_BEARER_GRANT_TYPE = u"urn:ietf:params:oauth:grant-type:jwt-bearer";
/// Lifetime of an assertion, in seconds (Google's maximum, and what its libraries use).
inline constexpr qint64 JWT_LIFETIME_SECONDS = 3600;

/** @brief base64url without padding (RFC 7515 section 2), as JWTs use it. */
QByteArray base64UrlEncode(QByteArrayView data);

/**
 * @brief A signed RS256 JWT for the OAuth 2.0 JWT-bearer grant (RFC 7523), as Google issues tokens.
 *
 * Header `{"alg":"RS256","typ":"JWT","kid":<private_key_id>}` (no `kid` when the key has no id);
 * claims `iss` = client_email, `scope`, `aud` = token_uri, `iat` = @p now, `exp` = iat + 3600.
 * Returns `header.claims.signature`, each base64url without padding. Pure; any thread.
 */
[[nodiscard]] Result<QByteArray> makeJwtAssertion(const ServiceAccountKey &key, QStringView scope,
                                                  const QDateTime &now);

/**
 * @brief The `application/x-www-form-urlencoded` body for the token request:
 * `grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=<jwt>`
 * (the form Go's `url.Values` and Google's libraries send). POST it to the key's token_uri.
 */
QByteArray tokenRequestBody(QByteArrayView assertion);

/** @brief An OAuth 2.0 access token and when it stops working. A plain value type. */
struct AccessToken
{
    QString token;
    QString type = QStringLiteral("Bearer");
    QDateTime expiresAt; ///< UTC

    /** @brief The `Authorization` header value, e.g. "Bearer ya29...". */
    QString authorizationHeader() const;
};

/**
 * @brief Parses the token endpoint's answer.
 *
 * Success: `{"access_token":..., "expires_in":3599, "token_type":"Bearer"}`; `expires_in` counts
 * from
 * @p now (when missing, the assertion's 3600 s are assumed). Google's error JSON
 * `{"error":"invalid_grant","error_description":"Invalid JWT Signature."}` becomes an error naming
 * both; a body that is not JSON becomes an error with @p httpStatus and the start of the body. The
 * token itself never appears in a message. Pure; any thread.
 */
[[nodiscard]] Result<AccessToken> parseTokenResponse(QByteArrayView body, const QDateTime &now,
                                                     int httpStatus = 200);

/**
 * @brief The access token a binding holds between requests.
 *
 * A plain value type with no locking: the owner guards it. A token is refreshed
 * REFRESH_MARGIN_SECONDS before it expires; until it actually expires it can still be used while
 * the refresh is in flight, so requests need not wait for it.
 */
class TokenCache
{
public:
    /// Refresh this long before expiry.
    static constexpr qint64 REFRESH_MARGIN_SECONDS = 300;

    void store(AccessToken token) { m_token = std::move(token); }
    void clear() { m_token = {}; }
    bool hasToken() const { return !m_token.token.isEmpty(); }
    const AccessToken &token() const { return m_token; }

    /** @brief True without a token, or from REFRESH_MARGIN_SECONDS before its expiry on. */
    bool needsRefresh(const QDateTime &now) const;
    /** @brief True while the token exists and has not expired (it may already need a refresh). */
    bool isUsable(const QDateTime &now) const;

private:
    AccessToken m_token;
};

} // namespace bindery::bindings::gcp_bucket
