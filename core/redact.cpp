// SPDX-License-Identifier: Apache-2.0
#include "core/redact.h"

#include <algorithm>

#include <QUrl>

namespace bindery::core {

namespace {

inline char16_t unit(const QString &s, qsizetype i)
{
    return s.at(i).unicode();
}

inline char16_t unit(const QByteArray &s, qsizetype i)
{
    return static_cast<unsigned char>(s.at(i));
}

inline QLatin1String separator(const QString &)
{
    return QLatin1String("://");
}

inline QByteArrayView separator(const QByteArray &)
{
    return QByteArrayView("://");
}

inline QString mask(const QString &)
{
    return QString::fromLatin1(kRedactedMask);
}

inline QByteArray mask(const QByteArray &)
{
    return QByteArray(kRedactedMask);
}

bool isSchemeChar(char16_t c)
{
    return (c >= u'a' && c <= u'z') || (c >= u'A' && c <= u'Z') || (c >= u'0' && c <= u'9')
           || c == u'+' || c == u'-' || c == u'.';
}

bool endsAuthority(char16_t c)
{
    return c == u'/' || c == u'?' || c == u'#' || c == u'"' || c == u'\'' || c == u'\\' || c == u'<'
           || c == u'>' || c == u' ' || c == u'\t' || c == u'\r' || c == u'\n' || c == u'`'
           || c == u',' || c == u';' || c == u')' || c == u']' || c == u'}';
}

/// Calls `found(passwordStart, passwordEnd)` for each `scheme://user:password@` in `text`,
/// last one first (so a caller may replace in place).
template <typename Text, typename Found> void forEachUrlPassword(const Text &text, Found found)
{
    struct Span
    {
        qsizetype begin, end;
    };
    QList<Span> spans;
    const qsizetype n = text.size();
    qsizetype from = 0;
    while (from < n) {
        const qsizetype sep = text.indexOf(separator(text), from);
        if (sep < 0)
            break;
        from = sep + 3;
        qsizetype s = sep;
        while (s > 0 && isSchemeChar(unit(text, s - 1)))
            --s;
        if (s == sep)
            continue; // no scheme before "://"
        qsizetype e = sep + 3;
        qsizetype at = -1;
        while (e < n && !endsAuthority(unit(text, e))) {
            if (unit(text, e) == u'@')
                at = e;
            ++e;
        }
        from = e;
        if (at < 0)
            continue;
        qsizetype colon = -1;
        for (qsizetype k = sep + 3; k < at; ++k) {
            if (unit(text, k) == u':') {
                colon = k;
                break;
            }
        }
        if (colon >= 0 && colon + 1 < at)
            spans.append({colon + 1, at});
    }
    for (auto it = spans.crbegin(); it != spans.crend(); ++it)
        found(it->begin, it->end);
}

template <typename Text> Text maskPasswords(const Text &text)
{
    if (!text.contains(separator(text)))
        return text;
    Text out = text;
    const Text hidden = mask(text);
    forEachUrlPassword(text, [&](qsizetype begin, qsizetype end) {
        if (out.mid(begin, end - begin) != hidden)
            out.replace(begin, end - begin, hidden);
    });
    return out;
}

} // namespace

QString maskUrlPasswords(const QString &text)
{
    return maskPasswords(text);
}

QByteArray maskUrlPasswords(const QByteArray &text)
{
    return maskPasswords(text);
}

QStringList urlPasswords(const QString &text)
{
    QStringList out;
    forEachUrlPassword(text, [&](qsizetype begin, qsizetype end) {
        const QString written = text.mid(begin, end - begin);
        out << written;
        const QString decoded = QUrl::fromPercentEncoding(written.toUtf8());
        if (decoded != written)
            out << decoded;
    });
    return out;
}

Redactor &Redactor::global()
{
    static Redactor instance;
    return instance;
}

void Redactor::learn(const QList<ComponentSpec> &components)
{
    for (const ComponentSpec &c : components) {
        for (const MetadataItem &item : c.items) {
            if (!item.secretName.isEmpty())
                learnValue(item.value);
            for (const QString &password : urlPasswords(item.value))
                learnValue(password);
        }
    }
}

void Redactor::learnValue(const QString &value)
{
    if (value.size() < kMinimumLength || value == QLatin1String(kRedactedMask))
        return;
    std::lock_guard lock(m_mutex);
    if (m_values->text.contains(value))
        return;
    auto next = std::make_shared<Values>(*m_values);
    next->text << value;
    std::stable_sort(next->text.begin(), next->text.end(),
                     [](const QString &a, const QString &b) { return a.size() > b.size(); });
    next->bytes.clear();
    for (const QString &v : std::as_const(next->text))
        next->bytes << v.toUtf8();
    m_values = std::move(next);
    m_any.store(true, std::memory_order_release);
}

std::shared_ptr<const Redactor::Values> Redactor::snapshot() const
{
    std::lock_guard lock(m_mutex);
    return m_values;
}

qsizetype Redactor::size() const
{
    return snapshot()->text.size();
}

QString Redactor::redact(const QString &text) const
{
    QString out = maskUrlPasswords(text);
    if (!m_any.load(std::memory_order_acquire) || out.isEmpty())
        return out;
    const std::shared_ptr<const Values> values = snapshot();
    for (const QString &v : values->text)
        out.replace(v, QLatin1String(kRedactedMask));
    return out;
}

QByteArray Redactor::redact(const QByteArray &text) const
{
    QByteArray out = maskUrlPasswords(text);
    if (!m_any.load(std::memory_order_acquire) || out.isEmpty())
        return out;
    const std::shared_ptr<const Values> values = snapshot();
    for (const QByteArray &v : values->bytes)
        out.replace(v, QByteArray(kRedactedMask));
    return out;
}

} // namespace bindery::core
