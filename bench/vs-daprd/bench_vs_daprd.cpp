// SPDX-License-Identifier: Apache-2.0
// binderyd beside a real daprd (issue 16, "Measure against the real peer"): the same components,
// the same broker, the same load generator, rounds interleaved (each measure runs on both
// runtimes back to back, alternating which goes first: daprd, binderyd, binderyd, daprd, ...).
// Per round:
//  - footprint: each runtime started afresh with an http and a localstorage output component
//    (no broker), five times, alternating: the median time from spawning to the first 204 from
//    GET /v1.0/healthz (polled every millisecond), then its RSS after 2 s idle;
//  - output, both runtimes running: closed loops at 1 / 16 / 64 keep-alive connections (req/s and
//    the runtime's CPU per request from /proc/<pid>/stat) for Kafka `create`, http `post` to a
//    trivial local upstream, localstorage `create` on tmpfs and GET /v1.0/healthz; then Kafka
//    `create` in an open loop at 1000 req/s over 16 connections (p50/p90/p99 from the scheduled
//    send time);
//  - input, one runtime at a time: a bindings.kafka input component with a fresh consumer group
//    delivers a pre-filled topic (BENCH_INPUT_RECORDS over 8 partitions) to a local app that
//    answers at once, then after 1 ms; events/s between the first and the last event.
// Prints each round and a Markdown table of the medians: each runtime's figure and the median of
// the per-round ratios (throughput binderyd / daprd, costs daprd / binderyd: above 1 is binderyd
// ahead), with the load average. Without DAPRD it measures binderyd alone and says so.
//
// Run it with bench/vs-daprd/run (it builds, finds the broker and passes these on):
// env DAPRD, KAFKA_BROKERS, BENCH_ROUNDS (3), BENCH_SECONDS (3 per closed-loop point),
// BENCH_LOAD_THREADS (2), BENCH_INPUT_RECORDS (100000), BENCH_APP_LATENCY_US (1000),
// BENCH_TMPFS (/dev/shm). Never run by ctest.
#include <dirent.h>
#include <sys/stat.h>

#include <functional>
#include <memory>

#include "core/epoll_http.h"
#include "kafka/kafka_input_app.h"

using namespace bench;

namespace {

struct Config
{
    int rounds = 3;
    double seconds = 3;
    int loadThreads = 2;
    int inputRecords = 100000;
    int inputPartitions = 8;
    int appLatencyUs = 1000;
    std::string brokers;
    std::string daprd;
    std::string dir; // component folders and logs
};

/// Per measure key, per runtime: one value per round.
class Results
{
public:
    void add(const std::string &key, bool daprd, double value)
    {
        m_values[key][daprd ? 0 : 1].push_back(value);
    }
    const std::vector<double> &of(const std::string &key, bool daprd)
    {
        return m_values[key][daprd ? 0 : 1];
    }
    /// The median of the per-round ratios: binderyd / daprd when higher is better, else
    /// daprd / binderyd (above 1: binderyd ahead either way).
    double ratio(const std::string &key, bool higherIsBetter)
    {
        const auto &d = of(key, true);
        const auto &b = of(key, false);
        std::vector<double> r;
        for (size_t i = 0; i < d.size() && i < b.size(); ++i) {
            const double num = higherIsBetter ? b[i] : d[i];
            const double den = higherIsBetter ? d[i] : b[i];
            if (den > 0)
                r.push_back(num / den);
        }
        return median(r);
    }

private:
    std::map<std::string, std::vector<double>[2]> m_values;
};

std::string component(const std::string &name, const std::string &type,
                      const std::vector<std::pair<std::string, std::string>> &metadata)
{
    std::string y = "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: " + name
                    + "\nspec:\n  type: " + type + "\n  version: v1\n  metadata:\n";
    for (const auto &[k, v] : metadata)
        y += "  - name: " + k + "\n    value: \"" + v + "\"\n";
    return y;
}

std::string post(const std::string &path, const std::string &body)
{
    return "POST " + path
           + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: "
           + std::to_string(body.size()) + "\r\n\r\n" + body;
}

void removeFilesIn(const std::string &dir)
{
    if (DIR *d = opendir(dir.c_str())) {
        while (dirent *e = readdir(d))
            if (e->d_name[0] != '.')
                unlink((dir + "/" + e->d_name).c_str());
        closedir(d);
    }
}

/// "12,345" for whole numbers, else `decimals` places.
std::string fmt(double v, int decimals)
{
    char buf[64];
    snprintf(buf, sizeof buf, "%.*f", decimals, v);
    if (decimals > 0)
        return buf;
    std::string s = buf, out;
    const size_t digits = s.size() - (s[0] == '-' ? 1 : 0);
    for (size_t i = 0; i < s.size(); ++i) {
        out += s[i];
        const size_t left = s.size() - 1 - i;
        if (left > 0 && left % 3 == 0 && s[i] != '-' && digits > 3)
            out += ',';
    }
    return out;
}

struct Closed
{
    double rps = 0;
    double cpuUs = 0;
    long failed = 0;
};

class Bench
{
public:
    explicit Bench(Config c)
        : m_c(std::move(c))
        , m_app(m_c.inputPartitions)
    {
    }

