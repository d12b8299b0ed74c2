// SPDX-License-Identifier: Apache-2.0
#include "ui/main_window.h"

#include <QAction>
#include <QApplication>
#include <QCheckBox>
#include <QCloseEvent>
#include <QComboBox>
#include <QDialog>
#include <QDialogButtonBox>
#include <QDir>
#include <QDockWidget>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLineEdit>
#include <QFontDatabase>
#include <QTime>
#include <QLabel>
#include <QMenu>
#include <QMenuBar>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QScreen>
#include <QSettings>
#include <QSpinBox>
#include <QStandardItemModel>
#include <QStatusBar>
#include <QTabBar>
#include <QTabWidget>
#include <QTimer>
#include <QTreeView>
#include <QComboBox>
#include <QFrame>
#include <QPushButton>
#include <QHBoxLayout>
#include <QInputDialog>
#include <QKeySequence>
#include <QScrollBar>
#include <QTableWidget>
#include <QToolButton>
#include <QVBoxLayout>

#include "core/binding_registry.h"
#include "core/component_loader.h"
#include "core/runtime.h"
#include "ui/dialogs/new_component_dialog.h"
#include "ui/editors/editor_pane.h"
#include "ui/editors/yaml_editor.h"
#include "ui/yaml_edit.h"
#include "ui/models/event_pump.h"
#include "ui/models/event_table_model.h"
#include "ui/widgets/app_rules_widget.h"
#include "ui/widgets/composer_widget.h"
#include "ui/record_format.h"
#include "ui/theme.h"
#include "ui/widgets/find_bar.h"
#include "ui/widgets/traffic_widget.h"

