// SPDX-License-Identifier: Apache-2.0
// Bench (issue 8 part 4): the binding kit's RestClient (libcurl multi, one worker thread) doing
// small keep-alive GETs to a trivial local epoll server, at 1 and 16 requests in flight, beside
// two floors measured in the same run: a raw-socket keep-alive client (core::HttpConnection) and
// blocking curl easy handles, one thread per in-flight request for both.
//   bench_rest_client [--requests N] [--rounds R]
// CPU per request = getrusage(RUSAGE_SELF) user+system minus the server thread's CPU.
#include <sys/resource.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include <curl/curl.h>

#include <QElapsedTimer>

#include "core/bindings/common/rest_client.h"
#include "core/http_client.h"
#include "epoll_http.h"

using namespace bindery::bindings::common;

namespace {

double rusageSeconds()
{
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec)
           + static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

struct Figure
{
    double perSecond = 0;
    double cpuUsPerRequest = 0;
    uint64_t failures = 0;
};

/// Runs `run(requests, &failures)` and measures it; the server's own CPU is taken out.
template <typename Run> Figure measure(bindery::bench::TrivialApp &app, int requests, Run &&run)
{
    Figure f;
    const double c0 = rusageSeconds();
    const double a0 = app.cpuSeconds();
    QElapsedTimer t;
    t.start();
    run(requests, &f.failures);
    const double wall = static_cast<double>(t.nsecsElapsed()) / 1e9;
    const double cpu = (rusageSeconds() - c0) - (app.cpuSeconds() - a0);
    f.perSecond = requests / wall;
    f.cpuUsPerRequest = cpu * 1e6 / requests;
    return f;
}

/// RestClient, closed loop: `inflight` requests outstanding, each completion sends the next.
void runRestClient(uint16_t port, int inflight, int requests, uint64_t *failures)
{
    RestClientOptions o;
    o.name = QStringLiteral("bench");
    o.maxHostConnections = inflight;
    auto client = RestClient::create(o);
    if (!client) {
        std::fprintf(stderr, "RestClient: %s\n", qPrintable(client.error().message));
        std::exit(2);
    }
    RestClient &c = **client;
    const QByteArray url = "http://127.0.0.1:" + QByteArray::number(port) + "/ping";
    std::atomic<int> sent{0};
    std::atomic<uint64_t> failed{0};
    std::mutex mutex;
    std::condition_variable cv;
    int finished = 0;
    std::function<void()> sendOne = [&] {
        RestRequest rq;
        rq.url = url;
        rq.timeout = std::chrono::seconds(10);
        c.send(std::move(rq), [&](RestResponse r) {
            if (r.status != 200)
                failed.fetch_add(1);
            if (sent.fetch_add(1) < requests - inflight)
                sendOne();
            std::lock_guard lock(mutex);
            if (++finished == requests)
                cv.notify_all();
        });
    };
    for (int i = 0; i < inflight; ++i)
        sendOne();
    std::unique_lock lock(mutex);
    cv.wait(lock, [&] { return finished == requests; });
    *failures += failed.load();
}

/// Floor 1: a raw-socket keep-alive client per thread (the app channel's HttpConnection).
void runRawSocket(uint16_t port, int threads, int requests, uint64_t *failures)
{
    const QByteArray head
        = "GET /ping HTTP/1.1\r\nHost: 127.0.0.1:" + QByteArray::number(port) + "\r\n\r\n";
    std::atomic<uint64_t> failed{0};
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
        workers.emplace_back([&, n = requests / threads] {
            bindery::core::HttpConnection conn("127.0.0.1", port);
            bindery::core::HttpResponse r;
            QString error;
            for (int i = 0; i < n; ++i) {
                if (!conn.request(head, {}, 10000, &r, &error) || r.status != 200)
                    failed.fetch_add(1);
            }
        });
    }
    for (std::thread &w : workers)
        w.join();
    *failures += failed.load();
}

size_t discard(char *, size_t size, size_t n, void *)
{
    return size * n;
}

/// Floor 2: blocking curl easy handles, one reused handle (and connection) per thread.
void runCurlEasy(uint16_t port, int threads, int requests, uint64_t *failures)
{
    const QByteArray url = "http://127.0.0.1:" + QByteArray::number(port) + "/ping";
    std::atomic<uint64_t> failed{0};
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
        workers.emplace_back([&, n = requests / threads] {
            CURL *e = curl_easy_init();
            curl_easy_setopt(e, CURLOPT_URL, url.constData());
            curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
            curl_easy_setopt(e, CURLOPT_PROXY, "");
            curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &discard);
            for (int i = 0; i < n; ++i) {
                long status = 0;
                if (curl_easy_perform(e) != CURLE_OK
                    || curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK
                    || status != 200)
                    failed.fetch_add(1);
            }
            curl_easy_cleanup(e);
        });
    }
    for (std::thread &w : workers)
        w.join();
    *failures += failed.load();
}

void print(const char *what, int inflight, const Figure &f)
{
    std::printf("  %-40s c=%-3d %9.0f req/s  %6.1f us CPU/request  (%llu failures)\n", what,
                inflight, f.perSecond, f.cpuUsPerRequest,
                static_cast<unsigned long long>(f.failures));
    std::fflush(stdout);
}

} // namespace

int main(int argc, char *argv[])
{
    int requests = 20000;
    int rounds = 1;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (std::strcmp(argv[i], "--requests") == 0)
            requests = std::atoi(argv[i + 1]);
        else if (std::strcmp(argv[i], "--rounds") == 0)
            rounds = std::atoi(argv[i + 1]);
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    bindery::bench::TrivialApp app;
    std::printf("bench_rest_client: %d GET /ping (empty 200, keep-alive) to a trivial epoll server "
                "per run\n",
                requests);
    uint64_t failures = 0;
    for (int inflight : {1, 16}) {
        // Warm-up: connections, caches, the CPU governor.
        measure(app, 2000, [&](int n, uint64_t *f) { runRestClient(app.port(), inflight, n, f); });
        Figure best[3];
        for (int round = 0; round < rounds; ++round) {
            const Figure figures[3] = {
                measure(app, requests,
                        [&](int n, uint64_t *f) { runRestClient(app.port(), inflight, n, f); }),
                measure(app, requests,
                        [&](int n, uint64_t *f) { runRawSocket(app.port(), inflight, n, f); }),
                measure(app, requests,
                        [&](int n, uint64_t *f) { runCurlEasy(app.port(), inflight, n, f); }),
            };
            print("RestClient (curl multi, 1 worker)", inflight, figures[0]);
            print("floor: raw socket, 1 thread each", inflight, figures[1]);
            print("floor: curl easy handle, 1 thread each", inflight, figures[2]);
            for (int k = 0; k < 3; ++k) {
                failures += figures[k].failures;
                if (figures[k].perSecond > best[k].perSecond)
                    best[k] = figures[k];
            }
        }
        std::printf("RESULT rest_client c=%d: %.0f req/s, %.1f us CPU/request; raw socket %.0f "
                    "req/s, %.1f us "
                    "(%.2fx the rate); curl easy %.0f req/s, %.1f us (%.2fx the rate)\n",
                    inflight, best[0].perSecond, best[0].cpuUsPerRequest, best[1].perSecond,
                    best[1].cpuUsPerRequest, best[0].perSecond / best[1].perSecond,
                    best[2].perSecond, best[2].cpuUsPerRequest,
                    best[0].perSecond / best[2].perSecond);
    }
    return failures ? 1 : 0;
}
