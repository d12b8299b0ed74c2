// SPDX-License-Identifier: Apache-2.0
// bindings.rabbitmq without a server (issue 10): the `host` URI read as daprd's Go client reads it
// (the trailing-slash vhost that rabbitmq-c's own parser gets wrong), the settings' checks, and a
// create request turned into AMQP properties by components-contrib's rules. The server-backed
// behaviour is in tests/integration/tst_rabbitmq_binding.cpp.
#include <QTest>

#include "core/bindings/rabbitmq/rabbitmq_config.h"

using namespace bindery;
using namespace bindery::bindings::rabbitmq;
using namespace Qt::Literals::StringLiterals;

using Metadata = QMap<QString, QString>;

namespace {

core::ComponentSpec spec(const QList<QPair<QString, QString>> &items)
{
    core::ComponentSpec s;
    s.name = u"q"_s;
    s.type = u"bindings.rabbitmq"_s;
    for (const auto &[k, v] : items) {
        core::MetadataItem item;
        item.name = k;
        item.value = v;
        s.items << item;
    }
    return s;
}

} // namespace

class tst_RabbitMqConfig : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void readsUrisAsDaprdsClient_data();
    void readsUrisAsDaprdsClient();
    void refusesMalformedUrisWithoutEchoingThem_data();
    void refusesMalformedUrisWithoutEchoingThem();
    void readsSettingsFromTheSchema();
    void checksSettingCombinations_data();
    void checksSettingCombinations();
    void preparesMessagesAsComponentsContrib_data();
    void preparesMessagesAsComponentsContrib();
    void escapesHeaderKeysAsGoQueryEscape();
};

void tst_RabbitMqConfig::readsUrisAsDaprdsClient_data()
{
    QTest::addColumn<QString>("uri");
    QTest::addColumn<bool>("tls");
    QTest::addColumn<QString>("host");
    QTest::addColumn<int>("port");
    QTest::addColumn<QString>("user");
    QTest::addColumn<QString>("password");
    QTest::addColumn<QString>("vhost");
    QTest::newRow("trailing slash is vhost /")
        << u"amqp://bindery:secret@127.0.0.1:5680/"_s << false << u"127.0.0.1"_s << 5680
        << u"bindery"_s << u"secret"_s << u"/"_s;
    QTest::newRow("no path is vhost /")
        << u"amqp://u:p@h:1"_s << false << u"h"_s << 1 << u"u"_s << u"p"_s << u"/"_s;
    QTest::newRow("path names the vhost")
        << u"amqp://u:p@h/orders"_s << false << u"h"_s << 5672 << u"u"_s << u"p"_s << u"orders"_s;
    QTest::newRow("%2F is the vhost /")
        << u"amqp://u:p@h/%2F"_s << false << u"h"_s << 5672 << u"u"_s << u"p"_s << u"/"_s;
    QTest::newRow("defaults: localhost, guest, 5672")
        << u"amqp://"_s << false << u"localhost"_s << 5672 << u"guest"_s << u"guest"_s << u"/"_s;
    QTest::newRow("amqps defaults to 5671")
        << u"AMQPS://u:p@broker.example"_s << true << u"broker.example"_s << 5671 << u"u"_s
        << u"p"_s << u"/"_s;
    QTest::newRow("user without password keeps guest")
        << u"amqp://alice@h/"_s << false << u"h"_s << 5672 << u"alice"_s << u"guest"_s << u"/"_s;
    QTest::newRow("percent-encoded credentials")
        << u"amqp://a%40b:p%3Aw%2Fd@h/v%20h"_s << false << u"h"_s << 5672 << u"a@b"_s << u"p:w/d"_s
        << u"v h"_s;
    QTest::newRow("IPv6 host") << u"amqp://u:p@[::1]:5680/"_s << false << u"::1"_s << 5680 << u"u"_s
                               << u"p"_s << u"/"_s;
}

void tst_RabbitMqConfig::readsUrisAsDaprdsClient()
{
    QFETCH(QString, uri);
    QFETCH(bool, tls);
    QFETCH(QString, host);
    QFETCH(int, port);
    QFETCH(QString, user);
    QFETCH(QString, password);
    QFETCH(QString, vhost);
    const Result<AmqpUri> u = parseAmqpUri(uri);
    QVERIFY2(u, u ? "" : qPrintable(u.error().message));
    QCOMPARE(u->tls, tls);
    QCOMPARE(QString::fromStdString(u->host), host);
    QCOMPARE(u->port, port);
    QCOMPARE(QString::fromStdString(u->user), user);
    QCOMPARE(QString::fromStdString(u->password), password);
    QCOMPARE(QString::fromStdString(u->vhost), vhost);
}

