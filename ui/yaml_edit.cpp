// SPDX-License-Identifier: Apache-2.0
#include "ui/yaml_edit.h"

#include <QRegularExpression>
#include <QStringList>

namespace bindery::ui::yamledit {

namespace {

int indentOf(const QString &line)
{
    int i = 0;
    while (i < line.size() && line.at(i) == u' ')
        ++i;
    return i;
}

bool isBlankOrComment(const QString &line)
{
    const QString t = line.trimmed();
    return t.isEmpty() || t.startsWith(u'#');
}

/// The key of a `key: value` / `- key: value` line (without the dash), or empty.
QString keyOf(const QString &line, bool *dash = nullptr)
{
    QString t = line.trimmed();
    bool d = false;
    if (t.startsWith(QStringLiteral("- ")) || t == QStringLiteral("-")) {
        d = true;
        t = t.mid(1).trimmed();
    }
    if (dash)
        *dash = d;
    const int colon = t.indexOf(u':');
    if (colon <= 0)
        return {};
    if (colon + 1 < t.size() && t.at(colon + 1) != u' ')
        return {};
    QString k = t.left(colon).trimmed();
    if ((k.startsWith(u'"') && k.endsWith(u'"')) || (k.startsWith(u'\'') && k.endsWith(u'\'')))
        k = k.mid(1, k.size() - 2);
    return k;
}

/// The value part after `key:` (comment removed), unquoted.
QString valueOf(const QString &line)
{
    const int colon = line.indexOf(u':');
    QString v = line.mid(colon + 1).trimmed();
    if (v.startsWith(u'"') || v.startsWith(u'\'')) {
        const QChar q = v.at(0);
        const int end = v.indexOf(q, 1);
        return end > 0 ? v.mid(1, end - 1) : v.mid(1);
    }
    const int hash = v.indexOf(QStringLiteral(" #"));
    if (hash >= 0)
        v = v.left(hash).trimmed();
    return v;
}

/// The trailing ` # comment` of a plain or quoted scalar line, or empty.
QString trailingComment(const QString &line)
{
    const int colon = line.indexOf(u':');
    bool inSingle = false, inDouble = false;
    for (int i = colon + 1; i < line.size(); ++i) {
        const QChar c = line.at(i);
        if (c == u'"' && !inSingle && (i == 0 || line.at(i - 1) != u'\\'))
            inDouble = !inDouble;
        else if (c == u'\'' && !inDouble)
            inSingle = !inSingle;
        else if (c == u'#' && !inSingle && !inDouble && i > 0 && line.at(i - 1) == u' ')
            return QStringLiteral(" ") + line.mid(i);
    }
    return {};
}

struct Item
{
    int first = -1; ///< the `- ...` line
    int last = -1;  ///< last line belonging to the item (comments after it excluded)
    int dashIndent = 0;
    int keyIndent = 0; ///< indent of the item's keys (dash + 2 usually)
    QString name;
};

struct Layout
{
    int specLine = -1;
    int specIndent = 0;
    int specEnd = -1; ///< last line of the spec block
    int metadataLine = -1;
    int metadataIndent = 0;
    int metadataEnd = -1; ///< last non-blank line of the metadata block
    QList<Item> items;
};

Layout analyse(const QStringList &lines)
{
    Layout l;
    int docStart = 0;
    for (int i = 0; i < lines.size(); ++i) {
        const QString &line = lines.at(i);
        if (line.startsWith(QStringLiteral("---"))) {
            if (l.specLine >= 0)
                break;
            docStart = i + 1;
            continue;
        }
        if (l.specLine < 0) {
            if (indentOf(line) == 0 && keyOf(line) == QStringLiteral("spec")) {
                l.specLine = i;
                l.specIndent = 0;
                l.specEnd = i;
            }
            continue;
        }
        if (isBlankOrComment(line))
            continue;
        if (indentOf(line) <= l.specIndent)
            break;
        l.specEnd = i;
    }
    Q_UNUSED(docStart);
    if (l.specLine < 0)
        return l;
    // spec's direct keys
    int childIndent = -1;
    for (int i = l.specLine + 1; i <= l.specEnd; ++i) {
        const QString &line = lines.at(i);
        if (isBlankOrComment(line))
            continue;
        const int ind = indentOf(line);
        if (childIndent < 0)
            childIndent = ind;
        if (ind == childIndent && keyOf(line) == QStringLiteral("metadata")) {
            l.metadataLine = i;
            l.metadataIndent = ind;
            l.metadataEnd = i;
            break;
        }
    }
    if (l.metadataLine < 0)
        return l;
    // items: lines after metadata: that are deeper, or dashes at the same indent (YAML allows it)
    Item current;
    for (int i = l.metadataLine + 1; i <= l.specEnd; ++i) {
        const QString &line = lines.at(i);
        if (isBlankOrComment(line))
            continue;
        const int ind = indentOf(line);
        const bool dashLine = line.trimmed().startsWith(u'-');
        if (ind < l.metadataIndent || (ind == l.metadataIndent && !dashLine))
            break;
        l.metadataEnd = i;
        if (dashLine && (current.first < 0 || ind <= current.dashIndent)) {
            if (current.first >= 0)
                l.items << current;
            current = Item();
            current.first = i;
            current.last = i;
            current.dashIndent = ind;
            const QString afterDash = line.mid(ind + 1);
            current.keyIndent = ind + 1 + indentOf(afterDash);
        } else if (current.first >= 0) {
            current.last = i;
        }
        if (current.first >= 0 && keyOf(line) == QStringLiteral("name") && current.name.isEmpty()
            && (i == current.first || ind == current.keyIndent))
            current.name = valueOf(line);
    }
    if (current.first >= 0)
        l.items << current;
    return l;
}

const Item *findItem(const Layout &l, const QString &name)
{
    for (const Item &it : l.items) {
        if (it.name == name)
            return &it;
    }
    return nullptr;
}

QString lineEnding(const QString &text)
{
    return text.contains(QStringLiteral("\r\n")) ? QStringLiteral("\r\n") : QStringLiteral("\n");
}

QStringList splitLines(const QString &text)
{
    QString t = text;
    t.replace(QStringLiteral("\r\n"), QStringLiteral("\n"));
    return t.split(u'\n');
}

QString join(const QStringList &lines, const QString &eol)
{
    return lines.join(eol);
}

/// Replaces the value part of item `it` (value:/secretKeyRef:/envRef: and their sub-lines) by
/// `newLines`.
void replaceValue(QStringList &lines, const Item &it, const QStringList &newLines)
{
    // Find the value-ish key lines at keyIndent (or on the dash line).
    int start = -1, end = -1;
    for (int i = it.first; i <= it.last; ++i) {
        const QString &line = lines.at(i);
        if (isBlankOrComment(line))
            continue;
        const int ind = indentOf(line);
        const QString k = keyOf(line);
        const bool atKey = (i == it.first) || ind == it.keyIndent;
        if (atKey
            && (k == QStringLiteral("value") || k == QStringLiteral("secretKeyRef")
                || k == QStringLiteral("envRef"))) {
            if (i == it.first) {
                // "- value: x" first: rare; rewrite in place keeping the dash.
                start = i;
            } else {
                start = i;
            }
            end = i;
            for (int j = i + 1; j <= it.last; ++j) {
                if (isBlankOrComment(lines.at(j)))
                    continue;
                if (indentOf(lines.at(j)) > it.keyIndent)
                    end = j;
                else
                    break;
            }
            break;
        }
    }
    if (start < 0) {
        // no value yet: add it after the name line's block
        int insertAt = it.last + 1;
        for (int k = int(newLines.size()) - 1; k >= 0; --k)
            lines.insert(insertAt, newLines.at(k));
        return;
    }
    if (start == it.first) {
        // keep "- " prefix
        QStringList copy = newLines;
        copy[0] = QString(it.dashIndent, u' ') + QStringLiteral("- ") + copy[0].trimmed();
        for (int i = end; i >= start; --i)
            lines.removeAt(i);
        for (int k = int(copy.size()) - 1; k >= 0; --k)
            lines.insert(start, copy.at(k));
        return;
    }
    for (int i = end; i >= start; --i)
        lines.removeAt(i);
    for (int k = int(newLines.size()) - 1; k >= 0; --k)
        lines.insert(start, newLines.at(k));
}

QString apply(const QString &text, const QString &name, const QStringList &valueLinesRelative)
{
    // valueLinesRelative: lines relative to the item's key indent (first = "value: x")
    const QString eol = lineEnding(text);
    QStringList lines = splitLines(text);
    const Layout l = analyse(lines);
    if (const Item *it = findItem(l, name)) {
        QStringList nl;
        for (const QString &v : valueLinesRelative)
            nl << QString(it->keyIndent, u' ') + v;
        // keep a trailing comment on a single-line value
        for (int i = it->first + 1; i <= it->last; ++i) {
            if (indentOf(lines.at(i)) == it->keyIndent
                && keyOf(lines.at(i)) == QStringLiteral("value")) {
                const QString c = trailingComment(lines.at(i));
                if (!c.isEmpty() && nl.size() == 1)
                    nl[0] += c;
                break;
            }
        }
        replaceValue(lines, *it, nl);
        return join(lines, eol);
    }
    // Append a new item.
    if (l.specLine < 0) {
        lines << QStringLiteral("spec:") << QStringLiteral("  metadata:");
        const int ki = 4;
        lines << QStringLiteral("  - name: ") + formatScalar(name);
        for (const QString &v : valueLinesRelative)
            lines << QString(ki, u' ') + v;
        return join(lines, eol);
    }
    int dashIndent;
    int insertAt;
    if (l.metadataLine < 0) {
        const int childIndent = l.specIndent + 2;
        insertAt = l.specEnd + 1;
        lines.insert(insertAt++, QString(childIndent, u' ') + QStringLiteral("metadata:"));
        dashIndent = childIndent;
    } else if (!l.items.isEmpty()) {
        dashIndent = l.items.last().dashIndent;
        insertAt = l.items.last().last + 1;
    } else {
        dashIndent = l.metadataIndent;
        insertAt = l.metadataLine + 1;
        // "metadata: []" -> "metadata:"
        if (valueOf(lines.at(l.metadataLine)) == QStringLiteral("[]"))
            lines[l.metadataLine] = QString(l.metadataIndent, u' ') + QStringLiteral("metadata:");
    }
    const int ki = dashIndent + 2;
    QStringList add;
    add << QString(dashIndent, u' ') + QStringLiteral("- name: ") + formatScalar(name);
    for (const QString &v : valueLinesRelative)
        add << QString(ki, u' ') + v;
    for (int k = int(add.size()) - 1; k >= 0; --k)
        lines.insert(insertAt, add.at(k));
    return join(lines, eol);
}

} // namespace

QString formatScalar(const QString &value)
{
    if (value.isEmpty())
        return QStringLiteral("\"\"");
    static const QRegularExpression plainSafe(
        QStringLiteral("^[A-Za-z0-9_./][A-Za-z0-9_ ./:,=+-]*$"));
    const bool special = value.contains(QStringLiteral(": "))
                         || value.contains(QStringLiteral(" #")) || value.endsWith(u':')
                         || value.endsWith(u' ') || value.startsWith(u' ');
    if (!special && plainSafe.match(value).hasMatch())
        return value;
    QString out = QStringLiteral("\"");
    for (QChar c : value) {
        switch (c.unicode()) {
        case '"': out += QStringLiteral("\\\""); break;
        case '\\': out += QStringLiteral("\\\\"); break;
        case '\n': out += QStringLiteral("\\n"); break;
        case '\t': out += QStringLiteral("\\t"); break;
        case '\r': out += QStringLiteral("\\r"); break;
        default: out += c;
        }
    }
    out += u'"';
    return out;
}

QString setMetadataValue(const QString &text, const QString &name, const QString &value)
{
    return apply(text, name, {QStringLiteral("value: ") + formatScalar(value)});
}

QString setMetadataSecretRef(const QString &text, const QString &name, const QString &secretName,
                             const QString &secretKey)
{
    return apply(text, name,
                 {QStringLiteral("secretKeyRef:"),
                  QStringLiteral("  name: ") + formatScalar(secretName),
                  QStringLiteral("  key: ") + formatScalar(secretKey)});
}

QString removeMetadataItem(const QString &text, const QString &name)
{
    const QString eol = lineEnding(text);
    QStringList lines = splitLines(text);
    const Layout l = analyse(lines);
    const Item *it = findItem(l, name);
    if (!it)
        return text;
    for (int i = it->last; i >= it->first; --i)
        lines.removeAt(i);
    return join(lines, eol);
}

int metadataItemLine(const QString &text, const QString &name)
{
    const QStringList lines = splitLines(text);
    const Layout l = analyse(lines);
    const Item *it = findItem(l, name);
    return it ? it->first + 1 : 0;
}

QString setComponentName(const QString &text, const QString &from, const QString &to)
{
    QStringList lines = text.split(u'\n');
    bool inMetadata = false;
    int metadataIndent = -1;
    static const QRegularExpression nameLine(
        QStringLiteral("^(\\s+name:\\s*)(['\"]?)([^'\"#]*?)\\2(\\s*(#.*)?)$"));
    for (qsizetype i = 0; i < lines.size(); ++i) {
        const QString &line = lines.at(i);
        const QString trimmed = line.trimmed();
        const int indent = int(
            line.size() - QString(line).remove(QRegularExpression(QStringLiteral("^\\s+"))).size());
        if (trimmed.isEmpty() || trimmed.startsWith(u'#'))
            continue;
        if (trimmed == QStringLiteral("metadata:") && indent == 0) {
            inMetadata = true;
            metadataIndent = indent;
            continue;
        }
        if (inMetadata && indent <= metadataIndent)
            inMetadata = false;
        if (!inMetadata)
            continue;
        const QRegularExpressionMatch m = nameLine.match(line);
        if (m.hasMatch() && m.captured(3).trimmed() == from) {
            lines[i] = m.captured(1) + formatScalar(to) + m.captured(4);
            return lines.join(u'\n');
        }
    }
    return text;
}

} // namespace bindery::ui::yamledit
