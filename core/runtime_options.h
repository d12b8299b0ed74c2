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
    QStringList listenAddresses = {QStringLiteral("127.0.0.1")};
    QStringList resourcesPaths;
    qint64 maxBodySize = 4 * 1024 * 1024;
    QByteArray apiToken;    ///< DAPR_API_TOKEN
    QByteArray appApiToken; ///< APP_API_TOKEN
    int probeTimeoutMs = 3000;
    int deliveryTimeoutMs = 60000;
    /// daprd exits when a component without ignoreErrors fails; the console keeps going.
    bool failFast = true;
    QString runtimeVersion = QStringLiteral("1.18.0-bindery");

    /// --app-protocol. Runtime::connectApp() makes the app channel for it: "http"
    /// (HttpAppChannel) or "grpc" (GrpcAppChannel, through the sidecar's AppChannelFactory).
    QString appProtocol = QStringLiteral("http");
};

} // namespace bindery::core
