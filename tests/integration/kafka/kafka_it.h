// SPDX-License-Identifier: Apache-2.0
// What the broker-backed Kafka and Event Hubs tests share (tst_kafka_binding,
// tst_eventhubs_binding): the broker's addresses from `scripts/services env kafka`, topics, kcat,
// the seed-style Flask app (seed_app.py), real binderyd processes, traffic logs and fault-test
// bookkeeping.
#pragma once

#include <librdkafka/rdkafka.h>

#include <functional>
#include <memory>

#include <QDateTime>
#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QTest>

#include "tests/core/http_client.h"

namespace bindery::tests::kafkait {

using namespace Qt::Literals::StringLiterals;

inline quint16 freePort()
{
    QTcpServer s;
    s.listen(QHostAddress::LocalHost, 0);
    return s.serverPort();
}

inline QString sourceDir()
{
    const QString d = qEnvironmentVariable("BINDERY_SOURCE_DIR");
    return d.isEmpty() ? QStringLiteral(BINDERY_TEST_SOURCE_DIR) : d;
}

inline QString binDir()
{
    const QString d = qEnvironmentVariable("BINDERY_BIN_DIR");
    return d.isEmpty() ? QStringLiteral(BINDERY_TEST_BIN_DIR) : d;
}

inline bool isCi()
{
    return qEnvironmentVariable("CI").compare(u"true"_s, Qt::CaseInsensitive) == 0;
}

/// Spins the event loop (QNAM replies, process output) for `ms`.
inline void spin(int ms)
{
    QTest::qWait(ms);
}

inline QString uniqueName(const QString &stem)
{
    static int counter = 0;
    return u"hk-%1-%2-%3"_s.arg(stem).arg(QDateTime::currentMSecsSinceEpoch()).arg(++counter);
}

struct KafkaEnv
{
    QString brokers = u"127.0.0.1:5050"_s;
    QString sasl = u"127.0.0.1:5051"_s;
    QString saslSsl = u"127.0.0.1:5052"_s;
    QString ssl = u"127.0.0.1:5053"_s;
    QString user = u"bindery"_s;
    QString password = u"bindery-secret"_s;
    QString ca, cert, key;
    QString eventHubsConnection; ///< EVENTHUBS_CONNECTION_STRING (names the SASL_SSL listener)
    QString eventHubsCa;         ///< EVENTHUBS_CA_CERT
};

inline KafkaEnv loadEnv()
{
    KafkaEnv e;
    QHash<QString, QString> vars;
    for (const char *n :
         {"KAFKA_BROKERS", "KAFKA_SASL_BROKERS", "KAFKA_SASL_SSL_BROKERS", "KAFKA_SSL_BROKERS",
          "KAFKA_SASL_USERNAME", "KAFKA_SASL_PASSWORD", "KAFKA_CA_CERT", "KAFKA_CLIENT_CERT",
          "KAFKA_CLIENT_KEY", "EVENTHUBS_CONNECTION_STRING", "EVENTHUBS_CA_CERT"}) {
        if (qEnvironmentVariableIsSet(n))
            vars.insert(QString::fromLatin1(n), qEnvironmentVariable(n));
    }
    if (!vars.contains(u"KAFKA_CA_CERT"_s)) {
        QProcess p;
        p.start(sourceDir() + u"/scripts/services"_s, {u"env"_s, u"kafka"_s});
        if (p.waitForFinished(20000)) {
            for (const QByteArray &line : p.readAllStandardOutput().split('\n')) {
                const qsizetype eq = line.indexOf('=');
                if (eq > 0 && !vars.contains(QString::fromUtf8(line.left(eq))))
                    vars.insert(QString::fromUtf8(line.left(eq)),
                                QString::fromUtf8(line.mid(eq + 1)).trimmed());
            }
        }
    }
    e.brokers = vars.value(u"KAFKA_BROKERS"_s, e.brokers);
    e.sasl = vars.value(u"KAFKA_SASL_BROKERS"_s, e.sasl);
    e.saslSsl = vars.value(u"KAFKA_SASL_SSL_BROKERS"_s, e.saslSsl);
    e.ssl = vars.value(u"KAFKA_SSL_BROKERS"_s, e.ssl);
    e.user = vars.value(u"KAFKA_SASL_USERNAME"_s, e.user);
    e.password = vars.value(u"KAFKA_SASL_PASSWORD"_s, e.password);
    e.ca = vars.value(u"KAFKA_CA_CERT"_s);
    e.cert = vars.value(u"KAFKA_CLIENT_CERT"_s);
    e.key = vars.value(u"KAFKA_CLIENT_KEY"_s);
    e.eventHubsConnection = vars.value(u"EVENTHUBS_CONNECTION_STRING"_s);
    if (e.eventHubsConnection.size() > 1 && e.eventHubsConnection.startsWith(u'\'')
        && e.eventHubsConnection.endsWith(u'\''))
        e.eventHubsConnection = e.eventHubsConnection.mid(1, e.eventHubsConnection.size() - 2);
    e.eventHubsCa = vars.value(u"EVENTHUBS_CA_CERT"_s);
    return e;
}

inline bool reachable(const QString &hostPort)
{
    const qsizetype c = hostPort.lastIndexOf(u':');
    QTcpSocket s;
    s.connectToHost(hostPort.left(c), hostPort.mid(c + 1).toUShort());
    return s.waitForConnected(2000);
}

/// Creates a topic with `partitions` partitions through librdkafka's admin API.
inline QString createTopic(const QString &brokers, const QString &topic, int partitions)
{
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", brokers.toUtf8().constData(), errstr,
                      sizeof errstr);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (!rk)
        return QString::fromUtf8(errstr);
    rd_kafka_NewTopic_t *nt
        = rd_kafka_NewTopic_new(topic.toUtf8().constData(), partitions, 1, errstr, sizeof errstr);
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_CreateTopics(rk, &nt, 1, nullptr, q);
    QString error = u"timed out creating topic"_s;
    if (rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 15000)) {
        const rd_kafka_CreateTopics_result_t *res = rd_kafka_event_CreateTopics_result(ev);
        size_t n = 0;
        const rd_kafka_topic_result_t **tr
            = res ? rd_kafka_CreateTopics_result_topics(res, &n) : nullptr;
        if (rd_kafka_event_error(ev))
            error = QString::fromUtf8(rd_kafka_event_error_string(ev));
        else if (n == 1 && rd_kafka_topic_result_error(tr[0])
                 && rd_kafka_topic_result_error(tr[0]) != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
            error = QString::fromUtf8(rd_kafka_topic_result_error_string(tr[0]));
        else
            error.clear();
        rd_kafka_event_destroy(ev);
    }
    rd_kafka_NewTopic_destroy(nt);
    rd_kafka_queue_destroy(q);
    rd_kafka_destroy(rk);
    return error;
}

