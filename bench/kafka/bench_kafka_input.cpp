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
#include <librdkafka/rdkafka.h>

#include <sys/timerfd.h>

#include <algorithm>
#include <deque>
#include <mutex>
#include <numeric>

#include "bench_common.h"

using namespace bench;

namespace {

bool createTopic(const std::string &brokers, const std::string &topic, int partitions)
{
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", brokers.c_str(), err, sizeof err);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(topic.c_str(), partitions, 1, err, sizeof err);
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_CreateTopics(rk, &nt, 1, nullptr, q);
    bool ok = false;
    if (rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 15000)) {
        ok = !rd_kafka_event_error(ev);
        rd_kafka_event_destroy(ev);
    }
    rd_kafka_NewTopic_destroy(nt);
    rd_kafka_queue_destroy(q);
    rd_kafka_destroy(rk);
    return ok;
}

bool prefill(const std::string &brokers, const std::string &topic, int records, int partitions)
{
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", brokers.c_str(), err, sizeof err);
    rd_kafka_conf_set(conf, "linger.ms", "50", err, sizeof err);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    char value[160];
    for (int i = 0; i < records; ++i) {
        const int p = i % partitions;
        const int len
            = snprintf(value, sizeof value,
                       R"({"p":%d,"i":%d,"pad":"bindery kafka input benchmark record"})", p, i);
        const std::string key = "k" + std::to_string(i);
        while (rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(p),
                                 RD_KAFKA_V_VALUE(value, static_cast<size_t>(len)),
                                 RD_KAFKA_V_KEY(key.data(), key.size()),
                                 RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END)
               == RD_KAFKA_RESP_ERR__QUEUE_FULL)
            rd_kafka_poll(rk, 10);
        rd_kafka_poll(rk, 0);
    }
    const bool ok = rd_kafka_flush(rk, 60000) == RD_KAFKA_RESP_ERR_NO_ERROR;
    rd_kafka_destroy(rk);
    return ok;
}

