// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <deque>
#include <functional>
#include <memory>
#include <vector>

#include <QAbstractTableModel>
#include <QByteArray>
#include <QHash>
#include <QList>
#include <QString>
#include <QStringList>

#include "core/traffic.h"
#include "ui/models/latency_stats.h"
#include "ui/models/packed_arena.h"
#include "ui/models/traffic_filter.h"

namespace bindery::ui {

/// The trace id of a record: from a `traceparent` in its metadata, else in its answer's headers.
QString traceIdOfRecord(const core::TrafficRecord &record);

/**
 * @brief The live traffic table: a bounded, append-only list of exchanges.
 *
 * UI thread. Follows performance-facts §4: appendBatch() does one beginInsertRows per batch;
 * at the bound the oldest rows go in the same step (only the net change is structural, plus one
 * dataChanged for the shifted rows: see appendBatch()), rows are compact structs with the
 * rarely shown fields packed into one byte array, every string is formatted lazily in data(),
 * and filtering runs over an own index of visible rows (no sorted proxy).
 *
 * A `pending` record (a delivery the app has not answered yet) shows as a row whose latency runs;
 * the record with the same id that follows completes that row in place. Rows carrying a W3C
 * `traceparent` are indexed by trace id (correlated()). LatencyStats for the rows that pass the
 * filter are kept as rows come and go.
 */
class EventTableModel final : public QAbstractTableModel
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(EventTableModel)

public:
    enum Column {
        Time,
        Direction,
        Binding,
        Operation,
        Summary,
        Status,
        Latency,
        Size,
        ColumnCount
    };
    enum Role { RecordIdRole = Qt::UserRole + 1, OkRole, SequenceRole, PendingRole, TraceRole };
    /// Most records moved into the table per drain; the rest wait in the (bounded) stream.
    static constexpr size_t kMaxBatch = 10000;

    explicit EventTableModel(QObject *parent = nullptr);
    ~EventTableModel() override;

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;

    /// Appends one batch, dropping the oldest rows beyond the bound: at most one structural
    /// change (insert at the end, or remove at the top) and one dataChanged per batch.
    void appendBatch(std::vector<core::TrafficRecord> records);
    /// Replaces everything with `records` sorted by start time (an imported capture).
    void setRecords(std::vector<core::TrafficRecord> records);
    void clear();
    void setMaxRows(size_t maxRows);
    size_t maxRows() const { return m_maxRows; }
    /// All rows held, whatever the filter.
    size_t totalRows() const { return m_rows.size(); }
    quint64 totalSeen() const { return m_seen; }
    /// Failed exchanges among the rows held (pending rows are not failed).
    quint64 errorsHeld() const { return m_errorsHeld; }
    /// Rows still waiting for the app's answer.
    int pendingCount() const { return int(m_pendingById.size()); }
    bool isPending(quint64 id) const { return m_pendingById.contains(id); }
    /// Statistics of the rows that pass the filter (completed rows only).
    const LatencyStats &stats() const { return m_stats; }
    const QStringList &strings() const { return m_strings; }

    void setFilter(const TrafficFilter &filter);
    const TrafficFilter &filter() const { return m_filter; }

Q_SIGNALS:
    /// After each appendBatch(): completed rows added that pass the filter, and errors among
    /// them (the rate chart follows the filter through this).
    void batchCounted(int rows, int errors);

public:
    /// The full record behind a visible row (unpacked on demand).
    core::TrafficRecord record(int row) const;
    /// Every held record with the same eventKey as `row` (its delivery attempts), oldest first.
    QList<core::TrafficRecord> attempts(int row) const;
    /// Every held record with the same trace id as `row` (itself included), oldest first.
    QList<core::TrafficRecord> correlated(int row) const;
    /// The trace id (32 hex digits) of a visible row, or "".
    QString traceId(int row) const;
    /// The visible row showing the record `id` (the newest such), or -1.
    int rowOfId(quint64 id) const;
    /// Repaints the running latency of visible pending rows (the view calls it on a timer).
    void refreshPending();
    /// Visible rows, in order, as full records (for export).
    void forEachVisible(const std::function<void(const core::TrafficRecord &)> &fn) const;

