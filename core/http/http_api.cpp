// SPDX-License-Identifier: Apache-2.0
#include "core/http/http_api.h"

#include <algorithm>
#include <cctype>
#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include <QHttpServerResponder>
#include <QLoggingCategory>
#include <QPointer>
#include <QThread>

#include "core/api/binding_service.h"
#include "core/api/dapr_errors.h"
#include "core/app_channel.h"
#include "core/go_json.h"
#include "core/http/completion_mailbox.h"
#include "core/trace_context.h"

Q_LOGGING_CATEGORY(lcApi, "bindery.core.http.api")

namespace bindery::core {

namespace {

using http::HttpRequest;
using http::HttpResponse;

// Header names and values as static data: copies share them, nothing is allocated per request.
const QByteArray JSON = QByteArrayLiteral("application/json");
const QByteArray CONTENT_TYPE = QByteArrayLiteral("Content-Type");
const QByteArray TEXT_PLAIN = QByteArrayLiteral("text/plain; charset=utf-8");
const QByteArray NOSNIFF_HEADER = QByteArrayLiteral("X-Content-Type-Options");
const QByteArray NOSNIFF = QByteArrayLiteral("nosniff");
const QByteArray TRACEPARENT = QByteArrayLiteral("Traceparent");
const QByteArray TRACESTATE = QByteArrayLiteral("Tracestate");
const QByteArray BAGGAGE = QByteArrayLiteral("Baggage");
const QByteArray ZERO_TRACE
    = QByteArrayLiteral("00-00000000000000000000000000000000-0000000000000000-00");

// Go's path.Clean.
std::string cleanPath(std::string_view p)
{
    if (p.empty())
        return ".";
    const bool rooted = p.front() == '/';
    std::string out;
    out.reserve(p.size());
    std::vector<std::size_t> dotdotFloor; // unused levels are tracked by out's content
    std::size_t r = 0;
    std::size_t floor = 0;
    if (rooted) {
        out += '/';
        r = 1;
        floor = 1;
    }
    const std::size_t n = p.size();
    while (r < n) {
        if (p[r] == '/') {
            ++r;
        } else if (p[r] == '.' && (r + 1 == n || p[r + 1] == '/')) {
            ++r;
        } else if (p[r] == '.' && p[r + 1] == '.' && (r + 2 == n || p[r + 2] == '/')) {
            r += 2;
            if (out.size() > floor) {
                std::size_t w = out.size() - 1;
                while (w > floor && out[w] != '/')
                    --w;
                out.resize(w);
            } else if (!rooted) {
                if (!out.empty())
                    out += '/';
                out += "..";
                floor = out.size();
            }
        } else {
            if ((rooted && out.size() != 1) || (!rooted && !out.empty()))
                out += '/';
            for (; r < n && p[r] != '/'; ++r)
                out += p[r];
        }
    }
    if (out.empty())
        return ".";
    return out;
}

/** The request-target as Go's server and chi see it. */
struct Target
{
    std::string decodedPath; ///< r.URL.Path
    std::string routePath;   ///< path.Clean(r.URL.EscapedPath()): what routes match
    std::string_view query;  ///< r.URL.RawQuery
};

bool parseTarget(std::string_view target, Target *t)
{
    // Absolute form (a proxy-style request) carries the path after the authority.
    if (target.size() > 7
        && (target.substr(0, 7) == "http://" || target.substr(0, 8) == "https://")) {
        const std::size_t slash = target.find('/', target.find("//") + 2);
        target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
    }
    const std::size_t q = target.find('?');
    const std::string_view rawPath = target.substr(0, q);
    t->query = q == std::string_view::npos ? std::string_view() : target.substr(q + 1);
    if (rawPath.empty() || (rawPath.front() != '/' && rawPath != "*"))
        return false;
    if (!goUnescape(rawPath, false, &t->decodedPath))
        return false; // Go's ParseRequestURI refuses the request: 400
    t->routePath = cleanPath(rawPath);
    return true;
}

// Go's url.ParseQuery as r.URL.Query() reads it: `fn(key, value)` for each pair, unescaped, in
// order; a pair with a bad escape or a ';' is skipped. `fn` returns false to stop.
template <typename Fn> void forEachQueryPair(std::string_view query, Fn &&fn)
{
    std::string key;
    std::string value;
    while (!query.empty()) {
        const std::size_t amp = query.find('&');
        const std::string_view pair = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
        if (pair.empty() || pair.find(';') != std::string_view::npos)
            continue;
        const std::size_t eq = pair.find('=');
        const std::string_view rawValue
            = eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
        if (!goUnescape(pair.substr(0, eq), true, &key) || !goUnescape(rawValue, true, &value))
            continue;
        if (!fn(key, value))
            return;
    }
}

// The `metadata.<key>` parameters (the first value of a key wins: daprd's
// getMetadataFromRequest takes value[0]).
QMap<QString, QString> queryMetadata(std::string_view query)
{
    QMap<QString, QString> out;
    forEachQueryPair(query, [&](const std::string &key, const std::string &value) {
        if (key.size() > 9 && key.compare(0, 9, "metadata.") == 0) {
            const QString k = QString::fromStdString(key.substr(9));
            if (!out.contains(k))
                out.insert(k, QString::fromStdString(value));
        }
        return true;
    });
    return out;
}

// The query parameter `name` (first value), or empty.
QString queryValue(std::string_view query, std::string_view name)
{
    QString out;
    forEachQueryPair(query, [&](const std::string &key, const std::string &value) {
        if (key != name)
            return true;
        out = QString::fromStdString(value);
        return false;
    });
    return out;
}

QByteArray bytes(std::string_view s)
{
    return QByteArray(s.data(), static_cast<qsizetype>(s.size()));
}

bool startsWith(std::string_view s, std::string_view prefix)
{
    return s.size() >= prefix.size() && s.compare(0, prefix.size(), prefix) == 0;
}

// The path segments after `prefix` ("/v1.0/secrets/" -> {"store", "key"}).
std::vector<std::string_view> segmentsAfter(std::string_view path, std::string_view prefix)
{
    std::vector<std::string_view> out;
    if (!startsWith(path, prefix))
        return out;
    std::string_view rest = path.substr(prefix.size());
    while (!rest.empty()) {
        const std::size_t slash = rest.find('/');
        out.push_back(rest.substr(0, slash));
        if (slash == std::string_view::npos)
            break;
        rest.remove_prefix(slash + 1);
    }
    return out;
}

QString segment(std::string_view raw)
{
    std::string out;
    if (!goUnescape(raw, true, &out)) // chi's parameters go through url.QueryUnescape
        return QString::fromUtf8(raw.data(), static_cast<qsizetype>(raw.size()));
    return QString::fromStdString(out);
}

QByteArray quote(const QString &s)
{
    return goJsonMarshal(nlohmann::json(s.toStdString()));
}

// Go's http.Error: text/plain, nosniff, the message and a newline.
HttpResponse goHttpError(HttpResponse base, int status, const QString &message)
{
    base.status = status;
    base.headers.push_back({CONTENT_TYPE, TEXT_PLAIN});
    base.headers.push_back({NOSNIFF_HEADER, NOSNIFF});
    base.body = message.toUtf8() + '\n';
    return base;
}

HttpResponse daprError(HttpResponse base, const api::DaprFailure &f)
{
    base.status = f.info().httpStatus;
    base.headers.push_back({CONTENT_TYPE, JSON});
    base.body = f.jsonBody();
    return base;
}

// daprd's respondWithJSON: json.NewEncoder(w).Encode(v), so a trailing newline.
HttpResponse goJson(HttpResponse base, QByteArray json)
{
    base.status = 200;
    base.headers.push_back({CONTENT_TYPE, JSON});
    json += '\n';
    base.body = std::move(json);
    return base;
}

template <typename T> bool isHealth(const T &t)
{
    return t.decodedPath.find("/healthz") != std::string::npos; // daprd's isHealthzRequest
}

// daprd's tracing middleware headers for every API answer but health: the caller's valid
// traceparent (and tracestate), else all zeros, and the caller's (valid) baggage.
template <typename T> HttpResponse decoration(const HttpRequest &request, const T &t)
{
    HttpResponse d;
    if (isHealth(t))
        return d;
    const std::optional<std::string_view> tp = request.header("traceparent");
    const std::optional<QByteArray> parent = tp ? trace::parseTraceparent(*tp) : std::nullopt;
    d.headers.reserve(4);
    d.headers.push_back({TRACEPARENT, parent ? *parent : ZERO_TRACE});
    if (parent) {
        if (const auto ts = request.header("tracestate")) {
            const QByteArray state = trace::parseTracestate(*ts);
            if (!state.isEmpty())
                d.headers.push_back({TRACESTATE, state});
        }
    }
    const std::vector<std::string_view> baggage = request.headerValues("baggage");
    if (!baggage.empty()) {
        QByteArray joined;
        for (std::string_view b : baggage) {
            if (!joined.isEmpty())
                joined += ',';
            joined += bytes(b);
        }
        d.headers.push_back({BAGGAGE, joined});
    }
    return d;
}

// An output call's outcome as daprd writes it: metadata.* headers (also on failure), then 500
// with the error, 204 without data, or 200 with the data as application/json.
void answerInvoke(const http::HttpResponder &responder, HttpResponse r, api::InvokeOutcome outcome)
{
    for (const auto &[k, v] : outcome.metadata)
        r.headers.push_back({AppChannel::canonicalHeaderKey("metadata." + k.toUtf8()), v.toUtf8()});
    if (outcome.failure) {
        r = daprError(std::move(r), *outcome.failure);
    } else if (!outcome.response.hasData) {
        r.status = 204;
    } else {
        r.status = 200;
        r.headers.push_back({CONTENT_TYPE, JSON});
        r.body = std::move(outcome.response.data);
    }
    responder.send(std::move(r));
}

template <typename T> bool isBindingRoute(const T &t, QString *name)
{
    const std::vector<std::string_view> s = segmentsAfter(t.routePath, "/v1.0/bindings/");
    if (s.size() != 1 || s[0].empty())
        return false;
    if (name)
        *name = segment(s[0]);
    return true;
}

} // namespace

void writeResponse(QHttpServerResponder &responder, int status, const QByteArray &body,
                   const QList<QPair<QByteArray, QByteArray>> &headers)
{
    responder.writeStatusLine(static_cast<QHttpServerResponder::StatusCode>(status));
    for (const auto &[k, v] : headers)
        responder.writeHeader(k, v);
    if (status != 204 && status != 304 && status >= 200)
        responder.writeHeader("Content-Length", QByteArray::number(body.size()));
    responder.writeBody(body);
}

HttpApi::HttpApi(api::BindingService &service, const RuntimeOptions &options)
    : m_service(service)
    , m_options(options)
    , m_completions(std::make_shared<CompletionMailbox>(this))
{
}

HttpApi::~HttpApi() = default;

http::HttpServer &HttpApi::server()
{
    if (!m_server) {
        // Created here, on the API thread: its socket notifier and timers live there.
        http::HttpServerLimits limits;
        limits.maxBodySize = static_cast<std::uint64_t>(std::max<qint64>(m_options.maxBodySize, 0));
        limits.maxHeaderBytes = static_cast<std::uint32_t>(
            std::clamp<qint64>(m_options.readBufferSize, 0, 1 << 24) + 4096);
        limits.headerTimeoutMs = m_options.httpHeaderTimeoutMs;
        limits.bodyTimeoutMs = m_options.httpBodyTimeoutMs;
        limits.idleTimeoutMs = m_options.httpIdleTimeoutMs;
        limits.maxConnections = m_options.httpMaxConnections;
        m_server
            = std::make_unique<http::HttpServer>(static_cast<http::HttpHandler &>(*this), limits);
    }
    return *m_server;
}

Result<quint16> HttpApi::listen(const QStringList &addresses, quint16 port)
{
    quint16 bound = port;
    for (const QString &address : addresses) {
        const Result<quint16> r = server().listenTcp(address, bound);
        if (!r)
            return r;
        bound = *r;
    }
    return bound;
}

Result<QString> HttpApi::listenUnix(const QString &directory)
{
    const QString path
        = directory + QStringLiteral("/dapr-") + m_options.appId + QStringLiteral("-http.socket");
    if (Result<> r = server().listenUnix(path); !r)
        return tl::unexpected(r.error());
    return path;
}

void HttpApi::close()
{
    if (m_server)
        m_server->close();
}

const HttpApi::ParsedTarget &HttpApi::target(std::string_view raw)
{
    // checkHeader and handle see each target twice, and clients repeat theirs: parse once.
    if (m_target.raw != raw || m_target.raw.empty()) {
        m_target.raw.assign(raw);
        Target t;
        m_target.valid = parseTarget(m_target.raw, &t);
        m_target.decodedPath = std::move(t.decodedPath);
        m_target.routePath = std::move(t.routePath);
        m_target.query = t.query; // a view into m_target.raw
    }
    return m_target;
}

std::optional<HttpResponse> HttpApi::checkHeader(const HttpRequest &request)
{
    // daprd's middleware order: tracing (baggage), API token, then the body (Bindery reads the
    // size from the header, before any byte of the body: issue 14 item 3).
    const ParsedTarget &t = target(request.target());
    if (!t.valid) {
        HttpResponse r;
        r.status = 400;
        r.headers.push_back({CONTENT_TYPE, TEXT_PLAIN});
        r.body = "400 Bad Request";
        r.close = true;
        return r;
    }
    if (!isHealth(t)) {
        const std::vector<std::string_view> baggage = request.headerValues("baggage");
        if (!baggage.empty()) {
            std::string joined;
            for (std::string_view b : baggage) {
                if (!joined.empty())
                    joined += ',';
                joined += b;
            }
            const QString error = trace::baggageError(joined);
            if (!error.isEmpty())
                return goHttpError({}, 400, QStringLiteral("invalid baggage header: ") + error);
        }
    }
    std::string_view exempt = t.decodedPath;
    while (!exempt.empty() && exempt.front() == '/')
        exempt.remove_prefix(1);
    while (!exempt.empty() && exempt.back() == '/')
        exempt.remove_suffix(1);
    const bool tokenFree = request.method() == "GET"
                           && (exempt == "v1.0/healthz" || exempt == "v1.0/healthz/outbound");
    if (!tokenFree) {
        const std::optional<std::string_view> token = request.header("dapr-api-token");
        if (!m_service.tokenAccepted(token ? bytes(*token) : QByteArray()))
            return goHttpError(decoration(request, t), 401, QStringLiteral("invalid api token"));
    }
    const std::optional<std::uint64_t> length = request.contentLength();
    if (length && *length > static_cast<std::uint64_t>(m_options.maxBodySize)) {
        QString name;
        isBindingRoute(t, &name);
        return reject(name, {}, {},
                      {api::DaprError::BodyTooLarge,
                       QStringLiteral("request body of %1 bytes exceeds the maximum of %2 bytes "
                                      "(--max-body-size)")
                           .arg(*length)
                           .arg(m_options.maxBodySize)},
                      decoration(request, t));
    }
    return std::nullopt;
}

HttpResponse HttpApi::bodyTooLarge(const HttpRequest &request, std::uint64_t limit)
{
    const ParsedTarget &t = target(request.target());
    QString name;
    isBindingRoute(t, &name);
    return reject(name, {}, {},
                  {api::DaprError::BodyTooLarge,
                   QStringLiteral("request body exceeds the maximum of %1 bytes (--max-body-size)")
                       .arg(limit)},
                  decoration(request, t));
}

HttpResponse HttpApi::reject(const QString &name, const QString &operation,
                             const QByteArray &payload, const api::DaprFailure &failure,
                             HttpResponse decoration)
{
    if (!name.isEmpty())
        m_service.recordRejected(name, operation, payload, failure, api::Transport::Http);
    return daprError(std::move(decoration), failure);
}

void HttpApi::handle(const HttpRequest &request, http::HttpResponder responder)
{
    const ParsedTarget &t = target(request.target()); // valid: checked in checkHeader
    const std::string_view method = request.method();
    const std::string_view path = t.routePath;
    HttpResponse base = decoration(request, t);
    auto answer = [&](HttpResponse r) { responder.send(std::move(r)); };

    // Health (no trace headers, no token).
    if (method == "GET" && (path == "/v1.0/healthz" || path == "/v1.0/healthz/outbound")) {
        const QString appId = queryValue(t.query, "appid");
        if (!appId.isEmpty() && appId != m_options.appId)
            return answer(daprError(base, {api::DaprError::HealthAppIdNotMatch,
                                           QStringLiteral("dapr app-id does not match")}));
        const api::HealthSnapshot h = m_service.health();
        HttpResponse ok = base;
        ok.status = 204;
        if (path.size() > 13) { // outbound
            if (h.outboundReady)
                return answer(ok);
            return answer(daprError(base, {api::DaprError::OutboundHealthNotReady,
                                           QStringLiteral("dapr outbound is not ready")}));
        }
        if (h.outboundReady && h.appReady)
            return answer(ok);
        return answer(daprError(
            base, {api::DaprError::HealthNotReady,
                   QStringLiteral("dapr is not ready: [%1]")
                       .arg(h.appReady ? QStringLiteral("runtime") : QStringLiteral("app"))}));
    }

    // Bindings (Bindery §0.2: GET and DELETE too).
    QString name;
    if (isBindingRoute(t, &name)
        && (method == "POST" || method == "PUT" || method == "GET" || method == "DELETE"))
        return handleBinding(request, responder, name, t.query, std::move(base));

    // Metadata.
    if (path == "/v1.0/metadata" && method == "GET") {
        const api::MetadataSnapshot m = m_service.metadata();
        // Go's json.Marshal of daprd's metadataResponse: its field order, omitempty.
        QByteArray j = "{\"id\":" + quote(m.id);
        if (!m.runtimeVersion.isEmpty())
            j += ",\"runtimeVersion\":" + quote(m.runtimeVersion);
        if (!m.enabledFeatures.isEmpty()) {
            j += ",\"enabledFeatures\":[";
            for (qsizetype i = 0; i < m.enabledFeatures.size(); ++i)
                j += (i ? "," : "") + quote(m.enabledFeatures[i]);
            j += ']';
        }
        if (!m.components.isEmpty()) {
            j += ",\"components\":[";
            for (qsizetype i = 0; i < m.components.size(); ++i) {
                const api::MetadataSnapshot::Component &c = m.components[i];
                j += (i ? ",{" : "{");
                j += "\"name\":" + quote(c.name) + ",\"type\":" + quote(c.type)
                     + ",\"version\":" + quote(c.version);
                if (!c.capabilities.isEmpty()) {
                    j += ",\"capabilities\":[";
                    for (qsizetype k = 0; k < c.capabilities.size(); ++k)
                        j += (k ? "," : "") + quote(c.capabilities[k]);
                    j += ']';
                }
                j += '}';
            }
            j += ']';
        }
        if (!m.extended.isEmpty()) {
            nlohmann::json ext = nlohmann::json::object();
            for (auto it = m.extended.cbegin(); it != m.extended.cend(); ++it)
                ext[it.key().toStdString()] = it.value().toStdString();
            j += ",\"extended\":" + goJsonMarshal(ext);
        }
        j += ",\"appConnectionProperties\":{";
        QByteArray props;
        if (m.appPort > 0)
            props += "\"port\":" + QByteArray::number(m.appPort);
        if (!m.appProtocol.isEmpty())
            props += (props.isEmpty() ? "" : ",") + QByteArray("\"protocol\":")
                     + quote(m.appProtocol);
        if (!m.appChannelAddress.isEmpty())
            props += (props.isEmpty() ? "" : ",") + QByteArray("\"channelAddress\":")
                     + quote(m.appChannelAddress);
        if (m.appMaxConcurrency > 0)
            props += (props.isEmpty() ? "" : ",") + QByteArray("\"maxConcurrency\":")
                     + QByteArray::number(m.appMaxConcurrency);
        j += props + "}";
        j += ",\"actorRuntime\":{\"runtimeStatus\":" + quote(m.actorRuntimeStatus)
             + ",\"hostReady\":false";
        if (!m.placement.isEmpty())
            j += ",\"placement\":" + quote(m.placement);
        j += "}}";
        return answer(goJson(base, j));
    }
    if (method == "PUT") {
        const std::vector<std::string_view> s = segmentsAfter(path, "/v1.0/metadata/");
        if (s.size() == 1 && !s[0].empty()) {
            m_service.setExtendedMetadata(segment(s[0]), QString::fromStdString(request.body()));
            HttpResponse r = base;
            r.status = 204;
            return answer(r);
        }
    }

    // Secrets.
    if (method == "GET") {
        const std::vector<std::string_view> s = segmentsAfter(path, "/v1.0/secrets/");
        if (s.size() == 2 && !s[0].empty() && !s[1].empty()) {
            const QString store = segment(s[0]);
            const QMap<QString, QString> metadata = queryMetadata(t.query);
            nlohmann::json out = nlohmann::json::object();
            if (s[1] == "bulk") {
                const api::BulkSecretOutcome r = m_service.getBulkSecret(store, metadata);
                if (r.failure)
                    return answer(daprError(base, *r.failure));
                for (auto it = r.data.cbegin(); it != r.data.cend(); ++it) {
                    nlohmann::json values = nlohmann::json::object();
                    for (auto v = it->cbegin(); v != it->cend(); ++v)
                        values[v.key().toStdString()] = v.value().toStdString();
                    out[it.key().toStdString()] = std::move(values);
                }
            } else {
                const api::SecretOutcome r = m_service.getSecret(store, segment(s[1]), metadata);
                if (r.failure)
                    return answer(daprError(base, *r.failure));
                for (auto it = r.data.cbegin(); it != r.data.cend(); ++it)
                    out[it.key().toStdString()] = it.value().toStdString();
            }
            return answer(goJson(base, goJsonMarshal(out)));
        }
    }

    // Building blocks Bindery does not have: daprd's answer for a missing component, with a
    // message that says so (issue 9 item 18, issue 18 item 8).
    if (method == "POST") {
        std::vector<std::string_view> s = segmentsAfter(path, "/v1.0/publish/");
        if (s.empty())
            s = segmentsAfter(path, "/v1.0-alpha1/publish/bulk/");
        if (s.size() >= 2 && !s[0].empty())
            return answer(daprError(base, api::BindingService::pubsubNotFound(segment(s[0]))));
    }
    for (std::string_view prefix : {"/v1.0/state/", "/v1.0-alpha1/state/", "/v1.0-beta1/state/"}) {
        const std::vector<std::string_view> s = segmentsAfter(path, prefix);
        if (!s.empty() && !s[0].empty()
            && (method == "GET" || method == "POST" || method == "PUT" || method == "DELETE"))
            return answer(daprError(base, m_service.stateStoreNotConfigured(segment(s[0]))));
    }
    {
        const std::vector<std::string_view> s = segmentsAfter(path, "/v1.0/invoke/");
        if (s.size() >= 3 && !s[0].empty() && s[1] == "method")
            return answer(
                daprError(base, api::BindingService::serviceInvocationUnavailable(segment(s[0]))));
    }
    // chi's not-found handler is service invocation: it needs an app id.
    if (const auto appId = request.header("dapr-app-id"); appId && !appId->empty())
        return answer(
            daprError(base, api::BindingService::serviceInvocationUnavailable(QString::fromUtf8(
                                appId->data(), static_cast<qsizetype>(appId->size())))));
    answer(daprError(
        base, {api::DaprError::DirectInvokeNoAppId,
               QStringLiteral(
                   "failed getting app id either from the URL path or the header dapr-app-id")}));
}

void HttpApi::handleBinding(const HttpRequest &request, const http::HttpResponder &responder,
                            const QString &name, std::string_view query, HttpResponse base)
{
    const std::string &body = request.body();
    const std::string_view method = request.method();
    InvokeRequest req;
    // daprd runs json.Marshal(req.Data): the component always gets JSON bytes (reference §1.2).
    req.data = QByteArrayLiteral("null");
    const bool bodyOptional = method == "GET" || method == "DELETE";
    const bool emptyBody = std::all_of(body.begin(), body.end(), [](char c) {
        return std::isspace(static_cast<unsigned char>(c)); // stops at the first other byte
    });
    if (!(bodyOptional && emptyBody)) {
        GoBindingRequest decoded;
        QString why;
        if (!goDecodeBindingRequest(body.data(), body.data() + body.size(), &decoded, &why)) {
            responder.send(reject(name, {}, QByteArray::fromStdString(body),
                                  {api::DaprError::MalformedRequest,
                                   QStringLiteral("failed deserializing HTTP body: ") + why},
                                  std::move(base)));
            return;
        }
        req.operation = std::move(decoded.operation);
        req.metadata = std::move(decoded.metadata);
        req.data = std::move(decoded.data);
    }
    // Bindery §0.2: metadata.<key>=<value> query parameters on any method.
    if (!query.empty()) {
        const QMap<QString, QString> fromQuery = queryMetadata(query);
        for (auto it = fromQuery.cbegin(); it != fromQuery.cend(); ++it)
            req.metadata.insert(it.key(), it.value());
    }
    // Trace context and baggage reach the component as metadata (reference §1.3); the
    // baggage was validated with the header.
    if (const auto tp = request.header("traceparent")) {
        if (const std::optional<QByteArray> parent = trace::parseTraceparent(*tp)) {
            req.metadata.insert(QStringLiteral("traceparent"), QString::fromLatin1(*parent));
            if (const auto ts = request.header("tracestate")) {
                const QByteArray state = trace::parseTracestate(*ts);
                if (!state.isEmpty())
                    req.metadata.insert(QStringLiteral("tracestate"), QString::fromLatin1(state));
            }
        }
    }
    for (const auto &[k, v] : base.headers) {
        if (k == BAGGAGE)
            req.metadata.insert(QStringLiteral("baggage"), QString::fromLatin1(v));
    }
    // Bindery §0.1/§0.2: a missing operation means create (get for GET, delete for DELETE).
    if (req.operation.isEmpty()) {
        if (method == "GET")
            req.operation = QStringLiteral("get");
        else if (method == "DELETE")
            req.operation = QStringLiteral("delete");
        else
            req.operation = QStringLiteral("create");
    }

    auto finish = [responder, base = std::move(base)](api::InvokeOutcome outcome) noexcept {
        // Runs from the event loop when the answer comes later: nothing may escape it.
        try {
            answerInvoke(responder, base, std::move(outcome));
        } catch (const std::exception &e) {
            qCCritical(lcApi).noquote() << QStringLiteral("answering an output call failed: %1")
                                               .arg(QString::fromUtf8(e.what()));
        }
    };
    QThread *home = thread();
    m_service.invoke(name, std::move(req), api::Transport::Http,
                     [mailbox = m_completions, home,
                      finish = std::move(finish)](api::InvokeOutcome outcome) mutable {
                         if (QThread::currentThread() == home) {
                             finish(std::move(outcome));
                             return;
                         }
                         mailbox->post(
                             [finish = std::move(finish), outcome = std::move(outcome)]() mutable {
                                 finish(std::move(outcome));
                             });
                     });
}

} // namespace bindery::core