struct KcatRecord
{
    int partition = -1;
    qint64 offset = -1;
    QString key;
    bool hasKey = false;
    QByteArray payload;
    bool tombstone = false; ///< NULL value
    QList<QPair<QString, QString>> headers;
    QString header(const QString &k) const
    {
        for (const auto &[n, v] : headers) {
            if (n == k)
                return v;
        }
        return {};
    }
    bool hasHeader(const QString &k) const
    {
        for (const auto &h : headers) {
            if (h.first == k)
                return true;
        }
        return false;
    }
};

/// Everything in `topic` so far, read back with kcat (the consumer side is not Bindery's).
inline QList<KcatRecord> kcatConsume(const QString &brokers, const QString &topic)
{
    QProcess p;
    p.start(u"kcat"_s, {u"-b"_s, brokers, u"-C"_s, u"-t"_s, topic, u"-o"_s, u"beginning"_s, u"-e"_s,
                        u"-q"_s, u"-J"_s});
    p.waitForFinished(30000);
    QList<KcatRecord> out;
    for (const QByteArray &line : p.readAllStandardOutput().split('\n')) {
        const QJsonObject o = QJsonDocument::fromJson(line).object();
        if (o.isEmpty())
            continue;
        KcatRecord r;
        r.partition = o.value(u"partition"_s).toInt();
        r.offset = o.value(u"offset"_s).toInteger();
        r.hasKey = o.value(u"key"_s).isString();
        r.key = o.value(u"key"_s).toString();
        r.payload = o.value(u"payload"_s).toString().toUtf8();
        r.tombstone = o.value(u"payload"_s).isNull();
        const QJsonArray h = o.value(u"headers"_s).toArray();
        for (qsizetype i = 0; i + 1 < h.size(); i += 2)
            r.headers.append({h.at(i).toString(), h.at(i + 1).toString()});
        out << r;
    }
    return out;
}

