// SPDX-License-Identifier: Apache-2.0
// Secrets are never shown (issue 14, item 9): a URL's user-info password and every value taken
// from a secret store are masked as `***` (daprd's mask) in API answers, the log, the traffic log
// and the console. The masking itself (core/redact.h), then a real binderyd whose every output
// is searched for the secrets.
#include <QDir>
#include <QFile>
#include <QNetworkAccessManager>
#include <QProcess>
#include <QTcpServer>
#include <QTemporaryDir>
#include <QTest>

#include "core/api/dapr_errors.h"
#include "core/redact.h"
#include "core/secret_store.h"
#include "http_client.h"

using namespace bindery;
using namespace bindery::core;
using namespace bindery::tests;
using namespace Qt::Literals::StringLiterals;

namespace {

quint16 freePort()
{
    QTcpServer s;
    s.listen(QHostAddress::LocalHost, 0);
    return s.serverPort();
}

QString binderyd()
{
    return qEnvironmentVariable("BINDERY_BIN_DIR") + u"/binderyd"_s;
}

// The secrets of the binderyd runs: one written in a url, three from secret stores.
const QByteArray kUrlPassword = "UrlPassw0rd-4b1d";
const QByteArray kStoreUrlPassword = "StorePassw0rd-77e2";
const QByteArray kStoreRoot = "StoreRootSecret-93c0";
const QByteArray kEnvRoot = "EnvRootSecret-5f18";

// One component document; `store` names its auth.secretStore.
QByteArray component(const QByteArray &name, const QByteArray &type, const QByteArray &metadata,
                     const QByteArray &spec = {}, const QByteArray &store = {})
{
    QByteArray doc = "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: " + name
                     + "\nspec:\n  type: " + type + "\n  version: v1\n" + spec + "  metadata:\n"
                     + metadata;
    if (!store.isEmpty())
        doc += "auth:\n  secretStore: " + store + "\n";
    return doc + "---\n";
}

QByteArray secretRef(const QByteArray &field, const QByteArray &name)
{
    return "  - name: " + field + "\n    secretKeyRef:\n      name: " + name
           + "\n      key: " + name + "\n";
}

int secretsIn(const QByteArray &text)
{
    int n = 0;
    for (const QByteArray &s : {kUrlPassword, kStoreUrlPassword, kStoreRoot, kEnvRoot})
        n += text.count(s);
    return n;
}

} // namespace

class tst_Redact : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void masksUrlPasswords_data();
    void masksUrlPasswords();
    void learnsSecretStoreValuesAndUrlPasswords();
    void apiErrorsAreMaskedForEveryTransport();
    void binderydShowsNoSecret_data();
    void binderydShowsNoSecret();

private:
    QNetworkAccessManager m_nam;
};

void tst_Redact::masksUrlPasswords_data()
{
    QTest::addColumn<QString>("text");
    QTest::addColumn<QString>("masked");
    QTest::newRow("url") << u"http://user:pass@host/x"_s << u"http://user:***@host/x"_s;
    QTest::newRow("in a Go error") << uR"(Post "https://a:b%40c@h:8080/p?q=1": refused)"_s
                                   << uR"(Post "https://a:***@h:8080/p?q=1": refused)"_s;
    QTest::newRow("JSON-escaped") << uR"({"m":"Post \"http://u:p@h/\": x"})"_s
                                  << uR"({"m":"Post \"http://u:***@h/\": x"})"_s;
    QTest::newRow("two urls") << u"amqp://guest:guest@mq:5672 and redis://:tok@r"_s
                              << u"amqp://guest:***@mq:5672 and redis://:***@r"_s;
    QTest::newRow("user only") << u"http://user@host/"_s << u"http://user@host/"_s;
    QTest::newRow("no user info") << u"http://host:8080/a@b"_s << u"http://host:8080/a@b"_s;
    QTest::newRow("already masked") << u"http://u:***@h"_s << u"http://u:***@h"_s;
    QTest::newRow("no scheme") << u"://u:p@h"_s << u"://u:p@h"_s;
    QTest::newRow("at the end") << u"see ftp://x:y@"_s << u"see ftp://x:***@"_s;
}

void tst_Redact::masksUrlPasswords()
{
    QFETCH(QString, text);
    QFETCH(QString, masked);
    QCOMPARE(maskUrlPasswords(text), masked);
    QCOMPARE(maskUrlPasswords(text.toUtf8()), masked.toUtf8());
}

