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
    }
    void malformedFilterSaysWhy()
    {
        QFETCH(QString, expression);
        QFETCH(QString, mentions);
        const ui::TrafficFilter f = ui::TrafficFilter::parse(expression);
        QVERIFY(f.error.contains(mentions));
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
