// SPDX-License-Identifier: Apache-2.0
#include "core/bindings/rabbitmq/rabbitmq_config.h"

#include <algorithm>
#include <limits>

#include <QFile>
#include <QUrl>
#include <QUrlQuery>

#include "core/binding_registry.h"
#include "core/binding_settings.h"

namespace bindery::bindings::rabbitmq {

QString queryEscape(const QString &value)
{
    QByteArray e = value.toUtf8().toPercentEncoding(QByteArray(" ")); // keep spaces, then make +
    e.replace(' ', '+');
    return QString::fromLatin1(e);
}

QString AmqpUri::display() const
{
    return QStringLiteral("%1://%2:%3/%4")
        .arg(tls ? QStringLiteral("amqps") : QStringLiteral("amqp"), QString::fromStdString(host))
        .arg(port)
        .arg(vhost == "/" ? QString() : QString::fromStdString(vhost));
}

Result<AmqpUri> parseAmqpUri(const QString &text)
{
    // Messages never repeat the value: it holds the password.
    auto bad = [](const QString &why) {
        return fail(ErrorCode::InvalidMetadata,
                    QStringLiteral("rabbitmq: metadata 'host' is not a valid AMQP URI (%1); write "
                                   "amqp://user:password@host:5672/vhost")
                        .arg(why));
    };
    if (text.contains(u' '))
        return bad(QStringLiteral("it contains a space"));
    const QUrl url(text.trimmed(), QUrl::StrictMode);
    if (!url.isValid())
        return bad(QStringLiteral("malformed"));
    AmqpUri u;
    const QString scheme = url.scheme().toLower();
    if (scheme == QStringLiteral("amqps")) {
        u.tls = true;
        u.port = 5671;
    } else if (scheme != QStringLiteral("amqp")) {
        return bad(QStringLiteral("the scheme must be amqp:// or amqps://"));
    }
    if (!url.host().isEmpty())
        u.host = url.host(QUrl::FullyDecoded).toStdString();
    if (url.port() > 0)
        u.port = url.port();
    const QString userInfo = url.userInfo(QUrl::FullyEncoded);
    if (!userInfo.isEmpty()) {
        u.user = url.userName(QUrl::FullyDecoded).toStdString();
        if (userInfo.contains(u':')) // "user@host" keeps the default password, as in Go
            u.password = url.password(QUrl::FullyDecoded).toStdString();
    }
    // amqp091: the path without its first '/' is the vhost; "/" or "" leave the default "/".
    const QString path = url.path(QUrl::FullyDecoded);
    if (path.startsWith(u'/')) {
        if (path.size() > 1)
            u.vhost = path.mid(1).toStdString();
    } else if (!path.isEmpty()) {
        u.vhost = path.toStdString();
    }
    const QUrlQuery query(url);
    for (const auto &[key, value] : query.queryItems(QUrl::FullyDecoded)) {
        bool ok = true;
        if (key == QStringLiteral("heartbeat")) {
            u.heartbeatSeconds = value.toInt(&ok);
            ok = ok && u.heartbeatSeconds >= 0;
        } else if (key == QStringLiteral("connection_timeout")) {
            u.connectTimeoutMs = value.toInt(&ok);
            ok = ok && u.connectTimeoutMs > 0;
        } else if (key == QStringLiteral("auth_mechanism")) {
            if (value.compare(QStringLiteral("external"), Qt::CaseInsensitive) == 0)
                u.externalAuth = true;
        } else if (key == QStringLiteral("cacertfile")) {
            u.caCertFile = value;
        } else if (key == QStringLiteral("certfile")) {
            u.certFile = value;
        } else if (key == QStringLiteral("keyfile")) {
            u.keyFile = value;
        } else {
            u.ignoredParameters << key;
        }
        if (!ok)
            return bad(QStringLiteral("query parameter '%1' must be a number").arg(key));
    }
    return u;
}

namespace {

/// A PEM file named by a URI query parameter, as amqp091's tlsConfigFromURI reads it.
QByteArray readPemFile(const QString &path, const QString &parameter, QString *error)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly)) {
        *error = QStringLiteral("rabbitmq: metadata 'host': the file '%1' of query parameter "
                                "'%2' cannot be read: %3")
                     .arg(path, parameter, f.errorString());
        return {};
    }
    return f.readAll();
}

} // namespace

