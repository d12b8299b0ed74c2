// SPDX-License-Identifier: Apache-2.0
#include "core/bindings/aws_sqs/sqs_client.h"

#include <mutex>

#include <QDateTime>
#include <QJsonDocument>
#include <QHash>
#include <QUrl>
#include <QXmlStreamReader>

namespace bindery::bindings::aws_sqs {

using common::RestRequest;
using common::RestResponse;
using common::TransportError;

namespace {

/// What an SQS error code means; None for codes that say nothing beyond their status.
SqsErrorKind kindOfCode(const QString &code)
{
    static const QHash<QString, SqsErrorKind> kinds = [] {
        QHash<QString, SqsErrorKind> k;
        for (const char *c :
             {"SignatureDoesNotMatch", "InvalidClientTokenId", "UnrecognizedClientException",
              "ExpiredToken", "ExpiredTokenException", "IncompleteSignature",
              "InvalidSignatureException", "MissingAuthenticationToken", "AccessDenied",
              "AccessDeniedException", "AuthFailure", "InvalidAccessKeyId", "RequestExpired",
              "InvalidSecurity", "OptInRequired", "NotAuthorized"})
            k.insert(QString::fromLatin1(c), SqsErrorKind::Auth);
        for (const char *c :
             {"ThrottlingException", "Throttling", "RequestThrottled", "RequestThrottledException",
              "TooManyRequestsException", "KmsThrottled", "AWS.SimpleQueueService.RequestThrottled",
              "SlowDown"})
            k.insert(QString::fromLatin1(c), SqsErrorKind::Throttled);
        for (const char *c : {"QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue"})
            k.insert(QString::fromLatin1(c), SqsErrorKind::QueueMissing);
        return k;
    }();
    return kinds.value(code, SqsErrorKind::None);
}

/// `<Code>` and `<Message>` of an XML error document (`ErrorResponse/Error`, `Error`).
bool parseXmlError(const QByteArray &body, QString *code, QString *message)
{
    QXmlStreamReader xml(body);
    while (!xml.atEnd()) {
        if (xml.readNext() != QXmlStreamReader::StartElement)
            continue;
        if (xml.name() == QStringLiteral("Code") && code->isEmpty())
            *code = xml.readElementText().trimmed();
        else if (xml.name() == QStringLiteral("Message") && message->isEmpty())
            *message = xml.readElementText().trimmed();
    }
    return !code->isEmpty();
}

QString shortBody(const QByteArray &body)
{
    QString s = QString::fromUtf8(body.left(300)).simplified();
    if (body.size() > 300)
        s += QStringLiteral("…");
    return s;
}

SqsReply toReply(const RestResponse &r)
{
    SqsReply reply;
    reply.attempts = r.attempts;
    if (!r.ok()) {
        reply.error.kind = r.errorKind == TransportError::Closed          ? SqsErrorKind::Closed
                           : r.errorKind == TransportError::BeforeAttempt ? SqsErrorKind::Client
                                                                          : SqsErrorKind::Transport;
        reply.error.code = common::transportErrorName(r.errorKind);
        reply.error.message = r.error;
        return reply;
    }
    if (!r.isSuccess()) {
        reply.error = parseSqsError(r.status, r.body, r.headers);
        return reply;
    }
    QJsonParseError pe{};
    const QJsonDocument doc = QJsonDocument::fromJson(r.body, &pe);
    if (!r.body.trimmed().isEmpty() && (pe.error != QJsonParseError::NoError || !doc.isObject())) {
        reply.error.kind = SqsErrorKind::Server;
        reply.error.status = r.status;
        reply.error.code = QStringLiteral("MalformedResponse");
        reply.error.message
            = QStringLiteral("the answer is not a JSON object: ") + shortBody(r.body);
        return reply;
    }
    reply.body = doc.object();
    return reply;
}

} // namespace

bool isRetryable(const RestResponse &r)
{
    if (common::RetryPolicy::defaultRetryable(r))
        return true;
    // SQS says "throttled" with a 400 and a code on the JSON protocol.
    return r.ok() && r.status == 400
           && parseSqsError(r.status, r.body, r.headers).kind == SqsErrorKind::Throttled;
}

QString SqsError::describe() const
{
    QString out = code.isEmpty() ? message : (message.isEmpty() ? code : code + u": " + message);
    if (status > 0)
        out += QStringLiteral(" (HTTP %1)").arg(status);
    return out;
}

SqsError parseSqsError(int status, const QByteArray &body, const common::HttpHeaders &headers)
{
    SqsError e;
    e.status = status;
    const QByteArray trimmed = body.trimmed();
    if (trimmed.startsWith('{')) {
        const QJsonObject o = QJsonDocument::fromJson(trimmed).object();
        QString type = o.value(QStringLiteral("__type")).toString();
        if (type.isEmpty())
            type = o.value(QStringLiteral("code")).toString();
        e.code = type.mid(type.lastIndexOf(u'#') + 1);
        e.message = o.value(QStringLiteral("message")).toString();
        if (e.message.isEmpty())
            e.message = o.value(QStringLiteral("Message")).toString();
    } else if (trimmed.startsWith('<')) {
        parseXmlError(trimmed, &e.code, &e.message);
    }
    // The query-compatible code ("AWS.SimpleQueueService.NonExistentQueue;Sender").
    QString queryCode;
    for (const auto &[name, value] : headers) {
        if (name.compare("x-amzn-query-error", Qt::CaseInsensitive) == 0)
            queryCode = QString::fromUtf8(value.left(value.indexOf(';')));
    }
    if (e.code.isEmpty())
        e.code = queryCode;
    if (e.code.isEmpty() && e.message.isEmpty())
        e.message = shortBody(body);

    const SqsErrorKind byCode
        = kindOfCode(e.code) != SqsErrorKind::None ? kindOfCode(e.code) : kindOfCode(queryCode);
    if (status == 403 || byCode == SqsErrorKind::Auth)
        e.kind = SqsErrorKind::Auth;
    else if (status == 429 || byCode == SqsErrorKind::Throttled)
        e.kind = SqsErrorKind::Throttled;
    else if (byCode == SqsErrorKind::QueueMissing)
        e.kind = SqsErrorKind::QueueMissing;
    else if (status >= 500)
        e.kind = SqsErrorKind::Server;
    else
        e.kind = SqsErrorKind::Client;
    return e;
}

/** @brief The credentials and the SigV4 signing of every attempt; shared with beforeAttempt. */
struct SqsClient::Signer
{
    mutable std::mutex mutex;
    AwsCredentials credentials;
    QString region;
    QByteArray path;
    SigningKeyCache keys;

