// SPDX-License-Identifier: Apache-2.0
#include "core/http_client.h"

#include <arpa/inet.h>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>
#include <zlib.h>

namespace bindery::core {

namespace {

qint64 nowMs()
{
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

int remaining(qint64 deadline)
{
    return static_cast<int>(std::max<qint64>(0, deadline - nowMs()));
}

QString sysError(const char *what)
{
    return QStringLiteral("%1: %2").arg(QString::fromLatin1(what),
                                        QString::fromLocal8Bit(std::strerror(errno)));
}

} // namespace

HttpConnection::HttpConnection(QByteArray host, quint16 port)
    : m_host(std::move(host))
    , m_port(port)
{
}

HttpConnection::~HttpConnection()
{
    closeSocket();
}

void HttpConnection::closeSocket()
{
    if (m_fd >= 0)
        ::close(m_fd);
    m_fd = -1;
    m_buffer.clear();
    m_awaitingAnswer = false;
}

bool HttpConnection::ensureConnected(qint64 deadline, QString *error)
{
    if (m_fd >= 0) {
        // An idle kept-alive connection the peer closed (or that holds stray bytes) is not
        // reused: a POST must not be sent into a dead connection.
        pollfd p{m_fd, POLLIN, 0};
        if (::poll(&p, 1, 0) == 0)
            return true;
        closeSocket();
    }
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    addrinfo *res = nullptr;
    const QByteArray port = QByteArray::number(m_port);
    if (const int rc = ::getaddrinfo(m_host.constData(), port.constData(), &hints, &res); rc != 0) {
        *error = QStringLiteral("dial tcp %1:%2: %3")
                     .arg(QString::fromLatin1(m_host), QString::fromLatin1(port),
                          QString::fromLocal8Bit(gai_strerror(rc)));
        return false;
    }
    QString lastError;
    for (addrinfo *ai = res; ai; ai = ai->ai_next) {
        const int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
                                ai->ai_protocol);
        if (fd < 0) {
            lastError = sysError("socket");
            continue;
        }
        int rc = ::connect(fd, ai->ai_addr, ai->ai_addrlen);
        if (rc != 0 && errno == EINPROGRESS) {
            rc = waitReady(fd, POLLOUT, std::min(deadline, nowMs() + 3000));
            if (rc == 1) {
                int soerr = 0;
                socklen_t len = sizeof soerr;
                ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len);
                errno = soerr;
                rc = soerr == 0 ? 0 : -1;
            } else {
                errno = rc == 0 ? ETIMEDOUT : rc == -2 ? ECANCELED : errno;
                rc = -1;
            }
        }
        if (rc != 0) {
            lastError = QStringLiteral("dial tcp %1:%2: connect: %3")
                            .arg(QString::fromLatin1(m_host), QString::fromLatin1(port),
                                 QString::fromLocal8Bit(std::strerror(errno)));
            ::close(fd);
            continue;
        }
        const int one = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        m_fd = fd;
        break;
    }
    ::freeaddrinfo(res);
    if (m_fd < 0) {
        *error = lastError;
        return false;
    }
    return true;
}

