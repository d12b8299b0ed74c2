// SPDX-License-Identifier: Apache-2.0
// RestClient, the binding kit's HTTP/1.1 client (issue 8 part 4), against real HTTP/1.1 servers
// the test starts: Python's http.server (tests/bindings/rest_peer.py), plain, TLS and mutual
// TLS, with certificates made by openssl in the test's temporary folder.
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include <QCryptographicHash>
#include <QElapsedTimer>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTcpServer>
#include <QTemporaryDir>
#include <QTest>

#include "core/bindings/common/rest_client.h"

using namespace bindery;
using namespace bindery::bindings::common;
using namespace std::chrono_literals;
using namespace Qt::Literals::StringLiterals;

namespace {

constexpr qint64 MIB = 1024 * 1024;

/// rest_peer.py as a child process; its port is the first line it prints.
class Peer
{
public:
    ~Peer() { stop(); }
    bool start(const QStringList &args = {})
    {
        const QString script = QFINDTESTDATA("rest_peer.py");
        if (script.isEmpty())
            return false;
        m_process.setProcessChannelMode(QProcess::ForwardedErrorChannel);
        m_process.start(u"python3"_s, QStringList{u"-u"_s, script} + args);
        if (!m_process.waitForStarted(10000))
            return false;
        while (!m_process.canReadLine()) {
            if (!m_process.waitForReadyRead(10000))
                return false;
        }
        m_port = static_cast<quint16>(m_process.readLine().trimmed().toUInt());
        return m_port != 0;
    }
    void stop()
    {
        if (m_process.state() != QProcess::NotRunning) {
            m_process.kill();
            m_process.waitForFinished(5000);
        }
    }
    QByteArray url(const QByteArray &path, bool tls = false) const
    {
        return (tls ? QByteArrayLiteral("https://127.0.0.1:")
                    : QByteArrayLiteral("http://127.0.0.1:"))
               + QByteArray::number(m_port) + path;
    }

private:
    QProcess m_process;
    quint16 m_port = 0;
};

RestRequest get(const QByteArray &url)
{
    RestRequest r;
    r.url = url;
    r.timeout = 20s;
    return r;
}

QJsonObject json(const RestResponse &r)
{
    return QJsonDocument::fromJson(r.body).object();
}

QString describe(const RestResponse &r)
{
    return u"status %1, error '%2' (%3), %4 attempts, body '%5'"_s.arg(r.status)
        .arg(r.error, transportErrorName(r.errorKind))
        .arg(r.attempts)
        .arg(QString::fromLatin1(r.body.left(200)));
}

qint64 procStatusKb(const char *field)
{
    QFile f(u"/proc/self/status"_s);
    if (!f.open(QIODevice::ReadOnly))
        return -1;
    for (const QByteArray &line : f.readAll().split('\n')) {
        if (line.startsWith(field))
            return line.mid(static_cast<qsizetype>(qstrlen(field)))
                .trimmed()
                .split(' ')
                .value(0)
                .toLongLong();
    }
    return -1;
}

/// Resets the process's peak RSS (VmHWM), so the next reading is the peak of what follows.
bool resetPeakRss()
{
    QFile f(u"/proc/self/clear_refs"_s);
    return f.open(QIODevice::WriteOnly) && f.write("5") == 1;
}

quint16 closedPort()
{
    QTcpServer s;
    s.listen(QHostAddress::LocalHost);
    return s.serverPort(); // closed when s goes out of scope: connecting is refused
}

/// The byte at offset i of every streamed body in these tests (as rest_peer.py's /bytes).
inline char patternByte(qint64 i)
{
    return static_cast<char>(i % 251);
}

/// Waits for `count` completions recorded by done callbacks on the worker thread.
struct Completions
{
    std::mutex mutex;
    std::condition_variable cv;
    std::vector<RestResponse> responses;
    void add(RestResponse r)
    {
        std::lock_guard lock(mutex);
        responses.push_back(std::move(r));
        cv.notify_all();
    }
    bool waitFor(size_t count, std::chrono::milliseconds bound)
    {
        std::unique_lock lock(mutex);
        return cv.wait_for(lock, bound, [&] { return responses.size() >= count; });
    }
};

} // namespace

class tst_RestClient : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void getsAContentLengthResponseWithHeadersInOrder();
    void readsAChunkedResponse();
    void sendsEachMethodAndBody_data();
    void sendsEachMethodAndBody();
    void sendsNoFormContentTypeAndNoExpect();
    void reusesOneKeptAliveConnection();
    void retriesA503ThenSucceeds();
    void callsBeforeAttemptOncePerAttempt();
    void doesNotRetryWhenBeforeAttemptFails();
    void honoursRetryAfter();
    void skipsARetryAfterBeyondTheTimeout();
    void retriesConnectionRefusedThenFails();
    void boundsTheRequestByItsTimeout();
    void capsTheBodyHeldInMemory();
    void streamsA64MiBDownloadToTheSink();
    void streamsA64MiBUpload_data();
    void streamsA64MiBUpload();
    void sinkCanStopTheTransfer();
    void announcesTheBodyBeforeItsFirstByte();
    void endsAStalledTransfer();
    void retriesAStreamedBodyOnlyWhenItRewinds();
    void retryCeilingDoublesUpToTheCap();
    void verifiesTlsWithCaAsPemText();
    void failsTlsWithAnotherCa();
    void skipsVerificationWhenAsked();
    void presentsAClientCertificateFromPemText();
    void rejectsBadPem_data();
    void rejectsBadPem();
    void completesEachRequestOnceWhenDestroyedMidFlight();
    void completesAThousandConcurrentRequests();

