// SPDX-License-Identifier: Apache-2.0
#include "core/host/sidecar.h"

#include <QEventLoop>
#include <QPointer>
#include <QThread>
#include <QTimer>

#include "core/api/binding_service.h"
#include "core/http/http_api.h"
#ifdef BINDERY_WITH_GRPC_API
#include "core/grpc/grpc_api.h"
#include "core/grpc/grpc_app_channel.h"
#endif

namespace bindery::core {

namespace {

// Without gRPC in the build there is never a GrpcApi; these keep the call sites free of #ifdefs.
void shutdownGrpc(GrpcApi *grpc)
{
#ifdef BINDERY_WITH_GRPC_API
    if (grpc)
        grpc->shutdown();
#else
    Q_UNUSED(grpc);
#endif
}

void deleteGrpc(GrpcApi *grpc)
{
#ifdef BINDERY_WITH_GRPC_API
    delete grpc;
#else
    Q_UNUSED(grpc);
#endif
}

} // namespace

Sidecar::Sidecar(RuntimeOptions options, const BindingRegistry &registry, TrafficStream &traffic,
                 QObject *parent)
    : QObject(parent)
    , m_options(std::move(options))
    , m_registry(registry)
    , m_traffic(traffic)
{
    qRegisterMetaType<bindery::core::RuntimeState>();
    qRegisterMetaType<bindery::core::ComponentStatus>();
}

Sidecar::~Sidecar()
{
    blockSignals(true); // whoever listened may be half destroyed already
    stopAndWait();
}

void Sidecar::start()
{
    if (m_runtime)
        return;
    {
        std::lock_guard lock(m_mutex);
        m_lastError.clear();
        m_httpPort = 0;
        m_grpcPort = 0;
    }
    m_starting = true;
    // As Go's runtime (and so daprd) does at start: every idle keep-alive client costs a
    // descriptor, and the default soft limit of 1024 runs out long before the hard one.
    http::raiseFileDescriptorLimit();
    m_runtimeThread = new QThread(this);
    m_runtimeThread->setObjectName(QStringLiteral("bindery-runtime"));
    m_apiThread = new QThread(this);
    m_apiThread->setObjectName(QStringLiteral("bindery-api"));
    m_runtime = new Runtime(m_options, m_registry, m_traffic);
#ifdef BINDERY_WITH_GRPC_API
    m_runtime->setAppChannelFactory([](const RuntimeOptions &o) -> std::shared_ptr<AppChannel> {
        if (o.appProtocol == QStringLiteral("grpc"))
            return std::make_shared<GrpcAppChannel>(o.appChannelAddress, o.appPort, o.appApiToken);
        return nullptr;
    });
#endif
    m_runtime->moveToThread(m_runtimeThread);
    m_service = std::make_unique<api::BindingService>(*m_runtime);
    m_http = new HttpApi(*m_service, m_options);
    m_http->moveToThread(m_apiThread);
#ifdef BINDERY_WITH_GRPC_API
    if (m_options.grpcPort >= 0)
        m_grpc = new GrpcApi(*m_service, m_options);
#endif
    connect(m_runtime, &Runtime::stateChanged, this, &Sidecar::stateChanged, Qt::QueuedConnection);
    connect(m_runtime, &Runtime::componentsChanged, this, &Sidecar::componentsChanged,
            Qt::QueuedConnection);
    connect(m_runtime, &Runtime::logMessage, this, &Sidecar::logMessage, Qt::QueuedConnection);
    m_runtimeThread->start();
    m_apiThread->start();

    // daprd's order: components, then the API servers, then the app (reference §2.1, §6).
    QPointer<Sidecar> self(this);
    Runtime *runtime = m_runtime;
    HttpApi *http = m_http;
    GrpcApi *grpc = m_grpc;
    api::BindingService *service = m_service.get();
    const RuntimeOptions options = m_options;
    auto failed = [self](const QString &error) {
        QMetaObject::invokeMethod(self, [=]() {
            if (self)
                self->finishStart(false, error, 0, 0);
        });
    };
    QMetaObject::invokeMethod(runtime, [=]() {
        if (!runtime->loadComponents()) {
            failed(runtime->lastError());
            return;
        }
        QMetaObject::invokeMethod(http, [=]() {
            // daprd listens on its Unix socket instead of TCP when --unix-domain-socket is set.
            quint16 bound = 0;
            QString socketPath;
            QString error;
            if (!options.unixDomainSocket.isEmpty()) {
                const Result<QString> path = http->listenUnix(options.unixDomainSocket);
                if (path)
                    socketPath = *path;
                else
                    error = path.error().message;
            } else {
                const Result<quint16> port
                    = http->listen(options.listenAddresses, static_cast<quint16>(options.httpPort));
                if (port)
                    bound = *port;
                else
                    error = port.error().message;
            }
            if (!error.isEmpty()) {
                failed(error);
                return;
            }
            quint16 grpcBound = 0;
#ifdef BINDERY_WITH_GRPC_API
            if (grpc) {
                const Result<quint16> g
                    = grpc->listen(options.listenAddresses, static_cast<quint16>(options.grpcPort));
                if (g) {
                    grpcBound = *g;
                } else if (options.grpcPortIsDefault) {
                    // Not asked for: daprd's default port taken (another sidecar) leaves the
                    // HTTP API running, and says so; an explicit --dapr-grpc-port is fatal.
                    QMetaObject::invokeMethod(self, [=]() {
                        if (self)
                            Q_EMIT self->logMessage(
                                2, QStringLiteral("gRPC API not served: %1 (pass "
                                                  "--dapr-grpc-port to choose a free port)")
                                       .arg(g.error().message));
                    });
                } else {
                    failed(g.error().message);
                    return;
                }
            }
#else
            Q_UNUSED(grpc);
#endif
            service->setOutboundReady(true);
            QMetaObject::invokeMethod(runtime, [=]() {
                runtime->connectApp();
                QMetaObject::invokeMethod(self, [=]() {
                    if (self) {
                        {
                            std::lock_guard lock(self->m_mutex);
                            self->m_apiSocket = socketPath;
                        }
                        self->finishStart(true, {}, bound, grpcBound);
                    }
                });
            });
        });
    });
}

void Sidecar::finishStart(bool ok, const QString &error, quint16 port, quint16 grpcPort)
{
    m_starting = false;
    {
        std::lock_guard lock(m_mutex);
        m_httpPort = port;
        m_grpcPort = grpcPort;
        m_lastError = error;
    }
    if (ok && !apiSocketPath().isEmpty()) {
        Q_EMIT logMessage(
            1, QStringLiteral("HTTP API listening on unix socket %1").arg(apiSocketPath()));
    } else if (ok) {
        Q_EMIT logMessage(
            1, QStringLiteral("HTTP API listening on %1 (%2)")
                   .arg(apiAddress(), m_options.listenAddresses.join(QStringLiteral(", "))));
        if (grpcPort)
            Q_EMIT logMessage(1, QStringLiteral("gRPC API listening on port %1 (%2)")
                                     .arg(grpcPort)
                                     .arg(m_options.listenAddresses.join(QStringLiteral(", "))));
    } else {
        Q_EMIT logMessage(3, error);
        stopAndWait(); // only thread teardown is left: the runtime already cleaned up
        Q_EMIT stateChanged(RuntimeState::Failed);
    }
    Q_EMIT started(ok, error);
}

bool Sidecar::startAndWait()
{
    if (m_runtime)
        return state() == RuntimeState::Running;
    QEventLoop loop;
    bool ok = false;
    QMetaObject::Connection c = connect(this, &Sidecar::started, &loop, [&](bool success) {
        ok = success;
        loop.quit();
    });
    start();
    if (m_starting)
        loop.exec(QEventLoop::ExcludeUserInputEvents);
    disconnect(c);
    return ok;
}

void Sidecar::stop()
{
    if (!m_runtime || m_stopping) {
        if (!m_runtime)
            QTimer::singleShot(0, this, &Sidecar::stopped);
        return;
    }
    m_stopping = true;
    Q_EMIT stateChanged(RuntimeState::Stopping);
    QPointer<Sidecar> self(this);
    Runtime *runtime = m_runtime;
    HttpApi *http = m_http;
    GrpcApi *grpc = m_grpc;
    api::BindingService *service = m_service.get();
    // The API stops first (no new calls), then the runtime closes the bindings; neither blocks
    // this thread, however long a binding takes to close.
    QMetaObject::invokeMethod(http, [=]() {
        http->close();
        shutdownGrpc(grpc);
        service->setOutboundReady(false);
        QMetaObject::invokeMethod(runtime, [=]() {
            runtime->stop();
            QMetaObject::invokeMethod(self, [self]() {
                if (self && self->m_stopping) {
                    self->teardown();
                    Q_EMIT self->stopped();
                }
            });
        });
    });
}

void Sidecar::stopAndWait()
{
    if (!m_runtime)
        return;
    if (QThread::currentThread() != m_apiThread && m_apiThread->isRunning()) {
        QMetaObject::invokeMethod(
            m_http,
            [http = m_http, grpc = m_grpc, service = m_service.get()]() {
                http->close();
                shutdownGrpc(grpc);
                service->setOutboundReady(false);
            },
            Qt::BlockingQueuedConnection);
    }
    if (QThread::currentThread() != m_runtimeThread && m_runtimeThread->isRunning())
        QMetaObject::invokeMethod(m_runtime, &Runtime::stop, Qt::BlockingQueuedConnection);
    const bool wasStopping = m_stopping;
    m_stopping = true;
    teardown();
    if (wasStopping)
        Q_EMIT stopped();
}

void Sidecar::teardown()
{
    if (!m_runtime)
        return;
    {
        std::lock_guard lock(m_mutex);
        m_httpPort = 0;
        m_apiSocket.clear();
        m_grpcPort = 0;
    }
    // Each object is deleted on its own thread as that thread finishes (sockets, timers).
    connect(m_apiThread, &QThread::finished, m_http, &QObject::deleteLater);
    m_apiThread->quit();
    m_apiThread->wait();
    m_http = nullptr;
    // The runtime has stopped, so every gRPC call in flight has been answered: the gRPC API goes
    // before the service its calls use.
    deleteGrpc(m_grpc);
    m_grpc = nullptr;
    m_service.reset();
    const RuntimeState last = m_runtime->state();
    const QString error = m_runtime->lastError();
    connect(m_runtimeThread, &QThread::finished, m_runtime, &QObject::deleteLater);
    m_runtimeThread->quit();
    m_runtimeThread->wait();
    m_runtime = nullptr;
    delete m_apiThread;
    m_apiThread = nullptr;
    delete m_runtimeThread;
    m_runtimeThread = nullptr;
    m_stopping = false;
    {
        std::lock_guard lock(m_mutex);
        if (m_lastError.isEmpty() && last == RuntimeState::Failed)
            m_lastError = error;
    }
    Q_EMIT stateChanged(RuntimeState::Stopped);
    Q_EMIT componentsChanged();
}

void Sidecar::reloadFile(const QString &path, std::function<void()> done)
{
    if (!m_runtime)
        return;
    QPointer<Sidecar> self(this);
    QMetaObject::invokeMethod(m_runtime, [rt = m_runtime, path, self, done = std::move(done)]() {
        rt->reloadFile(path);
        if (done) {
            QMetaObject::invokeMethod(self, [self, done]() {
                if (self)
                    done();
            });
        }
    });
}

void Sidecar::setComponentEnabled(const QString &name, bool enabled)
{
    if (!m_runtime)
        return;
    QMetaObject::invokeMethod(
        m_runtime, [rt = m_runtime, name, enabled]() { rt->setComponentEnabled(name, enabled); });
}

RuntimeState Sidecar::state() const
{
    if (m_runtime) {
        if (m_stopping)
            return RuntimeState::Stopping;
        // Running only once the API is listening too (finishStart has run).
        return m_starting ? RuntimeState::Starting : m_runtime->state();
    }
    std::lock_guard lock(m_mutex);
    return m_lastError.isEmpty() ? RuntimeState::Stopped : RuntimeState::Failed;
}

bool Sidecar::isActive() const
{
    return m_runtime != nullptr;
}

QString Sidecar::lastError() const
{
    std::lock_guard lock(m_mutex);
    if (m_lastError.isEmpty() && m_runtime)
        return m_runtime->lastError();
    return m_lastError;
}

quint16 Sidecar::httpPort() const
{
    std::lock_guard lock(m_mutex);
    return m_httpPort;
}

QString Sidecar::apiSocketPath() const
{
    std::lock_guard lock(m_mutex);
    return m_apiSocket;
}

quint16 Sidecar::grpcPort() const
{
    std::lock_guard lock(m_mutex);
    return m_grpcPort;
}

QString Sidecar::apiAddress() const
{
    const quint16 port = httpPort();
    if (!port)
        return {};
    return QStringLiteral("http://%1:%2")
        .arg(m_options.listenAddresses.value(0), QString::number(port));
}

QList<ComponentStatus> Sidecar::components() const
{
    return m_runtime ? m_runtime->components() : QList<ComponentStatus>();
}

} // namespace bindery::core
