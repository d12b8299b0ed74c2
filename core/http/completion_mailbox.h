// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include <QMetaObject>
#include <QObject>
#include <QPointer>

namespace bindery::core {

/**
 * @brief Hands completions from any thread to one QObject's thread, one wake-up per batch.
 *
 * A binding that settles many calls at once (a batch of publisher confirms, a librdkafka
 * delivery-report poll) would otherwise post one queued call each, and Qt's GLib event
 * dispatcher writes its wake-up eventfd once per posted event: a syscall per completion on
 * the settling thread. Here only the post that finds the mailbox empty posts an event; the
 * target's thread then runs everything queued so far, in order.
 *
 * Shared (std::shared_ptr) by the target and every pending callback, so a completion that fires
 * after the target is gone is dropped without touching freed memory.
 */
class CompletionMailbox : public std::enable_shared_from_this<CompletionMailbox>
{
public:
    explicit CompletionMailbox(QObject *target)
        : m_target(target)
    {
    }

    /// Any thread. Runs `fn` on the target's thread, after everything posted before it.
    void post(std::function<void()> fn)
    {
        bool first = false;
        {
            std::lock_guard lock(m_mutex);
            first = m_items.empty();
            m_items.push_back(std::move(fn));
        }
        if (!first || !m_target)
            return;
        std::weak_ptr<CompletionMailbox> weak = weak_from_this();
        QMetaObject::invokeMethod(
            m_target.data(),
            [weak] {
                if (const std::shared_ptr<CompletionMailbox> self = weak.lock())
                    self->drain();
            },
            Qt::QueuedConnection);
    }

private:
    void drain()
    {
        std::vector<std::function<void()>> batch;
        {
            std::lock_guard lock(m_mutex);
            batch.swap(m_items);
        }
        for (std::function<void()> &fn : batch)
            fn();
    }

    QPointer<QObject> m_target;
    std::mutex m_mutex;
    std::vector<std::function<void()>> m_items;
};

} // namespace bindery::core