/// Produces "key<TAB>value" lines with kcat, to one partition (-1 = partitioner).
inline bool kcatProduce(const QString &brokers, const QString &topic,
                        const QList<QPair<QByteArray, QByteArray>> &records, int partition = -1,
                        const QStringList &headers = {})
{
    QStringList args{u"-b"_s, brokers, u"-P"_s, u"-t"_s, topic, u"-K"_s, u"\t"_s};
    if (partition >= 0)
        args << u"-p"_s << QString::number(partition);
    for (const QString &h : headers)
        args << u"-H"_s << h;
    QProcess p;
    p.start(u"kcat"_s, args);
    if (!p.waitForStarted(5000))
        return false;
    for (const auto &[k, v] : records)
        p.write(k + '\t' + v + '\n');
    p.closeWriteChannel();
    return p.waitForFinished(30000) && p.exitCode() == 0;
}

/// The seed-style Flask app (tests/integration/kafka/seed_app.py) in its own process.
class FlaskApp
{
public:
    /// `port` 0 picks a free one; a `journal` file keeps every delivery across restarts.
    bool start(quint16 port = 0, const QString &journal = {})
    {
        m_port = port ? port : freePort();
        m_proc.setProcessChannelMode(QProcess::MergedChannels);
        QStringList args{sourceDir() + u"/tests/integration/kafka/seed_app.py"_s,
                         QString::number(m_port)};
        if (!journal.isEmpty())
            args << journal;
        m_proc.start(u"python3"_s, args);
        if (!m_proc.waitForStarted(5000))
            return false;
        for (int i = 0; i < 100; ++i) {
            if (httpRequest(m_nam, "GET", url(u"/_records"_s), {}, {}, 1000).status == 200)
                return true;
            spin(100);
        }
        return false;
    }
    ~FlaskApp() { stop(); }
    /// The app goes away: its port refuses connections until start() again.
    void stop()
    {
        if (m_proc.state() != QProcess::NotRunning) {
            m_proc.terminate();
            if (!m_proc.waitForFinished(5000))
                m_proc.kill();
            m_proc.waitForFinished(2000);
        }
    }
    quint16 port() const { return m_port; }
    QUrl url(const QString &path) const
    {
        return QUrl(u"http://127.0.0.1:%1%2"_s.arg(m_port).arg(path));
    }
    void configure(int status, int delayMs = 0, int failFirst = 0)
    {
        httpRequest(m_nam, "POST", url(u"/_config"_s),
                    u"{\"status\":%1,\"delayMs\":%2,\"failFirst\":%3}"_s.arg(status)
                        .arg(delayMs)
                        .arg(failFirst)
                        .toUtf8());
    }
    void clear() { httpRequest(m_nam, "POST", url(u"/_clear"_s)); }
    QJsonArray records()
    {
        return QJsonDocument::fromJson(httpRequest(m_nam, "GET", url(u"/_records"_s)).body).array();
    }
    /// Records whose body contains `needle`.
    QList<QJsonObject> recordsWith(const QString &needle)
    {
        QList<QJsonObject> out;
        for (const QJsonValue &v : records()) {
            if (v.toObject().value(u"body"_s).toString().contains(needle))
                out << v.toObject();
        }
        return out;
    }

private:
    QProcess m_proc;
    quint16 m_port = 0;
    QNetworkAccessManager m_nam;
};

