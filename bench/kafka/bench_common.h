// SPDX-License-Identifier: Apache-2.0
// Shared pieces of the Kafka benchmarks: a keep-alive HTTP/1.1 load generator on raw sockets
// (epoll, one thread), a trivial epoll HTTP app that checks per-partition order, binderyd
// launching, and percentile helpers. Plain C++ so the load side costs little CPU.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <spawn.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <thread>
#include <vector>

extern char **environ;

namespace bench {

using Clock = std::chrono::steady_clock;

inline double usSince(Clock::time_point t)
{
    return std::chrono::duration<double, std::micro>(Clock::now() - t).count();
}

inline double percentile(std::vector<double> v, double p)
{
    if (v.empty())
        return 0;
    std::sort(v.begin(), v.end());
    size_t i = static_cast<size_t>(p / 100.0 * static_cast<double>(v.size() - 1) + 0.5);
    return v[std::min(i, v.size() - 1)];
}

inline std::string env(const char *name, const char *fallback)
{
    const char *v = getenv(name);
    return v && *v ? v : fallback;
}

inline int connectTo(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, reinterpret_cast<sockaddr *>(&a), sizeof a) != 0) {
        close(fd);
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

inline int freePort()
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, reinterpret_cast<sockaddr *>(&a), sizeof a);
    socklen_t len = sizeof a;
    getsockname(fd, reinterpret_cast<sockaddr *>(&a), &len);
    close(fd);
    return ntohs(a.sin_port);
}

/// Parses one complete HTTP/1.1 message at the start of `buf` (head, then a Content-Length body
/// unless `bodyless`): its length, or 0 if incomplete; `*bodyStart` is where its body begins.
inline size_t messageLength(const std::string &buf, size_t *bodyStart, bool bodyless = false)
{
    const size_t end = buf.find("\r\n\r\n");
    if (end == std::string::npos)
        return 0;
    size_t body = 0;
    const char *cl = strcasestr(buf.c_str(), "\r\ncontent-length:");
    if (!bodyless && cl && static_cast<size_t>(cl - buf.c_str()) < end)
        body = strtoul(cl + 17, nullptr, 10);
    *bodyStart = end + 4;
    return buf.size() >= end + 4 + body ? end + 4 + body : 0;
}

/// Parses one complete HTTP response at the start of `buf`: its length, or 0 if incomplete.
inline size_t responseLength(const std::string &buf, int *status)
{
    if (buf.find("\r\n\r\n") == std::string::npos)
        return 0;
    *status = atoi(buf.c_str() + 9);
    size_t bodyStart = 0;
    return messageLength(buf, &bodyStart, *status == 204 || *status == 304);
}

