// SPDX-License-Identifier: Apache-2.0
// Bench (issue 2): input delivery events/s from core::AppChannel (libcurl keep-alive, N reader
// threads) to a trivial local app, against QNetworkAccessManager posting to the same app in the
// same run. Target: AppChannel >= 3x QNAM.
//   bench_delivery [--seconds S] [--threads N] [--inflight K]
#include <atomic>
#include <algorithm>
#include <chrono>
#include <functional>
#include <cstdio>
#include <thread>
#include <vector>

#include <QCoreApplication>
#include <QElapsedTimer>
#include <QEventLoop>
#include <QNetworkAccessManager>
#include <QNetworkProxy>
#include <QNetworkReply>
#include <QNetworkRequest>
#include <QTimer>

#include "core/http_app_channel.h"
#include "epoll_http.h"

using namespace bindery::core;

namespace {

const QByteArray BODY
    = R"({"orderId":42,"customer":"c-1001","items":[{"sku":"A-1","qty":2}],"note":"bench"})";

double runAppChannel(uint16_t port, int threads, double warmupS, double seconds, uint64_t *failures)
{
    HttpAppChannel channel(QStringLiteral("127.0.0.1"), port);
    const Headers metadata{{QStringLiteral("x-opt-offset"), QStringLiteral("41")}};
    std::atomic<bool> measuring{false};
    std::atomic<bool> stop{false};
    std::atomic<uint64_t> ok{0};
    std::atomic<uint64_t> failed{0};
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
        workers.emplace_back([&] {
            while (!stop.load(std::memory_order_relaxed)) {
                const AppReply r = channel.post(QStringLiteral("orders"), BODY, metadata, 5000);
                if (!measuring.load(std::memory_order_relaxed))
                    continue;
                if (r.ok())
                    ok.fetch_add(1, std::memory_order_relaxed);
                else
                    failed.fetch_add(1, std::memory_order_relaxed);
            }
        });
    }
    std::this_thread::sleep_for(std::chrono::duration<double>(warmupS));
    measuring = true;
    QElapsedTimer t;
    t.start();
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
    const uint64_t done = ok.load();
    const double elapsed = t.nsecsElapsed() / 1e9;
    stop = true;
    for (std::thread &w : workers)
        w.join();
    *failures = failed.load();
    return done / elapsed;
}

