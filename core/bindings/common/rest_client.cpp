// SPDX-License-Identifier: Apache-2.0
#include "core/bindings/common/rest_client.h"

#include <algorithm>
#include <condition_variable>
#include <ctime>
#include <limits>
#include <map>
#include <mutex>
#include <random>
#include <thread>
#include <unordered_map>
#include <vector>

#include <curl/curl.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <QFile>

#include "core/bindings/common/kit_p.h"

namespace bindery::bindings::common {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

const QString CLOSED_TEXT = QStringLiteral("client closed");

qint64 usSince(Clock::time_point t)
{
    return std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t).count();
}

QString sizeText(qint64 bytes)
{
    if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) == 0)
        return QStringLiteral("%1 MiB").arg(bytes / (1024 * 1024));
    if (bytes >= 1024 && bytes % 1024 == 0)
        return QStringLiteral("%1 KiB").arg(bytes / 1024);
    return QStringLiteral("%1 bytes").arg(bytes);
}

// ---- TLS material, checked with OpenSSL before any connection is made ----

/// Never prompts on the terminal for a pass phrase (OpenSSL's default callback would).
int noPassphrase(char *, int, int, void *)
{
    return 0;
}

QString takeOpenSslError()
{
    const unsigned long e = ERR_peek_last_error();
    char text[256] = {};
    ERR_error_string_n(e, text, sizeof text);
    ERR_clear_error();
    return QString::fromLatin1(text);
}

struct BioDeleter
{
    void operator()(BIO *b) const { BIO_free(b); }
};
struct X509Deleter
{
    void operator()(X509 *x) const { X509_free(x); }
};
struct KeyDeleter
{
    void operator()(EVP_PKEY *k) const { EVP_PKEY_free(k); }
};
using BioPtr = std::unique_ptr<BIO, BioDeleter>;
using X509Ptr = std::unique_ptr<X509, X509Deleter>;
using KeyPtr = std::unique_ptr<EVP_PKEY, KeyDeleter>;

BioPtr memoryBio(const QByteArray &pem)
{
    return BioPtr(BIO_new_mem_buf(pem.constData(), static_cast<int>(pem.size())));
}

QString fieldName(const PemInput &in, const char *fallback)
{
    return in.field.isEmpty() ? QString::fromLatin1(fallback) : in.field;
}

Result<QByteArray> pemText(const PemInput &in, const QString &field)
{
    if (!in.pem.isEmpty())
        return in.pem;
    QFile file(in.file);
    if (!file.open(QIODevice::ReadOnly))
        return fail(
            ErrorCode::InvalidMetadata,
            QStringLiteral("%1: cannot read '%2': %3").arg(field, in.file, file.errorString()));
    return file.readAll();
}

/// Parses every certificate in `pem`; the first one is returned (for the key check).
Result<X509Ptr> parseCertificates(const QByteArray &pem, const QString &field)
{
    ERR_clear_error();
    BioPtr bio = memoryBio(pem);
    X509Ptr first;
    int count = 0;
    while (X509 *cert = PEM_read_bio_X509(bio.get(), nullptr, noPassphrase, nullptr)) {
        if (!first)
            first.reset(cert);
        else
            X509_free(cert);
        ++count;
    }
    // Running out of input ends the loop with PEM_R_NO_START_LINE; anything else is damage.
    const unsigned long e = ERR_peek_last_error();
    const bool cleanEnd
        = e == 0 || (ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE);
    if (count == 0 && cleanEnd) {
        ERR_clear_error();
        return fail(
            ErrorCode::InvalidMetadata,
            QStringLiteral("%1: no PEM certificate found (expected '-----BEGIN CERTIFICATE-----')")
                .arg(field));
    }
    if (!cleanEnd)
        return fail(ErrorCode::InvalidMetadata,
                    QStringLiteral("%1: certificate %2 is not valid PEM: %3")
                        .arg(field)
                        .arg(count + 1)
                        .arg(takeOpenSslError()));
    ERR_clear_error();
    return first;
}

Result<KeyPtr> parseKey(const QByteArray &pem, const QString &field)
{
    ERR_clear_error();
    BioPtr bio = memoryBio(pem);
    KeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, noPassphrase, nullptr));
    if (!key)
        return fail(ErrorCode::InvalidMetadata,
                    QStringLiteral("%1: not an unencrypted PEM private key: %2")
                        .arg(field, takeOpenSslError()));
    return key;
}