namespace bindery::ui {

namespace {
constexpr int PathRole = Qt::UserRole + 1;
constexpr int NameRole = Qt::UserRole + 2;
constexpr int StateRole = Qt::UserRole + 3;

QString stateName(core::RuntimeState s)
{
    switch (s) {
    case core::RuntimeState::Stopped: return QObject::tr("stopped");
    case core::RuntimeState::Starting: return QObject::tr("starting");
    case core::RuntimeState::Running: return QObject::tr("running");
    case core::RuntimeState::Stopping: return QObject::tr("stopping…");
    case core::RuntimeState::Failed: return QObject::tr("failed");
    }
    return {};
}
} // namespace

MainWindow::MainWindow(const core::BindingRegistry &registry, QWidget *parent)
    : QMainWindow(parent)
    , m_registry(registry)
{
    setWindowTitle(QStringLiteral("Bindery"));
    setObjectName(QStringLiteral("mainWindow"));
    setDockNestingEnabled(true);
    m_host = new RuntimeHost(registry, this);

    m_tabs = new QTabWidget(this);
    m_tabs->setDocumentMode(true);
    m_tabs->setTabsClosable(true);
    m_tabs->setMovable(true);
    m_traffic = new TrafficWidget(m_host->traffic(), m_tabs);
    m_composer = new ComposerWidget(*m_host, m_tabs);
    m_tabs->addTab(m_traffic, tr("Live traffic"));
    m_tabs->addTab(m_composer, tr("Composer"));
    // The two fixed tabs cannot be closed.
    for (int i = 0; i < 2; ++i) {
        m_tabs->tabBar()->setTabButton(i, QTabBar::RightSide, nullptr);
        m_tabs->tabBar()->setTabButton(i, QTabBar::LeftSide, nullptr);
    }
    // A notice bar above the tabs offers the fix for what went wrong (a port in use) or the next
    // step (the prepared request); it never blocks like a dialog.
    auto *central = new QWidget(this);
    auto *cl = new QVBoxLayout(central);
    cl->setContentsMargins(0, 0, 0, 0);
    cl->setSpacing(0);
    m_notice = new QFrame(central);
    m_notice->setObjectName(QStringLiteral("noticeBar"));
    m_notice->setFrameShape(QFrame::StyledPanel);
    m_notice->setAutoFillBackground(true);
    auto *nl = new QHBoxLayout(m_notice);
    nl->setContentsMargins(8, 4, 4, 4);
    m_noticeText = new QLabel(m_notice);
    m_noticeText->setWordWrap(true);
    m_noticeText->setTextFormat(Qt::RichText);
    nl->addWidget(m_noticeText, 1);
    m_noticeButtons = new QHBoxLayout;
    nl->addLayout(m_noticeButtons);
    auto *dismiss = new QToolButton(m_notice);
    dismiss->setText(QStringLiteral("✕"));
    dismiss->setToolTip(tr("Dismiss"));
    connect(dismiss, &QToolButton::clicked, m_notice, &QWidget::hide);
    nl->addWidget(dismiss);
    m_notice->hide();
    cl->addWidget(m_notice);
    cl->addWidget(m_tabs, 1);
    setCentralWidget(central);
    connect(m_tabs, &QTabWidget::tabCloseRequested, this, [this](int i) {
        if (auto *capture = qobject_cast<TrafficWidget *>(m_tabs->widget(i));
            capture && capture != m_traffic) {
            m_tabs->removeTab(i);
            capture->deleteLater();
            return;
        }
        auto *pane = qobject_cast<EditorPane *>(m_tabs->widget(i));
        if (!pane)
            return;
        if (pane->isModified()) {
            const auto answer = QMessageBox::question(
                this, tr("Close"),
                tr("Save changes to %1?").arg(QFileInfo(pane->path()).fileName()),
                QMessageBox::Save | QMessageBox::Discard | QMessageBox::Cancel);
            if (answer == QMessageBox::Cancel)
                return;
            if (answer == QMessageBox::Save && !saveEditor(pane))
                return;
        }
        m_tabs->removeTab(i);
        pane->deleteLater();
    });

    // Workspace dock.
    m_treeModel = new QStandardItemModel(this);
    m_treeModel->setHorizontalHeaderLabels({tr("Component"), tr("Type"), tr("Dir"), tr("State")});
    m_tree = new QTreeView(this);
    m_tree->setObjectName(QStringLiteral("componentTree"));
    m_tree->setModel(m_treeModel);
    m_tree->setRootIsDecorated(false);
    m_tree->setUniformRowHeights(true);
    m_tree->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_tree->setContextMenuPolicy(Qt::CustomContextMenu);
    m_tree->header()->setStretchLastSection(true);
    m_tree->setColumnWidth(0, 95);
    m_tree->setColumnWidth(1, 140);
    m_tree->setColumnWidth(2, 36);
    auto *treeDock = new QDockWidget(tr("Workspace"), this);
    treeDock->setObjectName(QStringLiteral("workspaceDock"));
    treeDock->setWidget(m_tree);
    addDockWidget(Qt::LeftDockWidgetArea, treeDock);
    connect(m_tree, &QTreeView::activated, this, [this](const QModelIndex &idx) {
        const QString path = m_treeModel->item(idx.row(), 0)->data(PathRole).toString();
        if (!path.isEmpty())
            openEditor(path);
    });
    connect(m_tree, &QTreeView::customContextMenuRequested, this, [this](const QPoint &pos) {
        const QModelIndex idx = m_tree->indexAt(pos);
        if (!idx.isValid())
            return;
        QStandardItem *item = m_treeModel->item(idx.row(), 0);
        const QString name = item->data(NameRole).toString();
        const QString path = item->data(PathRole).toString();
        const bool disabled = item->data(StateRole).toInt() == int(core::ComponentState::Disabled);
        QMenu menu(this);
        menu.addAction(tr("Open in editor"), this, [this, path]() { openEditor(path); });
        QAction *toggle = menu.addAction(
            disabled ? tr("Enable") : tr("Disable"), this,
            [this, name, disabled]() { m_host->setComponentEnabled(name, disabled); });
        toggle->setEnabled(m_host->isRunning() && !name.isEmpty());
        menu.addAction(tr("Reload file"), this, [this, path]() { m_host->reloadFile(path); });
        menu.addSeparator();
        menu.addAction(tr("Rename…"), this, [this, name, path]() { renameComponent(name, path); })
            ->setEnabled(!name.isEmpty());
        menu.addAction(tr("Delete…"), this, [this, name, path]() { deleteComponent(name, path); });
        menu.exec(m_tree->viewport()->mapToGlobal(pos));
    });

    // History dock.
    auto *historyDock = new QDockWidget(tr("Requests"), this);
    historyDock->setObjectName(QStringLiteral("historyDock"));
    historyDock->setWidget(m_composer->historyPanel());
    addDockWidget(Qt::LeftDockWidgetArea, historyDock);
    splitDockWidget(treeDock, historyDock, Qt::Vertical);

    // Be-the-app dock.
    m_rules = new AppRulesWidget(*m_host, this);
    auto *rulesDock = new QDockWidget(tr("Be the app"), this);
    rulesDock->setObjectName(QStringLiteral("appDock"));
    rulesDock->setWidget(m_rules);
    addDockWidget(Qt::BottomDockWidgetArea, rulesDock);

    // Log dock.
    m_log = new QPlainTextEdit(this);
    m_log->setReadOnly(true);
    m_log->setMaximumBlockCount(5000);
    m_log->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    auto *logDock = new QDockWidget(tr("Runtime log"), this);
    logDock->setObjectName(QStringLiteral("logDock"));
    logDock->setWidget(m_log);
    addDockWidget(Qt::BottomDockWidgetArea, logDock);
    tabifyDockWidget(rulesDock, logDock);
    rulesDock->raise();
    // Raised, the log shows its newest lines (it opened on its oldest).
    connect(logDock, &QDockWidget::visibilityChanged, this, [this](bool visible) {
        if (visible)
            m_log->verticalScrollBar()->setValue(m_log->verticalScrollBar()->maximum());
    });
    for (QDockWidget *d : {treeDock, historyDock, rulesDock, logDock})
        d->setMinimumWidth(160);

    // Status bar.
    m_stateLabel = new QLabel(this);
    m_apiLabel = new QLabel(this);
    m_countsLabel = new QLabel(this);
    statusBar()->addWidget(m_stateLabel);
    statusBar()->addWidget(m_apiLabel);
    statusBar()->addPermanentWidget(m_countsLabel);

    connect(m_host, &RuntimeHost::stateChanged, this, [this](core::RuntimeState s) {
        if (s == core::RuntimeState::Failed && !m_host->lastError().isEmpty()) {
            m_log->appendPlainText(tr("runtime failed: ")
                                   + format::maskSecrets(m_host->lastError()));
            offerFixForFailure(m_host->lastError());
        } else if (s == core::RuntimeState::Running && m_noticeKind == NoticeKind::Failure) {
            m_notice->hide();
        }
        updateStatus();
        m_rules->refresh();
        m_rules->pushAll();
    });
    connect(m_host, &RuntimeHost::componentsChanged, this, &MainWindow::refreshComponents);
    connect(m_host, &RuntimeHost::logMessage, this, [this](int level, const QString &text) {
        static const char *names[] = {"debug", "info", "warn", "error"};
        // Connection strings and keys never reach the log in clear.
        m_log->appendPlainText(
            QStringLiteral("%1 %2  %3")
                .arg(QTime::currentTime().toString(QStringLiteral("HH:mm:ss.zzz")),
                     QString::fromLatin1(names[std::clamp(level, 0, 3)]),
                     format::maskSecrets(text)));
    });
    connect(m_host, &RuntimeHost::fileReloaded, this, [this](const QString &path) {
        for (int i = 0; i < m_tabs->count(); ++i) {
            if (auto *pane = qobject_cast<EditorPane *>(m_tabs->widget(i));
                pane && pane->path() == path)
                pane->showRuntimeStatus(m_host->components(), m_host->isRunning());
        }
    });
    connect(m_traffic, &TrafficWidget::countsChanged, this, &MainWindow::updateStatus);
    connectTraffic(m_traffic);

    buildMenus();
    loadSettings();
    updateStatus();
}

MainWindow::~MainWindow()
{
    m_host->stop();
    // The traffic view's pump holds the host's stream: delete the views before the host.
    delete m_tabs;
    m_tabs = nullptr;
    delete m_rules;
    m_rules = nullptr;
}

void MainWindow::buildMenus()
{
    QMenu *file = menuBar()->addMenu(tr("&File"));
    file->addAction(tr("&Open Folder…"), QKeySequence::Open, this, &MainWindow::openFolderDialog);
    m_recentMenu = file->addMenu(tr("Open &Recent"));
    file->addAction(tr("&New Component…"), QKeySequence::New, this, &MainWindow::newComponent);
    file->addAction(tr("&Save"), QKeySequence::Save, this, [this]() {
        if (EditorPane *p = currentEditor())
            saveEditor(p);
    });
    file->addAction(tr("&Close Editor"), QKeySequence::Close, this, [this]() {
        if (currentEditor())
            Q_EMIT m_tabs->tabCloseRequested(m_tabs->currentIndex());
    });
    file->addSeparator();
    file->addAction(tr("&Export Traffic…"), QKeySequence(QStringLiteral("Ctrl+E")), m_traffic,
                    &TrafficWidget::exportDialog);
    file->addAction(tr("&Import Traffic…"), QKeySequence(QStringLiteral("Ctrl+I")), m_traffic,
                    &TrafficWidget::importDialog);
    file->addSeparator();
    file->addAction(tr("Se&ttings…"), QKeySequence::Preferences, this,
                    &MainWindow::showSettingsDialog);
    file->addSeparator();
    m_quitAction = file->addAction(tr("&Quit"), QKeySequence::Quit, this, &QWidget::close);

    QMenu *edit = menuBar()->addMenu(tr("&Edit"));
    edit->addAction(tr("&Complete"), QKeySequence(QStringLiteral("Ctrl+Space")), this, [this]() {
        if (EditorPane *p = currentEditor()) {
            p->editor()->setFocus();
            QMetaObject::invokeMethod(p->editor(), "complete");
        }
    });
    edit->addAction(tr("YAML / &Form"), QKeySequence(QStringLiteral("Ctrl+Shift+F")), this,
                    [this, toggle = false]() mutable {
                        if (EditorPane *p = currentEditor()) {
                            toggle = !toggle;
                            p->showFormTab(toggle);
                        }
                    });
    edit->addAction(tr("&Find"), QKeySequence::Find, this, &MainWindow::findInFocus);
    edit->addAction(tr("Find and &Replace"), QKeySequence(QStringLiteral("Ctrl+H")), this,
                    [this]() {
                        if (EditorPane *p = currentEditor())
                            p->openFind(true);
                    });
    edit->addAction(tr("&Filter Traffic"), QKeySequence(QStringLiteral("Ctrl+/")), this, [this]() {
        m_tabs->setCurrentWidget(m_traffic);
        m_traffic->filterEdit()->setFocus();
        m_traffic->filterEdit()->selectAll();
    });

    QMenu *runtime = menuBar()->addMenu(tr("&Runtime"));
    m_startAction = runtime->addAction(tr("&Start"), QKeySequence(QStringLiteral("F5")), this,
                                       &MainWindow::startRuntime);
    m_stopAction = runtime->addAction(tr("S&top"), QKeySequence(QStringLiteral("Shift+F5")), this,
                                      &MainWindow::stopRuntime);
    runtime->addAction(tr("&Restart"), QKeySequence(QStringLiteral("Ctrl+Shift+F5")), this,
                       &MainWindow::restartRuntime);

    QMenu *request = menuBar()->addMenu(tr("Re&quest"));
    QAction *send = request->addAction(tr("&Send"), this, [this]() {
        m_tabs->setCurrentWidget(m_composer);
        m_composer->send();
    });
    // One action for both Enter keys: a second shortcut for the same key anywhere in the window
    // makes it ambiguous, and then neither fires.
    send->setShortcuts(
        {QKeySequence(QStringLiteral("Ctrl+Return")), QKeySequence(QStringLiteral("Ctrl+Enter"))});
    request->addAction(tr("Copy as &curl"), QKeySequence(QStringLiteral("Ctrl+Shift+C")),
                       m_composer, &ComposerWidget::copyAsCurl);
    request->addAction(tr("&Pretty-print Payload"), QKeySequence(QStringLiteral("Ctrl+Shift+J")),
                       m_composer, &ComposerWidget::prettyPrint);
    request->addAction(tr("Save &Request…"), QKeySequence(QStringLiteral("Ctrl+Shift+S")),
                       m_composer, [this]() { m_composer->saveRequest(); });

    QMenu *view = menuBar()->addMenu(tr("&View"));
    view->addAction(tr("&Live Traffic"), QKeySequence(QStringLiteral("Ctrl+1")), this, [this]() {
        m_tabs->setCurrentWidget(m_traffic);
        m_traffic->view()->setFocus(Qt::ShortcutFocusReason);
    });
    view->addAction(tr("&Composer"), QKeySequence(QStringLiteral("Ctrl+2")), this, [this]() {
        m_tabs->setCurrentWidget(m_composer);
        m_composer->bindingPicker()->setFocus(Qt::ShortcutFocusReason);
    });
    view->addAction(tr("Start/Stop &Capture"), QKeySequence(QStringLiteral("Ctrl+Shift+E")), this,
                    [this]() { m_traffic->setCapturing(!m_traffic->capturing()); });
    view->addAction(tr("Pause/Resume &Auto-scroll"), QKeySequence(QStringLiteral("Ctrl+Shift+P")),
                    this, [this]() { m_traffic->setAutoScroll(!m_traffic->autoScroll()); });
    view->addAction(tr("C&lear Traffic"), QKeySequence(QStringLiteral("Ctrl+L")), m_traffic,
                    [this]() { m_traffic->clear(); });
    view->addSeparator();
    for (QDockWidget *d : findChildren<QDockWidget *>())
        view->addAction(d->toggleViewAction());

    QMenu *help = menuBar()->addMenu(tr("&Help"));
    help->addAction(tr("&Keyboard Shortcuts"), QKeySequence(QStringLiteral("F1")), this,
                    &MainWindow::showShortcuts);
    help->addAction(tr("&About Bindery"), this, [this]() {
        QMessageBox::about(this, tr("About Bindery"),
                           tr("<b>Bindery %1</b><p>A developer console for Dapr bindings: author "
                              "components, send output "
                              "binding requests and watch every event and answer live.</p>")
                               .arg(QApplication::applicationVersion()));
    });
}

void MainWindow::loadSettings()
{
    QSettings s;
    HostSettings hs;
    hs.apiPort = s.value(QStringLiteral("runtime/apiPort"), 3500).toInt();
    hs.builtinApp = s.value(QStringLiteral("runtime/builtinApp"), true).toBool();
    hs.builtinAppPort = s.value(QStringLiteral("runtime/builtinAppPort"), 0).toInt();
    hs.externalAppPort = s.value(QStringLiteral("runtime/externalAppPort"), 0).toInt();
    hs.externalAppProtocol
        = s.value(QStringLiteral("runtime/externalAppProtocol"), QStringLiteral("http")).toString();
    hs.grpcApiPort = s.value(QStringLiteral("runtime/grpcApiPort"), 50001).toInt();
    hs.deliveryTimeoutMs = s.value(QStringLiteral("runtime/deliveryTimeoutMs"), 30000).toInt();
    m_host->setSettings(hs);
    m_traffic->model()->setMaxRows(
        size_t(s.value(QStringLiteral("traffic/maxRows"), 1000000).toLongLong()));
    if (!restoreGeometry(s.value(QStringLiteral("window/geometry")).toByteArray())) {
        const QRect avail = screen() ? screen()->availableGeometry() : QRect(0, 0, 1600, 1000);
        resize(std::min(1500, avail.width() * 9 / 10), std::min(940, avail.height() * 9 / 10));
    }
    // Dock sizes are restored once the window has its real size: restored while the window was
    // still at its pre-show size, they came back squeezed (a 430 px workspace as 255 px, the
    // chart too short for its axis labels) and were saved that way again on quit.
    const QByteArray state = s.value(QStringLiteral("window/state")).toByteArray();
    QTimer::singleShot(0, this, [this, state]() {
        if (restoreState(state))
            return;
        // First start: a wide workspace column, a short bottom strip for the rules and the log.
        QDockWidget *workspace = findChild<QDockWidget *>(QStringLiteral("workspaceDock"));
        QDockWidget *app = findChild<QDockWidget *>(QStringLiteral("appDock"));
        if (workspace)
            resizeDocks({workspace}, {430}, Qt::Horizontal);
        if (app) // tabified with the log: size the visible one only
            resizeDocks({app}, {140}, Qt::Vertical);
    });
    updateRecentMenu();
}

void MainWindow::applySettings(const HostSettings &settings, int maxRows)
{
    QSettings s;
    s.setValue(QStringLiteral("runtime/apiPort"), settings.apiPort);
    s.setValue(QStringLiteral("runtime/builtinApp"), settings.builtinApp);
    s.setValue(QStringLiteral("runtime/builtinAppPort"), settings.builtinAppPort);
    s.setValue(QStringLiteral("runtime/externalAppPort"), settings.externalAppPort);
    s.setValue(QStringLiteral("runtime/externalAppProtocol"), settings.externalAppProtocol);
    s.setValue(QStringLiteral("runtime/grpcApiPort"), settings.grpcApiPort);
    s.setValue(QStringLiteral("runtime/deliveryTimeoutMs"), settings.deliveryTimeoutMs);
    s.setValue(QStringLiteral("traffic/maxRows"), maxRows);
    HostSettings hs = settings;
    hs.resourcesPath = m_workspace;
    const bool running = m_host->state() != core::RuntimeState::Stopped;
    m_host->stop();
    m_host->setSettings(hs);
    m_traffic->model()->setMaxRows(size_t(std::max(1, maxRows)));
    if (running)
        m_host->start();
    updateStatus();
}

void MainWindow::closeEvent(QCloseEvent *event)
{
    for (int i = 0; i < m_tabs->count(); ++i) {
        auto *pane = qobject_cast<EditorPane *>(m_tabs->widget(i));
        if (pane && pane->isModified()) {
            m_tabs->setCurrentIndex(i);
            const auto answer = QMessageBox::question(
                this, tr("Quit"), tr("Save changes to %1?").arg(QFileInfo(pane->path()).fileName()),
                QMessageBox::Save | QMessageBox::Discard | QMessageBox::Cancel);
            if (answer == QMessageBox::Cancel) {
                event->ignore();
                return;
            }
            if (answer == QMessageBox::Save)
                saveEditor(pane);
        }
    }
    if (!m_closing && !m_captureAnswered && m_traffic->hasUnsavedRecords()
        && m_traffic->model()->totalRows() > 0) {
        const auto answer = QMessageBox::question(
            this, tr("Quit"),
            tr("The capture holds %L1 rows that were not exported. Export them before quitting?")
                .arg(m_traffic->model()->totalRows()),
            QMessageBox::Save | QMessageBox::Discard | QMessageBox::Cancel, QMessageBox::Cancel);
        if (answer == QMessageBox::Cancel) {
            event->ignore();
            return;
        }
        if (answer == QMessageBox::Save) {
            m_traffic->exportDialog();
            if (m_traffic->hasUnsavedRecords()) { // the export was cancelled
                event->ignore();
                return;
            }
        }
        m_captureAnswered = true;
    }
    if (!m_closing) {
        QSettings s;
        s.setValue(QStringLiteral("window/geometry"), saveGeometry());
        s.setValue(QStringLiteral("window/state"), saveState());
    }
    if (m_host->isActive()) {
        // Closing never waits on the runtime (a Kafka consumer whose broker is gone takes seconds
        // to close): hide now, close for real once it stopped, or after 10 s whatever happens.
        m_closing = true;
        event->ignore();
        hide();
        connect(m_host, &RuntimeHost::stopped, this, &QWidget::close, Qt::UniqueConnection);
        QTimer::singleShot(10000, this, [this]() {
            m_host->disconnect(this);
            QCoreApplication::quit();
        });
        m_host->stop();
        return;
    }
    QMainWindow::closeEvent(event);
}

void MainWindow::openFolderDialog()
{
    const QString folder
        = QFileDialog::getExistingDirectory(this, tr("Open a folder of components"), m_workspace);
    if (!folder.isEmpty())
        openWorkspace(folder);
}

void MainWindow::openWorkspace(const QString &folder)
{
    const QString abs = QFileInfo(folder).absoluteFilePath();
    if (!QFileInfo(abs).isDir()) {
        m_log->appendPlainText(tr("not a folder: %1").arg(abs));
        return;
    }
    m_workspace = abs;
    setWindowTitle(QStringLiteral("Bindery — %1").arg(QDir::toNativeSeparators(abs)));
    QSettings s;
    s.setValue(QStringLiteral("workspace/last"), abs);
    QStringList recent = s.value(QStringLiteral("workspace/recent")).toStringList();
    recent.removeAll(abs);
    recent.prepend(abs);
    while (recent.size() > 10)
        recent.removeLast();
    s.setValue(QStringLiteral("workspace/recent"), recent);
    updateRecentMenu();

    m_host->stop();
    HostSettings hs = m_host->settings();
    hs.resourcesPath = abs;
    m_host->setSettings(hs);
    m_composer->setWorkspace(abs);
    m_traffic->setWorkspace(abs);
    m_requestPrepared = false;
    refreshComponents();
    m_host->start();
}

void MainWindow::openLastWorkspace()
{
    QSettings s;
    const QString last = s.value(QStringLiteral("workspace/last")).toString();
    if (!last.isEmpty() && QFileInfo(last).isDir())
        openWorkspace(last);
    else
        m_log->appendPlainText(
            tr("Open a folder of component YAML files (File ▸ Open Folder, Ctrl+O)."));
}

void MainWindow::updateRecentMenu()
{
    m_recentMenu->clear();
    QSettings s;
    for (const QString &f : s.value(QStringLiteral("workspace/recent")).toStringList())
        m_recentMenu->addAction(QDir::toNativeSeparators(f), this,
                                [this, f]() { openWorkspace(f); });
    m_recentMenu->setEnabled(!m_recentMenu->isEmpty());
}

void MainWindow::startRuntime()
{
    if (m_workspace.isEmpty()) {
        openFolderDialog();
        return;
    }
    m_host->start();
    updateStatus();
}

void MainWindow::stopRuntime()
{
    m_host->stop();
    updateStatus();
}

void MainWindow::restartRuntime()
{
    m_host->restart();
    updateStatus();
}

void MainWindow::refreshComponents()
{
    const QList<core::ComponentStatus> statuses = m_host->components();
    const bool running = m_host->isRunning();
    const bool stopping = m_host->state() == core::RuntimeState::Stopping;
    QHash<QString, core::ComponentStatus> byName;
    for (const core::ComponentStatus &c : statuses)
        byName.insert(c.name, c);

    m_treeModel->removeRows(0, m_treeModel->rowCount());
    if (!m_workspace.isEmpty()) {
        const core::LoadResult lr = core::ComponentLoader::loadPaths({m_workspace});
        core::Diagnostics all = lr.diagnostics;
        all << core::checkComponents(lr.components, m_registry);
        QSet<QString> filesWithComponents;
        for (const core::ComponentSpec &spec : lr.components) {
            filesWithComponents.insert(spec.location.file);
            QList<QStandardItem *> row;
            auto *name = new QStandardItem(spec.name);
            name->setData(spec.location.file, PathRole);
            name->setData(spec.name, NameRole);
            name->setToolTip(spec.location.file);
            QString dir = QStringLiteral("—");
            if (const core::BindingDescriptor *d = m_registry.find(spec.type, spec.version)) {
                const core::Directions dirs = core::effectiveDirections(spec, d->metadata);
                dir = dirs.input && dirs.output ? QStringLiteral("in/out")
                      : dirs.input              ? QStringLiteral("in")
                      : dirs.output             ? QStringLiteral("out")
                                                : QStringLiteral("—");
            }
            QString state;
            QString tip;
            QColor colour = theme::colour(theme::Role::Muted);
            int stateCode = -1;
            if (byName.contains(spec.name)) {
                const core::ComponentStatus &c = byName.value(spec.name);
                stateCode = int(c.state);
                switch (c.state) {
                case core::ComponentState::Loaded:
                    state = tr("loaded");
                    if (c.input && !c.subscription.isEmpty())
                        state += QStringLiteral(" · ") + c.subscription.section(u' ', 0, 0);
                    // A binding's own connection shows when it is not simply up.
                    if (!c.connectionState.isEmpty()
                        && c.connectionState != QStringLiteral("connected"))
                        state += QStringLiteral(" · ") + c.connectionState;
                    tip = c.subscription;
                    colour = theme::colour(theme::Role::Ok);
                    // The binding's own report: server unreachable, credentials refused.
                    if (!c.connectionState.isEmpty()
                        && c.connectionState != QStringLiteral("connected"))
                        colour = theme::colour(theme::Role::Warning);
                    if (!c.connection.isEmpty())
                        tip += (tip.isEmpty() ? QString() : QStringLiteral("\n"))
                               + format::maskSecrets(c.connection);
                    break;
                case core::ComponentState::Failed:
                    state = tr("failed: ") + format::maskSecrets(c.error);
                    tip = format::maskSecrets(c.error);
                    colour = theme::colour(theme::Role::Error);
                    break;
                case core::ComponentState::Disabled: state = tr("disabled"); break;
                case core::ComponentState::Pending: state = tr("initialising"); break;
                }
                if (stopping) {
                    state = tr("stopping…");
                    colour = theme::colour(theme::Role::Muted);
                }
                if (!c.warnings.isEmpty())
                    tip += QStringLiteral("\n") + c.warnings.join(u'\n');
                if (m_keptRunning.contains(QFileInfo(spec.location.file).absoluteFilePath())) {
                    QStringList errors;
                    for (const core::Diagnostic &d : all) {
                        if (d.isError() && d.component == spec.name)
                            errors << d.message;
                    }
                    if (!errors.isEmpty() && !stopping) {
                        state
                            = tr("running the previous version · file invalid: ") + errors.first();
                        tip = errors.join(u'\n');
                        colour = theme::colour(theme::Role::Warning);
                    }
                }
            } else if (spec.isSecretStore()) {
                state = running ? tr("secret store") : tr("secret store · runtime stopped");
            } else {
                QStringList errors;
                for (const core::Diagnostic &d : all) {
                    if (d.isError() && d.component == spec.name)
                        errors << d.message;
                }
                state = errors.isEmpty() ? (running ? tr("not loaded") : tr("runtime stopped"))
                                         : tr("invalid: ") + errors.first();
                tip = errors.join(u'\n');
                if (!errors.isEmpty())
                    colour = theme::colour(theme::Role::Error);
            }
            name->setData(stateCode, StateRole);
            auto *type = new QStandardItem(spec.type);
            auto *dirItem = new QStandardItem(dir);
            auto *stateItem = new QStandardItem(state);
            stateItem->setForeground(colour);
            stateItem->setToolTip(tip.isEmpty() ? state : tip);
            row << name << type << dirItem << stateItem;
            m_treeModel->appendRow(row);
        }
        // Files that gave no component (YAML errors): show them so they can be opened and fixed.
        QSet<QString> reported;
        for (const core::Diagnostic &d : all) {
            if (!d.isError() || d.location.file.isEmpty()
                || filesWithComponents.contains(d.location.file)
                || reported.contains(d.location.file))
                continue;
            reported.insert(d.location.file);
            auto *name = new QStandardItem(QFileInfo(d.location.file).fileName());
            name->setData(d.location.file, PathRole);
            auto *stateItem = new QStandardItem(tr("invalid: ") + d.message);
            stateItem->setForeground(theme::colour(theme::Role::Error));
            stateItem->setToolTip(d.toString());
            m_treeModel->appendRow({name, new QStandardItem(QStringLiteral("?")),
                                    new QStandardItem(QStringLiteral("—")), stateItem});
        }
    }
    QStringList bindingNames;
    for (const core::ComponentStatus &c : statuses)
        bindingNames << c.name;
    m_traffic->setBindingNames(bindingNames);
    m_composer->refreshBindings();
    m_rules->refresh();
    m_rules->pushAll();
    if (!m_requestPrepared && running && !statuses.isEmpty())
        prepareDefaultRequest();
    for (int i = 0; i < m_tabs->count(); ++i) {
        if (auto *pane = qobject_cast<EditorPane *>(m_tabs->widget(i)))
            pane->showRuntimeStatus(statuses, running);
    }
    updateStatus();
}

void MainWindow::prepareDefaultRequest()
{
    m_requestPrepared = true;
    // A saved request of this workspace first; else a ready-to-send localstorage "create".
    const QModelIndex first = m_composer->savedModel()->index(0, 0);
    if (first.isValid()) {
        const QJsonObject o
            = QJsonDocument::fromJson(first.data(Qt::UserRole + 1).toByteArray()).object();
        m_composer->setRequest(ComposerRequest::fromJson(o));
        return;
    }
    for (const core::ComponentStatus &c : m_host->components()) {
        if (c.output && c.state == core::ComponentState::Loaded
            && c.type == QStringLiteral("bindings.localstorage")) {
            ComposerRequest r;
            r.binding = c.name;
            r.operation = QStringLiteral("create");
            r.metadata = {{QStringLiteral("fileName"), QStringLiteral("hello.json")}};
            r.payload
                = QStringLiteral("{\n  \"message\": \"hello from Bindery\",\n  \"count\": 1\n}");
            m_composer->setRequest(r);
            showFirstStartHint(c.name);
            return;
        }
    }
}

EditorPane *MainWindow::openEditor(const QString &path)
{
    const QString abs = QFileInfo(path).absoluteFilePath();
    for (int i = 0; i < m_tabs->count(); ++i) {
        if (auto *pane = qobject_cast<EditorPane *>(m_tabs->widget(i));
            pane && pane->path() == abs) {
            m_tabs->setCurrentIndex(i);
            return pane;
        }
    }
    auto *pane = new EditorPane(m_registry, abs, m_tabs);
    if (!pane->load()) {
        delete pane;
        QMessageBox::warning(this, tr("Open"), tr("Cannot read %1").arg(abs));
        return nullptr;
    }
    const int i = m_tabs->addTab(pane, QFileInfo(abs).fileName());
    m_tabs->setTabToolTip(i, abs);
    m_tabs->setCurrentIndex(i);
    connect(pane, &EditorPane::modificationChanged, this, [this, pane](bool modified) {
        const int idx = m_tabs->indexOf(pane);
        if (idx >= 0)
            m_tabs->setTabText(idx, QFileInfo(pane->path()).fileName()
                                        + (modified ? QStringLiteral(" ●") : QString()));
    });
    pane->showRuntimeStatus(m_host->components(), m_host->isRunning());
    return pane;
}

EditorPane *MainWindow::currentEditor() const
{
    return qobject_cast<EditorPane *>(m_tabs->currentWidget());
}

bool MainWindow::saveEditor(EditorPane *pane)
{
    QString error;
    if (!pane->save(&error)) {
        QMessageBox::warning(this, tr("Save"), tr("Cannot save %1: %2").arg(pane->path(), error));
        return false;
    }
    const QString path = QFileInfo(pane->path()).absoluteFilePath();
    if (m_host->isRunning() && core::hasErrors(pane->diagnostics())) {
        // An invalid file never replaces a working component: the running one stays until the
        // file loads, and the file (tree and editor) says so.
        m_keptRunning.insert(path);
        pane->showRuntimeStatus(m_host->components(), true);
        pane->setKeptNotice(tr("Saved, not reloaded: the file has errors, so the running "
                               "component stays as it was until the file is valid."));
    } else if (m_host->isRunning()) {
        m_keptRunning.remove(path);
        pane->setKeptNotice(QString());
        m_host->reloadFile(pane->path());
    } else {
        m_keptRunning.remove(path);
        pane->setKeptNotice(QString());
        pane->showRuntimeStatus({}, false);
    }
    refreshComponents();
    return true;
}

void MainWindow::newComponent()
{
    if (m_workspace.isEmpty()) {
        openFolderDialog();
        if (m_workspace.isEmpty())
            return;
    }
    NewComponentDialog dialog(m_registry, m_workspace, this);
    if (dialog.exec() != QDialog::Accepted)
        return;
    openEditor(dialog.filePath());
    if (m_host->isRunning())
        m_host->reloadFile(dialog.filePath());
    refreshComponents();
}

void MainWindow::showSettingsDialog()
{
    QDialog d(this);
    d.setWindowTitle(tr("Settings"));
    auto *form = new QFormLayout(&d);
    const HostSettings hs = m_host->settings();
    auto *api = new QSpinBox(&d);
    api->setRange(0, 65535);
    api->setValue(hs.apiPort);
    api->setToolTip(tr("The Dapr HTTP API port (daprd's --dapr-http-port). 0 = any free port."));
    auto *builtin = new QCheckBox(
        tr("The console is the app (answers deliveries by the Be-the-app rules)"), &d);
    builtin->setChecked(hs.builtinApp);
    auto *appPort = new QSpinBox(&d);
    appPort->setRange(0, 65535);
    appPort->setValue(hs.builtinAppPort);
    appPort->setToolTip(tr("Port of the built-in app; 0 = any free port"));
    auto *external = new QSpinBox(&d);
    external->setRange(0, 65535);
    external->setValue(hs.externalAppPort);
    external->setToolTip(
        tr("Your own app's port (daprd's --app-port) when the console is not the app"));
    auto *protocol = new QComboBox(&d);
    protocol->addItem(tr("HTTP"), QStringLiteral("http"));
    protocol->addItem(tr("gRPC (Dapr AppCallback)"), QStringLiteral("grpc"));
    protocol->setCurrentIndex(std::max(0, protocol->findData(hs.externalAppProtocol)));
    protocol->setToolTip(tr("How the runtime calls your own app (daprd's --app-protocol)"));
    auto *externalRow = new QHBoxLayout;
    externalRow->addWidget(external, 1);
    externalRow->addWidget(protocol);
    auto *grpcApi = new QSpinBox(&d);
    grpcApi->setRange(-1, 65535);
    grpcApi->setSpecialValueText(tr("off"));
    grpcApi->setValue(hs.grpcApiPort);
    grpcApi->setToolTip(
        tr("The Dapr gRPC API port (daprd's --dapr-grpc-port), for the Python, Go, Java and .NET "
           "SDKs. 0 = any free port."));
    auto *timeout = new QSpinBox(&d);
    timeout->setRange(100, 3600000);
    timeout->setSuffix(tr(" ms"));
    timeout->setValue(hs.deliveryTimeoutMs);
    auto *rows = new QSpinBox(&d);
    rows->setRange(1000, 20000000);
    rows->setSingleStep(100000);
    rows->setValue(int(m_traffic->model()->maxRows()));
    form->addRow(tr("HTTP API port"), api);
    form->addRow(tr("gRPC API port"), grpcApi);
    form->addRow(QString(), builtin);
    form->addRow(tr("Built-in app port"), appPort);
    form->addRow(tr("External app port"), externalRow);
    form->addRow(tr("Delivery timeout"), timeout);
    form->addRow(tr("Traffic rows kept"), rows);
    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, &d);
    form->addRow(buttons);
    connect(buttons, &QDialogButtonBox::accepted, &d, &QDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, &d, &QDialog::reject);
    if (d.exec() != QDialog::Accepted)
        return;
    HostSettings next = hs;
    next.apiPort = api->value();
    next.builtinApp = builtin->isChecked();
    next.builtinAppPort = appPort->value();
    next.externalAppPort = external->value();
    next.externalAppProtocol = protocol->currentData().toString();
    next.grpcApiPort = grpcApi->value();
    next.deliveryTimeoutMs = timeout->value();
    applySettings(next, rows->value());
}

