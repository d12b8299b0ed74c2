// SPDX-License-Identifier: Apache-2.0
#include "core/bindings/azure_eventhubs/eventhubs_config.h"

#include <QUrl>

#include "core/binding_registry.h"
#include "core/binding_settings.h"

namespace bindery::bindings::azure_eventhubs {

Result<ConnectionString> parseConnectionString(const QString &text)
{
    auto bad = [](const QString &why) {
        return fail(ErrorCode::InvalidMetadata,
                    QStringLiteral("azure.eventhubs: metadata 'connectionString' is malformed: %1; "
                                   "expected Endpoint=sb://<namespace>.servicebus.windows.net/;"
                                   "SharedAccessKeyName=<policy>;SharedAccessKey=<key>[;EntityPath="
                                   "<event hub>]")
                        .arg(why));
    };
    ConnectionString cs;
    QString endpoint;
    bool hasSecret = false;
    for (const QString &part : text.split(u';', Qt::SkipEmptyParts)) {
        const qsizetype eq = part.indexOf(u'=');
        if (eq <= 0)
            return bad(
                QStringLiteral("a part without '=' (parts are Key=Value, separated by ';')"));
        const QString key = part.left(eq).trimmed();
        const QString value = part.mid(eq + 1).trimmed();
        if (key.compare(QStringLiteral("Endpoint"), Qt::CaseInsensitive) == 0)
            endpoint = value;
        else if (key.compare(QStringLiteral("EntityPath"), Qt::CaseInsensitive) == 0)
            cs.entityPath = value;
        else if (key.compare(QStringLiteral("SharedAccessKeyName"), Qt::CaseInsensitive) == 0)
            cs.keyName = value;
        else if (key.compare(QStringLiteral("SharedAccessKey"), Qt::CaseInsensitive) == 0
                 || key.compare(QStringLiteral("SharedAccessSignature"), Qt::CaseInsensitive) == 0)
            hasSecret = !value.isEmpty();
    }
    if (endpoint.isEmpty())
        return bad(QStringLiteral("no Endpoint"));
    const QUrl url(endpoint);
    if (!url.isValid() || url.host().isEmpty()
        || (url.scheme() != QStringLiteral("sb") && url.scheme() != QStringLiteral("https")))
        return bad(QStringLiteral("Endpoint '%1' is not sb://<host>/").arg(endpoint));
    if (!hasSecret)
        return bad(QStringLiteral("no SharedAccessKey (or SharedAccessSignature)"));
    cs.host = url.host();
    cs.port = url.port(9093);
    return cs;
}

Result<EventHubsSettings> parseEventHubsSettings(const core::ComponentSpec &spec,
                                                 core::Directions directions)
{
    core::BindingSettings r(spec, core::builtinSchema(QStringLiteral("azure_eventhubs")),
                            directions);
    const QString connection = r.secret(QStringLiteral("connectionString")).trimmed();
    const QString hub = r.string(QStringLiteral("eventHub"));
    const QString group = r.string(QStringLiteral("consumerID")); // alias consumerGroup
    r.boolean(QStringLiteral("enableInOrderMessageDelivery"));    // always in order per partition
    EventHubsSettings s;
    s.allProperties = r.boolean(QStringLiteral("getAllMessageProperties"));
    const QByteArray ca = r.pem(QStringLiteral("caCert"));
    QStringList storage;
    for (const char *f : {"storageAccountName", "storageAccountKey", "storageConnectionString",
                          "storageContainerName"}) {
        if (r.isSet(QString::fromLatin1(f)))
            storage << QString::fromLatin1(f);
    }
    if (!r.ok())
        return tl::unexpected(r.result().error());

    Result<ConnectionString> cs = parseConnectionString(connection);
    if (!cs) {
        r.fail(QStringLiteral("connectionString"), cs.error().message);
        return tl::unexpected(r.result().error());
    }
    if (!cs->entityPath.isEmpty() && !hub.isEmpty() && cs->entityPath != hub) {
        r.fail(QStringLiteral("eventHub"),
               QStringLiteral("azure.eventhubs: metadata 'eventHub' is '%1' but the connection "
                              "string's EntityPath is '%2'; remove one or make them agree")
                   .arg(hub, cs->entityPath));
        return tl::unexpected(r.result().error());
    }
    const QString topic = cs->entityPath.isEmpty() ? hub : cs->entityPath;
    if (topic.isEmpty()) {
        r.fail(QStringLiteral("eventHub"),
               QStringLiteral("azure.eventhubs: metadata 'eventHub' is required when the "
                              "connection string has no EntityPath"),
               ErrorCode::MissingMetadata);
        return tl::unexpected(r.result().error());
    }
    // Said once per component, by its input instance: only input would use a checkpoint store
    // (an output-only component gets the schema's "applies to input bindings only" instead).
    if (!storage.isEmpty() && directions.input)
        s.kafka.warnings << QStringLiteral(
                                "metadata %1: Bindery keeps Event Hubs checkpoints in the consumer "
                                "group (Kafka offsets committed to Event Hubs), not in Blob "
                                "Storage; these fields are ignored, and checkpoints are not "
                                "shared with daprd's")
                                .arg(storage.join(QStringLiteral(", ")));

    kafka::KafkaSettings &k = s.kafka;
    k.componentName = spec.name;
    k.errorPrefix = QStringLiteral("azure.eventhubs");
    k.authHint = QStringLiteral(
                     " (Event Hubs' Kafka endpoint signs in with SASL PLAIN as '$ConnectionString' "
                     "and the connection string as password: check SharedAccessKeyName '%1' and "
                     "its SharedAccessKey)")
                     .arg(cs->keyName);
    k.initTimeoutMs = spec.initTimeoutMs > 0 ? spec.initTimeoutMs : 5000;
    k.brokers = {cs->host + u':' + QString::number(cs->port)};
    if (directions.input)
        k.topics = {topic};
    k.publishTopic = topic;
    k.consumerGroup = group;
    k.clientId = QStringLiteral("bindery");
    k.authType = QStringLiteral("password");
    k.saslMechanism = QStringLiteral("PLAIN");
    k.saslUsername = QStringLiteral("$ConnectionString");
    k.saslPassword = connection;
    k.caCert = ca;
    // Client settings Microsoft recommends for Event Hubs' Kafka endpoint: it closes idle
    // connections after 240 s and takes requests of up to 1 MB.
    k.maxMessageBytes = 1046528;
    k.keepAlive = true;
    k.metadataRefreshMs = 180000;
    k.sessionTimeoutMs = 30000;
    k.heartbeatIntervalMs = 3000;
    k.dialTimeoutMs = 30000;
    k.deliveryTimeoutMs = 30000;
    k.acks = QStringLiteral("all");
    k.compression = QStringLiteral("none");
    k.producerRetryMax = 5;
    k.assignmentStrategy = QStringLiteral("range");
    // At least once: an event is committed only after the app's 2xx; an error answer is retried
    // with backoff (100 ms doubling to 5 s) instead of checkpointed past, as daprd does.
    k.consumeRetryEnabled = true;
    k.consumeRetryIntervalMs = 100;
    k.warnings << r.warnings();
    return s;
}

} // namespace bindery::bindings::azure_eventhubs
