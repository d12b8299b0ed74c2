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

namespace bindery::ui {

/**
 * @brief A parsed traffic filter: free text plus typed terms
 * (`binding:`, `direction:`, `status:`, `op:`, `latency>` / `latency<` in ms). Terms AND together.
 */
struct TrafficFilter
{
    QString text;                    ///< free text (case-insensitive, matched against every field)
    QStringList bindings;            ///< binding: (substring, case-insensitive); any of
    QStringList directions;          ///< direction: output|input|probe|in|out; any of
    QStringList operations;          ///< op: exact, case-insensitive; any of
    QList<QPair<int, int>> statuses; ///< status: ranges, e.g. 500, 5xx, error, ok
    int okFilter = -1;               ///< status:ok (1) / status:error (0) / any (-1)
    qint64 latencyAboveUs = -1;
    qint64 latencyBelowUs = -1;
    QString error; ///< non-empty when the expression is malformed

    bool isEmpty() const;
    static TrafficFilter parse(const QString &expression);
};

/**
 * @brief The live traffic table: a bounded, append-only list of exchanges.
 *
 * UI thread. Follows performance-facts §4: appendBatch() does one beginInsertRows per batch;
 * at the bound the oldest rows go in the same step (only the net change is structural, plus one
 * dataChanged for the shifted rows: see appendBatch()), rows are compact structs with the
 * rarely shown fields packed into one byte array, every string is formatted lazily in data(),
 * and filtering runs over an own index of visible rows (no sorted proxy).
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
    enum Role { RecordIdRole = Qt::UserRole + 1, OkRole, SequenceRole };
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
    void clear();
    void setMaxRows(size_t maxRows);
    size_t maxRows() const { return m_maxRows; }
    /// All rows held, whatever the filter.
    size_t totalRows() const { return m_rows.size(); }
    quint64 totalSeen() const { return m_seen; }

    void setFilter(const TrafficFilter &filter);
    const TrafficFilter &filter() const { return m_filter; }

    /// The full record behind a visible row (unpacked on demand).
    core::TrafficRecord record(int row) const;
    /// Every held record with the same eventKey as `row` (its delivery attempts), oldest first.
    QList<core::TrafficRecord> attempts(int row) const;
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
        quint32 size = 0;        ///< payload bytes (output/input) or answer bytes
        quint32 keyHash = 0;     ///< hash of eventKey, 0 = none
        quint16 binding = 0;     ///< index into m_strings
        quint16 operation = 0;   ///< index into m_strings
        quint16 bindingType = 0; ///< index into m_strings
        quint16 route = 0;       ///< index into m_strings
        qint16 status = 0;
        quint8 kind = 0;
        quint8 ok = 0;
        quint32 packedSize = 0;
        std::unique_ptr<char[]>
            packed; ///< every other field (varint-framed), see makeRow()/unpack()

        QByteArrayView bytes() const { return QByteArrayView(packed.get(), qsizetype(packedSize)); }
    };

    quint16 intern(const QString &s);
    Row makeRow(core::TrafficRecord &&r);
    core::TrafficRecord unpack(const Row &row) const;
    bool matches(const Row &row) const;
    bool stringMatches(quint16 index) const;
    const Row &rowAt(int visibleRow) const;
    quint64 seqAt(int visibleRow) const;
    QString summary(const Row &row) const;

    std::deque<Row> m_rows;        ///< all held rows, oldest first
    quint64 m_firstSeq = 0;        ///< sequence number of m_rows.front()
    std::deque<quint64> m_visible; ///< sequence numbers of rows passing the filter (when filtering)
    bool m_filtering = false;
    int m_visibleLimit = -1; ///< during appendBatch(): the row count the view knows (-1 = none)
    TrafficFilter m_filter;
    size_t m_maxRows = 1000000;
    quint64 m_seen = 0;
    QStringList m_strings;
    QHash<QString, quint16> m_stringIndex;
    /// Formatted Time/Summary strings of recently painted rows, by sequence number (the
    /// view asks for the same visible cells at every repaint). Bounded; cleared when full.
    mutable QHash<quint64, QPair<QString, QString>> m_displayCache;
    mutable std::vector<qint8>
        m_textMatch; ///< per interned string: -1 unknown, 0/1 free text match
};

} // namespace bindery::ui