    int run()
    {
        const bool withDaprd = !m_c.daprd.empty();
        const std::string stamp = std::to_string(time(nullptr));
        m_outTopic = "bench-vsd-out-" + stamp;
        m_inTopic = "bench-vsd-in-" + stamp;
        if (!createTopic(m_c.brokers, m_outTopic, 1)
            || !createTopic(m_c.brokers, m_inTopic, m_c.inputPartitions)) {
            fprintf(stderr, "cannot create topics on %s (scripts/services env kafka)\n",
                    m_c.brokers.c_str());
            return 1;
        }
        const auto t0 = Clock::now();
        if (!prefill(m_c.brokers, m_inTopic, m_c.inputRecords, m_c.inputPartitions)) {
            fprintf(stderr, "prefilling %s failed\n", m_inTopic.c_str());
            return 1;
        }
        const double prefillS = usSince(t0) / 1e6;
        writeComponents();
        m_appPort = m_app.start(0);

        m_runtimes.push_back(std::make_unique<Runtime>("binderyd", binderydPath(), false));
        if (withDaprd)
            m_runtimes.insert(m_runtimes.begin(),
                              std::make_unique<Runtime>("daprd", m_c.daprd, true));
        m_loadStart = loadAverage();
        printf("# binderyd vs daprd (bench/vs-daprd)\n\n");
        if (!withDaprd)
            printf("DAPRD is not set: measuring binderyd alone, no ratios "
                   "(DAPRD=/path/to/daprd to compare).\n");
        printf("%s; broker %s; %d round(s), %.1f s per closed-loop point, %d load generator "
               "thread(s); input: %d records over %d partitions (prefilled in %.1f s); components "
               "and logs in %s; load average %.2f at start\n\n",
               withDaprd ? m_c.daprd.c_str() : "binderyd alone", m_c.brokers.c_str(), m_c.rounds,
               m_c.seconds, m_c.loadThreads, m_c.inputRecords, m_c.inputPartitions, prefillS,
               m_c.dir.c_str(), m_loadStart);
        for (int round = 1; round <= m_c.rounds; ++round) {
            // Odd rounds daprd first, even rounds binderyd first.
            m_order.clear();
            for (auto &rt : m_runtimes)
                m_order.push_back(rt.get());
            if (round % 2 == 0)
                std::reverse(m_order.begin(), m_order.end());
            printf("## round %d (load average %.2f)\n", round, loadAverage());
            if (!footprint() || !output() || !input(round))
                return 1;
            m_loads.push_back(loadAverage());
        }
        printTable(withDaprd);
        removeFilesIn(m_store);
        rmdir(m_store.c_str());
        return 0;
    }

private:
    void writeComponents()
    {
        m_store = env("BENCH_TMPFS", "/dev/shm") + "/bench-vsd-store-" + std::to_string(getpid());
        mkdir(m_store.c_str(), 0755);
        const std::string httpYaml = component(
            "upstream", "bindings.http",
            {{"url", "http://127.0.0.1:" + std::to_string(m_upstream.port()) + "/things"}});
        const std::string storeYaml
            = component("store", "bindings.localstorage", {{"rootPath", m_store}});
        // Footprint: no broker, so start-up does not wait on one.
        m_idleDir = m_c.dir + "/idle";
        mkdir(m_idleDir.c_str(), 0755);
        writeFile(m_idleDir + "/upstream.yaml", httpYaml);
        writeFile(m_idleDir + "/store.yaml", storeYaml);
        m_outDir = m_c.dir + "/output";
        mkdir(m_outDir.c_str(), 0755);
        writeFile(m_outDir + "/upstream.yaml", httpYaml);
        writeFile(m_outDir + "/store.yaml", storeYaml);
        writeFile(m_outDir + "/kafka.yaml", component("out", "bindings.kafka",
                                                      {{"brokers", m_c.brokers},
                                                       {"publishTopic", m_outTopic},
                                                       {"authType", "none"},
                                                       {"direction", "output"}}));
    }

