// SPDX-License-Identifier: Apache-2.0
#include "ui/editors/editor_pane.h"

#include <QFile>
#include <QFileInfo>
#include <QHeaderView>
#include <QInputDialog>
#include <QLabel>
#include <QSaveFile>
#include <QScrollArea>
#include <QSplitter>
#include <QTabWidget>
#include <QTimer>
#include <QTreeWidget>
#include <QVBoxLayout>

#include "core/binding_registry.h"
#include "core/component_loader.h"
#include "core/runtime.h"
#include "ui/editors/component_form.h"
#include "ui/editors/find_replace_bar.h"
#include "ui/editors/yaml_editor.h"
#include "ui/theme.h"
#include "ui/yaml_edit.h"

namespace bindery::ui {

namespace {
constexpr int FixFromRole = Qt::UserRole + 1;
constexpr int FixToRole = Qt::UserRole + 2;
} // namespace

EditorPane::EditorPane(const core::BindingRegistry &registry, const QString &path, QWidget *parent)
    : QWidget(parent)
    , m_registry(registry)
    , m_path(path)
{
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    m_status = new QLabel(this);
    m_status->setTextFormat(Qt::RichText);
    m_status->setWordWrap(true);
    m_status->setContentsMargins(6, 4, 6, 4);
    m_status->setText(theme::span(theme::Role::Muted, path));
    layout->addWidget(m_status);

    auto *splitter = new QSplitter(Qt::Vertical, this);
    m_tabs = new QTabWidget(splitter);
    m_tabs->setDocumentMode(true);
    m_editor = new YamlEditor(registry, m_tabs);
    auto *yamlPage = new QWidget(m_tabs);
    auto *yl = new QVBoxLayout(yamlPage);
    yl->setContentsMargins(0, 0, 0, 0);
    m_editor->setParent(yamlPage);
    yl->addWidget(m_editor, 1);
    m_find = new FindReplaceBar(m_editor, yamlPage);
    yl->addWidget(m_find);
    m_tabs->addTab(yamlPage, tr("YAML"));
    auto *scroll = new QScrollArea(m_tabs);
    scroll->setWidgetResizable(true);
    m_form = new ComponentForm(scroll);
    scroll->setWidget(m_form);
    m_tabs->addTab(scroll, tr("Form"));

    m_problems = new QTreeWidget(splitter);
    m_problems->setRootIsDecorated(false);
    m_problems->setUniformRowHeights(true);
    m_problems->setHeaderLabels({tr("Line"), tr("Severity"), tr("Field"), tr("Problem")});
    m_problems->header()->setStretchLastSection(true);
    m_problems->setColumnWidth(0, 50);
    m_problems->setColumnWidth(1, 70);
    m_problems->setColumnWidth(2, 130);
    splitter->addWidget(m_tabs);
    splitter->addWidget(m_problems);
    splitter->setStretchFactor(0, 4);
    splitter->setStretchFactor(1, 1);
    layout->addWidget(splitter, 1);

    m_debounce = new QTimer(this);
    m_debounce->setSingleShot(true);
    m_debounce->setInterval(250);
    connect(m_debounce, &QTimer::timeout, this, &EditorPane::recheck);
    connect(m_editor, &QsciScintilla::textChanged, this, &EditorPane::onTextChanged);
    connect(m_editor, &QsciScintilla::modificationChanged, this, &EditorPane::modificationChanged);
    connect(m_form, &ComponentForm::fieldEdited, this, &EditorPane::onFieldEdited);
    connect(m_form, &ComponentForm::secretRefRequested, this, &EditorPane::onSecretRef);
    connect(m_problems, &QTreeWidget::itemActivated, this, [this](QTreeWidgetItem *item) {
        if (applyFix(item))
            return;
        const int line = item->text(0).toInt();
        m_tabs->setCurrentIndex(0);
        m_editor->setCursorPosition(std::max(0, line - 1), 0);
        m_editor->ensureLineVisible(std::max(0, line - 1));
        m_editor->setFocus();
    });
}

bool EditorPane::load()
{
    QFile f(m_path);
    if (!f.open(QIODevice::ReadOnly))
        return false;
    setText(QString::fromUtf8(f.readAll()));
    m_editor->setModified(false);
    return true;
}

void EditorPane::setText(const QString &text)
{
    m_editor->setText(text);
    recheck();
}

QString EditorPane::text() const
{
    return m_editor->text();
}

bool EditorPane::isModified() const
{
    return m_editor->isModified();
}

bool EditorPane::save(QString *error)
{
    QSaveFile f(m_path);
    if (!f.open(QIODevice::WriteOnly)) {
        if (error)
            *error = f.errorString();
        return false;
    }
    QByteArray bytes = m_editor->text().toUtf8();
    if (!bytes.endsWith('\n'))
        bytes.append('\n');
    f.write(bytes);
    if (!f.commit()) {
        if (error)
            *error = f.errorString();
        return false;
    }
    m_editor->setModified(false);
    m_status->setText(tr("Saved %1; reloading…").arg(QFileInfo(m_path).fileName()));
    return true;
}

void EditorPane::onTextChanged()
{
    m_debounce->start();
}

const core::Diagnostics &EditorPane::diagnostics() const
{
    return m_editor->diagnostics();
}

void EditorPane::recheck()
{
    m_debounce->stop();
    const core::Diagnostics diags
        = core::checkComponentText(m_editor->text().toUtf8(), m_path, m_registry);
    m_editor->setDiagnostics(diags);
    m_problems->clear();
    int errors = 0, warnings = 0;
    for (const core::Diagnostic &d : diags) {
        if (d.severity == core::Diagnostic::Severity::Info)
            continue;
        auto *item = new QTreeWidgetItem(m_problems);
        item->setText(0, QString::number(d.location.line));
        item->setText(1, d.isError() ? tr("error") : tr("warning"));
        item->setForeground(1,
                            theme::colour(d.isError() ? theme::Role::Error : theme::Role::Warning));
        item->setText(2, d.field);
        QString msg = d.message;
        if (!d.suggestion.isEmpty() && !msg.contains(d.suggestion))
            msg += tr(" (did you mean '%1'?)").arg(d.suggestion);
        if (!d.suggestion.isEmpty() && !d.field.isEmpty()) {
            // One-click fix: activating the problem puts the suggestion in place.
            msg += tr(" — double-click to use '%1'").arg(d.suggestion);
            item->setData(0, FixFromRole, d.field);
            item->setData(0, FixToRole, d.suggestion);
        }
        item->setText(3, msg);
        item->setToolTip(3, d.toString());
        (d.isError() ? errors : warnings)++;
    }
    // What the runtime said when it loaded the file (a failed init, a warning) is a problem of
    // the file too: "No problems." only when neither the text nor the runtime has one.
    for (const auto &[severity, text] : std::as_const(m_runtimeProblems)) {
        auto *item = new QTreeWidgetItem(m_problems);
        item->setText(1, severity ? tr("error") : tr("warning"));
        item->setForeground(1, theme::colour(severity ? theme::Role::Error : theme::Role::Warning));
        item->setText(2, tr("runtime"));
        item->setText(3, text);
        item->setToolTip(3, text);
        (severity ? errors : warnings)++;
    }
    if (errors == 0 && warnings == 0) {
        auto *item = new QTreeWidgetItem(m_problems);
        item->setText(3, tr("No problems."));
        item->setForeground(3, theme::colour(theme::Role::Ok));
    }
    applyToForm();
    Q_EMIT diagnosticsChanged(errors, warnings);
}

void EditorPane::applyToForm()
{
    if (m_syncing)
        return;
    const core::LoadResult parsed
        = core::ComponentLoader::parseText(m_editor->text().toUtf8(), m_path);
    if (parsed.components.isEmpty()) {
        m_form->setSchema(nullptr);
        return;
    }
    const core::ComponentSpec &spec = parsed.components.first();
    const core::BindingDescriptor *d = m_registry.find(spec.type, spec.version);
    m_form->setSchema(d ? &d->metadata : nullptr);
    m_form->setSpec(spec);
}

void EditorPane::replaceTextKeepingView(const QString &text)
{
    if (text == m_editor->text())
        return;
    int line = 0, index = 0;
    m_editor->getCursorPosition(&line, &index);
    const int first = m_editor->firstVisibleLine();
    m_syncing = true;
    m_editor->beginUndoAction();
    m_editor->selectAll();
    m_editor->replaceSelectedText(text);
    m_editor->endUndoAction();
    m_editor->setFirstVisibleLine(first);
    m_editor->setCursorPosition(line, index);
    m_syncing = false;
}

void EditorPane::onFieldEdited(const QString &name, const QString &value)
{
    const QString current = m_editor->text();
    const QString next = value.isEmpty() ? yamledit::removeMetadataItem(current, name)
                                         : yamledit::setMetadataValue(current, name, value);
    replaceTextKeepingView(next);
    // Diagnostics follow (debounced); the form keeps its own focus and text.
}

void EditorPane::onSecretRef(const QString &name)
{
    bool ok = false;
    const QString secret = QInputDialog::getText(
        this, tr("Use a secret"),
        tr("Secret name in the component's secret store (auth.secretStore):"), QLineEdit::Normal,
        name, &ok);
    if (!ok || secret.isEmpty())
        return;
    const QString key = QInputDialog::getText(
        this, tr("Use a secret"), tr("Key inside the secret:"), QLineEdit::Normal, secret, &ok);
    if (!ok || key.isEmpty())
        return;
    replaceTextKeepingView(yamledit::setMetadataSecretRef(m_editor->text(), name, secret, key));
}

void EditorPane::setKeptNotice(const QString &text)
{
    m_keptNotice = text;
    m_status->setText(text.isEmpty()
                          ? m_runtimeLines
                          : theme::span(theme::Role::Warning, QStringLiteral("⚠ ") + text)
                                + QStringLiteral("<br>") + m_runtimeLines);
}

QString EditorPane::statusText() const
{
    return m_status->text();
}

void EditorPane::openFind(bool replace)
{
    m_tabs->setCurrentIndex(0);
    m_find->open(replace);
}

bool EditorPane::applyFix(QTreeWidgetItem *item)
{
    const QString from = item->data(0, FixFromRole).toString();
    const QString to = item->data(0, FixToRole).toString();
    const int line = item->text(0).toInt() - 1;
    if (from.isEmpty() || to.isEmpty() || line < 0 || line >= m_editor->lines())
        return false;
    const QString text = m_editor->text(line);
    const qsizetype at = text.indexOf(from);
    if (at < 0)
        return false;
    m_tabs->setCurrentIndex(0);
    m_editor->setSelection(line, int(at), line, int(at + from.size()));
    m_editor->replaceSelectedText(to);
    recheck();
    return true;
}

void EditorPane::showRuntimeStatus(const QList<core::ComponentStatus> &components, bool running)
{
    const QString canonical = QFileInfo(m_path).canonicalFilePath();
    QStringList lines;
    QList<QPair<int, QString>> problems;
    for (const core::ComponentStatus &c : components) {
        if (QFileInfo(c.location.file).canonicalFilePath() != canonical)
            continue;
        QString dir = (c.input && c.output) ? tr("input+output")
                      : c.input             ? tr("input")
                      : c.output            ? tr("output")
                                            : QString();
        switch (c.state) {
        case core::ComponentState::Loaded:
            lines << QStringLiteral("%1 (%2)%3")
                         .arg(theme::span(theme::Role::Ok, tr("✔ %1 loaded").arg(c.name)), dir,
                              c.subscription.isEmpty()
                                  ? QString()
                                  : QStringLiteral(" — ") + c.subscription.toHtmlEscaped());
            break;
        case core::ComponentState::Failed:
            lines << theme::span(theme::Role::Error, tr("✖ %1 failed: %2").arg(c.name, c.error));
            problems.append({1, tr("%1 failed to load: %2").arg(c.name, c.error)});
            break;
        case core::ComponentState::Disabled:
            lines << QStringLiteral("<b>%1</b> disabled").arg(c.name.toHtmlEscaped());
            break;
        case core::ComponentState::Pending:
            lines << QStringLiteral("<b>%1</b> initialising…").arg(c.name.toHtmlEscaped());
            break;
        }
        for (const QString &w : c.warnings) {
            lines << theme::span(theme::Role::Warning, QStringLiteral("⚠ ") + w);
            problems.append({0, w});
        }
    }
    if (!running)
        lines << theme::span(theme::Role::Muted,
                             tr("Runtime not running: start it (F5) to load this file."));
    else if (lines.isEmpty())
        lines << theme::span(theme::Role::Muted,
                             tr("The runtime has no component from this file."));
    m_runtimeLines = lines.join(QStringLiteral("<br>"));
    setKeptNotice(m_keptNotice);
    if (problems != m_runtimeProblems) {
        m_runtimeProblems = problems;
        recheck();
    }
}

void EditorPane::showFormTab(bool form)
{
    m_tabs->setCurrentIndex(form ? 1 : 0);
}

} // namespace bindery::ui
