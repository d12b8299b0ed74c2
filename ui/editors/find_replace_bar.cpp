// SPDX-License-Identifier: Apache-2.0
#include "ui/editors/find_replace_bar.h"

#include <QGridLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QShortcut>
#include <QToolButton>

#include <Qsci/qsciscintilla.h>

namespace bindery::ui {

FindReplaceBar::FindReplaceBar(QsciScintilla *editor, QWidget *parent)
    : QWidget(parent)
    , m_editor(editor)
{
    auto *grid = new QGridLayout(this);
    grid->setContentsMargins(2, 2, 2, 2);
    m_find = new QLineEdit(this);
    m_find->setPlaceholderText(tr("Find (Enter: next, Shift+Enter: previous)"));
    m_find->setClearButtonEnabled(true);
    m_replace = new QLineEdit(this);
    m_replace->setPlaceholderText(tr("Replace with"));
    auto *next = new QPushButton(tr("Next"), this);
    auto *prev = new QPushButton(tr("Previous"), this);
    m_replaceButton = new QPushButton(tr("Replace"), this);
    m_replaceAllButton = new QPushButton(tr("Replace all"), this);
    auto *close = new QToolButton(this);
    close->setText(QStringLiteral("✕"));
    m_status = new QLabel(this);
    grid->addWidget(m_find, 0, 0);
    grid->addWidget(next, 0, 1);
    grid->addWidget(prev, 0, 2);
    grid->addWidget(m_status, 0, 3);
    grid->addWidget(close, 0, 4);
    grid->addWidget(m_replace, 1, 0);
    grid->addWidget(m_replaceButton, 1, 1);
    grid->addWidget(m_replaceAllButton, 1, 2);
    grid->setColumnStretch(0, 1);
    hide();

    auto closeBar = [this]() {
        hide();
        m_editor->setFocus();
    };
    connect(m_find, &QLineEdit::returnPressed, this, [this]() { findNext(false); });
    connect(m_replace, &QLineEdit::returnPressed, this, &FindReplaceBar::replaceOne);
    connect(next, &QPushButton::clicked, this, [this]() { findNext(false); });
    connect(prev, &QPushButton::clicked, this, [this]() { findNext(true); });
    connect(m_replaceButton, &QPushButton::clicked, this, &FindReplaceBar::replaceOne);
    connect(m_replaceAllButton, &QPushButton::clicked, this, &FindReplaceBar::replaceAll);
    connect(close, &QToolButton::clicked, this, closeBar);
    auto *back = new QShortcut(QKeySequence(QStringLiteral("Shift+Return")), m_find);
    back->setContext(Qt::WidgetShortcut);
    connect(back, &QShortcut::activated, this, [this]() { findNext(true); });
    auto *esc = new QShortcut(QKeySequence(Qt::Key_Escape), this);
    esc->setContext(Qt::WidgetWithChildrenShortcut);
    connect(esc, &QShortcut::activated, this, closeBar);
}

void FindReplaceBar::open(bool replace)
{
    show();
    for (QWidget *w : {static_cast<QWidget *>(m_replace), static_cast<QWidget *>(m_replaceButton),
                       static_cast<QWidget *>(m_replaceAllButton)})
        w->setVisible(replace);
    if (m_editor->hasSelectedText() && !m_editor->selectedText().contains(u'\n'))
        m_find->setText(m_editor->selectedText());
    m_find->setFocus();
    m_find->selectAll();
}

bool FindReplaceBar::findNext(bool backwards)
{
    const QString needle = m_find->text();
    if (needle.isEmpty())
        return false;
    int line = 0, index = 0;
    if (backwards && m_editor->hasSelectedText()) {
        int l2 = 0, i2 = 0;
        m_editor->getSelection(&line, &index, &l2, &i2);
    } else {
        m_editor->getCursorPosition(&line, &index);
    }
    // findFirst(expr, re, cs, wo, wrap, forward, line, index)
    const bool found
        = m_editor->findFirst(needle, false, false, false, true, !backwards, line, index, true);
    m_status->setText(found ? QString() : tr("no match"));
    return found;
}

bool FindReplaceBar::replaceOne()
{
    if (!m_editor->hasSelectedText()
        || m_editor->selectedText().compare(m_find->text(), Qt::CaseInsensitive) != 0) {
        if (!findNext(false))
            return false;
    }
    m_editor->replaceSelectedText(m_replace->text());
    findNext(false);
    return true;
}

int FindReplaceBar::replaceAll()
{
    const QString needle = m_find->text();
    if (needle.isEmpty())
        return 0;
    int n = 0;
    m_editor->beginUndoAction();
    bool found = m_editor->findFirst(needle, false, false, false, false, true, 0, 0, true);
    while (found) {
        m_editor->replace(m_replace->text());
        ++n;
        found = m_editor->findNext();
    }
    m_editor->endUndoAction();
    m_status->setText(tr("%n replaced", nullptr, n));
    return n;
}

} // namespace bindery::ui
