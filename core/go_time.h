// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <QString>

namespace bindery::core {

/// Nanoseconds since the Unix epoch, from the real-time clock. Any thread.
qint64 nowUnixNs();

/// Go's time.Time.String() of a UTC instant: "2006-01-02 15:04:05.999999999 +0000 UTC", the
/// fraction with its trailing zeros trimmed (daprd's cron `readTimeUTC`).
QString goUtcString(qint64 unixNs);

/// Go's time.RFC3339Nano of an instant in the local zone: "2006-01-02T15:04:05.999999999Z07:00"
/// ("Z" for UTC, else "+01:00"), as daprd's logger writes its `time` field.
QString goRfc3339NanoLocal(qint64 unixNs);

} // namespace bindery::core