double runQnam(uint16_t port, int inflight, double warmupS, double seconds, uint64_t *failures)
{
    QNetworkAccessManager nam;
    QNetworkRequest req(QUrl(QStringLiteral("http://127.0.0.1:%1/orders").arg(port)));
    req.setRawHeader("Content-Type", "application/json");
    req.setRawHeader("X-Opt-Offset", "41");
    req.setAttribute(QNetworkRequest::Http2AllowedAttribute, false);
    nam.setProxy(QNetworkProxy::NoProxy);
    bool measuring = false;
    bool stopping = false;
    uint64_t ok = 0;
    uint64_t failed = 0;
    int outstanding = 0;
    QEventLoop loop;
    std::function<void()> send = [&] {
        QNetworkReply *r = nam.post(req, BODY);
        ++outstanding;
        QObject::connect(r, &QNetworkReply::finished, &loop, [&, r] {
            --outstanding;
            if (measuring && !stopping) {
                if (r->error() == QNetworkReply::NoError)
                    ++ok;
                else
                    ++failed;
            }
            r->deleteLater();
            if (!stopping)
                send();
            else if (outstanding == 0)
                loop.quit();
        });
    };
    for (int i = 0; i < inflight; ++i)
        send();
    QElapsedTimer t;
    QTimer::singleShot(static_cast<int>(warmupS * 1000), &loop, [&] {
        measuring = true;
        t.start();
    });
    double result = 0;
    QTimer::singleShot(static_cast<int>((warmupS + seconds) * 1000), &loop, [&] {
        result = ok / (t.nsecsElapsed() / 1e9);
        stopping = true;
    });
    loop.exec();
    *failures = failed;
    return result;
}

} // namespace

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    double seconds = 5;
    int threads = 4;
    int inflight = 64;
    int rounds = 2;
    const QStringList args = app.arguments();
    for (qsizetype i = 1; i + 1 < args.size(); i += 2) {
        if (args[i] == QStringLiteral("--seconds"))
            seconds = args[i + 1].toDouble();
        else if (args[i] == QStringLiteral("--threads"))
            threads = args[i + 1].toInt();
        else if (args[i] == QStringLiteral("--inflight"))
            inflight = args[i + 1].toInt();
        else if (args[i] == QStringLiteral("--rounds"))
            rounds = args[i + 1].toInt();
    }
    bindery::bench::TrivialApp trivial;
    std::printf(
        "bench_delivery: POST /orders (%lld B JSON + 1 metadata header) to a trivial epoll app, "
        "%.0f s per run\n",
        static_cast<long long>(BODY.size()), seconds);
    uint64_t qnamFailures = 0;
    uint64_t curlFailures = 0;
    double qnam = 0;
    double curl = 0;
    // Interleaved rounds, best of each: the machine is shared, so noise hits both sides alike.
    double qnamCpu = 1e9;
    double curlCpu = 1e9;
    // Client CPU per event = process CPU minus the app thread's CPU, over everything served
    // (warm-up included), in microseconds.
    auto clientCpuUs = [&](auto &&run) {
        const double p0 = bindery::bench::processCpuSeconds();
        const double a0 = trivial.cpuSeconds();
        const uint64_t s0 = trivial.served();
        const double rate = run();
        const double cpu = (bindery::bench::processCpuSeconds() - p0) - (trivial.cpuSeconds() - a0);
        const uint64_t served = trivial.served() - s0;
        return std::pair<double, double>(rate, served ? cpu * 1e6 / served : 0);
    };
    for (int round = 1; round <= rounds; ++round) {
        uint64_t f = 0;
        const auto [q, qc]
            = clientCpuUs([&] { return runQnam(trivial.port(), inflight, 1.0, seconds, &f); });
        qnamFailures += f;
        std::printf("  %-44s %9.0f events/s, %6.1f us client CPU/event (%llu failures)\n",
                    qPrintable(QStringLiteral("QNetworkAccessManager, %1 in flight").arg(inflight)),
                    q, qc, static_cast<unsigned long long>(f));
        std::fflush(stdout);
        const auto [c, cc]
            = clientCpuUs([&] { return runAppChannel(trivial.port(), threads, 1.0, seconds, &f); });
        curlFailures += f;
        std::printf(
            "  %-44s %9.0f events/s, %6.1f us client CPU/event (%llu failures)\n",
            qPrintable(QStringLiteral("core::AppChannel (lean client), %1 threads").arg(threads)),
            c, cc, static_cast<unsigned long long>(f));
        std::fflush(stdout);
        qnam = std::max(qnam, q);
        curl = std::max(curl, c);
        qnamCpu = std::min(qnamCpu, qc);
        curlCpu = std::min(curlCpu, cc);
    }
    uint64_t oneFailures = 0;
    const double one = runAppChannel(trivial.port(), 1, 0.5, seconds / 2, &oneFailures);
    curlFailures += oneFailures;
    std::printf("  %-44s %9.0f events/s (one partition/queue, sequential)\n",
                "core::AppChannel (lean client), 1 thread", one);
    const double ratio = curl / qnam;
    std::printf("RESULT delivery: AppChannel %.0f events/s, QNAM %.0f events/s, ratio %.2fx "
                "(target >= 3x) %s\n",
                curl, qnam, ratio, ratio >= 3 ? "OK" : "BELOW TARGET");
    std::printf("  client CPU per event: AppChannel %.1f us, QNAM %.1f us (%.1fx less)\n", curlCpu,
                qnamCpu, curlCpu > 0 ? qnamCpu / curlCpu : 0);
    std::printf("  app served %llu requests in total\n",
                static_cast<unsigned long long>(trivial.served()));
    return (qnamFailures || curlFailures) ? 1 : 0;
}
