// SPDX-License-Identifier: Apache-2.0
// bindings.aws.sqs against a real SQS server that checks signatures (moto, from
// `scripts/services start sqs`), in an in-process sidecar (runtime + HTTP API) delivering to a
// real HTTP app (tests/core/test_app.h). Every round trip is checked from the other side with
// boto3, AWS's own SDK (tests/integration/sqs/sqs_peer.py in the end-to-end venv), issue 11.
//
// The server's settings come from SQS_ENDPOINT / AWS_* or `scripts/services env sqs`. Under
// CI=true a missing server (or venv) is a failure, otherwise a skip naming the command.
//
// Each test makes its own queues (unique names) and deletes them; the shared `bindery` queue is
// never touched. A small TCP relay (RelayProxy) sits between the binding and moto where a test
// must count the binding's requests, or make moto refuse a running binding's signatures: it
// changes one hex digit of the Signature the binding computed, so the 403 is moto's own answer.
#include <atomic>
#include <memory>
#include <mutex>

#include <QDateTime>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QPointer>
#include <QProcess>
#include <QSet>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QTest>
#include <QThread>
#include <QUrl>

#include "core/binding_registry.h"
#include "core/host/sidecar.h"
#include "tests/core/http_client.h"
#include "tests/core/test_app.h"

using namespace bindery;
using namespace bindery::core;
using namespace bindery::tests;
using namespace Qt::Literals::StringLiterals;

namespace {

QString sourceDir()
{
    const QString d = qEnvironmentVariable("BINDERY_SOURCE_DIR");
    return d.isEmpty() ? QStringLiteral(BINDERY_TEST_SOURCE_DIR) : d;
}

bool isCi()
{
    return qEnvironmentVariable("CI").compare(u"true"_s, Qt::CaseInsensitive) == 0;
}

QString uniqueName(const QString &stem)
{
    static int counter = 0;
    return u"it-%1-%2-%3"_s.arg(stem).arg(QDateTime::currentMSecsSinceEpoch()).arg(++counter);
}

struct SqsEnv
{
    QString endpoint;
    QString region;
    QString accessKey;
    QString secretKey;
};

SqsEnv loadEnv()
{
    QHash<QString, QString> vars;
    for (const char *n :
         {"SQS_ENDPOINT", "AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}) {
        if (qEnvironmentVariableIsSet(n))
            vars.insert(QString::fromLatin1(n), qEnvironmentVariable(n));
    }
    if (!vars.contains(u"SQS_ENDPOINT"_s) || !vars.contains(u"AWS_SECRET_ACCESS_KEY"_s)) {
        vars.clear(); // one consistent set: moto makes a new key pair at each start
        QProcess p;
        p.start(sourceDir() + u"/scripts/services"_s, {u"env"_s, u"sqs"_s});
        if (p.waitForFinished(20000) && p.exitCode() == 0) {
            for (const QByteArray &line : p.readAllStandardOutput().split('\n')) {
                const qsizetype eq = line.indexOf('=');
                QByteArray value = line.mid(eq + 1).trimmed();
                if (value.startsWith('\'') && value.endsWith('\''))
                    value = value.mid(1, value.size() - 2);
                if (eq > 0)
                    vars.insert(QString::fromUtf8(line.left(eq)), QString::fromUtf8(value));
            }
        }
    }
    return {vars.value(u"SQS_ENDPOINT"_s), vars.value(u"AWS_REGION"_s, u"us-east-1"_s),
            vars.value(u"AWS_ACCESS_KEY_ID"_s), vars.value(u"AWS_SECRET_ACCESS_KEY"_s)};
}

bool reachable(const QString &endpoint)
{
    const QUrl u(endpoint);
    if (u.host().isEmpty())
        return false;
    QTcpSocket s;
    s.connectToHost(u.host(), static_cast<quint16>(u.port(80)));
    return s.waitForConnected(2000);
}

QString peerPython()
{
    return sourceDir() + u"/tests/e2e/.venv/bin/python"_s;
}

/**
 * A TCP relay between the binding and the SQS server, on its own thread: counts the HTTP
 * requests that pass, and on request changes one hex digit of each request's SigV4 Signature (so
 * the real server refuses it as it would a wrong secret).
 */
class RelayProxy
{
public:
    /// Relays to the host and port of `upstream`.
    explicit RelayProxy(const QUrl &upstream)
        : m_host(upstream.host())
        , m_port(static_cast<quint16>(upstream.port(80)))
    {
        m_thread.start();
        m_context = new QObject;
        m_context->moveToThread(&m_thread);
    }
    ~RelayProxy()
    {
        QMetaObject::invokeMethod(
            m_context, [c = m_context] { delete c; }, Qt::BlockingQueuedConnection);
        m_thread.quit();
        m_thread.wait();
    }
    quint16 start()
    {
        quint16 bound = 0;
        QMetaObject::invokeMethod(
            m_context,
            [&] {
                auto *server = new QTcpServer(m_context);
                QObject::connect(server, &QTcpServer::newConnection, m_context, [this, server] {
                    while (QTcpSocket *client = server->nextPendingConnection())
                        relay(client);
                });
                if (server->listen(QHostAddress::LocalHost, 0))
                    bound = server->serverPort();
            },
            Qt::BlockingQueuedConnection);
        return bound;
    }
    int requests() const { return m_requests.load(); }
    void setCorrupt(bool corrupt) { m_corrupt = corrupt; }
    /// Closes every relayed connection (requests in flight, e.g. long polls, fail at once).
    void dropConnections()
    {
        QMetaObject::invokeMethod(
            m_context,
            [this] {
                for (const QPointer<QTcpSocket> &s : std::as_const(m_sockets)) {
                    if (s)
                        s->abort();
                }
                m_sockets.clear();
            },
            Qt::BlockingQueuedConnection);
    }

private:
    void relay(QTcpSocket *client)
    {
        client->setParent(m_context);
        auto *upstream = new QTcpSocket(m_context);
        upstream->connectToHost(m_host, m_port);
        if (!upstream->waitForConnected(3000)) {
            client->abort();
            return;
        }
        m_sockets << client << upstream;
        auto buffer = std::make_shared<QByteArray>();
        QObject::connect(client, &QTcpSocket::readyRead, upstream,
                         [this, client, upstream, buffer] {
                             *buffer += client->readAll();
                             forward(*buffer, upstream);
                         });
        QObject::connect(upstream, &QTcpSocket::readyRead, client,
                         [client, upstream] { client->write(upstream->readAll()); });
        for (QTcpSocket *s : {client, upstream}) {
            QTcpSocket *other = s == client ? upstream : client;
            QObject::connect(s, &QTcpSocket::disconnected, other,
                             [other] { other->disconnectFromHost(); });
            QObject::connect(s, &QTcpSocket::disconnected, s, &QObject::deleteLater);
        }
    }

    void forward(QByteArray &buffer, QTcpSocket *upstream)
    {
        for (;;) {
            const qsizetype end = buffer.indexOf("\r\n\r\n");
            if (end < 0)
                return;
            QByteArray head = buffer.left(end + 4);
            qsizetype length = 0;
            for (const QByteArray &line : head.split('\n')) {
                if (line.toLower().startsWith("content-length:"))
                    length = line.mid(15).trimmed().toLongLong();
            }
            if (buffer.size() < end + 4 + length)
                return;
            const QByteArray body = buffer.mid(end + 4, length);
            buffer.remove(0, end + 4 + length);
            ++m_requests;
            if (m_corrupt) {
                const qsizetype at = head.indexOf("Signature=");
                const qsizetype eol = at < 0 ? -1 : head.indexOf("\r\n", at);
                if (eol > 0)
                    head[eol - 1] = head[eol - 1] == '0' ? '1' : '0';
            }
            upstream->write(head + body);
        }
    }

    QString m_host;
    quint16 m_port;
    QThread m_thread;
    QObject *m_context = nullptr;
    QList<QPointer<QTcpSocket>> m_sockets;
    std::atomic<int> m_requests{0};
    std::atomic<bool> m_corrupt{false};
};

/// Every message Qt logs (any thread), to check what reached the log and that no secret did.
class LogCapture
{
public:
    static LogCapture &instance()
    {
        static LogCapture c;
        return c;
    }
    void install() { m_previous = qInstallMessageHandler(&LogCapture::handler); }
    QStringList lines() const
    {
        std::lock_guard lock(m_mutex);
        return m_lines;
    }
    int count(const QString &needle) const
    {
        std::lock_guard lock(m_mutex);
        int n = 0;
        for (const QString &l : m_lines)
            n += l.contains(needle);
        return n;
    }

private:
    static void handler(QtMsgType type, const QMessageLogContext &context, const QString &text)
    {
        {
            std::lock_guard lock(instance().m_mutex);
            instance().m_lines << text;
        }
        if (instance().m_previous && type != QtDebugMsg)
            instance().m_previous(type, context, text);
    }
    mutable std::mutex m_mutex;
    QStringList m_lines;
    QtMessageHandler m_previous = nullptr;
};

} // namespace

#define REQUIRE_SERVER()                                                                           \
    do {                                                                                           \
        if (!m_ready.isEmpty()) {                                                                  \
            if (isCi())                                                                            \
                QFAIL(qPrintable(m_ready + u" (CI=true)"_s));                                      \
            QSKIP(qPrintable(m_ready));                                                            \
        }                                                                                          \
    } while (0)

class tst_AwsSqsBinding : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void init();
    void cleanup();