// ---- Parsing what the server sent ----

std::optional<milliseconds> retryAfter(const RestResponse &response)
{
    const std::optional<QByteArray> value = response.header("Retry-After");
    if (!value)
        return std::nullopt;
    const QByteArray v = value->trimmed();
    bool isNumber = false;
    const qint64 seconds = v.toLongLong(&isNumber);
    if (isNumber)
        return seconds < 0 ? std::nullopt
                           : std::optional(milliseconds(qMin<qint64>(seconds, 86400) * 1000));
    const time_t when = curl_getdate(v.constData(), nullptr); // an HTTP date
    if (when == -1)
        return std::nullopt;
    return milliseconds(qMax<qint64>(0, (static_cast<qint64>(when) - std::time(nullptr)) * 1000));
}

TransportError classify(CURLcode code)
{
    switch (code) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT: return TransportError::Connect;
    case CURLE_OPERATION_TIMEDOUT: return TransportError::Timeout;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_USE_SSL_FAILED: return TransportError::Tls;
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_WEIRD_SERVER_REPLY: return TransportError::Network;
    default: return TransportError::Other;
    }
}

} // namespace

QString transportErrorName(TransportError kind)
{
    switch (kind) {
    case TransportError::None: return QStringLiteral("none");
    case TransportError::Connect: return QStringLiteral("connect");
    case TransportError::Timeout: return QStringLiteral("timeout");
    case TransportError::Tls: return QStringLiteral("tls");
    case TransportError::Network: return QStringLiteral("network");
    case TransportError::BodyTooLarge: return QStringLiteral("body-too-large");
    case TransportError::Aborted: return QStringLiteral("aborted");
    case TransportError::BeforeAttempt: return QStringLiteral("before-attempt");
    case TransportError::Closed: return QStringLiteral("closed");
    case TransportError::Other: return QStringLiteral("other");
    }
    return QStringLiteral("other");
}

std::optional<QByteArray> RestResponse::header(QByteArrayView name) const
{
    for (const auto &[k, v] : headers) {
        if (k.compare(name, Qt::CaseInsensitive) == 0)
            return v;
    }
    return std::nullopt;
}

bool RetryPolicy::defaultRetryable(const RestResponse &response)
{
    switch (response.errorKind) {
    case TransportError::Connect:
    case TransportError::Timeout:
    case TransportError::Network: return true;
    case TransportError::None:
        return response.status == 429 || (response.status >= 500 && response.status <= 599);
    default: return false;
    }
}

milliseconds RetryPolicy::ceiling(int retry) const
{
    milliseconds value = base;
    for (int i = 1; i < retry && value < cap; ++i)
        value *= 2;
    return qMin(value, cap);
}

// ---- The worker ----

