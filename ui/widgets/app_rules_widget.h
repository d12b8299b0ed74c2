// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <QWidget>

#include "ui/app_server.h"

class QLabel;
class QTableWidget;

namespace bindery::ui {

class RuntimeHost;

/**
 * @brief "Be the app": one rule per input binding (answer 200 + optional body, a chosen error
 * status, after a delay, or never), persisted in QSettings and pushed to the built-in app server.
 * UI thread.
 */
class AppRulesWidget final : public QWidget
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(AppRulesWidget)

public:
    /// The header line: who answers deliveries, and on which port.
    QLabel *modeLabel() const { return m_mode; }
    AppRulesWidget(RuntimeHost &host, QWidget *parent = nullptr);

    /// Re-lists the runtime's input components (keeps rules).
    void refresh();
    /// Sets (and persists) the rule of `binding` and pushes it to the app server.
    void setRule(const QString &binding, const AppRule &rule);
    AppRule rule(const QString &binding) const;
    /// Pushes every known rule to the (re)started app server.
    void pushAll();

private:
    void onEdited(int row);

    RuntimeHost &m_host;
    QTableWidget *m_table = nullptr;
    QLabel *m_mode = nullptr;
    bool m_filling = false;
};

} // namespace bindery::ui
