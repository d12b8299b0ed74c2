// SPDX-License-Identifier: Apache-2.0
#pragma once

// An asynchronous HTTP/1.1 client for the REST bindings (SQS, Cloud Storage, ...), issue 8 part 4.
//
// Why libcurl's multi interface, not QNetworkAccessManager or a hand-written client:
//  - it is a kept library the project already links (CURL::libcurl, 7.88 on Debian 12) with
//    decades of HTTP/1.1 correctness behind it: chunked and Content-Length framing, 1xx interim
//    answers, half-closed keep-alive connections, Expect, trailers;
//  - TLS comes from OpenSSL with the CA, client certificate and key given as PEM *text*
//    (CURLOPT_CAINFO_BLOB, CURLOPT_SSLCERT_BLOB, CURLOPT_SSLKEY_BLOB), which is how Dapr
//    components carry them; no temporary files;
//  - the multi handle pools keep-alive connections per host (bounded by
//    CURLMOPT_MAX_HOST_CONNECTIONS) and drives any number of transfers from one thread, with
//    curl_multi_poll/curl_multi_wakeup: no Qt event loop and no thread per request;
//  - it is far cheaper: QNetworkAccessManager costs ~100-230 µs of CPU per request on this
//    project's machines (bench_delivery's QNAM column in README.md) and runs at most 6 requests
//    per host (Qt docs); bench/core/bench_rest_client.cpp measured this client at
//    17-21 µs of CPU per small keep-alive GET (38-43 k req/s with one in flight, 25-32 k with
//    16, on its single worker), against 13-24 µs for blocking curl easy handles.
// core/http_client.h (the app channel's raw-socket client) stays the hot path for deliveries
// to the app; it has no TLS, no retries and no streaming, which REST services need.

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>

#include <QByteArray>
#include <QByteArrayView>
#include <QList>
#include <QPair>
#include <QString>

#include "core/result.h"

namespace bindery::bindings::common {

/** @brief HTTP header fields in wire order, names with the case the peer sent. */
using HttpHeaders = QList<QPair<QByteArray, QByteArray>>;

/** @brief Why an attempt failed below HTTP (a status such as 503 is not a transport error). */
enum class TransportError {
    None,
    Connect,       ///< DNS or TCP connect failed (refused, unreachable, connect timeout).
    Timeout,       ///< The attempt's or the request's time budget ran out.
    Tls,           ///< Handshake, certificate verification or client-certificate failure.
    Network,       ///< The connection broke while sending or receiving.
    BodyTooLarge,  ///< The response body exceeded the cap held in memory.
    Aborted,       ///< The request's body source or response sink stopped the transfer.
    BeforeAttempt, ///< RestRequest::beforeAttempt returned an error (e.g. a token refresh).
    Closed,        ///< The client was destroyed with the request in flight.
    Other,
};

/** @brief Stable lower-case name of a transport error kind, e.g. "connect", for logs. */
QString transportErrorName(TransportError kind);

/**
 * @brief The outcome of one request (of its last attempt). A plain value type.
 *
 * `error` is empty when an HTTP response was received, whatever its status.
 */
struct RestResponse
{
    int status = 0;
    /// The status line's reason phrase as the server sent it ("OK", "Not Found"), maybe empty.
    QByteArray reason;
    HttpHeaders headers;
    /// The body, unless it went to RestRequest::onData (then empty). Bounded by the cap.
    QByteArray body;
    /// Body bytes of the last attempt, held in `body` or handed to the sink.
    qint64 bodyBytes = 0;
    TransportError errorKind = TransportError::None;
    QString error;
    /// Attempts made, including the first (0 if none started, e.g. closed while queued).
    int attempts = 0;
    /// From send() to completion, retries and waits included.
    qint64 elapsedUs = 0;

