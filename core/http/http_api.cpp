// SPDX-License-Identifier: Apache-2.0
#include "core/http/http_api.h"

#include <memory>

#include <nlohmann/json.hpp>

#include <QHostAddress>
#include <QHttpServerRequest>
#include <QHttpServerResponder>
#include <QLoggingCategory>
#include <QPointer>
#include <QTcpServer>
#include <QTcpSocket>
#include <QThread>
#include <QUrlQuery>

#include "core/api/binding_service.h"
#include "core/api/dapr_errors.h"
#include "core/app_channel.h"
#include "core/go_json.h"

namespace bindery::core {

namespace {

using HeaderPairs = QList<QPair<QByteArray, QByteArray>>;

const QByteArray JSON = "application/json";

// Go's url.QueryUnescape: '+' is a space and a malformed escape is an error.
bool queryUnescape(const QByteArray &in, QString *out)
{
    QByteArray bytes;
    for (qsizetype i = 0; i < in.size(); ++i) {
        const char c = in[i];
        if (c == '%') {
            if (i + 2 >= in.size() || !std::isxdigit(static_cast<unsigned char>(in[i + 1]))
                || !std::isxdigit(static_cast<unsigned char>(in[i + 2])))
                return false;
            bytes += static_cast<char>(QByteArray::fromHex(in.mid(i + 1, 2)).at(0));
            i += 2;
        } else if (c == '+') {
            bytes += ' ';
        } else {
            bytes += c;
        }
    }
    *out = QString::fromUtf8(bytes);
    return true;
}

// W3C baggage: comma-separated `key=value(;property)*` members (reference §1.3).
bool validBaggage(const QByteArray &header)
{
    static const QByteArray tokenChars = "!#$%&'*+-.^_`|~";
    auto isToken = [&](const QByteArray &t) {
        if (t.isEmpty())
            return false;
        for (char c : t) {
            if (!(std::isalnum(static_cast<unsigned char>(c)) || tokenChars.contains(c)))
                return false;
        }
        return true;
    };
    for (const QByteArray &member : header.split(',')) {
        const QByteArray m = member.trimmed();
        const qsizetype eq = m.indexOf('=');
        if (eq <= 0)
            return false;
        if (!isToken(m.left(eq).trimmed()))
            return false;
        const QByteArray value = m.mid(eq + 1).split(';').first().trimmed();
        for (char c : value) {
            const auto u = static_cast<unsigned char>(c);
            if (u <= 0x20 || u >= 0x7f || c == '"' || c == ',' || c == ';' || c == '\\')
                return false;
        }
    }
    return true;
}

bool validTraceparent(const QByteArray &v)
{
    const QList<QByteArray> parts = v.trimmed().split('-');
    if (parts.size() < 4 || parts[0].size() != 2 || parts[1].size() != 32 || parts[2].size() != 16
        || parts[3].size() != 2)
        return false;
    for (const QByteArray &p : parts.mid(0, 4)) {
        for (char c : p) {
            if (!std::isxdigit(static_cast<unsigned char>(c))
                || std::isupper(static_cast<unsigned char>(c)))
                return false;
        }
    }
    return parts[1] != QByteArray(32, '0') && parts[2] != QByteArray(16, '0');
}

} // namespace

void writeResponse(QHttpServerResponder &responder, int status, const QByteArray &body,
                   const HeaderPairs &headers)
{
    responder.writeStatusLine(static_cast<QHttpServerResponder::StatusCode>(status));
    for (const auto &[k, v] : headers)
        responder.writeHeader(k, v);
    responder.writeHeader("Content-Length", QByteArray::number(body.size()));
    responder.writeBody(body);
}

HttpApi::HttpApi(api::BindingService &service, const RuntimeOptions &options)
    : m_service(service)
    , m_options(options)
{
}

HttpApi::~HttpApi() = default;

Result<quint16> HttpApi::listen(const QStringList &addresses, quint16 port)
{
    quint16 bound = port;
    for (const QString &address : addresses) {
        QHostAddress host;
        if (address == QStringLiteral("localhost"))
            host = QHostAddress::LocalHost;
        else if (!host.setAddress(address))
            return fail(
                ErrorCode::InvalidMetadata,
                QStringLiteral("--dapr-listen-addresses: '%1' is not an IP address").arg(address));
        auto *server = new QTcpServer(this);
        if (!server->listen(host, bound)) {
            const QString why = server->errorString();
            delete server;
            return fail(ErrorCode::Io, QStringLiteral("cannot listen on %1:%2 for the HTTP API: %3")
                                           .arg(address, QString::number(bound), why));
        }
        bound = server->serverPort();
        bind(server);
    }
    return bound;
}

void HttpApi::close()
{
    for (QTcpServer *s : servers())
        s->close();
}

bool HttpApi::handleRequest(const QHttpServerRequest &request, QTcpSocket *socket)
{
    QByteArray path = request.url().path(QUrl::FullyEncoded).toUtf8();
    while (path.size() > 1 && path.endsWith('/'))
        path.chop(1); // chi's StripSlashes
    const auto method = request.method();

    const bool health = path == "/v1.0/healthz" || path == "/v1.0/healthz/outbound";
    const QByteArray token = m_options.apiToken;
    if (!token.isEmpty() && !(health && method == QHttpServerRequest::Method::Get)) {
        if (request.value("dapr-api-token") != token) {
            QHttpServerResponder responder = makeResponder(request, socket);
            writeResponse(responder, 401, "invalid api token",
                          {{"Content-Type", "text/plain; charset=utf-8"}});
            return true;
        }
    }
    if (health && method == QHttpServerRequest::Method::Get) {
        handleHealth(request, socket, path.endsWith("/outbound"));
        return true;
    }
    // A deeper path (/v1.0/bindings/a/b) matches no route: daprd's invoke fallback answers it.
    if (path.startsWith("/v1.0/bindings/") && !path.mid(15).contains('/')) {
        const QByteArray raw = path.mid(15);
        QString name;
        if (!queryUnescape(raw, &name)) {
            QHttpServerResponder responder = makeResponder(request, socket);
            writeResponse(responder, 400, "invalid binding name: " + raw,
                          {{"Content-Type", "text/plain; charset=utf-8"}});
            return true;
        }
        if (method == QHttpServerRequest::Method::Post || method == QHttpServerRequest::Method::Put
            || method == QHttpServerRequest::Method::Get
            || method == QHttpServerRequest::Method::Delete) {
            handleBinding(request, socket, name);
            return true;
        }
    }
    if (path == "/v1.0/metadata" && method == QHttpServerRequest::Method::Get) {
        handleMetadata(request, socket, {});
        return true;
    }
    if (path.startsWith("/v1.0/metadata/") && method == QHttpServerRequest::Method::Put) {
        QString key;
        queryUnescape(path.mid(15), &key);
        handleMetadata(request, socket, key);
        return true;
    }
    return false;
}

void HttpApi::missingHandler(const QHttpServerRequest &request, QTcpSocket *socket)
{
    // daprd routes unknown paths to service invocation, which needs an app id (reference §1.1).
    QHttpServerResponder responder = makeResponder(request, socket);
    const api::DaprFailure f{
        api::DaprError::DirectInvokeNoAppId,
        QStringLiteral("failed getting app id either from the URL path or the header dapr-app-id")};
    writeResponse(responder, f.info().httpStatus, f.jsonBody(), {{"Content-Type", JSON}});
}

void HttpApi::handleHealth(const QHttpServerRequest &request, QTcpSocket *socket, bool outbound)
{
    QHttpServerResponder responder = makeResponder(request, socket);
    auto answer = [&](const api::DaprFailure &f) {
        writeResponse(responder, f.info().httpStatus, f.jsonBody(), {{"Content-Type", JSON}});
    };
    const QString appId = request.query().queryItemValue(QStringLiteral("appid"));
    if (!appId.isEmpty() && appId != m_options.appId) {
        answer({api::DaprError::HealthAppIdNotMatch, QStringLiteral("dapr app-id does not match")});
        return;
    }
    const api::HealthSnapshot h = m_service.health();
    if (outbound) {
        if (h.outboundReady)
            writeResponse(responder, 204, {}, {});
        else
            answer({api::DaprError::OutboundHealthNotReady,
                    QStringLiteral("dapr outbound is not ready")});
        return;
    }
    if (h.outboundReady && h.appReady) {
        writeResponse(responder, 204, {}, {});
    } else {
        const QString target = h.appReady ? QStringLiteral("runtime") : QStringLiteral("app");
        answer({api::DaprError::HealthNotReady,
                QStringLiteral("dapr is not ready: [%1]").arg(target)});
    }
}

void HttpApi::handleMetadata(const QHttpServerRequest &request, QTcpSocket *socket,
                             const QString &key)
{
    QHttpServerResponder responder = makeResponder(request, socket);
    if (!key.isEmpty()) {
        m_service.setExtendedMetadata(key, QString::fromUtf8(request.body()));
        writeResponse(responder, 204, {}, {});
        return;
    }
    const api::MetadataSnapshot m = m_service.metadata();
    nlohmann::ordered_json j;
    j["id"] = m.id.toStdString();
    j["runtimeVersion"] = m.runtimeVersion.toStdString();
    nlohmann::ordered_json comps = nlohmann::ordered_json::array();
    for (const api::MetadataSnapshot::Component &c : m.components) {
        nlohmann::ordered_json e;
        e["name"] = c.name.toStdString();
        e["type"] = c.type.toStdString();
        e["version"] = c.version.toStdString();
        if (!c.capabilities.isEmpty()) {
            nlohmann::ordered_json caps = nlohmann::ordered_json::array();
            for (const QString &cap : c.capabilities)
                caps.push_back(cap.toStdString());
            e["capabilities"] = caps;
        }
        comps.push_back(e);
    }
    if (!comps.empty())
        j["components"] = comps;
    nlohmann::ordered_json extended = nlohmann::ordered_json::object();
    for (auto it = m.extended.cbegin(); it != m.extended.cend(); ++it)
        extended[it.key().toStdString()] = it.value().toStdString();
    j["extended"] = extended;
    if (m.appPort > 0) {
        nlohmann::ordered_json app;
        app["port"] = m.appPort;
        app["protocol"] = m.appProtocol.toStdString();
        app["channelAddress"] = m.appChannelAddress.toStdString();
        j["appConnectionProperties"] = app;
    }
    j["actorRuntime"]
        = {{"runtimeStatus", m.actorRuntimeStatus.toStdString()}, {"hostReady", false}};
    writeResponse(
        responder, 200,
        QByteArray::fromStdString(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)),
        {{"Content-Type", JSON}});
}

