// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "core/binding.h"
#include "core/bindings/cron/cron_schedule.h"

namespace bindery::bindings::cron {

/**
 * @brief bindings.cron: an input binding that fires an empty event on a schedule.
 *
 * Each tick POSTs an empty body with `timeZone` and `readTimeUTC` metadata. The app's answer
 * is ignored and a failed tick is dropped, not retried (as Dapr's cron binding does).
 *
 * Each tick's delivery runs on a thread of its own, as robfig/cron runs each job in a goroutine
 * (issue 9.4): a slow app neither delays the next tick nor receives missed ticks later. At most
 * `maxInFlight` deliveries run at once; a tick beyond that is skipped, and the runtime records
 * it (BindingEvent::skipReason). read() cancels the deliveries in flight when stopped and
 * returns once they ended (within ~100 ms).
 */
class CronBinding final : public core::InputBinding
{
public:
    Result<> init(const core::ComponentSpec &spec) override;
    Result<> read(const core::EventHandler &handler, std::stop_token stop) override;
    void close() override {}

private:
    CronSchedule m_schedule;
    QString m_name;
    qint64 m_maxInFlight = 16;
};

/// Go's time.Time.String() for a UTC instant: "2006-01-02 15:04:05.999999999 +0000 UTC".
QString goUtcTimeString(const QDateTime &utc);

} // namespace bindery::bindings::cron
