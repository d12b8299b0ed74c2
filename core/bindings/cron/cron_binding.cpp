// SPDX-License-Identifier: Apache-2.0
#include "core/bindings/cron/cron_binding.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "core/binding_registry.h"
#include "core/binding_settings.h"
#include "core/go_time.h"

namespace bindery::bindings::cron {

QString goUtcTimeString(const QDateTime &utc)
{
    return core::goUtcString(utc.toMSecsSinceEpoch() * 1000000);
}

Result<> CronBinding::init(const core::ComponentSpec &spec)
{
    m_name = spec.name;
    core::BindingSettings settings(spec, core::builtinSchema(QStringLiteral("cron")),
                                   {true, false});
    const QString schedule = settings.string(QStringLiteral("schedule"));
    m_maxInFlight = settings.integer(QStringLiteral("maxInFlight"), 1, 10000);
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
    struct Delivery
    {
        std::thread thread;
        std::shared_ptr<std::atomic<bool>> done;
    };
    std::vector<Delivery> inFlight;
    auto reap = [&inFlight](bool all) {
        for (auto it = inFlight.begin(); it != inFlight.end();) {
            if (all || it->done->load()) {
                it->thread.join();
                it = inFlight.erase(it);
            } else {
                ++it;
            }
        }
    };
    std::mutex mutex;
    std::condition_variable_any cv;
    QDateTime last = QDateTime::currentDateTime();
    while (!stop.stop_requested()) {
        QDateTime next = m_schedule.next(last);
        // Behind by more than a tick (a suspended machine, a stalled thread): go on from now
        // instead of firing the missed ticks in a burst, as robfig/cron does.
        const QDateTime now = QDateTime::currentDateTime();
        if (next.isValid() && next.msecsTo(now) > 1000)
            next = m_schedule.next(now);
        if (!next.isValid()) {
            reap(true);
            return fail(ErrorCode::InvalidMetadata,
                        QStringLiteral("the schedule never fires again"));
        }
        const auto deadline = std::chrono::system_clock::now()
                              + std::chrono::milliseconds(
                                  std::max<qint64>(0, QDateTime::currentDateTime().msecsTo(next)));
        {
            std::unique_lock lock(mutex);
            if (cv.wait_until(lock, stop, deadline, [] { return false; }) || stop.stop_requested())
                break;
        }
        last = next;
        reap(false);
        core::BindingEvent event;
        event.metadata = {{QStringLiteral("timeZone"), QStringLiteral("Local")},
                          {QStringLiteral("readTimeUTC"), core::goUtcString(core::nowUnixNs())}};
        event.eventKey = m_name + u'@' + next.toString(Qt::ISODateWithMs);
        event.onFailure = core::FailurePolicy::Drop;
        event.cancel = stop;
        if (static_cast<qint64>(inFlight.size()) >= m_maxInFlight) {
            event.skipReason = QStringLiteral("tick skipped: %1 deliveries to the app are still "
                                              "in flight (maxInFlight)")
                                   .arg(inFlight.size());
            handler(event); // records the skip; nothing is sent
            continue;
        }
        auto done = std::make_shared<std::atomic<bool>>(false);
        inFlight.push_back({std::thread([&handler, event = std::move(event), done]() {
                                try {
                                    handler(event); // the result is ignored: cron never retries
                                } catch (...) {
                                    // a handler never throws; a thread must not terminate us
                                }
                                done->store(true);
                            }),
                            done});
    }
    reap(true); // the stop token cancelled their waits: they end within ~100 ms
    return {};
}

} // namespace bindery::bindings::cron

BINDERY_BINDING(cron, bindery::bindings::cron::CronBinding, void)
