// SPDX-License-Identifier: Apache-2.0
// binderyd: the headless Bindery runtime. Takes daprd 1.18's flags (app/daprd_flags.h), so apps,
// the official Dapr SDKs and the Dapr CLI (`dapr run` with binderyd installed as its daprd) work
// against it unchanged (issue 18).
#include <csignal>
#include <cstdio>
#include <cstring>
#include <memory>
#include <thread>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <QCoreApplication>
#include <QElapsedTimer>
#include <QFile>
#include <QLocalServer>
#include <QLocalSocket>
#include <QLoggingCategory>
#include <QSocketNotifier>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTimer>

#include "app/daprd_flags.h"
#include "core/binding_registry.h"
#include "core/go_time.h"
#include "core/host/sidecar.h"
#include "core/http_client.h"
#include "core/redact.h"
#include "core/traffic.h"
#include "core/traffic_log.h"

namespace {

int g_signalPipe[2] = {-1, -1};
int g_minLevel = 1; // 0 debug, 1 info, 2 warning, 3 error
bool g_json = false;
QString g_appId;
QString g_instance;
QString g_version;
FILE *g_out = stdout;

void onSignal(int)
{
    const char c = 1;
    [[maybe_unused]] const ssize_t n = ::write(g_signalPipe[1], &c, 1);
}

// daprd's log line (dapr/kit's logrus formatter): JSON keys in logrus' sorted order, or
// logrus' text form; `time` is RFC 3339 with nanoseconds and the local zone.
QByteArray formatLine(const char *level, const QString &message, const QString &scope)
{
    const QString time = bindery::core::goRfc3339NanoLocal(bindery::core::nowUnixNs());
    if (g_json) {
        nlohmann::ordered_json j;
        if (!g_appId.isEmpty())
            j["app_id"] = g_appId.toStdString();
        j["instance"] = g_instance.toStdString();
        j["level"] = level;
        j["msg"] = message.toStdString();
        j["scope"] = scope.toStdString();
        j["time"] = time.toStdString();
        j["type"] = "log";
        j["ver"] = g_version.toStdString();
        return QByteArray::fromStdString(
            j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    }
    QString escaped = message;
    escaped.replace(u'\\', QStringLiteral("\\\\")).replace(u'"', QStringLiteral("\\\""));
    QString line = QStringLiteral("time=\"%1\" level=%2 msg=\"%3\"")
                       .arg(time, QString::fromLatin1(level), escaped);
    if (!g_appId.isEmpty())
        line += QStringLiteral(" app_id=") + g_appId;
    line += QStringLiteral(" instance=%1 scope=%2 type=log ver=%3")
                .arg(g_instance, scope, g_version);
    return line.toUtf8();
}

void writeLine(QByteArray line)
{
    line += '\n';
    std::fwrite(line.constData(), 1, static_cast<size_t>(line.size()), g_out);
    std::fflush(g_out);
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
    const bool named = context.category && std::strcmp(context.category, "default") != 0;
    // Every line leaves with the secrets masked (core/redact.h), whoever logged it.
    writeLine(
        formatLine(name, bindery::core::redacted(message),
                   named ? QString::fromLatin1(context.category) : QStringLiteral("binderyd")));
}

int fatal(const QString &message)
{
    writeLine(formatLine("fatal", bindery::core::redacted(message), QStringLiteral("binderyd")));
    return 1;
}

// daprd --wait: poll the local sidecar's /v1.0/healthz/outbound until it answers 2xx (60 s).
int waitForOutbound(int port)
{
    const QByteArray head
        = "GET /v1.0/healthz/outbound HTTP/1.1\r\nHost: 127.0.0.1:" + QByteArray::number(port)
          + "\r\nUser-Agent: Go-http-client/1.1\r\n\r\n";
    std::fprintf(stderr,
                 "Waiting for Dapr to be outbound ready (timeout: 60 seconds): "
                 "url=http://localhost:%d/v1.0/healthz/outbound\n",
                 port);
    QElapsedTimer timer;
    timer.start();
    qint64 lastPrint = -1000;
    QString error;
    while (timer.elapsed() < 60000) {
        bindery::core::HttpConnection connection("127.0.0.1", static_cast<quint16>(port));
        bindery::core::HttpResponse response;
        if (connection.request(head, {}, 500, &response, &error)) {
            if (response.status >= 200 && response.status < 300) {
                std::fprintf(stderr, "Dapr is outbound ready!\n");
                return 0;
            }
            error = QStringLiteral("HTTP status code %1").arg(response.status);
        }
        if (timer.elapsed() - lastPrint >= 1000) {
            lastPrint = timer.elapsed();
            std::fprintf(stderr, "Dapr outbound NOT ready yet: %s\n", qPrintable(error));
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    std::fprintf(stderr, "timeout waiting for Dapr to become outbound ready. Last error: %s\n",
                 qPrintable(error));
    return 1;
}

} // namespace

int main(int argc, char *argv[])
{
    QElapsedTimer startTimer;
    startTimer.start();
    // A daemon has no GLib main loop to share: Qt's own event dispatcher wakes and dispatches
    // with less work (bench_http_binding at 1 connection: 10-20% less CPU per request).
    if (!qEnvironmentVariableIsSet("QT_NO_GLIB"))
        qputenv("QT_NO_GLIB", "1");
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("binderyd"));
    QCoreApplication::setApplicationVersion(QStringLiteral(BINDERY_VERSION));
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    g_instance = QString::fromLocal8Bit(host);
    g_version = bindery::core::RuntimeOptions().runtimeVersion;

    QStringList args = QCoreApplication::arguments();
    args.removeFirst();
    // A refused command line is still reported in the format asked for.
    for (const QString &a : std::as_const(args)) {
        if (a == QStringLiteral("--log-as-json") || a == QStringLiteral("-log-as-json")
            || a == QStringLiteral("--log-as-json=true"))
            g_json = true;
    }
    qInstallMessageHandler(messageHandler);
    const bindery::Result<bindery::app::ParsedFlags> parsed = bindery::app::parseFlags(args);
    if (!parsed)
        return fatal(parsed.error().message);
    bindery::Result<bindery::app::BinderydConfig> configured = bindery::app::configure(*parsed);
    if (!configured)
        return fatal(configured.error().message);
    bindery::app::BinderydConfig &config = *configured;
    bindery::core::RuntimeOptions &options = config.options;
    options.failFast = true;

    switch (config.action) {
    case bindery::app::BinderydConfig::Action::Help:
        std::fputs(qPrintable(bindery::app::usage()), stdout);
        return 0;
    case bindery::app::BinderydConfig::Action::Version:
        // The Dapr CLI reads this as the runtime's semantic version (issue 18).
        std::printf("%s\n", qPrintable(options.runtimeVersion));
        return 0;
    case bindery::app::BinderydConfig::Action::BuildInfo:
        std::printf("Version: %s\nGit Commit: \nGit Version: binderyd-%s\n",
                    qPrintable(options.runtimeVersion), BINDERY_VERSION);
        return 0;
    case bindery::app::BinderydConfig::Action::Wait: return waitForOutbound(options.httpPort);
    case bindery::app::BinderydConfig::Action::Run: break;
    }

    g_minLevel = config.logLevel;
    g_json = config.logJson;
    g_appId = options.appId;
    if (!config.logFile.isEmpty()) {
        g_out = std::fopen(QFile::encodeName(config.logFile).constData(), "a");
        if (!g_out) {
            g_out = stdout;
            return fatal(QStringLiteral("--log-file: cannot open '%1'").arg(config.logFile));
        }
    }
    QLoggingCategory::setFilterRules(g_minLevel == 0 ? QStringLiteral("bindery.*.debug=true")
                                                     : QString());
    for (const QString &note : std::as_const(config.notes))
        qInfo().noquote() << note;

    bindery::core::BindingRegistry registry;
    bindery::core::registerBuiltinBindings(registry);
    // Without --traffic-log nobody drains the tap: keep nothing rather than 200k records.
    bindery::core::TrafficStream traffic(config.trafficLog.isEmpty() ? 0 : 200000);
    std::unique_ptr<bindery::core::TrafficLogWriter> writer;
    if (!config.trafficLog.isEmpty()) {
        writer = std::make_unique<bindery::core::TrafficLogWriter>(traffic, config.trafficLog);
        if (auto r = writer->start(); !r)
            return fatal(r.error().message);
    }

    qInfo().noquote() << QStringLiteral("starting binderyd %1 (Dapr-compatible bindings runtime "
                                        "%2), app id '%3'")
                             .arg(QCoreApplication::applicationVersion(), options.runtimeVersion,
                                  options.appId);
    bindery::core::Sidecar sidecar(options, registry, traffic);
    if (!sidecar.startAndWait())
        return fatal(QStringLiteral("fatal: %1").arg(sidecar.lastError()));
    qInfo().noquote() << QStringLiteral("binderyd started in %1 ms; API at %2")
                             .arg(startTimer.elapsed())
                             .arg(sidecar.apiAddress());

    if (!options.unixDomainSocket.isEmpty()) {
        auto *holder = new QLocalServer(&app);
        QObject::connect(holder, &QLocalServer::newConnection, holder, [holder]() {
            while (QLocalSocket *s = holder->nextPendingConnection()) {
                s->abort();
                s->deleteLater();
            }
        });
        const QString path
            = QStringLiteral("%1/dapr-%2-grpc.socket").arg(options.unixDomainSocket, options.appId);
        QLocalServer::removeServer(path);
        if (!holder->listen(path))
            qWarning().noquote()
                << QStringLiteral("gRPC socket %1: %2").arg(path, holder->errorString());
    }

    const qint64 blockMs = config.blockShutdownMs;
    if (::pipe(g_signalPipe) == 0) {
        std::signal(SIGINT, onSignal);
        std::signal(SIGTERM, onSignal);
        auto *notifier = new QSocketNotifier(g_signalPipe[0], QSocketNotifier::Read, &app);
        // Set once the first signal started blocking: a second signal stops at once. (The slot
        // must not disconnect itself while it runs: that would destroy its own captures.)
        auto blocking = std::make_shared<bool>(false);
        QObject::connect(
            notifier, &QSocketNotifier::activated, &app, [&sidecar, &app, blockMs, blocking]() {
                char c = 0;
                [[maybe_unused]] const ssize_t n = ::read(g_signalPipe[0], &c, 1);
                if (*blocking) {
                    QCoreApplication::quit();
                    return;
                }
                if (blockMs <= 0) {
                    qInfo().noquote() << QStringLiteral("received signal, shutting down");
                    QCoreApplication::quit();
                    return;
                }
                // daprd's --dapr-block-shutdown-duration: keep serving until the time is up or the
                // app reports unhealthy, whichever comes first; a second signal stops at once.
                qInfo().noquote() << QStringLiteral("Blocking graceful shutdown for %1 ms or until "
                                                    "app reports unhealthy...")
                                         .arg(blockMs);
                *blocking = true;
                auto *poll = new QTimer(&app);
                auto *elapsed = new QElapsedTimer;
                elapsed->start();
                QObject::connect(
                    poll, &QTimer::timeout, &app, [&sidecar, poll, elapsed, blockMs]() {
                        const bool unhealthy = !sidecar.runtime()->appHealthy();
                        if (elapsed->elapsed() < blockMs && !unhealthy)
                            return;
                        qInfo().noquote() << (unhealthy ? QStringLiteral("app reported unhealthy, "
                                                                         "shutting down")
                                                        : QStringLiteral("block shutdown duration "
                                                                         "elapsed, shutting down"));
                        poll->stop();
                        delete elapsed;
                        QCoreApplication::quit();
                    });
                poll->start(100);
            });
    }
    const int rc = QCoreApplication::exec();
    sidecar.stopAndWait();
    writer.reset();
    qInfo().noquote() << QStringLiteral("binderyd stopped");
    if (g_out != stdout)
        std::fclose(g_out);
    g_out = stdout;
    return rc;
}