void HttpApi::reject(const QHttpServerRequest &request, QTcpSocket *socket, const QString &name,
                     const QString &operation, const QByteArray &payload,
                     const api::DaprFailure &failure)
{
    QHttpServerResponder responder = makeResponder(request, socket);
    writeResponse(responder, failure.info().httpStatus, failure.jsonBody(),
                  {{"Content-Type", JSON}});
    m_service.recordRejected(name, operation, payload, failure, api::Transport::Http);
}

void HttpApi::handleBinding(const QHttpServerRequest &request, QTcpSocket *socket,
                            const QString &name)
{
    const QByteArray body = request.body();
    auto malformed = [&](const QString &why) {
        reject(request, socket, name, {}, body,
               {api::DaprError::MalformedRequest,
                QStringLiteral("failed deserializing HTTP body: ") + why});
    };
    if (body.size() > m_options.maxBodySize) {
        reject(request, socket, name, {}, {},
               {api::DaprError::BodyTooLarge,
                QStringLiteral(
                    "request body of %1 bytes exceeds the maximum of %2 bytes (--max-body-size)")
                    .arg(body.size())
                    .arg(m_options.maxBodySize)});
        return;
    }

    const auto method = request.method();
    InvokeRequest req;
    nlohmann::json data; // null unless given
    const bool bodyOptional
        = method == QHttpServerRequest::Method::Get || method == QHttpServerRequest::Method::Delete;
    const bool emptyBody = body.trimmed().isEmpty();
    if (!(bodyOptional && emptyBody)) {
        nlohmann::json doc;
        QString why;
        if (!goJsonDecodeFirst(body, &doc, &why)) {
            malformed(why);
            return;
        }
        if (!doc.is_object() && !doc.is_null()) {
            malformed(
                QStringLiteral(
                    "json: cannot unmarshal %1 into Go value of type http.OutputBindingRequest")
                    .arg(goJsonKind(doc)));
            return;
        }
        if (doc.is_object()) {
            if (auto it = doc.find("metadata"); it != doc.end() && !it->is_null()) {
                if (!it->is_object()) {
                    malformed(
                        QStringLiteral("json: cannot unmarshal %1 into Go struct field "
                                       "OutputBindingRequest.metadata of type map[string]string")
                            .arg(goJsonKind(*it)));
                    return;
                }
                for (auto m = it->begin(); m != it->end(); ++m) {
                    if (!m.value().is_string()) {
                        malformed(
                            QStringLiteral(
                                "json: cannot unmarshal %1 into Go struct field "
                                "OutputBindingRequest.metadata of type string (metadata '%2')")
                                .arg(goJsonKind(m.value()), QString::fromStdString(m.key())));
                        return;
                    }
                    req.metadata.insert(QString::fromStdString(m.key()),
                                        QString::fromStdString(m.value().get<std::string>()));
                }
            }
            if (auto it = doc.find("operation"); it != doc.end() && !it->is_null()) {
                if (!it->is_string()) {
                    malformed(QStringLiteral("json: cannot unmarshal %1 into Go struct field "
                                             "OutputBindingRequest.operation of type string")
                                  .arg(goJsonKind(*it)));
                    return;
                }
                req.operation = QString::fromStdString(it->get<std::string>());
            }
            if (auto it = doc.find("data"); it != doc.end())
                data = std::move(*it);
        }
    }
    // Bindery §0.2: metadata.<key>=<value> query parameters on any method.
    const QUrlQuery query = request.query();
    for (const auto &[k, v] : query.queryItems(QUrl::FullyDecoded)) {
        if (k.startsWith(QStringLiteral("metadata.")) && k.size() > 9)
            req.metadata.insert(k.mid(9), v);
    }
    // Trace context and baggage reach the component as metadata (reference §1.3).
    const QByteArray traceparent = request.value("traceparent");
    if (validTraceparent(traceparent)) {
        req.metadata.insert(QStringLiteral("traceparent"),
                            QString::fromLatin1(traceparent.trimmed()));
        const QByteArray tracestate = request.value("tracestate");
        if (!tracestate.isEmpty())
            req.metadata.insert(QStringLiteral("tracestate"), QString::fromLatin1(tracestate));
    }
    QList<QByteArray> baggage;
    for (const auto &[k, v] : request.headers()) {
        if (k.compare("baggage", Qt::CaseInsensitive) == 0)
            baggage << v;
    }
    if (!baggage.isEmpty()) {
        const QByteArray joined = baggage.join(',');
        if (!validBaggage(joined)) {
            reject(request, socket, name, req.operation, body,
                   {api::DaprError::MalformedRequest,
                    QStringLiteral("invalid baggage header: ") + QString::fromLatin1(joined)});
            return;
        }
        req.metadata.insert(QStringLiteral("baggage"), QString::fromLatin1(joined));
    }
    // Bindery §0.1/§0.2: a missing operation means create (get for GET, delete for DELETE).
    if (req.operation.isEmpty()) {
        if (method == QHttpServerRequest::Method::Get)
            req.operation = QStringLiteral("get");
        else if (method == QHttpServerRequest::Method::Delete)
            req.operation = QStringLiteral("delete");
        else
            req.operation = QStringLiteral("create");
    }
    // daprd runs json.Marshal(req.Data): the component always gets JSON bytes (reference §1.2).
    req.data = goJsonMarshal(data);

    auto responder = std::make_shared<QHttpServerResponder>(makeResponder(request, socket));
    QPointer<QTcpSocket> guard(socket);
    QPointer<HttpApi> self(this);
    auto answer = [responder, guard](api::InvokeOutcome outcome) {
        if (!guard)
            return; // the client went away; nothing to answer
        HeaderPairs headers;
        for (const auto &[k, v] : outcome.metadata)
            headers.append({AppChannel::canonicalHeaderKey("metadata." + k.toUtf8()), v.toUtf8()});
        if (outcome.failure) {
            headers.prepend({"Content-Type", JSON});
            writeResponse(*responder, outcome.failure->info().httpStatus,
                          outcome.failure->jsonBody(), headers);
        } else if (!outcome.response.hasData) {
            writeResponse(*responder, 204, {}, headers);
        } else {
            headers.prepend({"Content-Type", JSON});
            writeResponse(*responder, 200, outcome.response.data, headers);
        }
    };
    QThread *home = thread();
    m_service.invoke(name, std::move(req), api::Transport::Http,
                     [self, home, answer = std::move(answer)](api::InvokeOutcome outcome) mutable {
                         if (QThread::currentThread() == home) {
                             answer(std::move(outcome));
                             return;
                         }
                         QMetaObject::invokeMethod(
                             self,
                             [answer = std::move(answer), outcome = std::move(outcome)]() mutable {
                                 answer(std::move(outcome));
                             },
                             Qt::QueuedConnection);
                     });
}

} // namespace bindery::core
