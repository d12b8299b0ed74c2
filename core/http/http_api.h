// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <QByteArray>
#include <QList>
#include <QObject>
#include <QPair>
#include <QString>
#include <QStringList>

#include "core/http/http_server.h"
#include "core/result.h"
#include "core/runtime_options.h"

class QHttpServerResponder;

namespace bindery::core::api {
class BindingService;
struct DaprFailure;
} // namespace bindery::core::api

namespace bindery::core {

/**
 * @brief daprd's HTTP API (/v1.0/bindings/<name>, /v1.0/metadata, /v1.0/healthz,
 * /v1.0/secrets/<store>/<key>): a thin transport over api::BindingService on top of
 * http::HttpServer. It decodes a request as daprd does (Go's encoding/json rules, reference
 * §1), calls the service, and encodes the answer with daprd's headers (traceparent, baggage,
 * Go's http.Error for plain-text errors); it holds no binding and no runtime state of its own.
 * The routes of other building blocks (state, pub/sub, invocation) get daprd's error for a
 * building block that is not there, saying Bindery serves bindings only.
 *
 * Lives on its own thread (the sidecar's "bindery-api" QThread) and is used only there; the
 * listen calls create the server on that thread. Output calls are asynchronous: the answer is
 * written when the service's callback fires (hopped back to this thread), so no thread is held
 * per request in flight.
 */
class CompletionMailbox;

class HttpApi final : public QObject, private http::HttpHandler
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(HttpApi)

public:
    HttpApi(api::BindingService &service, const RuntimeOptions &options);
    ~HttpApi() override;

    /// Listens on every address; returns the port actually bound (useful with port 0).
    [[nodiscard]] Result<quint16> listen(const QStringList &addresses, quint16 port);
    /// Listens on daprd's Unix socket <directory>/dapr-<app id>-http.socket; returns its path.
    [[nodiscard]] Result<QString> listenUnix(const QString &directory);
    void close();

private:
    std::optional<http::HttpResponse> checkHeader(const http::HttpRequest &request) override;
    http::HttpResponse bodyTooLarge(const http::HttpRequest &request, std::uint64_t limit) override;
    void handle(const http::HttpRequest &request, http::HttpResponder responder) override;

    /** The request-target as Go's server and chi see it. */
    struct ParsedTarget
    {
        std::string raw;
        bool valid = false;
        std::string decodedPath; ///< r.URL.Path
        std::string routePath;   ///< path.Clean(r.URL.EscapedPath()): what routes match
        std::string_view query;  ///< r.URL.RawQuery, a view into raw
    };

    http::HttpServer &server();
    /// The parsed target, valid until the next call (a one-entry cache).
    const ParsedTarget &target(std::string_view raw);
    void handleBinding(const http::HttpRequest &request, const http::HttpResponder &responder,
                       const QString &name, std::string_view query, http::HttpResponse decoration);
    http::HttpResponse reject(const QString &name, const QString &operation,
                              const QByteArray &payload, const api::DaprFailure &failure,
                              http::HttpResponse decoration);

    api::BindingService &m_service;
    RuntimeOptions m_options;
    std::unique_ptr<http::HttpServer> m_server;
    ParsedTarget m_target;
    /// Output calls answered on another thread come back through here, a batch per wake-up.
    std::shared_ptr<CompletionMailbox> m_completions;
};

/** @brief One HTTP response, written through QHttpServerResponder with a Content-Length. */
void writeResponse(QHttpServerResponder &responder, int status, const QByteArray &body,
                   const QList<QPair<QByteArray, QByteArray>> &headers);

} // namespace bindery::core
