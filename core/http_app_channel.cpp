// SPDX-License-Identifier: Apache-2.0
#include "core/http_app_channel.h"

#include <cstring>

#include <curl/curl.h>

#include <QElapsedTimer>
#include <QHash>

namespace bindery::core {

namespace {

struct CurlGlobal
{
    CurlGlobal() { curl_global_init(CURL_GLOBAL_DEFAULT); }
};

size_t writeBody(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    static_cast<QByteArray *>(userdata)->append(ptr, static_cast<qsizetype>(size * nmemb));
    return size * nmemb;
}

bool isHopByHop(const QByteArray &k)
{
    static const QList<QByteArray> hop
        = {"connection", "keep-alive", "proxy-connection",   "transfer-encoding",   "upgrade",
           "te",         "trailer",    "proxy-authenticate", "proxy-authorization", "host"};
    return hop.contains(k);
}

bool validHeaderValue(const QByteArray &v)
{
    for (char c : v) {
        const auto u = static_cast<unsigned char>(c);
        if ((u < 0x20 && u != '\t') || u == 0x7f)
            return false;
    }
    return true;
}

bool validHeaderKey(const QByteArray &k)
{
    if (k.isEmpty())
        return false;
    static const QByteArray specials = "!#$%&'*+-.^_`|~";
    for (char c : k) {
        if (!(std::isalnum(static_cast<unsigned char>(c)) || specials.contains(c)))
            return false;
    }
    return true;
}

} // namespace

HttpAppChannel::HttpAppChannel(QString address, int port, QByteArray appApiToken)
    : m_address(std::move(address))
    , m_port(port)
    , m_token(std::move(appApiToken))
{
    static CurlGlobal global;
    QString host = m_address;
    if (host.contains(u':') && !host.startsWith(u'['))
        host = u'[' + host + u']';
    m_baseUrl = QStringLiteral("http://") + host + u':' + QString::number(m_port);
    m_hostHeader = (host + u':' + QString::number(m_port)).toUtf8();
}

HttpAppChannel::~HttpAppChannel()
{
    for (HttpConnection *c : m_pool)
        delete c;
}

HttpConnection *HttpAppChannel::acquire()
{
    {
        std::lock_guard lock(m_mutex);
        if (!m_pool.empty()) {
            HttpConnection *c = m_pool.back();
            m_pool.pop_back();
            return c;
        }
    }
    return new HttpConnection(m_address.toUtf8(), static_cast<quint16>(m_port));
}

void HttpAppChannel::release(HttpConnection *connection)
{
    std::lock_guard lock(m_mutex);
    m_pool.push_back(connection);
}

AppReply HttpAppChannel::post(const QString &route, const QByteArray &body, const Headers &metadata,
                              int timeoutMs, Headers *responseHeaders, std::stop_token cancel)
{
    AppReply reply;
    // Each reader thread delivers to one route: remember its path instead of re-cleaning it.
    thread_local QString cachedRoute;
    thread_local QByteArray cachedPath;
    if (cachedRoute != route || cachedPath.isEmpty()) {
        cachedRoute = route;
        cachedPath = cleanRoute(route).toUtf8();
    }
    QByteArray head;
    head.reserve(512);
    head += "POST ";
    head += cachedPath;
    head += " HTTP/1.1\r\nHost: ";
    head += m_hostHeader;
    head += "\r\nUser-Agent: Go-http-client/1.1\r\nContent-Length: ";
    head += QByteArray::number(body.size());
    head += "\r\nContent-Type: application/json\r\n";
    if (!m_token.isEmpty())
        head += "Dapr-Api-Token: " + m_token + "\r\n";
    // daprd's InternalMetadataToHTTPHeader: lower-case keys, drop a few, rename grpc-*.
    // A reader thread sends the same few keys with every event: their header form is cached.
    struct KeyForm
    {
        QByteArray header; ///< "Canonical-Key: ", or empty when the key is dropped
        bool valid = true;
    };
    thread_local QHash<QString, KeyForm> keyForms;
    for (const auto &[k, v] : metadata) {
        auto form = keyForms.constFind(k);
        if (form == keyForms.cend()) {
            if (keyForms.size() > 256)
                keyForms.clear(); // keys vary (record headers): keep the cache small
            KeyForm f;
            QByteArray key = k.toLower().toUtf8();
            if (!(key.endsWith("-bin") || key == "content-type" || key == "content-length"
                  || isHopByHop(key))) {
                if (key.startsWith("grpc-"))
                    key = "dapr-" + key.mid(5);
                else if (key.startsWith(':'))
                    key = "dapr-" + key.mid(1);
                f.valid = validHeaderKey(key);
                f.header = canonicalHeaderKey(key) + ": ";
            }
            form = keyForms.insert(k, f);
        }
        if (form->valid && form->header.isEmpty())
            continue;
        const QByteArray value = v.toUtf8();
        if (!form->valid || !validHeaderValue(value)) {
            reply.error
                = QStringLiteral("error invoking app: metadata '%1' is not a valid HTTP header "
                                 "(key or value has characters HTTP forbids)")
                      .arg(k);
            return reply;
        }
        head += form->header;
        head += value;
        head += "\r\n";
    }
    // Last, as Go's transport adds it (issue 9.14); a gzip answer is decoded below.
    head += "Accept-Encoding: gzip\r\n\r\n";

    HttpConnection *connection = acquire();
    HttpResponse response;
    QString transportError;
    const bool ok
        = connection->request(head, body, timeoutMs, &response, &transportError, std::move(cancel));
    release(connection);
    if (!ok) {
        reply.error = QStringLiteral("error invoking app: Post \"%1%2\": %3")
                          .arg(m_baseUrl, QString::fromUtf8(cachedPath), transportError);
        return reply;
    }
    reply.status = response.status;
    // Go's transport decodes the gzip answer it asked for and drops Content-Encoding and
    // Content-Length; daprd then sees the plain body.
    const bool gzipped = isGzipEncoded(response.headers);
    if (gzipped) {
        QString why;
        if (!gunzip(response.body, &reply.body, &why)) {
            reply.error = QStringLiteral("error invoking app: reading the answer of Post "
                                         "\"%1%2\": %3")
                              .arg(m_baseUrl, QString::fromUtf8(cachedPath), why);
            return reply;
        }
    } else {
        reply.body = std::move(response.body);
    }
    if (responseHeaders) {
        responseHeaders->clear();
        responseHeaders->reserve(response.headers.size());
        for (const auto &[k, v] : response.headers) {
            if (gzipped
                && (k.compare("Content-Encoding", Qt::CaseInsensitive) == 0
                    || k.compare("Content-Length", Qt::CaseInsensitive) == 0))
                continue;
            responseHeaders->append({QString::fromLatin1(k), QString::fromUtf8(v)});
        }
    }
    if (reply.status < 200 || reply.status > 299) {
        reply.error
            = QStringLiteral(
                  "fails to send binding event to http app channel, status code: %1 body: %2")
                  .arg(reply.status)
                  .arg(QString::fromUtf8(reply.body.left(512)));
    }
    return reply;
}

ProbeResult HttpAppChannel::curlProbe(const char *method, const QString &path, bool withToken,
                                      int timeoutMs)
{
    ProbeResult result;
    const QByteArray url = (m_baseUrl + path).toUtf8();
    // Go's client sends these; "Accept:" keeps libcurl's own "Accept: */*" off (issue 9.14).
    curl_slist *headers = nullptr;
    if (std::strcmp(method, "OPTIONS") == 0)
        headers = curl_slist_append(headers, "Content-Type: application/json");
    headers = curl_slist_append(headers, "User-Agent: Go-http-client/1.1");
    headers = curl_slist_append(headers, "Accept:");
    if (withToken && !m_token.isEmpty())
        headers = curl_slist_append(headers, QByteArray("dapr-api-token: " + m_token).constData());
    headers = curl_slist_append(headers, "Accept-Encoding: gzip");
    QByteArray body; // read and ignored, as daprd drains it
    // Probes are rare: a handle of their own keeps the pooled connections untouched.
    CURL *curl = curl_easy_init();
    curl_easy_setopt(curl, CURLOPT_URL, url.constData());
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_PROXY, "");
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(timeoutMs));
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, writeBody);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
    QElapsedTimer timer;
    timer.start();
    const CURLcode rc = curl_easy_perform(curl);
    result.latencyUs = timer.nsecsElapsed() / 1000;
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    if (rc != CURLE_OK)
        result.error = QString::fromUtf8(curl_easy_strerror(rc));
    else
        result.status = static_cast<int>(status);
    return result;
}

