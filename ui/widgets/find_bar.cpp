// SPDX-License-Identifier: Apache-2.0
#include "ui/widgets/find_bar.h"

#include <QHBoxLayout>
#include <QKeyEvent>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QShortcut>
#include <QTextEdit>
#include <QToolButton>

namespace bindery::ui {

FindBar::FindBar(QWidget *view, QWidget *parent)
    : QWidget(parent)
    , m_view(view)
    , m_text(qobject_cast<QTextEdit *>(view))
    , m_plain(qobject_cast<QPlainTextEdit *>(view))
{
    auto *layout = new QHBoxLayout(this);
    layout->setContentsMargins(0, 2, 0, 2);
    m_edit = new QLineEdit(this);
    m_edit->setPlaceholderText(tr("Find (Enter: next, Shift+Enter: previous, Esc: close)"));
    m_edit->setClearButtonEnabled(true);
    auto *prev = new QToolButton(this);
    prev->setText(QStringLiteral("▲"));
    prev->setToolTip(tr("Previous match (Shift+Enter)"));
    auto *next = new QToolButton(this);
    next->setText(QStringLiteral("▼"));
    next->setToolTip(tr("Next match (Enter)"));
    auto *close = new QToolButton(this);
    close->setText(QStringLiteral("✕"));
    close->setToolTip(tr("Close (Esc)"));
    m_status = new QLabel(this);
    layout->addWidget(m_edit, 1);
    layout->addWidget(prev);
    layout->addWidget(next);
    layout->addWidget(m_status);
    layout->addWidget(close);
    hide();

    connect(m_edit, &QLineEdit::returnPressed, this, [this]() { find(false); });
    connect(m_edit, &QLineEdit::textEdited, this, [this]() {
        // Search from the top of the current match as the text grows.
        if (m_text) {
            QTextCursor c = m_text->textCursor();
            c.setPosition(c.selectionStart());
            m_text->setTextCursor(c);
        } else if (m_plain) {
            QTextCursor c = m_plain->textCursor();
            c.setPosition(c.selectionStart());
            m_plain->setTextCursor(c);
        }
        find(false);
    });
    connect(prev, &QToolButton::clicked, this, [this]() { find(true); });
    connect(next, &QToolButton::clicked, this, [this]() { find(false); });
    connect(close, &QToolButton::clicked, this, [this]() {
        hide();
        m_view->setFocus();
    });
    auto *back = new QShortcut(QKeySequence(QStringLiteral("Shift+Return")), m_edit);
    back->setContext(Qt::WidgetShortcut);
    connect(back, &QShortcut::activated, this, [this]() { find(true); });
    auto *esc = new QShortcut(QKeySequence(Qt::Key_Escape), this);
    esc->setContext(Qt::WidgetWithChildrenShortcut);
    connect(esc, &QShortcut::activated, this, [this]() {
        hide();
        m_view->setFocus();
    });
    // Ctrl+F is the window's one Find action, which opens the bar of the view that has the focus
    // (a shortcut per view would be ambiguous with it): the view names its bar.
    view->setProperty(kProperty, QVariant::fromValue(static_cast<QObject *>(this)));
}

FindBar *FindBar::of(QWidget *widget)
{
    for (QWidget *w = widget; w; w = w->parentWidget()) {
        if (auto *bar = qobject_cast<FindBar *>(w->property(kProperty).value<QObject *>()))
            return bar;
    }
    return nullptr;
}

void FindBar::open()
{
    show();
    m_edit->setFocus();
    m_edit->selectAll();
}

bool FindBar::find(bool backwards)
{
    const QString needle = m_edit->text();
    if (needle.isEmpty()) {
        m_status->clear();
        return false;
    }
    const QTextDocument::FindFlags flags
        = backwards ? QTextDocument::FindBackward : QTextDocument::FindFlags();
    auto attempt = [&]() {
        return m_text    ? m_text->find(needle, flags)
               : m_plain ? m_plain->find(needle, flags)
                         : false;
    };
    bool found = attempt();
    if (!found) { // wrap around
        QTextCursor c = m_text ? m_text->textCursor() : m_plain->textCursor();
        c.movePosition(backwards ? QTextCursor::End : QTextCursor::Start);
        if (m_text)
            m_text->setTextCursor(c);
        else
            m_plain->setTextCursor(c);
        found = attempt();
    }
    m_status->setText(found ? QString() : tr("no match"));
    return found;
}

} // namespace bindery::ui
