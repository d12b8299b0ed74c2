// SPDX-License-Identifier: Apache-2.0
#include "ui/models/event_table_model.h"

#include <algorithm>
#include <cstring>
#include <memory>

#include <QDateTime>
#include <QFont>
#include <QLocale>

#include "ui/theme.h"

namespace bindery::ui {

namespace {

// ---- packing: varint length + bytes, UTF-8 strings (so free text can search the bytes) ----

void putVar(QByteArray &out, quint64 v)
{
    while (v >= 0x80) {
        out.append(char((v & 0x7f) | 0x80));
        v >>= 7;
    }
    out.append(char(v));
}

void putBytes(QByteArray &out, const QByteArray &b)
{
    putVar(out, quint64(b.size()));
    out.append(b);
}

void putString(QByteArray &out, const QString &s)
{
    putBytes(out, s.toUtf8());
}

struct Reader
{
    const char *p;
    const char *end;
    const QStringList *strings = nullptr;
    QByteArrayView traceparents; ///< the packed traceparents header values refer to
    quint64 var()
    {
        quint64 v = 0;
        int shift = 0;
        while (p < end) {
            const quint8 c = quint8(*p++);
            v |= quint64(c & 0x7f) << shift;
            if (!(c & 0x80))
                break;
            shift += 7;
        }
        return v;
    }
    QByteArray bytes()
    {
        const quint64 n = std::min<quint64>(var(), quint64(end - p));
        QByteArray b(p, qsizetype(n));
        p += n;
        return b;
    }
    QString string() { return QString::fromUtf8(bytes()); }
    core::Headers headers()
    {
        core::Headers h;
        const quint64 n = var();
        for (quint64 i = 0; i < n && p < end; ++i) {
            const quint64 idx = var(); // interned key, 0 = written inline
            QString k = idx && strings && idx < quint64(strings->size())
                            ? strings->at(qsizetype(idx))
                            : string();
            // A value: its UTF-8 length << 1, or a packed traceparent's index << 1 | 1.
            const quint64 tag = var();
            QString v;
            if (tag & 1) {
                const qsizetype at = qsizetype(tag >> 1) * kPackedTraceparentSize;
                if (at + kPackedTraceparentSize <= traceparents.size()) {
                    char text[kTraceparentTextSize];
                    unpackTraceparent(traceparents.data() + at, text);
                    v = QString::fromLatin1(text, kTraceparentTextSize);
                }
            } else {
                const quint64 len = std::min<quint64>(tag >> 1, quint64(end - p));
                v = QString::fromUtf8(p, qsizetype(len));
                p += len;
            }
            h.append({k, v});
        }
        return h;
    }
};

QString previewBytes(const QByteArray &b, int max = 120)
{
    if (b.isEmpty())
        return {};
    QByteArray head = b.left(max);
    bool binary = false;
    for (char c : head) {
        const quint8 u = quint8(c);
        if (u < 0x20 && c != '\n' && c != '\r' && c != '\t') {
            binary = true;
            break;
        }
    }
    if (binary)
        return QStringLiteral("<%1 bytes binary>").arg(b.size());
    QString s = QString::fromUtf8(head).simplified();
    if (b.size() > max)
        s += QStringLiteral("…");
    return s;
}

QString formatLatency(qint64 us)
{
    if (us < 1000)
        return QStringLiteral("%1 µs").arg(us);
    if (us < 10000000)
        return QStringLiteral("%1 ms").arg(double(us) / 1000.0, 0, 'f', us < 100000 ? 2 : 1);
    return QStringLiteral("%1 s").arg(double(us) / 1e6, 0, 'f', 2);
}

QString formatSize(quint32 n)
{
    if (n < 1024)
        return QStringLiteral("%1 B").arg(n);
    if (n < 1024 * 1024)
        return QStringLiteral("%1 KiB").arg(double(n) / 1024.0, 0, 'f', 1);
    return QStringLiteral("%1 MiB").arg(double(n) / 1048576.0, 0, 'f', 1);
}

} // namespace

QString traceIdOfRecord(const core::TrafficRecord &r)
{
    for (const core::Headers *h : {&r.metadata, &r.responseHeaders}) {
        for (const auto &[k, v] : *h) {
            if (k.compare(QLatin1String("traceparent"), Qt::CaseInsensitive) == 0
                || k.compare(QLatin1String("metadata.traceparent"), Qt::CaseInsensitive) == 0) {
                const QString id = traceIdOf(v);
                if (!id.isEmpty())
                    return id;
            }
        }
    }
    return {};
}

// ---- EventTableModel ----

EventTableModel::EventTableModel(QObject *parent)
    : QAbstractTableModel(parent)
{
    m_strings << QString();
    m_stringIndex.insert(QString(), 0);
}

EventTableModel::~EventTableModel() = default;

int EventTableModel::rowCount(const QModelIndex &parent) const
{
    if (parent.isValid())
        return 0;
    if (m_visibleLimit >= 0)
        return m_visibleLimit;
    return int(m_filtering ? m_visible.size() : m_rows.size());
}

int EventTableModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

quint16 EventTableModel::intern(const QString &s)
{
    auto it = m_stringIndex.constFind(s);
    if (it != m_stringIndex.constEnd())
        return it.value();
    if (m_strings.size() >= 65535)
        return 0; // pathological: more than 65k distinct names; shown empty, kept in the packed
                  // bytes
    const quint16 idx = quint16(m_strings.size());
    m_strings << s;
    m_stringIndex.insert(s, idx);
    return idx;
}

EventTableModel::Row EventTableModel::makeRow(core::TrafficRecord &&r)
{
    Row row;
    row.id = r.id;
    row.startedUs = r.startedUs;
    row.latencyUs = r.latencyUs;
    row.kind = quint8(r.kind);
    row.ok = r.ok ? 1 : 0;
    row.status = qint16(std::clamp(r.status, -32768, 32767));
    row.binding = intern(r.binding);
    row.operation = intern(r.operation);
    row.bindingType = intern(r.bindingType);
    row.route = intern(r.route);
    row.size = quint32(r.kind == core::TrafficRecord::Kind::Output
                           ? r.payload.size() + r.responseBody.size()
                           : r.payload.size());
    row.keyHash = r.eventKey.isEmpty() ? 0 : (qHash(r.eventKey) | 1u);
    row.pending = r.pending ? 1 : 0;
    row.traceHash = TrafficFilter::traceHash(traceIdOfRecord(r));
    QByteArray p;
    p.reserve(48 + r.payload.size() + r.responseBody.size() + r.metadata.size() * 16);
    // Names that did not fit the string table (index 0 while non-empty) are written inline.
    putString(p, row.binding || r.binding.isEmpty() ? QString() : r.binding);
    putString(p, row.operation || r.operation.isEmpty() ? QString() : r.operation);
    putString(p, row.bindingType || r.bindingType.isEmpty() ? QString() : r.bindingType);
    putString(p, row.route || r.route.isEmpty() ? QString() : r.route);
    // A traceparent on every delivery is the common case: its 55 characters are held in 26
    // bytes after the fields (a value then refers to it by index), which keeps 1M traced rows
    // within the memory target.
    char traceparents[255 * kPackedTraceparentSize];
    int traceparentCount = 0;
    auto headers = [&](const core::Headers &h) {
        putVar(p, quint64(h.size()));
        for (const auto &[k, v] : h) {
            const quint16 idx = k.isEmpty() ? 0 : intern(k);
            putVar(p, idx);
            if (!idx)
                putString(p, k);
            if (traceparentCount < 255
                && packTraceparent(v, traceparents + traceparentCount * kPackedTraceparentSize)) {
                putVar(p, (quint64(traceparentCount) << 1) | 1);
                ++traceparentCount;
                continue;
            }
            const QByteArray utf8 = v.toUtf8();
            putVar(p, quint64(utf8.size()) << 1);
            p.append(utf8);
        }
    };
    headers(r.metadata);
    putBytes(p, r.payload);
    putString(p, r.error);
    putString(p, r.errorCode);
    headers(r.responseHeaders);
    putBytes(p, r.responseBody);
    putString(p, r.eventKey);
    putVar(p, quint64(std::max(0, r.attempt)));
    putString(p, r.outcome);
    putVar(p, quint64(qint64(r.status) + 0x10000)); // the full status, beyond qint16
    putVar(p, r.redelivered ? 1u : 0u);
    headers(r.properties);
    putVar(p, r.replayOf);
    p.append(traceparents, traceparentCount * kPackedTraceparentSize);
    p.append(char(traceparentCount));
    row.packedSize = quint32(p.size());
    char *packed = m_arena.allocate(size_t(p.size()));
    std::memcpy(packed, p.constData(), size_t(p.size()));
    row.packed = packed;
    return row;
}

core::TrafficRecord EventTableModel::unpack(const Row &row) const
{
    core::TrafficRecord r;
    r.id = row.id;
    r.kind = core::TrafficRecord::Kind(row.kind);
    r.startedUs = row.startedUs;
    r.latencyUs = row.latencyUs;
    r.ok = row.ok != 0;
    const QByteArrayView text = row.text();
    Reader rd{text.data(), text.data() + text.size(), &m_strings, row.traceparents()};
    auto name = [&](quint16 idx) {
        QString inlined = rd.string();
        return idx ? m_strings.at(idx) : inlined;
    };
    r.binding = name(row.binding);
    r.operation = name(row.operation);
    r.bindingType = name(row.bindingType);
    r.route = name(row.route);
    r.metadata = rd.headers();
    r.payload = rd.bytes();
    r.error = rd.string();
    r.errorCode = rd.string();
    r.responseHeaders = rd.headers();
    r.responseBody = rd.bytes();
    r.eventKey = rd.string();
    r.attempt = int(rd.var());
    r.outcome = rd.string();
    r.status = int(qint64(rd.var()) - 0x10000);
    r.redelivered = rd.var() != 0;
    r.properties = rd.headers();
    r.replayOf = rd.var();
    r.pending = row.pending != 0;
    return r;
}

bool EventTableModel::matches(const Row &row) const
{
    FilterSubject f;
    f.kind = row.kind;
    f.binding = &m_strings.at(row.binding);
    f.operation = &m_strings.at(row.operation);
    f.bindingType = &m_strings.at(row.bindingType);
    f.route = &m_strings.at(row.route);
    f.status = row.status;
    f.ok = row.ok != 0;
    f.pending = row.pending != 0;
    f.latencyUs = row.latencyUs;
    f.traceHash = row.traceHash;
    f.packed = row.text();
    f.traceparents = row.traceparents();
    return m_filter.matches(f);
}

void EventTableModel::count(const Row &row, int sign)
{
    if (row.pending)
        return;
    if (sign > 0)
        m_stats.add(row.binding, row.operation, row.latencyUs, row.ok != 0);
    else
        m_stats.remove(row.binding, row.operation, row.latencyUs, row.ok != 0);
}

int EventTableModel::visibleRowOfSeq(quint64 seq) const
{
    if (seq < m_firstSeq || seq >= m_firstSeq + m_rows.size())
        return -1;
    if (!m_filtering)
        return int(seq - m_firstSeq);
    const auto it = std::lower_bound(m_visible.begin(), m_visible.end(), seq);
    if (it == m_visible.end() || *it != seq)
        return -1;
    return int(it - m_visible.begin());
}

void EventTableModel::noteAdded(const Row &row, quint64 seq, bool visible)
{
    if (row.pending) {
        m_pendingById.insert(row.id, seq);
        return;
    }
    m_errorsHeld += row.ok ? 0 : 1;
    if (visible) {
        count(row, +1);
        ++m_batchRows;
        m_batchErrors += row.ok ? 0 : 1;
    }
}

void EventTableModel::noteDropped(const Row &row, quint64 seq, bool visible)
{
    if (row.pending) {
        auto it = m_pendingById.find(row.id);
        if (it != m_pendingById.end() && it.value() == seq)
            m_pendingById.erase(it);
        return;
    }
    m_errorsHeld -= (!row.ok && m_errorsHeld) ? 1 : 0;
    if (visible)
        count(row, -1);
}

void EventTableModel::appendBatch(std::vector<core::TrafficRecord> records)
{
    if (records.empty())
        return;
    m_batchRows = 0;
    m_batchErrors = 0;
    // A record that completes a pending row replaces it in place (in the same batch: takes its
    // place in the batch); everything else is appended.
    std::vector<core::TrafficRecord> rest;
    rest.reserve(records.size());
    QHash<quint64, size_t> pendingInBatch;
    for (core::TrafficRecord &r : records) {
        if (r.pending) {
            pendingInBatch.insert(r.id, rest.size());
            rest.push_back(std::move(r));
            continue;
        }
        if (!pendingInBatch.isEmpty()) {
            const auto it = pendingInBatch.constFind(r.id);
            if (it != pendingInBatch.constEnd()) {
                rest[it.value()] = std::move(r);
                pendingInBatch.erase(it);
                continue;
            }
        }
        if (!m_pendingById.isEmpty()) {
            const auto it = m_pendingById.constFind(r.id);
            if (it != m_pendingById.constEnd()) {
                const quint64 seq = it.value();
                m_pendingById.erase(it);
                Row &held = m_rows[size_t(seq - m_firstSeq)];
                m_arena.release(held.packed);
                held = makeRow(std::move(r));
                const int visibleRow = visibleRowOfSeq(seq);
                noteAdded(held, seq, visibleRow >= 0);
                m_displayCache.remove(seq);
                if (visibleRow >= 0)
                    Q_EMIT dataChanged(index(visibleRow, 0), index(visibleRow, ColumnCount - 1));
                continue;
            }
        }
        rest.push_back(std::move(r));
    }
    appendRows(std::move(rest));
    Q_EMIT batchCounted(m_batchRows, m_batchErrors);
}

void EventTableModel::appendRows(std::vector<core::TrafficRecord> records)
{
    if (records.empty())
        return;
    m_seen += records.size();
    // A batch bigger than the bound keeps only its newest rows.
    size_t skip = 0;
    if (records.size() > m_maxRows)
        skip = records.size() - m_maxRows;
    const size_t incoming = records.size() - skip;
    const size_t drop
        = m_rows.size() + incoming > m_maxRows ? m_rows.size() + incoming - m_maxRows : 0;
    const int oldCount = rowCount();

    if (drop == 0) {
        // Growing: one beginInsertRows for the whole batch.
        if (!m_filtering) {
            beginInsertRows({}, oldCount, oldCount + int(incoming) - 1);
            for (size_t i = skip; i < records.size(); ++i) {
                m_rows.push_back(makeRow(std::move(records[i])));
                noteAdded(m_rows.back(), m_firstSeq + m_rows.size() - 1, true);
            }
            endInsertRows();
            return;
        }
        std::vector<quint64> passing;
        for (size_t i = skip; i < records.size(); ++i) {
            const quint64 seq = m_firstSeq + m_rows.size();
            m_rows.push_back(makeRow(std::move(records[i])));
            const bool visible = matches(m_rows.back());
            if (visible)
                passing.push_back(seq);
            noteAdded(m_rows.back(), seq, visible);
        }
        if (passing.empty())
            return;
        beginInsertRows({}, oldCount, oldCount + int(passing.size()) - 1);
        m_visible.insert(m_visible.end(), passing.begin(), passing.end());
        endInsertRows();
        return;
    }

    // At the bound: the oldest `drop` rows go and the batch comes in. Removing rows at the top of
    // a view holding ~1M rows costs O(rows) in QHeaderView per batch (measured: 140 ms stalls at
    // 1M), so only the net change is structural (at most one insert or one remove, at the
    // edge) and the rows that shifted are announced with one dataChanged (the view repaints
    // what is visible).
    const quint64 newFirst = m_firstSeq + drop;
    size_t removedVisible = drop;
    std::vector<quint64> passing;
    std::vector<Row> fresh;
    fresh.reserve(incoming);
    for (size_t i = skip; i < records.size(); ++i)
        fresh.push_back(makeRow(std::move(records[i])));
    if (m_filtering) {
        removedVisible = 0;
        while (removedVisible < m_visible.size() && m_visible[removedVisible] < newFirst)
            ++removedVisible;
        const quint64 base = m_firstSeq + m_rows.size();
        for (size_t i = 0; i < fresh.size(); ++i) {
            if (matches(fresh[i]))
                passing.push_back(base + i);
        }
    }
    const size_t added = m_filtering ? passing.size() : incoming;
    {
        size_t v = 0; // m_visible is sorted: walk it beside the dropped rows
        for (size_t i = 0; i < drop; ++i) {
            const quint64 seq = m_firstSeq + i;
            while (m_filtering && v < removedVisible && m_visible[v] < seq)
                ++v;
            const bool visible = !m_filtering || (v < removedVisible && m_visible[v] == seq);
            noteDropped(m_rows[i], seq, visible);
        }
        const quint64 base = m_firstSeq + m_rows.size();
        size_t p = 0;
        for (size_t i = 0; i < fresh.size(); ++i) {
            const quint64 seq = base + i;
            while (m_filtering && p < passing.size() && passing[p] < seq)
                ++p;
            noteAdded(fresh[i], seq, !m_filtering || (p < passing.size() && passing[p] == seq));
        }
    }
    // All held rows move first (hidden ones do not concern the view).
    for (size_t i = 0; i < drop; ++i)
        m_arena.release(m_rows[i].packed);
    m_rows.erase(m_rows.begin(), m_rows.begin() + qsizetype(drop));
    const quint64 oldFirst = m_firstSeq;
    m_firstSeq = newFirst;
    for (Row &r : fresh)
        m_rows.push_back(std::move(r));
    if (!m_filtering) {
        // Unfiltered the view maps row i to m_firstSeq + i: the `drop` shifted rows are announced
        // with dataChanged, the net growth (if any) with one insert at the end.
        const int kept = oldCount;
        const int grow = int(added - removedVisible);
        if (grow > 0) {
            // The insert must not change the rows before it: announce the shift first. Rows
            // [0, kept) now show records shifted by `drop`; the model already holds all rows, so
            // report the count the view knows until the insert.
            m_visibleLimit = kept;
            Q_EMIT dataChanged(index(0, 0), index(kept - 1, ColumnCount - 1));
            beginInsertRows({}, kept, kept + grow - 1);
            m_visibleLimit = -1;
            endInsertRows();
        } else if (kept > 0) {
            Q_EMIT dataChanged(index(0, 0), index(kept - 1, ColumnCount - 1));
        }
        Q_UNUSED(oldFirst);
        return;
    }
    // Filtered: the visible index changes in two steps with the same rules.
    if (added >= removedVisible) {
        m_visible.erase(m_visible.begin(), m_visible.begin() + qsizetype(removedVisible));
        m_visible.insert(m_visible.end(), passing.begin(),
                         passing.begin() + qsizetype(removedVisible));
        if (removedVisible > 0 && oldCount > 0)
            Q_EMIT dataChanged(index(0, 0), index(oldCount - 1, ColumnCount - 1));
        if (added > removedVisible) {
            beginInsertRows({}, oldCount, oldCount + int(added - removedVisible) - 1);
            m_visible.insert(m_visible.end(), passing.begin() + qsizetype(removedVisible),
                             passing.end());
            endInsertRows();
        }
    } else {
        const size_t k = removedVisible - added;
        beginRemoveRows({}, 0, int(k) - 1);
        m_visible.erase(m_visible.begin(), m_visible.begin() + qsizetype(k));
        endRemoveRows();
        m_visible.erase(m_visible.begin(), m_visible.begin() + qsizetype(added));
        m_visible.insert(m_visible.end(), passing.begin(), passing.end());
        if (added > 0 && rowCount() > 0)
            Q_EMIT dataChanged(index(0, 0), index(rowCount() - 1, ColumnCount - 1));
    }
}

void EventTableModel::setRecords(std::vector<core::TrafficRecord> records)
{
    std::stable_sort(records.begin(), records.end(),
                     [](const core::TrafficRecord &a, const core::TrafficRecord &b) {
                         return a.startedUs < b.startedUs;
                     });
    clear();
    m_seen = 0;
    appendBatch(std::move(records));
}

void EventTableModel::clear()
{
    beginResetModel();
    m_firstSeq += m_rows.size();
    m_rows.clear();
    m_rows.shrink_to_fit();
    m_arena.clear();
    m_visible.clear();
    m_displayCache.clear();
    m_pendingById.clear();
    m_stats.clear();
    m_errorsHeld = 0;
    endResetModel();
}

void EventTableModel::setMaxRows(size_t maxRows)
{
    maxRows = std::max<size_t>(maxRows, 1);
    if (maxRows < m_rows.size()) {
        beginResetModel();
        const size_t drop = m_rows.size() - maxRows;
        for (size_t i = 0; i < drop; ++i)
            noteDropped(m_rows[i], m_firstSeq + i, false);
        for (size_t i = 0; i < drop; ++i)
            m_arena.release(m_rows[i].packed);
        m_rows.erase(m_rows.begin(), m_rows.begin() + qsizetype(drop));
        m_firstSeq += drop;
        while (!m_visible.empty() && m_visible.front() < m_firstSeq)
            m_visible.pop_front();
        m_maxRows = maxRows;
        recount();
        endResetModel();
        return;
    }
    m_maxRows = maxRows;
}

void EventTableModel::setFilter(const TrafficFilter &filter)
{
    beginResetModel();
    m_filter = filter;
    m_filtering = filter.error.isEmpty() && !filter.isEmpty();
    m_visible.clear();
    if (m_filtering) {
        for (size_t i = 0; i < m_rows.size(); ++i) {
            if (matches(m_rows[i]))
                m_visible.push_back(m_firstSeq + i);
        }
    }
    recount();
    endResetModel();
}

void EventTableModel::recount()
{
    m_stats.clear();
    if (!m_filtering) {
        for (const Row &r : m_rows)
            count(r, +1);
        return;
    }
    for (const quint64 seq : m_visible)
        count(m_rows[size_t(seq - m_firstSeq)], +1);
}

const EventTableModel::Row &EventTableModel::rowAt(int visibleRow) const
{
    if (!m_filtering)
        return m_rows[size_t(visibleRow)];
    return m_rows[size_t(m_visible[size_t(visibleRow)] - m_firstSeq)];
}

quint64 EventTableModel::seqAt(int visibleRow) const
{
    return m_filtering ? m_visible[size_t(visibleRow)] : m_firstSeq + quint64(visibleRow);
}

core::TrafficRecord EventTableModel::record(int row) const
{
    if (row < 0 || row >= rowCount())
        return {};
    return unpack(rowAt(row));
}

QList<core::TrafficRecord> EventTableModel::attempts(int row) const
{
    QList<core::TrafficRecord> out;
    if (row < 0 || row >= rowCount())
        return out;
    const Row &target = rowAt(row);
    if (target.keyHash == 0)
        return out;
    const QString key = unpack(target).eventKey;
    for (const Row &r : m_rows) {
        if (r.keyHash != target.keyHash)
            continue;
        core::TrafficRecord rec = unpack(r);
        if (rec.eventKey == key)
            out << rec;
    }
    return out;
}

QList<core::TrafficRecord> EventTableModel::correlated(int row) const
{
    QList<core::TrafficRecord> out;
    if (row < 0 || row >= rowCount())
        return out;
    const quint64 trace = rowAt(row).traceHash;
    if (trace == 0)
        return out;
    for (const Row &r : m_rows) {
        if (r.traceHash == trace)
            out << unpack(r);
    }
    std::stable_sort(out.begin(), out.end(),
                     [](const core::TrafficRecord &a, const core::TrafficRecord &b) {
                         return a.startedUs < b.startedUs;
                     });
    return out;
}

QString EventTableModel::traceId(int row) const
{
    if (row < 0 || row >= rowCount() || rowAt(row).traceHash == 0)
        return {};
    return traceIdOfRecord(unpack(rowAt(row)));
}

int EventTableModel::rowOfId(quint64 id) const
{
    for (int r = rowCount() - 1; r >= 0; --r) {
        if (rowAt(r).id == id)
            return r;
    }
    return -1;
}

void EventTableModel::refreshPending()
{
    int first = -1, last = -1;
    for (const quint64 seq : std::as_const(m_pendingById)) {
        const int r = visibleRowOfSeq(seq);
        if (r < 0)
            continue;
        first = first < 0 ? r : std::min(first, r);
        last = std::max(last, r);
    }
    if (first >= 0)
        Q_EMIT dataChanged(index(first, Status), index(last, Latency),
                           {Qt::DisplayRole, Qt::ForegroundRole});
}

void EventTableModel::forEachVisible(
    const std::function<void(const core::TrafficRecord &)> &fn) const
{
    const int n = rowCount();
    for (int i = 0; i < n; ++i)
        fn(unpack(rowAt(i)));
}

size_t EventTableModel::approximateBytes() const
{
    return m_rows.size() * sizeof(Row) + m_visible.size() * sizeof(quint64) + m_arena.bytesHeld();
}

QString EventTableModel::summary(const Row &row) const
{
    const core::TrafficRecord r = unpack(row);
    switch (r.kind) {
    case core::TrafficRecord::Kind::Probe:
        return QStringLiteral("OPTIONS %1%2")
            .arg(r.route, r.error.isEmpty() ? QString() : QStringLiteral(" — ") + r.error);
    case core::TrafficRecord::Kind::Connection: {
        QString direction;
        for (const auto &[k, v] : r.metadata) {
            if (k == QStringLiteral("direction"))
                direction = v + QStringLiteral(" ");
        }
        return direction + (r.error.isEmpty() ? r.operation : r.error);
    }
    case core::TrafficRecord::Kind::Input: {
        QString s = previewBytes(r.payload, 80);
        if (s.isEmpty())
            s = QStringLiteral("(empty)");
        QString answer = r.error.isEmpty() ? previewBytes(r.responseBody, 60) : r.error;
        if (answer.isEmpty())
            answer = QStringLiteral("%1").arg(r.status);
        if (r.pending)
            answer = tr("waiting…");
        return QStringLiteral("%1%2 → %3 ⇒ app: %4")
            .arg(r.replayOf ? tr("↻ replay of #%1  ").arg(r.replayOf) : QString(), s, r.route,
                 answer);
    }
    case core::TrafficRecord::Kind::Output: {
        QStringList parts;
        for (const auto &[k, v] : r.metadata) {
            if (k.compare(QLatin1String("traceparent"), Qt::CaseInsensitive) != 0
                && k.compare(QLatin1String("tracestate"), Qt::CaseInsensitive) != 0)
                parts << k + u'=' + v;
        }
        QString s = parts.join(u' ');
        const QString payload = previewBytes(r.payload, 60);
        if (!payload.isEmpty())
            s += (s.isEmpty() ? QString() : QStringLiteral("  ")) + payload;
        const QString answer = r.error.isEmpty() ? previewBytes(r.responseBody, 60) : r.error;
        if (!answer.isEmpty())
            s += QStringLiteral(" ⇒ ") + answer;
        return s;
    }
    }
    return {};
}

QVariant EventTableModel::data(const QModelIndex &index, int role) const
{
    if (!index.isValid() || index.row() >= rowCount() || index.column() >= ColumnCount)
        return {};
    const Row &row = rowAt(index.row());
    const auto kind = core::TrafficRecord::Kind(row.kind);
    switch (role) {
    case Qt::DisplayRole:
        switch (index.column()) {
        case Time:
        case Summary: {
            const quint64 seq = seqAt(index.row());
            auto it = m_displayCache.constFind(seq);
            if (it == m_displayCache.constEnd()) {
                if (m_displayCache.size() > 4096)
                    m_displayCache.clear();
                it = m_displayCache.insert(seq,
                                           {QDateTime::fromMSecsSinceEpoch(row.startedUs / 1000)
                                                .toString(QStringLiteral("HH:mm:ss.zzz")),
                                            summary(row)});
            }
            return index.column() == Time ? it->first : it->second;
        }
        case Direction:
            return kind == core::TrafficRecord::Kind::Output       ? QStringLiteral("→ out")
                   : kind == core::TrafficRecord::Kind::Input      ? QStringLiteral("← in")
                   : kind == core::TrafficRecord::Kind::Connection ? QStringLiteral("conn")
                                                                   : QStringLiteral("probe");
        case Binding: return m_strings.at(row.binding);
        case Operation: return m_strings.at(row.operation);
        case Status: {
            if (row.pending)
                return tr("pending");
            if (row.status == 0 && !row.ok)
                return QStringLiteral("no answer");
            QString s = QString::number(row.status);
            if (kind == core::TrafficRecord::Kind::Input && !row.ok)
                s += QStringLiteral(" failed");
            return s;
        }
        case Latency:
            return row.pending ? formatLatency(std::max<qint64>(0, core::nowUs() - row.startedUs))
                                     + QStringLiteral(" …")
                               : formatLatency(row.latencyUs);
        case Size: return formatSize(row.size);
        }
        break;
    case Qt::ForegroundRole:
        if (row.pending && (index.column() == Status || index.column() == Latency))
            return theme::colour(theme::Role::Pending);
        if (!row.ok && !row.pending && (index.column() == Status || index.column() == Summary))
            return theme::colour(theme::Role::Error);
        if (index.column() == Direction)
            return theme::colour(kind == core::TrafficRecord::Kind::Output  ? theme::Role::Output
                                 : kind == core::TrafficRecord::Kind::Input ? theme::Role::Input
                                                                            : theme::Role::Muted);
        break;
    case Qt::TextAlignmentRole:
        if (index.column() == Latency || index.column() == Size)
            return int(Qt::AlignRight | Qt::AlignVCenter);
        break;
    case RecordIdRole: return QVariant::fromValue(row.id);
    case OkRole: return row.ok != 0;
    case PendingRole: return row.pending != 0;
    case TraceRole: return QVariant::fromValue(row.traceHash);
    case SequenceRole:
        return QVariant::fromValue(m_filtering ? m_visible[size_t(index.row())]
                                               : m_firstSeq + quint64(index.row()));
    default: break;
    }
    return {};
}

QVariant EventTableModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return QAbstractTableModel::headerData(section, orientation, role);
    switch (section) {
    case Time: return tr("Time");
    case Direction: return tr("Direction");
    case Binding: return tr("Binding");
    case Operation: return tr("Operation");
    case Summary: return tr("Summary");
    case Status: return tr("Status");
    case Latency: return tr("Latency");
    case Size: return tr("Size");
    default: break;
    }
    return {};
}

} // namespace bindery::ui