    void outputSendsBodyAndAttributesSeenByBoto3();
    void outputFifoKeepsGroupOrderAndDeduplicates();
    void outputDelaySecondsDelaysTheMessage();
    void outputAnswersSqsErrorIn500();
    void inputDeliversBodyAttributesAndSystemHeaders_data();
    void inputDeliversBodyAttributesAndSystemHeaders();
    void inputKeepsFifoGroupOrder();
    void failedDeliveryComesBackAfterVisibilityTimeout();
    void tenThousandMessagesEachDeliveredNoneLeft();
    void wrongCredentialsFailInitOnceWithSqsCode_data();
    void wrongCredentialsFailInitOnceWithSqsCode();
    void missingQueueIsAClearInitError();
    void credentialsComeFromTheProfileFile();
    void refusedCredentialsWhileReadingBackOffAndShowInStatus();
    void noSecretReachesTheLog();

private:
    /// Runs sqs_peer.py (boto3); its JSON answer, or an empty object after a failure (logged).
    QJsonObject peer(const QStringList &args, const QByteArray &input = {}, int timeoutMs = 120000);
    QString createQueue(const QString &stem, const QStringList &options = {});
    QJsonObject counts(const QString &url) { return peer({u"counts"_s, url}); }
    /// The component YAML for queue `queue`, with the test server's credentials unless `items`
    /// gives them.
    void writeComponent(const QString &name, const QString &queue,
                        QList<QPair<QString, QString>> items = {}, bool withKeys = true);
    std::unique_ptr<Sidecar> start(bool withApp = true);
    /// A fresh queue (`*url`) and an output-only component `name` for it, loaded; null otherwise.
    std::unique_ptr<Sidecar> startOutput(const QString &name, QString *url,
                                         const QStringList &queueOptions = {});
    ComponentStatus status(const Sidecar &sidecar, const QString &name) const;
    HttpAnswer send(const Sidecar &sidecar, const QString &binding, const QByteArray &body);
    QList<TrafficRecord> inputRecords(const QString &binding);

