// SPDX-License-Identifier: Apache-2.0
#include "ui/widgets/composer_widget.h"

#include <QApplication>
#include <QClipboard>
#include <QComboBox>
#include <QDateTime>
#include <QDir>
#include <QFile>
#include <QFileDialog>
#include <QFontDatabase>
#include <QCryptographicHash>
#include <QKeyEvent>
#include <QScopeGuard>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QInputDialog>
#include <QJsonArray>
#include <QJsonDocument>
#include <QLabel>
#include <QLineEdit>
#include <QListView>
#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QNetworkRequest>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QScrollArea>
#include <QImage>
#include <QPixmap>
#include <QRandomGenerator>
#include <QRegularExpression>
#include <QUrl>
#include <QShortcut>
#include <QSortFilterProxyModel>
#include <QSplitter>
#include <QStandardItemModel>
#include <QStandardPaths>
#include <QTableWidget>
#include <QTabWidget>
#include <QToolButton>
#include <QVBoxLayout>

#include <Qsci/qscilexerjson.h>
#include <Qsci/qsciscintilla.h>

#include "core/binding_registry.h"
#include "core/runtime.h"
#include "ui/editors/yaml_editor.h"
#include "ui/record_format.h"
#include "ui/runtime_host.h"
#include "ui/theme.h"
#include "ui/widgets/find_bar.h"
#include "ui/widgets/json_tree_view.h"