    std::string log(const Runtime &rt) const { return m_c.dir + "/" + rt.name() + ".log"; }

    /// Start-to-healthy is one short sample, so each round takes the median of kStarts starts
    /// per runtime, alternating; the RSS is read 2 s after the last one.
    bool footprint()
    {
        constexpr int kStarts = 5;
        std::map<Runtime *, std::vector<double>> starts;
        for (int i = 0; i < kStarts; ++i) {
            for (Runtime *rt : m_order) {
                if (!rt->start(m_idleDir, 0, log(*rt), 1000)) {
                    fprintf(stderr, "%s did not start (see %s)\n", rt->name().c_str(),
                            log(*rt).c_str());
                    return false;
                }
                starts[rt].push_back(rt->startMs());
                if (i < kStarts - 1) {
                    rt->stop();
                    continue;
                }
                std::this_thread::sleep_for(std::chrono::seconds(2));
                const double rss = rssMiB(rt->pid());
                rt->stop();
                std::string all;
                for (double ms : starts[rt])
                    all += (all.empty() ? "" : " ") + fmt(ms, 0);
                m_r.add("start", rt->isDaprd(), median(starts[rt]));
                m_r.add("rss", rt->isDaprd(), rss);
                printf("  %-8s start to healthy median %6.1f ms (%s), idle RSS %5.1f MiB\n",
                       rt->name().c_str(), median(starts[rt]), all.c_str(), rss);
            }
        }
        return true;
    }

    Closed closed(Runtime &rt, const std::string &req, int conns)
    {
        (void)runLoadParallel(rt.port(), req, conns, 0.5, 0, m_c.loadThreads); // warm up
        const double cpu0 = cpuSeconds(rt.pid());
        const LoadResult r
            = runLoadParallel(rt.port(), req, conns, m_c.seconds, 0, m_c.loadThreads);
        const double cpu1 = cpuSeconds(rt.pid());
        Closed c;
        const double n = static_cast<double>(r.ok + r.failed);
        c.rps = r.seconds > 0 ? static_cast<double>(r.ok) / r.seconds : 0;
        c.cpuUs = n > 0 ? (cpu1 - cpu0) * 1e6 / n : 0;
        c.failed = r.failed;
        return c;
    }

