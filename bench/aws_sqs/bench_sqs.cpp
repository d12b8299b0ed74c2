// SPDX-License-Identifier: Apache-2.0
// Benchmarks for bindings.aws.sqs (issue 11) against the SQS server of `scripts/services start
// sqs` (moto, signatures checked), each figure beside a peer measured in the same run:
//
//  input   events/s delivered to a local app that answers at once, then after 10 ms, for
//          - binderyd (aws.sqs input, default settings),
//          - daprd's documented loop as a model, run by this bench against the same server:
//            ReceiveMessage of 1 with a 20 s wait, deliver, DeleteMessage, 50 ms pause, one at a
//            time (components-contrib bindings/aws/sqs/sqs.go),
//          - the server's own ceiling: 4 loops of ReceiveMessage(10) + DeleteMessageBatch, no app.
//          A producer in this bench keeps the same backlog (BENCH_BACKLOG messages) waiting for
//          all three: moto's SendMessage and ReceiveMessage cost time in proportion to the
//          messages queued, so a pre-filled queue would measure moto's scans, not the consumer.
//  output  binderyd `create` req/s at 1 and 64 keep-alive connections, beside a signed
//          SendMessage loop of this bench with 1 and 64 calls in flight (what the server takes).
//
//   bench_sqs [input|output]   env: SQS_ENDPOINT, AWS_REGION, AWS_ACCESS_KEY_ID,
//   AWS_SECRET_ACCESS_KEY (else `scripts/services env sqs`), BENCH_SECONDS (10),
//   BENCH_BACKLOG (200)
#include <condition_variable>
#include <memory>
#include <mutex>
#include <set>

#include <QJsonArray>
#include <QJsonObject>

#include "bench/kafka/bench_common.h"
#include "core/bindings/aws_sqs/sqs_client.h"

using namespace bench;
using namespace bindery::bindings::aws_sqs;
using namespace Qt::Literals::StringLiterals;

namespace {

struct SqsEnv
{
    std::string endpoint, region, key, secret;
};

SqsEnv loadEnv()
{
    SqsEnv e{env("SQS_ENDPOINT", ""), env("AWS_REGION", "us-east-1"), env("AWS_ACCESS_KEY_ID", ""),
             env("AWS_SECRET_ACCESS_KEY", "")};
    if (!e.endpoint.empty() && !e.secret.empty())
        return e;
    const std::string cmd
        = env("BINDERY_SOURCE_DIR", BENCH_SOURCE_DIR) + "/scripts/services env sqs";
    FILE *p = popen(cmd.c_str(), "r");
    if (!p)
        return e;
    char line[1024];
    while (fgets(line, sizeof line, p)) {
        std::string l(line);
        while (!l.empty() && (l.back() == '\n' || l.back() == '\r'))
            l.pop_back();
        const size_t eq = l.find('=');
        if (eq == std::string::npos)
            continue;
        std::string v = l.substr(eq + 1);
        if (v.size() >= 2 && v.front() == '\'' && v.back() == '\'')
            v = v.substr(1, v.size() - 2);
        const std::string k = l.substr(0, eq);
        if (k == "SQS_ENDPOINT")
            e.endpoint = v;
        else if (k == "AWS_REGION")
            e.region = v;
        else if (k == "AWS_ACCESS_KEY_ID")
            e.key = v;
        else if (k == "AWS_SECRET_ACCESS_KEY")
            e.secret = v;
    }
    pclose(p);
    return e;
}

std::unique_ptr<SqsClient> makeClient(const SqsEnv &e, int connections)
{
    SqsClientOptions o;
    o.name = u"bench"_s;
    o.endpoint = QString::fromStdString(e.endpoint);
    o.region = QString::fromStdString(e.region);
    o.credentials = {QString::fromStdString(e.key), QString::fromStdString(e.secret), {}};
    o.maxConnections = connections;
    bindery::Result<std::unique_ptr<SqsClient>> c = SqsClient::create(o);
    if (!c) {
        fprintf(stderr, "%s\n", qPrintable(c.error().message));
        exit(1);
    }
    return std::move(*c);
}

SqsReply must(SqsClient &c, const char *action, const QJsonObject &params)
{
    SqsReply r = c.callAndWait(action, params, std::chrono::seconds(60));
    if (!r.ok()) {
        fprintf(stderr, "%s failed: %s\n", action, qPrintable(r.error.describe()));
        exit(1);
    }
    return r;
}

/// A fresh queue, deleted by the destructor.
struct Queue
{
    Queue(SqsClient &client, const std::string &stem)
        : c(client)
    {
        name = "bench-" + stem + "-" + std::to_string(time(nullptr)) + "-"
               + std::to_string(getpid());
        url = must(c, "CreateQueue", {{u"QueueName"_s, QString::fromStdString(name)}})
                  .body.value(u"QueueUrl"_s)
                  .toString();
    }
    ~Queue() { c.callAndWait("DeleteQueue", {{u"QueueUrl"_s, url}}, std::chrono::seconds(30)); }
    SqsClient &c;
    std::string name;
    QString url;
};

/// The app: one thread per keep-alive connection, answers 200 after `delayMs`, counts POSTs.
class App
{
public:
    int start()
    {
        const int port = listenLoopback(&m_listen);
        std::thread([this] {
            for (;;) {
                const int fd = accept(m_listen, nullptr, nullptr);
                if (fd < 0)
                    return;
                int nodelay = 1;
                setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &nodelay, sizeof nodelay);
                std::thread([this, fd] { serve(fd); }).detach();
            }
        }).detach();
        return port;
    }
    void setDelayMs(int ms) { m_delayMs = ms; }
    long events() const { return m_events.load(); }

private:
    void serve(int fd)
    {
        std::string buf;
        char tmp[65536];
        for (;;) {
            const ssize_t n = read(fd, tmp, sizeof tmp);
            if (n <= 0)
                break;
            buf.append(tmp, static_cast<size_t>(n));
            for (;;) {
                size_t bodyStart = 0;
                const size_t length = messageLength(buf, &bodyStart);
                if (length == 0)
                    break;
                const bool post = buf.compare(0, 5, "POST ") == 0;
                buf.erase(0, length);
                if (post && m_delayMs > 0)
                    std::this_thread::sleep_for(std::chrono::milliseconds(m_delayMs.load()));
                if (post)
                    ++m_events;
                static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
                if (write(fd, ok, sizeof ok - 1) < 0)
                    break;
            }
        }
        close(fd);
    }
    int m_listen = -1;
    std::atomic<int> m_delayMs{0};
    std::atomic<long> m_events{0};
};

