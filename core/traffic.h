// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <atomic>
#include <deque>
#include <functional>
#include <mutex>
#include <vector>

#include <QByteArray>
#include <QList>
#include <QMetaType>
#include <QPair>
#include <QString>

namespace bindery::core {

using Headers = QList<QPair<QString, QString>>;

/**
 * @brief One exchange seen by the runtime: an output request and its answer, one delivery
 * attempt of an input event and the app's answer, a subscription probe, or a change of a
 * binding's connection to its server (kind Connection: `operation` is the state, e.g.
 * "reconnecting", `error` the reason, `ok` true once connected).
 *
 * A plain value type. Times are microseconds since the Unix epoch.
 */
struct TrafficRecord
{
    enum class Kind { Output, Input, Probe, Connection };

    quint64 id = 0;
    Kind kind = Kind::Output;
    qint64 startedUs = 0;
    qint64 latencyUs = 0;
    QString binding;
    QString bindingType;
    QString operation; ///< output: the operation; input: "deliver"; probe: "OPTIONS"
    QString route;     ///< input/probe: the app path
    Headers metadata;  ///< request metadata (output) or event metadata/headers (input)
    QByteArray payload;
    int status = 0; ///< output: HTTP status answered to the caller; input/probe: the app's status
    bool ok = false;
    QString error;
    QString errorCode;       ///< output: Dapr's ERR_* code
    Headers responseHeaders; ///< output: the `metadata.*` headers; input: the app's headers
    QByteArray responseBody;
    // Input only:
    QString eventKey; ///< identity of the message across retries (e.g. "orders/2@41")
    /// The app may have seen it before (BindingEvent::redelivered); in JSON only when true.
    bool redelivered = false;
    Headers properties; ///< message properties not sent to the app (BindingEvent::properties)
    int attempt = 1;
    QString outcome; ///< "acked", "retry", "requeue", "dropped", "skipped" (never delivered)
    /// A start record: the delivery is under way (no answer yet). The record with the same id
    /// that follows completes it. Pushed only while TrafficStream::startRecords() is on.
    bool pending = false;
    quint64 replayOf = 0; ///< a replay (re-sent by a person) of the record with this id

    QString kindName() const;
    static Kind kindFromName(const QString &name);
};

/** @brief One JSON Lines record (lossless: binary payloads are base64 with an encoding field). */
QByteArray trafficRecordToJson(const TrafficRecord &record);
/** @brief Inverse of trafficRecordToJson(); false on malformed input. */
bool trafficRecordFromJson(const QByteArray &line, TrafficRecord *record, QString *error = nullptr);

/**
 * @brief The runtime's bounded, lossy tap of every exchange.
 *
 * push() may be called from any thread and never blocks on the consumer: it takes a short
 * mutex, appends, and when the queue was empty calls the notifier once (the console posts one
 * queued drain; binderyd wakes its log writer). When the queue holds `capacity` records the
 * oldest is dropped and counted. Delivery to the app is never lossy; only this tap is.
 */
class TrafficStream final
{
public:
    explicit TrafficStream(size_t capacity = 200000);

    quint64 nextId() { return m_nextId.fetch_add(1, std::memory_order_relaxed); }
    void push(TrafficRecord record);
    /// Takes up to `max` queued records, oldest first. Any thread (normally the consumer's).
    std::vector<TrafficRecord> drain(size_t max = SIZE_MAX);
    /// Called (on the pushing thread) when the queue goes from empty to non-empty.
    void setNotifier(std::function<void()> notifier);
    quint64 dropped() const { return m_dropped.load(std::memory_order_relaxed); }
    quint64 pushed() const { return m_pushed.load(std::memory_order_relaxed); }
    size_t capacity() const { return m_capacity; }
    /// False for a disabled tap (capacity 0, binderyd without --traffic-log): producers may
    /// then skip building records at all.
    bool enabled() const { return m_capacity > 0; }
    /// Whether producers also push a `pending` start record before each delivery to the app, so
    /// a consumer can show deliveries in flight (the console does; binderyd's log does not).
    /// Off by default: an exchange is then exactly one record. Any thread.
    void setStartRecords(bool on) { m_startRecords.store(on, std::memory_order_relaxed); }
    bool startRecords() const
    {
        return m_capacity > 0 && m_startRecords.load(std::memory_order_relaxed);
    }

private:
    const size_t m_capacity;
    std::mutex m_mutex;
    std::deque<TrafficRecord> m_queue;
    std::function<void()> m_notifier;
    std::atomic<quint64> m_nextId{1};
    std::atomic<quint64> m_dropped{0};
    std::atomic<quint64> m_pushed{0};
    std::atomic<bool> m_startRecords{false};
};

/** @brief Microseconds since the Unix epoch, from the system clock. */
qint64 nowUs();

} // namespace bindery::core

Q_DECLARE_METATYPE(bindery::core::TrafficRecord)
