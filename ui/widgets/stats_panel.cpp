// SPDX-License-Identifier: Apache-2.0
#include "ui/widgets/stats_panel.h"

#include <QBarCategoryAxis>
#include <QBarSeries>
#include <QBarSet>
#include <QChart>
#include <QChartView>
#include <QFile>
#include <QFileDialog>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QMessageBox>
#include <QPushButton>
#include <QSplitter>
#include <QTableWidget>
#include <QTimer>
#include <QValueAxis>
#include <QVBoxLayout>

#include "ui/models/event_table_model.h"
#include "ui/theme.h"

namespace bindery::ui {

namespace {

QString ms(qint64 us)
{
    return QString::number(double(us) / 1000.0, 'f', us < 10000 ? 2 : 1);
}

QString edgeLabel(qint64 us)
{
    if (us < 1000)
        return QStringLiteral("%1µs").arg(us);
    if (us < 1000000)
        return QStringLiteral("%1ms").arg(us / 1000);
    return QStringLiteral("%1s").arg(us / 1000000);
}

enum Column { Binding, Operation, Count, Errors, Min, Mean, P50, P90, P99, Max, ColumnCount };

} // namespace

StatsPanel::StatsPanel(EventTableModel &model, QWidget *parent)
    : QWidget(parent)
    , m_model(model)
{
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    auto *bar = new QHBoxLayout;
    m_title = new QLabel(this);
    m_title->setWordWrap(true);
    auto *exportButton = new QPushButton(tr("Export CSV…"), this);
    bar->addWidget(m_title, 1);
    bar->addWidget(exportButton);
    layout->addLayout(bar);

    auto *split = new QSplitter(Qt::Vertical, this);
    m_table = new QTableWidget(0, ColumnCount, split);
    m_table->setObjectName(QStringLiteral("statsTable"));
    m_table->setHorizontalHeaderLabels({tr("Binding"), tr("Operation"), tr("Count"), tr("Errors"),
                                        tr("Min ms"), tr("Mean ms"), tr("p50 ms"), tr("p90 ms"),
                                        tr("p99 ms"), tr("Max ms")});
    m_table->verticalHeader()->hide();
    m_table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_table->setSelectionMode(QAbstractItemView::SingleSelection);
    m_table->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    m_table->horizontalHeader()->setStretchLastSection(true);

    auto *chart = new QChart;
    chart->legend()->hide();
    chart->setMargins(QMargins(2, 2, 2, 2));
    chart->setBackgroundVisible(false);
    auto *series = new QBarSeries;
    m_bars = new QBarSet(tr("rows"));
    m_bars->setColor(theme::colour(theme::Role::Output));
    series->append(m_bars);
    chart->addSeries(series);
    m_axisX = new QBarCategoryAxis;
    m_axisY = new QValueAxis;
    m_axisY->setLabelFormat(QStringLiteral("%.0f"));
    chart->addAxis(m_axisX, Qt::AlignBottom);
    chart->addAxis(m_axisY, Qt::AlignLeft);
    series->attachAxis(m_axisX);
    series->attachAxis(m_axisY);
    m_chart = new QChartView(chart, split);
    m_chart->setRenderHint(QPainter::Antialiasing);
    m_chart->setMinimumHeight(120);
    split->addWidget(m_table);
    split->addWidget(m_chart);
    layout->addWidget(split, 1);

    m_timer = new QTimer(this);
    m_timer->setInterval(1000);
    connect(m_timer, &QTimer::timeout, this, &StatsPanel::refresh);
    connect(m_table, &QTableWidget::itemSelectionChanged, this, &StatsPanel::refreshHistogram);
    connect(exportButton, &QPushButton::clicked, this, [this]() {
        const QString path = QFileDialog::getSaveFileName(
            this, tr("Export statistics"),
            (m_folder.isEmpty() ? QString() : m_folder + u'/') + QStringLiteral("latency.csv"),
            tr("CSV (*.csv)"));
        QString error;
        if (!path.isEmpty() && !exportCsv(path, &error))
            QMessageBox::warning(this, tr("Export statistics"), error);
    });
    refresh();
}

void StatsPanel::showEvent(QShowEvent *event)
{
    QWidget::showEvent(event);
    refresh();
    m_timer->start();
}

void StatsPanel::hideEvent(QHideEvent *event)
{
    QWidget::hideEvent(event);
    m_timer->stop();
}

void StatsPanel::refresh()
{
    const LatencyStats &stats = m_model.stats();
    const QList<LatencyStats::Summary> rows = stats.summaries(m_model.strings());
    const QString filter = m_model.filter().expression().trimmed();
    m_title->setText(filter.isEmpty() || !m_model.filter().error.isEmpty()
                         ? tr("Latency of %L1 completed exchanges (all rows)").arg(stats.count())
                         : tr("Latency of %L1 completed exchanges matching <code>%2</code>")
                               .arg(stats.count())
                               .arg(filter.toHtmlEscaped()));
    QString selBinding, selOp;
    if (const int r = m_table->currentRow(); r >= 0 && m_table->item(r, Binding)) {
        selBinding = m_table->item(r, Binding)->text();
        selOp = m_table->item(r, Operation)->text();
    }
    m_table->blockSignals(true);
    m_table->setRowCount(int(rows.size()));
    int reselect = -1;
    for (int i = 0; i < rows.size(); ++i) {
        const LatencyStats::Summary &s = rows.at(i);
        const QStringList cells{s.binding,
                                s.operation,
                                QString::number(s.count),
                                QString::number(s.errors),
                                ms(s.minUs),
                                ms(s.meanUs),
                                ms(s.p50Us),
                                ms(s.p90Us),
                                ms(s.p99Us),
                                ms(s.maxUs)};
        for (int c = 0; c < ColumnCount; ++c) {
            QTableWidgetItem *item = m_table->item(i, c);
            if (!item) {
                item = new QTableWidgetItem;
                if (c >= Count)
                    item->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
                m_table->setItem(i, c, item);
            }
            item->setText(cells.at(c));
            if (c == Errors)
                item->setForeground(s.errors ? theme::colour(theme::Role::Error)
                                             : palette().color(QPalette::Text));
        }
        if (s.binding == selBinding && s.operation == selOp)
            reselect = i;
    }
    if (reselect >= 0)
        m_table->selectRow(reselect);
    m_table->blockSignals(false);
    refreshHistogram();
}

void StatsPanel::refreshHistogram()
{
    QString binding, op;
    if (const int r = m_table->currentRow();
        r >= 0 && m_table->item(r, Binding) && m_table->item(r, Binding)->isSelected()) {
        binding = m_table->item(r, Binding)->text();
        op = m_table->item(r, Operation)->text();
    }
    const QList<LatencyStats::Bar> bars = m_model.stats().histogram(m_model.strings(), binding, op);
    QStringList labels;
    QList<qreal> counts;
    qreal top = 1;
    for (const LatencyStats::Bar &b : bars) {
        labels << (b.toUs < 0 ? QStringLiteral("≥") + edgeLabel(b.fromUs)
                              : QStringLiteral("<") + edgeLabel(b.toUs));
        counts << qreal(b.count);
        top = std::max(top, qreal(b.count));
    }
    if (m_axisX->categories() != labels) {
        m_axisX->clear();
        m_axisX->append(labels);
    }
    m_bars->remove(0, m_bars->count());
    m_bars->append(counts);
    m_axisY->setRange(0, top * 1.1);
    m_chart->chart()->setTitle(binding.isEmpty() ? tr("Latency histogram, all rows")
                                                 : tr("Latency histogram, %1 %2").arg(binding, op));
}

QList<qreal> StatsPanel::histogramCounts() const
{
    QList<qreal> out;
    for (int i = 0; i < m_bars->count(); ++i)
        out << m_bars->at(i);
    return out;
}

QByteArray StatsPanel::csv() const
{
    return m_model.stats().toCsv(m_model.strings());
}

bool StatsPanel::exportCsv(const QString &path, QString *error) const
{
    QFile f(path);
    if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate)) {
        if (error)
            *error = f.errorString();
        return false;
    }
    f.write(csv());
    return true;
}

} // namespace bindery::ui
