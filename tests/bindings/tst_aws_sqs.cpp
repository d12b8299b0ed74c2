// SPDX-License-Identifier: Apache-2.0
// bindings.aws.sqs without a server (issue 11): the credentials, region and endpoint lookup in
// the AWS tools' order, SQS error documents (JSON and XML) and which answers are retried, and the
// settings errors init gives before it talks to SQS. The round trips are in
// tests/integration/tst_aws_sqs_binding.cpp, against moto.
#include <QHash>
#include <QTemporaryDir>
#include <QTest>

#include "core/binding_registry.h"
#include "core/bindings/aws_sqs/aws_credentials.h"
#include "core/bindings/aws_sqs/sqs_client.h"
#include "core/component_loader.h"

using namespace bindery;
using namespace bindery::bindings::aws_sqs;
namespace common = bindery::bindings::common;
using namespace Qt::Literals::StringLiterals;

namespace {

using Env = QHash<QString, QString>;

/// accessKey, secretKey, sessionToken, region, endpoint, as a data row lists them.
AwsComponentAuth componentAuth(const QStringList &fields)
{
    return {fields.value(0), fields.value(1), fields.value(2), fields.value(3), fields.value(4)};
}

void writeFile(const QString &path, const QByteArray &text)
{
    QFile f(path);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write(text);
}

common::RestResponse answer(int status, const QByteArray &body, common::HttpHeaders headers = {})
{
    common::RestResponse r;
    r.status = status;
    r.body = body;
    r.headers = std::move(headers);
    return r;
}

} // namespace

class tst_AwsSqs : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void credentialsFollowTheAwsToolsOrder_data();
    void credentialsFollowTheAwsToolsOrder();
    void regionAndEndpointFollowTheirOrder_data();
    void regionAndEndpointFollowTheirOrder();
    void missingOrPartialCredentialsAreClearErrors_data();
    void missingOrPartialCredentialsAreClearErrors();
    void keyIdsAreMaskedForTheLog();
    void sqsErrorsAreReadFromJsonAndXml_data();
    void sqsErrorsAreReadFromJsonAndXml();
    void throttlingServerAndNetworkErrorsAreRetriedAuthIsNot_data();
    void throttlingServerAndNetworkErrorsAreRetriedAuthIsNot();
    void badSettingsFailInitBeforeAnyRequest_data();
    void badSettingsFailInitBeforeAnyRequest();

private:
    /// resolveAws() with the test's files and `extra` ("NAME=value") as the environment.
    Result<AwsResolved> resolve(const AwsComponentAuth &component, const QStringList &extra) const;
    std::unique_ptr<QTemporaryDir> m_dir;
};

void tst_AwsSqs::init()
{
    m_dir = std::make_unique<QTemporaryDir>();
    QVERIFY(m_dir->isValid());
    writeFile(m_dir->filePath(u"credentials"_s),
              "# comment\n[default]\naws_access_key_id = AKIDDEFAULTFILE1\n"
              "aws_secret_access_key = secret-default-file\n\n"
              "[work]\naws_access_key_id=AKIDWORKFILE0001\naws_secret_access_key=secret-work\n"
              "aws_session_token = token-work\n"
              "[half]\naws_access_key_id = AKIDHALF00000001\n");
    writeFile(m_dir->filePath(u"config"_s),
              "[default]\nregion = eu-west-1\n"
              "[profile work]\nregion = ap-south-1\ns3 =\n  region = nested-ignored\n"
              "[profile cfgonly]\nregion = us-west-2\naws_access_key_id = AKIDCONFIGONLY01\n"
              "aws_secret_access_key = secret-config\n"
              "[profile sso]\nsso_session = corp\nsso_account_id = 123\nregion = us-east-2\n");
}

Result<AwsResolved> tst_AwsSqs::resolve(const AwsComponentAuth &component,
                                        const QStringList &extra) const
{
    Env env{{u"HOME"_s, m_dir->filePath(u"home"_s)},
            {u"AWS_SHARED_CREDENTIALS_FILE"_s, m_dir->filePath(u"credentials"_s)},
            {u"AWS_CONFIG_FILE"_s, m_dir->filePath(u"config"_s)}};
    for (const QString &kv : extra)
        env.insert(kv.section(u'=', 0, 0), kv.section(u'=', 1));
    return resolveAws(component,
                      [env](const char *name) { return env.value(QString::fromLatin1(name)); });
}

