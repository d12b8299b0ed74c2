// SPDX-License-Identifier: Apache-2.0
// Bench (issue 15): Bindery's gRPC API, InvokeBinding on the loopback binding (`echo`), at 1 and
// 64 concurrent calls: calls/s and the server's CPU per call, beside the bare gRPC floor (a
// callback-API server whose handler answers at once, grpc_load.h) and Bindery's HTTP API, all
// measured in the same run, round after round. Target: the gRPC API at >= 0.7x the floor, in
// calls/s and in server CPU per call (floor CPU / Bindery CPU).
//
// Each server is a process of its own (this binary with --serve floor|bindery), so its CPU is read
// from /proc/<pid>/stat with nothing of the load generators in it. Bindery's is a real Sidecar
// (runtime, HTTP API and gRPC API on their threads, as in binderyd; traffic not recorded, as
// binderyd without --traffic-log). gRPC load: the floor bench's async client; HTTP load:
// bench_api's epoll client, with the same request as JSON.
//   bench_grpc_api [--seconds S] [--rounds R] [--channels N] [--concurrency 1,64]
#include <QCoreApplication>
#include <QFile>
#include <QTemporaryDir>

#include "core/binding_registry.h"
#include "core/host/sidecar.h"
#include "core/traffic.h"
#include "epoll_http.h"
#include "grpc_load.h"

using namespace bindery::bench::grpcload;

namespace {

const std::string HTTP_BODY
    = R"({"operation":"echo","data":{"message":"Hi","n":1,"tags":["a","b"]},"metadata":{"key":"redis-key-1"}})";

std::string httpRequest(int port)
{
    return "POST /v1.0/bindings/loop HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port)
           + "\r\nContent-Type: application/json\r\nContent-Length: "
           + std::to_string(HTTP_BODY.size()) + "\r\n\r\n" + HTTP_BODY;
}

// Stops the server process when its parent closes our stdin.
void quitAtEof()
{
    std::thread([] {
        while (std::fgetc(stdin) != EOF) {
        }
        QMetaObject::invokeMethod(qApp, &QCoreApplication::quit, Qt::QueuedConnection);
    }).detach();
}

int serveFloor()
{
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    CallbackFloor service;
    builder.RegisterService(&service);
    std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
    if (!server || port == 0)
        return 1;
    std::printf("PORT %d\n", port);
    std::fflush(stdout);
    while (std::fgetc(stdin) != EOF) {
    }
    server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
    return 0;
}

int serveBindery(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    qputenv("QT_LOGGING_RULES", "bindery.*.info=false");
    QTemporaryDir dir;
    QFile f(dir.filePath(QStringLiteral("loop.yaml")));
    if (!f.open(QIODevice::WriteOnly))
        return 1;
    f.write("apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: loop\nspec:\n  "
            "type: bindings.loopback\n  version: v1\n  metadata:\n  - name: direction\n"
            "    value: output\n");
    f.close();
    bindery::core::BindingRegistry registry;
    bindery::core::registerBuiltinBindings(registry);
    bindery::core::registerLoopbackBinding(registry);
    bindery::core::TrafficStream traffic(0);
    bindery::core::RuntimeOptions o;
    o.httpPort = 0;
    o.grpcPort = 0;
    o.resourcesPaths = {dir.path()};
    bindery::core::Sidecar sidecar(o, registry, traffic);
    if (!sidecar.startAndWait()) {
        std::fprintf(stderr, "bench_grpc_api: sidecar failed: %s\n",
                     qPrintable(sidecar.lastError()));
        return 1;
    }
    std::printf("PORT %d %d\n", sidecar.grpcPort(), sidecar.httpPort());
    std::fflush(stdout);
    quitAtEof();
    const int rc = QCoreApplication::exec();
    sidecar.stopAndWait();
    return rc;
}

// The HTTP API under bench_api's closed-loop client, the server's CPU read over the measured
// window only.
RunResult runHttp(const ServerProcess &server, int connections, double seconds)
{
    const double warmup = 0.5;
    double cpu0 = 0;
    double cpu1 = 0;
    std::thread sampler([&] {
        std::this_thread::sleep_for(std::chrono::duration<double>(warmup));
        cpu0 = server.cpuSeconds();
        std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
        cpu1 = server.cpuSeconds();
    });
    const bindery::bench::LoadResult r
        = bindery::bench::httpLoad(static_cast<uint16_t>(server.port2), httpRequest(server.port2),
                                   connections, warmup, seconds);
    sampler.join();
    RunResult out;
    out.callsPerSecond = r.perSecond();
    out.serverUsPerCall
        = (cpu1 - cpu0) * 1e6 / static_cast<double>(std::max<uint64_t>(r.responses, 1));
    out.serverCores = (cpu1 - cpu0) / r.seconds;
    for (const auto &[status, n] : r.byStatus) {
        if (status != 200)
            out.failed += n;
    }
    return out;
}

void printRun(int round, const char *what, int concurrency, const RunResult &r, int threads)
{
    std::printf(
        "  round %d %-13s c=%-3d %8.0f calls/s  server %5.1f us CPU/call (%3.0f%% of a core,"
        " %d threads)",
        round, what, concurrency, r.callsPerSecond, r.serverUsPerCall, r.serverCores * 100,
        threads);
    if (r.p50Us > 0)
        std::printf("  p50 %5.0f us  p99 %6.0f us", r.p50Us, r.p99Us);
    if (r.failed)
        std::printf("  FAILED CALLS: %llu", static_cast<unsigned long long>(r.failed));
    std::printf("\n");
    std::fflush(stdout);
}

struct Series
{
    std::vector<double> rate;
    std::vector<double> cpu;
    double bestRate() const { return *std::max_element(rate.begin(), rate.end()); }
    double lowestCpu() const { return *std::min_element(cpu.begin(), cpu.end()); }
    double medianRate() const { return median(rate); }
    double medianCpu() const { return median(cpu); }
    static double median(std::vector<double> v)
    {
        std::sort(v.begin(), v.end());
        return v[v.size() / 2];
    }
};

} // namespace

