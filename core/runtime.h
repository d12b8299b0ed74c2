// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <QHash>
#include <QList>
#include <QMap>
#include <QObject>
#include <QSet>
#include <QString>
#include <QStringList>

#include "core/binding.h"
#include "core/binding_registry.h"
#include "core/component_spec.h"
#include "core/diagnostic.h"
#include "core/runtime_options.h"
#include "core/traffic.h"

class QTimer;

namespace bindery::core {

class ApiServer;
class AppChannel;

/** @brief Lifecycle of one component in the runtime. */
enum class ComponentState { Pending, Loaded, Failed, Disabled };
QString componentStateName(ComponentState state);

/** @brief A copyable snapshot of one component for the console's tree and binderyd's log. */
struct ComponentStatus
{
    QString name;
    QString type;
    QString version;
    SourceLocation location;
    bool input = false;  ///< an input instance exists
    bool output = false; ///< an output instance exists
    ComponentState state = ComponentState::Pending;
    QString error;
    QStringList warnings;
    QString subscription; ///< input only: "reading", "not subscribed (404)", "waiting for app", ...
    QString route;        ///< input only: the app path
    QStringList operations;
};

/** @brief Where the runtime is in its start-up. */
enum class RuntimeState { Stopped, Starting, Running, Failed };

/**
 * @brief The embedded Dapr-compatible bindings runtime: components, HTTP API, app channel.
 *
 * Lives on its own QThread (the console) or the main thread (binderyd); every public slot and
 * Q_INVOKABLE must be called on that thread, e.g. through QMetaObject::invokeMethod. The
 * snapshot getters (components(), httpPort(), ...) are thread-safe. Input bindings read on one
 * std::jthread each; output invokes complete through callbacks on any thread and are marshalled
 * back here.
 */
class Runtime final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(Runtime)

public:
    Runtime(RuntimeOptions options, const BindingRegistry &registry, TrafficStream &traffic,
            QObject *parent = nullptr);
    ~Runtime() override;

    /// Loads and initialises components, starts the API and the app channel. False on a fatal
    /// error (duplicate names, a failed component without ignoreErrors when failFast, a port in
    /// use); the reason is in lastError(). Runtime thread.
    Q_INVOKABLE bool start();
    /// Stops readers (bounded), closes bindings and the API. Idempotent. Runtime thread.
    Q_INVOKABLE void stop();
    /// Re-reads one file and re-initialises the components defined in it (hot reload).
    Q_INVOKABLE void reloadFile(const QString &path);
    /// Re-reads every resources path and re-initialises every component.
    Q_INVOKABLE void reloadAll();
    /// Takes a component out of service (or back). Runtime thread.
    Q_INVOKABLE void setComponentEnabled(const QString &name, bool enabled);

    // Thread-safe snapshots.
    QList<ComponentStatus> components() const;
    RuntimeState state() const;
    QString lastError() const;
    quint16 httpPort() const;
    QString apiAddress() const;
    bool outboundReady() const;
    bool appReady() const;
    const RuntimeOptions &options() const { return m_options; }
    const BindingRegistry &registry() const { return m_registry; }
    TrafficStream &traffic() const { return m_traffic; }

    // Used by the API server (runtime thread).
    std::shared_ptr<OutputBinding> outputBinding(const QString &name) const;
    QString componentType(const QString &name) const;
    QMap<QString, QString> extendedMetadata() const { return m_extended; }
    void setExtendedMetadata(const QString &key, const QString &value)
    {
        m_extended.insert(key, value);
    }

Q_SIGNALS:
    void componentsChanged();
    void stateChanged(bindery::core::RuntimeState state);
    /// Every log line, for the console's log view. level: 0 debug, 1 info, 2 warning, 3 error.
    void logMessage(int level, const QString &text);

private:
    struct Instance;

    void log(int level, const QString &text);
    void setState(RuntimeState state);
    /// Initialises components whose secrets are already resolved; `diagnostics` are the loader's
    /// and the secret resolution's findings, attached to the components they name.
    void loadSpecs(const QList<ComponentSpec> &specs, const Diagnostics &diagnostics);
    bool initInstance(Instance &instance);
    void startInput(Instance &instance);
    void stopInstance(Instance &instance);
    void probeAndRead(const QString &name);
    void onProbeResult(const QString &name, quint64 generation, int status, const QString &error);
    void pollAppPort();
    void publishStatus();
    Instance *find(const QString &name) const;

    RuntimeOptions m_options;
    const BindingRegistry &m_registry;
    TrafficStream &m_traffic;
    std::unique_ptr<ApiServer> m_api;
    std::shared_ptr<AppChannel> m_channel;
    QTimer *m_appPoll = nullptr;
    std::vector<std::unique_ptr<Instance>> m_instances;
    QSet<QString> m_disabled;
    QMap<QString, QString> m_extended;
    quint64 m_generation = 0;

    mutable std::mutex m_snapshotMutex;
    QList<ComponentStatus> m_snapshot;
    RuntimeState m_state = RuntimeState::Stopped;
    QString m_lastError;
    quint16 m_boundPort = 0;
    QString m_apiAddress;
    bool m_outboundReady = false;
    bool m_appReady = false;
};

} // namespace bindery::core

Q_DECLARE_METATYPE(bindery::core::ComponentStatus)
Q_DECLARE_METATYPE(bindery::core::RuntimeState)
