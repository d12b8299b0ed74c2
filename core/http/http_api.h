// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <QAbstractHttpServer>
#include <QByteArray>
#include <QList>
#include <QPair>
#include <QString>
#include <QStringList>

#include "core/result.h"
#include "core/runtime_options.h"

class QHttpServerRequest;
class QHttpServerResponder;
class QTcpSocket;

namespace bindery::core::api {
class BindingService;
struct DaprFailure;
} // namespace bindery::core::api

namespace bindery::core {

/**
 * @brief daprd's HTTP API (/v1.0/bindings/<name>, /v1.0/metadata, /v1.0/healthz): a thin
 * transport over api::BindingService. It decodes a request as daprd does (Go's encoding/json
 * rules, reference §1), calls the service, and encodes the answer; it holds no binding and no
 * runtime state of its own.
 *
 * Lives on its own thread (the sidecar's "bindery-api" QThread) and is used only there. Output
 * calls are asynchronous: the responder is parked and the answer written when the service's
 * callback fires (hopped back to this thread), so no thread is held per request in flight.
 */
class HttpApi final : public QAbstractHttpServer
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(HttpApi)

public:
    HttpApi(api::BindingService &service, const RuntimeOptions &options);
    ~HttpApi() override;

    /// Listens on every address; returns the port actually bound (useful with port 0).
    [[nodiscard]] Result<quint16> listen(const QStringList &addresses, quint16 port);
    void close();

protected:
    bool handleRequest(const QHttpServerRequest &request, QTcpSocket *socket) override;
    void missingHandler(const QHttpServerRequest &request, QTcpSocket *socket) override;

private:
    void handleBinding(const QHttpServerRequest &request, QTcpSocket *socket, const QString &name);
    void handleMetadata(const QHttpServerRequest &request, QTcpSocket *socket, const QString &key);
    void handleHealth(const QHttpServerRequest &request, QTcpSocket *socket, bool outbound);
    void reject(const QHttpServerRequest &request, QTcpSocket *socket, const QString &name,
                const QString &operation, const QByteArray &payload,
                const api::DaprFailure &failure);

    api::BindingService &m_service;
    RuntimeOptions m_options;
};

/** @brief One HTTP response, written through QHttpServerResponder with a Content-Length. */
void writeResponse(QHttpServerResponder &responder, int status, const QByteArray &body,
                   const QList<QPair<QByteArray, QByteArray>> &headers);

} // namespace bindery::core
