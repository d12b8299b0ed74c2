// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <vector>

#include <QHash>
#include <QList>
#include <QMap>
#include <QObject>
#include <QSet>
#include <QString>
#include <QStringList>
#include <QThreadPool>

#include "core/binding.h"
#include "core/binding_registry.h"
#include "core/component_spec.h"
#include "core/diagnostic.h"
#include "core/runtime_options.h"
#include "core/secret_store.h"
#include "core/traffic.h"

class QTcpSocket;
class QTimer;

namespace bindery::core {

class AppChannel;
struct ProbeResult;

/**
 * @brief Makes the app channel for an app protocol other than "http", which the runtime makes
 * itself (the gRPC channel lives outside bindery_core; the sidecar provides it). Returns null for
 * a protocol it does not serve. Called on the runtime thread.
 */
using AppChannelFactory = std::function<std::shared_ptr<AppChannel>(const RuntimeOptions &)>;

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
    /// The binding's own connection to its server, as it reported it (empty for bindings that
    /// report none, see InputBinding::setConnectionReporter): "connected", "reconnecting in 5 s:
    /// connection refused"; prefixed "input: " / "output: " when the two directions differ.
    QString connection;
    /// The least healthy state among the directions' connections ("reconnecting", "failed",
    /// "connected", ...), for a short label in the console tree; empty when none reported.
    QString connectionState;
};

/** @brief Where the runtime is in its start-up. */
enum class RuntimeState { Stopped, Starting, Running, Stopping, Failed };
QString runtimeStateName(RuntimeState state);

/**
 * @brief A live output binding as the API sees it: a value the runtime publishes and any thread
 * may read (Runtime::output()). `binding` is null while the component (re)initialises.
 */
struct OutputEntry
{
    std::shared_ptr<OutputBinding> binding;
    QString type;
    QStringList operations;
    bool ready() const { return binding != nullptr; }
};

/**
 * @brief The embedded Dapr-compatible bindings runtime: loads components, initialises and closes
 * bindings, runs the input readers, and reaches the app through an AppChannel. It knows no API
 * transport: the HTTP and gRPC APIs sit on top of it (core/api/binding_service.h), created by the
 * composition roots (core/host/sidecar.h).
 *
 * Threads. A Runtime lives on its own thread (the sidecar's "bindery-runtime" QThread): every
 * Q_INVOKABLE must run there, through QMetaObject::invokeMethod. That thread does the slow work
 * (component init, bounded by each initTimeout; joining reader threads on reload); the API thread
 * never waits on it. The snapshot getters and output() are thread-safe. Each input binding reads
 * on a std::jthread of its own; OPTIONS probes run on a bounded pool of the runtime's own.
 *
 * Ownership. The runtime owns every binding instance. Output instances are shared with in-flight
 * calls (a call keeps its binding alive until it completed); input instances with their reader.
 */
class Runtime final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(Runtime)

public:
    Runtime(RuntimeOptions options, const BindingRegistry &registry, TrafficStream &traffic,
            QObject *parent = nullptr);
    ~Runtime() override;

    /// The channel maker for RuntimeOptions::appProtocol values other than "http". Call before
    /// the runtime starts (before it moves to its thread).
    void setAppChannelFactory(AppChannelFactory factory) { m_channelFactory = std::move(factory); }

    /// Loads and initialises the components. False on a fatal error (duplicate names, a failed
    /// component without ignoreErrors when failFast); the reason is in lastError().
    Q_INVOKABLE bool loadComponents();
    /// Starts waiting for the app, then probes and reads the inputs (daprd does this once the API
    /// servers are up). Runtime thread.
    Q_INVOKABLE void connectApp();
    /// loadComponents() then connectApp(): for callers without an API.
    Q_INVOKABLE bool start();
    /// Stops readers (bounded), closes bindings. Idempotent. Runtime thread.
    Q_INVOKABLE void stop();
    /// Re-reads one file and re-initialises the components defined in it (hot reload). While
    /// they initialise, output() reports them as not ready (the API answers 503).
    Q_INVOKABLE void reloadFile(const QString &path);
    /// Re-reads every resources path and re-initialises every component.
    Q_INVOKABLE void reloadAll();
    /// Takes a component out of service (or back). Runtime thread.
    Q_INVOKABLE void setComponentEnabled(const QString &name, bool enabled);

    // Thread-safe.
    QList<ComponentStatus> components() const;
    RuntimeState state() const;
    QString lastError() const;
    /// True once the app port accepted a connection (or there is no app to wait for).
    bool appReady() const;
    /// False while daprd's app health checks (RuntimeOptions::appHealthCheck) find the app
    /// unhealthy, and before their first healthy probe; always true without them.
    bool appHealthy() const;
    /// The output binding named `name`; empty (no binding, no type) when there is none.
    OutputEntry output(const QString &name) const;
    /// Extended metadata (`PUT /v1.0/metadata/<key>`), always holding daprRuntimeVersion.
    QMap<QString, QString> extendedMetadata() const;
    void setExtendedMetadata(const QString &key, const QString &value);
    /// The channel to the app, or null without an app port.
    std::shared_ptr<AppChannel> appChannel() const;
    /// The secret stores that initialised (the secrets API reads them), by component name.
    SecretStores secretStores() const;
    const RuntimeOptions &options() const { return m_options; }
    const BindingRegistry &registry() const { return m_registry; }
    TrafficStream &traffic() const { return m_traffic; }

