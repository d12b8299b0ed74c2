// SPDX-License-Identifier: Apache-2.0
// bindings.kafka `create` through binderyd and, when DAPRD=/path/to/daprd is set, through a real
// daprd beside it (issue 16.2): same broker, same component file, same load generator, rounds
// interleaved (daprd, binderyd, binderyd, daprd, ...). Per round: closed loop at 1, 16 and 64
// keep-alive connections (req/s), and an open loop at 1000 req/s over 16 connections (p50/p90/p99
// from the scheduled send time). Prints each round and the medians of the per-round ratios:
// throughput as binderyd / daprd, latency as daprd / binderyd (above 1: binderyd ahead).
// Env: KAFKA_BROKERS, DAPRD, BENCH_ROUNDS (3), BENCH_SECONDS (3), BENCH_LINGER_MS (binderyd only).
// Run by hand, never by ctest (bench/kafka/README.md).
#include "bench_common.h"

using namespace bench;

namespace {

struct Figures
{
    double c1 = 0, c16 = 0, c64 = 0;
    double p50 = 0, p90 = 0, p99 = 0;
};

Figures measure(int port, const std::string &req, double seconds)
{
    Figures f;
    f.c1 = runLoad(port, req, 1, seconds, 0, 0.5).rps();
    f.c16 = runLoad(port, req, 16, seconds, 0, 0.5).rps();
    f.c64 = runLoad(port, req, 64, seconds, 0, 0.5).rps();
    std::this_thread::sleep_for(std::chrono::milliseconds(500)); // let the broker drain
    const LoadResult o = runLoad(port, req, 16, seconds, 1000, 0.5);
    f.p50 = percentile(o.latUs, 50) / 1000;
    f.p90 = percentile(o.latUs, 90) / 1000;
    f.p99 = percentile(o.latUs, 99) / 1000;
    return f;
}

void print(const char *who, int round, const Figures &f)
{
    printf("  round %d %-9s 1/16/64 conns %7.0f %7.0f %7.0f req/s   @1000/s p50 %6.3f p90 %6.3f "
           "p99 %6.3f ms\n",
           round, who, f.c1, f.c16, f.c64, f.p50, f.p90, f.p99);
    fflush(stdout);
}

void warm(int port, const std::string &req)
{
    int fd = -1;
    for (int i = 0; i < 100; ++i)
        blockingRequest(fd, port, req);
    if (fd >= 0)
        close(fd);
}

} // namespace

int main()
{
    const std::string brokers = kafkaBrokers();
    const int rounds = atoi(env("BENCH_ROUNDS", "3").c_str());
    const double seconds = atof(env("BENCH_SECONDS", "3").c_str());
    const std::string daprdBin = env("DAPRD", "");
    const std::string linger = env("BENCH_LINGER_MS", "");
    const std::string topic = "bench-vs-" + std::to_string(time(nullptr));
    char dirTemplate[] = "/tmp/bench-kafka-vs-XXXXXX";
    const std::string dir = mkdtemp(dirTemplate);
    const std::string yaml
        = "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: out\nspec:\n"
          "  type: bindings.kafka\n  version: v1\n  metadata:\n"
          "  - name: brokers\n    value: \""
          + brokers + "\"\n  - name: publishTopic\n    value: \"" + topic
          + "\"\n  - name: authType\n    value: \"none\"\n"
            "  - name: direction\n    value: \"output\"\n";
    writeFile(dir + "/out.yaml", yaml);
    // binderyd alone may get lingerMs (daprd would not understand it): a folder of its own.
    const std::string bdir = dir + "/binderyd";
    mkdir(bdir.c_str(), 0755);
    writeFile(bdir + "/out.yaml",
              linger.empty() ? yaml : yaml + "  - name: lingerMs\n    value: \"" + linger + "\"\n");
    Runtime b("binderyd", binderydPath(), false);
    if (!b.start(bdir)) {
        fprintf(stderr,
                "binderyd did not start (is the broker up? scripts/services start kafka)\n");
        return 1;
    }
    Runtime d("daprd", daprdBin, true);
    const bool withDaprd = !daprdBin.empty();
    if (withDaprd && !d.start(dir, 0, "/dev/null")) {
        fprintf(stderr, "daprd (%s) did not start\n", daprdBin.c_str());
        return 1;
    }
    const std::string body
        = R"({"data":{"item":"widget","note":"bindery kafka benchmark payload","order":123456,"qty":2},"metadata":{"partitionKey":"k1"},"operation":"create"})";
    const std::string req = "POST /v1.0/bindings/out HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                            "application/json\r\nContent-Length: "
                            + std::to_string(body.size()) + "\r\n\r\n" + body;
    warm(b.port(), req);
    if (withDaprd)
        warm(d.port(), req);
    printf("bindings.kafka create, binderyd%s; broker %s, acks=all, %s, %d rounds of %.0f s per "
           "measure; load average %.2f at start\n",
           withDaprd ? " vs daprd" : " alone (set DAPRD=/path/to/daprd to compare)",
           brokers.c_str(), linger.empty() ? "binderyd lingerMs unset (adaptive)" : "lingerMs set",
           rounds, seconds, loadAverage());
    std::vector<double> r1, r16, r64, rp50, rp90, rp99;
    for (int round = 1; round <= rounds; ++round) {
        Figures fb, fd;
        // Interleave: odd rounds daprd first, even rounds binderyd first.
        if (withDaprd && round % 2 == 1) {
            fd = measure(d.port(), req, seconds);
            print("daprd", round, fd);
        }
        fb = measure(b.port(), req, seconds);
        print("binderyd", round, fb);
        if (withDaprd && round % 2 == 0) {
            fd = measure(d.port(), req, seconds);
            print("daprd", round, fd);
        }
        if (withDaprd) {
            r1.push_back(fb.c1 / fd.c1);
            r16.push_back(fb.c16 / fd.c16);
            r64.push_back(fb.c64 / fd.c64);
            rp50.push_back(fd.p50 / fb.p50);
            rp90.push_back(fd.p90 / fb.p90);
            rp99.push_back(fd.p99 / fb.p99);
        }
    }
    if (withDaprd)
        printf("medians of per-round ratios (above 1: binderyd ahead): req/s at 1 / 16 / 64 "
               "connections %.2fx / %.2fx / %.2fx; at 1000 req/s p50 %.2fx p90 %.2fx p99 %.2fx; "
               "load average %.2f at end\n",
               median(r1), median(r16), median(r64), median(rp50), median(rp90), median(rp99),
               loadAverage());
    b.stop();
    return 0;
}