    SqsEnv m_env;
    QString m_ready; ///< why the tests cannot run, empty when they can
    BindingRegistry m_registry;
    TrafficStream m_traffic{400000};
    QList<TrafficRecord> m_seen;
    QNetworkAccessManager m_nam;
    std::unique_ptr<QTemporaryDir> m_dir;
    std::unique_ptr<TestApp> m_app;
    QStringList m_queues; ///< deleted in cleanup()
};

void tst_AwsSqsBinding::initTestCase()
{
    LogCapture::instance().install();
    registerBuiltinBindings(m_registry);
    QVERIFY2(m_registry.find(u"bindings.aws.sqs"_s), "bindings.aws.sqs is not registered");
    m_env = loadEnv();
    if (m_env.endpoint.isEmpty() || !reachable(m_env.endpoint))
        m_ready = u"no SQS server (%1): run scripts/services start sqs"_s.arg(
            m_env.endpoint.isEmpty() ? u"scripts/services env sqs gave none"_s : m_env.endpoint);
    else if (!QFile::exists(peerPython()))
        m_ready = u"no boto3 venv at %1: run scripts/install-deps test"_s.arg(peerPython());
}

void tst_AwsSqsBinding::init()
{
    m_dir = std::make_unique<QTemporaryDir>();
    QVERIFY(m_dir->isValid());
    m_app = std::make_unique<TestApp>();
    m_traffic.drain();
    m_seen.clear();
}

void tst_AwsSqsBinding::cleanup()
{
    m_app.reset();
    for (const QString &url : std::as_const(m_queues))
        peer({u"delete-queue"_s, url});
    m_queues.clear();
    if (QTest::currentTestFailed())
        m_dir->setAutoRemove(false), qWarning("kept %s", qPrintable(m_dir->path()));
    m_dir.reset();
}

QJsonObject tst_AwsSqsBinding::peer(const QStringList &args, const QByteArray &input, int timeoutMs)
{
    QProcess p;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(u"SQS_ENDPOINT"_s, m_env.endpoint);
    env.insert(u"AWS_REGION"_s, m_env.region);
    env.insert(u"AWS_ACCESS_KEY_ID"_s, m_env.accessKey);
    env.insert(u"AWS_SECRET_ACCESS_KEY"_s, m_env.secretKey);
    p.setProcessEnvironment(env);
    p.start(peerPython(),
            QStringList{sourceDir() + u"/tests/integration/sqs/sqs_peer.py"_s} + args);
    if (!p.waitForStarted(10000))
        return {};
    p.write(input);
    p.closeWriteChannel();
    // Spin the event loop while boto3 works: the app and the sidecar keep running meanwhile.
    QElapsedTimer t;
    t.start();
    while (p.state() != QProcess::NotRunning && t.elapsed() < timeoutMs)
        QTest::qWait(20);
    if (p.state() != QProcess::NotRunning) {
        p.kill();
        p.waitForFinished(2000);
        qWarning("sqs_peer %s timed out", qPrintable(args.join(u' ')));
        return {};
    }
    if (p.exitCode() != 0) {
        qWarning("sqs_peer %s failed: %s", qPrintable(args.join(u' ')),
                 p.readAllStandardError().right(2000).constData());
        return {};
    }
    return QJsonDocument::fromJson(p.readAllStandardOutput()).object();
}

QString tst_AwsSqsBinding::createQueue(const QString &stem, const QStringList &options)
{
    const QString url = peer(QStringList{u"create-queue"_s, uniqueName(stem)} + options)
                            .value(u"url"_s)
                            .toString();
    if (!url.isEmpty())
        m_queues << url;
    return url;
}

void tst_AwsSqsBinding::writeComponent(const QString &name, const QString &queue,
                                       QList<QPair<QString, QString>> items, bool withKeys)
{
    QList<QPair<QString, QString>> all{{u"queueName"_s, queue}};
    bool hasEndpoint = false;
    for (const auto &kv : items)
        hasEndpoint |= kv.first == u"endpoint"_s;
    if (!hasEndpoint)
        all << QPair{u"endpoint"_s, m_env.endpoint};
    all << QPair{u"region"_s, m_env.region};
    if (withKeys)
        all << QPair{u"accessKey"_s, m_env.accessKey} << QPair{u"secretKey"_s, m_env.secretKey};
    all += items;
    QByteArray y
        = "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: " + name.toUtf8()
          + "\nspec:\n  type: bindings.aws.sqs\n  version: v1\n  metadata:\n";
    for (const auto &[k, v] : all)
        y += "  - name: " + k.toUtf8() + "\n    value: \"" + v.toUtf8() + "\"\n";
    QFile f(m_dir->filePath(name + u".yaml"_s));
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write(y);
}

std::unique_ptr<Sidecar> tst_AwsSqsBinding::start(bool withApp)
{
    RuntimeOptions o;
    o.httpPort = 0;
    o.appPort = withApp ? m_app->start() : 0;
    o.resourcesPaths = {m_dir->path()};
    o.failFast = false;
    auto sidecar = std::make_unique<Sidecar>(o, m_registry, m_traffic);
    if (!sidecar->startAndWait())
        qWarning("sidecar failed: %s", qPrintable(sidecar->lastError()));
    return sidecar;
}