void tst_AwsSqs::credentialsFollowTheAwsToolsOrder_data()
{
    QTest::addColumn<QStringList>("component"); // accessKey, secretKey, sessionToken
    QTest::addColumn<QStringList>("env");       // name=value
    QTest::addColumn<QString>("keyId");
    QTest::addColumn<QString>("secret");
    QTest::addColumn<QString>("token");
    QTest::addColumn<QString>("source");
    const QStringList envKeys{u"AWS_ACCESS_KEY_ID=AKIDENVIRONMENT1"_s,
                              u"AWS_SECRET_ACCESS_KEY=secret-env"_s,
                              u"AWS_SESSION_TOKEN=token-env"_s};
    QTest::newRow("component first")
        << QStringList{u"AKIDCOMPONENT001"_s, u"secret-component"_s, u"token-component"_s}
        << envKeys << u"AKIDCOMPONENT001"_s << u"secret-component"_s << u"token-component"_s
        << u"metadata accessKey"_s;
    QTest::newRow("then the environment")
        << QStringList{} << envKeys << u"AKIDENVIRONMENT1"_s << u"secret-env"_s << u"token-env"_s
        << u"the environment, AWS_ACCESS_KEY_ID"_s;
    QTest::newRow("then the credentials file's default profile")
        << QStringList{} << QStringList{} << u"AKIDDEFAULTFILE1"_s << u"secret-default-file"_s
        << QString() << u"shared credentials file"_s;
    QTest::newRow("AWS_PROFILE chooses the profile")
        << QStringList{} << QStringList{u"AWS_PROFILE=work"_s} << u"AKIDWORKFILE0001"_s
        << u"secret-work"_s << u"token-work"_s << u"[work]"_s;
    QTest::newRow("AWS_DEFAULT_PROFILE too")
        << QStringList{} << QStringList{u"AWS_DEFAULT_PROFILE=work"_s} << u"AKIDWORKFILE0001"_s
        << u"secret-work"_s << u"token-work"_s << u"[work]"_s;
    QTest::newRow("then the config file")
        << QStringList{} << QStringList{u"AWS_PROFILE=cfgonly"_s} << u"AKIDCONFIGONLY01"_s
        << u"secret-config"_s << QString() << u"config file"_s;
}

void tst_AwsSqs::credentialsFollowTheAwsToolsOrder()
{
    QFETCH(QStringList, component);
    QFETCH(QStringList, env);
    QFETCH(QString, keyId);
    QFETCH(QString, secret);
    QFETCH(QString, token);
    QFETCH(QString, source);
    AwsComponentAuth c = componentAuth(component);
    c.region = u"us-east-1"_s;
    const Result<AwsResolved> r = resolve(c, env);
    QVERIFY2(r, r ? "" : qPrintable(r.error().message));
    QCOMPARE(r->credentials.accessKeyId, keyId);
    QCOMPARE(r->credentials.secretAccessKey, secret);
    QCOMPARE(r->credentials.sessionToken, token);
    QVERIFY2(r->credentialSource.contains(source), qPrintable(r->credentialSource));
    QVERIFY(!r->credentialSource.contains(secret));
}

void tst_AwsSqs::regionAndEndpointFollowTheirOrder_data()
{
    QTest::addColumn<QString>("componentRegion");
    QTest::addColumn<QString>("componentEndpoint");
    QTest::addColumn<QStringList>("env");
    QTest::addColumn<QString>("region");
    QTest::addColumn<QString>("endpoint");
    QTest::newRow("component") << u"eu-north-1"_s << u"http://127.0.0.1:5070/"_s
                               << QStringList{u"AWS_REGION=us-west-1"_s,
                                              u"AWS_ENDPOINT_URL_SQS=http://x:1"_s}
                               << u"eu-north-1"_s << u"http://127.0.0.1:5070"_s;
    QTest::newRow("AWS_REGION before AWS_DEFAULT_REGION")
        << QString() << QString()
        << QStringList{u"AWS_REGION=us-west-1"_s, u"AWS_DEFAULT_REGION=us-west-2"_s}
        << u"us-west-1"_s << u"https://sqs.us-west-1.amazonaws.com"_s;
    QTest::newRow("AWS_DEFAULT_REGION")
        << QString() << QString() << QStringList{u"AWS_DEFAULT_REGION=us-west-2"_s}
        << u"us-west-2"_s << u"https://sqs.us-west-2.amazonaws.com"_s;
    QTest::newRow("the profile's region in the config file")
        << QString() << QString() << QStringList{u"AWS_PROFILE=work"_s} << u"ap-south-1"_s
        << u"https://sqs.ap-south-1.amazonaws.com"_s;
    QTest::newRow("[default] in the config file")
        << QString() << QString() << QStringList{} << u"eu-west-1"_s
        << u"https://sqs.eu-west-1.amazonaws.com"_s;
    QTest::newRow("China regions")
        << u"cn-north-1"_s << QString() << QStringList{} << u"cn-north-1"_s
        << u"https://sqs.cn-north-1.amazonaws.com.cn"_s;
    QTest::newRow("AWS_ENDPOINT_URL_SQS before AWS_ENDPOINT_URL")
        << u"us-east-1"_s << QString()
        << QStringList{u"AWS_ENDPOINT_URL_SQS=http://sqs.local:4566"_s,
                       u"AWS_ENDPOINT_URL=http://all.local:4566"_s}
        << u"us-east-1"_s << u"http://sqs.local:4566"_s;
    QTest::newRow("AWS_ENDPOINT_URL")
        << u"us-east-1"_s << QString() << QStringList{u"AWS_ENDPOINT_URL=http://all.local:4566"_s}
        << u"us-east-1"_s << u"http://all.local:4566"_s;
}

