// SPDX-License-Identifier: Apache-2.0
// Bench (issue 12): bindings.gcp.bucket through binderyd against fake-gcs-server, beside a direct
// call of the same endpoint with the same HTTP client in the same run. The direct side is the
// binding's own Cloud Storage calls (GcsClient on the binding kit's RestClient: a media upload, a
// resumable session in 16 MiB chunks above 16 MiB, an alt=media download) made straight from this
// process; the binding side adds binderyd's HTTP API, daprd's JSON envelope and the binding.
//   create and get of 1 KiB objects, requests/s, at 1 and 16 connections (closed loop);
//   create and get of 64 MiB objects, MiB/s, one at a time.
// Target: each binding figure >= 0.8x its direct figure.
//   scripts/services start gcs
//   cmake --build build/release --target bench_gcp_bucket binderyd
//   build/release/bench/bench_gcp_bucket [--rounds R] [--small N]
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>
#include <vector>

#include <QCoreApplication>
#include <QDateTime>
#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QProcess>
#include <QRandomGenerator>
#include <QTcpServer>
#include <QTemporaryDir>
#include <QThread>

#include "core/bindings/common/rest_client.h"
#include "core/bindings/gcp_bucket/gcs_client.h"
#include "core/http_client.h"

using namespace bindery::bindings;
using namespace bindery::bindings::gcp_bucket;

namespace {

constexpr qsizetype MiB = 1024 * 1024;

QByteArray randomBytes(qsizetype n)
{
    QByteArray b(n, Qt::Uninitialized);
    QRandomGenerator::global()->fillRange(reinterpret_cast<quint32 *>(b.data()), n / 4);
    return b;
}

/// GCS_ENDPOINT from the environment, else from `scripts/services env gcs`.
QByteArray gcsEndpoint()
{
    QByteArray e = qgetenv("GCS_ENDPOINT");
    if (!e.isEmpty())
        return e;
    QProcess p;
    p.start(QStringLiteral(BENCH_SOURCE_DIR "/scripts/services"),
            {QStringLiteral("env"), QStringLiteral("gcs")});
    p.waitForFinished(30000);
    for (const QByteArray &line : p.readAllStandardOutput().split('\n')) {
        if (line.startsWith("GCS_ENDPOINT="))
            return line.mid(13).trimmed();
    }
    return {};
}

/// Runs `one(worker, i)` (blocking, true on success) `total` times over `parallel` threads,
/// closed loop; the requests per second.
double closedLoop(int parallel, int total, const std::function<bool(int, int)> &one, int *failures)
{
    std::atomic<int> next{0};
    std::atomic<int> failed{0};
    QElapsedTimer t;
    t.start();
    std::vector<std::thread> threads;
    for (int p = 0; p < parallel; ++p) {
        threads.emplace_back([&, p] {
            for (int i = next++; i < total; i = next++) {
                if (!one(p, i))
                    ++failed;
            }
        });
    }
    for (std::thread &th : threads)
        th.join();
    *failures = failed.load();
    return total / (double(t.nsecsElapsed()) / 1e9);
}

/// The direct side: the binding's own calls, waited for by the calling thread.
class Direct
{
public:
    Direct(common::RestClient &client, const QByteArray &endpoint)
        : m_gcs(client, nullptr, [&] {
            GcsClientOptions o;
            o.endpoint = endpoint;
            return o;
        }())
    {
    }
    bool upload(const QString &bucket, const QString &name, std::shared_ptr<const QByteArray> data)
    {
        return wait<nlohmann::json>([&](auto done) {
            m_gcs.upload(bucket, name, "application/octet-stream", std::move(data), done);
        });
    }
    bool download(const QString &bucket, const QString &name, qsizetype expect)
    {
        qsizetype got = -1;
        const bool ok = wait<QByteArray>([&](auto done) {
            m_gcs.download(bucket, name, [done, &got](GcsResult<QByteArray> r) {
                if (r)
                    got = r->size();
                done(std::move(r));
            });
        });
        return ok && got == expect;
    }