void tst_Redact::learnsSecretStoreValuesAndUrlPasswords()
{
    ComponentSpec c;
    c.name = u"c"_s;
    MetadataItem fromStore;
    fromStore.name = u"password"_s;
    fromStore.value = u"Tr0ub4dor&3"_s;
    fromStore.secretName = u"db"_s;
    fromStore.secretKey = u"password"_s;
    MetadataItem shortFromStore = fromStore;
    shortFromStore.name = u"port"_s;
    shortFromStore.value = u"42"_s;
    MetadataItem inline_;
    inline_.name = u"url"_s;
    inline_.value = u"http://svc:p%40ss-w0rd@h/"_s;
    MetadataItem plain;
    plain.name = u"topic"_s;
    plain.value = u"orders-topic"_s;
    c.items = {fromStore, shortFromStore, inline_, plain};
    Redactor r;
    r.learn({c});
    QCOMPARE(r.redact(u"login Tr0ub4dor&3 failed"_s), u"login *** failed"_s);
    QCOMPARE(r.redact(QByteArray("x=Tr0ub4dor&3")), QByteArray("x=***"));
    // The password of a url is learned as written and decoded, wherever it shows up later.
    QCOMPARE(r.redact(u"auth p@ss-w0rd / p%40ss-w0rd"_s), u"auth *** / ***"_s);
    // Too short to mask without garbling every message; plain values are not secrets.
    QCOMPARE(r.redact(u"port 42, topic orders-topic"_s), u"port 42, topic orders-topic"_s);
    QCOMPARE(r.size(), 3);
}

void tst_Redact::apiErrorsAreMaskedForEveryTransport()
{
    // DaprFailure is what the HTTP and the gRPC transports answer from: its message is masked
    // when made, and the JSON body masks again whatever was assigned later.
    api::DaprFailure f(api::DaprError::InvokeOutputBinding,
                       u"Post \"http://u:ApiPassw0rd-31@h/\": refused"_s);
    QCOMPARE(f.message, u"Post \"http://u:***@h/\": refused"_s);
    f.message = u"dial amqp://u:ApiPassw0rd-31@h"_s;
    QVERIFY(!f.jsonBody().contains("ApiPassw0rd-31"));
    QVERIFY(f.jsonBody().contains("amqp://u:***@h"));
}

void tst_Redact::binderydShowsNoSecret_data()
{
    QTest::addColumn<bool>("json");
    QTest::addColumn<bool>("fatalInit");
    QTest::newRow("text log, init errors ignored") << false << false;
    QTest::newRow("JSON log, init errors ignored") << true << false;
    QTest::newRow("text log, fatal init error") << false << true;
}

