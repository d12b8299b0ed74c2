// SPDX-License-Identifier: Apache-2.0
#pragma once
// The argv the Dapr CLI v1.18.0 gives daprd for `dapr run` (recorded from /proc/<daprd>/cmdline,
// /work/scratch/dapr/cli-argv.txt), in its order, with this run's paths and ports (issue 18).
#include <QString>
#include <QStringList>

namespace bindery::tests {

struct DaprCliRun
{
    QString config;                                             ///< <runtime>/.dapr/config.yaml
    QString resourcesFlag = QStringLiteral("--resources-path"); ///< --components-path without one
    QString resources;
    QString appPort; ///< "0" for a run without an app
    QString httpPort;
    QString grpcPort = QStringLiteral("39599");
    QString metricsPort = QStringLiteral("40283");
    QString internalGrpcPort = QStringLiteral("38683");
};

inline QStringList daprCliArgv(const DaprCliRun &r)
{
    return {QStringLiteral("--config"),
            r.config,
            QStringLiteral("--app-protocol"),
            QStringLiteral("http"),
            QStringLiteral("--log-level"),
            QStringLiteral("info"),
            QStringLiteral("--app-max-concurrency"),
            QStringLiteral("-1"),
            QStringLiteral("--placement-host-address"),
            QStringLiteral("localhost:50005"),
            r.resourcesFlag,
            r.resources,
            QStringLiteral("--max-body-size"),
            QStringLiteral("4Mi"),
            QStringLiteral("--read-buffer-size"),
            QStringLiteral("4Ki"),
            QStringLiteral("--scheduler-host-address"),
            QStringLiteral("localhost:50006"),
            QStringLiteral("--app-id"),
            QStringLiteral("smoke"),
            QStringLiteral("--app-port"),
            r.appPort,
            QStringLiteral("--dapr-http-port"),
            r.httpPort,
            QStringLiteral("--dapr-grpc-port"),
            r.grpcPort,
            QStringLiteral("--profile-port"),
            QStringLiteral("-1"),
            QStringLiteral("--metrics-port"),
            r.metricsPort,
            QStringLiteral("--dapr-internal-grpc-port"),
            r.internalGrpcPort};
}

} // namespace bindery::tests
