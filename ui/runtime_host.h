// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <memory>

#include <QList>
#include <QObject>
#include <QPointer>
#include <QString>

#include "core/runtime.h"
#include "core/runtime_options.h"
#include "core/traffic.h"
#include "ui/app_server.h"

class QThread;

namespace bindery::core {
class BindingRegistry;
}

namespace bindery::ui {

/** @brief What the console asks of the runtime; the console's settings. */
struct HostSettings
{
    int apiPort = 3500;      ///< the daprd HTTP API port (0 = any free port)
    bool builtinApp = true;  ///< the console answers deliveries ("be the app")
    int builtinAppPort = 0;  ///< the built-in app's port (0 = any free port)
    int externalAppPort = 0; ///< used when builtinApp is false (0 = no app channel)
    int deliveryTimeoutMs = 30000;
    QString resourcesPath; ///< the workspace folder
};

/**
 * @brief Owns the embedded runtime on its own QThread, the traffic tap and the built-in app.
 *
 * UI thread. Talks to the Runtime only through queued calls; teardown is
 * invokeMethod(stop, BlockingQueuedConnection), quit(), wait(). The TrafficStream outlives
 * restarts so the live table keeps one stream.
 */
class RuntimeHost final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(RuntimeHost)

public:
    explicit RuntimeHost(const core::BindingRegistry &registry, QObject *parent = nullptr);
    ~RuntimeHost() override;

    void setSettings(const HostSettings &settings) { m_settings = settings; }
    const HostSettings &settings() const { return m_settings; }

    void start();
    void stop();
    void restart();
    /// Queued Runtime::reloadFile.
    void reloadFile(const QString &path);
    void setComponentEnabled(const QString &name, bool enabled);

    bool isRunning() const;
    core::RuntimeState state() const;
    QString lastError() const;
    quint16 apiPort() const; ///< the bound API port, 0 when not running
    quint16 appPort() const; ///< the port deliveries go to (built-in or external)
    QString apiAddress() const;
    QList<core::ComponentStatus> components() const;
    core::TrafficStream &traffic() { return m_traffic; }
    AppServer *appServer() const { return m_app; }
    const core::BindingRegistry &registry() const { return m_registry; }

Q_SIGNALS:
    void stateChanged(bindery::core::RuntimeState state);
    void componentsChanged();
    void logMessage(int level, const QString &text);
    /// Emitted after a reloadFile() finished on the runtime thread.
    void fileReloaded(const QString &path);

private:
    void startAppServer();
    void stopAppServer();

    const core::BindingRegistry &m_registry;
    HostSettings m_settings;
    core::TrafficStream m_traffic;
    QThread *m_thread = nullptr;
    core::Runtime *m_runtime = nullptr;
    QThread *m_appThread = nullptr;
    AppServer *m_app = nullptr;
    quint16 m_appPort = 0;
};

} // namespace bindery::ui
