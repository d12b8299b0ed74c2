// SPDX-License-Identifier: Apache-2.0
// daprd's HTTP API for bindings (reference §1.5, §6 and Bindery's §0), against an in-process
// Runtime on an ephemeral port, driven by QNetworkAccessManager (issue 2).
#include <memory>

#include <nlohmann/json.hpp>

#include <QDateTime>
#include <QDir>
#include <QLocale>
#include <QTimeZone>
#include <QFile>
#include <QHttpServer>
#include <QHttpServerResponse>
#include <QTcpServer>
#include <QTemporaryDir>
#include <QTest>

#include "core/binding_registry.h"
#include "core/runtime.h"
#include "core/traffic.h"
#include "http_client.h"
#include "raw_http.h"
#include "sidecar_fixture.h"

using namespace bindery::core;
using namespace bindery::tests;
using namespace Qt::Literals::StringLiterals;

namespace {

void writeFile(const QString &path, const QByteArray &text)
{
    QFile f(path);
    if (!f.open(QIODevice::WriteOnly) || f.write(text) != text.size())
        qFatal("cannot write %s", qPrintable(path));
}

QByteArray componentYaml(const QByteArray &name, const QByteArray &type, const QByteArray &items)
{
    return "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: " + name
           + "\nspec:\n  type: " + type + "\n  version: v1\n  metadata:\n" + items;
}

nlohmann::json json(const QByteArray &body)
{
    return nlohmann::json::parse(body.toStdString(), nullptr, false);
}

} // namespace

class tst_ApiServer : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void cleanupTestCase();

    void answersStatusCodeTable_data();
    void answersStatusCodeTable();
    void acceptsPutLikePost();
    void reencodesDataBeforeTheBindingSeesIt();
    void treatsMissingOperationAsCreate();
    void defaultsGetAndDeleteOperationsAndReadsQueryMetadata();
    void returnsMetadataHeadersCaseInsensitively();
    void returnsMetadataHeadersWithComponentErrors();
    void forwardsTraceContextAndValidatesBaggage();
    void answersManyConcurrentRequests();
    void recordsEveryRequestInTheTrafficStream();
    void refusesBodiesAboveMaxBodySizeWithoutHanging();
    void checksDaprApiTokenExceptOnHealthz();
    void servesMetadataInDaprShape();
    void storesExtendedMetadataWithPut();
    void reportsHealthAndOutboundHealth();
    void matchesRequestKeysCaseInsensitivelyAsGo();
    void takesANullMetadataValueAsEmpty();
    void replacesInvalidUtf8WithTheReplacementCharacter();
    void answersOutOfRangeNumbersWith400();
    void answersTraceHeadersOnEveryResponseButHealth();
    void framesResponsesAsGoDoes();
    void servesDaprdsMetadataFields();
    void reportsInitializingUntilTheAppIsUp();
    void servesTheSecretsApi_data();
    void servesTheSecretsApi();
    void servesNoSecretsWithoutAStoreOrAToken();
    void answersOtherBuildingBlocksAsMissing_data();
    void answersOtherBuildingBlocksAsMissing();

private:
    HttpAnswer call(const QByteArray &method, const QString &path, const QByteArray &body = {},
                    const QList<QPair<QByteArray, QByteArray>> &headers = {}, quint16 port = 0);
    std::unique_ptr<Sidecar> startRuntime(RuntimeOptions o);
    /// A sidecar whose app port (returned in `appPort`) nobody listens on yet.
    std::unique_ptr<Sidecar> startWaitingForApp(quint16 *appPort);

    QTemporaryDir m_dir;
    BindingRegistry m_registry;
    TrafficStream m_traffic{100000};
    std::unique_ptr<Sidecar> m_runtime;
    QNetworkAccessManager m_nam;
    QHttpServer m_upstream;
    quint16 m_upstreamPort = 0;
};

std::unique_ptr<Sidecar> tst_ApiServer::startRuntime(RuntimeOptions o)
{
    auto rt = std::make_unique<Sidecar>(std::move(o), m_registry, m_traffic);
    if (!rt->startAndWait())
        qWarning("runtime did not start: %s", qPrintable(rt->lastError()));
    return rt;
}

std::unique_ptr<Sidecar> tst_ApiServer::startWaitingForApp(quint16 *appPort)
{
    QTcpServer probe;
    if (!probe.listen(QHostAddress::LocalHost, 0))
        return nullptr;
    *appPort = probe.serverPort();
    probe.close();
    RuntimeOptions o;
    o.httpPort = 0;
    o.appPort = *appPort;
    return startRuntime(o);
}

HttpAnswer tst_ApiServer::call(const QByteArray &method, const QString &path,
                               const QByteArray &body,
                               const QList<QPair<QByteArray, QByteArray>> &headers, quint16 port)
{
    const quint16 p = port ? port : m_runtime->httpPort();
    return httpRequest(m_nam, method, QUrl(u"http://127.0.0.1:%1%2"_s.arg(p).arg(path)), body,
                       headers);
}

void tst_ApiServer::initTestCase()
{
    QVERIFY(m_dir.isValid());
    registerBuiltinBindings(m_registry);
    registerLoopbackBinding(m_registry);

    // The http binding's upstream: a real local server answering by path.
    m_upstream.route(u"/fail"_s, []() {
        QHttpServerResponse r("upstream is down",
                              QHttpServerResponse::StatusCode::ServiceUnavailable);
        r.addHeader("X-Upstream", "yes");
        return r;
    });
    m_upstreamPort = m_upstream.listen(QHostAddress::LocalHost, 0);
    QVERIFY(m_upstreamPort != 0);

    const QString components = m_dir.filePath(u"components"_s);
    QDir().mkpath(components);
    writeFile(components + u"/loop.yaml"_s,
              componentYaml("loop", "bindings.loopback", "  - name: capacity\n    value: 10\n"));
    writeFile(components + u"/files.yaml"_s,
              componentYaml("files", "bindings.localstorage",
                            "  - name: rootPath\n    value: "
                                + m_dir.filePath(u"storage"_s).toUtf8() + "\n"));
    writeFile(m_dir.filePath(u"secrets.json"_s),
              R"({"db": {"user": "admin", "pass": "p<w>&d"}, "plain": "value1"})");
    writeFile(components + u"/secrets.yaml"_s,
              componentYaml("filesecrets", "secretstores.local.file",
                            "  - name: secretsFile\n    value: "
                                + m_dir.filePath(u"secrets.json"_s).toUtf8() + "\n")
                  + "---\n"
                  + componentYaml("multisecrets", "secretstores.local.file",
                                  "  - name: secretsFile\n    value: "
                                      + m_dir.filePath(u"secrets.json"_s).toUtf8()
                                      + "\n  - name: multiValued\n    value: \"true\"\n")
                  + "---\n" + componentYaml("envsecrets", "secretstores.local.env", "    []\n"));
    qputenv("BINDERY_TST_SECRET", "from-env");
    qputenv("DAPR_TST_HIDDEN", "never-served");
    writeFile(components + u"/upstream.yaml"_s,
              componentYaml("upstream", "bindings.http",
                            "  - name: url\n    value: http://127.0.0.1:"
                                + QByteArray::number(m_upstreamPort) + "\n"));
    RuntimeOptions o;
    o.appId = u"api-test"_s;
    o.httpPort = 0;
    o.resourcesPaths = {components};
    m_runtime = startRuntime(o);
    QCOMPARE(m_runtime->state(), RuntimeState::Running);
    QVERIFY(m_runtime->httpPort() != 0);
    QCOMPARE(m_runtime->components().size(), 6);
    for (const ComponentStatus &c : m_runtime->components())
        QVERIFY2(c.state == ComponentState::Loaded, qPrintable(c.name + u": "_s + c.error));
}

