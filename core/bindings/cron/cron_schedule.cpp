// SPDX-License-Identifier: Apache-2.0
#include "core/bindings/cron/cron_schedule.h"

#include <QMap>
#include <QRegularExpression>
#include <QStringList>
#include <QTimeZone>

#include "core/component_spec.h"

namespace bindery::bindings::cron {

namespace {

struct Bounds
{
    int min;
    int max;
    QMap<QString, int> names;
};

const Bounds SECONDS{0, 59, {}};
const Bounds MINUTES{0, 59, {}};
const Bounds HOURS{0, 23, {}};
const Bounds DOM{1, 31, {}};
const Bounds MONTHS{1,
                    12,
                    {{QStringLiteral("jan"), 1},
                     {QStringLiteral("feb"), 2},
                     {QStringLiteral("mar"), 3},
                     {QStringLiteral("apr"), 4},
                     {QStringLiteral("may"), 5},
                     {QStringLiteral("jun"), 6},
                     {QStringLiteral("jul"), 7},
                     {QStringLiteral("aug"), 8},
                     {QStringLiteral("sep"), 9},
                     {QStringLiteral("oct"), 10},
                     {QStringLiteral("nov"), 11},
                     {QStringLiteral("dec"), 12}}};
const Bounds DOW{0,
                 6,
                 {{QStringLiteral("sun"), 0},
                  {QStringLiteral("mon"), 1},
                  {QStringLiteral("tue"), 2},
                  {QStringLiteral("wed"), 3},
                  {QStringLiteral("thu"), 4},
                  {QStringLiteral("fri"), 5},
                  {QStringLiteral("sat"), 6}}};

bool number(const QString &s, const Bounds &b, int *out)
{
    if (b.names.contains(s.toLower())) {
        *out = b.names.value(s.toLower());
        return true;
    }
    bool ok = false;
    *out = s.toInt(&ok);
    return ok;
}

Result<std::uint64_t> field(const QString &text, const Bounds &b, const QString &what, bool *star)
{
    std::uint64_t bits = 0;
    *star = false;
    for (const QString &part : text.split(u',')) {
        QString range = part;
        int step = 1;
        const qsizetype slash = part.indexOf(u'/');
        if (slash >= 0) {
            bool ok = false;
            step = part.mid(slash + 1).toInt(&ok);
            if (!ok || step <= 0)
                return fail(ErrorCode::InvalidMetadata,
                            QStringLiteral("bad step '%1' in %2").arg(part, what));
            range = part.left(slash);
        }
        int lo = 0;
        int hi = 0;
        if (range == QStringLiteral("*") || range == QStringLiteral("?")) {
            lo = b.min;
            hi = b.max;
            if (slash < 0)
                *star = true;
        } else {
            const qsizetype dash = range.indexOf(u'-');
            if (dash >= 0) {
                if (!number(range.left(dash), b, &lo) || !number(range.mid(dash + 1), b, &hi))
                    return fail(ErrorCode::InvalidMetadata,
                                QStringLiteral("bad range '%1' in %2").arg(range, what));
            } else {
                if (!number(range, b, &lo))
                    return fail(ErrorCode::InvalidMetadata,
                                QStringLiteral("bad value '%1' in %2").arg(range, what));
                hi = slash >= 0 ? b.max : lo;
            }
        }
        if (lo < b.min || hi > b.max || lo > hi)
            return fail(ErrorCode::InvalidMetadata, QStringLiteral("'%1' is outside %2..%3 in %4")
                                                        .arg(part)
                                                        .arg(b.min)
                                                        .arg(b.max)
                                                        .arg(what));
        for (long long v = lo; v <= hi; v += step) // wide: a step up to INT_MAX must not overflow
            bits |= std::uint64_t(1) << v;
    }
    return bits;
}

bool has(std::uint64_t bits, int v)
{
    return (bits >> v) & 1;
}

} // namespace

Result<CronSchedule> CronSchedule::parse(const QString &input)
{
    QString text = input.trimmed();
    CronSchedule s;
    if (text.isEmpty())
        return fail(ErrorCode::MissingMetadata, QStringLiteral("schedule not set"));
    auto invalid = [&](const QString &why) {
        return fail(ErrorCode::InvalidMetadata,
                    QStringLiteral("invalid schedule format '%1': %2").arg(input, why));
    };
    if (text.startsWith(u'@')) {
        const QString d = text.toLower();
        if (d.startsWith(QStringLiteral("@every "))) {
            qint64 ms = 0;
            if (!core::parseGoDuration(text.mid(7).trimmed(), &ms) || ms <= 0)
                return invalid(
                    QStringLiteral("'@every' needs a positive duration such as 15s or 1m"));
            s.m_intervalMs
                = std::max<qint64>(1000, ms / 1000 * 1000); // robfig: whole seconds, ≥ 1 s
            return s;
        }
        static const QMap<QString, QString> descriptors
            = {{QStringLiteral("@yearly"), QStringLiteral("0 0 0 1 1 *")},
               {QStringLiteral("@annually"), QStringLiteral("0 0 0 1 1 *")},
               {QStringLiteral("@monthly"), QStringLiteral("0 0 0 1 * *")},
               {QStringLiteral("@weekly"), QStringLiteral("0 0 0 * * 0")},
               {QStringLiteral("@daily"), QStringLiteral("0 0 0 * * *")},
               {QStringLiteral("@midnight"), QStringLiteral("0 0 0 * * *")},
               {QStringLiteral("@hourly"), QStringLiteral("0 0 * * * *")}};
        if (!descriptors.contains(d))
            return invalid(QStringLiteral("unrecognized descriptor"));
        text = descriptors.value(d);
    }
    QStringList fields = text.split(u' ', Qt::SkipEmptyParts);
    if (fields.size() == 5)
        fields.prepend(QStringLiteral("0"));
    if (fields.size() != 6)
        return invalid(QStringLiteral("expected 5 or 6 fields, found %1")
                           .arg(text.split(u' ', Qt::SkipEmptyParts).size()));
    bool star = false;
    const QStringList names = {QStringLiteral("seconds"), QStringLiteral("minutes"),
                               QStringLiteral("hours"),   QStringLiteral("day of month"),
                               QStringLiteral("month"),   QStringLiteral("day of week")};
    const Bounds *bounds[] = {&SECONDS, &MINUTES, &HOURS, &DOM, &MONTHS, &DOW};
    std::uint64_t *targets[]
        = {&s.m_second, &s.m_minute, &s.m_hour, &s.m_dom, &s.m_month, &s.m_dow};
    for (int i = 0; i < 6; ++i) {
        QString f = fields[i];
        if (i == 5)
            f.replace(QRegularExpression(QStringLiteral("(?<![0-9/])7(?![0-9])")),
                      QStringLiteral("0")); // 7 = Sunday, not in steps
        Result<std::uint64_t> r = field(f, *bounds[i], names[i], &star);
        if (!r)
            return invalid(r.error().message);
        *targets[i] = *r;
        if (i == 3)
            s.m_domStar = star;
        if (i == 5)
            s.m_dowStar = star;
    }
    return s;
}

QDateTime CronSchedule::next(const QDateTime &after) const
{
    if (m_intervalMs > 0)
        return after.addMSecs(m_intervalMs);
    QDateTime t = after.addSecs(1);
    t.setTime(QTime(t.time().hour(), t.time().minute(), t.time().second()));
    const QDateTime limit = after.addYears(5);
    auto dayMatches = [&](const QDate &d) {
        const bool dom = has(m_dom, d.day());
        const bool dow = has(m_dow, d.dayOfWeek() % 7);
        if (m_domStar || m_dowStar)
            return dom && dow;
        return dom || dow;
    };
    while (t < limit) {
        const QDate d = t.date();
        if (!has(m_month, d.month())) {
            t = QDateTime(QDate(d.year(), d.month(), 1).addMonths(1), QTime(0, 0), t.timeZone());
            continue;
        }
        if (!dayMatches(d)) {
            t = QDateTime(d.addDays(1), QTime(0, 0), t.timeZone());
            continue;
        }
        const QTime tm = t.time();
        if (!has(m_hour, tm.hour())) {
            t = QDateTime(d, QTime(tm.hour(), 0), t.timeZone()).addSecs(3600);
            continue;
        }
        if (!has(m_minute, tm.minute())) {
            t = QDateTime(d, QTime(tm.hour(), tm.minute()), t.timeZone()).addSecs(60);
            continue;
        }
        if (!has(m_second, tm.second())) {
            t = t.addSecs(1);
            continue;
        }
        return t;
    }
    return {};
}

} // namespace bindery::bindings::cron
