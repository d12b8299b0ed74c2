// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <memory>

#include <QList>
#include <QObject>
#include <QPointer>
#include <QString>

#include "core/host/sidecar.h"
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
    int grpcApiPort = 50001; ///< the daprd gRPC API port (0 = any free port, -1 = none)
    bool builtinApp = true;  ///< the console answers deliveries ("be the app")
    int builtinAppPort = 0;  ///< the built-in app's port (0 = any free port)
    int externalAppPort = 0; ///< used when builtinApp is false (0 = no app channel)
    /// How the runtime calls the external app: "http" or "grpc" (Dapr's AppCallback service).
    /// The built-in app always speaks HTTP.
    QString externalAppProtocol = QStringLiteral("http");
    int deliveryTimeoutMs = 30000;
    QString resourcesPath; ///< the workspace folder
};

/**
 * @brief Owns the embedded sidecar (runtime and API, each on a thread of its own), the traffic tap
 * and the built-in app.
 *
 * UI thread; never blocks it. stop() and restart() are requests: the state goes to Stopping at
 * once (shown in the status bar and the tree), stopped() follows when the bindings have closed,
 * however long that takes (a Kafka consumer whose broker is gone takes seconds). A start() asked
 * for while stopping runs once the stop finished, with the settings current then. Only the
 * destructor waits (bounded by the bindings' own bounds). The TrafficStream outlives restarts so
 * the live table keeps one stream.
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

    /// Starts the sidecar; if a stop is still running, starts when it finished.
    void start();
    /// Asks the sidecar to stop; returns at once. stopped() follows.
    void stop();
    /// stop(), then start() once stopped.
    void restart();
    /// Queued Runtime::reloadFile.
    void reloadFile(const QString &path);
    void setComponentEnabled(const QString &name, bool enabled);
    /// Re-delivers a captured input event to the app through the runtime's app channel, on a
    /// worker thread, with its metadata plus `bindery-replay-of: <id>`; the delivery shows in the
    /// traffic as a replay of `original`. False (and *error) when there is no app channel.
    bool redeliver(const core::TrafficRecord &original, QString *error = nullptr);

    bool isRunning() const;
    /// Starting, running or stopping: a stop() would have something to do.
    bool isActive() const;
    core::RuntimeState state() const;
    QString lastError() const;
    quint16 apiPort() const;  ///< the bound API port, 0 when not running
    quint16 grpcPort() const; ///< the bound gRPC API port, 0 when not running
    quint16 appPort() const;  ///< the port deliveries go to (built-in or external)
    QString apiAddress() const;
    QList<core::ComponentStatus> components() const;
    core::TrafficStream &traffic() { return m_traffic; }
    AppServer *appServer() const { return m_app; }
    const core::BindingRegistry &registry() const { return m_registry; }

Q_SIGNALS:
    void stateChanged(bindery::core::RuntimeState state);
    /// The sidecar stopped (after stop() or a failed start): nothing of it is running.
    void stopped();
    void componentsChanged();
    void logMessage(int level, const QString &text);
    /// Emitted after a reloadFile() finished on the runtime thread.
    void fileReloaded(const QString &path);

private:
    void startAppServer();
    void stopAppServer();
    void startNow();
    void onSidecarStopped();

    const core::BindingRegistry &m_registry;
    HostSettings m_settings;
    core::TrafficStream m_traffic;
    std::unique_ptr<core::Sidecar> m_sidecar;
    bool m_startWhenStopped = false;
    QString m_lastError; ///< of the last failed start, kept after its teardown
    QThread *m_appThread = nullptr;
    AppServer *m_app = nullptr;
    quint16 m_appPort = 0;
};

} // namespace bindery::ui
