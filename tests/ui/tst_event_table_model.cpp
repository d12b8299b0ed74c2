// SPDX-License-Identifier: Apache-2.0
// The live traffic table: batching, bound, filter language, export -> import round trip.
#include <thread>

#include <QAbstractItemModelTester>
#include <QFile>
#include <QLineEdit>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>

#include "core/traffic.h"
#include "ui/models/event_pump.h"
#include "ui/models/event_table_model.h"
#include "ui/widgets/traffic_widget.h"
#include "console_test_env.h"

using namespace bindery;
using bindery::core::TrafficRecord;

namespace {

TrafficRecord makeRecord(quint64 id, TrafficRecord::Kind kind, const QString &binding,
                         const QString &op, int status, qint64 latencyUs,
                         const QByteArray &payload = {})
{
    TrafficRecord r;
    r.id = id;
    r.kind = kind;
    r.startedUs = 1'700'000'000'000'000 + qint64(id) * 1000;
    r.latencyUs = latencyUs;
    r.binding = binding;
    r.bindingType = QStringLiteral("bindings.") + binding;
    r.operation = op;
    r.status = status;
    r.ok = status >= 200 && status < 300;
    r.payload = payload;
    if (kind == TrafficRecord::Kind::Input) {
        r.route = u'/' + binding;
        r.eventKey = binding + QStringLiteral("@") + QString::number(id / 3);
        r.attempt = int(id % 3) + 1;
        r.outcome = r.ok ? QStringLiteral("acked") : QStringLiteral("retry");
        r.metadata = {{QStringLiteral("readTimeUTC"), QStringLiteral("2026-01-01T00:00:00Z")}};
        r.responseBody = r.ok ? QByteArray("{\"ok\":true}") : QByteArray("boom");
        if (!r.ok)
            r.error = QStringLiteral("app answered %1").arg(status);
    } else {
        r.metadata = {{QStringLiteral("fileName"), QStringLiteral("f%1.txt").arg(id)}};
        r.responseHeaders
            = {{QStringLiteral("Metadata.fileName"), QStringLiteral("f%1.txt").arg(id)}};
        r.responseBody = "{\"fileName\":\"x\"}";
        if (!r.ok) {
            r.error = QStringLiteral("failed");
            r.errorCode = QStringLiteral("ERR_INVOKE_OUTPUT_BINDING");
        }
    }
    return r;
}

std::vector<TrafficRecord> mixedBatch(quint64 firstId, int n)
{
    std::vector<TrafficRecord> out;
    for (int i = 0; i < n; ++i) {
        const quint64 id = firstId + quint64(i);
        switch (i % 4) {
        case 0:
            out.push_back(makeRecord(id, TrafficRecord::Kind::Input, QStringLiteral("tick"),
                                     QStringLiteral("deliver"), 200, 300));
            break;
        case 1:
            out.push_back(makeRecord(id, TrafficRecord::Kind::Output, QStringLiteral("files"),
                                     QStringLiteral("create"), 200, 90'000,
                                     "{\"hello\":\"world\"}"));
            break;
        case 2:
            out.push_back(makeRecord(id, TrafficRecord::Kind::Input, QStringLiteral("orders"),
                                     QStringLiteral("deliver"), 500, 2'000,
                                     QByteArray("\x00\x01\xff", 3)));
            break;
        default:
            out.push_back(makeRecord(id, TrafficRecord::Kind::Output, QStringLiteral("files"),
                                     QStringLiteral("get"), 500, 10'000));
            break;
        }
    }
    return out;
}

} // namespace

class TstEventTableModel : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void appendBatchInsertsOnceAndKeepsModelConsistent()
    {
        ui::EventTableModel model;
        QAbstractItemModelTester tester(&model,
                                        QAbstractItemModelTester::FailureReportingMode::QtTest);
        QSignalSpy inserted(&model, &QAbstractItemModel::rowsInserted);
        model.appendBatch(mixedBatch(1, 1000));
        QCOMPARE(inserted.count(), 1);
        QCOMPARE(model.rowCount(), 1000);
        QCOMPARE(model.columnCount(), int(ui::EventTableModel::ColumnCount));
        QCOMPARE(model.data(model.index(1, ui::EventTableModel::Binding)).toString(),
                 QStringLiteral("files"));
        QCOMPARE(model.data(model.index(2, ui::EventTableModel::Status)).toString(),
                 QStringLiteral("500 failed"));
        QVERIFY(model.data(model.index(1, ui::EventTableModel::Summary))
                    .toString()
                    .contains(QStringLiteral("fileName=f2.txt")));
    }

    void boundTrimsOldestInOneRemove_data()
    {
        QTest::addColumn<int>("maxRows");
        QTest::addColumn<int>("batches");
        QTest::addColumn<int>("batchSize");
        QTest::addColumn<QString>("filter");
        QTest::newRow("unfiltered") << 2500 << 7 << 1000 << QString();
        QTest::newRow("batch larger than bound") << 300 << 2 << 1000 << QString();
        QTest::newRow("filtered") << 2500 << 7 << 1000 << QStringLiteral("binding:files");
    }
    void boundTrimsOldestInOneRemove()
    {
        QFETCH(int, maxRows);
        QFETCH(int, batches);
        QFETCH(int, batchSize);
        QFETCH(QString, filter);
        ui::EventTableModel model;
        QAbstractItemModelTester tester(&model,
                                        QAbstractItemModelTester::FailureReportingMode::QtTest);
        model.setMaxRows(size_t(maxRows));
        model.setFilter(ui::TrafficFilter::parse(filter));
        QSignalSpy removed(&model, &QAbstractItemModel::rowsRemoved);
        QSignalSpy inserted(&model, &QAbstractItemModel::rowsInserted);
        QSignalSpy changed(&model, &QAbstractItemModel::dataChanged);
        quint64 id = 1;
        for (int b = 0; b < batches; ++b) {
            const int before = int(removed.count() + inserted.count());
            const int changedBefore = int(changed.count());
            model.appendBatch(mixedBatch(id, batchSize));
            id += quint64(batchSize);
            QVERIFY(removed.count() + inserted.count() - before
                    <= 1); // one structural change per batch
            QVERIFY(changed.count() - changedBefore <= 1);
        }
        QCOMPARE(int(model.totalRows()), std::min(maxRows, batches * batchSize));
        // The newest record is last, the oldest kept is the right one.
        const quint64 lastId = id - 1;
        quint64 newestShown = 0;
        for (int r = 0; r < model.rowCount(); ++r)
            newestShown = std::max(
                newestShown,
                model.data(model.index(r, 0), ui::EventTableModel::RecordIdRole).toULongLong());
        if (filter.isEmpty())
            QCOMPARE(newestShown, lastId);
        QVERIFY(model.data(model.index(0, 0), ui::EventTableModel::RecordIdRole).toULongLong()
                > lastId - quint64(maxRows));
    }

    void filterNarrowsRows_data()
    {
        QTest::addColumn<QString>("expression");
        QTest::addColumn<int>("expected"); // of 400 mixed records (100 of each kind)
        QTest::newRow("everything") << QString() << 400;
        QTest::newRow("binding") << QStringLiteral("binding:files") << 200;
        QTest::newRow("direction in") << QStringLiteral("direction:in") << 200;
        QTest::newRow("status 5xx") << QStringLiteral("status:5xx") << 200;
        QTest::newRow("status ok") << QStringLiteral("status:ok") << 200;
        QTest::newRow("op") << QStringLiteral("op:get") << 100;
        QTest::newRow("latency") << QStringLiteral("latency>50") << 100;
        QTest::newRow("latency below") << QStringLiteral("latency<1") << 100;
        QTest::newRow("combined") << QStringLiteral("binding:files status:error") << 100;
        QTest::newRow("free text payload") << QStringLiteral("WORLD") << 100;
        QTest::newRow("free text metadata") << QStringLiteral("f42.txt") << 1;
        QTest::newRow("nothing") << QStringLiteral("binding:nope") << 0;
        QTest::newRow("or") << QStringLiteral("binding:tick or binding:orders") << 200;
        QTest::newRow("not") << QStringLiteral("!binding:files") << 200;
        QTest::newRow("not keyword") << QStringLiteral("not status:ok") << 200;
        QTest::newRow("parentheses")
            << QStringLiteral("(binding:files and op:get) or binding:tick") << 200;
        QTest::newRow("and, not") << QStringLiteral("binding:files && !op:get") << 100;
        QTest::newRow("alternatives") << QStringLiteral("op:get,create status:5xx") << 100;
        QTest::newRow("quoted text") << QStringLiteral("\"\\\"world\\\"\"") << 100;
        QTest::newRow("quoted colon") << QStringLiteral("\"fileName=f42\"") << 0;
        QTest::newRow("type") << QStringLiteral("type:bindings.orders") << 100;
    }
    void filterNarrowsRows()
    {
        QFETCH(QString, expression);
        QFETCH(int, expected);
        ui::EventTableModel model;
        QAbstractItemModelTester tester(&model,
                                        QAbstractItemModelTester::FailureReportingMode::QtTest);
        model.appendBatch(mixedBatch(1, 200));
        const ui::TrafficFilter f = ui::TrafficFilter::parse(expression);
        QVERIFY2(f.error.isEmpty(), qPrintable(f.error));
        model.setFilter(f);
        // New rows are filtered as they arrive, too.
        model.appendBatch(mixedBatch(201, 200));
        QCOMPARE(model.rowCount(), expected);
        QCOMPARE(int(model.totalRows()), 400);
    }

    void malformedFilterSaysWhy_data()
    {
        QTest::addColumn<QString>("expression");
        QTest::addColumn<QString>("mentions");
        QTest::newRow("direction")
            << QStringLiteral("direction:sideways") << QStringLiteral("sideways");
        QTest::newRow("status") << QStringLiteral("status:abc") << QStringLiteral("abc");
        QTest::newRow("latency") << QStringLiteral("latency>fast") << QStringLiteral("fast");
        QTest::newRow("unknown field")
            << QStringLiteral("bindng:files") << QStringLiteral("unknown field 'bindng'");
        QTest::newRow("unbalanced") << QStringLiteral("(binding:files") << QStringLiteral("')'");
        QTest::newRow("dangling or")
            << QStringLiteral("binding:files or") << QStringLiteral("ends");
        QTest::newRow("trace") << QStringLiteral("trace:xyz") << QStringLiteral("xyz");
    }
    void malformedFilterSaysWhy()
    {
        QFETCH(QString, expression);
        QFETCH(QString, mentions);
        const ui::TrafficFilter f = ui::TrafficFilter::parse(expression);
        QVERIFY2(f.error.contains(mentions), qPrintable(f.error));
    }

    void pendingRowCompletesInPlace_data()
    {
        QTest::addColumn<bool>("sameBatch");
        QTest::addColumn<QString>("filter");
        QTest::newRow("later batch") << false << QString();
        QTest::newRow("same batch") << true << QString();
        QTest::newRow("filtered") << false << QStringLiteral("binding:orders");
    }
    void pendingRowCompletesInPlace()
    {
        QFETCH(bool, sameBatch);
        QFETCH(QString, filter);
        ui::EventTableModel model;
        QAbstractItemModelTester tester(&model,
                                        QAbstractItemModelTester::FailureReportingMode::QtTest);
        model.setFilter(ui::TrafficFilter::parse(filter));
        TrafficRecord done = makeRecord(7, TrafficRecord::Kind::Input, QStringLiteral("orders"),
                                        QStringLiteral("deliver"), 200, 1500);
        TrafficRecord started = done;
        started.pending = true;
        started.status = 0;
        started.ok = false;
        started.latencyUs = 0;
        started.startedUs = core::nowUs() - 2'000'000; // the app has been working for 2 s
        std::vector<TrafficRecord> first{makeRecord(6, TrafficRecord::Kind::Input,
                                                    QStringLiteral("orders"),
                                                    QStringLiteral("deliver"), 200, 100),
                                         started};
        if (sameBatch)
            first.push_back(done);
        model.appendBatch(std::move(first));
        QCOMPARE(model.rowCount(), 2);
        if (!sameBatch) {
            QCOMPARE(model.pendingCount(), 1);
            QCOMPARE(model.data(model.index(1, ui::EventTableModel::Status)).toString(),
                     QStringLiteral("pending"));
            QVERIFY(model.data(model.index(1, 0), ui::EventTableModel::PendingRole).toBool());
            // The timer runs: the latency shown is the time since the delivery started.
            const QString running
                = model.data(model.index(1, ui::EventTableModel::Latency)).toString();
            QVERIFY2(running.endsWith(QStringLiteral(" …"))
                         && running.startsWith(QStringLiteral("20")),
                     qPrintable(running));
            QCOMPARE(model.stats().count(), quint64(1)); // pending rows are not counted yet
            QSignalSpy changed(&model, &QAbstractItemModel::dataChanged);
            model.refreshPending();
            QCOMPARE(changed.count(), 1);
            QSignalSpy inserted(&model, &QAbstractItemModel::rowsInserted);
            model.appendBatch({done});
            QCOMPARE(inserted.count(), 0); // completed in place
        }
        QCOMPARE(model.rowCount(), 2);
        QCOMPARE(model.pendingCount(), 0);
        QCOMPARE(model.data(model.index(1, ui::EventTableModel::Status)).toString(),
                 QStringLiteral("200"));
        QCOMPARE(model.record(1).latencyUs, qint64(1500));
        QVERIFY(!model.record(1).pending);
        QCOMPARE(model.stats().count(), quint64(2));
        QCOMPARE(model.totalSeen(), quint64(2));
    }

    void correlatesByTraceId()
    {
        const QString t1 = QStringLiteral("4bf92f3577b34da6a3ce929d0e0e4736");
        const QString t2 = QStringLiteral("0af7651916cd43dd8448eb211c80319c");
        auto tp = [](const QString &trace, const char *span) {
            return QStringLiteral("00-%1-%2-01").arg(trace, QLatin1String(span));
        };
        std::vector<TrafficRecord> batch;
        TrafficRecord request = makeRecord(1, TrafficRecord::Kind::Output, QStringLiteral("queue"),
                                           QStringLiteral("create"), 204, 800);
        request.metadata.append({QStringLiteral("traceparent"), tp(t1, "00f067aa0ba902b7")});
        batch.push_back(request);
        batch.push_back(makeRecord(2, TrafficRecord::Kind::Output, QStringLiteral("files"),
                                   QStringLiteral("get"), 200, 10));
        for (quint64 id : {3, 4}) {
            TrafficRecord d = makeRecord(id, TrafficRecord::Kind::Input, QStringLiteral("queue"),
                                         QStringLiteral("deliver"), id == 3 ? 500 : 200, 900);
            d.metadata.append({QStringLiteral("Traceparent"), tp(t1, "b7ad6b7169203331")});
            batch.push_back(d);
        }
        TrafficRecord other = makeRecord(5, TrafficRecord::Kind::Input, QStringLiteral("queue"),
                                         QStringLiteral("deliver"), 200, 900);
        other.metadata.append({QStringLiteral("traceparent"), tp(t2, "b7ad6b7169203331")});
        batch.push_back(other);
        ui::EventTableModel model;
        model.appendBatch(std::move(batch));
        QCOMPARE(model.traceId(0), t1);
        QCOMPARE(model.traceId(1), QString());
        const QList<TrafficRecord> flow = model.correlated(0);
        QCOMPARE(flow.size(), 3);
        QCOMPARE(flow.at(0).id, quint64(1));
        QCOMPARE(flow.at(1).id, quint64(3));
        QCOMPARE(flow.at(2).id, quint64(4));
        QCOMPARE(model.correlated(4).size(), 1);
        QCOMPARE(model.correlated(1).size(), 0);
        QCOMPARE(model.rowOfId(4), 3);
        // The filter language reaches the same rows by trace id, or by a whole traceparent.
        model.setFilter(ui::TrafficFilter::parse(QStringLiteral("trace:") + t1));
        QCOMPARE(model.rowCount(), 3);
        model.setFilter(
            ui::TrafficFilter::parse(QStringLiteral("trace:") + tp(t2, "b7ad6b7169203331")));
        QCOMPARE(model.rowCount(), 1);
    }

    void traceparentsComeBackExactlyAndMatchFreeText()
    {
        // Canonical traceparents are held in binary; every other value as text. Both come back
        // exactly as they went in, and free text finds the binary ones as well.
        const QString canonical
            = QStringLiteral("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
        const QString upper
            = QStringLiteral("00-0AF7651916CD43DD8448EB211C80319C-B7AD6B7169203331-01");
        // A later version's form (longer): held as text.
        const QString future
            = QStringLiteral("01-11111111111111111111111111111111-2222222222222222-01-extra");
        TrafficRecord r = makeRecord(1, TrafficRecord::Kind::Input, QStringLiteral("queue"),
                                     QStringLiteral("deliver"), 200, 900);
        r.metadata = {{QStringLiteral("traceparent"), canonical},
                      {QStringLiteral("tracestate"), QStringLiteral("congo=t61rcWkgMzE")},
                      {QStringLiteral("traceparent"), upper},
                      {QStringLiteral("x-copy"), future}};
        r.responseHeaders = {{QStringLiteral("traceparent"), canonical}};
        r.properties = {{QStringLiteral("p"), canonical}};
        r.payload = "{\"a\":1}";
        TrafficRecord plain = makeRecord(2, TrafficRecord::Kind::Input, QStringLiteral("queue"),
                                         QStringLiteral("deliver"), 200, 900);
        ui::EventTableModel model;
        std::vector<TrafficRecord> batch;
        batch.push_back(r);
        batch.push_back(plain);
        model.appendBatch(std::move(batch));
        const TrafficRecord back = model.record(0);
        QCOMPARE(back.metadata, r.metadata);
        QCOMPARE(back.responseHeaders, r.responseHeaders);
        QCOMPARE(back.properties, r.properties);
        QCOMPARE(back.payload, r.payload);
        QCOMPARE(model.traceId(0), QStringLiteral("4bf92f3577b34da6a3ce929d0e0e4736"));
        QCOMPARE(model.record(1).metadata, plain.metadata);
        for (const char *text :
             {"00f067aa0ba902b7", "e4736-00F067", "0af7651916cd43dd", "736-00f067aa0ba902b7-01"}) {
            model.setFilter(ui::TrafficFilter::parse(QString::fromLatin1(text)));
            QCOMPARE(model.rowCount(), 1);
            QCOMPARE(model.record(0).id, quint64(1));
        }
        model.setFilter(ui::TrafficFilter::parse(QStringLiteral("00f067aa0ba902b8")));
        QCOMPARE(model.rowCount(), 0);
    }

    void packedBytesFollowTheBound()
    {
        // Rows' bytes live in chunks that go back as the oldest rows leave: memory follows the
        // bound, not the number of rows ever seen; a block larger than a chunk works too.
        ui::EventTableModel model;
        model.setMaxRows(2000);
        const QByteArray payload(2048, 'x');
        quint64 id = 0;
        for (int b = 0; b < 100; ++b) {
            std::vector<TrafficRecord> batch;
            for (int i = 0; i < 1000; ++i)
                batch.push_back(makeRecord(++id, TrafficRecord::Kind::Output,
                                           QStringLiteral("files"), QStringLiteral("create"), 200,
                                           10, payload));
            model.appendBatch(std::move(batch));
        }
        QCOMPARE(model.totalRows(), size_t(2000));
        // 2000 rows of ~2.1 KB: ~4.2 MB, plus at most the chunk being filled and one partly freed.
        QVERIFY2(model.approximateBytes() < 8u * 1024 * 1024,
                 QByteArray::number(qulonglong(model.approximateBytes())).constData());
        QCOMPARE(model.record(1999).payload, payload);
        const QByteArray big(3 * 1024 * 1024 + 17, 'b');
        std::vector<TrafficRecord> batch;
        batch.push_back(makeRecord(++id, TrafficRecord::Kind::Output, QStringLiteral("files"),
                                   QStringLiteral("create"), 200, 10, big));
        batch.push_back(makeRecord(++id, TrafficRecord::Kind::Output, QStringLiteral("files"),
                                   QStringLiteral("get"), 200, 10, "small"));
        model.appendBatch(std::move(batch));
        QCOMPARE(model.record(1998).payload, big);
        QCOMPARE(model.record(1999).payload, QByteArray("small"));
        QCOMPARE(model.record(0).payload, payload);
        model.clear();
        QCOMPARE(model.approximateBytes(), size_t(0));
    }

    void statisticsFollowFilterAndBound()
    {
        ui::EventTableModel model;
        model.appendBatch(mixedBatch(1, 400));
        QList<ui::LatencyStats::Summary> all = model.stats().summaries(model.strings());
        QCOMPARE(all.size(), 4);
        for (const ui::LatencyStats::Summary &s : all)
            QCOMPARE(s.count, quint64(100));
        const auto create = std::find_if(all.begin(), all.end(), [](const auto &s) {
            return s.binding == QStringLiteral("files") && s.operation == QStringLiteral("create");
        });
        QVERIFY(create != all.end());
        QCOMPARE(create->errors, quint64(0));
        QVERIFY(std::abs(create->p50Us - 90'000) <= 90'000 / 20); // within the 5 % buckets
        QCOMPARE(create->maxUs, qint64(90'000));
        const auto get = std::find_if(all.begin(), all.end(), [](const auto &s) {
            return s.operation == QStringLiteral("get");
        });
        QCOMPARE(get->errors, quint64(100));
        QVERIFY(model.stats().toCsv(model.strings()).startsWith("binding,operation,count"));
        QCOMPARE(model.stats().toCsv(model.strings()).count('\n'), 5);
        // The histogram holds every row once.
        quint64 inBars = 0;
        for (const ui::LatencyStats::Bar &b : model.stats().histogram(model.strings()))
            inBars += b.count;
        QCOMPARE(inBars, quint64(400));

        QSignalSpy counted(&model, &ui::EventTableModel::batchCounted);
        model.setFilter(ui::TrafficFilter::parse(QStringLiteral("binding:files")));
        QCOMPARE(model.stats().summaries(model.strings()).size(), 2);
        QCOMPARE(model.stats().count(), quint64(200));
        model.appendBatch(mixedBatch(401, 8));
        QCOMPARE(counted.count(), 1);
        QCOMPARE(counted.at(0).at(0).toInt(), 4); // the files rows only
        QCOMPARE(counted.at(0).at(1).toInt(), 2); // of which the gets failed
        QCOMPARE(model.stats().count(), quint64(204));
        // Rows that leave at the bound leave the statistics too.
        model.setFilter({});
        model.setMaxRows(100);
        QCOMPARE(model.stats().count(), quint64(100));
        model.appendBatch(mixedBatch(1000, 40));
        QCOMPARE(model.stats().count(), quint64(100));
        QCOMPARE(model.errorsHeld(), quint64(50));
    }

    void recordUnpacksLosslessly()
    {
        ui::EventTableModel model;
        std::vector<TrafficRecord> batch = mixedBatch(1, 8);
        const std::vector<TrafficRecord> copy = batch;
        model.appendBatch(std::move(batch));
        for (int i = 0; i < 8; ++i)
            QCOMPARE(core::trafficRecordToJson(model.record(i)),
                     core::trafficRecordToJson(copy[size_t(i)]));
    }

    void attemptsGroupByEventKey()
    {
        ui::EventTableModel model;
        std::vector<TrafficRecord> batch;
        for (int a = 1; a <= 3; ++a) {
            TrafficRecord r
                = makeRecord(quint64(a), TrafficRecord::Kind::Input, QStringLiteral("orders"),
                             QStringLiteral("deliver"), a < 3 ? 500 : 200, 100);
            r.eventKey = QStringLiteral("orders/0@7");
            r.attempt = a;
            batch.push_back(r);
            batch.push_back(makeRecord(quint64(10 + a), TrafficRecord::Kind::Output,
                                       QStringLiteral("files"), QStringLiteral("get"), 200, 1));
        }
        model.appendBatch(std::move(batch));
        const QList<TrafficRecord> attempts = model.attempts(4);
        QCOMPARE(attempts.size(), 3);
        QCOMPARE(attempts.at(0).attempt, 1);
        QCOMPARE(attempts.at(2).status, 200);
    }

    void exportThenImportReproducesRecords()
    {
        core::TrafficStream stream;
        ui::TrafficWidget widget(stream);
        QAbstractItemModelTester tester(widget.model(),
                                        QAbstractItemModelTester::FailureReportingMode::QtTest);
        std::vector<TrafficRecord> batch = mixedBatch(1, 400);
        widget.model()->appendBatch(batch);
        widget.filterEdit()->setText(QStringLiteral("binding:orders"));
        widget.applyFilter();
        QCOMPARE(widget.model()->rowCount(), 100);
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("orders.jsonl"));
        QString error;
        QCOMPARE(widget.exportJsonl(path, &error), qint64(100));

        core::TrafficStream stream2;
        ui::TrafficWidget other(stream2);
        QCOMPARE(other.importJsonl(path, &error), qint64(100));
        QCOMPARE(other.model()->rowCount(), 100);
        int j = 0;
        for (const TrafficRecord &r : batch) {
            if (r.binding != QStringLiteral("orders"))
                continue;
            QCOMPARE(core::trafficRecordToJson(other.model()->record(j)),
                     core::trafficRecordToJson(r));
            ++j;
        }
        QCOMPARE(j, 100);
    }

    void importNamesTheBadLine()
    {
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("bad.jsonl"));
        QFile f(path);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(core::trafficRecordToJson(makeRecord(1, TrafficRecord::Kind::Output,
                                                     QStringLiteral("a"), QStringLiteral("get"),
                                                     200, 1))
                + "\n");
        f.write("{not json\n");
        f.close();
        core::TrafficStream stream;
        ui::TrafficWidget widget(stream);
        QString error;
        QCOMPARE(widget.importJsonl(path, &error), qint64(-1));
        QVERIFY2(error.contains(QStringLiteral("bad.jsonl:2")), qPrintable(error));
    }

    void pumpDrainsInBatchesFromAnotherThread()
    {
        core::TrafficStream stream(100000);
        ui::EventTableModel model;
        QAbstractItemModelTester tester(&model,
                                        QAbstractItemModelTester::FailureReportingMode::QtTest);
        ui::EventPump pump(stream, model);
        QSignalSpy inserted(&model, &QAbstractItemModel::rowsInserted);
        std::thread producer([&stream]() {
            for (int i = 0; i < 20000; ++i) {
                stream.push(makeRecord(quint64(i + 1), TrafficRecord::Kind::Output,
                                       QStringLiteral("files"), QStringLiteral("create"), 200, 5));
                if (i % 2000 == 0)
                    std::this_thread::sleep_for(std::chrono::milliseconds(10));
            }
        });
        producer.join();
        QTRY_COMPARE_WITH_TIMEOUT(model.rowCount(), 20000, 5000);
        // ~10 ms of producing per 2,000 records and a 33 ms drain interval: far fewer inserts than
        // records.
        QVERIFY2(inserted.count() < 50, qPrintable(QString::number(inserted.count())));
        QCOMPARE(pump.dropped(), quint64(0));
    }
};

BINDERY_UI_TEST_MAIN(TstEventTableModel)
#include "tst_event_table_model.moc"