bool HttpConnection::sendAll(const char *data, qsizetype size, qint64 deadline, QString *error)
{
    qsizetype sent = 0;
    while (sent < size) {
        const ssize_t n = ::send(m_fd, data + sent, static_cast<size_t>(size - sent), MSG_NOSIGNAL);
        if (n > 0) {
            sent += n;
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            const int rc = waitReady(m_fd, POLLOUT, deadline);
            if (rc <= 0) {
                *error = rc == 0    ? QStringLiteral("timeout sending the request")
                         : rc == -2 ? QStringLiteral("request cancelled")
                                    : sysError("poll");
                return false;
            }
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        *error = sysError("write");
        return false;
    }
    return true;
}

bool HttpConnection::sendBoth(const QByteArray &head, const QByteArray &body, qint64 deadline,
                              QString *error)
{
    iovec iov[2] = {{const_cast<char *>(head.constData()), static_cast<size_t>(head.size())},
                    {const_cast<char *>(body.constData()), static_cast<size_t>(body.size())}};
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = body.isEmpty() ? 1 : 2;
    ssize_t n;
    do {
        n = ::sendmsg(m_fd, &msg, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            *error = sysError("write");
            return false;
        }
        n = 0;
    }
    // A short write (a full socket buffer): the rest goes out through sendAll, which waits.
    const qsizetype sent = n;
    if (sent < head.size())
        return sendAll(head.constData() + sent, head.size() - sent, deadline, error)
               && sendAll(body.constData(), body.size(), deadline, error);
    const qsizetype bodySent = sent - head.size();
    return sendAll(body.constData() + bodySent, body.size() - bodySent, deadline, error);
}

int HttpConnection::fill(qint64 deadline, QString *error, qint64 want)
{
    char chunk[16384];
    auto waitForAnswer = [&]() {
        const int rc = waitReady(m_fd, POLLIN, deadline);
        if (rc <= 0)
            *error = rc == 0    ? QStringLiteral("timeout awaiting response headers")
                     : rc == -2 ? QStringLiteral("request cancelled while awaiting the answer")
                                : sysError("poll");
        return rc > 0;
    };
    if (m_awaitingAnswer) {
        m_awaitingAnswer = false;
        if (!waitForAnswer())
            return -1;
    }
    for (;;) {
        ssize_t n = 0;
        if (want > qint64(sizeof chunk)) {
            // A known large rest of a body: received straight into the buffer, up to 1 MiB a call.
            const qsizetype old = m_buffer.size();
            const qsizetype room = qsizetype(qMin<qint64>(want, 1024 * 1024));
            m_buffer.resize(old + room);
            n = ::recv(m_fd, m_buffer.data() + old, size_t(room), 0);
            m_buffer.resize(old + qMax<qsizetype>(n, 0));
            if (n > 0)
                return 1;
        } else {
            n = ::recv(m_fd, chunk, sizeof chunk, 0);
            if (n > 0) {
                m_buffer.append(chunk, n);
                return 1;
            }
        }
        if (n == 0)
            return 0;
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            *error = sysError("read");
            return -1;
        }
        if (!waitForAnswer())
            return -1;
    }
}

int HttpConnection::waitReady(int fd, short events, qint64 deadline)
{
    for (;;) {
        if (m_cancel.stop_requested())
            return -2;
        const int left = remaining(deadline);
        const bool sliced = m_cancel.stop_possible() && left > 100;
        pollfd p{fd, events, 0};
        const int rc = ::poll(&p, 1, sliced ? 100 : left);
        if ((rc < 0 && errno == EINTR) || (rc == 0 && sliced))
            continue;
        return rc;
    }
}

