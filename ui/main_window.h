// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <functional>

#include <QMainWindow>
#include <QSet>

#include "ui/runtime_host.h"

class QAction;
class QFrame;
class QHBoxLayout;
class QLabel;
class QMenu;
class QPlainTextEdit;
class QStandardItemModel;
class QTabWidget;
class QTreeView;

namespace bindery::core {
class BindingRegistry;
}

namespace bindery::ui {

class AppRulesWidget;
class ComposerWidget;
class EditorPane;
class TrafficWidget;

/**
 * @brief The Bindery console: workspace tree, component editors, request composer, live traffic,
 * "be the app" rules and runtime control in one window. UI thread.
 */
class MainWindow final : public QMainWindow
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(MainWindow)

public:
    explicit MainWindow(const core::BindingRegistry &registry, QWidget *parent = nullptr);
    ~MainWindow() override;

    void openWorkspace(const QString &folder);
    void openLastWorkspace();
    QString workspace() const { return m_workspace; }

    /// Applies and persists runtime settings, restarting the runtime when it runs.
    void applySettings(const HostSettings &settings, int maxRows);

    EditorPane *openEditor(const QString &path);
    EditorPane *currentEditor() const;
    /// Saves an editor and reloads its file in the running runtime.
    bool saveEditor(EditorPane *pane);

    RuntimeHost &host() { return *m_host; }
    TrafficWidget *traffic() const { return m_traffic; }
    ComposerWidget *composer() const { return m_composer; }
    AppRulesWidget *appRules() const { return m_rules; }
    QStandardItemModel *componentModel() const { return m_treeModel; }
    QTabWidget *tabs() const { return m_tabs; }
    QFrame *noticeBar() const { return m_notice; }
    QLabel *noticeText() const { return m_noticeText; }
    QPlainTextEdit *log() const { return m_log; }
    /// Opens a JSON Lines capture in a tab of its own (sorted by time); nullptr on error.
    TrafficWidget *openCapture(const QString &path);
    /// The window's Find (Ctrl+F): the find bar of the focused view, the editor's find, or the
    /// traffic filter.
    void findInFocus();
    bool renameComponentTo(const QString &name, const QString &path, const QString &next,
                           QString *error);
    bool deleteComponentFile(const QString &path);
    /// Whether Quit asks before dropping an unexported capture (unattended runs turn it off).
    void setAskBeforeDroppingCapture(bool ask) { m_captureAnswered = !ask; }

public Q_SLOTS:
    void startRuntime();
    void stopRuntime();
    void restartRuntime();
    void refreshComponents();

protected:
    void closeEvent(QCloseEvent *event) override;

private:
    void buildMenus();
    void loadSettings();
    void updateStatus();
    void updateRecentMenu();
    void prepareDefaultRequest();
    void showSettingsDialog();
    void newComponent();
    void openFolderDialog();
    void connectTraffic(TrafficWidget *traffic);
    enum class NoticeKind { Info, Failure };
    void showNotice(NoticeKind kind, const QString &html,
                    const QList<QPair<QString, std::function<void()>>> &actions);
    void offerFixForFailure(const QString &error);
    void showFirstStartHint(const QString &binding);
    void showShortcuts();
    void renameComponent(const QString &name, const QString &path);
    void deleteComponent(const QString &name, const QString &path);

    const core::BindingRegistry &m_registry;
    RuntimeHost *m_host = nullptr;
    bool m_closing = false; ///< the window is closing and waits for the runtime to stop
    QString m_workspace;
    QTabWidget *m_tabs = nullptr;
    TrafficWidget *m_traffic = nullptr;
    ComposerWidget *m_composer = nullptr;
    AppRulesWidget *m_rules = nullptr;
    QTreeView *m_tree = nullptr;
    QStandardItemModel *m_treeModel = nullptr;
    QPlainTextEdit *m_log = nullptr;
    QMenu *m_recentMenu = nullptr;
    QLabel *m_stateLabel = nullptr;
    QLabel *m_apiLabel = nullptr;
    QLabel *m_countsLabel = nullptr;
    QAction *m_startAction = nullptr;
    QAction *m_stopAction = nullptr;
    bool m_requestPrepared = false;
    bool m_captureAnswered = false; ///< Quit already asked about the unsaved capture
    QAction *m_quitAction = nullptr;
    QFrame *m_notice = nullptr;
    QLabel *m_noticeText = nullptr;
    QHBoxLayout *m_noticeButtons = nullptr;
    NoticeKind m_noticeKind = NoticeKind::Info;
    QSet<QString> m_keptRunning; ///< saved files with errors whose running version was kept
};

} // namespace bindery::ui
