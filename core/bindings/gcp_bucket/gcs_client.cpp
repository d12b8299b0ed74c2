// SPDX-License-Identifier: Apache-2.0
#include "core/bindings/gcp_bucket/gcs_client.h"

#include <QUrl>

#include "core/bindings/gcp_bucket/gcs_json.h"

using namespace Qt::Literals::StringLiterals;

namespace bindery::bindings::gcp_bucket {

using common::RestClient;
using common::RestRequest;
using common::RestResponse;
using common::RetryPolicy;

namespace {

/// Attempts of one upload chunk: Google's libraries keep retrying a chunk for up to 32 s; five
/// attempts with full jitter up to 5 s cover a short outage without hiding a dead server.
constexpr int CHUNK_ATTEMPTS = 5;
/// How often a download broken mid-way continues with a Range request.
constexpr int DOWNLOAD_RESUMES = 3;

nlohmann::json parseObject(const QByteArray &body)
{
    nlohmann::json doc = nlohmann::json::parse(body.begin(), body.end(), nullptr, false);
    return doc.is_object() ? doc : nlohmann::json::object();
}

GcsFailure malformed(const QByteArray &body)
{
    return {0, u"storage: the server's answer is not a JSON object: %1"_s.arg(
                   QString::fromUtf8(body.left(200)))};
}

} // namespace

QByteArray encodeComponent(const QString &text)
{
    return QUrl::toPercentEncoding(text);
}

GcsClient::GcsClient(RestClient &client, std::shared_ptr<TokenSource> tokens,
                     GcsClientOptions options)
    : m_client(client)
    , m_tokens(std::move(tokens))
    , m_options(std::move(options))
{
}

QByteArray GcsClient::objectUrl(const QString &bucket, const QString &name) const
{
    return m_options.endpoint + "/storage/v1/b/" + encodeComponent(bucket) + "/o/"
           + encodeComponent(name);
}

GcsFailure GcsClient::failure(const RestResponse &r, const QByteArray &method,
                              const QByteArray &url, bool media) const
{
    if (!r.ok()) {
        if (r.errorKind == common::TransportError::BeforeAttempt
            || r.errorKind == common::TransportError::Closed)
            return {0, r.error};
        // Go's *url.Error: `Get "https://...": <what went wrong>`.
        const QByteArray op = method.left(1) + method.mid(1).toLower();
        return {0,
                u"%1 \"%2\": %3"_s.arg(QString::fromLatin1(op), QString::fromUtf8(url), r.error)};
    }
    if (r.status == 401 && m_tokens)
        m_tokens->invalidate();
    return {r.status,
            media ? googleMediaErrorText(r.status, r.body) : googleApiErrorText(r.status, r.body)};
}

void GcsClient::send(RestRequest request, RestClient::Done done)
{
    if (!m_tokens) {
        m_client.send(std::move(request), std::move(done));
        return;
    }
    std::shared_ptr<TokenSource> tokens = m_tokens;
    RestClient *client = &m_client;
    tokens->whenReady([tokens, client, request = std::move(request),
                       done = std::move(done)](Result<QByteArray> authorization) mutable {
        if (!authorization) {
            RestResponse r;
            r.errorKind = common::TransportError::BeforeAttempt;
            r.error = authorization.error().message;
            done(std::move(r));
            return;
        }
        // Each attempt (retries too) carries the freshest token there is.
        request.beforeAttempt = [tokens, first = *authorization](RestRequest &rq, int attempt) {
            QByteArray header = attempt == 1 ? first : tokens->authorization();
            if (header.isEmpty())
                header = first;
            rq.headers.append({"Authorization", header});
            return Result<>();
        };
        client->send(std::move(request), std::move(done));
    });
}

// ---- upload ----

struct GcsClient::Upload : std::enable_shared_from_this<Upload>
{
    GcsClient *client = nullptr;
    QString bucket, name;
    QByteArray contentType;
    std::shared_ptr<const QByteArray> data;
    std::function<void(GcsResult<nlohmann::json>)> done;
    QByteArray session;
    qint64 offset = 0;

