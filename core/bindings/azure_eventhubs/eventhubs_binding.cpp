// SPDX-License-Identifier: Apache-2.0
#include "core/bindings/azure_eventhubs/eventhubs_binding.h"

#include <QDateTime>

#include "core/binding_registry.h"

namespace bindery::bindings::azure_eventhubs {

namespace {

const QByteArray CONTENT_TYPE_HEADER = QByteArrayLiteral("content-type");
const QByteArray TRACEPARENT = QByteArrayLiteral("traceparent");

/// Go's time.RFC3339 in UTC, as daprd formats x-opt-enqueued-time.
QString rfc3339(qint64 ms)
{
    return QDateTime::fromMSecsSinceEpoch(ms, Qt::UTC)
        .toString(QStringLiteral("yyyy-MM-ddTHH:mm:ssZ"));
}

} // namespace

Result<> EventHubsOutput::init(const core::ComponentSpec &spec)
{
    Result<EventHubsSettings> parsed = parseEventHubsSettings(spec, {false, true});
    if (!parsed)
        return tl::unexpected(parsed.error());
    m_settings = std::move(*parsed);
    return m_producer.open(m_settings.kafka);
}

QStringList EventHubsOutput::operations() const
{
    return {QStringLiteral("create")};
}

void EventHubsOutput::invoke(core::InvokeRequest request, core::InvokeDone done)
{
    if (request.operation != QStringLiteral("create")) {
        core::InvokeResult r;
        r.result = fail(
            ErrorCode::InvokeFailed,
            QStringLiteral("azure.eventhubs: unsupported operation '%1'").arg(request.operation));
        done(std::move(r));
        return;
    }
    kafka::ProduceRecord rec;
    rec.value = std::move(request.data);
    if (auto it = request.metadata.constFind(QStringLiteral("partitionKey"));
        it != request.metadata.cend()) {
        rec.key = it->toUtf8();
        rec.hasKey = true;
    }
    if (auto it = request.metadata.constFind(QStringLiteral("contentType"));
        it != request.metadata.cend())
        rec.headers.append({CONTENT_TYPE_HEADER, it->toUtf8()});
    const QString trace = request.metadata.value(QString::fromLatin1(TRACEPARENT));
    rec.headers.append({TRACEPARENT, kafka::isTraceparent(trace) ? trace.trimmed().toLatin1()
                                                                 : kafka::newTraceparent()});
    m_producer.produce(std::move(rec), std::move(done));
}

void EventHubsOutput::close()
{
    m_producer.close();
}

Result<> EventHubsInput::init(const core::ComponentSpec &spec)
{
    Result<EventHubsSettings> parsed = parseEventHubsSettings(spec, {true, false});
    if (!parsed)
        return tl::unexpected(parsed.error());
    m_settings = std::move(*parsed);
    const bool all = m_settings.allProperties;
    return m_consumer.open(m_settings.kafka, [all](const kafka::ConsumedRecord &r,
                                                   core::BindingEvent &ev) {
        ev.data = r.value ? QByteArray(r.value, static_cast<qsizetype>(r.valueLen)) : QByteArray();
        ev.contentType = QStringLiteral("application/json");
        // Over the Kafka endpoint the record offset is the event's sequence number; AMQP's
        // x-opt-offset (a byte position) is not exposed, so it carries the same number.
        const QString offset = QString::number(r.offset);
        ev.metadata.append({QStringLiteral("x-opt-sequence-number"), offset});
        ev.metadata.append({QStringLiteral("x-opt-offset"), offset});
        if (r.timestampMs >= 0)
            ev.metadata.append({QStringLiteral("x-opt-enqueued-time"), rfc3339(r.timestampMs)});
        if (r.key)
            ev.metadata.append({QStringLiteral("x-opt-partition-key"),
                                QString::fromUtf8(r.key, static_cast<qsizetype>(r.keyLen))});
        for (const auto &[name, value] : r.headers) {
            if (name == CONTENT_TYPE_HEADER) {
                ev.contentType = QString::fromUtf8(value);
                continue;
            }
            // The trace context always travels (issue 9.10); other application properties
            // only when asked for, as daprd's getAllMessageProperties.
            if (all || name == TRACEPARENT)
                ev.metadata.append({QString::fromUtf8(name), QString::fromUtf8(value)});
        }
    });
}

Result<> EventHubsInput::read(const core::EventHandler &handler, std::stop_token stop)
{
    return m_consumer.read(handler, stop);
}

void EventHubsInput::close()
{
    m_consumer.close();
}

} // namespace bindery::bindings::azure_eventhubs

BINDERY_BINDING(azure_eventhubs, bindery::bindings::azure_eventhubs::EventHubsInput,
                bindery::bindings::azure_eventhubs::EventHubsOutput)