/// A real binderyd process.
class Daemon
{
public:
    ~Daemon() { stop(); }
    /// Starts binderyd; true once /v1.0/healthz answers. False if it exited (init error) or hung.
    /// `launched` runs right after the process started, before waiting for health (e.g. to
    /// start the app then, as the seed's sequence does).
    bool start(const QString &resources, quint16 appPort, const QString &trafficLog = {},
               const QString &libraryPath = {}, const std::function<void()> &launched = {})
    {
        m_port = freePort();
        QStringList args{u"--app-id"_s,           u"kafka-it"_s,         u"--dapr-http-port"_s,
                         QString::number(m_port), u"--resources-path"_s, resources};
        if (appPort)
            args << u"--app-port"_s << QString::number(appPort);
        if (!trafficLog.isEmpty())
            args << u"--traffic-log"_s << trafficLog;
        m_proc = std::make_unique<QProcess>();
        m_proc->setProcessChannelMode(QProcess::MergedChannels);
        if (!libraryPath.isEmpty() || !m_env.isEmpty()) {
            QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
            if (!libraryPath.isEmpty())
                env.insert(u"LD_LIBRARY_PATH"_s, libraryPath);
            for (auto it = m_env.cbegin(); it != m_env.cend(); ++it)
                env.insert(it.key(), it.value());
            m_proc->setProcessEnvironment(env);
        }
        m_proc->start(binDir() + u"/binderyd"_s, args);
        if (!m_proc->waitForStarted(5000))
            return false;
        if (launched)
            launched();
        QElapsedTimer t;
        t.start();
        while (t.elapsed() < 20000) {
            if (m_proc->state() == QProcess::NotRunning)
                return false;
            if (httpRequest(m_nam, "GET", url(u"/v1.0/healthz"_s), {}, {}, 1000).status == 204)
                return true;
            spin(100);
        }
        return false;
    }
    /// SIGTERM (graceful: inputs stop, offsets are committed) and wait.
    void stop()
    {
        if (!m_proc || m_proc->state() == QProcess::NotRunning)
            return;
        m_proc->terminate();
        if (!m_proc->waitForFinished(20000)) {
            m_proc->kill();
            m_proc->waitForFinished(5000);
        }
    }
    /// An environment variable for the next start().
    void setEnv(const QString &name, const QString &value) { m_env.insert(name, value); }
    /// SIGKILL: no commit, no goodbye (issue 14's crash test).
    void kill()
    {
        if (m_proc && m_proc->state() != QProcess::NotRunning) {
            m_proc->kill();
            m_proc->waitForFinished(5000);
        }
    }
    /// Waits for the process to exit by itself (init failure); its exit code, or -1.
    int waitExit(int ms)
    {
        if (!m_proc->waitForFinished(ms))
            return -1;
        return m_proc->exitCode();
    }
    QByteArray output()
    {
        if (m_proc)
            m_output += m_proc->readAll();
        return m_output;
    }
    QUrl url(const QString &path) const
    {
        return QUrl(u"http://127.0.0.1:%1%2"_s.arg(m_port).arg(path));
    }
    quint16 port() const { return m_port; }
    HttpAnswer post(const QString &binding, const QByteArray &body, int timeoutMs = 30000)
    {
        return httpRequest(m_nam, "POST", url(u"/v1.0/bindings/"_s + binding), body, {}, timeoutMs);
    }
    QNetworkAccessManager &nam() { return m_nam; }

private:
    std::unique_ptr<QProcess> m_proc;
    QMap<QString, QString> m_env;
    quint16 m_port = 0;
    QByteArray m_output;
    QNetworkAccessManager m_nam;
};

/// A component file; `type` is bindings.kafka unless given.
inline QByteArray component(const QString &name, const QList<QPair<QString, QString>> &items,
                            const QString &type = QStringLiteral("bindings.kafka"))
{
    QByteArray y
        = "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: " + name.toUtf8()
          + "\nspec:\n  type: " + type.toUtf8() + "\n  version: v1\n  metadata:\n";
    for (const auto &[k, v] : items) {
        QByteArray value = v.toUtf8();
        if (value.contains('\n')) {
            QByteArray block = "|\n";
            for (const QByteArray &l : value.split('\n'))
                block += "        " + l + '\n';
            y += "  - name: " + k.toUtf8() + "\n    value: " + block;
        } else {
            y += "  - name: " + k.toUtf8() + "\n    value: \"" + value + "\"\n";
        }
    }
    return y;
}

inline bool writeFile(const QString &path, const QByteArray &content)
{
    QFile f(path);
    return f.open(QIODevice::WriteOnly) && f.write(content) == content.size();
}

