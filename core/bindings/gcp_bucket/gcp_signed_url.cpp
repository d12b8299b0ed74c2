// SPDX-License-Identifier: Apache-2.0
#include "core/bindings/gcp_bucket/gcp_signed_url.h"

#include <algorithm>
#include <map>
#include <tuple>

#include <nlohmann/json.hpp>

#include <QCryptographicHash>
#include <QSet>

using namespace Qt::Literals::StringLiterals;

namespace bindery::bindings::gcp_bucket {

namespace {

constexpr QLatin1StringView ALGORITHM{"GOOG4-RSA-SHA256"};

// Splits "scheme://host[:port]/path" into scheme (maybe empty) and host[:port].
std::pair<QString, QString> splitEndpoint(const QString &endpoint)
{
    QString rest = endpoint.trimmed();
    QString scheme;
    if (const qsizetype sep = rest.indexOf(u"://"_s); sep >= 0) {
        scheme = rest.left(sep).toLower();
        rest = rest.mid(sep + 3);
    }
    if (const qsizetype slash = rest.indexOf(u'/'); slash >= 0)
        rest.truncate(slash);
    return {scheme, rest};
}

// Go's url.URL.Hostname(): the host without its port (and without IPv6 brackets). The vectors sign
// `host:localhost` for a URL on localhost:8080.
QString hostWithoutPort(const QString &host)
{
    if (host.startsWith(u'[')) {
        const qsizetype close = host.indexOf(u']');
        return close > 0 ? host.mid(1, close - 1) : host;
    }
    const qsizetype colon = host.lastIndexOf(u':');
    return colon >= 0 ? host.left(colon) : host;
}

QByteArray encodePath(const QString &path)
{
    return path.toUtf8().toPercentEncoding("/");
}

QByteArray encodeQuery(const QString &text)
{
    return text.toUtf8().toPercentEncoding();
}

QString basicTimestamp(const QDateTime &t)
{
    return t.toUTC().toString(u"yyyyMMdd'T'HHmmss'Z'"_s);
}

struct Target
{
    QString scheme;
    QString host; ///< host[:port] for the URL
    QString path; ///< unencoded path of the resource, for encodePath()
};

Result<Target> targetFor(UrlStyle style, const SigningEndpoint &endpoint,
                         const QString &bucketBoundHostname, const QString &bucket,
                         const QString &object, bool bucketPathWithoutObject)
{
    Target t{endpoint.scheme.isEmpty() ? u"https"_s : endpoint.scheme.toLower(), endpoint.host, {}};
    switch (style) {
    case UrlStyle::PathStyle:
        t.path = u'/' + bucket;
        if (!object.isEmpty() || !bucketPathWithoutObject)
            t.path += u'/' + object;
        break;
    case UrlStyle::VirtualHostedStyle:
        t.host = bucket + u'.' + endpoint.host;
        t.path = u'/' + object;
        break;
    case UrlStyle::BucketBoundHostname: {
        const auto [scheme, host] = splitEndpoint(bucketBoundHostname);
        if (host.isEmpty())
            return fail(ErrorCode::InvalidMetadata,
                        u"gcp.bucket: a bucket-bound hostname URL needs the hostname"_s);
        if (!scheme.isEmpty())
            t.scheme = scheme;
        t.host = host;
        t.path = u'/' + object;
        break;
    }
    }
    if (t.host.isEmpty())
        return fail(ErrorCode::InvalidMetadata, u"gcp.bucket: no host to sign a URL for"_s);
    if (t.scheme != u"https"_s && t.scheme != u"http"_s)
        return fail(ErrorCode::InvalidMetadata,
                    u"gcp.bucket: signed URLs use http or https, not '%1'"_s.arg(t.scheme));
    return t;
}

Result<void> checkCommon(const ServiceAccountKey &key, const QString &bucket, qint64 expires,
                         const QDateTime &timestamp)
{
    if (!key.privateKey || key.clientEmail.isEmpty())
        return fail(ErrorCode::InitFailed,
                    u"gcp.bucket: signing needs a service-account key with client_email and "
                    "private_key"_s);
    if (bucket.isEmpty())
        return fail(ErrorCode::InvalidMetadata, u"gcp.bucket: no bucket to sign for"_s);
    if (expires < 1 || expires > V4_MAX_EXPIRATION_SECONDS)
        return fail(ErrorCode::InvalidMetadata,
                    u"gcp.bucket: a V4 signature lasts from 1 second to 7 days (604800 seconds), "
                    "not %1 seconds"_s.arg(expires));
    if (!timestamp.isValid())
        return fail(ErrorCode::InvalidMetadata, u"gcp.bucket: no valid signing time"_s);
    return {};
}

} // namespace

SigningEndpoint resolveSigningEndpoint(const EndpointSources &sources)
{
    SigningEndpoint result;
    QString chosenScheme;
    if (!sources.hostname.trimmed().isEmpty()) {
        std::tie(chosenScheme, result.host) = splitEndpoint(sources.hostname);
    } else if (!sources.clientEndpoint.trimmed().isEmpty()) {
        std::tie(chosenScheme, result.host) = splitEndpoint(sources.clientEndpoint);
    } else if (!sources.emulatorHost.trimmed().isEmpty()) {
        std::tie(chosenScheme, result.host) = splitEndpoint(sources.emulatorHost);
    } else {
        const QString universe = sources.universeDomain.trimmed();
        result.host
            = u"storage."_s + (universe.isEmpty() ? DEFAULT_UNIVERSE_DOMAIN.toString() : universe);
    }
    if (!sources.scheme.isEmpty())
        result.scheme = sources.scheme.toLower();
    else if (!chosenScheme.isEmpty())
        result.scheme = chosenScheme;
    else
        result.scheme = u"https"_s;
    return result;
}

Result<SignedUrl> signUrlV4(const ServiceAccountKey &key, const SignedUrlOptions &options)
{
    if (Result<void> ok
        = checkCommon(key, options.bucket, options.expiresInSeconds, options.timestamp);
        !ok)
        return tl::unexpected(ok.error());

    QString method = options.method.trimmed().toUpper();
    NameValueList headers = options.headers;
    if (method == u"RESUMABLE"_s) {
        method = u"POST"_s;
        headers.append({u"x-goog-resumable"_s, u"start"_s});
    }
    static const QSet<QString> methods{u"GET"_s, u"HEAD"_s, u"PUT"_s, u"POST"_s, u"DELETE"_s};
    if (!methods.contains(method))
        return fail(
            ErrorCode::InvalidMetadata,
            u"gcp.bucket: cannot sign a URL for the HTTP method '%1' (GET, HEAD, PUT, POST, "
            "DELETE or RESUMABLE)"_s.arg(options.method));

    Result<Target> target = targetFor(options.style, options.endpoint, options.bucketBoundHostname,
                                      options.bucket, options.object, true);
    if (!target)
        return tl::unexpected(target.error());

    // Canonical headers: lower-case names in byte order, values trimmed with inner whitespace
    // collapsed, repeated names joined with ','.
    std::map<QByteArray, QByteArray> canonical;
    for (const auto &[name, value] : std::as_const(headers)) {
        const QByteArray lower = name.trimmed().toLower().toUtf8();
        if (lower.isEmpty())
            return fail(ErrorCode::InvalidMetadata, u"gcp.bucket: a signed header has no name"_s);
        QByteArray &slot = canonical[lower];
        if (!slot.isEmpty())
            slot += ',';
        slot += value.simplified().toUtf8();
    }
    if (!canonical.contains("host"))
        canonical["host"] = hostWithoutPort(target->host).toUtf8();
    QByteArray canonicalHeaders;
    QByteArray signedHeaders;
    for (const auto &[name, value] : canonical) {
        canonicalHeaders += name + ':' + value + '\n';
        signedHeaders += (signedHeaders.isEmpty() ? "" : ";") + name;
    }
    const auto sha256Header = canonical.find("x-goog-content-sha256");
    const QByteArray payload
        = sha256Header != canonical.end() ? sha256Header->second : QByteArray("UNSIGNED-PAYLOAD");

    const QDateTime utc = options.timestamp.toUTC();
    const QString timestamp = basicTimestamp(utc);
    const QString scope = utc.toString(u"yyyyMMdd"_s) + u"/auto/storage/goog4_request"_s;

    // The X-Goog-* parameters replace user parameters of the same name.
    std::map<QString, QString> signing{
        {u"X-Goog-Algorithm"_s, QString(ALGORITHM)},
        {u"X-Goog-Credential"_s, key.clientEmail + u'/' + scope},
        {u"X-Goog-Date"_s, timestamp},
        {u"X-Goog-Expires"_s, QString::number(options.expiresInSeconds)},
        {u"X-Goog-SignedHeaders"_s, QString::fromUtf8(signedHeaders)},
    };
    QList<std::pair<QByteArray, QByteArray>> query;
    for (const auto &[name, value] : options.queryParameters) {
        if (!signing.contains(name))
            query.append({encodeQuery(name), encodeQuery(value)});
    }
    for (const auto &[name, value] : signing)
        query.append({encodeQuery(name), encodeQuery(value)});
    std::sort(query.begin(), query.end());
    QByteArray canonicalQuery;
    for (const auto &[name, value] : std::as_const(query))
        canonicalQuery += (canonicalQuery.isEmpty() ? "" : "&") + name + '=' + value;

    const QByteArray path = encodePath(target->path);
    const QByteArray canonicalRequest = method.toUtf8() + '\n' + path + '\n' + canonicalQuery + '\n'
                                        + canonicalHeaders + '\n' + signedHeaders + '\n' + payload;
    const QByteArray stringToSign
        = QByteArray(ALGORITHM.data(), ALGORITHM.size()) + '\n' + timestamp.toUtf8() + '\n'
          + scope.toUtf8() + '\n'
          + QCryptographicHash::hash(canonicalRequest, QCryptographicHash::Sha256).toHex();

    Result<QByteArray> signature = key.privateKey->signSha256(stringToSign);
    if (!signature)
        return tl::unexpected(signature.error());

    SignedUrl result;
    result.signature = QString::fromLatin1(signature->toHex());
    result.url = target->scheme + u"://"_s + target->host + QString::fromLatin1(path) + u'?'
                 + QString::fromLatin1(canonicalQuery) + u"&X-Goog-Signature="_s + result.signature;
    result.canonicalRequest = QString::fromUtf8(canonicalRequest);
    result.stringToSign = QString::fromUtf8(stringToSign);
    return result;
}

Result<SignedPostPolicy> signPostPolicyV4(const ServiceAccountKey &key,
                                          const PostPolicyOptions &options)
{
    if (Result<void> ok
        = checkCommon(key, options.bucket, options.expiresInSeconds, options.timestamp);
        !ok)
        return tl::unexpected(ok.error());
    Result<Target> target = targetFor(options.style, options.endpoint, options.bucketBoundHostname,
                                      options.bucket, QString(), false);
    if (!target)
        return tl::unexpected(target.error());

    const QDateTime utc = options.timestamp.toUTC();
    const QString timestamp = basicTimestamp(utc);
    const QString credential
        = key.clientEmail + u'/' + utc.toString(u"yyyyMMdd"_s) + u"/auto/storage/goog4_request"_s;
    const QString expiration
        = utc.addSecs(options.expiresInSeconds).toString(u"yyyy-MM-dd'T'HH:mm:ss'Z'"_s);

    using Json = nlohmann::ordered_json;
    auto pair = [](const QString &name, const QString &value) {
        return Json{{name.toStdString(), value.toStdString()}};
    };
    Json conditions = Json::array();
    if (options.conditions.contentLengthRange)
        conditions.push_back(
            Json::array({"content-length-range", options.conditions.contentLengthRange->first,
                         options.conditions.contentLengthRange->second}));
    for (const auto &[field, prefix] : options.conditions.startsWith)
        conditions.push_back(
            Json::array({"starts-with", field.toStdString(), prefix.toStdString()}));
    NameValueList sortedFields = options.fields;
    std::stable_sort(sortedFields.begin(), sortedFields.end(),
                     [](const auto &a, const auto &b) { return a.first < b.first; });
    for (const auto &[name, value] : std::as_const(sortedFields)) {
        if (!name.startsWith(u"x-ignore-"_s))
            conditions.push_back(pair(name, value));
    }
    conditions.push_back(pair(u"bucket"_s, options.bucket));
    conditions.push_back(pair(u"key"_s, options.object));
    conditions.push_back(pair(u"x-goog-date"_s, timestamp));
    conditions.push_back(pair(u"x-goog-credential"_s, credential));
    conditions.push_back(pair(u"x-goog-algorithm"_s, QString(ALGORITHM)));
    const Json policy{{"conditions", conditions}, {"expiration", expiration.toStdString()}};

    SignedPostPolicy result;
    // Compact and ASCII-only (\u00e9), as Python's json.dumps(separators=(",", ":")) writes it.
    result.policyJson = QByteArray::fromStdString(policy.dump(-1, ' ', true));
    const QByteArray policyBase64 = result.policyJson.toBase64();
    Result<QByteArray> signature = key.privateKey->signSha256(policyBase64);
    if (!signature)
        return tl::unexpected(signature.error());

    result.url
        = target->scheme + u"://"_s + target->host + QString::fromLatin1(encodePath(target->path));
    result.fields.append({u"key"_s, options.object});
    result.fields.append(sortedFields);
    result.fields.append({u"x-goog-algorithm"_s, QString(ALGORITHM)});
    result.fields.append({u"x-goog-credential"_s, credential});
    result.fields.append({u"x-goog-date"_s, timestamp});
    result.fields.append({u"x-goog-signature"_s, QString::fromLatin1(signature->toHex())});
    result.fields.append({u"policy"_s, QString::fromLatin1(policyBase64)});
    return result;
}

} // namespace bindery::bindings::gcp_bucket