namespace {

/// One request from send() to done(), across its attempts. Owned and touched by the worker only.
struct Transfer
{
    RestRequest request;
    RestClient::Done done;
    RetryPolicy policy;
    // The request as given, restored before each beforeAttempt call.
    QByteArray method, url, body;
    HttpHeaders headers;
    Clock::time_point queuedAt;
    Clock::time_point deadline;
    qint64 cap = 0;
    int attempt = 0;
    CURL *easy = nullptr;
    bool inMulti = false;
    curl_slist *headerList = nullptr;
    RestResponse response;
    TransportError localError = TransportError::None;
    QString localErrorText;
    bool sinkUsed = false;
    bool sourceUsed = false;
    char errorBuffer[CURL_ERROR_SIZE] = {};
};

bool hasHeader(const HttpHeaders &headers, QByteArrayView name)
{
    for (const auto &h : headers) {
        if (h.first.compare(name, Qt::CaseInsensitive) == 0)
            return true;
    }
    return false;
}

size_t onHeader(char *buffer, size_t size, size_t count, void *userdata)
{
    auto *t = static_cast<Transfer *>(userdata);
    const size_t bytes = size * count;
    qsizetype length = static_cast<qsizetype>(bytes);
    while (length > 0 && (buffer[length - 1] == '\n' || buffer[length - 1] == '\r'))
        --length;
    const QByteArrayView line(buffer, length);
    HttpHeaders &headers = t->response.headers;
    if (line.startsWith("HTTP/")) {
        // A new response (after a 1xx, say): its own status and headers.
        headers.clear();
        t->response.status = 0;
        t->response.reason.clear();
        const qsizetype space = line.indexOf(' ');
        if (space > 0 && space + 3 < line.size() + 1) {
            int status = 0;
            for (qsizetype i = space + 1; i < line.size() && i < space + 4; ++i) {
                if (line[i] < '0' || line[i] > '9')
                    break;
                status = status * 10 + (line[i] - '0');
            }
            t->response.status = status;
            t->response.reason
                = space + 5 <= line.size() ? line.sliced(space + 5).toByteArray() : QByteArray();
        }
        return bytes;
    }
    if (line.isEmpty())
        return bytes;
    if ((line[0] == ' ' || line[0] == '\t') && !headers.isEmpty()) { // obsolete line folding
        headers.last().second += ' ' + line.trimmed().toByteArray();
        return bytes;
    }
    const qsizetype colon = line.indexOf(':');
    if (colon <= 0)
        return bytes;
    headers.append(
        {line.first(colon).toByteArray(), line.sliced(colon + 1).trimmed().toByteArray()});
    return bytes;
}

size_t onWrite(char *data, size_t size, size_t count, void *userdata)
{
    auto *t = static_cast<Transfer *>(userdata);
    const size_t bytes = size * count;
    t->response.bodyBytes += static_cast<qint64>(bytes);
    const int status = t->response.status;
    if (t->request.onData && status >= 200 && status < 300) {
        if (!t->sinkUsed && t->request.onBodyStart)
            t->request.onBodyStart(t->response);
        t->sinkUsed = true;
        if (!t->request.onData(data, bytes)) {
            t->localError = TransportError::Aborted;
            t->localErrorText = QStringLiteral("the response sink stopped the transfer");
            return 0;
        }
        return bytes;
    }
    QByteArray &body = t->response.body;
    if (body.size() + static_cast<qint64>(bytes) > t->cap) {
        t->localError = TransportError::BodyTooLarge;
        t->localErrorText = QStringLiteral("response body exceeds the cap of %1 (maxResponseBytes)")
                                .arg(sizeText(t->cap));
        return 0;
    }
    if (body.isEmpty()) {
        // Size the buffer once from Content-Length instead of growing it chunk by chunk.
        const std::optional<QByteArray> length = t->response.header("Content-Length");
        if (length) {
            const qint64 n = length->toLongLong();
            if (n > 0 && n <= t->cap)
                body.reserve(n);
        }
    }
    body.append(data, static_cast<qsizetype>(bytes));
    return bytes;
}

size_t onRead(char *buffer, size_t size, size_t count, void *userdata)
{
    auto *t = static_cast<Transfer *>(userdata);
    const size_t capacity = size * count;
    t->sourceUsed = true;
    const size_t got = t->request.bodySource.read(buffer, capacity);
    if (got == RestBodySource::Abort || got > capacity) {
        t->localError = TransportError::Aborted;
        t->localErrorText = QStringLiteral("the request body source failed");
        return CURL_READFUNC_ABORT;
    }
    return got;
}

} // namespace

class RestClient::Private
{
public:
    explicit Private(RestClientOptions o)
        : options(std::move(o))
        , rng(std::random_device{}())
    {
    }
    ~Private();

    void start();
    void enqueue(std::unique_ptr<Transfer> transfer);
    void run();
    void startAttempt(Transfer *t);
    void configure(Transfer *t, milliseconds budget);
    void attemptFinished(Transfer *t, CURLcode code);
    void complete(Transfer *t);
    void completeWithError(Transfer *t, TransportError kind, const QString &text);
    void releaseHandle(Transfer *t);
    void shutdown();

    RestClientOptions options;
    // Validated TLS material; the curl_blob structs point into these (CURL_BLOB_NOCOPY).
    QByteArray caPem, certPem, keyPem;
    curl_blob caBlob{}, certBlob{}, keyBlob{};

    CURLM *multi = nullptr;
    CURLSH *share = nullptr;
    std::thread worker;
    std::thread::id workerId;

    std::mutex mutex;
    std::vector<std::unique_ptr<Transfer>> incoming; // guarded by mutex
    bool closing = false;                            // guarded by mutex

    // Worker thread only.
    std::unordered_map<Transfer *, std::unique_ptr<Transfer>> live;
    std::multimap<Clock::time_point, Transfer *> timers;
    std::vector<CURL *> freeHandles;
    std::mt19937_64 rng;
};

