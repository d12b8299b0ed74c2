// SPDX-License-Identifier: Apache-2.0
#include "ui/widgets/traffic_widget.h"

#include <cmath>

#include <QAbstractItemView>
#include <QApplication>
#include <QChart>
#include <QChartView>
#include <QClipboard>
#include <QCompleter>
#include <QDateTime>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QLineSeries>
#include <QMenu>
#include <QMessageBox>
#include <QScrollBar>
#include <QSplitter>
#include <QStringListModel>
#include <QTabWidget>
#include <QTableView>
#include <QTextBrowser>
#include <QTimer>
#include <QToolButton>
#include <QUrl>
#include <QValueAxis>
#include <QVBoxLayout>

#include "ui/models/event_pump.h"
#include "ui/models/event_table_model.h"
#include "ui/record_format.h"
#include "ui/theme.h"
#include "ui/widgets/find_bar.h"
#include "ui/widgets/json_tree_view.h"
#include "ui/widgets/stats_panel.h"

namespace bindery::ui {

namespace {

constexpr int kRateWindowS = 10; ///< the chart plots a moving average over this many seconds
constexpr int kChartSeconds = 120;
constexpr int kNarrowWidth = 980; ///< below it the chart and statistics move into the tabs

QString timeOf(qint64 us)
{
    return QDateTime::fromMSecsSinceEpoch(us / 1000).toString(
        QStringLiteral("yyyy-MM-dd HH:mm:ss.zzz"));
}

QString msText(qint64 us)
{
    return QStringLiteral("%1 ms").arg(double(us) / 1000.0, 0, 'f', 2);
}

QString statusText(const core::TrafficRecord &r)
{
    if (r.pending)
        return QObject::tr("waiting");
    return r.status == 0 ? QObject::tr("no answer") : QString::number(r.status);
}

QString kindText(const core::TrafficRecord &r)
{
    switch (r.kind) {
    case core::TrafficRecord::Kind::Output: return QObject::tr("Output request");
    case core::TrafficRecord::Kind::Input: return QObject::tr("Input event delivered to the app");
    case core::TrafficRecord::Kind::Probe: return QObject::tr("Subscription probe");
    case core::TrafficRecord::Kind::Connection: return QObject::tr("Connection to the server");
    }
    return {};
}

/// A step that is "nice" (1, 2 or 5 × 10^k) and gives at most ~5 intervals up to `top`.
double niceStep(double top)
{
    const double raw = std::max(top, 1e-9) / 5.0;
    const double mag = std::pow(10.0, std::floor(std::log10(raw)));
    for (const double m : {1.0, 2.0, 5.0, 10.0}) {
        if (m * mag >= raw)
            return m * mag;
    }
    return 10 * mag;
}

} // namespace

TrafficWidget::TrafficWidget(core::TrafficStream &stream, QWidget *parent)
    : QWidget(parent)
    , m_stream(&stream)
{
    build();
}

TrafficWidget::TrafficWidget(QWidget *parent)
    : QWidget(parent)
{
    build();
}

TrafficWidget::~TrafficWidget() = default;

void TrafficWidget::build()
{
    m_model = new EventTableModel(this);
    if (m_stream)
        m_pump = new EventPump(*m_stream, *m_model, this);

    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    auto *bar = new QHBoxLayout;
    m_filter = new QLineEdit(this);
    m_filter->setObjectName(QStringLiteral("trafficFilter"));
    m_filter->setPlaceholderText(
        tr("Filter: binding:tick and (status:5xx or latency>50) · !op:get · trace:… · free text"));
    m_filter->setClearButtonEnabled(true);
    m_filter->setMinimumWidth(220);
    m_filter->setToolTip(
        tr("Fields: %1\nCombine with and, or, ! (not) and parentheses; quote text that has a "
           "colon or spaces. Tab completes field and binding names.")
            .arg(TrafficFilter::fieldNames().join(QStringLiteral(" "))));
    m_completions = new QStringListModel(this);
    m_completer = new QCompleter(m_completions, this);
    m_completer->setCaseSensitivity(Qt::CaseInsensitive);
    m_completer->setCompletionMode(QCompleter::PopupCompletion);
    m_completer->setWidget(m_filter);
    m_filterStatus = new QLabel(this);
    m_filterStatus->setObjectName(QStringLiteral("trafficFilterStatus"));
    m_filterStatus->setMinimumWidth(
        m_filterStatus->fontMetrics().horizontalAdvance(QStringLiteral("0,000,000 match")));
    m_capture = new QToolButton(this);
    m_capture->setObjectName(QStringLiteral("captureButton"));
    m_capture->setText(tr("● Capturing"));
    m_capture->setCheckable(true);
    m_capture->setChecked(true);
    m_capture->setToolTip(tr("Stop or start the capture (Ctrl+E); stopped, nothing new is kept"));
    m_capture->setVisible(isLive());
    m_pause = new QToolButton(this);
    m_pause->setText(tr("Auto-scroll"));
    m_pause->setCheckable(true);
    m_pause->setChecked(isLive());
    m_pause->setVisible(isLive());
    m_pause->setToolTip(tr("Follow new records (Ctrl+Shift+P toggles)"));
    auto *clearButton = new QToolButton(this);
    clearButton->setText(tr("Clear"));
    clearButton->setVisible(isLive());
    auto *exportButton = new QToolButton(this);
    exportButton->setText(tr("Export…"));
    exportButton->setToolTip(tr("Export the filtered view as JSON Lines (secrets masked)"));
    auto *importButton = new QToolButton(this);
    importButton->setText(tr("Import…"));
    importButton->setToolTip(tr("Open a JSON Lines capture in a tab of its own"));
    bar->addWidget(m_filter, 1);
    bar->addWidget(m_filterStatus);
    bar->addWidget(m_capture);
    bar->addWidget(m_pause);
    bar->addWidget(clearButton);
    bar->addWidget(exportButton);
    bar->addWidget(importButton);
    layout->addLayout(bar);

    auto *split = new QSplitter(Qt::Vertical, this);
    split->setChildrenCollapsible(false);
    m_view = new QTableView(split);
    m_view->setObjectName(QStringLiteral("trafficTable"));
    m_view->setModel(m_model);
    m_view->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_view->setSelectionMode(QAbstractItemView::SingleSelection);
    m_view->setWordWrap(false);
    m_view->setShowGrid(false);
    m_view->setAlternatingRowColors(true);
    m_view->setSortingEnabled(false);
    m_view->setContextMenuPolicy(Qt::CustomContextMenu);
    m_view->setMinimumHeight(120);
    m_view->verticalHeader()->setSectionResizeMode(QHeaderView::Fixed);
    m_view->verticalHeader()->setDefaultSectionSize(m_view->fontMetrics().height() + 6);
    m_view->verticalHeader()->hide();
    QHeaderView *h = m_view->horizontalHeader();
    h->setSectionResizeMode(QHeaderView::Interactive);
    h->setHighlightSections(false);
    const int cw = m_view->fontMetrics().horizontalAdvance(u'0');
    m_view->setColumnWidth(EventTableModel::Time, cw * 13);
    m_view->setColumnWidth(EventTableModel::Direction, cw * 7);
    m_view->setColumnWidth(EventTableModel::Binding, cw * 11);
    m_view->setColumnWidth(EventTableModel::Operation, cw * 8);
    m_view->setColumnWidth(EventTableModel::Summary, cw * 40);
    m_view->setColumnWidth(EventTableModel::Status, cw * 9);
    m_view->setColumnWidth(EventTableModel::Latency, cw * 10);
    m_view->setColumnWidth(EventTableModel::Size, cw * 8);
    h->setSectionResizeMode(EventTableModel::Summary, QHeaderView::Stretch);
    h->setMinimumSectionSize(cw * 5);

    m_lower = new QSplitter(Qt::Horizontal, split);
    m_lower->setChildrenCollapsible(false);
    m_detailTabs = new QTabWidget(m_lower);
    m_detailTabs->setDocumentMode(true);
    auto *detailPage = new QWidget(m_detailTabs);
    auto *dl = new QVBoxLayout(detailPage);
    dl->setContentsMargins(0, 0, 0, 0);
    m_detail = new QTextBrowser(detailPage);
    m_detail->setObjectName(QStringLiteral("trafficDetail"));
    m_detail->setOpenLinks(false);
    m_detail->setMinimumWidth(280);
    m_detail->setPlaceholderText(
        tr("Select a record to see its metadata, payload, the app's answer, every delivery "
           "attempt and the trace it belongs to."));
    m_detailFind = new FindBar(m_detail, detailPage);
    dl->addWidget(m_detail, 1);
    dl->addWidget(m_detailFind);
    m_tree = new JsonTreeView(m_detailTabs);
    m_tree->setObjectName(QStringLiteral("trafficPayloadTree"));
    m_detailTabs->addTab(detailPage, tr("Detail"));
    m_detailTabs->addTab(m_tree, tr("Payload tree"));

    m_side = new QTabWidget(m_lower);
    m_side->setDocumentMode(true);
    m_chartPanel = new QWidget(m_side);
    auto *cl = new QVBoxLayout(m_chartPanel);
    cl->setContentsMargins(0, 0, 0, 0);
    auto *chart = new QChart;
    chart->setTitle(tr("Events/s and errors/s (%1 s average) of the rows shown").arg(kRateWindowS));
    chart->legend()->setAlignment(Qt::AlignBottom);
    chart->setMargins(QMargins(4, 4, 4, 4));
    chart->setBackgroundVisible(false);
    chart->setTitleBrush(palette().color(QPalette::WindowText));
    chart->legend()->setLabelColor(palette().color(QPalette::WindowText));
    m_rateSeries = new QLineSeries;
    m_rateSeries->setName(tr("events/s"));
    m_rateSeries->setColor(theme::colour(theme::Role::Output));
    m_errorSeries = new QLineSeries;
    m_errorSeries->setName(tr("errors/s"));
    m_errorSeries->setColor(theme::colour(theme::Role::Error));
    chart->addSeries(m_rateSeries);
    chart->addSeries(m_errorSeries);
    m_axisX = new QValueAxis;
    m_axisX->setRange(-kChartSeconds, 0);
    m_axisX->setLabelFormat(QStringLiteral("%.0f"));
    m_axisX->setTickCount(5);
    m_axisX->setTitleText(tr("seconds ago"));
    m_axisY = new QValueAxis;
    m_axisY->setRange(0, 5);
    m_axisY->setTickType(QValueAxis::TicksDynamic);
    m_axisY->setTickAnchor(0);
    m_axisY->setTickInterval(1);
    m_axisY->setLabelFormat(QStringLiteral("%.0f"));
    for (QValueAxis *a : {m_axisX, m_axisY}) {
        a->setLabelsColor(palette().color(QPalette::WindowText));
        a->setTitleBrush(palette().color(QPalette::WindowText));
        a->setGridLineColor(palette().color(QPalette::Mid));
    }
    chart->addAxis(m_axisX, Qt::AlignBottom);
    chart->addAxis(m_axisY, Qt::AlignLeft);
    for (QLineSeries *s : {m_rateSeries, m_errorSeries}) {
        s->attachAxis(m_axisX);
        s->attachAxis(m_axisY);
    }
    m_chart = new QChartView(chart, m_chartPanel);
    m_chart->setRenderHint(QPainter::Antialiasing);
    m_chart->setMinimumSize(300, 180);
    cl->addWidget(m_chart, 1);
    m_stats = new StatsPanel(*m_model, m_side);
    m_side->addTab(m_chartPanel, tr("Rate"));
    m_side->addTab(m_stats, tr("Statistics"));
    m_lower->addWidget(m_detailTabs);
    m_lower->addWidget(m_side);
    m_lower->setStretchFactor(0, 3);
    m_lower->setStretchFactor(1, 2);
    split->addWidget(m_view);
    split->addWidget(m_lower);
    split->setStretchFactor(0, 3);
    split->setStretchFactor(1, 2);
    layout->addWidget(split, 1);
    m_counts = new QLabel(this);
    m_counts->setObjectName(QStringLiteral("trafficCounts"));
    layout->addWidget(m_counts);

    m_secondTimer = new QTimer(this);
    m_secondTimer->setInterval(1000);
    connect(m_secondTimer, &QTimer::timeout, this, &TrafficWidget::tick);
    if (isLive())
        m_secondTimer->start();
    m_pendingTimer = new QTimer(this);
    m_pendingTimer->setInterval(250);
    connect(m_pendingTimer, &QTimer::timeout, this, [this]() {
        if (m_model->pendingCount() > 0)
            m_model->refreshPending();
    });
    m_pendingTimer->start();
    m_messageTimer = new QTimer(this);
    m_messageTimer->setSingleShot(true);
    connect(m_messageTimer, &QTimer::timeout, this, [this]() {
        m_message.clear();
        updateFilterStatus();
    });

    connect(m_model, &EventTableModel::batchCounted, this, &TrafficWidget::onCounted);
    connect(m_filter, &QLineEdit::returnPressed, this, &TrafficWidget::applyFilter);
    auto *filterDebounce = new QTimer(this);
    filterDebounce->setSingleShot(true);
    filterDebounce->setInterval(300);
    connect(m_filter, &QLineEdit::textChanged, filterDebounce, qOverload<>(&QTimer::start));
    connect(filterDebounce, &QTimer::timeout, this, &TrafficWidget::applyFilter);
    connect(m_filter, &QLineEdit::textEdited, this, &TrafficWidget::onFilterEdited);
    connect(m_completer, qOverload<const QString &>(&QCompleter::activated), this,
            [this](const QString &completion) {
                // Replace the word under the cursor with the completion.
                QString text = m_filter->text().left(m_filter->cursorPosition());
                const QString tail = m_filter->text().mid(m_filter->cursorPosition());
                qsizetype start = text.size();
                while (start > 0 && !text.at(start - 1).isSpace() && text.at(start - 1) != u'('
                       && text.at(start - 1) != u'!')
                    --start;
                text = text.left(start) + completion;
                m_filter->setText(text + tail);
                m_filter->setCursorPosition(int(text.size()));
            });
    connect(m_pause, &QToolButton::toggled, this, &TrafficWidget::setAutoScroll);
    connect(m_capture, &QToolButton::toggled, this, &TrafficWidget::setCapturing);
    connect(clearButton, &QToolButton::clicked, this, [this]() { clear(); });
    connect(exportButton, &QToolButton::clicked, this, &TrafficWidget::exportDialog);
    connect(importButton, &QToolButton::clicked, this, &TrafficWidget::importDialog);
    connect(m_view->selectionModel(), &QItemSelectionModel::currentRowChanged, this,
            &TrafficWidget::showDetail);
    connect(m_view, &QWidget::customContextMenuRequested, this, [this](const QPoint &pos) {
        const QModelIndex idx = m_view->indexAt(pos);
        if (!idx.isValid())
            return;
        m_view->setCurrentIndex(idx);
        QMenu menu(this);
        fillContextMenu(&menu, idx.row());
        menu.exec(m_view->viewport()->mapToGlobal(pos));
    });
    connect(m_detail, &QTextBrowser::anchorClicked, this, [this](const QUrl &url) {
        if (url.scheme() != QStringLiteral("bindery"))
            return;
        const QString what = url.path();
        if (url.host() == QStringLiteral("row"))
            selectRecord(what.mid(1).toULongLong());
        else if (url.host() == QStringLiteral("trace"))
            applyAsFilter(QStringLiteral("trace:") + what.mid(1), true);
    });
    // Scrolling up by hand pauses following; back at the bottom resumes.
    connect(m_view->verticalScrollBar(), &QScrollBar::sliderMoved, this,
            [this](int v) { setAutoScroll(v >= m_view->verticalScrollBar()->maximum()); });
    for (int i = 0; i < kChartSeconds + 1; ++i) {
        m_perSecond << 0;
        m_errorsPerSecond << 0;
    }
    setFocusProxy(m_view);
    setTabOrder(m_filter, m_view);
    setTabOrder(m_view, m_detail);
    tick();
}

void TrafficWidget::resizeEvent(QResizeEvent *event)
{
    QWidget::resizeEvent(event);
    arrangeForWidth(width());
}

void TrafficWidget::arrangeForWidth(int width)
{
    // Narrow, the chart and the statistics become tabs beside the detail instead of squeezing it.
    const bool narrow = width < kNarrowWidth;
    if (narrow == m_narrow)
        return;
    m_narrow = narrow;
    QTabWidget *from = narrow ? m_side : m_detailTabs;
    QTabWidget *to = narrow ? m_detailTabs : m_side;
    for (QWidget *page : {static_cast<QWidget *>(m_chartPanel), static_cast<QWidget *>(m_stats)}) {
        const int i = from->indexOf(page);
        const QString title = from->tabText(i);
        from->removeTab(i);
        to->addTab(page, title);
    }
    m_side->setVisible(!narrow);
}

bool TrafficWidget::hasUnsavedRecords() const
{
    // Anything that arrived since the last export, import or clear (pending rows included).
    return m_model->totalRows() > 0 && m_model->totalSeen() != m_seenWhenSaved;
}

void TrafficWidget::setWorkspace(const QString &folder)
{
    m_workspace = folder;
    m_stats->setExportFolder(folder);
}

void TrafficWidget::setBindingNames(const QStringList &names)
{
    m_bindingNames = names;
}

void TrafficWidget::onFilterEdited(const QString &text)
{
    // Complete the word under the cursor: a field name, or a binding after "binding:".
    const QString before = text.left(m_filter->cursorPosition());
    qsizetype start = before.size();
    while (start > 0 && !before.at(start - 1).isSpace() && before.at(start - 1) != u'('
           && before.at(start - 1) != u'!')
        --start;
    const QString word = before.mid(start);
    if (word.isEmpty()) {
        m_completer->popup()->hide();
        return;
    }
    QStringList options;
    if (word.startsWith(QStringLiteral("binding:"), Qt::CaseInsensitive)) {
        for (const QString &b : m_bindingNames)
            options << QStringLiteral("binding:") + b;
    } else if (word.startsWith(QStringLiteral("direction:"), Qt::CaseInsensitive)) {
        options << QStringLiteral("direction:in") << QStringLiteral("direction:out")
                << QStringLiteral("direction:probe");
    } else if (word.startsWith(QStringLiteral("status:"), Qt::CaseInsensitive)) {
        for (const char *s : {"ok", "error", "pending", "2xx", "4xx", "5xx"})
            options << QStringLiteral("status:") + QLatin1String(s);
    } else {
        options = TrafficFilter::fieldNames();
        options << QStringLiteral("and") << QStringLiteral("or") << QStringLiteral("not");
    }
    m_completions->setStringList(options);
    m_completer->setCompletionPrefix(word);
    if (m_completer->completionCount() == 0
        || (m_completer->completionCount() == 1 && m_completer->currentCompletion() == word)) {
        m_completer->popup()->hide();
        return;
    }
    m_completer->complete();
}

void TrafficWidget::setAutoScroll(bool on)
{
    m_autoScroll = on;
    if (m_pause->isChecked() != on)
        m_pause->setChecked(on);
    if (on)
        m_view->scrollToBottom();
}

void TrafficWidget::setCapturing(bool on)
{
    if (!m_pump)
        return;
    m_pump->setCapturing(on);
    if (m_capture->isChecked() != on)
        m_capture->setChecked(on);
    m_capture->setText(on ? tr("● Capturing") : tr("○ Capture stopped"));
    updateCounts();
}

bool TrafficWidget::capturing() const
{
    return m_pump && m_pump->capturing();
}

void TrafficWidget::onCounted(int rows, int errors)
{
    m_secondEvents += rows;
    m_secondErrors += errors;
    updateCounts();
    if (!m_model->filter().isEmpty())
        updateFilterStatus();
    // Scroll in the same event-loop turn as the insert, so both cost one repaint.
    if (m_autoScroll)
        m_view->scrollToBottom();
}

void TrafficWidget::tick()
{
    m_perSecond.append(m_secondEvents);
    m_errorsPerSecond.append(m_secondErrors);
    while (m_perSecond.size() > kChartSeconds + kRateWindowS) {
        m_perSecond.removeFirst();
        m_errorsPerSecond.removeFirst();
    }
    m_secondEvents = 0;
    m_secondErrors = 0;
    QList<QPointF> rate, errs;
    qreal top = 0;
    const int n = int(m_perSecond.size());
    for (int i = std::max(0, n - kChartSeconds - 1); i < n; ++i) {
        qint64 sum = 0, esum = 0;
        for (int j = std::max(0, i - kRateWindowS + 1); j <= i; ++j) {
            sum += m_perSecond.at(j);
            esum += m_errorsPerSecond.at(j);
        }
        const qreal x = qreal(i - (n - 1));
        rate << QPointF(x, qreal(sum) / kRateWindowS);
        errs << QPointF(x, qreal(esum) / kRateWindowS);
        top = std::max(top, qreal(sum) / kRateWindowS);
    }
    m_rateSeries->replace(rate);
    m_errorSeries->replace(errs);
    const double step = niceStep(std::max<double>(top * 1.1, 1.0));
    const double max = std::max(step * std::ceil(std::max<double>(top * 1.1, 1.0) / step), step);
    // With dynamic ticks every intermediate state lays out range / interval ticks (a graphics
    // item and a text layout each, O(n^2) in Qt Charts): set the range first only when it
    // shrinks, else the new (larger) interval first. The old order, range 0..22k at interval 1,
    // made 22k ticks and stalled the UI for seconds when the rate jumped.
    if (step >= m_axisY->tickInterval()) {
        m_axisY->setTickInterval(step);
        m_axisY->setRange(0, max);
    } else {
        m_axisY->setRange(0, max);
        m_axisY->setTickInterval(step);
    }
    m_axisY->setLabelFormat(step >= 1     ? QStringLiteral("%.0f")
                            : step >= 0.1 ? QStringLiteral("%.1f")
                                          : QStringLiteral("%.2f"));
    updateCounts();
}

QList<qreal> TrafficWidget::rateValues() const
{
    QList<qreal> out;
    for (const QPointF &p : m_rateSeries->points())
        out << p.y();
    return out;
}

void TrafficWidget::updateCounts()
{
    QString text = tr("%L1 rows shown · %L2 held · %L3 errors")
                       .arg(m_model->rowCount())
                       .arg(qulonglong(m_model->totalRows()))
                       .arg(m_model->errorsHeld());
    if (m_model->pendingCount() > 0)
        text += tr(" · %L1 waiting for the app").arg(m_model->pendingCount());
    if (m_pump) {
        text += tr(" · %L1 seen · %L2 dropped by the tap")
                    .arg(m_model->totalSeen())
                    .arg(m_pump->dropped());
        if (!m_pump->capturing() || m_pump->notCaptured() > 0)
            text += tr(" · %L1 passed over while the capture was stopped")
                        .arg(m_pump->notCaptured());
    }
    m_counts->setText(text);
    Q_EMIT countsChanged();
}

void TrafficWidget::showMessage(const QString &text)
{
    m_message = text;
    m_messageTimer->start(m_messageMs);
    updateFilterStatus();
}

void TrafficWidget::updateFilterStatus()
{
    if (!m_message.isEmpty()) {
        m_filterStatus->setText(m_message);
        return;
    }
    const TrafficFilter &f = m_model->filter();
    if (!f.error.isEmpty())
        m_filterStatus->setText(f.error);
    else
        m_filterStatus->setText(f.isEmpty() ? QString() : tr("%L1 match").arg(m_model->rowCount()));
}

void TrafficWidget::applyFilter()
{
    const TrafficFilter f = TrafficFilter::parse(m_filter->text());
    QPalette pal = m_filter->palette();
    pal.setColor(QPalette::Base, !f.error.isEmpty() ? theme::tint(theme::Role::Error, palette())
                                 : f.isEmpty()      ? palette().color(QPalette::Base)
                                                    : theme::tint(theme::Role::Ok, palette()));
    m_filter->setPalette(pal);
    m_message.clear();
    if (!f.error.isEmpty()) {
        m_filterStatus->setText(f.error);
        m_filterStatus->setToolTip(f.error);
        return;
    }
    m_filterStatus->setToolTip(QString());
    if (f.expression() != m_model->filter().expression() || !m_model->filter().error.isEmpty())
        m_model->setFilter(f);
    updateFilterStatus();
    updateCounts();
    m_stats->refresh();
    // The chart follows the filter from now on; its past was counted under the old one.
    if (m_autoScroll)
        m_view->scrollToBottom();
}

void TrafficWidget::applyAsFilter(const QString &term, bool replace)
{
    QString current = m_filter->text().trimmed();
    if (replace || current.isEmpty())
        current = term;
    else if (!current.contains(term))
        current = QStringLiteral("(%1) and %2").arg(current, term);
    m_filter->setText(current);
    applyFilter();
}

bool TrafficWidget::clear()
{
    if (hasUnsavedRecords()) {
        const auto answer = QMessageBox::question(
            this, tr("Clear traffic"),
            tr("Drop the %L1 rows of this capture? They were not exported.")
                .arg(m_model->totalRows()),
            QMessageBox::Discard | QMessageBox::Cancel, QMessageBox::Cancel);
        if (answer != QMessageBox::Discard)
            return false;
    }
    clearNow();
    return true;
}

void TrafficWidget::clearNow()
{
    m_model->clear();
    m_detail->clear();
    m_tree->clear();
    m_seenWhenSaved = m_model->totalSeen();
    m_message.clear();
    updateFilterStatus();
    updateCounts();
    m_stats->refresh();
}

bool TrafficWidget::selectRecord(quint64 id)
{
    int row = m_model->rowOfId(id);
    if (row < 0 && !m_model->filter().isEmpty()) {
        // Not shown under the filter: drop the filter rather than fail to jump.
        m_filter->clear();
        applyFilter();
        row = m_model->rowOfId(id);
    }
    if (row < 0)
        return false;
    setAutoScroll(false);
    m_view->setCurrentIndex(m_model->index(row, 0));
    m_view->scrollTo(m_model->index(row, 0), QAbstractItemView::PositionAtCenter);
    return true;
}

void TrafficWidget::fillContextMenu(QMenu *menu, int row)
{
    const core::TrafficRecord r = m_model->record(row);
    if (r.kind == core::TrafficRecord::Kind::Output) {
        menu->addAction(tr("Open in composer"), this,
                        [this, r]() { Q_EMIT openInComposer(r, false); });
        menu->addAction(tr("Re-send"), this, [this, r]() { Q_EMIT openInComposer(r, true); });
    } else if (r.kind == core::TrafficRecord::Kind::Input) {
        QAction *again = menu->addAction(tr("Re-deliver to the app (marked as a replay)"), this,
                                         [this, r]() { Q_EMIT redeliver(r); });
        again->setEnabled(!r.pending);
    }
    const QString trace = m_model->traceId(row);
    if (!trace.isEmpty()) {
        menu->addAction(tr("Show only this trace"), this,
                        [this, trace]() { applyAsFilter(QStringLiteral("trace:") + trace, true); });
        if (r.kind == core::TrafficRecord::Kind::Input) {
            for (const core::TrafficRecord &c : m_model->correlated(row)) {
                if (c.kind == core::TrafficRecord::Kind::Output) {
                    menu->addAction(tr("Jump to the cause (%1 %2)").arg(c.binding, c.operation),
                                    this, [this, id = c.id]() { selectRecord(id); });
                    break;
                }
            }
        }
    }
    QMenu *apply = menu->addMenu(tr("Apply as filter"));
    const QString direction = r.kind == core::TrafficRecord::Kind::Output ? QStringLiteral("out")
                              : r.kind == core::TrafficRecord::Kind::Input
                                  ? QStringLiteral("in")
                                  : QStringLiteral("probe");
    QStringList terms{QStringLiteral("binding:") + TrafficFilter::quote(r.binding),
                      QStringLiteral("op:") + TrafficFilter::quote(r.operation),
                      QStringLiteral("direction:") + direction,
                      QStringLiteral("status:")
                          + (r.pending ? QStringLiteral("pending") : QString::number(r.status))};
    if (!trace.isEmpty())
        terms << QStringLiteral("trace:") + trace;
    for (const QString &term : terms) {
        apply->addAction(term, this, [this, term]() { applyAsFilter(term); });
        apply->addAction(QStringLiteral("!") + term, this,
                         [this, term]() { applyAsFilter(QStringLiteral("!") + term); });
    }
    menu->addSeparator();
    menu->addAction(tr("Copy as JSON (secrets masked)"), this, [r]() {
        QApplication::clipboard()->setText(
            QString::fromUtf8(core::trafficRecordToJson(format::masked(r))));
    });
}

void TrafficWidget::showDetail()
{
    const QModelIndex idx = m_view->currentIndex();
    if (!idx.isValid()) {
        m_detail->clear();
        m_tree->clear();
        return;
    }
    const core::TrafficRecord r = m_model->record(idx.row());
    m_tree->setJson(r.payload.isEmpty() ? r.responseBody : r.payload);
    QString html;
    html += QStringLiteral("<h3>%1 · <code>%2</code> (%3) · %4</h3>")
                .arg(kindText(r), r.binding.toHtmlEscaped(), r.bindingType.toHtmlEscaped(),
                     r.operation.toHtmlEscaped());
    if (r.replayOf)
        html += QStringLiteral("<p>↻ %1 <a href='bindery://row/%2'>#%2</a></p>")
                    .arg(tr("A replay of"))
                    .arg(r.replayOf);
    html += QStringLiteral("<p>%1 · %2 · id %3%4</p>")
                .arg(timeOf(r.startedUs),
                     r.pending ? theme::span(
                         theme::Role::Pending,
                         tr("waiting for the app for %1").arg(msText(core::nowUs() - r.startedUs)))
                               : tr("latency %1").arg(msText(r.latencyUs)))
                .arg(r.id)
                .arg(r.route.isEmpty()
                         ? QString()
                         : QStringLiteral(" · route <code>%1</code>").arg(r.route.toHtmlEscaped()));
    const QString trace = m_model->traceId(idx.row());
    QString traceHtml;
    if (!trace.isEmpty()) {
        const QList<core::TrafficRecord> flow = m_model->correlated(idx.row());
        int outputs = 0, deliveries = 0, failed = 0;
        const core::TrafficRecord *cause = nullptr;
        for (const core::TrafficRecord &c : flow) {
            if (c.kind == core::TrafficRecord::Kind::Output) {
                ++outputs;
                if (!cause)
                    cause = &c;
            } else if (c.kind == core::TrafficRecord::Kind::Input) {
                ++deliveries;
                failed += (!c.ok && !c.pending) ? 1 : 0;
            }
        }
        traceHtml += QStringLiteral("<h4>%1 <code>%2</code></h4>").arg(tr("Trace"), trace);
        if (r.kind == core::TrafficRecord::Kind::Input && cause)
            traceHtml += QStringLiteral("<p>%1 <a href='bindery://row/%2'>%3 %4 #%2</a></p>")
                             .arg(tr("Caused by the output request"))
                             .arg(cause->id)
                             .arg(cause->binding.toHtmlEscaped(), cause->operation.toHtmlEscaped());
        else if (r.kind == core::TrafficRecord::Kind::Output && deliveries > 0)
            traceHtml += QStringLiteral("<p>%1</p>")
                             .arg((deliveries == 1
                                       ? tr("Caused 1 delivery to the app")
                                       : tr("Caused %1 deliveries to the app").arg(deliveries))
                                  + (failed ? tr(", %1 failed").arg(failed) : QString()));
        traceHtml += QStringLiteral("<p><a href='bindery://trace/%1'>%2</a> · %3</p>")
                         .arg(trace, tr("Show only this trace"),
                              (flow.size() == 1 ? tr("1 exchange")
                                                : tr("%1 exchanges").arg(flow.size())));
        // The flow: every hop of the trace in time order, with its offset from the first.
        traceHtml += QStringLiteral("<table cellspacing=0 cellpadding=2><tr><th>+ms</th><th>%1</th>"
                                    "<th></th><th>%2</th><th>%3</th><th>%4</th></tr>")
                         .arg(tr("from"), tr("to"), tr("status"), tr("latency"));
        const qint64 t0 = flow.isEmpty() ? 0 : flow.first().startedUs;
        for (const core::TrafficRecord &c : flow) {
            const bool out = c.kind == core::TrafficRecord::Kind::Output;
            const QString from = out ? tr("caller") : c.binding;
            const QString to = out ? QStringLiteral("%1 (%2)").arg(c.binding, c.operation)
                                   : tr("app %1").arg(c.route);
            const bool self = c.id == r.id && c.startedUs == r.startedUs;
            const QString cell = self ? QStringLiteral("<b>%1</b>") : QStringLiteral("%1");
            traceHtml
                += QStringLiteral("<tr><td align=right>%1</td><td>%2</td><td>→</td><td><a "
                                  "href='bindery://row/%3'>%4</a></td><td>%5</td><td>%6</td></tr>")
                       .arg(double(c.startedUs - t0) / 1000.0, 0, 'f', 1)
                       .arg(cell.arg(from.toHtmlEscaped()))
                       .arg(c.id)
                       .arg(cell.arg(to.toHtmlEscaped()),
                            theme::span(c.pending ? theme::Role::Pending
                                        : c.ok    ? theme::Role::Ok
                                                  : theme::Role::Error,
                                        statusText(c)),
                            c.pending ? QStringLiteral("…") : msText(c.latencyUs));
        }
        traceHtml += QStringLiteral("</table>");
    }
    // The trace first: what this row caused, or what caused it.
    html += traceHtml;
    html += QStringLiteral("<h4>%1</h4>")
                .arg(r.kind == core::TrafficRecord::Kind::Output
                         ? tr("Request metadata")
                         : tr("Event metadata (headers to the app)"));
    html += format::metadataHtml(r.metadata);
    html += QStringLiteral("<h4>%1</h4>").arg(tr("Payload (%1 bytes)").arg(r.payload.size()));
    html += format::payloadHtml(r.payload);
    if (!r.pending) {
        const theme::Role role = r.ok ? theme::Role::Ok : theme::Role::Error;
        html += QStringLiteral("<h4>%1: %2</h4>")
                    .arg(r.kind == core::TrafficRecord::Kind::Output ? tr("Answer to the caller")
                                                                     : tr("The app's answer"),
                         theme::span(role, statusText(r)
                                               + (r.outcome.isEmpty()
                                                      ? QString()
                                                      : QStringLiteral(" · ") + r.outcome)));
        if (!r.error.isEmpty())
            html += QStringLiteral("<p>%1</p>")
                        .arg(theme::span(theme::Role::Error,
                                         r.errorCode + u' ' + format::maskSecrets(r.error)));
        if (!r.responseHeaders.isEmpty())
            html += format::metadataHtml(r.responseHeaders);
        if (!r.responseBody.isEmpty())
            html += format::payloadHtml(r.responseBody);
        else if (r.responseHeaders.isEmpty())
            html += QStringLiteral("<p><i>%1</i></p>").arg(tr("no headers, no body"));
    }
    if (!r.eventKey.isEmpty()) {
        const QList<core::TrafficRecord> attempts = m_model->attempts(idx.row());
        html += QStringLiteral("<h4>%1 <code>%2</code></h4>")
                    .arg(tr("Delivery attempts of"), r.eventKey.toHtmlEscaped());
        html += QStringLiteral("<table cellspacing=0 cellpadding=2><tr><th>#</th><th>%1</th>"
                               "<th>%2</th><th>%3</th><th>%4</th></tr>")
                    .arg(tr("time"), tr("status"), tr("latency"), tr("outcome"));
        for (const core::TrafficRecord &a : attempts) {
            html += QStringLiteral("<tr><td>%1</td><td>%2</td><td>%3</td><td>%4</td><td>%5</td>"
                                   "</tr>")
                        .arg(a.attempt)
                        .arg(timeOf(a.startedUs),
                             theme::span(a.pending ? theme::Role::Pending
                                         : a.ok    ? theme::Role::Ok
                                                   : theme::Role::Error,
                                         statusText(a)),
                             a.pending ? QStringLiteral("…") : msText(a.latencyUs),
                             QString(
                                 a.outcome
                                 + (a.error.isEmpty() ? QString() : QStringLiteral(": ") + a.error))
                                 .toHtmlEscaped());
        }
        html += QStringLiteral("</table>");
    }
    m_detail->setHtml(html);
}

qint64 TrafficWidget::exportJsonl(const QString &path, QString *error)
{
    QFile f(path);
    if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate)) {
        if (error)
            *error = f.errorString();
        return -1;
    }
    qint64 n = 0;
    m_model->forEachVisible([&](const core::TrafficRecord &r) {
        f.write(core::trafficRecordToJson(format::masked(r)));
        f.write("\n");
        ++n;
    });
    m_seenWhenSaved = m_model->totalSeen();
    return n;
}

