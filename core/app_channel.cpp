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

AppReply deliverRecorded(AppChannel &channel, TrafficStream &traffic, TrafficRecord record,
                         const QString &route, const BindingEvent &event, int timeoutMs,
                         const std::function<QString(const AppReply &)> &outcome)
{
    record.id = traffic.nextId();
    record.kind = TrafficRecord::Kind::Input;
    record.operation = QStringLiteral("deliver");
    record.metadata = event.metadata;
    record.payload = event.data;
    record.eventKey = event.eventKey;
    record.attempt = event.attempt;
    record.redelivered = event.redelivered;
    record.properties = event.properties;
    record.startedUs = nowUs();
    if (traffic.startRecords()) { // the console shows the delivery while the app works
        TrafficRecord started = record;
        started.pending = true;
        traffic.push(std::move(started));
    }
    Headers responseHeaders;
    AppReply reply = channel.deliver(record.binding, route, event, timeoutMs, &responseHeaders);
    record.latencyUs = nowUs() - record.startedUs;
    record.status = reply.status;
    record.ok = reply.ok();
    record.error = reply.error;
    record.responseHeaders = std::move(responseHeaders);
    record.responseBody = reply.body;
    record.outcome = outcome(reply);
    traffic.push(std::move(record));
    return reply;
}

} // namespace bindery::core