void tst_RabbitMqConfig::refusesMalformedUrisWithoutEchoingThem_data()
{
    QTest::addColumn<QString>("uri");
    QTest::addColumn<QString>("message");
    QTest::newRow("http scheme") << u"http://u:hunter2@h/"_s << u"amqp:// or amqps://"_s;
    QTest::newRow("space") << u"amqp://u:hunter2@h /"_s << u"contains a space"_s;
    QTest::newRow("bad port") << u"amqp://u:hunter2@h:port/"_s << u"malformed"_s;
    QTest::newRow("bad heartbeat")
        << u"amqp://u:hunter2@h/?heartbeat=soon"_s << u"'heartbeat' must be a number"_s;
}

void tst_RabbitMqConfig::refusesMalformedUrisWithoutEchoingThem()
{
    QFETCH(QString, uri);
    QFETCH(QString, message);
    const Result<AmqpUri> u = parseAmqpUri(uri);
    QVERIFY(!u);
    QVERIFY2(u.error().message.contains(message), qPrintable(u.error().message));
    QVERIFY2(!u.error().message.contains(u"hunter2"_s), "the password was echoed");
}

void tst_RabbitMqConfig::readsSettingsFromTheSchema()
{
    const Result<RabbitMqSettings> s = parseRabbitMqSettings(
        spec({{u"host"_s, u"amqp://u:p@h:5680/?heartbeat=30&connection_timeout=2000"_s},
              {u"queueName"_s, u"orders"_s},
              {u"durable"_s, u"true"_s},
              {u"ttl"_s, u"90s"_s}, // the alias of ttlInSeconds
              {u"maxPriority"_s, u"10"_s},
              {u"prefetchCount"_s, u"25"_s},
              {u"saslExternal"_s, u"false"_s}, // daprd reads this spelling too
              {u"reconnectWaitInSeconds"_s, u"2"_s}}),
        {true, true});
    QVERIFY2(s, s ? "" : qPrintable(s.error().message));
    QCOMPARE(s->queueName, u"orders"_s);
    QVERIFY(s->durable && !s->deleteWhenUnused && !s->exclusive);
    QCOMPARE(s->queueTtlMs.value_or(-1), 90000);
    QCOMPARE(s->maxPriority.value_or(-1), 10);
    QCOMPARE(s->prefetchCount, 25);
    QCOMPARE(s->reconnectWaitMs, 2000);
    QCOMPARE(s->publishTimeoutMs, 10000);      // schema default
    QCOMPARE(s->contentType, u"text/plain"_s); // schema default
    QCOMPARE(s->uri.heartbeatSeconds, 30);
    QCOMPARE(s->uri.connectTimeoutMs, 2000);

    const Result<RabbitMqSettings> plain = parseRabbitMqSettings(
        spec({{u"host"_s, u"amqp://h"_s}, {u"queueName"_s, u"q"_s}}), {true, true});
    QVERIFY(plain);
    QVERIFY(!plain->queueTtlMs && !plain->maxPriority); // no x-message-ttl, no x-max-priority
    QCOMPARE(plain->reconnectWaitMs, 5000);
    QCOMPARE(plain->uri.heartbeatSeconds, 10); // amqp091's default
}

void tst_RabbitMqConfig::checksSettingCombinations_data()
{
    QTest::addColumn<QString>("name");
    QTest::addColumn<QString>("value");
    QTest::addColumn<QString>("message"); // empty: accepted, with a warning containing `warning`
    QTest::addColumn<QString>("warning");
    QTest::newRow("maxPriority over 255")
        << u"maxPriority"_s << u"256"_s << u"maxPriority"_s << QString();
    QTest::newRow("prefetchCount over 16 bits")
        << u"prefetchCount"_s << u"70000"_s << u"prefetchCount"_s << QString();
    QTest::newRow("negative ttl") << u"ttlInSeconds"_s << u"-5"_s << u"ttlInSeconds"_s << QString();
    QTest::newRow("ttl beyond x-message-ttl")
        << u"ttlInSeconds"_s << u"2592000"_s << u"2147483647 ms"_s << QString();
    QTest::newRow("clientKey alone")
        << u"clientKey"_s << u"-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----"_s
        << u"'clientCert' is missing"_s << QString();
    QTest::newRow("caCert over plain amqp")
        << u"caCert"_s << u"-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----"_s
        << QString() << u"used only with an amqps://"_s;
    QTest::newRow("externalSasl without TLS")
        << u"externalSasl"_s << u"true"_s << QString() << u"externalSasl is ignored"_s;
    QTest::newRow("publishTimeout 0") << u"publishTimeout"_s << u"0"_s
                                      << u"publishTimeout' must be greater than 0"_s << QString();
    QTest::newRow("missing queueName")
        << u"queueName"_s << QString() << u"queueName"_s << QString();
}