std::unique_ptr<Sidecar> tst_AwsSqsBinding::startOutput(const QString &name, QString *url,
                                                        const QStringList &queueOptions)
{
    *url = createQueue(name, queueOptions);
    if (url->isEmpty())
        return nullptr;
    writeComponent(name, url->section(u'/', -1), {{u"direction"_s, u"output"_s}});
    std::unique_ptr<Sidecar> sidecar = start(false);
    const ComponentStatus s = status(*sidecar, name);
    if (s.state != ComponentState::Loaded) {
        qWarning("%s did not load: %s", qPrintable(name), qPrintable(s.error));
        return nullptr;
    }
    return sidecar;
}

ComponentStatus tst_AwsSqsBinding::status(const Sidecar &sidecar, const QString &name) const
{
    for (const ComponentStatus &c : sidecar.components()) {
        if (c.name == name)
            return c;
    }
    return {};
}

HttpAnswer tst_AwsSqsBinding::send(const Sidecar &sidecar, const QString &binding,
                                   const QByteArray &body)
{
    return httpRequest(
        m_nam, "POST",
        QUrl(u"http://127.0.0.1:%1/v1.0/bindings/%2"_s.arg(sidecar.httpPort()).arg(binding)), body,
        {}, 60000);
}

QList<TrafficRecord> tst_AwsSqsBinding::inputRecords(const QString &binding)
{
    for (TrafficRecord &r : m_traffic.drain())
        m_seen << std::move(r);
    QList<TrafficRecord> out;
    for (const TrafficRecord &r : std::as_const(m_seen)) {
        if (r.kind == TrafficRecord::Kind::Input && r.binding == binding)
            out << r;
    }
    return out;
}

// --------------------------------------------------------------------------------- output ---

void tst_AwsSqsBinding::outputSendsBodyAndAttributesSeenByBoto3()
{
    REQUIRE_SERVER();
    QString url;
    std::unique_ptr<Sidecar> sidecar = startOutput(u"out"_s, &url);
    QVERIFY(sidecar);

    // A JSON string keeps its quotes, an object is sent as re-encoded JSON (as daprd).
    const HttpAnswer a
        = send(*sidecar, u"out"_s,
               R"({"operation":"create","data":"hello","metadata":{)"
               R"("attribute.color":"blue","attribute.size":"XL","traceparent":"x"}})");
    QCOMPARE(a.status, 204);
    const QByteArray messageId = a.header("metadata.messageId");
    QVERIFY(!messageId.isEmpty());
    QCOMPARE(send(*sidecar, u"out"_s, R"({"operation":"create","data":{"b":1,"a":[true]}})").status,
             204);

    QList<QJsonObject> got;
    for (int i = 0; i < 5 && got.size() < 2; ++i) {
        for (const QJsonValue &v : peer({u"receive"_s, url, u"--wait"_s, u"2"_s, u"--delete"_s})
                                       .value(u"messages"_s)
                                       .toArray())
            got << v.toObject();
    }
    QCOMPARE(got.size(), 2);
    std::sort(got.begin(), got.end(), [](const QJsonObject &x, const QJsonObject &y) {
        return x.value(u"body"_s).toString() > y.value(u"body"_s).toString();
    });
    QCOMPARE(got[0].value(u"body"_s).toString(), u"{\"a\":[true],\"b\":1}"_s);
    QCOMPARE(got[1].value(u"body"_s).toString(), u"\"hello\""_s);
    QCOMPARE(got[1].value(u"id"_s).toString().toUtf8(), messageId);
    const QJsonObject attributes = got[1].value(u"attributes"_s).toObject();
    QCOMPARE(attributes.size(), 2); // traceparent is not an attribute: only attribute.<Name> keys
    QCOMPARE(attributes.value(u"color"_s).toObject().value(u"StringValue"_s).toString(), u"blue"_s);
    QCOMPARE(attributes.value(u"size"_s).toObject().value(u"DataType"_s).toString(), u"String"_s);
    QVERIFY(got[0].value(u"attributes"_s).toObject().isEmpty());
}

void tst_AwsSqsBinding::outputFifoKeepsGroupOrderAndDeduplicates()
{
    REQUIRE_SERVER();
    QString url;
    std::unique_ptr<Sidecar> sidecar = startOutput(u"outfifo"_s, &url, {u"--fifo"_s});
    QVERIFY(sidecar);
    for (int i = 0; i < 6; ++i) {
        const QByteArray group = i % 2 ? "odd" : "even";
        const HttpAnswer a
            = send(*sidecar, u"outfifo"_s,
                   u"{\"operation\":\"create\",\"data\":%1,\"metadata\":{\"messageGroupId\":\"%2\","
                   "\"messageDeduplicationId\":\"d%1\"}}"_s.arg(i)
                       .arg(QString::fromLatin1(group))
                       .toUtf8());
        QCOMPARE(a.status, 204);
        QVERIFY(!a.header("metadata.sequenceNumber").isEmpty());
    }
    // The same deduplication id again within 5 minutes: accepted, not queued twice.
    QCOMPARE(
        send(
            *sidecar, u"outfifo"_s,
            R"({"operation":"create","data":0,"metadata":{"messageGroupId":"even","messageDeduplicationId":"d0"}})")
            .status,
        204);
    QHash<QString, QStringList> byGroup;
    int total = 0;
    for (int round = 0; round < 10 && total < 7; ++round) {
        for (const QJsonValue &v : peer({u"receive"_s, url, u"--wait"_s, u"1"_s, u"--delete"_s})
                                       .value(u"messages"_s)
                                       .toArray()) {
            const QJsonObject m = v.toObject();
            byGroup[m.value(u"system"_s).toObject().value(u"MessageGroupId"_s).toString()]
                << m.value(u"body"_s).toString();
            ++total;
        }
    }
    QCOMPARE(total, 6);
    QCOMPARE(byGroup.value(u"even"_s), (QStringList{u"0"_s, u"2"_s, u"4"_s}));
    QCOMPARE(byGroup.value(u"odd"_s), (QStringList{u"1"_s, u"3"_s, u"5"_s}));
}

