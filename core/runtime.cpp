// SPDX-License-Identifier: Apache-2.0
#include "core/runtime.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <optional>

#include <QFileInfo>
#include <QLoggingCategory>
#include <QPointer>
#include <QTcpSocket>
#include <QThread>
#include <QTimer>

#include "core/component_loader.h"
#include "core/http_app_channel.h"
#include "core/redact.h"
#include "core/secret_store.h"
#include "core/trace_context.h"

Q_LOGGING_CATEGORY(lcRuntime, "bindery.core.runtime")

namespace bindery::core {

QString componentStateName(ComponentState state)
{
    switch (state) {
    case ComponentState::Pending: return QStringLiteral("pending");
    case ComponentState::Loaded: return QStringLiteral("loaded");
    case ComponentState::Failed: return QStringLiteral("failed");
    case ComponentState::Disabled: return QStringLiteral("disabled");
    }
    return {};
}

QString runtimeStateName(RuntimeState state)
{
    switch (state) {
    case RuntimeState::Stopped: return QStringLiteral("stopped");
    case RuntimeState::Starting: return QStringLiteral("starting");
    case RuntimeState::Running: return QStringLiteral("running");
    case RuntimeState::Stopping: return QStringLiteral("stopping");
    case RuntimeState::Failed: return QStringLiteral("failed");
    }
    return {};
}

QString failurePolicyName(FailurePolicy policy)
{
    switch (policy) {
    case FailurePolicy::Drop: return QStringLiteral("dropped");
    case FailurePolicy::Retry: return QStringLiteral("retry");
    case FailurePolicy::Requeue: return QStringLiteral("requeue");
    case FailurePolicy::DropAnsweredRetryUnanswered: return QStringLiteral("dropped");
    }
    return {};
}

QString failureOutcome(const BindingEvent &event, const AppReply &reply)
{
    if (event.onFailure == FailurePolicy::DropAnsweredRetryUnanswered && reply.status == 0)
        return QStringLiteral("retry");
    return failurePolicyName(event.onFailure);
}

struct Runtime::Instance
{
    ComponentSpec spec;
    std::shared_ptr<InputBinding> input;
    std::shared_ptr<OutputBinding> output;
    std::unique_ptr<std::jthread> reader;
    ComponentStatus status;
    quint64 generation = 0;
    std::optional<ConnectionReport> inputConnection; ///< the latest report of each direction
    std::optional<ConnectionReport> outputConnection;
};

// What every delivery checks first: whether the health checks found the app healthy (daprd's
// app channel answers "app is not in a healthy state" otherwise) and a slot under
// --app-max-concurrency (daprd's channel semaphore). Shared with the delivery handlers.
struct Runtime::AppGate
{
    std::atomic<bool> healthy{true};
    int max = -1; ///< <= 0: no limit
    std::mutex mutex;
    std::condition_variable_any freed;
    int inFlight = 0;

