// SPDX-License-Identifier: Apache-2.0
// What only the broker-backed Kafka and Event Hubs tests share (tst_kafka_binding,
// tst_azure_eventhubs_binding), on top of binderyd_fixture.h: the broker's addresses from
// `scripts/services env kafka`, topics, kcat, Kafka component files, the seed app's journal and
// fault-test bookkeeping, and the test classes' common base.
#pragma once

#include <librdkafka/rdkafka.h>

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QMap>
#include <QObject>
#include <QProcess>
#include <QTest>

#include "tests/integration/binderyd_fixture.h"

namespace bindery::tests::kafkait {

using namespace Qt::Literals::StringLiterals;

/// A topic, group or run name no earlier run used: "hk-<stem>-<ms>-<n>".
inline QString uniqueName(const QString &stem)
{
    return tests::uniqueName(u"hk"_s, stem);
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
    const QHash<QString, QString> vars = serviceEnv(
        u"kafka"_s, {u"KAFKA_BROKERS"_s, u"KAFKA_SASL_BROKERS"_s, u"KAFKA_SASL_SSL_BROKERS"_s,
                     u"KAFKA_SSL_BROKERS"_s, u"KAFKA_SASL_USERNAME"_s, u"KAFKA_SASL_PASSWORD"_s,
                     u"KAFKA_CA_CERT"_s, u"KAFKA_CLIENT_CERT"_s, u"KAFKA_CLIENT_KEY"_s,
                     u"EVENTHUBS_CONNECTION_STRING"_s, u"EVENTHUBS_CA_CERT"_s});
    KafkaEnv e;
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
    for (const QJsonObject &o : jsonLines(p.readAllStandardOutput())) {
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

/// A bindings.kafka component file.
inline QByteArray component(const QString &name, const QList<QPair<QString, QString>> &items)
{
    return componentYaml(name, u"bindings.kafka"_s, items);
}

/// Every delivery an app instance journaled (RecordingApp::start with a journal): body -> count of
/// 2xx answers, in arrival order of first sight.
inline QMap<QString, int> journalCounts(const QString &path, const QString &field = u"id"_s)
{
    QMap<QString, int> out;
    for (const QJsonObject &o : jsonLines(readFile(path))) {
        if (o.value(u"status"_s).toInt() / 100 != 2)
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

/// The base of the Kafka-backed test classes: initTestCase() checks that binderyd is built and
/// reads the broker's addresses; each test function gets its own folder (TestFolder).
class KafkaTestCase : public QObject
{
    Q_OBJECT

protected:
    KafkaEnv m_env;
    TestFolder m_dir;

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY2(binderydBuilt(), qPrintable(u"binderyd not built in "_s + binDir()));
        m_env = loadEnv();
    }
    void init() { QVERIFY(m_dir.renew()); }
    void cleanup() { m_dir.release(); }
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