void MainWindow::updateStatus()
{
    const core::RuntimeState s = m_host->state();
    const theme::Role role = s == core::RuntimeState::Running  ? theme::Role::Ok
                             : s == core::RuntimeState::Failed ? theme::Role::Error
                                                               : theme::Role::Muted;
    m_stateLabel->setText(QStringLiteral("%1 %2").arg(theme::span(role, QStringLiteral("●")),
                                                      tr("Runtime %1").arg(stateName(s))));
    if (s == core::RuntimeState::Running) {
        const HostSettings &hs = m_host->settings();
        const QString grpc
            = m_host->grpcPort() ? tr(" · gRPC :%1").arg(m_host->grpcPort()) : QString();
        const QString app = hs.builtinApp ? tr("(console)")
                            : hs.externalAppProtocol == QStringLiteral("grpc")
                                ? tr("(external, gRPC)")
                                : tr("(external)");
        m_apiLabel->setText(tr("API %1%2 · app %3 127.0.0.1:%4")
                                .arg(m_host->apiAddress(), grpc, app)
                                .arg(m_host->appPort()));
    } else if (s == core::RuntimeState::Failed) {
        m_apiLabel->setText(format::maskSecrets(m_host->lastError()).left(160));
    } else {
        m_apiLabel->setText(QString());
    }
    int loaded = 0, failed = 0;
    for (const core::ComponentStatus &c : m_host->components()) {
        loaded += c.state == core::ComponentState::Loaded ? 1 : 0;
        failed += c.state == core::ComponentState::Failed ? 1 : 0;
    }
    m_countsLabel->setText(tr("%1 loaded · %2 failed · %L3 events · %L4 dropped")
                               .arg(loaded)
                               .arg(failed)
                               .arg(m_traffic->model()->totalSeen())
                               .arg(m_traffic->pump()->dropped()));
    m_countsLabel->setToolTip(m_traffic->countsLabel()->text());
    m_startAction->setEnabled(s == core::RuntimeState::Stopped || s == core::RuntimeState::Failed);
    m_stopAction->setEnabled(s == core::RuntimeState::Starting || s == core::RuntimeState::Running);
}

} // namespace bindery::ui

