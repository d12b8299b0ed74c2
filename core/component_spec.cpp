// SPDX-License-Identifier: Apache-2.0
#include "core/component_spec.h"

#include <limits>

#include <QRegularExpression>

namespace bindery::core {

const MetadataItem *ComponentSpec::item(const QString &key) const
{
    // Last entry wins, like a map built in file order.
    for (auto it = items.crbegin(); it != items.crend(); ++it) {
        if (it->name.compare(key, Qt::CaseInsensitive) == 0)
            return &*it;
    }
    return nullptr;
}

QString ComponentSpec::property(const QString &key, const QString &fallback) const
{
    const MetadataItem *found = item(key);
    return found ? found->value : fallback;
}

bool ComponentSpec::hasProperty(const QString &key) const
{
    const MetadataItem *found = item(key);
    return found && !found->value.isEmpty();
}

QString ComponentSpec::exactProperty(const QString &key, const QString &fallback) const
{
    for (auto it = items.crbegin(); it != items.crend(); ++it) {
        if (it->name == key)
            return it->value;
    }
    return fallback;
}

QMap<QString, QString> ComponentSpec::properties() const
{
    QMap<QString, QString> out;
    for (const MetadataItem &i : items)
        out.insert(i.name, i.value);
    return out;
}

bool ComponentSpec::hasKnownCategory() const
{
    static const QStringList categories
        = {QStringLiteral("bindings."),      QStringLiteral("state."),
           QStringLiteral("pubsub."),        QStringLiteral("secretstores."),
           QStringLiteral("configuration."), QStringLiteral("lock."),
           QStringLiteral("middleware."),    QStringLiteral("crypto."),
           QStringLiteral("conversation."),  QStringLiteral("nameresolution.")};
    for (const QString &c : categories) {
        if (type.startsWith(c))
            return true;
    }
    return false;
}

QString ComponentSpec::logName() const
{
    if (version.isEmpty())
        return name + QStringLiteral(" (") + type + u')';
    return name + QStringLiteral(" (") + type + u'/' + version + u')';
}

bool parseDaprBool(const QString &text, bool *ok)
{
    const QString t = text.trimmed().toLower();
    static const QStringList yes
        = {QStringLiteral("y"), QStringLiteral("yes"), QStringLiteral("true"),
           QStringLiteral("t"), QStringLiteral("on"),  QStringLiteral("1")};
    static const QStringList no
        = {QStringLiteral("n"), QStringLiteral("no"),  QStringLiteral("false"),
           QStringLiteral("f"), QStringLiteral("off"), QStringLiteral("0")};
    if (ok)
        *ok = yes.contains(t) || no.contains(t);
    return yes.contains(t);
}

bool parseGoDuration(const QString &text, qint64 *milliseconds)
{
    const QString t = text.trimmed();
    if (t.isEmpty())
        return false;
    // Dapr's decode hook takes a plain integer as seconds.
    // Go's time.Duration holds int64 nanoseconds: about 292 years either way. Beyond that Go's
    // parser says "invalid duration" (and its integer decoding wraps); here it is refused.
    constexpr qint64 kMaxMs = std::numeric_limits<qint64>::max() / 1000000;
    bool isInt = false;
    const qint64 plain = t.toLongLong(&isInt);
    if (isInt) {
        if (plain > kMaxMs / 1000 || plain < -kMaxMs / 1000)
            return false;
        *milliseconds = plain * 1000;
        return true;
    }
    static const QRegularExpression part(QStringLiteral("([0-9]*\\.?[0-9]+)(ns|us|µs|ms|s|m|h)"));
    qsizetype pos = 0;
    bool negative = false;
    QString body = t;
    if (body.startsWith(u'-') || body.startsWith(u'+')) {
        negative = body.startsWith(u'-');
        body = body.mid(1);
    }
    if (body == QStringLiteral("0")) {
        *milliseconds = 0;
        return true;
    }
    double total = 0;
    while (pos < body.size()) {
        const QRegularExpressionMatch m = part.match(body, pos, QRegularExpression::NormalMatch,
                                                     QRegularExpression::AnchorAtOffsetMatchOption);
        if (!m.hasMatch())
            return false;
        const double v = m.captured(1).toDouble();
        const QString unit = m.captured(2);
        double factor = 1;
        if (unit == QStringLiteral("ns"))
            factor = 1e-6;
        else if (unit == QStringLiteral("us") || unit == QStringLiteral("µs"))
            factor = 1e-3;
        else if (unit == QStringLiteral("ms"))
            factor = 1;
        else if (unit == QStringLiteral("s"))
            factor = 1000;
        else if (unit == QStringLiteral("m"))
            factor = 60000;
        else if (unit == QStringLiteral("h"))
            factor = 3600000;
        total += v * factor;
        pos = m.capturedEnd(0);
    }
    if (!(total <= double(kMaxMs))) // also NaN and infinity
        return false;
    *milliseconds = static_cast<qint64>(negative ? -total : total);
    return true;
}

bool parseByteSize(const QString &text, qint64 *bytes)
{
    static const QRegularExpression re(
        QStringLiteral("^\\s*([0-9]+(?:\\.[0-9]+)?)\\s*([KMGTkmgt]?)(i?)([Bb]?)\\s*$"));
    const QRegularExpressionMatch m = re.match(text);
    if (!m.hasMatch())
        return false;
    double v = m.captured(1).toDouble();
    const QString unit = m.captured(2).toUpper();
    const bool binary = !m.captured(3).isEmpty();
    const double base = binary ? 1024.0 : 1000.0;
    int power = 0;
    if (unit == QStringLiteral("K"))
        power = 1;
    else if (unit == QStringLiteral("M"))
        power = 2;
    else if (unit == QStringLiteral("G"))
        power = 3;
    else if (unit == QStringLiteral("T"))
        power = 4;
    for (int i = 0; i < power; ++i)
        v *= base;
    *bytes = static_cast<qint64>(v);
    return true;
}

} // namespace bindery::core
