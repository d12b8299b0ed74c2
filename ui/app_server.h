// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <mutex>

#include <QAbstractHttpServer>
#include <QHash>
#include <QList>
#include <QMetaType>
#include <QPointer>
#include <QString>

class QHttpServerRequest;
class QTcpSocket;

namespace bindery::ui {

/** @brief How the built-in app answers deliveries for one input binding. A value type. */
struct AppRule
{
    enum class Mode { Ok, Error, Delay, Timeout };
    Mode mode = Mode::Ok;
    int status = 200; ///< Ok: 200; Error: the chosen status; Delay: the status after the delay
    int delayMs = 0;  ///< Delay only
    QByteArray body;  ///< optional answer body

    static QString modeName(Mode mode);
    static Mode modeFromName(const QString &name);
};

/**
 * @brief "Be the app": an in-process HTTP server on the app port that answers the runtime's
 * OPTIONS probes and event deliveries per rule, keyed by the app route ("/tick").
 *
 * Lives on its own QThread (RuntimeHost owns it) so that a delayed or never-answered delivery
 * never blocks the UI thread, and the UI thread can stop the runtime while deliveries wait.
 * setRule()/setDefaultRule() are thread-safe; listen()/abortPending() run on the server thread
 * (call them through QMetaObject::invokeMethod).
 */
class AppServer final : public QAbstractHttpServer
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(AppServer)

public:
    AppServer();
    ~AppServer() override;

    /// Binds 127.0.0.1:`port` (0 = a free port); returns the bound port or 0. Server thread.
    Q_INVOKABLE quint16 listenOn(quint16 port);
    /// Drops every parked (delayed or never-answered) connection. Server thread.
    Q_INVOKABLE void abortPending();
    Q_INVOKABLE void closeAll();

    void setRule(const QString &route, const AppRule &rule);
    void clearRules();
    AppRule rule(const QString &route) const;
    quint64 answered() const;

protected:
    bool handleRequest(const QHttpServerRequest &request, QTcpSocket *socket) override;
    void missingHandler(const QHttpServerRequest &request, QTcpSocket *socket) override;

private:
    mutable std::mutex m_mutex;
    QHash<QString, AppRule> m_rules;
    QList<QPointer<QTcpSocket>> m_parked;
    quint64 m_answered = 0;
};

} // namespace bindery::ui

Q_DECLARE_METATYPE(bindery::ui::AppRule)
