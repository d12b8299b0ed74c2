// SPDX-License-Identifier: Apache-2.0
// Output benchmark for bindings.kafka (issue 4), against the real broker
// (scripts/services start kafka; KAFKA_BROKERS). Prints:
//  1. POST /v1.0/bindings/<name> create through binderyd: req/s, p50/p99 at 1 and 64 keep-alive
//     connections (closed loop), and the 64/1 throughput ratio (target >= 5);
//  2. added latency at 1000 req/s (open loop, 16 connections, as Dapr's perf gate) against a
//     direct librdkafka produce with the same settings (acks=all, same linger.ms, Nagle off) at
//     1000 msg/s, measured in the same run (target: added p99 < 1 ms).
// Env: KAFKA_BROKERS, BENCH_SECONDS (default 5), BENCH_ADDED_SECONDS (default 15),
//      BENCH_LINGER_MS (default: unset, the adaptive producer).
#include <librdkafka/rdkafka.h>

#include <mutex>

#include "bench_common.h"

using namespace bench;

namespace {

const std::string kData
    = R"({"item":"widget","note":"bindery kafka benchmark payload","order":123456,"qty":2})";

struct Direct
{
    std::mutex m;
    std::vector<double> lat;
    Clock::time_point measureFrom;
};

void drCb(rd_kafka_t *, const rd_kafka_message_t *msg, void *opaque)
{
    auto *d = static_cast<Direct *>(opaque);
    auto *sent = static_cast<Clock::time_point *>(msg->_private);
    if (!msg->err && *sent >= d->measureFrom) {
        std::lock_guard l(d->m);
        d->lat.push_back(usSince(*sent));
    }
    delete sent;
}

std::vector<double> directProduce(const std::string &brokers, const std::string &topic,
                                  const std::string &linger, bool adaptive, double rate,
                                  double seconds, double warmup)
{
    Direct d;
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    auto set = [&](const char *k, const std::string &v) {
        if (rd_kafka_conf_set(conf, k, v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
            fprintf(stderr, "%s\n", err);
            exit(2);
        }
    };
    set("bootstrap.servers", brokers);
    set("acks", "all");
    set("linger.ms", linger);
    if (adaptive)
        set("max.in.flight.requests.per.connection", "1");
    set("socket.nagle.disable", "true");
    set("message.timeout.ms", "10000");
    rd_kafka_conf_set_opaque(conf, &d);
    rd_kafka_conf_set_dr_msg_cb(conf, drCb);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    std::atomic<bool> stop{false};
    std::thread poller([&] {
        while (!stop)
            rd_kafka_poll(rk, 100);
    });
    const auto start = Clock::now();
    d.measureFrom
        = start
          + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(warmup));
    const auto end
        = d.measureFrom
          + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
    const auto interval
        = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(1.0 / rate));
    for (auto t = start; t < end; t += interval) {
        std::this_thread::sleep_until(t);
        auto *sent = new Clock::time_point(t);
        rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic.c_str()),
                          RD_KAFKA_V_VALUE(const_cast<char *>(kData.data()), kData.size()),
                          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_OPAQUE(sent),
                          RD_KAFKA_V_END);
    }
    rd_kafka_flush(rk, 10000);
    stop = true;
    poller.join();
    rd_kafka_destroy(rk);
    return d.lat;
}

void printLine(const char *label, const LoadResult &r)
{
    printf("  %-34s %9.0f req/s  p50 %7.3f ms  p99 %7.3f ms  (ok %ld, failed %ld)\n", label,
           r.rps(), percentile(r.latUs, 50) / 1000, percentile(r.latUs, 99) / 1000, r.ok, r.failed);
}

} // namespace