/// Keeps about `backlog` messages waiting: sends batches of 10 while sent - consumed < backlog.
class Producer
{
public:
    Producer(SqsClient &client, QString url, int backlog, std::function<long()> consumed)
        : m_thread([this, &client, url = std::move(url), backlog,
                    consumed = std::move(consumed)](std::stop_token stop) {
            QJsonArray entries;
            for (int i = 0; i < 10; ++i)
                entries.append(QJsonObject{
                    {u"Id"_s, QString::number(i)},
                    {u"MessageBody"_s, uR"({"order":42,"pad":"bindery sqs input benchmark"})"_s}});
            const QJsonObject params{{u"QueueUrl"_s, url}, {u"Entries"_s, entries}};
            while (!stop.stop_requested()) {
                if (m_sent.load() - consumed() >= backlog) {
                    std::this_thread::sleep_for(std::chrono::milliseconds(2));
                    continue;
                }
                if (client.callAndWait("SendMessageBatch", params, std::chrono::seconds(30)).ok())
                    m_sent += 10;
            }
        })
    {
    }
    long sent() const { return m_sent.load(); }

private:
    std::atomic<long> m_sent{0};
    std::jthread m_thread; // last: stops and joins first
};

/// Events per second of `count` over `seconds`, after `warmup` seconds and once the producer
/// has filled the backlog.
double rate(const std::function<long()> &count, double warmup, double seconds)
{
    std::this_thread::sleep_for(std::chrono::duration<double>(warmup));
    const long c0 = count();
    const auto t0 = Clock::now();
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
    return static_cast<double>(count() - c0)
           / std::chrono::duration<double>(Clock::now() - t0).count();
}

std::string component(const SqsEnv &e, const std::string &name, const std::string &queue,
                      const std::string &direction)
{
    return "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: " + name
           + "\nspec:\n  type: bindings.aws.sqs\n  version: v1\n  metadata:\n"
             "  - name: queueName\n    value: \""
           + queue + "\"\n  - name: endpoint\n    value: \"" + e.endpoint
           + "\"\n  - name: region\n    value: \"" + e.region
           + "\"\n  - name: accessKey\n    value: \"" + e.key
           + "\"\n  - name: secretKey\n    value: \"" + e.secret
           + "\"\n  - name: direction\n    value: \"" + direction + "\"\n";
}

std::string tempDir()
{
    char t[] = "/tmp/bench-sqs-XXXXXX";
    return mkdtemp(t);
}

