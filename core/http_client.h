// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <stop_token>

#include <QByteArray>
#include <QByteArrayView>
#include <QList>
#include <QPair>
#include <QString>

namespace bindery::core {

/** @brief A parsed HTTP/1.x response. */
struct HttpResponse
{
    int status = 0;
    QList<QPair<QByteArray, QByteArray>> headers;
    QByteArray body;
};

/**
 * @brief One blocking HTTP/1.1 client connection on a plain POSIX socket, kept alive between
 * requests. Written for the app channel's hot path (one POST per input event), where libcurl
 * cost ~50 µs of CPU per request and QNetworkAccessManager ~200 µs.
 *
 * Handles Content-Length, chunked and close-delimited bodies, 1xx interim responses, and
 * HTTP/1.0 or `Connection: close` peers. Every wait is bounded by the request's deadline.
 * Not thread-safe: one thread uses a connection at a time (AppChannel pools them).
 */
class HttpConnection final
{
public:
    HttpConnection(QByteArray host, quint16 port);
    ~HttpConnection();
    HttpConnection(const HttpConnection &) = delete;
    HttpConnection &operator=(const HttpConnection &) = delete;

    /**
     * @brief Sends `head` (request line + headers, ending in CRLF CRLF) and `body`, reads the
     * response. Returns false with `error` set on a transport error or timeout; the connection
     * is then closed and the next request reconnects.
     */
    bool request(const QByteArray &head, const QByteArray &body, int timeoutMs,
                 HttpResponse *response, QString *error, std::stop_token cancel = {});
    bool isOpen() const { return m_fd >= 0; }

private:
    bool ensureConnected(qint64 deadline, QString *error);
    /// poll() on `fd` bounded by the deadline, in slices of 100 ms when the request can be
    /// cancelled. 1 ready, 0 timed out, -1 error, -2 cancelled.
    int waitReady(int fd, short events, qint64 deadline);
    bool sendAll(const char *data, qsizetype size, qint64 deadline, QString *error);
    /// head and body in one sendmsg (no copy); falls back to sendAll for what a short write left.
    bool sendBoth(const QByteArray &head, const QByteArray &body, qint64 deadline, QString *error);
    /// Reads more bytes into m_buffer; 0 on EOF, -1 on error/timeout. `want`: bytes known to be
    /// coming (a body's rest), read straight into m_buffer when large.
    int fill(qint64 deadline, QString *error, qint64 want = 0);
    void closeSocket();

    QByteArray m_host;
    quint16 m_port;
    int m_fd = -1;
    QByteArray m_buffer;
    /// Set by a send: the next fill() waits first instead of reading an empty socket (an
    /// answer cannot be there yet, so the read would only return EAGAIN: one syscall saved).
    bool m_awaitingAnswer = false;
    std::stop_token m_cancel; ///< the current request's
};

/** @brief What an HTTP/1.x response head says: status, headers and how its body is framed. */
struct ResponseHead
{
    int status = 0;
    QByteArray reason; ///< the status line's reason phrase, maybe empty
    QList<QPair<QByteArray, QByteArray>> headers;
    qint64 contentLength = -1; ///< -1 when none is given
    bool chunked = false;
    bool closeAfter = false; ///< HTTP/1.0 without keep-alive, or `Connection: close`
};

/// Parses a response's status line and headers (`head` ends before the blank line). False with
/// `error` set on a malformed status line. Any thread.
bool parseResponseHead(QByteArrayView head, ResponseHead *out, QString *error);

/**
 * @brief Decodes a gzip body (RFC 1952) as Go's transport does for a response it asked to be
 * gzipped (`Accept-Encoding: gzip`). False with `error` set (Go's wording) on a damaged stream
 * or when the decoded body would exceed `maxBytes` (-1: no bound). Any thread.
 */
bool gunzip(QByteArrayView in, QByteArray *out, QString *error, qint64 maxBytes = -1);

/// True when `headers` hold `Content-Encoding: gzip` (case-insensitive).
bool isGzipEncoded(const QList<QPair<QByteArray, QByteArray>> &headers);

} // namespace bindery::core
