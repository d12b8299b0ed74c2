// SPDX-License-Identifier: Apache-2.0
// A raw-socket HTTP/1.1 client for transport tests: sends exactly the bytes given (pipelined,
// malformed, slow) and reads answers one by one, so framing can be checked byte for byte.
// Blocking with poll() timeouts: the server under test runs on threads of its own.
#pragma once

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <optional>

#include <QByteArray>
#include <QElapsedTimer>
#include <QFile>
#include <QList>
#include <QPair>

#include "header_lookup.h"

namespace bindery::tests {

struct RawResponse
{
    QByteArray statusLine; ///< "HTTP/1.1 200 OK"
    int status = 0;
    QList<QPair<QByteArray, QByteArray>> headers;
    QByteArray body;
    QByteArray header(const QByteArray &name) const
    {
        return findHeader(headers, name).value_or(QByteArray());
    }
    bool hasHeader(const QByteArray &name) const { return findHeader(headers, name).has_value(); }
};

class RawClient
{
public:
    RawClient() = default;
    RawClient(const RawClient &) = delete;
    RawClient &operator=(const RawClient &) = delete;
    ~RawClient() { close(); }

    bool connectTcp(quint16 port)
    {
        m_fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (m_fd < 0)
            return false;
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(port);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        const int one = 1;
        ::setsockopt(m_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        return ::connect(m_fd, reinterpret_cast<sockaddr *>(&a), sizeof a) == 0;
    }
    bool connectUnix(const QString &path)
    {
        m_fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (m_fd < 0)
            return false;
        sockaddr_un a{};
        a.sun_family = AF_UNIX;
        const QByteArray native = QFile::encodeName(path);
        std::memcpy(a.sun_path, native.constData(),
                    std::min<size_t>(static_cast<size_t>(native.size()), sizeof a.sun_path - 1));
        return ::connect(m_fd, reinterpret_cast<sockaddr *>(&a), sizeof a) == 0;
    }
    void close()
    {
        if (m_fd >= 0)
            ::close(m_fd);
        m_fd = -1;
    }
    int fd() const { return m_fd; }
    bool send(const QByteArray &bytes)
    {
        qsizetype off = 0;
        while (off < bytes.size()) {
            const ssize_t n = ::send(m_fd, bytes.constData() + off,
                                     static_cast<size_t>(bytes.size() - off), MSG_NOSIGNAL);
            if (n <= 0)
                return false;
            off += n;
        }
        return true;
    }

    /// The next complete response, or nothing after `timeoutMs` or when the server closed.
    std::optional<RawResponse> read(int timeoutMs = 5000, bool headRequest = false)
    {
        QElapsedTimer t;
        t.start();
        for (;;) {
            if (std::optional<RawResponse> r = parse(headRequest))
                return r;
            const int left = timeoutMs - static_cast<int>(t.elapsed());
            if (left <= 0)
                return std::nullopt;
            if (!fill(left))
                return m_closed ? parse(headRequest) : std::nullopt; // a body that ends at close
        }
    }
    /// True when the server closes (EOF or reset) within `timeoutMs`; bytes read are kept.
    bool waitClosed(int timeoutMs)
    {
        QElapsedTimer t;
        t.start();
        while (!m_closed) {
            const int left = timeoutMs - static_cast<int>(t.elapsed());
            if (left <= 0)
                return false;
            fill(left);
        }
        return true;
    }
    bool closed() const { return m_closed; }
    QByteArray &buffer() { return m_buffer; }

private:
    bool fill(int timeoutMs)
    {
        if (m_closed)
            return false;
        pollfd p{m_fd, POLLIN, 0};
        if (::poll(&p, 1, timeoutMs) <= 0)
            return false;
        char buf[65536];
        const ssize_t n = ::recv(m_fd, buf, sizeof buf, 0);
        if (n <= 0) {
            m_closed = true;
            return false;
        }
        m_buffer.append(buf, n);
        return true;
    }

    std::optional<RawResponse> parse(bool headRequest)
    {
        const qsizetype end = m_buffer.indexOf("\r\n\r\n");
        if (end < 0)
            return std::nullopt;
        RawResponse r;
        const QList<QByteArray> lines = m_buffer.left(end).split('\n');
        r.statusLine = lines.value(0).trimmed();
        r.status = r.statusLine.mid(9, 3).toInt();
        qsizetype length = 0;
        bool hasLength = false;
        for (qsizetype i = 1; i < lines.size(); ++i) {
            const QByteArray line = lines[i].trimmed();
            const qsizetype colon = line.indexOf(':');
            if (colon <= 0)
                continue;
            const QByteArray k = line.left(colon);
            const QByteArray v = line.mid(colon + 1).trimmed();
            r.headers.append({k, v});
            if (k.compare("content-length", Qt::CaseInsensitive) == 0) {
                length = v.toLongLong();
                hasLength = true;
            }
        }
        const bool noBody = headRequest || r.status == 204 || r.status == 304
                            || (r.status >= 100 && r.status < 200);
        if (noBody)
            length = 0;
        else if (!hasLength) {
            // No length: the body runs to the close (Go's raw error answers).
            if (!m_closed)
                return std::nullopt;
            length = m_buffer.size() - end - 4;
        }
        if (m_buffer.size() < end + 4 + length)
            return std::nullopt;
        r.body = m_buffer.mid(end + 4, length);
        m_buffer.remove(0, end + 4 + length);
        return r;
    }

    int m_fd = -1;
    bool m_closed = false;
    QByteArray m_buffer;
};

} // namespace bindery::tests
