// SPDX-License-Identifier: Apache-2.0
// The traffic stream: many producers never block, the queue is bounded and counts drops, the
// notifier fires once per empty -> non-empty, and JSON Lines round-trip losslessly (issue 2).
#include <atomic>
#include <thread>
#include <vector>

#include <QFile>
#include <QSet>
#include <QTemporaryDir>
#include <QTest>

#include "core/traffic.h"
#include "core/traffic_log.h"

using namespace bindery::core;
using namespace Qt::Literals::StringLiterals;

namespace {

TrafficRecord sample(TrafficRecord::Kind kind)
{
    TrafficRecord r;
    r.id = 7;
    r.kind = kind;
    r.startedUs = 1764201600123456;
    r.latencyUs = 1234;
    r.binding = u"orders"_s;
    r.bindingType = u"bindings.kafka"_s;
    r.operation = kind == TrafficRecord::Kind::Output ? u"create"_s : u"deliver"_s;
    r.route = u"/orders"_s;
    r.metadata = {{u"key"_s, u"k1"_s}, {u"partitionKey"_s, u"\u00e9\"\n"_s}};
    r.payload = QByteArray(R"({"message":"Hi"})");
    r.status = 500;
    r.ok = false;
    r.error = u"error invoking output binding orders: boom"_s;
    r.errorCode = u"ERR_INVOKE_OUTPUT_BINDING"_s;
    r.responseHeaders
        = {{u"Metadata.statuscode"_s, u"500"_s}, {u"Metadata.statuscode"_s, u"dup"_s}};
    r.responseBody = QByteArray("{\"errorCode\":\"x\"}");
    if (kind == TrafficRecord::Kind::Input) { // input-only fields
        r.eventKey = u"orders/2@41"_s;
        r.attempt = 3;
        r.outcome = u"requeue"_s;
        r.redelivered = true;
        r.properties = {{u"message-id"_s, u"m-1"_s}, {u"priority"_s, u"3"_s}};
    }
    return r;
}

void compareRecords(const TrafficRecord &a, const TrafficRecord &b)
{
    QCOMPARE(a.id, b.id);
    QCOMPARE(a.kind, b.kind);
    QCOMPARE(a.startedUs, b.startedUs);
    QCOMPARE(a.latencyUs, b.latencyUs);
    QCOMPARE(a.binding, b.binding);
    QCOMPARE(a.bindingType, b.bindingType);
    QCOMPARE(a.operation, b.operation);
    QCOMPARE(a.route, b.route);
    QCOMPARE(a.metadata, b.metadata);
    QCOMPARE(a.payload, b.payload);
    QCOMPARE(a.status, b.status);
    QCOMPARE(a.ok, b.ok);
    QCOMPARE(a.error, b.error);
    QCOMPARE(a.errorCode, b.errorCode);
    QCOMPARE(a.responseHeaders, b.responseHeaders);
    QCOMPARE(a.responseBody, b.responseBody);
    QCOMPARE(a.eventKey, b.eventKey);
    QCOMPARE(a.attempt, b.attempt);
    QCOMPARE(a.outcome, b.outcome);
    QCOMPARE(a.redelivered, b.redelivered);
    QCOMPARE(a.properties, b.properties);
}

} // namespace

class tst_Traffic : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void acceptsManyProducersWithoutLoss();
    void notifiesOnceWhenTheQueueBecomesNonEmpty();
    void dropsTheOldestAndCountsWhenFull();
    void drainsAtMostTheRequestedNumber();
    void keepsNothingWithCapacityZero();
    void roundTripsJsonLines_data();
    void roundTripsJsonLines();
    void readsLinesWithoutTheNewerFields();
    void writesOneJsonObjectPerLine();
    void redeliveredIsWrittenOnlyWhenTrueAndOldLinesReadAsFalse();
    void rejectsMalformedLines_data();
    void rejectsMalformedLines();
    void writerAppendsEveryRecordToTheFile();
};

