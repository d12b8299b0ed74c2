// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <QWidget>

class QLabel;
class QLineEdit;
class QTableView;
class QTextBrowser;
class QTimer;
class QToolButton;
class QChartView;
class QLineSeries;
class QValueAxis;

namespace bindery::core {
class TrafficStream;
}

namespace bindery::ui {

class EventPump;
class EventTableModel;

/**
 * @brief The live traffic view: filter bar, the table (fixed row heights, throttled
 * auto-scroll), the detail pane with every delivery attempt, the events/s + errors/s chart,
 * export/import of the filtered view as JSON Lines. UI thread.
 */
class TrafficWidget final : public QWidget
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(TrafficWidget)

public:
    TrafficWidget(core::TrafficStream &stream, QWidget *parent = nullptr);
    ~TrafficWidget() override;

    EventTableModel *model() const { return m_model; }
    EventPump *pump() const { return m_pump; }
    QTableView *view() const { return m_view; }
    QLineEdit *filterEdit() const { return m_filter; }
    QTextBrowser *detail() const { return m_detail; }
    QWidget *chartPanel() const { return m_chartPanel; }

    /// Writes the filtered view; returns the number of records or -1 (and *error).
    qint64 exportJsonl(const QString &path, QString *error = nullptr) const;
    /// Appends records from a JSONL file; returns the number of records or -1 (and *error).
    qint64 importJsonl(const QString &path, QString *error = nullptr);
    void setAutoScroll(bool on);
    bool autoScroll() const { return m_autoScroll; }

public Q_SLOTS:
    void applyFilter();
    void clear();
    void exportDialog();
    void importDialog();

Q_SIGNALS:
    void countsChanged();

private:
    void onDrained(int records, int errors);
    void showDetail();
    void tick();

    core::TrafficStream &m_stream;
    EventTableModel *m_model = nullptr;
    EventPump *m_pump = nullptr;
    QTableView *m_view = nullptr;
    QLineEdit *m_filter = nullptr;
    QLabel *m_filterStatus = nullptr;
    QLabel *m_counts = nullptr;
    QToolButton *m_pause = nullptr;
    QTextBrowser *m_detail = nullptr;
    QWidget *m_chartPanel = nullptr;
    QChartView *m_chart = nullptr;
    QLineSeries *m_rateSeries = nullptr;
    QLineSeries *m_errorSeries = nullptr;
    QValueAxis *m_axisX = nullptr;
    QValueAxis *m_axisY = nullptr;
    QTimer *m_secondTimer = nullptr;
    bool m_autoScroll = true;
    qint64 m_secondEvents = 0;
    qint64 m_secondErrors = 0;
    qint64 m_seconds = 0;
    qint64 m_totalErrors = 0;
};

} // namespace bindery::ui