int main(int argc, char *argv[])
{
    double seconds = 5;
    int rounds = 3;
    int channels = 4;
    std::vector<int> concurrencies = {1, 64};
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string k = argv[i];
        const char *v = argv[i + 1];
        if (k == "--serve")
            return std::string(v) == "floor" ? serveFloor() : serveBindery(argc, argv);
        if (k == "--seconds")
            seconds = std::atof(v);
        else if (k == "--rounds")
            rounds = std::max(1, std::atoi(v));
        else if (k == "--channels")
            channels = std::max(1, std::atoi(v));
        else if (k == "--concurrency") {
            concurrencies.clear();
            for (const char *p = v; *p;) {
                concurrencies.push_back(std::atoi(p));
                const char *comma = std::strchr(p, ',');
                p = comma ? comma + 1 : p + std::strlen(p);
            }
        }
    }
    ServerProcess floor;
    ServerProcess bindery;
    if (!floor.start("floor", {"--serve", "floor"})
        || !bindery.start("bindery", {"--serve", "bindery"}) || bindery.port2 == 0) {
        std::fprintf(stderr, "bench_grpc_api: could not start the servers\n");
        return 1;
    }
    std::printf("bench_grpc_api: InvokeBinding(loop, echo) %zu B request / POST /v1.0/bindings/loop"
                " %zu B body; gRPC %s; %.0f s per run, %d rounds, up to %d channels, one client "
                "thread; %u cores, load average %s\n",
                benchRequest().ByteSizeLong(), HTTP_BODY.size(), grpc::Version().c_str(), seconds,
                rounds, channels, std::thread::hardware_concurrency(), loadAverage().c_str());

    // series[concurrency][0 floor, 1 bindery gRPC, 2 bindery HTTP]
    std::vector<std::array<Series, 3>> series(concurrencies.size());
    bool failed = false;
    for (int round = 1; round <= rounds; ++round) {
        for (size_t c = 0; c < concurrencies.size(); ++c) {
            const int n = concurrencies[c];
            const int ch = std::min(channels, n);
            const RunResult f = runLoad(floor, makeStubs(floor.port, ch), n, 1, seconds);
            printRun(round, "grpc floor", n, f, floor.threadCount());
            const RunResult g = runLoad(bindery, makeStubs(bindery.port, ch), n, 1, seconds);
            printRun(round, "bindery grpc", n, g, bindery.threadCount());
            const RunResult h = runHttp(bindery, n, seconds);
            printRun(round, "bindery http", n, h, bindery.threadCount());
            const RunResult *runs[] = {&f, &g, &h};
            for (size_t s = 0; s < 3; ++s) {
                series[c][s].rate.push_back(runs[s]->callsPerSecond);
                series[c][s].cpu.push_back(runs[s]->serverUsPerCall);
                failed = failed || runs[s]->failed > 0;
            }
        }
    }
    bool met = true;
    for (size_t c = 0; c < concurrencies.size(); ++c) {
        const Series &f = series[c][0];
        const Series &g = series[c][1];
        const Series &h = series[c][2];
        const double rateRatio = g.bestRate() / f.bestRate();
        const double cpuRatio = f.lowestCpu() / g.lowestCpu();
        met = met && rateRatio >= 0.7 && cpuRatio >= 0.7;
        std::printf(
            "RESULT grpc api c=%-3d bindery gRPC best %6.0f calls/s (median %6.0f), %5.1f us"
            " CPU/call (median %5.1f); floor %6.0f calls/s, %5.1f us; HTTP API %6.0f "
            "calls/s, %5.1f us; gRPC/floor: calls %.2fx, CPU %.2fx (target >= 0.70x) %s\n",
            concurrencies[c], g.bestRate(), g.medianRate(), g.lowestCpu(), g.medianCpu(),
            f.bestRate(), f.lowestCpu(), h.bestRate(), h.lowestCpu(), rateRatio, cpuRatio,
            rateRatio >= 0.7 && cpuRatio >= 0.7 ? "OK" : "BELOW TARGET");
    }
    std::printf("  load average after the runs: %s\n", loadAverage().c_str());
    floor.stop();
    bindery.stop();
    return failed ? 1 : (met ? 0 : 2);
}