/// Listens on 127.0.0.1 on a free port: the port; the socket in `*fd`.
inline int listenLoopback(int *fd)
{
    *fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(*fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(*fd, reinterpret_cast<sockaddr *>(&a), sizeof a);
    listen(*fd, 128);
    socklen_t len = sizeof a;
    getsockname(*fd, reinterpret_cast<sockaddr *>(&a), &len);
    return ntohs(a.sin_port);
}

/// One blocking keep-alive request (used for health checks and the floor).
inline int blockingRequest(int &fd, int port, const std::string &req)
{
    if (fd < 0)
        fd = connectTo(port);
    if (fd < 0)
        return 0;
    if (write(fd, req.data(), req.size()) != static_cast<ssize_t>(req.size())) {
        close(fd);
        fd = -1;
        return 0;
    }
    std::string buf;
    char tmp[4096];
    int status = 0;
    for (;;) {
        ssize_t n = read(fd, tmp, sizeof tmp);
        if (n <= 0) {
            close(fd);
            fd = -1;
            return 0;
        }
        buf.append(tmp, static_cast<size_t>(n));
        if (responseLength(buf, &status))
            return status;
    }
}

struct LoadResult
{
    std::vector<double> latUs;
    double seconds = 0;
    long ok = 0;
    long failed = 0;
    double rps() const { return seconds > 0 ? static_cast<double>(ok + failed) / seconds : 0; }
};

/**
 * Sends `request` over `conns` keep-alive connections for `seconds`.
 * ratePerSec == 0: closed loop (each connection sends again as soon as it got its answer).
 * ratePerSec > 0: open loop at that rate; latency counts from the scheduled send time.
 */
inline LoadResult runLoad(int port, const std::string &request, int conns, double seconds,
                          double ratePerSec = 0, double warmupSeconds = 1.0)
{
    struct Conn
    {
        int fd = -1;
        bool busy = false;
        Clock::time_point sent;
        std::string buf;
    };
    std::vector<Conn> cs(static_cast<size_t>(conns));
    int ep = epoll_create1(0);
    for (int i = 0; i < conns; ++i) {
        cs[i].fd = connectTo(port);
        if (cs[i].fd < 0) {
            fprintf(stderr, "connect failed\n");
            exit(2);
        }
        epoll_event e{};
        e.events = EPOLLIN;
        e.data.u32 = static_cast<uint32_t>(i);
        epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &e);
    }
    LoadResult r;
    const auto start = Clock::now();
    const auto measureFrom = start
                             + std::chrono::duration_cast<Clock::duration>(
                                 std::chrono::duration<double>(warmupSeconds));
    const auto end
        = measureFrom
          + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
    const auto interval = ratePerSec > 0 ? std::chrono::duration_cast<Clock::duration>(
                              std::chrono::duration<double>(1.0 / ratePerSec))
                                         : Clock::duration::zero();
    auto nextSend = start;
    std::vector<Clock::time_point>
        backlog; // open loop: scheduled sends waiting for a free connection
    auto send = [&](Conn &c, Clock::time_point scheduled) {
        c.busy = true;
        c.sent = scheduled;
        if (write(c.fd, request.data(), request.size()) != static_cast<ssize_t>(request.size())) {
            fprintf(stderr, "write failed\n");
            exit(2);
        }
    };
    if (ratePerSec == 0) {
        for (auto &c : cs)
            send(c, Clock::now());
    }
    epoll_event evs[256];
    char tmp[65536];
    while (Clock::now() < end) {
        // Sleep precisely until the next scheduled send (epoll_pwait2: nanosecond timeout), never
        // spin: a spinning generator would take a whole core from the server on 2 cores.
        timespec wait{0, 100 * 1000 * 1000};
        if (ratePerSec > 0) {
            const auto now = Clock::now();
            while (nextSend <= now) {
                backlog.push_back(nextSend);
                nextSend += interval;
            }
            for (auto &c : cs) {
                if (backlog.empty())
                    break;
                if (!c.busy) {
                    send(c, backlog.front());
                    backlog.erase(backlog.begin());
                }
            }
            const long long ns = std::clamp<long long>(
                std::chrono::duration_cast<std::chrono::nanoseconds>(nextSend - Clock::now())
                    .count(),
                0, 100000000);
            wait.tv_sec = 0;
            wait.tv_nsec = ns;
        }
        const int n = epoll_pwait2(ep, evs, 256, &wait, nullptr);
        for (int i = 0; i < n; ++i) {
            Conn &c = cs[evs[i].data.u32];
            const ssize_t got = read(c.fd, tmp, sizeof tmp);
            if (got <= 0) {
                fprintf(stderr, "connection closed by server\n");
                exit(2);
            }
            c.buf.append(tmp, static_cast<size_t>(got));
            int status = 0;
            size_t len;
            while ((len = responseLength(c.buf, &status)) > 0) {
                c.buf.erase(0, len);
                const auto now = Clock::now();
                if (c.sent >= measureFrom) {
                    r.latUs.push_back(
                        std::chrono::duration<double, std::micro>(now - c.sent).count());
                    (status >= 200 && status < 300) ? ++r.ok : ++r.failed;
                }
                c.busy = false;
                if (ratePerSec == 0 && now < end)
                    send(c, now);
                else if (!backlog.empty()) {
                    send(c, backlog.front());
                    backlog.erase(backlog.begin());
                }
            }
        }
    }
    r.seconds = std::chrono::duration<double>(end - measureFrom).count();
    for (auto &c : cs)
        close(c.fd);
    close(ep);
    return r;
}

/**
 * Closed loop like runLoad, with the connections spread over `threads` generator threads (at most
 * one per connection), so that the load generator is not what caps a fast server. The result
 * merges the threads' counts and latencies; its seconds are the measured window's.
 */
inline LoadResult runLoadParallel(int port, const std::string &request, int conns, double seconds,
                                  double warmupSeconds, int threads)
{
    threads = std::clamp(threads, 1, std::max(conns, 1));
    if (threads == 1)
        return runLoad(port, request, conns, seconds, 0, warmupSeconds);
    std::vector<LoadResult> parts(static_cast<size_t>(threads));
    std::vector<std::thread> ts;
    for (int t = 0; t < threads; ++t) {
        const int mine = conns / threads + (t < conns % threads ? 1 : 0);
        ts.emplace_back([&, t, mine] {
            parts[static_cast<size_t>(t)] = runLoad(port, request, mine, seconds, 0, warmupSeconds);
        });
    }
    LoadResult r;
    for (auto &t : ts)
        t.join();
    for (auto &p : parts) {
        r.ok += p.ok;
        r.failed += p.failed;
        r.latUs.insert(r.latUs.end(), p.latUs.begin(), p.latUs.end());
        r.seconds = std::max(r.seconds, p.seconds);
    }
    return r;
}

/// Polls GET /v1.0/healthz on `port` every `pollUs` until it answers 204 (true), the process
/// exits (false, `pid` becomes 0) or `attempts` ran out.
inline bool waitUntilServing(pid_t &pid, int port, int attempts, useconds_t pollUs = 100000)
{
    int fd = -1;
    for (int i = 0; i < attempts; ++i) {
        int st = 0;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            pid = 0;
            return false;
        }
        if (blockingRequest(fd, port, "GET /v1.0/healthz HTTP/1.1\r\nHost: x\r\n\r\n") == 204) {
            close(fd);
            return true;
        }
        usleep(pollUs);
    }
    if (fd >= 0)
        close(fd);
    return false;
}