    /// Waits for a slot; false when `cancel` stopped the wait.
    bool acquire(const std::stop_token &cancel)
    {
        if (max <= 0)
            return true;
        std::unique_lock lock(mutex);
        if (!freed.wait(lock, cancel, [this] { return inFlight < max; }))
            return false;
        ++inFlight;
        return true;
    }
    void release()
    {
        if (max <= 0)
            return;
        {
            std::lock_guard lock(mutex);
            --inFlight;
        }
        freed.notify_one();
    }
};

namespace {

// Throttles a repeated warning to one line a second, counting what it held back.
class LogThrottle
{
public:
    bool allow(int *suppressed)
    {
        const qint64 now = nowUs();
        qint64 last = m_last.load();
        if (now - last < 1000000) {
            m_suppressed.fetch_add(1);
            return false;
        }
        if (!m_last.compare_exchange_strong(last, now)) {
            m_suppressed.fetch_add(1); // another thread logs now: count this one, never lose it
            return false;
        }
        *suppressed = m_suppressed.exchange(0);
        return true;
    }

private:
    std::atomic<qint64> m_last{0};
    std::atomic<int> m_suppressed{0};
};

/// How unwell a connection state is, for the one label the tree shows for two directions.
int connectionRank(ConnectionState state)
{
    switch (state) {
    case ConnectionState::Connected: return 0;
    case ConnectionState::Stopped: return 1;
    case ConnectionState::Connecting: return 2;
    case ConnectionState::Reconnecting: return 3;
    case ConnectionState::Failed: return 4;
    }
    return 0;
}

bool hasValidTraceparent(const QList<QPair<QString, QString>> &metadata)
{
    for (const auto &[k, v] : metadata) {
        if (k.compare(QStringLiteral("traceparent"), Qt::CaseInsensitive) == 0)
            return trace::parseTraceparent(v.toStdString()).has_value();
    }
    return false;
}

// A warning at most once a second per throttle, saying how many it held back.
void logThrottled(LogThrottle &throttle, const QString &text)
{
    int suppressed = 0;
    if (throttle.allow(&suppressed)) {
        qCWarning(lcRuntime).noquote()
            << text + (suppressed ? QStringLiteral(" (+%1 similar)").arg(suppressed) : QString());
    }
}

void logDeliveryFailure(LogThrottle &throttle, const QString &name, const BindingEvent &event,
                        const AppReply &reply)
{
    logThrottled(throttle,
                 QStringLiteral("error delivering event of binding %1 to the app (%2): %3")
                     .arg(name, failureOutcome(event, reply), reply.error));
}

// A tick or record the binding dropped before delivery (e.g. cron at its bound of deliveries in
// flight, issue 9.4): logged (throttled) and shown in the traffic, never sent to the app.
AppReply recordSkipped(TrafficStream &traffic, LogThrottle &throttle, const QString &name,
                       const QString &type, const QString &route, const BindingEvent &event)
{
    logThrottled(throttle,
                 QStringLiteral("binding %1 skipped an event: %2").arg(name, event.skipReason));
    if (traffic.enabled()) {
        TrafficRecord rec;
        rec.id = traffic.nextId();
        rec.kind = TrafficRecord::Kind::Input;
        rec.startedUs = nowUs();
        rec.binding = name;
        rec.bindingType = type;
        rec.operation = QStringLiteral("deliver");
        rec.route = route;
        rec.metadata = event.metadata;
        rec.payload = event.data;
        rec.error = event.skipReason;
        rec.eventKey = event.eventKey;
        rec.attempt = event.attempt;
        rec.outcome = QStringLiteral("skipped");
        traffic.push(std::move(rec));
    }
    return AppReply{0, {}, event.skipReason};
}

} // namespace

Runtime::Runtime(RuntimeOptions options, const BindingRegistry &registry, TrafficStream &traffic,
                 QObject *parent)
    : QObject(parent)
    , m_options(std::move(options))
    , m_registry(registry)
    , m_traffic(traffic)
{
    qRegisterMetaType<bindery::core::ComponentStatus>();
    qRegisterMetaType<bindery::core::RuntimeState>();
    m_extended.insert(QStringLiteral("daprRuntimeVersion"), m_options.runtimeVersion);
    m_gate = std::make_shared<AppGate>();
    m_gate->max = m_options.appMaxConcurrency;
    // Probes block a thread for up to --app-binding-options-timeout each: a pool of our own keeps
    // them off the global pool that Qt and the console share.
    m_probePool.setMaxThreadCount(4);
    m_probePool.setObjectName(QStringLiteral("bindery-probes"));
}

Runtime::~Runtime()
{
    stop();
}

void Runtime::log(int level, const QString &raw)
{
    // The console shows these lines; binderyd's sink masks again (any category), harmlessly.
    const QString text = redacted(raw);
    switch (level) {
    case 0: qCDebug(lcRuntime).noquote() << text; break;
    case 1: qCInfo(lcRuntime).noquote() << text; break;
    case 2: qCWarning(lcRuntime).noquote() << text; break;
    default: qCCritical(lcRuntime).noquote() << text; break;
    }
    Q_EMIT logMessage(level, text);
}

void Runtime::setState(RuntimeState state)
{
    {
        std::lock_guard lock(m_snapshotMutex);
        m_state = state;
    }
    Q_EMIT stateChanged(state);
}

void Runtime::setLastError(const QString &message)
{
    std::lock_guard lock(m_snapshotMutex);
    m_lastError = message;
}

bool Runtime::start()
{
    if (!loadComponents())
        return false;
    connectApp();
    return true;
}

bool Runtime::loadComponents()
{
    Q_ASSERT(QThread::currentThread() == thread());
    if (state() == RuntimeState::Running || state() == RuntimeState::Starting)
        return true;
    setState(RuntimeState::Starting);
    setLastError({});

    LoaderOptions lo;
    lo.appId = m_options.appId;
    lo.namespaceName = qEnvironmentVariable("NAMESPACE");
    lo.podName = qEnvironmentVariable("POD_NAME");
    LoadResult loaded = ComponentLoader::loadPaths(m_options.resourcesPaths, lo);
    if (m_options.resourcesPaths.isEmpty())
        log(1, QStringLiteral("no --resources-path given: no components are loaded"));
    if (loaded.fatal && m_options.failFast) {
        QStringList errors;
        for (const Diagnostic &d : loaded.diagnostics) {
            if (d.isError())
                errors << d.toString();
        }
        const QString message
            = QStringLiteral("failed to load components: ") + errors.join(QStringLiteral("; "));
        log(3, message);
        setLastError(message);
        setState(RuntimeState::Failed);
        return false;
    }
    Diagnostics diagnostics = loaded.diagnostics;
    SecretStores stores;
    diagnostics << resolveSecrets(loaded.components, &stores);
    {
        std::lock_guard lock(m_snapshotMutex);
        m_secretStores = stores;
    }
    loadSpecs(loaded.components, diagnostics);
    if (m_options.failFast) {
        for (const auto &inst : m_instances) {
            if (inst->status.state == ComponentState::Failed && !inst->spec.ignoreErrors) {
                const SourceLocation &at = inst->spec.location;
                const QString where = at.file.isEmpty()
                                          ? QString()
                                          : QStringLiteral("%1:%2: ").arg(at.file).arg(at.line);
                const QString message
                    = where
                      + QStringLiteral("process component %1 error: [INIT_COMPONENT_FAILURE]: "
                                       "initialization error occurred for %1: %2")
                            .arg(inst->spec.logName(), inst->status.error);
                log(3, QStringLiteral("Error processing component, binderyd will exit gracefully: ")
                           + message);
                setLastError(message);
                stop();
                setState(RuntimeState::Failed);
                return false;
            }
        }
    }
    publishStatus();
    return true;
}

void Runtime::connectApp()
{
    Q_ASSERT(QThread::currentThread() == thread());
    if (state() != RuntimeState::Starting)
        return;
    if (m_options.appPort > 0) {
        // The app protocol picks the channel: HTTP is the runtime's own; any other comes from the
        // composition root's factory (the gRPC channel lives outside bindery_core).
        std::shared_ptr<AppChannel> channel;
        if (m_options.appProtocol == QStringLiteral("http"))
            channel = std::make_shared<HttpAppChannel>(m_options.appChannelAddress,
                                                       m_options.appPort, m_options.appApiToken);
        else if (m_channelFactory)
            channel = m_channelFactory(m_options);
        if (!channel) {
            log(3, QStringLiteral("--app-protocol %1: no app channel for this protocol; input "
                                  "bindings will not deliver events")
                       .arg(m_options.appProtocol));
            for (auto &inst : m_instances) {
                if (inst->input)
                    inst->status.subscription = QStringLiteral("no app channel for protocol %1")
                                                    .arg(m_options.appProtocol);
            }
            setState(RuntimeState::Running);
            publishStatus();
            return;
        }
        {
            std::lock_guard lock(m_snapshotMutex);
            m_channel = channel;
        }
        log(1, QStringLiteral("waiting for the app on %1").arg(channel->address()));
        // daprd dials the app port every 100 ms until it accepts (blockUntilAppIsReady); here
        // without blocking this thread: one non-blocking connect at a time.
        m_appProbeSocket = new QTcpSocket(this);
        connect(m_appProbeSocket, &QTcpSocket::connected, this, &Runtime::onAppReady);
        connect(m_appProbeSocket, &QTcpSocket::errorOccurred, this, [this]() {
            if (m_appPoll)
                m_appPoll->start();
        });
        m_appPoll = new QTimer(this);
        m_appPoll->setSingleShot(true);
        m_appPoll->setInterval(100);
        connect(m_appPoll, &QTimer::timeout, this, &Runtime::checkAppPort);
        checkAppPort();
    } else {
        log(1, QStringLiteral("no --app-port: input bindings will not deliver events"));
        for (auto &inst : m_instances) {
            if (inst->input)
                inst->status.subscription = QStringLiteral("no app port");
        }
        std::lock_guard lock(m_snapshotMutex);
        m_appReady = true; // no app to wait for: healthz is ready
    }
    setState(RuntimeState::Running);
    publishStatus();
}

void Runtime::checkAppPort()
{
    if (!m_appProbeSocket || appReady())
        return;
    m_appProbeSocket->abort();
    m_appProbeSocket->connectToHost(m_options.appChannelAddress,
                                    static_cast<quint16>(m_options.appPort));
}

void Runtime::onAppReady()
{
    if (m_appPoll)
        m_appPoll->stop();
    if (m_appProbeSocket) {
        m_appProbeSocket->abort();
        m_appProbeSocket->deleteLater();
        m_appProbeSocket = nullptr;
    }
    {
        std::lock_guard lock(m_snapshotMutex);
        m_appReady = true;
    }
    log(1, QStringLiteral("app is listening on %1").arg(m_channel->address()));
    if (m_options.appHealthCheck) {
        // daprd: the app counts as unhealthy until its first healthy probe, which starts the
        // inputs; probes run every interval from now on.
        m_healthFailures = m_options.appHealthThreshold;
        {
            std::lock_guard lock(m_snapshotMutex);
            m_appHealthy = false;
        }
        m_gate->healthy = false;
        for (auto &inst : m_instances) {
            if (inst->input)
                inst->status.subscription = QStringLiteral("waiting for the app to be healthy");
        }
        log(1, QStringLiteral("App health probes starting: GET %1%2 every %3 ms")
                   .arg(m_channel->address(), m_options.appHealthCheckPath)
                   .arg(m_options.appHealthProbeIntervalMs));
        m_healthTimer = new QTimer(this);
        m_healthTimer->setInterval(m_options.appHealthProbeIntervalMs);
        connect(m_healthTimer, &QTimer::timeout, this, &Runtime::runHealthProbe);
        m_healthTimer->start();
        runHealthProbe();
    } else {
        startInputs();
    }
    publishStatus();
}

void Runtime::startInputs()
{
    for (auto &inst : m_instances) {
        if (inst->input && !inst->reader)
            probeAndRead(inst->spec.name);
    }
}

bool Runtime::readingAllowed() const
{
    return m_channel && appReady()
           && (!m_options.appHealthCheck || m_healthFailures < m_options.appHealthThreshold);
}

void Runtime::runHealthProbe()
{
    if (m_healthProbeInFlight || !m_channel || !m_healthTimer)
        return; // daprd runs one probe at a time
    m_healthProbeInFlight = true;
    const std::shared_ptr<AppChannel> channel = m_channel;
    const QString path = m_options.appHealthCheckPath;
    const int timeout = m_options.appHealthProbeTimeoutMs;
    TrafficStream *traffic = &m_traffic;
    QPointer<Runtime> self(this);
    m_probePool.start([=]() {
        const qint64 started = nowUs();
        const ProbeResult r = channel->healthProbe(path, timeout);
        const bool healthy = r.error.isEmpty() && r.accepted; // HTTP 2xx, gRPC OK
        if (traffic->enabled()) {
            TrafficRecord rec;
            rec.id = traffic->nextId();
            rec.kind = TrafficRecord::Kind::Probe;
            rec.startedUs = started;
            rec.latencyUs = r.latencyUs;
            rec.binding = QStringLiteral("(app health)");
            rec.operation = r.method;
            rec.route = channel->protocol() == QStringLiteral("http") ? path : r.method;
            rec.status = r.status;
            rec.ok = healthy;
            rec.error = r.error;
            traffic->push(std::move(rec));
        }
        QMetaObject::invokeMethod(
            self,
            [self, healthy, reason = r.error]() {
                if (self)
                    self->onHealthResult(healthy, reason);
            },
            Qt::QueuedConnection);
    });
}

void Runtime::onHealthResult(bool healthy, const QString &reason)
{
    m_healthProbeInFlight = false;
    if (!m_healthTimer)
        return; // stopped meanwhile
    const int threshold = m_options.appHealthThreshold;
    if (healthy) {
        const bool wasUnhealthy = m_healthFailures >= threshold;
        m_healthFailures = 0;
        if (wasUnhealthy)
            setAppHealthy(true, {});
    } else if (m_healthFailures < threshold && ++m_healthFailures == threshold) {
        // `threshold` failures in a row, as --app-health-threshold documents it.
        setAppHealthy(false, reason);
    }
}

void Runtime::setAppHealthy(bool healthy, const QString &reason)
{
    {
        std::lock_guard lock(m_snapshotMutex);
        m_appHealthy = healthy;
    }
    m_gate->healthy = healthy;
    if (healthy) {
        log(1, QStringLiteral("App entered healthy status"));
        startInputs(); // each with a fresh OPTIONS probe, as daprd's StartReadingFromBindings
    } else {
        log(2, QStringLiteral("App entered un-healthy status: ") + reason);
        // daprd's StopReadingFromBindings: every reader stops; the bindings stay initialised.
        for (auto &inst : m_instances) {
            if (inst->reader)
                inst->reader->request_stop();
        }
        for (auto &inst : m_instances) {
            if (inst->input)
                pauseInput(*inst, reason);
        }
    }
    publishStatus();
}

void Runtime::pauseInput(Instance &inst, const QString &why)
{
    if (inst.reader) {
        inst.reader->request_stop();
        inst.reader->join();
        inst.reader.reset();
    }
    inst.status.subscription = QStringLiteral("paused: the app is unhealthy (%1)").arg(why);
}

void Runtime::stop()
{
    const bool wasActive = state() != RuntimeState::Stopped && state() != RuntimeState::Failed;
    if (wasActive)
        setState(RuntimeState::Stopping);
    delete m_appPoll;
    m_appPoll = nullptr;
    delete m_healthTimer;
    m_healthTimer = nullptr;
    m_healthProbeInFlight = false;
    m_healthFailures = 0;
    m_gate->healthy = true;
    delete m_appProbeSocket;
    m_appProbeSocket = nullptr;
    {
        // The API answers "couldn't find" from here on, not a closed binding.
        std::unique_lock lock(m_outputsMutex);
        m_outputs.clear();
    }
    // Stop every reader first (each bounded), then close: in-flight deliveries finish.
    for (auto &inst : m_instances) {
        if (inst->reader)
            inst->reader->request_stop();
    }
    for (auto &inst : m_instances)
        stopInstance(*inst);
    m_instances.clear();
    // Probes still running hold only the channel (shared) and a guarded pointer to us.
    m_probePool.waitForDone(m_options.probeTimeoutMs + 1000);
    {
        std::lock_guard lock(m_snapshotMutex);
        m_channel.reset();
        m_appReady = false;
        m_appHealthy = true;
        m_snapshot.clear();
        m_secretStores.clear();
    }
    if (wasActive) {
        setState(RuntimeState::Stopped);
        log(1, QStringLiteral("runtime stopped"));
    }
    Q_EMIT componentsChanged();
}

void Runtime::stopInstance(Instance &inst)
{
    if (inst.reader) {
        inst.reader->request_stop();
        inst.reader->join();
        inst.reader.reset();
    }
    if (inst.input)
        inst.input->close();
    if (inst.output)
        inst.output->close();
    inst.input.reset();
    inst.output.reset();
}

void Runtime::loadSpecs(const QList<ComponentSpec> &specs, const Diagnostics &all)
{
    for (const Diagnostic &d : all) {
        if (d.severity == Diagnostic::Severity::Info)
            log(0, d.toString());
        else
            log(d.isError() ? 3 : 2, d.toString());
    }
    for (const ComponentSpec &spec : specs) {
        auto inst = std::make_unique<Instance>();
        inst->spec = spec;
        inst->generation = ++m_generation;
        inst->status.name = spec.name;
        inst->status.type = spec.type;
        inst->status.version = spec.version;
        inst->status.location = spec.location;
        // Diagnostics that belong to this component (secret errors, unknown keys...).
        for (const Diagnostic &d : all) {
            if (d.component != spec.name || d.location.file != spec.location.file)
                continue;
            if (d.isError() && inst->status.error.isEmpty())
                inst->status.error = d.message;
            else if (d.severity == Diagnostic::Severity::Warning)
                inst->status.warnings << d.message;
        }
        if (spec.isSecretStore()) {
            inst->status.state
                = inst->status.error.isEmpty() ? ComponentState::Loaded : ComponentState::Failed;
            if (inst->status.state == ComponentState::Loaded)
                log(1, QStringLiteral("component loaded: %1").arg(spec.logName()));
        } else if (!spec.hasKnownCategory()) {
            // daprd: "incorrect type", fatal unless ignoreErrors (its category check).
            inst->status.state = ComponentState::Failed;
            inst->status.error = QStringLiteral("incorrect type %1").arg(spec.type);
            log(spec.ignoreErrors ? 2 : 3,
                QStringLiteral("%1component %2 failed: %3")
                    .arg(spec.ignoreErrors ? QStringLiteral("ignoring error: ") : QString(),
                         spec.logName(), inst->status.error));
        } else if (!spec.isBinding()) {
            inst->status.state = ComponentState::Disabled;
            inst->status.error
                = QStringLiteral("not a binding: Bindery runs bindings and secret stores only");
            log(1, QStringLiteral("component skipped: %1: %2")
                       .arg(spec.logName(), inst->status.error));
        } else if (m_disabled.contains(spec.name)) {
            inst->status.state = ComponentState::Disabled;
            inst->status.error = QStringLiteral("disabled by the user");
        } else if (!inst->status.error.isEmpty()) {
            inst->status.state = ComponentState::Failed;
            log(3,
                QStringLiteral("component failed: %1: %2").arg(spec.logName(), inst->status.error));
        } else {
            initInstance(*inst);
        }
        Instance &ref = *inst;
        m_instances.push_back(std::move(inst));
        m_reinitialising.remove(ref.spec.name);
        publishOutputs();
        if (ref.input && m_appReady && m_channel)
            probeAndRead(ref.spec.name);
        else if (ref.input && m_options.appPort <= 0)
            ref.status.subscription = QStringLiteral("no app port");
        else if (ref.input)
            ref.status.subscription = QStringLiteral("waiting for the app");
    }
    publishStatus();
}

bool Runtime::initInstance(Instance &inst)
{
    const ComponentSpec &spec = inst.spec;
    auto failWith = [&](const QString &message) {
        inst.status.state = ComponentState::Failed;
        inst.status.error = message;
        inst.input.reset();
        inst.output.reset();
        log(spec.ignoreErrors ? 2 : 3,
            QStringLiteral("%1component %2 failed: %3")
                .arg(spec.ignoreErrors ? QStringLiteral("ignoring error: ") : QString(),
                     spec.logName(), message));
        return false;
    };
    const BindingDescriptor *desc = m_registry.find(spec.type, spec.version);
    if (!desc)
        return failWith(QStringLiteral("couldn't find binding %1").arg(spec.logName()));
    // Schema validation before init (#2): errors stop the component, warnings are kept.
    const Diagnostics schema = validateComponent(spec, desc->metadata);
    QStringList errors;
    for (const Diagnostic &d : schema) {
        if (d.isError())
            errors << d.message;
        else if (d.severity == Diagnostic::Severity::Warning) {
            inst.status.warnings << d.message;
            log(2, d.toString());
        }
    }
    if (!errors.isEmpty()) {
        for (const Diagnostic &d : schema) {
            if (d.isError())
                log(3, d.toString());
        }
        return failWith(errors.join(QStringLiteral("; ")));
    }
    const Directions dirs = effectiveDirections(spec, desc->metadata);
    if (dirs.input && desc->inputFactory)
        inst.input = desc->inputFactory();
    if (dirs.output && desc->outputFactory)
        inst.output = desc->outputFactory();
    if (inst.input)
        inst.input->setConnectionReporter(connectionReporter(inst, true));
    if (inst.output)
        inst.output->setConnectionReporter(connectionReporter(inst, false));
    if (!inst.input && !inst.output) {
        inst.status.state = ComponentState::Loaded;
        inst.status.warnings << QStringLiteral("direction '%1' creates no instance")
                                    .arg(spec.property(QStringLiteral("direction")));
        return true;
    }
    // Each Init is bounded by initTimeout (daprd: default 5 s) and runs off this thread so
    // that a hanging client library cannot freeze the API.
    auto runInit = [&](auto binding) -> Result<> {
        auto promise = std::make_shared<std::promise<Result<>>>();
        std::future<Result<>> future = promise->get_future();
        std::thread([binding, spec, promise]() {
            try {
                promise->set_value(binding->init(spec));
            } catch (const std::exception &e) {
                promise->set_value(fail(ErrorCode::InitFailed, QString::fromUtf8(e.what())));
            } catch (...) {
                promise->set_value(
                    fail(ErrorCode::InitFailed, QStringLiteral("unknown exception in init")));
            }
        }).detach();
        if (future.wait_for(std::chrono::milliseconds(spec.initTimeoutMs))
            != std::future_status::ready)
            return fail(ErrorCode::Timeout,
                        QStringLiteral("init timeout for component %1").arg(spec.logName()));
        return future.get();
    };
    if (inst.input) {
        if (Result<> r = runInit(inst.input); !r)
            return failWith(r.error().message);
        inst.status.warnings << inst.input->initWarnings();
    }
    if (inst.output) {
        if (Result<> r = runInit(inst.output); !r)
            return failWith(r.error().message);
        // Input and output instances parse the same metadata: say each warning once.
        for (const QString &w : inst.output->initWarnings()) {
            if (!inst.status.warnings.contains(w))
                inst.status.warnings << w;
        }
        inst.status.operations = inst.output->operations();
    }
    for (const QString &w : std::as_const(inst.status.warnings))
        log(2, QStringLiteral("%1: %2").arg(spec.logName(), w));
    inst.status.input = inst.input != nullptr;
    inst.status.output = inst.output != nullptr;
    inst.status.state = ComponentState::Loaded;
    if (inst.input) {
        const QString route = spec.exactProperty(QStringLiteral("route"));
        inst.status.route = AppChannel::cleanRoute(route.isEmpty() ? spec.name : route);
    }
    log(1, QStringLiteral("component loaded: %1 [%2]")
               .arg(spec.logName(), QStringList{inst.input ? QStringLiteral("input") : QString(),
                                                inst.output ? QStringLiteral("output") : QString()}
                                        .filter(QStringLiteral("put"))
                                        .join(QStringLiteral(", "))));
    return true;
}

void Runtime::probeAndRead(const QString &name)
{
    Instance *inst = find(name);
    if (!inst || !inst->input || inst->reader || !readingAllowed())
        return;
    // `direction: input` skips the probe (reference §2.2).
    const QString direction = inst->spec.property(QStringLiteral("direction"));
    bool explicitInput = false;
    for (const QString &p : direction.split(u',')) {
        if (p.trimmed().toLower() == QStringLiteral("input"))
            explicitInput = true;
    }
    if (explicitInput) {
        inst->status.subscription = QStringLiteral("reading (probe skipped: direction input)");
        startInput(*inst);
        return;
    }
    inst->status.subscription = m_channel->protocol() == QStringLiteral("http")
                                    ? QStringLiteral("probing OPTIONS %1").arg(inst->status.route)
                                    : QStringLiteral("asking the app for its input bindings");
    const std::shared_ptr<AppChannel> channel = m_channel;
    const QString route = inst->status.route;
    const quint64 generation = inst->generation;
    const int timeout = m_options.probeTimeoutMs;
    TrafficStream *traffic = &m_traffic;
    const QString type = inst->spec.type;
    QPointer<Runtime> self(this);
    m_probePool.start([=]() {
        const qint64 started = nowUs();
        const ProbeResult r = channel->probe(name, route, timeout);
        TrafficRecord rec;
        rec.id = traffic->nextId();
        rec.kind = TrafficRecord::Kind::Probe;
        rec.startedUs = started;
        rec.latencyUs = r.latencyUs;
        rec.binding = name;
        rec.bindingType = type;
        rec.operation = r.method;
        rec.route = channel->protocol() == QStringLiteral("http") ? route : r.method;
        rec.status = r.status;
        rec.ok = r.subscribed();
        rec.error = r.error;
        traffic->push(std::move(rec));
        QMetaObject::invokeMethod(
            self,
            [self, name, generation, r]() {
                if (self)
                    self->onProbeResult(name, generation, r);
            },
            Qt::QueuedConnection);
    });
    publishStatus();
}

void Runtime::onProbeResult(const QString &name, quint64 generation, const ProbeResult &result)
{
    Instance *inst = find(name);
    if (!inst || inst->generation != generation || !inst->input || inst->reader
        || !readingAllowed())
        return; // e.g. the app turned unhealthy while the probe ran
    const QString &error = result.error;
    if (!error.isEmpty()) {
        // daprd gives up here until the app restarts; we retry so the binding recovers on its own.
        inst->status.subscription = QStringLiteral("probe failed, retrying: ") + error;
        log(2, QStringLiteral("%1: %2; retrying in 1 s").arg(inst->spec.logName(), error));
        QTimer::singleShot(1000, this, [this, name, generation]() {
            Instance *again = find(name);
            if (again && again->generation == generation)
                probeAndRead(name);
        });
        publishStatus();
        return;
    }
    if (result.subscribed()) {
        inst->status.subscription = QStringLiteral("reading (%1)").arg(result.summary);
        startInput(*inst);
    } else {
        inst->status.subscription = QStringLiteral("not subscribed (%1)").arg(result.summary);
        log(1, QStringLiteral("app has not subscribed to binding %1.").arg(name));
    }
    publishStatus();
}

void Runtime::startInput(Instance &inst)
{
    const std::shared_ptr<AppChannel> channel = m_channel;
    const std::shared_ptr<InputBinding> input = inst.input;
    const QString name = inst.spec.name;
    const QString type = inst.spec.type;
    const QString route = inst.status.route;
    const QString target = channel->deliveryTarget(route);
    const int timeout = m_options.deliveryTimeoutMs;
    TrafficStream *traffic = &m_traffic;
    auto throttle = std::make_shared<LogThrottle>();
    auto skipThrottle = std::make_shared<LogThrottle>();
    const std::shared_ptr<AppGate> gate = m_gate;
    const EventHandler deliver = [=](const BindingEvent &original) -> AppReply {
        // Every delivery carries a traceparent (issue 9 item 10): the event's own when its
        // binding read a valid one (a Kafka record header), else a fresh trace for an event
        // that starts here (a cron tick, a record without one).
        const BindingEvent *traced = &original;
        BindingEvent withTrace;
        if (!hasValidTraceparent(original.metadata)) {
            withTrace = original;
            withTrace.metadata.removeIf([](const QPair<QString, QString> &kv) {
                return kv.first.compare(QStringLiteral("traceparent"), Qt::CaseInsensitive) == 0;
            });
            withTrace.metadata.append(
                {QStringLiteral("traceparent"), QString::fromLatin1(trace::newTraceparent())});
            traced = &withTrace;
        }
        const BindingEvent &event = *traced;
        if (!traffic->enabled()) { // nobody records traffic: the hot path builds no record
            AppReply reply = channel->deliver(name, route, event, timeout, nullptr);
            if (!reply.ok())
                logDeliveryFailure(*throttle, name, event, reply);
            return reply;
        }
        TrafficRecord rec;
        rec.binding = name;
        rec.bindingType = type;
        rec.route = target;
        AppReply reply = deliverRecorded(
            *channel, *traffic, std::move(rec), route, event, timeout, [&event](const AppReply &r) {
                return r.ok() ? QStringLiteral("acked") : failureOutcome(event, r);
            });
        if (!reply.ok())
            logDeliveryFailure(*throttle, name, event, reply);
        return reply;
    };
    // What every event passes first: a skip is only recorded; an unhealthy app gets nothing
    // (daprd: "app is not in a healthy state"); --app-max-concurrency holds it for a slot. A
    // delivery ends when its reader stops, as daprd cancels the Read context: an event without
    // a cancel token of its binding's own gets the reader's.
    auto readerStop = std::make_shared<std::stop_token>();
    EventHandler handler = [=](const BindingEvent &event) -> AppReply {
        if (!event.skipReason.isEmpty())
            return recordSkipped(*traffic, *skipThrottle, name, type, route, event);
        if (!gate->healthy.load(std::memory_order_relaxed))
            return AppReply{0, {}, QStringLiteral("app is not in a healthy state")};
        const bool ownCancel = event.cancel.stop_possible();
        BindingEvent withCancel;
        if (!ownCancel) {
            withCancel = event;
            withCancel.cancel = *readerStop;
        }
        const BindingEvent &e = ownCancel ? event : withCancel;
        if (!gate->acquire(e.cancel))
            return AppReply{0,
                            {},
                            QStringLiteral("delivery cancelled while waiting for a slot "
                                           "under --app-max-concurrency")};
        const std::unique_ptr<AppGate, void (*)(AppGate *)> slot(gate.get(),
                                                                 [](AppGate *g) { g->release(); });
        return deliver(e);
    };
    QPointer<Runtime> self(this);
    const quint64 generation = inst.generation;
    inst.reader = std::make_unique<std::jthread>([=](std::stop_token stop) {
        *readerStop = stop; // before read(): every delivery happens after this
        QString failure;
        try {
            Result<> r = input->read(handler, stop);
            if (!r)
                failure = r.error().message;
        } catch (const std::exception &e) {
            failure = QStringLiteral("reader crashed: ") + QString::fromUtf8(e.what());
        } catch (...) {
            failure = QStringLiteral("reader crashed with an unknown exception");
        }
        if (!failure.isEmpty() && !stop.stop_requested()) {
            QMetaObject::invokeMethod(
                self,
                [self, name, generation, failure]() {
                    if (!self)
                        return;
                    Instance *i = self->find(name);
                    if (!i || i->generation != generation)
                        return;
                    i->status.state = ComponentState::Failed;
                    i->status.error = QStringLiteral("read failed: ") + failure;
                    i->status.subscription = QStringLiteral("stopped");
                    self->log(3, QStringLiteral("input binding %1 stopped: %2").arg(name, failure));
                    self->publishStatus();
                },
                Qt::QueuedConnection);
        }
    });
    log(1, QStringLiteral("input binding %1 is reading; events go to %2%3")
               .arg(name, channel->address(), target));
}

ConnectionReporter Runtime::connectionReporter(const Instance &inst, bool input)
{
    QPointer<Runtime> self(this);
    TrafficStream *traffic = &m_traffic;
    const QString name = inst.spec.name;
    const QString type = inst.spec.type;
    const quint64 generation = inst.generation;
    return [=](const ConnectionReport &report) {
        // An attempt starting, and the stop at shutdown, are not news for the traffic.
        if (traffic->enabled() && report.state != ConnectionState::Connecting
            && report.state != ConnectionState::Stopped) {
            TrafficRecord rec;
            rec.id = traffic->nextId();
            rec.kind = TrafficRecord::Kind::Connection;
            rec.startedUs = nowUs();
            rec.binding = name;
            rec.bindingType = type;
            rec.operation = connectionStateName(report.state);
            rec.metadata = {{QStringLiteral("direction"),
                             input ? QStringLiteral("input") : QStringLiteral("output")}};
            rec.ok = report.state == ConnectionState::Connected;
            if (!rec.ok)
                rec.error = report.describe();
            traffic->push(std::move(rec));
        }
        QMetaObject::invokeMethod(
            self,
            [self, name, generation, input, report]() {
                if (self)
                    self->onConnectionReport(name, generation, input, report);
            },
            Qt::QueuedConnection);
    };
}

void Runtime::onConnectionReport(const QString &name, quint64 generation, bool input,
                                 const ConnectionReport &report)
{
    Instance *inst = find(name);
    if (!inst || inst->generation != generation)
        return; // a report from an instance that has since been stopped or replaced
    (input ? inst->inputConnection : inst->outputConnection) = report;
    const QString direction = input ? QStringLiteral("input") : QStringLiteral("output");
    const int level
        = report.state == ConnectionState::Reconnecting || report.state == ConnectionState::Failed
              ? 2
          : report.state == ConnectionState::Connected ? 1
                                                       : 0;
    log(level, QStringLiteral("%1 %2: %3").arg(inst->spec.logName(), direction, report.describe()));

    const std::optional<ConnectionReport> &in = inst->inputConnection;
    const std::optional<ConnectionReport> &out = inst->outputConnection;
    if (in && out && in->describe() != out->describe()) {
        inst->status.connection
            = QStringLiteral("input: %1; output: %2").arg(in->describe(), out->describe());
    } else {
        inst->status.connection = (in ? in : out)->describe();
    }
    ConnectionState worst = (in ? in : out)->state;
    if (in && out && connectionRank(out->state) > connectionRank(in->state))
        worst = out->state;
    inst->status.connectionState = connectionStateName(worst);
    publishStatus();
}

void Runtime::reloadFile(const QString &path)
{
    Q_ASSERT(QThread::currentThread() == thread());
    const QString canonical = QFileInfo(path).canonicalFilePath();
    auto sameFile = [&](const QString &f) {
        return f == path || (!canonical.isEmpty() && QFileInfo(f).canonicalFilePath() == canonical);
    };
    // The file's components answer 503 (not "couldn't find") while they are re-initialised.
    for (const auto &inst : m_instances) {
        if (sameFile(inst->spec.location.file))
            m_reinitialising.insert(inst->spec.name);
    }
    for (auto it = m_instances.begin(); it != m_instances.end();) {
        if (sameFile((*it)->spec.location.file)) {
            (*it)->status.state = ComponentState::Pending;
            publishOutputs();
            stopInstance(**it);
            it = m_instances.erase(it);
        } else {
            ++it;
        }
    }
    LoadResult loaded;
    QFile f(path);
    if (f.exists()) {
        if (!f.open(QIODevice::ReadOnly)) {
            log(3, QStringLiteral("%1: cannot read: %2").arg(path, f.errorString()));
            m_reinitialising.clear();
            publishStatus();
            return;
        }
        LoaderOptions lo;
        lo.appId = m_options.appId;
        QString shown = path;
        // Keep the file name the way loadPaths shows it, so diagnostics match the tree.
        loaded = ComponentLoader::parseText(f.readAll(), shown, lo);
    }
    QList<ComponentSpec> fresh;
    for (const ComponentSpec &c : std::as_const(loaded.components)) {
        if (find(c.name)) {
            Diagnostic d;
            d.location = c.location;
            d.component = c.name;
            d.message
                = QStringLiteral(
                      "duplicate definition of Component name %1 (another file already defines it)")
                      .arg(c.name);
            loaded.diagnostics << d;
            continue;
        }
        fresh << c;
    }
    log(1, QStringLiteral("reloading %1: %2 component(s)").arg(path).arg(fresh.size()));
    // Secret stores from other files are needed to resolve refs in this one.
    QList<ComponentSpec> withStores = fresh;
    for (const auto &inst : m_instances) {
        if (inst->spec.isSecretStore())
            withStores.prepend(inst->spec);
    }
    Diagnostics diags = loaded.diagnostics;
    SecretStores stores;
    diags << resolveSecrets(withStores, &stores);
    {
        std::lock_guard lock(m_snapshotMutex);
        m_secretStores = stores;
    }
    QList<ComponentSpec> resolved;
    for (const ComponentSpec &c : std::as_const(withStores)) {
        for (const ComponentSpec &n : std::as_const(fresh)) {
            if (n.name == c.name && n.location.file == c.location.file)
                resolved << c;
        }
    }
    loadSpecs(resolved, diags);
    m_reinitialising.clear();
    publishStatus();
}

void Runtime::reloadAll()
{
    const bool wasRunning = state() == RuntimeState::Running;
    stop();
    if (wasRunning)
        start();
}

void Runtime::setComponentEnabled(const QString &name, bool enabled)
{
    if (enabled)
        m_disabled.remove(name);
    else
        m_disabled.insert(name);
    Instance *inst = find(name);
    if (!inst)
        return;
    // A copy: reloadFile() destroys the instance that owns the path.
    const QString file = inst->spec.location.file;
    reloadFile(file);
}

Runtime::Instance *Runtime::find(const QString &name) const
{
    for (const auto &inst : m_instances) {
        if (inst->spec.name == name)
            return inst.get();
    }
    return nullptr;
}

void Runtime::publishStatus()
{
    QList<ComponentStatus> snapshot;
    for (const auto &inst : m_instances) {
        ComponentStatus s = inst->status;
        s.input = inst->input != nullptr;
        s.output = inst->output != nullptr;
        snapshot << s;
    }
    {
        std::lock_guard lock(m_snapshotMutex);
        m_snapshot = snapshot;
    }
    publishOutputs();
    Q_EMIT componentsChanged();
}

QList<ComponentStatus> Runtime::components() const
{
    std::lock_guard lock(m_snapshotMutex);
    return m_snapshot;
}

RuntimeState Runtime::state() const
{
    std::lock_guard lock(m_snapshotMutex);
    return m_state;
}

QString Runtime::lastError() const
{
    std::lock_guard lock(m_snapshotMutex);
    return m_lastError;
}

bool Runtime::appReady() const
{
    std::lock_guard lock(m_snapshotMutex);
    return m_appReady;
}

bool Runtime::appHealthy() const
{
    std::lock_guard lock(m_snapshotMutex);
    return m_appHealthy;
}

OutputEntry Runtime::output(const QString &name) const
{
    std::shared_lock lock(m_outputsMutex);
    return m_outputs.value(name);
}

QMap<QString, QString> Runtime::extendedMetadata() const
{
    std::lock_guard lock(m_snapshotMutex);
    return m_extended;
}

void Runtime::setExtendedMetadata(const QString &key, const QString &value)
{
    std::lock_guard lock(m_snapshotMutex);
    m_extended.insert(key, value);
}

std::shared_ptr<AppChannel> Runtime::appChannel() const
{
    std::lock_guard lock(m_snapshotMutex);
    return m_channel;
}

SecretStores Runtime::secretStores() const
{
    std::lock_guard lock(m_snapshotMutex);
    return m_secretStores;
}

void Runtime::publishOutputs()
{
    QHash<QString, OutputEntry> outputs;
    for (const auto &inst : m_instances) {
        if (inst->output && inst->status.state == ComponentState::Loaded)
            outputs.insert(inst->spec.name,
                           {inst->output, inst->spec.type, inst->status.operations});
    }
    // A component whose file is being reloaded answers 503 until its new instance is ready.
    for (const QString &name : std::as_const(m_reinitialising)) {
        if (!outputs.contains(name))
            outputs.insert(name, {});
    }
    std::unique_lock lock(m_outputsMutex);
    m_outputs = std::move(outputs);
}

} // namespace bindery::core
