// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <QByteArray>
#include <QByteArrayView>
#include <QDateTime>
#include <QList>
#include <QMutex>
#include <QPair>
#include <QString>

#include "core/result.h"

namespace bindery::bindings::aws_sqs {

/** @brief An ordered list of HTTP header name/value pairs; names keep the caller's case. */
using HeaderList = QList<QPair<QByteArray, QByteArray>>;

/**
 * @brief AWS credentials for signing. Plain value type; never log it (the secret and the session
 * token are sensitive). An empty `sessionToken` means long-term credentials.
 */
struct AwsCredentials
{
    QString accessKeyId;
    QString secretAccessKey;
    QString sessionToken;
};

/**
 * @brief The request to sign, as it goes on the wire.
 *
 * `path` and `query` are taken exactly as they appear in the request line (already percent-encoded
 * where the client encodes; the signer encodes the path once more and re-encodes the query
 * canonically). `headers` must include `Host`. `payload` is the full body.
 */
struct SigV4Request
{
    QByteArray method;
    QByteArray path;
    QByteArray query; ///< without the leading '?'
    HeaderList headers;
    QByteArray payload;
};

/** @brief Where the signature goes: an Authorization header, or the query string (presigned URL).
 */
enum class SignatureLocation { Headers, Query };

/** @brief How to sign: scope, time and the options the AWS test suite exercises. */
struct SigV4Options
{
    QString region;
    QString service;
    QDateTime time; ///< signing time; converted to UTC
    SignatureLocation location = SignatureLocation::Headers;
    bool normalizePath = true;   ///< remove "." / ".." segments and duplicate slashes (not for S3)
    bool doubleUriEncode = true; ///< encode the sent path once more (every service except S3)
    bool signBody = false;       ///< add and sign `x-amz-content-sha256` (Headers only)
    bool omitSessionToken = false; ///< send the session token but leave it out of the signature
    int expiresInSeconds = 3600;   ///< `X-Amz-Expires` for Query signing; 0 leaves it out
};

/**
 * @brief Everything a signature produced, for sending and for diagnosing a
 * `SignatureDoesNotMatch` (the server's error echoes its canonical request / string to sign).
 */
struct SigV4Result
{
    QByteArray canonicalRequest;
    QByteArray stringToSign;
    QByteArray signature;     ///< lower-case hex
    QByteArray authorization; ///< the Authorization header value (Headers only, else empty)
    /**
     * Headers to add to the request, in this order: `X-Amz-Security-Token` (with a session token),
     * `X-Amz-Date`, `x-amz-content-sha256` (with signBody), `Authorization`. Empty for Query.
     */
    HeaderList addedHeaders;
    /** The query string to send: the request's own query, plus the `X-Amz-*` parameters for Query.
     */
    QByteArray query;
};

/**
 * @brief Caches derived SigV4 signing keys per (secret, date, region, service), so a busy client
 * does not redo the four key-derivation HMACs on every request. The key changes once a day.
 *
 * Thread-safe: one cache may be shared by all threads signing for a binding. Holds at most a few
 * entries (a binding signs for one region and service; the date rolls over at UTC midnight).
 */
class SigningKeyCache final
{
public:
    /** @brief The signing key for `date` (yyyyMMdd); derived on a miss. Never blocks for long. */
    QByteArray signingKey(QByteArrayView secretAccessKey, QByteArrayView date,
                          QByteArrayView region, QByteArrayView service);
    /** @brief How many keys were derived (misses); for tests and diagnostics. */
    int derivations() const;

private:
    struct Entry
    {
        QByteArray secret, date, region, service, key;
    };
    mutable QMutex m_mutex;
    QList<Entry> m_entries; // most recently used first
    int m_derivations = 0;
};

/**
 * @brief kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request"),
 * 32 raw bytes. Pure function, any thread.
 */
QByteArray deriveSigningKey(QByteArrayView secretAccessKey, QByteArrayView date,
                            QByteArrayView region, QByteArrayView service);

/**
 * @brief Signs `request` with AWS Signature Version 4 (AWS4-HMAC-SHA256).
 *
 * Pure apart from `cache` (optional, not owned, thread-safe); callable from any thread. Fails
 * (InvalidMetadata) on empty credentials, region or service or an invalid time, and
 * (MalformedData) when the request has no Host header, already carries a header or query
 * parameter the signer sets (Authorization, X-Amz-Date, ...), or has a malformed %-escape in
 * its query. Headers a proxy may change (User-Agent, Connection, Expect, ...) are sent unsigned.
 */
[[nodiscard]] Result<SigV4Result> signRequest(const SigV4Request &request,
                                              const AwsCredentials &credentials,
                                              const SigV4Options &options,
                                              SigningKeyCache *cache = nullptr);

/**
 * @brief The headers to add to `request` so that it is signed (`X-Amz-Date`, `Authorization`,
 * ...; see SigV4Result::addedHeaders). Header signing only: `options.location` is ignored.
 */
[[nodiscard]] Result<HeaderList> signingHeaders(const SigV4Request &request,
                                                const AwsCredentials &credentials,
                                                const SigV4Options &options,
                                                SigningKeyCache *cache = nullptr);

} // namespace bindery::bindings::aws_sqs
