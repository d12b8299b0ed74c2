// SPDX-License-Identifier: Apache-2.0
#include "core/app_channel.h"

namespace bindery::core {

AppChannel::~AppChannel() = default;

QString AppChannel::cleanRoute(const QString &route)
{
    QStringList out;
    for (const QString &seg : route.split(u'/', Qt::SkipEmptyParts)) {
        if (seg == QStringLiteral("."))
            continue;
        if (seg == QStringLiteral("..")) {
            if (!out.isEmpty())
                out.removeLast();
            continue;
        }
        out << seg;
    }
    return u'/' + out.join(u'/');
}

QByteArray AppChannel::canonicalHeaderKey(const QByteArray &key)
{
    QByteArray out = key;
    bool upper = true;
    for (char &c : out) {
        if (upper && c >= 'a' && c <= 'z')
            c = static_cast<char>(c - 'a' + 'A');
        else if (!upper && c >= 'A' && c <= 'Z')
            c = static_cast<char>(c - 'A' + 'a');
        upper = c == '-';
    }
    return out;
}

ProbeResult AppChannel::healthProbe(const QString &path, int timeoutMs)
{
    Q_UNUSED(timeoutMs);
    ProbeResult r;
    r.error = QStringLiteral("the %1 app channel has no health probe (%2)").arg(protocol(), path);
    return r;
}

} // namespace bindery::core
