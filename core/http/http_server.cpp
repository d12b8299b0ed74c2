// SPDX-License-Identifier: Apache-2.0
#include "core/http/http_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <ctime>
#include <exception>
#include <limits>

#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include <QFile>
#include <QHostAddress>
#include <QLoggingCategory>
#include <QSocketNotifier>
#include <QTimer>

Q_LOGGING_CATEGORY(lcHttp, "bindery.core.http")

namespace bindery::core::http {

namespace beast = boost::beast;
using Message = beast::http::request<beast::http::string_body>;
using Parser = beast::http::request_parser<beast::http::string_body>;

namespace {

constexpr std::uint64_t LISTENER_BIT = std::uint64_t(1) << 63;
constexpr std::size_t READ_CHUNK = 64 * 1024;
constexpr std::size_t MAX_READ_PER_EVENT = 256 * 1024;
constexpr std::size_t PIPELINE_BUFFER = 64 * 1024; ///< read ahead while a request is handled
constexpr int LINGER_MS = 500;                     ///< Go's closeWriteAndWait

const Message &message(const void *m)
{
    return *static_cast<const Message *>(m);
}

bool iequals(std::string_view a, std::string_view b)
{
    if (a.size() != b.size())
        return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (std::tolower(static_cast<unsigned char>(a[i]))
            != std::tolower(static_cast<unsigned char>(b[i])))
            return false;
    }
    return true;
}

std::string_view trimOws(std::string_view s)
{
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
        s.remove_suffix(1);
    return s;
}

// Go's net/http StatusText for the statuses the API answers with.
const char *statusText(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 412: return "Precondition Failed";
    case 413: return "Request Entity Too Large";
    case 415: return "Unsupported Media Type";
    case 417: return "Expectation Failed";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: break;
    }
    const beast::string_view reason
        = beast::http::obsolete_reason(beast::http::int_to_status(static_cast<unsigned>(status)));
    return reason.empty() ? "" : reason.data();
}

// RFC 9110's IMF-fixdate, as Go's http.TimeFormat, cached per second.
const std::string &httpDate()
{
    thread_local std::time_t cachedAt = 0;
    thread_local std::string cached;
    const std::time_t now = std::time(nullptr);
    if (now != cachedAt || cached.empty()) {
        static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
        static const char *const months[]
            = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
        std::tm tm{};
        gmtime_r(&now, &tm);
        char buf[40];
        std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday],
                      tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                      tm.tm_sec);
        cached = buf;
        cachedAt = now;
    }
    return cached;
}

void appendNumber(std::string &out, std::uint64_t n)
{
    char buf[24];
    const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, n);
    out.append(buf, end);
}

bool isTokenChar(char c)
{
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u))
        return true;
    return std::strchr("!#$%&'*+-.^_`|~", c) != nullptr && c != 0;
}

// The request-target's path: origin form ("/..."), absolute form, or "*"; every '%' followed
// by two hex digits, as Go's URL parser demands before a request reaches a handler.
bool validTarget(std::string_view target)
{
    if (target == "*")
        return true;
    for (std::string_view scheme : {"http://", "https://"}) {
        if (target.substr(0, scheme.size()) == scheme) {
            const std::size_t slash = target.find('/', scheme.size());
            target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
        }
    }
    if (target.empty() || target.front() != '/')
        return false;
    const std::string_view path = target.substr(0, target.find('?'));
    for (std::size_t i = 0; i < path.size(); ++i) {
        if (path[i] != '%')
            continue;
        if (i + 2 >= path.size() || !std::isxdigit(static_cast<unsigned char>(path[i + 1]))
            || !std::isxdigit(static_cast<unsigned char>(path[i + 2])))
            return false;
        i += 2;
    }
    return true;
}

bool bodyForbidden(int status)
{
    return (status >= 100 && status < 200) || status == 204 || status == 304;
}

QString errnoText(int error)
{
    return QString::fromLocal8Bit(std::strerror(error));
}

} // namespace

// ---- HttpRequest

std::string_view HttpRequest::method() const
{
    const auto m = message(m_message).method_string();
    return {m.data(), m.size()};
}

std::string_view HttpRequest::target() const
{
    const auto t = message(m_message).target();
    return {t.data(), t.size()};
}

int HttpRequest::version() const
{
    return message(m_message).version() >= 11 ? 11 : 10;
}

// Calls fn(value) for each field of the header proper named `name`, until fn returns false.
template <typename Fn>
void forEachField(const Message &m, std::size_t fields, std::string_view name, Fn &&fn)
{
    std::size_t n = 0;
    for (const auto &f : m) {
        if (n++ >= fields)
            return;
        const auto k = f.name_string();
        if (iequals({k.data(), k.size()}, name)) {
            const auto v = f.value();
            if (!fn(std::string_view(v.data(), v.size())))
                return;
        }
    }
}