    Result<> sign(RestRequest &r)
    {
        SigV4Request s;
        s.method = r.method;
        s.path = path;
        s.headers = r.headers;
        s.payload = r.body;
        SigV4Options o;
        o.region = region;
        o.service = QStringLiteral("sqs");
        o.time = QDateTime::currentDateTimeUtc(); // a fresh time for each attempt
        AwsCredentials c;
        {
            std::lock_guard lock(mutex);
            c = credentials;
        }
        Result<HeaderList> added = signingHeaders(s, c, o, &keys);
        if (!added)
            return tl::unexpected(added.error());
        r.headers += *added;
        return {};
    }
};

Result<std::unique_ptr<SqsClient>> SqsClient::create(SqsClientOptions options)
{
    const QUrl url(options.endpoint);
    if (!url.isValid() || url.host().isEmpty())
        return fail(ErrorCode::InvalidMetadata,
                    QStringLiteral("aws.sqs: endpoint '%1' is not a URL").arg(options.endpoint));
    common::RestClientOptions ro;
    ro.name = options.name;
    ro.maxHostConnections = qMax(1, options.maxConnections);
    ro.maxIdleConnections = qMax(4, options.maxConnections);
    ro.retry.maxAttempts = 4;
    ro.retry.base = std::chrono::milliseconds(100);
    ro.retry.cap = std::chrono::milliseconds(5000);
    ro.retry.retryIf = isRetryable;
    ro.userAgent = "bindery-aws-sqs/1";
    Result<std::unique_ptr<common::RestClient>> rest = common::RestClient::create(ro);
    if (!rest)
        return tl::unexpected(rest.error());
    auto signer = std::make_shared<Signer>();
    signer->credentials = options.credentials;
    signer->region = options.region;
    signer->path = url.path(QUrl::FullyEncoded).toUtf8();
    if (signer->path.isEmpty())
        signer->path = "/";
    QByteArray target = options.endpoint.toUtf8();
    if (url.path().isEmpty())
        target += '/';
    const QByteArray host = url.authority(QUrl::RemoveUserInfo | QUrl::FullyEncoded).toUtf8();
    return std::unique_ptr<SqsClient>(
        new SqsClient(std::move(options), std::move(*rest), std::move(signer), target, host));
}

SqsClient::SqsClient(SqsClientOptions options, std::unique_ptr<common::RestClient> rest,
                     std::shared_ptr<Signer> signer, QByteArray url, QByteArray host)
    : m_options(std::move(options))
    , m_rest(std::move(rest))
    , m_signer(std::move(signer))
    , m_url(std::move(url))
    , m_host(std::move(host))
{
}

SqsClient::~SqsClient() = default;

void SqsClient::setCredentials(const AwsCredentials &credentials)
{
    std::lock_guard lock(m_signer->mutex);
    m_signer->credentials = credentials;
}

RestRequest SqsClient::request(QByteArrayView action, const QJsonObject &params,
                               std::chrono::milliseconds timeout) const
{
    RestRequest rq;
    rq.method = "POST";
    rq.url = m_url;
    rq.headers = {{"Host", m_host},
                  {"Content-Type", "application/x-amz-json-1.0"},
                  {"X-Amz-Target", "AmazonSQS." + action.toByteArray()}};
    rq.body = QJsonDocument(params).toJson(QJsonDocument::Compact);
    rq.timeout = timeout;
    rq.connectTimeout = std::min(timeout, std::chrono::milliseconds(10000));
    rq.beforeAttempt = [signer = m_signer](RestRequest &r, int) { return signer->sign(r); };
    return rq;
}

void SqsClient::call(QByteArrayView action, const QJsonObject &params,
                     std::chrono::milliseconds timeout, Done done)
{
    m_rest->send(request(action, params, timeout),
                 [done = std::move(done)](RestResponse r) { done(toReply(r)); });
}

SqsReply SqsClient::callAndWait(QByteArrayView action, const QJsonObject &params,
                                std::chrono::milliseconds timeout)
{
    return toReply(m_rest->sendAndWait(request(action, params, timeout)));
}

} // namespace bindery::bindings::aws_sqs