namespace bindery::ui {

void MainWindow::connectTraffic(TrafficWidget *traffic)
{
    connect(traffic, &TrafficWidget::openInComposer, this,
            [this](const core::TrafficRecord &record, bool sendNow) {
                m_composer->setRequest(ComposerRequest::fromRecord(record));
                m_tabs->setCurrentWidget(m_composer);
                if (sendNow)
                    m_composer->send();
                else
                    m_composer->payloadEditor()->setFocus();
            });
    connect(traffic, &TrafficWidget::redeliver, this, [this](const core::TrafficRecord &record) {
        QString error;
        if (!m_host->redeliver(record, &error))
            showNotice(NoticeKind::Info, error.toHtmlEscaped(), {});
        else
            m_tabs->setCurrentWidget(m_traffic);
    });
    connect(traffic, &TrafficWidget::importRequested, this, &MainWindow::openCapture);
}

TrafficWidget *MainWindow::openCapture(const QString &path)
{
    auto *capture = new TrafficWidget(m_tabs);
    capture->setObjectName(QStringLiteral("capture"));
    capture->setWorkspace(m_workspace);
    QString error;
    if (capture->importJsonl(path, &error) < 0) {
        delete capture;
        QMessageBox::warning(this, tr("Import traffic"), error);
        return nullptr;
    }
    connectTraffic(capture);
    const int i = m_tabs->addTab(capture, tr("Capture: %1").arg(QFileInfo(path).fileName()));
    m_tabs->setTabToolTip(
        i, tr("%1 — %L2 records, sorted by time").arg(path).arg(capture->model()->totalRows()));
    m_tabs->setCurrentIndex(i);
    return capture;
}

void MainWindow::findInFocus()
{
    QWidget *focus = QApplication::focusWidget();
    if (FindBar *bar = FindBar::of(focus)) {
        bar->open();
        return;
    }
    for (QWidget *w = focus; w; w = w->parentWidget()) {
        if (auto *pane = qobject_cast<EditorPane *>(w)) {
            pane->openFind(false);
            return;
        }
    }
    if (EditorPane *pane = currentEditor()) {
        pane->openFind(false);
        return;
    }
    auto *traffic = qobject_cast<TrafficWidget *>(m_tabs->currentWidget());
    if (!traffic)
        traffic = m_traffic;
    m_tabs->setCurrentWidget(traffic);
    traffic->filterEdit()->setFocus(Qt::ShortcutFocusReason);
    traffic->filterEdit()->selectAll();
}

void MainWindow::showNotice(NoticeKind kind, const QString &html,
                            const QList<QPair<QString, std::function<void()>>> &actions)
{
    m_noticeKind = kind;
    QPalette pal = m_notice->palette();
    pal.setColor(QPalette::Window,
                 theme::tint(kind == NoticeKind::Failure ? theme::Role::Error : theme::Role::Output,
                             palette()));
    m_notice->setPalette(pal);
    m_noticeText->setText(html);
    while (QLayoutItem *item = m_noticeButtons->takeAt(0)) {
        delete item->widget();
        delete item;
    }
    for (const auto &[label, fn] : actions) {
        auto *b = new QPushButton(label, m_notice);
        connect(b, &QPushButton::clicked, this, [this, fn]() {
            m_notice->hide();
            fn();
        });
        m_noticeButtons->addWidget(b);
    }
    m_notice->show();
}

void MainWindow::offerFixForFailure(const QString &error)
{
    const bool portTaken = error.contains(QStringLiteral("in use"), Qt::CaseInsensitive)
                           || error.contains(QStringLiteral("address already"), Qt::CaseInsensitive)
                           || error.contains(QStringLiteral("cannot listen"), Qt::CaseInsensitive)
                           || error.contains(QStringLiteral("bind"), Qt::CaseInsensitive);
    QList<QPair<QString, std::function<void()>>> actions;
    if (portTaken)
        actions.append({tr("Use a free port"), [this]() {
                            HostSettings hs = m_host->settings();
                            hs.apiPort = 0;
                            applySettings(hs, int(m_traffic->model()->maxRows()));
                            m_host->start();
                        }});
    actions.append({tr("Settings…"), [this]() { showSettingsDialog(); }});
    showNotice(
        NoticeKind::Failure,
        tr("<b>The runtime did not start:</b> %1").arg(format::maskSecrets(error).toHtmlEscaped()),
        actions);
}

void MainWindow::showFirstStartHint(const QString &binding)
{
    QSettings s;
    if (s.value(QStringLiteral("hints/preparedRequest")).toBool())
        return;
    s.setValue(QStringLiteral("hints/preparedRequest"), true);
    showNotice(
        NoticeKind::Info,
        tr("A request to <b>%1</b> is ready in the Composer: press <b>Ctrl+Enter</b> to send "
           "it and watch it arrive in Live traffic. Cron events are already flowing.")
            .arg(binding.toHtmlEscaped()),
        {{tr("Open the Composer"), [this]() {
              m_tabs->setCurrentWidget(m_composer);
              m_composer->payloadEditor()->setFocus();
          }}});
}

void MainWindow::showShortcuts()
{
    QDialog d(this);
    d.setWindowTitle(tr("Keyboard shortcuts"));
    auto *layout = new QVBoxLayout(&d);
    auto *table = new QTableWidget(0, 3, &d);
    table->setObjectName(QStringLiteral("shortcutTable"));
    table->setHorizontalHeaderLabels({tr("Menu"), tr("Action"), tr("Shortcut")});
    table->verticalHeader()->hide();
    table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    table->horizontalHeader()->setStretchLastSection(true);
    for (QAction *menuAction : menuBar()->actions()) {
        QMenu *menu = menuAction->menu();
        if (!menu)
            continue;
        for (QAction *a : menu->actions()) {
            if (a->shortcuts().isEmpty())
                continue;
            QStringList keys;
            for (const QKeySequence &k : a->shortcuts())
                keys << k.toString(QKeySequence::NativeText);
            const int row = table->rowCount();
            table->insertRow(row);
            table->setItem(row, 0, new QTableWidgetItem(menuAction->text().remove(u'&')));
            table->setItem(row, 1, new QTableWidgetItem(a->text().remove(u'&')));
            table->setItem(row, 2, new QTableWidgetItem(keys.join(QStringLiteral(", "))));
        }
    }
    const QStringList more{tr("Traffic table|Right-click a row|Replay, apply as filter, trace"),
                           tr("Filter|Tab / arrows|Complete a field or binding name"),
                           tr("Find bar|Enter / Shift+Enter / Esc|Next, previous, close")};
    for (const QString &m : more) {
        const QStringList parts = m.split(u'|');
        const int row = table->rowCount();
        table->insertRow(row);
        for (int c = 0; c < 3; ++c)
            table->setItem(row, c, new QTableWidgetItem(parts.value(c)));
    }
    table->resizeColumnsToContents();
    layout->addWidget(table);
    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Close, &d);
    connect(buttons, &QDialogButtonBox::rejected, &d, &QDialog::reject);
    layout->addWidget(buttons);
    d.resize(620, 520);
    d.exec();
}