void tst_Traffic::acceptsManyProducersWithoutLoss()
{
    TrafficStream stream(1000000);
    std::atomic<int> wakes{0};
    stream.setNotifier([&] { wakes.fetch_add(1); });
    constexpr int producers = 8;
    constexpr int each = 5000;
    std::vector<std::thread> threads;
    QSet<quint64> ids;
    std::atomic<bool> done{false};
    // A consumer drains concurrently, as the console's pump does.
    std::vector<TrafficRecord> got;
    std::thread consumer([&] {
        while (!done.load() || stream.pushed() > got.size()) {
            for (TrafficRecord &r : stream.drain(256))
                got.push_back(std::move(r));
            std::this_thread::yield();
        }
    });
    for (int p = 0; p < producers; ++p) {
        threads.emplace_back([&stream, p] {
            for (int i = 0; i < each; ++i) {
                TrafficRecord r;
                r.id = stream.nextId();
                r.binding = QString::number(p);
                r.attempt = i;
                stream.push(std::move(r));
            }
        });
    }
    for (std::thread &t : threads)
        t.join();
    done = true;
    consumer.join();
    QTRY_COMPARE(stream.pushed(), quint64(producers * each));
    QCOMPARE(got.size(), size_t(producers * each));
    QCOMPARE(stream.dropped(), quint64(0));
    // Per-producer order is kept and ids are unique.
    QList<int> lastSeen(producers, -1);
    for (const TrafficRecord &r : got) {
        ids.insert(r.id);
        const int p = r.binding.toInt();
        QVERIFY(r.attempt > lastSeen[p]);
        lastSeen[p] = r.attempt;
    }
    QCOMPARE(ids.size(), producers * each);
    QVERIFY(wakes.load() >= 1);
    QVERIFY(wakes.load() <= producers * each);
}

void tst_Traffic::notifiesOnceWhenTheQueueBecomesNonEmpty()
{
    TrafficStream stream(100);
    int wakes = 0;
    stream.setNotifier([&] { ++wakes; });
    for (int i = 0; i < 10; ++i)
        stream.push({});
    QCOMPARE(wakes, 1);
    QCOMPARE(stream.drain().size(), size_t(10));
    stream.push({});
    stream.push({});
    QCOMPARE(wakes, 2);
}

void tst_Traffic::dropsTheOldestAndCountsWhenFull()
{
    TrafficStream stream(5);
    QCOMPARE(stream.capacity(), size_t(5));
    for (int i = 0; i < 12; ++i) {
        TrafficRecord r;
        r.attempt = i;
        stream.push(std::move(r)); // never blocks, even with no consumer
    }
    QCOMPARE(stream.dropped(), quint64(7));
    QCOMPARE(stream.pushed(), quint64(12));
    const std::vector<TrafficRecord> left = stream.drain();
    QCOMPARE(left.size(), size_t(5));
    QCOMPARE(left.front().attempt, 7);
    QCOMPARE(left.back().attempt, 11);
}

void tst_Traffic::drainsAtMostTheRequestedNumber()
{
    TrafficStream stream(100);
    for (int i = 0; i < 10; ++i)
        stream.push({});
    QCOMPARE(stream.drain(3).size(), size_t(3));
    QCOMPARE(stream.drain().size(), size_t(7));
    QCOMPARE(stream.drain().size(), size_t(0));
}

void tst_Traffic::keepsNothingWithCapacityZero()
{
    // binderyd without --traffic-log: a disabled tap must neither keep records nor crash.
    TrafficStream stream(0);
    int wakes = 0;
    stream.setNotifier([&] { ++wakes; });
    for (int i = 0; i < 3; ++i)
        stream.push(sample(TrafficRecord::Kind::Output));
    QCOMPARE(stream.pushed(), quint64(3));
    QCOMPARE(stream.dropped(), quint64(3));
    QCOMPARE(stream.drain().size(), size_t(0));
    QCOMPARE(wakes, 0);
}

void tst_Traffic::roundTripsJsonLines_data()
{
    QTest::addColumn<int>("kind");
    QTest::addColumn<QByteArray>("payload");
    QTest::newRow("output, JSON payload")
        << int(TrafficRecord::Kind::Output) << QByteArray(R"({"message":"Hi"})");
    QTest::newRow("input, binary payload")
        << int(TrafficRecord::Kind::Input) << QByteArray("\x00\x01\xff\xfe\n\"bin", 9);
    QTest::newRow("probe, empty payload") << int(TrafficRecord::Kind::Probe) << QByteArray();
    QTest::newRow("connection change") << int(TrafficRecord::Kind::Connection) << QByteArray();
    QTest::newRow("invalid UTF-8 text") << int(TrafficRecord::Kind::Input) << QByteArray("caf\xe9");
}