/// SIGTERM, then waits for the process; `pid` becomes 0. Nothing when `pid` is 0.
inline void terminate(pid_t &pid)
{
    if (pid > 0) {
        kill(pid, SIGTERM);
        int st = 0;
        waitpid(pid, &st, 0);
        pid = 0;
    }
}

inline std::string binderydPath()
{
    return env("BINDERY_BIN_DIR", BENCH_BIN_DIR) + "/binderyd";
}

/**
 * A daprd-compatible runtime as a child process with loopback ports of its own: binderyd, or a
 * real daprd (`daprd` true) with the flags /work/scratch/dapr/README.md section 4 gives it (no
 * placement, scheduler or metrics). Both get a free HTTP and gRPC API port.
 */
class Runtime
{
public:
    Runtime(std::string name, std::string bin, bool daprd)
        : m_name(std::move(name))
        , m_bin(std::move(bin))
        , m_daprd(daprd)
    {
    }
    Runtime(const Runtime &) = delete;
    Runtime &operator=(const Runtime &) = delete;
    ~Runtime() { stop(); }

    /// Starts it with the components in `resources` and, when `appPort` is not 0, the app on that
    /// port. True once GET /v1.0/healthz answered 204 (polled every `pollUs`, for up to 30 s);
    /// `startMs()` is then the time from spawning to that answer. Its output goes to `log`, or
    /// to this process' own when `log` is empty.
    bool start(const std::string &resources, int appPort = 0, const std::string &log = "",
               useconds_t pollUs = 100000)
    {
        stop();
        m_port = freePort();
        std::vector<std::string> args{m_bin,
                                      "--app-id",
                                      "bench",
                                      "--dapr-http-port",
                                      std::to_string(m_port),
                                      "--dapr-grpc-port",
                                      std::to_string(freePort()),
                                      "--resources-path",
                                      resources,
                                      "--log-level",
                                      "warn"};
        if (m_daprd)
            args.insert(args.end(),
                        {"--metrics-port", std::to_string(freePort()), "--dapr-internal-grpc-port",
                         std::to_string(freePort()), "--dapr-listen-addresses", "127.0.0.1",
                         "--metrics-listen-address", "127.0.0.1",
                         "--dapr-internal-grpc-listen-address", "127.0.0.1",
                         "--enable-metrics=false"});
        if (appPort)
            args.insert(args.end(), {"--app-port", std::to_string(appPort)});
        std::vector<char *> argv;
        for (auto &a : args)
            argv.push_back(a.data());
        argv.push_back(nullptr);
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        if (!log.empty()) {
            posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                             0644);
            posix_spawn_file_actions_adddup2(&fa, 1, 2);
        }
        const auto t0 = Clock::now();
        const int rc = posix_spawn(&m_pid, m_bin.c_str(), &fa, nullptr, argv.data(), environ);
        posix_spawn_file_actions_destroy(&fa);
        if (rc != 0) {
            m_pid = 0;
            return false;
        }
        const int attempts = static_cast<int>(30000000 / std::max<useconds_t>(pollUs, 1));
        const bool up = waitUntilServing(m_pid, m_port, attempts, pollUs);
        m_startMs = usSince(t0) / 1000;
        return up;
    }
    void stop() { terminate(m_pid); }
    const std::string &name() const { return m_name; }
    bool isDaprd() const { return m_daprd; }
    int port() const { return m_port; }
    pid_t pid() const { return m_pid; }
    double startMs() const { return m_startMs; }

private:
    std::string m_name;
    std::string m_bin;
    bool m_daprd = false;
    pid_t m_pid = 0;
    int m_port = 0;
    double m_startMs = 0;
};

/// binderyd as a child process, its output in this process' own.
class Daemon : public Runtime
{
public:
    Daemon()
        : Runtime("binderyd", binderydPath(), false)
    {
    }
    bool start(const std::string &resources, int appPort)
    {
        return Runtime::start(resources, appPort);
    }
};

inline std::string kafkaBrokers()
{
    return env("KAFKA_BROKERS", "127.0.0.1:5050");
}

inline bool writeFile(const std::string &path, const std::string &text)
{
    FILE *f = fopen(path.c_str(), "w");
    if (!f)
        return false;
    fwrite(text.data(), 1, text.size(), f);
    fclose(f);
    return true;
}

/// CPU seconds (user+sys) used so far by process `pid`.
inline double cpuSeconds(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    char buf[2048];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    const char *p = strrchr(buf, ')');
    unsigned long ut = 0, st = 0;
    if (p)
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st);
    return static_cast<double>(ut + st) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

/// Resident set size of process `pid` in MiB (VmRSS), 0 if unknown.
inline double rssMiB(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    char line[256];
    long kb = 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
            break;
    fclose(f);
    return static_cast<double>(kb) / 1024.0;
}

/// The 1-minute load average.
inline double loadAverage()
{
    double l = 0;
    if (FILE *f = fopen("/proc/loadavg", "r")) {
        if (fscanf(f, "%lf", &l) != 1)
            l = 0;
        fclose(f);
    }
    return l;
}

inline double median(std::vector<double> v)
{
    return percentile(std::move(v), 50);
}

} // namespace bench