void tst_ApiServer::cleanupTestCase()
{
    m_runtime.reset();
}

void tst_ApiServer::answersStatusCodeTable_data()
{
    QTest::addColumn<QByteArray>("method");
    QTest::addColumn<QString>("path");
    QTest::addColumn<QByteArray>("body");
    QTest::addColumn<int>("status");
    QTest::addColumn<QByteArray>("expectedBody"); // exact, or "errorCode|message prefix" for errors

    const QByteArray err = "ERR_INVOKE_OUTPUT_BINDING|";
    QTest::newRow("200 with data") << QByteArray("POST") << u"/v1.0/bindings/loop"_s
                                   << QByteArray(R"({"operation":"echo","data":{"message":"Hi"}})")
                                   << 200 << QByteArray(R"({"message":"Hi"})");
    QTest::newRow("200 with empty data (null)")
        << QByteArray("POST") << u"/v1.0/bindings/loop"_s << QByteArray(R"({"operation":"echo"})")
        << 200 << QByteArray("null");
    QTest::newRow("204") << QByteArray("POST") << u"/v1.0/bindings/loop"_s
                         << QByteArray(R"({"operation":"create","data":"x"})") << 204
                         << QByteArray();
    QTest::newRow("400 bad JSON") << QByteArray("POST") << u"/v1.0/bindings/loop"_s
                                  << QByteArray("{\"operation\": ec") << 400
                                  << QByteArray(
                                         "ERR_MALFORMED_REQUEST|failed deserializing HTTP body: ");
    QTest::newRow("400 not JSON at all")
        << QByteArray("POST") << u"/v1.0/bindings/loop"_s << QByteArray("hello") << 400
        << QByteArray(
               "ERR_MALFORMED_REQUEST|failed deserializing HTTP body: invalid character 'h'");
    QTest::newRow("400 empty body (EOF)")
        << QByteArray("POST") << u"/v1.0/bindings/loop"_s << QByteArray() << 400
        << QByteArray("ERR_MALFORMED_REQUEST|failed deserializing HTTP body: EOF");
    QTest::newRow("400 metadata number")
        << QByteArray("POST") << u"/v1.0/bindings/loop"_s
        << QByteArray(R"({"operation":"echo","metadata":{"n":1}})") << 400
        << QByteArray("ERR_MALFORMED_REQUEST|failed deserializing HTTP body: json: cannot "
                      "unmarshal number");
    QTest::newRow("400 metadata bool")
        << QByteArray("POST") << u"/v1.0/bindings/loop"_s
        << QByteArray(R"({"operation":"echo","metadata":{"b":true}})") << 400
        << QByteArray(
               "ERR_MALFORMED_REQUEST|failed deserializing HTTP body: json: cannot unmarshal bool");
    QTest::newRow("400 operation number")
        << QByteArray("POST") << u"/v1.0/bindings/loop"_s << QByteArray(R"({"operation":5})") << 400
        << QByteArray("ERR_MALFORMED_REQUEST|failed deserializing HTTP body: json: cannot "
                      "unmarshal number");
    QTest::newRow("400 nesting deeper than Go's 10000 (no crash)")
        << QByteArray("POST") << u"/v1.0/bindings/loop"_s
        << R"({"operation":"echo","data":)" + QByteArray(200000, '[') + QByteArray(200000, ']')
               + "}"
        << 400
        << QByteArray("ERR_MALFORMED_REQUEST|failed deserializing HTTP body: invalid character '[' "
                      "exceeded max depth");
    QTest::newRow("400 body is an array")
        << QByteArray("POST") << u"/v1.0/bindings/loop"_s << QByteArray("[1]") << 400
        << QByteArray("ERR_MALFORMED_REQUEST|failed deserializing HTTP body: json: cannot "
                      "unmarshal array");
    QTest::newRow("500 unknown binding")
        << QByteArray("POST") << u"/v1.0/bindings/nosuch"_s
        << QByteArray(R"({"operation":"create"})") << 500
        << err + "error invoking output binding nosuch: couldn't find output binding nosuch";
    QTest::newRow("500 name is case-sensitive")
        << QByteArray("POST") << u"/v1.0/bindings/LOOP"_s << QByteArray(R"({"operation":"echo"})")
        << 500 << err + "error invoking output binding LOOP: couldn't find output binding LOOP";
    QTest::newRow("500 unsupported operation")
        << QByteArray("POST") << u"/v1.0/bindings/files"_s
        << QByteArray(R"({"operation":"explode"})") << 500
        << err
               + "error invoking output binding files: binding files does not support "
                 "operation explode. supported operations:create get delete list";
    QTest::newRow("500 component error")
        << QByteArray("POST") << u"/v1.0/bindings/files"_s
        << QByteArray(R"({"operation":"get","metadata":{"fileName":"none.txt"}})") << 500
        << err + "error invoking output binding files: file not found: ";
    QTest::newRow("trailing slash stripped")
        << QByteArray("POST") << u"/v1.0/bindings/loop/"_s
        << QByteArray(R"({"operation":"echo","data":1})") << 200 << QByteArray("1");
    QTest::newRow("name is URL-unescaped")
        << QByteArray("POST") << u"/v1.0/bindings/lo%6Fp"_s
        << QByteArray(R"({"operation":"echo","data":2})") << 200 << QByteArray("2");
    QTest::newRow("unknown fields ignored")
        << QByteArray("POST") << u"/v1.0/bindings/loop"_s
        << QByteArray(R"({"operation":"echo","data":3,"extra":{"x":1}})") << 200 << QByteArray("3");
    QTest::newRow("only the first JSON value is read")
        << QByteArray("POST") << u"/v1.0/bindings/loop"_s
        << QByteArray(R"({"operation":"echo","data":4} trailing)") << 200 << QByteArray("4");
    QTest::newRow("404 other paths (no app id: service invocation)")
        << QByteArray("GET") << u"/v1.0/nothing/here"_s << QByteArray() << 404
        << QByteArray("ERR_DIRECT_INVOKE|failed getting app id either from the URL path or the "
                      "header dapr-app-id");
    QTest::newRow("404 a path below a binding")
        << QByteArray("POST") << u"/v1.0/bindings/loop/extra"_s
        << QByteArray(R"({"operation":"echo"})") << 404
        << QByteArray("ERR_DIRECT_INVOKE|failed getting app id either from the URL path or the "
                      "header dapr-app-id");
}

