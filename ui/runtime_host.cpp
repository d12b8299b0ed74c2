// SPDX-License-Identifier: Apache-2.0
#include "ui/runtime_host.h"

#include <QPointer>
#include <QThread>
#include <QThreadPool>

#include "core/app_channel.h"
#include "core/binding_registry.h"

namespace bindery::ui {

RuntimeHost::RuntimeHost(const core::BindingRegistry &registry, QObject *parent)
    : QObject(parent)
    , m_registry(registry)
    , m_traffic(400000)
{
    // The console shows deliveries in flight: the runtime announces each before the app answers.
    m_traffic.setStartRecords(true);
    qRegisterMetaType<bindery::core::RuntimeState>();
    qRegisterMetaType<bindery::core::ComponentStatus>();
}

RuntimeHost::~RuntimeHost()
{
    if (m_app)
        QMetaObject::invokeMethod(m_app, "abortPending", Qt::BlockingQueuedConnection);
    if (m_sidecar)
        m_sidecar->disconnect(this);
    m_sidecar.reset(); // the one place that waits: the Sidecar's destructor stops it, bounded
    stopAppServer();
}

void RuntimeHost::startAppServer()
{
    // A port asked for in the settings that differs from the one bound: listen anew (the setting
    // used to be ignored until the console restarted).
    if (m_app && m_settings.builtinAppPort != 0 && m_settings.builtinAppPort != m_appPort)
        stopAppServer();
    if (m_app)
        return;
    m_appThread = new QThread(this);
    m_appThread->setObjectName(QStringLiteral("bindery-app"));
    m_app = new AppServer;
    m_app->moveToThread(m_appThread);
    m_appThread->start();
    quint16 port = 0;
    QMetaObject::invokeMethod(m_app, "listenOn", Qt::BlockingQueuedConnection,
                              Q_RETURN_ARG(quint16, port),
                              Q_ARG(quint16, static_cast<quint16>(m_settings.builtinAppPort)));
    if (port == 0 && m_settings.builtinAppPort != 0) {
        Q_EMIT logMessage(2, QStringLiteral("built-in app: port %1 is in use; using a free port")
                                 .arg(m_settings.builtinAppPort));
        QMetaObject::invokeMethod(m_app, "listenOn", Qt::BlockingQueuedConnection,
                                  Q_RETURN_ARG(quint16, port), Q_ARG(quint16, quint16(0)));
    }
    m_appPort = port;
    Q_EMIT logMessage(1, QStringLiteral("built-in app listening on 127.0.0.1:%1").arg(port));
}

void RuntimeHost::stopAppServer()
{
    if (!m_app)
        return;
    QMetaObject::invokeMethod(m_app, "closeAll", Qt::BlockingQueuedConnection);
    // Deleted on its own thread as the thread finishes (its sockets belong to that thread).
    connect(m_appThread, &QThread::finished, m_app, &QObject::deleteLater);
    m_appThread->quit();
    m_appThread->wait();
    m_app = nullptr;
    delete m_appThread;
    m_appThread = nullptr;
    m_appPort = 0;
}

void RuntimeHost::start()
{
    // A sidecar whose start failed lingers until its queued teardown: start anew at once rather
    // than ignore the request (the notice bar's "Use a free port" comes right after a failure).
    if (m_sidecar && !m_sidecar->isActive()) {
        m_sidecar->disconnect(this);
        m_sidecar.reset();
    }
    if (m_sidecar && m_sidecar->state() == core::RuntimeState::Stopping) {
        m_startWhenStopped = true;
        return;
    }
    if (m_sidecar)
        return;
    startNow();
}

void RuntimeHost::startNow()
{
    m_startWhenStopped = false;
    m_lastError.clear();
    core::RuntimeOptions options;
    options.appId = QStringLiteral("bindery-console");
    options.httpPort = m_settings.apiPort;
    options.grpcPort = m_settings.grpcApiPort;
    options.failFast = false; // the console shows failed components instead of exiting
    options.deliveryTimeoutMs = m_settings.deliveryTimeoutMs;
    options.probeTimeoutMs = 3000;
    if (!m_settings.resourcesPath.isEmpty())
        options.resourcesPaths = {m_settings.resourcesPath};
    if (m_settings.builtinApp) {
        startAppServer();
        options.appPort = m_appPort;
    } else {
        stopAppServer();
        options.appPort = m_settings.externalAppPort;
        options.appProtocol = m_settings.externalAppProtocol;
    }
    m_sidecar = std::make_unique<core::Sidecar>(options, m_registry, m_traffic);
    connect(m_sidecar.get(), &core::Sidecar::stateChanged, this, &RuntimeHost::stateChanged);
    connect(m_sidecar.get(), &core::Sidecar::componentsChanged, this,
            &RuntimeHost::componentsChanged);
    connect(m_sidecar.get(), &core::Sidecar::logMessage, this, &RuntimeHost::logMessage);
    connect(m_sidecar.get(), &core::Sidecar::started, this, [this](bool ok, const QString &error) {
        if (!ok) {
            // e.g. the API port was taken: keep the reason, drop the sidecar, allow a new start.
            m_lastError = error;
            QMetaObject::invokeMethod(this, &RuntimeHost::onSidecarStopped, Qt::QueuedConnection);
        }
    });
    connect(m_sidecar.get(), &core::Sidecar::stopped, this, &RuntimeHost::onSidecarStopped,
            Qt::QueuedConnection);
    m_sidecar->start();
    Q_EMIT stateChanged(core::RuntimeState::Starting);
}

void RuntimeHost::stop()
{
    m_startWhenStopped = false;
    if (!m_sidecar || m_sidecar->state() == core::RuntimeState::Stopping)
        return;
    if (!m_sidecar->isActive()) { // a failed start: nothing runs, finish the teardown now
        onSidecarStopped();
        return;
    }
    // A delivery parked by a "delay" or "never answer" rule would hold a reader thread; drop it
    // first so the runtime's stop joins promptly.
    if (m_app)
        QMetaObject::invokeMethod(m_app, "abortPending", Qt::BlockingQueuedConnection);
    m_sidecar->stop();
    Q_EMIT stateChanged(core::RuntimeState::Stopping);
    Q_EMIT componentsChanged();
}

void RuntimeHost::onSidecarStopped()
{
    if (!m_sidecar || m_sidecar->isActive())
        return;
    m_sidecar.reset();
    const bool failed = !m_lastError.isEmpty();
    Q_EMIT stateChanged(failed ? core::RuntimeState::Failed : core::RuntimeState::Stopped);
    Q_EMIT componentsChanged();
    Q_EMIT stopped();
    if (m_startWhenStopped)
        startNow();
}

void RuntimeHost::restart()
{
    stop();
    if (m_sidecar)
        m_startWhenStopped = true;
    else
        startNow();
}

void RuntimeHost::reloadFile(const QString &path)
{
    if (!m_sidecar)
        return;
    QPointer<RuntimeHost> self(this);
    m_sidecar->reloadFile(path, [self, path]() {
        if (self)
            Q_EMIT self->fileReloaded(path);
    });
}

void RuntimeHost::setComponentEnabled(const QString &name, bool enabled)
{
    if (m_sidecar)
        m_sidecar->setComponentEnabled(name, enabled);
}

bool RuntimeHost::redeliver(const core::TrafficRecord &original, QString *error)
{
    std::shared_ptr<core::AppChannel> channel
        = m_sidecar && m_sidecar->runtime() ? m_sidecar->runtime()->appChannel() : nullptr;
    if (!channel || !isRunning()) {
        if (error)
            *error = tr("The runtime is not running, or has no app to deliver to.");
        return false;
    }
    if (original.kind != core::TrafficRecord::Kind::Input) {
        if (error)
            *error = tr("Only input events can be re-delivered.");
        return false;
    }
    core::BindingEvent event;
    event.data = original.payload;
    event.metadata = original.metadata;
    // Marked as a replay for the app, which sees it as a header.
    event.metadata.append({QStringLiteral("bindery-replay-of"), QString::number(original.id)});
    event.eventKey = original.eventKey;
    event.attempt = 1;
    const int timeout = m_settings.deliveryTimeoutMs;
    core::TrafficStream *traffic = &m_traffic;
    core::TrafficRecord rec;
    rec.binding = original.binding;
    rec.bindingType = original.bindingType;
    rec.route = original.route;
    rec.replayOf = original.id;
    // The app channel blocks until the app answered: never on the UI thread.
    QThreadPool::globalInstance()->start([channel, event, timeout, traffic, rec]() {
        core::deliverRecorded(
            *channel, *traffic, rec, rec.route, event, timeout, [](const core::AppReply &reply) {
                return reply.ok() ? QStringLiteral("replayed") : QStringLiteral("replay failed");
            });
    });
    return true;
}

bool RuntimeHost::isRunning() const
{
    return m_sidecar && m_sidecar->state() == core::RuntimeState::Running;
}

bool RuntimeHost::isActive() const
{
    return m_sidecar != nullptr;
}

core::RuntimeState RuntimeHost::state() const
{
    if (m_sidecar)
        return m_sidecar->state();
    return m_lastError.isEmpty() ? core::RuntimeState::Stopped : core::RuntimeState::Failed;
}

QString RuntimeHost::lastError() const
{
    return m_sidecar ? m_sidecar->lastError() : m_lastError;
}

quint16 RuntimeHost::apiPort() const
{
    return m_sidecar ? m_sidecar->httpPort() : 0;
}

quint16 RuntimeHost::grpcPort() const
{
    return m_sidecar ? m_sidecar->grpcPort() : 0;
}

quint16 RuntimeHost::appPort() const
{
    return m_settings.builtinApp ? m_appPort : static_cast<quint16>(m_settings.externalAppPort);
}

QString RuntimeHost::apiAddress() const
{
    return m_sidecar ? m_sidecar->apiAddress() : QString();
}

QList<core::ComponentStatus> RuntimeHost::components() const
{
    return m_sidecar ? m_sidecar->components() : QList<core::ComponentStatus>();
}

} // namespace bindery::ui