    /// True when a response arrived (any status).
    bool ok() const { return errorKind == TransportError::None; }
    /// True for a 2xx response.
    bool isSuccess() const { return ok() && status >= 200 && status < 300; }
    /// The first header with this name, compared case-insensitively.
    std::optional<QByteArray> header(QByteArrayView name) const;
};

/**
 * @brief A streaming request body, for uploads that should never be held in memory.
 *
 * `read` is called on the client's worker thread; it fills up to `capacity` bytes and returns
 * how many it wrote, 0 at the end, or Abort to fail the request (TransportError::Aborted).
 * It must not block for long: it runs on the thread that drives every transfer of the client.
 */
struct RestBodySource
{
    static constexpr size_t Abort = static_cast<size_t>(-1);
    std::function<size_t(char *buffer, size_t capacity)> read;
    /// Content-Length when known; -1 sends the body chunked.
    qint64 length = -1;
    /// Restarts the body for a retry; false or unset means a request whose body was (partly)
    /// read is not retried.
    std::function<bool()> rewind;

    bool isSet() const { return static_cast<bool>(read); }
};

/**
 * @brief Bounded retries with exponential backoff and full jitter.
 *
 * The wait before retry n (n = 1 for the second attempt) is uniform in
 * [0, min(cap, base * 2^(n-1))] ("full jitter"), or the response's `Retry-After` (seconds or an
 * HTTP date) when present and honoured. No retry starts when its wait would overrun the
 * request's timeout; the last response is returned instead.
 */
struct RetryPolicy
{
    /// Attempts in all, the first included; 1 disables retries.
    int maxAttempts = 3;
    std::chrono::milliseconds base{100};
    std::chrono::milliseconds cap{5000};
    bool honourRetryAfter = true;
    /// Decides from an attempt's response whether to retry; unset means defaultRetryable().
    /// Called on the worker thread.
    std::function<bool(const RestResponse &)> retryIf;

    /// Connect, timeout and network errors, 429, and every 5xx.
    static bool defaultRetryable(const RestResponse &response);
    /// The upper bound of the jittered wait before retry `retry` (1-based): min(cap,
    /// base*2^(retry-1)).
    std::chrono::milliseconds ceiling(int retry) const;
};

struct RestRequest;

/**
 * @brief Called before each attempt (the first included) on the worker thread, with the request
 * as it was given to send() (earlier attempts' changes are undone) and the 1-based attempt.
 *
 * AWS SigV4 re-signs here with a fresh time; an OAuth binding refreshes its token. An error
 * completes the request with TransportError::BeforeAttempt and is not retried. It must not
 * block for long (it runs on the client's only worker thread).
 */
using BeforeAttempt = std::function<Result<>(RestRequest &request, int attempt)>;

/** @brief One HTTP request. A value type; move it into send(). */
struct RestRequest
{
    QByteArray method = QByteArrayLiteral("GET");
    /// Absolute http:// or https:// URL, already percent-encoded.
    QByteArray url;
    /// Sent in this order with this case. A `Content-Type` or `Expect` given here wins over
    /// the client's (it sends none, and never `Expect: 100-continue` unless asked here).
    HttpHeaders headers;
    /// The body in memory; ignored when `bodySource` is set.
    QByteArray body;
    RestBodySource bodySource;
    /**
     * @brief Streaming sink for a 2xx response's body, so a large download is never held in
     * memory. Returns false to abort (TransportError::Aborted). Called on the worker thread.
     * Other statuses' bodies stay in RestResponse::body (bounded by the cap), so an error
     * document can be read. Once the sink saw a byte, the request is not retried.
     */
    std::function<bool(const char *data, size_t size)> onData;
    /// With onData: called once per attempt with a 2xx response's status and headers, before
    /// its first body byte (to size a buffer from Content-Length, say). On the worker thread.
    std::function<void(const RestResponse &head)> onBodyStart;
    /// Budget of the whole request: every attempt and every wait between them.
    std::chrono::milliseconds timeout{30000};
    /// Budget of one attempt; 0 means what is left of `timeout`.
    std::chrono::milliseconds attemptTimeout{0};
    std::chrono::milliseconds connectTimeout{10000};
    /// Ends an attempt (TransportError::Timeout) when no body byte moved either way for this
    /// long, so a stalled peer of a long transfer is noticed without a short `timeout`; 0: off.
    std::chrono::milliseconds stallTimeout{0};
    /// Cap on a body held in memory; -1 means the client's RestClientOptions::maxResponseBytes.
    qint64 maxResponseBytes = -1;
    /// Unset means the client's RestClientOptions::retry.
    std::optional<RetryPolicy> retry;
    BeforeAttempt beforeAttempt;
};

/**
 * @brief PEM material given as text or as a file path (text wins). `field` names it in errors,
 * e.g. the binding's metadata field "caCert".
 */
struct PemInput
{
    QByteArray pem;
    QString file;
    QString field;