void tst_AwsSqsBinding::outputDelaySecondsDelaysTheMessage()
{
    REQUIRE_SERVER();
    QString url;
    std::unique_ptr<Sidecar> sidecar = startOutput(u"delay"_s, &url);
    QVERIFY(sidecar);
    QElapsedTimer sent;
    sent.start();
    QCOMPARE(send(*sidecar, u"delay"_s,
                  R"({"operation":"create","data":"later","metadata":{"delaySeconds":"15"}})")
                 .status,
             204);
    // boto3 polls: nothing while the delay runs (it saw the queue empty at least once), then the
    // message. 15 s leave room for a slow machine's Python start-up.
    bool sawEmpty = false;
    QJsonArray got;
    while (got.isEmpty() && sent.elapsed() < 40000) {
        got = peer({u"receive"_s, url, u"--wait"_s, u"1"_s, u"--delete"_s})
                  .value(u"messages"_s)
                  .toArray();
        sawEmpty |= got.isEmpty() && sent.elapsed() < 14000;
    }
    QVERIFY(sawEmpty);
    QCOMPARE(got.size(), 1);
    QVERIFY2(sent.elapsed() >= 14900, qPrintable(QString::number(sent.elapsed())));
    QCOMPARE(got.first().toObject().value(u"body"_s).toString(), u"\"later\""_s);
}

void tst_AwsSqsBinding::outputAnswersSqsErrorIn500()
{
    REQUIRE_SERVER();
    QString url;
    std::unique_ptr<Sidecar> sidecar = startOutput(u"errfifo"_s, &url, {u"--fifo"_s});
    QVERIFY(sidecar);
    // A FIFO queue needs a message group: SQS's own code and message reach the caller.
    HttpAnswer a = send(*sidecar, u"errfifo"_s, R"({"operation":"create","data":1})");
    QCOMPARE(a.status, 500);
    QJsonObject error = QJsonDocument::fromJson(a.body).object();
    QCOMPARE(error.value(u"errorCode"_s).toString(), u"ERR_INVOKE_OUTPUT_BINDING"_s);
    QVERIFY2(error.value(u"message"_s).toString().contains(u"MessageGroupId"_s),
             a.body.constData());
    QVERIFY2(error.value(u"message"_s).toString().contains(u"(HTTP 400)"_s), a.body.constData());
    a = send(
        *sidecar, u"errfifo"_s,
        R"({"operation":"create","data":1,"metadata":{"messageGroupId":"g","delaySeconds":"soon"}})");
    QCOMPARE(a.status, 500);
    QVERIFY2(a.body.contains("delaySeconds"), a.body.constData());
}

// ---------------------------------------------------------------------------------- input ---

void tst_AwsSqsBinding::inputDeliversBodyAttributesAndSystemHeaders_data()
{
    QTest::addColumn<bool>("headers");
    QTest::newRow("attributes as headers (default)") << true;
    QTest::newRow("attributesAsHeaders false (daprd)") << false;
}

void tst_AwsSqsBinding::inputDeliversBodyAttributesAndSystemHeaders()
{
    QFETCH(bool, headers);
    REQUIRE_SERVER();
    const QString url = createQueue(u"in"_s);
    QVERIFY(!url.isEmpty());
    m_app->answer("POST", "/in", 200);
    QList<QPair<QString, QString>> items{{u"direction"_s, u"input"_s}};
    if (!headers)
        items << QPair{u"attributesAsHeaders"_s, u"false"_s};
    writeComponent(u"in"_s, url.section(u'/', -1), items);
    std::unique_ptr<Sidecar> sidecar = start();
    QCOMPARE(status(*sidecar, u"in"_s).state, ComponentState::Loaded);
    const QJsonObject sent = peer(
        {u"send"_s, url},
        R"([{"body":"{\"order\":7}","attributes":{"color":"blue","weight":{"DataType":"Number","StringValue":"12.5"},"raw":{"DataType":"Binary","BinaryValue":"AB"},"multi":"line\nbreak"}}])");
    const QString id = sent.value(u"ids"_s).toArray().first().toString();
    QVERIFY(!id.isEmpty());
    QTRY_COMPARE_WITH_TIMEOUT(m_app->count("POST", "/in"), 1, 30000);
    const TestApp::Request r = m_app->requests().last();
    QCOMPARE(r.body, QByteArray("{\"order\":7}"));
    QCOMPARE(r.header("Content-Type"), QByteArray("application/json"));
    if (headers) {
        QCOMPARE(r.header("color"), QByteArray("blue"));
        QCOMPARE(r.header("weight"), QByteArray("12.5"));
        QCOMPARE(r.header("raw"), QByteArray("QUI=")); // base64 of "AB", as SQS's JSON has it
        QCOMPARE(r.header("multi"), QByteArray("line%0Abreak")); // a newline cannot be sent raw
        QCOMPARE(r.header("sqs-message-id"), id.toUtf8());
        QCOMPARE(r.header("sqs-receive-count"), QByteArray("1"));
        const qint64 sentAt = r.header("sqs-sent-timestamp").toLongLong();
        QVERIFY(qAbs(sentAt - QDateTime::currentMSecsSinceEpoch()) < 120000);
    } else {
        for (const char *h : {"color", "weight", "sqs-message-id", "sqs-receive-count"})
            QVERIFY2(!r.hasHeader(h), h);
    }
    // Acknowledged: deleted (boto3 sees nothing left, visible or in flight).
    QTRY_VERIFY_WITH_TIMEOUT(
        counts(url) == (QJsonObject{{u"visible"_s, 0}, {u"notVisible"_s, 0}, {u"delayed"_s, 0}}),
        20000);
    const QList<TrafficRecord> records = inputRecords(u"in"_s);
    QCOMPARE(records.size(), 1);
    QCOMPARE(records.first().eventKey, id);
    QCOMPARE(records.first().outcome, u"acked"_s);
}