    void start()
    {
        const GcsClientOptions &o = client->options();
        const qint64 total = data->size();
        const QByteArray base = o.endpoint + "/upload/storage/v1/b/" + encodeComponent(bucket)
                                + "/o?name=" + encodeComponent(name);
        RestRequest rq;
        rq.method = "POST";
        rq.timeout = o.timeout;
        rq.stallTimeout = o.stallTimeout;
        if (total <= o.chunkSize) {
            // One request; the caller's buffer is the body (implicitly shared, not copied).
            rq.url = base + "&uploadType=media";
            rq.headers = {{"Content-Type", contentType}};
            rq.body = *data;
            send(std::move(rq), [self = shared_from_this()](GcsResult<RestResponse> r) {
                if (!r)
                    return self->done(tl::unexpected(r.error()));
                self->finished(*r);
            });
            return;
        }
        rq.url = base + "&uploadType=resumable";
        nlohmann::json meta{{"name", name.toStdString()}};
        if (!contentType.isEmpty())
            meta["contentType"] = contentType.toStdString();
        rq.headers = {{"Content-Type", "application/json; charset=UTF-8"},
                      {"X-Upload-Content-Type", contentType},
                      {"X-Upload-Content-Length", QByteArray::number(total)}};
        rq.body = QByteArray::fromStdString(meta.dump());
        send(std::move(rq), [self = shared_from_this()](GcsResult<RestResponse> r) {
            if (!r)
                return self->done(tl::unexpected(r.error()));
            const std::optional<QByteArray> location = r->header("Location");
            if (!location || location->isEmpty())
                return self->done(tl::unexpected(
                    GcsFailure{0, u"storage: the resumable upload was not given a session URL"_s}));
            self->session = *location;
            self->sendChunk();
        });
    }

    void sendChunk()
    {
        const GcsClientOptions &o = client->options();
        const qint64 total = data->size();
        const qint64 end = qMin(total, offset + o.chunkSize);
        RestRequest rq;
        rq.method = "PUT";
        rq.url = session;
        rq.timeout = o.timeout;
        rq.stallTimeout = o.stallTimeout;
        rq.headers = {{"Content-Range", "bytes " + QByteArray::number(offset) + '-'
                                            + QByteArray::number(end - 1) + '/'
                                            + QByteArray::number(total)}};
        // A view of the caller's buffer: kept alive by `data`, held until this request ends.
        rq.body = QByteArray::fromRawData(data->constData() + offset, end - offset);
        RetryPolicy retry;
        retry.maxAttempts = CHUNK_ATTEMPTS;
        rq.retry = retry;
        send(std::move(rq), [self = shared_from_this(), end](GcsResult<RestResponse> r) {
            if (!r)
                return self->done(tl::unexpected(r.error()));
            self->chunkSent(*r, end);
        });
    }

    void chunkSent(const RestResponse &r, qint64 end)
    {
        if (r.status == 308) {
            // "Range: bytes=0-N" is what the session holds; no Range means nothing yet.
            qint64 persisted = 0;
            if (const std::optional<QByteArray> range = r.header("Range")) {
                const qsizetype dash = range->lastIndexOf('-');
                bool ok = false;
                const qint64 last = dash >= 0 ? range->mid(dash + 1).toLongLong(&ok) : -1;
                persisted = ok ? last + 1 : 0;
            }
            if (persisted > end || persisted < 0)
                persisted = end;
            offset = persisted;
            if (offset >= data->size()) {
                done(tl::unexpected(GcsFailure{
                    0, u"storage: the upload session holds every byte but did not finish"_s}));
                return;
            }
            sendChunk();
            return;
        }
        if (r.status == 404 || r.status == 410) {
            done(tl::unexpected(GcsFailure{
                r.status,
                u"storage: the resumable upload session expired (HTTP %1): %2"_s.arg(r.status).arg(
                    googleApiErrorText(r.status, r.body))}));
            return;
        }
        finished(r);
    }

