// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <QByteArray>
#include <QObject>
#include <QPointer>
#include <QString>

#include "core/result.h"

class QSocketNotifier;
class QTimer;

namespace bindery::core::http {

class HttpServer;

/**
 * @brief One request as the transport parsed it (Boost.Beast's parser). Valid on the server's
 * thread until its answer is sent. Header lookups see the request header only, never a
 * chunked body's trailer (a trailer cannot smuggle a token or a trace header in).
 */
class HttpRequest
{
public:
    std::string_view method() const;
    /// The request-target as sent: "/v1.0/bindings/x?metadata.a=1" (or an absolute URI).
    std::string_view target() const;
    /// 10 for HTTP/1.0, 11 for HTTP/1.1 (1.x above 1 counts as 1.1, as in Go).
    int version() const;
    /// The first value of header `name` (case-insensitive), if present.
    std::optional<std::string_view> header(std::string_view name) const;
    /// Every value of header `name`, in order.
    std::vector<std::string_view> headerValues(std::string_view name) const;
    /// Every header field (name, value) in order.
    std::vector<std::pair<std::string_view, std::string_view>> headers() const;
    /// The whole body; empty before the header check (HttpHandler::checkHeader).
    const std::string &body() const;
    /// The declared Content-Length, if any (checked before the body is read).
    std::optional<std::uint64_t> contentLength() const;
    bool chunked() const;

private:
    friend class HttpServer;
    const void *m_message = nullptr; ///< the Beast request this view reads
    std::size_t m_headerFields = 0;  ///< fields of the header proper (trailer fields follow)
};

/** @brief An answer. The server adds Date, Content-Length and Connection. */
struct HttpResponse
{
    int status = 200;
    /// Sent as given, sorted by name as Go's net/http writes them; values must be valid.
    std::vector<std::pair<QByteArray, QByteArray>> headers;
    QByteArray body;
    bool close = false; ///< close the connection after this answer
};

/**
 * @brief Answers one request, once, any time after HttpHandler::handle returned or inside it.
 * A copyable handle: send() must be called on the server's thread; it does nothing when the
 * connection is gone (the client hung up) or the request was answered already.
 */
class HttpResponder
{
public:
    HttpResponder() = default;
    void send(HttpResponse response) const;

private:
    friend class HttpServer;
    QPointer<HttpServer> m_server;
    std::uint64_t m_connection = 0;
    std::uint64_t m_sequence = 0;
};

/**
 * @brief What the server calls for each request; every call is on the server's thread and none
 * may throw (a throw is caught, logged, answered 500 and the connection closed).
 */
class HttpHandler
{
public:
    virtual ~HttpHandler() = default;
    /// The header is complete and no body byte has been read: answer now (401, 413, ...) or
    /// return nothing to read the body. `100 Continue` is sent only when this returns nothing.
    virtual std::optional<HttpResponse> checkHeader(const HttpRequest &request) = 0;
    /// A chunked body went over the limit while it was read.
    virtual HttpResponse bodyTooLarge(const HttpRequest &request, std::uint64_t limit) = 0;
    /// The whole request: answer it exactly once through `responder`.
    virtual void handle(const HttpRequest &request, HttpResponder responder) = 0;
};

/** @brief Bounds that keep one client from exhausting the process (issue 14 items 3, 4). */
struct HttpServerLimits
{
    std::uint64_t maxBodySize = 4 * 1024 * 1024;
    /// Request line plus header fields (daprd: --read-buffer-size + Go's 4 KiB slop).
    std::uint32_t maxHeaderBytes = 8192;
    int headerTimeoutMs = 10000; ///< first byte to end of header (daprd's ReadHeaderTimeout)
    int bodyTimeoutMs = 60000;   ///< end of header to end of body
    int idleTimeoutMs = 120000;  ///< keep-alive wait for the next request
    int writeTimeoutMs = 60000;  ///< a client that stops reading its answer
    int maxConnections = 0;      ///< 0: from the descriptor limit (soft limit - 256, ≤ 10000)
};

/**
 * @brief An HTTP/1.1 server for the Dapr API: Boost.Beast's request parser driven by an epoll
 * set that sits in the owning thread's Qt event loop (one QSocketNotifier on the epoll
 * descriptor), so that thread keeps its Qt loop for everything else it serves.
 *
 * Requests of one connection are answered in order, one at a time (pipelining safe); the
 * header is checked before any body byte is read; `Expect: 100-continue` is honoured; header,
 * body, idle and write deadlines close slow or silent clients; connections are capped and
 * accept errors back off. Malformed framing is refused the way Go's net/http refuses it.
 *
 * Lives on one thread (create, use and destroy it there); never blocks.
 */
class HttpServer final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(HttpServer)

public:
    HttpServer(HttpHandler &handler, HttpServerLimits limits, QObject *parent = nullptr);
    ~HttpServer() override;

    /// Listens on `address` ("127.0.0.1", "::1", "0.0.0.0", "localhost"); returns the port
    /// bound (useful with port 0).
    [[nodiscard]] Result<quint16> listenTcp(const QString &address, quint16 port);
    /// Listens on a Unix domain socket at `path` (a stale socket file is replaced).
    [[nodiscard]] Result<> listenUnix(const QString &path);
    /// Stops listening and closes every connection (answers in flight are dropped).
    void close();

    int connectionCount() const { return static_cast<int>(m_connections.size()); }
    int maxConnections() const { return m_maxConnections; }

private:
    struct Connection;
    struct Listener;
    friend class HttpResponder;

    template <typename Fn> void guarded(std::uint64_t connection, Fn &&fn);
    void addListener(int fd, const QString &unixPath);
    void onEvents();
    void onSweep();
    void accept(Listener &listener);
    void resumeAccepting();
    void readable(Connection &c);
    void writable(Connection &c);
    void process(Connection &c);
    bool checkHeader(Connection &c);
    void dispatch(Connection &c);
    void respond(Connection &c, HttpResponse response);
    void send(std::uint64_t connection, std::uint64_t sequence, HttpResponse response);
    void rawError(Connection &c, int status, std::string_view reason);
    void queue(Connection &c, std::string head, QByteArray body);
    void flush(Connection &c);
    void startLinger(Connection &c);
    void updateInterest(Connection &c);
    void destroy(std::uint64_t id);
    void setDeadline(Connection &c, int timeoutMs);
    static std::int64_t nowMs();

    HttpHandler &m_handler;
    HttpServerLimits m_limits;
    int m_maxConnections = 0;
    int m_epoll = -1;
    QSocketNotifier *m_notifier = nullptr;
    QTimer *m_sweep = nullptr;
    QTimer *m_acceptRetry = nullptr;
    int m_acceptBackoffMs = 0;
    bool m_acceptPaused = false;
    std::int64_t m_lastAcceptLogMs = 0;
    int m_acceptErrorsHeld = 0;
    std::vector<std::unique_ptr<Listener>> m_listeners;
    std::unordered_map<std::uint64_t, std::unique_ptr<Connection>> m_connections;
    std::uint64_t m_nextId = 1;
};

/**
 * @brief Raises the soft RLIMIT_NOFILE to the hard limit, as Go's runtime does at start (so
 * daprd does too). Process-wide; idempotent; any thread. Returns the soft limit now in force.
 */
std::uint64_t raiseFileDescriptorLimit();

} // namespace bindery::core::http