private:
    bool openssl(const QStringList &args);
    QByteArray read(const QString &name) const;
    std::unique_ptr<RestClient> client(RestClientOptions options = {});
    int connectionsSoFar(RestClient &observer, const Peer &peer);

    QTemporaryDir m_dir;
    Peer m_plain;
    Peer m_tls;
    Peer m_mtls;
};

bool tst_RestClient::openssl(const QStringList &args)
{
    QProcess p;
    p.setWorkingDirectory(m_dir.path());
    p.setProcessChannelMode(QProcess::MergedChannels);
    p.start(u"openssl"_s, args);
    if (!p.waitForFinished(60000) || p.exitCode() != 0) {
        qWarning("openssl %s: %s", qPrintable(args.join(u' ')), p.readAll().constData());
        return false;
    }
    return true;
}

QByteArray tst_RestClient::read(const QString &name) const
{
    QFile f(m_dir.filePath(name));
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

std::unique_ptr<RestClient> tst_RestClient::client(RestClientOptions options)
{
    Result<std::unique_ptr<RestClient>> c = RestClient::create(std::move(options));
    if (!c) {
        qWarning("RestClient::create: %s", qPrintable(c.error().message));
        return nullptr;
    }
    return std::move(*c);
}

int tst_RestClient::connectionsSoFar(RestClient &observer, const Peer &peer)
{
    const RestResponse r = observer.sendAndWait(get(peer.url("/stats")));
    return r.status == 200 ? json(r).value(u"connections"_s).toInt(-1) : -1;
}

void tst_RestClient::initTestCase()
{
    QVERIFY(m_dir.isValid());
    const QStringList ec{u"-newkey"_s, u"ec"_s, u"-pkeyopt"_s, u"ec_paramgen_curve:prime256v1"_s,
                         u"-nodes"_s};
    for (const QString &ca : {u"ca"_s, u"other-ca"_s}) {
        QVERIFY(
            openssl(QStringList{u"req"_s, u"-x509"_s} + ec
                    + QStringList{u"-keyout"_s, ca + u".key"_s, u"-out"_s, ca + u".crt"_s,
                                  u"-days"_s, u"2"_s, u"-subj"_s, u"/CN=bindery-test-"_s + ca}));
    }
    QFile ext(m_dir.filePath(u"server.ext"_s));
    QVERIFY(ext.open(QIODevice::WriteOnly));
    ext.write("subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n");
    ext.close();
    QFile clientExt(m_dir.filePath(u"client.ext"_s));
    QVERIFY(clientExt.open(QIODevice::WriteOnly));
    clientExt.write("extendedKeyUsage=clientAuth\n");
    clientExt.close();
    for (const QString &who : {u"server"_s, u"client"_s}) {
        QVERIFY(openssl(QStringList{u"req"_s} + ec
                        + QStringList{u"-keyout"_s, who + u".key"_s, u"-out"_s, who + u".csr"_s,
                                      u"-subj"_s, u"/CN=bindery-test-"_s + who}));
        QVERIFY(openssl({u"x509"_s, u"-req"_s, u"-in"_s, who + u".csr"_s, u"-CA"_s, u"ca.crt"_s,
                         u"-CAkey"_s, u"ca.key"_s, u"-CAcreateserial"_s, u"-out"_s, who + u".crt"_s,
                         u"-days"_s, u"2"_s, u"-extfile"_s, who + u".ext"_s}));
    }
    QVERIFY(openssl({u"genpkey"_s, u"-algorithm"_s, u"EC"_s, u"-pkeyopt"_s,
                     u"ec_paramgen_curve:P-256"_s, u"-out"_s, u"stray.key"_s}));

    QVERIFY2(m_plain.start(), "python3 tests/bindings/rest_peer.py did not start");
    QVERIFY(m_tls.start({u"--cert"_s, m_dir.filePath(u"server.crt"_s), u"--key"_s,
                         m_dir.filePath(u"server.key"_s)}));
    QVERIFY(m_mtls.start({u"--cert"_s, m_dir.filePath(u"server.crt"_s), u"--key"_s,
                          m_dir.filePath(u"server.key"_s), u"--client-ca"_s,
                          m_dir.filePath(u"ca.crt"_s)}));
}

void tst_RestClient::getsAContentLengthResponseWithHeadersInOrder()
{
    auto c = client();
    QVERIFY(c);
    const RestResponse r = c->sendAndWait(get(m_plain.url("/hello")));
    QVERIFY2(r.isSuccess(), qPrintable(describe(r)));
    QCOMPARE(r.status, 200);
    QCOMPARE(r.body, QByteArray("hello"));
    QCOMPARE(r.bodyBytes, 5);
    QCOMPARE(r.attempts, 1);
    QVERIFY(r.error.isEmpty());
    QCOMPARE(r.header("content-length").value_or(QByteArray()), QByteArray("5"));
    qsizetype first = -1, second = -1;
    for (qsizetype i = 0; i < r.headers.size(); ++i) {
        if (r.headers[i].first == "X-First") // the case the server sent
            first = i;
        if (r.headers[i].first == "X-Second")
            second = i;
    }
    QVERIFY(first >= 0 && second == first + 1);
    QVERIFY(r.elapsedUs > 0);

    RestRequest head = get(m_plain.url("/hello"));
    head.method = "HEAD";
    const RestResponse h = c->sendAndWait(head);
    QVERIFY2(h.isSuccess(), qPrintable(describe(h)));
    QCOMPARE(h.header("Content-Length").value_or(QByteArray()), QByteArray("5"));
    QVERIFY(h.body.isEmpty());
}

void tst_RestClient::readsAChunkedResponse()
{
    auto c = client();
    QVERIFY(c);
    const RestResponse r = c->sendAndWait(get(m_plain.url("/chunked?parts=5")));
    QVERIFY2(r.isSuccess(), qPrintable(describe(r)));
    QCOMPARE(r.header("Transfer-Encoding").value_or(QByteArray()), QByteArray("chunked"));
    QVERIFY(!r.header("Content-Length"));
    QCOMPARE(r.body, QByteArray("part0;part1;part2;part3;part4;"));
}

void tst_RestClient::sendsEachMethodAndBody_data()
{
    QTest::addColumn<QByteArray>("method");
    QTest::addColumn<QByteArray>("body");
    QTest::newRow("GET") << QByteArray("GET") << QByteArray();
    QTest::newRow("POST with body") << QByteArray("POST") << QByteArray(R"({"a":1})");
    QTest::newRow("POST empty") << QByteArray("POST") << QByteArray();
    QTest::newRow("PUT with body") << QByteArray("PUT") << QByteArray("put body");
    QTest::newRow("PATCH with body") << QByteArray("PATCH") << QByteArray("patch body");
    QTest::newRow("DELETE") << QByteArray("DELETE") << QByteArray();
    QTest::newRow("DELETE with body") << QByteArray("DELETE") << QByteArray("gone");
}

void tst_RestClient::sendsEachMethodAndBody()
{
    QFETCH(QByteArray, method);
    QFETCH(QByteArray, body);
    auto c = client();
    QVERIFY(c);
    RestRequest rq = get(m_plain.url("/echo"));
    rq.method = method;
    rq.body = body;
    const RestResponse r = c->sendAndWait(rq);
    QVERIFY2(r.isSuccess(), qPrintable(describe(r)));
    const QJsonObject seen = json(r);
    QCOMPARE(seen.value(u"method"_s).toString(), QString::fromLatin1(method));
    QCOMPARE(seen.value(u"body"_s).toString(), QString::fromLatin1(body));
}

void tst_RestClient::sendsNoFormContentTypeAndNoExpect()
{
    auto c = client();
    QVERIFY(c);
    RestRequest rq = get(m_plain.url("/echo"));
    rq.method = "POST";
    rq.body = QByteArray(2 * MIB, 'x'); // large enough that curl would ask for 100-continue
    rq.headers = {{"X-Case-Kept", "v"}, {"X-Empty", ""}};
    const RestResponse r = c->sendAndWait(rq);
    QVERIFY2(r.isSuccess(), qPrintable(describe(r)));
    QHash<QString, QString> headers;
    QStringList names;
    for (const QJsonValue &h : json(r).value(u"headers"_s).toArray()) {
        names << h.toArray().at(0).toString();
        headers.insert(h.toArray().at(0).toString().toLower(), h.toArray().at(1).toString());
    }
    QVERIFY2(!headers.contains(u"content-type"_s), qPrintable(names.join(u", "_s)));
    QVERIFY(!headers.contains(u"expect"_s));
    QVERIFY(names.contains(u"X-Case-Kept"_s));
    QVERIFY(headers.contains(u"x-empty"_s));
    QCOMPARE(headers.value(u"x-empty"_s), QString());
    QCOMPARE(json(r).value(u"body"_s).toString().size(), 2 * MIB);
}

void tst_RestClient::reusesOneKeptAliveConnection()
{
    auto observer = client();
    auto c = client();
    QVERIFY(observer && c);
    const int before = connectionsSoFar(*observer, m_plain);
    QVERIFY(before > 0);
    constexpr int N = 50;
    for (int i = 0; i < N; ++i) {
        const RestResponse r = c->sendAndWait(get(m_plain.url(i % 2 ? "/hello" : "/chunked")));
        QVERIFY2(r.isSuccess(), qPrintable(describe(r)));
    }
    // The observer reuses its own connection, so the difference is what `c` opened.
    QCOMPARE(connectionsSoFar(*observer, m_plain) - before, 1);
}

void tst_RestClient::retriesA503ThenSucceeds()
{
    RestClientOptions o;
    o.retry.maxAttempts = 4;
    o.retry.base = 10ms;
    auto c = client(o);
    QVERIFY(c);
    const RestResponse r
        = c->sendAndWait(get(m_plain.url("/flaky?key=503-then-200&fail=2&status=503")));
    QVERIFY2(r.isSuccess(), qPrintable(describe(r)));
    QCOMPARE(r.attempts, 3);
    QVERIFY(r.body.startsWith("ok after 3"));

    // 429 is retried too; a 404 is not.
    const RestResponse throttled
        = c->sendAndWait(get(m_plain.url("/flaky?key=429&fail=1&status=429")));
    QCOMPARE(throttled.status, 200);
    QCOMPARE(throttled.attempts, 2);
    const RestResponse missing
        = c->sendAndWait(get(m_plain.url("/flaky?key=404&fail=1&status=404")));
    QCOMPARE(missing.status, 404);
    QCOMPARE(missing.attempts, 1);

    // All attempts used: the last 503 is the answer.
    const RestResponse exhausted = c->sendAndWait(get(m_plain.url("/flaky?key=always&fail=100")));
    QCOMPARE(exhausted.status, 503);
    QCOMPARE(exhausted.attempts, 4);
    QVERIFY(exhausted.ok());

    // A caller's predicate decides instead of the default.
    RestRequest rq = get(m_plain.url("/flaky?key=custom&fail=1&status=409"));
    RetryPolicy p = o.retry;
    p.retryIf = [](const RestResponse &resp) { return resp.status == 409; };
    rq.retry = p;
    const RestResponse custom = c->sendAndWait(rq);
    QCOMPARE(custom.status, 200);
    QCOMPARE(custom.attempts, 2);
}

void tst_RestClient::callsBeforeAttemptOncePerAttempt()
{
    RestClientOptions o;
    o.retry.base = 5ms;
    auto c = client(o);
    QVERIFY(c);
    std::vector<int> attempts;
    std::vector<qsizetype> headerCounts;
    RestRequest rq = get(m_plain.url("/flaky?key=sign&fail=2"));
    rq.headers = {{"X-Fixed", "1"}};
    rq.beforeAttempt = [&](RestRequest &request, int attempt) -> Result<> {
        attempts.push_back(attempt);
        headerCounts.push_back(request.headers.size()); // earlier attempts' changes are undone
        request.headers.append({"X-Attempt", QByteArray::number(attempt)}); // "re-sign"
        return {};
    };
    const RestResponse r = c->sendAndWait(rq);
    QVERIFY2(r.isSuccess(), qPrintable(describe(r)));
    QCOMPARE(r.attempts, 3);
    QCOMPARE(attempts, (std::vector<int>{1, 2, 3}));
    QCOMPARE(headerCounts, (std::vector<qsizetype>{1, 1, 1}));
    QVERIFY2(r.body.endsWith("x-attempt=3"), r.body.constData());
}

void tst_RestClient::doesNotRetryWhenBeforeAttemptFails()
{
    auto c = client();
    QVERIFY(c);
    int calls = 0;
    RestRequest rq = get(m_plain.url("/hello"));
    rq.beforeAttempt = [&](RestRequest &, int) -> Result<> {
        ++calls;
        return fail(ErrorCode::InvokeFailed, u"token refresh failed"_s);
    };
    const RestResponse r = c->sendAndWait(rq);
    QCOMPARE(r.errorKind, TransportError::BeforeAttempt);
    QVERIFY(r.error.contains(u"token refresh failed"_s));
    QCOMPARE(calls, 1);
    QCOMPARE(r.attempts, 1);
}

void tst_RestClient::honoursRetryAfter()
{
    RestClientOptions o;
    o.retry.base = 1ms; // without Retry-After the retry would be almost immediate
    o.retry.cap = 1ms;
    auto c = client(o);
    QVERIFY(c);
    const RestResponse r
        = c->sendAndWait(get(m_plain.url("/flaky?key=retry-after&fail=1&status=503&retryAfter=1")));
    QVERIFY2(r.isSuccess(), qPrintable(describe(r)));
    QCOMPARE(r.attempts, 2);
    QVERIFY2(r.elapsedUs >= 950'000, qPrintable(QString::number(r.elapsedUs)));
    QVERIFY2(r.elapsedUs < 3'000'000, qPrintable(QString::number(r.elapsedUs)));

    // Not honoured: the jittered backoff (≤ 1 ms) applies.
    RestRequest rq
        = get(m_plain.url("/flaky?key=retry-after-ignored&fail=1&status=429&retryAfter=5"));
    RetryPolicy p = o.retry;
    p.honourRetryAfter = false;
    rq.retry = p;
    const RestResponse fast = c->sendAndWait(rq);
    QCOMPARE(fast.status, 200);
    QCOMPARE(fast.attempts, 2);
    QVERIFY2(fast.elapsedUs < 900'000, qPrintable(QString::number(fast.elapsedUs)));
}

void tst_RestClient::skipsARetryAfterBeyondTheTimeout()
{
    auto c = client();
    QVERIFY(c);
    RestRequest rq = get(m_plain.url("/flaky?key=retry-after-long&fail=1&retryAfter=30"));
    rq.timeout = 2s;
    const RestResponse r = c->sendAndWait(rq);
    QCOMPARE(r.status, 503); // waiting 30 s would overrun the 2 s budget: the 503 is the answer
    QCOMPARE(r.attempts, 1);
    QVERIFY(r.elapsedUs < 1'500'000);
}

void tst_RestClient::retriesConnectionRefusedThenFails()
{
    RestClientOptions o;
    o.retry.maxAttempts = 3;
    o.retry.base = 20ms;
    auto c = client(o);
    QVERIFY(c);
    const quint16 port = closedPort();
    QVERIFY(port != 0);
    const RestResponse r
        = c->sendAndWait(get("http://127.0.0.1:" + QByteArray::number(port) + "/x"));
    QCOMPARE(r.errorKind, TransportError::Connect);
    QCOMPARE(r.attempts, 3);
    QCOMPARE(r.status, 0);
    QVERIFY2(r.error.contains(QString::number(port)), qPrintable(r.error));
    QVERIFY(!r.ok());
    QVERIFY(r.elapsedUs < 2'000'000);
}

void tst_RestClient::boundsTheRequestByItsTimeout()
{
    auto c = client();
    QVERIFY(c);
    RestRequest rq = get(m_plain.url("/slow?ms=3000"));
    rq.timeout = 300ms;
    QElapsedTimer t;
    t.start();
    const RestResponse r = c->sendAndWait(rq);
    QCOMPARE(r.errorKind, TransportError::Timeout);
    QVERIFY2(t.elapsed() >= 250 && t.elapsed() < 1500, qPrintable(QString::number(t.elapsed())));
    QCOMPARE(r.attempts, 1); // no budget left for a retry

    // attemptTimeout: each attempt gets 200 ms of the 5 s budget; the third finds a fast route.
    RestRequest perAttempt = get(m_plain.url("/slow?ms=3000"));
    perAttempt.timeout = 5s;
    perAttempt.attemptTimeout = 200ms;
    RetryPolicy p;
    p.maxAttempts = 3;
    p.base = 1ms;
    perAttempt.retry = p;
    t.restart();
    const RestResponse again = c->sendAndWait(perAttempt);
    QCOMPARE(again.errorKind, TransportError::Timeout);
    QCOMPARE(again.attempts, 3);
    QVERIFY2(t.elapsed() >= 550 && t.elapsed() < 2500, qPrintable(QString::number(t.elapsed())));
}

void tst_RestClient::capsTheBodyHeldInMemory()
{
    RestClientOptions o;
    o.maxResponseBytes = 1000;
    auto c = client(o);
    QVERIFY(c);
    const RestResponse r = c->sendAndWait(get(m_plain.url("/bytes?n=100000")));
    QCOMPARE(r.errorKind, TransportError::BodyTooLarge);
    QVERIFY2(r.error.contains(u"1000 bytes"_s) && r.error.contains(u"maxResponseBytes"_s),
             qPrintable(r.error));
    QVERIFY(r.body.size() <= 1000);
    QCOMPARE(r.attempts, 1); // not retried

    RestRequest bigger = get(m_plain.url("/bytes?n=100000"));
    bigger.maxResponseBytes = 100000; // the request's cap wins over the client's
    const RestResponse ok = c->sendAndWait(bigger);
    QVERIFY2(ok.isSuccess(), qPrintable(describe(ok)));
    QCOMPARE(ok.body.size(), 100000);
}

void tst_RestClient::streamsA64MiBDownloadToTheSink()
{
    RestClientOptions o;
    o.maxResponseBytes = MIB; // the cap is for memory; a sink is not bound by it
    auto c = client(o);
    QVERIFY(c);
    constexpr qint64 SIZE = 64 * MIB;
    qint64 seen = 0;
    qint64 wrong = 0;
    RestRequest rq = get(m_plain.url("/bytes?n=" + QByteArray::number(SIZE)));
    rq.timeout = 120s;
    rq.onData = [&](const char *data, size_t size) {
        for (size_t i = 0; i < size; ++i) {
            if (data[i] != patternByte(seen + static_cast<qint64>(i)))
                ++wrong;
        }
        seen += static_cast<qint64>(size);
        return true;
    };
    const qint64 rssBefore = procStatusKb("VmRSS:");
    QVERIFY(resetPeakRss());
    const RestResponse r = c->sendAndWait(rq);
    const qint64 peak = procStatusKb("VmHWM:");
    QVERIFY2(r.isSuccess(), qPrintable(describe(r)));
    QCOMPARE(seen, SIZE);
    QCOMPARE(r.bodyBytes, SIZE);
    QCOMPARE(wrong, 0);
    QVERIFY(r.body.isEmpty());
    qInfo("64 MiB download: peak RSS grew by %lld KiB", peak - rssBefore);
    QVERIFY2(peak - rssBefore < 16 * 1024,
             qPrintable(u"peak RSS grew by %1 KiB"_s.arg(peak - rssBefore)));
}

void tst_RestClient::streamsA64MiBUpload_data()
{
    QTest::addColumn<bool>("knownLength");
    QTest::newRow("Content-Length") << true;
    QTest::newRow("chunked") << false;
}

void tst_RestClient::streamsA64MiBUpload()
{
    QFETCH(bool, knownLength);
    auto c = client();
    QVERIFY(c);
    constexpr qint64 SIZE = 64 * MIB;
    qint64 produced = 0;
    QCryptographicHash hash(QCryptographicHash::Sha256);
    RestRequest rq = get(m_plain.url("/upload"));
    rq.method = "PUT";
    rq.timeout = 120s;
    rq.bodySource.length = knownLength ? SIZE : -1;
    rq.bodySource.read = [&](char *buffer, size_t capacity) -> size_t {
        const qint64 n = qMin<qint64>(static_cast<qint64>(capacity), SIZE - produced);
        for (qint64 i = 0; i < n; ++i)
            buffer[i] = patternByte(produced + i);
        hash.addData(QByteArrayView(buffer, n));
        produced += n;
        return static_cast<size_t>(n);
    };
    const qint64 rssBefore = procStatusKb("VmRSS:");
    QVERIFY(resetPeakRss());
    const RestResponse r = c->sendAndWait(rq);
    const qint64 peak = procStatusKb("VmHWM:");
    QVERIFY2(r.isSuccess(), qPrintable(describe(r)));
    const QJsonObject seen = json(r);
    QCOMPARE(produced, SIZE);
    QCOMPARE(seen.value(u"bytes"_s).toInteger(), SIZE);
    QCOMPARE(seen.value(u"sha256"_s).toString().toLatin1(), hash.result().toHex());
    QCOMPARE(seen.value(u"chunked"_s).toBool(), !knownLength);
    qInfo("64 MiB upload: peak RSS grew by %lld KiB", peak - rssBefore);
    QVERIFY2(peak - rssBefore < 16 * 1024,
             qPrintable(u"peak RSS grew by %1 KiB"_s.arg(peak - rssBefore)));

    // POST with a body source works too (curl's upload mode with the method overridden).
    qint64 left = 1000;
    RestRequest post = get(m_plain.url("/upload"));
    post.method = "POST";
    post.bodySource.length = knownLength ? 1000 : -1;
    post.bodySource.read = [&](char *buffer, size_t capacity) -> size_t {
        const qint64 n = qMin<qint64>(static_cast<qint64>(capacity), left);
        memset(buffer, 'p', static_cast<size_t>(n));
        left -= n;
        return static_cast<size_t>(n);
    };
    const RestResponse posted = c->sendAndWait(post);
    QVERIFY2(posted.isSuccess(), qPrintable(describe(posted)));
    QCOMPARE(json(posted).value(u"bytes"_s).toInt(), 1000);
}

void tst_RestClient::sinkCanStopTheTransfer()
{
    auto c = client();
    QVERIFY(c);
    qint64 seen = 0;
    RestRequest rq = get(m_plain.url("/bytes?n=" + QByteArray::number(8 * MIB)));
    rq.onData = [&](const char *, size_t size) {
        seen += static_cast<qint64>(size);
        return seen < 100000;
    };
    const RestResponse r = c->sendAndWait(rq);
    QCOMPARE(r.errorKind, TransportError::Aborted);
    QVERIFY(seen >= 100000 && seen < 8 * MIB);
    QCOMPARE(r.attempts, 1);

    // A non-2xx body is not streamed: it stays in the response for the error message.
    RestRequest missing = get(m_plain.url("/nowhere"));
    bool sinkCalled = false;
    missing.onData = [&](const char *, size_t) { return sinkCalled = true; };
    const RestResponse notFound = c->sendAndWait(missing);
    QCOMPARE(notFound.status, 404);
    QVERIFY(!sinkCalled);
    QCOMPARE(notFound.body, QByteArray("no route /nowhere"));
}

void tst_RestClient::announcesTheBodyBeforeItsFirstByte()
{
    auto c = client();
    QVERIFY(c);
    QList<QByteArray> events;
    RestRequest rq = get(m_plain.url("/bytes?n=100000"));
    rq.onBodyStart = [&](const RestResponse &head) {
        events << "start " + QByteArray::number(head.status) + ' '
                      + head.header("Content-Length").value_or("none");
    };
    rq.onData = [&](const char *, size_t) {
        if (events.isEmpty() || events.last() != "data")
            events << "data";
        return true;
    };
    const RestResponse r = c->sendAndWait(rq);
    QVERIFY2(r.isSuccess(), qPrintable(describe(r)));
    QCOMPARE(events, QList<QByteArray>({"start 200 100000", "data"}));

    // An error answer keeps its body in the response and announces nothing.
    events.clear();
    RestRequest missing = get(m_plain.url("/no-such-route"));
    missing.onBodyStart = rq.onBodyStart;
    missing.onData = rq.onData;
    const RestResponse notFound = c->sendAndWait(missing);
    QCOMPARE(notFound.status, 404);
    QVERIFY(events.isEmpty());
}

void tst_RestClient::endsAStalledTransfer()
{
    auto c = client();
    QVERIFY(c);
    RestRequest rq = get(m_plain.url("/stall?ms=8000"));
    rq.timeout = 20s;
    rq.stallTimeout = 1s;
    RetryPolicy once;
    once.maxAttempts = 1;
    rq.retry = once;
    QElapsedTimer t;
    t.start();
    const RestResponse r = c->sendAndWait(rq);
    QCOMPARE(r.errorKind, TransportError::Timeout);
    QVERIFY2(t.elapsed() < 5000, qPrintable(QString::number(t.elapsed())));
}

void tst_RestClient::retriesAStreamedBodyOnlyWhenItRewinds()
{
    RestClientOptions o;
    o.retry.base = 5ms;
    auto c = client(o);
    QVERIFY(c);
    for (const bool canRewind : {true, false}) {
        qint64 offset = 0;
        int rewinds = 0;
        RestRequest rq
            = get(m_plain.url("/flaky?key=rewind-" + QByteArray::number(canRewind) + "&fail=1"));
        rq.method = "PUT";
        rq.bodySource.length = 100000;
        rq.bodySource.read = [&](char *buffer, size_t capacity) -> size_t {
            const qint64 n = qMin<qint64>(static_cast<qint64>(capacity), 100000 - offset);
            memset(buffer, 'r', static_cast<size_t>(n));
            offset += n;
            return static_cast<size_t>(n);
        };
        if (canRewind) {
            rq.bodySource.rewind = [&] {
                ++rewinds;
                offset = 0;
                return true;
            };
        }
        const RestResponse r = c->sendAndWait(rq);
        QVERIFY(r.ok());
        if (canRewind) {
            QCOMPARE(r.status, 200);
            QCOMPARE(r.attempts, 2);
            QCOMPARE(rewinds, 1);
        } else {
            QCOMPARE(r.status, 503); // the body was read once and cannot be sent again
            QCOMPARE(r.attempts, 1);
        }
    }
}

void tst_RestClient::retryCeilingDoublesUpToTheCap()
{
    RetryPolicy p;
    p.base = 100ms;
    p.cap = 1000ms;
    QCOMPARE(p.ceiling(1), 100ms);
    QCOMPARE(p.ceiling(2), 200ms);
    QCOMPARE(p.ceiling(3), 400ms);
    QCOMPARE(p.ceiling(4), 800ms);
    QCOMPARE(p.ceiling(5), 1000ms);
    QCOMPARE(p.ceiling(60), 1000ms);

    // Full jitter: each wait, from an attempt's end (retryIf) to the next one's start
    // (beforeAttempt), falls in [0, ceiling] plus scheduling slack.
    RestClientOptions o;
    o.retry.maxAttempts = 4;
    o.retry.base = 40ms;
    o.retry.cap = 100ms;
    auto c = client(o);
    QVERIFY(c);
    std::vector<qint64> starts, ends;
    QElapsedTimer t;
    t.start();
    RestRequest rq = get(m_plain.url("/flaky?key=jitter&fail=100"));
    rq.retry = o.retry;
    rq.retry->retryIf = [&](const RestResponse &resp) {
        ends.push_back(t.nsecsElapsed() / 1000);
        return RetryPolicy::defaultRetryable(resp);
    };
    rq.beforeAttempt = [&](RestRequest &, int) -> Result<> {
        starts.push_back(t.nsecsElapsed() / 1000);
        return {};
    };
    const RestResponse r = c->sendAndWait(rq);
    QCOMPARE(r.status, 503);
    QCOMPARE(r.attempts, 4);
    QCOMPARE(starts.size(), size_t(4));
    QCOMPARE(ends.size(), size_t(3)); // not asked after the last attempt
    const qint64 ceilings[] = {40'000, 80'000, 100'000};
    for (size_t i = 0; i < ends.size(); ++i) {
        const qint64 wait = starts[i + 1] - ends[i];
        QVERIFY2(wait >= 0 && wait <= ceilings[i] + 30'000,
                 qPrintable(u"wait %1 µs after attempt %2"_s.arg(wait).arg(i + 1)));
    }
}

void tst_RestClient::verifiesTlsWithCaAsPemText()
{
    RestClientOptions o;
    o.tls.ca.pem = read(u"ca.crt"_s);
    o.tls.ca.field = u"caCert"_s;
    QVERIFY(o.tls.ca.pem.startsWith("-----BEGIN CERTIFICATE-----"));
    auto c = client(o);
    QVERIFY(c);
    for (int i = 0; i < 3; ++i) {
        const RestResponse r = c->sendAndWait(get(m_tls.url("/hello", true)));
        QVERIFY2(r.isSuccess(), qPrintable(describe(r)));
        QCOMPARE(r.body, QByteArray("hello"));
    }
    // The same CA as a file path.
    RestClientOptions f;
    f.tls.ca.file = m_dir.filePath(u"ca.crt"_s);
    auto fromFile = client(f);
    QVERIFY(fromFile);
    QVERIFY(fromFile->sendAndWait(get(m_tls.url("/hello", true))).isSuccess());
}

void tst_RestClient::failsTlsWithAnotherCa()
{
    RestClientOptions o;
    o.tls.ca.pem = read(u"other-ca.crt"_s);
    o.retry.maxAttempts = 1;
    auto c = client(o);
    QVERIFY(c);
    const RestResponse r = c->sendAndWait(get(m_tls.url("/hello", true)));
    QCOMPARE(r.errorKind, TransportError::Tls);
    QVERIFY(!r.error.isEmpty());
}

void tst_RestClient::skipsVerificationWhenAsked()
{
    RestClientOptions o;
    o.tls.insecureSkipVerify = true;
    auto c = client(o);
    QVERIFY(c);
    const RestResponse r = c->sendAndWait(get(m_tls.url("/hello", true)));
    QVERIFY2(r.isSuccess(), qPrintable(describe(r)));
}

void tst_RestClient::presentsAClientCertificateFromPemText()
{
    RestClientOptions o;
    o.tls.ca.pem = read(u"ca.crt"_s);
    o.tls.clientCert.pem = read(u"client.crt"_s);
    o.tls.clientKey.pem = read(u"client.key"_s);
    auto c = client(o);
    QVERIFY(c);
    const RestResponse r = c->sendAndWait(get(m_mtls.url("/whoami", true)));
    QVERIFY2(r.isSuccess(), qPrintable(describe(r)));
    QCOMPARE(json(r).value(u"peer"_s).toString(), u"bindery-test-client"_s);

    // Without a client certificate the server refuses the handshake.
    RestClientOptions anonymous;
    anonymous.tls.ca.pem = read(u"ca.crt"_s);
    anonymous.retry.maxAttempts = 1;
    auto a = client(anonymous);
    QVERIFY(a);
    const RestResponse refused = a->sendAndWait(get(m_mtls.url("/whoami", true)));
    QVERIFY2(!refused.ok(), qPrintable(describe(refused)));
}

void tst_RestClient::rejectsBadPem_data()
{
    QTest::addColumn<QByteArray>("ca");
    QTest::addColumn<QByteArray>("cert");
    QTest::addColumn<QByteArray>("key");
    QTest::addColumn<QString>("file");
    QTest::addColumn<QString>("expected");
    const QByteArray cert = read(u"client.crt"_s);
    const QByteArray key = read(u"client.key"_s);
    QByteArray damaged = read(u"ca.crt"_s);
    damaged[40] = '!';
    damaged[41] = '!';
    QTest::newRow("ca not PEM") << QByteArray("not a certificate") << QByteArray() << QByteArray()
                                << QString() << u"caCert: no PEM certificate found"_s;
    QTest::newRow("ca damaged") << damaged << QByteArray() << QByteArray() << QString()
                                << u"caCert: certificate 1"_s;
    QTest::newRow("ca file missing")
        << QByteArray() << QByteArray() << QByteArray() << u"/nonexistent/ca.pem"_s
        << u"caCert: cannot read '/nonexistent/ca.pem'"_s;
    QTest::newRow("cert not PEM") << QByteArray() << QByteArray("garbage") << key << QString()
                                  << u"clientCert: no PEM certificate found"_s;
    QTest::newRow("key not PEM") << QByteArray() << cert << QByteArray("garbage") << QString()
                                 << u"clientKey: not an unencrypted PEM private key"_s;
    QTest::newRow("key of another cert")
        << QByteArray() << cert << read(u"stray.key"_s) << QString()
        << u"clientKey does not match the public key of clientCert"_s;
    QTest::newRow("cert without key") << QByteArray() << cert << QByteArray() << QString()
                                      << u"clientCert is set but clientKey is missing"_s;
}

void tst_RestClient::rejectsBadPem()
{
    QFETCH(QByteArray, ca);
    QFETCH(QByteArray, cert);
    QFETCH(QByteArray, key);
    QFETCH(QString, file);
    QFETCH(QString, expected);
    RestClientOptions o;
    o.tls.ca = {ca, file, u"caCert"_s};
    o.tls.clientCert = {cert, {}, u"clientCert"_s};
    o.tls.clientKey = {key, {}, u"clientKey"_s};
    const Result<std::unique_ptr<RestClient>> c = RestClient::create(o);
    QVERIFY(!c);
    QVERIFY2(c.error().message.startsWith(expected), qPrintable(c.error().message));
    QCOMPARE(c.error().code, file.isEmpty() && cert.size() && key.isEmpty()
                                 ? ErrorCode::MissingMetadata
                                 : ErrorCode::InvalidMetadata);
}

void tst_RestClient::completesEachRequestOnceWhenDestroyedMidFlight()
{
    RestClientOptions o;
    o.maxHostConnections = 2; // two in flight, the rest wait inside curl for a connection
    o.retry.maxAttempts = 5;
    o.retry.base = 5s;
    o.retry.cap = 5s;
    auto c = client(o);
    QVERIFY(c);
    constexpr int SLOW = 8, RETRYING = 3, LATE = 3, N = SLOW + RETRYING + LATE;
    std::atomic<int> calls[N] = {};
    std::atomic<int> closed{0};
    auto done = [&](int i) {
        return [&, i](RestResponse r) {
            calls[i].fetch_add(1);
            if (r.errorKind == TransportError::Closed && r.error == u"client closed"_s)
                closed.fetch_add(1);
        };
    };
    for (int i = 0; i < SLOW; ++i)
        c->send(get(m_plain.url("/slow?ms=5000")), done(i));
    for (int i = SLOW; i < SLOW + RETRYING;
         ++i) // answered 503 at once, then wait on the timer queue
        c->send(get(m_plain.url("/flaky?key=destroyed-" + QByteArray::number(i) + "&fail=100")),
                done(i));
    QTest::qWait(500);
    for (int i = SLOW + RETRYING; i < N; ++i) // probably still in the hand-over queue
        c->send(get(m_plain.url("/hello")), done(i));
    QElapsedTimer t;
    t.start();
    c.reset();
    const qint64 destroyMs = t.elapsed();
    qInfo("destroyed with %d requests pending in %lld ms", N, destroyMs);
    QVERIFY2(destroyMs < 1000, qPrintable(QString::number(destroyMs)));
    for (int i = 0; i < N; ++i)
        QVERIFY2(calls[i].load() == 1,
                 qPrintable(u"request %1 completed %2 times"_s.arg(i).arg(calls[i].load())));
    QVERIFY2(closed.load() >= SLOW + RETRYING, qPrintable(QString::number(closed.load())));
    QTest::qWait(200);
    for (int i = 0; i < N; ++i)
        QCOMPARE(calls[i].load(), 1);
}

void tst_RestClient::completesAThousandConcurrentRequests()
{
    auto observer = client();
    RestClientOptions o;
    o.maxHostConnections = 8;
    auto c = client(o);
    QVERIFY(observer && c);
    const int before = connectionsSoFar(*observer, m_plain);
    constexpr int N = 1000, THREADS = 4;
    Completions completions;
    QElapsedTimer t;
    t.start();
    std::vector<std::thread> senders;
    for (int s = 0; s < THREADS; ++s) {
        senders.emplace_back([&] {
            for (int i = 0; i < N / THREADS; ++i)
                c->send(get(m_plain.url("/hello")),
                        [&](RestResponse r) { completions.add(std::move(r)); });
        });
    }
    for (std::thread &s : senders)
        s.join();
    QVERIFY(completions.waitFor(N, 60s));
    qInfo("1000 concurrent requests completed in %lld ms", t.elapsed());
    int good = 0;
    for (const RestResponse &r : completions.responses)
        good += r.status == 200 && r.body == "hello" ? 1 : 0;
    QCOMPARE(good, N);
    const int opened = connectionsSoFar(*observer, m_plain) - before;
    QVERIFY2(opened >= 1 && opened <= o.maxHostConnections, qPrintable(QString::number(opened)));
}

QTEST_GUILESS_MAIN(tst_RestClient)
#include "tst_rest_client.moc"
