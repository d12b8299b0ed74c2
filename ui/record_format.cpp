// SPDX-License-Identifier: Apache-2.0
#include "ui/record_format.h"

#include <QBuffer>
#include <QDateTime>
#include <QImageReader>
#include <QJsonDocument>
#include <QRegularExpression>
#include <QSet>
#include <QStringDecoder>

#include "core/redact.h"

namespace bindery::ui::format {

namespace {

const QStringList &groupOrder()
{
    static const QStringList order{QStringLiteral("Trace context"),
                                   QStringLiteral("Kafka record"),
                                   QStringLiteral("AMQP properties"),
                                   QStringLiteral("SQS message attributes"),
                                   QStringLiteral("Event Hubs annotations"),
                                   QStringLiteral("Storage object"),
                                   QStringLiteral("HTTP"),
                                   QStringLiteral("Other")};
    return order;
}

bool isUtf8Text(const QByteArray &b)
{
    QStringDecoder decoder(QStringDecoder::Utf8, QStringDecoder::Flag::Stateless);
    const QString s = decoder(b);
    if (decoder.hasError())
        return false;
    for (const QChar c : s) {
        if (c.unicode() < 0x20 && c != u'\n' && c != u'\r' && c != u'\t')
            return false;
    }
    return true;
}

/// "1717171717171" (ms) or "1717171717" (s) since the epoch, in a plausible range: readable.
QString readableTime(const QString &value)
{
    bool ok = false;
    const qint64 n = value.toLongLong(&ok);
    if (!ok)
        return {};
    qint64 ms = 0;
    if (n > 1'000'000'000'000LL && n < 10'000'000'000'000LL)
        ms = n;
    else if (n > 1'000'000'000LL && n < 10'000'000'000LL)
        ms = n * 1000;
    else
        return {};
    return QDateTime::fromMSecsSinceEpoch(ms).toString(QStringLiteral("yyyy-MM-dd HH:mm:ss.zzz"));
}

} // namespace

QString metadataGroup(const QString &key)
{
    const QString k = key.toLower();
    static const QSet<QString> trace{QStringLiteral("traceparent"), QStringLiteral("tracestate"),
                                     QStringLiteral("baggage")};
    static const QSet<QString> amqp{
        QStringLiteral("messageid"),     QStringLiteral("correlationid"),
        QStringLiteral("contenttype"),   QStringLiteral("contentencoding"),
        QStringLiteral("replyto"),       QStringLiteral("expiration"),
        QStringLiteral("priority"),      QStringLiteral("deliverymode"),
        QStringLiteral("timestamp"),     QStringLiteral("type"),
        QStringLiteral("userid"),        QStringLiteral("appid"),
        QStringLiteral("routingkey"),    QStringLiteral("exchange"),
        QStringLiteral("redelivered"),   QStringLiteral("deliverytag"),
        QStringLiteral("consumertag"),   QStringLiteral("ttlinseconds"),
        QStringLiteral("message_id"),    QStringLiteral("correlation_id"),
        QStringLiteral("content_type"),  QStringLiteral("reply_to"),
        QStringLiteral("delivery_mode"), QStringLiteral("app_id"),
        QStringLiteral("routing_key"),   QStringLiteral("delivery_tag")};
    static const QSet<QString> sqs{QStringLiteral("receipthandle"),
                                   QStringLiteral("md5ofbody"),
                                   QStringLiteral("senttimestamp"),
                                   QStringLiteral("approximatereceivecount"),
                                   QStringLiteral("approximatefirstreceivetimestamp"),
                                   QStringLiteral("senderid"),
                                   QStringLiteral("messagegroupid"),
                                   QStringLiteral("messagededuplicationid"),
                                   QStringLiteral("sequencenumber"),
                                   QStringLiteral("queueurl")};
    static const QSet<QString> storage{
        QStringLiteral("bucket"),     QStringLiteral("key"),       QStringLiteral("name"),
        QStringLiteral("md5hash"),    QStringLiteral("crc32c"),    QStringLiteral("etag"),
        QStringLiteral("generation"), QStringLiteral("size"),      QStringLiteral("storageclass"),
        QStringLiteral("filename"),   QStringLiteral("medialink"), QStringLiteral("selflink")};
    if (trace.contains(k))
        return QStringLiteral("Trace context");
    if (k.startsWith(QStringLiteral("x-opt-")))
        return QStringLiteral("Event Hubs annotations");
    if (k.startsWith(u"__"))
        return QStringLiteral("Kafka record");
    if (k.startsWith(QStringLiteral("amqp.")) || k.startsWith(QStringLiteral("x-amqp-"))
        || amqp.contains(k))
        return QStringLiteral("AMQP properties");
    if (k.startsWith(QStringLiteral("sqs.")) || k.startsWith(QStringLiteral("aws.sqs"))
        || k.startsWith(QStringLiteral("messageattributes")) || sqs.contains(k))
        return QStringLiteral("SQS message attributes");
    if (storage.contains(k))
        return QStringLiteral("Storage object");
    if (k.startsWith(QStringLiteral("content-")) || k.startsWith(QStringLiteral("metadata."))
        || k == QStringLiteral("readtimeutc") || k == QStringLiteral("user-agent")
        || k == QStringLiteral("host") || k == QStringLiteral("date")
        || k == QStringLiteral("server"))
        return QStringLiteral("HTTP");
    return QStringLiteral("Other");
}

QString metadataHtml(const core::Headers &headers)
{
    if (headers.isEmpty())
        return QStringLiteral("<p><i>%1</i></p>").arg(QObject::tr("no metadata"));
    QMap<int, QString> byGroup;
    QMap<int, QString> names;
    for (const auto &[k, v] : headers) {
        const QString group = metadataGroup(k);
        const int order = int(groupOrder().indexOf(group));
        names.insert(order, group);
        QString shown = shownValue(k, v);
        QString note = readableTime(v);
        if (shown == v) {
            QJsonParseError pe;
            const QJsonDocument doc = QJsonDocument::fromJson(v.toUtf8(), &pe);
            if (pe.error == QJsonParseError::NoError && !doc.isNull() && v.size() > 2)
                shown = QString::fromUtf8(doc.toJson(QJsonDocument::Indented)).trimmed();
        }
        byGroup[order]
            += QStringLiteral("<tr><td valign=top><code>%1</code></td><td><pre "
                              "style='margin:0;white-space:pre-wrap'>%2</pre>%3</td></tr>")
                   .arg(k.toHtmlEscaped(), shown.toHtmlEscaped(),
                        note.isEmpty() ? QString()
                                       : QStringLiteral("<i>%1</i>").arg(note.toHtmlEscaped()));
    }
    QString html;
    const bool titled = byGroup.size() > 1 || names.first() != QStringLiteral("Other");
    for (auto it = byGroup.cbegin(); it != byGroup.cend(); ++it) {
        if (titled)
            html += QStringLiteral("<p style='margin:4px 0 0 0'><b>%1</b></p>")
                        .arg(names.value(it.key()).toHtmlEscaped());
        html += QStringLiteral("<table cellspacing=0 cellpadding=2>%1</table>").arg(it.value());
    }
    return html;
}

QString sniff(const QByteArray &bytes)
{
    if (bytes.isEmpty())
        return QStringLiteral("empty");
    QJsonParseError pe;
    const QJsonDocument doc = QJsonDocument::fromJson(bytes, &pe);
    if (pe.error == QJsonParseError::NoError && !doc.isNull())
        return QStringLiteral("json");
    if (isUtf8Text(bytes))
        return QStringLiteral("text");
    QByteArray copy = bytes;
    QBuffer buffer(&copy);
    buffer.open(QIODevice::ReadOnly);
    const QByteArray format = QImageReader::imageFormat(&buffer);
    if (!format.isEmpty())
        return QStringLiteral("image/") + QString::fromLatin1(format);
    return QStringLiteral("binary");
}

QString payloadHtml(const QByteArray &b)
{
    const QString kind = sniff(b);
    QString text;
    if (kind == QStringLiteral("empty"))
        return QStringLiteral("<p><i>%1</i></p>").arg(QObject::tr("empty"));
    if (kind == QStringLiteral("json")) {
        text = QString::fromUtf8(QJsonDocument::fromJson(b).toJson(QJsonDocument::Indented));
    } else if (kind == QStringLiteral("text")) {
        text = QString::fromUtf8(b);
    } else {
        QString head = kind.startsWith(QStringLiteral("image/"))
                           ? QObject::tr("%1 image, %2 bytes (the composer's response shows it)")
                                 .arg(kind.mid(6).toUpper())
                                 .arg(b.size())
                           : QObject::tr("binary, %1 bytes").arg(b.size());
        return QStringLiteral("<p><i>%1</i></p><pre>%2</pre>")
            .arg(head.toHtmlEscaped(), hexDump(b, 4096).toHtmlEscaped());
    }
    if (text.size() > 200000)
        text = text.left(200000) + QStringLiteral("\n…");
    return QStringLiteral("<pre style='white-space:pre-wrap'>%1</pre>").arg(text.toHtmlEscaped());
}

QString hexDump(const QByteArray &b, int max)
{
    QString out;
    const int n = std::min<int>(int(b.size()), max);
    for (int off = 0; off < n; off += 16) {
        out += QStringLiteral("%1  ").arg(off, 8, 16, QLatin1Char('0'));
        QString ascii;
        for (int i = 0; i < 16; ++i) {
            if (off + i < n) {
                const quint8 c = quint8(b.at(off + i));
                out += QStringLiteral("%1 ").arg(c, 2, 16, QLatin1Char('0'));
                ascii += (c >= 0x20 && c < 0x7f) ? QChar(char16_t(c)) : QChar(u'.');
            } else {
                out += QStringLiteral("   ");
            }
            if (i == 7)
                out += u' ';
        }
        out += QStringLiteral(" |") + ascii + QStringLiteral("|\n");
    }
    if (b.size() > max)
        out += QStringLiteral("… %1 more bytes\n").arg(b.size() - max);
    return out;
}

bool isSecretKey(const QString &key)
{
    static const QRegularExpression secret(
        QStringLiteral("(password|passwd|pwd|secret|apikey|api[-_]key|accesskey|access[-_]key|"
                       "accountkey|sharedaccess|sastoken|private[-_]?key|credentials?$|"
                       "connectionstring|authorization|(^|[-_.])token$|access[-_]?token)"),
        QRegularExpression::CaseInsensitiveOption);
    return secret.match(key).hasMatch();
}

QString shownValue(const QString &key, const QString &value)
{
    if (value.isEmpty())
        return value;
    if (isSecretKey(key))
        return QString::fromUtf16(kMask);
    return maskSecrets(value);
}

QString maskSecrets(const QString &text)
{
    static const QRegularExpression pairs(
        QStringLiteral("((?:SharedAccessKey|SharedAccessSignature|AccountKey|Password|Pwd|"
                       "SecretAccessKey|sig|token)\\s*=\\s*)([^;&\\s\"]+)"),
        QRegularExpression::CaseInsensitiveOption);
    static const QRegularExpression urlPassword(
        QStringLiteral("(\\b[a-z][a-z0-9+.-]*://[^:/@\\s]+:)([^@/\\s]+)(@)"),
        QRegularExpression::CaseInsensitiveOption);
    static const QRegularExpression pem(QStringLiteral(
        "-----BEGIN ([A-Z ]*)PRIVATE KEY-----[\\s\\S]*?-----END \\1PRIVATE KEY-----"));
    static const QRegularExpression jsonKey(
        QStringLiteral("(\"private_key\"\\s*:\\s*\")((?:[^\"\\\\]|\\\\.)*)(\")"));
    QString out = text;
    const QString mask = QString::fromUtf16(kMask);
    out.replace(pairs, QStringLiteral("\\1") + mask);
    out.replace(urlPassword, QStringLiteral("\\1") + mask + QStringLiteral("\\3"));
    out.replace(pem, QStringLiteral("-----BEGIN PRIVATE KEY-----") + mask
                         + QStringLiteral("-----END PRIVATE KEY-----"));
    out.replace(jsonKey, QStringLiteral("\\1") + mask + QStringLiteral("\\3"));
    // And every value taken from a secret store, which no pattern can know.
    return core::redacted(out);
}

core::TrafficRecord masked(core::TrafficRecord r)
{
    for (auto *h : {&r.metadata, &r.responseHeaders}) {
        for (auto &[k, v] : *h)
            v = shownValue(k, v);
    }
    r.error = maskSecrets(r.error);
    return r;
}

} // namespace bindery::ui::format