RestClient::Private::~Private()
{
    for (CURL *e : freeHandles)
        curl_easy_cleanup(e);
    if (multi)
        curl_multi_cleanup(multi);
    if (share)
        curl_share_cleanup(share);
}

void RestClient::Private::start()
{
    multi = curl_multi_init();
    curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS,
                      static_cast<long>(qMax(1, options.maxHostConnections)));
    curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS,
                      static_cast<long>(qMax(1, options.maxIdleConnections)));
    // TLS sessions are resumed across the client's easy handles; the share is used by the
    // worker thread alone, so it needs no lock callbacks.
    share = curl_share_init();
    curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    if (!caPem.isEmpty())
        caBlob = curl_blob{caPem.data(), static_cast<size_t>(caPem.size()), CURL_BLOB_NOCOPY};
    if (!certPem.isEmpty())
        certBlob = curl_blob{certPem.data(), static_cast<size_t>(certPem.size()), CURL_BLOB_NOCOPY};
    if (!keyPem.isEmpty())
        keyBlob = curl_blob{keyPem.data(), static_cast<size_t>(keyPem.size()), CURL_BLOB_NOCOPY};
    worker = std::thread([this] { run(); });
    // Written before any request can reach the worker (they are published through `mutex`).
    workerId = worker.get_id();
}

void RestClient::Private::enqueue(std::unique_ptr<Transfer> transfer)
{
    bool wake = false;
    {
        std::lock_guard lock(mutex);
        if (!closing) {
            // One wake per empty -> non-empty: the worker takes the whole batch at once.
            wake = incoming.empty();
            incoming.push_back(std::move(transfer));
        }
    }
    if (transfer) {
        // Only while the client is being destroyed (e.g. a done callback sending again).
        RestResponse r;
        r.errorKind = TransportError::Closed;
        r.error = CLOSED_TEXT;
        r.elapsedUs = usSince(transfer->queuedAt);
        transfer->done(std::move(r));
        return;
    }
    // A done callback sending the next request needs no wake: the loop looks before it polls.
    if (wake && std::this_thread::get_id() != workerId)
        curl_multi_wakeup(multi);
}

void RestClient::Private::run()
{
    Internal::setCurrentThreadName(options.name);
    std::vector<std::unique_ptr<Transfer>> batch;
    for (;;) {
        bool stopping = false;
        {
            std::lock_guard lock(mutex);
            batch.swap(incoming);
            stopping = closing;
        }
        for (auto &owned : batch) {
            Transfer *t = owned.get();
            live.emplace(t, std::move(owned));
            if (!stopping)
                startAttempt(t);
        }
        batch.clear();
        if (stopping)
            break;

        const Clock::time_point now = Clock::now();
        while (!timers.empty() && timers.begin()->first <= now) {
            Transfer *t = timers.begin()->second;
            timers.erase(timers.begin());
            startAttempt(t);
        }

        int running = 0;
        curl_multi_perform(multi, &running);
        int left = 0;
        while (CURLMsg *msg = curl_multi_info_read(multi, &left)) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            CURL *easy = msg->easy_handle;
            const CURLcode code = msg->data.result; // msg dies with remove_handle
            Transfer *t = nullptr;
            curl_easy_getinfo(easy, CURLINFO_PRIVATE, &t);
            curl_multi_remove_handle(multi, easy);
            t->inMulti = false;
            attemptFinished(t, code);
        }

        // curl_multi_poll also wakes for curl's own timeouts; this only bounds the retry timers.
        int waitMs = 1000;
        if (!timers.empty()) {
            const auto due
                = std::chrono::ceil<milliseconds>(timers.begin()->first - Clock::now()).count();
            waitMs = static_cast<int>(std::clamp<qint64>(due, 0, waitMs));
        }
        {
            std::lock_guard lock(mutex);
            if (!incoming.empty())
                waitMs = 0;
        }
        curl_multi_poll(multi, nullptr, 0, waitMs, nullptr);
    }
    shutdown();
}

void RestClient::Private::shutdown()
{
    timers.clear();
    std::vector<Transfer *> pending;
    pending.reserve(live.size());
    for (auto &[t, owned] : live)
        pending.push_back(t);
    for (Transfer *t : pending)
        completeWithError(t, TransportError::Closed, CLOSED_TEXT);
}

