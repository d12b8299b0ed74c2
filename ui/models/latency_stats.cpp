// SPDX-License-Identifier: Apache-2.0
#include "ui/models/latency_stats.h"

#include <algorithm>
#include <cmath>

namespace bindery::ui {

namespace {
constexpr double kGrowth = 1.05;
constexpr int kBuckets = 440; // 1.05^440 µs ≈ 31 min
const double kLogGrowth = std::log(kGrowth);
} // namespace

int LatencyStats::bucketOf(qint64 latencyUs)
{
    if (latencyUs <= 1)
        return 0;
    const int b = int(std::log(double(latencyUs)) / kLogGrowth) + 1;
    return std::min(b, kBuckets - 1);
}

qint64 LatencyStats::bucketUpperUs(int bucket)
{
    return qint64(std::ceil(std::pow(kGrowth, double(bucket))));
}

void LatencyStats::add(quint16 binding, quint16 operation, qint64 latencyUs, bool ok)
{
    Group &g = m_groups[(quint32(binding) << 16) | operation];
    if (g.buckets.empty())
        g.buckets.assign(kBuckets, 0);
    latencyUs = std::max<qint64>(latencyUs, 0);
    if (g.count == 0 || latencyUs < g.minUs)
        g.minUs = latencyUs;
    g.maxUs = std::max(g.maxUs, latencyUs);
    ++g.count;
    g.errors += ok ? 0 : 1;
    g.sumUs += double(latencyUs);
    ++g.buckets[size_t(bucketOf(latencyUs))];
}

void LatencyStats::remove(quint16 binding, quint16 operation, qint64 latencyUs, bool ok)
{
    const quint32 key = (quint32(binding) << 16) | operation;
    auto it = m_groups.find(key);
    if (it == m_groups.end() || it->count == 0)
        return;
    Group &g = it.value();
    latencyUs = std::max<qint64>(latencyUs, 0);
    quint32 &bucket = g.buckets[size_t(bucketOf(latencyUs))];
    if (bucket == 0)
        return;
    --bucket;
    --g.count;
    g.errors -= (!ok && g.errors) ? 1 : 0;
    g.sumUs -= double(latencyUs);
    if (g.count == 0) {
        m_groups.erase(it);
        return;
    }
    // The exact extremes are gone if this row held one: fall back to the occupied buckets.
    if (latencyUs >= g.maxUs) {
        int top = kBuckets - 1;
        while (top > 0 && g.buckets[size_t(top)] == 0)
            --top;
        g.maxUs = bucketUpperUs(top);
    }
    if (latencyUs <= g.minUs) {
        int low = 0;
        while (low < kBuckets - 1 && g.buckets[size_t(low)] == 0)
            ++low;
        g.minUs = low == 0 ? 0 : bucketUpperUs(low - 1);
    }
}

quint64 LatencyStats::count() const
{
    quint64 n = 0;
    for (const Group &g : m_groups)
        n += g.count;
    return n;
}

qint64 LatencyStats::percentile(const Group &g, double q)
{
    const quint64 rank = std::max<quint64>(1, quint64(std::ceil(q * double(g.count))));
    quint64 seen = 0;
    for (size_t b = 0; b < g.buckets.size(); ++b) {
        seen += g.buckets[b];
        if (seen >= rank)
            return std::clamp(bucketUpperUs(int(b)), g.minUs, g.maxUs);
    }
    return g.maxUs;
}

QList<LatencyStats::Summary> LatencyStats::summaries(const QStringList &strings) const
{
    QList<Summary> out;
    for (auto it = m_groups.cbegin(); it != m_groups.cend(); ++it) {
        const Group &g = it.value();
        Summary s;
        s.binding = strings.value(int(it.key() >> 16));
        s.operation = strings.value(int(it.key() & 0xffff));
        s.count = g.count;
        s.errors = g.errors;
        s.minUs = g.minUs;
        s.maxUs = g.maxUs;
        s.meanUs = qint64(g.sumUs / double(g.count));
        s.p50Us = percentile(g, 0.50);
        s.p90Us = percentile(g, 0.90);
        s.p99Us = percentile(g, 0.99);
        out << s;
    }
    std::sort(out.begin(), out.end(), [](const Summary &a, const Summary &b) {
        return a.binding != b.binding ? a.binding < b.binding : a.operation < b.operation;
    });
    return out;
}

QList<LatencyStats::Bar> LatencyStats::histogram(const QStringList &strings, const QString &binding,
                                                 const QString &operation) const
{
    // 1-2-5 steps: <100 µs, 100-200 µs, ..., 5-10 s, >= 10 s.
    QList<qint64> edges{0};
    for (qint64 decade = 100; decade <= 1000000; decade *= 10) {
        edges << decade << decade * 2 << decade * 5;
    }
    edges << 10000000;
    QList<Bar> bars;
    for (int i = 0; i + 1 < edges.size(); ++i)
        bars << Bar{edges[i], edges[i + 1], 0};
    bars << Bar{edges.last(), -1, 0};
    for (auto it = m_groups.cbegin(); it != m_groups.cend(); ++it) {
        if (!binding.isEmpty() && strings.value(int(it.key() >> 16)) != binding)
            continue;
        if (!operation.isEmpty() && strings.value(int(it.key() & 0xffff)) != operation)
            continue;
        const Group &g = it.value();
        for (size_t b = 0; b < g.buckets.size(); ++b) {
            if (!g.buckets[b])
                continue;
            // A bucket's values lie below its upper bound: place it by its lower bound.
            const qint64 lower = b == 0 ? 0 : bucketUpperUs(int(b) - 1);
            int bar = int(bars.size()) - 1;
            while (bar > 0 && lower < bars[bar].fromUs)
                --bar;
            bars[bar].count += g.buckets[b];
        }
    }
    return bars;
}

QByteArray LatencyStats::toCsv(const QStringList &strings) const
{
    QByteArray out = "binding,operation,count,errors,min_ms,mean_ms,p50_ms,p90_ms,p99_ms,max_ms\n";
    auto ms = [](qint64 us) { return QByteArray::number(double(us) / 1000.0, 'f', 3); };
    auto field = [](const QString &s) {
        QByteArray b = s.toUtf8();
        if (b.contains(',') || b.contains('"')) {
            b.replace("\"", "\"\"");
            b = '"' + b + '"';
        }
        return b;
    };
    for (const Summary &s : summaries(strings)) {
        out += field(s.binding) + ',' + field(s.operation) + ',' + QByteArray::number(s.count) + ','
               + QByteArray::number(s.errors) + ',' + ms(s.minUs) + ',' + ms(s.meanUs) + ','
               + ms(s.p50Us) + ',' + ms(s.p90Us) + ',' + ms(s.p99Us) + ',' + ms(s.maxUs) + '\n';
    }
    return out;
}

} // namespace bindery::ui