Result<RabbitMqSettings> parseRabbitMqSettings(const core::ComponentSpec &spec,
                                               core::Directions directions)
{
    core::BindingSettings r(spec, core::builtinSchema(QStringLiteral("rabbitmq")), directions);
    RabbitMqSettings s;
    s.componentName = spec.name;
    s.initTimeoutMs = spec.initTimeoutMs > 0 ? spec.initTimeoutMs : 5000;

    const QString host = r.string(QStringLiteral("host"));
    s.queueName = r.string(QStringLiteral("queueName"));
    s.durable = r.boolean(QStringLiteral("durable"));
    s.deleteWhenUnused = r.boolean(QStringLiteral("deleteWhenUnused"));
    s.exclusive = r.boolean(QStringLiteral("exclusive"));
    // basic.qos carries the count in 16 bits.
    s.prefetchCount = static_cast<int>(r.integer(QStringLiteral("prefetchCount"), 0, 65535));
    if (r.isSet(QStringLiteral("maxPriority")))
        s.maxPriority = static_cast<int>(r.integer(QStringLiteral("maxPriority"), 0, 255));
    if (r.isSet(QStringLiteral("ttlInSeconds")))
        s.queueTtlMs = r.durationMs(QStringLiteral("ttlInSeconds"));
    s.contentType = r.string(QStringLiteral("contentType"));
    s.reconnectWaitMs = r.durationMs(QStringLiteral("reconnectWaitInSeconds"));
    s.publishTimeoutMs = r.durationMs(QStringLiteral("publishTimeout"));
    s.caCert = r.pem(QStringLiteral("caCert"));
    s.clientCert = r.pem(QStringLiteral("clientCert"));
    s.clientKey = r.pem(QStringLiteral("clientKey"));
    s.externalSasl = r.boolean(QStringLiteral("externalSasl"));
    if (!r.ok())
        return tl::unexpected(r.result().error());

    Result<AmqpUri> uri = parseAmqpUri(host);
    if (!uri) {
        r.fail(QStringLiteral("host"), uri.error().message);
        return tl::unexpected(r.result().error());
    }
    s.uri = std::move(*uri);
    if (!s.uri.ignoredParameters.isEmpty())
        r.warn(QStringLiteral("host"),
               QStringLiteral("rabbitmq: query parameter(s) %1 of 'host' are not used by Bindery")
                   .arg(s.uri.ignoredParameters.join(QStringLiteral(", "))));
    // The URI's own TLS files count where the metadata gives none (amqp091 reads them too).
    const QList<std::pair<QString, QByteArray *>> uriFiles{{s.uri.caCertFile, &s.caCert},
                                                           {s.uri.certFile, &s.clientCert},
                                                           {s.uri.keyFile, &s.clientKey}};
    const QStringList parameters{QStringLiteral("cacertfile"), QStringLiteral("certfile"),
                                 QStringLiteral("keyfile")};
    for (qsizetype i = 0; i < uriFiles.size(); ++i) {
        if (uriFiles[i].first.isEmpty() || !uriFiles[i].second->isEmpty())
            continue;
        QString error;
        *uriFiles[i].second = readPemFile(uriFiles[i].first, parameters[i], &error);
        if (!error.isEmpty()) {
            r.fail(QStringLiteral("host"), error);
            return tl::unexpected(r.result().error());
        }
    }
    s.externalSasl = s.externalSasl || s.uri.externalAuth;

    if (s.clientCert.isEmpty() != s.clientKey.isEmpty()) {
        const QString missing
            = s.clientCert.isEmpty() ? QStringLiteral("clientCert") : QStringLiteral("clientKey");
        r.fail(missing,
               QStringLiteral("rabbitmq: mutual TLS needs both 'clientCert' and 'clientKey'; "
                              "'%1' is missing")
                   .arg(missing),
               ErrorCode::MissingMetadata);
        return tl::unexpected(r.result().error());
    }
    if (!s.uri.tls && (!s.caCert.isEmpty() || !s.clientCert.isEmpty()))
        r.warn(QStringLiteral("caCert"),
               QStringLiteral("rabbitmq: caCert, clientCert and clientKey are used only with an "
                              "amqps:// host; this one is amqp://, so the connection is plain"));
    if (s.externalSasl && (!s.uri.tls || s.clientCert.isEmpty())) {
        // daprd signs in with EXTERNAL only over TLS with a client certificate, and ignores the
        // field otherwise: so does Bindery, but it says so.
        r.warn(QStringLiteral("externalSasl"),
               QStringLiteral("rabbitmq: externalSasl is ignored: it needs an amqps:// host with "
                              "clientCert and clientKey; signing in with the URI's user instead"));
        s.externalSasl = false;
    }
    if (s.queueTtlMs && *s.queueTtlMs > std::numeric_limits<qint32>::max()) {
        r.fail(QStringLiteral("ttlInSeconds"),
               QStringLiteral("rabbitmq: metadata 'ttlInSeconds' is at most 2147483647 ms "
                              "(about 24.8 days), the largest x-message-ttl"));
        return tl::unexpected(r.result().error());
    }
    if (s.publishTimeoutMs <= 0) {
        r.fail(QStringLiteral("publishTimeout"),
               QStringLiteral("rabbitmq: metadata 'publishTimeout' must be greater than 0"));
        return tl::unexpected(r.result().error());
    }
    s.warnings << r.warnings();
    return s;
}