void tst_ApiServer::answersStatusCodeTable()
{
    QFETCH(QByteArray, method);
    QFETCH(QString, path);
    QFETCH(QByteArray, body);
    QFETCH(int, status);
    QFETCH(QByteArray, expectedBody);
    const HttpAnswer a = call(method, path, body);
    QVERIFY2(!a.timedOut, "no answer");
    QCOMPARE(a.status, status);
    if (status == 204) {
        QVERIFY(a.body.isEmpty());
        QVERIFY(!a.hasHeader("Content-Type")); // respondWithEmpty sets none
        return;
    }
    QCOMPARE(a.header("Content-Type"), QByteArray("application/json"));
    if (status < 400) {
        QCOMPARE(a.body, expectedBody);
        return;
    }
    const QList<QByteArray> parts = expectedBody.split('|');
    const nlohmann::json j = json(a.body);
    QVERIFY2(j.is_object() && j.size() == 2, a.body.constData());
    QCOMPARE(QByteArray::fromStdString(j.value("errorCode", "")), parts[0]);
    const QByteArray message = QByteArray::fromStdString(j.value("message", ""));
    QVERIFY2(message.startsWith(parts[1]), message.constData());
    if (status == 500 && !parts[1].endsWith(": "))
        QCOMPARE(message, parts[1]); // the exact daprd message
}

void tst_ApiServer::acceptsPutLikePost()
{
    const HttpAnswer a
        = call("PUT", u"/v1.0/bindings/loop"_s, R"({"operation":"echo","data":[1,2]})");
    QCOMPARE(a.status, 200);
    QCOMPARE(a.body, QByteArray("[1,2]"));
}

void tst_ApiServer::reencodesDataBeforeTheBindingSeesIt()
{
    // echo answers the bytes the binding received: daprd's json.Marshal(req.Data).
    const HttpAnswer a
        = call("POST", u"/v1.0/bindings/loop"_s,
               R"({"operation":"echo","data":{ "z": 1.0, "a": "<b>&", "n": 1e21 }})");
    QCOMPARE(a.status, 200);
    QCOMPARE(a.body, QByteArray(R"({"a":"\u003cb\u003e\u0026","n":1e+21,"z":1})"));
    const HttpAnswer s
        = call("POST", u"/v1.0/bindings/loop"_s, R"({"operation":"echo","data":"hello"})");
    QCOMPARE(s.body, QByteArray(R"("hello")")); // quotes kept
}

void tst_ApiServer::treatsMissingOperationAsCreate()
{
    // The seed's own request (Bindery §0.1).
    const HttpAnswer a = call(
        "POST", u"/v1.0/bindings/files"_s,
        R"({"data": {"message": "Hi"}, "metadata": {"fileName": "seed.json", "key": "redis-key-1"}})");
    QCOMPARE(a.status, 200);
    QCOMPARE(a.body, QByteArray(R"({"fileName":"seed.json"})"));
    QFile f(m_dir.filePath(u"storage/seed.json"_s));
    QVERIFY(f.open(QIODevice::ReadOnly));
    QCOMPARE(f.readAll(), QByteArray(R"({"message":"Hi"})"));
    // The loopback has create: no operation means create there too (204).
    QCOMPARE(call("POST", u"/v1.0/bindings/loop"_s, R"({"data": 1})").status, 204);
}

void tst_ApiServer::defaultsGetAndDeleteOperationsAndReadsQueryMetadata()
{
    QCOMPARE(
        call("POST", u"/v1.0/bindings/files?metadata.fileName=q.txt"_s, R"({"data":"plain text!"})")
            .status,
        200);
    const HttpAnswer got = call("GET", u"/v1.0/bindings/files?metadata.fileName=q.txt"_s);
    QCOMPARE(got.status, 200);
    QCOMPARE(got.body, QByteArray("plain text!"));
    // A body's operation still wins over the method's default.
    const HttpAnswer listed = call("GET", u"/v1.0/bindings/files"_s, R"({"operation":"list"})");
    QCOMPARE(listed.status, 200);
    QVERIFY2(listed.body.contains("q.txt"), listed.body.constData());
    QCOMPARE(call("DELETE", u"/v1.0/bindings/files?metadata.fileName=q.txt"_s).status, 204);
    const HttpAnswer gone = call("GET", u"/v1.0/bindings/files?metadata.fileName=q.txt"_s);
    QCOMPARE(gone.status, 500);
    QVERIFY(gone.body.contains("file not found"));
    // Query metadata is merged with body metadata; echo reflects both as headers.
    const HttpAnswer echo = call("POST", u"/v1.0/bindings/loop?metadata.fromQuery=1&other=x"_s,
                                 R"({"operation":"echo","metadata":{"fromBody":"2"}})");
    QCOMPARE(echo.header("metadata.fromQuery"), QByteArray("1"));
    QCOMPARE(echo.header("metadata.fromBody"), QByteArray("2"));
    QVERIFY(!echo.hasHeader("metadata.other"));
}

void tst_ApiServer::returnsMetadataHeadersCaseInsensitively()
{
    const HttpAnswer a = call(
        "POST", u"/v1.0/bindings/loop"_s,
        R"({"operation":"echo","data":1,"metadata":{"statusCode":"201","Content-Type":"text/plain"}})");
    QCOMPARE(a.status, 200);
    QCOMPARE(a.header("METADATA.STATUSCODE"), QByteArray("201"));
    QCOMPARE(a.header("metadata.statuscode"), QByteArray("201"));
    QCOMPARE(a.header("metadata.content-type"), QByteArray("text/plain"));
    // Go canonicalises the names on the wire; the body's Content-Type is still application/json.
    bool canonical = false;
    for (const auto &[k, v] : a.headers)
        canonical |= k == "Metadata.statuscode";
    QVERIFY(canonical);
    QCOMPARE(a.header("Content-Type"), QByteArray("application/json"));
}