std::optional<std::string_view> HttpRequest::header(std::string_view name) const
{
    std::optional<std::string_view> out;
    forEachField(message(m_message), m_headerFields, name, [&](std::string_view v) {
        out = v;
        return false;
    });
    return out;
}

std::vector<std::string_view> HttpRequest::headerValues(std::string_view name) const
{
    std::vector<std::string_view> out;
    forEachField(message(m_message), m_headerFields, name, [&](std::string_view v) {
        out.push_back(v);
        return true;
    });
    return out;
}

std::vector<std::pair<std::string_view, std::string_view>> HttpRequest::headers() const
{
    std::vector<std::pair<std::string_view, std::string_view>> out;
    std::size_t n = 0;
    for (const auto &f : message(m_message)) {
        if (n++ >= m_headerFields)
            break;
        const auto k = f.name_string();
        const auto v = f.value();
        out.emplace_back(std::string_view(k.data(), k.size()),
                         std::string_view(v.data(), v.size()));
    }
    return out;
}

const std::string &HttpRequest::body() const
{
    return message(m_message).body();
}

std::optional<std::uint64_t> HttpRequest::contentLength() const
{
    const auto v = header("content-length");
    if (!v)
        return std::nullopt;
    std::uint64_t n = 0;
    for (char c : trimOws(*v))
        n = n * 10 + static_cast<std::uint64_t>(c - '0'); // digits only: checked at the header
    return n;
}

bool HttpRequest::chunked() const
{
    return header("transfer-encoding").has_value();
}

// ---- HttpResponder

void HttpResponder::send(HttpResponse response) const
{
    if (m_server)
        m_server->send(m_connection, m_sequence, std::move(response));
}

// ---- connection state

struct HttpServer::Listener
{
    std::uint64_t id = 0;
    int fd = -1;
    QString unixPath; ///< removed on close
};

struct HttpServer::Connection
{
    enum class Phase {
        Idle,     ///< keep-alive, waiting for the next request's first byte
        Header,   ///< reading a header
        Body,     ///< reading a body
        Handling, ///< the handler has the request
        Linger,   ///< answered and half-closed: discarding what the client still sends
    };
    struct Segment
    {
        std::string head;
        QByteArray body;
        std::size_t offset = 0; ///< over head then body
        std::size_t size() const { return head.size() + static_cast<std::size_t>(body.size()); }
    };

    std::uint64_t id = 0;
    int fd = -1;
    Phase phase = Phase::Header;
    std::string in; ///< bytes read, not yet given to the parser
    std::optional<Parser> parser;
    HttpRequest request;
    std::uint64_t sequence = 0;
    bool headerChecked = false;
    bool peerClosed = false;
    bool closeAfter = false;  ///< close once the queued output is written
    bool lingerAfter = false; ///< ...after a half-close and a short drain
    bool headRequest = false;
    bool keepAlive = true;
    bool inProcess = false;
    int version = 11;
    std::vector<Segment> out; ///< rarely more than one: a vector, not a deque (no node churn)
    std::uint32_t interest = 0;
    std::int64_t deadline = 0; ///< ms (steady clock); 0 = none
};

// ---- HttpServer

HttpServer::HttpServer(HttpHandler &handler, HttpServerLimits limits, QObject *parent)
    : QObject(parent)
    , m_handler(handler)
    , m_limits(limits)
{
    m_epoll = ::epoll_create1(EPOLL_CLOEXEC);
    if (m_epoll < 0)
        qCCritical(lcHttp).noquote() << "epoll_create1 failed:" << errnoText(errno);
    else {
        m_notifier = new QSocketNotifier(m_epoll, QSocketNotifier::Read, this);
        connect(m_notifier, &QSocketNotifier::activated, this, &HttpServer::onEvents);
    }
    const int shortest = std::min({m_limits.headerTimeoutMs, m_limits.bodyTimeoutMs,
                                   m_limits.idleTimeoutMs, m_limits.writeTimeoutMs, LINGER_MS});
    m_sweep = new QTimer(this);
    m_sweep->setInterval(std::clamp(shortest / 4, 25, 1000));
    connect(m_sweep, &QTimer::timeout, this, &HttpServer::onSweep);
    m_acceptRetry = new QTimer(this);
    m_acceptRetry->setSingleShot(true);
    connect(m_acceptRetry, &QTimer::timeout, this, &HttpServer::resumeAccepting);

    m_maxConnections = m_limits.maxConnections;
    if (m_maxConnections <= 0) {
        rlimit rl{};
        const std::uint64_t soft
            = ::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY ? rl.rlim_cur
                                                                                   : 1024;
        m_maxConnections
            = static_cast<int>(std::clamp<std::uint64_t>(soft > 320 ? soft - 256 : 64, 64, 10000));
    }
}