void tst_AwsSqs::regionAndEndpointFollowTheirOrder()
{
    QFETCH(QString, componentRegion);
    QFETCH(QString, componentEndpoint);
    QFETCH(QStringList, env);
    QFETCH(QString, region);
    QFETCH(QString, endpoint);
    const Result<AwsResolved> r = resolve(componentAuth({u"AKIDCOMPONENT001"_s, u"s"_s, QString(),
                                                         componentRegion, componentEndpoint}),
                                          env);
    QVERIFY2(r, r ? "" : qPrintable(r.error().message));
    QCOMPARE(r->region, region);
    QCOMPARE(r->endpoint, endpoint);
}

void tst_AwsSqs::missingOrPartialCredentialsAreClearErrors_data()
{
    QTest::addColumn<QStringList>(
        "component"); // accessKey, secretKey, sessionToken, region, endpoint
    QTest::addColumn<QStringList>("env");
    QTest::addColumn<QString>("message");
    QTest::newRow("accessKey without secretKey")
        << QStringList{u"AKIDCOMPONENT001"_s} << QStringList{}
        << u"metadata 'accessKey' is set but 'secretKey' is not"_s;
    QTest::newRow("secretKey without accessKey")
        << QStringList{QString(), u"s"_s} << QStringList{}
        << u"metadata 'secretKey' is set but 'accessKey' is not"_s;
    QTest::newRow("a session token alone") << QStringList{QString(), QString(), u"t"_s}
                                           << QStringList{} << u"'sessionToken' is set but"_s;
    QTest::newRow("half the environment")
        << QStringList{} << QStringList{u"AWS_ACCESS_KEY_ID=AKIDENVIRONMENT1"_s}
        << u"the environment has AWS_ACCESS_KEY_ID but not AWS_SECRET_ACCESS_KEY"_s;
    QTest::newRow("half a profile") << QStringList{} << QStringList{u"AWS_PROFILE=half"_s}
                                    << u"has aws_access_key_id but not aws_secret_access_key"_s;
    QTest::newRow("an SSO profile: out of scope")
        << QStringList{} << QStringList{u"AWS_PROFILE=sso"_s}
        << u"profile 'sso' uses sso_session, which Bindery does not support"_s;
    QTest::newRow("a profile that does not exist")
        << QStringList{} << QStringList{u"AWS_PROFILE=nosuch"_s}
        << u"profile 'nosuch' from AWS_PROFILE is in neither"_s;
    QTest::newRow("nothing anywhere says what to set and what is out of scope")
        << QStringList{} << QStringList{u"AWS_SHARED_CREDENTIALS_FILE=/nonexistent/c"_s}
        << u"Instance roles, SSO, assume-role and credential_process are not supported"_s;
    QTest::newRow("no region") << QStringList{u"AKIDCOMPONENT001"_s, u"s"_s}
                               << QStringList{u"AWS_CONFIG_FILE=/nonexistent/config"_s}
                               << u"no AWS region: set metadata 'region'"_s;
    QTest::newRow("a region that is no region")
        << QStringList{u"AKIDCOMPONENT001"_s, u"s"_s, QString(), u"US East"_s} << QStringList{}
        << u"region 'US East' (from metadata 'region') is not a region name"_s;
    QTest::newRow("an endpoint that is no URL")
        << QStringList{u"AKIDCOMPONENT001"_s, u"s"_s, QString(), u"us-east-1"_s,
                       u"localhost:4566"_s}
        << QStringList{} << u"metadata 'endpoint' 'localhost:4566' is not an http:// or https://"_s;
}

