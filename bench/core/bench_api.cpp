// SPDX-License-Identifier: Apache-2.0
// Bench (issue 2): output-binding API requests/s through the loopback binding (`echo`) at 64
// keep-alive connections, against a bare QHttpServer route doing the same JSON parse in the
// same run. Target: Bindery >= 0.7x the bare route. Load comes from an epoll client thread.
//   bench_api [--seconds S] [--connections N] [--rounds R]
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include <QCoreApplication>
#include <QDir>
#include <QFile>
#include <QHttpServer>
#include <QHttpServerResponse>
#include <QTemporaryDir>
#include <QThread>

#include "core/binding_registry.h"
#include "core/host/sidecar.h"
#include "core/traffic.h"
#include "epoll_http.h"

using namespace bindery::core;

namespace {

const std::string BODY
    = R"({"operation":"echo","data":{"message":"Hi","n":1,"tags":["a","b"]},"metadata":{"key":"redis-key-1"}})";

std::string request(uint16_t port)
{
    return "POST /v1.0/bindings/loop HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port)
           + "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(BODY.size())
           + "\r\n\r\n" + BODY;
}

struct Side
{
    const char *name;
    double best = 0;
};

/// CPU seconds used so far by this process's threads, all but the calling (load) thread, and
/// by the threads named `name` alone (from /proc: the load generator runs on the main thread).
struct ThreadCpu
{
    double others = 0;
    double named = 0;
};

ThreadCpu threadCpu(const char *name)
{
    ThreadCpu out;
    const long tick = sysconf(_SC_CLK_TCK);
    const pid_t self = static_cast<pid_t>(syscall(SYS_gettid));
    for (const auto &entry : std::filesystem::directory_iterator("/proc/self/task")) {
        const std::string tid = entry.path().filename().string();
        if (std::stol(tid) == self)
            continue;
        std::ifstream stat(entry.path() / "stat");
        std::string line;
        std::getline(stat, line);
        const size_t close = line.rfind(')');
        if (close == std::string::npos)
            continue;
        std::istringstream rest(line.substr(close + 2));
        std::string field;
        unsigned long long utime = 0;
        unsigned long long stime = 0;
        for (int i = 3; i <= 15 && rest >> field; ++i) {
            if (i == 14)
                utime = std::stoull(field);
            if (i == 15)
                stime = std::stoull(field);
        }
        const double seconds = static_cast<double>(utime + stime) / static_cast<double>(tick);
        out.others += seconds;
        std::ifstream comm(entry.path() / "comm");
        std::string threadName;
        std::getline(comm, threadName);
        if (threadName == name)
            out.named += seconds;
    }
    return out;
}

void report(const char *name, const bindery::bench::LoadResult &r)
{
    std::string statuses;
    for (const auto &[s, n] : r.byStatus)
        statuses += " " + std::to_string(s) + "x" + std::to_string(n);
    std::printf("  %-34s %9.0f req/s  (%llu responses in %.2f s;%s)\n", name, r.perSecond(),
                static_cast<unsigned long long>(r.responses), r.seconds, statuses.c_str());
    std::fflush(stdout);
}

} // namespace

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    double seconds = 5;
    int connections = 64;
    int rounds = 2;
    QString only; // "bindery" or "peer": profile one side
    const QStringList args = app.arguments();
    for (qsizetype i = 1; i + 1 < args.size(); i += 2) {
        if (args[i] == QStringLiteral("--seconds"))
            seconds = args[i + 1].toDouble();
        else if (args[i] == QStringLiteral("--connections"))
            connections = args[i + 1].toInt();
        else if (args[i] == QStringLiteral("--rounds"))
            rounds = args[i + 1].toInt();
        else if (args[i] == QStringLiteral("--only"))
            only = args[i + 1];
    }
    qputenv("QT_LOGGING_RULES", "bindery.*.info=false");

    // Bindery: a sidecar with one loopback component (runtime and API on threads of their own),
    // as in binderyd and the console.
    QTemporaryDir dir;
    QFile f(dir.filePath(QStringLiteral("loop.yaml")));
    if (!f.open(QIODevice::WriteOnly))
        return 1;
    f.write("apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: loop\nspec:\n  "
            "type: bindings.loopback\n"
            "  version: v1\n  metadata:\n  - name: direction\n    value: output\n");
    f.close();
    BindingRegistry registry;
    registerBuiltinBindings(registry);
    registerLoopbackBinding(registry);
    TrafficStream traffic;
    RuntimeOptions o;
    o.httpPort = 0;
    o.resourcesPaths = {dir.path()};
    Sidecar sidecar(o, registry, traffic);
    if (!sidecar.startAndWait()) {
        std::fprintf(stderr, "runtime failed: %s\n", qPrintable(sidecar.lastError()));
        return 1;
    }
    const uint16_t binderyPort = sidecar.httpPort();
    // A consumer drains the traffic tap every 40 ms, as the console's pump and binderyd's
    // --traffic-log writer do.
    std::atomic<bool> draining{true};
    std::thread consumer([&] {
        while (draining) {
            traffic.drain();
            std::this_thread::sleep_for(std::chrono::milliseconds(40));
        }
    });

    // The floor/peer: a bare QHttpServer route that parses the same body and answers `data`.
    QThread peerThread;
    peerThread.start();
    QObject *peerContext = new QObject;
    peerContext->moveToThread(&peerThread);
    QHttpServer *peer = nullptr;
    uint16_t peerPort = 0;
    QMetaObject::invokeMethod(
        peerContext,
        [&] {
            peer = new QHttpServer(peerContext);
            peer->route(
                QStringLiteral("/v1.0/bindings/loop"), QHttpServerRequest::Method::Post,
                [](const QHttpServerRequest &req) {
                    const nlohmann::json doc = nlohmann::json::parse(
                        req.body().constData(), req.body().constData() + req.body().size(), nullptr,
                        false);
                    const std::string out
                        = doc.is_object() && doc.contains("data") ? doc["data"].dump() : "null";
                    return QHttpServerResponse("application/json", QByteArray::fromStdString(out));
                });
            peerPort = peer->listen(QHostAddress::LocalHost, 0);
        },
        Qt::BlockingQueuedConnection);

    std::printf("bench_api: POST /v1.0/bindings/loop {operation: echo} (%zu B body), %d keep-alive "
                "connections, "
                "%.0f s per run, %d rounds\n",
                BODY.size(), connections, seconds, rounds);
    double bestPeer = 0;
    double bestBindery = 0;
    double bestCpuUs = 0;
    double bestApiCpuUs = 0;
    for (int round = 1; round <= rounds; ++round) {
        if (!only.isEmpty()) {
            const uint16_t port = only == QStringLiteral("peer") ? peerPort : binderyPort;
            report(qPrintable(only),
                   bindery::bench::httpLoad(port, request(port), connections, 1.0, seconds));
            break;
        }
        const auto p
            = bindery::bench::httpLoad(peerPort, request(peerPort), connections, 1.0, seconds);
        report("bare QHttpServer route (floor)", p);
        const ThreadCpu cpu0 = threadCpu("bindery-api");
        const auto b = bindery::bench::httpLoad(binderyPort, request(binderyPort), connections, 1.0,
                                                seconds);
        const ThreadCpu cpu1 = threadCpu("bindery-api");
        report("Bindery API -> loopback echo", b);
        // Every thread but the load generator's (the idle peer's included), and the API thread
        // alone, per request: the API and dispatch path's cost (issue 16 item 3: <= 20 us).
        // The CPU covers the warm-up second too: count its requests at the measured rate.
        const double n = std::max(b.perSecond() * (1.0 + seconds), 1.0);
        const double cpuUs = (cpu1.others - cpu0.others) * 1e6 / n;
        const double apiUs = (cpu1.named - cpu0.named) * 1e6 / n;
        std::printf("  %-34s %9.1f us CPU/request (API thread %.1f us)\n",
                    "  Bindery, all but the load", cpuUs, apiUs);
        if (bestCpuUs == 0 || cpuUs < bestCpuUs) {
            bestCpuUs = cpuUs;
            bestApiCpuUs = apiUs;
        }
        if (b.byStatus.size() != 1 || !b.byStatus.count(200) || p.byStatus.size() != 1
            || !p.byStatus.count(200)) {
            std::fprintf(stderr, "bench_api: unexpected statuses\n");
            return 1;
        }
        bestPeer = std::max(bestPeer, p.perSecond());
        bestBindery = std::max(bestBindery, b.perSecond());
    }
    const double ratio = bestPeer > 0 ? bestBindery / bestPeer : 0;
    if (only.isEmpty()) {
        std::printf("RESULT api: bindery %.0f req/s, bare QHttpServer %.0f req/s, ratio %.2fx "
                    "(target >= 0.70x) %s\n",
                    bestBindery, bestPeer, ratio, ratio >= 0.7 ? "OK" : "BELOW TARGET");
        std::printf("RESULT api cpu: %.1f us CPU/request on the API and dispatch path (API thread "
                    "%.1f us; target <= 20 us) %s\n",
                    bestCpuUs, bestApiCpuUs, bestCpuUs <= 20 ? "OK" : "ABOVE TARGET");
    }
    std::printf("  traffic records pushed %llu, dropped %llu\n",
                static_cast<unsigned long long>(traffic.pushed()),
                static_cast<unsigned long long>(traffic.dropped()));

    draining = false;
    consumer.join();
    sidecar.stopAndWait();
    QMetaObject::invokeMethod(
        peerContext, [&] { delete peerContext; }, Qt::BlockingQueuedConnection);
    peerThread.quit();
    peerThread.wait();
    return 0;
}