/// The server's ceiling: 4 loops of ReceiveMessage(10) + DeleteMessageBatch, no app.
double serverCeiling(const SqsEnv &e, int backlog, double seconds)
{
    auto client = makeClient(e, 8);
    Queue q(*client, "ceiling");
    std::atomic<long> drained{0};
    Producer producer(*client, q.url, backlog, [&] { return drained.load(); });
    std::vector<std::jthread> loops;
    for (int i = 0; i < 4; ++i)
        loops.emplace_back([&](std::stop_token stop) {
            while (!stop.stop_requested()) {
                const SqsReply r = client->callAndWait("ReceiveMessage",
                                                       {{u"QueueUrl"_s, q.url},
                                                        {u"MaxNumberOfMessages"_s, 10},
                                                        {u"WaitTimeSeconds"_s, 1}},
                                                       std::chrono::seconds(30));
                const QJsonArray messages = r.body.value(u"Messages"_s).toArray();
                if (messages.isEmpty())
                    continue;
                QJsonArray entries;
                for (qsizetype m = 0; m < messages.size(); ++m)
                    entries.append(
                        QJsonObject{{u"Id"_s, QString::number(m)},
                                    {u"ReceiptHandle"_s,
                                     messages[m].toObject().value(u"ReceiptHandle"_s).toString()}});
                client->callAndWait("DeleteMessageBatch",
                                    {{u"QueueUrl"_s, q.url}, {u"Entries"_s, entries}},
                                    std::chrono::seconds(30));
                drained += static_cast<long>(messages.size());
            }
        });
    const double r = rate([&] { return drained.load(); }, 3, seconds);
    loops.clear();
    return r;
}

