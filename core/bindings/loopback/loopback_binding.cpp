// SPDX-License-Identifier: Apache-2.0
#include "core/bindings/loopback/loopback_binding.h"

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>

#include "core/binding_registry.h"
#include "core/binding_settings.h"

namespace bindery::bindings::loopback {

namespace {

struct Queue
{
    std::mutex mutex;
    std::condition_variable_any cv;
    std::deque<core::BindingEvent> events;
    bool reader = false;
    quint64 sequence = 0;
};

std::mutex g_mutex;
std::map<QString, std::shared_ptr<Queue>> g_queues;

std::shared_ptr<Queue> queueFor(const QString &name)
{
    std::lock_guard lock(g_mutex);
    auto &q = g_queues[name];
    if (!q)
        q = std::make_shared<Queue>();
    return q;
}

} // namespace

Result<> LoopbackOutput::init(const core::ComponentSpec &spec)
{
    m_name = spec.name;
    core::BindingSettings settings(spec, core::builtinSchema(QStringLiteral("loopback")),
                                   {false, true});
    m_capacity = settings.integer(QStringLiteral("capacity"), 1, 10000000);
    return settings.result();
}

QStringList LoopbackOutput::operations() const
{
    return {QStringLiteral("create"), QStringLiteral("echo"), QStringLiteral("report")};
}

void LoopbackOutput::invoke(core::InvokeRequest request, core::InvokeDone done)
{
    if (request.operation == QStringLiteral("echo")) {
        core::InvokeResponse r;
        r.hasData = true;
        r.data = request.data;
        for (auto it = request.metadata.begin(); it != request.metadata.end(); ++it)
            r.metadata.append({it.key(), it.value()});
        done({r, {}});
        return;
    }
    if (request.operation == QStringLiteral("report")) {
        const QString state = request.metadata.value(QStringLiteral("state"));
        for (core::ConnectionState s :
             {core::ConnectionState::Connecting, core::ConnectionState::Connected,
              core::ConnectionState::Reconnecting, core::ConnectionState::Failed,
              core::ConnectionState::Stopped}) {
            if (core::connectionStateName(s) == state && m_reporter)
                m_reporter({s, request.metadata.value(QStringLiteral("detail")),
                            request.metadata.value(QStringLiteral("nextAttemptInMs")).toInt()});
        }
        done({core::InvokeResponse{}, {}});
        return;
    }
    const std::shared_ptr<Queue> q = queueFor(m_name);
    {
        std::lock_guard lock(q->mutex);
        if (q->reader && q->events.size() < static_cast<size_t>(m_capacity)) {
            core::BindingEvent e;
            e.data = request.data;
            for (auto it = request.metadata.begin(); it != request.metadata.end(); ++it)
                e.metadata.append({it.key(), it.value()});
            e.eventKey = m_name + u'#' + QString::number(++q->sequence);
            e.onFailure = core::FailurePolicy::Retry;
            q->events.push_back(std::move(e));
        }
    }
    q->cv.notify_one();
    done({core::InvokeResponse{}, {}});
}

Result<> LoopbackInput::init(const core::ComponentSpec &spec)
{
    m_name = spec.name;
    core::BindingSettings settings(spec, core::builtinSchema(QStringLiteral("loopback")),
                                   {true, false});
    settings.integer(QStringLiteral("capacity"), 1, 10000000); // the output side bounds the queue
    return settings.result();
}

Result<> LoopbackInput::read(const core::EventHandler &handler, std::stop_token stop)
{
    const std::shared_ptr<Queue> q = queueFor(m_name);
    {
        std::lock_guard lock(q->mutex);
        q->reader = true;
    }
    while (!stop.stop_requested()) {
        core::BindingEvent event;
        {
            std::unique_lock lock(q->mutex);
            if (!q->cv.wait_for(lock, stop, std::chrono::milliseconds(200),
                                [&] { return !q->events.empty(); }))
                continue;
            event = q->events.front();
        }
        // Retry a failed event in place (at most 3 attempts), then drop it.
        core::AppReply reply = handler(event);
        while (!reply.ok() && event.attempt < 3 && !stop.stop_requested()) {
            ++event.attempt;
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
            reply = handler(event);
        }
        std::lock_guard lock(q->mutex);
        q->events.pop_front();
    }
    return {};
}

void LoopbackInput::close()
{
    const std::shared_ptr<Queue> q = queueFor(m_name);
    std::lock_guard lock(q->mutex);
    q->reader = false;
    q->events.clear();
}

} // namespace bindery::bindings::loopback

BINDERY_TEST_BINDING(loopback, bindery::bindings::loopback::LoopbackInput,
                     bindery::bindings::loopback::LoopbackOutput)

namespace bindery::core {

void registerLoopbackBinding(BindingRegistry &registry)
{
    bindery_register_loopback(registry);
}

} // namespace bindery::core
