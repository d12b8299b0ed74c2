// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <QWidget>

class QLabel;
class QLineEdit;
class QPushButton;
class QsciScintilla;

namespace bindery::ui {

/**
 * @brief Find and replace for a QScintilla editor (the YAML editor): Enter finds the next match,
 * Shift+Enter the previous, "Replace" replaces the current match and finds the next, "Replace all"
 * replaces every match in one undo step. Esc closes and returns the focus. UI thread.
 */
class FindReplaceBar final : public QWidget
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(FindReplaceBar)

public:
    explicit FindReplaceBar(QsciScintilla *editor, QWidget *parent = nullptr);

    void open(bool replace);
    QLineEdit *findEdit() const { return m_find; }
    QLineEdit *replaceEdit() const { return m_replace; }
    bool findNext(bool backwards = false);
    bool replaceOne();
    int replaceAll();

private:
    QsciScintilla *m_editor = nullptr;
    QLineEdit *m_find = nullptr;
    QLineEdit *m_replace = nullptr;
    QPushButton *m_replaceButton = nullptr;
    QPushButton *m_replaceAllButton = nullptr;
    QLabel *m_status = nullptr;
};

} // namespace bindery::ui