    /// Closed loops at 1 / 16 / 64 connections on each runtime in turn; stores `<key>.c<n>`
    /// (req/s) and `<key>.cpu<n>` (CPU µs per request). `after` runs after each point.
    void closedLoops(const std::string &key, const std::string &label, const std::string &req,
                     const std::function<void()> &after = {})
    {
        for (int conns : {1, 16, 64}) {
            for (Runtime *rt : m_order) {
                const Closed c = closed(*rt, req, conns);
                if (after)
                    after();
                m_r.add(key + ".c" + std::to_string(conns), rt->isDaprd(), c.rps);
                m_r.add(key + ".cpu" + std::to_string(conns), rt->isDaprd(), c.cpuUs);
                printf("  %-8s %-22s %2d conn %8.0f req/s %6.1f us CPU/req%s\n", rt->name().c_str(),
                       label.c_str(), conns, c.rps, c.cpuUs,
                       c.failed ? (" FAILED " + std::to_string(c.failed)).c_str() : "");
                fflush(stdout);
            }
        }
    }

    bool output()
    {
        for (Runtime *rt : m_order) {
            if (!rt->start(m_outDir, 0, log(*rt))) {
                fprintf(stderr, "%s did not start (see %s)\n", rt->name().c_str(),
                        log(*rt).c_str());
                return false;
            }
        }
        const std::string kafka = post(
            "/v1.0/bindings/out",
            R"({"data":{"item":"widget","note":"bindery kafka benchmark payload","order":123456,"qty":2},"metadata":{"partitionKey":"k1"},"operation":"create"})");
        const std::string http
            = post("/v1.0/bindings/upstream", R"({"operation":"post","data":{"hello":"world"}})");
        const std::string store = post(
            "/v1.0/bindings/store",
            R"({"operation":"create","data":{"item":"widget","note":"bindery localstorage benchmark payload","qty":2}})");
        const std::string healthz = "GET /v1.0/healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
        closedLoops("kafka", "kafka create", kafka);
        std::this_thread::sleep_for(std::chrono::milliseconds(500)); // let the broker drain
        for (Runtime *rt : m_order) {
            const LoadResult o = runLoad(rt->port(), kafka, 16, m_c.seconds, 1000, 0.5);
            const double p50 = percentile(o.latUs, 50) / 1000, p90 = percentile(o.latUs, 90) / 1000,
                         p99 = percentile(o.latUs, 99) / 1000;
            m_r.add("kafka.p50", rt->isDaprd(), p50);
            m_r.add("kafka.p90", rt->isDaprd(), p90);
            m_r.add("kafka.p99", rt->isDaprd(), p99);
            printf("  %-8s %-22s @1000/s %6.0f req/s p50 %6.2f p90 %6.2f p99 %6.2f ms%s\n",
                   rt->name().c_str(), "kafka create", o.rps(), p50, p90, p99,
                   o.failed ? (" FAILED " + std::to_string(o.failed)).c_str() : "");
            fflush(stdout);
            std::this_thread::sleep_for(std::chrono::milliseconds(500));
        }
        closedLoops("http", "http post", http);
        closedLoops("store", "localstorage create", store, [this] { removeFilesIn(m_store); });
        closedLoops("healthz", "GET /v1.0/healthz", healthz);
        for (Runtime *rt : m_order)
            rt->stop();
        return true;
    }

    bool input(int round)
    {
        for (const bool late : {false, true}) {
            for (Runtime *rt : m_order) {
                const std::string dir = m_c.dir + "/input-" + rt->name();
                mkdir(dir.c_str(), 0755);
                const std::string group = m_inTopic + "-" + rt->name() + "-r"
                                          + std::to_string(round) + (late ? "-late" : "-once");
                writeFile(dir + "/in.yaml",
                          kafkaInputComponent("kafkain", m_c.brokers, m_inTopic, group));
                m_app.reset(late ? m_c.appLatencyUs : 0);
                if (!rt->start(dir, m_appPort, log(*rt))) {
                    fprintf(stderr, "%s did not start (see %s)\n", rt->name().c_str(),
                            log(*rt).c_str());
                    return false;
                }
                const double cpu0 = cpuSeconds(rt->pid());
                const auto deadline = Clock::now() + std::chrono::seconds(180);
                // Done when every record came (out-of-order ones are counted as violations).
                while (m_app.events() + m_app.violations() < m_c.inputRecords
                       && Clock::now() < deadline)
                    std::this_thread::sleep_for(std::chrono::milliseconds(50));
                const double cpu = cpuSeconds(rt->pid()) - cpu0;
                rt->stop();
                const long events = m_app.events();
                const long violations = m_app.violations();
                const double seconds = m_app.seconds();
                const double eps = seconds > 0 ? static_cast<double>(events) / seconds : 0;
                const std::string key = late ? "in.late" : "in.once";
                m_r.add(key, rt->isDaprd(), eps);
                m_r.add(key + ".cpu", rt->isDaprd(),
                        events ? cpu * 1e6 / static_cast<double>(events) : 0);
                printf("  %-8s kafka input, app %-9s %8.0f events/s (%ld events in %.2f s, %.1f us "
                       "CPU/event, order violations %ld, redeliveries %ld%s)\n",
                       rt->name().c_str(), late ? "after 1ms" : "at once", eps, events, seconds,
                       events ? cpu * 1e6 / static_cast<double>(events) : 0, violations,
                       m_app.duplicates(),
                       events + violations < m_c.inputRecords ? ", INCOMPLETE" : "");
                fflush(stdout);
            }
        }
        return true;
    }

