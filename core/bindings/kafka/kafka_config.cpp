// SPDX-License-Identifier: Apache-2.0
#include "core/bindings/kafka/kafka_config.h"

#include <librdkafka/rdkafka.h>

#include <QFile>
#include <QUrl>

#include "core/binding_registry.h"
#include "core/binding_settings.h"

namespace bindery::bindings::kafka {

QString queryEscape(const QByteArray &value)
{
    QByteArray e = value.toPercentEncoding(QByteArray(" ")); // keep spaces, then make them +
    e.replace(' ', '+');
    return QString::fromLatin1(e);
}

Result<QString> parseBrokerAddress(const QString &entry, bool *schemeDropped)
{
    QString a = entry.trimmed();
    *schemeDropped = false;
    const QString original = a;
    auto bad = [&](const QString &why) {
        return fail(
            ErrorCode::InvalidMetadata,
            QStringLiteral(
                "kafka: metadata 'brokers' has a malformed address '%1' (%2); write host:port, "
                "e.g. localhost:9092")
                .arg(original, why));
    };
    if (a.isEmpty())
        return bad(QStringLiteral("empty entry"));
    const qsizetype scheme = a.indexOf(QStringLiteral("://"));
    if (scheme >= 0) {
        const QString s = a.left(scheme);
        static const QRegularExpression schemeRe(QStringLiteral("^[A-Za-z][A-Za-z0-9+.-]*$"));
        if (!schemeRe.match(s).hasMatch())
            return bad(QStringLiteral("invalid scheme"));
        a = a.mid(scheme + 3);
        *schemeDropped = true;
        if (a.endsWith(u'/'))
            a.chop(1);
    }
    if (a.contains(u'/') || a.contains(u'?') || a.contains(u'#') || a.contains(u'@'))
        return bad(QStringLiteral("a broker address has no path, query or user part"));
    QString host;
    QString port;
    if (a.startsWith(u'[')) {
        const qsizetype close = a.indexOf(u']');
        if (close < 0 || close + 1 >= a.size() || a.at(close + 1) != u':')
            return bad(QStringLiteral("expected [ipv6]:port"));
        host = a.mid(1, close - 1);
        port = a.mid(close + 2);
    } else {
        const qsizetype colon = a.lastIndexOf(u':');
        if (colon < 0)
            return bad(QStringLiteral("the port is missing"));
        host = a.left(colon);
        port = a.mid(colon + 1);
        if (host.contains(u':'))
            return bad(QStringLiteral("write IPv6 addresses as [addr]:port"));
    }
    static const QRegularExpression hostRe(QStringLiteral("^[A-Za-z0-9._:-]+$"));
    if (host.isEmpty() || !hostRe.match(host).hasMatch())
        return bad(QStringLiteral("invalid host"));
    bool ok = false;
    const int p = port.toInt(&ok);
    if (!ok || p <= 0 || p > 65535)
        return bad(QStringLiteral("invalid port '%1'").arg(port));
    return a;
}

Result<KafkaSettings> parseKafkaSettings(const core::ComponentSpec &spec,
                                         core::Directions directions)
{
    core::BindingSettings r(spec, core::builtinSchema(QStringLiteral("kafka")), directions);
    KafkaSettings s;
    s.componentName = spec.name;
    s.initTimeoutMs = spec.initTimeoutMs > 0 ? spec.initTimeoutMs : 5000;

    // Read every field once, as daprd's DecodeMetadata does; combinations are checked below.
    const QStringList brokerEntries = r.list(QStringLiteral("brokers"));
    s.topics = r.exactString(QStringLiteral("topics")).split(u',', Qt::SkipEmptyParts);
    for (QString &t : s.topics)
        t = t.trimmed();
    s.topics.removeAll(QString());
    s.publishTopic = r.exactString(QStringLiteral("publishTopic"));
    s.consumerGroup = r.string(QStringLiteral("consumerGroup")); // alias consumerID in the schema
    s.clientId = r.string(QStringLiteral("clientID"));
    s.oldest = r.oneOf(QStringLiteral("initialOffset")) == QStringLiteral("oldest");
    const QString authType = r.oneOf(QStringLiteral("authType"));
    const bool authRequired = r.boolean(QStringLiteral("authRequired"));
    s.saslUsername = r.string(QStringLiteral("saslUsername"));
    s.saslPassword = r.secret(QStringLiteral("saslPassword"));
    const QString mechanism = r.oneOf(QStringLiteral("saslMechanism"));
    s.caCert = r.pem(QStringLiteral("caCert"));
    s.clientCert = r.pem(QStringLiteral("clientCert"));
    s.clientKey = r.pem(QStringLiteral("clientKey"));
    s.skipVerify = r.boolean(QStringLiteral("skipVerify"));
    s.disableTls = r.boolean(QStringLiteral("disableTls"));
    s.maxMessageBytes = r.integer(QStringLiteral("maxMessageBytes"), 0);
    s.consumeRetryEnabled = r.boolean(QStringLiteral("consumeRetryEnabled"));
    s.consumeRetryIntervalMs = r.durationMs(QStringLiteral("consumeRetryInterval"));
    s.heartbeatIntervalMs = r.durationMs(QStringLiteral("heartbeatInterval"));
    s.sessionTimeoutMs = r.durationMs(QStringLiteral("sessionTimeout"));
    s.dialTimeoutMs = r.durationMs(QStringLiteral("dialTimeout"));
    s.deliveryTimeoutMs = r.durationMs(QStringLiteral("deliveryTimeout"));
    s.lingerMs = r.number(QStringLiteral("lingerMs"), 0, 900000);
    s.lingerSet = r.isSet(QStringLiteral("lingerMs"));
    s.compression = r.oneOf(QStringLiteral("compression"));
    const QString acks = r.oneOf(QStringLiteral("producerRequiredAcks"));
    s.producerRetryMax
        = static_cast<int>(r.integer(QStringLiteral("producerRetryMax"), 0, 1000000));
    const QString exclude = r.string(QStringLiteral("excludeHeaderMetaRegex"));
    s.escapeHeaders = r.boolean(QStringLiteral("escapeHeaders"));
    const QString strategy = r.oneOf(QStringLiteral("consumerGroupRebalanceStrategy"));
    s.metadataRefreshMs
        = r.durationMs(QStringLiteral("clientConnectionTopicMetadataRefreshInterval"));
    s.keepAlive = r.durationMs(QStringLiteral("clientConnectionKeepAliveInterval")) > 0;
    if (!r.ok())
        return tl::unexpected(r.result().error());

    // The schema allows these authType values for daprd's files; Bindery does not do them yet.
    if (authType == QStringLiteral("oidc") || authType == QStringLiteral("oidc_private_key_jwt")
        || authType == QStringLiteral("awsiam")) {
        r.fail(QStringLiteral("authType"),
               QStringLiteral(
                   "kafka: authType '%1' is not yet supported by Bindery; use none, password "
                   "(SASL PLAIN/SCRAM) or mtls")
                   .arg(authType),
               ErrorCode::Unsupported);
        return tl::unexpected(r.result().error());
    }

    QStringList dropped;
    for (const QString &entry : brokerEntries) {
        bool schemeDropped = false;
        Result<QString> addr = parseBrokerAddress(entry, &schemeDropped);
        if (!addr) {
            r.fail(QStringLiteral("brokers"), addr.error().message);
            return tl::unexpected(r.result().error());
        }
        if (schemeDropped)
            dropped << entry.trimmed();
        s.brokers << *addr;
    }
    if (!dropped.isEmpty())
        s.warnings << QStringLiteral(
                          "metadata 'brokers': Kafka addresses are host:port; the scheme of '%1' "
                          "was dropped (using '%2')")
                          .arg(dropped.join(QStringLiteral(", ")), s.brokers.join(u','));

    // The deprecated authRequired: true means SASL when authType is not given.
    s.authType = r.isSet(QStringLiteral("authType")) || !authRequired ? authType
                                                                      : QStringLiteral("password");
    if (s.authType == QStringLiteral("password")) {
        if (s.saslUsername.isEmpty() || s.saslPassword.isEmpty()) {
            const QString missing = s.saslUsername.isEmpty() ? QStringLiteral("saslUsername")
                                                             : QStringLiteral("saslPassword");
            r.fail(missing,
                   QStringLiteral("kafka: authType password needs metadata '%1'").arg(missing),
                   ErrorCode::MissingMetadata);
            return tl::unexpected(r.result().error());
        }
        // Dapr's names for the mechanisms, librdkafka's names for the client.
        s.saslMechanism = mechanism == QStringLiteral("SHA-256")   ? QStringLiteral("SCRAM-SHA-256")
                          : mechanism == QStringLiteral("SHA-512") ? QStringLiteral("SCRAM-SHA-512")
                                                                   : QStringLiteral("PLAIN");
    } else if (s.authType == QStringLiteral("mtls")) {
        if (s.clientCert.isEmpty() || s.clientKey.isEmpty()) {
            const QString missing = s.clientCert.isEmpty() ? QStringLiteral("clientCert")
                                                           : QStringLiteral("clientKey");
            r.fail(
                missing,
                QStringLiteral("kafka: authType mtls needs metadata 'clientCert' and 'clientKey'"),
                ErrorCode::MissingMetadata);
            return tl::unexpected(r.result().error());
        }
    }
    if (s.deliveryTimeoutMs <= 0) {
        r.fail(QStringLiteral("deliveryTimeout"),
               QStringLiteral("kafka: metadata 'deliveryTimeout' must be greater than 0"));
        return tl::unexpected(r.result().error());
    }
    if (s.consumeRetryIntervalMs <= 0)
        s.consumeRetryIntervalMs = 100;
    // librdkafka's names for Dapr's (Sarama's) values.
    s.acks = acks == QStringLiteral("all") || acks == QStringLiteral("waitforall")
                     || acks == QStringLiteral("-1")
                 ? QStringLiteral("all")
             : acks == QStringLiteral("local") || acks == QStringLiteral("waitforlocal")
                     || acks == QStringLiteral("1")
                 ? QStringLiteral("1")
                 : QStringLiteral("0");
    s.assignmentStrategy
        = strategy == QStringLiteral("sticky") ? QStringLiteral("cooperative-sticky") : strategy;
    if (!exclude.isEmpty()) {
        s.excludeHeaderMeta = QRegularExpression(exclude);
        if (!s.excludeHeaderMeta.isValid()) {
            r.fail(QStringLiteral("excludeHeaderMetaRegex"),
                   QStringLiteral("kafka: metadata 'excludeHeaderMetaRegex' is not a valid regular "
                                  "expression: %1")
                       .arg(s.excludeHeaderMeta.errorString()));
            return tl::unexpected(r.result().error());
        }
    }
    s.warnings << r.warnings();
    return s;
}

Result<> setConf(rd_kafka_conf_t *conf, const char *name, const QString &value)
{
    char errstr[512];
    const QByteArray v = value.toUtf8();
    if (rd_kafka_conf_set(conf, name, v.constData(), errstr, sizeof errstr) != RD_KAFKA_CONF_OK)
        return fail(ErrorCode::InvalidMetadata,
                    QStringLiteral("kafka: cannot set librdkafka property %1: %2")
                        .arg(QString::fromLatin1(name), QString::fromUtf8(errstr)));
    return {};
}

Result<> applyCommonConfig(rd_kafka_conf_t *conf, const KafkaSettings &s)
{
    auto num = [](qint64 v) { return QString::number(v); };
    bool tls = false;
    QString protocol = QStringLiteral("plaintext");
    if (s.authType == QStringLiteral("password")) {
        tls = !s.disableTls;
        protocol = tls ? QStringLiteral("sasl_ssl") : QStringLiteral("sasl_plaintext");
    } else if (s.authType == QStringLiteral("mtls")) {
        tls = true;
        protocol = QStringLiteral("ssl");
    } else if (!s.disableTls && (!s.caCert.isEmpty() || s.skipVerify)) {
        // authType none with a CA (or skipVerify): TLS without client authentication.
        tls = true;
        protocol = QStringLiteral("ssl");
    }
    struct P
    {
        const char *name;
        QString value;
    };
    const QList<P> props = {
        {"bootstrap.servers", s.brokers.join(u',')},
        {"client.id", s.clientId},
        {"security.protocol", protocol},
        {"socket.nagle.disable",
         QStringLiteral("true")}, // off by default only since 2.10 (perf facts §2)
        {"socket.connection.setup.timeout.ms", num(qMax<qint64>(1000, s.dialTimeoutMs))},
        {"reconnect.backoff.ms", QStringLiteral("50")},
        {"reconnect.backoff.max.ms", QStringLiteral("1000")},
        {"topic.metadata.refresh.interval.ms", num(qMax<qint64>(1000, s.metadataRefreshMs))},
        {"socket.keepalive.enable", s.keepAlive ? QStringLiteral("true") : QStringLiteral("false")},
        {"log.connection.close", QStringLiteral("false")},
    };
    for (const P &p : props) {
        if (Result<> r = setConf(conf, p.name, p.value); !r)
            return r;
    }
    if (s.maxMessageBytes > 0) {
        if (Result<> r
            = setConf(conf, "message.max.bytes", num(qMax<qint64>(1000, s.maxMessageBytes)));
            !r)
            return r;
    }
    if (protocol.startsWith(QStringLiteral("sasl"))) {
        for (const P &p : QList<P>{{"sasl.mechanisms", s.saslMechanism},
                                   {"sasl.username", s.saslUsername},
                                   {"sasl.password", s.saslPassword}}) {
            if (Result<> r = setConf(conf, p.name, p.value); !r)
                return r;
        }
    }
    if (tls) {
        if (!s.caCert.isEmpty()) {
            if (Result<> r = setConf(conf, "ssl.ca.pem", QString::fromUtf8(s.caCert)); !r)
                return r;
        }
        if (s.authType == QStringLiteral("mtls")) {
            if (Result<> r = setConf(conf, "ssl.certificate.pem", QString::fromUtf8(s.clientCert));
                !r)
                return r;
            if (Result<> r = setConf(conf, "ssl.key.pem", QString::fromUtf8(s.clientKey)); !r)
                return r;
        }
        if (s.skipVerify) {
            if (Result<> r
                = setConf(conf, "enable.ssl.certificate.verification", QStringLiteral("false"));
                !r)
                return r;
            if (Result<> r
                = setConf(conf, "ssl.endpoint.identification.algorithm", QStringLiteral("none"));
                !r)
                return r;
        }
    }
    return {};
}

} // namespace bindery::bindings::kafka