namespace bindery::ui {

namespace {

constexpr int RequestJsonRole = Qt::UserRole + 1;
constexpr int SearchRole = Qt::UserRole + 2;
constexpr int ResponseJsonRole = Qt::UserRole + 3;
constexpr int PathRole = Qt::UserRole + 4;

QByteArray jsonString(const QString &s)
{
    QJsonArray a{s};
    QByteArray b = QJsonDocument(a).toJson(QJsonDocument::Compact);
    return b.mid(1, b.size() - 2);
}

QString shellQuote(const QString &s)
{
    QString q = s;
    q.replace(u'\'', QStringLiteral("'\\''"));
    return u'\'' + q + u'\'';
}

/// Line and column (1-based) of a character offset in `text`.
QPair<int, int> lineCol(const QString &text, int offset)
{
    int line = 1, col = 1;
    for (int i = 0; i < offset && i < text.size(); ++i) {
        if (text.at(i) == u'\n') {
            ++line;
            col = 1;
        } else {
            ++col;
        }
    }
    return {line, col};
}

} // namespace

// ---- ComposerRequest ----

QJsonObject ComposerRequest::toJson() const
{
    QJsonObject o;
    if (!name.isEmpty())
        o.insert(QStringLiteral("name"), name);
    o.insert(QStringLiteral("binding"), binding);
    o.insert(QStringLiteral("operation"), operation);
    QJsonArray md;
    for (const auto &[k, v] : metadata)
        md.append(QJsonObject{{QStringLiteral("key"), k}, {QStringLiteral("value"), v}});
    o.insert(QStringLiteral("metadata"), md);
    o.insert(QStringLiteral("payload"), payload);
    o.insert(QStringLiteral("mode"), mode);
    return o;
}

ComposerRequest ComposerRequest::fromJson(const QJsonObject &o)
{
    ComposerRequest r;
    r.name = o.value(QStringLiteral("name")).toString();
    r.binding = o.value(QStringLiteral("binding")).toString();
    r.operation = o.value(QStringLiteral("operation")).toString();
    const QJsonValue md = o.value(QStringLiteral("metadata"));
    if (md.isArray()) {
        for (const QJsonValue &v : md.toArray())
            r.metadata.append({v.toObject().value(QStringLiteral("key")).toString(),
                               v.toObject().value(QStringLiteral("value")).toString()});
    } else if (md.isObject()) {
        const QJsonObject m = md.toObject();
        for (auto it = m.begin(); it != m.end(); ++it)
            r.metadata.append({it.key(), it.value().toString()});
    }
    r.payload = o.value(QStringLiteral("payload")).toString();
    r.mode = o.value(QStringLiteral("mode")).toString(QStringLiteral("json"));
    return r;
}

bool ComposerRequest::body(QByteArray *out, QString *error) const
{
    QByteArray data;
    if (mode == QStringLiteral("json")) {
        const QString t = payload.trimmed();
        if (!t.isEmpty()) {
            QJsonParseError pe;
            QJsonDocument::fromJson((QStringLiteral("[") + t + QStringLiteral("]")).toUtf8(), &pe);
            if (pe.error != QJsonParseError::NoError) {
                if (error)
                    *error = pe.errorString();
                return false;
            }
            data = t.toUtf8();
        }
    } else if (mode == QStringLiteral("base64")) {
        QString cleaned = payload;
        cleaned.remove(u'\n').remove(u'\r').remove(u' ');
        if (!QByteArray::fromBase64Encoding(cleaned.toLatin1(),
                                            QByteArray::AbortOnBase64DecodingErrors)) {
            if (error)
                *error = QStringLiteral("not valid base64");
            return false;
        }
        data = jsonString(cleaned);
    } else {
        data = jsonString(payload);
    }
    QByteArray b = "{\"operation\":" + jsonString(operation);
    if (!metadata.isEmpty()) {
        b += ",\"metadata\":{";
        bool first = true;
        for (const auto &[k, v] : metadata) {
            if (k.isEmpty())
                continue;
            if (!first)
                b += ',';
            first = false;
            b += jsonString(k) + ':' + jsonString(v);
        }
        b += '}';
    }
    if (!data.isEmpty())
        b += ",\"data\":" + data;
    b += '}';
    *out = b;
    return true;
}

// ---- ComposerWidget ----

ComposerWidget::ComposerWidget(RuntimeHost &host, QWidget *parent)
    : QWidget(parent)
    , m_host(host)
{
    m_nam = new QNetworkAccessManager(this);
    const QFont mono = QFontDatabase::systemFont(QFontDatabase::FixedFont);

    auto *outer = new QVBoxLayout(this);
    auto *splitter = new QSplitter(Qt::Horizontal, this);
    outer->addWidget(splitter);

    // --- request side ---
    auto *req = new QWidget(splitter);
    auto *rl = new QVBoxLayout(req);
    rl->setContentsMargins(0, 0, 4, 0);
    auto *top = new QHBoxLayout;
    m_binding = new QComboBox(req);
    m_binding->setMinimumContentsLength(14);
    m_binding->setToolTip(tr("Output-capable components of the running runtime"));
    m_operation = new QComboBox(req);
    m_operation->setEditable(true);
    m_operation->setMinimumContentsLength(8);
    m_send = new QPushButton(tr("Send"), req);
    m_send->setDefault(true);
    m_send->setToolTip(tr("Send through the runtime's HTTP API (Ctrl+Enter)"));
    top->addWidget(new QLabel(tr("Binding"), req));
    top->addWidget(m_binding, 2);
    top->addWidget(new QLabel(tr("Operation"), req));
    top->addWidget(m_operation, 1);
    top->addWidget(m_send);
    rl->addLayout(top);

    m_metadata = new QTableWidget(0, 2, req);
    m_metadata->setHorizontalHeaderLabels({tr("Metadata key"), tr("Value")});
    m_metadata->horizontalHeader()->setStretchLastSection(true);
    m_metadata->verticalHeader()->hide();
    m_metadata->setColumnWidth(0, 160);
    m_metadata->setMaximumHeight(130);
    auto *mdButtons = new QHBoxLayout;
    auto *addRow = new QToolButton(req);
    addRow->setText(tr("+ Row"));
    auto *removeRow = new QToolButton(req);
    removeRow->setText(tr("− Row"));
    m_hints = new QLabel(req);
    m_hints->setWordWrap(true);
    m_hints->setTextFormat(Qt::RichText);
    mdButtons->addWidget(addRow);
    mdButtons->addWidget(removeRow);
    mdButtons->addWidget(m_hints, 1);
    rl->addWidget(m_metadata);
    rl->addLayout(mdButtons);

    auto *payloadBar = new QHBoxLayout;
    m_mode = new QComboBox(req);
    m_mode->addItem(tr("JSON"), QStringLiteral("json"));
    m_mode->addItem(tr("Raw text"), QStringLiteral("raw"));
    m_mode->addItem(tr("Base64 (binary)"), QStringLiteral("base64"));
    auto *pretty = new QToolButton(req);
    pretty->setText(tr("Pretty"));
    auto *fromFile = new QToolButton(req);
    fromFile->setText(tr("From file…"));
    auto *curl = new QToolButton(req);
    curl->setText(tr("Copy as curl"));
    auto *save = new QToolButton(req);
    save->setText(tr("Save…"));
    payloadBar->addWidget(new QLabel(tr("Payload"), req));
    payloadBar->addWidget(m_mode);
    payloadBar->addStretch(1);
    payloadBar->addWidget(pretty);
    payloadBar->addWidget(fromFile);
    payloadBar->addWidget(curl);
    payloadBar->addWidget(save);
    rl->addLayout(payloadBar);

    m_payload = new QsciScintilla(req);
    auto *lexer = new QsciLexerJSON(m_payload);
    lexer->setDefaultFont(mono);
    lexer->setFont(mono);
    m_payload->setLexer(lexer);
    m_payload->setUtf8(true);
    m_payload->setMarginType(0, QsciScintilla::NumberMargin);
    m_payload->setMarginWidth(0, QStringLiteral("000"));
    m_payload->setMarginsFont(mono);
    m_payload->setBraceMatching(QsciScintilla::SloppyBraceMatch);
    m_payload->setAutoIndent(true);
    m_payload->setIndentationWidth(2);
    m_payload->setFolding(QsciScintilla::BoxedTreeFoldStyle, 2);
    m_payload->indicatorDefine(QsciScintilla::SquiggleIndicator, 8);
    m_payload->setIndicatorForegroundColor(theme::colour(theme::Role::Error), 8);
    applyPaletteTo(m_payload);
    rl->addWidget(m_payload, 1);
    m_payloadStatus = new QLabel(req);
    rl->addWidget(m_payloadStatus);

    // --- response side ---
    auto *resp = new QWidget(splitter);
    auto *pl = new QVBoxLayout(resp);
    pl->setContentsMargins(4, 0, 0, 0);
    m_responseStatus = new QLabel(tr("No response yet. Press Send (Ctrl+Enter)."), resp);
    m_responseStatus->setTextFormat(Qt::RichText);
    QFont big = m_responseStatus->font();
    big.setPointSizeF(big.pointSizeF() * 1.15);
    m_responseStatus->setFont(big);
    pl->addWidget(m_responseStatus);
    m_responseHeaders = new QTableWidget(0, 2, resp);
    m_responseHeaders->setHorizontalHeaderLabels({tr("Header"), tr("Value")});
    m_responseHeaders->horizontalHeader()->setStretchLastSection(true);
    m_responseHeaders->verticalHeader()->hide();
    m_responseHeaders->setColumnWidth(0, 200);
    m_responseHeaders->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_responseHeaders->setMinimumHeight(60);
    m_responseHeaders->horizontalHeader()->setSectionResizeMode(0, QHeaderView::Interactive);
    m_responseHeaders->setWordWrap(false);
    auto *respSplit = new QSplitter(Qt::Vertical, resp);
    respSplit->setChildrenCollapsible(false);
    respSplit->addWidget(m_responseHeaders);
    auto *bodyPage = new QWidget(respSplit);
    auto *bl = new QVBoxLayout(bodyPage);
    bl->setContentsMargins(0, 0, 0, 0);
    m_bodyTabs = new QTabWidget(bodyPage);
    m_bodyPretty = new QPlainTextEdit(bodyPage);
    m_bodyPretty->setObjectName(QStringLiteral("responsePretty"));
    m_bodyRaw = new QPlainTextEdit(bodyPage);
    m_bodyHex = new QPlainTextEdit(bodyPage);
    for (QPlainTextEdit *e : {m_bodyPretty, m_bodyRaw, m_bodyHex}) {
        e->setReadOnly(true);
        e->setFont(mono);
        e->setLineWrapMode(e == m_bodyRaw ? QPlainTextEdit::WidgetWidth : QPlainTextEdit::NoWrap);
    }
    m_bodyTree = new JsonTreeView(bodyPage);
    m_bodyTree->setObjectName(QStringLiteral("responseTree"));
    m_bodyPreview = new QLabel(bodyPage);
    m_bodyPreview->setObjectName(QStringLiteral("responsePreview"));
    m_bodyPreview->setAlignment(Qt::AlignCenter);
    m_bodyPreview->setWordWrap(true);
    auto *previewScroll = new QScrollArea(bodyPage);
    previewScroll->setWidget(m_bodyPreview);
    previewScroll->setWidgetResizable(true);
    m_bodyTabs->addTab(m_bodyPretty, tr("Pretty"));
    m_bodyTabs->addTab(m_bodyTree, tr("Tree"));
    m_bodyTabs->addTab(previewScroll, tr("Preview"));
    m_bodyTabs->addTab(m_bodyRaw, tr("Raw"));
    m_bodyTabs->addTab(m_bodyHex, tr("Hex"));
    m_prettyFind = new FindBar(m_bodyPretty, bodyPage);
    m_rawFind = new FindBar(m_bodyRaw, bodyPage);
    bl->addWidget(m_bodyTabs, 1);
    bl->addWidget(m_prettyFind);
    bl->addWidget(m_rawFind);
    respSplit->addWidget(bodyPage);
    respSplit->setStretchFactor(0, 1);
    respSplit->setStretchFactor(1, 4);
    pl->addWidget(respSplit, 1);
    splitter->setStretchFactor(0, 1);
    splitter->setStretchFactor(1, 1);
    splitter->setSizes({560, 500});

    // --- history / saved panel (placed in a dock by the main window) ---
    m_historyPanel = new QWidget;
    m_historyPanel->setObjectName(QStringLiteral("historyPanel"));
    auto *hl = new QVBoxLayout(m_historyPanel);
    hl->setContentsMargins(2, 2, 2, 2);
    auto *search = new QLineEdit(m_historyPanel);
    search->setPlaceholderText(tr("Search history (binding, operation, payload, status)…"));
    search->setClearButtonEnabled(true);
    hl->addWidget(search);
    auto *htabs = new QTabWidget(m_historyPanel);
    m_history = new QStandardItemModel(this);
    m_historyFilter = new QSortFilterProxyModel(this);
    m_historyFilter->setSourceModel(m_history);
    m_historyFilter->setFilterRole(SearchRole);
    m_historyFilter->setFilterCaseSensitivity(Qt::CaseInsensitive);
    auto *historyView = new QListView(m_historyPanel);
    historyView->setModel(m_historyFilter);
    historyView->setUniformItemSizes(true);
    historyView->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_saved = new QStandardItemModel(this);
    auto *savedView = new QListView(m_historyPanel);
    savedView->setModel(m_saved);
    savedView->setEditTriggers(QAbstractItemView::NoEditTriggers);
    htabs->addTab(historyView, tr("History"));
    htabs->addTab(savedView, tr("Saved requests"));
    hl->addWidget(htabs, 1);
    auto *hb = new QHBoxLayout;
    auto *openBtn = new QPushButton(tr("Open"), m_historyPanel);
    auto *resendBtn = new QPushButton(tr("Re-send"), m_historyPanel);
    hb->addWidget(openBtn);
    hb->addWidget(resendBtn);
    hl->addLayout(hb);

    auto openIndex = [this](const QModelIndex &idx) {
        if (!idx.isValid())
            return false;
        const QJsonObject o
            = QJsonDocument::fromJson(idx.data(RequestJsonRole).toByteArray()).object();
        setRequest(ComposerRequest::fromJson(o));
        const QJsonObject r
            = QJsonDocument::fromJson(idx.data(ResponseJsonRole).toByteArray()).object();
        if (!r.isEmpty()) {
            m_lastStatus = r.value(QStringLiteral("status")).toInt();
            m_lastBody
                = QByteArray::fromBase64(r.value(QStringLiteral("body")).toString().toLatin1());
            m_responseStatus->setText(tr("<b>%1</b> · %2 ms · from history %3")
                                          .arg(m_lastStatus)
                                          .arg(r.value(QStringLiteral("ms")).toInteger())
                                          .arg(r.value(QStringLiteral("time")).toString()));
            m_responseHeaders->setRowCount(0);
            for (const QJsonValue &h : r.value(QStringLiteral("headers")).toArray()) {
                const int row = m_responseHeaders->rowCount();
                m_responseHeaders->insertRow(row);
                m_responseHeaders->setItem(row, 0,
                                           new QTableWidgetItem(h.toArray().at(0).toString()));
                m_responseHeaders->setItem(row, 1,
                                           new QTableWidgetItem(h.toArray().at(1).toString()));
            }
            showBody();
        }
        return true;
    };
    auto current = [historyView, savedView, htabs]() {
        return htabs->currentIndex() == 0 ? historyView->currentIndex() : savedView->currentIndex();
    };
    connect(historyView, &QListView::activated, this, openIndex);
    connect(savedView, &QListView::activated, this, openIndex);
    connect(openBtn, &QPushButton::clicked, this, [=]() { openIndex(current()); });
    connect(resendBtn, &QPushButton::clicked, this, [=, this]() {
        if (openIndex(current()))
            send();
    });
    connect(search, &QLineEdit::textChanged, m_historyFilter,
            &QSortFilterProxyModel::setFilterFixedString);

    // --- wiring ---
    connect(m_binding, &QComboBox::currentIndexChanged, this, &ComposerWidget::onBindingChanged);
    connect(m_operation, &QComboBox::currentTextChanged, this, &ComposerWidget::onOperationChanged);
    connect(m_mode, &QComboBox::currentIndexChanged, this, &ComposerWidget::validatePayload);
    connect(m_payload, &QsciScintilla::textChanged, this, &ComposerWidget::validatePayload);
    connect(m_send, &QPushButton::clicked, this, &ComposerWidget::send);
    connect(pretty, &QToolButton::clicked, this, &ComposerWidget::prettyPrint);
    connect(fromFile, &QToolButton::clicked, this, &ComposerWidget::loadPayloadFromFile);
    connect(curl, &QToolButton::clicked, this, &ComposerWidget::copyAsCurl);
    connect(save, &QToolButton::clicked, this, [this]() { saveRequest(); });
    connect(addRow, &QToolButton::clicked, this, [this]() { addMetadataRow({}, {}); });
    connect(removeRow, &QToolButton::clicked, this, [this]() {
        const int r = m_metadata->currentRow();
        if (r >= 0)
            m_metadata->removeRow(r);
    });
    connect(m_hints, &QLabel::linkActivated, this, [this](const QString &link) {
        const QStringList parts = link.split(u'\n');
        for (int r = 0; r < m_metadata->rowCount(); ++r) {
            if (m_metadata->item(r, 0) && m_metadata->item(r, 0)->text() == parts.value(0))
                return;
        }
        addMetadataRow(parts.value(0), parts.value(1));
    });
    connect(m_bodyTabs, &QTabWidget::currentChanged, this, [this]() { showBody(); });
    // Ctrl+Enter is the window's Request ▸ Send: one shortcut (a second one here made the key
    // ambiguous, and it did nothing while the focus was in the composer).

    // Tab leaves the metadata table and the payload editor instead of cycling inside them.
    m_metadata->setTabKeyNavigation(false);
    m_payload->installEventFilter(this);
    setTabOrder(m_binding, m_operation);
    setTabOrder(m_operation, m_send);
    setTabOrder(m_send, m_metadata);
    setTabOrder(m_metadata, m_payload);
    setTabOrder(m_payload, m_bodyTabs);

    setWorkspace(QString());
    validatePayload();
}

ComposerWidget::~ComposerWidget()
{
    if (m_historyPanel && !m_historyPanel->parent())
        delete m_historyPanel.data();
}

void ComposerWidget::setWorkspace(const QString &folder)
{
    m_workspace = folder;
    // History is kept per workspace (a folder's requests belong to its components).
    const QString dataDir = QStandardPaths::writableLocation(QStandardPaths::AppDataLocation);
    QDir().mkpath(dataDir + QStringLiteral("/history"));
    const QString key = folder.isEmpty()
                            ? QStringLiteral("default")
                            : QString::fromLatin1(QCryptographicHash::hash(
                                                      QFileInfo(folder).absoluteFilePath().toUtf8(),
                                                      QCryptographicHash::Sha1)
                                                      .toHex()
                                                      .left(16));
    m_historyPath = dataDir + QStringLiteral("/history/") + key + QStringLiteral(".jsonl");
    m_history->removeRows(0, m_history->rowCount());
    loadHistory();
    m_perBinding.clear();
    loadSaved();
}

bool ComposerWidget::eventFilter(QObject *watched, QEvent *event)
{
    if (watched == m_payload && event->type() == QEvent::KeyPress) {
        const auto *key = static_cast<QKeyEvent *>(event);
        if ((key->key() == Qt::Key_Tab || key->key() == Qt::Key_Backtab)
            && !(key->modifiers() & Qt::ControlModifier)) {
            const bool forward
                = key->key() == Qt::Key_Tab && !(key->modifiers() & Qt::ShiftModifier);
            (forward ? static_cast<QWidget *>(m_bodyTabs) : static_cast<QWidget *>(m_metadata))
                ->setFocus(forward ? Qt::TabFocusReason : Qt::BacktabFocusReason);
            return true;
        }
    }
    return QWidget::eventFilter(watched, event);
}

ComposerRequest ComposerRequest::fromRecord(const core::TrafficRecord &record)
{
    ComposerRequest r;
    r.binding = record.binding;
    r.operation = record.operation;
    for (const auto &[k, v] : record.metadata) {
        // A new send gets a trace of its own.
        if (k.compare(QLatin1String("traceparent"), Qt::CaseInsensitive) != 0
            && k.compare(QLatin1String("tracestate"), Qt::CaseInsensitive) != 0)
            r.metadata.append({k, v});
    }
    const QString kind = format::sniff(record.payload);
    if (kind == QStringLiteral("json") || kind == QStringLiteral("empty")) {
        r.mode = QStringLiteral("json");
        r.payload = QString::fromUtf8(record.payload);
    } else if (kind == QStringLiteral("text")) {
        r.mode = QStringLiteral("raw");
        r.payload = QString::fromUtf8(record.payload);
    } else {
        r.mode = QStringLiteral("base64");
        r.payload = QString::fromLatin1(record.payload.toBase64());
    }
    return r;
}

void ComposerWidget::refreshBindings()
{
    const QString current = m_binding->currentText();
    QStringList names;
    for (const core::ComponentStatus &c : m_host.components()) {
        if (c.output && c.state == core::ComponentState::Loaded)
            names << c.name;
    }
    if (names.isEmpty() && m_binding->count() > 0)
        return; // runtime restarting: keep the picker as it is
    QStringList existing;
    for (int i = 0; i < m_binding->count(); ++i)
        existing << m_binding->itemText(i);
    if (existing == names)
        return;
    m_binding->blockSignals(true);
    m_binding->clear();
    m_binding->addItems(names);
    const int idx = m_binding->findText(current);
    m_binding->setCurrentIndex(idx >= 0 ? idx : 0);
    m_binding->blockSignals(false);
    if (m_binding->currentText() != current)
        onBindingChanged();
    else
        onOperationChanged();
}

void ComposerWidget::onBindingChanged()
{
    const QString name = m_binding->currentText();
    // Metadata and payload belong to a binding: keep what was typed for the one left, and bring
    // back what this one had (nothing, the first time), so nothing leaks across bindings.
    if (!m_restoring && !m_shownBinding.isEmpty() && m_shownBinding != name) {
        ComposerRequest left = request();
        left.binding = m_shownBinding;
        m_perBinding.insert(m_shownBinding, left);
        const ComposerRequest back = m_perBinding.value(name);
        m_metadata->setRowCount(0);
        for (const auto &[k, v] : back.metadata)
            addMetadataRow(k, v);
        const int mode = m_mode->findData(back.mode);
        m_mode->setCurrentIndex(mode >= 0 ? mode : 0);
        m_payload->setText(back.payload);
    }
    m_shownBinding = name;
    QStringList ops;
    QString type;
    for (const core::ComponentStatus &c : m_host.components()) {
        if (c.name == name) {
            ops = c.operations;
            type = c.type;
        }
    }
    if (ops.isEmpty()) {
        if (const core::BindingDescriptor *d = m_host.registry().find(type))
            ops = d->metadata.operationNames();
    }
    const QString currentOp = m_operation->currentText();
    m_operation->blockSignals(true);
    m_operation->clear();
    m_operation->addItems(ops);
    const int idx = m_operation->findText(currentOp);
    if (idx >= 0)
        m_operation->setCurrentIndex(idx);
    else if (!currentOp.isEmpty() && ops.isEmpty())
        m_operation->setEditText(currentOp);
    m_operation->blockSignals(false);
    onOperationChanged();
}

void ComposerWidget::onOperationChanged()
{
    const QString name = m_binding->currentText();
    const QString op = m_operation->currentText();
    QString type;
    for (const core::ComponentStatus &c : m_host.components()) {
        if (c.name == name)
            type = c.type;
    }
    const core::BindingDescriptor *d = m_host.registry().find(type);
    QStringList links;
    QString opDescription;
    if (d) {
        for (const core::RequestMetadataHint &h : d->metadata.requestMetadata) {
            if (!h.operations.isEmpty() && !h.operations.contains(op))
                continue;
            links << QStringLiteral("<a href=\"%1\n%2\" title=\"%3\">%1</a>%4")
                         .arg(h.name.toHtmlEscaped(), h.example.toHtmlEscaped(),
                              h.description.toHtmlEscaped(),
                              h.required ? QStringLiteral("*") : QString());
        }
        for (const core::OperationInfo &o : d->metadata.operations) {
            if (o.name == op)
                opDescription = o.description;
        }
    }
    m_operation->setToolTip(opDescription);
    m_hints->setText(links.isEmpty() ? QString()
                                     : tr("Hints for %1: %2")
                                           .arg(d ? d->metadata.name : QString(),
                                                links.join(QStringLiteral(", "))));
    m_hints->setToolTip(opDescription);
}

void ComposerWidget::addMetadataRow(const QString &key, const QString &value, const QString &hint)
{
    const int row = m_metadata->rowCount();
    m_metadata->insertRow(row);
    auto *k = new QTableWidgetItem(key);
    if (!hint.isEmpty())
        k->setToolTip(hint);
    m_metadata->setItem(row, 0, k);
    m_metadata->setItem(row, 1, new QTableWidgetItem(value));
    m_metadata->setCurrentCell(row, key.isEmpty() ? 0 : 1);
}

void ComposerWidget::setRequest(const ComposerRequest &r)
{
    m_restoring = true;
    const auto restore = qScopeGuard([this]() { m_restoring = false; });
    int idx = m_binding->findText(r.binding);
    if (idx < 0 && !r.binding.isEmpty()) {
        m_binding->addItem(r.binding);
        idx = m_binding->count() - 1;
    }
    if (idx >= 0)
        m_binding->setCurrentIndex(idx);
    onBindingChanged();
    const int op = m_operation->findText(r.operation);
    if (op >= 0)
        m_operation->setCurrentIndex(op);
    else
        m_operation->setEditText(r.operation);
    m_metadata->setRowCount(0);
    for (const auto &[k, v] : r.metadata)
        addMetadataRow(k, v);
    const int mode = m_mode->findData(r.mode);
    m_mode->setCurrentIndex(mode >= 0 ? mode : 0);
    m_payload->setText(r.payload);
    validatePayload();
}

ComposerRequest ComposerWidget::request() const
{
    ComposerRequest r;
    r.binding = m_binding->currentText();
    r.operation = m_operation->currentText();
    for (int row = 0; row < m_metadata->rowCount(); ++row) {
        const QString k
            = m_metadata->item(row, 0) ? m_metadata->item(row, 0)->text().trimmed() : QString();
        const QString v = m_metadata->item(row, 1) ? m_metadata->item(row, 1)->text() : QString();
        if (!k.isEmpty())
            r.metadata.append({k, v});
    }
    r.payload = m_payload->text();
    r.mode = m_mode->currentData().toString();
    return r;
}

void ComposerWidget::validatePayload()
{
    const QString mode = m_mode->currentData().toString();
    const QString text = m_payload->text();
    const int lastLine = std::max(0, m_payload->lines() - 1);
    m_payload->clearIndicatorRange(0, 0, lastLine, m_payload->lineLength(lastLine), 8);
    m_payloadError.clear();
    if (mode == QStringLiteral("json") && !text.trimmed().isEmpty()) {
        QJsonParseError pe;
        QJsonDocument::fromJson((QStringLiteral("[") + text + QStringLiteral("]")).toUtf8(), &pe);
        if (pe.error != QJsonParseError::NoError) {
            // Offsets are in UTF-8 bytes of the wrapped text.
            const QByteArray utf8 = text.toUtf8();
            const int byteOffset = std::clamp(pe.offset - 1, 0, int(utf8.size()));
            const int charOffset = int(QString::fromUtf8(utf8.left(byteOffset)).size());
            const auto [line, col] = lineCol(text, charOffset);
            m_payloadError = tr("line %1, column %2: %3").arg(line).arg(col).arg(pe.errorString());
            m_payload->fillIndicatorRange(line - 1, std::max(0, col - 2), line - 1, col, 8);
        }
    } else if (mode == QStringLiteral("base64")) {
        QString cleaned = text;
        cleaned.remove(u'\n').remove(u'\r').remove(u' ');
        if (!QByteArray::fromBase64Encoding(cleaned.toLatin1(),
                                            QByteArray::AbortOnBase64DecodingErrors))
            m_payloadError = tr("not valid base64");
    }
    if (m_payloadError.isEmpty()) {
        const QString what
            = mode == QStringLiteral("json")
                  ? (text.trimmed().isEmpty() ? tr("no data") : tr("valid JSON"))
              : mode == QStringLiteral("base64")
                  ? tr("%1 bytes (base64)").arg(QByteArray::fromBase64(text.toLatin1()).size())
                  : tr("%1 characters of text").arg(text.size());
        m_payloadStatus->setText(theme::span(theme::Role::Ok, QStringLiteral("✔ ") + what));
    } else {
        m_payloadStatus->setText(
            theme::span(theme::Role::Error, QStringLiteral("✖ ") + m_payloadError));
    }
}

void ComposerWidget::prettyPrint()
{
    if (m_mode->currentData().toString() != QStringLiteral("json"))
        return;
    const QJsonDocument doc = QJsonDocument::fromJson(
        (QStringLiteral("[") + m_payload->text() + QStringLiteral("]")).toUtf8());
    if (!doc.isArray() || doc.array().isEmpty())
        return;
    const QJsonValue v = doc.array().at(0);
    QByteArray out;
    if (v.isObject())
        out = QJsonDocument(v.toObject()).toJson(QJsonDocument::Indented);
    else if (v.isArray())
        out = QJsonDocument(v.toArray()).toJson(QJsonDocument::Indented);
    else
        return;
    m_payload->setText(QString::fromUtf8(out).trimmed());
}

void ComposerWidget::loadPayloadFromFile()
{
    const QString path = QFileDialog::getOpenFileName(this, tr("Load payload"));
    if (path.isEmpty())
        return;
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        return;
    const QByteArray bytes = f.readAll();
    const QString asText = QString::fromUtf8(bytes);
    const bool binary = asText.toUtf8() != bytes || bytes.contains('\0');
    if (binary) {
        m_mode->setCurrentIndex(m_mode->findData(QStringLiteral("base64")));
        m_payload->setText(QString::fromLatin1(bytes.toBase64()));
    } else {
        QJsonParseError pe;
        QJsonDocument::fromJson((QStringLiteral("[") + asText + QStringLiteral("]")).toUtf8(), &pe);
        m_mode->setCurrentIndex(m_mode->findData(
            pe.error == QJsonParseError::NoError ? QStringLiteral("json") : QStringLiteral("raw")));
        m_payload->setText(asText);
    }
}

QString ComposerWidget::curlCommand() const
{
    const ComposerRequest r = request();
    QByteArray body;
    QString error;
    if (!r.body(&body, &error))
        body = "{}";
    const quint16 port = m_host.apiPort() ? m_host.apiPort() : quint16(m_host.settings().apiPort);
    return QStringLiteral("curl -sS -i -X POST %1 -H 'Content-Type: application/json' -d %2")
        .arg(shellQuote(QStringLiteral("http://127.0.0.1:%1/v1.0/bindings/%2")
                            .arg(port)
                            .arg(QString::fromUtf8(QUrl::toPercentEncoding(r.binding)))),
             shellQuote(QString::fromUtf8(body)));
}

void ComposerWidget::copyAsCurl()
{
    QApplication::clipboard()->setText(curlCommand());
    m_payloadStatus->setText(tr("curl command copied to the clipboard"));
}

void ComposerWidget::send()
{
    const ComposerRequest r = request();
    QByteArray body;
    QString error;
    if (r.binding.isEmpty()) {
        m_responseStatus->setText(
            theme::span(theme::Role::Error, tr("Pick an output binding first.")));
        return;
    }
    if (!r.body(&body, &error)) {
        m_responseStatus->setText(
            theme::span(theme::Role::Error,
                        tr("Payload: %1").arg(m_payloadError.isEmpty() ? error : m_payloadError)));
        return;
    }
    const quint16 port = m_host.apiPort();
    if (port == 0) {
        m_responseStatus->setText(theme::span(
            theme::Role::Error, tr("The runtime is not running (Runtime ▸ Start, F5).")));
        return;
    }
    if (m_inFlight)
        m_inFlight->abort();
    QNetworkRequest nr(QUrl(QStringLiteral("http://127.0.0.1:%1/v1.0/bindings/%2")
                                .arg(port)
                                .arg(QString::fromUtf8(QUrl::toPercentEncoding(r.binding)))));
    nr.setHeader(QNetworkRequest::ContentTypeHeader, QStringLiteral("application/json"));
    // Every send starts a W3C trace, so the traffic links it to what it caused (unless the
    // metadata already carries one).
    bool traced = false;
    for (const auto &[k, v] : r.metadata)
        traced = traced || k.compare(QLatin1String("traceparent"), Qt::CaseInsensitive) == 0;
    if (!traced) {
        auto hex = [](int bytes) {
            QByteArray b(bytes, Qt::Uninitialized);
            QRandomGenerator::system()->fillRange(reinterpret_cast<quint32 *>(b.data()), bytes / 4);
            return b.toHex();
        };
        m_lastTraceparent = "00-" + hex(16) + '-' + hex(8) + "-01";
        nr.setRawHeader("traceparent", m_lastTraceparent);
    } else {
        m_lastTraceparent.clear();
    }
    nr.setTransferTimeout(120000);
    m_sentRequest = r;
    m_timer.start();
    m_responseStatus->setText(tr("Sending to <b>%1</b> (%2)…")
                                  .arg(r.binding.toHtmlEscaped(), r.operation.toHtmlEscaped()));
    QNetworkReply *reply = m_nam->post(nr, body);
    m_inFlight = reply;
    connect(reply, &QNetworkReply::finished, this, [this, reply]() { onReply(reply); });
}

void ComposerWidget::onReply(QNetworkReply *reply)
{
    reply->deleteLater();
    const qint64 ms = m_timer.elapsed();
    const int status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
    const QByteArray body = reply->readAll();
    QList<QPair<QString, QString>> headers;
    QList<QPair<QString, QString>> other;
    for (const auto &[k, v] : reply->rawHeaderPairs()) {
        const QString key = QString::fromLatin1(k);
        if (key.startsWith(QStringLiteral("metadata."), Qt::CaseInsensitive))
            headers.append({key, QString::fromUtf8(v)});
        else
            other.append({key, QString::fromUtf8(v)});
    }
    m_lastStatus = status;
    m_lastBody = body;
    // What the time measures: from the request leaving the console to the last byte of the
    // answer, through the runtime's HTTP API and the binding.
    const QString timing = tr("%1 ms round trip").arg(ms);
    m_responseStatus->setToolTip(
        tr("Round trip: from the console sending the request to the last byte of the answer, "
           "through the runtime's HTTP API and the binding."));
    if (status == 0) {
        m_responseStatus->setText(QStringLiteral("<b>%1</b> · %2 · %3")
                                      .arg(theme::span(theme::Role::Error, tr("No answer")), timing,
                                           reply->errorString().toHtmlEscaped()));
    } else {
        const theme::Role role = status < 300   ? theme::Role::Ok
                                 : status < 500 ? theme::Role::Warning
                                                : theme::Role::Error;
        const QString reason
            = reply->attribute(QNetworkRequest::HttpReasonPhraseAttribute).toString();
        m_responseStatus->setText(
            QStringLiteral("<b>%1</b> · %2 · %3")
                .arg(theme::span(role, QStringLiteral("%1 %2").arg(status).arg(reason)), timing,
                     tr("%n byte(s)", nullptr, int(body.size()))));
    }
    m_responseHeaders->setRowCount(0);
    auto addHeader = [this](const QString &k, const QString &v, bool bold) {
        const int row = m_responseHeaders->rowCount();
        m_responseHeaders->insertRow(row);
        auto *ki = new QTableWidgetItem(k);
        if (bold) {
            QFont f = ki->font();
            f.setBold(true);
            ki->setFont(f);
        }
        m_responseHeaders->setItem(row, 0, ki);
        m_responseHeaders->setItem(row, 1, new QTableWidgetItem(v));
    };
    for (const auto &[k, v] : headers)
        addHeader(k, v, true);
    for (const auto &[k, v] : other)
        addHeader(k, v, false);
    showBody();
    headers << other;
    appendHistory(m_sentRequest, status, ms, headers, body);
    Q_EMIT responseReceived(status, ms);
}

void ComposerWidget::showBody()
{
    const QByteArray &body = m_lastBody;
    QJsonParseError pe;
    const QJsonDocument doc = QJsonDocument::fromJson(body, &pe);
    if (pe.error == QJsonParseError::NoError && !doc.isNull())
        m_bodyPretty->setPlainText(QString::fromUtf8(doc.toJson(QJsonDocument::Indented)));
    else
        m_bodyPretty->setPlainText(QString::fromUtf8(body));
    const QString kind = format::sniff(body);
    const bool text = kind == QStringLiteral("json") || kind == QStringLiteral("text")
                      || kind == QStringLiteral("empty");
    const bool isImage = kind.startsWith(QStringLiteral("image/"));
    if (!text) // never mojibake: binary bodies are shown as an image, or in hex
        m_bodyPretty->setPlainText(
            tr("%1, %2 bytes: see %3")
                .arg(isImage ? kind.mid(6).toUpper() + tr(" image") : tr("binary"))
                .arg(body.size())
                .arg(isImage ? tr("Preview") : tr("Hex")));
    m_bodyRaw->setPlainText(text ? QString::fromUtf8(body) : m_bodyPretty->toPlainText());
    m_bodyHex->setPlainText(format::hexDump(body));
    m_bodyTree->setJson(body);
    QImage image;
    if (isImage && image.loadFromData(body)) {
        m_bodyPreview->setPixmap(QPixmap::fromImage(image));
        m_bodyPreview->setToolTip(tr("%1 × %2 %3 image")
                                      .arg(image.width())
                                      .arg(image.height())
                                      .arg(kind.mid(6).toUpper()));
    } else {
        m_bodyPreview->setPixmap({});
        m_bodyPreview->setText(text ? QString::fromUtf8(body.left(100000))
                                    : tr("No preview: binary data (see Hex)."));
        m_bodyPreview->setToolTip(QString());
    }
    if (m_bodyKind != kind) // a new kind of body: show the view that suits it
        m_bodyTabs->setCurrentIndex(kind == QStringLiteral("json") ? 0
                                    : isImage                      ? 2
                                    : text                         ? 3
                                                                   : 4);
    m_bodyKind = kind;
}

void ComposerWidget::appendHistory(const ComposerRequest &request, int status, qint64 ms,
                                   const QList<QPair<QString, QString>> &headers,
                                   const QByteArray &body)
{
    QJsonObject resp;
    resp.insert(QStringLiteral("time"), QDateTime::currentDateTime().toString(Qt::ISODate));
    resp.insert(QStringLiteral("status"), status);
    resp.insert(QStringLiteral("ms"), ms);
    QJsonArray hs;
    for (const auto &[k, v] : headers)
        hs.append(QJsonArray{k, v});
    resp.insert(QStringLiteral("headers"), hs);
    resp.insert(QStringLiteral("body"), QString::fromLatin1(body.toBase64()));
    QJsonObject entry{{QStringLiteral("request"), request.toJson()},
                      {QStringLiteral("response"), resp}};
    QFile f(m_historyPath);
    if (f.open(QIODevice::Append)) {
        f.write(QJsonDocument(entry).toJson(QJsonDocument::Compact));
        f.write("\n");
    }
    auto *item = new QStandardItem(
        QStringLiteral("%1  %2 · %3 → %4 (%5 ms)")
            .arg(QDateTime::currentDateTime().toString(QStringLiteral("MM-dd HH:mm:ss")),
                 request.binding, request.operation)
            .arg(status)
            .arg(ms));
    item->setData(QJsonDocument(request.toJson()).toJson(QJsonDocument::Compact), RequestJsonRole);
    item->setData(QJsonDocument(resp).toJson(QJsonDocument::Compact), ResponseJsonRole);
    item->setData(
        QString(item->text() + u' ' + request.payload + u' ' + QString::fromUtf8(body.left(2048))),
        SearchRole);
    item->setForeground(
        theme::colour(status >= 200 && status < 300 ? theme::Role::Ok : theme::Role::Error));
    m_history->insertRow(0, item);
}

void ComposerWidget::loadHistory()
{
    QFile f(m_historyPath);
    if (!f.open(QIODevice::ReadOnly))
        return;
    QList<QStandardItem *> items;
    while (!f.atEnd()) {
        const QByteArray line = f.readLine().trimmed();
        if (line.isEmpty())
            continue;
        const QJsonObject entry = QJsonDocument::fromJson(line).object();
        if (entry.isEmpty())
            continue;
        const ComposerRequest r
            = ComposerRequest::fromJson(entry.value(QStringLiteral("request")).toObject());
        const QJsonObject resp = entry.value(QStringLiteral("response")).toObject();
        const int status = resp.value(QStringLiteral("status")).toInt();
        const QDateTime t
            = QDateTime::fromString(resp.value(QStringLiteral("time")).toString(), Qt::ISODate);
        auto *item = new QStandardItem(
            QStringLiteral("%1  %2 · %3 → %4 (%5 ms)")
                .arg(t.toString(QStringLiteral("MM-dd HH:mm:ss")), r.binding, r.operation)
                .arg(status)
                .arg(resp.value(QStringLiteral("ms")).toInteger()));
        item->setData(QJsonDocument(r.toJson()).toJson(QJsonDocument::Compact), RequestJsonRole);
        item->setData(QJsonDocument(resp).toJson(QJsonDocument::Compact), ResponseJsonRole);
        item->setData(QString(item->text() + u' ' + r.payload + u' '
                              + QString::fromUtf8(
                                  QByteArray::fromBase64(
                                      resp.value(QStringLiteral("body")).toString().toLatin1())
                                      .left(2048))),
                      SearchRole);
        item->setForeground(
            theme::colour(status >= 200 && status < 300 ? theme::Role::Ok : theme::Role::Error));
        items.prepend(item);
    }
    // Keep the newest 5,000 in the list (the file keeps everything).
    while (items.size() > 5000)
        delete items.takeLast();
    for (QStandardItem *i : items)
        m_history->appendRow(i);
}

void ComposerWidget::loadSaved()
{
    m_saved->clear();
    if (m_workspace.isEmpty())
        return;
    const QDir dir(m_workspace + QStringLiteral("/.bindery/requests"));
    for (const QFileInfo &fi :
         dir.entryInfoList({QStringLiteral("*.json")}, QDir::Files, QDir::Name)) {
        QFile f(fi.absoluteFilePath());
        if (!f.open(QIODevice::ReadOnly))
            continue;
        QJsonObject o = QJsonDocument::fromJson(f.readAll()).object();
        if (o.isEmpty())
            continue;
        ComposerRequest r = ComposerRequest::fromJson(o);
        if (r.name.isEmpty())
            r.name = fi.completeBaseName();
        auto *item = new QStandardItem(
            QStringLiteral("%1  (%2 · %3)").arg(r.name, r.binding, r.operation));
        item->setData(QJsonDocument(r.toJson()).toJson(QJsonDocument::Compact), RequestJsonRole);
        item->setData(fi.absoluteFilePath(), PathRole);
        item->setToolTip(fi.absoluteFilePath());
        m_saved->appendRow(item);
    }
}

bool ComposerWidget::saveRequest(const QString &givenName)
{
    if (m_workspace.isEmpty())
        return false;
    QString name = givenName;
    if (name.isEmpty()) {
        bool ok = false;
        name = QInputDialog::getText(this, tr("Save request"), tr("Name:"), QLineEdit::Normal,
                                     request().binding + u'-' + request().operation, &ok);
        if (!ok || name.trimmed().isEmpty())
            return false;
    }
    ComposerRequest r = request();
    r.name = name.trimmed();
    QString fileName = r.name;
    fileName.replace(QRegularExpression(QStringLiteral("[^A-Za-z0-9_.-]+")), QStringLiteral("-"));
    const QString dir = m_workspace + QStringLiteral("/.bindery/requests");
    QDir().mkpath(dir);
    QFile f(dir + u'/' + fileName + QStringLiteral(".json"));
    if (!f.open(QIODevice::WriteOnly))
        return false;
    f.write(QJsonDocument(r.toJson()).toJson(QJsonDocument::Indented));
    f.close();
    loadSaved();
    return true;
}

} // namespace bindery::ui