    struct Row
    {
        const char *label;
        std::vector<std::string> keys;
        bool higherIsBetter;
        int decimals;
    };

    void printTable(bool withDaprd)
    {
        const std::vector<Row> rows{
            {"Kafka `create` req/s at 1 / 16 / 64 connections",
             {"kafka.c1", "kafka.c16", "kafka.c64"},
             true,
             0},
            {"Kafka `create` CPU µs per request at 1 / 16 / 64",
             {"kafka.cpu1", "kafka.cpu16", "kafka.cpu64"},
             false,
             0},
            {"Kafka `create` at 1000 req/s, p50 / p90 / p99 ms",
             {"kafka.p50", "kafka.p90", "kafka.p99"},
             false,
             2},
            {"http binding `post` to a fast local upstream, req/s at 1 / 16 / 64",
             {"http.c1", "http.c16", "http.c64"},
             true,
             0},
            {"http binding CPU µs per request at 1 / 16 / 64",
             {"http.cpu1", "http.cpu16", "http.cpu64"},
             false,
             0},
            {"localstorage `create` on tmpfs req/s at 1 / 16 / 64",
             {"store.c1", "store.c16", "store.c64"},
             true,
             0},
            {"localstorage `create` CPU µs per request at 1 / 16 / 64",
             {"store.cpu1", "store.cpu16", "store.cpu64"},
             false,
             0},
            {"`GET /v1.0/healthz` req/s at 1 / 16 / 64",
             {"healthz.c1", "healthz.c16", "healthz.c64"},
             true,
             0},
            {"`GET /v1.0/healthz` CPU µs per request at 1 / 16 / 64",
             {"healthz.cpu1", "healthz.cpu16", "healthz.cpu64"},
             false,
             0},
            {"Kafka input events/s, app answers at once / after 1 ms",
             {"in.once", "in.late"},
             true,
             0},
            {"Kafka input CPU µs per event, app answers at once / after 1 ms",
             {"in.once.cpu", "in.late.cpu"},
             false,
             0},
            {"idle RSS, MiB", {"rss"}, false, 0},
            {"start to healthy, ms", {"start"}, false, 0},
        };
        auto join = [](const std::vector<std::string> &parts) {
            std::string s;
            for (size_t i = 0; i < parts.size(); ++i)
                s += (i ? " / " : "") + parts[i];
            return s;
        };
        double lo = m_loadStart, hi = m_loadStart;
        for (double l : m_loads) {
            lo = std::min(lo, l);
            hi = std::max(hi, l);
        }
        char when[64];
        const time_t now = time(nullptr);
        strftime(when, sizeof when, "%Y-%m-%d %H:%M UTC", gmtime(&now));
        printf("\n## Result (%s, %d round(s), 1-minute load average %.2f at start, %.2f-%.2f "
               "after the rounds)\n\n",
               when, m_c.rounds, m_loadStart, lo, hi);
        if (withDaprd)
            printf("Medians over the rounds; ratio = median of the per-round ratios, throughput "
                   "binderyd ÷ daprd, costs daprd ÷ binderyd (above 1: binderyd ahead).\n\n"
                   "| measure | daprd | binderyd | ratio |\n|---|---|---|---|\n");
        else
            printf("binderyd alone (DAPRD not set), medians over the rounds.\n\n"
                   "| measure | binderyd |\n|---|---|\n");
        for (const Row &row : rows) {
            std::vector<std::string> d, b, r;
            for (const auto &k : row.keys) {
                b.push_back(fmt(median(m_r.of(k, false)), row.decimals));
                if (withDaprd) {
                    d.push_back(fmt(median(m_r.of(k, true)), row.decimals));
                    r.push_back(fmt(m_r.ratio(k, row.higherIsBetter), 2) + "×");
                }
            }
            if (withDaprd)
                printf("| %s | %s | %s | %s |\n", row.label, join(d).c_str(), join(b).c_str(),
                       join(r).c_str());
            else
                printf("| %s | %s |\n", row.label, join(b).c_str());
        }
        if (!withDaprd)
            return;
        // The targets of issue 16.
        auto verdict = [](bool met) { return met ? "met" : "NOT met"; };
        printf("\nIssue 16 targets:\n");
        for (int c : {1, 16, 64}) {
            const std::string k = "http.c" + std::to_string(c);
            const double ratio = m_r.ratio(k, true);
            const double cpu = median(m_r.of("http.cpu" + std::to_string(c), false));
            printf("- http at %d connection(s): %.2f× daprd's req/s (≥ 1.5×: %s), %.0f µs CPU per "
                   "request (≤ 100: %s)\n",
                   c, ratio, verdict(ratio >= 1.5), cpu, verdict(cpu <= 100));
        }
        const double k1 = m_r.ratio("kafka.c1", true), k64 = m_r.ratio("kafka.c64", true);
        printf("- Kafka create: %.2f× at 1 connection (≥ 1.0×: %s), %.2f× at 64 (≥ 3×: %s)\n", k1,
               verdict(k1 >= 1.0), k64, verdict(k64 >= 3.0));
        const double p50 = m_r.ratio("kafka.p50", false), p99 = m_r.ratio("kafka.p99", false);
        printf("- Kafka at 1000 req/s: p50 daprd ÷ binderyd %.2f× (≥ 1: %s), p99 %.2f× (≥ 2: "
               "%s)\n",
               p50, verdict(p50 >= 1.0), p99, verdict(p99 >= 2.0));
        printf("load average %.2f at the end\n", loadAverage());
    }