void tst_ApiServer::returnsMetadataHeadersWithComponentErrors()
{
    const HttpAnswer a = call("POST", u"/v1.0/bindings/upstream"_s,
                              R"({"operation":"get","metadata":{"path":"/fail"}})");
    QCOMPARE(a.status, 500);
    const nlohmann::json j = json(a.body);
    QCOMPARE(QByteArray::fromStdString(j.value("errorCode", "")),
             QByteArray("ERR_INVOKE_OUTPUT_BINDING"));
    QCOMPARE(QByteArray::fromStdString(j.value("message", "")),
             QByteArray("error invoking output binding upstream: received status code 503"));
    QCOMPARE(a.header("metadata.statusCode"), QByteArray("503"));
    QCOMPARE(a.header("metadata.status"), QByteArray("503 Service Unavailable"));
    QCOMPARE(a.header("metadata.x-upstream"), QByteArray("yes"));
    QCOMPARE(a.header("Content-Type"), QByteArray("application/json"));
}

void tst_ApiServer::forwardsTraceContextAndValidatesBaggage()
{
    const QByteArray tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    const HttpAnswer a = call(
        "POST", u"/v1.0/bindings/loop"_s, R"({"operation":"echo"})",
        {{"traceparent", tp}, {"tracestate", "k=v"}, {"baggage", "user=alice;p=1, tenant=t1"}});
    QCOMPARE(a.status, 200);
    QCOMPARE(a.header("metadata.traceparent"), tp); // echo reflects what the binding received
    QCOMPARE(a.header("metadata.tracestate"), QByteArray("k=v"));
    QCOMPARE(a.header("metadata.baggage"), QByteArray("user=alice;p=1, tenant=t1"));
    // daprd's tracing middleware answers an invalid baggage with Go's http.Error (issue 9.15).
    const HttpAnswer bad = call("POST", u"/v1.0/bindings/loop"_s, R"({"operation":"echo"})",
                                {{"baggage", "no-equals-sign"}});
    QCOMPARE(bad.status, 400);
    QCOMPARE(bad.header("Content-Type"), QByteArray("text/plain; charset=utf-8"));
    QCOMPARE(bad.header("X-Content-Type-Options"), QByteArray("nosniff"));
    QCOMPARE(bad.body, QByteArray("invalid baggage header: invalid baggage list-member: "
                                  "\"no-equals-sign\"\n"));
    // An invalid traceparent is ignored, not forwarded.
    const HttpAnswer ignored = call("POST", u"/v1.0/bindings/loop"_s, R"({"operation":"echo"})",
                                    {{"traceparent", "garbage"}});
    QCOMPARE(ignored.status, 200);
    QVERIFY(!ignored.hasHeader("metadata.traceparent"));
}

void tst_ApiServer::answersManyConcurrentRequests()
{
    // Invokes are asynchronous: many in flight at once all complete with their own answer.
    constexpr int n = 64;
    QList<QNetworkReply *> replies;
    for (int i = 0; i < n; ++i) {
        QNetworkRequest req(
            QUrl(u"http://127.0.0.1:%1/v1.0/bindings/files"_s.arg(m_runtime->httpPort())));
        req.setRawHeader("Content-Type", "application/json");
        const QByteArray body = R"({"operation":"create","data":{"i":)" + QByteArray::number(i)
                                + R"(},"metadata":{"fileName":"c/)" + QByteArray::number(i)
                                + R"(.json"}})";
        replies << m_nam.post(req, body);
    }
    QTRY_VERIFY_WITH_TIMEOUT(std::all_of(replies.begin(), replies.end(),
                                         [](QNetworkReply *r) { return r->isFinished(); }),
                             20000);
    for (int i = 0; i < n; ++i) {
        QCOMPARE(replies[i]->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt(), 200);
        QCOMPARE(replies[i]->readAll(),
                 R"({"fileName":"c/)" + QByteArray::number(i) + R"(.json"})");
        replies[i]->deleteLater();
    }
    const HttpAnswer list = call("POST", u"/v1.0/bindings/files"_s,
                                 R"({"operation":"list","metadata":{"fileName":"c"}})");
    QCOMPARE(json(list.body).size(), size_t(n));
}

void tst_ApiServer::recordsEveryRequestInTheTrafficStream()
{
    m_traffic.drain();
    QCOMPARE(call("POST", u"/v1.0/bindings/loop"_s,
                  R"({"operation":"echo","data":"t","metadata":{"k":"v"}})")
                 .status,
             200);
    QCOMPARE(call("POST", u"/v1.0/bindings/nosuch"_s, R"({"operation":"x"})").status, 500);
    std::vector<TrafficRecord> recs = m_traffic.drain();
    QCOMPARE(recs.size(), size_t(2));
    QCOMPARE(recs[0].kind, TrafficRecord::Kind::Output);
    QCOMPARE(recs[0].binding, u"loop"_s);
    QCOMPARE(recs[0].bindingType, u"bindings.loopback"_s);
    QCOMPARE(recs[0].operation, u"echo"_s);
    QCOMPARE(recs[0].payload, QByteArray(R"("t")"));
    QCOMPARE(recs[0].status, 200);
    QVERIFY(recs[0].ok);
    QCOMPARE(recs[0].responseBody, QByteArray(R"("t")"));
    QCOMPARE(recs[0].metadata, (Headers{{u"k"_s, u"v"_s}}));
    QCOMPARE(recs[0].responseHeaders, (Headers{{u"Metadata.k"_s, u"v"_s}}));
    QVERIFY(recs[0].id != recs[1].id);
    QVERIFY(recs[0].latencyUs >= 0 && recs[0].startedUs > 0);
    QCOMPARE(recs[1].status, 500);
    QVERIFY(!recs[1].ok);
    QCOMPARE(recs[1].errorCode, u"ERR_INVOKE_OUTPUT_BINDING"_s);
}

