// SPDX-License-Identifier: Apache-2.0
// binderyd: the headless Bindery runtime. Takes daprd's flag names so apps and the official
// Dapr SDKs work against it unchanged.
#include <csignal>
#include <cstdio>
#include <memory>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QDateTime>
#include <QElapsedTimer>
#include <QLoggingCategory>
#include <QSocketNotifier>

#include "core/binding_registry.h"
#include "core/host/sidecar.h"
#include "core/traffic.h"
#include "core/traffic_log.h"

namespace {

int g_signalPipe[2] = {-1, -1};
int g_minLevel = 1; // 0 debug, 1 info, 2 warning, 3 error
bool g_json = false;
QString g_appId;

void onSignal(int)
{
    const char c = 1;
    [[maybe_unused]] const ssize_t n = ::write(g_signalPipe[1], &c, 1);
}

void messageHandler(QtMsgType type, const QMessageLogContext &context, const QString &message)
{
    int level = 1;
    const char *name = "info";
    switch (type) {
    case QtDebugMsg:
        level = 0;
        name = "debug";
        break;
    case QtInfoMsg:
        level = 1;
        name = "info";
        break;
    case QtWarningMsg:
        level = 2;
        name = "warning";
        break;
    case QtCriticalMsg:
        level = 3;
        name = "error";
        break;
    case QtFatalMsg:
        level = 4;
        name = "fatal";
        break;
    }
    if (level < g_minLevel)
        return;
    const QString time = QDateTime::currentDateTime().toString(Qt::ISODateWithMs);
    const QString scope = QString::fromLatin1(context.category ? context.category : "default");
    QByteArray line;
    if (g_json) {
        nlohmann::ordered_json j;
        j["time"] = time.toStdString();
        j["level"] = name;
        j["msg"] = message.toStdString();
        j["scope"] = scope.toStdString();
        j["app_id"] = g_appId.toStdString();
        j["type"] = "log";
        line = QByteArray::fromStdString(
            j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    } else {
        line = QStringLiteral("time=\"%1\" level=%2 msg=\"%3\" app_id=%4 scope=%5")
                   .arg(time, QString::fromLatin1(name),
                        QString(message).replace(u'"', QStringLiteral("\\\"")), g_appId, scope)
                   .toUtf8();
    }
    line += '\n';
    std::fwrite(line.constData(), 1, static_cast<size_t>(line.size()), stderr);
    std::fflush(stderr);
}

} // namespace

int main(int argc, char *argv[])
{
    QElapsedTimer startTimer;
    startTimer.start();
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("binderyd"));
    QCoreApplication::setApplicationVersion(QStringLiteral(BINDERY_VERSION));

