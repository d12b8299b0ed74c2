// SPDX-License-Identifier: Apache-2.0
// AWS Signature Version 4 (issue 11) against the official test suite in tests/data/aws-sigv4/
// (aws-c-auth's tests/aws-signing-test-suite/v4): every case, signed with headers and in the
// query string, checked for its canonical request, string to sign, signature and signed request.
#include <atomic>
#include <thread>
#include <vector>

#include <QDir>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTest>
#include <QTimeZone>

#include "core/bindings/aws_sqs/sigv4.h"

using namespace bindery;
using namespace bindery::bindings::aws_sqs;
using namespace Qt::Literals::StringLiterals;

Q_DECLARE_METATYPE(SigV4Request)
Q_DECLARE_METATYPE(AwsCredentials)
Q_DECLARE_METATYPE(SigV4Options)

namespace {

constexpr int SUITE_CASES = 38;

QString vectorsDir()
{
    const QString source = qEnvironmentVariable("BINDERY_SOURCE_DIR");
    return source.isEmpty() ? QStringLiteral(BINDERY_SIGV4_VECTORS)
                            : source + u"/tests/data/aws-sigv4/v4"_s;
}

QStringList caseNames()
{
    return QDir(vectorsDir()).entryList(QDir::Dirs | QDir::NoDotAndDotDot, QDir::Name);
}

QByteArray readVector(const QString &caseName, const QString &file)
{
    QFile f(vectorsDir() + u'/' + caseName + u'/' + file);
    if (!f.open(QIODevice::ReadOnly))
        return {};
    QByteArray data = f.readAll();
    data.replace("\r", ""); // as aws-c-auth's runner does, in case a checkout added CRs
    return data;
}

/// The suite's raw HTTP request format: "METHOD target HTTP/1.1", header lines "Name:value"
/// (a line starting with whitespace continues the previous value), a blank line, the body.
/// The target may contain spaces and raw UTF-8, as the suite writes it.
struct HttpMessage
{
    bool ok = false;
    QByteArray method;
    QByteArray path;
    QByteArray query;
    HeaderList headers;
    QByteArray body;
};

HttpMessage parseHttp(const QByteArray &raw)
{
    HttpMessage m;
    const qsizetype blank = raw.indexOf("\n\n");
    const QByteArray head = blank < 0 ? raw : raw.first(blank);
    if (blank >= 0)
        m.body = raw.sliced(blank + 2);
    QList<QByteArray> lines = head.split('\n');
    if (!lines.isEmpty() && lines.last().isEmpty())
        lines.removeLast();
    if (lines.isEmpty())
        return m;
    const QByteArray &requestLine = lines.first();
    const qsizetype methodEnd = requestLine.indexOf(' ');
    const qsizetype versionStart = requestLine.lastIndexOf(" HTTP/");
    if (methodEnd <= 0 || versionStart <= methodEnd)
        return m;
    m.method = requestLine.first(methodEnd);
    const QByteArray target = requestLine.sliced(methodEnd + 1, versionStart - methodEnd - 1);
    const qsizetype q = target.indexOf('?');
    m.path = q < 0 ? target : target.first(q);
    m.query = q < 0 ? QByteArray() : target.sliced(q + 1);
    for (qsizetype i = 1; i < lines.size(); ++i) {
        const QByteArray &line = lines[i];
        if (line.startsWith(' ') || line.startsWith('\t')) {
            if (m.headers.isEmpty())
                return m;
            m.headers.last().second += '\n' + line; // obsolete line folding, kept as sent
            continue;
        }
        const qsizetype colon = line.indexOf(':');
        if (colon <= 0)
            return m;
        m.headers.append({line.first(colon), line.sliced(colon + 1)});
    }
    m.ok = true;
    return m;
}

struct SuiteCase
{
    bool ok = false;
    SigV4Request request;
    AwsCredentials credentials;
    SigV4Options options;
};

SuiteCase loadCase(const QString &name)
{
    SuiteCase c;
    const HttpMessage http = parseHttp(readVector(name, u"request.txt"_s));
    const QJsonObject ctx = QJsonDocument::fromJson(readVector(name, u"context.json"_s)).object();
    if (!http.ok || ctx.isEmpty())
        return c;
    c.request = {http.method, http.path, http.query, http.headers, http.body};
    const QJsonObject creds = ctx.value("credentials"_L1).toObject();
    c.credentials.accessKeyId = creds.value("access_key_id"_L1).toString();
    c.credentials.secretAccessKey = creds.value("secret_access_key"_L1).toString();
    c.credentials.sessionToken = creds.value("token"_L1).toString();
    c.options.region = ctx.value("region"_L1).toString();
    c.options.service = ctx.value("service"_L1).toString();
    c.options.time = QDateTime::fromString(ctx.value("timestamp"_L1).toString(), Qt::ISODate);
    c.options.normalizePath = ctx.value("normalize"_L1).toBool(true);
    c.options.signBody = ctx.value("sign_body"_L1).toBool(false);
    c.options.omitSessionToken = ctx.value("omit_session_token"_L1).toBool(false);
    c.options.expiresInSeconds = ctx.value("expiration_in_seconds"_L1).toInt();
    c.ok = c.options.time.isValid() && !c.credentials.accessKeyId.isEmpty();
    return c;
}

// Headers as "name: value" lines, so that a failed comparison prints both sides.
QByteArray printable(const HeaderList &headers)
{
    QByteArray out;
    for (const auto &[name, value] : headers)
        out += name + ": " + value + '\n';
    return out;
}

const QByteArray SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

// The IAM ListUsers example from the AWS documentation ("Create a signed AWS API request").
SigV4Request iamListUsers()
{
    return {"GET",
            "/",
            "Action=ListUsers&Version=2010-05-08",
            {{"Host", "iam.amazonaws.com"},
             {"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}},
            {}};
}

SigV4Options iamOptions()
{
    SigV4Options o;
    o.region = u"us-east-1"_s;
    o.service = u"iam"_s;
    o.time = QDateTime(QDate(2015, 8, 30), QTime(12, 36), QTimeZone::utc());
    return o;
}

AwsCredentials exampleCredentials()
{
    return {u"AKIDEXAMPLE"_s, QString::fromLatin1(SECRET), {}};
}

} // namespace

class tst_SigV4 : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void signsTheSuiteWithAnAuthorizationHeader_data();
    void signsTheSuiteWithAnAuthorizationHeader();
    void signsTheSuiteInTheQueryString_data();
    void signsTheSuiteInTheQueryString();
    void signsTheDocumentedIamExample();
    void derivesTheDocumentedSigningKey();
    void cachedSigningKeyEqualsUncachedDerivation();
    void cacheIsSafeToShareAcrossThreads();
    void signingHeadersReturnsTheHeadersToAdd();
    void rejectsWhatItCannotSign_data();
    void rejectsWhatItCannotSign();
};

void tst_SigV4::initTestCase()
{
    // A missing or partial copy of the suite must fail here, not leave a table with fewer rows.
    QVERIFY2(QDir(vectorsDir()).exists(), qPrintable(u"vectors not found: "_s + vectorsDir()));
    QCOMPARE(caseNames().size(), SUITE_CASES);
}

void tst_SigV4::signsTheSuiteWithAnAuthorizationHeader_data()
{
    QTest::addColumn<QString>("name");
    for (const QString &name : caseNames())
        QTest::newRow(qPrintable(name)) << name;
}

void tst_SigV4::signsTheSuiteWithAnAuthorizationHeader()
{
    QFETCH(QString, name);
    const SuiteCase c = loadCase(name);
    QVERIFY2(c.ok, "cannot read the case's request.txt / context.json");

    const auto r = signRequest(c.request, c.credentials, c.options);
    QVERIFY2(r.has_value(), qPrintable(r ? QString() : r.error().message));
    QCOMPARE(r->canonicalRequest, readVector(name, u"header-canonical-request.txt"_s));
    QCOMPARE(r->stringToSign, readVector(name, u"header-string-to-sign.txt"_s));
    QCOMPARE(r->signature, readVector(name, u"header-signature.txt"_s));

    // The signed request is the original one plus exactly the headers the signer returns.
    const HttpMessage expected = parseHttp(readVector(name, u"header-signed-request.txt"_s));
    QVERIFY(expected.ok);
    QCOMPARE(expected.method, c.request.method);
    QCOMPARE(expected.path, c.request.path);
    QCOMPARE(expected.query, r->query);
    QCOMPARE(expected.query, c.request.query);
    QCOMPARE(expected.body, c.request.payload);
    QVERIFY(expected.headers.size() > c.request.headers.size());
    QCOMPARE(printable(expected.headers.first(c.request.headers.size())),
             printable(c.request.headers));
    QCOMPARE(printable(expected.headers.sliced(c.request.headers.size())),
             printable(r->addedHeaders));
    QCOMPARE(expected.headers.last().first, QByteArray("Authorization"));
    QCOMPARE(expected.headers.last().second, r->authorization);
}

void tst_SigV4::signsTheSuiteInTheQueryString_data()
{
    signsTheSuiteWithAnAuthorizationHeader_data();
}

void tst_SigV4::signsTheSuiteInTheQueryString()
{
    QFETCH(QString, name);
    SuiteCase c = loadCase(name);
    QVERIFY2(c.ok, "cannot read the case's request.txt / context.json");
    c.options.location = SignatureLocation::Query;

    const auto r = signRequest(c.request, c.credentials, c.options);
    QVERIFY2(r.has_value(), qPrintable(r ? QString() : r.error().message));
    QCOMPARE(r->canonicalRequest, readVector(name, u"query-canonical-request.txt"_s));
    QCOMPARE(r->stringToSign, readVector(name, u"query-string-to-sign.txt"_s));
    QCOMPARE(r->signature, readVector(name, u"query-signature.txt"_s));

    // Presigned: the headers stay as they were; the query gains the X-Amz-* parameters.
    const HttpMessage expected = parseHttp(readVector(name, u"query-signed-request.txt"_s));
    QVERIFY(expected.ok);
    QCOMPARE(expected.method, c.request.method);
    QCOMPARE(expected.path, c.request.path);
    QCOMPARE(expected.query, r->query);
    QCOMPARE(printable(expected.headers), printable(c.request.headers));
    QCOMPARE(expected.body, c.request.payload);
    QVERIFY(r->addedHeaders.isEmpty());
    QVERIFY(r->authorization.isEmpty());
}

void tst_SigV4::signsTheDocumentedIamExample()
{
    const auto r = signRequest(iamListUsers(), exampleCredentials(), iamOptions());
    QVERIFY2(r.has_value(), qPrintable(r ? QString() : r.error().message));
    QCOMPARE(r->canonicalRequest, QByteArray("GET\n/\nAction=ListUsers&Version=2010-05-08\n"
                                             "content-type:application/x-www-form-urlencoded; "
                                             "charset=utf-8\nhost:iam.amazonaws.com\n"
                                             "x-amz-date:20150830T123600Z\n\n"
                                             "content-type;host;x-amz-date\n"
                                             "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca49"
                                             "5991b7852b855"));
    QCOMPARE(r->stringToSign,
             QByteArray("AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/iam/aws4_request\n"
                        "f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59"));
    QCOMPARE(r->signature,
             QByteArray("5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"));
    QCOMPARE(
        r->authorization,
        QByteArray("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/"
                   "aws4_request, SignedHeaders=content-type;host;x-amz-date, "
                   "Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"));
}

void tst_SigV4::derivesTheDocumentedSigningKey()
{
    QCOMPARE(deriveSigningKey(SECRET, "20150830", "us-east-1", "iam").toHex(),
             QByteArray("c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9"));
}

void tst_SigV4::cachedSigningKeyEqualsUncachedDerivation()
{
    SigningKeyCache cache;
    const QByteArray uncached = deriveSigningKey(SECRET, "20150830", "us-east-1", "sqs");
    QCOMPARE(uncached.size(), 32);
    QCOMPARE(cache.signingKey(SECRET, "20150830", "us-east-1", "sqs"), uncached);
    QCOMPARE(cache.signingKey(SECRET, "20150830", "us-east-1", "sqs"), uncached);
    QCOMPARE(cache.derivations(), 1); // the second call was a hit

    // Any part of the scope, or the secret, changing gives that scope's own key.
    QCOMPARE(cache.signingKey(SECRET, "20150831", "us-east-1", "sqs"),
             deriveSigningKey(SECRET, "20150831", "us-east-1", "sqs"));
    QCOMPARE(cache.signingKey(SECRET, "20150830", "eu-west-1", "sqs"),
             deriveSigningKey(SECRET, "20150830", "eu-west-1", "sqs"));
    QCOMPARE(cache.signingKey("other-secret", "20150830", "us-east-1", "sqs"),
             deriveSigningKey("other-secret", "20150830", "us-east-1", "sqs"));
    QVERIFY(cache.signingKey(SECRET, "20150830", "us-east-1", "iam") != uncached);
    QCOMPARE(cache.derivations(), 5);
    QCOMPARE(cache.signingKey(SECRET, "20150830", "us-east-1", "sqs"), uncached);

    // Whole requests: the suite's cases signed through one cache equal the uncached signatures.
    for (const QString &name : caseNames()) {
        const SuiteCase c = loadCase(name);
        QVERIFY(c.ok);
        const auto plain = signRequest(c.request, c.credentials, c.options);
        const auto cached = signRequest(c.request, c.credentials, c.options, &cache);
        QVERIFY(plain && cached);
        QCOMPARE(cached->signature, plain->signature);
        QCOMPARE(cached->signature, readVector(name, u"header-signature.txt"_s));
    }
    const auto iam = signRequest(iamListUsers(), exampleCredentials(), iamOptions(), &cache);
    QVERIFY(iam.has_value());
    QCOMPARE(iam->signature,
             QByteArray("5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"));
}

void tst_SigV4::cacheIsSafeToShareAcrossThreads()
{
    // Pollers sign concurrently through one cache. Three regions times two dates is more scopes
    // than the cache holds, so threads miss and evict while others hit. Run under the
    // tsan preset, this also checks the locking.
    const QByteArrayView regions[] = {"us-east-1", "eu-west-1", "ap-south-1"};
    SigningKeyCache cache;
    std::atomic<int> wrong{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 6; ++t) {
        threads.emplace_back([&, t] {
            const QByteArrayView region = regions[t % 3];
            const QByteArray want1 = deriveSigningKey(SECRET, "20150830", region, "sqs");
            const QByteArray want2 = deriveSigningKey(SECRET, "20150831", region, "sqs");
            for (int i = 0; i < 500; ++i) {
                const bool first = (i + t) % 3 != 0;
                const QByteArray got
                    = cache.signingKey(SECRET, first ? "20150830" : "20150831", region, "sqs");
                if (got != (first ? want1 : want2))
                    ++wrong;
            }
        });
    }
    for (std::thread &t : threads)
        t.join();
    QCOMPARE(wrong.load(), 0);
    QVERIFY(cache.derivations() >= 6); // each scope derived at least once
}

void tst_SigV4::signingHeadersReturnsTheHeadersToAdd()
{
    SigV4Options options = iamOptions();
    options.location = SignatureLocation::Query; // ignored: the helper always signs with headers
    const auto headers = signingHeaders(iamListUsers(), exampleCredentials(), options);
    QVERIFY2(headers.has_value(), qPrintable(headers ? QString() : headers.error().message));
    const HeaderList expected
        = {{"X-Amz-Date", "20150830T123600Z"},
           {"Authorization",
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, "
            "SignedHeaders=content-type;host;x-amz-date, "
            "Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"}};
    QCOMPARE(printable(*headers), printable(expected));
}

void tst_SigV4::rejectsWhatItCannotSign_data()
{
    QTest::addColumn<SigV4Request>("request");
    QTest::addColumn<AwsCredentials>("credentials");
    QTest::addColumn<SigV4Options>("options");
    QTest::addColumn<int>("code");
    QTest::addColumn<QString>("message");

    const auto request = iamListUsers();
    const auto creds = exampleCredentials();
    const auto options = iamOptions();
    const int invalid = int(ErrorCode::InvalidMetadata);
    const int malformed = int(ErrorCode::MalformedData);

    QTest::newRow("empty secret") << request << AwsCredentials{u"AKIDEXAMPLE"_s, {}, {}} << options
                                  << invalid << u"access key id or secret key is empty"_s;
    SigV4Options noRegion = options;
    noRegion.region.clear();
    QTest::newRow("no region") << request << creds << noRegion << invalid
                               << u"region or service is empty"_s;
    SigV4Options noTime = options;
    noTime.time = {};
    QTest::newRow("no time") << request << creds << noTime << invalid << u"invalid signing time"_s;
    SigV4Request noHost = request;
    noHost.headers.removeFirst();
    QTest::newRow("no Host header")
        << noHost << creds << options << malformed << u"the request has no Host header"_s;
    SigV4Request dated = request;
    dated.headers.append(qMakePair(QByteArray("x-amz-date"), QByteArray("20150830T123600Z")));
    QTest::newRow("X-Amz-Date already set")
        << dated << creds << options << malformed
        << u"the request already has a 'x-amz-date' header; the signer sets it"_s;
    SigV4Request presigned = request;
    presigned.query += "&X-Amz-Signature=00";
    QTest::newRow("X-Amz-Signature in the query")
        << presigned << creds << options << malformed
        << u"the query already has 'X-Amz-Signature'; the signer sets it"_s;
    SigV4Request badEscape = request;
    badEscape.query = "a=%zz";
    QTest::newRow("bad %-escape") << badEscape << creds << options << malformed
                                  << u"malformed %-escape in the query string"_s;
}

void tst_SigV4::rejectsWhatItCannotSign()
{
    QFETCH(SigV4Request, request);
    QFETCH(AwsCredentials, credentials);
    QFETCH(SigV4Options, options);
    QFETCH(int, code);
    QFETCH(QString, message);
    const auto r = signRequest(request, credentials, options);
    QVERIFY(!r.has_value());
    QCOMPARE(int(r.error().code), code);
    QCOMPARE(r.error().message, u"AWS signing: "_s + message);
    QVERIFY(!r.error().message.contains(QString::fromLatin1(SECRET)));
}

QTEST_GUILESS_MAIN(tst_SigV4)
#include "tst_sigv4.moc"
