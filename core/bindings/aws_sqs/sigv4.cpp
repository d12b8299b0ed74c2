// SPDX-License-Identifier: Apache-2.0
// AWS Signature Version 4, checked against aws-c-auth's test suite (tests/data/aws-sigv4/).
// Where the AWS docs are vague, this follows aws-c-auth, which the suite was generated with.
#include "core/bindings/aws_sqs/sigv4.h"

#include <algorithm>
#include <array>
#include <cstdio>

#include <openssl/evp.h>

#include <QMutexLocker>

using namespace Qt::Literals::StringLiterals;

namespace bindery::bindings::aws_sqs {

namespace {

constexpr QByteArrayView ALGORITHM = "AWS4-HMAC-SHA256";
constexpr int MAX_CACHED_KEYS = 4;

// Fetched once: OpenSSL 3 otherwise looks the algorithm up again on every call, which costs more
// than hashing a small request.
const EVP_MD *sha256Md()
{
    static EVP_MD *md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    return md;
}

EVP_MAC *hmacMac()
{
    static EVP_MAC *mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    return mac;
}

// A ready HMAC-SHA256 context to duplicate: setting the digest by name is another lookup.
const EVP_MAC_CTX *hmacTemplate()
{
    static EVP_MAC_CTX *ctx = [] {
        EVP_MAC_CTX *c = hmacMac() ? EVP_MAC_CTX_new(hmacMac()) : nullptr;
        if (!c)
            return c;
        char digest[] = "SHA256";
        const OSSL_PARAM params[]
            = {OSSL_PARAM_construct_utf8_string("digest", digest, 0), OSSL_PARAM_construct_end()};
        if (EVP_MAC_CTX_set_params(c, params) != 1) {
            EVP_MAC_CTX_free(c);
            return static_cast<EVP_MAC_CTX *>(nullptr);
        }
        return c;
    }();
    return ctx;
}

// Empty on failure (only if OpenSSL lacks SHA-256); callers turn that into an error.
QByteArray sha256(QByteArrayView data)
{
    QByteArray out(EVP_MAX_MD_SIZE, Qt::Uninitialized);
    unsigned int len = 0;
    if (!sha256Md()
        || EVP_Digest(data.data(), size_t(data.size()),
                      reinterpret_cast<unsigned char *>(out.data()), &len, sha256Md(), nullptr)
               != 1)
        return {};
    out.truncate(int(len));
    return out;
}

QByteArray hmacSha256(QByteArrayView key, QByteArrayView data)
{
    const EVP_MAC_CTX *tmpl = hmacTemplate();
    EVP_MAC_CTX *ctx = tmpl ? EVP_MAC_CTX_dup(tmpl) : nullptr;
    if (!ctx)
        return {};
    QByteArray out(EVP_MAX_MD_SIZE, Qt::Uninitialized);
    size_t len = 0;
    const bool ok = EVP_MAC_init(ctx, reinterpret_cast<const unsigned char *>(key.data()),
                                 size_t(key.size()), nullptr)
                        == 1
                    && EVP_MAC_update(ctx, reinterpret_cast<const unsigned char *>(data.data()),
                                      size_t(data.size()))
                           == 1
                    && EVP_MAC_final(ctx, reinterpret_cast<unsigned char *>(out.data()), &len,
                                     size_t(out.size()))
                           == 1;
    EVP_MAC_CTX_free(ctx);
    if (!ok)
        return {};
    out.truncate(int(len));
    return out;
}

bool isUnreserved(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'
           || c == '_' || c == '.' || c == '~';
}

// RFC 3986 percent-encoding with upper-case hex, as SigV4 wants; '/' kept for paths.
void appendUriEncoded(QByteArray &out, QByteArrayView in, bool keepSlash)
{
    static constexpr char HEX[] = "0123456789ABCDEF";
    for (const char c : in) {
        if (isUnreserved(c) || (keepSlash && c == '/')) {
            out.append(c);
        } else {
            const auto u = static_cast<unsigned char>(c);
            out.append('%');
            out.append(HEX[u >> 4]);
            out.append(HEX[u & 0x0F]);
        }
    }
}

QByteArray uriEncoded(QByteArrayView in, bool keepSlash = false)
{
    QByteArray out;
    out.reserve(in.size() * 3);
    appendUriEncoded(out, in, keepSlash);
    return out;
}

int hexValue(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

// '+' stays '+': AWS does not treat it as a space.
bool uriDecode(QByteArrayView in, QByteArray &out)
{
    out.clear();
    out.reserve(in.size());
    for (qsizetype i = 0; i < in.size(); ++i) {
        if (in[i] != '%') {
            out.append(in[i]);
            continue;
        }
        const int hi = i + 2 < in.size() ? hexValue(in[i + 1]) : -1;
        const int lo = hi >= 0 ? hexValue(in[i + 2]) : -1;
        if (lo < 0)
            return false;
        out.append(char((hi << 4) | lo));
        i += 2;
    }
    return true;
}

// Drop empty and "." segments, pop on "..", keep a trailing slash: aws-c-auth's rule, which the
// suite's *-normalized cases encode.
QByteArray normalizedPath(QByteArrayView path)
{
    QList<QByteArrayView> segments;
    qsizetype start = 0;
    while (start <= path.size()) {
        qsizetype end = path.indexOf('/', start);
        if (end < 0)
            end = path.size();
        const QByteArrayView seg = path.sliced(start, end - start);
        if (seg == "..") {
            if (!segments.isEmpty())
                segments.removeLast();
        } else if (!seg.isEmpty() && seg != ".") {
            segments.append(seg);
        }
        start = end + 1;
    }
    QByteArray out("/");
    for (qsizetype i = 0; i < segments.size(); ++i) {
        out.append(segments[i]);
        if (i + 1 < segments.size() || path.endsWith('/'))
            out.append('/');
    }
    return out;
}

bool isSpace(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

// Trim, and squash every run of whitespace (folded lines included) into one space.
void appendTrimmedValue(QByteArray &out, QByteArrayView value)
{
    qsizetype b = 0;
    qsizetype e = value.size();
    while (b < e && isSpace(value[b]))
        ++b;
    while (e > b && isSpace(value[e - 1]))
        --e;
    bool inSpace = false;
    for (qsizetype i = b; i < e; ++i) {
        const bool space = isSpace(value[i]);
        if (!space || !inSpace)
            out.append(space ? ' ' : value[i]);
        inSpace = space;
    }
}

bool equalsIgnoreCase(QByteArrayView a, QByteArrayView b)
{
    return a.compare(b, Qt::CaseInsensitive) == 0;
}

template <std::size_t N> bool inList(QByteArrayView name, const std::array<QByteArrayView, N> &list)
{
    return std::any_of(list.begin(), list.end(),
                       [&](QByteArrayView n) { return equalsIgnoreCase(name, n); });
}

// Hop-by-hop or proxy-rewritten headers: signing them breaks requests that pass a proxy.
constexpr std::array<QByteArrayView, 9> UNSIGNED_HEADERS = {"x-amzn-trace-id",
                                                            "user-agent",
                                                            "connection",
                                                            "expect",
                                                            "sec-websocket-key",
                                                            "sec-websocket-protocol",
                                                            "sec-websocket-version",
                                                            "upgrade",
                                                            "transfer-encoding"};
// Set by the signer; a request that already has one would carry two.
constexpr std::array<QByteArrayView, 4> SIGNER_HEADERS
    = {"authorization", "x-amz-date", "x-amz-content-sha256", "x-amz-security-token"};
constexpr std::array<QByteArrayView, 7> SIGNER_PARAMS
    = {"X-Amz-Signature",     "X-Amz-Date",    "X-Amz-Credential",    "X-Amz-Algorithm",
       "X-Amz-SignedHeaders", "X-Amz-Expires", "X-Amz-Security-Token"};

struct CanonicalHeader
{
    QByteArray lowerName;
    QByteArrayView value;
};

struct QueryParam
{
    QByteArray key;
    QByteArray value;
};

bool operator<(const QueryParam &a, const QueryParam &b)
{
    const int c = a.key.compare(b.key);
    return c != 0 ? c < 0 : a.value < b.value;
}

// 20150830T123600Z; empty if the time cannot be written in that form.
QByteArray amzDate(const QDateTime &time)
{
    if (!time.isValid())
        return {};
    const QDateTime utc = time.toUTC();
    const QDate d = utc.date();
    const QTime t = utc.time();
    if (d.year() < 0 || d.year() > 9999)
        return {};
    char buf[17];
    std::snprintf(buf, sizeof buf, "%04d%02d%02dT%02d%02d%02dZ", d.year(), d.month(), d.day(),
                  t.hour(), t.minute(), t.second());
    return QByteArray(buf, 16);
}

} // namespace

QByteArray deriveSigningKey(QByteArrayView secretAccessKey, QByteArrayView date,
                            QByteArrayView region, QByteArrayView service)
{
    QByteArray k = "AWS4" + secretAccessKey.toByteArray();
    for (const QByteArrayView part : {date, region, service, QByteArrayView("aws4_request")}) {
        k = hmacSha256(k, part);
        if (k.isEmpty())
            return {};
    }
    return k;
}

QByteArray SigningKeyCache::signingKey(QByteArrayView secretAccessKey, QByteArrayView date,
                                       QByteArrayView region, QByteArrayView service)
{
    QMutexLocker lock(&m_mutex);
    for (qsizetype i = 0; i < m_entries.size(); ++i) {
        const Entry &e = m_entries[i];
        if (e.date == date && e.region == region && e.service == service
            && e.secret == secretAccessKey) {
            if (i > 0)
                m_entries.move(i, 0);
            return m_entries.first().key;
        }
    }
    QByteArray key = deriveSigningKey(secretAccessKey, date, region, service);
    if (key.isEmpty())
        return key;
    ++m_derivations;
    m_entries.prepend(Entry{secretAccessKey.toByteArray(), date.toByteArray(), region.toByteArray(),
                            service.toByteArray(), key});
    if (m_entries.size() > MAX_CACHED_KEYS)
        m_entries.removeLast();
    return key;
}

int SigningKeyCache::derivations() const
{
    QMutexLocker lock(&m_mutex);
    return m_derivations;
}

Result<SigV4Result> signRequest(const SigV4Request &request, const AwsCredentials &credentials,
                                const SigV4Options &options, SigningKeyCache *cache)
{
    if (credentials.accessKeyId.isEmpty() || credentials.secretAccessKey.isEmpty())
        return fail(ErrorCode::InvalidMetadata,
                    u"AWS signing: access key id or secret key is empty"_s);
    if (options.region.isEmpty() || options.service.isEmpty())
        return fail(ErrorCode::InvalidMetadata, u"AWS signing: region or service is empty"_s);
    const QByteArray dateTime = amzDate(options.time);
    if (dateTime.isEmpty())
        return fail(ErrorCode::InvalidMetadata, u"AWS signing: invalid signing time"_s);

    const bool inQuery = options.location == SignatureLocation::Query;
    const QByteArray accessKeyId = credentials.accessKeyId.toUtf8();
    const QByteArray token = credentials.sessionToken.toUtf8();
    const QByteArray region = options.region.toUtf8();
    const QByteArray service = options.service.toUtf8();
    const QByteArrayView date = QByteArrayView(dateTime).first(8);
    const QByteArray scope = date.toByteArray() + '/' + region + '/' + service + "/aws4_request";

    const QByteArray payloadDigest = sha256(request.payload);
    if (payloadDigest.isEmpty())
        return fail(ErrorCode::InvokeFailed, u"AWS signing: OpenSSL has no SHA-256"_s);
    const QByteArray payloadHash = payloadDigest.toHex();

    // Headers: what the signer adds takes part in the sort like any other header.
    bool hasHost = false;
    QList<CanonicalHeader> headers;
    headers.reserve(request.headers.size() + 3);
    for (const auto &[name, value] : request.headers) {
        if (inList(name, SIGNER_HEADERS))
            return fail(
                ErrorCode::MalformedData,
                u"AWS signing: the request already has a '%1' header; the signer sets it"_s.arg(
                    QString::fromLatin1(name)));
        if (inList(name, UNSIGNED_HEADERS))
            continue;
        if (equalsIgnoreCase(name, "host"))
            hasHost = true;
        headers.append({name.toLower(), value});
    }
    if (!hasHost)
        return fail(ErrorCode::MalformedData, u"AWS signing: the request has no Host header"_s);
    const bool signToken = !token.isEmpty() && !options.omitSessionToken;
    if (!inQuery) {
        if (signToken)
            headers.append({"x-amz-security-token", token});
        headers.append({"x-amz-date", dateTime});
        if (options.signBody)
            headers.append({"x-amz-content-sha256", payloadHash});
    }
    std::stable_sort(headers.begin(), headers.end(),
                     [](const CanonicalHeader &a, const CanonicalHeader &b) {
                         return a.lowerName < b.lowerName;
                     });
    QByteArray canonicalHeaders;
    QByteArray signedHeaders;
    canonicalHeaders.reserve(512);
    for (qsizetype i = 0; i < headers.size(); ++i) {
        // Repeated headers fold into one line, values comma-joined in their original order.
        if (i > 0 && headers[i].lowerName == headers[i - 1].lowerName) {
            canonicalHeaders.append(',');
        } else {
            if (i > 0) {
                canonicalHeaders.append('\n');
                signedHeaders.append(';');
            }
            signedHeaders.append(headers[i].lowerName);
            canonicalHeaders.append(headers[i].lowerName);
            canonicalHeaders.append(':');
        }
        appendTrimmedValue(canonicalHeaders, headers[i].value);
    }
    canonicalHeaders.append('\n');

    // Query: decode what was sent, then encode it canonically, so "ሴ" and "%E1%88%B4" agree.
    QList<QueryParam> params;
    const QByteArrayView query(request.query);
    for (qsizetype start = 0; start < query.size();) {
        qsizetype end = query.indexOf('&', start);
        if (end < 0)
            end = query.size();
        const QByteArrayView part = query.sliced(start, end - start);
        start = end + 1;
        if (part.isEmpty())
            continue;
        const qsizetype eq = part.indexOf('=');
        QueryParam p;
        QByteArray decodedValue;
        if (!uriDecode(eq < 0 ? part : part.first(eq), p.key)
            || !uriDecode(eq < 0 ? QByteArrayView() : part.sliced(eq + 1), decodedValue))
            return fail(ErrorCode::MalformedData,
                        u"AWS signing: malformed %-escape in the query string"_s);
        if (inList(p.key, SIGNER_PARAMS))
            return fail(ErrorCode::MalformedData,
                        u"AWS signing: the query already has '%1'; the signer sets it"_s.arg(
                            QString::fromUtf8(p.key)));
        p.key = uriEncoded(p.key);
        p.value = uriEncoded(decodedValue);
        params.append(std::move(p));
    }
    QList<QueryParam> authParams; // encoded, in the order they are appended to the sent query
    if (inQuery) {
        authParams.append({"X-Amz-Algorithm", ALGORITHM.toByteArray()});
        authParams.append({"X-Amz-Credential", uriEncoded(QByteArray(accessKeyId + '/' + scope))});
        authParams.append({"X-Amz-Date", dateTime});
        authParams.append({"X-Amz-SignedHeaders", uriEncoded(signedHeaders)});
        if (options.expiresInSeconds > 0)
            authParams.append({"X-Amz-Expires", QByteArray::number(options.expiresInSeconds)});
        if (signToken)
            authParams.append({"X-Amz-Security-Token", uriEncoded(token)});
        params.append(authParams);
    }
    std::sort(params.begin(), params.end());
    QByteArray canonicalQuery;
    for (const QueryParam &p : std::as_const(params)) {
        if (!canonicalQuery.isEmpty())
            canonicalQuery.append('&');
        canonicalQuery.append(p.key);
        canonicalQuery.append('=');
        canonicalQuery.append(p.value);
    }

    QByteArray path = request.path.isEmpty() ? QByteArray("/") : request.path;
    if (options.normalizePath)
        path = normalizedPath(path);
    if (options.doubleUriEncode)
        path = uriEncoded(path, true);

    SigV4Result r;
    QByteArray &cr = r.canonicalRequest;
    cr.reserve(request.method.size() + path.size() + canonicalQuery.size() + canonicalHeaders.size()
               + signedHeaders.size() + 72);
    cr.append(request.method).append('\n');
    cr.append(path).append('\n');
    cr.append(canonicalQuery).append('\n');
    cr.append(canonicalHeaders).append('\n');
    cr.append(signedHeaders).append('\n');
    cr.append(payloadHash);

    r.stringToSign
        = ALGORITHM.toByteArray() + '\n' + dateTime + '\n' + scope + '\n' + sha256(cr).toHex();

    const QByteArray secret = credentials.secretAccessKey.toUtf8();
    const QByteArray key = cache ? cache->signingKey(secret, date, region, service)
                                 : deriveSigningKey(secret, date, region, service);
    const QByteArray mac = key.isEmpty() ? QByteArray() : hmacSha256(key, r.stringToSign);
    if (mac.isEmpty())
        return fail(ErrorCode::InvokeFailed, u"AWS signing: OpenSSL has no HMAC-SHA256"_s);
    r.signature = mac.toHex();

    r.query = request.query;
    if (inQuery) {
        if (!token.isEmpty() && !signToken)
            authParams.append({"X-Amz-Security-Token", uriEncoded(token)});
        authParams.append({"X-Amz-Signature", r.signature});
        for (const QueryParam &p : std::as_const(authParams)) {
            if (!r.query.isEmpty())
                r.query.append('&');
            r.query.append(p.key).append('=').append(p.value);
        }
    } else {
        r.authorization = ALGORITHM.toByteArray() + " Credential=" + accessKeyId + '/' + scope
                          + ", SignedHeaders=" + signedHeaders + ", Signature=" + r.signature;
        if (!token.isEmpty())
            r.addedHeaders.append({"X-Amz-Security-Token", token});
        r.addedHeaders.append({"X-Amz-Date", dateTime});
        if (options.signBody)
            r.addedHeaders.append({"x-amz-content-sha256", payloadHash});
        r.addedHeaders.append({"Authorization", r.authorization});
    }
    return r;
}

Result<HeaderList> signingHeaders(const SigV4Request &request, const AwsCredentials &credentials,
                                  const SigV4Options &options, SigningKeyCache *cache)
{
    SigV4Options headerOptions = options;
    headerOptions.location = SignatureLocation::Headers;
    auto signedRequest = signRequest(request, credentials, headerOptions, cache);
    if (!signedRequest)
        return tl::unexpected(signedRequest.error());
    return std::move(signedRequest->addedHeaders);
}

} // namespace bindery::bindings::aws_sqs