/// daprd's loop as documented in components-contrib: one message per long poll, sequential.
double oneMessageModel(const SqsEnv &e, App &app, int appPort, int backlog, double seconds)
{
    auto client = makeClient(e, 2);
    Queue q(*client, "model");
    Producer producer(*client, q.url, backlog, [&] { return app.events(); });
    std::jthread loop([&](std::stop_token stop) {
        int fd = -1;
        while (!stop.stop_requested()) {
            const SqsReply r
                = client->callAndWait("ReceiveMessage",
                                      {{u"QueueUrl"_s, q.url},
                                       {u"MaxNumberOfMessages"_s, 1},
                                       {u"WaitTimeSeconds"_s, 20},
                                       {u"AttributeNames"_s, QJsonArray{u"SentTimestamp"_s}},
                                       {u"MessageAttributeNames"_s, QJsonArray{u"All"_s}}},
                                      std::chrono::seconds(40));
            for (const QJsonValue &v : r.body.value(u"Messages"_s).toArray()) {
                const QByteArray body = v.toObject().value(u"Body"_s).toString().toUtf8();
                const std::string req = "POST /model HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                                        "application/json\r\nContent-Length: "
                                        + std::to_string(body.size()) + "\r\n\r\n"
                                        + body.toStdString();
                if (blockingRequest(fd, appPort, req) == 200)
                    client->callAndWait(
                        "DeleteMessage",
                        {{u"QueueUrl"_s, q.url},
                         {u"ReceiptHandle"_s, v.toObject().value(u"ReceiptHandle"_s).toString()}},
                        std::chrono::seconds(30));
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        if (fd >= 0)
            close(fd);
    });
    return rate([&] { return app.events(); }, 3, seconds);
}

double binderyd(const SqsEnv &e, App &app, int appPort, int backlog, double seconds,
                double *cpuPerEvent)
{
    auto client = makeClient(e, 2);
    Queue q(*client, "bindery");
    const std::string dir = tempDir();
    writeFile(dir + "/in.yaml", component(e, "in", q.name, "input"));
    Daemon d;
    if (!d.start(dir, appPort)) {
        fprintf(stderr, "binderyd did not start\n");
        exit(1);
    }
    Producer producer(*client, q.url, backlog, [&] { return app.events(); });
    std::this_thread::sleep_for(std::chrono::seconds(3));
    const double cpu0 = cpuSeconds(d.pid());
    const long e0 = app.events();
    const double r = rate([&] { return app.events(); }, 0, seconds);
    *cpuPerEvent = (cpuSeconds(d.pid()) - cpu0) * 1e6 / static_cast<double>(app.events() - e0);
    return r;
}

void input(const SqsEnv &e, double seconds, int backlog)
{
    printf("1) input: events/s to an app, backlog of %d messages kept by a producer, %.0f s "
           "per figure\n",
           backlog, seconds);
    const double ceiling = serverCeiling(e, backlog, seconds);
    printf("  %-58s %8.1f msg/s\n", "server ceiling: 4 x (ReceiveMessage 10 + DeleteMessageBatch)",
           ceiling);
    App app;
    const int port = app.start();
    for (const int delay : {0, 10}) {
        app.setDelayMs(delay);
        double cpu = 0;
        const double bindery = binderyd(e, app, port, backlog, seconds, &cpu);
        const double model = oneMessageModel(e, app, port, backlog, seconds);
        printf("  app answers after %2d ms: binderyd %8.1f events/s (%.0f us CPU/event), "
               "one-message model %6.1f events/s: %.1fx (target >= 10x); %.0f%% of the server "
               "ceiling\n",
               delay, bindery, cpu, model, bindery / model, 100 * bindery / ceiling);
    }
}

/// Signed SendMessage calls with `inFlight` outstanding, for `seconds`: requests/s.
double directSend(const SqsEnv &e, int inFlight, double seconds)
{
    auto client = makeClient(e, inFlight);
    Queue q(*client, "direct" + std::to_string(inFlight));
    std::atomic<long> done{0};
    std::atomic<bool> stop{false};
    std::atomic<int> outstanding{inFlight};
    const QJsonObject params{{u"QueueUrl"_s, q.url}, {u"MessageBody"_s, u"\"hello\""_s}};
    // Each completion sends the next call (on the client's worker), until stopped.
    std::function<void(SqsReply)> again;
    again = [&](SqsReply) {
        ++done;
        if (!stop)
            client->call("SendMessage", params, std::chrono::seconds(30), again);
        else
            --outstanding;
    };
    for (int i = 0; i < inFlight; ++i)
        client->call("SendMessage", params, std::chrono::seconds(30), again);
    const double r = rate([&] { return done.load(); }, 1, seconds);
    stop = true;
    while (outstanding.load() > 0)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    return r;
}

void output(const SqsEnv &e, double seconds)
{
    printf("2) output: create req/s (closed loop, keep-alive), %.0f s per figure\n", seconds);
    auto client = makeClient(e, 2);
    Queue q1(*client, "out1");
    Queue q64(*client, "out64");
    const std::string dir = tempDir();
    writeFile(dir + "/out1.yaml", component(e, "out1", q1.name, "output"));
    writeFile(dir + "/out64.yaml", component(e, "out64", q64.name, "output"));
    Daemon d;
    if (!d.start(dir, 0)) {
        fprintf(stderr, "binderyd did not start\n");
        exit(1);
    }
    auto request = [](const std::string &binding) {
        const std::string body = R"({"operation":"create","data":"hello"})";
        return "POST /v1.0/bindings/" + binding
               + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                 "application/json\r\nContent-Length: "
               + std::to_string(body.size()) + "\r\n\r\n" + body;
    };
    // binderyd's CPU per request answered, over the run (its warm-up second included).
    auto viaBinderyd = [&](const std::string &binding, int connections, double *cpuUs) {
        const double cpu0 = cpuSeconds(d.pid());
        const LoadResult r = runLoad(d.port(), request(binding), connections, seconds);
        *cpuUs = (cpuSeconds(d.pid()) - cpu0) * 1e6 / static_cast<double>(r.ok + r.failed) * seconds
                 / (seconds + 1);
        return r;
    };
    for (const int connections : {1, 64}) {
        const double direct = directSend(e, connections, seconds);
        double cpu = 0;
        const LoadResult r = viaBinderyd(connections == 1 ? "out1" : "out64", connections, &cpu);
        printf("  %2d connection(s): binderyd %7.1f req/s (p50 %7.1f ms, p99 %7.1f ms, %ld "
               "failed, %.0f us CPU/request); signed SendMessage loop, %d in flight, %7.1f "
               "req/s: %.2fx\n",
               connections, r.rps(), percentile(r.latUs, 50) / 1000, percentile(r.latUs, 99) / 1000,
               r.failed, cpu, connections, direct, r.rps() / direct);
    }
}

} // namespace

int main(int argc, char *argv[])
{
    signal(SIGPIPE, SIG_IGN);
    const SqsEnv e = loadEnv();
    if (e.endpoint.empty() || e.secret.empty()) {
        fprintf(stderr, "no SQS server: run scripts/services start sqs\n");
        return 1;
    }
    const double seconds = atof(env("BENCH_SECONDS", "10").c_str());
    const int backlog = atoi(env("BENCH_BACKLOG", "200").c_str());
    const std::string what = argc > 1 ? argv[1] : "all";
    printf("bindings.aws.sqs benchmark against %s (moto, signatures checked)\n",
           e.endpoint.c_str());
    if (what == "all" || what == "input")
        input(e, seconds, backlog);
    if (what == "all" || what == "output")
        output(e, seconds);
    return 0;
}
