// SPDX-License-Identifier: Apache-2.0
#include "core/bindings/http/http_binding.h"

#include <algorithm>
#include <climits>

#include <QHostAddress>
#include <QList>
#include <QPair>
#include <QUrl>

#include "core/app_channel.h"
#include "core/binding_registry.h"
#include "core/binding_settings.h"
#include "core/bindings/common/rest_client.h"
#include "core/bindings/http/lean_http.h"
#include "core/http_client.h"
#include "core/redact.h"

namespace bindery::bindings::http {

using common::RestClient;
using common::RestRequest;
using common::RestResponse;
using common::TransportError;

namespace {

bool sameName(const QByteArray &a, QByteArrayView b)
{
    return a.compare(b, Qt::CaseInsensitive) == 0;
}

// Go's http.Header.Set: one value per canonical name, the last Set wins.
void setHeader(common::HttpHeaders &headers, const QByteArray &name, const QByteArray &value)
{
    const QByteArray key = core::AppChannel::canonicalHeaderKey(name);
    for (auto &[k, v] : headers) {
        if (k == key) {
            v = value;
            return;
        }
    }
    headers.append({key, value});
}

// Go's url.Error as daprd returns it: `Get "http://host/x": <reason>`.
QString goRequestError(const QByteArray &method, const QByteArray &url, const RestResponse &r)
{
    QString op = QString::fromLatin1(method.toLower());
    if (!op.isEmpty())
        op[0] = op[0].toUpper();
    QString why = r.error;
    if (r.errorKind == TransportError::Timeout)
        why = QStringLiteral("context deadline exceeded (Client.Timeout: %1)").arg(r.error);
    else if (r.errorKind == TransportError::Connect)
        why = QStringLiteral("dial tcp: %1").arg(r.error);
    // Go's client writes the URL with its password masked (net/http stripPassword).
    return QStringLiteral("%1 \"%2\": %3")
        .arg(op, core::maskUrlPasswords(QString::fromUtf8(url)), why);
}

// The binding's answer from an HTTP response, whichever client carried it.
void complete(const core::InvokeDone &done, RestResponse r, bool errorIfNot2xx, bool askedGzip,
              qint64 maxBody, const QByteArray &method, const QByteArray &url)
{
    if (!r.ok()) {
        if (r.errorKind == TransportError::BodyTooLarge)
            done({fail(ErrorCode::InvokeFailed,
                       QStringLiteral("response body exceeds maxResponseBodySize %1").arg(maxBody)),
                  {}});
        else
            done({fail(r.errorKind == TransportError::Timeout ? ErrorCode::Timeout
                                                              : ErrorCode::InvokeFailed,
                       goRequestError(method, url, r)),
                  {}});
        return;
    }
    core::InvokeResponse out;
    out.hasData = true;
    const bool gzipped = askedGzip && core::isGzipEncoded(r.headers);
    if (gzipped) {
        QString why;
        if (!core::gunzip(r.body, &out.data, &why, maxBody > 0 ? maxBody : -1)) {
            done({fail(ErrorCode::InvokeFailed, why), {}});
            return;
        }
    } else {
        out.data = std::move(r.body);
    }
    out.metadata.append({QStringLiteral("statusCode"), QString::number(r.status)});
    out.metadata.append(
        {QStringLiteral("status"),
         QString::fromLatin1(QByteArray::number(r.status) + ' ' + r.reason).trimmed()});
    // Go's resp.Header: canonical names, values of a repeated name joined with ", ";
    // Transfer-Encoding is never in it, nor Content-Encoding and Content-Length once the
    // transport decoded the gzip body it asked for (issue 9.12).
    QList<QPair<QByteArray, QByteArray>> merged;
    for (const auto &[name, value] : std::as_const(r.headers)) {
        if (sameName(name, "Transfer-Encoding")
            || (gzipped
                && (sameName(name, "Content-Encoding") || sameName(name, "Content-Length"))))
            continue;
        const QByteArray key = core::AppChannel::canonicalHeaderKey(name);
        auto it = std::find_if(merged.begin(), merged.end(),
                               [&key](const auto &p) { return p.first == key; });
        if (it == merged.end())
            merged.append({key, value});
        else
            it->second += ", " + value;
    }
    for (const auto &[k, v] : std::as_const(merged))
        out.metadata.append({QString::fromLatin1(k), QString::fromUtf8(v)});
    if (errorIfNot2xx && (r.status < 200 || r.status > 299)) {
        done(
            {fail(ErrorCode::InvokeFailed, QStringLiteral("received status code %1").arg(r.status)),
             out.metadata});
        return;
    }
    done({std::move(out), {}});
}

} // namespace

HttpBinding::HttpBinding() = default;

HttpBinding::~HttpBinding()
{
    close();
}

Result<> HttpBinding::init(const core::ComponentSpec &spec)
{
    core::BindingSettings s(spec, core::builtinSchema(QStringLiteral("http")), {false, true});
    m_baseUrl = s.string(QStringLiteral("url"));
    m_timeout = std::chrono::milliseconds(
        qBound(qint64(1), s.durationMs(QStringLiteral("responseTimeout")), qint64(INT_MAX)));
    m_maxBody = s.byteSize(QStringLiteral("maxResponseBodySize"));
    m_errorIfNot2xx = s.boolean(QStringLiteral("errorIfNot2XX"));
    m_token = s.secret(QStringLiteral("securityToken")).toUtf8();
    m_tokenHeader = s.string(QStringLiteral("securityTokenHeader")).toUtf8();
    const QByteArray ca = s.pem(QStringLiteral("MTLSRootCA"));
    const QByteArray cert = s.pem(QStringLiteral("MTLSClientCert"));
    const QByteArray key = s.pem(QStringLiteral("MTLSClientKey"));
    if (!s.ok())
        return s.result();
    const QUrl url(m_baseUrl, QUrl::StrictMode);
    if (!url.isValid()
        || (url.scheme() != QStringLiteral("http") && url.scheme() != QStringLiteral("https"))) {
        s.fail(QStringLiteral("url"),
               QStringLiteral("metadata 'url' must be an http:// or https:// URL, not '%1'")
                   .arg(m_baseUrl));
        return s.result();
    }
    if (!m_token.isEmpty() && m_tokenHeader.isEmpty()) {
        s.fail(QStringLiteral("securityTokenHeader"),
               QStringLiteral("metadata 'securityTokenHeader' is required with 'securityToken'"),
               ErrorCode::MissingMetadata);
        return s.result();
    }
    common::RestClientOptions o;
    o.name = QStringLiteral("http-") + spec.name;
    o.userAgent = QByteArrayLiteral("Go-http-client/1.1");
    o.retry.maxAttempts = 1; // Go's client does not retry a request either
    // Up to 64 requests to one host run at once, each on a kept-alive connection; more wait
    // for one to be free (daprd's Go transport opens any number and keeps 2 idle).
    o.maxHostConnections = 64;
    o.maxIdleConnections = 64;
    o.freeHandles = 64;
    o.maxResponseBytes = m_maxBody > 0 ? m_maxBody : LLONG_MAX;
    o.tls.ca = {ca, {}, QStringLiteral("MTLSRootCA")};
    // daprd uses a client certificate only when both halves are given.
    if (!cert.isEmpty() && !key.isEmpty()) {
        o.tls.clientCert = {cert, {}, QStringLiteral("MTLSClientCert")};
        o.tls.clientKey = {key, {}, QStringLiteral("MTLSClientKey")};
    }
    // Plain http can take the lean path on the caller's thread.
    // A host name other than localhost could make the lean client's lookup block the caller's
    // thread (the API thread); libcurl resolves on a thread of its own.
    m_lean = url.scheme() == QStringLiteral("http")
             && (url.host() == QStringLiteral("localhost") || !QHostAddress(url.host()).isNull());
    Result<std::unique_ptr<RestClient>> client = RestClient::create(std::move(o));
    if (!client)
        return tl::unexpected(client.error());
    std::lock_guard lock(m_mutex);
    m_client = std::move(*client);
    return {};
}

QStringList HttpBinding::operations() const
{
    return {QStringLiteral("create"), QStringLiteral("get"),     QStringLiteral("head"),
            QStringLiteral("post"),   QStringLiteral("put"),     QStringLiteral("patch"),
            QStringLiteral("delete"), QStringLiteral("options"), QStringLiteral("trace")};
}

void HttpBinding::invoke(core::InvokeRequest request, core::InvokeDone done)
{
    std::shared_ptr<RestClient> client;
    {
        std::lock_guard lock(m_mutex);
        client = m_client;
    }
    if (!client) {
        done({fail(ErrorCode::Closed, QStringLiteral("the http binding is closed")), {}});
        return;
    }
    QByteArray method = request.operation.toUpper().toLatin1();
    if (method == "CREATE")
        method = "POST";
    const bool withBody = method == "POST" || method == "PUT" || method == "PATCH";
    QString target = m_baseUrl;
    const QString path = request.metadata.value(QStringLiteral("path"));
    if (!path.isEmpty()) {
        while (target.endsWith(u'/'))
            target.chop(1);
        QStringView rest(path);
        while (rest.startsWith(u'/'))
            rest = rest.mid(1);
        target += u'/' + rest;
    }

    RestRequest rq;
    rq.method = method;
    rq.url = QUrl(target).toEncoded();
    rq.timeout = m_timeout;
    rq.connectTimeout = std::min(m_timeout, std::chrono::milliseconds(15000)); // Go's dialer
    // The headers daprd's http binding and Go's client send, and nothing else (issue 9.13).
    common::HttpHeaders &headers = rq.headers;
    if (withBody) {
        rq.body = std::move(request.data);
        headers.append({QByteArrayLiteral("Content-Type"),
                        QByteArrayLiteral("application/json; charset=utf-8")});
    }
    headers.append(
        {QByteArrayLiteral("Accept"), QByteArrayLiteral("application/json; charset=utf-8")});
    if (!m_token.isEmpty())
        setHeader(headers, m_tokenHeader, m_token);
    // Any request metadata key starting with an upper-case ASCII letter is a header.
    for (auto it = request.metadata.cbegin(); it != request.metadata.cend(); ++it) {
        const QString &k = it.key();
        if (!k.isEmpty() && k[0] >= u'A' && k[0] <= u'Z')
            setHeader(headers, k.toUtf8(), it.value().toUtf8());
    }
    for (const char *k : {"traceparent", "tracestate", "baggage"}) {
        const QString v = request.metadata.value(QString::fromLatin1(k));
        if (!v.isEmpty())
            setHeader(headers, k, v.toUtf8());
    }
    // Go's transport asks for gzip itself (not for HEAD, a Range or a caller's own
    // Accept-Encoding) and then decodes the answer transparently.
    bool askedGzip = method != "HEAD";
    for (const auto &[k, v] : std::as_const(headers)) {
        if (sameName(k, "Accept-Encoding") || sameName(k, "Range"))
            askedGzip = false;
    }
    if (askedGzip)
        headers.append({QByteArrayLiteral("Accept-Encoding"), QByteArrayLiteral("gzip")});

    bool errorIfNot2xx = m_errorIfNot2xx;
    if (const QString v = request.metadata.value(QStringLiteral("errorIfNot2XX")); !v.isEmpty())
        errorIfNot2xx = core::parseDaprBool(v);
    const qint64 maxBody = m_maxBody;
    const QByteArray url = rq.url;
    if (m_lean && LeanHttp::usable()) {
        // Plain http on a thread with an event loop (the API thread): no thread hop.
        const QUrl u(QString::fromUtf8(url));
        QByteArray requestTarget
            = u.toEncoded(QUrl::RemoveScheme | QUrl::RemoveAuthority | QUrl::RemoveFragment);
        if (requestTarget.isEmpty())
            requestTarget = "/";
        QByteArray head;
        head.reserve(256);
        head += method + ' ' + requestTarget + " HTTP/1.1\r\nHost: " + u.host().toUtf8();
        if (u.port() >= 0)
            head += ':' + QByteArray::number(u.port());
        head += "\r\n";
        bool userAgent = false;
        for (const auto &[k, v] : std::as_const(headers))
            userAgent |= sameName(k, "User-Agent");
        if (!userAgent)
            head += "User-Agent: Go-http-client/1.1\r\n";
        if (withBody)
            head += "Content-Length: " + QByteArray::number(rq.body.size()) + "\r\n";
        for (const auto &[k, v] : std::as_const(headers)) {
            if (sameName(k, "Host") || sameName(k, "Content-Length"))
                continue; // Go's client takes neither from the header map
            head += k + ": " + v + "\r\n";
        }
        head += "\r\n";
        LeanHttp::send(u.host().toUtf8(), static_cast<quint16>(u.port(80)), std::move(head),
                       std::move(rq.body), method == "HEAD",
                       static_cast<int>(qMin<qint64>(m_timeout.count(), INT_MAX)), maxBody,
                       [done = std::move(done), errorIfNot2xx, askedGzip, maxBody, method,
                        url](LeanResponse r) {
                           if (!r.error.isEmpty()) {
                               RestResponse failed;
                               failed.errorKind = r.tooLarge   ? TransportError::BodyTooLarge
                                                  : r.timedOut ? TransportError::Timeout
                                                               : TransportError::Network;
                               failed.error = r.error;
                               complete(done, std::move(failed), errorIfNot2xx, askedGzip, maxBody,
                                        method, url);
                               return;
                           }
                           RestResponse ok;
                           ok.status = r.status;
                           ok.reason = std::move(r.reason);
                           ok.headers = std::move(r.headers);
                           ok.body = std::move(r.body);
                           complete(done, std::move(ok), errorIfNot2xx, askedGzip, maxBody, method,
                                    url);
                       });
        return;
    }
    client->send(std::move(rq), [done = std::move(done), errorIfNot2xx, askedGzip, maxBody, method,
                                 url](RestResponse r) {
        complete(done, std::move(r), errorIfNot2xx, askedGzip, maxBody, method, url);
    });
}

void HttpBinding::close()
{
    std::shared_ptr<RestClient> client;
    {
        std::lock_guard lock(m_mutex);
        client = std::move(m_client);
    }
    // Destroying the client completes every call in flight with "client closed".
}

} // namespace bindery::bindings::http

BINDERY_BINDING(http, void, bindery::bindings::http::HttpBinding)