void tst_AwsSqs::missingOrPartialCredentialsAreClearErrors()
{
    QFETCH(QStringList, component);
    QFETCH(QStringList, env);
    QFETCH(QString, message);
    const Result<AwsResolved> r = resolve(componentAuth(component), env);
    QVERIFY(!r);
    QVERIFY2(r.error().message.contains(message), qPrintable(r.error().message));
    QVERIFY(!r.error().message.contains(u"secret-"_s));
}

void tst_AwsSqs::keyIdsAreMaskedForTheLog()
{
    QCOMPARE(maskedKeyId(u"AKIAIOSFODNN7EXAMPLE"_s), u"AKIA…MPLE"_s);
    QCOMPARE(maskedKeyId(u"short"_s), u"…"_s);
}

void tst_AwsSqs::sqsErrorsAreReadFromJsonAndXml_data()
{
    QTest::addColumn<int>("status");
    QTest::addColumn<QByteArray>("body");
    QTest::addColumn<QByteArray>("queryError");
    QTest::addColumn<int>("kind");
    QTest::addColumn<QString>("code");
    QTest::addColumn<QString>("message");
    QTest::newRow("JSON 1.0, a namespaced __type")
        << 400
        << QByteArray(
               R"({"__type":"com.amazonaws.sqs#QueueDoesNotExist","message":"The specified queue does not exist."})")
        << QByteArray("AWS.SimpleQueueService.NonExistentQueue;Sender")
        << int(SqsErrorKind::QueueMissing) << u"QueueDoesNotExist"_s
        << u"The specified queue does not exist."_s;
    QTest::newRow("XML on the JSON protocol (moto's signature check)")
        << 403
        << QByteArray("<?xml version=\"1.0\"?><ErrorResponse><Error><Type>Sender</Type><Code>"
                      "SignatureDoesNotMatch</Code><Message>The request signature we calculated "
                      "does not match</Message></Error><RequestId>1</RequestId></ErrorResponse>")
        << QByteArray() << int(SqsErrorKind::Auth) << u"SignatureDoesNotMatch"_s
        << u"The request signature we calculated does not match"_s;
    QTest::newRow("expired token")
        << 400 << QByteArray(R"({"__type":"ExpiredToken","Message":"expired"})") << QByteArray()
        << int(SqsErrorKind::Auth) << u"ExpiredToken"_s << u"expired"_s;
    QTest::newRow("throttling with a 400")
        << 400
        << QByteArray(R"({"__type":"com.amazonaws.sqs#ThrottlingException","message":"slow down"})")
        << QByteArray() << int(SqsErrorKind::Throttled) << u"ThrottlingException"_s
        << u"slow down"_s;
    QTest::newRow("the query code only")
        << 400 << QByteArray() << QByteArray("AWS.SimpleQueueService.RequestThrottled;Sender")
        << int(SqsErrorKind::Throttled) << u"AWS.SimpleQueueService.RequestThrottled"_s
        << QString();
    QTest::newRow("429") << 429 << QByteArray("Too Many Requests") << QByteArray()
                         << int(SqsErrorKind::Throttled) << QString() << u"Too Many Requests"_s;
    QTest::newRow("503 without a document")
        << 503 << QByteArray("<html>oops</html>") << QByteArray() << int(SqsErrorKind::Server)
        << QString() << u"<html>oops</html>"_s;
    QTest::newRow("a bad parameter")
        << 400
        << QByteArray(R"({"__type":"com.amazonaws.sqs#InvalidParameterValue","message":"bad"})")
        << QByteArray() << int(SqsErrorKind::Client) << u"InvalidParameterValue"_s << u"bad"_s;
}

void tst_AwsSqs::sqsErrorsAreReadFromJsonAndXml()
{
    QFETCH(int, status);
    QFETCH(QByteArray, body);
    QFETCH(QByteArray, queryError);
    QFETCH(int, kind);
    QFETCH(QString, code);
    QFETCH(QString, message);
    common::HttpHeaders headers{{"Content-Type", "application/x-amz-json-1.0"}};
    if (!queryError.isEmpty())
        headers.append({"x-amzn-query-error", queryError});
    const SqsError e = parseSqsError(status, body, headers);
    QCOMPARE(int(e.kind), kind);
    QCOMPARE(e.code, code);
    QCOMPARE(e.message, message);
    QVERIFY(e.describe().endsWith(u"(HTTP %1)"_s.arg(status)));
}

void tst_AwsSqs::throttlingServerAndNetworkErrorsAreRetriedAuthIsNot_data()
{
    QTest::addColumn<int>("status");
    QTest::addColumn<QByteArray>("body");
    QTest::addColumn<int>("transport");
    QTest::addColumn<bool>("retried");
    QTest::newRow("500") << 500 << QByteArray() << int(common::TransportError::None) << true;
    QTest::newRow("503") << 503 << QByteArray() << int(common::TransportError::None) << true;
    QTest::newRow("429") << 429 << QByteArray() << int(common::TransportError::None) << true;
    QTest::newRow("400 throttled")
        << 400 << QByteArray(R"({"__type":"com.amazonaws.sqs#RequestThrottled"})")
        << int(common::TransportError::None) << true;
    QTest::newRow("connection refused")
        << 0 << QByteArray() << int(common::TransportError::Connect) << true;
    QTest::newRow("403 signature")
        << 403 << QByteArray("<Error><Code>SignatureDoesNotMatch</Code></Error>")
        << int(common::TransportError::None) << false;
    QTest::newRow("400 bad parameter")
        << 400 << QByteArray(R"({"__type":"com.amazonaws.sqs#InvalidParameterValue"})")
        << int(common::TransportError::None) << false;
    QTest::newRow("400 queue missing")
        << 400 << QByteArray(R"({"__type":"com.amazonaws.sqs#QueueDoesNotExist"})")
        << int(common::TransportError::None) << false;
}

void tst_AwsSqs::throttlingServerAndNetworkErrorsAreRetriedAuthIsNot()
{
    QFETCH(int, status);
    QFETCH(QByteArray, body);
    QFETCH(int, transport);
    QFETCH(bool, retried);
    common::RestResponse r = answer(status, body);
    r.errorKind = static_cast<common::TransportError>(transport);
    if (!r.ok())
        r.error = u"refused"_s;
    QCOMPARE(isRetryable(r), retried);
}

void tst_AwsSqs::badSettingsFailInitBeforeAnyRequest_data()
{
    QTest::addColumn<QByteArray>("items");
    QTest::addColumn<QString>("message");
    // No server answers at this endpoint: these fail before any request is made.
    const QByteArray base = "  - name: endpoint\n    value: http://127.0.0.1:9\n"
                            "  - name: region\n    value: us-east-1\n"
                            "  - name: accessKey\n    value: AKIDCOMPONENT001\n"
                            "  - name: secretKey\n    value: s\n";
    QTest::newRow("a queue URL for queueName")
        << base + "  - name: queueName\n    value: https://sqs.us-east-1.amazonaws.com/1/orders\n"
        << u"must be the queue's name, not its URL: write 'orders'"_s;
    QTest::newRow("an invalid queue name")
        << base + "  - name: queueName\n    value: \"my queue\"\n"
        << u"is not an SQS queue name"_s;
    QTest::newRow("a visibility timeout of part of a second")
        << base
               + "  - name: queueName\n    value: q\n  - name: visibilityTimeout\n    value: "
                 "1500ms\n"
        << u"'visibilityTimeout' must be whole seconds"_s;
    QTest::newRow("concurrency out of range")
        << base + "  - name: queueName\n    value: q\n  - name: concurrency\n    value: \"1000\"\n"
        << u"concurrency"_s;
}

void tst_AwsSqs::badSettingsFailInitBeforeAnyRequest()
{
    QFETCH(QByteArray, items);
    QFETCH(QString, message);
    core::BindingRegistry registry;
    core::registerBuiltinBindings(registry);
    const core::LoadResult loaded = core::ComponentLoader::parseText(
        "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: q\nspec:\n"
        "  type: bindings.aws.sqs\n  version: v1\n  metadata:\n"
            + items,
        u"q.yaml"_s);
    QCOMPARE(loaded.components.size(), 1);
    Result<std::unique_ptr<core::InputBinding>> input
        = registry.createInput(u"bindings.aws.sqs"_s, u"v1"_s);
    QVERIFY(input);
    const Result<> r = (*input)->init(loaded.components.first());
    QVERIFY(!r);
    QVERIFY2(r.error().message.contains(message), qPrintable(r.error().message));
    QVERIFY2(!r.error().message.contains(u"127.0.0.1:9"_s), qPrintable(r.error().message));
}

QTEST_GUILESS_MAIN(tst_AwsSqs)
#include "tst_aws_sqs.moc"