HttpServer::~HttpServer()
{
    close();
    if (m_epoll >= 0)
        ::close(m_epoll);
}

std::int64_t HttpServer::nowMs()
{
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

Result<quint16> HttpServer::listenTcp(const QString &address, quint16 port)
{
    if (m_epoll < 0)
        return fail(ErrorCode::Io, QStringLiteral("the HTTP server has no epoll set"));
    QHostAddress host;
    if (address == QStringLiteral("localhost"))
        host = QHostAddress::LocalHost;
    else if (!host.setAddress(address))
        return fail(
            ErrorCode::InvalidMetadata,
            QStringLiteral("--dapr-listen-addresses: '%1' is not an IP address").arg(address));
    const bool v6 = host.protocol() == QAbstractSocket::IPv6Protocol;
    const int fd = ::socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return fail(
            ErrorCode::Io,
            QStringLiteral("cannot create a socket for the HTTP API: %1").arg(errnoText(errno)));
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_storage storage{};
    socklen_t length = 0;
    if (v6) {
        ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
        auto *a = reinterpret_cast<sockaddr_in6 *>(&storage);
        a->sin6_family = AF_INET6;
        a->sin6_port = htons(port);
        const Q_IPV6ADDR bytes = host.toIPv6Address();
        std::memcpy(&a->sin6_addr, &bytes, sizeof bytes);
        length = sizeof *a;
    } else {
        auto *a = reinterpret_cast<sockaddr_in *>(&storage);
        a->sin_family = AF_INET;
        a->sin_port = htons(port);
        a->sin_addr.s_addr = htonl(host.toIPv4Address());
        length = sizeof *a;
    }
    if (::bind(fd, reinterpret_cast<sockaddr *>(&storage), length) != 0
        || ::listen(fd, SOMAXCONN) != 0) {
        const QString why = errnoText(errno);
        ::close(fd);
        return fail(ErrorCode::Io, QStringLiteral("cannot listen on %1:%2 for the HTTP API: %3")
                                       .arg(address, QString::number(port), why));
    }
    ::getsockname(fd, reinterpret_cast<sockaddr *>(&storage), &length);
    const quint16 bound = ntohs(v6 ? reinterpret_cast<sockaddr_in6 *>(&storage)->sin6_port
                                   : reinterpret_cast<sockaddr_in *>(&storage)->sin_port);
    addListener(fd, {});
    return bound;
}

Result<> HttpServer::listenUnix(const QString &path)
{
    if (m_epoll < 0)
        return fail(ErrorCode::Io, QStringLiteral("the HTTP server has no epoll set"));
    const QByteArray native = QFile::encodeName(path);
    sockaddr_un a{};
    if (static_cast<std::size_t>(native.size()) >= sizeof a.sun_path)
        return fail(ErrorCode::InvalidMetadata,
                    QStringLiteral("unix socket path too long (%1 bytes, at most %2): %3")
                        .arg(native.size())
                        .arg(sizeof a.sun_path - 1)
                        .arg(path));
    a.sun_family = AF_UNIX;
    std::memcpy(a.sun_path, native.constData(), static_cast<std::size_t>(native.size()));
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return fail(ErrorCode::Io,
                    QStringLiteral("cannot create a unix socket: %1").arg(errnoText(errno)));
    // A socket file left by a process that died is replaced; a live one is an error.
    struct stat st
    {
    };
    if (::lstat(native.constData(), &st) == 0 && S_ISSOCK(st.st_mode)) {
        const int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        const bool live
            = probe >= 0 && ::connect(probe, reinterpret_cast<sockaddr *>(&a), sizeof a) == 0;
        if (probe >= 0)
            ::close(probe);
        if (!live)
            ::unlink(native.constData());
    }
    if (::bind(fd, reinterpret_cast<sockaddr *>(&a), sizeof a) != 0
        || ::listen(fd, SOMAXCONN) != 0) {
        const QString why = errnoText(errno);
        ::close(fd);
        return fail(
            ErrorCode::Io,
            QStringLiteral("cannot listen on unix socket %1 for the HTTP API: %2").arg(path, why));
    }
    addListener(fd, path);
    return {};
}

void HttpServer::addListener(int fd, const QString &unixPath)
{
    auto listener = std::make_unique<Listener>();
    listener->id = LISTENER_BIT | m_nextId++;
    listener->fd = fd;
    listener->unixPath = unixPath;
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = listener->id;
    ::epoll_ctl(m_epoll, EPOLL_CTL_ADD, fd, &ev);
    m_listeners.push_back(std::move(listener));
    m_sweep->start();
}

void HttpServer::close()
{
    for (const auto &l : m_listeners) {
        ::epoll_ctl(m_epoll, EPOLL_CTL_DEL, l->fd, nullptr);
        ::close(l->fd);
        if (!l->unixPath.isEmpty())
            ::unlink(QFile::encodeName(l->unixPath).constData());
    }
    m_listeners.clear();
    std::vector<std::uint64_t> ids;
    ids.reserve(m_connections.size());
    for (const auto &[id, c] : m_connections)
        ids.push_back(id);
    for (std::uint64_t id : ids)
        destroy(id);
    if (m_sweep)
        m_sweep->stop();
    if (m_acceptRetry)
        m_acceptRetry->stop();
}

template <typename Fn> void HttpServer::guarded(std::uint64_t connection, Fn &&fn)
{
    // One guard per entry point (issue 14 item 1): whatever one connection's request does, the
    // server logs it, drops that connection and keeps serving the others.
    try {
        fn();
    } catch (const std::exception &e) {
        qCCritical(lcHttp).noquote()
            << QStringLiteral("HTTP connection failed: %1").arg(QString::fromUtf8(e.what()));
        destroy(connection);
    } catch (...) {
        qCCritical(lcHttp).noquote() << "HTTP connection failed with an unknown exception";
        destroy(connection);
    }
}

void HttpServer::onEvents()
{
    epoll_event events[128];
    const int n = ::epoll_wait(m_epoll, events, 128, 0);
    for (int i = 0; i < n; ++i) {
        const std::uint64_t id = events[i].data.u64;
        const std::uint32_t ev = events[i].events;
        if (id & LISTENER_BIT) {
            for (const auto &l : m_listeners) {
                if (l->id == id) {
                    guarded(0, [&] { accept(*l); });
                    break;
                }
            }
            continue;
        }
        guarded(id, [&] {
            auto it = m_connections.find(id);
            if (it == m_connections.end())
                return; // closed by an earlier event of this batch
            if (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
                readable(*it->second);
            it = m_connections.find(id);
            if (it != m_connections.end() && (ev & (EPOLLHUP | EPOLLERR))) {
                destroy(id); // both directions are gone: nothing can be answered
                return;
            }
            if (it != m_connections.end() && (ev & EPOLLOUT))
                writable(*it->second);
        });
    }
}

void HttpServer::accept(Listener &listener)
{
    for (int i = 0; i < 64; ++i) {
        if (static_cast<int>(m_connections.size()) >= m_maxConnections) {
            // At the cap: leave further clients in the kernel's backlog until one closes.
            if (!m_acceptPaused) {
                qCWarning(lcHttp).noquote()
                    << QStringLiteral("HTTP API: %1 connections open, the limit; new "
                                      "connections wait until one closes")
                           .arg(m_connections.size());
                m_acceptPaused = true;
                for (const auto &l : m_listeners) {
                    epoll_event ev{};
                    ev.data.u64 = l->id;
                    ::epoll_ctl(m_epoll, EPOLL_CTL_MOD, l->fd, &ev);
                }
            }
            return;
        }
        const int fd = ::accept4(listener.fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            const int err = errno;
            if (err == EAGAIN || err == EWOULDBLOCK)
                return;
            if (err == EINTR || err == ECONNABORTED || err == EPROTO || err == EPERM)
                continue;
            // Out of descriptors or memory: Go's backoff (5 ms doubling to 1 s), logged once a
            // second with a count, instead of a busy loop on a listener that stays readable.
            m_acceptBackoffMs = m_acceptBackoffMs ? std::min(m_acceptBackoffMs * 2, 1000) : 5;
            const std::int64_t now = nowMs();
            if (now - m_lastAcceptLogMs >= 1000) {
                qCWarning(lcHttp).noquote()
                    << QStringLiteral("HTTP API: accept failed: %1; retrying in %2 ms%3")
                           .arg(errnoText(err))
                           .arg(m_acceptBackoffMs)
                           .arg(m_acceptErrorsHeld
                                    ? QStringLiteral(" (%1 more since the last message)")
                                          .arg(m_acceptErrorsHeld)
                                    : QString());
                m_lastAcceptLogMs = now;
                m_acceptErrorsHeld = 0;
            } else {
                ++m_acceptErrorsHeld;
            }
            m_acceptPaused = true;
            for (const auto &l : m_listeners) {
                epoll_event ev{};
                ev.data.u64 = l->id;
                ::epoll_ctl(m_epoll, EPOLL_CTL_MOD, l->fd, &ev);
            }
            m_acceptRetry->start(m_acceptBackoffMs);
            return;
        }
        m_acceptBackoffMs = 0;
        const int one = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one); // fails harmlessly on unix
        auto c = std::make_unique<Connection>();
        c->id = m_nextId++;
        c->fd = fd;
        c->phase = Connection::Phase::Header;
        setDeadline(*c, m_limits.headerTimeoutMs);
        epoll_event ev{};
        ev.events = EPOLLIN | EPOLLRDHUP;
        ev.data.u64 = c->id;
        c->interest = ev.events;
        if (::epoll_ctl(m_epoll, EPOLL_CTL_ADD, fd, &ev) != 0) {
            ::close(fd);
            continue;
        }
        m_connections.emplace(c->id, std::move(c));
    }
}

void HttpServer::resumeAccepting()
{
    if (!m_acceptPaused || static_cast<int>(m_connections.size()) >= m_maxConnections)
        return;
    if (m_acceptRetry->isActive())
        return;
    m_acceptPaused = false;
    for (const auto &l : m_listeners) {
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.u64 = l->id;
        ::epoll_ctl(m_epoll, EPOLL_CTL_MOD, l->fd, &ev);
    }
}

void HttpServer::setDeadline(Connection &c, int timeoutMs)
{
    c.deadline = timeoutMs > 0 ? nowMs() + timeoutMs : 0;
}

void HttpServer::onSweep()
{
    const std::int64_t now = nowMs();
    std::vector<std::uint64_t> expired;
    for (const auto &[id, c] : m_connections) {
        if (c->deadline && now >= c->deadline)
            expired.push_back(id);
    }
    // A timed-out client gets no answer (as Go's server: a read deadline just closes).
    for (std::uint64_t id : expired)
        destroy(id);
}

void HttpServer::readable(Connection &c)
{
    const std::uint64_t id = c.id;
    thread_local std::string scratch;
    scratch.resize(READ_CHUNK);
    std::size_t total = 0;
    bool eof = false;
    while (total < MAX_READ_PER_EVENT) {
        const ssize_t n = ::recv(c.fd, scratch.data(), READ_CHUNK, 0);
        if (n > 0) {
            total += static_cast<std::size_t>(n);
            if (c.phase != Connection::Phase::Linger) // else discarded
                c.in.append(scratch.data(), static_cast<std::size_t>(n));
            if (c.phase == Connection::Phase::Handling && c.in.size() >= PIPELINE_BUFFER)
                break; // read-ahead is full; the rest waits in the kernel
            if (static_cast<std::size_t>(n) < READ_CHUNK)
                break; // drained: level-triggered epoll reports what comes next
            continue;
        }
        if (n == 0) {
            eof = true;
            break;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            break;
        destroy(id); // reset by the peer
        return;
    }
    if (eof) {
        c.peerClosed = true;
        // A client that half-closes after its request still gets the answer; one that left
        // in the middle of a request, or between requests, is gone.
        const bool midRequest
            = c.phase == Connection::Phase::Header || c.phase == Connection::Phase::Body;
        if (c.phase == Connection::Phase::Linger || c.phase == Connection::Phase::Idle
            || (midRequest && c.in.empty() && !c.parser)) {
            destroy(id);
            return;
        }
    }
    process(c);
    if (m_connections.count(id))
        updateInterest(*m_connections.at(id));
}

void HttpServer::process(Connection &c)
{
    using Phase = Connection::Phase;
    const std::uint64_t id = c.id;
    // An answer given inside handle() lands here again: the outer loop goes on instead.
    if (c.inProcess)
        return;
    c.inProcess = true;
    struct Guard
    {
        HttpServer *server;
        std::uint64_t id;
        ~Guard()
        {
            auto it = server->m_connections.find(id);
            if (it != server->m_connections.end())
                it->second->inProcess = false;
        }
    } guard{this, id};
    for (;;) {
        if (c.phase == Phase::Handling || c.phase == Phase::Linger || !c.out.empty()
            || c.closeAfter)
            return;
        if (c.phase == Phase::Idle) {
            if (c.in.empty()) {
                if (c.peerClosed)
                    destroy(id);
                return;
            }
            c.phase = Phase::Header;
            setDeadline(c, m_limits.headerTimeoutMs);
        }
        if (!c.parser) {
            c.parser.emplace();
            c.parser->header_limit(m_limits.maxHeaderBytes);
            // No body limit yet: the handler sees a too large Content-Length first (a wrong
            // token is answered 401 before 413, as daprd's middleware order has it).
            // Unlimited (Beast 1.74 compares boost::none below any length, so not none).
            c.parser->body_limit(std::numeric_limits<std::uint64_t>::max());
            c.parser->eager(false); // stop after the header: it is checked before the body
            c.headerChecked = false;
            c.request.m_message = &c.parser->get();
            c.request.m_headerFields = 0;
        }
        beast::error_code ec;
        std::size_t used = 0;
        // A message without a body is complete with its header: what follows it (the next
        // pipelined request, or garbage) waits for the next parser (Beast must not be fed then).
        if (!c.in.empty() && !c.parser->is_done())
            used = c.parser->put(boost::asio::buffer(c.in.data(), c.in.size()), ec);
        else if (!c.parser->is_header_done() || !c.parser->is_done())
            ec = beast::http::error::need_more;
        c.in.erase(0, used);
        if (ec == beast::http::error::need_more) {
            if (c.parser->is_header_done() && !c.headerChecked) {
                // fall through to the header check below
            } else {
                if (c.peerClosed) {
                    destroy(id); // the request will never be complete
                    return;
                }
                if (c.in.size() > m_limits.maxHeaderBytes + 4096) {
                    rawError(c, 400, {}); // an endless chunk header or trailer line
                    return;
                }
                return;
            }
        } else if (ec == beast::http::error::header_limit) {
            rawError(c, 431, {});
            return;
        } else if (ec == beast::http::error::bad_version) {
            // A request line with a bare LF is malformed, not a version Go would refuse.
            const std::size_t eol = c.in.find('\n');
            if (eol != std::string::npos && (eol == 0 || c.in[eol - 1] != '\r'))
                rawError(c, 400, {});
            else
                rawError(c, 505, "unsupported protocol version");
            return;
        } else if (ec == beast::http::error::bad_transfer_encoding) {
            rawError(c, 501, {}); // a repeated Transfer-Encoding, or one beside Content-Length
            return;
        } else if (ec == beast::http::error::body_limit) {
            HttpResponse r = m_handler.bodyTooLarge(c.request, m_limits.maxBodySize);
            r.close = true;
            c.lingerAfter = true;
            respond(c, std::move(r));
            return;
        } else if (ec) {
            rawError(c, 400, {});
            return;
        }
        if (c.parser->is_header_done() && !c.headerChecked) {
            if (!checkHeader(c))
                return;
            continue;
        }
        if (c.parser->is_done()) {
            dispatch(c);
            if (!m_connections.count(id))
                return;
            continue;
        }
        if (c.peerClosed) {
            destroy(id);
            return;
        }
        return; // the body continues in a later read
    }
}

bool HttpServer::checkHeader(Connection &c)
{
    c.headerChecked = true;
    const Message &m = c.parser->get();
    c.request.m_headerFields = static_cast<std::size_t>(std::distance(m.begin(), m.end()));
    c.sequence++;
    const unsigned version = m.version();
    if (version < 10 || version > 19) {
        rawError(c, 505, "unsupported protocol version");
        return false;
    }
    c.version = version >= 11 ? 11 : 10;
    c.keepAlive = c.parser->keep_alive();
    c.headRequest = m.method() == beast::http::verb::head;

    if (!validTarget(c.request.target())) {
        rawError(c, 400, {}); // Go's url.ParseRequestURI refuses it
        return false;
    }
    const std::vector<std::string_view> hosts = c.request.headerValues("host");
    if (hosts.size() > 1 || (c.version == 11 && hosts.empty())) {
        rawError(c, 400, hosts.empty() ? "missing required Host header" : std::string_view());
        return false;
    }
    // Framing must be unambiguous (no request smuggling): one Transfer-Encoding, exactly
    // "chunked", never with Content-Length (the parser refuses that pair) nor in HTTP/1.0;
    // Content-Length only digits, and repeated only with the same text.
    const std::vector<std::string_view> te = c.request.headerValues("transfer-encoding");
    if (!te.empty()) {
        if (c.version == 10) {
            rawError(c, 400, {});
            return false;
        }
        if (te.size() > 1 || !iequals(trimOws(te.front()), "chunked")) {
            rawError(c, 501, {});
            return false;
        }
    }
    const std::vector<std::string_view> lengths = c.request.headerValues("content-length");
    for (std::string_view v : lengths) {
        const std::string_view t = trimOws(v);
        const bool digits
            = !t.empty() && t.size() <= 18
              && std::all_of(t.begin(), t.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
        if (!digits || t != trimOws(lengths.front())) {
            rawError(c, 400, {});
            return false;
        }
    }
    bool expectContinue = false;
    if (const auto expect = c.request.header("expect"); expect && c.version == 11) {
        if (!iequals(trimOws(*expect), "100-continue")) {
            c.closeAfter = true;
            c.lingerAfter = true;
            queue(c,
                  "HTTP/1.1 417 Expectation Failed\r\nConnection: close\r\nDate: " + httpDate()
                      + "\r\nContent-Length: 0\r\n\r\n",
                  {});
            return false;
        }
        expectContinue = true;
    }
    const bool bodyExpected = c.parser->chunked() || c.parser->content_length().value_or(0) > 0;

    std::optional<HttpResponse> early;
    try {
        early = m_handler.checkHeader(c.request);
    } catch (const std::exception &e) {
        qCCritical(lcHttp).noquote()
            << QStringLiteral("HTTP header check threw: %1").arg(QString::fromUtf8(e.what()));
        early = HttpResponse{500, {}, {}, true};
    }
    if (early) {
        // Answered before the body: the body is never read, so the connection cannot be
        // reused (Go closes too when the unread rest is large or 100-continue was pending).
        if (bodyExpected) {
            early->close = true;
            c.lingerAfter = true;
        }
        respond(c, std::move(*early));
        return false;
    }
    if (c.parser->content_length().value_or(0) > m_limits.maxBodySize) {
        HttpResponse r = m_handler.bodyTooLarge(c.request, m_limits.maxBodySize);
        r.close = true;
        c.lingerAfter = true;
        respond(c, std::move(r));
        return false;
    }
    c.parser->body_limit(m_limits.maxBodySize); // a chunked body is counted as it comes
    if (expectContinue && bodyExpected) {
        queue(c, "HTTP/1.1 100 Continue\r\n\r\n", {});
        flush(c);
        if (!m_connections.count(c.id))
            return false;
    }
    c.parser->eager(true);
    c.phase = Connection::Phase::Body;
    setDeadline(c, m_limits.bodyTimeoutMs);
    return true;
}

void HttpServer::dispatch(Connection &c)
{
    c.phase = Connection::Phase::Handling;
    c.deadline = 0; // the binding bounds its own work
    HttpResponder responder;
    responder.m_server = this;
    responder.m_connection = c.id;
    responder.m_sequence = c.sequence;
    try {
        m_handler.handle(c.request, responder);
    } catch (const std::exception &e) {
        qCCritical(lcHttp).noquote()
            << QStringLiteral("HTTP handler threw: %1").arg(QString::fromUtf8(e.what()));
        send(responder.m_connection, responder.m_sequence, HttpResponse{500, {}, {}, true});
    } catch (...) {
        qCCritical(lcHttp).noquote() << "HTTP handler threw an unknown exception";
        send(responder.m_connection, responder.m_sequence, HttpResponse{500, {}, {}, true});
    }
}

void HttpServer::send(std::uint64_t connection, std::uint64_t sequence, HttpResponse response)
{
    guarded(connection, [&] {
        auto it = m_connections.find(connection);
        if (it == m_connections.end())
            return; // the client went away
        Connection &c = *it->second;
        if (c.sequence != sequence || c.phase != Connection::Phase::Handling)
            return; // answered already
        respond(c, std::move(response));
        if (!m_connections.count(connection))
            return;
        process(c); // the next pipelined request, if any
        if (m_connections.count(connection))
            updateInterest(c);
    });
}

void HttpServer::respond(Connection &c, HttpResponse response)
{
    const int status = response.status;
    if (!c.keepAlive || c.peerClosed)
        response.close = true;
    std::string head;
    std::size_t estimate = 160;
    for (const auto &[k, v] : response.headers)
        estimate += static_cast<std::size_t>(k.size() + v.size()) + 4;
    head.reserve(estimate);
    head += c.version == 11 ? "HTTP/1.1 " : "HTTP/1.0 ";
    appendNumber(head, static_cast<std::uint64_t>(status));
    head += ' ';
    head += statusText(status);
    head += "\r\n";
    // Go's net/http writes the handler's headers sorted by name, then Date, Content-Length,
    // Connection.
    std::stable_sort(response.headers.begin(), response.headers.end(),
                     [](const auto &a, const auto &b) { return a.first < b.first; });
    for (const auto &[k, v] : response.headers) {
        // As Go's Header.Write: a name that is not a token is skipped, CR and LF in a value
        // become spaces (a binding's metadata can never split the answer).
        if (k.isEmpty() || !std::all_of(k.cbegin(), k.cend(), isTokenChar))
            continue;
        head.append(k.constData(), static_cast<std::size_t>(k.size()));
        head += ": ";
        const std::size_t at = head.size();
        head += trimOws(std::string_view(v.constData(), static_cast<std::size_t>(v.size())));
        std::replace_if(
            head.begin() + static_cast<std::ptrdiff_t>(at), head.end(),
            [](char ch) { return ch == '\r' || ch == '\n'; }, ' ');
        head += "\r\n";
    }
    head += "Date: ";
    head += httpDate();
    head += "\r\n";
    const bool noBody = bodyForbidden(status);
    if (!noBody) {
        head += "Content-Length: ";
        appendNumber(head, static_cast<std::uint64_t>(response.body.size()));
        head += "\r\n";
    }
    if (response.close) {
        if (c.version == 11)
            head += "Connection: close\r\n";
    } else if (c.version == 10) {
        head += "Connection: keep-alive\r\n";
    }
    head += "\r\n";
    if (noBody || c.headRequest)
        response.body.clear();
    // The request is answered: from here the connection waits for the next one (or closes).
    c.closeAfter = response.close;
    if (!c.closeAfter) {
        c.parser.reset();
        c.phase = Connection::Phase::Idle;
        setDeadline(c, m_limits.idleTimeoutMs);
    }
    queue(c, std::move(head), std::move(response.body)); // may close the connection
}

void HttpServer::rawError(Connection &c, int status, std::string_view reason)
{
    // Go's own answers to requests it cannot read (server.go): no Date, the status as body.
    std::string line = std::to_string(status) + ' ' + statusText(status);
    if (!reason.empty()) {
        line += ": ";
        line += reason;
    }
    const std::string body = status == 501 ? std::string("Unsupported transfer encoding") : line;
    c.closeAfter = true;
    c.lingerAfter = true;
    queue(c,
          "HTTP/1.1 " + line
              + "\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n" + body,
          {});
}

void HttpServer::queue(Connection &c, std::string head, QByteArray body)
{
    Connection::Segment s;
    s.head = std::move(head);
    s.body = std::move(body);
    c.out.push_back(std::move(s));
    flush(c);
}

void HttpServer::flush(Connection &c)
{
    const std::uint64_t id = c.id;
    while (!c.out.empty()) {
        iovec iov[16];
        int count = 0;
        for (auto it = c.out.begin(); it != c.out.end() && count < 15; ++it) {
            std::size_t offset = it->offset;
            if (offset < it->head.size()) {
                iov[count].iov_base = it->head.data() + offset;
                iov[count].iov_len = it->head.size() - offset;
                ++count;
                offset = 0;
            } else {
                offset -= it->head.size();
            }
            if (static_cast<std::size_t>(it->body.size()) > offset) {
                iov[count].iov_base = it->body.data() + offset;
                iov[count].iov_len = static_cast<std::size_t>(it->body.size()) - offset;
                ++count;
            }
        }
        msghdr msg{};
        msg.msg_iov = iov;
        msg.msg_iovlen = static_cast<std::size_t>(count);
        const ssize_t n = ::sendmsg(c.fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                if (c.phase != Connection::Phase::Handling)
                    setDeadline(c, m_limits.writeTimeoutMs);
                updateInterest(c);
                return;
            }
            destroy(id);
            return;
        }
        std::size_t done = static_cast<std::size_t>(n);
        while (done > 0 && !c.out.empty()) {
            Connection::Segment &s = c.out.front();
            const std::size_t left = s.size() - s.offset;
            if (done >= left) {
                done -= left;
                c.out.erase(c.out.begin());
            } else {
                s.offset += done;
                done = 0;
            }
        }
    }
    // Everything is written.
    if (c.closeAfter) {
        if (c.lingerAfter || !c.in.empty()) {
            startLinger(c);
        } else {
            destroy(id);
        }
        return;
    }
    if (c.phase == Connection::Phase::Idle)
        setDeadline(c, m_limits.idleTimeoutMs);
    updateInterest(c);
}

void HttpServer::writable(Connection &c)
{
    const std::uint64_t id = c.id;
    flush(c);
    if (!m_connections.count(id))
        return;
    if (c.out.empty() && !c.closeAfter)
        process(c);
    if (m_connections.count(id))
        updateInterest(c);
}

void HttpServer::startLinger(Connection &c)
{
    // Half-close and drain briefly, so the client reads the answer instead of a reset caused
    // by the request bytes it is still sending (Go's closeWriteAndWait).
    ::shutdown(c.fd, SHUT_WR);
    c.phase = Connection::Phase::Linger;
    c.in.clear();
    c.parser.reset();
    c.closeAfter = false;
    c.deadline = nowMs() + LINGER_MS;
    if (c.peerClosed) {
        destroy(c.id);
        return;
    }
    updateInterest(c);
}

void HttpServer::updateInterest(Connection &c)
{
    using Phase = Connection::Phase;
    std::uint32_t want = 0;
    const bool readAhead = c.phase == Phase::Handling || !c.out.empty();
    if (!c.peerClosed && !(readAhead && c.in.size() >= PIPELINE_BUFFER))
        want |= EPOLLIN | EPOLLRDHUP;
    if (!c.out.empty())
        want |= EPOLLOUT;
    if (want == c.interest)
        return;
    epoll_event ev{};
    ev.events = want;
    ev.data.u64 = c.id;
    ::epoll_ctl(m_epoll, EPOLL_CTL_MOD, c.fd, &ev);
    c.interest = want;
}

void HttpServer::destroy(std::uint64_t id)
{
    auto it = m_connections.find(id);
    if (it == m_connections.end())
        return;
    std::unique_ptr<Connection> c = std::move(it->second);
    m_connections.erase(it);
    ::epoll_ctl(m_epoll, EPOLL_CTL_DEL, c->fd, nullptr);
    ::close(c->fd);
    if (m_acceptPaused)
        resumeAccepting();
}

std::uint64_t raiseFileDescriptorLimit()
{
    rlimit rl{};
    if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &rl);
    }
    ::getrlimit(RLIMIT_NOFILE, &rl);
    return rl.rlim_cur == RLIM_INFINITY ? UINT64_MAX : rl.rlim_cur;
}

} // namespace bindery::core::http