int main()
{
    const std::string brokers = kafkaBrokers();
    const double seconds = atof(env("BENCH_SECONDS", "5").c_str());
    const std::string lingerEnv = env("BENCH_LINGER_MS", "");
    // Unset, the binding adapts (issue 16.2): linger.ms 0 with one produce request in flight; the
    // direct produce it is compared with gets the same settings.
    const std::string linger = lingerEnv.empty() ? "0" : lingerEnv;
    const std::string topic = "bench-out-" + std::to_string(time(nullptr));
    char dirTemplate[] = "/tmp/bench-kafka-out-XXXXXX";
    const std::string dir = mkdtemp(dirTemplate);
    std::string yaml
        = "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: out\nspec:\n"
          "  type: bindings.kafka\n  version: v1\n  metadata:\n"
          "  - name: brokers\n    value: \""
          + brokers
          + "\"\n"
            "  - name: publishTopic\n    value: \""
          + topic
          + "\"\n"
            "  - name: direction\n    value: \"output\"\n";
    if (!lingerEnv.empty())
        yaml += "  - name: lingerMs\n    value: \"" + lingerEnv + "\"\n";
    writeFile(dir + "/out.yaml", yaml);
    Daemon d;
    if (!d.start(dir, 0)) {
        fprintf(stderr,
                "binderyd did not start (is the broker up? scripts/services start kafka)\n");
        return 1;
    }
    const std::string body
        = R"({"data":)" + kData + R"(,"metadata":{"partitionKey":"k1"},"operation":"create"})";
    const std::string req = "POST /v1.0/bindings/out HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                            "application/json\r\n"
                            "Content-Length: "
                            + std::to_string(body.size()) + "\r\n\r\n" + body;
    // Warm up: topic auto-creation, connections.
    {
        int fd = -1;
        for (int i = 0; i < 50; ++i) {
            const int st = blockingRequest(fd, d.port(), req);
            if (st != 204 && i == 49) {
                fprintf(stderr, "create answered %d\n", st);
                return 1;
            }
        }
        close(fd);
    }
    if (getenv("BENCH_FLOOR_ONLY")) { // diagnostics: the API floor alone, binderyd otherwise idle
        const LoadResult f
            = runLoad(d.port(), "GET /v1.0/healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 16,
                      seconds, 1000, 0.5);
        printf("healthz at 1000 req/s, 16 conns: p50 %.3f ms p90 %.3f ms p99 %.3f ms\n",
               percentile(f.latUs, 50) / 1000, percentile(f.latUs, 90) / 1000,
               percentile(f.latUs, 99) / 1000);
        const LoadResult g
            = runLoad(d.port(), "GET /v1.0/healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 1, seconds,
                      1000, 0.5);
        printf("healthz at 1000 req/s, 1 conn:   p50 %.3f ms p90 %.3f ms p99 %.3f ms\n",
               percentile(g.latUs, 50) / 1000, percentile(g.latUs, 90) / 1000,
               percentile(g.latUs, 99) / 1000);
        return 0;
    }
    printf("bindings.kafka output benchmark — broker %s, topic %s, acks=all, %s, %zu B "
           "payload, %.0f s per run\n",
           brokers.c_str(), topic.c_str(),
           lingerEnv.empty() ? "lingerMs unset (adaptive)" : ("linger.ms=" + linger).c_str(),
           kData.size(), seconds);
    printf("1) binderyd create, closed loop (keep-alive connections)\n");
    const LoadResult c1 = runLoad(d.port(), req, 1, seconds);
    printLine("1 connection", c1);
    const double cpu0 = cpuSeconds(d.pid());
    const LoadResult c64 = runLoad(d.port(), req, 64, seconds);
    const double cpu = cpuSeconds(d.pid()) - cpu0;
    printLine("64 connections", c64);
    printf("  64/1 throughput ratio: %.1fx (target >= 5x); binderyd CPU %.1f us/request at 64 "
           "connections\n",
           c64.rps() / c1.rps(), cpu * 1e6 / static_cast<double>(c64.ok + c64.failed));

    // The direct produce and binderyd run at the same time, each at 1000/s, so a broker stall
    // (a G1 pause in the JVM shows as a 5-20 ms spike) hits both alike. Interleaved 1 s rounds
    // let one stall land on one side only: the p99 difference then swung by milliseconds.
    const double addedSeconds = atof(env("BENCH_ADDED_SECONDS", "15").c_str());
    printf("2) added latency at 1000 req/s (open loop; same settings; direct produce and binderyd "
           "side by side for %.0f s)\n",
           addedSeconds);
    std::vector<double> direct;
    LoadResult viaApi;
    const std::string health = "GET /v1.0/healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    std::this_thread::sleep_for(
        std::chrono::seconds(2)); // let the broker settle after the 64-connection run
    // The HTTP API without Kafka: GET /v1.0/healthz, same rate and connections.
    const LoadResult floor = runLoad(d.port(), health, 16, 3.0, 1000, 0.5);
    {
        std::thread side([&] {
            direct
                = directProduce(brokers, topic, linger, lingerEnv.empty(), 1000, addedSeconds, 1.0);
        });
        viaApi = runLoad(d.port(), req, 16, addedSeconds, 1000, 1.0);
        side.join();
    }
    printf("  %-34s p50 %7.3f ms  p90 %7.3f ms  p99 %7.3f ms  (%zu records)\n",
           "direct librdkafka produce->DR", percentile(direct, 50) / 1000,
           percentile(direct, 90) / 1000, percentile(direct, 99) / 1000, direct.size());
    printf("  %-34s p50 %7.3f ms  p90 %7.3f ms  p99 %7.3f ms  (%ld ok, %ld failed, %.0f req/s)\n",
           "binderyd POST create (16 conns)", percentile(viaApi.latUs, 50) / 1000,
           percentile(viaApi.latUs, 90) / 1000, percentile(viaApi.latUs, 99) / 1000, viaApi.ok,
           viaApi.failed, viaApi.rps());
    printf("  %-34s p50 %7.3f ms  p90 %7.3f ms  p99 %7.3f ms  (API floor, no Kafka)\n",
           "binderyd GET /v1.0/healthz", percentile(floor.latUs, 50) / 1000,
           percentile(floor.latUs, 90) / 1000, percentile(floor.latUs, 99) / 1000);
    printf("  added: p50 %+.3f ms  p90 %+.3f ms  p99 %+.3f ms (target: added p99 < 1 ms)\n",
           (percentile(viaApi.latUs, 50) - percentile(direct, 50)) / 1000,
           (percentile(viaApi.latUs, 90) - percentile(direct, 90)) / 1000,
           (percentile(viaApi.latUs, 99) - percentile(direct, 99)) / 1000);
    d.stop();
    return 0;
}