void RestClient::Private::startAttempt(Transfer *t)
{
    const auto remaining = std::chrono::duration_cast<milliseconds>(t->deadline - Clock::now());
    if (remaining.count() <= 0) {
        completeWithError(t, TransportError::Timeout,
                          QStringLiteral("timed out after %1 ms before attempt %2")
                              .arg(t->request.timeout.count())
                              .arg(t->attempt + 1));
        return;
    }
    ++t->attempt;
    if (t->request.beforeAttempt) {
        t->request.method = t->method;
        t->request.url = t->url;
        t->request.headers = t->headers;
        t->request.body = t->body;
        Result<> ready;
        try {
            ready = t->request.beforeAttempt(t->request, t->attempt);
        } catch (const std::exception &e) {
            ready = fail(ErrorCode::InvokeFailed, QString::fromUtf8(e.what()));
        }
        if (!ready) {
            completeWithError(
                t, TransportError::BeforeAttempt,
                QStringLiteral("before attempt %1: %2").arg(t->attempt).arg(ready.error().message));
            return;
        }
    }
    t->response = RestResponse{};
    t->localError = TransportError::None;
    t->localErrorText.clear();
    t->errorBuffer[0] = '\0';
    if (!t->easy) {
        if (!freeHandles.empty()) {
            t->easy = freeHandles.back();
            freeHandles.pop_back();
        } else {
            t->easy = curl_easy_init();
        }
    }
    milliseconds budget = remaining;
    if (t->request.attemptTimeout.count() > 0)
        budget = qMin(budget, t->request.attemptTimeout);
    configure(t, budget);
    curl_multi_add_handle(multi, t->easy);
    t->inMulti = true;
}

void RestClient::Private::configure(Transfer *t, milliseconds budget)
{
    CURL *e = t->easy;
    const RestRequest &rq = t->request;
    curl_easy_reset(e);
    curl_easy_setopt(e, CURLOPT_URL, rq.url.constData());
    curl_easy_setopt(e, CURLOPT_PRIVATE, t);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->errorBuffer);
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_SHARE, share);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &onHeader);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, t);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &onWrite);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(budget.count()));
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(qMin(budget, rq.connectTimeout).count()));
    if (rq.stallTimeout.count() > 0) {
        // Fewer than 1 byte/s for the whole window: the peer stopped answering mid-transfer.
        curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME,
                         static_cast<long>(qMax<qint64>(1, rq.stallTimeout.count() / 1000)));
    }
    if (!options.proxy.isEmpty())
        curl_easy_setopt(e, CURLOPT_PROXY, options.proxy.constData());
    else if (!options.proxyFromEnvironment)
        curl_easy_setopt(e, CURLOPT_PROXY, ""); // "" = no proxy, and no *_proxy lookups

    if (caBlob.data) {
        curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &caBlob);
        curl_easy_setopt(e, CURLOPT_CAINFO, nullptr); // trust the given CA only
        curl_easy_setopt(e, CURLOPT_CAPATH, nullptr);
    }
    if (certBlob.data) {
        curl_easy_setopt(e, CURLOPT_SSLCERT_BLOB, &certBlob);
        curl_easy_setopt(e, CURLOPT_SSLCERTTYPE, "PEM");
        curl_easy_setopt(e, CURLOPT_SSLKEY_BLOB, &keyBlob);
        curl_easy_setopt(e, CURLOPT_SSLKEYTYPE, "PEM");
    }
    if (options.tls.insecureSkipVerify) {
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    }

    bool formBody = false;
    const QByteArray &method = rq.method;
    if (method == "HEAD") {
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    } else if (rq.bodySource.isSet()) {
        curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(e, CURLOPT_READFUNCTION, &onRead);
        curl_easy_setopt(e, CURLOPT_READDATA, t);
        curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE,
                         static_cast<curl_off_t>(rq.bodySource.length));
        if (method != "PUT")
            curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method.constData());
    } else if (!rq.body.isEmpty() || method == "POST" || method == "PUT" || method == "PATCH") {
        formBody = true;
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(rq.body.size()));
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, rq.body.constData());
        if (method != "POST")
            curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method.constData());
    } else if (method != "GET") {
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method.constData());
    }

    curl_slist *list = nullptr;
    for (const auto &[name, value] : rq.headers) {
        // "Name;" is curl's spelling of a header with an empty value ("Name:" would remove it).
        const QByteArray line
            = value.isEmpty() ? QByteArray(name + ';') : QByteArray(name + ": " + value);
        list = curl_slist_append(list, line.constData());
    }
    if (!hasHeader(rq.headers, "Expect"))
        list = curl_slist_append(list, "Expect:"); // no 100-continue round trip unless asked
    if (formBody && !hasHeader(rq.headers, "Content-Type"))
        list = curl_slist_append(list, "Content-Type:"); // not curl's form-urlencoded default
    if (!options.userAgent.isEmpty() && !hasHeader(rq.headers, "User-Agent"))
        list = curl_slist_append(list, QByteArray("User-Agent: " + options.userAgent).constData());
    t->headerList = list;
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, list);
}