void MainWindow::renameComponent(const QString &name, const QString &path)
{
    bool ok = false;
    const QString next
        = QInputDialog::getText(this, tr("Rename component"), tr("New name for '%1':").arg(name),
                                QLineEdit::Normal, name, &ok)
              .trimmed();
    if (!ok || next.isEmpty() || next == name)
        return;
    QString error;
    if (!renameComponentTo(name, path, next, &error))
        QMessageBox::warning(this, tr("Rename component"), error);
}

bool MainWindow::renameComponentTo(const QString &name, const QString &path, const QString &next,
                                   QString *error)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly)) {
        *error = f.errorString();
        return false;
    }
    const QString text = QString::fromUtf8(f.readAll());
    f.close();
    const QString renamed = yamledit::setComponentName(text, name, next);
    if (renamed == text) {
        *error = tr("No 'metadata.name: %1' found in %2").arg(name, path);
        return false;
    }
    if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate)) {
        *error = f.errorString();
        return false;
    }
    f.write(renamed.toUtf8());
    f.close();
    for (int i = 0; i < m_tabs->count(); ++i) {
        if (auto *pane = qobject_cast<EditorPane *>(m_tabs->widget(i));
            pane && pane->path() == QFileInfo(path).absoluteFilePath() && !pane->isModified())
            pane->load();
    }
    if (m_host->isRunning())
        m_host->reloadFile(path);
    refreshComponents();
    return true;
}

void MainWindow::deleteComponent(const QString &name, const QString &path)
{
    const auto answer = QMessageBox::question(
        this, tr("Delete component"),
        tr("Delete %1 (the file %2)? The runtime unloads it.")
            .arg(name.isEmpty() ? tr("this file") : QStringLiteral("'%1'").arg(name),
                 QFileInfo(path).fileName()),
        QMessageBox::Yes | QMessageBox::Cancel, QMessageBox::Cancel);
    if (answer == QMessageBox::Yes)
        deleteComponentFile(path);
}

bool MainWindow::deleteComponentFile(const QString &path)
{
    const QString abs = QFileInfo(path).absoluteFilePath();
    for (int i = m_tabs->count() - 1; i >= 0; --i) {
        if (auto *pane = qobject_cast<EditorPane *>(m_tabs->widget(i));
            pane && pane->path() == abs) {
            m_tabs->removeTab(i);
            pane->deleteLater();
        }
    }
    if (!QFile::remove(abs))
        return false;
    if (m_host->isRunning())
        m_host->reloadFile(abs);
    refreshComponents();
    return true;
}

} // namespace bindery::ui
