// SPDX-License-Identifier: Apache-2.0
#include "ui/app_server.h"

#include <memory>

#include <QHttpServerRequest>
#include <QHttpServerResponder>
#include <QTcpServer>
#include <QTcpSocket>
#include <QThread>
#include <QTimer>

#include "core/http/http_api.h"

namespace bindery::ui {

QString AppRule::modeName(Mode mode)
{
    switch (mode) {
    case Mode::Ok: return QStringLiteral("ok");
    case Mode::Error: return QStringLiteral("error");
    case Mode::Delay: return QStringLiteral("delay");
    case Mode::Timeout: return QStringLiteral("timeout");
    }
    return QStringLiteral("ok");
}

AppRule::Mode AppRule::modeFromName(const QString &name)
{
    if (name == QStringLiteral("error"))
        return Mode::Error;
    if (name == QStringLiteral("delay"))
        return Mode::Delay;
    if (name == QStringLiteral("timeout"))
        return Mode::Timeout;
    return Mode::Ok;
}

AppServer::AppServer()
{
    qRegisterMetaType<bindery::ui::AppRule>();
}

AppServer::~AppServer() = default;

quint16 AppServer::listenOn(quint16 port)
{
    auto *server = new QTcpServer(this);
    if (!server->listen(QHostAddress::LocalHost, port)) {
        delete server;
        return 0;
    }
    bind(server);
    return server->serverPort();
}

void AppServer::abortPending()
{
    QList<QPointer<QTcpSocket>> parked;
    {
        std::lock_guard lock(m_mutex);
        parked.swap(m_parked);
    }
    for (const QPointer<QTcpSocket> &s : parked) {
        if (s)
            s->abort();
    }
}

void AppServer::closeAll()
{
    abortPending();
    for (QTcpServer *s : servers())
        s->close();
}

void AppServer::setRule(const QString &route, const AppRule &rule)
{
    std::lock_guard lock(m_mutex);
    m_rules.insert(route, rule);
}

void AppServer::clearRules()
{
    std::lock_guard lock(m_mutex);
    m_rules.clear();
}

AppRule AppServer::rule(const QString &route) const
{
    std::lock_guard lock(m_mutex);
    return m_rules.value(route);
}

quint64 AppServer::answered() const
{
    std::lock_guard lock(m_mutex);
    return m_answered;
}

bool AppServer::handleRequest(const QHttpServerRequest &request, QTcpSocket *socket)
{
    const QString route = request.url().path();
    const AppRule r = rule(route);
    if (request.method() == QHttpServerRequest::Method::Options) {
        // The subscription probe: every route is subscribed, whatever the delivery rule.
        QHttpServerResponder responder = makeResponder(request, socket);
        core::writeResponse(responder, 200, {}, {});
        return true;
    }
    switch (r.mode) {
    case AppRule::Mode::Ok:
    case AppRule::Mode::Error: {
        QHttpServerResponder responder = makeResponder(request, socket);
        const int status = r.mode == AppRule::Mode::Ok ? 200 : r.status;
        QList<QPair<QByteArray, QByteArray>> headers;
        if (!r.body.isEmpty())
            headers.append({"Content-Type", r.body.startsWith('{') || r.body.startsWith('[')
                                                ? QByteArray("application/json")
                                                : QByteArray("text/plain; charset=utf-8")});
        core::writeResponse(responder, status, r.body, headers);
        std::lock_guard lock(m_mutex);
        ++m_answered;
        return true;
    }
    case AppRule::Mode::Delay: {
        auto responder = std::make_shared<QHttpServerResponder>(makeResponder(request, socket));
        QPointer<QTcpSocket> guard(socket);
        {
            std::lock_guard lock(m_mutex);
            m_parked.append(guard);
        }
        QTimer::singleShot(r.delayMs, this, [this, responder, guard, r]() {
            {
                std::lock_guard lock(m_mutex);
                m_parked.removeAll(guard);
                ++m_answered;
            }
            if (!guard || guard->state() != QAbstractSocket::ConnectedState)
                return;
            core::writeResponse(*responder, r.status > 0 ? r.status : 200, r.body, {});
        });
        return true;
    }
    case AppRule::Mode::Timeout: {
        // Never answer: keep the connection open until the runtime gives up (its delivery
        // timeout) or the runtime stops (abortPending()).
        std::lock_guard lock(m_mutex);
        m_parked.append(QPointer<QTcpSocket>(socket));
        return true;
    }
    }
    return false;
}

void AppServer::missingHandler(const QHttpServerRequest &request, QTcpSocket *socket)
{
    QHttpServerResponder responder = makeResponder(request, socket);
    core::writeResponse(responder, 404, {}, {});
}

} // namespace bindery::ui