ProbeResult HttpAppChannel::options(const QString &route, int timeoutMs)
{
    const QString path = cleanRoute(route);
    ProbeResult result = curlProbe("OPTIONS", path, true, timeoutMs);
    result.method = QStringLiteral("OPTIONS");
    if (!result.error.isEmpty()) {
        result.error = QStringLiteral("could not invoke OPTIONS method on input binding "
                                      "subscription endpoint \"%1\": %2")
                           .arg(path, result.error);
        return result;
    }
    result.accepted = (result.status >= 200 && result.status < 300) || result.status == 405;
    result.summary = QStringLiteral("OPTIONS %1 answered %2").arg(path).arg(result.status);
    return result;
}

ProbeResult HttpAppChannel::healthProbe(const QString &path, int timeoutMs)
{
    // daprd's HealthProbe: GET <base><path>, no token; a network error is a failed probe.
    ProbeResult result = curlProbe("GET", path, false, timeoutMs);
    if (!result.error.isEmpty())
        result.error
            = QStringLiteral("Network error: Get \"%1%2\": %3").arg(m_baseUrl, path, result.error);
    else if (result.status < 200 || result.status > 299)
        result.error
            = QStringLiteral("Health check failed with status code: %1").arg(result.status);
    result.method = QStringLiteral("GET");
    result.accepted = result.error.isEmpty();
    return result;
}

AppReply HttpAppChannel::deliver(const QString &bindingName, const QString &route,
                                 const BindingEvent &event, int timeoutMs, Headers *responseHeaders)
{
    Q_UNUSED(bindingName); // HTTP delivers by route
    return post(route, event.data, event.metadata, timeoutMs, responseHeaders, event.cancel);
}

ProbeResult HttpAppChannel::probe(const QString &bindingName, const QString &route, int timeoutMs)
{
    Q_UNUSED(bindingName); // the HTTP probe is by route
    return options(route, timeoutMs);
}

} // namespace bindery::core