qint64 TrafficWidget::importJsonl(const QString &path, QString *error)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly)) {
        if (error)
            *error = f.errorString();
        return -1;
    }
    std::vector<core::TrafficRecord> records;
    int lineNo = 0;
    while (!f.atEnd()) {
        const QByteArray line = f.readLine().trimmed();
        ++lineNo;
        if (line.isEmpty())
            continue;
        core::TrafficRecord r;
        QString why;
        if (!core::trafficRecordFromJson(line, &r, &why)) {
            if (error)
                *error = QStringLiteral("%1:%2: %3").arg(path).arg(lineNo).arg(why);
            return -1;
        }
        r.pending = false; // a capture is history: nothing in it is still under way
        records.push_back(std::move(r));
    }
    const qint64 n = qint64(records.size());
    m_model->setMaxRows(std::max<size_t>(m_model->maxRows(), records.size()));
    m_model->setRecords(std::move(records));
    m_seenWhenSaved = m_model->totalSeen();
    updateCounts();
    updateFilterStatus();
    m_stats->refresh();
    return n;
}

void TrafficWidget::exportDialog()
{
    const QString start = (m_workspace.isEmpty() ? QString() : m_workspace + u'/')
                          + QStringLiteral("traffic.jsonl");
    const QString path = QFileDialog::getSaveFileName(this, tr("Export traffic"), start,
                                                      tr("JSON Lines (*.jsonl)"));
    if (path.isEmpty())
        return;
    QString error;
    const qint64 n = exportJsonl(path, &error);
    if (n < 0)
        QMessageBox::warning(this, tr("Export traffic"), error);
    else
        showMessage(tr("exported %L1 records").arg(n));
}

void TrafficWidget::importDialog()
{
    const QString path = QFileDialog::getOpenFileName(this, tr("Import traffic"), m_workspace,
                                                      tr("JSON Lines (*.jsonl *.json)"));
    if (!path.isEmpty())
        Q_EMIT importRequested(path);
}

} // namespace bindery::ui