void RestClient::Private::attemptFinished(Transfer *t, CURLcode code)
{
    curl_slist_free_all(t->headerList);
    t->headerList = nullptr;
    RestResponse &r = t->response;
    r.attempts = t->attempt;
    if (code == CURLE_OK) {
        long status = 0;
        curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
        r.status = static_cast<int>(status);
    } else if (t->localError != TransportError::None) {
        r.errorKind = t->localError;
        r.error = t->localErrorText;
    } else {
        r.errorKind = classify(code);
        r.error = t->errorBuffer[0] ? QString::fromUtf8(t->errorBuffer)
                                    : QString::fromUtf8(curl_easy_strerror(code));
    }

    const RetryPolicy &p = t->policy;
    bool retry = t->attempt < p.maxAttempts && !t->sinkUsed;
    if (retry) {
        try {
            retry = p.retryIf ? p.retryIf(r) : RetryPolicy::defaultRetryable(r);
        } catch (...) {
            retry = false;
        }
    }
    if (retry && t->sourceUsed) {
        retry = t->request.bodySource.rewind && t->request.bodySource.rewind();
        t->sourceUsed = false;
    }
    if (retry) {
        milliseconds wait(
            std::uniform_int_distribution<qint64>(0, p.ceiling(t->attempt).count())(rng));
        if (p.honourRetryAfter && r.ok()) {
            if (const std::optional<milliseconds> asked = retryAfter(r))
                wait = *asked;
        }
        const Clock::time_point at = Clock::now() + wait;
        if (at < t->deadline) {
            timers.emplace(at, t);
            return;
        }
    }
    complete(t);
}

void RestClient::Private::releaseHandle(Transfer *t)
{
    if (!t->easy)
        return;
    if (t->inMulti) {
        curl_multi_remove_handle(multi, t->easy);
        t->inMulti = false;
    }
    curl_slist_free_all(t->headerList);
    t->headerList = nullptr;
    if (static_cast<int>(freeHandles.size()) < options.freeHandles)
        freeHandles.push_back(t->easy); // reset when next configured
    else
        curl_easy_cleanup(t->easy);
    t->easy = nullptr;
}

void RestClient::Private::completeWithError(Transfer *t, TransportError kind, const QString &text)
{
    t->response.errorKind = kind;
    t->response.error = text;
    t->response.attempts = t->attempt;
    complete(t);
}

void RestClient::Private::complete(Transfer *t)
{
    releaseHandle(t);
    auto it = live.find(t);
    std::unique_ptr<Transfer> owned = std::move(it->second);
    live.erase(it);
    RestResponse r = std::move(t->response);
    r.elapsedUs = usSince(t->queuedAt);
    try {
        t->done(std::move(r));
    } catch (const std::exception &e) {
        qCWarning(lcBindingKit, "%s: a done callback threw: %s", qPrintable(options.name),
                  e.what());
    } catch (...) {
        qCWarning(lcBindingKit, "%s: a done callback threw", qPrintable(options.name));
    }
}

// ---- RestClient ----