inline QByteArray readFile(const QString &path)
{
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

inline QList<QJsonObject> trafficInputs(const QString &path, const QString &needle = {})
{
    QList<QJsonObject> out;
    for (const QByteArray &line : readFile(path).split('\n')) {
        const QJsonObject o = QJsonDocument::fromJson(line).object();
        if (o.value(u"kind"_s).toString() != u"input"_s)
            continue;
        if (!needle.isEmpty()
            && !QJsonDocument(o).toJson(QJsonDocument::Compact).contains(needle.toUtf8()))
            continue;
        out << o;
    }
    return out;
}

inline int runServices(const QStringList &args, QByteArray *output = nullptr)
{
    QProcess p;
    p.setProcessChannelMode(QProcess::MergedChannels);
    p.start(sourceDir() + u"/scripts/services"_s, args);
    if (!p.waitForFinished(180000))
        return -1;
    if (output)
        *output = p.readAll();
    return p.exitCode();
}

/// Every delivery an app instance journaled (FlaskApp::start with a journal): body -> count of
/// 2xx answers, in arrival order of first sight.
inline QMap<QString, int> journalCounts(const QString &path, const QString &field = u"id"_s)
{
    QMap<QString, int> out;
    for (const QByteArray &line : readFile(path).split('\n')) {
        const QJsonObject o = QJsonDocument::fromJson(line).object();
        if (o.isEmpty() || o.value(u"status"_s).toInt() / 100 != 2)
            continue;
        const QString id = QJsonDocument::fromJson(o.value(u"body"_s).toString().toUtf8())
                               .object()
                               .value(field)
                               .toString();
        if (!id.isEmpty())
            ++out[id];
    }
    return out;
}

/// `count` records {"id":"<prefix>-<i>"} with kcat, keys spread over the partitions.
inline QStringList produceIds(const QString &brokers, const QString &topic, const QString &prefix,
                              int count)
{
    QList<QPair<QByteArray, QByteArray>> recs;
    QStringList ids;
    for (int i = 0; i < count; ++i) {
        const QString id = u"%1-%2"_s.arg(prefix).arg(i);
        ids << id;
        recs.append({"k" + QByteArray::number(i % 7), u"{\"id\":\"%1\"}"_s.arg(id).toUtf8()});
    }
    return kcatProduce(brokers, topic, recs) ? ids : QStringList();
}

/// Duplicates (deliveries beyond the first) and the ids never acknowledged, for a fault test.
struct LossReport
{
    int missing = 0;
    int duplicates = 0;
    QStringList firstMissing;
};

inline LossReport lossReport(const QStringList &acknowledged, const QMap<QString, int> &seen)
{
    LossReport r;
    for (const QString &id : acknowledged) {
        const int n = seen.value(id);
        if (n == 0) {
            ++r.missing;
            if (r.firstMissing.size() < 5)
                r.firstMissing << id;
        } else {
            r.duplicates += n - 1;
        }
    }
    return r;
}

/// `scripts/services stop|start kafka` in the background, for a test that keeps working meanwhile.
class ServicesCall
{
public:
    explicit ServicesCall(const QStringList &args)
    {
        m_proc.setProcessChannelMode(QProcess::MergedChannels);
        m_proc.start(sourceDir() + u"/scripts/services"_s, args);
    }
    bool running() { return m_proc.state() != QProcess::NotRunning; }
    bool finishedOk(int ms = 180000)
    {
        if (m_proc.state() != QProcess::NotRunning && !m_proc.waitForFinished(ms))
            return false;
        return m_proc.exitStatus() == QProcess::NormalExit && m_proc.exitCode() == 0;
    }

private:
    QProcess m_proc;
};

} // namespace bindery::tests::kafkait

#define REQUIRE_BROKER()                                                                           \
    do {                                                                                           \
        if (!reachable(m_env.brokers)) {                                                           \
            if (isCi())                                                                            \
                QFAIL(qPrintable(                                                                  \
                    u"no Kafka broker at %1 (CI=true): run scripts/services start kafka"_s.arg(    \
                        m_env.brokers)));                                                          \
            QSKIP(qPrintable(                                                                      \
                u"no Kafka broker at %1: run scripts/services start kafka"_s.arg(m_env.brokers))); \
        }                                                                                          \
    } while (0)