    void finished(const RestResponse &r)
    {
        const nlohmann::json object = parseObject(r.body);
        if (object.empty())
            return done(tl::unexpected(malformed(r.body)));
        done(object);
    }

    /// Sends one request; a non-2xx answer other than a 308 becomes a failure.
    void send(RestRequest rq, std::function<void(GcsResult<RestResponse>)> next)
    {
        const QByteArray method = rq.method;
        const QByteArray url = rq.url;
        GcsClient *c = client;
        client->send(std::move(rq), [c, method, url, next = std::move(next)](RestResponse r) {
            if (!r.ok() || ((r.status < 200 || r.status > 299) && r.status != 308))
                return next(tl::unexpected(c->failure(r, method, url)));
            next(std::move(r));
        });
    }
};

void GcsClient::upload(const QString &bucket, const QString &name, const QByteArray &contentType,
                       std::shared_ptr<const QByteArray> data,
                       std::function<void(GcsResult<nlohmann::json>)> done)
{
    auto u = std::make_shared<Upload>();
    u->client = this;
    u->bucket = bucket;
    u->name = name;
    u->contentType = contentType;
    u->data = std::move(data);
    u->done = std::move(done);
    u->start();
}

// ---- download ----

struct GcsClient::Download : std::enable_shared_from_this<Download>
{
    GcsClient *client = nullptr;
    QByteArray url;
    QByteArray out;
    QByteArray generation;
    int resumes = 0;
    std::function<void(GcsResult<QByteArray>)> done;

