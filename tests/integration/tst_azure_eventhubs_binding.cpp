// SPDX-License-Identifier: Apache-2.0
// bindings.azure.eventhubs (issue 13) against the real Kafka broker speaking Event Hubs' Kafka
// sign-in: SASL PLAIN as "$ConnectionString" with a test connection string whose Endpoint names
// the broker's SASL_SSL listener (`scripts/services env kafka`: EVENTHUBS_CONNECTION_STRING,
// EVENTHUBS_CA_CERT). The other side is an independent client configured as Microsoft documents
// (confluent-kafka, tests/integration/kafka/eventhubs_client.py, in tests/e2e/.venv).
#include <QRegularExpression>

#include "tests/integration/kafka/kafka_it.h"

using namespace bindery::tests;
using namespace bindery::tests::kafkait;
using namespace Qt::Literals::StringLiterals;

namespace {

struct EhRecord
{
    QString key;
    QString value;
    QJsonObject headers;
    int partition = -1;
    qint64 offset = -1;
};

class tst_EventHubsBinding : public KafkaTestCase
{
    Q_OBJECT

private Q_SLOTS:
    void docsComponentLoadsSendsAndReceives();
    void getAllMessagePropertiesDeliversApplicationProperties();
    void wrongSharedAccessKeyIsAClearInitError();
    void inOrderPerPartitionAndAppErrorsRedeliveredAfterRestart();
    void daprdFieldsWarnOrRefuse_data();
    void daprdFieldsWarnOrRefuse();

private:
    QString python() const { return sourceDir() + u"/tests/e2e/.venv/bin/python"_s; }
    QString client() const
    {
        return sourceDir() + u"/tests/integration/kafka/eventhubs_client.py"_s;
    }
    QProcessEnvironment clientEnv(const QString &connection = {}) const
    {
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(u"EVENTHUBS_CONNECTION_STRING"_s,
                   connection.isEmpty() ? m_env.eventHubsConnection : connection);
        env.insert(u"EVENTHUBS_CA_CERT"_s, m_env.eventHubsCa);
        return env;
    }
    bool produce(const QString &hub, const QList<QJsonObject> &records)
    {
        QProcess p;
        p.setProcessEnvironment(clientEnv());
        p.start(python(), {client(), u"produce"_s, hub});
        if (!p.waitForStarted(5000))
            return false;
        for (const QJsonObject &r : records)
            p.write(QJsonDocument(r).toJson(QJsonDocument::Compact) + '\n');
        p.closeWriteChannel();
        const bool ok = p.waitForFinished(60000) && p.exitCode() == 0;
        if (!ok)
            qWarning("%s", p.readAllStandardError().constData());
        return ok;
    }
    QList<EhRecord> consume(const QString &hub, int count)
    {
        QProcess p;
        p.setProcessEnvironment(clientEnv());
        p.start(python(), {client(), u"consume"_s, hub, uniqueName(u"reader"_s),
                           QString::number(count), u"30"_s});
        p.waitForFinished(60000);
        QList<EhRecord> out;
        for (const QJsonObject &o : jsonLines(p.readAllStandardOutput()))
            out << EhRecord{o.value(u"key"_s).toString(), o.value(u"value"_s).toString(),
                            o.value(u"headers"_s).toObject(), o.value(u"partition"_s).toInt(),
                            o.value(u"offset"_s).toInteger()};
        return out;
    }
    /// The sample component (resources/samples/eventhubs) with the test connection string and
    /// `hub`, plus `extra` items; `drop` removes items by name.
    QByteArray sample(const QString &hub, const QString &group,
                      const QList<QPair<QString, QString>> &extra = {},
                      const QStringList &drop = {})
    {
        QByteArray y = readFile(sourceDir() + u"/resources/samples/eventhubs/eventhubs.yaml"_s);
        y.replace("Endpoint=sb://{EventHubNamespace}.servicebus.windows.net/;SharedAccessKeyName="
                  "{PolicyName};SharedAccessKey={Key}",
                  m_env.eventHubsConnection.toUtf8());
        y.replace("\"mytopic\"", QByteArray('"' + hub.toUtf8() + '"'));
        y.replace("\"myapp\"", QByteArray('"' + group.toUtf8() + '"'));
        for (const QString &name : drop) {
            const QByteArray item = "  - name: " + name.toUtf8() + "\n";
            const qsizetype at = y.indexOf(item);
            if (at >= 0)
                y.remove(at, y.indexOf('\n', y.indexOf('\n', at) + 1) - at + 1);
        }
        for (const auto &[k, v] : extra)
            y += "  - name: " + k.toUtf8() + "\n    value: \"" + v.toUtf8() + "\"\n";
        return y;
    }
};

#define REQUIRE_EVENTHUBS()                                                                        \
    do {                                                                                           \
        REQUIRE_BROKER();                                                                          \
        if (m_env.eventHubsConnection.isEmpty() || !QFile::exists(python())) {                     \
            const char *why = "EVENTHUBS_CONNECTION_STRING or tests/e2e/.venv is missing "         \
                              "(scripts/services start kafka; scripts/install-deps test)";         \
            if (isCi())                                                                            \
                QFAIL(why);                                                                        \
            QSKIP(why);                                                                            \
        }                                                                                          \
    } while (0)

// The component as daprd's docs show it, only the connection string changed (and the test CA
// given the way OpenSSL takes a trusted CA, SSL_CERT_FILE, so the file stays as pasted): it loads
// with one warning about the checkpoint store, sends and receives; the other side checks body,
// key and headers, and the app gets daprd's x-opt-* headers.
void tst_EventHubsBinding::docsComponentLoadsSendsAndReceives()
{
    REQUIRE_EVENTHUBS();
    const QString hub = uniqueName(u"hub"_s);
    QCOMPARE(createTopic(m_env.brokers, hub, 2), QString());
    QVERIFY(writeFile(m_dir->filePath(u"eventhubs.yaml"_s), sample(hub, uniqueName(u"g"_s))));
    RecordingApp app;
    QVERIFY(app.start());
    Daemon d;
    d.setEnv(u"SSL_CERT_FILE"_s, m_env.eventHubsCa);
    QVERIFY2(d.start(m_dir->path(), app.port()), d.output().constData());
    QCOMPARE(d.output().count("not in Blob Storage"), 1); // once, although input and output
    QVERIFY2(d.output().contains("storageAccountName, storageAccountKey, storageContainerName"),
             d.output().constData());
    QVERIFY2(!d.output().contains(m_env.eventHubsConnection.section(u'=', -2).toUtf8()),
             "the SharedAccessKey leaked into the log");

    const QByteArray caller = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    const HttpAnswer a = httpRequest(
        d.nam(), "POST", d.url(u"/v1.0/bindings/eventhubs"_s),
        R"({"data":{"temp":21.5},"metadata":{"partitionKey":"device-1","contentType":"application/json"},"operation":"create"})",
        {{"traceparent", caller}});
    QCOMPARE(a.status, 204);
    QCOMPARE(d.post(u"eventhubs"_s, R"({"data":"plain","operation":"create"})").status, 204);
    const QList<EhRecord> got = consume(hub, 2);
    QCOMPARE(got.size(), 2);
    const EhRecord &first = got[0].key == u"device-1"_s ? got[0] : got[1];
    const EhRecord &second = got[0].key == u"device-1"_s ? got[1] : got[0];
    QCOMPARE(first.value, u"{\"temp\":21.5}"_s);
    QCOMPARE(first.headers.value(u"content-type"_s).toString(), u"application/json"_s);
    QCOMPARE(first.headers.value(u"traceparent"_s).toString().toUtf8(), caller);
    QCOMPARE(second.value, u"\"plain\""_s);
    QVERIFY(second.key.isEmpty());
    QVERIFY(QRegularExpression(u"^00-[0-9a-f]{32}-[0-9a-f]{16}-01$"_s)
                .match(second.headers.value(u"traceparent"_s).toString())
                .hasMatch());

    // The app's side: the independent client sends, the app gets the event with x-opt-* headers.
    QJsonObject rec{{u"key"_s, u"sensor-9"_s},
                    {u"value"_s, u"{\"reading\":7}"_s},
                    {u"headers"_s, QJsonObject{{u"app-prop"_s, u"v1"_s}}}};
    QVERIFY(produce(hub, {rec}));
    QTRY_VERIFY_WITH_TIMEOUT(!app.recordsWith(u"reading"_s).isEmpty(), 30000);
    const QJsonObject r = app.recordsWith(u"reading"_s).first();
    QCOMPARE(r.value(u"path"_s).toString(), u"/eventhubs"_s);
    QCOMPARE(r.value(u"body"_s).toString(), u"{\"reading\":7}"_s);
    const QJsonObject h = r.value(u"headers"_s).toObject();
    QCOMPARE(h.value(u"x-opt-partition-key"_s).toString(), u"sensor-9"_s);
    QVERIFY(h.value(u"x-opt-sequence-number"_s).toString().toLongLong() >= 0);
    QCOMPARE(h.value(u"x-opt-offset"_s).toString(), h.value(u"x-opt-sequence-number"_s).toString());
    const QDateTime enqueued
        = QDateTime::fromString(h.value(u"x-opt-enqueued-time"_s).toString(), Qt::ISODate);
    QVERIFY2(enqueued.isValid() && qAbs(enqueued.secsTo(QDateTime::currentDateTimeUtc())) < 120
                 && h.value(u"x-opt-enqueued-time"_s).toString().endsWith(u'Z'),
             qPrintable(h.value(u"x-opt-enqueued-time"_s).toString()));
    QVERIFY2(!h.contains(u"app-prop"_s), "application properties need getAllMessageProperties");
}

void tst_EventHubsBinding::getAllMessagePropertiesDeliversApplicationProperties()
{
    REQUIRE_EVENTHUBS();
    const QString hub = uniqueName(u"props"_s);
    QCOMPARE(createTopic(m_env.brokers, hub, 1), QString());
    QVERIFY(writeFile(
        m_dir->filePath(u"eventhubs.yaml"_s),
        sample(hub, uniqueName(u"g"_s),
               {{u"getAllMessageProperties"_s, u"true"_s}, {u"caCert"_s, m_env.eventHubsCa}},
               {u"storageAccountName"_s, u"storageAccountKey"_s, u"storageContainerName"_s})));
    RecordingApp app;
    QVERIFY(app.start());
    Daemon d;
    QVERIFY2(d.start(m_dir->path(), app.port()), d.output().constData());
    QVERIFY2(!d.output().contains("not in Blob Storage"), d.output().constData());
    QVERIFY(produce(
        hub, {QJsonObject{{u"value"_s, u"{\"p\":1}"_s},
                          {u"headers"_s, QJsonObject{{u"app-prop"_s, u"v1"_s},
                                                     {u"content-type"_s, u"text/plain"_s}}}}}));
    QTRY_COMPARE_WITH_TIMEOUT(app.records().size(), 1, 30000);
    const QJsonObject h = app.records()[0].toObject().value(u"headers"_s).toObject();
    QCOMPARE(h.value(u"app-prop"_s).toString(), u"v1"_s);
    QVERIFY(!h.contains(u"x-opt-partition-key"_s)); // no key, no partition key
}

void tst_EventHubsBinding::wrongSharedAccessKeyIsAClearInitError()
{
    REQUIRE_EVENTHUBS();
    QString wrong = m_env.eventHubsConnection;
    const QString key = wrong.section(u"SharedAccessKey="_s, 1).section(u';', 0, 0);
    QVERIFY(!key.isEmpty());
    wrong.replace(key, u"d3Jvbmcta2V5LXdyb25nLWtleS13cm9uZy1rZXkwMDA="_s);
    QVERIFY(writeFile(m_dir->filePath(u"c.yaml"_s),
                      componentYaml(u"badkey"_s, u"bindings.azure.eventhubs"_s,
                                    {{u"connectionString"_s, wrong},
                                     {u"eventHub"_s, u"x"_s},
                                     {u"caCert"_s, m_env.eventHubsCa},
                                     {u"direction"_s, u"output"_s}})));
    Daemon d;
    QElapsedTimer t;
    t.start();
    QVERIFY(!d.start(m_dir->path(), 0));
    QVERIFY(d.waitExit(10000) != 0);
    const QByteArray out = d.output();
    QVERIFY2(out.contains("badkey") && out.contains("authentication") && out.contains("failed")
                 && out.contains("$ConnectionString") && out.contains("SharedAccessKey"),
             out.constData());
    QVERIFY2(!out.contains("d3Jvbmcta2V5"), "the key leaked into the log");
    QVERIFY2(t.elapsed() < 8000, "the sign-in error took too long (a timeout, not a refusal)");
}

// enableInOrderMessageDelivery: each partition's events reach the app in order. The app answers
// 500 at first: nothing is checkpointed past an unacknowledged event, so a restart with the app
// answering 200 delivers every event, none lost.
void tst_EventHubsBinding::inOrderPerPartitionAndAppErrorsRedeliveredAfterRestart()
{
    REQUIRE_EVENTHUBS();
    const QString hub = uniqueName(u"order"_s);
    QCOMPARE(createTopic(m_env.brokers, hub, 2), QString());
    const QString group = uniqueName(u"g"_s);
    QByteArray y = sample(hub, group, {{u"caCert"_s, m_env.eventHubsCa}});
    y.replace("name: enableInOrderMessageDelivery\n    value: \"false\"",
              "name: enableInOrderMessageDelivery\n    value: \"true\"");
    QVERIFY(y.contains("value: \"true\""));
    QVERIFY(writeFile(m_dir->filePath(u"eventhubs.yaml"_s), y));
    RecordingApp app;
    QVERIFY(app.start());
    app.configure(500);
    QList<QJsonObject> recs;
    for (int p = 0; p < 2; ++p) {
        for (int i = 0; i < 10; ++i)
            recs << QJsonObject{{u"value"_s, u"{\"p\":%1,\"i\":%2}"_s.arg(p).arg(i)},
                                {u"partition"_s, p}};
    }
    {
        Daemon d;
        QVERIFY2(d.start(m_dir->path(), app.port()), d.output().constData());
        spin(3000); // the member is assigned (initialOffset newest: only events from now on)
        QVERIFY(produce(hub, recs));
        QTRY_VERIFY_WITH_TIMEOUT(app.records().size() >= 4, 30000);
        d.stop();
    }
    app.clear();
    app.configure(200);
    Daemon again;
    QVERIFY2(again.start(m_dir->path(), app.port()), again.output().constData());
    QTRY_COMPARE_WITH_TIMEOUT(app.records().size(), 20, 60000);
    spin(1000);
    QCOMPARE(app.records().size(), 20);
    int next[2] = {0, 0};
    for (const QJsonValue &v : app.records()) {
        const QJsonObject b
            = QJsonDocument::fromJson(v.toObject().value(u"body"_s).toString().toUtf8()).object();
        const int p = b.value(u"p"_s).toInt();
        QCOMPARE(b.value(u"i"_s).toInt(), next[p]);
        ++next[p];
    }
}

void tst_EventHubsBinding::daprdFieldsWarnOrRefuse_data()
{
    QTest::addColumn<QString>("item");    // name=value added to a working output component
    QTest::addColumn<bool>("loads");      // true: a warning, false: an init error
    QTest::addColumn<QString>("message"); // in the log
    QTest::newRow("eventHubNamespace (Azure AD)")
        << u"eventHubNamespace=myns"_s << false << u"Azure AD sign-in is not supported yet"_s;
    QTest::newRow("azureClientId (Azure AD)")
        << u"azureClientId=abc"_s << false << u"Azure AD sign-in is not supported yet"_s;
    QTest::newRow("enableEntityManagement")
        << u"enableEntityManagement=true"_s << false << u"entity management is not supported yet"_s;
    QTest::newRow("resourceGroupName")
        << u"resourceGroupName=rg"_s << false << u"entity management is not supported yet"_s;
    QTest::newRow("subscriptionID")
        << u"subscriptionID=x"_s << false << u"entity management is not supported yet"_s;
    QTest::newRow("partitionCount")
        << u"partitionCount=4"_s << false << u"entity management is not supported yet"_s;
    QTest::newRow("messageRetentionInDays")
        << u"messageRetentionInDays=3"_s << false << u"entity management is not supported yet"_s;
    QTest::newRow("enableEntityManagement false is fine")
        << u"enableEntityManagement=false"_s << true << QString();
    QTest::newRow("eventHub disagrees with EntityPath")
        << u"connectionString=Endpoint=sb://h:1/;SharedAccessKey=k;EntityPath=other"_s << false
        << u"EntityPath is 'other'"_s;
    QTest::newRow("malformed connection string")
        << u"connectionString=SharedAccessKey=top-secret-key"_s << false << u"no Endpoint"_s;
}

void tst_EventHubsBinding::daprdFieldsWarnOrRefuse()
{
    QFETCH(QString, item);
    QFETCH(bool, loads);
    QFETCH(QString, message);
    REQUIRE_EVENTHUBS();
    const QString name = item.section(u'=', 0, 0);
    QList<QPair<QString, QString>> items{{u"eventHub"_s, uniqueName(u"f"_s)},
                                         {u"caCert"_s, m_env.eventHubsCa},
                                         {u"direction"_s, u"output"_s}};
    if (name != u"connectionString"_s)
        items.prepend({u"connectionString"_s, m_env.eventHubsConnection});
    items.append({name, item.section(u'=', 1)});
    QVERIFY(writeFile(m_dir->filePath(u"c.yaml"_s),
                      componentYaml(u"fields"_s, u"bindings.azure.eventhubs"_s, items)));
    Daemon d;
    const bool started = d.start(m_dir->path(), 0);
    QCOMPARE(started, loads);
    if (!loads)
        QVERIFY(d.waitExit(10000) != 0);
    const QByteArray out = d.output();
    QVERIFY2(message.isEmpty() || out.contains(message.toUtf8()), out.constData());
    QVERIFY2(!out.contains("top-secret-key"), "a connection string leaked into the log");
}

} // namespace

QTEST_MAIN(tst_EventHubsBinding)
#include "tst_azure_eventhubs_binding.moc"
