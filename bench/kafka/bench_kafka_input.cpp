// SPDX-License-Identifier: Apache-2.0
// Input benchmark for bindings.kafka (issue 4), against the real broker
// (scripts/services start kafka; KAFKA_BROKERS). A topic is pre-filled with 200,000 records over
// 8 partitions; binderyd (direction: input, initialOffset: oldest) delivers them to a trivial
// local epoll app that checks per-partition order. Two runs, each with a fresh consumer group:
//  a) the app answers after a fixed latency (BENCH_APP_LATENCY_US, default 1000 us):
//     target >= 0.9 x partitions / app latency. The same run also measures the floor: one plain
//     blocking client thread per partition against the same app, no Kafka and no work, just
//     before and just after a); and splits binderyd's cycle into the app's service time and
//     binderyd's turnaround (answer -> next request);
//  b) the app answers at once: events/s and CPU per event, no target (CPU-bound on 2 cores).
// Env: KAFKA_BROKERS, BENCH_RECORDS (200000), BENCH_PARTITIONS (8), BENCH_APP_LATENCY_US (1000).
#include <numeric>

#include "kafka_input_app.h"

using namespace bench;

namespace {

struct RunResult
{
    double eps = 0;
    double seconds = 0;
    long events = 0, violations = 0, duplicates = 0;
    bool complete = false;
    double cpuUsPerEvent = 0;
};

RunResult consumeAll(App &app, int appPort, const std::string &brokers, const std::string &topic,
                     int records, const std::string &group)
{
    char dirTemplate[] = "/tmp/bench-kafka-in-XXXXXX";
    const std::string dir = mkdtemp(dirTemplate);
    writeFile(dir + "/in.yaml", kafkaInputComponent("kafkain", brokers, topic, group));
    RunResult r;
    Daemon d;
    if (!d.start(dir, appPort)) {
        fprintf(stderr, "binderyd did not start\n");
        return r;
    }
    const double cpu0 = cpuSeconds(d.pid());
    const auto deadline = Clock::now() + std::chrono::seconds(300);
    while (app.events() < records && Clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    const double cpu = cpuSeconds(d.pid()) - cpu0;
    r.events = app.events();
    r.complete = r.events >= records;
    r.seconds = app.seconds();
    r.eps = r.seconds > 0 ? static_cast<double>(r.events) / r.seconds : 0;
    r.violations = app.violations();
    r.duplicates = app.duplicates();
    r.cpuUsPerEvent = r.events ? cpu * 1e6 / static_cast<double>(r.events) : 0;
    d.stop();
    return r;
}

/// The floor for a): the best any runtime could do here. One plain blocking thread per
/// partition POSTs to the same app back to back (write, read, repeat: no Kafka, no parsing,
/// no bookkeeping), so each cycle is the app's service time plus this VM's two wake-ups.
double sequentialFloor(int port, int partitions, double seconds)
{
    const std::string req
        = "POST /kafkain HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
          "Content-Length: 2\r\n\r\n{}";
    std::atomic<long> done{0};
    const auto warm = Clock::now() + std::chrono::milliseconds(500);
    const auto end
        = warm
          + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
    std::vector<std::thread> threads;
    for (int t = 0; t < partitions; ++t) {
        threads.emplace_back([&] {
            int fd = -1;
            for (;;) {
                blockingRequest(fd, port, req);
                const auto now = Clock::now();
                if (now >= end)
                    break;
                if (now >= warm)
                    done.fetch_add(1, std::memory_order_relaxed);
            }
            if (fd >= 0)
                close(fd);
        });
    }
    for (auto &t : threads)
        t.join();
    return static_cast<double>(done.load()) / seconds;
}

void print(const char *label, const RunResult &r, double target)
{
    printf("  %-30s %8.0f events/s  (%ld events in %.2f s, order violations %ld, redeliveries "
           "%ld%s; binderyd CPU %.1f us/event)\n",
           label, r.eps, r.events, r.seconds, r.violations, r.duplicates,
           r.complete ? "" : ", INCOMPLETE", r.cpuUsPerEvent);
    printf("  %-30s target %.0f events/s -> %.2fx of target %s\n", "", target, r.eps / target,
           r.eps >= target ? "(met)" : "(NOT met)");
}

} // namespace

int main()
{
    const std::string brokers = kafkaBrokers();
    const int records = atoi(env("BENCH_RECORDS", "200000").c_str());
    const int partitions = atoi(env("BENCH_PARTITIONS", "8").c_str());
    const int latencyUs = atoi(env("BENCH_APP_LATENCY_US", "1000").c_str());
    const std::string topic = "bench-in-" + std::to_string(time(nullptr));
    if (!createTopic(brokers, topic, partitions)) {
        fprintf(stderr, "cannot create topic %s on %s (scripts/services start kafka)\n",
                topic.c_str(), brokers.c_str());
        return 1;
    }
    const auto t0 = Clock::now();
    if (!prefill(brokers, topic, records, partitions)) {
        fprintf(stderr, "prefill failed\n");
        return 1;
    }
    printf("bindings.kafka input benchmark — broker %s, topic %s: %d records over %d partitions "
           "(prefilled in %.1f s)\n",
           brokers.c_str(), topic.c_str(), records, partitions, usSince(t0) / 1e6);
    App app(partitions);
    const int port = app.start(latencyUs);

    // The app's own round trip, answering at once, one keep-alive client.
    app.reset(0);
    int fd = -1;
    const std::string probe = "POST /kafkain HTTP/1.1\r\nHost: x\r\nContent-Type: "
                              "application/json\r\n__partition: 0\r\n"
                              "Content-Length: 2\r\n\r\n{}";
    std::vector<double> rtt;
    for (int i = 0; i < 3000; ++i) {
        const auto s = Clock::now();
        blockingRequest(fd, port, probe);
        if (i >= 500)
            rtt.push_back(usSince(s));
    }
    close(fd);
    double mean = 0;
    for (double v : rtt)
        mean += v;
    mean /= static_cast<double>(rtt.size());
    printf("  the app's round trip (answering at once, one keep-alive client): mean %.1f us, p50 "
           "%.1f us\n",
           mean, percentile(rtt, 50));
    // The floor runs just before and just after a), against the same app, so drift shows.
    app.reset(latencyUs);
    const double floorBefore = sequentialFloor(port, partitions, 5.0);
    app.reset(latencyUs);
    const RunResult a = consumeAll(app, port, brokers, topic, records, topic + "-g1");
    const App::CycleParts parts = app.cycleParts();
    app.reset(latencyUs);
    const double floorAfter = sequentialFloor(port, partitions, 5.0);
    const double floorEps = (floorBefore + floorAfter) / 2;
    const double target = 0.9 * partitions / (latencyUs / 1e6);
    char label[64];
    snprintf(label, sizeof label, "a) app latency %d us", latencyUs);
    print(label, a, target);
    {
        auto meanOf = [](const std::vector<double> &v) {
            return v.empty()
                       ? 0.0
                       : std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
        };
        // A delivery cycle per partition = the app's service time + binderyd's turnaround (the
        // app's answer -> binderyd wakes, acks, takes the next record -> the next request is in
        // the app, two wake-ups included). 0.9 x partitions / latency allows ~111 us of turnaround.
        printf("  %-30s app service time mean %.0f us (p50 %.0f, p99 %.0f; answers late by p50 "
               "%.0f / p99 %.0f us)\n",
               "", meanOf(parts.service), percentile(parts.service, 50),
               percentile(parts.service, 99), percentile(parts.lateness, 50),
               percentile(parts.lateness, 99));
        printf("  %-30s binderyd turnaround (answer -> next request on that connection) mean %.0f "
               "us, p50 %.0f, p99 %.0f\n",
               "", meanOf(parts.turnaround), percentile(parts.turnaround, 50),
               percentile(parts.turnaround, 99));
    }
    printf("  %-30s floor: %d plain blocking client threads, same app, no Kafka and no work: %.0f "
           "events/s before, "
           "%.0f after (%.2fx of the target)\n",
           "", partitions, floorBefore, floorAfter, floorEps / target);
    printf("  %-30s binderyd at %.2fx of the floor\n", "", floorEps > 0 ? a.eps / floorEps : 0.0);

    // b) has no target: with an app that answers at once the cycle is CPU-bound on 2 cores
    // (binderyd, the app and the broker share them), not bound by partitions / latency.
    app.reset(0);
    const RunResult b = consumeAll(app, port, brokers, topic, records, topic + "-g2");
    printf("  %-30s %8.0f events/s  (%ld events in %.2f s, order violations %ld, redeliveries "
           "%ld%s; binderyd CPU %.1f us/event)\n",
           "b) app answering at once", b.eps, b.events, b.seconds, b.violations, b.duplicates,
           b.complete ? "" : ", INCOMPLETE", b.cpuUsPerEvent);
    printf("  %-30s (no target: CPU-bound; the app's own round trip with one client is %.1f us "
           "mean)\n",
           "", mean);
    return (a.violations || b.violations) ? 3 : 0;
}