void tst_Redact::binderydShowsNoSecret()
{
    QFETCH(bool, json);
    QFETCH(bool, fatalInit);
    QVERIFY2(QFile::exists(binderyd()), qPrintable(binderyd()));
    QTemporaryDir dir;
    QVERIFY(QDir(dir.path()).mkpath(u"components"_s));
    const QByteArray refused = QByteArray::number(freePort()); // nothing listens there
    QFile secrets(dir.filePath(u"secrets.json"_s));
    QVERIFY(secrets.open(QIODevice::WriteOnly));
    secrets.write(R"({"storeurl":"http://bob:)" + kStoreUrlPassword + "@127.0.0.1:" + refused
                  + R"(/","rootpath":"/proc/)" + kStoreRoot + R"("})");
    secrets.close();
    const QByteArray ignore = fatalInit ? QByteArray() : QByteArray("  ignoreErrors: true\n");
    QByteArray yaml;
    yaml += component("vault", "secretstores.local.file",
                      "  - name: secretsFile\n    value: " + secrets.fileName().toUtf8() + "\n");
    yaml += component("envvault", "secretstores.local.env", "  - name: prefix\n    value: \"\"\n");
    yaml += component("leaky", "bindings.http",
                      "  - name: url\n    value: http://alice:" + kUrlPassword
                          + "@127.0.0.1:" + refused + "/\n");
    yaml += component("fromstore", "bindings.http", secretRef("url", "storeurl"), {}, "vault");
    yaml += component("badroot", "bindings.localstorage", secretRef("rootPath", "rootpath"), ignore,
                      "vault");
    yaml += component("badenvroot", "bindings.localstorage",
                      secretRef("rootPath", "BINDERY_TST_REDACT_ROOT"), ignore, "envvault");
    QFile file(dir.filePath(u"components/all.yaml"_s));
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.write(yaml);
    file.close();

    const quint16 httpPort = freePort();
    const QString trafficLog = dir.filePath(u"traffic.jsonl"_s);
    QStringList args{u"--app-id"_s,         u"redact"_s,
                     u"--dapr-http-port"_s, QString::number(httpPort),
                     u"--dapr-grpc-port"_s, QString::number(freePort()),
                     u"--resources-path"_s, dir.filePath(u"components"_s),
                     u"--traffic-log"_s,    trafficLog,
                     u"--log-level"_s,      u"debug"_s};
    if (json)
        args << u"--log-as-json"_s;
    QProcess d;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(u"BINDERY_TST_REDACT_ROOT"_s, u"/sys/"_s + QString::fromUtf8(kEnvRoot));
    d.setProcessEnvironment(env);
    d.setProcessChannelMode(QProcess::MergedChannels);
    d.start(binderyd(), args);
    QVERIFY(d.waitForStarted());

    if (fatalInit) {
        // The first bad component stops binderyd; its fatal line names the field, not the value.
        QVERIFY(d.waitForFinished(15000));
        QCOMPARE(d.exitCode(), 1);
        const QByteArray out = d.readAll();
        QCOMPARE(secretsIn(out), 0);
        QVERIFY2(out.contains("rootPath '***'"), out.constData());
        return;
    }

    const QUrl health(u"http://127.0.0.1:%1/v1.0/healthz/outbound"_s.arg(httpPort));
    QTRY_VERIFY2_WITH_TIMEOUT(d.state() == QProcess::Running
                                  && httpRequest(m_nam, "GET", health).status == 204,
                              d.peek(8192).constData(), 15000);
    QByteArray answers;
    for (const char *binding : {"leaky", "fromstore"}) {
        const HttpAnswer a
            = httpRequest(m_nam, "POST",
                          QUrl(u"http://127.0.0.1:%1/v1.0/bindings/%2"_s.arg(httpPort).arg(
                              QLatin1StringView(binding))),
                          R"({"operation":"post","data":"hello"})");
        QCOMPARE(a.status, 500);
        QVERIFY2(a.body.contains(QByteArray(QByteArray(":***@127.0.0.1:") + refused)),
                 a.body.constData());
        answers += a.body + '\n';
        for (const auto &[k, v] : a.headers)
            answers += k + ": " + v + '\n';
    }
    for (const char *path : {"/v1.0/metadata", "/v1.0/bindings/badroot"}) {
        const HttpAnswer a = httpRequest(
            m_nam, path == QByteArrayView("/v1.0/metadata") ? "GET" : "POST",
            QUrl(u"http://127.0.0.1:%1%2"_s.arg(httpPort).arg(QLatin1StringView(path))),
            path == QByteArrayView("/v1.0/metadata")
                ? QByteArray()
                : QByteArray(R"({"operation":"create","data":"x"})"));
        QVERIFY(a.status != 0);
        answers += a.body + '\n';
    }
    d.terminate();
    QVERIFY(d.waitForFinished(10000));
    QCOMPARE(d.exitCode(), 0);
    const QByteArray log = d.readAll();
    QFile traffic(trafficLog);
    QVERIFY(traffic.open(QIODevice::ReadOnly));
    const QByteArray records = traffic.readAll();

    qInfo("log %lld bytes, traffic log %lld bytes, answers %lld bytes; *** in each: %lld, %lld, "
          "%lld",
          qint64(log.size()), qint64(records.size()), qint64(answers.size()),
          qint64(log.count("***")), qint64(records.count("***")), qint64(answers.count("***")));
    QCOMPARE(secretsIn(log), 0);
    QCOMPARE(secretsIn(records), 0);
    QCOMPARE(secretsIn(answers), 0);
    // Both init errors were logged, with the value masked.
    QCOMPARE(log.count("rootPath '***'"), 2);
    // Two 500s, each in the traffic log with its error and the answer's body.
    QVERIFY2(records.count("***") >= 4, records.constData());
    QVERIFY2(answers.count("***") >= 2, answers.constData());
}

QTEST_GUILESS_MAIN(tst_Redact)
#include "tst_redact.moc"