bool HttpConnection::request(const QByteArray &head, const QByteArray &body, int timeoutMs,
                             HttpResponse *response, QString *error, std::stop_token cancel)
{
    const qint64 deadline = nowMs() + timeoutMs;
    m_cancel = std::move(cancel);
    auto failWith = [&](const QString &why) {
        *error = why;
        closeSocket();
        return false;
    };
    if (!ensureConnected(deadline, error))
        return false;
    m_buffer.clear();
    if (!sendBoth(head, body, deadline, error))
        return failWith(*error);
    m_awaitingAnswer = true;

    for (;;) { // loops over 1xx interim responses
        qsizetype headerEnd = -1;
        while ((headerEnd = m_buffer.indexOf("\r\n\r\n")) < 0) {
            if (m_buffer.size() > 1024 * 1024)
                return failWith(QStringLiteral("response headers larger than 1 MiB"));
            const int rc = fill(deadline, error);
            if (rc < 0)
                return failWith(*error);
            if (rc == 0)
                return failWith(
                    m_buffer.isEmpty()
                        ? QStringLiteral("EOF: the app closed the connection without answering")
                        : QStringLiteral("malformed HTTP response: unexpected EOF in headers"));
        }
        ResponseHead parsed;
        QString why;
        if (!parseResponseHead(QByteArrayView(m_buffer.constData(), headerEnd), &parsed, &why))
            return failWith(why);
        const int status = parsed.status;
        response->status = status;
        response->headers = std::move(parsed.headers);
        const qint64 contentLength = parsed.contentLength;
        const bool chunked = parsed.chunked;
        bool closeAfter = parsed.closeAfter;
        m_buffer.remove(0, headerEnd + 4);
        if (status >= 100 && status < 200 && status != 101)
            continue; // interim response: the real one follows
        QByteArray &out = response->body;
        out.clear();
        if (chunked) {
            for (;;) {
                qsizetype eol;
                while ((eol = m_buffer.indexOf("\r\n")) < 0) {
                    const int rc = fill(deadline, error);
                    if (rc <= 0)
                        return failWith(
                            rc < 0 ? *error : QStringLiteral("unexpected EOF in a chunked body"));
                }
                bool hexOk = false;
                const qint64 size
                    = m_buffer.left(eol).split(';').first().trimmed().toLongLong(&hexOk, 16);
                if (!hexOk || size < 0)
                    return failWith(QStringLiteral("malformed chunk size"));
                m_buffer.remove(0, eol + 2);
                if (size == 0) {
                    // Optional trailer lines, then the empty line that ends the body.
                    for (;;) {
                        qsizetype end;
                        while ((end = m_buffer.indexOf("\r\n")) < 0) {
                            const int rc = fill(deadline, error);
                            if (rc <= 0)
                                return failWith(
                                    rc < 0 ? *error
                                           : QStringLiteral("unexpected EOF after the last chunk"));
                        }
                        m_buffer.remove(0, end + 2);
                        if (end == 0)
                            break;
                    }
                    break;
                }
                while (m_buffer.size() - 2 < size) { // not size + 2: sizes reach 2^63 - 1
                    const int rc = fill(deadline, error);
                    if (rc <= 0)
                        return failWith(rc < 0 ? *error
                                               : QStringLiteral("unexpected EOF in a chunk"));
                }
                out.append(m_buffer.constData(), size);
                m_buffer.remove(0, size + 2);
            }
        } else if (contentLength >= 0) {
            // One allocation of the body's size (dropping the head only moves the start), and
            // the buffer itself becomes the body when it holds nothing more: a large answer is
            // neither regrown nor copied. A claimed length is trusted up to 256 MiB of address
            // space (untouched pages cost no memory); past that the buffer grows as bytes come.
            m_buffer.reserve(qMin<qint64>(contentLength, qint64(256) * 1024 * 1024));
            while (m_buffer.size() < contentLength) {
                const int rc = fill(deadline, error, contentLength - m_buffer.size());
                if (rc <= 0)
                    return failWith(rc < 0 ? *error
                                           : QStringLiteral(
                                               "unexpected EOF: body shorter than Content-Length"));
            }
            if (m_buffer.size() == contentLength) {
                out = std::move(m_buffer);
                m_buffer = QByteArray();
            } else {
                out = m_buffer.left(contentLength);
                m_buffer = m_buffer.mid(contentLength); // the large reservation is not kept
            }
        } else if (status == 204 || status == 304) {
            // no body
        } else {
            // Delimited by the peer closing the connection.
            for (;;) {
                const int rc = fill(deadline, error);
                if (rc < 0)
                    return failWith(*error);
                if (rc == 0)
                    break;
            }
            out = m_buffer;
            closeAfter = true;
        }
        if (closeAfter)
            closeSocket();
        return true;
    }
}

