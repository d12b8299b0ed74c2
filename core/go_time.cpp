// SPDX-License-Identifier: Apache-2.0
#include "core/go_time.h"

#include <cstdio>
#include <cstring>
#include <ctime>

namespace bindery::core {

namespace {

// An instant's calendar fields (UTC or local) and its fraction as Go prints it: ".123456789"
// with trailing zeros trimmed, "" for a whole second (Go's ".999999999").
struct Instant
{
    tm t{};
    char fraction[16] = {};

    Instant(qint64 unixNs, bool local)
    {
        const time_t sec = static_cast<time_t>(unixNs / 1000000000);
        const long nsec = static_cast<long>(unixNs % 1000000000);
        if (local)
            localtime_r(&sec, &t);
        else
            gmtime_r(&sec, &t);
        if (nsec == 0)
            return;
        std::snprintf(fraction, sizeof fraction, ".%09ld", nsec);
        for (size_t n = std::strlen(fraction); n > 1 && fraction[n - 1] == '0'; --n)
            fraction[n - 1] = '\0';
    }
};

} // namespace

qint64 nowUnixNs()
{
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<qint64>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

QString goUtcString(qint64 unixNs)
{
    const Instant i(unixNs, false);
    char buf[80];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02d %02d:%02d:%02d%s +0000 UTC", i.t.tm_year + 1900,
                  i.t.tm_mon + 1, i.t.tm_mday, i.t.tm_hour, i.t.tm_min, i.t.tm_sec, i.fraction);
    return QString::fromLatin1(buf);
}

QString goRfc3339NanoLocal(qint64 unixNs)
{
    const Instant i(unixNs, true);
    char zone[32] = "Z";
    if (i.t.tm_gmtoff != 0) {
        const long off = i.t.tm_gmtoff < 0 ? -i.t.tm_gmtoff : i.t.tm_gmtoff;
        std::snprintf(zone, sizeof zone, "%c%02ld:%02ld", i.t.tm_gmtoff < 0 ? '-' : '+', off / 3600,
                      (off / 60) % 60);
    }
    char buf[80];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d%s%s", i.t.tm_year + 1900,
                  i.t.tm_mon + 1, i.t.tm_mday, i.t.tm_hour, i.t.tm_min, i.t.tm_sec, i.fraction,
                  zone);
    return QString::fromLatin1(buf);
}

} // namespace bindery::core
