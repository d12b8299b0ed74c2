// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <memory>

#include <QList>
#include <QObject>
#include <QString>

#include "core/runtime.h"
#include "core/runtime_options.h"
#include "core/traffic.h"

class QThread;

namespace bindery::core {

class BindingRegistry;
class GrpcApi;
class HttpApi;
namespace api {
class BindingService;
}

/**
 * @brief The composition of a Dapr-compatible sidecar: the Runtime on its own thread, the
 * transport-free BindingService over it, and the API transports on a thread of their own. binderyd
 * and the console both build one; the runtime itself knows no transport.
 *
 * Threads: "bindery-runtime" (component lifecycle, init, reader joins, probes' results) and
 * "bindery-api" (the HTTP API; a slow binding never holds it, and runtime work never blocks it).
 * The gRPC API (RuntimeOptions::grpcPort >= 0) answers on gRPC's own threads and is started and
 * stopped from "bindery-api", right after the HTTP API. With --app-protocol grpc the runtime gets
 * the gRPC app channel from here (core/grpc, outside the runtime's library).
 *
 * The Sidecar object lives on the caller's thread (binderyd's main thread, the console's UI
 * thread). start() and stop() are asynchronous and never block that thread: they report through
 * started() and stopped(). startAndWait()/stopAndWait() block, for binderyd and tests. The getters
 * are thread-safe snapshots. The TrafficStream and the registry must outlive the Sidecar.
 */
class Sidecar final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(Sidecar)

public:
    Sidecar(RuntimeOptions options, const BindingRegistry &registry, TrafficStream &traffic,
            QObject *parent = nullptr);
    /// Stops (blocking, bounded by the bindings' own bounds) if still running.
    ~Sidecar() override;

    /// Loads the components, starts the API, then connects the app. Emits started().
    void start();
    /// Stops the API and the runtime. Emits stopped(). Safe to call in any state.
    void stop();
    /// start() and wait; false with lastError() on failure.
    bool startAndWait();
    /// stop() and wait.
    void stopAndWait();

    /// Queued Runtime::reloadFile; `done` runs on the Sidecar's thread afterwards (may be empty).
    void reloadFile(const QString &path, std::function<void()> done = {});
    /// Queued Runtime::setComponentEnabled.
    void setComponentEnabled(const QString &name, bool enabled);

    RuntimeState state() const;
    bool isActive() const; ///< starting, running or stopping
    QString lastError() const;
    quint16 httpPort() const; ///< the bound API port, 0 when not listening (or on a Unix socket)
    /// The API's Unix socket (--unix-domain-socket), empty when it listens on TCP.
    QString apiSocketPath() const;
    quint16 grpcPort() const; ///< the bound gRPC API port, 0 when not listening
    QString apiAddress() const;
    QList<ComponentStatus> components() const;
    const RuntimeOptions &options() const { return m_options; }
    /// Valid between start() and stopped(); thread-safe.
    api::BindingService *service() const { return m_service.get(); }
    Runtime *runtime() const { return m_runtime; }

Q_SIGNALS:
    void started(bool ok, const QString &error);
    void stopped();
    void stateChanged(bindery::core::RuntimeState state);
    void componentsChanged();
    void logMessage(int level, const QString &text);

private:
    void teardown();
    void finishStart(bool ok, const QString &error, quint16 port, quint16 grpcPort);

    RuntimeOptions m_options;
    const BindingRegistry &m_registry;
    TrafficStream &m_traffic;
    QThread *m_runtimeThread = nullptr;
    QThread *m_apiThread = nullptr;
    Runtime *m_runtime = nullptr;
    HttpApi *m_http = nullptr;
    GrpcApi *m_grpc = nullptr; ///< null without a gRPC API (grpcPort < 0, or not built)
    std::unique_ptr<api::BindingService> m_service;
    bool m_stopping = false;
    bool m_starting = false;

    mutable std::mutex m_mutex;
    quint16 m_httpPort = 0;
    QString m_apiSocket;
    quint16 m_grpcPort = 0;
    QString m_lastError;
};

} // namespace bindery::core
