// SPDX-License-Identifier: Apache-2.0
#include "core/bindings/cron/cron_binding.h"

#include <chrono>
#include <condition_variable>
#include <mutex>

#include "core/binding_registry.h"
#include "core/binding_settings.h"

namespace bindery::bindings::cron {

QString goUtcTimeString(const QDateTime &utc)
{
    const QDateTime t = utc.toUTC();
    QString s = t.toString(QStringLiteral("yyyy-MM-dd HH:mm:ss"));
    const int ms = t.time().msec();
    if (ms != 0) {
        QString frac = QStringLiteral("%1").arg(ms, 3, 10, QLatin1Char('0'));
        while (frac.endsWith(u'0'))
            frac.chop(1);
        s += u'.' + frac;
    }
    return s + QStringLiteral(" +0000 UTC");
}

Result<> CronBinding::init(const core::ComponentSpec &spec)
{
    m_name = spec.name;
    core::BindingSettings settings(spec, core::builtinSchema(QStringLiteral("cron")),
                                   {true, false});
    const QString schedule = settings.string(QStringLiteral("schedule"));
    if (!settings.ok())
        return settings.result();
    Result<CronSchedule> s = CronSchedule::parse(schedule);
    if (!s)
        return tl::unexpected(s.error());
    m_schedule = *s;
    return {};
}

Result<> CronBinding::read(const core::EventHandler &handler, std::stop_token stop)
{
    std::mutex mutex;
    std::condition_variable_any cv;
    QDateTime last = QDateTime::currentDateTime();
    while (!stop.stop_requested()) {
        const QDateTime next = m_schedule.next(last);
        if (!next.isValid())
            return fail(ErrorCode::InvalidMetadata,
                        QStringLiteral("the schedule never fires again"));
        const auto deadline = std::chrono::system_clock::now()
                              + std::chrono::milliseconds(
                                  std::max<qint64>(0, QDateTime::currentDateTime().msecsTo(next)));
        {
            std::unique_lock lock(mutex);
            if (cv.wait_until(lock, stop, deadline, [] { return false; }) || stop.stop_requested())
                break;
        }
        last = next;
        core::BindingEvent event;
        event.metadata
            = {{QStringLiteral("timeZone"), QStringLiteral("Local")},
               {QStringLiteral("readTimeUTC"), goUtcTimeString(QDateTime::currentDateTimeUtc())}};
        event.eventKey = m_name + u'@' + next.toString(Qt::ISODateWithMs);
        event.onFailure = core::FailurePolicy::Drop;
        handler(event); // the result is ignored: cron never retries
    }
    return {};
}

} // namespace bindery::bindings::cron

BINDERY_BINDING(cron, bindery::bindings::cron::CronBinding, void)