namespace {

/// components-contrib's TryGetProperty: the exact key first, then any case; empty values skipped.
QString tryGetProperty(const QMap<QString, QString> &metadata, const QString &key)
{
    if (const QString v = metadata.value(key); !v.isEmpty())
        return v;
    for (auto it = metadata.cbegin(); it != metadata.cend(); ++it) {
        if (!it.value().isEmpty() && it.key().compare(key, Qt::CaseInsensitive) == 0)
            return it.value();
    }
    return {};
}

/// components-contrib's TryGetTTL: `ttl` or `ttlInSeconds` in any case; a Go duration or
/// whole seconds > 0. Returns milliseconds, or nullopt when none is given.
Result<std::optional<qint64>> requestTtl(const QMap<QString, QString> &metadata)
{
    QString value;
    bool found = false;
    for (const QString &key : {QStringLiteral("ttl"), QStringLiteral("ttlInSeconds")}) {
        for (auto it = metadata.cbegin(); !found && it != metadata.cend(); ++it) {
            if (it.key().compare(key, Qt::CaseInsensitive) == 0) {
                value = it.value();
                found = true;
            }
        }
    }
    if (value.isEmpty())
        return std::optional<qint64>();
    bool isInt = false;
    const qint64 seconds = value.toLongLong(&isInt);
    if (isInt && value != QStringLiteral("0")) { // Go's ParseDuration takes "0" without a unit
        if (seconds <= 0)
            return fail(ErrorCode::InvokeFailed,
                        QStringLiteral("failed to get TTL: ttl value must be higher than zero: "
                                       "actual is '%1'")
                            .arg(seconds));
        return std::optional<qint64>(seconds * 1000);
    }
    qint64 ms = 0;
    if (!core::parseGoDuration(value, &ms))
        return fail(
            ErrorCode::InvokeFailed,
            QStringLiteral("failed to get TTL: ttl value must be a valid integer: actual is '%1'")
                .arg(value));
    return std::optional<qint64>(std::max<qint64>(ms, 0)); // a negative duration is 0
}

} // namespace

Result<OutgoingMessage> prepareMessage(const QByteArray &data,
                                       const QMap<QString, QString> &metadata,
                                       const QString &defaultContentType)
{
    OutgoingMessage m;
    m.body = data.toStdString();
    m.headers.reserve(static_cast<size_t>(metadata.size()));
    for (auto it = metadata.cbegin(); it != metadata.cend(); ++it)
        m.headers.emplace_back(it.key().toStdString(), it.value().toStdString());
    Result<std::optional<qint64>> ttl = requestTtl(metadata);
    if (!ttl)
        return tl::unexpected(ttl.error());
    if (*ttl)
        m.expiration = std::to_string(**ttl);
    // TryGetPriority reads the exact key only.
    if (const QString p = metadata.value(QStringLiteral("priority")); !p.isEmpty()) {
        bool ok = false;
        const qint64 v = p.toLongLong(&ok);
        if (!ok)
            return fail(
                ErrorCode::InvokeFailed,
                QStringLiteral("priority value must be a valid integer: actual is '%1'").arg(p));
        m.priority = static_cast<int>(std::clamp<qint64>(v, 0, 255));
    }
    const QString contentType = tryGetProperty(metadata, QStringLiteral("contentType"));
    m.contentType = (contentType.isEmpty() ? defaultContentType : contentType).toStdString();
    m.messageId = tryGetProperty(metadata, QStringLiteral("messageID")).toStdString();
    m.correlationId = tryGetProperty(metadata, QStringLiteral("correlationID")).toStdString();
    m.type = tryGetProperty(metadata, QStringLiteral("type")).toStdString();
    return m;
}

} // namespace bindery::bindings::rabbitmq