    /// Bytes held by rows (estimate; for the status bar and the bench).
    size_t approximateBytes() const;

private:
    struct Row
    {
        quint64 id = 0;
        qint64 startedUs = 0;
        qint64 latencyUs = 0;
        quint64 traceHash = 0; ///< TrafficFilter::traceHash() of the trace id, 0 = none
        /// Every other field (varint-framed, see makeRow()/unpack()), then the header values
        /// held as packed traceparents (kPackedTraceparentSize bytes each), then their count
        /// (one byte).
        const char *packed = nullptr; ///< in m_arena
        quint32 size = 0;             ///< payload bytes (output/input) or answer bytes
        quint32 keyHash = 0;          ///< hash of eventKey, 0 = none
        quint32 packedSize = 0;
        quint16 binding = 0;     ///< index into m_strings
        quint16 operation = 0;   ///< index into m_strings
        quint16 bindingType = 0; ///< index into m_strings
        quint16 route = 0;       ///< index into m_strings
        qint16 status = 0;
        quint8 kind = 0;
        quint8 ok : 1 = 0;
        quint8 pending : 1 = 0;

        /// The varint-framed fields (UTF-8, so free text can search them).
        QByteArrayView text() const
        {
            return QByteArrayView(packed, qsizetype(packedSize) - 1 - traceparentBytes());
        }
        /// The packed traceparents (see packTraceparent()).
        QByteArrayView traceparents() const
        {
            const qsizetype n = traceparentBytes();
            return QByteArrayView(packed + packedSize - 1 - n, n);
        }
        qsizetype traceparentBytes() const
        {
            return qsizetype(quint8(packed[packedSize - 1])) * kPackedTraceparentSize;
        }
    };
    // Rows are the bulk of a 1M-row table: keep them at one cache line, no padding.
    static_assert(sizeof(Row) == 64);

    quint16 intern(const QString &s);
    Row makeRow(core::TrafficRecord &&r);
    core::TrafficRecord unpack(const Row &row) const;
    bool matches(const Row &row) const;
    void count(const Row &row, int sign);
    void noteAdded(const Row &row, quint64 seq, bool visible);
    void noteDropped(const Row &row, quint64 seq, bool visible);
    void appendRows(std::vector<core::TrafficRecord> records);
    void recount();
    int visibleRowOfSeq(quint64 seq) const;
    const Row &rowAt(int visibleRow) const;
    quint64 seqAt(int visibleRow) const;
    QString summary(const Row &row) const;

    PackedArena m_arena;           ///< the rows' packed bytes
    std::deque<Row> m_rows;        ///< all held rows, oldest first
    quint64 m_firstSeq = 0;        ///< sequence number of m_rows.front()
    std::deque<quint64> m_visible; ///< sequence numbers of rows passing the filter (when filtering)
    bool m_filtering = false;
    int m_visibleLimit = -1; ///< during appendBatch(): the row count the view knows (-1 = none)
    TrafficFilter m_filter;
    LatencyStats m_stats;
    QHash<quint64, quint64> m_pendingById; ///< record id -> sequence number of a pending row
    quint64 m_errorsHeld = 0;
    int m_batchRows = 0;
    int m_batchErrors = 0;
    size_t m_maxRows = 1000000;
    quint64 m_seen = 0;
    QStringList m_strings;
    QHash<QString, quint16> m_stringIndex;
    /// Formatted Time/Summary strings of recently painted rows, by sequence number (the
    /// view asks for the same visible cells at every repaint). Bounded; cleared when full.
    mutable QHash<quint64, QPair<QString, QString>> m_displayCache;
};

} // namespace bindery::ui