    QCommandLineParser parser;
    parser.setApplicationDescription(
        QStringLiteral("Bindery's headless Dapr-compatible bindings runtime."));
    parser.setSingleDashWordOptionMode(QCommandLineParser::ParseAsLongOptions);
    parser.addHelpOption();
    parser.addVersionOption();
    const QCommandLineOption appId(QStringLiteral("app-id"), QStringLiteral("The app's id."),
                                   QStringLiteral("id"), QStringLiteral("bindery"));
    const QCommandLineOption appPort(
        QStringLiteral("app-port"),
        QStringLiteral("The port the app listens on (enables input bindings)."),
        QStringLiteral("port"));
    const QCommandLineOption appAddress(QStringLiteral("app-channel-address"),
                                        QStringLiteral("The app's address."),
                                        QStringLiteral("address"), QStringLiteral("127.0.0.1"));
    const QCommandLineOption httpPort(QStringLiteral("dapr-http-port"),
                                      QStringLiteral("HTTP API port."), QStringLiteral("port"),
                                      QStringLiteral("3500"));
    const QCommandLineOption listen(QStringLiteral("dapr-listen-addresses"),
                                    QStringLiteral("Comma-separated addresses the API binds to."),
                                    QStringLiteral("addresses"), QStringLiteral("127.0.0.1"));
    const QCommandLineOption resources(
        QStringLiteral("resources-path"),
        QStringLiteral("A folder of component YAML files (repeatable)."), QStringLiteral("path"));
    const QCommandLineOption components(QStringLiteral("components-path"),
                                        QStringLiteral("Deprecated alias of --resources-path."),
                                        QStringLiteral("path"));
    const QCommandLineOption logLevel(QStringLiteral("log-level"),
                                      QStringLiteral("debug, info, warn, error or fatal."),
                                      QStringLiteral("level"), QStringLiteral("info"));
    const QCommandLineOption logJson(QStringLiteral("log-as-json"),
                                     QStringLiteral("Log as JSON lines."));
    const QCommandLineOption maxBody(QStringLiteral("max-body-size"),
                                     QStringLiteral("Largest request body, e.g. 4Mi."),
                                     QStringLiteral("size"), QStringLiteral("4Mi"));
    const QCommandLineOption probeTimeout(QStringLiteral("app-binding-options-timeout"),
                                          QStringLiteral("Timeout of the OPTIONS probe, e.g. 3s."),
                                          QStringLiteral("duration"), QStringLiteral("3s"));
    const QCommandLineOption trafficLog(
        QStringLiteral("traffic-log"),
        QStringLiteral("Write every exchange to FILE as JSON Lines."), QStringLiteral("file"));
    parser.addOptions({appId, appPort, appAddress, httpPort, listen, resources, components,
                       logLevel, logJson, maxBody, probeTimeout, trafficLog});
    // Issue 15: the gRPC API and gRPC apps (one block, so the flags' rework merges easily).
    const QCommandLineOption grpcPort(QStringLiteral("dapr-grpc-port"),
                                      QStringLiteral("gRPC API port."), QStringLiteral("port"),
                                      QStringLiteral("50001"));
    const QCommandLineOption appProtocol(QStringLiteral("app-protocol"),
                                         QStringLiteral("Protocol of the app: http or grpc."),
                                         QStringLiteral("protocol"), QStringLiteral("http"));
    parser.addOptions({grpcPort, appProtocol});
    // End of issue 15's block.
    // daprd flags the `dapr` CLI passes that a bindings-only runtime has no use for.
    QList<QCommandLineOption> ignored;
    for (const char *flag :
         {"dapr-internal-grpc-port", "metrics-port", "placement-host-address",
          "scheduler-host-address", "config", "app-max-concurrency", "dapr-http-max-request-size",
          "dapr-http-read-buffer-size", "profile-port", "dapr-graceful-shutdown-seconds",
          "app-health-check-path", "app-health-probe-interval", "app-health-probe-timeout",
          "app-health-threshold", "mode", "dapr-public-port"}) {
        ignored.append(QCommandLineOption(
            QString::fromLatin1(flag), QStringLiteral("Accepted for daprd compatibility; ignored."),
            QStringLiteral("value")));
    }
    for (const char *flag : {"enable-metrics", "enable-profiling", "enable-app-health-check",
                             "enable-mtls", "enable-api-logging"}) {
        QCommandLineOption o(QString::fromLatin1(flag),
                             QStringLiteral("Accepted for daprd compatibility; ignored."));
        ignored.append(o);
    }
    parser.addOptions(ignored);
    parser.process(app);

    const QString level = parser.value(logLevel).toLower();
    g_minLevel = level == QStringLiteral("debug")                                        ? 0
                 : level == QStringLiteral("warn") || level == QStringLiteral("warning") ? 2
                 : level == QStringLiteral("error") || level == QStringLiteral("fatal")  ? 3
                                                                                         : 1;
    g_json = parser.isSet(logJson);
    g_appId = parser.value(appId);
    qInstallMessageHandler(messageHandler);
    QLoggingCategory::setFilterRules(g_minLevel == 0 ? QStringLiteral("bindery.*.debug=true")
                                                     : QString());

    auto die = [](const QString &message) {
        qCritical().noquote() << message;
        return 1;
    };

