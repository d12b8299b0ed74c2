// SPDX-License-Identifier: Apache-2.0
#include "core/binding.h"

namespace bindery::core {

QString connectionStateName(ConnectionState state)
{
    switch (state) {
    case ConnectionState::Connecting: return QStringLiteral("connecting");
    case ConnectionState::Connected: return QStringLiteral("connected");
    case ConnectionState::Reconnecting: return QStringLiteral("reconnecting");
    case ConnectionState::Failed: return QStringLiteral("failed");
    case ConnectionState::Stopped: return QStringLiteral("stopped");
    }
    return QStringLiteral("stopped");
}

QString formatWait(int ms)
{
    if (ms < 1000)
        return QStringLiteral("%1 ms").arg(qMax(0, ms));
    if (ms >= 120000 && ms % 60000 == 0)
        return QStringLiteral("%1 min").arg(ms / 60000);
    if (ms >= 120000 || ms % 1000 == 0)
        return QStringLiteral("%1 s").arg((ms + 500) / 1000);
    return QStringLiteral("%1 s").arg(QString::number(ms / 1000.0, 'f', 1));
}

QString ConnectionReport::describe() const
{
    QString text = connectionStateName(state);
    switch (state) {
    case ConnectionState::Connecting:
    case ConnectionState::Connected:
        if (!detail.isEmpty())
            text += QStringLiteral(" (%1)").arg(detail);
        return text;
    case ConnectionState::Reconnecting:
        if (nextAttemptInMs >= 0)
            text += QStringLiteral(" in ") + formatWait(nextAttemptInMs);
        if (!detail.isEmpty())
            text += QStringLiteral(": ") + detail;
        return text;
    case ConnectionState::Failed:
        if (!detail.isEmpty())
            text += QStringLiteral(": ") + detail;
        if (nextAttemptInMs > 0)
            text += QStringLiteral("; retrying in ") + formatWait(nextAttemptInMs);
        return text;
    case ConnectionState::Stopped:
        if (!detail.isEmpty())
            text += QStringLiteral(": ") + detail;
        return text;
    }
    return text;
}

} // namespace bindery::core
