// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <QMainWindow>

#include "ui/runtime_host.h"

class QAction;
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
};

} // namespace bindery::ui
