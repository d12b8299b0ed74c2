// SPDX-License-Identifier: Apache-2.0
#include "ui/widgets/traffic_widget.h"

#include <QChart>
#include <QChartView>
#include <QDateTime>
#include <QFile>
#include <QFileDialog>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QJsonDocument>
#include <QLabel>
#include <QLineEdit>
#include <QLineSeries>
#include <QMessageBox>
#include <QScrollBar>
#include <QSplitter>
#include <QTableView>
#include <QTextBrowser>
#include <QTimer>
#include <QToolButton>
#include <QValueAxis>
#include <QVBoxLayout>

#include "core/traffic.h"
#include "ui/models/event_pump.h"
#include "ui/models/event_table_model.h"

namespace bindery::ui {

namespace {

QString prettyPayload(const QByteArray &b)
{
    if (b.isEmpty())
        return QStringLiteral("<i>(empty)</i>");
    QJsonParseError pe;
    const QJsonDocument doc = QJsonDocument::fromJson(b, &pe);
    QString text;
    if (pe.error == QJsonParseError::NoError && !doc.isNull()) {
        text = QString::fromUtf8(doc.toJson(QJsonDocument::Indented));
    } else {
        const QString s = QString::fromUtf8(b);
        if (s.toUtf8() == b && !b.contains('\0')) {
            text = s;
        } else {
            text = QStringLiteral("binary, %1 bytes, base64:\n").arg(b.size())
                   + QString::fromLatin1(b.toBase64());
        }
    }
    if (text.size() > 200000)
        text = text.left(200000) + QStringLiteral("\n…");
    return QStringLiteral("<pre>%1</pre>").arg(text.toHtmlEscaped());
}

QString headersTable(const core::Headers &h)
{
    if (h.isEmpty())
        return QStringLiteral("<i>(none)</i>");
    QString s = QStringLiteral("<table cellspacing=0 cellpadding=2>");
    for (const auto &[k, v] : h)
        s += QStringLiteral("<tr><td><code>%1</code></td><td>%2</td></tr>")
                 .arg(k.toHtmlEscaped(), v.toHtmlEscaped());
    return s + QStringLiteral("</table>");
}

QString timeOf(qint64 us)
{
    return QDateTime::fromMSecsSinceEpoch(us / 1000).toString(
        QStringLiteral("yyyy-MM-dd HH:mm:ss.zzz"));
}

} // namespace

TrafficWidget::TrafficWidget(core::TrafficStream &stream, QWidget *parent)
    : QWidget(parent)
    , m_stream(stream)
{
    m_model = new EventTableModel(this);
    m_pump = new EventPump(stream, *m_model, this);

    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    auto *bar = new QHBoxLayout;
    m_filter = new QLineEdit(this);
    m_filter->setObjectName(QStringLiteral("trafficFilter"));
    m_filter->setPlaceholderText(tr(
        "Filter: free text, binding:tick direction:in status:5xx|ok|error op:create latency>50"));
    m_filter->setClearButtonEnabled(true);
    m_filterStatus = new QLabel(this);
    m_pause = new QToolButton(this);
    m_pause->setText(tr("Auto-scroll"));
    m_pause->setCheckable(true);
    m_pause->setChecked(true);
    m_pause->setToolTip(tr("Follow new records (Ctrl+Shift+P toggles)"));
    auto *clearButton = new QToolButton(this);
    clearButton->setText(tr("Clear"));
    auto *exportButton = new QToolButton(this);
    exportButton->setText(tr("Export…"));
    exportButton->setToolTip(tr("Export the filtered view as JSON Lines"));
    auto *importButton = new QToolButton(this);
    importButton->setText(tr("Import…"));
    m_counts = new QLabel(this);
    bar->addWidget(m_filter, 1);
    bar->addWidget(m_filterStatus);
    bar->addWidget(m_pause);
    bar->addWidget(clearButton);
    bar->addWidget(exportButton);
    bar->addWidget(importButton);
    layout->addLayout(bar);

    auto *split = new QSplitter(Qt::Vertical, this);
    m_view = new QTableView(split);
    m_view->setObjectName(QStringLiteral("trafficTable"));
    m_view->setModel(m_model);
    m_view->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_view->setSelectionMode(QAbstractItemView::SingleSelection);
    m_view->setWordWrap(false);
    m_view->setShowGrid(false);
    m_view->setAlternatingRowColors(true);
    m_view->setSortingEnabled(false);
    m_view->verticalHeader()->setSectionResizeMode(QHeaderView::Fixed);
    m_view->verticalHeader()->setDefaultSectionSize(m_view->fontMetrics().height() + 6);
    m_view->verticalHeader()->hide();
    QHeaderView *h = m_view->horizontalHeader();
    h->setSectionResizeMode(QHeaderView::Interactive);
    h->setHighlightSections(false);
    const int cw = m_view->fontMetrics().horizontalAdvance(u'0');
    m_view->setColumnWidth(EventTableModel::Time, cw * 14);
    m_view->setColumnWidth(EventTableModel::Direction, cw * 9);
    m_view->setColumnWidth(EventTableModel::Binding, cw * 14);
    m_view->setColumnWidth(EventTableModel::Operation, cw * 10);
    m_view->setColumnWidth(EventTableModel::Summary, cw * 60);
    m_view->setColumnWidth(EventTableModel::Status, cw * 11);
    m_view->setColumnWidth(EventTableModel::Latency, cw * 11);
    h->setSectionResizeMode(EventTableModel::Summary, QHeaderView::Stretch);
    m_view->setColumnWidth(EventTableModel::Size, cw * 9);

    auto *lower = new QSplitter(Qt::Horizontal, split);
    m_detail = new QTextBrowser(lower);
    m_detail->setObjectName(QStringLiteral("trafficDetail"));
    m_detail->setPlaceholderText(tr("Select a record to see its metadata, payload, the app's "
                                    "answer and every delivery attempt."));
    m_chartPanel = new QWidget(lower);
    auto *cl = new QVBoxLayout(m_chartPanel);
    cl->setContentsMargins(0, 0, 0, 0);
    auto *chart = new QChart;
    chart->setTitle(tr("Events/s and errors/s (last 2 minutes)"));
    chart->legend()->setAlignment(Qt::AlignBottom);
    chart->setMargins(QMargins(4, 4, 4, 4));
    m_rateSeries = new QLineSeries;
    m_rateSeries->setName(tr("events/s"));
    m_errorSeries = new QLineSeries;
    m_errorSeries->setName(tr("errors/s"));
    m_errorSeries->setColor(QColor(0xd0, 0x30, 0x30));
    chart->addSeries(m_rateSeries);
    chart->addSeries(m_errorSeries);
    m_axisX = new QValueAxis;
    m_axisX->setRange(-120, 0);
    m_axisX->setLabelFormat(QStringLiteral("%.0f"));
    m_axisX->setTickCount(5);
    m_axisY = new QValueAxis;
    m_axisY->setRange(0, 5);
    m_axisY->setLabelFormat(QStringLiteral("%.0f"));
    chart->addAxis(m_axisX, Qt::AlignBottom);
    chart->addAxis(m_axisY, Qt::AlignLeft);
    for (QLineSeries *s : {m_rateSeries, m_errorSeries}) {
        s->attachAxis(m_axisX);
        s->attachAxis(m_axisY);
    }
    m_chart = new QChartView(chart, m_chartPanel);
    m_chart->setRenderHint(QPainter::Antialiasing);
    m_chart->setMinimumHeight(160);
    cl->addWidget(m_chart, 1);
    cl->addWidget(m_counts);
    lower->addWidget(m_detail);
    lower->addWidget(m_chartPanel);
    lower->setStretchFactor(0, 3);
    lower->setStretchFactor(1, 2);
    split->addWidget(m_view);
    split->addWidget(lower);
    split->setStretchFactor(0, 3);
    split->setStretchFactor(1, 2);
    layout->addWidget(split, 1);

    m_secondTimer = new QTimer(this);
    m_secondTimer->setInterval(1000);
    connect(m_secondTimer, &QTimer::timeout, this, &TrafficWidget::tick);
    m_secondTimer->start();

    connect(m_pump, &EventPump::drained, this, &TrafficWidget::onDrained);
    connect(m_filter, &QLineEdit::returnPressed, this, &TrafficWidget::applyFilter);
    auto *filterDebounce = new QTimer(this);
    filterDebounce->setSingleShot(true);
    filterDebounce->setInterval(300);
    connect(m_filter, &QLineEdit::textChanged, filterDebounce, qOverload<>(&QTimer::start));
    connect(filterDebounce, &QTimer::timeout, this, &TrafficWidget::applyFilter);
    connect(m_pause, &QToolButton::toggled, this, &TrafficWidget::setAutoScroll);
    connect(clearButton, &QToolButton::clicked, this, &TrafficWidget::clear);
    connect(exportButton, &QToolButton::clicked, this, &TrafficWidget::exportDialog);
    connect(importButton, &QToolButton::clicked, this, &TrafficWidget::importDialog);
    connect(m_view->selectionModel(), &QItemSelectionModel::currentRowChanged, this,
            &TrafficWidget::showDetail);
    // Scrolling up by hand pauses following; back at the bottom resumes.
    connect(m_view->verticalScrollBar(), &QScrollBar::sliderMoved, this,
            [this](int v) { setAutoScroll(v >= m_view->verticalScrollBar()->maximum()); });
    tick();
}

TrafficWidget::~TrafficWidget() = default;

void TrafficWidget::setAutoScroll(bool on)
{
    m_autoScroll = on;
    if (m_pause->isChecked() != on)
        m_pause->setChecked(on);
    if (on)
        m_view->scrollToBottom();
}

void TrafficWidget::onDrained(int records, int errors)
{
    m_secondEvents += records;
    m_secondErrors += errors;
    m_totalErrors += errors;
    // Scroll in the same event-loop turn as the insert, so both cost one repaint.
    if (m_autoScroll)
        m_view->scrollToBottom();
}

void TrafficWidget::tick()
{
    ++m_seconds;
    const qint64 t = m_seconds;
    m_rateSeries->append(qreal(t), qreal(m_secondEvents));
    m_errorSeries->append(qreal(t), qreal(m_secondErrors));
    while (m_rateSeries->count() > 121)
        m_rateSeries->remove(0);
    while (m_errorSeries->count() > 121)
        m_errorSeries->remove(0);
    m_axisX->setRange(qreal(t - 120), qreal(t));
    m_axisX->setTitleText(tr("seconds since start"));
    qreal maxY = 5;
    for (const QPointF &p : m_rateSeries->points())
        maxY = std::max(maxY, p.y());
    m_axisY->setRange(0, maxY * 1.15);
    m_secondEvents = 0;
    m_secondErrors = 0;
    m_counts->setText(
        tr("%L1 rows shown · %L2 held · %L3 seen · %L4 errors · %L5 dropped by the tap")
            .arg(m_model->rowCount())
            .arg(qulonglong(m_model->totalRows()))
            .arg(m_model->totalSeen())
            .arg(m_totalErrors)
            .arg(m_pump->dropped()));
    Q_EMIT countsChanged();
}

void TrafficWidget::applyFilter()
{
    const TrafficFilter f = TrafficFilter::parse(m_filter->text());
    if (!f.error.isEmpty()) {
        m_filter->setStyleSheet(QStringLiteral("QLineEdit { background: #fde2e2; }"));
        m_filterStatus->setText(f.error);
        return;
    }
    m_filter->setStyleSheet(f.isEmpty() ? QString()
                                        : QStringLiteral("QLineEdit { background: #e3f6e5; }"));
    m_model->setFilter(f);
    m_filterStatus->setText(f.isEmpty() ? QString() : tr("%L1 match").arg(m_model->rowCount()));
    if (m_autoScroll)
        m_view->scrollToBottom();
}

void TrafficWidget::clear()
{
    m_model->clear();
    m_detail->clear();
    m_totalErrors = 0;
    tick();
}

void TrafficWidget::showDetail()
{
    const QModelIndex idx = m_view->currentIndex();
    if (!idx.isValid()) {
        m_detail->clear();
        return;
    }
    const core::TrafficRecord r = m_model->record(idx.row());
    QString html;
    const QString kind
        = r.kind == core::TrafficRecord::Kind::Output       ? tr("Output request")
          : r.kind == core::TrafficRecord::Kind::Input      ? tr("Input event delivered to the app")
          : r.kind == core::TrafficRecord::Kind::Connection ? tr("Connection to the server")
                                                            : tr("Subscription probe");
    html += QStringLiteral("<h3>%1 · <code>%2</code> (%3) · %4</h3>")
                .arg(kind, r.binding.toHtmlEscaped(), r.bindingType.toHtmlEscaped(),
                     r.operation.toHtmlEscaped());
    html += QStringLiteral("<p>%1 · latency %2 ms · id %3%4</p>")
                .arg(timeOf(r.startedUs))
                .arg(double(r.latencyUs) / 1000.0, 0, 'f', 2)
                .arg(r.id)
                .arg(r.route.isEmpty()
                         ? QString()
                         : QStringLiteral(" · route <code>%1</code>").arg(r.route.toHtmlEscaped()));
    html += QStringLiteral("<h4>%1</h4>")
                .arg(r.kind == core::TrafficRecord::Kind::Output
                         ? tr("Request metadata")
                         : tr("Event metadata (headers to the app)"));
    html += headersTable(r.metadata);
    html += QStringLiteral("<h4>%1</h4>").arg(tr("Payload (%1 bytes)").arg(r.payload.size()));
    html += prettyPayload(r.payload);
    const QString colour = r.ok ? QStringLiteral("#1a7f37") : QStringLiteral("#c02020");
    html += QStringLiteral("<h4>%1: <span style='color:%2'>%3%4</span></h4>")
                .arg(r.kind == core::TrafficRecord::Kind::Output ? tr("Answer to the caller")
                                                                 : tr("The app's answer"),
                     colour)
                .arg(r.status == 0 ? tr("no answer") : QString::number(r.status))
                .arg(r.outcome.isEmpty() ? QString()
                                         : QStringLiteral(" · ") + r.outcome.toHtmlEscaped());
    if (!r.error.isEmpty())
        html += QStringLiteral("<p style='color:#c02020'>%1 %2</p>")
                    .arg(r.errorCode.toHtmlEscaped(), r.error.toHtmlEscaped());
    html += headersTable(r.responseHeaders);
    html += prettyPayload(r.responseBody);
    if (!r.eventKey.isEmpty()) {
        const QList<core::TrafficRecord> attempts = m_model->attempts(idx.row());
        html += QStringLiteral("<h4>%1 <code>%2</code></h4>")
                    .arg(tr("Delivery attempts of"), r.eventKey.toHtmlEscaped());
        html += QStringLiteral("<table cellspacing=0 "
                               "cellpadding=2><tr><th>#</th><th>time</th><th>status</"
                               "th><th>latency</th><th>outcome</th></tr>");
        for (const core::TrafficRecord &a : attempts) {
            html
                += QStringLiteral("<tr><td>%1</td><td>%2</td><td style='color:%3'>%4</td><td>%5 "
                                  "ms</td><td>%6</td></tr>")
                       .arg(a.attempt)
                       .arg(timeOf(a.startedUs),
                            a.ok ? QStringLiteral("#1a7f37") : QStringLiteral("#c02020"))
                       .arg(a.status == 0 ? tr("no answer") : QString::number(a.status))
                       .arg(double(a.latencyUs) / 1000.0, 0, 'f', 2)
                       .arg(QString(a.outcome
                                    + (a.error.isEmpty() ? QString()
                                                         : QString(QStringLiteral(": ") + a.error)))
                                .toHtmlEscaped());
        }
        html += QStringLiteral("</table>");
    }
    m_detail->setHtml(html);
}

qint64 TrafficWidget::exportJsonl(const QString &path, QString *error) const
{
    QFile f(path);
    if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate)) {
        if (error)
            *error = f.errorString();
        return -1;
    }
    qint64 n = 0;
    m_model->forEachVisible([&](const core::TrafficRecord &r) {
        f.write(core::trafficRecordToJson(r));
        f.write("\n");
        ++n;
    });
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
    std::vector<core::TrafficRecord> batch;
    int lineNo = 0;
    qint64 n = 0;
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
        batch.push_back(std::move(r));
        if (batch.size() >= 10000) {
            n += qint64(batch.size());
            m_model->appendBatch(std::move(batch));
            batch = {};
        }
    }
    n += qint64(batch.size());
    m_model->appendBatch(std::move(batch));
    return n;
}

void TrafficWidget::exportDialog()
{
    const QString path = QFileDialog::getSaveFileName(
        this, tr("Export traffic"), QStringLiteral("traffic.jsonl"), tr("JSON Lines (*.jsonl)"));
    if (path.isEmpty())
        return;
    QString error;
    const qint64 n = exportJsonl(path, &error);
    if (n < 0)
        QMessageBox::warning(this, tr("Export traffic"), error);
    else
        m_filterStatus->setText(tr("exported %L1 records").arg(n));
}

void TrafficWidget::importDialog()
{
    const QString path = QFileDialog::getOpenFileName(this, tr("Import traffic"), QString(),
                                                      tr("JSON Lines (*.jsonl *.json)"));
    if (path.isEmpty())
        return;
    QString error;
    const qint64 n = importJsonl(path, &error);
    if (n < 0)
        QMessageBox::warning(this, tr("Import traffic"), error);
    else
        m_filterStatus->setText(tr("imported %L1 records").arg(n));
}

} // namespace bindery::ui