void tst_ApiServer::refusesBodiesAboveMaxBodySizeWithoutHanging()
{
    RuntimeOptions o;
    o.httpPort = 0;
    o.maxBodySize = 64 * 1024;
    o.resourcesPaths = {m_dir.filePath(u"components"_s)};
    std::unique_ptr<Sidecar> small = startRuntime(o);
    QCOMPARE(small->state(), RuntimeState::Running);
    const QByteArray big
        = R"({"operation":"echo","data":")" + QByteArray(1024 * 1024, 'x') + R"("})";
    QElapsedTimer t;
    t.start();
    const HttpAnswer a = call("POST", u"/v1.0/bindings/loop"_s, big, {}, small->httpPort());
    QVERIFY2(!a.timedOut, "a body above --max-body-size must not hang");
    QCOMPARE(a.status, 413);
    QVERIFY2(a.body.contains("--max-body-size"), a.body.constData());
    QVERIFY(t.elapsed() < 10000);
    // Just under the limit is fine.
    const QByteArray ok = R"({"operation":"echo","data":")" + QByteArray(60 * 1024, 'y') + R"("})";
    QCOMPARE(call("POST", u"/v1.0/bindings/loop"_s, ok, {}, small->httpPort()).status, 200);
}

void tst_ApiServer::checksDaprApiTokenExceptOnHealthz()
{
    RuntimeOptions o;
    o.httpPort = 0;
    o.apiToken = "s3cr3t-token";
    o.resourcesPaths = {m_dir.filePath(u"components"_s)};
    std::unique_ptr<Sidecar> guarded = startRuntime(o);
    const quint16 port = guarded->httpPort();
    const QByteArray body = R"({"operation":"echo","data":1})";
    const HttpAnswer none = call("POST", u"/v1.0/bindings/loop"_s, body, {}, port);
    QCOMPARE(none.status, 401);
    QCOMPARE(none.body, QByteArray("invalid api token\n")); // Go's http.Error (issue 9.15)
    QCOMPARE(none.header("Content-Type"), QByteArray("text/plain; charset=utf-8"));
    QCOMPARE(none.header("X-Content-Type-Options"), QByteArray("nosniff"));
    QCOMPARE(
        call("POST", u"/v1.0/bindings/loop"_s, body, {{"dapr-api-token", "wrong"}}, port).status,
        401);
    QCOMPARE(
        call("POST", u"/v1.0/bindings/loop"_s, body, {{"dapr-api-token", "s3cr3t-token"}}, port)
            .status,
        200);
    QCOMPARE(
        call("POST", u"/v1.0/bindings/loop"_s, body, {{"DAPR-API-TOKEN", "s3cr3t-token"}}, port)
            .status,
        200);
    QCOMPARE(call("GET", u"/v1.0/metadata"_s, {}, {}, port).status, 401);
    QCOMPARE(
        call("GET", u"/v1.0/metadata"_s, {}, {{"dapr-api-token", "s3cr3t-token"}}, port).status,
        200);
    QCOMPARE(call("GET", u"/v1.0/healthz"_s, {}, {}, port).status, 204);
    QCOMPARE(call("GET", u"/v1.0/healthz/outbound"_s, {}, {}, port).status, 204);
}

void tst_ApiServer::servesMetadataInDaprShape()
{
    const HttpAnswer a = call("GET", u"/v1.0/metadata"_s);
    QCOMPARE(a.status, 200);
    QCOMPARE(a.header("Content-Type"), QByteArray("application/json"));
    const nlohmann::json j = json(a.body);
    QVERIFY2(j.is_object(), a.body.constData());
    QCOMPARE(QByteArray::fromStdString(j.value("id", "")), QByteArray("api-test"));
    QVERIFY(j.contains("runtimeVersion"));
    QVERIFY(j["extended"].is_object());
    QCOMPARE(QByteArray::fromStdString(j["extended"].value("daprRuntimeVersion", "")),
             QByteArray::fromStdString(j.value("runtimeVersion", "x")));
    QCOMPARE(QByteArray::fromStdString(j["actorRuntime"].value("runtimeStatus", "")),
             QByteArray("DISABLED"));
    const nlohmann::json comps = j["components"];
    QVERIFY(comps.is_array());
    QCOMPARE(comps.size(), size_t(6));
    std::map<std::string, nlohmann::json> byName;
    for (const auto &c : comps)
        byName[c.value("name", "")] = c;
    QCOMPARE(
        QByteArray::fromStdString(byName["loop"].dump()),
        QByteArray(
            R"({"capabilities":["INPUT_BINDING","OUTPUT_BINDING"],"name":"loop","type":"bindings.loopback",)"
            R"("version":"v1"})"));
    QCOMPARE(QByteArray::fromStdString(byName["files"]["capabilities"].dump()),
             QByteArray(R"(["OUTPUT_BINDING"])"));
    QCOMPARE(QByteArray::fromStdString(byName["upstream"].value("type", "")),
             QByteArray("bindings.http"));
}

void tst_ApiServer::storesExtendedMetadataWithPut()
{
    const HttpAnswer put
        = call("PUT", u"/v1.0/metadata/myKey"_s, "my value", {{"Content-Type", "text/plain"}});
    QCOMPARE(put.status, 204);
    QVERIFY(put.body.isEmpty());
    const nlohmann::json j = json(call("GET", u"/v1.0/metadata"_s).body);
    QCOMPARE(QByteArray::fromStdString(j["extended"].value("myKey", "")), QByteArray("my value"));
}

void tst_ApiServer::reportsHealthAndOutboundHealth()
{
    QCOMPARE(call("GET", u"/v1.0/healthz"_s).status, 204);
    QCOMPARE(call("GET", u"/v1.0/healthz/outbound"_s).status, 204);
    const HttpAnswer wrongId = call("GET", u"/v1.0/healthz?appid=other"_s);
    QCOMPARE(wrongId.status, 500);
    QCOMPARE(QByteArray::fromStdString(json(wrongId.body).value("errorCode", "")),
             QByteArray("ERR_HEALTH_APPID_NOT_MATCH"));
    QCOMPARE(call("GET", u"/v1.0/healthz?appid=api-test"_s).status, 204);

    // With an app port nobody listens on: outbound is ready, healthz waits for the app.
    quint16 appPort = 0;
    std::unique_ptr<Sidecar> waiting = startWaitingForApp(&appPort);
    QVERIFY(waiting);
    const quint16 port = waiting->httpPort();
    QCOMPARE(call("GET", u"/v1.0/healthz/outbound"_s, {}, {}, port).status, 204);
    const HttpAnswer notReady = call("GET", u"/v1.0/healthz"_s, {}, {}, port);
    QCOMPARE(notReady.status, 500);
    const nlohmann::json j = json(notReady.body);
    QCOMPARE(QByteArray::fromStdString(j.value("errorCode", "")),
             QByteArray("ERR_HEALTH_NOT_READY"));
    QVERIFY2(QByteArray::fromStdString(j.value("message", "")).startsWith("dapr is not ready: ["),
             notReady.body.constData());
    // The app comes up: healthz turns 204.
    QTcpServer app;
    QVERIFY(app.listen(QHostAddress::LocalHost, appPort));
    QTRY_COMPARE_WITH_TIMEOUT(call("GET", u"/v1.0/healthz"_s, {}, {}, port).status, 204, 10000);
}

