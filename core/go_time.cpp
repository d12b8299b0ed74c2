// SPDX-License-Identifier: Apache-2.0
#include "core/go_time.h"

#include <cstdio>
#include <cstring>
#include <ctime>

namespace bindery::core {

namespace {

// ".123456789" with trailing zeros trimmed, or "" for a whole second (Go's ".999999999").
void appendFraction(char *out, size_t size, long nsec)
{
    if (nsec == 0) {
        out[0] = '\0';
        return;
    }
    std::snprintf(out, size, ".%09ld", nsec);
    for (size_t n = std::strlen(out); n > 1 && out[n - 1] == '0'; --n)
        out[n - 1] = '\0';
}

} // namespace

qint64 nowUnixNs()
{
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<qint64>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

QString goUtcString(qint64 unixNs)
{
    const time_t sec = static_cast<time_t>(unixNs / 1000000000);
    const long nsec = static_cast<long>(unixNs % 1000000000);
    tm t{};
    gmtime_r(&sec, &t);
    char fraction[16];
    appendFraction(fraction, sizeof fraction, nsec);
    char buf[80];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02d %02d:%02d:%02d%s +0000 UTC", t.tm_year + 1900,
                  t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec, fraction);
    return QString::fromLatin1(buf);
}

QString goRfc3339NanoLocal(qint64 unixNs)
{
    const time_t sec = static_cast<time_t>(unixNs / 1000000000);
    const long nsec = static_cast<long>(unixNs % 1000000000);
    tm t{};
    localtime_r(&sec, &t);
    char fraction[16];
    appendFraction(fraction, sizeof fraction, nsec);
    char zone[32] = "Z";
    if (t.tm_gmtoff != 0) {
        const long off = t.tm_gmtoff < 0 ? -t.tm_gmtoff : t.tm_gmtoff;
        std::snprintf(zone, sizeof zone, "%c%02ld:%02ld", t.tm_gmtoff < 0 ? '-' : '+', off / 3600,
                      (off / 60) % 60);
    }
    char buf[80];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d%s%s", t.tm_year + 1900,
                  t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec, fraction, zone);
    return QString::fromLatin1(buf);
}

} // namespace bindery::core
