// SPDX-License-Identifier: Apache-2.0
// Small, efficient HTTP/1.1 tools for the benches (raw sockets + epoll, one thread each):
//  - HttpLoad: a closed-loop keep-alive load generator (N connections, one request in flight
//    each), counting complete responses by status;
//  - TrivialApp: an app that answers every request with an empty 200, as cheaply as possible.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <map>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace bindery::bench {

inline int connectTo(uint16_t port)
{
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr *>(&a), sizeof a) != 0) {
        ::close(fd);
        throw std::runtime_error("connect failed on port " + std::to_string(port));
    }
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
    return fd;
}

// Finds the end of an HTTP message in `buf` starting at 0; returns its length or 0 if incomplete.
inline size_t messageLength(const std::string &buf)
{
    const size_t end = buf.find("\r\n\r\n");
    if (end == std::string::npos)
        return 0;
    size_t length = 0;
    size_t pos = 0;
    while (pos < end) {
        const size_t eol = buf.find("\r\n", pos);
        if (eol == std::string::npos || eol > end)
            break;
        if (eol - pos > 15 && strncasecmp(buf.data() + pos, "content-length:", 15) == 0)
            length = std::strtoull(buf.data() + pos + 15, nullptr, 10);
        pos = eol + 2;
    }
    return buf.size() >= end + 4 + length ? end + 4 + length : 0;
}

struct LoadResult
{
    uint64_t responses = 0;
    std::map<int, uint64_t> byStatus;
    double seconds = 0;
    double perSecond() const { return seconds > 0 ? responses / seconds : 0; }
};

/// Closed loop: each connection sends `request`, waits for the whole response, sends again.
inline LoadResult httpLoad(uint16_t port, const std::string &request, int connections,
                           double warmupS, double measureS)
{
    const int ep = ::epoll_create1(0);
    struct Conn
    {
        int fd;
        std::string in;
        size_t sent = 0;
    };
    std::vector<Conn> conns(static_cast<size_t>(connections));
    for (size_t i = 0; i < conns.size(); ++i) {
        conns[i].fd = connectTo(port);
        epoll_event ev{};
        ev.events = EPOLLIN | EPOLLOUT;
        ev.data.u64 = i;
        ::epoll_ctl(ep, EPOLL_CTL_ADD, conns[i].fd, &ev);
    }
    using Clock = std::chrono::steady_clock;
    const auto start = Clock::now();
    const auto measureFrom = start + std::chrono::duration<double>(warmupS);
    const auto until = measureFrom + std::chrono::duration<double>(measureS);
    LoadResult r;
    std::vector<epoll_event> events(conns.size());
    char chunk[65536];
    bool measuring = false;
    for (;;) {
        const auto now = Clock::now();
        if (now >= until)
            break;
        if (!measuring && now >= measureFrom) {
            measuring = true;
            r = LoadResult{};
        }
        const int n = ::epoll_wait(ep, events.data(), static_cast<int>(events.size()), 100);
        for (int e = 0; e < n; ++e) {
            Conn &c = conns[events[e].data.u64];
            if (events[e].events & EPOLLOUT && c.sent < request.size()) {
                const ssize_t w
                    = ::send(c.fd, request.data() + c.sent, request.size() - c.sent, MSG_NOSIGNAL);
                if (w > 0)
                    c.sent += static_cast<size_t>(w);
                if (c.sent == request.size()) {
                    epoll_event ev{};
                    ev.events = EPOLLIN;
                    ev.data.u64 = events[e].data.u64;
                    ::epoll_ctl(ep, EPOLL_CTL_MOD, c.fd, &ev);
                }
            }
            if (events[e].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
                for (;;) {
                    const ssize_t got = ::recv(c.fd, chunk, sizeof chunk, 0);
                    if (got > 0) {
                        c.in.append(chunk, static_cast<size_t>(got));
                        continue;
                    }
                    if (got == 0)
                        throw std::runtime_error("server closed a keep-alive connection");
                    break;
                }
                while (const size_t len = messageLength(c.in)) {
                    const int status = std::atoi(c.in.c_str() + 9);
                    ++r.byStatus[status];
                    ++r.responses;
                    c.in.erase(0, len);
                    c.sent = 0;
                    const ssize_t w = ::send(c.fd, request.data(), request.size(), MSG_NOSIGNAL);
                    if (w > 0)
                        c.sent = static_cast<size_t>(w);
                    if (c.sent < request.size()) {
                        epoll_event ev{};
                        ev.events = EPOLLIN | EPOLLOUT;
                        ev.data.u64 = events[e].data.u64;
                        ::epoll_ctl(ep, EPOLL_CTL_MOD, c.fd, &ev);
                    }
                }
            }
        }
    }
    r.seconds = std::chrono::duration<double>(Clock::now() - measureFrom).count();
    for (Conn &c : conns)
        ::close(c.fd);
    ::close(ep);
    return r;
}

