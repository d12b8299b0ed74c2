// SPDX-License-Identifier: Apache-2.0
#include "core/bindings/gcp_bucket/gcp_jwt.h"

#include <nlohmann/json.hpp>

using namespace Qt::Literals::StringLiterals;

namespace bindery::bindings::gcp_bucket {

namespace {

QByteArray dumpCompact(const nlohmann::ordered_json &value)
{
    return QByteArray::fromStdString(value.dump());
}

// A short, printable excerpt of a body that was not JSON (an HTML error page from a proxy, say).
QString excerpt(QByteArrayView body)
{
    QString text = QString::fromUtf8(body.first(qMin<qsizetype>(body.size(), 200))).simplified();
    if (body.size() > 200)
        text += u"..."_s;
    return text;
}

} // namespace

QByteArray base64UrlEncode(QByteArrayView data)
{
    return data.toByteArray().toBase64(QByteArray::Base64UrlEncoding
                                       | QByteArray::OmitTrailingEquals);
}

Result<QByteArray> makeJwtAssertion(const ServiceAccountKey &key, QStringView scope,
                                    const QDateTime &now)
{
    if (!key.privateKey)
        return fail(ErrorCode::InitFailed,
                    u"gcp.bucket: the service-account key has no private key"_s);
    if (!now.isValid())
        return fail(ErrorCode::InvokeFailed, u"gcp.bucket: no valid time to sign a JWT with"_s);

    nlohmann::ordered_json header{{"alg", "RS256"}, {"typ", "JWT"}};
    if (!key.privateKeyId.isEmpty())
        header["kid"] = key.privateKeyId.toStdString();
    const qint64 issuedAt = now.toSecsSinceEpoch();
    const nlohmann::ordered_json claims{
        {"iss", key.clientEmail.toStdString()},
        {"scope", scope.toString().toStdString()},
        {"aud", key.tokenUri.toStdString()},
        {"exp", issuedAt + JWT_LIFETIME_SECONDS},
        {"iat", issuedAt},
    };

    const QByteArray signingInput
        = base64UrlEncode(dumpCompact(header)) + '.' + base64UrlEncode(dumpCompact(claims));
    Result<QByteArray> signature = key.privateKey->signSha256(signingInput);
    if (!signature)
        return tl::unexpected(signature.error());
    return signingInput + '.' + base64UrlEncode(*signature);
}

QByteArray tokenRequestBody(QByteArrayView assertion)
{
    // The assertion is base64url and dots, which form encoding leaves alone.
    return "grant_type=" + JWT_BEARER_GRANT_TYPE.toUtf8().toPercentEncoding()
           + "&assertion=" + assertion.toByteArray().toPercentEncoding();
}

QString AccessToken::authorizationHeader() const
{
    return (type.isEmpty() ? u"Bearer"_s : type) + u' ' + token;
}

Result<AccessToken> parseTokenResponse(QByteArrayView body, const QDateTime &now, int httpStatus)
{
    nlohmann::json doc = nlohmann::json::parse(body.begin(), body.end(), nullptr, false);
    if (doc.is_discarded() || !doc.is_object())
        return fail(ErrorCode::InvokeFailed,
                    u"gcp.bucket: the token endpoint answered HTTP %1 without a JSON object: %2"_s
                        .arg(httpStatus)
                        .arg(excerpt(body)));

    auto text = [&](const char *name) {
        const auto it = doc.find(name);
        return it != doc.end() && it->is_string() ? QString::fromStdString(it->get<std::string>())
                                                  : QString();
    };
    // RFC 6749 section 5.2; Google adds error_description ("Invalid JWT Signature.",
    // "Invalid grant: account not found").
    if (doc.contains("error")) {
        const QString code = doc["error"].is_string() ? text("error")
                                                      : QString::fromStdString(doc["error"].dump());
        const QString description = text("error_description");
        return fail(
            ErrorCode::InvokeFailed,
            u"gcp.bucket: the token endpoint refused the service-account sign-in (HTTP %1): "
            "%2%3"_s.arg(QString::number(httpStatus), code,
                         description.isEmpty() ? QString() : u": "_s + description));
    }
    if (httpStatus < 200 || httpStatus > 299)
        return fail(ErrorCode::InvokeFailed,
                    u"gcp.bucket: the token endpoint answered HTTP %1: %2"_s.arg(httpStatus)
                        .arg(excerpt(body)));

    AccessToken token;
    token.token = text("access_token");
    if (token.token.isEmpty())
        return fail(ErrorCode::InvokeFailed,
                    u"gcp.bucket: the token endpoint's answer has no \"access_token\""_s);
    const QString type = text("token_type");
    if (!type.isEmpty())
        token.type = type;

    qint64 expiresIn = JWT_LIFETIME_SECONDS;
    if (const auto it = doc.find("expires_in"); it != doc.end()) {
        // Google sends a number; some servers send the number as a string.
        bool ok = false;
        if (it->is_number_integer()) {
            expiresIn = it->get<qint64>();
            ok = true;
        } else if (it->is_string()) {
            expiresIn = QString::fromStdString(it->get<std::string>()).toLongLong(&ok);
        }
        if (!ok || expiresIn <= 0)
            return fail(
                ErrorCode::InvokeFailed,
                u"gcp.bucket: the token endpoint's \"expires_in\" is not a positive number: %1"_s
                    .arg(QString::fromStdString(it->dump())));
    }
    token.expiresAt = now.toUTC().addSecs(expiresIn);
    return token;
}

bool TokenCache::needsRefresh(const QDateTime &now) const
{
    return !hasToken() || !m_token.expiresAt.isValid()
           || now.secsTo(m_token.expiresAt) <= REFRESH_MARGIN_SECONDS;
}

bool TokenCache::isUsable(const QDateTime &now) const
{
    return hasToken() && m_token.expiresAt.isValid() && now < m_token.expiresAt;
}

} // namespace bindery::bindings::gcp_bucket