    Config m_c;
    App m_app;
    bindery::bench::TrivialApp m_upstream;
    int m_appPort = 0;
    std::string m_outTopic, m_inTopic, m_store, m_idleDir, m_outDir;
    std::vector<std::unique_ptr<Runtime>> m_runtimes;
    std::vector<Runtime *> m_order;
    Results m_r;
    double m_loadStart = 0;
    std::vector<double> m_loads;
};

} // namespace

int main()
{
    Config c;
    c.rounds = std::max(1, atoi(env("BENCH_ROUNDS", "3").c_str()));
    c.seconds = atof(env("BENCH_SECONDS", "3").c_str());
    c.loadThreads = std::max(1, atoi(env("BENCH_LOAD_THREADS", "2").c_str()));
    c.inputRecords = std::max(1000, atoi(env("BENCH_INPUT_RECORDS", "100000").c_str()));
    c.appLatencyUs = atoi(env("BENCH_APP_LATENCY_US", "1000").c_str());
    c.brokers = kafkaBrokers();
    c.daprd = env("DAPRD", "");
    char dirTemplate[] = "/tmp/bench-vs-daprd-XXXXXX";
    c.dir = mkdtemp(dirTemplate);
    signal(SIGPIPE, SIG_IGN);
    Bench b(std::move(c));
    return b.run();
}
