// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <QWidget>

#include "core/traffic.h"

class QCompleter;
class QLabel;
class QLineEdit;
class QSplitter;
class QStringListModel;
class QTabWidget;
class QTableView;
class QTextBrowser;
class QTimer;
class QToolButton;
class QChartView;
class QLineSeries;
class QValueAxis;

namespace bindery::ui {

class EventPump;
class EventTableModel;
class FindBar;
class JsonTreeView;
class StatsPanel;

/**
 * @brief The live traffic view, or an imported capture: filter bar (with completion), the table
 * (fixed row heights, throttled auto-scroll, pending deliveries with a running timer), the detail
 * pane (metadata grouped, payloads, every delivery attempt, the trace the row belongs to as a
 * flow), the payload as a JSON tree, the events/s chart and the latency statistics, which both
 * follow the filter; replay and "apply as filter" from a row's context menu; export (secrets
 * masked) as JSON Lines. UI thread.
 */
class TrafficWidget final : public QWidget
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(TrafficWidget)

public:
    /// The live view of `stream`.
    TrafficWidget(core::TrafficStream &stream, QWidget *parent = nullptr);
    /// A capture: no stream, filled by importJsonl().
    explicit TrafficWidget(QWidget *parent = nullptr);
    ~TrafficWidget() override;

    bool isLive() const { return m_stream != nullptr; }
    EventTableModel *model() const { return m_model; }
    EventPump *pump() const { return m_pump; } ///< nullptr for a capture
    QTableView *view() const { return m_view; }
    QLineEdit *filterEdit() const { return m_filter; }
    QCompleter *filterCompleter() const { return m_completer; }
    QTextBrowser *detail() const { return m_detail; }
    FindBar *detailFind() const { return m_detailFind; }
    JsonTreeView *payloadTree() const { return m_tree; }
    QWidget *chartPanel() const { return m_chartPanel; }
    StatsPanel *statsPanel() const { return m_stats; }
    QLineSeries *rateSeries() const { return m_rateSeries; }
    QValueAxis *rateAxisX() const { return m_axisX; }
    QValueAxis *rateAxisY() const { return m_axisY; }
    QLabel *filterStatus() const { return m_filterStatus; }
    QLabel *countsLabel() const { return m_counts; }
    QToolButton *captureButton() const { return m_capture; }

    /// Writes the filtered view (secrets masked); returns the number of records or -1 (and *error).
    qint64 exportJsonl(const QString &path, QString *error = nullptr);
    /// Replaces the rows with a JSONL file's records sorted by time; the count or -1 (and *error).
    qint64 importJsonl(const QString &path, QString *error = nullptr);
    void setAutoScroll(bool on);
    bool autoScroll() const { return m_autoScroll; }
    void setCapturing(bool on);
    bool capturing() const;
    /// Rows were added since the last export (Clear and Quit ask before dropping them).
    bool hasUnsavedRecords() const;
    /// Export and import dialogs start here.
    void setWorkspace(const QString &folder);
    /// Binding names offered by the filter's completion.
    void setBindingNames(const QStringList &names);
    /// How long a one-off message ("exported 3 records") stays (ms).
    void setMessageTimeoutMs(int ms) { m_messageMs = ms; }
    /// Selects the row of record `id`; false when it is not shown.
    bool selectRecord(quint64 id);
    /// Adds a term to the filter ("apply as filter") and applies it.
    void applyAsFilter(const QString &term, bool replace = false);
    /// The rows' context menu for `row` (for the view and for tests).
    void fillContextMenu(class QMenu *menu, int row);
    /// The rate chart's values over the last two minutes, oldest first (for tests).
    QList<qreal> rateValues() const;
    /// Advances the rate chart by one second (the widget's timer calls it).
    void tick();

public Q_SLOTS:
    void applyFilter();
    /// Asks before dropping unsaved rows; true when cleared.
    bool clear();
    void clearNow();
    void exportDialog();
    void importDialog();

Q_SIGNALS:
    void countsChanged();
    /// Replay: the composer opens this output request (and sends it when `send`).
    void openInComposer(const bindery::core::TrafficRecord &record, bool send);
    /// Replay: re-deliver this input event to the app.
    void redeliver(const bindery::core::TrafficRecord &record);
    /// Import: the window opens the file as a capture of its own.
    void importRequested(const QString &path);

protected:
    void resizeEvent(QResizeEvent *event) override;

private:
    void build();
    void onCounted(int rows, int errors);
    void showDetail();
    void updateCounts();
    void showMessage(const QString &text);
    void updateFilterStatus();
    void arrangeForWidth(int width);
    void onFilterEdited(const QString &text);

    core::TrafficStream *m_stream = nullptr;
    EventTableModel *m_model = nullptr;
    EventPump *m_pump = nullptr;
    QTableView *m_view = nullptr;
    QLineEdit *m_filter = nullptr;
    QCompleter *m_completer = nullptr;
    QStringListModel *m_completions = nullptr;
    QStringList m_bindingNames;
    QLabel *m_filterStatus = nullptr;
    QLabel *m_counts = nullptr;
    QToolButton *m_pause = nullptr;
    QToolButton *m_capture = nullptr;
    QTabWidget *m_detailTabs = nullptr;
    QTabWidget *m_side = nullptr;
    QSplitter *m_lower = nullptr;
    QTextBrowser *m_detail = nullptr;
    FindBar *m_detailFind = nullptr;
    JsonTreeView *m_tree = nullptr;
    QWidget *m_chartPanel = nullptr;
    StatsPanel *m_stats = nullptr;
    QChartView *m_chart = nullptr;
    QLineSeries *m_rateSeries = nullptr;
    QLineSeries *m_errorSeries = nullptr;
    QValueAxis *m_axisX = nullptr;
    QValueAxis *m_axisY = nullptr;
    QTimer *m_secondTimer = nullptr;
    QTimer *m_pendingTimer = nullptr;
    QTimer *m_messageTimer = nullptr;
    QString m_workspace;
    QString m_message;
    int m_messageMs = 6000;
    bool m_autoScroll = true;
    quint64 m_seenWhenSaved = 0; ///< the model's totalSeen() at the last export, import or clear
    bool m_narrow = false;
    qint64 m_secondEvents = 0;
    qint64 m_secondErrors = 0;
    QList<qint64> m_perSecond; ///< events per second, newest last (two minutes)
    QList<qint64> m_errorsPerSecond;
};

} // namespace bindery::ui
