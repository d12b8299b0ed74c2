// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <QWidget>

class QBarSet;
class QBarCategoryAxis;
class QChartView;
class QLabel;
class QTableWidget;
class QTimer;
class QValueAxis;

namespace bindery::ui {

class EventTableModel;

/**
 * @brief Service response time per binding and operation (Wireshark's Statistics ▸ Service
 * Response Time): count, errors, min, mean, p50/p90/p99, max of the rows that pass the traffic
 * filter, a latency histogram of the selected group (or of all), and a CSV export. Reads the
 * model's incrementally kept LatencyStats once a second while shown. UI thread.
 */
class StatsPanel final : public QWidget
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(StatsPanel)

public:
    explicit StatsPanel(EventTableModel &model, QWidget *parent = nullptr);

    QTableWidget *table() const { return m_table; }
    /// The bars of the histogram shown (counts, in the order of the axis).
    QList<qreal> histogramCounts() const;
    QByteArray csv() const;
    bool exportCsv(const QString &path, QString *error = nullptr) const;
    void setExportFolder(const QString &folder) { m_folder = folder; }

public Q_SLOTS:
    void refresh();

protected:
    void showEvent(QShowEvent *event) override;
    void hideEvent(QHideEvent *event) override;

private:
    void refreshHistogram();

    EventTableModel &m_model;
    QTableWidget *m_table = nullptr;
    QChartView *m_chart = nullptr;
    QBarSet *m_bars = nullptr;
    QBarCategoryAxis *m_axisX = nullptr;
    QValueAxis *m_axisY = nullptr;
    QLabel *m_title = nullptr;
    QTimer *m_timer = nullptr;
    QString m_folder;
};

} // namespace bindery::ui
