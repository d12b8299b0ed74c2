// SPDX-License-Identifier: Apache-2.0
// What the broker-backed integration tests share: real `binderyd` processes, the seed-style
// recording app (tests/integration/kafka/seed_app.py), component files, the traffic log, and the
// service scripts (scripts/services). Header-only; each test executable includes it once.
// tests/integration/kafka/kafka_it.h adds what only the Kafka and Event Hubs tests need.
#pragma once

#include <functional>
#include <memory>

#include <QDateTime>
#include <QElapsedTimer>
#include <QFile>
#include <QHash>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QMap>
#include <QNetworkAccessManager>
#include <QProcess>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QTest>

#include "tests/core/http_client.h"
#include "tests/core/test_paths.h"

namespace bindery::tests {

using namespace Qt::Literals::StringLiterals;

inline quint16 freePort()
{
    QTcpServer s;
    s.listen(QHostAddress::LocalHost, 0);
    return s.serverPort();
}

/// Spins the event loop (QNAM replies, process output) for `ms`.
inline void spin(int ms)
{
    QTest::qWait(ms);
}

/// A name no earlier run used: "<prefix>-<stem>-<ms>-<n>".
inline QString uniqueName(const QString &prefix, const QString &stem)
{
    static int counter = 0;
    return u"%1-%2-%3-%4"_s.arg(prefix, stem)
        .arg(QDateTime::currentMSecsSinceEpoch())
        .arg(++counter);
}

inline bool reachable(const QString &host, quint16 port)
{
    QTcpSocket s;
    s.connectToHost(host, port);
    return s.waitForConnected(2000);
}

/// The same for "host:port" (a broker list's entry).
inline bool reachable(const QString &hostPort)
{
    const qsizetype colon = hostPort.lastIndexOf(u':');
    return reachable(hostPort.left(colon), hostPort.mid(colon + 1).toUShort());
}

/// `scripts/services <args>`; its exit code (-1 when it hung), its output in `output`.
inline int runServices(const QStringList &args, QByteArray *output = nullptr)
{
    QProcess p;
    p.setProcessChannelMode(QProcess::MergedChannels);
    p.start(sourceDir() + u"/scripts/services"_s, args);
    if (!p.waitForFinished(180000))
        return -1;
    if (output)
        *output = p.readAll();
    return p.exitCode();
}

/// `scripts/services <args>` in the background, for a test that keeps working meanwhile (e.g. a
/// broker stopped and started while records flow).
class ServicesCall
{
public:
    explicit ServicesCall(const QStringList &args)
    {
        m_proc.setProcessChannelMode(QProcess::MergedChannels);
        m_proc.start(sourceDir() + u"/scripts/services"_s, args);
    }
    bool running() { return m_proc.state() != QProcess::NotRunning; }
    bool finishedOk(int ms = 180000)
    {
        if (m_proc.state() != QProcess::NotRunning && !m_proc.waitForFinished(ms))
            return false;
        return m_proc.exitStatus() == QProcess::NormalExit && m_proc.exitCode() == 0;
    }

private:
    QProcess m_proc;
};

/// The NAME=value lines of `scripts/services env <service>`; variables already in this process's
/// environment (named in `names`) win.
inline QHash<QString, QString> serviceEnv(const QString &service, const QStringList &names)
{
    QHash<QString, QString> vars;
    for (const QString &n : names) {
        if (qEnvironmentVariableIsSet(n.toLatin1().constData()))
            vars.insert(n, qEnvironmentVariable(n.toLatin1().constData()));
    }
    QProcess p;
    p.start(sourceDir() + u"/scripts/services"_s, {u"env"_s, service});
    if (p.waitForFinished(20000)) {
        for (const QByteArray &line : p.readAllStandardOutput().split('\n')) {
            const qsizetype eq = line.indexOf('=');
            if (eq > 0 && !vars.contains(QString::fromUtf8(line.left(eq))))
                vars.insert(QString::fromUtf8(line.left(eq)),
                            QString::fromUtf8(line.mid(eq + 1)).trimmed());
        }
    }
    return vars;
}

inline bool writeFile(const QString &path, const QByteArray &content)
{
    QFile f(path);
    return f.open(QIODevice::WriteOnly) && f.write(content) == content.size();
}

inline QByteArray readFile(const QString &path)
{
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

/// A component file: `items` in order; values with newlines (PEM) as YAML block scalars.
inline QByteArray componentYaml(const QString &name, const QString &type,
                                const QList<QPair<QString, QString>> &items)
{
    QByteArray y
        = "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: " + name.toUtf8()
          + "\nspec:\n  type: " + type.toUtf8() + "\n  version: v1\n  metadata:\n";
    for (const auto &[k, v] : items) {
        QByteArray value = v.toUtf8();
        if (value.contains('\n')) {
            QByteArray block = "|\n";
            for (const QByteArray &l : value.split('\n'))
                block += "        " + l + '\n';
            y += "  - name: " + k.toUtf8() + "\n    value: " + block;
        } else {
            y += "  - name: " + k.toUtf8() + "\n    value: \"" + value + "\"\n";
        }
    }
    return y;
}

/// The JSON objects of JSON-lines text (a traffic log, a journal, a tool's -J output); lines that
/// are empty or not an object are passed over.
inline QList<QJsonObject> jsonLines(const QByteArray &text)
{
    QList<QJsonObject> out;
    for (const QByteArray &line : text.split('\n')) {
        const QJsonObject o = QJsonDocument::fromJson(line).object();
        if (!o.isEmpty())
            out << o;
    }
    return out;
}

/// The records of a --traffic-log file of one `kind` ("input", "output", "connection"), those
/// whose JSON contains `needle` when given.
inline QList<QJsonObject> trafficRecords(const QString &path, const QString &kind,
                                         const QString &needle = {})
{
    QList<QJsonObject> out;
    for (const QJsonObject &o : jsonLines(readFile(path))) {
        if (o.value(u"kind"_s).toString() != kind)
            continue;
        if (!needle.isEmpty()
            && !QJsonDocument(o).toJson(QJsonDocument::Compact).contains(needle.toUtf8()))
            continue;
        out << o;
    }
    return out;
}

/// The test function's own folder (component files, traffic logs): fresh for each function from
/// renew() (a test class's init()), removed by release() (its cleanup()) unless the function
/// failed, when it is kept and its path logged.
class TestFolder
{
public:
    bool renew()
    {
        m_dir = std::make_unique<QTemporaryDir>();
        return m_dir->isValid();
    }
    void release()
    {
        if (m_dir && QTest::currentTestFailed()) {
            m_dir->setAutoRemove(false);
            qWarning("kept %s", qPrintable(m_dir->path()));
        }
        m_dir.reset();
    }
    QTemporaryDir *operator->() const { return m_dir.get(); }

private:
    std::unique_ptr<QTemporaryDir> m_dir;
};

/// True when binderyd is built where the tests look for it (BINDERY_BIN_DIR).
inline bool binderydBuilt()
{
    return QFile::exists(binDir() + u"/binderyd"_s);
}

/// The seed-style Flask app (tests/integration/kafka/seed_app.py) in its own process: records
/// every POST, answers as configured.
class RecordingApp
{
public:
    /// `port` 0 picks a free one; a `journal` file keeps every delivery across restarts (one JSON
    /// line each: {body, status, headers}).
    bool start(quint16 port = 0, const QString &journal = {})
    {
        m_port = port ? port : freePort();
        m_proc.setProcessChannelMode(QProcess::MergedChannels);
        QStringList args{sourceDir() + u"/tests/integration/kafka/seed_app.py"_s,
                         QString::number(m_port)};
        if (!journal.isEmpty())
            args << journal;
        m_proc.start(u"python3"_s, args);
        if (!m_proc.waitForStarted(5000))
            return false;
        for (int i = 0; i < 100; ++i) {
            if (httpRequest(m_nam, "GET", url(u"/_records"_s), {}, {}, 1000).status == 200)
                return true;
            spin(100);
        }
        return false;
    }
    ~RecordingApp() { stop(); }
    /// The app goes away: its port refuses connections until start() again.
    void stop()
    {
        if (m_proc.state() != QProcess::NotRunning) {
            m_proc.terminate();
            if (!m_proc.waitForFinished(5000))
                m_proc.kill();
            m_proc.waitForFinished(2000);
        }
    }
    quint16 port() const { return m_port; }
    QUrl url(const QString &path) const
    {
        return QUrl(u"http://127.0.0.1:%1%2"_s.arg(m_port).arg(path));
    }
    /// Answer `status` (after `delayMs`), but 500 to the next `failFirst` deliveries.
    void configure(int status, int delayMs = 0, int failFirst = 0)
    {
        httpRequest(m_nam, "POST", url(u"/_config"_s),
                    u"{\"status\":%1,\"delayMs\":%2,\"failFirst\":%3}"_s.arg(status)
                        .arg(delayMs)
                        .arg(failFirst)
                        .toUtf8());
    }
    void clear() { httpRequest(m_nam, "POST", url(u"/_clear"_s)); }
    /// Every delivery so far: {path, headers, body, t0, t1, status}.
    QJsonArray records()
    {
        return QJsonDocument::fromJson(httpRequest(m_nam, "GET", url(u"/_records"_s)).body).array();
    }
    /// Records whose body contains `needle`.
    QList<QJsonObject> recordsWith(const QString &needle)
    {
        QList<QJsonObject> out;
        for (const QJsonValue &v : records()) {
            if (v.toObject().value(u"body"_s).toString().contains(needle))
                out << v.toObject();
        }
        return out;
    }

private:
    QProcess m_proc;
    quint16 m_port = 0;
    QNetworkAccessManager m_nam;
};

/// A real binderyd process.
class Daemon
{
public:
    ~Daemon() { stop(); }
    /// Starts binderyd; true once /v1.0/healthz answers. False if it exited (init error) or hung.
    /// `launched` runs right after the process started, before waiting for health (e.g. to
    /// start the app then, as the Kafka seed's sequence does).
    bool start(const QString &resources, quint16 appPort, const QString &trafficLog = {},
               const QString &libraryPath = {}, const QString &appId = u"it"_s,
               const std::function<void()> &launched = {})
    {
        m_port = freePort();
        QStringList args{u"--app-id"_s,         appId,
                         u"--dapr-http-port"_s, QString::number(m_port),
                         u"--resources-path"_s, resources};
        if (appPort)
            args << u"--app-port"_s << QString::number(appPort);
        if (!trafficLog.isEmpty())
            args << u"--traffic-log"_s << trafficLog;
        m_proc = std::make_unique<QProcess>();
        m_proc->setProcessChannelMode(QProcess::MergedChannels);
        if (!libraryPath.isEmpty() || !m_env.isEmpty()) {
            QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
            if (!libraryPath.isEmpty())
                env.insert(u"LD_LIBRARY_PATH"_s, libraryPath);
            for (auto it = m_env.cbegin(); it != m_env.cend(); ++it)
                env.insert(it.key(), it.value());
            m_proc->setProcessEnvironment(env);
        }
        m_proc->start(binDir() + u"/binderyd"_s, args);
        if (!m_proc->waitForStarted(5000))
            return false;
        if (launched)
            launched();
        QElapsedTimer t;
        t.start();
        while (t.elapsed() < 20000) {
            if (m_proc->state() == QProcess::NotRunning)
                return false;
            if (httpRequest(m_nam, "GET", url(u"/v1.0/healthz"_s), {}, {}, 1000).status == 204)
                return true;
            spin(100);
        }
        return false;
    }
    /// SIGTERM (graceful: inputs stop, acknowledgements are sent, offsets committed) and wait.
    void stop()
    {
        if (!m_proc || m_proc->state() == QProcess::NotRunning)
            return;
        m_proc->terminate();
        if (!m_proc->waitForFinished(20000)) {
            m_proc->kill();
            m_proc->waitForFinished(5000);
        }
    }
    /// SIGKILL: no commit, no goodbye (a crash).
    void kill()
    {
        if (m_proc && m_proc->state() != QProcess::NotRunning) {
            m_proc->kill();
            m_proc->waitForFinished(5000);
        }
    }
    /// An environment variable for the next start().
    void setEnv(const QString &name, const QString &value) { m_env.insert(name, value); }
    /// Waits for the process to exit by itself (init failure); its exit code, or -1.
    int waitExit(int ms)
    {
        if (!m_proc->waitForFinished(ms))
            return -1;
        return m_proc->exitCode();
    }
    QByteArray output()
    {
        if (m_proc)
            m_output += m_proc->readAll();
        return m_output;
    }
    QUrl url(const QString &path) const
    {
        return QUrl(u"http://127.0.0.1:%1%2"_s.arg(m_port).arg(path));
    }
    quint16 port() const { return m_port; }
    HttpAnswer post(const QString &binding, const QByteArray &body, int timeoutMs = 30000)
    {
        return httpRequest(m_nam, "POST", url(u"/v1.0/bindings/"_s + binding), body, {}, timeoutMs);
    }
    QNetworkAccessManager &nam() { return m_nam; }

private:
    std::unique_ptr<QProcess> m_proc;
    QMap<QString, QString> m_env;
    quint16 m_port = 0;
    QByteArray m_output;
    QNetworkAccessManager m_nam;
};

} // namespace bindery::tests
