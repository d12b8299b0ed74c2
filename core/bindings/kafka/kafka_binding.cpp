// SPDX-License-Identifier: Apache-2.0
#include "core/bindings/kafka/kafka_binding.h"

#include "core/binding_registry.h"

namespace bindery::bindings::kafka {

namespace {

void failNow(const core::InvokeDone &done, const QString &message)
{
    core::InvokeResult r;
    r.result = fail(ErrorCode::InvokeFailed, message);
    done(std::move(r));
}

} // namespace

// ------------------------------------------------------------------------------------ output ---

Result<> KafkaOutput::init(const core::ComponentSpec &spec)
{
    Result<KafkaSettings> parsed = parseKafkaSettings(spec, {false, true});
    if (!parsed)
        return tl::unexpected(parsed.error());
    m_settings = std::move(*parsed);
    if (m_settings.publishTopic.isEmpty())
        m_settings.warnings << QStringLiteral(
            "metadata 'publishTopic' is not set: 'create' will fail");
    return m_producer.open(m_settings);
}

QStringList KafkaOutput::operations() const
{
    return {QStringLiteral("create")};
}

void KafkaOutput::invoke(core::InvokeRequest request, core::InvokeDone done)
{
    if (!m_producer.isOpen())
        return failNow(done, QStringLiteral("kafka: the binding is closed"));
    if (request.operation != QStringLiteral("create"))
        return failNow(done,
                       QStringLiteral("kafka: unsupported operation '%1'").arg(request.operation));
    if (m_settings.publishTopic.isEmpty())
        return failNow(
            done, QStringLiteral("kafka: metadata 'publishTopic' is not set on this component"));

    ProduceRecord rec;
    // The API re-encodes `data` as JSON, so a missing or null `data` arrives as exactly `null`:
    // daprd publishes that as a tombstone (issue 9.2).
    rec.tombstone = request.data == "null";
    if (!rec.tombstone)
        rec.value = std::move(request.data);
    if (auto it = request.metadata.constFind(QStringLiteral("partitionKey"));
        it != request.metadata.cend()) {
        rec.key = it->toUtf8();
        rec.hasKey = true;
    } else if (auto k = request.metadata.constFind(QStringLiteral("__key"));
               k != request.metadata.cend()) {
        rec.key = k->toUtf8();
        rec.hasKey = true;
    }
    if (auto it = request.metadata.constFind(QStringLiteral("partitionNumber"));
        it != request.metadata.cend()) {
        bool ok = false;
        const int p = it->trimmed().toInt(&ok);
        if (!ok || p < 0)
            return failNow(
                done,
                QStringLiteral(
                    "kafka: request metadata 'partitionNumber' must be an integer >= 0, not '%1'")
                    .arg(*it));
        rec.partition = p;
    }
    // Every record carries a traceparent, the caller's or a new one (issue 9.10); like every
    // other header it is subject to excludeHeaderMetaRegex.
    const QString traceKey = QStringLiteral("traceparent");
    if (!isTraceparent(request.metadata.value(traceKey)))
        request.metadata.insert(traceKey, QString::fromLatin1(newTraceparent()));
    const bool exclude = !m_settings.excludeHeaderMeta.pattern().isEmpty();
    rec.headers.reserve(request.metadata.size());
    for (auto it = request.metadata.cbegin(); it != request.metadata.cend(); ++it) {
        if (exclude && m_settings.excludeHeaderMeta.match(it.key()).hasMatch())
            continue;
        rec.headers.append({it.key().toUtf8(), it.value().toUtf8()});
    }
    m_producer.produce(std::move(rec), std::move(done));
}

void KafkaOutput::close()
{
    m_producer.close();
}

// ------------------------------------------------------------------------------------- input ---

Result<> KafkaInput::init(const core::ComponentSpec &spec)
{
    Result<KafkaSettings> parsed = parseKafkaSettings(spec, {true, false});
    if (!parsed)
        return tl::unexpected(parsed.error());
    m_settings = std::move(*parsed);
    if (m_settings.topics.isEmpty()) {
        m_settings.warnings << QStringLiteral(
            "metadata 'topics' is empty: the input binding reads nothing");
        return {};
    }
    if (m_settings.consumerGroup.isEmpty())
        return fail(
            ErrorCode::MissingMetadata,
            QStringLiteral(
                "kafka: metadata 'consumerGroup' (or 'consumerID') is required to read topics"),
            spec.name);
    const bool escape = m_settings.escapeHeaders;
    auto text = [escape](const char *data, size_t size) {
        const QByteArray raw(data ? data : "", data ? static_cast<qsizetype>(size) : 0);
        return escape ? queryEscape(raw) : QString::fromUtf8(raw);
    };
    return m_consumer.open(m_settings, [text](const ConsumedRecord &r, core::BindingEvent &ev) {
        // A tombstone reaches the app as the body `null`, as daprd delivers it (issue 9.2).
        ev.data = r.value ? QByteArray(r.value, static_cast<qsizetype>(r.valueLen))
                          : QByteArrayLiteral("null");
        ev.contentType = QStringLiteral("application/json");
        ev.metadata.reserve(6 + r.headers.size());
        if (r.key)
            ev.metadata.append({QStringLiteral("__key"), text(r.key, r.keyLen)});
        ev.metadata.append({QStringLiteral("__offset"), QString::number(r.offset)});
        ev.metadata.append({QStringLiteral("__topic"), r.topic});
        ev.metadata.append({QStringLiteral("__timestamp"), QString::number(r.timestampMs)});
        ev.metadata.append({QStringLiteral("__partition"), QString::number(r.partition)});
        // A record header named like one of these replaces it (daprd builds a map).
        for (const auto &[name, value] : r.headers) {
            const QString k = QString::fromUtf8(name);
            const QString v = text(value.constData(), static_cast<size_t>(value.size()));
            bool replaced = false;
            for (auto &kv : ev.metadata) {
                if (kv.first == k) {
                    kv.second = v;
                    replaced = true;
                    break;
                }
            }
            if (!replaced)
                ev.metadata.append({k, v});
        }
    });
}

Result<> KafkaInput::read(const core::EventHandler &handler, std::stop_token stop)
{
    return m_consumer.read(handler, stop);
}

void KafkaInput::close()
{
    m_consumer.close();
}

} // namespace bindery::bindings::kafka

BINDERY_BINDING(kafka, bindery::bindings::kafka::KafkaInput, bindery::bindings::kafka::KafkaOutput)