void tst_Traffic::roundTripsJsonLines()
{
    QFETCH(int, kind);
    QFETCH(QByteArray, payload);
    TrafficRecord r = sample(static_cast<TrafficRecord::Kind>(kind));
    r.payload = payload;
    r.responseBody = payload; // binary on both sides
    const QByteArray line = trafficRecordToJson(r);
    QVERIFY2(!line.contains('\n'), line.constData());
    TrafficRecord back;
    QString error;
    QVERIFY2(trafficRecordFromJson(line, &back, &error), qPrintable(error));
    compareRecords(back, r);
    QCOMPARE(TrafficRecord::kindFromName(r.kindName()), r.kind);
}

// Issue 10: `redelivered` and `properties` are written only when set, and a line written before
// they existed reads back as not redelivered, without properties.
void tst_Traffic::readsLinesWithoutTheNewerFields()
{
    const QByteArray plain = trafficRecordToJson(sample(TrafficRecord::Kind::Output));
    QVERIFY(!plain.contains("redelivered") && !plain.contains("properties"));
    TrafficRecord old;
    QVERIFY(trafficRecordFromJson(
        R"({"id":1,"kind":"input","binding":"b","eventKey":"q/1","attempt":2,"outcome":"acked"})",
        &old));
    QCOMPARE(old.redelivered, false);
    QVERIFY(old.properties.isEmpty());
    QCOMPARE(old.attempt, 2);
}

void tst_Traffic::writesOneJsonObjectPerLine()
{
    const QByteArray line = trafficRecordToJson(sample(TrafficRecord::Kind::Output));
    QVERIFY(line.startsWith('{'));
    QVERIFY(line.contains("\"binding\":\"orders\""));
    QVERIFY(line.contains("\"operation\":\"create\""));
}

// Issue 14.8: the field a broker binding sets on a delivery the app may have seen before. Lines
// written before it existed (and records that are not redelivered) carry no such key.
void tst_Traffic::redeliveredIsWrittenOnlyWhenTrueAndOldLinesReadAsFalse()
{
    TrafficRecord r = sample(TrafficRecord::Kind::Input);
    QVERIFY(trafficRecordToJson(r).contains("\"redelivered\":true"));
    r.redelivered = false;
    const QByteArray line = trafficRecordToJson(r);
    QVERIFY2(!line.contains("redelivered"), line.constData());
    TrafficRecord back;
    back.redelivered = true;
    QVERIFY(trafficRecordFromJson(line, &back));
    QVERIFY(!back.redelivered);
}

void tst_Traffic::rejectsMalformedLines_data()
{
    QTest::addColumn<QByteArray>("line");
    QTest::newRow("not JSON") << QByteArray("not json");
    QTest::newRow("array") << QByteArray("[1,2]");
    QTest::newRow("empty") << QByteArray();
}

void tst_Traffic::rejectsMalformedLines()
{
    QFETCH(QByteArray, line);
    TrafficRecord r;
    QString error;
    QVERIFY(!trafficRecordFromJson(line, &r, &error));
    QVERIFY(!error.isEmpty());
}

void tst_Traffic::writerAppendsEveryRecordToTheFile()
{
    QTemporaryDir dir;
    const QString path = dir.filePath(u"traffic.jsonl"_s);
    TrafficStream stream(1000);
    {
        TrafficLogWriter writer(stream, path);
        QVERIFY(writer.start());
        for (int i = 0; i < 50; ++i) {
            TrafficRecord r = sample(TrafficRecord::Kind::Input);
            r.id = stream.nextId();
            stream.push(std::move(r));
        }
        QTRY_COMPARE(writer.written(), quint64(50));
    }
    QFile f(path);
    QVERIFY(f.open(QIODevice::ReadOnly));
    const QList<QByteArray> lines = f.readAll().split('\n');
    QCOMPARE(lines.size(), 51); // 50 lines and the final newline
    TrafficRecord first;
    QVERIFY(trafficRecordFromJson(lines.first(), &first));
    QCOMPARE(first.id, quint64(1));
    compareRecords(first, [&] {
        TrafficRecord s = sample(TrafficRecord::Kind::Input);
        s.id = 1;
        return s;
    }());
}

QTEST_GUILESS_MAIN(tst_Traffic)
#include "tst_traffic.moc"