    bindery::core::RuntimeOptions options;
    options.appId = parser.value(appId);
    options.appChannelAddress = parser.value(appAddress);
    options.failFast = true;
    bool ok = true;
    if (parser.isSet(appPort)) {
        options.appPort = parser.value(appPort).toInt(&ok);
        if (!ok || options.appPort <= 0 || options.appPort > 65535)
            return die(
                QStringLiteral("--app-port: '%1' is not a port number").arg(parser.value(appPort)));
    }
    options.httpPort = parser.value(httpPort).toInt(&ok);
    if (!ok || options.httpPort < 0 || options.httpPort > 65535)
        return die(QStringLiteral("--dapr-http-port: '%1' is not a port number")
                       .arg(parser.value(httpPort)));
    options.listenAddresses = parser.value(listen).split(u',', Qt::SkipEmptyParts);
    for (QString &a : options.listenAddresses)
        a = a.trimmed();
    options.resourcesPaths = parser.values(resources) + parser.values(components);
    if (!bindery::core::parseByteSize(parser.value(maxBody), &options.maxBodySize)
        || options.maxBodySize <= 0)
        return die(QStringLiteral("--max-body-size: '%1' is not a size such as 4Mi")
                       .arg(parser.value(maxBody)));
    qint64 probeMs = 0;
    if (!bindery::core::parseGoDuration(parser.value(probeTimeout), &probeMs) || probeMs <= 0)
        return die(QStringLiteral("--app-binding-options-timeout: '%1' is not a duration")
                       .arg(parser.value(probeTimeout)));
    options.probeTimeoutMs = static_cast<int>(probeMs);
    options.apiToken = qgetenv("DAPR_API_TOKEN");
    options.appApiToken = qgetenv("APP_API_TOKEN");
    // Issue 15: the gRPC API and gRPC apps.
    options.grpcPort = parser.value(grpcPort).toInt(&ok);
    if (!ok || options.grpcPort < 0 || options.grpcPort > 65535)
        return die(QStringLiteral("--dapr-grpc-port: '%1' is not a port number")
                       .arg(parser.value(grpcPort)));
    options.appProtocol = parser.value(appProtocol).trimmed().toLower();
    if (options.appProtocol != QStringLiteral("http")
        && options.appProtocol != QStringLiteral("grpc"))
        return die(QStringLiteral("--app-protocol %1: Bindery calls apps over http or grpc "
                                  "(plain HTTP/1.1 or gRPC without TLS; daprd also takes https, "
                                  "grpcs and h2c)")
                       .arg(parser.value(appProtocol)));
    // End of issue 15's block.
    for (const QCommandLineOption &o : ignored) {
        if (parser.isSet(o))
            qInfo().noquote() << QStringLiteral(
                                     "flag --%1 is accepted for daprd compatibility and ignored")
                                     .arg(o.names().first());
    }

    bindery::core::BindingRegistry registry;
    bindery::core::registerBuiltinBindings(registry);
    // Without --traffic-log nobody drains the tap: keep nothing rather than 200k records.
    bindery::core::TrafficStream traffic(parser.isSet(trafficLog) ? 200000 : 0);
    std::unique_ptr<bindery::core::TrafficLogWriter> writer;
    if (parser.isSet(trafficLog)) {
        writer
            = std::make_unique<bindery::core::TrafficLogWriter>(traffic, parser.value(trafficLog));
        if (auto r = writer->start(); !r)
            return die(r.error().message);
    }

    qInfo().noquote() << QStringLiteral(
                             "starting binderyd %1 (Dapr-compatible bindings runtime), app id '%2'")
                             .arg(QCoreApplication::applicationVersion(), options.appId);
    bindery::core::Sidecar sidecar(options, registry, traffic);
    if (!sidecar.startAndWait())
        return die(QStringLiteral("fatal: %1").arg(sidecar.lastError()));
    qInfo().noquote() << QStringLiteral("binderyd started in %1 ms; API at %2")
                             .arg(startTimer.elapsed())
                             .arg(sidecar.apiAddress());

    if (::pipe(g_signalPipe) == 0) {
        std::signal(SIGINT, onSignal);
        std::signal(SIGTERM, onSignal);
        auto *notifier = new QSocketNotifier(g_signalPipe[0], QSocketNotifier::Read, &app);
        QObject::connect(notifier, &QSocketNotifier::activated, &app, [&]() {
            char c = 0;
            [[maybe_unused]] const ssize_t n = ::read(g_signalPipe[0], &c, 1);
            qInfo().noquote() << QStringLiteral("received signal, shutting down");
            QCoreApplication::quit();
        });
    }
    const int rc = QCoreApplication::exec();
    sidecar.stopAndWait();
    writer.reset();
    qInfo().noquote() << QStringLiteral("binderyd stopped");
    return rc;
}
