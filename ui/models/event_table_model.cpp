// SPDX-License-Identifier: Apache-2.0
#include "ui/models/event_table_model.h"

#include <algorithm>
#include <cstring>
#include <memory>

#include <QColor>
#include <QDateTime>
#include <QFont>
#include <QLocale>

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
            QString v = string();
            h.append({k, v});
        }
        return h;
    }
};

bool containsCaseInsensitive(QByteArrayView hay, const QByteArray &needleLower)
{
    if (needleLower.isEmpty())
        return true;
    auto it = std::search(hay.begin(), hay.end(), needleLower.begin(), needleLower.end(),
                          [](char a, char b) {
                              const char la = (a >= 'A' && a <= 'Z') ? char(a + 32) : a;
                              return la == b;
                          });
    return it != hay.end();
}

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

// ---- TrafficFilter ----

bool TrafficFilter::isEmpty() const
{
    return text.isEmpty() && bindings.isEmpty() && directions.isEmpty() && operations.isEmpty()
           && statuses.isEmpty() && okFilter < 0 && latencyAboveUs < 0 && latencyBelowUs < 0;
}

TrafficFilter TrafficFilter::parse(const QString &expression)
{
    TrafficFilter f;
    QStringList free;
    const QStringList words = expression.split(u' ', Qt::SkipEmptyParts);
    auto parseMs = [&](const QString &v, qint64 *out) {
        QString t = v.trimmed().toLower();
        double factor = 1000.0; // ms -> µs
        if (t.endsWith(QStringLiteral("ms"))) {
            t.chop(2);
        } else if (t.endsWith(QStringLiteral("us")) || t.endsWith(QStringLiteral("µs"))) {
            t.chop(2);
            factor = 1.0;
        } else if (t.endsWith(u's')) {
            t.chop(1);
            factor = 1e6;
        }
        bool ok = false;
        const double d = t.toDouble(&ok);
        if (!ok) {
            f.error = QStringLiteral("latency: '%1' is not a number of ms").arg(v);
            return;
        }
        *out = qint64(d * factor);
    };
    for (const QString &w : words) {
        const QString lower = w.toLower();
        auto value = [&](int prefix) { return w.mid(prefix); };
        if (lower.startsWith(QStringLiteral("binding:"))) {
            f.bindings << value(8).split(u',', Qt::SkipEmptyParts);
        } else if (lower.startsWith(QStringLiteral("direction:"))
                   || lower.startsWith(QStringLiteral("dir:"))) {
            const QString v = value(lower.startsWith(QStringLiteral("dir:")) ? 4 : 10).toLower();
            for (const QString &d : v.split(u',', Qt::SkipEmptyParts)) {
                if (d == QStringLiteral("out") || d == QStringLiteral("output"))
                    f.directions << QStringLiteral("output");
                else if (d == QStringLiteral("in") || d == QStringLiteral("input"))
                    f.directions << QStringLiteral("input");
                else if (d == QStringLiteral("probe"))
                    f.directions << QStringLiteral("probe");
                else
                    f.error
                        = QStringLiteral("direction: expected in, out or probe, not '%1'").arg(d);
            }
        } else if (lower.startsWith(QStringLiteral("op:"))) {
            f.operations << value(3).toLower().split(u',', Qt::SkipEmptyParts);
        } else if (lower.startsWith(QStringLiteral("status:"))) {
            for (const QString &s : value(7).toLower().split(u',', Qt::SkipEmptyParts)) {
                if (s == QStringLiteral("ok")) {
                    f.okFilter = 1;
                } else if (s == QStringLiteral("error") || s == QStringLiteral("failed")
                           || s == QStringLiteral("fail")) {
                    f.okFilter = 0;
                } else if (s.size() == 3 && s.endsWith(QStringLiteral("xx")) && s.at(0).isDigit()) {
                    const int h = s.at(0).digitValue() * 100;
                    f.statuses.append({h, h + 99});
                } else {
                    bool ok = false;
                    const int n = s.toInt(&ok);
                    if (ok)
                        f.statuses.append({n, n});
                    else
                        f.error
                            = QStringLiteral("status: expected a code, 5xx, ok or error, not '%1'")
                                  .arg(s);
                }
            }
        } else if (lower.startsWith(QStringLiteral("latency>"))) {
            parseMs(w.mid(8), &f.latencyAboveUs);
        } else if (lower.startsWith(QStringLiteral("latency<"))) {
            parseMs(w.mid(8), &f.latencyBelowUs);
        } else {
            free << w;
        }
    }
    f.text = free.join(u' ');
    return f;
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
    QByteArray p;
    p.reserve(48 + r.payload.size() + r.responseBody.size() + r.metadata.size() * 16);
    // Names that did not fit the string table (index 0 while non-empty) are written inline.
    putString(p, row.binding || r.binding.isEmpty() ? QString() : r.binding);
    putString(p, row.operation || r.operation.isEmpty() ? QString() : r.operation);
    putString(p, row.bindingType || r.bindingType.isEmpty() ? QString() : r.bindingType);
    putString(p, row.route || r.route.isEmpty() ? QString() : r.route);
    auto headers = [&](const core::Headers &h) {
        putVar(p, quint64(h.size()));
        for (const auto &[k, v] : h) {
            const quint16 idx = k.isEmpty() ? 0 : intern(k);
            putVar(p, idx);
            if (!idx)
                putString(p, k);
            putString(p, v);
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
    row.packedSize = quint32(p.size());
    row.packed.reset(new char[size_t(p.size())]);
    std::memcpy(row.packed.get(), p.constData(), size_t(p.size()));
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
    Reader rd{row.packed.get(), row.packed.get() + row.packedSize, &m_strings};
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
    return r;
}

bool EventTableModel::matches(const Row &row) const
{
    const TrafficFilter &f = m_filter;
    if (!f.directions.isEmpty()) {
        const QString k = core::TrafficRecord::Kind(row.kind) == core::TrafficRecord::Kind::Output
                              ? QStringLiteral("output")
                          : core::TrafficRecord::Kind(row.kind) == core::TrafficRecord::Kind::Input
                              ? QStringLiteral("input")
                              : QStringLiteral("probe");
        if (!f.directions.contains(k))
            return false;
    }
    if (!f.bindings.isEmpty()) {
        const QString &b = m_strings.at(row.binding);
        bool any = false;
        for (const QString &want : f.bindings)
            any = any || b.contains(want, Qt::CaseInsensitive);
        if (!any)
            return false;
    }
    if (!f.operations.isEmpty()) {
        if (!f.operations.contains(m_strings.at(row.operation).toLower()))
            return false;
    }
    if (f.okFilter >= 0 && int(row.ok) != f.okFilter)
        return false;
    if (!f.statuses.isEmpty()) {
        bool any = false;
        for (const auto &[lo, hi] : f.statuses)
            any = any || (row.status >= lo && row.status <= hi);
        if (!any)
            return false;
    }
    if (f.latencyAboveUs >= 0 && row.latencyUs <= f.latencyAboveUs)
        return false;
    if (f.latencyBelowUs >= 0 && row.latencyUs >= f.latencyBelowUs)
        return false;
    if (!f.text.isEmpty()) {
        const QByteArray needle = f.text.toLower().toUtf8();
        if (!containsCaseInsensitive(row.bytes(), needle) && !stringMatches(row.binding)
            && !stringMatches(row.operation) && !stringMatches(row.bindingType)
            && !stringMatches(row.route) && !QString::number(row.status).contains(f.text))
            return false;
    }
    return true;
}

bool EventTableModel::stringMatches(quint16 index) const
{
    if (index == 0)
        return false;
    if (m_textMatch.size() < size_t(m_strings.size()))
        m_textMatch.resize(size_t(m_strings.size()), -1);
    qint8 &cached = m_textMatch[index];
    if (cached < 0)
        cached = m_strings.at(index).contains(m_filter.text, Qt::CaseInsensitive) ? 1 : 0;
    return cached == 1;
}

void EventTableModel::appendBatch(std::vector<core::TrafficRecord> records)
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
            for (size_t i = skip; i < records.size(); ++i)
                m_rows.push_back(makeRow(std::move(records[i])));
            endInsertRows();
            return;
        }
        std::vector<quint64> passing;
        for (size_t i = skip; i < records.size(); ++i) {
            const quint64 seq = m_firstSeq + m_rows.size();
            m_rows.push_back(makeRow(std::move(records[i])));
            if (matches(m_rows.back()))
                passing.push_back(seq);
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
    // All held rows move first (hidden ones do not concern the view).
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

void EventTableModel::clear()
{
    beginResetModel();
    m_firstSeq += m_rows.size();
    m_rows.clear();
    m_rows.shrink_to_fit();
    m_visible.clear();
    m_displayCache.clear();
    endResetModel();
}

void EventTableModel::setMaxRows(size_t maxRows)
{
    maxRows = std::max<size_t>(maxRows, 1);
    if (maxRows < m_rows.size()) {
        beginResetModel();
        const size_t drop = m_rows.size() - maxRows;
        m_rows.erase(m_rows.begin(), m_rows.begin() + qsizetype(drop));
        m_firstSeq += drop;
        while (!m_visible.empty() && m_visible.front() < m_firstSeq)
            m_visible.pop_front();
        m_maxRows = maxRows;
        endResetModel();
        return;
    }
    m_maxRows = maxRows;
}

void EventTableModel::setFilter(const TrafficFilter &filter)
{
    beginResetModel();
    m_filter = filter;
    m_textMatch.clear();
    m_filtering = filter.error.isEmpty() && !filter.isEmpty();
    m_visible.clear();
    if (m_filtering) {
        for (size_t i = 0; i < m_rows.size(); ++i) {
            if (matches(m_rows[i]))
                m_visible.push_back(m_firstSeq + i);
        }
    }
    endResetModel();
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

void EventTableModel::forEachVisible(
    const std::function<void(const core::TrafficRecord &)> &fn) const
{
    const int n = rowCount();
    for (int i = 0; i < n; ++i)
        fn(unpack(rowAt(i)));
}

size_t EventTableModel::approximateBytes() const
{
    size_t bytes = m_rows.size() * sizeof(Row) + m_visible.size() * sizeof(quint64);
    for (const Row &r : m_rows)
        bytes += size_t(r.packedSize) + 16; // + malloc's header, roughly
    return bytes;
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
        return QStringLiteral("%1 → %2 ⇒ app: %3").arg(s, r.route, answer);
    }
    case core::TrafficRecord::Kind::Output: {
        QStringList parts;
        for (const auto &[k, v] : r.metadata)
            parts << k + u'=' + v;
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
            if (row.status == 0 && !row.ok)
                return QStringLiteral("no answer");
            QString s = QString::number(row.status);
            if (kind == core::TrafficRecord::Kind::Input && !row.ok)
                s += QStringLiteral(" failed");
            return s;
        }
        case Latency: return formatLatency(row.latencyUs);
        case Size: return formatSize(row.size);
        }
        break;
    case Qt::ForegroundRole:
        if (!row.ok && (index.column() == Status || index.column() == Summary))
            return QColor(0xc0, 0x20, 0x20);
        if (index.column() == Direction)
            return kind == core::TrafficRecord::Kind::Output  ? QColor(0x1f, 0x5f, 0xbf)
                   : kind == core::TrafficRecord::Kind::Input ? QColor(0x1f, 0x8f, 0x3f)
                                                              : QColor(0x80, 0x80, 0x80);
        break;
    case Qt::TextAlignmentRole:
        if (index.column() == Latency || index.column() == Size)
            return int(Qt::AlignRight | Qt::AlignVCenter);
        break;
    case RecordIdRole: return QVariant::fromValue(row.id);
    case OkRole: return row.ok != 0;
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
