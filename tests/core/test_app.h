// SPDX-License-Identifier: Apache-2.0
// A real, minimal HTTP/1.1 app server for tests (keep-alive, Content-Length bodies) on its own
// QThread, so blocking clients (libcurl in AppChannel) can call it from the test thread.
// Answers are configured per method + path; status -1 means "never answer" (timeouts).
#pragma once

#include <mutex>

#include <QHash>
#include <QMetaObject>
#include <QPointer>
#include <QTcpServer>
#include <QTcpSocket>
#include <QThread>

#include "header_lookup.h"

namespace bindery::tests {

class TestApp
{
public:
    struct Request
    {
        QByteArray method;
        QByteArray path;
        QList<QPair<QByteArray, QByteArray>> headers;
        QByteArray body;
        QByteArray header(const QByteArray &name) const
        {
            return findHeader(headers, name).value_or(QByteArray());
        }
        bool hasHeader(const QByteArray &name) const
        {
            return findHeader(headers, name).has_value();
        }
    };
    struct Answer
    {
        int status = 404;
        QByteArray body;
    };

    TestApp()
    {
        m_thread.start();
        m_context = new QObject;
        m_context->moveToThread(&m_thread);
    }
    ~TestApp()
    {
        stop();
        QMetaObject::invokeMethod(
            m_context, [c = m_context] { delete c; }, Qt::BlockingQueuedConnection);
        m_thread.quit();
        m_thread.wait();
    }
    TestApp(const TestApp &) = delete;
    TestApp &operator=(const TestApp &) = delete;

    /// Listens on 127.0.0.1:`port` (0 = any). Returns the port, 0 on failure. Any thread.
    quint16 start(quint16 port = 0)
    {
        quint16 bound = 0;
        QMetaObject::invokeMethod(
            m_context,
            [&] {
                m_server = new QTcpServer(m_context);
                QObject::connect(m_server, &QTcpServer::newConnection, m_context,
                                 [this] { accept(); });
                if (m_server->listen(QHostAddress::LocalHost, port))
                    bound = m_server->serverPort();
            },
            Qt::BlockingQueuedConnection);
        return bound;
    }

    /// The app goes down: stops listening and drops every connection.
    void stop()
    {
        QMetaObject::invokeMethod(
            m_context,
            [&] {
                if (m_server) {
                    m_server->close();
                    delete m_server;
                    m_server = nullptr;
                }
                for (const QPointer<QTcpSocket> &s : std::as_const(m_sockets)) {
                    if (s) {
                        s->abort();
                        s->deleteLater();
                    }
                }
                m_sockets.clear();
            },
            Qt::BlockingQueuedConnection);
    }

    void answer(const QByteArray &method, const QByteArray &path, int status,
                const QByteArray &body = {})
    {
        std::lock_guard lock(m_mutex);
        m_answers.insert(method + ' ' + path, {status, body});
    }
    QList<Request> requests() const
    {
        std::lock_guard lock(m_mutex);
        return m_requests;
    }
    int count(const QByteArray &method, const QByteArray &path) const
    {
        std::lock_guard lock(m_mutex);
        int n = 0;
        for (const Request &r : m_requests)
            n += r.method == method && r.path == path;
        return n;
    }
    int connections() const
    {
        std::lock_guard lock(m_mutex);
        return m_connections;
    }
    void clear()
    {
        std::lock_guard lock(m_mutex);
        m_requests.clear();
        m_connections = 0;
    }

private:
    void accept()
    {
        while (QTcpSocket *s = m_server->nextPendingConnection()) {
            {
                std::lock_guard lock(m_mutex);
                ++m_connections;
            }
            m_sockets << s;
            auto buffer = std::make_shared<QByteArray>();
            QObject::connect(s, &QTcpSocket::readyRead, s, [this, s, buffer] {
                *buffer += s->readAll();
                serve(s, *buffer);
            });
            QObject::connect(s, &QTcpSocket::disconnected, s, &QObject::deleteLater);
        }
    }

    void serve(QTcpSocket *s, QByteArray &buffer)
    {
        for (;;) {
            const qsizetype end = buffer.indexOf("\r\n\r\n");
            if (end < 0)
                return;
            const QList<QByteArray> lines = buffer.left(end).split('\n');
            Request r;
            const QList<QByteArray> first = lines.value(0).trimmed().split(' ');
            r.method = first.value(0);
            r.path = first.value(1);
            qsizetype length = 0;
            for (qsizetype i = 1; i < lines.size(); ++i) {
                const qsizetype colon = lines[i].indexOf(':');
                if (colon <= 0)
                    continue;
                const QByteArray k = lines[i].left(colon).trimmed();
                const QByteArray v = lines[i].mid(colon + 1).trimmed();
                r.headers.append({k, v});
                if (k.compare("content-length", Qt::CaseInsensitive) == 0)
                    length = v.toLongLong();
            }
            if (buffer.size() < end + 4 + length)
                return; // the body is still arriving
            r.body = buffer.mid(end + 4, length);
            buffer.remove(0, end + 4 + length);
            Answer a;
            {
                std::lock_guard lock(m_mutex);
                m_requests << r;
                a = m_answers.value(r.method + ' ' + r.path, Answer{});
            }
            if (a.status < 0)
                continue; // never answer
            QByteArray out = "HTTP/1.1 " + QByteArray::number(a.status)
                             + " Status\r\nContent-Type: text/plain\r\n"
                             + "X-App: test\r\nContent-Length: " + QByteArray::number(a.body.size())
                             + "\r\n\r\n" + (r.method == "HEAD" ? QByteArray() : a.body);
            s->write(out);
        }
    }

    QThread m_thread;
    QObject *m_context = nullptr;
    QTcpServer *m_server = nullptr; // lives in m_thread
    QList<QPointer<QTcpSocket>> m_sockets;
    mutable std::mutex m_mutex;
    QHash<QByteArray, Answer> m_answers;
    QList<Request> m_requests;
    int m_connections = 0;
};

} // namespace bindery::tests
