// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <QWidget>

class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QTextEdit;
class QToolButton;

namespace bindery::ui {

/**
 * @brief An inline find bar for a read-only text view (the traffic detail pane, the composer's
 * response): the window's Find (Ctrl+F) opens the bar of the focused view, Enter / Shift+Enter find
 * the next / previous match, Esc closes it and gives the focus back. Matches wrap around. UI
 * thread.
 */
class FindBar final : public QWidget
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(FindBar)

public:
    /// Attaches to `view` (a QTextEdit/QTextBrowser or a QPlainTextEdit) and installs its Ctrl+F.
    explicit FindBar(QWidget *view, QWidget *parent = nullptr);

    QLineEdit *edit() const { return m_edit; }
    /// Finds the next (or previous) match of the bar's text; false when there is none.
    bool find(bool backwards = false);
    void open();
    /// The find bar of `widget` or of the nearest ancestor view that has one, or nullptr.
    static FindBar *of(QWidget *widget);
    static constexpr const char *kProperty = "binderyFindBar";

private:
    QWidget *m_view = nullptr;
    QTextEdit *m_text = nullptr;
    QPlainTextEdit *m_plain = nullptr;
    QLineEdit *m_edit = nullptr;
    QLabel *m_status = nullptr;
};

} // namespace bindery::ui