Result<std::unique_ptr<RestClient>> RestClient::create(RestClientOptions options)
{
    static const CURLcode globalInit = curl_global_init(CURL_GLOBAL_DEFAULT);
    if (globalInit != CURLE_OK)
        return fail(ErrorCode::InitFailed,
                    QStringLiteral("libcurl failed to initialise: %1")
                        .arg(QString::fromUtf8(curl_easy_strerror(globalInit))));
    auto d = std::make_unique<Private>(std::move(options));
    const RestTlsOptions &tls = d->options.tls;
    if (tls.ca.isSet()) {
        const QString field = fieldName(tls.ca, "CA certificate");
        Result<QByteArray> pem = pemText(tls.ca, field);
        if (!pem)
            return tl::unexpected(pem.error());
        Result<X509Ptr> certs = parseCertificates(*pem, field);
        if (!certs)
            return tl::unexpected(certs.error());
        d->caPem = *pem;
    }
    if (tls.clientCert.isSet() != tls.clientKey.isSet()) {
        const QString certField = fieldName(tls.clientCert, "client certificate");
        const QString keyField = fieldName(tls.clientKey, "client key");
        return fail(ErrorCode::MissingMetadata,
                    tls.clientCert.isSet()
                        ? QStringLiteral("%1 is set but %2 is missing").arg(certField, keyField)
                        : QStringLiteral("%1 is set but %2 is missing").arg(keyField, certField));
    }
    if (tls.clientCert.isSet()) {
        const QString certField = fieldName(tls.clientCert, "client certificate");
        const QString keyField = fieldName(tls.clientKey, "client key");
        Result<QByteArray> certPem = pemText(tls.clientCert, certField);
        if (!certPem)
            return tl::unexpected(certPem.error());
        Result<QByteArray> keyPem = pemText(tls.clientKey, keyField);
        if (!keyPem)
            return tl::unexpected(keyPem.error());
        Result<X509Ptr> cert = parseCertificates(*certPem, certField);
        if (!cert)
            return tl::unexpected(cert.error());
        Result<KeyPtr> key = parseKey(*keyPem, keyField);
        if (!key)
            return tl::unexpected(key.error());
        if (X509_check_private_key(cert->get(), key->get()) != 1) {
            ERR_clear_error();
            return fail(
                ErrorCode::InvalidMetadata,
                QStringLiteral("%1 does not match the public key of %2").arg(keyField, certField));
        }
        d->certPem = *certPem;
        d->keyPem = *keyPem;
    }
    if (d->options.retry.maxAttempts < 1)
        d->options.retry.maxAttempts = 1;
    d->start();
    return std::unique_ptr<RestClient>(new RestClient(std::move(d)));
}

RestClient::RestClient(std::unique_ptr<Private> d)
    : m_d(std::move(d))
{
}

RestClient::~RestClient()
{
    Q_ASSERT_X(std::this_thread::get_id() != m_d->workerId, "RestClient",
               "destroyed from its own done callback");
    {
        std::lock_guard lock(m_d->mutex);
        m_d->closing = true;
    }
    curl_multi_wakeup(m_d->multi);
    m_d->worker.join();
}

const RestClientOptions &RestClient::options() const
{
    return m_d->options;
}

void RestClient::send(RestRequest request, Done done)
{
    auto t = std::make_unique<Transfer>();
    t->queuedAt = Clock::now();
    t->deadline = t->queuedAt + request.timeout;
    t->policy = request.retry ? *request.retry : m_d->options.retry;
    t->policy.maxAttempts = qMax(1, t->policy.maxAttempts);
    t->cap
        = request.maxResponseBytes >= 0 ? request.maxResponseBytes : m_d->options.maxResponseBytes;
    if (request.beforeAttempt) {
        t->method = request.method;
        t->url = request.url;
        t->headers = request.headers;
        t->body = request.body;
    }
    t->request = std::move(request);
    t->done = std::move(done);
    m_d->enqueue(std::move(t));
}

RestResponse RestClient::sendAndWait(RestRequest request)
{
    if (std::this_thread::get_id() == m_d->workerId) {
        RestResponse r;
        r.errorKind = TransportError::Other;
        r.error = QStringLiteral("sendAndWait() called on the client's worker thread");
        return r;
    }
    struct Waiter
    {
        std::mutex mutex;
        std::condition_variable cv;
        bool done = false;
        RestResponse response;
    };
    auto w = std::make_shared<Waiter>();
    // The worker enforces the timeout; the grace only covers a worker that is itself stuck.
    const auto bound = request.timeout + std::chrono::seconds(5);
    send(std::move(request), [w](RestResponse r) {
        std::lock_guard lock(w->mutex);
        w->response = std::move(r);
        w->done = true;
        w->cv.notify_all();
    });
    std::unique_lock lock(w->mutex);
    if (!w->cv.wait_for(lock, bound, [&] { return w->done; })) {
        RestResponse r;
        r.errorKind = TransportError::Timeout;
        r.error = QStringLiteral("no answer from the client's worker within %1 ms")
                      .arg(std::chrono::duration_cast<milliseconds>(bound).count());
        return r;
    }
    return std::move(w->response);
}

} // namespace bindery::bindings::common