    void attempt()
    {
        const GcsClientOptions &o = client->options();
        RestRequest rq;
        rq.url = url + "?alt=media";
        if (!generation.isEmpty())
            rq.url += "&generation=" + generation; // the same object the first bytes came from
        const qint64 base = out.size();
        if (base > 0)
            rq.headers = {{"Range", "bytes=" + QByteArray::number(base) + '-'}};
        // A large object takes as long as it takes; a stalled one fails within stallTimeout.
        rq.timeout = std::chrono::hours(24);
        rq.stallTimeout = o.stallTimeout;
        rq.connectTimeout = std::chrono::milliseconds(qMin<qint64>(o.timeout.count(), 10000));
        std::weak_ptr<Download> weak = weak_from_this();
        rq.onBodyStart = [weak, base](const RestResponse &head) {
            // One allocation of the object's size: the answer is this buffer, never regrown.
            std::shared_ptr<Download> self = weak.lock();
            const std::optional<QByteArray> length = head.header("Content-Length");
            if (self && length && length->toLongLong() > 0)
                self->out.reserve(base + length->toLongLong());
        };
        rq.onData = [weak](const char *bytes, size_t size) {
            if (std::shared_ptr<Download> self = weak.lock()) {
                self->out.append(bytes, qsizetype(size));
                return true;
            }
            return false;
        };
        const QByteArray method = rq.method;
        const QByteArray requested = rq.url;
        client->send(
            std::move(rq), [self = shared_from_this(), base, method, requested](RestResponse r) {
                if (const std::optional<QByteArray> g = r.header("X-Goog-Generation");
                    g && self->generation.isEmpty())
                    self->generation = *g;
                if (r.ok() && r.status >= 200 && r.status <= 299) {
                    if (base > 0 && r.status == 200)
                        self->out.remove(0, base); // the server ignored the Range: a full body
                    return self->done(std::move(self->out));
                }
                const bool broken = !r.ok() && r.errorKind != common::TransportError::Closed
                                    && r.errorKind != common::TransportError::BeforeAttempt;
                if (broken && self->out.size() > base && self->resumes < DOWNLOAD_RESUMES) {
                    ++self->resumes;
                    self->attempt();
                    return;
                }
                if (r.ok() && r.status == 404)
                    return self->done(
                        tl::unexpected(GcsFailure{404, u"storage: object doesn't exist"_s}));
                GcsFailure f = self->client->failure(r, method, requested, true);
                f.partial = !self->out.isEmpty();
                self->done(tl::unexpected(std::move(f)));
            });
    }
};

void GcsClient::download(const QString &bucket, const QString &name,
                         std::function<void(GcsResult<QByteArray>)> done)
{
    auto d = std::make_shared<Download>();
    d->client = this;
    d->url = objectUrl(bucket, name);
    d->done = std::move(done);
    d->attempt();
}

// ---- metadata calls ----

void GcsClient::listPage(const QString &bucket, const QString &prefix, const QString &delimiter,
                         const QString &pageToken,
                         std::function<void(GcsResult<nlohmann::json>)> done)
{
    RestRequest rq;
    rq.url = m_options.endpoint + "/storage/v1/b/" + encodeComponent(bucket) + "/o?projection=full";
    if (!prefix.isEmpty())
        rq.url += "&prefix=" + encodeComponent(prefix);
    if (!delimiter.isEmpty())
        rq.url += "&delimiter=" + encodeComponent(delimiter);
    if (!pageToken.isEmpty())
        rq.url += "&pageToken=" + encodeComponent(pageToken);
    rq.timeout = m_options.timeout;
    const QByteArray url = rq.url;
    send(std::move(rq), [this, url, done = std::move(done)](RestResponse r) {
        if (!r.isSuccess())
            return done(tl::unexpected(failure(r, "GET", url)));
        const nlohmann::json page = parseObject(r.body);
        if (page.empty() && r.body.trimmed() != "{}")
            return done(tl::unexpected(malformed(r.body)));
        done(page);
    });
}

void GcsClient::remove(const QString &bucket, const QString &name,
                       std::function<void(GcsResult<void>)> done)
{
    RestRequest rq;
    rq.method = "DELETE";
    rq.url = objectUrl(bucket, name);
    rq.timeout = m_options.timeout;
    const QByteArray url = rq.url;
    send(std::move(rq), [this, url, done = std::move(done)](RestResponse r) {
        if (!r.isSuccess())
            return done(tl::unexpected(failure(r, "DELETE", url)));
        done({});
    });
}

void GcsClient::rewrite(const QString &srcBucket, const QString &srcName, const QString &dstBucket,
                        const QString &dstName, std::function<void(GcsResult<nlohmann::json>)> done)
{
    struct Rewrite : std::enable_shared_from_this<Rewrite>
    {
        GcsClient *client = nullptr;
        QByteArray url;
        std::function<void(GcsResult<nlohmann::json>)> done;

        void step(const QByteArray &token)
        {
            RestRequest rq;
            rq.method = "POST";
            rq.url = token.isEmpty() ? url : url + "?rewriteToken=" + token;
            rq.headers = {{"Content-Type", "application/json"}};
            rq.body = "{}";
            rq.timeout = client->options().timeout;
            const QByteArray requested = rq.url;
            client->send(std::move(rq), [self = shared_from_this(), requested](RestResponse r) {
                if (!r.isSuccess())
                    return self->done(tl::unexpected(self->client->failure(r, "POST", requested)));
                const nlohmann::json answer = parseObject(r.body);
                const auto isDone = answer.find("done");
                if (isDone != answer.end() && isDone->is_boolean() && !isDone->get<bool>()) {
                    const auto next = answer.find("rewriteToken");
                    if (next == answer.end() || !next->is_string())
                        return self->done(tl::unexpected(malformed(r.body)));
                    self->step(encodeComponent(QString::fromStdString(next->get<std::string>())));
                    return;
                }
                const auto resource = answer.find("resource");
                self->done(resource != answer.end() && resource->is_object()
                               ? *resource
                               : nlohmann::json::object());
            });
        }
    };
    auto rw = std::make_shared<Rewrite>();
    rw->client = this;
    rw->url = objectUrl(srcBucket, srcName) + "/rewriteTo/b/" + encodeComponent(dstBucket) + "/o/"
              + encodeComponent(dstName);
    rw->done = std::move(done);
    rw->step({});
}

} // namespace bindery::bindings::gcp_bucket