void tst_AwsSqsBinding::inputKeepsFifoGroupOrder()
{
    REQUIRE_SERVER();
    const QString url = createQueue(u"infifo"_s, {u"--fifo"_s});
    QVERIFY(!url.isEmpty());
    constexpr int count = 90;
    constexpr int groups = 3;
    QCOMPARE(peer({u"send-many"_s, url, QString::number(count), u"f"_s, u"--groups"_s,
                   QString::number(groups)})
                 .value(u"ids"_s)
                 .toArray()
                 .size(),
             count);
    m_app->answer("POST", "/infifo", 200);
    writeComponent(u"infifo"_s, url.section(u'/', -1),
                   {{u"direction"_s, u"input"_s}, {u"concurrency"_s, u"4"_s}});
    std::unique_ptr<Sidecar> sidecar = start();
    QTRY_COMPARE_WITH_TIMEOUT(m_app->count("POST", "/infifo"), count, 120000);
    QHash<QString, int> last;
    QSet<QByteArray> bodies;
    for (const TestApp::Request &r : m_app->requests()) {
        if (r.path != "/infifo")
            continue;
        const int n = r.body.mid(2).toInt(); // "f-<n>"
        const QString group = QString::fromUtf8(r.header("sqs-message-group-id"));
        QCOMPARE(group, u"g%1"_s.arg(n % groups));
        QVERIFY2(n > last.value(group, -1),
                 qPrintable(u"group %1: %2 after %3"_s.arg(group).arg(n).arg(last.value(group))));
        last[group] = n;
        bodies.insert(r.body);
    }
    QCOMPARE(bodies.size(), count);
    QTRY_VERIFY_WITH_TIMEOUT(counts(url).value(u"notVisible"_s).toInt() == 0
                                 && counts(url).value(u"visible"_s).toInt() == 0,
                             30000);
}

void tst_AwsSqsBinding::failedDeliveryComesBackAfterVisibilityTimeout()
{
    REQUIRE_SERVER();
    const QString url = createQueue(u"retry"_s, {u"--visibility"_s, u"2"_s});
    QVERIFY(!url.isEmpty());
    m_app->answer("POST", "/retry", 500, "not now");
    writeComponent(u"retry"_s, url.section(u'/', -1), {{u"direction"_s, u"input"_s}});
    std::unique_ptr<Sidecar> sidecar = start();
    const QString id = peer({u"send"_s, url}, R"([{"body":"again"}])")
                           .value(u"ids"_s)
                           .toArray()
                           .first()
                           .toString();
    QTRY_COMPARE_WITH_TIMEOUT(m_app->count("POST", "/retry"), 1, 30000);
    QElapsedTimer failedAt;
    failedAt.start();
    m_app->answer("POST", "/retry", 200);
    QTRY_COMPARE_WITH_TIMEOUT(m_app->count("POST", "/retry"), 2, 30000);
    // Not retried by Bindery: SQS hands it out again once the visibility timeout ran out.
    QVERIFY2(failedAt.elapsed() >= 1000, qPrintable(QString::number(failedAt.elapsed())));
    QCOMPARE(m_app->requests().last().header("sqs-receive-count"), QByteArray("2"));
    QTRY_VERIFY_WITH_TIMEOUT(
        counts(url) == (QJsonObject{{u"visible"_s, 0}, {u"notVisible"_s, 0}, {u"delayed"_s, 0}}),
        20000);
    // Deleted once acknowledged: not delivered a third time after another timeout.
    QTest::qWait(3000);
    QCOMPARE(m_app->count("POST", "/retry"), 2);
    const QList<TrafficRecord> records = inputRecords(u"retry"_s);
    QCOMPARE(records.size(), 2);
    QCOMPARE(records[0].eventKey, id);
    QCOMPARE(records[1].eventKey, id);
    QCOMPARE(records[0].attempt, 1);
    QCOMPARE(records[0].status, 500);
    QCOMPARE(records[0].outcome, u"retry"_s);
    QCOMPARE(records[1].attempt, 2);
    QCOMPARE(records[1].outcome, u"acked"_s);
}

