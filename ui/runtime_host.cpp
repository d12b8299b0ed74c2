// SPDX-License-Identifier: Apache-2.0
#include "ui/runtime_host.h"

#include <QThread>

#include "core/binding_registry.h"

namespace bindery::ui {

RuntimeHost::RuntimeHost(const core::BindingRegistry &registry, QObject *parent)
    : QObject(parent)
    , m_registry(registry)
    , m_traffic(400000)
{
    qRegisterMetaType<bindery::core::RuntimeState>();
    qRegisterMetaType<bindery::core::ComponentStatus>();
}

RuntimeHost::~RuntimeHost()
{
    stop();
    stopAppServer();
}

void RuntimeHost::startAppServer()
{
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
    if (m_runtime && m_runtime->state() == core::RuntimeState::Failed)
        stop(); // e.g. the API port was taken: tear down and try again with the current settings
    if (m_runtime)
        return;
    core::RuntimeOptions options;
    options.appId = QStringLiteral("bindery-console");
    options.httpPort = m_settings.apiPort;
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
    }

    m_thread = new QThread(this);
    m_thread->setObjectName(QStringLiteral("bindery-runtime"));
    m_runtime = new core::Runtime(options, m_registry, m_traffic);
    m_runtime->moveToThread(m_thread);
    connect(m_runtime, &core::Runtime::stateChanged, this, &RuntimeHost::stateChanged,
            Qt::QueuedConnection);
    connect(m_runtime, &core::Runtime::componentsChanged, this, &RuntimeHost::componentsChanged,
            Qt::QueuedConnection);
    connect(m_runtime, &core::Runtime::logMessage, this, &RuntimeHost::logMessage,
            Qt::QueuedConnection);
    m_thread->start();
    QMetaObject::invokeMethod(m_runtime, "start", Qt::QueuedConnection);
}

void RuntimeHost::stop()
{
    if (!m_runtime)
        return;
    // A delivery parked by a "delay" or "never answer" rule would hold a reader thread; drop it
    // first so the runtime's stop joins promptly.
    if (m_app)
        QMetaObject::invokeMethod(m_app, "abortPending", Qt::BlockingQueuedConnection);
    QMetaObject::invokeMethod(m_runtime, "stop", Qt::BlockingQueuedConnection);
    connect(m_thread, &QThread::finished, m_runtime, &QObject::deleteLater);
    m_thread->quit();
    m_thread->wait(); // the runtime is deleted on its thread as it finishes
    m_runtime = nullptr;
    delete m_thread;
    m_thread = nullptr;
    Q_EMIT stateChanged(core::RuntimeState::Stopped);
    Q_EMIT componentsChanged();
}

void RuntimeHost::restart()
{
    stop();
    start();
}

void RuntimeHost::reloadFile(const QString &path)
{
    if (!m_runtime)
        return;
    QPointer<RuntimeHost> self(this);
    QMetaObject::invokeMethod(
        m_runtime,
        [rt = m_runtime, path, self]() {
            rt->reloadFile(path);
            QMetaObject::invokeMethod(
                self,
                [self, path]() {
                    if (self)
                        Q_EMIT self->fileReloaded(path);
                },
                Qt::QueuedConnection);
        },
        Qt::QueuedConnection);
}

void RuntimeHost::setComponentEnabled(const QString &name, bool enabled)
{
    if (!m_runtime)
        return;
    QMetaObject::invokeMethod(
        m_runtime, [rt = m_runtime, name, enabled]() { rt->setComponentEnabled(name, enabled); },
        Qt::QueuedConnection);
}

bool RuntimeHost::isRunning() const
{
    return m_runtime && m_runtime->state() == core::RuntimeState::Running;
}

core::RuntimeState RuntimeHost::state() const
{
    return m_runtime ? m_runtime->state() : core::RuntimeState::Stopped;
}

QString RuntimeHost::lastError() const
{
    return m_runtime ? m_runtime->lastError() : QString();
}

quint16 RuntimeHost::apiPort() const
{
    return m_runtime ? m_runtime->httpPort() : 0;
}

quint16 RuntimeHost::appPort() const
{
    return m_settings.builtinApp ? m_appPort : static_cast<quint16>(m_settings.externalAppPort);
}

QString RuntimeHost::apiAddress() const
{
    return m_runtime ? m_runtime->apiAddress() : QString();
}

QList<core::ComponentStatus> RuntimeHost::components() const
{
    return m_runtime ? m_runtime->components() : QList<core::ComponentStatus>();
}

} // namespace bindery::ui
