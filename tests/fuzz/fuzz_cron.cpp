// SPDX-License-Identifier: Apache-2.0
// Fuzzes the cron binding's schedule parser (issue 14): robfig/cron v3 syntax as Dapr configures
// it (5 or 6 fields, names, ranges, lists, steps, `?`, @descriptors, @every <duration>). Besides
// crashes and sanitizer reports it checks that an accepted schedule's next activation is after
// the time asked about (and the one after that is later again), that parsing is deterministic
// (the same text gives the same activations), and that a refusal has a message.
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include <QDateTime>
#include <QString>

#include "core/bindings/cron/cron_schedule.h"

using bindery::bindings::cron::CronSchedule;

namespace {

[[noreturn]] void failWith(const char *what, const QString &text)
{
    std::fprintf(stderr, "fuzz_cron: %s: '%s'\n", what, text.toUtf8().left(300).constData());
    std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    const QString text
        = QString::fromUtf8(reinterpret_cast<const char *>(data), static_cast<qsizetype>(size));
    const bindery::Result<CronSchedule> first = CronSchedule::parse(text);
    const bindery::Result<CronSchedule> second = CronSchedule::parse(text);
    if (first.has_value() != second.has_value())
        failWith("parsing is not deterministic", text);
    if (!first) {
        if (first.error().message.isEmpty())
            failWith("a refused schedule without a message", text);
        return 0;
    }
    // A fixed instant (deterministic) and the real now, as the binding asks.
    static const QDateTime fixed(QDate(2026, 11, 29), QTime(12, 34, 56, 789));
    for (const QDateTime &now : {fixed, QDateTime::currentDateTime()}) {
        const QDateTime next = first->next(now);
        if (next != second->next(now))
            failWith("the same schedule gives different activations", text);
        if (!next.isValid())
            continue; // none within five years (e.g. 30 February)
        if (next <= now)
            failWith("the next activation is not after now", text);
        const QDateTime after = first->next(next);
        if (after.isValid() && after <= next)
            failWith("the activation after the next is not later", text);
    }
    return 0;
}
