// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <QByteArray>
#include <QString>
#include <QStringList>

namespace bindery::core {

/** @brief Runtime settings; binderyd fills them from daprd's flags, the console from QSettings. */
struct RuntimeOptions
{
    QString appId = QStringLiteral("bindery");
    int appPort = 0; ///< 0 = no app channel: input bindings never start reading (as daprd)
    QString appChannelAddress = QStringLiteral("127.0.0.1");
    int httpPort = 3500; ///< 0 = pick a free port (tests)
    /// --dapr-grpc-port: daprd's gRPC API (core/grpc/grpc_api.h) on every listen address.
    /// 0 = pick a free port (tests); -1 (the default here) = no gRPC API. binderyd passes daprd's
    /// 50001, the console its setting, so tests that do not ask for it never collide on a port.
    int grpcPort = -1;
    /// grpcPort is daprd's default, not asked for: when it is taken the gRPC API is left off with
    /// a warning instead of failing the start (several binderyd on one machine, tests).
    bool grpcPortIsDefault = false;
    QStringList listenAddresses = {QStringLiteral("127.0.0.1")};
    QStringList resourcesPaths;
    /// --max-body-size; daprd's deprecated --dapr-http-max-request-size (MiB) sets it too when
    /// --max-body-size is not given.
    qint64 maxBodySize = 4 * 1024 * 1024;
    /// --read-buffer-size (--dapr-http-read-buffer-size in KiB): request line and headers may
    /// take this plus 4 KiB, as Go's MaxHeaderBytes; more is answered 431.
    qint64 readBufferSize = 4 * 1024;
    /// --unix-domain-socket: a directory; when set the HTTP API listens only on the Unix
    /// socket <dir>/dapr-<app id>-http.socket, as daprd does, and on no TCP port.
    QString unixDomainSocket;
    /// Bindery's own HTTP bounds (issue 14 item 4); daprd has only the 10 s header timeout.
    int httpHeaderTimeoutMs = 10000; ///< connect or first byte to the end of the header
    int httpBodyTimeoutMs = 60000;   ///< end of the header to the end of the body
    int httpIdleTimeoutMs = 120000;  ///< a keep-alive connection with no request is closed
    int httpMaxConnections = 0;      ///< 0: from the descriptor limit (at most 10,000)
    QByteArray apiToken;             ///< DAPR_API_TOKEN
    QByteArray appApiToken;          ///< APP_API_TOKEN
    int probeTimeoutMs = 3000;
    int deliveryTimeoutMs = 60000;
    /// daprd exits when a component without ignoreErrors fails; the console keeps going.
    bool failFast = true;
    QString runtimeVersion = QStringLiteral("1.18.0-bindery");

    /// --app-protocol. Runtime::connectApp() makes the app channel for it: "http"
    /// (HttpAppChannel) or "grpc" (GrpcAppChannel, through the sidecar's AppChannelFactory);
    /// binderyd refuses the others before start (app/daprd_flags.cpp, appProtocolError).
    QString appProtocol = QStringLiteral("http");
    /// --app-max-concurrency: most deliveries to the app in flight at once, over every input
    /// binding (daprd's app channel semaphore); <= 0 = unlimited (daprd's -1).
    int appMaxConcurrency = -1;

    /// daprd's app health checks (--enable-app-health-check and --app-health-*, reference
    /// §2.1): probe GET <app><path> every interval; `threshold` failures in a row make the app
    /// unhealthy, which stops reading every input binding; the next healthy probe restarts
    /// them, each with a fresh OPTIONS probe.
    bool appHealthCheck = false;
    QString appHealthCheckPath = QStringLiteral("/healthz");
    int appHealthProbeIntervalMs = 5000;
    int appHealthProbeTimeoutMs = 500;
    int appHealthThreshold = 3;
};

} // namespace bindery::core
