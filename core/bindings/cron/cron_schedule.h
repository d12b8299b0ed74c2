// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>

#include <QDateTime>
#include <QString>

#include "core/result.h"

namespace bindery::bindings::cron {

/**
 * @brief A parsed cron schedule with the syntax of robfig/cron v3 as Dapr configures it:
 * optional seconds field, names for months and weekdays, `?`, ranges, lists, steps, and the
 * descriptors @yearly/@annually/@monthly/@weekly/@daily/@midnight/@hourly/@every <duration>.
 * Value type; any thread.
 */
class CronSchedule
{
public:
    [[nodiscard]] static Result<CronSchedule> parse(const QString &text);
    /// The first activation strictly after `after` (local time), or an invalid QDateTime if none
    /// within five years.
    QDateTime next(const QDateTime &after) const;
    bool isInterval() const { return m_intervalMs > 0; }

private:
    std::uint64_t m_second = 0, m_minute = 0, m_hour = 0, m_dom = 0, m_month = 0, m_dow = 0;
    bool m_domStar = false, m_dowStar = false;
    qint64 m_intervalMs = 0;
};

} // namespace bindery::bindings::cron