void tst_AwsSqsBinding::tenThousandMessagesEachDeliveredNoneLeft()
{
    REQUIRE_SERVER();
    const QString url = createQueue(u"many"_s);
    QVERIFY(!url.isEmpty());
    constexpr int count = 10000;
    m_app->answer("POST", "/many", 200);
    writeComponent(u"many"_s, url.section(u'/', -1), {{u"direction"_s, u"input"_s}});
    QElapsedTimer t;
    t.start();
    std::unique_ptr<Sidecar> sidecar = start();
    QTRY_VERIFY_WITH_TIMEOUT(status(*sidecar, u"many"_s).subscription.startsWith(u"reading"_s),
                             10000);
    // The binding reads while boto3 sends, at most 500 waiting: moto's calls cost time in
    // proportion to the messages it holds (it recounts them for every message sent and scans
    // them for every receive and delete), so a queue filled first with 10,000 would take hours.
    const QJsonObject sent
        = peer({u"send-many"_s, url, QString::number(count), u"m"_s, u"--backlog"_s, u"500"_s}, {},
               1500000);
    QSet<QString> ids;
    for (const QJsonValue &v : sent.value(u"ids"_s).toArray())
        ids.insert(v.toString());
    QCOMPARE(ids.size(), count);
    qInfo("boto3 sent %d messages in %.1f s", count, sent.value(u"seconds"_s).toDouble());
    QSet<QString> delivered;
    qsizetype seen = 0;
    while (delivered.size() < count && t.elapsed() < 1500000) {
        const QList<TestApp::Request> requests = m_app->requests();
        for (qsizetype i = seen; i < requests.size(); ++i)
            delivered.insert(QString::fromUtf8(requests[i].header("sqs-message-id")));
        seen = requests.size();
        QTest::qWait(200);
    }
    qInfo("%lld deliveries of %d messages, all in %.1f s from the start",
          static_cast<long long>(seen), count, double(t.elapsed()) / 1000);
    QCOMPARE(delivered.size(), count);
    QVERIFY(delivered == ids);
    QTRY_VERIFY_WITH_TIMEOUT(
        counts(url) == (QJsonObject{{u"visible"_s, 0}, {u"notVisible"_s, 0}, {u"delayed"_s, 0}}),
        120000);
    const QList<TrafficRecord> records = inputRecords(u"many"_s);
    int acked = 0;
    for (const TrafficRecord &r : records)
        acked += r.outcome == u"acked"_s;
    QVERIFY(acked >= count);
}

// ----------------------------------------------------------------------- credentials, errors ---

void tst_AwsSqsBinding::wrongCredentialsFailInitOnceWithSqsCode_data()
{
    QTest::addColumn<QString>("change");
    QTest::addColumn<QString>("code");
    QTest::newRow("wrong secret") << u"secret"_s << u"SignatureDoesNotMatch"_s;
    QTest::newRow("unknown access key") << u"key"_s << u"InvalidClientTokenId"_s;
    QTest::newRow("a session token the server never issued")
        << u"token"_s << u"InvalidClientTokenId"_s;
}

void tst_AwsSqsBinding::wrongCredentialsFailInitOnceWithSqsCode()
{
    QFETCH(QString, change);
    QFETCH(QString, code);
    REQUIRE_SERVER();
    const QString url = createQueue(u"auth"_s);
    QVERIFY(!url.isEmpty());
    RelayProxy proxy(QUrl(m_env.endpoint));
    const quint16 port = proxy.start();
    QVERIFY(port);
    QString key = m_env.accessKey;
    QString secret = m_env.secretKey;
    QList<QPair<QString, QString>> items{{u"endpoint"_s, u"http://127.0.0.1:%1"_s.arg(port)}};
    if (change == u"secret"_s)
        secret[secret.size() - 1] = secret.endsWith(u'A') ? u'B' : u'A';
    else if (change == u"key"_s)
        key = u"AKIAIOSFODNN7EXAMPLE"_s;
    else
        items << QPair{u"sessionToken"_s, u"FwoGZXIvYXdzEXAMPLE"_s};
    items << QPair{u"accessKey"_s, key} << QPair{u"secretKey"_s, secret};
    writeComponent(u"auth"_s, url.section(u'/', -1), items, false);
    std::unique_ptr<Sidecar> sidecar = start();
    const ComponentStatus s = status(*sidecar, u"auth"_s);
    QCOMPARE(s.state, ComponentState::Failed);
    QVERIFY2(s.error.contains(code), qPrintable(s.error));
    QVERIFY2(s.error.contains(u"(HTTP 403)"_s), qPrintable(s.error));
    QVERIFY2(s.error.contains(u"refused the credentials from metadata accessKey"_s),
             qPrintable(s.error));
    QVERIFY2(!s.error.contains(secret), "the secret is in the error");
    // One GetQueueUrl, not retried, and nothing after it.
    QCOMPARE(proxy.requests(), 1);
    QTest::qWait(2500);
    QCOMPARE(proxy.requests(), 1);
}

void tst_AwsSqsBinding::missingQueueIsAClearInitError()
{
    REQUIRE_SERVER();
    const QString queue = uniqueName(u"absent"_s);
    writeComponent(u"absent"_s, queue);
    std::unique_ptr<Sidecar> sidecar = start();
    const ComponentStatus s = status(*sidecar, u"absent"_s);
    QCOMPARE(s.state, ComponentState::Failed);
    QVERIFY2(s.error.contains(u"queue '%1' does not exist"_s.arg(queue)), qPrintable(s.error));
    QVERIFY2(s.error.contains(u"QueueDoesNotExist"_s), qPrintable(s.error));
    QVERIFY2(s.error.contains(u"does not create queues"_s), qPrintable(s.error));
    QVERIFY2(s.error.contains(u"aws sqs create-queue --queue-name %1"_s.arg(queue)),
             qPrintable(s.error));
}

