// SPDX-License-Identifier: Apache-2.0
#include "app/daprd_flags.h"

#include <cstdint>

#include <QHash>

#include "core/component_spec.h"

namespace bindery::app {

namespace {

using Kind = FlagKind;

// Why an accepted flag is not acted on, for the flags whose absence changes nothing for a
// bindings runtime. Logged once at start when the flag is given (issue 18).
const QHash<QString, QString> &ignoredReasons()
{
    static const QHash<QString, QString> reasons = [] {
        QHash<QString, QString> r;
        const QString noPeers = QStringLiteral(
            "Bindery makes and takes no daprd-to-daprd calls (no service invocation), so it needs "
            "no internal gRPC server and no certificate from Sentry or the control plane");
        const QString noActors = QStringLiteral("Bindery hosts no actors (no placement service)");
        const QString noScheduler
            = QStringLiteral("Bindery serves no jobs, reminders or workflows (no scheduler)");
        const QString noMetrics = QStringLiteral("Bindery exposes no Prometheus metrics");
        const QString noProfiling = QStringLiteral("Bindery has no profiling server");
        for (const char *f :
             {"dapr-internal-grpc-port", "dapr-internal-grpc-listen-address",
              "control-plane-address", "control-plane-trust-domain", "control-plane-namespace",
              "sentry-address", "sentry-request-jwt-audiences", "enable-mtls"})
            r.insert(QString::fromLatin1(f), noPeers);
        for (const char *f : {"placement-host-address", "actors-service", "reminders-service",
                              "actors-disseminate-timeout"})
            r.insert(QString::fromLatin1(f), noActors);
        for (const char *f : {"scheduler-host-address", "scheduler-job-streams"})
            r.insert(QString::fromLatin1(f), noScheduler);
        for (const char *f : {"metrics-port", "metrics-listen-address", "enable-metrics"})
            r.insert(QString::fromLatin1(f), noMetrics);
        for (const char *f : {"profile-port", "enable-profiling"})
            r.insert(QString::fromLatin1(f), noProfiling);
        r.insert(QStringLiteral("config"),
                 QStringLiteral("Bindery reads no Dapr Configuration resource (tracing, metrics, "
                                "features, access control)"));
        r.insert(QStringLiteral("dapr-graceful-shutdown-seconds"),
                 QStringLiteral("binderyd stops each binding within that binding's own bounds"));
        r.insert(QStringLiteral("enable-api-logging"),
                 QStringLiteral("use --traffic-log FILE to record every API call and delivery"));
        r.insert(QStringLiteral("disable-builtin-k8s-secret-store"),
                 QStringLiteral("Bindery has no built-in Kubernetes secret store"));
        r.insert(
            QStringLiteral("disable-init-endpoints"),
            QStringLiteral("Bindery calls neither /dapr/config nor /dapr/subscribe on the app"));
        r.insert(QStringLiteral("hot-reload-reconcile-interval"),
                 QStringLiteral("binderyd does not watch its component files"));
        r.insert(QStringLiteral("dapr-public-listen-address"),
                 QStringLiteral("it only applies with --dapr-public-port"));
        r.insert(QStringLiteral("allowed-origins"),
                 QStringLiteral("'*' is daprd's default, under which it sends no CORS headers "
                                "either"));
        return r;
    }();
    return reasons;
}

Error flagError(const QString &message)
{
    return Error{ErrorCode::InvalidMetadata, message, {}};
}

// pflag's message for a value its type refuses.
Error badValue(const QString &flag, const QString &value, const QString &why)
{
    return flagError(
        QStringLiteral("invalid argument \"%1\" for \"--%2\" flag: %3").arg(value, flag, why));
}

// Go's strconv.ParseBool.
bool parseGoBool(const QString &text, bool *ok)
{
    static const QStringList yes
        = {QStringLiteral("1"),    QStringLiteral("t"),    QStringLiteral("T"),
           QStringLiteral("TRUE"), QStringLiteral("true"), QStringLiteral("True")};
    static const QStringList no
        = {QStringLiteral("0"),     QStringLiteral("f"),     QStringLiteral("F"),
           QStringLiteral("FALSE"), QStringLiteral("false"), QStringLiteral("False")};
    *ok = yes.contains(text) || no.contains(text);
    return yes.contains(text);
}

const FlagSpec *findSpec(const QString &name)
{
    for (const FlagSpec &s : flagSpecs()) {
        if (s.name == name)
            return &s;
    }
    return nullptr;
}

} // namespace

const QList<FlagSpec> &flagSpecs()
{
    static const QList<FlagSpec> specs = [] {
        QList<FlagSpec> s;
        auto add = [&s](const char *name, Kind kind, const char *def, const char *help) {
            s.append({QString::fromLatin1(name), kind, QString::fromLatin1(def),
                      QString::fromLatin1(help)});
        };
        // daprd 1.18, in options.go's order.
        add("mode", Kind::String, "standalone", "Runtime mode: standalone only");
        add("dapr-http-port", Kind::String, "3500", "HTTP port for the Dapr API");
        add("dapr-listen-addresses", Kind::String, "127.0.0.1",
            "Comma-separated addresses the API listens on");
        add("dapr-public-port", Kind::String, "", "Refused: no separate public port");
        add("dapr-public-listen-address", Kind::String, "", "Ignored: no public port");
        add("dapr-grpc-port", Kind::String, "50001", "gRPC API port");
        add("dapr-internal-grpc-port", Kind::String, "", "Ignored: no daprd-to-daprd calls");
        add("dapr-internal-grpc-listen-address", Kind::String, "",
            "Ignored: no daprd-to-daprd calls");
        add("app-port", Kind::String, "", "The port the app listens on; 0 or none = no app");
        add("profile-port", Kind::String, "7777", "Ignored: no profiling server");
        add("app-protocol", Kind::String, "http", "Protocol of the app: http");
        add("components-path", Kind::String, "", "Deprecated alias of --resources-path");
        add("resources-path", Kind::List, "", "A folder of component YAML files (repeatable)");
        add("config", Kind::List, "", "Ignored: no Dapr Configuration resource is read");
        add("app-id", Kind::String, "bindery", "The app's id");
        add("control-plane-address", Kind::String, "", "Ignored: no control plane");
        add("sentry-address", Kind::String, "", "Ignored: no daprd-to-daprd mTLS");
        add("control-plane-trust-domain", Kind::String, "localhost", "Ignored: no control plane");
        add("control-plane-namespace", Kind::String, "default", "Ignored: no control plane");
        add("sentry-request-jwt-audiences", Kind::List, "", "Ignored: no daprd-to-daprd mTLS");
        add("allowed-origins", Kind::String, "*", "Only '*' (no CORS headers)");
        add("enable-profiling", Kind::Bool, "false", "Ignored: no profiling server");
        add("version", Kind::Bool, "false", "Print the runtime version and exit");
        add("build-info", Kind::Bool, "false", "Print the build info and exit");
        add("wait", Kind::Bool, "false",
            "Wait until the sidecar on --dapr-http-port is outbound ready, then exit");
        add("app-max-concurrency", Kind::String, "-1",
            "Most deliveries to the app in flight at once; -1 = no limit");
        add("enable-mtls", Kind::Bool, "false", "Ignored: no daprd-to-daprd mTLS");
        add("app-ssl", Kind::Bool, "false", "Refused: no TLS to the app");
        add("dapr-http-max-request-size", Kind::String, "4",
            "Deprecated: largest request body in MiB (--max-body-size wins)");
        add("max-body-size", Kind::String, "4Mi", "Largest request body, e.g. 4Mi");
        add("dapr-http-read-buffer-size", Kind::String, "4",
            "Deprecated: largest request head in KiB (--read-buffer-size wins)");
        add("read-buffer-size", Kind::String, "4Ki", "Largest request head, e.g. 4Ki");
        add("unix-domain-socket", Kind::String, "",
            "A folder: serve the HTTP API on <folder>/dapr-<app-id>-http.socket");
        add("dapr-graceful-shutdown-seconds", Kind::String, "5",
            "Ignored: each binding stops within its own bounds");
        add("dapr-block-shutdown-duration", Kind::String, "",
            "On SIGTERM, keep serving this long or until the app is unhealthy");
        add("enable-api-logging", Kind::Bool, "false", "Ignored: use --traffic-log");
        add("disable-builtin-k8s-secret-store", Kind::Bool, "false",
            "Ignored: no Kubernetes secret store");
        add("enable-app-health-check", Kind::Bool, "false",
            "Probe the app's health; pause input bindings while it is unhealthy");
        add("app-health-check-path", Kind::String, "/healthz", "Path of the health probe");
        add("app-health-probe-interval", Kind::String, "5", "Seconds between health probes");
        add("app-health-probe-timeout", Kind::String, "500", "Health probe timeout in ms");
        add("app-health-threshold", Kind::String, "3",
            "Failed probes in a row that make the app unhealthy");
        add("app-channel-address", Kind::String, "127.0.0.1", "The app's address");
        add("disable-init-endpoints", Kind::List, "", "Ignored: no init endpoints are called");
        add("placement-host-address", Kind::String, "", "Ignored: no actors");
        add("scheduler-host-address", Kind::List, "", "Ignored: no scheduler");
        add("scheduler-job-streams", Kind::String, "3", "Ignored: no scheduler");
        add("actors-disseminate-timeout", Kind::String, "10s", "Ignored: no actors");
        add("hot-reload-reconcile-interval", Kind::String, "0",
            "Ignored: component files are not watched");
        add("app-binding-options-timeout", Kind::String, "3s",
            "Timeout of the OPTIONS subscription probe");
        add("reminders-service", Kind::String, "", "Ignored: no actors");
        add("actors-service", Kind::String, "", "Ignored: no actors");
        // dapr/kit's logger and daprd's metrics.
        add("log-level", Kind::String, "info", "debug, info, warn, error or fatal");
        add("log-file", Kind::String, "", "Write the log to this file instead of stdout");
        add("log-as-json", Kind::Bool, "false", "Log as JSON lines");
        add("metrics-port", Kind::String, "9090", "Ignored: no metrics");
        add("metrics-listen-address", Kind::String, "", "Ignored: no metrics");
        add("enable-metrics", Kind::Bool, "true", "Ignored: no metrics");
        // binderyd's own.
        add("traffic-log", Kind::String, "", "Write every exchange to FILE as JSON Lines");
        add("help", Kind::Bool, "false", "Show this help and exit");
        return s;
    }();
    return specs;
}

QString ParsedFlags::value(const QString &name) const
{
    const QStringList v = m_values.value(name);
    if (!v.isEmpty())
        return v.last();
    const FlagSpec *spec = findSpec(name);
    return spec ? spec->defaultValue : QString();
}

Result<ParsedFlags> parseFlags(const QStringList &args)
{
    ParsedFlags flags;
    for (qsizetype i = 0; i < args.size(); ++i) {
        QString arg = args[i];
        if (arg == QStringLiteral("--")) {
            if (i + 1 < args.size())
                return tl::unexpected(flagError(
                    QStringLiteral("unexpected argument '%1': binderyd takes flags only (see "
                                   "--help)")
                        .arg(args[i + 1])));
            break;
        }
        if (arg == QStringLiteral("-h"))
            arg = QStringLiteral("--help");
        else if (arg.size() > 2 && arg[0] == u'-' && arg[1] != u'-')
            arg.prepend(u'-'); // daprd doubles a single dash: "-app-id" is "--app-id"
        if (!arg.startsWith(QStringLiteral("--")) || arg.size() == 2)
            return tl::unexpected(flagError(
                QStringLiteral("unexpected argument '%1': binderyd takes flags only (see --help)")
                    .arg(arg)));
        QString name = arg.mid(2);
        QString value;
        bool hasValue = false;
        if (const qsizetype eq = name.indexOf(u'='); eq >= 0) {
            value = name.mid(eq + 1);
            name = name.left(eq);
            hasValue = true;
        }
        const FlagSpec *spec = findSpec(name);
        if (!spec)
            return tl::unexpected(
                flagError(QStringLiteral("unknown flag: --%1 (not a daprd 1.18 flag; see --help)")
                              .arg(name)));
        if (spec->kind == FlagKind::Bool) {
            if (!hasValue)
                value = QStringLiteral("true");
            bool ok = false;
            parseGoBool(value, &ok);
            if (!ok)
                return tl::unexpected(
                    badValue(name, value,
                             QStringLiteral("strconv.ParseBool: parsing \"%1\": invalid syntax")
                                 .arg(value)));
        } else if (!hasValue) {
            if (i + 1 >= args.size())
                return tl::unexpected(
                    flagError(QStringLiteral("flag needs an argument: --%1").arg(name)));
            value = args[++i];
        }
        if (!flags.m_values.contains(name))
            flags.m_order << name;
        QStringList &values = flags.m_values[name];
        if (spec->kind == FlagKind::List) {
            for (const QString &part : value.split(u',', Qt::SkipEmptyParts))
                values << part.trimmed();
        } else {
            values << value;
        }
    }
    return flags;
}

QString appProtocolError(const QString &protocol)
{
    const QString p = protocol.trimmed().toLower();
    if (p == QStringLiteral("http"))
        return {};
    if (p == QStringLiteral("grpc"))
        return {}; // GrpcAppChannel: Dapr's AppCallback service, plain gRPC
    if (p == QStringLiteral("https") || p == QStringLiteral("grpcs") || p == QStringLiteral("h2c"))
        return QStringLiteral("--app-protocol %1: Bindery's app channel speaks plain HTTP/1.1 "
                              "only (no TLS and no HTTP/2 to the app); use --app-protocol http")
            .arg(p);
    return QStringLiteral("--app-protocol %1: not an app protocol (daprd takes grpc, grpcs, http, "
                          "https or h2c; Bindery speaks http and grpc)")
        .arg(protocol);
}

Result<BinderydConfig> configure(const ParsedFlags &flags)
{
    BinderydConfig c;
    core::RuntimeOptions &o = c.options;
    auto refuse = [](const QString &message) { return tl::unexpected(flagError(message)); };
    auto integer = [&flags](const QString &name, qint64 *out) -> Result<> {
        bool ok = false;
        const QString v = flags.value(name).trimmed();
        *out = v.toLongLong(&ok, 0);
        if (!ok)
            return tl::unexpected(badValue(
                name, v,
                QStringLiteral("strconv.ParseInt: parsing \"%1\": invalid syntax").arg(v)));
        return {};
    };
    auto duration = [&flags](const QString &name, qint64 *ms) -> Result<> {
        const QString v = flags.value(name).trimmed();
        if (!core::parseGoDuration(v, ms))
            return tl::unexpected(
                badValue(name, v, QStringLiteral("time: invalid duration \"%1\"").arg(v)));
        return {};
    };
    auto port = [&flags](const QString &name, int *out) -> Result<> {
        bool ok = false;
        const QString v = flags.value(name).trimmed();
        *out = v.toInt(&ok);
        if (!ok || *out < 0 || *out > 65535)
            return tl::unexpected(
                flagError(QStringLiteral("--%1: '%2' is not a port number").arg(name, v)));
        return {};
    };

    auto boolean = [&flags](const QString &name) {
        bool ok = false; // parseFlags already refused a value that is not a Go bool
        return parseGoBool(flags.value(name), &ok);
    };
    if (boolean(QStringLiteral("help")))
        c.action = BinderydConfig::Action::Help;
    else if (boolean(QStringLiteral("version")))
        c.action = BinderydConfig::Action::Version;
    else if (boolean(QStringLiteral("build-info")))
        c.action = BinderydConfig::Action::BuildInfo;
    else if (boolean(QStringLiteral("wait")))
        c.action = BinderydConfig::Action::Wait;

    // Logging.
    const QString level = flags.value(QStringLiteral("log-level")).toLower();
    static const QHash<QString, int> levels = {
        {QStringLiteral("debug"), 0},   {QStringLiteral("info"), 1},  {QStringLiteral("warn"), 2},
        {QStringLiteral("warning"), 2}, {QStringLiteral("error"), 3}, {QStringLiteral("fatal"), 3}};
    if (!levels.contains(level))
        return refuse(QStringLiteral("--log-level: '%1' is not one of debug, info, warn, error, "
                                     "fatal")
                          .arg(flags.value(QStringLiteral("log-level"))));
    c.logLevel = levels.value(level);
    c.logJson = boolean(QStringLiteral("log-as-json"));
    c.logFile = flags.value(QStringLiteral("log-file"));
    c.trafficLog = flags.value(QStringLiteral("traffic-log"));

    // The app.
    o.appId = flags.value(QStringLiteral("app-id"));
    o.appChannelAddress = flags.value(QStringLiteral("app-channel-address"));
    if (const QString p = flags.value(QStringLiteral("app-port")).trimmed(); !p.isEmpty()) {
        if (auto r = port(QStringLiteral("app-port"), &o.appPort); !r)
            return tl::unexpected(r.error());
    } // 0 or none: no app channel, as daprd
    o.appProtocol = flags.value(QStringLiteral("app-protocol")).trimmed().toLower();
    if (boolean(QStringLiteral("app-ssl")))
        return refuse(QStringLiteral("--app-ssl: Bindery's app channel speaks plain HTTP/1.1 "
                                     "only (no TLS to the app); leave --app-ssl out"));
    if (const QString why = appProtocolError(o.appProtocol); !why.isEmpty())
        return refuse(why);
    qint64 n = 0;
    if (auto r = integer(QStringLiteral("app-max-concurrency"), &n); !r)
        return tl::unexpected(r.error());
    o.appMaxConcurrency = static_cast<int>(qBound(qint64(-1), n, qint64(1) << 20));
    qint64 probeMs = 0;
    if (auto r = duration(QStringLiteral("app-binding-options-timeout"), &probeMs); !r)
        return tl::unexpected(r.error());
    if (probeMs > 0) // daprd: non-positive values use the default
        o.probeTimeoutMs = static_cast<int>(qMin<qint64>(probeMs, 1 << 30));

    // App health checks, checked as daprd checks them even when they are off.
    o.appHealthCheck = boolean(QStringLiteral("enable-app-health-check"));
    o.appHealthCheckPath = flags.value(QStringLiteral("app-health-check-path"));
    if (!o.appHealthCheckPath.startsWith(u'/'))
        o.appHealthCheckPath.prepend(u'/');
    if (auto r = integer(QStringLiteral("app-health-probe-interval"), &n); !r)
        return tl::unexpected(r.error());
    o.appHealthProbeIntervalMs = n > 0 ? static_cast<int>(qMin<qint64>(n, 86400) * 1000) : 5000;
    if (auto r = integer(QStringLiteral("app-health-probe-timeout"), &n); !r)
        return tl::unexpected(r.error());
    o.appHealthProbeTimeoutMs = n > 0 ? static_cast<int>(qMin<qint64>(n, 1 << 30)) : 500;
    if (o.appHealthProbeTimeoutMs > o.appHealthProbeIntervalMs)
        return refuse(QStringLiteral(
            "value for 'health-probe-timeout' must be smaller than 'health-probe-interval'"));
    if (auto r = integer(QStringLiteral("app-health-threshold"), &n); !r)
        return tl::unexpected(r.error());
    o.appHealthThreshold = n >= 1 && n <= INT32_MAX - 1 ? static_cast<int>(n) : 3;

    // The API.
    if (auto r = port(QStringLiteral("dapr-http-port"), &o.httpPort); !r)
        return tl::unexpected(r.error());
    o.listenAddresses.clear();
    for (const QString &a :
         flags.value(QStringLiteral("dapr-listen-addresses")).split(u',', Qt::SkipEmptyParts))
        o.listenAddresses << a.trimmed();
    o.resourcesPaths = flags.values(QStringLiteral("resources-path"));
    if (flags.isSet(QStringLiteral("components-path")))
        o.resourcesPaths << flags.value(QStringLiteral("components-path"));
    if (flags.isSet(QStringLiteral("max-body-size"))
        || !flags.isSet(QStringLiteral("dapr-http-max-request-size"))) {
        const QString v = flags.value(QStringLiteral("max-body-size"));
        if (!core::parseByteSize(v, &o.maxBodySize) || o.maxBodySize <= 0)
            return refuse(QStringLiteral("--max-body-size: '%1' is not a size such as 4Mi").arg(v));
    } else {
        if (auto r = integer(QStringLiteral("dapr-http-max-request-size"), &n); !r)
            return tl::unexpected(r.error());
        if (n <= 0 || n > (1 << 20))
            return refuse(QStringLiteral("--dapr-http-max-request-size: '%1' is not a positive "
                                         "number of MiB")
                              .arg(flags.value(QStringLiteral("dapr-http-max-request-size"))));
        o.maxBodySize = n << 20;
    }
    if (flags.isSet(QStringLiteral("read-buffer-size"))
        || !flags.isSet(QStringLiteral("dapr-http-read-buffer-size"))) {
        const QString v = flags.value(QStringLiteral("read-buffer-size"));
        if (!core::parseByteSize(v, &o.readBufferSize) || o.readBufferSize <= 0)
            return refuse(
                QStringLiteral("--read-buffer-size: '%1' is not a size such as 4Ki").arg(v));
    } else {
        if (auto r = integer(QStringLiteral("dapr-http-read-buffer-size"), &n); !r)
            return tl::unexpected(r.error());
        if (n <= 0 || n > (1 << 20))
            return refuse(QStringLiteral("--dapr-http-read-buffer-size: '%1' is not a positive "
                                         "number of KiB")
                              .arg(flags.value(QStringLiteral("dapr-http-read-buffer-size"))));
        o.readBufferSize = n << 10;
    }
    o.unixDomainSocket = flags.value(QStringLiteral("unix-domain-socket"));
    // daprd serves its gRPC API on 50001 unless told otherwise; taken, that default is left off
    // with a warning (core/host/sidecar.cpp), an explicit port is fatal.
    o.grpcPort = 50001;
    o.grpcPortIsDefault = !flags.isSet(QStringLiteral("dapr-grpc-port"));
    if (!o.grpcPortIsDefault) {
        if (auto r = port(QStringLiteral("dapr-grpc-port"), &o.grpcPort); !r)
            return tl::unexpected(r.error());
    }
    if (flags.isSet(QStringLiteral("dapr-block-shutdown-duration"))) {
        if (auto r = duration(QStringLiteral("dapr-block-shutdown-duration"), &c.blockShutdownMs);
            !r)
            return tl::unexpected(r.error());
    }

    // What Bindery does not do, refused where leaving it out would change what the app sees.
    const QString mode = flags.value(QStringLiteral("mode")).trimmed().toLower();
    if (mode == QStringLiteral("kubernetes"))
        return refuse(QStringLiteral("--mode kubernetes: Bindery runs in standalone mode only (no "
                                     "Kubernetes operator, injector or secret store)"));
    if (mode != QStringLiteral("standalone"))
        return refuse(
            QStringLiteral("--mode: '%1' is not a mode (daprd takes standalone or kubernetes)")
                .arg(flags.value(QStringLiteral("mode"))));
    if (!flags.value(QStringLiteral("dapr-public-port")).trimmed().isEmpty())
        return refuse(QStringLiteral("--dapr-public-port: Bindery serves /v1.0/healthz and "
                                     "/v1.0/metadata on the API port (--dapr-http-port) only, "
                                     "not on a separate public port"));
    if (flags.value(QStringLiteral("allowed-origins")).trimmed() != QStringLiteral("*"))
        return refuse(QStringLiteral("--allowed-origins: Bindery's API sends no CORS headers; "
                                     "only daprd's default '*' is supported"));

    for (const QString &name : flags.given()) {
        const auto reason = ignoredReasons().constFind(name);
        if (reason != ignoredReasons().cend())
            c.notes << QStringLiteral("flag --%1 is accepted for daprd compatibility and ignored: "
                                      "%2")
                           .arg(name, *reason);
    }
    o.apiToken = qgetenv("DAPR_API_TOKEN");
    o.appApiToken = qgetenv("APP_API_TOKEN");
    return c;
}

QString usage()
{
    QString text = QStringLiteral(
        "Usage: binderyd [flags]\n\nBindery's headless Dapr-compatible bindings runtime. It takes "
        "daprd 1.18's flags, so the Dapr CLI can run it as its daprd.\n\nFlags:\n");
    for (const FlagSpec &s : flagSpecs()) {
        QString left = QStringLiteral("  --") + s.name;
        if (s.kind != FlagKind::Bool)
            left += QStringLiteral(" value");
        text += left.leftJustified(42) + s.help;
        if (!s.defaultValue.isEmpty() && s.kind != FlagKind::Bool)
            text += QStringLiteral(" (default \"%1\")").arg(s.defaultValue);
        text += u'\n';
    }
    text += QStringLiteral("\nEnvironment: DAPR_API_TOKEN, APP_API_TOKEN as in daprd.\n");
    return text;
}

} // namespace bindery::app