// Issue 9 item 1: Go's encoding/json matches field names case-insensitively.
void tst_ApiServer::matchesRequestKeysCaseInsensitivelyAsGo()
{
    const HttpAnswer a = call("POST", u"/v1.0/bindings/loop"_s,
                              R"({"Operation":"echo","DATA":{"a":1},"MetaData":{"k":"v"}})");
    QCOMPARE(a.status, 200);
    QCOMPARE(a.body, QByteArray(R"({"a":1})"));
    QCOMPARE(a.header("metadata.k"), QByteArray("v"));
    // A repeated field keeps its last value, whatever the case of either (daprd measured).
    const HttpAnswer last = call("POST", u"/v1.0/bindings/loop"_s,
                                 R"({"OPERATION":"create","operation":"echo","data":2})");
    QCOMPARE(last.status, 200);
    QCOMPARE(last.body, QByteArray("2"));
}

// Issue 9 item 8.
void tst_ApiServer::takesANullMetadataValueAsEmpty()
{
    // Over a raw socket: the empty header value must be seen as sent ("Metadata.k: ").
    RawClient c;
    QVERIFY(c.connectTcp(m_runtime->httpPort()));
    const QByteArray body = R"({"operation":"echo","data":1,"metadata":{"k":null,"j":"x"}})";
    QVERIFY(c.send("POST /v1.0/bindings/loop HTTP/1.1\r\nHost: x\r\nContent-Length: "
                   + QByteArray::number(body.size()) + "\r\n\r\n" + body));
    const std::optional<RawResponse> a = c.read();
    QVERIFY(a);
    QCOMPARE(a->status, 200);
    QVERIFY(a->hasHeader("metadata.k"));
    QCOMPARE(a->header("metadata.k"), QByteArray());
    QCOMPARE(a->header("metadata.j"), QByteArray("x"));
}

// Issue 9 item 9.
void tst_ApiServer::replacesInvalidUtf8WithTheReplacementCharacter()
{
    const HttpAnswer a = call("POST", u"/v1.0/bindings/loop"_s,
                              "{\"operation\":\"echo\",\"data\":\"a\xff"
                              "b\",\"metadata\":{\"k\":\"\xfe\"}}");
    QCOMPARE(a.status, 200);
    QCOMPARE(a.body, QByteArray("\"a\xef\xbf\xbd"
                                "b\""));
    QCOMPARE(a.header("metadata.k"), QByteArray("\xef\xbf\xbd"));
}

// Issue 14 item 1: `{"data":1e400}` aborted binderyd; daprd answers 400.
void tst_ApiServer::answersOutOfRangeNumbersWith400()
{
    for (const QByteArray &number :
         {QByteArray("1e400"), QByteArray("[-1e309]"), QByteArray(10000, '9')}) {
        const HttpAnswer a = call("POST", u"/v1.0/bindings/loop"_s,
                                  R"({"operation":"echo","data":)" + number + "}");
        QCOMPARE(a.status, 400);
        const nlohmann::json j = json(a.body);
        QCOMPARE(QByteArray::fromStdString(j.value("errorCode", "")),
                 QByteArray("ERR_MALFORMED_REQUEST"));
        QVERIFY2(QByteArray::fromStdString(j.value("message", ""))
                     .startsWith("failed deserializing HTTP body: json: cannot unmarshal number "),
                 a.body.constData());
    }
    QCOMPARE(call("GET", u"/v1.0/healthz"_s).status, 204); // still serving
}

// Issue 9 item 10: daprd's tracing middleware.
void tst_ApiServer::answersTraceHeadersOnEveryResponseButHealth()
{
    const QByteArray zero = "00-00000000000000000000000000000000-0000000000000000-00";
    const QByteArray sampled = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    const QByteArray unsampled = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00";
    const QByteArray echo = R"({"operation":"echo","data":1})";
    QCOMPARE(call("POST", u"/v1.0/bindings/loop"_s, echo).header("Traceparent"), zero);
    QCOMPARE(call("GET", u"/v1.0/metadata"_s).header("Traceparent"), zero);
    QCOMPARE(call("POST", u"/v1.0/bindings/nosuch"_s, echo).header("Traceparent"), zero);
    QCOMPARE(call("GET", u"/v1.0/no/route"_s).header("Traceparent"), zero);
    QCOMPARE(call("GET", u"/v1.0/metadata"_s, {}, {{"traceparent", sampled}}).header("Traceparent"),
             sampled);
    QCOMPARE(
        call("GET", u"/v1.0/metadata"_s, {}, {{"traceparent", unsampled}}).header("Traceparent"),
        unsampled);
    QCOMPARE(call("GET", u"/v1.0/metadata"_s, {}, {{"traceparent", sampled.toUpper()}})
                 .header("Traceparent"),
             zero); // upper-case ids are invalid (OpenTelemetry's parser)
    const HttpAnswer state = call("POST", u"/v1.0/bindings/loop"_s, echo,
                                  {{"traceparent", sampled}, {"tracestate", "k=v, a@b=c"}});
    QCOMPARE(state.header("Tracestate"), QByteArray("k=v,a@b=c"));
    QCOMPARE(state.header("metadata.tracestate"), QByteArray("k=v,a@b=c"));
    // A valid baggage is echoed; health answers carry none of it.
    QCOMPARE(call("GET", u"/v1.0/metadata"_s, {}, {{"baggage", "user=alice;p=1, tenant=t1"}})
                 .header("Baggage"),
             QByteArray("user=alice;p=1, tenant=t1"));
    const HttpAnswer health
        = call("GET", u"/v1.0/healthz"_s, {}, {{"traceparent", sampled}, {"baggage", "x"}});
    QCOMPARE(health.status, 204); // the baggage is not even checked there
    QVERIFY(!health.hasHeader("Traceparent"));
    QVERIFY(!health.hasHeader("Baggage"));
}

