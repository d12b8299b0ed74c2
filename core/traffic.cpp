// SPDX-License-Identifier: Apache-2.0
#include "core/traffic.h"

#include <chrono>

#include <nlohmann/json.hpp>

#include <QStringDecoder>

#include "core/redact.h"

namespace bindery::core {

namespace {

bool isUtf8(const QByteArray &bytes)
{
    QStringDecoder decoder(QStringDecoder::Utf8, QStringDecoder::Flag::Stateless);
    const QString s = decoder(bytes);
    return !decoder.hasError();
}

nlohmann::json headersToJson(const Headers &headers)
{
    nlohmann::json arr = nlohmann::json::array();
    for (const auto &[k, v] : headers)
        arr.push_back(nlohmann::json::array({k.toStdString(), v.toStdString()}));
    return arr;
}

Headers headersFromJson(const nlohmann::json &arr)
{
    Headers out;
    if (!arr.is_array())
        return out;
    for (const auto &pair : arr) {
        if (pair.is_array() && pair.size() == 2)
            out.append({QString::fromStdString(pair[0].get<std::string>()),
                        QString::fromStdString(pair[1].get<std::string>())});
    }
    return out;
}

void putBytes(nlohmann::json &obj, const char *key, const char *encodingKey,
              const QByteArray &bytes)
{
    if (isUtf8(bytes)) {
        obj[key] = bytes.toStdString();
    } else {
        obj[key] = bytes.toBase64().toStdString();
        obj[encodingKey] = "base64";
    }
}

QByteArray getBytes(const nlohmann::json &obj, const char *key, const char *encodingKey)
{
    if (!obj.contains(key) || !obj[key].is_string())
        return {};
    const QByteArray raw = QByteArray::fromStdString(obj[key].get<std::string>());
    if (obj.value(encodingKey, std::string()) == "base64")
        return QByteArray::fromBase64(raw);
    return raw;
}

} // namespace

QString TrafficRecord::kindName() const
{
    switch (kind) {
    case Kind::Output: return QStringLiteral("output");
    case Kind::Input: return QStringLiteral("input");
    case Kind::Probe: return QStringLiteral("probe");
    case Kind::Connection: return QStringLiteral("connection");
    }
    return QStringLiteral("output");
}

TrafficRecord::Kind TrafficRecord::kindFromName(const QString &name)
{
    if (name == QStringLiteral("input"))
        return Kind::Input;
    if (name == QStringLiteral("probe"))
        return Kind::Probe;
    if (name == QStringLiteral("connection"))
        return Kind::Connection;
    return Kind::Output;
}

QByteArray trafficRecordToJson(const TrafficRecord &r)
{
    nlohmann::json j;
    j["id"] = r.id;
    j["kind"] = r.kindName().toStdString();
    j["startedUs"] = r.startedUs;
    j["latencyUs"] = r.latencyUs;
    j["binding"] = r.binding.toStdString();
    j["bindingType"] = r.bindingType.toStdString();
    j["operation"] = r.operation.toStdString();
    if (!r.route.isEmpty())
        j["route"] = r.route.toStdString();
    j["metadata"] = headersToJson(r.metadata);
    putBytes(j, "payload", "payloadEncoding", r.payload);
    j["status"] = r.status;
    j["ok"] = r.ok;
    if (!r.error.isEmpty())
        j["error"] = r.error.toStdString();
    if (!r.errorCode.isEmpty())
        j["errorCode"] = r.errorCode.toStdString();
    j["responseHeaders"] = headersToJson(r.responseHeaders);
    putBytes(j, "responseBody", "responseBodyEncoding", r.responseBody);
    if (r.kind == TrafficRecord::Kind::Input) {
        j["eventKey"] = r.eventKey.toStdString();
        j["attempt"] = r.attempt;
        j["outcome"] = r.outcome.toStdString();
        // Written only when set, so that older readers and older logs stay as they were.
        if (r.redelivered)
            j["redelivered"] = true;
        if (!r.properties.isEmpty())
            j["properties"] = headersToJson(r.properties);
    }
    if (r.pending)
        j["pending"] = true;
    if (r.replayOf)
        j["replayOf"] = r.replayOf;
    return QByteArray::fromStdString(
        j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

bool trafficRecordFromJson(const QByteArray &line, TrafficRecord *r, QString *error)
{
    try {
        const nlohmann::json j = nlohmann::json::parse(line.toStdString());
        if (!j.is_object()) {
            if (error)
                *error = QStringLiteral("not a JSON object");
            return false;
        }
        auto s = [&](const char *k) { return QString::fromStdString(j.value(k, std::string())); };
        r->id = j.value("id", quint64(0));
        r->kind = TrafficRecord::kindFromName(s("kind"));
        r->startedUs = j.value("startedUs", qint64(0));
        r->latencyUs = j.value("latencyUs", qint64(0));
        r->binding = s("binding");
        r->bindingType = s("bindingType");
        r->operation = s("operation");
        r->route = s("route");
        r->metadata = headersFromJson(j.value("metadata", nlohmann::json::array()));
        r->payload = getBytes(j, "payload", "payloadEncoding");
        r->status = j.value("status", 0);
        r->ok = j.value("ok", false);
        r->error = s("error");
        r->errorCode = s("errorCode");
        r->responseHeaders = headersFromJson(j.value("responseHeaders", nlohmann::json::array()));
        r->responseBody = getBytes(j, "responseBody", "responseBodyEncoding");
        r->eventKey = s("eventKey");
        r->attempt = j.value("attempt", 1);
        r->outcome = s("outcome");
        r->redelivered = j.value("redelivered", false);
        r->properties = headersFromJson(j.value("properties", nlohmann::json::array()));
        r->pending = j.value("pending", false);
        r->replayOf = j.value("replayOf", quint64(0));
        return true;
    } catch (const nlohmann::json::exception &e) {
        if (error)
            *error = QString::fromUtf8(e.what());
        return false;
    }
}

TrafficStream::TrafficStream(size_t capacity)
    : m_capacity(capacity)
{
}

void TrafficStream::push(TrafficRecord record)
{
    if (m_capacity == 0) { // a disabled tap keeps nothing (pop_front on empty is UB)
        m_dropped.fetch_add(1, std::memory_order_relaxed);
        m_pushed.fetch_add(1, std::memory_order_relaxed);
        return;
    }
    // Every consumer (the traffic log, the console's views and exports) gets records with the
    // secrets masked: mask once, here, outside the lock.
    const Redactor &redactor = Redactor::global();
    record.error = redactor.redact(record.error);
    record.route = redactor.redact(record.route);
    record.payload = redactor.redact(record.payload);
    record.responseBody = redactor.redact(record.responseBody);
    for (Headers *headers : {&record.metadata, &record.responseHeaders, &record.properties}) {
        for (auto &header : *headers)
            header.second = redactor.redact(header.second);
    }
    std::function<void()> notify;
    {
        std::lock_guard lock(m_mutex);
        if (m_queue.size() >= m_capacity) {
            m_queue.pop_front();
            m_dropped.fetch_add(1, std::memory_order_relaxed);
        }
        const bool wasEmpty = m_queue.empty();
        m_queue.push_back(std::move(record));
        if (wasEmpty)
            notify = m_notifier;
    }
    m_pushed.fetch_add(1, std::memory_order_relaxed);
    if (notify)
        notify();
}

std::vector<TrafficRecord> TrafficStream::drain(size_t max)
{
    std::vector<TrafficRecord> out;
    std::lock_guard lock(m_mutex);
    const size_t n = std::min(max, m_queue.size());
    out.reserve(n);
    for (size_t i = 0; i < n; ++i) {
        out.push_back(std::move(m_queue.front()));
        m_queue.pop_front();
    }
    return out;
}

void TrafficStream::setNotifier(std::function<void()> notifier)
{
    std::lock_guard lock(m_mutex);
    m_notifier = std::move(notifier);
}

qint64 nowUs()
{
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

} // namespace bindery::core