void tst_RabbitMqConfig::checksSettingCombinations()
{
    QFETCH(QString, name);
    QFETCH(QString, value);
    QFETCH(QString, message);
    QFETCH(QString, warning);
    QList<QPair<QString, QString>> items{{u"host"_s, u"amqp://u:p@h/"_s}};
    if (name != u"queueName"_s)
        items.append({u"queueName"_s, u"q"_s});
    if (!value.isEmpty())
        items.append({name, value});
    const Result<RabbitMqSettings> s = parseRabbitMqSettings(spec(items), {true, true});
    if (!message.isEmpty()) {
        QVERIFY(!s);
        QVERIFY2(s.error().message.contains(message), qPrintable(s.error().message));
        return;
    }
    QVERIFY2(s, s ? "" : qPrintable(s.error().message));
    QVERIFY2(s->warnings.join(u'\n').contains(warning), qPrintable(s->warnings.join(u'\n')));
}

void tst_RabbitMqConfig::preparesMessagesAsComponentsContrib_data()
{
    QTest::addColumn<Metadata>("metadata");
    QTest::addColumn<QString>("contentType");
    QTest::addColumn<QString>("expiration");
    QTest::addColumn<int>("priority");
    QTest::addColumn<QString>("messageId");
    QTest::addColumn<QString>("error");
    using M = Metadata;
    QTest::newRow("nothing: the default content type")
        << M{} << u"text/plain"_s << QString() << 0 << QString() << QString();
    QTest::newRow("seconds") << M{{u"ttlInSeconds"_s, u"60"_s}} << u"text/plain"_s << u"60000"_s
                             << 0 << QString() << QString();
    QTest::newRow("a Go duration") << M{{u"ttl"_s, u"1m30s"_s}} << u"text/plain"_s << u"90000"_s
                                   << 0 << QString() << QString();
    QTest::newRow("sub-millisecond truncates")
        << M{{u"ttl"_s, u"1500us"_s}} << u"text/plain"_s << u"1"_s << 0 << QString() << QString();
    QTest::newRow("0 is a duration")
        << M{{u"ttl"_s, u"0"_s}} << u"text/plain"_s << u"0"_s << 0 << QString() << QString();
    QTest::newRow("a negative duration is 0")
        << M{{u"ttl"_s, u"-5s"_s}} << u"text/plain"_s << u"0"_s << 0 << QString() << QString();
    QTest::newRow("a negative integer is an error")
        << M{{u"ttl"_s, u"-5"_s}} << QString() << QString() << 0 << QString()
        << u"failed to get TTL: ttl value must be higher than zero: actual is '-5'"_s;
    QTest::newRow("ttl wins over ttlInSeconds")
        << M{{u"ttl"_s, u"2"_s}, {u"ttlInSeconds"_s, u"9"_s}} << u"text/plain"_s << u"2000"_s << 0
        << QString() << QString();
    QTest::newRow("TTL in any case") << M{{u"TTLINSECONDS"_s, u"3"_s}} << u"text/plain"_s
                                     << u"3000"_s << 0 << QString() << QString();
    QTest::newRow("priority clamped") << M{{u"priority"_s, u"-4"_s}} << u"text/plain"_s << QString()
                                      << 0 << QString() << QString();
    QTest::newRow("priority is exact-case") << M{{u"Priority"_s, u"7"_s}} << u"text/plain"_s
                                            << QString() << 0 << QString() << QString();
    QTest::newRow("properties in any case, exact first")
        << M{{u"contenttype"_s, u"a/b"_s}, {u"contentType"_s, u"c/d"_s}, {u"MessageId"_s, u"m"_s}}
        << u"c/d"_s << QString() << 0 << u"m"_s << QString();
    QTest::newRow("empty values are skipped")
        << M{{u"contentType"_s, QString()}, {u"CONTENTTYPE"_s, u"x/y"_s}} << u"x/y"_s << QString()
        << 0 << QString() << QString();
}

void tst_RabbitMqConfig::preparesMessagesAsComponentsContrib()
{
    QFETCH(Metadata, metadata);
    QFETCH(QString, contentType);
    QFETCH(QString, expiration);
    QFETCH(int, priority);
    QFETCH(QString, messageId);
    QFETCH(QString, error);
    const Result<OutgoingMessage> m = prepareMessage("\"hi\"", metadata, u"text/plain"_s);
    if (!error.isEmpty()) {
        QVERIFY(!m);
        QCOMPARE(m.error().message, error);
        return;
    }
    QVERIFY2(m, m ? "" : qPrintable(m.error().message));
    QCOMPARE(m->body, std::string("\"hi\""));
    QCOMPARE(QString::fromStdString(m->contentType), contentType);
    QCOMPARE(QString::fromStdString(m->expiration), expiration);
    QCOMPARE(m->priority, priority);
    QCOMPARE(QString::fromStdString(m->messageId), messageId);
    QCOMPARE(m->headers.size(), size_t(metadata.size())); // every entry, as daprd
}

void tst_RabbitMqConfig::escapesHeaderKeysAsGoQueryEscape()
{
    QCOMPARE(queryEscape(u"my key/é?&=x-y_z.~"_s), u"my+key%2F%C3%A9%3F%26%3Dx-y_z.~"_s);
}

QTEST_GUILESS_MAIN(tst_RabbitMqConfig)
#include "tst_rabbitmq_config.moc"