// Issue 9 item 11: RFC 9110 forbids Content-Length on 204; Go writes a Date on every answer.
void tst_ApiServer::framesResponsesAsGoDoes()
{
    const HttpAnswer empty
        = call("POST", u"/v1.0/bindings/loop"_s, R"({"operation":"create","data":1})");
    QCOMPARE(empty.status, 204);
    QVERIFY(!empty.hasHeader("Content-Length"));
    QVERIFY(!empty.hasHeader("Content-Type"));
    QVERIFY(empty.hasHeader("Date"));
    for (const HttpAnswer &a : {call("POST", u"/v1.0/bindings/loop"_s, R"({"operation":"echo"})"),
                                call("POST", u"/v1.0/bindings/nosuch"_s, R"({"operation":"x"})"),
                                call("GET", u"/v1.0/healthz"_s)}) {
        const QString text = QString::fromLatin1(a.header("Date"));
        QDateTime date = QLocale::c().toDateTime(text.chopped(4), u"ddd, dd MMM yyyy HH:mm:ss"_s);
        date.setTimeZone(QTimeZone::utc());
        QVERIFY2(date.isValid() && a.header("Date").endsWith(" GMT"), a.header("Date").constData());
        QVERIFY(qAbs(date.secsTo(QDateTime::currentDateTimeUtc())) < 60);
    }
}

