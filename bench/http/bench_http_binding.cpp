// SPDX-License-Identifier: Apache-2.0
// The http output binding beside a real daprd (issue 16.1): the same component, the same
// upstream (a trivial epoll HTTP server answering 200), the same closed-loop load generator
// (epoll, one thread), rounds interleaved (daprd, binderyd, daprd, ...). Prints req/s and the
// runtime process' CPU per request at 1, 16 and 64 connections, with the medians of the
// per-round ratios. Without DAPRD it measures binderyd alone and says so.
//
//   cmake --build build/release --target bench_http_binding binderyd
//   DAPRD=/path/to/daprd build/release/bench/bench_http_binding
//   env: ROUNDS (3), SECONDS (3 per measurement), CONNS ("1,16,64")
#include <sys/stat.h>

#include <cmath>
#include <memory>
#include <sstream>

#include "../core/epoll_http.h"
#include "../kafka/bench_common.h"

namespace {

struct Sample
{
    double rps = 0;
    double cpuUsPerRequest = 0;
    double failedShare = 0;
};

Sample measure(bench::Runtime &rt, int conns, double seconds)
{
    const std::string body = R"({"operation":"post","data":{"hello":"world"}})";
    const std::string request = "POST /v1.0/bindings/upstream HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                "Content-Type: application/json\r\nContent-Length: "
                                + std::to_string(body.size()) + "\r\n\r\n" + body;
    (void)bench::runLoad(rt.port(), request, conns, 0.5, 0, 0); // warm the connections up
    const double cpu0 = bench::cpuSeconds(rt.pid());
    const bench::LoadResult r = bench::runLoad(rt.port(), request, conns, seconds, 0, 0);
    const double cpu1 = bench::cpuSeconds(rt.pid());
    Sample s;
    const double n = static_cast<double>(r.ok + r.failed);
    s.rps = r.rps();
    s.cpuUsPerRequest = n > 0 ? (cpu1 - cpu0) * 1e6 / n : 0;
    s.failedShare = n > 0 ? static_cast<double>(r.failed) / n : 1;
    return s;
}

std::vector<int> parseList(const std::string &text)
{
    std::vector<int> out;
    std::stringstream ss(text);
    std::string item;
    while (std::getline(ss, item, ','))
        out.push_back(std::atoi(item.c_str()));
    return out;
}

} // namespace

int main()
{
    const std::string daprd = bench::env("DAPRD", "");
    const int rounds = std::atoi(bench::env("ROUNDS", "3").c_str());
    const double seconds = std::atof(bench::env("SECONDS", "3").c_str());
    const std::vector<int> connList = parseList(bench::env("CONNS", "1,16,64"));

    bindery::bench::TrivialApp upstream; // the same upstream for both runtimes
    char dirTemplate[] = "/tmp/bench-http-XXXXXX";
    const std::string dir = mkdtemp(dirTemplate);
    bench::writeFile(dir + "/upstream.yaml",
                     "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: upstream\n"
                     "spec:\n  type: bindings.http\n  version: v1\n  metadata:\n  - name: url\n"
                     "    value: http://127.0.0.1:"
                         + std::to_string(upstream.port()) + "/things\n");

    std::vector<std::unique_ptr<bench::Runtime>> runtimes;
    if (!daprd.empty())
        runtimes.push_back(std::make_unique<bench::Runtime>("daprd", daprd, true));
    else
        std::printf("DAPRD is not set: measuring binderyd alone (no ratios).\n");
    runtimes.push_back(std::make_unique<bench::Runtime>("binderyd", bench::binderydPath(), false));
    for (auto &rt : runtimes) {
        const std::string log = "/tmp/bench-http-" + rt->name() + ".log";
        unlink(log.c_str());
        if (!rt->start(dir, 0, log)) {
            std::fprintf(stderr, "%s did not start (see %s)\n", rt->name().c_str(), log.c_str());
            return 1;
        }
    }
    std::printf("http binding POST to a trivial local upstream; %d round(s) of %.1f s per point, "
                "rounds interleaved; load average at start %.2f\n",
                rounds, seconds, bench::loadAverage());

    // results[runtime][conns] -> per-round samples
    std::map<std::string, std::map<int, std::vector<Sample>>> results;
    for (int round = 0; round < rounds; ++round) {
        for (int conns : connList) {
            for (auto &rt : runtimes) {
                const Sample s = measure(*rt, conns, seconds);
                results[rt->name()][conns].push_back(s);
                std::printf("  round %d  %-8s %2d conn: %8.0f req/s  %6.1f us CPU/req  "
                            "failed %.1f%%  (load %.2f)\n",
                            round + 1, rt->name().c_str(), conns, s.rps, s.cpuUsPerRequest,
                            s.failedShare * 100, bench::loadAverage());
                std::fflush(stdout);
            }
        }
    }

    std::printf("\n| connections | daprd req/s | binderyd req/s | ratio (median of rounds) | daprd "
                "CPU us/req | binderyd CPU us/req | CPU ratio daprd/binderyd |\n"
                "|---|---|---|---|---|---|---|\n");
    for (int conns : connList) {
        const auto &b = results["binderyd"][conns];
        std::vector<double> brps, bcpu;
        for (const Sample &s : b) {
            brps.push_back(s.rps);
            bcpu.push_back(s.cpuUsPerRequest);
        }
        if (daprd.empty()) {
            std::printf("| %d | - | %.0f | - | - | %.1f | - |\n", conns, bench::median(brps),
                        bench::median(bcpu));
            continue;
        }
        const auto &d = results["daprd"][conns];
        std::vector<double> drps, dcpu, ratio, cpuRatio;
        for (size_t i = 0; i < d.size() && i < b.size(); ++i) {
            drps.push_back(d[i].rps);
            dcpu.push_back(d[i].cpuUsPerRequest);
            ratio.push_back(d[i].rps > 0 ? b[i].rps / d[i].rps : 0);
            cpuRatio.push_back(
                b[i].cpuUsPerRequest > 0 ? d[i].cpuUsPerRequest / b[i].cpuUsPerRequest : 0);
        }
        std::printf("| %d | %.0f | %.0f | **%.2fx** | %.1f | %.1f | %.2fx |\n", conns,
                    bench::median(drps), bench::median(brps), bench::median(ratio),
                    bench::median(dcpu), bench::median(bcpu), bench::median(cpuRatio));
    }
    std::printf("\nload average at end %.2f; targets (issue 16.1): ratio >= 1.5x at every "
                "concurrency, binderyd <= 100 us CPU per request\n",
                bench::loadAverage());
    for (auto &rt : runtimes)
        rt->stop();
    unlink((dir + "/upstream.yaml").c_str());
    rmdir(dir.c_str());
    return 0;
}
