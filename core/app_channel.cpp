// SPDX-License-Identifier: Apache-2.0
#include "core/app_channel.h"

#include <curl/curl.h>

#include <QElapsedTimer>
#include <QTcpSocket>

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

size_t writeHeader(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    auto *headers = static_cast<Headers *>(userdata);
    const QByteArray line = QByteArray(ptr, static_cast<qsizetype>(size * nmemb)).trimmed();
    if (line.startsWith("HTTP/"))
        headers->clear(); // a new response (e.g. after 100 Continue)
    const qsizetype colon = line.indexOf(':');
    if (colon > 0)
        headers->append({QString::fromLatin1(line.left(colon).trimmed()),
                         QString::fromUtf8(line.mid(colon + 1).trimmed())});
    return size * nmemb;
}

bool isHopByHop(const QByteArray &k)
{
    static const QList<QByteArray> hop = {"connection", "keep-alive", "proxy-connection",
                                          "transfer-encoding", "upgrade", "te", "trailer",
                                          "proxy-authenticate", "proxy-authorization", "host"};
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

AppChannel::AppChannel(QString address, int port, QByteArray appApiToken)
    : m_address(std::move(address))
    , m_port(port)
    , m_token(std::move(appApiToken))
{
    static CurlGlobal global;
    QString host = m_address;
    if (host.contains(u':') && !host.startsWith(u'['))
        host = u'[' + host + u']';
    m_baseUrl = QStringLiteral("http://") + host + u':' + QString::number(m_port);
}

AppChannel::~AppChannel()
{
    for (void *h : m_pool)
        curl_easy_cleanup(static_cast<CURL *>(h));
}

void *AppChannel::acquire()
{
    {
        std::lock_guard lock(m_mutex);
        if (!m_pool.empty()) {
            void *h = m_pool.back();
            m_pool.pop_back();
            return h;
        }
    }
    // Options that never change are set once per handle; post() sets only the per-call ones
    // (no curl_easy_reset, which would also drop the cached proxy and DNS decisions).
    CURL *curl = curl_easy_init();
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_PROXY, ""); // the app is local: never consult *_proxy env vars
    curl_easy_setopt(curl, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 3000L);
    curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, "gzip");
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, writeBody);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, writeHeader);
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    return curl;
}

void AppChannel::release(void *handle)
{
    std::lock_guard lock(m_mutex);
    m_pool.push_back(handle);
}

QString AppChannel::cleanRoute(const QString &route)
{
    QStringList out;
    for (const QString &seg : route.split(u'/', Qt::SkipEmptyParts)) {
        if (seg == QStringLiteral("."))
            continue;
        if (seg == QStringLiteral("..")) {
            if (!out.isEmpty())
                out.removeLast();
            continue;
        }
        out << seg;
    }
    return u'/' + out.join(u'/');
}

QByteArray AppChannel::canonicalHeaderKey(const QByteArray &key)
{
    QByteArray out = key;
    bool upper = true;
    for (char &c : out) {
        if (upper && c >= 'a' && c <= 'z')
            c = static_cast<char>(c - 'a' + 'A');
        else if (!upper && c >= 'A' && c <= 'Z')
            c = static_cast<char>(c - 'A' + 'a');
        upper = c == '-';
    }
    return out;
}

AppReply AppChannel::post(const QString &route, const QByteArray &body, const Headers &metadata,
                          int timeoutMs, Headers *responseHeaders)
{
    AppReply reply;
    // Each reader thread delivers to one route: remember its URL instead of re-cleaning it.
    thread_local QString cachedBase;
    thread_local QString cachedRoute;
    thread_local QByteArray cachedUrl;
    if (cachedBase != m_baseUrl || cachedRoute != route) {
        cachedBase = m_baseUrl;
        cachedRoute = route;
        cachedUrl = (m_baseUrl + cleanRoute(route)).toUtf8();
    }
    const QByteArray url = cachedUrl;
    curl_slist *headers = nullptr;
    headers = curl_slist_append(headers, "Content-Type: application/json");
    headers = curl_slist_append(headers, "Expect:");
    headers = curl_slist_append(headers, "User-Agent: Go-http-client/1.1");
    if (!m_token.isEmpty())
        headers = curl_slist_append(headers, QByteArray("dapr-api-token: " + m_token).constData());
    // daprd's InternalMetadataToHTTPHeader: lower-case keys, drop a few, rename grpc-*.
    for (const auto &[k, v] : metadata) {
        QByteArray key = k.toLower().toUtf8();
        if (key.endsWith("-bin") || key == "content-type" || key == "content-length" || isHopByHop(key))
            continue;
        if (key.startsWith("grpc-"))
            key = "dapr-" + key.mid(5);
        else if (key.startsWith(':'))
            key = "dapr-" + key.mid(1);
        const QByteArray value = v.toUtf8();
        if (!validHeaderKey(key) || !validHeaderValue(value)) {
            curl_slist_free_all(headers);
            reply.error = QStringLiteral("error invoking app: metadata '%1' is not a valid HTTP header "
                                         "(key or value has characters HTTP forbids)")
                              .arg(k);
            return reply;
        }
        headers = curl_slist_append(headers, QByteArray(canonicalHeaderKey(key) + ": " + value).constData());
    }
    CURL *curl = static_cast<CURL *>(acquire());
    curl_easy_setopt(curl, CURLOPT_URL, url.constData());
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.constData());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(timeoutMs));
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &reply.body);
    Headers received;
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &received);
    const CURLcode rc = curl_easy_perform(curl);
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(headers);
    release(curl);
    if (rc != CURLE_OK) {
        reply.error = QStringLiteral("error invoking app: Post \"%1\": %2")
                          .arg(QString::fromUtf8(url), QString::fromUtf8(curl_easy_strerror(rc)));
        return reply;
    }
    reply.status = static_cast<int>(status);
    if (responseHeaders)
        *responseHeaders = received;
    if (reply.status < 200 || reply.status > 299) {
        reply.error = QStringLiteral("fails to send binding event to http app channel, status code: %1 body: %2")
                          .arg(reply.status)
                          .arg(QString::fromUtf8(reply.body.left(512)));
    }
    return reply;
}

ProbeResult AppChannel::options(const QString &route, int timeoutMs)
{
    ProbeResult result;
    const QString path = cleanRoute(route);
    const QByteArray url = (m_baseUrl + path).toUtf8();
    curl_slist *headers = nullptr;
    headers = curl_slist_append(headers, "Content-Type: application/json");
    headers = curl_slist_append(headers, "User-Agent: Go-http-client/1.1");
    if (!m_token.isEmpty())
        headers = curl_slist_append(headers, QByteArray("dapr-api-token: " + m_token).constData());
    QByteArray body;
    // Probes are rare: a handle of their own keeps the pooled POST handles untouched.
    CURL *curl = curl_easy_init();
    curl_easy_setopt(curl, CURLOPT_URL, url.constData());
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_PROXY, "");
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, "OPTIONS");
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
    if (rc != CURLE_OK) {
        result.error = QStringLiteral("could not invoke OPTIONS method on input binding subscription "
                                      "endpoint \"%1\": %2")
                           .arg(path, QString::fromUtf8(curl_easy_strerror(rc)));
        return result;
    }
    result.status = static_cast<int>(status);
    return result;
}

bool AppChannel::portOpen(int timeoutMs) const
{
    QTcpSocket socket;
    socket.connectToHost(m_address, static_cast<quint16>(m_port));
    const bool ok = socket.waitForConnected(timeoutMs);
    socket.abort();
    return ok;
}

} // namespace bindery::core
