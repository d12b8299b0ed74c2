// SPDX-License-Identifier: Apache-2.0
#include "core/runtime.h"

#include <atomic>
#include <chrono>
#include <future>

#include <QFileInfo>
#include <QLoggingCategory>
#include <QPointer>
#include <QTcpSocket>
#include <QThread>
#include <QTimer>

#include "core/component_loader.h"
#include "core/http_app_channel.h"
#include "core/secret_store.h"

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
    }
    return {};
}

struct Runtime::Instance
{
    ComponentSpec spec;
    std::shared_ptr<InputBinding> input;
    std::shared_ptr<OutputBinding> output;
    std::unique_ptr<std::jthread> reader;
    ComponentStatus status;
    quint64 generation = 0;
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
        if (!m_last.compare_exchange_strong(last, now))
            return false;
        *suppressed = m_suppressed.exchange(0);
        return true;
    }

private:
    std::atomic<qint64> m_last{0};
    std::atomic<int> m_suppressed{0};
};

void logDeliveryFailure(LogThrottle &throttle, const QString &name, const BindingEvent &event,
                        const AppReply &reply)
{
    int suppressed = 0;
    if (throttle.allow(&suppressed)) {
        qCWarning(lcRuntime).noquote()
            << QStringLiteral("error delivering event of binding %1 to the app (%2): %3%4")
                   .arg(name, failurePolicyName(event.onFailure), reply.error,
                        suppressed ? QStringLiteral(" (+%1 similar)").arg(suppressed) : QString());
    }
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
    // Probes block a thread for up to --app-binding-options-timeout each: a pool of our own keeps
    // them off the global pool that Qt and the console share.
    m_probePool.setMaxThreadCount(4);
    m_probePool.setObjectName(QStringLiteral("bindery-probes"));
}

Runtime::~Runtime()
{
    stop();
}

void Runtime::log(int level, const QString &text)
{
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
    diagnostics << resolveSecrets(loaded.components);
    loadSpecs(loaded.components, diagnostics);
    if (m_options.failFast) {
        for (const auto &inst : m_instances) {
            if (inst->status.state == ComponentState::Failed && !inst->spec.ignoreErrors) {
                const QString message
                    = QStringLiteral("process component %1 error: [INIT_COMPONENT_FAILURE]: "
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
        auto channel = std::make_shared<HttpAppChannel>(m_options.appChannelAddress,
                                                        m_options.appPort, m_options.appApiToken);
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
    for (auto &inst : m_instances) {
        if (inst->input && !inst->reader)
            probeAndRead(inst->spec.name);
    }
    publishStatus();
}

void Runtime::stop()
{
    const bool wasActive = state() != RuntimeState::Stopped && state() != RuntimeState::Failed;
    if (wasActive)
        setState(RuntimeState::Stopping);
    delete m_appPoll;
    m_appPoll = nullptr;
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
        m_snapshot.clear();
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
    if (!inst || !inst->input || inst->reader || !m_channel)
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
    inst->status.subscription = QStringLiteral("probing OPTIONS %1").arg(inst->status.route);
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
        rec.operation = QStringLiteral("OPTIONS");
        rec.route = route;
        rec.status = r.status;
        rec.ok = r.subscribed();
        rec.error = r.error;
        traffic->push(std::move(rec));
        QMetaObject::invokeMethod(
            self,
            [self, name, generation, r]() {
                if (self)
                    self->onProbeResult(name, generation, r.status, r.error);
            },
            Qt::QueuedConnection);
    });
    publishStatus();
}

void Runtime::onProbeResult(const QString &name, quint64 generation, int status,
                            const QString &error)
{
    Instance *inst = find(name);
    if (!inst || inst->generation != generation || !inst->input || inst->reader)
        return;
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
    if ((status >= 200 && status < 300) || status == 405) {
        inst->status.subscription = QStringLiteral("reading (OPTIONS %1 answered %2)")
                                        .arg(inst->status.route)
                                        .arg(status);
        startInput(*inst);
    } else {
        inst->status.subscription = QStringLiteral("not subscribed (OPTIONS %1 answered %2)")
                                        .arg(inst->status.route)
                                        .arg(status);
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
    const int timeout = m_options.deliveryTimeoutMs;
    TrafficStream *traffic = &m_traffic;
    auto throttle = std::make_shared<LogThrottle>();
    EventHandler handler = [=](const BindingEvent &event) -> AppReply {
        if (!traffic->enabled()) { // nobody records traffic: the hot path builds no record
            AppReply reply = channel->deliver(route, event, timeout, nullptr);
            if (!reply.ok())
                logDeliveryFailure(*throttle, name, event, reply);
            return reply;
        }
        TrafficRecord rec;
        rec.binding = name;
        rec.bindingType = type;
        rec.route = route;
        AppReply reply = deliverRecorded(
            *channel, *traffic, std::move(rec), event, timeout, [&event](const AppReply &r) {
                return r.ok() ? QStringLiteral("acked") : failurePolicyName(event.onFailure);
            });
        if (!reply.ok())
            logDeliveryFailure(*throttle, name, event, reply);
        return reply;
    };
    QPointer<Runtime> self(this);
    const quint64 generation = inst.generation;
    inst.reader = std::make_unique<std::jthread>([=](std::stop_token stop) {
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
               .arg(name, channel->address(), route));
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
    diags << resolveSecrets(withStores);
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
