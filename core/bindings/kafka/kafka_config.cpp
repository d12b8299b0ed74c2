// SPDX-License-Identifier: Apache-2.0
#include "core/bindings/kafka/kafka_config.h"

#include <librdkafka/rdkafka.h>

#include <QFile>
#include <QUrl>

namespace bindery::bindings::kafka {

namespace {

Result<qint64> durationField(const core::ComponentSpec &spec, const char *name, qint64 fallback)
{
    const QString key = QString::fromLatin1(name);
    const QString text = spec.property(key);
    if (text.trimmed().isEmpty())
        return fallback;
    qint64 ms = 0;
    if (!core::parseGoDuration(text.trimmed(), &ms) || ms < 0)
        return fail(
            ErrorCode::InvalidMetadata,
            QStringLiteral("kafka: metadata '%1' must be a duration such as 500ms or 10s, not '%2'")
                .arg(key, text),
            spec.name);
    return ms;
}

Result<bool> boolField(const core::ComponentSpec &spec, const char *name, bool fallback)
{
    const QString key = QString::fromLatin1(name);
    const QString text = spec.property(key);
    if (text.trimmed().isEmpty())
        return fallback;
    bool ok = false;
    const bool v = core::parseDaprBool(text.trimmed(), &ok);
    if (!ok)
        return fail(
            ErrorCode::InvalidMetadata,
            QStringLiteral("kafka: metadata '%1' must be true or false, not '%2'").arg(key, text),
            spec.name);
    return v;
}

bool isPem(const QString &v)
{
    return v.contains(QStringLiteral("-----BEGIN"));
}

Result<> setPemOrFile(rd_kafka_conf_t *conf, const char *pemProp, const char *fileProp,
                      const QString &value, const QString &field)
{
    if (isPem(value))
        return setConf(conf, pemProp, value);
    if (!QFile::exists(value))
        return fail(ErrorCode::InvalidMetadata,
                    QStringLiteral("kafka: metadata '%1' is neither PEM text nor an existing file")
                        .arg(field));
    return setConf(conf, fileProp, value);
}

} // namespace

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

Result<KafkaSettings> parseKafkaSettings(const core::ComponentSpec &spec)
{
    KafkaSettings s;
    s.componentName = spec.name;
    s.initTimeoutMs = spec.initTimeoutMs > 0 ? spec.initTimeoutMs : 5000;
    auto err = [&](const QString &message) {
        return fail(ErrorCode::InvalidMetadata, message, spec.name);
    };

    // Not yet supported: never silently ignored.
    const QString authType = spec.property(QStringLiteral("authType")).trimmed();
    const QString authLower = authType.toLower();
    if (authLower == QStringLiteral("oidc") || authLower == QStringLiteral("oidc_private_key_jwt")
        || authLower == QStringLiteral("awsiam"))
        return err(QStringLiteral(
                       "kafka: authType '%1' is not yet supported by Bindery; use none, password "
                       "(SASL PLAIN/SCRAM) or mtls")
                       .arg(authType));
    for (const char *field :
         {"schemaRegistryURL", "schemaRegistryAPIKey", "schemaRegistryAPISecret"}) {
        if (!spec.property(QString::fromLatin1(field)).trimmed().isEmpty())
            return err(QStringLiteral(
                           "kafka: metadata '%1' is set, but the schema registry (Avro) is not yet "
                           "supported by Bindery; remove it")
                           .arg(QString::fromLatin1(field)));
    }
    if (Result<bool> avro = boolField(spec, "useAvroJSON", false); !avro)
        return tl::unexpected(avro.error());
    else if (*avro)
        return err(QStringLiteral(
            "kafka: metadata 'useAvroJSON' is true, but Avro is not yet supported by Bindery"));

    // brokers
    const QString brokers = spec.property(QStringLiteral("brokers"));
    if (brokers.trimmed().isEmpty())
        return fail(ErrorCode::MissingMetadata,
                    QStringLiteral("kafka: required metadata 'brokers' is missing"), spec.name);
    QStringList dropped;
    for (const QString &entry : brokers.split(u',')) {
        bool schemeDropped = false;
        Result<QString> addr = parseBrokerAddress(entry, &schemeDropped);
        if (!addr)
            return err(addr.error().message);
        if (schemeDropped)
            dropped << entry.trimmed();
        s.brokers << *addr;
    }
    if (!dropped.isEmpty())
        s.warnings
            << QStringLiteral(
                   "metadata 'brokers': Kafka addresses are host:port; the scheme of '%1' was "
                   "dropped (using '%2')")
                   .arg(dropped.join(QStringLiteral(", ")), s.brokers.join(u','));

    for (const QString &t :
         spec.exactProperty(QStringLiteral("topics")).split(u',', Qt::SkipEmptyParts)) {
        if (!t.trimmed().isEmpty())
            s.topics << t.trimmed();
    }
    s.publishTopic = spec.exactProperty(QStringLiteral("publishTopic")).trimmed();
    s.consumerGroup = spec.property(QStringLiteral("consumerGroup")).trimmed();
    if (s.consumerGroup.isEmpty())
        s.consumerGroup = spec.property(QStringLiteral("consumerID")).trimmed();
    s.clientId = spec.property(QStringLiteral("clientID"), QStringLiteral("bindery")).trimmed();
    if (s.clientId.isEmpty())
        s.clientId = QStringLiteral("bindery");
    const QString initial = spec.property(QStringLiteral("initialOffset"), QStringLiteral("newest"))
                                .trimmed()
                                .toLower();
    if (initial == QStringLiteral("oldest"))
        s.oldest = true;
    else if (!initial.isEmpty() && initial != QStringLiteral("newest"))
        return err(
            QStringLiteral("kafka: metadata 'initialOffset' must be newest or oldest, not '%1'")
                .arg(initial));

    // auth
    s.authType = authLower.isEmpty() ? QStringLiteral("none") : authLower;
    if (authLower.isEmpty()
        && core::parseDaprBool(spec.property(QStringLiteral("authRequired")))) // deprecated form
        s.authType = QStringLiteral("password");
    s.saslUsername = spec.property(QStringLiteral("saslUsername"));
    s.saslPassword = spec.property(QStringLiteral("saslPassword"));
    s.caCert = spec.property(QStringLiteral("caCert")).trimmed();
    s.clientCert = spec.property(QStringLiteral("clientCert")).trimmed();
    s.clientKey = spec.property(QStringLiteral("clientKey")).trimmed();
    if (s.authType == QStringLiteral("password")) {
        if (s.saslUsername.isEmpty())
            return err(QStringLiteral("kafka: authType password needs metadata 'saslUsername'"));
        if (s.saslPassword.isEmpty())
            return err(QStringLiteral("kafka: authType password needs metadata 'saslPassword'"));
        const QString mech
            = spec.property(QStringLiteral("saslMechanism"), QStringLiteral("PLAINTEXT"))
                  .trimmed()
                  .toUpper();
        if (mech.isEmpty() || mech == QStringLiteral("PLAINTEXT")
            || mech == QStringLiteral("PLAIN"))
            s.saslMechanism = QStringLiteral("PLAIN");
        else if (mech == QStringLiteral("SHA-256") || mech == QStringLiteral("SCRAM-SHA-256"))
            s.saslMechanism = QStringLiteral("SCRAM-SHA-256");
        else if (mech == QStringLiteral("SHA-512") || mech == QStringLiteral("SCRAM-SHA-512"))
            s.saslMechanism = QStringLiteral("SCRAM-SHA-512");
        else
            return err(QStringLiteral("kafka: metadata 'saslMechanism' must be PLAINTEXT, SHA-256 "
                                      "or SHA-512, not '%1'")
                           .arg(mech));
    } else if (s.authType == QStringLiteral("mtls")) {
        if (s.clientCert.isEmpty() || s.clientKey.isEmpty())
            return err(
                QStringLiteral("kafka: authType mtls needs metadata 'clientCert' and 'clientKey'"));
    } else if (s.authType != QStringLiteral("none")) {
        return err(
            QStringLiteral("kafka: metadata 'authType' must be none, password or mtls, not '%1'")
                .arg(authType));
    }
    Result<bool> b = boolField(spec, "skipVerify", false);
    if (!b)
        return tl::unexpected(b.error());
    s.skipVerify = *b;
    if (!(b = boolField(spec, "disableTls", false)))
        return tl::unexpected(b.error());
    s.disableTls = *b;
    if (!(b = boolField(spec, "consumeRetryEnabled", false)))
        return tl::unexpected(b.error());
    s.consumeRetryEnabled = *b;
    if (!(b = boolField(spec, "escapeHeaders", false)))
        return tl::unexpected(b.error());
    s.escapeHeaders = *b;

    struct D
    {
        const char *name;
        qint64 *out;
        qint64 fallback;
    };
    for (const D &d :
         {D{"consumeRetryInterval", &s.consumeRetryIntervalMs, 100},
          D{"heartbeatInterval", &s.heartbeatIntervalMs, 3000},
          D{"sessionTimeout", &s.sessionTimeoutMs, 10000},
          D{"dialTimeout", &s.dialTimeoutMs, 30000},
          D{"deliveryTimeout", &s.deliveryTimeoutMs, 10000},
          D{"clientConnectionTopicMetadataRefreshInterval", &s.metadataRefreshMs, 9 * 60 * 1000}}) {
        Result<qint64> v = durationField(spec, d.name, d.fallback);
        if (!v)
            return tl::unexpected(v.error());
        *d.out = *v;
    }
    if (s.deliveryTimeoutMs <= 0)
        return err(QStringLiteral("kafka: metadata 'deliveryTimeout' must be greater than 0"));
    if (s.consumeRetryIntervalMs <= 0)
        s.consumeRetryIntervalMs = 100;
    Result<qint64> ka = durationField(spec, "clientConnectionKeepAliveInterval", 0);
    if (!ka)
        return tl::unexpected(ka.error());
    s.keepAlive = *ka > 0;

    const QString maxBytes = spec.property(QStringLiteral("maxMessageBytes")).trimmed();
    if (!maxBytes.isEmpty()) {
        bool ok = false;
        s.maxMessageBytes = maxBytes.toLongLong(&ok);
        if (!ok || s.maxMessageBytes < 0)
            return err(QStringLiteral(
                           "kafka: metadata 'maxMessageBytes' must be a positive integer, not '%1'")
                           .arg(maxBytes));
    }
    const QString linger = spec.property(QStringLiteral("lingerMs")).trimmed();
    if (!linger.isEmpty()) {
        bool ok = false;
        s.lingerMs = linger.toDouble(&ok);
        if (!ok || s.lingerMs < 0 || s.lingerMs > 900000)
            return err(QStringLiteral(
                           "kafka: metadata 'lingerMs' must be a number of milliseconds, not '%1'")
                           .arg(linger));
    }
    const QString retries = spec.property(QStringLiteral("producerRetryMax")).trimmed();
    if (!retries.isEmpty()) {
        bool ok = false;
        s.producerRetryMax = retries.toInt(&ok);
        if (!ok || s.producerRetryMax < 0)
            return err(QStringLiteral(
                           "kafka: metadata 'producerRetryMax' must be an integer >= 0, not '%1'")
                           .arg(retries));
    }
    s.compression
        = spec.property(QStringLiteral("compression"), QStringLiteral("none")).trimmed().toLower();
    if (s.compression.isEmpty())
        s.compression = QStringLiteral("none");
    if (!QStringList{QStringLiteral("none"), QStringLiteral("gzip"), QStringLiteral("snappy"),
                     QStringLiteral("lz4"), QStringLiteral("zstd")}
             .contains(s.compression))
        return err(
            QStringLiteral(
                "kafka: metadata 'compression' must be none, gzip, snappy, lz4 or zstd, not '%1'")
                .arg(s.compression));
    const QString acks
        = spec.property(QStringLiteral("producerRequiredAcks"), QStringLiteral("all"))
              .trimmed()
              .toLower();
    if (acks.isEmpty() || acks == QStringLiteral("all") || acks == QStringLiteral("-1")
        || acks == QStringLiteral("waitforall"))
        s.acks = QStringLiteral("all");
    else if (acks == QStringLiteral("local") || acks == QStringLiteral("1")
             || acks == QStringLiteral("waitforlocal"))
        s.acks = QStringLiteral("1");
    else if (acks == QStringLiteral("none") || acks == QStringLiteral("0")
             || acks == QStringLiteral("noresponse"))
        s.acks = QStringLiteral("0");
    else
        return err(
            QStringLiteral(
                "kafka: metadata 'producerRequiredAcks' must be all, local or none, not '%1'")
                .arg(acks));
    const QString exclude = spec.property(QStringLiteral("excludeHeaderMetaRegex"));
    if (!exclude.isEmpty()) {
        s.excludeHeaderMeta = QRegularExpression(exclude);
        if (!s.excludeHeaderMeta.isValid())
            return err(QStringLiteral("kafka: metadata 'excludeHeaderMetaRegex' is not a valid "
                                      "regular expression: %1")
                           .arg(s.excludeHeaderMeta.errorString()));
    }
    const QString strategy
        = spec.property(QStringLiteral("consumerGroupRebalanceStrategy"), QStringLiteral("range"))
              .trimmed()
              .toLower();
    if (strategy.isEmpty() || strategy == QStringLiteral("range"))
        s.assignmentStrategy = QStringLiteral("range");
    else if (strategy == QStringLiteral("roundrobin"))
        s.assignmentStrategy = QStringLiteral("roundrobin");
    else if (strategy == QStringLiteral("sticky"))
        s.assignmentStrategy = QStringLiteral("cooperative-sticky");
    else
        return err(QStringLiteral("kafka: metadata 'consumerGroupRebalanceStrategy' must be range, "
                                  "sticky or roundrobin, "
                                  "not '%1'")
                       .arg(strategy));
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
            if (Result<> r = setPemOrFile(conf, "ssl.ca.pem", "ssl.ca.location", s.caCert,
                                          QStringLiteral("caCert"));
                !r)
                return r;
        }
        if (s.authType == QStringLiteral("mtls")) {
            if (Result<> r = setPemOrFile(conf, "ssl.certificate.pem", "ssl.certificate.location",
                                          s.clientCert, QStringLiteral("clientCert"));
                !r)
                return r;
            if (Result<> r = setPemOrFile(conf, "ssl.key.pem", "ssl.key.location", s.clientKey,
                                          QStringLiteral("clientKey"));
                !r)
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