/// The trivial app: answers 200 (after `latencyUs`), checks order per partition from the body.
class App
{
public:
    explicit App(int partitions)
        : m_last(static_cast<size_t>(partitions), -1)
    {
    }
    int start(int latencyUs)
    {
        m_latencyUs = latencyUs;
        const int port = listenLoopback(&m_listen);
        m_thread = std::thread([this] { run(); });
        return port;
    }
    ~App()
    {
        m_stop = true;
        if (m_thread.joinable())
            m_thread.join();
        close(m_listen);
    }
    void reset(int latencyUs)
    {
        std::lock_guard l(m_mutex);
        std::fill(m_last.begin(), m_last.end(), -1);
        m_events = 0;
        m_violations = 0;
        m_duplicates = 0;
        m_latencyUs = latencyUs;
        m_first = m_lastAt = Clock::time_point{};
        m_turnaround.clear();
        m_lateness.clear();
        m_service.clear();
    }
    /// Where a delivery cycle's time goes beyond the app's own latency: how late the app's
    /// answers leave (timer wake-up), and how long binderyd takes from an answer to the next
    /// request on the same connection (reading the answer, acking, taking the next record).
    struct CycleParts
    {
        std::vector<double> turnaround, lateness, service;
    };
    CycleParts cycleParts()
    {
        std::lock_guard l(m_mutex);
        return {m_turnaround, m_lateness, m_service};
    }
    long events()
    {
        std::lock_guard l(m_mutex);
        return m_events;
    }
    long violations()
    {
        std::lock_guard l(m_mutex);
        return m_violations;
    }
    long duplicates()
    {
        std::lock_guard l(m_mutex);
        return m_duplicates;
    }
    double seconds()
    {
        std::lock_guard l(m_mutex);
        return std::chrono::duration<double>(m_lastAt - m_first).count();
    }

private:
    struct Pending
    {
        int fd;
        Clock::time_point due;
        Clock::time_point arrived;
    };
    void run()
    {
        int ep = epoll_create1(0);
        epoll_event e{};
        e.events = EPOLLIN;
        e.data.fd = m_listen;
        epoll_ctl(ep, EPOLL_CTL_ADD, m_listen, &e);
        // Answers due later wait on a timerfd (microsecond precision, no spinning).
        const int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
        epoll_event te{};
        te.events = EPOLLIN;
        te.data.fd = tfd;
        epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &te);
        bool armed = false;
        // This VM wakes a sleeping thread 40-60 us after its timer expires. An app that is meant
        // to answer after exactly latencyUs arms its timer early by the wake-up lateness it has
        // seen (a running median) and spins the few microseconds that may remain, so its
        // service time is latencyUs, not latencyUs plus a wake-up.
        double wakeEstimateUs = 40;
        Clock::time_point armedFor{};
        auto arm = [&](Clock::time_point due) {
            armedFor = due - std::chrono::microseconds(static_cast<long>(wakeEstimateUs));
            const auto ns
                = std::chrono::duration_cast<std::chrono::nanoseconds>(armedFor.time_since_epoch())
                      .count();
            itimerspec its{};
            its.it_value.tv_sec = ns / 1000000000;
            its.it_value.tv_nsec = ns % 1000000000;
            timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, nullptr);
            armed = true;
        };
        std::map<int, std::string> bufs;
        std::map<int, Clock::time_point> answered; // fd -> when its last answer was written
        std::deque<Pending> pending;               // due times are monotonic (fixed latency)
        static const char kOk[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
        epoll_event evs[64];
        char tmp[65536];
        while (!m_stop) {
            if (!pending.empty() && !armed)
                arm(pending.front().due);
            const int n = epoll_wait(ep, evs, 64, 50);
            for (int i = 0; i < n; ++i) {
                const int fd = evs[i].data.fd;
                if (fd == tfd) {
                    uint64_t expirations;
                    if (read(tfd, &expirations, sizeof expirations) < 0) {
                    }
                    const double late
                        = std::chrono::duration<double, std::micro>(Clock::now() - armedFor)
                              .count();
                    // Tracks the median lateness (a mean would chase the rare very late wake).
                    wakeEstimateUs = std::clamp(
                        wakeEstimateUs + (late > wakeEstimateUs ? 1.0 : -1.0), 0.0, 100.0);
                    armed = false;
                    continue;
                }
                if (fd == m_listen) {
                    const int c = accept(m_listen, nullptr, nullptr);
                    int one = 1;
                    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    epoll_event ce{};
                    ce.events = EPOLLIN;
                    ce.data.fd = c;
                    epoll_ctl(ep, EPOLL_CTL_ADD, c, &ce);
                    continue;
                }
                const ssize_t got = read(fd, tmp, sizeof tmp);
                if (got <= 0) {
                    epoll_ctl(ep, EPOLL_CTL_DEL, fd, nullptr);
                    close(fd);
                    bufs.erase(fd);
                    continue;
                }
                std::string &b = bufs[fd];
                b.append(tmp, static_cast<size_t>(got));
                for (;;) {
                    size_t bodyStart = 0;
                    const size_t length = messageLength(b, &bodyStart);
                    if (length == 0)
                        break;
                    const std::string body = b.substr(bodyStart, length - bodyStart);
                    const bool isPost = b.compare(0, 5, "POST ") == 0;
                    b.erase(0, length);
                    if (isPost) {
                        record(body);
                        if (auto it = answered.find(fd); it != answered.end()) {
                            const double us = std::chrono::duration<double, std::micro>(
                                                  Clock::now() - it->second)
                                                  .count();
                            answered.erase(it);
                            std::lock_guard l(m_mutex);
                            if (m_turnaround.size() < 1000000)
                                m_turnaround.push_back(us);
                        }
                    }
                    if (m_latencyUs > 0) {
                        const auto now = Clock::now();
                        pending.push_back({fd, now + std::chrono::microseconds(m_latencyUs), now});
                    } else if (write(fd, kOk, sizeof kOk - 1) < 0) {
                    }
                }
            }
            // Answers due within the wake-up estimate are answered on time by spinning.
            const auto horizon
                = Clock::now() + std::chrono::microseconds(static_cast<long>(wakeEstimateUs));
            while (!pending.empty() && pending.front().due <= horizon) {
                while (Clock::now() < pending.front().due) {
                }
                const auto written = Clock::now(); // the answer leaves now (write() includes the
                                                   // loopback delivery)
                if (write(pending.front().fd, kOk, sizeof kOk - 1) < 0) {
                }
                answered[pending.front().fd] = written;
                {
                    std::lock_guard l(m_mutex);
                    if (m_lateness.size() < 1000000) {
                        m_lateness.push_back(
                            std::chrono::duration<double, std::micro>(written - pending.front().due)
                                .count());
                        m_service.push_back(std::chrono::duration<double, std::micro>(
                                                written - pending.front().arrived)
                                                .count());
                    }
                }
                pending.pop_front();
            }
            if (!pending.empty() && !armed)
                arm(pending.front().due);
        }
        close(tfd);
        close(ep);
    }
    void record(const std::string &body)
    {
        int p = -1, i = -1;
        if (sscanf(body.c_str(), R"({"p":%d,"i":%d)", &p, &i) != 2)
            return; // floor probe
        std::lock_guard l(m_mutex);
        const auto now = Clock::now();
        if (m_events == 0)
            m_first = now;
        m_lastAt = now;
        if (p < 0 || static_cast<size_t>(p) >= m_last.size())
            return;
        if (i == m_last[static_cast<size_t>(p)])
            ++m_duplicates;
        else if (i < m_last[static_cast<size_t>(p)])
            ++m_violations;
        else {
            m_last[static_cast<size_t>(p)] = i;
            ++m_events;
        }
    }

    int m_listen = -1;
    std::thread m_thread;
    std::atomic<bool> m_stop{false};
    std::atomic<int> m_latencyUs{0};
    std::mutex m_mutex;
    std::vector<int> m_last;
    long m_events = 0;
    long m_violations = 0;
    long m_duplicates = 0;
    Clock::time_point m_first, m_lastAt;
    std::vector<double> m_turnaround, m_lateness, m_service;
};

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
    writeFile(dir + "/in.yaml",
              "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: kafkain\nspec:\n"
              "  type: bindings.kafka\n  version: v1\n  metadata:\n"
              "  - name: brokers\n    value: \""
                  + brokers
                  + "\"\n"
                    "  - name: topics\n    value: \""
                  + topic
                  + "\"\n"
                    "  - name: consumerGroup\n    value: \""
                  + group
                  + "\"\n"
                    "  - name: initialOffset\n    value: \"oldest\"\n"
                    "  - name: direction\n    value: \"input\"\n");
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