Q_SIGNALS:
    void componentsChanged();
    void stateChanged(bindery::core::RuntimeState state);
    /// Every log line, for the console's log view. level: 0 debug, 1 info, 2 warning, 3 error.
    void logMessage(int level, const QString &text);

private:
    struct Instance;
    struct AppGate;

    void log(int level, const QString &text);
    void setState(RuntimeState state);
    void setLastError(const QString &message);
    /// Initialises components whose secrets are already resolved; `diagnostics` are the loader's
    /// and the secret resolution's findings, attached to the components they name.
    void loadSpecs(const QList<ComponentSpec> &specs, const Diagnostics &diagnostics);
    bool initInstance(Instance &instance);
    void startInput(Instance &instance);
    /// The reporter a binding instance calls on its connection changes (any thread).
    ConnectionReporter connectionReporter(const Instance &instance, bool input);
    void onConnectionReport(const QString &name, quint64 generation, bool input,
                            const ConnectionReport &report);
    void stopInstance(Instance &instance);
    void probeAndRead(const QString &name);
    void onProbeResult(const QString &name, quint64 generation, const ProbeResult &result);
    void checkAppPort();
    void onAppReady();
    /// Starts every input that is not reading yet (each with its OPTIONS probe).
    void startInputs();
    // App health checks (reference §2.1), runtime thread.
    void runHealthProbe();
    void onHealthResult(bool healthy, const QString &reason);
    void setAppHealthy(bool healthy, const QString &reason);
    /// Stops the input's reader (bounded) and keeps the binding initialised, as daprd's
    /// StopReadingFromBindings; startInputs() restarts it.
    void pauseInput(Instance &instance, const QString &why);
    /// The app is up and, with health checks, healthy: inputs may read.
    bool readingAllowed() const;
    void publishStatus();
    void publishOutputs();
    Instance *find(const QString &name) const;

    RuntimeOptions m_options;
    const BindingRegistry &m_registry;
    TrafficStream &m_traffic;
    QThreadPool m_probePool;
    QTimer *m_appPoll = nullptr;
    QTimer *m_healthTimer = nullptr;
    bool m_healthProbeInFlight = false;
    int m_healthFailures = 0;
    /// Shared with every delivery: health and --app-max-concurrency.
    std::shared_ptr<AppGate> m_gate;
    QTcpSocket *m_appProbeSocket = nullptr;
    std::vector<std::unique_ptr<Instance>> m_instances;
    QSet<QString> m_disabled;
    QSet<QString> m_reinitialising; ///< names whose file is being reloaded
    quint64 m_generation = 0;

    mutable std::mutex m_snapshotMutex;
    QList<ComponentStatus> m_snapshot;
    RuntimeState m_state = RuntimeState::Stopped;
    QString m_lastError;
    bool m_appReady = false;
    bool m_appHealthy = true;
    std::shared_ptr<AppChannel> m_channel;
    AppChannelFactory m_channelFactory;
    QMap<QString, QString> m_extended;
    SecretStores m_secretStores;

    mutable std::shared_mutex m_outputsMutex;
    QHash<QString, OutputEntry> m_outputs;
};

} // namespace bindery::core

Q_DECLARE_METATYPE(bindery::core::ComponentStatus)
Q_DECLARE_METATYPE(bindery::core::RuntimeState)
