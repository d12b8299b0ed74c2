// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <vector>

#include <QHash>
#include <QList>
#include <QString>
#include <QStringList>

namespace bindery::ui {

/**
 * @brief Service-response-time statistics per binding and operation (Wireshark's SRT), kept
 * incrementally as rows come and go so a 1M-row table never needs a full pass.
 *
 * Latencies go into log-spaced buckets (5 % wide, 1 µs to ~30 min), so percentiles are exact to
 * within 5 %; count, errors, min and max are exact while no row left, and the max after a removal
 * is the top of the highest occupied bucket. UI thread (the model's).
 */
class LatencyStats
{
public:
    struct Summary
    {
        QString binding;
        QString operation;
        quint64 count = 0;
        quint64 errors = 0;
        qint64 minUs = 0;
        qint64 meanUs = 0;
        qint64 p50Us = 0;
        qint64 p90Us = 0;
        qint64 p99Us = 0;
        qint64 maxUs = 0;
    };
    /// One bar of a coarse histogram: rows with latency in [fromUs, toUs).
    struct Bar
    {
        qint64 fromUs = 0;
        qint64 toUs = 0; ///< -1 = no upper bound
        quint64 count = 0;
    };

    /// `binding` and `operation` are indexes into the caller's string table.
    void add(quint16 binding, quint16 operation, qint64 latencyUs, bool ok);
    void remove(quint16 binding, quint16 operation, qint64 latencyUs, bool ok);
    void clear() { m_groups.clear(); }
    bool isEmpty() const { return m_groups.isEmpty(); }
    quint64 count() const;

    /// Every group, sorted by binding then operation; names from `strings`.
    QList<Summary> summaries(const QStringList &strings) const;
    /// The histogram of one group (binding/operation as names), or of all groups when both are
    /// empty, in 1-2-5 steps from 100 µs to 10 s.
    QList<Bar> histogram(const QStringList &strings, const QString &binding = {},
                         const QString &operation = {}) const;
    /// CSV of summaries() with a header line.
    QByteArray toCsv(const QStringList &strings) const;

    static int bucketOf(qint64 latencyUs);
    static qint64 bucketUpperUs(int bucket);

private:
    struct Group
    {
        quint64 count = 0;
        quint64 errors = 0;
        qint64 minUs = 0;
        qint64 maxUs = 0;
        double sumUs = 0;
        std::vector<quint32> buckets;
    };
    static qint64 percentile(const Group &g, double q);

    QHash<quint32, Group> m_groups; ///< key: binding << 16 | operation
};

} // namespace bindery::ui