// Issue 9 item 17.
void tst_ApiServer::servesDaprdsMetadataFields()
{
    const HttpAnswer a = call("GET", u"/v1.0/metadata"_s);
    QCOMPARE(a.status, 200);
    QVERIFY(a.body.endsWith("}\n")); // json.Encoder, as daprd's respondWithJSON
    const nlohmann::json j = json(a.body);
    QCOMPARE(QByteArray::fromStdString(j["enabledFeatures"].dump()),
             QByteArray(R"(["HotReload","WorkflowsRemoteActivityReminder"])"));
    QCOMPARE(
        QByteArray::fromStdString(j["actorRuntime"].dump()),
        QByteArray(
            R"({"hostReady":false,"placement":"placement: disconnected","runtimeStatus":"DISABLED"})"));
    QCOMPARE(QByteArray::fromStdString(j["appConnectionProperties"].dump()),
             QByteArray(R"({"channelAddress":"127.0.0.1","protocol":"http"})"));
    // Secret stores first (daprd initialises them first), with their features.
    QCOMPARE(QByteArray::fromStdString(j["components"][0].value("name", "")),
             QByteArray("filesecrets"));
    QCOMPARE(
        QByteArray::fromStdString(j["components"][1].dump()),
        QByteArray(
            R"({"capabilities":["MULTIPLE_KEY_VALUES_PER_SECRET"],"name":"multisecrets","type":"secretstores.local.file","version":"v1"})"));
    // daprd's field order.
    QVERIFY2(a.body.startsWith(R"({"id":"api-test","runtimeVersion":")"), a.body.constData());
    QVERIFY(a.body.indexOf("\"enabledFeatures\"") < a.body.indexOf("\"components\""));
    QVERIFY(a.body.indexOf("\"extended\"") < a.body.indexOf("\"appConnectionProperties\""));
}

void tst_ApiServer::reportsInitializingUntilTheAppIsUp()
{
    quint16 appPort = 0;
    std::unique_ptr<Sidecar> waiting = startWaitingForApp(&appPort);
    QVERIFY(waiting);
    const quint16 port = waiting->httpPort();
    nlohmann::json j = json(call("GET", u"/v1.0/metadata"_s, {}, {}, port).body);
    QCOMPARE(QByteArray::fromStdString(j["actorRuntime"].dump()),
             QByteArray(R"({"hostReady":false,"runtimeStatus":"INITIALIZING"})"));
    QCOMPARE(j["appConnectionProperties"].value("port", 0), int(appPort));
    QTcpServer app;
    QVERIFY(app.listen(QHostAddress::LocalHost, appPort));
    QTRY_COMPARE_WITH_TIMEOUT(
        QByteArray::fromStdString(
            json(call("GET", u"/v1.0/metadata"_s, {}, {}, port).body)["actorRuntime"].value(
                "runtimeStatus", "")),
        QByteArray("DISABLED"), 10000);
}

// Issue 9 item 18: the secrets API over the loaded stores, daprd's answers byte for byte.
void tst_ApiServer::servesTheSecretsApi_data()
{
    QTest::addColumn<QString>("path");
    QTest::addColumn<int>("status");
    QTest::addColumn<QByteArray>("body");
    QTest::newRow("a key") << u"/v1.0/secrets/filesecrets/db:user"_s << 200
                           << QByteArray("{\"db:user\":\"admin\"}\n");
    QTest::newRow("Go's HTML escaping")
        << u"/v1.0/secrets/filesecrets/db:pass"_s << 200
        << QByteArray("{\"db:pass\":\"p\\u003cw\\u003e\\u0026d\"}\n");
    QTest::newRow("metadata query parameters are taken")
        << u"/v1.0/secrets/filesecrets/plain?metadata.version_id=1"_s << 200
        << QByteArray("{\"plain\":\"value1\"}\n");
    QTest::newRow("bulk") << u"/v1.0/secrets/filesecrets/bulk"_s << 200
                          << QByteArray("{\"db:pass\":{\"db:pass\":\"p\\u003cw\\u003e\\u0026d\"},"
                                        "\"db:user\":{\"db:user\":\"admin\"},"
                                        "\"plain\":{\"plain\":\"value1\"}}\n");
    QTest::newRow("multi-valued key") << u"/v1.0/secrets/multisecrets/db"_s << 200
                                      << QByteArray("{\"pass\":\"p\\u003cw\\u003e\\u0026d\","
                                                    "\"user\":\"admin\"}\n");
    QTest::newRow("multi-valued bulk")
        << u"/v1.0/secrets/multisecrets/bulk"_s << 200
        << QByteArray("{\"db\":{\"pass\":\"p\\u003cw\\u003e\\u0026d\",\"user\":\"admin\"},"
                      "\"plain\":{\"plain\":\"value1\"}}\n");
    QTest::newRow("env") << u"/v1.0/secrets/envsecrets/BINDERY_TST_SECRET"_s << 200
                         << QByteArray("{\"BINDERY_TST_SECRET\":\"from-env\"}\n");
    QTest::newRow("env, unset is empty") << u"/v1.0/secrets/envsecrets/BINDERY_TST_UNSET"_s << 200
                                         << QByteArray("{\"BINDERY_TST_UNSET\":\"\"}\n");
    QTest::newRow("env, DAPR_ variables are never served")
        << u"/v1.0/secrets/envsecrets/DAPR_TST_HIDDEN"_s << 200
        << QByteArray("{\"DAPR_TST_HIDDEN\":\"\"}\n");
    QTest::newRow("unknown key")
        << u"/v1.0/secrets/filesecrets/nope"_s << 500
        << QByteArray(
               R"({"errorCode":"ERR_SECRET_GET","message":"failed getting secret with key nope from secret store filesecrets: secret nope not found"})");
    QTest::newRow("unknown store")
        << u"/v1.0/secrets/nostore/x"_s << 401
        << QByteArray(
               R"({"errorCode":"ERR_SECRET_STORE_NOT_FOUND","message":"failed finding secret store with key nostore"})");
    QTest::newRow("no key: no route")
        << u"/v1.0/secrets/filesecrets"_s << 404
        << QByteArray(
               R"({"errorCode":"ERR_DIRECT_INVOKE","message":"failed getting app id either from the URL path or the header dapr-app-id"})");
}

void tst_ApiServer::servesTheSecretsApi()
{
    QFETCH(QString, path);
    QFETCH(int, status);
    QFETCH(QByteArray, body);
    const HttpAnswer a = call("GET", path);
    QCOMPARE(a.status, status);
    QCOMPARE(a.body, body);
    QCOMPARE(a.header("Content-Type"), QByteArray("application/json"));
    QVERIFY(a.hasHeader("Traceparent"));
    QCOMPARE(call("POST", path, "{}").status, 404); // GET only, as daprd
}

void tst_ApiServer::servesNoSecretsWithoutAStoreOrAToken()
{
    const HttpAnswer bulk = call("GET", u"/v1.0/secrets/envsecrets/bulk"_s);
    QCOMPARE(bulk.status, 200);
    QVERIFY(bulk.body.contains("\"BINDERY_TST_SECRET\":{\"BINDERY_TST_SECRET\":\"from-env\"}"));
    QVERIFY(!bulk.body.contains("DAPR_")); // the API token can never leak this way

    QTemporaryDir empty;
    RuntimeOptions none;
    none.httpPort = 0;
    none.resourcesPaths = {empty.path()};
    std::unique_ptr<Sidecar> bare = startRuntime(none);
    const HttpAnswer a = call("GET", u"/v1.0/secrets/any/key"_s, {}, {}, bare->httpPort());
    QCOMPARE(a.status, 500);
    QCOMPARE(
        a.body,
        QByteArray(
            R"({"errorCode":"ERR_SECRET_STORES_NOT_CONFIGURED","message":"secret store is not configured"})"));

    RuntimeOptions guarded;
    guarded.httpPort = 0;
    guarded.apiToken = "sesame";
    guarded.resourcesPaths = {m_dir.filePath(u"components"_s)};
    std::unique_ptr<Sidecar> locked = startRuntime(guarded);
    const quint16 port = locked->httpPort();
    QCOMPARE(call("GET", u"/v1.0/secrets/filesecrets/plain"_s, {}, {}, port).status, 401);
    QCOMPARE(
        call("GET", u"/v1.0/secrets/filesecrets/plain"_s, {}, {{"dapr-api-token", "sesame"}}, port)
            .body,
        QByteArray("{\"plain\":\"value1\"}\n"));
}

// Issue 9 item 18, issue 18 item 8: daprd's answer for a building block it does not have, saying
// that Bindery serves bindings only.
void tst_ApiServer::answersOtherBuildingBlocksAsMissing_data()
{
    QTest::addColumn<QByteArray>("method");
    QTest::addColumn<QString>("path");
    QTest::addColumn<QByteArray>("appIdHeader");
    QTest::addColumn<int>("status");
    QTest::addColumn<QByteArray>("errorCode");
    QTest::addColumn<QByteArray>("message");
    QTest::addColumn<QByteArray>("reason");
    QTest::newRow("dapr publish") << QByteArray("POST") << u"/v1.0/publish/pubsub/orders"_s
                                  << QByteArray() << 404 << QByteArray("ERR_PUBSUB_NOT_FOUND")
                                  << QByteArray("pubsub pubsub is not found: ")
                                  << QByteArray("DAPR_PUBSUB_NOT_FOUND");
    QTest::newRow("bulk publish") << QByteArray("POST") << u"/v1.0-alpha1/publish/bulk/ps/t"_s
                                  << QByteArray() << 404 << QByteArray("ERR_PUBSUB_NOT_FOUND")
                                  << QByteArray("pubsub ps is not found: ")
                                  << QByteArray("DAPR_PUBSUB_NOT_FOUND");
    QTest::newRow("state get") << QByteArray("GET") << u"/v1.0/state/statestore/key"_s
                               << QByteArray() << 500
                               << QByteArray("ERR_STATE_STORE_NOT_CONFIGURED")
                               << QByteArray("state store statestore is not configured: ")
                               << QByteArray("DAPR_STATE_NOT_CONFIGURED");
    QTest::newRow("state save") << QByteArray("POST") << u"/v1.0/state/statestore"_s << QByteArray()
                                << 500 << QByteArray("ERR_STATE_STORE_NOT_CONFIGURED")
                                << QByteArray("state store statestore is not configured: ")
                                << QByteArray("DAPR_STATE_NOT_CONFIGURED");
    QTest::newRow("dapr invoke") << QByteArray("POST") << u"/v1.0/invoke/other/method/hello"_s
                                 << QByteArray() << 500 << QByteArray("ERR_DIRECT_INVOKE")
                                 << QByteArray("failed to invoke, id: other, err: ")
                                 << QByteArray();
    QTest::newRow("invoke by header")
        << QByteArray("GET") << u"/hello"_s << QByteArray("other") << 500
        << QByteArray("ERR_DIRECT_INVOKE") << QByteArray("failed to invoke, id: other, err: ")
        << QByteArray();
}

void tst_ApiServer::answersOtherBuildingBlocksAsMissing()
{
    QFETCH(QByteArray, method);
    QFETCH(QString, path);
    QFETCH(QByteArray, appIdHeader);
    QFETCH(int, status);
    QFETCH(QByteArray, errorCode);
    QFETCH(QByteArray, message);
    QFETCH(QByteArray, reason);
    QList<QPair<QByteArray, QByteArray>> headers;
    if (!appIdHeader.isEmpty())
        headers.append({"dapr-app-id", appIdHeader});
    const HttpAnswer a = call(method, path, method == "GET" ? QByteArray() : "{}", headers);
    QCOMPARE(a.status, status);
    const nlohmann::json j = json(a.body);
    QCOMPARE(QByteArray::fromStdString(j.value("errorCode", "")), errorCode);
    const QByteArray text = QByteArray::fromStdString(j.value("message", ""));
    QVERIFY2(text.startsWith(message), text.constData());
    QVERIFY2(text.contains("Bindery serves bindings only"), text.constData());
    if (!reason.isEmpty()) {
        QCOMPARE(QByteArray::fromStdString(j["details"][0].value("reason", "")), reason);
        QCOMPARE(QByteArray::fromStdString(j["details"][0].value("@type", "")),
                 QByteArray("type.googleapis.com/google.rpc.ErrorInfo"));
    }
}

QTEST_GUILESS_MAIN(tst_ApiServer)
#include "tst_api_server.moc"
