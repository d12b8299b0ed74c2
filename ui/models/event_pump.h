// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <memory>
#include <mutex>

#include <QElapsedTimer>
#include <QObject>

namespace bindery::core {
class TrafficStream;
}

namespace bindery::ui {

class EventTableModel;

/**
 * @brief Moves records from the runtime's TrafficStream into the live table, in batches.
 *
 * UI thread. The stream's notifier posts ONE queued wake() when it goes empty -> non-empty;
 * wake() drains at most every `intervalMs` (default 40 ms, 25 Hz) so the table gets one insert
 * per tick whatever the event rate. While paused nothing is drained: the bounded stream drops
 * the oldest and counts them. At most every 10 s it gives the heap's free pages back to the
 * system (a drained backlog or an eviction burst leaves them resident otherwise).
 */
class EventPump final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(EventPump)

public:
    EventPump(core::TrafficStream &stream, EventTableModel &model, QObject *parent = nullptr);
    ~EventPump() override;

    void setIntervalMs(int ms) { m_intervalMs = ms; }
    quint64 dropped() const;
    quint64 batches() const { return m_batches; }
    /// Stops or resumes the capture: while stopped the stream is still drained (so it never
    /// overflows) but nothing reaches the table; the records passed over are counted.
    void setCapturing(bool on) { m_capturing = on; }
    bool capturing() const { return m_capturing; }
    quint64 notCaptured() const { return m_notCaptured; }

public Q_SLOTS:
    void wake();
    void drainNow();

Q_SIGNALS:
    /// After each batch: records appended and errors among them (for the rate chart).
    void drained(int records, int errors);

private:
    core::TrafficStream &m_stream;
    EventTableModel &m_model;
    struct Guard
    {
        std::mutex mutex;
        EventPump *pump = nullptr;
    };
    std::shared_ptr<Guard> m_guard;
    QElapsedTimer m_sinceDrain;
    bool m_scheduled = false;
    int m_intervalMs = 40;
    quint64 m_batches = 0;
    bool m_capturing = true;
    quint64 m_notCaptured = 0;
    QElapsedTimer m_sinceTrim;
};

} // namespace bindery::ui
