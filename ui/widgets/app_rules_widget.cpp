// SPDX-License-Identifier: Apache-2.0
#include "ui/widgets/app_rules_widget.h"

#include <QComboBox>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QSettings>
#include <QSpinBox>
#include <QTableWidget>
#include <QVBoxLayout>

#include "core/runtime.h"
#include "ui/runtime_host.h"

namespace bindery::ui {

namespace {
enum Col { ColBinding, ColRoute, ColAnswer, ColStatus, ColDelay, ColBody, ColCount };

QString settingsKey(const QString &binding)
{
    return QStringLiteral("appRules/") + binding;
}
} // namespace

AppRulesWidget::AppRulesWidget(RuntimeHost &host, QWidget *parent)
    : QWidget(parent)
    , m_host(host)
{
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(2, 2, 2, 2);
    m_mode = new QLabel(this);
    m_mode->setWordWrap(true);
    layout->addWidget(m_mode);
    m_table = new QTableWidget(0, ColCount, this);
    m_table->setObjectName(QStringLiteral("appRules"));
    m_table->setHorizontalHeaderLabels(
        {tr("Input binding"), tr("Route"), tr("Answer"), tr("Status"), tr("Delay ms"), tr("Body")});
    m_table->verticalHeader()->hide();
    m_table->horizontalHeader()->setStretchLastSection(true);
    m_table->setColumnWidth(ColBinding, 110);
    m_table->setColumnWidth(ColRoute, 80);
    m_table->setColumnWidth(ColAnswer, 130);
    m_table->setColumnWidth(ColStatus, 70);
    m_table->setColumnWidth(ColDelay, 80);
    layout->addWidget(m_table, 1);
}

AppRule AppRulesWidget::rule(const QString &binding) const
{
    QSettings s;
    AppRule r;
    const QString k = settingsKey(binding);
    r.mode = AppRule::modeFromName(
        s.value(k + QStringLiteral("/mode"), QStringLiteral("ok")).toString());
    r.status = s.value(k + QStringLiteral("/status"), r.mode == AppRule::Mode::Error ? 500 : 200)
                   .toInt();
    r.delayMs = s.value(k + QStringLiteral("/delayMs"), 1000).toInt();
    r.body = s.value(k + QStringLiteral("/body")).toString().toUtf8();
    return r;
}

void AppRulesWidget::setRule(const QString &binding, const AppRule &r)
{
    QSettings s;
    const QString k = settingsKey(binding);
    s.setValue(k + QStringLiteral("/mode"), AppRule::modeName(r.mode));
    s.setValue(k + QStringLiteral("/status"), r.status);
    s.setValue(k + QStringLiteral("/delayMs"), r.delayMs);
    s.setValue(k + QStringLiteral("/body"), QString::fromUtf8(r.body));
    pushAll();
    refresh();
}

void AppRulesWidget::pushAll()
{
    AppServer *server = m_host.appServer();
    if (!server)
        return;
    for (const core::ComponentStatus &c : m_host.components()) {
        if (c.input)
            server->setRule(c.route.isEmpty() ? u'/' + c.name : c.route, rule(c.name));
    }
}

void AppRulesWidget::refresh()
{
    const HostSettings &hs = m_host.settings();
    if (hs.builtinApp && !m_host.isRunning())
        // No port while the runtime is not running: the last one shown would be stale.
        m_mode->setText(tr("The console is the app: it answers the OPTIONS probe and every "
                           "delivery by these rules once the runtime runs."));
    else if (hs.builtinApp)
        m_mode->setText(tr("The console is the app on 127.0.0.1:%1: it answers the OPTIONS probe "
                           "and every delivery by these rules.")
                            .arg(m_host.appPort()));
    else
        m_mode->setText(
            tr("Deliveries go to the external %1 app on 127.0.0.1:%2 (Settings). Its "
               "real answers show in the traffic table.")
                .arg(hs.externalAppProtocol == QStringLiteral("grpc") ? tr("gRPC") : tr("HTTP"))
                .arg(hs.externalAppPort));
    m_filling = true;
    QList<core::ComponentStatus> inputs;
    for (const core::ComponentStatus &c : m_host.components()) {
        if (c.input)
            inputs << c;
    }
    m_table->setRowCount(int(inputs.size()));
    for (int row = 0; row < inputs.size(); ++row) {
        const core::ComponentStatus &c = inputs.at(row);
        const AppRule r = rule(c.name);
        auto *name = new QTableWidgetItem(c.name);
        name->setFlags(Qt::ItemIsEnabled | Qt::ItemIsSelectable);
        name->setToolTip(c.subscription);
        m_table->setItem(row, ColBinding, name);
        auto *route = new QTableWidgetItem(c.route);
        route->setFlags(Qt::ItemIsEnabled | Qt::ItemIsSelectable);
        m_table->setItem(row, ColRoute, route);
        auto *answer = new QComboBox(m_table);
        answer->addItem(tr("200 OK"), QStringLiteral("ok"));
        answer->addItem(tr("Error status"), QStringLiteral("error"));
        answer->addItem(tr("After a delay"), QStringLiteral("delay"));
        answer->addItem(tr("Never (timeout)"), QStringLiteral("timeout"));
        answer->setCurrentIndex(answer->findData(AppRule::modeName(r.mode)));
        m_table->setCellWidget(row, ColAnswer, answer);
        auto *status = new QSpinBox(m_table);
        status->setRange(100, 599);
        status->setValue(r.mode == AppRule::Mode::Ok ? 200 : r.status);
        status->setEnabled(r.mode == AppRule::Mode::Error || r.mode == AppRule::Mode::Delay);
        m_table->setCellWidget(row, ColStatus, status);
        auto *delay = new QSpinBox(m_table);
        delay->setRange(0, 600000);
        delay->setSingleStep(100);
        delay->setValue(r.delayMs);
        delay->setEnabled(r.mode == AppRule::Mode::Delay);
        m_table->setCellWidget(row, ColDelay, delay);
        auto *body = new QLineEdit(QString::fromUtf8(r.body), m_table);
        body->setPlaceholderText(tr("optional answer body"));
        body->setEnabled(r.mode != AppRule::Mode::Timeout);
        m_table->setCellWidget(row, ColBody, body);
        connect(answer, &QComboBox::currentIndexChanged, this, [this, row]() { onEdited(row); });
        connect(status, &QSpinBox::editingFinished, this, [this, row]() { onEdited(row); });
        connect(delay, &QSpinBox::editingFinished, this, [this, row]() { onEdited(row); });
        connect(body, &QLineEdit::editingFinished, this, [this, row]() { onEdited(row); });
    }
    m_filling = false;
}

void AppRulesWidget::onEdited(int row)
{
    if (m_filling || row >= m_table->rowCount())
        return;
    const QString binding = m_table->item(row, ColBinding)->text();
    AppRule r;
    r.mode = AppRule::modeFromName(
        qobject_cast<QComboBox *>(m_table->cellWidget(row, ColAnswer))->currentData().toString());
    r.status = qobject_cast<QSpinBox *>(m_table->cellWidget(row, ColStatus))->value();
    if (r.mode == AppRule::Mode::Error && r.status < 300)
        r.status = 500;
    r.delayMs = qobject_cast<QSpinBox *>(m_table->cellWidget(row, ColDelay))->value();
    r.body = qobject_cast<QLineEdit *>(m_table->cellWidget(row, ColBody))->text().toUtf8();
    // Deferred: this slot may run inside a widget that refresh() replaces.
    QMetaObject::invokeMethod(
        this, [this, binding, r]() { setRule(binding, r); }, Qt::QueuedConnection);
}

} // namespace bindery::ui