    bool remove(const QString &bucket, const QString &name)
    {
        std::mutex m;
        std::condition_variable cv;
        bool finished = false;
        m_gcs.remove(bucket, name, [&](GcsResult<void>) {
            std::lock_guard lock(m);
            finished = true;
            cv.notify_all();
        });
        std::unique_lock lock(m);
        cv.wait(lock, [&] { return finished; });
        return true;
    }

private:
    template <typename T, typename Start> bool wait(Start start)
    {
        std::mutex m;
        std::condition_variable cv;
        bool finished = false;
        bool ok = false;
        start([&](GcsResult<T> r) {
            std::lock_guard lock(m);
            ok = r.has_value();
            if (!r)
                std::fprintf(stderr, "direct: %s\n", qPrintable(r.error().text));
            finished = true;
            cv.notify_all();
        });
        std::unique_lock lock(m);
        cv.wait(lock, [&] { return finished; });
        return ok;
    }
    GcsClient m_gcs;
};

/// The binding side: POST /v1.0/bindings/gcs on a keep-alive connection to binderyd.
bool invoke(bindery::core::HttpConnection &c, quint16 port, const QByteArray &body, int status,
            qsizetype expectBody = -1)
{
    const QByteArray head
        = "POST /v1.0/bindings/gcs HTTP/1.1\r\nHost: 127.0.0.1:" + QByteArray::number(port)
          + "\r\nContent-Type: application/json\r\nContent-Length: "
          + QByteArray::number(body.size()) + "\r\n\r\n";
    bindery::core::HttpResponse r;
    QString error;
    if (!c.request(head, body, 300000, &r, &error)) {
        std::fprintf(stderr, "binderyd: %s\n", qPrintable(error));
        return false;
    }
    if (r.status != status)
        std::fprintf(stderr, "binderyd answered %d: %s\n", r.status, r.body.left(300).constData());
    return r.status == status && (expectBody < 0 || r.body.size() == expectBody);
}

QByteArray envelope(const QByteArray &op, const QString &key, const QByteArray &dataJson = {})
{
    QByteArray b = "{\"operation\":\"" + op + "\",\"metadata\":{\"key\":\"" + key.toUtf8() + '"';
    if (!dataJson.isEmpty())
        b += ",\"decodeBase64\":\"true\"},\"data\":" + dataJson + '}';
    else
        b += "}}";
    return b;
}

void line(const char *what, double binding, double direct, const char *unit)
{
    std::printf("%-34s binding %10.1f %-5s direct %10.1f %-5s  %.2fx %s\n", what, binding, unit,
                direct, unit, binding / direct,
                binding >= 0.8 * direct ? "(>= 0.8x)" : "(BELOW 0.8x)");
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    int rounds = 3;
    int small = 2000;
    for (int i = 1; i + 1 < argc; ++i) {
        if (qstrcmp(argv[i], "--rounds") == 0)
            rounds = atoi(argv[++i]);
        else if (qstrcmp(argv[i], "--small") == 0)
            small = atoi(argv[++i]);
    }
    const QByteArray endpoint = gcsEndpoint();
    if (endpoint.isEmpty()) {
        std::fprintf(stderr, "fake-gcs-server is not running: scripts/services start gcs\n");
        return 2;
    }
    common::RestClientOptions options;
    options.name = QStringLiteral("bench-gcs");
    options.maxHostConnections = 32;
    auto client = common::RestClient::create(options);
    if (!client)
        return 2;
    const QString bucket = QStringLiteral("bench-%1").arg(QDateTime::currentMSecsSinceEpoch());
    common::RestRequest mk;
    mk.method = "POST";
    mk.url = endpoint + "/storage/v1/b";
    mk.headers = {{"Content-Type", "application/json"}};
    mk.body = "{\"name\":\"" + bucket.toUtf8() + "\"}";
    if (!(*client)->sendAndWait(mk).isSuccess()) {
        std::fprintf(stderr, "cannot create bucket %s at %s\n", qPrintable(bucket),
                     endpoint.constData());
        return 2;
    }

    QTemporaryDir dir;
    QFile yaml(dir.filePath(QStringLiteral("gcs.yaml")));
    yaml.open(QIODevice::WriteOnly);
    yaml.write("apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: gcs\nspec:\n"
               "  type: bindings.gcp.bucket\n  version: v1\n  metadata:\n  - name: bucket\n"
               "    value: \""
               + bucket.toUtf8()
               + "\"\n  - name: project_id\n    value: bench\n"
                 "  - name: endpoint\n    value: \""
               + endpoint + "\"\n");
    yaml.close();
    // Free ports for both APIs: the gRPC default (50001) may be taken by another binderyd.
    QTcpServer probe, grpcProbe;
    probe.listen(QHostAddress::LocalHost, 0);
    grpcProbe.listen(QHostAddress::LocalHost, 0);
    const quint16 port = probe.serverPort();
    const quint16 grpcPort = grpcProbe.serverPort();
    probe.close();
    grpcProbe.close();
    QProcess binderyd;
    binderyd.setProcessChannelMode(QProcess::ForwardedErrorChannel);
    binderyd.start(QStringLiteral(BENCH_BIN_DIR "/binderyd"),
                   {QStringLiteral("--dapr-http-port"), QString::number(port),
                    QStringLiteral("--dapr-grpc-port"), QString::number(grpcPort),
                    QStringLiteral("--resources-path"), dir.path(),
                    QStringLiteral("--max-body-size"), QStringLiteral("200Mi"),
                    QStringLiteral("--log-level"), QStringLiteral("warn")});
    {
        bindery::core::HttpConnection c("127.0.0.1", port);
        bool up = false;
        for (int i = 0; i < 100 && !up; ++i) {
            bindery::core::HttpResponse r;
            QString error;
            up = c.request("GET /v1.0/healthz HTTP/1.1\r\nHost: x\r\n\r\n", {}, 1000, &r, &error)
                 && r.status == 204;
            if (!up)
                QThread::msleep(100);
        }
        if (!up) {
            std::fprintf(stderr, "binderyd did not start\n");
            return 2;
        }
    }
    std::printf("bench_gcp_bucket: fake-gcs-server at %s, bucket %s, %d rounds (best of each)\n",
                endpoint.constData(), qPrintable(bucket), rounds);

    Direct direct(**client, endpoint);
    const auto kib = std::make_shared<const QByteArray>(randomBytes(1024));
    const QByteArray kibJson = '"' + kib->toBase64() + '"';
    // One connection per thread to binderyd, kept alive.
    std::vector<std::unique_ptr<bindery::core::HttpConnection>> conns;
    for (int i = 0; i < 16; ++i)
        conns.push_back(std::make_unique<bindery::core::HttpConnection>("127.0.0.1", port));

    struct Best
    {
        double binding = 0, direct = 0;
    };
    Best createBest[2], getBest[2], bigCreate, bigGet;
    const int parallels[2] = {1, 16};
    int failures = 0;
    int totalFailures = 0;
    for (int round = 0; round < rounds; ++round) {
        // The binding side goes first on odd rounds: neither side always meets the server in
        // the same state (fake-gcs-server's heap grows as a run goes on).
        auto both
            = [&](const std::function<double()> &d, const std::function<double()> &b, Best *best) {
                  double dv = 0, bv = 0;
                  if (round % 2) {
                      bv = b();
                      dv = d();
                  } else {
                      dv = d();
                      bv = b();
                  }
                  best->direct = qMax(best->direct, dv);
                  best->binding = qMax(best->binding, bv);
              };
        for (int p = 0; p < 2; ++p) {
            const int par = parallels[p];
            const int total = par == 1 ? small : small * 2;
            const QString stem = QStringLiteral("r%1-p%2-").arg(round).arg(par);
            // Each worker thread has a keep-alive connection of its own.
            auto loop = [&](const std::function<bool(int, int)> &one) {
                return [&, one] {
                    const double rate = closedLoop(par, total, one, &failures);
                    totalFailures += failures;
                    return rate;
                };
            };
            both(loop([&](int, int i) {
                     return direct.upload(bucket, stem + QStringLiteral("d%1").arg(i % 500), kib);
                 }),
                 loop([&](int w, int i) {
                     return invoke(
                         *conns[size_t(w)], port,
                         envelope("create", stem + QStringLiteral("b%1").arg(i % 500), kibJson),
                         200);
                 }),
                 &createBest[p]);
            both(loop([&](int, int i) {
                     return direct.download(bucket, stem + QStringLiteral("d%1").arg(i % 500),
                                            1024);
                 }),
                 loop([&](int w, int i) {
                     return invoke(*conns[size_t(w)], port,
                                   envelope("get", stem + QStringLiteral("b%1").arg(i % 500)), 200,
                                   1024);
                 }),
                 &getBest[p]);
        }
        // 64 MiB, one at a time: MiB/s of object bytes.
        const auto big = std::make_shared<const QByteArray>(randomBytes(64 * MiB));
        const QByteArray bigJson = '"' + big->toBase64() + '"';
        const QString key = QStringLiteral("big-%1").arg(round);
        bindery::core::HttpConnection c("127.0.0.1", port);
        auto timed = [&](const std::function<bool()> &one) {
            return [&, one] {
                QElapsedTimer t;
                t.start();
                totalFailures += one() ? 0 : 1;
                return 64.0 / (double(t.nsecsElapsed()) / 1e9);
            };
        };
        both(timed([&] { return direct.upload(bucket, key + QStringLiteral("-d"), big); }),
             timed([&] {
                 return invoke(c, port, envelope("create", key + QStringLiteral("-b"), bigJson),
                               200);
             }),
             &bigCreate);
        both(timed([&] { return direct.download(bucket, key + QStringLiteral("-d"), 64 * MiB); }),
             timed([&] {
                 return invoke(c, port, envelope("get", key + QStringLiteral("-b")), 200, 64 * MiB);
             }),
             &bigGet);
        // fake-gcs-server holds everything in memory: give the 64 MiB objects back.
        direct.remove(bucket, key + QStringLiteral("-d"));
        direct.remove(bucket, key + QStringLiteral("-b"));
        std::printf("round %d done\n", round + 1);
        std::fflush(stdout);
    }
    line("create 1 KiB, 1 connection", createBest[0].binding, createBest[0].direct, "req/s");
    line("create 1 KiB, 16 connections", createBest[1].binding, createBest[1].direct, "req/s");
    line("get 1 KiB, 1 connection", getBest[0].binding, getBest[0].direct, "req/s");
    line("get 1 KiB, 16 connections", getBest[1].binding, getBest[1].direct, "req/s");
    line("create 64 MiB", bigCreate.binding, bigCreate.direct, "MiB/s");
    line("get 64 MiB", bigGet.binding, bigGet.direct, "MiB/s");
    std::printf("failures: %d\n", totalFailures);
    binderyd.terminate();
    binderyd.waitForFinished(10000);
    return totalFailures == 0 ? 0 : 1;
}
