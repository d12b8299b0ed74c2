// SPDX-License-Identifier: Apache-2.0
#include "ui/editors/yaml_editor.h"

#include <QFontDatabase>
#include <QRegularExpression>
#include <QShortcut>

#include "ui/theme.h"
#include <QToolTip>

#include <Qsci/qscilexeryaml.h>

#include "core/binding_registry.h"

namespace bindery::ui {

YamlEditor::YamlEditor(const core::BindingRegistry &registry, QWidget *parent)
    : QsciScintilla(parent)
    , m_registry(registry)
{
    const QFont mono = QFontDatabase::systemFont(QFontDatabase::FixedFont);
    auto *lexer = new QsciLexerYAML(this);
    lexer->setDefaultFont(mono);
    lexer->setFont(mono);
    lexer->setFoldComments(true);
    setLexer(lexer);
    setUtf8(true);
    setFolding(QsciScintilla::BoxedTreeFoldStyle, 3);
    setAutoIndent(true);
    setIndentationsUseTabs(false);
    setIndentationWidth(2);
    setTabWidth(2);
    setBraceMatching(QsciScintilla::NoBraceMatch);
    setCaretLineVisible(true);
    applyPalette();
    setEolMode(QsciScintilla::EolUnix);

    // Margin 0: line numbers; margin 1: diagnostic markers; margin 3: folding.
    setMarginType(0, QsciScintilla::NumberMargin);
    setMarginWidth(0, QStringLiteral("00000"));
    setMarginsFont(mono);
    setMarginType(1, QsciScintilla::SymbolMargin);
    setMarginWidth(1, 16);
    setMarginSensitivity(1, true);
    markerDefine(QsciScintilla::Circle, ErrorMarker);
    markerDefine(QsciScintilla::Circle, WarningMarker);
    setMarginMarkerMask(1, (1 << ErrorMarker) | (1 << WarningMarker));
    m_errorIndicator = indicatorDefine(QsciScintilla::SquiggleIndicator, 8);
    m_warningIndicator = indicatorDefine(QsciScintilla::SquiggleIndicator, 9);
    applyPalette();

    SendScintilla(SCI_SETMOUSEDWELLTIME, 400);
    connect(this, &QsciScintillaBase::SCN_DWELLSTART, this, &YamlEditor::onDwell);
    connect(this, &QsciScintillaBase::SCN_DWELLEND, this, []() { QToolTip::hideText(); });
    connect(this, &QsciScintillaBase::SCN_CHARADDED, this, &YamlEditor::onCharAdded);
    connect(this, &QsciScintilla::userListActivated, this, &YamlEditor::onUserList);
    // Ctrl+Space is the window's Edit ▸ Complete, which completes in the current editor (a
    // shortcut of the editor's own made the key ambiguous: neither fired).
}

void applyPaletteTo(QsciScintilla *editor)
{
    // Scintilla paints its own colours: give it the palette's, so light and dark themes both read.
    const QPalette pal = editor->palette();
    const QColor text = pal.color(QPalette::Text);
    const QColor base = pal.color(QPalette::Base);
    if (QsciLexer *l = editor->lexer()) {
        l->setDefaultPaper(base);
        l->setPaper(base);
        l->setDefaultColor(text);
        if (theme::isDark(pal)) {
            // The lexer's own styles are for light backgrounds: lift them on dark ones.
            for (int style = 0; style <= 127; ++style) {
                const QColor c = l->color(style);
                if (c.lightness() < 140)
                    l->setColor(QColor::fromHsl(c.hslHue() < 0 ? 0 : c.hslHue(), c.hslSaturation(),
                                                std::max(170, 255 - c.lightness())),
                                style);
            }
        }
    }
    editor->setCaretForegroundColor(text);
    editor->setCaretLineBackgroundColor(pal.color(QPalette::AlternateBase));
    editor->setMarginsBackgroundColor(pal.color(QPalette::Window));
    editor->setMarginsForegroundColor(theme::colour(theme::Role::Muted, pal));
    editor->setFoldMarginColors(pal.color(QPalette::Window), pal.color(QPalette::Window));
    editor->setSelectionBackgroundColor(pal.color(QPalette::Highlight));
    editor->setSelectionForegroundColor(pal.color(QPalette::HighlightedText));
}

void YamlEditor::applyPalette()
{
    applyPaletteTo(this);
    const QPalette pal = palette();
    const QColor error = theme::colour(theme::Role::Error, pal);
    const QColor warning = theme::colour(theme::Role::Warning, pal);
    setMarkerBackgroundColor(error, ErrorMarker);
    setMarkerForegroundColor(error.darker(150), ErrorMarker);
    setMarkerBackgroundColor(warning, WarningMarker);
    setMarkerForegroundColor(warning.darker(150), WarningMarker);
    setIndicatorForegroundColor(error, m_errorIndicator);
    setIndicatorForegroundColor(warning, m_warningIndicator);
}

void YamlEditor::setDiagnostics(const core::Diagnostics &diagnostics)
{
    m_diagnostics = diagnostics;
    const int lastLine = std::max(0, lines() - 1);
    clearIndicatorRange(0, 0, lastLine, lineLength(lastLine), m_errorIndicator);
    clearIndicatorRange(0, 0, lastLine, lineLength(lastLine), m_warningIndicator);
    markerDeleteAll(ErrorMarker);
    markerDeleteAll(WarningMarker);
    for (const core::Diagnostic &d : diagnostics) {
        if (d.severity == core::Diagnostic::Severity::Info)
            continue;
        int line = std::clamp(d.location.line, 1, std::max(1, lines())) - 1;
        const QString t = text(line);
        int start = d.location.column > 0 ? d.location.column - 1 : 0;
        // Underline from the first non-blank (after a list dash) to the end of the text.
        if (d.location.column <= 0) {
            while (start < t.size() && (t.at(start) == u' ' || t.at(start) == u'-'))
                ++start;
        }
        int end = int(t.size());
        while (end > start
               && (t.at(end - 1) == u'\n' || t.at(end - 1) == u'\r' || t.at(end - 1) == u' '))
            --end;
        if (end <= start)
            end = start + 1;
        const bool error = d.isError();
        fillIndicatorRange(line, start, line, end, error ? m_errorIndicator : m_warningIndicator);
        if (error) {
            markerDelete(line, WarningMarker);
            markerAdd(line, ErrorMarker);
        } else if (!(markersAtLine(line) & (1 << ErrorMarker))) {
            markerAdd(line, WarningMarker);
        }
    }
}

core::Diagnostics YamlEditor::diagnosticsAt(int line) const
{
    core::Diagnostics out;
    const int total = std::max(1, lines());
    for (const core::Diagnostic &d : m_diagnostics) {
        if (std::clamp(d.location.line, 1, total) == line)
            out << d;
    }
    return out;
}

void YamlEditor::onDwell(int position, int x, int y)
{
    if (position < 0)
        return;
    int line = 0, index = 0;
    lineIndexFromPosition(position, &line, &index);
    const core::Diagnostics here = diagnosticsAt(line + 1);
    if (here.isEmpty())
        return;
    QStringList parts;
    for (const core::Diagnostic &d : here) {
        QString s
            = (d.isError() ? QStringLiteral("<b>error</b>: ") : QStringLiteral("<b>warning</b>: "))
              + d.message.toHtmlEscaped();
        if (!d.suggestion.isEmpty() && !d.message.contains(d.suggestion))
            s += QStringLiteral(" — did you mean <code>%1</code>?")
                     .arg(d.suggestion.toHtmlEscaped());
        parts << s;
    }
    QToolTip::showText(mapToGlobal(QPoint(x, y + 12)), parts.join(QStringLiteral("<br>")), this);
}

QString YamlEditor::componentType() const
{
    static const QRegularExpression re(QStringLiteral("^\\s+type:\\s*[\"']?([A-Za-z0-9_.\\-/]+)"),
                                       QRegularExpression::MultilineOption);
    const QRegularExpressionMatch m = re.match(text());
    return m.hasMatch() ? m.captured(1) : QString();
}

const core::BindingMetadata *YamlEditor::metadata() const
{
    const core::BindingDescriptor *d = m_registry.find(componentType());
    return d ? &d->metadata : nullptr;
}

QStringList YamlEditor::completionsAtCursor(int *listId) const
{
    int line = 0, index = 0;
    getCursorPosition(&line, &index);
    const QString before = text(line).left(index);
    static const QRegularExpression nameRe(QStringLiteral("^\\s*-?\\s*name:\\s*\\S*$"));
    static const QRegularExpression valueRe(QStringLiteral("^\\s*-?\\s*value:\\s*\\S*$"));
    static const QRegularExpression typeRe(QStringLiteral("^\\s*type:\\s*\\S*$"));
    *listId = 0;
    if (typeRe.match(before).hasMatch()) {
        *listId = TypeList;
        QStringList types;
        for (const core::BindingDescriptor *d : m_registry.all())
            types << d->type;
        return types;
    }
    const core::BindingMetadata *meta = metadata();
    if (!meta)
        return {};
    // Only inside spec.metadata (an item's name has an indented dash line above "metadata:").
    if (nameRe.match(before).hasMatch() && before.trimmed().startsWith(u'-')) {
        *listId = NameList;
        QStringList names;
        const QString all = text();
        for (const core::MetadataField &f : meta->fields) {
            if (f.deprecated)
                continue;
            // Skip names already written.
            const QRegularExpression used(
                QStringLiteral("^\\s*-\\s*name:\\s*[\"']?%1[\"']?\\s*(#.*)?$")
                    .arg(QRegularExpression::escape(f.name)),
                QRegularExpression::MultilineOption);
            if (!used.match(all).hasMatch())
                names << f.name;
        }
        return names;
    }
    if (valueRe.match(before).hasMatch()) {
        // The field: the nearest "name:" above.
        static const QRegularExpression itemName(
            QStringLiteral("^\\s*-?\\s*name:\\s*[\"']?([^\"'#\\s]+)"));
        for (int l = line; l >= 0 && l >= line - 4; --l) {
            const QRegularExpressionMatch m = itemName.match(text(l));
            if (!m.hasMatch())
                continue;
            const core::MetadataField *f = meta->field(m.captured(1));
            if (!f)
                return {};
            *listId = ValueList;
            if (!f->allowedValues.isEmpty())
                return f->allowedValues;
            if (f->type == QStringLiteral("bool"))
                return {QStringLiteral("true"), QStringLiteral("false")};
            QStringList v;
            if (!f->defaultValue.isEmpty())
                v << f->defaultValue;
            if (!f->example.isEmpty() && !v.contains(f->example))
                v << f->example;
            return v;
        }
    }
    return {};
}

void YamlEditor::complete()
{
    int id = 0;
    const QStringList items = completionsAtCursor(&id);
    if (id != 0 && !items.isEmpty())
        showUserList(id, items);
}

void YamlEditor::onCharAdded(int ch)
{
    if (ch == ' ') {
        int line = 0, index = 0;
        getCursorPosition(&line, &index);
        const QString before = text(line).left(index).trimmed();
        if (before.endsWith(QStringLiteral("name:")) || before.endsWith(QStringLiteral("value:"))
            || before == QStringLiteral("type:"))
            complete();
    }
}

void YamlEditor::onUserList(int id, const QString &chosen)
{
    Q_UNUSED(id);
    int line = 0, index = 0;
    getCursorPosition(&line, &index);
    const QString lineText = text(line);
    // Replace the word being typed after the colon.
    int start = index;
    while (start > 0 && lineText.at(start - 1) != u' ' && lineText.at(start - 1) != u':')
        --start;
    setSelection(line, start, line, index);
    QString value = chosen;
    if (id == ValueList) {
        static const QRegularExpression plain(
            QStringLiteral("^[A-Za-z0-9_./-][A-Za-z0-9_ ./:-]*$"));
        if (!plain.match(value).hasMatch() || value.contains(QStringLiteral(": ")))
            value = QStringLiteral("\"%1\"").arg(value);
    }
    replaceSelectedText(value);
}

} // namespace bindery::ui