/// The cheapest possible app: answers each request (keep-alive) with an empty 200, one thread.
class TrivialApp
{
public:
    TrivialApp()
    {
        m_listen = ::socket(AF_INET, SOCK_STREAM, 0);
        int one = 1;
        ::setsockopt(m_listen, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::bind(m_listen, reinterpret_cast<sockaddr *>(&a), sizeof a) != 0
            || ::listen(m_listen, 512) != 0)
            throw std::runtime_error("TrivialApp: cannot listen");
        socklen_t len = sizeof a;
        ::getsockname(m_listen, reinterpret_cast<sockaddr *>(&a), &len);
        m_port = ntohs(a.sin_port);
        ::fcntl(m_listen, F_SETFL, ::fcntl(m_listen, F_GETFL) | O_NONBLOCK);
        m_thread = std::thread([this] { loop(); });
    }
    ~TrivialApp()
    {
        m_stop = true;
        m_thread.join();
        ::close(m_listen);
    }
    uint16_t port() const { return m_port; }
    uint64_t served() const { return m_served.load(); }
    /// CPU seconds the app's thread has used so far.
    double cpuSeconds()
    {
        clockid_t id;
        timespec ts{};
        if (pthread_getcpuclockid(m_thread.native_handle(), &id) != 0
            || clock_gettime(id, &ts) != 0)
            return 0;
        return ts.tv_sec + ts.tv_nsec / 1e9;
    }

private:
    void loop()
    {
        const int ep = ::epoll_create1(0);
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.fd = m_listen;
        ::epoll_ctl(ep, EPOLL_CTL_ADD, m_listen, &ev);
        std::map<int, std::string> buffers;
        static const char reply[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
        epoll_event events[256];
        char chunk[65536];
        while (!m_stop) {
            const int n = ::epoll_wait(ep, events, 256, 50);
            for (int i = 0; i < n; ++i) {
                const int fd = events[i].data.fd;
                if (fd == m_listen) {
                    int c;
                    while ((c = ::accept4(m_listen, nullptr, nullptr, SOCK_NONBLOCK)) >= 0) {
                        int one = 1;
                        ::setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                        epoll_event ce{};
                        ce.events = EPOLLIN;
                        ce.data.fd = c;
                        ::epoll_ctl(ep, EPOLL_CTL_ADD, c, &ce);
                        buffers[c].clear();
                    }
                    continue;
                }
                std::string &buf = buffers[fd];
                bool closed = false;
                for (;;) {
                    const ssize_t got = ::recv(fd, chunk, sizeof chunk, 0);
                    if (got > 0) {
                        buf.append(chunk, static_cast<size_t>(got));
                        continue;
                    }
                    closed = got == 0;
                    break;
                }
                std::string out;
                while (const size_t len = messageLength(buf)) {
                    buf.erase(0, len);
                    out.append(reply, sizeof reply - 1);
                    m_served.fetch_add(1, std::memory_order_relaxed);
                }
                if (!out.empty())
                    (void)::send(fd, out.data(), out.size(), MSG_NOSIGNAL);
                if (closed) {
                    ::epoll_ctl(ep, EPOLL_CTL_DEL, fd, nullptr);
                    ::close(fd);
                    buffers.erase(fd);
                }
            }
        }
        for (auto &[fd, b] : buffers)
            ::close(fd);
        ::close(ep);
    }

    int m_listen = -1;
    uint16_t m_port = 0;
    std::atomic<bool> m_stop{false};
    std::atomic<uint64_t> m_served{0};
    std::thread m_thread;
};

} // namespace bindery::bench

namespace bindery::bench {
/// CPU seconds used by the whole process so far.
inline double processCpuSeconds()
{
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}
} // namespace bindery::bench
