// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <functional>
#include <memory>

#include <QByteArray>
#include <QByteArrayView>
#include <QJsonObject>
#include <QString>

#include "core/bindings/aws_sqs/sigv4.h"
#include "core/bindings/common/rest_client.h"
#include "core/result.h"

namespace bindery::bindings::aws_sqs {

/** @brief What an SQS failure means to the caller. */
enum class SqsErrorKind {
    None,
    Auth,         ///< 403 or an authentication code: retrying soon cannot help
    Throttled,    ///< 429 or a throttling code (retried with backoff before it is reported)
    Server,       ///< 5xx (retried with backoff before it is reported)
    QueueMissing, ///< QueueDoesNotExist / AWS.SimpleQueueService.NonExistentQueue
    Client,       ///< any other 4xx: the request is wrong
    Transport,    ///< no HTTP answer: connect, TLS, timeout, broken connection
    Closed,       ///< the client was closed with the call pending
};

/** @brief An SQS error as SQS said it: from a JSON body (`__type`, `message`) or an XML one. */
struct SqsError
{
    SqsErrorKind kind = SqsErrorKind::None;
    int status = 0;  ///< HTTP status; 0 without an answer
    QString code;    ///< e.g. "SignatureDoesNotMatch", "QueueDoesNotExist"; "connect" etc.
    QString message; ///< SQS's message, or the transport error
    /// "SignatureDoesNotMatch: The request signature ... (HTTP 403)"
    QString describe() const;
};

/**
 * @brief Reads SQS's error out of an answer: the AWS JSON 1.0 form
 * (`{"__type":"com.amazonaws.sqs#QueueDoesNotExist","message":"..."}`, plus the
 * `x-amzn-query-error` header), and the XML form (`<Error><Code>..</Code><Message>..`) that some
 * servers (moto's authentication checks) send even on the JSON protocol. Pure; any thread.
 */
SqsError parseSqsError(int status, const QByteArray &body, const common::HttpHeaders &headers);

/**
 * @brief Whether an attempt's answer is retried (with the client's full-jitter backoff): the
 * kit's default (connect, timeout and network errors, 429, every 5xx) plus SQS's throttling
 * codes, which the JSON protocol sends with a 400. Authentication errors never are. Pure.
 */
bool isRetryable(const common::RestResponse &response);

/** @brief The outcome of one SQS call. */
struct SqsReply
{
    QJsonObject body; ///< the decoded answer on success
    SqsError error;
    int attempts = 0; ///< HTTP attempts made (retries included)
    bool ok() const { return error.kind == SqsErrorKind::None; }
};

/** @brief Where and as whom a client talks to SQS. */
struct SqsClientOptions
{
    QString name = QStringLiteral("sqs"); ///< names the worker thread
    QString endpoint;                     ///< http(s)://host[:port][/path], no trailing slash
    QString region;
    AwsCredentials credentials;
    int maxConnections = 8;
};

/**
 * @brief SQS over its AWS JSON 1.0 protocol (`X-Amz-Target: AmazonSQS.<Action>`), on the binding
 * kit's RestClient: each attempt is signed with SigV4 at its own time (beforeAttempt); throttling,
 * 5xx and transport errors are retried with full-jitter backoff; authentication errors are not.
 *
 * Threads: call() and setCredentials() from any thread; `done` runs on the client's worker thread
 * and must neither block nor destroy the client. callAndWait() blocks (init only; never on the
 * worker). Every `done` runs exactly once, with SqsErrorKind::Closed when the client is destroyed
 * first.
 */
class SqsClient final
{
public:
    using Done = std::function<void(SqsReply reply)>;

    [[nodiscard]] static Result<std::unique_ptr<SqsClient>> create(SqsClientOptions options);
    ~SqsClient();
    SqsClient(const SqsClient &) = delete;
    SqsClient &operator=(const SqsClient &) = delete;

    /** @brief Sends `AmazonSQS.<action>` with `params` as its JSON body; returns at once. */
    void call(QByteArrayView action, const QJsonObject &params, std::chrono::milliseconds timeout,
              Done done);
    /** @brief call() and wait for the reply (bounded by `timeout`). */
    SqsReply callAndWait(QByteArrayView action, const QJsonObject &params,
                         std::chrono::milliseconds timeout);

    /** @brief Signs later attempts with new credentials (e.g. a re-read credentials file). */
    void setCredentials(const AwsCredentials &credentials);
    const QString &endpoint() const { return m_options.endpoint; }
    const QString &region() const { return m_options.region; }

private:
    struct Signer;
    SqsClient(SqsClientOptions options, std::unique_ptr<common::RestClient> rest,
              std::shared_ptr<Signer> signer, QByteArray url, QByteArray host);
    common::RestRequest request(QByteArrayView action, const QJsonObject &params,
                                std::chrono::milliseconds timeout) const;

    SqsClientOptions m_options;
    std::unique_ptr<common::RestClient> m_rest;
    std::shared_ptr<Signer> m_signer;
    QByteArray m_url;
    QByteArray m_host;
};

} // namespace bindery::bindings::aws_sqs