bool parseResponseHead(QByteArrayView head, ResponseHead *out, QString *error)
{
    qsizetype lineEnd = head.indexOf('\n');
    if (lineEnd < 0)
        lineEnd = head.size();
    const QByteArrayView statusLine = head.first(lineEnd).trimmed();
    auto shownStatus = [&statusLine] { // only on the error paths: no allocation per response
        return QString::fromLatin1(statusLine.first(qMin<qsizetype>(80, statusLine.size())));
    };
    if (!statusLine.startsWith("HTTP/1.") || statusLine.size() < 12) {
        *error = QStringLiteral("malformed HTTP response: '%1'").arg(shownStatus());
        return false;
    }
    bool ok = false;
    out->status = statusLine.sliced(9, 3).toInt(&ok);
    if (!ok) {
        *error = QStringLiteral("malformed HTTP status line: '%1'").arg(shownStatus());
        return false;
    }
    out->reason = statusLine.size() > 13 ? statusLine.sliced(13).toByteArray() : QByteArray();
    out->headers.clear();
    out->contentLength = -1;
    out->chunked = false;
    out->closeAfter = statusLine.startsWith("HTTP/1.0");
    for (qsizetype pos = lineEnd + 1; pos < head.size();) {
        qsizetype next = head.indexOf('\n', pos);
        if (next < 0)
            next = head.size();
        const QByteArrayView l = head.sliced(pos, next - pos);
        pos = next + 1;
        const qsizetype colon = l.indexOf(':');
        if (colon <= 0)
            continue;
        const QByteArrayView key = l.first(colon).trimmed();
        const QByteArrayView value = l.sliced(colon + 1).trimmed();
        out->headers.append({key.toByteArray(), value.toByteArray()});
        if (key.compare("Content-Length", Qt::CaseInsensitive) == 0)
            out->contentLength = value.toLongLong();
        else if (key.compare("Transfer-Encoding", Qt::CaseInsensitive) == 0)
            out->chunked = value.toByteArray().toLower().contains("chunked");
        else if (key.compare("Connection", Qt::CaseInsensitive) == 0) {
            const QByteArray v = value.toByteArray().toLower();
            if (v.contains("close"))
                out->closeAfter = true;
            else if (v.contains("keep-alive"))
                out->closeAfter = false;
        }
    }
    return true;
}

bool isGzipEncoded(const QList<QPair<QByteArray, QByteArray>> &headers)
{
    for (const auto &[k, v] : headers) {
        if (k.compare("Content-Encoding", Qt::CaseInsensitive) == 0)
            return v.trimmed().compare("gzip", Qt::CaseInsensitive) == 0;
    }
    return false;
}

bool gunzip(QByteArrayView in, QByteArray *out, QString *error, qint64 maxBytes)
{
    out->clear();
    z_stream z{};
    if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) { // 16: gzip wrapper only
        *error = QStringLiteral("gzip: cannot start the decoder");
        return false;
    }
    z.next_in = reinterpret_cast<Bytef *>(const_cast<char *>(in.data()));
    z.avail_in = static_cast<uInt>(in.size());
    char chunk[16384];
    int rc = Z_OK;
    while (rc != Z_STREAM_END) {
        z.next_out = reinterpret_cast<Bytef *>(chunk);
        z.avail_out = sizeof chunk;
        rc = inflate(&z, Z_NO_FLUSH);
        if (rc != Z_OK && rc != Z_STREAM_END) {
            // Go's compress/gzip wording for the two common cases.
            const QByteArray why = z.msg ? QByteArray(z.msg) : QByteArray("invalid data");
            if (rc == Z_BUF_ERROR)
                *error = QStringLiteral("unexpected EOF");
            else if (why == "incorrect header check")
                *error = QStringLiteral("gzip: invalid header");
            else
                *error = QStringLiteral("gzip: ") + QString::fromLatin1(why);
            inflateEnd(&z);
            return false;
        }
        out->append(chunk, static_cast<qsizetype>(sizeof chunk - z.avail_out));
        if (maxBytes >= 0 && out->size() > maxBytes) {
            *error = QStringLiteral("gzip: decoded body larger than %1 bytes").arg(maxBytes);
            inflateEnd(&z);
            return false;
        }
    }
    inflateEnd(&z);
    return true;
}

} // namespace bindery::core