void tst_AwsSqsBinding::credentialsComeFromTheProfileFile()
{
    REQUIRE_SERVER();
    const QString url = createQueue(u"profile"_s);
    QVERIFY(!url.isEmpty());
    QFile creds(m_dir->filePath(u"credentials"_s));
    QVERIFY(creds.open(QIODevice::WriteOnly));
    creds.write("[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = no\n"
                "[bindery-it]\naws_access_key_id = "
                + m_env.accessKey.toUtf8() + "\naws_secret_access_key = " + m_env.secretKey.toUtf8()
                + "\n");
    creds.close();
    // The component and the environment give no keys: the profile file does.
    const QList<QByteArray> names{"AWS_ACCESS_KEY_ID",           "AWS_SECRET_ACCESS_KEY",
                                  "AWS_SESSION_TOKEN",           "AWS_PROFILE",
                                  "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE"};
    QHash<QByteArray, QByteArray> saved;
    for (const QByteArray &n : names) {
        if (qEnvironmentVariableIsSet(n.constData()))
            saved.insert(n, qgetenv(n.constData()));
        qunsetenv(n.constData());
    }
    auto restore = qScopeGuard([&] {
        for (const QByteArray &n : names) {
            if (saved.contains(n))
                qputenv(n.constData(), saved.value(n));
            else
                qunsetenv(n.constData());
        }
    });
    qputenv("AWS_SHARED_CREDENTIALS_FILE", creds.fileName().toUtf8());
    qputenv("AWS_CONFIG_FILE", m_dir->filePath(u"no-config"_s).toUtf8());
    qputenv("AWS_PROFILE", "bindery-it");
    writeComponent(u"profile"_s, url.section(u'/', -1), {{u"direction"_s, u"output"_s}}, false);
    std::unique_ptr<Sidecar> sidecar = start(false);
    const ComponentStatus s = status(*sidecar, u"profile"_s);
    QVERIFY2(s.state == ComponentState::Loaded, qPrintable(s.error));
    QCOMPARE(send(*sidecar, u"profile"_s, R"({"operation":"create","data":"p"})").status, 204);
    QCOMPARE(peer({u"receive"_s, url, u"--wait"_s, u"2"_s, u"--delete"_s})
                 .value(u"messages"_s)
                 .toArray()
                 .size(),
             1);
    QVERIFY(LogCapture::instance().count(
                u"shared credentials file %1 [bindery-it]"_s.arg(creds.fileName()))
            > 0);
}

void tst_AwsSqsBinding::refusedCredentialsWhileReadingBackOffAndShowInStatus()
{
    REQUIRE_SERVER();
    RelayProxy proxy(QUrl(m_env.endpoint));
    const quint16 port = proxy.start();
    QVERIFY(port);
    const QString url = createQueue(u"refused"_s);
    QVERIFY(!url.isEmpty());
    m_app->answer("POST", "/refused", 200);
    writeComponent(u"refused"_s, url.section(u'/', -1),
                   {{u"direction"_s, u"input"_s},
                    {u"concurrency"_s, u"2"_s},
                    {u"endpoint"_s, u"http://127.0.0.1:%1"_s.arg(port)}});
    std::unique_ptr<Sidecar> sidecar = start();
    QTRY_VERIFY_WITH_TIMEOUT(status(*sidecar, u"refused"_s).subscription.startsWith(u"reading"_s),
                             10000);
    QTest::qWait(500); // the long polls are in flight

    // From now on the server refuses every signature, as it would a rotated secret.
    proxy.setCorrupt(true);
    proxy.dropConnections();
    QTRY_COMPARE_WITH_TIMEOUT(status(*sidecar, u"refused"_s).connectionState, u"failed"_s, 30000);
    const ComponentStatus s = status(*sidecar, u"refused"_s);
    QVERIFY2(s.connection.contains(u"SignatureDoesNotMatch"_s), qPrintable(s.connection));
    QVERIFY2(s.connection.contains(u"refused the credentials"_s), qPrintable(s.connection));
    QCOMPARE(s.state, ComponentState::Loaded); // still running, waiting to try again
    const int before = proxy.requests();
    QTest::qWait(8000);
    const int during = proxy.requests() - before;
    qInfo("%d requests in 8 s while the server refused the signatures", during);
    // Two pollers, each pausing 1-2 s, then 2-4 s, then 4-8 s: a handful, not a tight loop.
    QVERIFY2(during <= 8, qPrintable(u"%1 requests in 8 s while refused"_s.arg(during)));
    // Said once in the log, not once per attempt.
    QCOMPARE(LogCapture::instance().count(
                 u"refused (bindings.aws.sqs/v1) input: failed: SQS refused the credentials"_s),
             1);

    // Accepted again: the binding recovers on its own and delivers.
    proxy.setCorrupt(false);
    QTRY_COMPARE_WITH_TIMEOUT(status(*sidecar, u"refused"_s).connectionState, u"connected"_s,
                              40000);
    peer({u"send"_s, url}, R"([{"body":"after"}])");
    QTRY_COMPARE_WITH_TIMEOUT(m_app->count("POST", "/refused"), 1, 30000);
    QCOMPARE(m_app->requests().last().body, QByteArray("after"));
}

void tst_AwsSqsBinding::noSecretReachesTheLog()
{
    REQUIRE_SERVER();
    QVERIFY(!m_env.secretKey.isEmpty());
    const QStringList lines = LogCapture::instance().lines();
    QVERIFY(lines.size() > 10);
    for (const QString &l : lines)
        QVERIFY2(!l.contains(m_env.secretKey), qPrintable(l));
    QVERIFY(LogCapture::instance().count(u"access key %1…"_s.arg(m_env.accessKey.left(4))) > 0);
}

QTEST_GUILESS_MAIN(tst_AwsSqsBinding)
#include "tst_aws_sqs_binding.moc"
