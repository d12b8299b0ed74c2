// SPDX-License-Identifier: Apache-2.0
#include "core/http/api_server.h"

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

#include "core/app_channel.h"
#include "core/go_json.h"
#include "core/runtime.h"

Q_LOGGING_CATEGORY(lcApi, "bindery.core.http")

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

QByteArray daprErrorBody(const QString &errorCode, const QString &message)
{
    nlohmann::ordered_json j;
    j["errorCode"] = errorCode.toStdString();
    j["message"] = message.toStdString();
    return QByteArray::fromStdString(
        j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

void writeResponse(QHttpServerResponder &responder, int status, const QByteArray &body,
                   const HeaderPairs &headers)
{
    responder.writeStatusLine(static_cast<QHttpServerResponder::StatusCode>(status));
    for (const auto &[k, v] : headers)
        responder.writeHeader(k, v);
    responder.writeHeader("Content-Length", QByteArray::number(body.size()));
    responder.writeBody(body);
}

ApiServer::ApiServer(Runtime &runtime)
    : m_runtime(runtime)
{
}

ApiServer::~ApiServer() = default;

Result<quint16> ApiServer::listen(const QStringList &addresses, quint16 port)
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

void ApiServer::close()
{
    m_closed = true;
    for (QTcpServer *s : servers())
        s->close();
}

bool ApiServer::handleRequest(const QHttpServerRequest &request, QTcpSocket *socket)
{
    QByteArray path = request.url().path(QUrl::FullyEncoded).toUtf8();
    while (path.size() > 1 && path.endsWith('/'))
        path.chop(1); // chi's StripSlashes
    const auto method = request.method();

    const bool health = path == "/v1.0/healthz" || path == "/v1.0/healthz/outbound";
    const QByteArray token = m_runtime.options().apiToken;
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

void ApiServer::missingHandler(const QHttpServerRequest &request, QTcpSocket *socket)
{
    // daprd routes unknown paths to service invocation, which needs an app id (reference §1.1).
    QHttpServerResponder responder = makeResponder(request, socket);
    writeResponse(
        responder, 404,
        daprErrorBody(
            QStringLiteral("ERR_DIRECT_INVOKE"),
            QStringLiteral(
                "failed getting app id either from the URL path or the header dapr-app-id")),
        {{"Content-Type", JSON}});
}

void ApiServer::handleHealth(const QHttpServerRequest &request, QTcpSocket *socket, bool outbound)
{
    QHttpServerResponder responder = makeResponder(request, socket);
    const QString appId = request.query().queryItemValue(QStringLiteral("appid"));
    if (!appId.isEmpty() && appId != m_runtime.options().appId) {
        writeResponse(responder, 500,
                      daprErrorBody(QStringLiteral("ERR_HEALTH_APPID_NOT_MATCH"),
                                    QStringLiteral("dapr app-id does not match")),
                      {{"Content-Type", JSON}});
        return;
    }
    if (outbound) {
        if (m_runtime.outboundReady())
            writeResponse(responder, 204, {}, {});
        else
            writeResponse(responder, 500,
                          daprErrorBody(QStringLiteral("ERR_OUTBOUND_HEALTH_NOT_READY"),
                                        QStringLiteral("dapr outbound is not ready")),
                          {{"Content-Type", JSON}});
        return;
    }
    if (m_runtime.outboundReady() && m_runtime.appReady()) {
        writeResponse(responder, 204, {}, {});
    } else {
        const QString target
            = m_runtime.appReady() ? QStringLiteral("runtime") : QStringLiteral("app");
        writeResponse(responder, 500,
                      daprErrorBody(QStringLiteral("ERR_HEALTH_NOT_READY"),
                                    QStringLiteral("dapr is not ready: [%1]").arg(target)),
                      {{"Content-Type", JSON}});
    }
}

void ApiServer::handleMetadata(const QHttpServerRequest &request, QTcpSocket *socket,
                               const QString &key)
{
    QHttpServerResponder responder = makeResponder(request, socket);
    if (!key.isEmpty()) {
        m_runtime.setExtendedMetadata(key, QString::fromUtf8(request.body()));
        writeResponse(responder, 204, {}, {});
        return;
    }
    const RuntimeOptions &o = m_runtime.options();
    nlohmann::ordered_json j;
    j["id"] = o.appId.toStdString();
    j["runtimeVersion"] = o.runtimeVersion.toStdString();
    nlohmann::ordered_json comps = nlohmann::ordered_json::array();
    for (const ComponentStatus &c : m_runtime.components()) {
        if (c.state != ComponentState::Loaded)
            continue;
        nlohmann::ordered_json e;
        e["name"] = c.name.toStdString();
        e["type"] = c.type.toStdString();
        e["version"] = (c.version.isEmpty() ? QStringLiteral("v1") : c.version).toStdString();
        nlohmann::ordered_json caps = nlohmann::ordered_json::array();
        if (c.input)
            caps.push_back("INPUT_BINDING");
        if (c.output)
            caps.push_back("OUTPUT_BINDING");
        if (!caps.empty())
            e["capabilities"] = caps;
        comps.push_back(e);
    }
    if (!comps.empty())
        j["components"] = comps;
    nlohmann::ordered_json extended = nlohmann::ordered_json::object();
    const QMap<QString, QString> ext = m_runtime.extendedMetadata();
    for (auto it = ext.begin(); it != ext.end(); ++it)
        extended[it.key().toStdString()] = it.value().toStdString();
    j["extended"] = extended;
    if (o.appPort > 0) {
        nlohmann::ordered_json app;
        app["port"] = o.appPort;
        app["protocol"] = "http";
        app["channelAddress"] = o.appChannelAddress.toStdString();
        j["appConnectionProperties"] = app;
    }
    j["actorRuntime"] = {{"runtimeStatus", "DISABLED"}, {"hostReady", false}};
    writeResponse(
        responder, 200,
        QByteArray::fromStdString(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)),
        {{"Content-Type", JSON}});
}

void ApiServer::handleBinding(const QHttpServerRequest &request, QTcpSocket *socket,
                              const QString &name)
{
    TrafficStream &traffic = m_runtime.traffic();
    TrafficRecord rec;
    rec.id = traffic.nextId();
    rec.kind = TrafficRecord::Kind::Output;
    rec.startedUs = nowUs();
    rec.binding = name;
    rec.bindingType = m_runtime.componentType(name);

    auto responder = std::make_shared<QHttpServerResponder>(makeResponder(request, socket));
    auto finish = [&traffic](std::shared_ptr<QHttpServerResponder> r, TrafficRecord record,
                             int status, QByteArray body, HeaderPairs headers) {
        record.latencyUs = nowUs() - record.startedUs;
        record.status = status;
        record.ok = status >= 200 && status < 300;
        record.responseBody = body;
        for (const auto &[k, v] : headers) {
            if (k.startsWith("Metadata."))
                record.responseHeaders.append({QString::fromUtf8(k), QString::fromUtf8(v)});
        }
        writeResponse(*r, status, body, headers);
        traffic.push(std::move(record));
    };
    auto error = [&](int status, const QString &code, const QString &message) {
        rec.error = message;
        rec.errorCode = code;
        finish(responder, std::move(rec), status, daprErrorBody(code, message),
               {{"Content-Type", JSON}});
    };

    const QByteArray body = request.body();
    if (body.size() > m_runtime.options().maxBodySize) {
        error(413, QStringLiteral("ERR_BODY_TOO_LARGE"),
              QStringLiteral(
                  "request body of %1 bytes exceeds the maximum of %2 bytes (--max-body-size)")
                  .arg(body.size())
                  .arg(m_runtime.options().maxBodySize));
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
            error(400, QStringLiteral("ERR_MALFORMED_REQUEST"),
                  QStringLiteral("failed deserializing HTTP body: ") + why);
            return;
        }
        if (!doc.is_object() && !doc.is_null()) {
            error(400, QStringLiteral("ERR_MALFORMED_REQUEST"),
                  QStringLiteral("failed deserializing HTTP body: json: cannot unmarshal %1 into "
                                 "Go value of type "
                                 "http.OutputBindingRequest")
                      .arg(goJsonKind(doc)));
            return;
        }
        if (doc.is_object()) {
            if (auto it = doc.find("metadata"); it != doc.end() && !it->is_null()) {
                if (!it->is_object()) {
                    error(400, QStringLiteral("ERR_MALFORMED_REQUEST"),
                          QStringLiteral(
                              "failed deserializing HTTP body: json: cannot unmarshal %1 into Go "
                              "struct "
                              "field OutputBindingRequest.metadata of type map[string]string")
                              .arg(goJsonKind(*it)));
                    return;
                }
                for (auto m = it->begin(); m != it->end(); ++m) {
                    if (!m.value().is_string()) {
                        error(400, QStringLiteral("ERR_MALFORMED_REQUEST"),
                              QStringLiteral("failed deserializing HTTP body: json: cannot "
                                             "unmarshal %1 into Go struct "
                                             "field OutputBindingRequest.metadata of type string "
                                             "(metadata '%2')")
                                  .arg(goJsonKind(m.value()), QString::fromStdString(m.key())));
                        return;
                    }
                    req.metadata.insert(QString::fromStdString(m.key()),
                                        QString::fromStdString(m.value().get<std::string>()));
                }
            }
            if (auto it = doc.find("operation"); it != doc.end() && !it->is_null()) {
                if (!it->is_string()) {
                    error(400, QStringLiteral("ERR_MALFORMED_REQUEST"),
                          QStringLiteral("failed deserializing HTTP body: json: cannot unmarshal "
                                         "%1 into Go struct "
                                         "field OutputBindingRequest.operation of type string")
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
            error(400, QStringLiteral("ERR_MALFORMED_REQUEST"),
                  QStringLiteral("invalid baggage header: ") + QString::fromLatin1(joined));
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
    for (auto it = req.metadata.begin(); it != req.metadata.end(); ++it)
        rec.metadata.append({it.key(), it.value()});
    rec.operation = req.operation;
    rec.payload = req.data;

    const QString prefix = QStringLiteral("error invoking output binding %1: ").arg(name);
    const std::shared_ptr<OutputBinding> binding = m_runtime.outputBinding(name);
    if (!binding) {
        error(500, QStringLiteral("ERR_INVOKE_OUTPUT_BINDING"),
              prefix + QStringLiteral("couldn't find output binding %1").arg(name));
        return;
    }
    const QStringList ops = binding->operations();
    if (!ops.contains(req.operation)) {
        error(500, QStringLiteral("ERR_INVOKE_OUTPUT_BINDING"),
              prefix
                  + QStringLiteral(
                        "binding %1 does not support operation %2. supported operations:%3")
                        .arg(name, req.operation, ops.join(u' ')));
        return;
    }

    QPointer<QTcpSocket> guard(socket);
    QPointer<ApiServer> self(this);
    auto complete = [=](InvokeResult result) mutable {
        if (!self || !guard)
            return; // the client went away; nothing to answer
        HeaderPairs headers;
        const auto &meta = result.result ? result.result->metadata : result.errorMetadata;
        for (const auto &[k, v] : meta)
            headers.append({AppChannel::canonicalHeaderKey("metadata." + k.toUtf8()), v.toUtf8()});
        if (!result.result) {
            TrafficRecord r = rec;
            r.error = prefix + result.result.error().message;
            r.errorCode = QStringLiteral("ERR_INVOKE_OUTPUT_BINDING");
            headers.prepend({"Content-Type", JSON});
            const QByteArray errorBody = daprErrorBody(r.errorCode, r.error);
            finish(responder, std::move(r), 500, errorBody, headers);
            return;
        }
        if (!result.result->hasData) {
            finish(responder, std::move(rec), 204, {}, headers);
            return;
        }
        headers.prepend({"Content-Type", JSON});
        finish(responder, std::move(rec), 200, result.result->data, headers);
    };
    QThread *home = thread();
    binding->invoke(std::move(req),
                    [self, home, complete = std::move(complete)](InvokeResult result) mutable {
                        if (QThread::currentThread() == home) {
                            complete(std::move(result));
                            return;
                        }
                        QMetaObject::invokeMethod(
                            self,
                            [complete = std::move(complete), result = std::move(result)]() mutable {
                                complete(std::move(result));
                            },
                            Qt::QueuedConnection);
                    });
}

} // namespace bindery::core
