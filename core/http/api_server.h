// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <QAbstractHttpServer>
#include <QByteArray>
#include <QList>
#include <QPair>
#include <QString>
#include <QStringList>

#include "core/result.h"

class QHttpServerRequest;
class QHttpServerResponder;
class QTcpSocket;

namespace bindery::core {

class Runtime;

/**
 * @brief daprd's HTTP API for bindings: /v1.0/bindings/<name>, /v1.0/metadata, /v1.0/healthz.
 *
 * Lives on the runtime thread. Output invokes are asynchronous: the responder is parked and the
 * answer is written when the binding's callback fires (marshalled back to this thread), so no
 * thread is held per in-flight request. Kept behind this header so the HTTP server can be
 * swapped for a QTcpServer-based one.
 */
class ApiServer final : public QAbstractHttpServer
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(ApiServer)

public:
    explicit ApiServer(Runtime &runtime);
    ~ApiServer() override;

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

    Runtime &m_runtime;
    bool m_closed = false;
};

/** @brief One HTTP response, written through QHttpServerResponder with a Content-Length. */
void writeResponse(QHttpServerResponder &responder, int status, const QByteArray &body,
                   const QList<QPair<QByteArray, QByteArray>> &headers);

/** @brief Dapr's error JSON: {"errorCode":"...","message":"..."}. */
QByteArray daprErrorBody(const QString &errorCode, const QString &message);

} // namespace bindery::core