    bool isSet() const { return !pem.isEmpty() || !file.isEmpty(); }
};

/** @brief TLS settings of a client, checked when the client is created. */
struct RestTlsOptions
{
    /// Trusted CA certificate(s); when set, only these are trusted, not the system store.
    PemInput ca;
    PemInput clientCert;
    PemInput clientKey;
    /// Skips peer and host name verification (tests and self-signed development servers).
    bool insecureSkipVerify = false;
};

/** @brief Settings of one client. */
struct RestClientOptions
{
    /// Names the worker thread "bindery-<name>-http" (shortened to Linux's 15 characters).
    QString name = QStringLiteral("rest");
    RestTlsOptions tls;
    /// Most connections open to one host at once (CURLMOPT_MAX_HOST_CONNECTIONS); requests
    /// beyond it wait for a free connection.
    int maxHostConnections = 8;
    /// Idle keep-alive connections kept for reuse (CURLMOPT_MAXCONNECTS).
    int maxIdleConnections = 32;
    /// Default cap on a response body held in memory.
    qint64 maxResponseBytes = 16 * 1024 * 1024;
    RetryPolicy retry;
    /// Read http_proxy/https_proxy/no_proxy from the environment. Off: no proxy unless `proxy`.
    bool proxyFromEnvironment = false;
    /// An explicit proxy URL; empty for none.
    QByteArray proxy;
    /// Sent as User-Agent unless the request has one; empty sends none.
    QByteArray userAgent;
    /// Easy handles kept for reuse between requests.
    int freeHandles = 32;
};

/**
 * @brief An asynchronous HTTP/1.1 client on libcurl's multi interface, with one worker thread.
 *
 * Threads: send() and sendAndWait() may be called from any thread. Every callback (done,
 * beforeAttempt, the body source, the sink, retryIf) runs on the client's worker thread and
 * must not block it for long. A done callback may call send() again; it must not destroy the
 * client.
 *
 * Completion: each request's done() is called exactly once, on the worker thread: with the
 * response, with a transport error, or with TransportError::Closed ("client closed") when the
 * client is destroyed while the request is queued, in flight or waiting to be retried.
 *
 * Connections are kept alive and reused; retry waits run on a timer queue inside the worker
 * loop, never blocking it. Redirects are not followed (a 3xx is returned as is).
 */
class RestClient final
{
public:
    using Done = std::function<void(RestResponse response)>;

    /**
     * @brief Checks the options (the TLS material with OpenSSL: each PEM must parse, the key
     * must match the certificate; errors name the field) and starts the worker thread.
     */
    [[nodiscard]] static Result<std::unique_ptr<RestClient>> create(RestClientOptions options);

    /**
     * @brief Completes every pending request with TransportError::Closed and joins the worker.
     * Prompt: bounded by one pass of the worker loop (a DNS lookup in progress may delay it).
     * Must not be called from a done callback (the worker thread).
     */
    ~RestClient();
    RestClient(const RestClient &) = delete;
    RestClient &operator=(const RestClient &) = delete;

    /** @brief Queues the request and returns at once; `done` is called later on the worker. */
    void send(RestRequest request, Done done);

    /**
     * @brief Sends and blocks the calling thread until the response, for init-time calls.
     * Bounded by the request's timeout (plus a short grace). Never call it on the worker thread.
     */
    RestResponse sendAndWait(RestRequest request);

    const RestClientOptions &options() const;

    class Private;

private:
    explicit RestClient(std::unique_ptr<Private> d);
    std::unique_ptr<Private> m_d;
};

} // namespace bindery::bindings::common
