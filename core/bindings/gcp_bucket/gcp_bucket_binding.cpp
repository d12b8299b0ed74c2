// SPDX-License-Identifier: Apache-2.0
#include "core/bindings/gcp_bucket/gcp_bucket_binding.h"

#include <atomic>
#include <mutex>
#include <string>
#include <vector>

#include <QDateTime>
#include <QHash>
#include <QUrl>
#include <QUuid>

#include "core/binding_registry.h"
#include "core/binding_settings.h"
#include "core/bindings/gcp_bucket/gcp_signed_url.h"
#include "core/bindings/gcp_bucket/gcs_json.h"
#include "core/bindings/gcp_bucket/go_compat.h"
#include "core/go_json.h"

using namespace Qt::Literals::StringLiterals;

namespace bindery::bindings::gcp_bucket {

namespace {

/// Payloads and answers above this are prepared on the binding's pool, not on the caller's
/// thread (the API's) or the HTTP client's worker, which serve every other request.
constexpr qint64 OFFLOAD_BYTES = 1024 * 1024;
/// daprd's list default (bucket.go maxResults).
constexpr qint32 DEFAULT_MAX_RESULTS = 1000;
/// Downloads bulkGet keeps in flight (daprd starts one goroutine per object).
constexpr int BULK_PARALLEL = 8;
constexpr qint64 UPLOAD_QUANTUM = 256 * 1024;

// daprd's texts (bucket.go), including its doubled prefixes.
const QString KEY_MISSING = u"gcp bucket binding error: can't read key value"_s;
const QString KEY_MISSING_DELETE = u"gcp bucketgcp bucket binding error: can't read key value"_s;
const QString OBJECT_URL_BASE = u"https://storage.googleapis.com/%1/%2"_s;

bool isTruthy(const QString &value)
{
    const QString v = value.trimmed().toLower();
    return v == u"y"_s || v == u"yes"_s || v == u"true"_s || v == u"t"_s || v == u"on"_s
           || v == u"1"_s;
}

/// Go's formatObjectErr: a 404 from the JSON API is ErrObjectNotExist wrapping the API error.
QString objectError(const GcsFailure &f)
{
    return f.notFound() && f.text.startsWith(u"googleapi:"_s)
               ? u"storage: object doesn't exist: "_s + f.text
               : f.text;
}

QByteArray jsonObject(const char *key, const QString &value)
{
    std::string out = "{\"";
    out += key;
    out += "\":";
    core::goJsonAppendString(out, value.toStdString());
    out += '}';
    return QByteArray::fromStdString(out);
}

/// Normalises `endpoint` (and STORAGE_EMULATOR_HOST) to scheme://host[:port][/prefix].
Result<QByteArray> normaliseEndpoint(const QString &value, const QString &field,
                                     bool schemeOptional)
{
    QString text = value.trimmed();
    if (schemeOptional && !text.contains(u"://"_s))
        text.prepend(u"http://"_s);
    const QUrl url(text, QUrl::StrictMode);
    if (!url.isValid() || (url.scheme() != u"http"_s && url.scheme() != u"https"_s)
        || url.host().isEmpty() || url.hasQuery() || url.hasFragment())
        return fail(
            ErrorCode::InvalidMetadata,
            u"%1 '%2' is not an http:// or https:// URL such as http://127.0.0.1:5080"_s.arg(
                field, value));
    QString path = url.path();
    while (path.endsWith(u'/'))
        path.chop(1);
    // Google's client options take ".../storage/v1/"; the binding adds that part itself.
    if (path.endsWith(u"/storage/v1"_s))
        path.chop(11);
    QUrl base = url;
    base.setPath(path);
    return base.toString(QUrl::FullyEncoded).toUtf8();
}

} // namespace

// ---- one call ----

struct GcpBucketBinding::Call
{
    core::InvokeRequest request;
    core::InvokeDone done;

    QString meta(const QString &name) const { return request.metadata.value(name); }
    /// A request override of a bool setting, as daprd's mergeWithRequestMetadata reads it.
    bool flag(const QString &name, bool fallback) const
    {
        const QString v = meta(name);
        return v.isEmpty() ? fallback : isTruthy(v);
    }
    QString text(const QString &name, const QString &fallback) const
    {
        const QString v = meta(name);
        return v.isEmpty() ? fallback : v;
    }
    void failWith(const QString &message)
    {
        done({bindery::fail(ErrorCode::InvokeFailed, message), {}});
    }
    void answer(QByteArray data)
    {
        core::InvokeResponse r;
        r.data = std::move(data);
        r.hasData = true;
        done({std::move(r), {}});
    }
    void answerEmpty() { done({core::InvokeResponse{}, {}}); }
};

GcpBucketBinding::GcpBucketBinding()
{
    m_pool.setMaxThreadCount(2);
    m_pool.setObjectName(u"bindery-gcs-pool"_s);
}

GcpBucketBinding::~GcpBucketBinding()
{
    close();
}

QStringList GcpBucketBinding::operations() const
{
    // daprd's order (GCPStorage.Operations), which its "supported operations:" message lists.
    return {u"create"_s,  u"get"_s,  u"delete"_s, u"list"_s, u"sign"_s,
            u"bulkGet"_s, u"copy"_s, u"rename"_s, u"move"_s};
}

Result<BucketSettings> GcpBucketBinding::readSettings(const core::ComponentSpec &spec,
                                                      QStringList *warnings)
{
    core::BindingSettings s(spec, core::builtinSchema(u"gcp_bucket"_s), {false, true});
    BucketSettings out;
    out.bucket = s.string(u"bucket"_s);
    out.projectId = s.string(u"projectID"_s);
    out.decodeBase64 = s.boolean(u"decodeBase64"_s);
    out.encodeBase64 = s.boolean(u"encodeBase64"_s);
    out.contentType = s.string(u"contentType"_s);
    out.signTTL = s.string(u"signTTL"_s);
    const QString endpoint = s.string(u"endpoint"_s);
    out.caCert = s.pem(u"caCert"_s);
    out.chunkSize = s.byteSize(u"chunkSize"_s);
    // The service-account fields, read through the schema (names, aliases, defaults), then
    // checked together as one key.
    QMap<QString, QString> account;
    for (const ServiceAccountField &f : serviceAccountFields()) {
        const QString value = s.secret(f.name);
        if (!value.isEmpty())
            account.insert(f.name, value);
    }
    if (!s.ok())
        return tl::unexpected(s.result().error());
    const auto invalid = [&](const QString &field, const QString &why) {
        s.fail(field, why);
        return tl::unexpected(s.result().error());
    };
    if (out.chunkSize < UPLOAD_QUANTUM || out.chunkSize % UPLOAD_QUANTUM != 0)
        return invalid(u"chunkSize"_s,
                       u"chunkSize must be a multiple of 256Ki (262144 bytes), e.g. 8Mi or 16Mi"_s);

    Result<std::optional<ServiceAccountKey>> key = serviceAccountFromMetadata(account);
    if (!key)
        return invalid(u"privateKey"_s, key.error().message);
    if (*key) {
        out.key = std::move(**key);
        out.signIn = u"the component's service-account key (%1)"_s.arg(out.key->clientEmail);
    } else {
        Result<std::optional<ServiceAccountKey>> fromFile = loadFromEnvironment();
        if (!fromFile)
            return invalid(u"privateKey"_s, fromFile.error().message);
        if (*fromFile) {
            out.key = std::move(**fromFile);
            out.signIn = u"the key file GOOGLE_APPLICATION_CREDENTIALS names (%1)"_s.arg(
                out.key->clientEmail);
        }
    }

    out.emulatorHost = qEnvironmentVariable("STORAGE_EMULATOR_HOST");
    if (!endpoint.isEmpty()) {
        Result<QByteArray> e = normaliseEndpoint(endpoint, u"endpoint"_s, false);
        if (!e)
            return invalid(u"endpoint"_s, e.error().message);
        out.endpoint = *e;
        out.customEndpoint = true;
    } else if (!out.emulatorHost.isEmpty()) {
        Result<QByteArray> e
            = normaliseEndpoint(out.emulatorHost, u"STORAGE_EMULATOR_HOST"_s, true);
        if (!e)
            return invalid(u"endpoint"_s, e.error().message);
        out.endpoint = *e;
        out.customEndpoint = true;
    } else {
        const QString universe = out.key ? out.key->universeDomain : s.string(u"universeDomain"_s);
        out.endpoint
            = (u"https://storage."_s + (universe.isEmpty() ? u"googleapis.com"_s : universe))
                  .toUtf8();
    }
    if (!out.key) {
        if (!out.customEndpoint)
            return invalid(
                u"privateKey"_s,
                u"no credentials: set the service-account key fields (privateKey, clientEmail, "
                "... as in the key file), or GOOGLE_APPLICATION_CREDENTIALS to a key file, or "
                "endpoint for an emulator (then the requests are anonymous); metadata-server and "
                "workload-identity sign-in are not supported"_s);
        out.signIn
            = u"anonymous (no credentials, endpoint %1)"_s.arg(QString::fromUtf8(out.endpoint));
    }
    if (!out.caCert.isEmpty() && !out.endpoint.startsWith("https://"))
        s.warn(u"caCert"_s, u"caCert is set but the endpoint is not https://; it is not used"_s);
    if (out.key && out.endpoint.startsWith("http://"))
        s.warn(u"endpoint"_s, u"the endpoint is plain http://: the access token travels "
                              "unencrypted"_s);
    if (warnings)
        *warnings = s.warnings();
    return out;
}

Result<> GcpBucketBinding::init(const core::ComponentSpec &spec)
{
    Result<BucketSettings> settings = readSettings(spec, &m_warnings);
    if (!settings)
        return tl::unexpected(settings.error());
    m_settings = std::move(*settings);

    common::RestClientOptions options;
    options.name = u"gcs"_s;
    options.userAgent = "bindery-gcp-bucket";
    // bench_gcp_bucket drives 16 connections; the REST client's default is 8.
    options.maxHostConnections = 32;
    options.maxIdleConnections = 32;
    if (!m_settings.caCert.isEmpty() && m_settings.endpoint.startsWith("https://"))
        options.tls.ca = {m_settings.caCert, {}, u"caCert"_s};
    Result<std::unique_ptr<common::RestClient>> client = common::RestClient::create(options);
    if (!client)
        return fail(client.error().code, client.error().message, spec.name);
    if (m_settings.key) {
        Result<std::shared_ptr<TokenSource>> tokens
            = TokenSource::create(*m_settings.key, SCOPE_FULL_CONTROL.toString());
        if (!tokens)
            return fail(tokens.error().code, tokens.error().message, spec.name);
        m_tokens = std::move(*tokens);
        m_tokens->prefetch(); // the first request should not wait for the sign-in
    }
    m_client = std::move(*client);
    {
        std::unique_lock lock(m_lifecycle);
        m_closed = false; // init after close() starts a working instance again
    }
    GcsClientOptions gcsOptions;
    gcsOptions.endpoint = m_settings.endpoint;
    gcsOptions.chunkSize = m_settings.chunkSize;
    m_gcs = std::make_unique<GcsClient>(*m_client, m_tokens, gcsOptions);
    return {};
}

void GcpBucketBinding::close()
{
    {
        std::unique_lock lock(m_lifecycle);
        if (m_closed)
            return;
        m_closed = true;
    }
    // The sign-in first (its waiters continue into m_client), then every transfer (their
    // continuations may queue answers on the pool), then the pool.
    if (m_tokens)
        m_tokens->shutdown();
    m_client.reset();
    m_pool.waitForDone();
    m_gcs.reset();
    m_tokens.reset();
}

void GcpBucketBinding::offload(qint64 bytes, std::function<void()> work)
{
    if (bytes <= OFFLOAD_BYTES) {
        work();
        return;
    }
    m_pool.start(std::move(work));
}

void GcpBucketBinding::offloadSending(qint64 bytes, CallPtr call, std::function<void()> work)
{
    if (bytes <= OFFLOAD_BYTES) {
        work(); // the caller holds m_lifecycle shared
        return;
    }
    m_pool.start([this, call = std::move(call), work = std::move(work)] {
        std::shared_lock lock(m_lifecycle);
        if (m_closed) {
            lock.unlock();
            call->failWith(u"binding closed"_s);
            return;
        }
        work();
    });
}

void GcpBucketBinding::invoke(core::InvokeRequest request, core::InvokeDone done)
{
    auto call = std::make_shared<Call>();
    call->request = std::move(request);
    call->done = std::move(done);
    std::shared_lock lock(m_lifecycle);
    if (m_closed || !m_gcs) {
        lock.unlock();
        call->failWith(u"binding closed"_s);
        return;
    }
    // daprd's handleBackwardCompatibilityForMetadata: a non-empty `name` becomes `key`.
    QMap<QString, QString> &md = call->request.metadata;
    if (const QString name = md.value(u"name"_s); !name.isEmpty()) {
        md.insert(u"key"_s, name);
        md.remove(u"name"_s);
    }
    using Operation = void (*)(GcpBucketBinding *, CallPtr);
    static const QHash<QString, Operation> table{
        {u"create"_s, [](GcpBucketBinding *b, CallPtr c) { b->create(std::move(c)); }},
        {u"get"_s, [](GcpBucketBinding *b, CallPtr c) { b->get(std::move(c)); }},
        {u"delete"_s, [](GcpBucketBinding *b, CallPtr c) { b->remove(std::move(c)); }},
        {u"list"_s, [](GcpBucketBinding *b, CallPtr c) { b->list(std::move(c)); }},
        {u"sign"_s, [](GcpBucketBinding *b, CallPtr c) { b->sign(std::move(c)); }},
        {u"bulkGet"_s, [](GcpBucketBinding *b, CallPtr c) { b->bulkGet(std::move(c)); }},
        {u"copy"_s, [](GcpBucketBinding *b, CallPtr c) { b->copyOrMove(std::move(c), false); }},
        {u"move"_s, [](GcpBucketBinding *b, CallPtr c) { b->copyOrMove(std::move(c), true); }},
        {u"rename"_s, [](GcpBucketBinding *b, CallPtr c) { b->rename(std::move(c)); }},
    };
    const Operation operation = table.value(call->request.operation);
    if (!operation)
        return call->failWith(u"unsupported operation %1"_s.arg(call->request.operation));
    operation(this, std::move(call));
}

// ---- create ----

void GcpBucketBinding::create(CallPtr call)
{
    const bool decode = call->flag(u"decodeBase64"_s, m_settings.decodeBase64);
    const QString contentType = call->text(u"contentType"_s, m_settings.contentType);
    QString key = call->meta(u"key"_s);
    if (key.isEmpty())
        key = QUuid::createUuid().toString(QUuid::WithoutBraces);
    const qint64 size = call->request.data.size();
    offloadSending(size, call, [this, call, decode, contentType, key] {
        // The request's own buffer becomes the object: unquoted and decoded where it lies.
        auto data = std::make_shared<QByteArray>(std::move(call->request.data));
        call->request.data = QByteArray();
        goUnquoteInPlace(*data);
        if (decode) {
            if (Result<> decoded = goBase64DecodeInPlace(*data); !decoded)
                return call->failWith(u"gcp bucket binding error while uploading: "_s
                                      + decoded.error().message);
        }
        // Google's Go client sniffs the type when none is given (googleapi.DetermineContentType).
        const QByteArray type
            = contentType.isEmpty() ? goDetectContentType(*data) : contentType.toUtf8();
        const QString bucket = m_settings.bucket;
        m_gcs->upload(bucket, key, type, std::move(data),
                      [call, bucket, key](GcsResult<nlohmann::json> r) {
                          if (!r)
                              return call->failWith(u"gcp bucket binding error while flushing: "_s
                                                    + r.error().text);
                          Result<QString> url = goUrlString(OBJECT_URL_BASE.arg(bucket, key));
                          if (!url)
                              return call->failWith(
                                  u"gcp bucket binding error while building url response: "_s
                                  + url.error().message);
                          call->answer(jsonObject("objectURL", *url));
                      });
    });
}

// ---- get ----

void GcpBucketBinding::get(CallPtr call)
{
    const bool encode = call->flag(u"encodeBase64"_s, m_settings.encodeBase64);
    const QString key = call->meta(u"key"_s);
    if (key.isEmpty())
        return call->failWith(KEY_MISSING);
    m_gcs->download(m_settings.bucket, key, [this, call, encode](GcsResult<QByteArray> r) {
        if (!r) {
            const QString where
                = r.error().partial ? u"while reading"_s : u"while downloading object"_s;
            return call->failWith(
                u"gcp bucketgcp bucket binding error %1: %2"_s.arg(where, r.error().text));
        }
        auto data = std::make_shared<QByteArray>(std::move(*r));
        if (!encode)
            return call->answer(std::move(*data));
        offload(data->size(), [call, data] {
            base64EncodeInPlace(*data);
            call->answer(std::move(*data));
        });
    });
}

// ---- delete ----

void GcpBucketBinding::remove(CallPtr call)
{
    const QString key = call->meta(u"key"_s);
    if (key.isEmpty())
        return call->failWith(KEY_MISSING_DELETE);
    m_gcs->remove(m_settings.bucket, key, [call](GcsResult<void> r) {
        if (!r)
            return call->failWith(r.error().notFound() ? u"object not found"_s : r.error().text);
        call->answerEmpty();
    });
}

// ---- list ----

namespace {

/// Walks a listing page by page as Go's ObjectIterator does (items, then prefixes, per page).
struct Listing : std::enable_shared_from_this<Listing>
{
    GcsClient *gcs = nullptr;
    QString bucket, prefix, delimiter;
    qint64 limit = -1; ///< stop after this many entries; < 0: all
    /// Called with each entry (an object, or a prefix as a bare string) until it returns false.
    std::function<void(const nlohmann::json &entry)> onEntry;
    std::function<void(GcsResult<qint64>)> done;
    qint64 count = 0;

    void next(const QString &token)
    {
        gcs->listPage(bucket, prefix, delimiter, token,
                      [self = shared_from_this()](GcsResult<nlohmann::json> page) {
                          if (!page)
                              return self->done(tl::unexpected(page.error()));
                          if (self->take(*page, "items") || self->take(*page, "prefixes"))
                              return self->done(self->count);
                          const auto more = page->find("nextPageToken");
                          if (more == page->end() || !more->is_string()
                              || more->get<std::string>().empty())
                              return self->done(self->count);
                          self->next(QString::fromStdString(more->get<std::string>()));
                      });
    }

    /// True once the limit is reached.
    bool take(const nlohmann::json &page, const char *field)
    {
        const auto list = page.find(field);
        if (list == page.end() || !list->is_array())
            return false;
        for (const nlohmann::json &entry : *list) {
            if (limit >= 0 && count == limit)
                return true;
            onEntry(entry);
            ++count;
        }
        return limit >= 0 && count == limit;
    }
};

} // namespace

void GcpBucketBinding::list(CallPtr call)
{
    Result<GoStruct> payload = goUnmarshalStruct(call->request.data, u"bucket.listPayload"_s,
                                                 {{u"prefix"_s, GoFieldKind::String},
                                                  {u"maxResults"_s, GoFieldKind::Int32},
                                                  {u"delimiter"_s, GoFieldKind::String}});
    if (!payload)
        return call->failWith(payload.error().message);
    qint32 maxResults = payload->value(u"maxResults"_s).toInt();
    if (maxResults == 0)
        maxResults = DEFAULT_MAX_RESULTS;
    auto listing = std::make_shared<Listing>();
    auto json = std::make_shared<std::string>("[");
    listing->gcs = m_gcs.get();
    listing->bucket = m_settings.bucket;
    listing->prefix = payload->value(u"prefix"_s);
    listing->delimiter = payload->value(u"delimiter"_s);
    listing->limit = maxResults < 0 ? -1 : maxResults; // Go never reaches a negative count
    listing->onEntry = [json](const nlohmann::json &entry) {
        if (json->size() > 1)
            *json += ',';
        if (entry.is_string())
            appendPrefixAttrs(*json, entry.get<std::string>());
        else
            appendObjectAttrs(*json, entry);
    };
    listing->done = [call, json](GcsResult<qint64> r) {
        if (!r)
            return call->failWith(u"gcp bucket binding error while listing: "_s + r.error().text);
        if (*r == 0)
            return call->answer("null"); // Go marshals the nil slice
        *json += ']';
        call->answer(QByteArray::fromStdString(*json));
    };
    listing->next({});
}

// ---- sign ----

void GcpBucketBinding::sign(CallPtr call)
{
    const QString key = call->meta(u"key"_s);
    if (key.isEmpty())
        return call->failWith(KEY_MISSING);
    const QString ttl = call->text(u"signTTL"_s, m_settings.signTTL);
    if (ttl.isEmpty())
        return call->failWith(u"gcp bucket binding error: required metadata 'signTTL' missing"_s);
    Result<qint64> nanos = goParseDuration(ttl);
    if (!nanos)
        return call->failWith(
            u"gcp bucket binding error: gcp bucket binding error while parsing signTTL: "_s
            + nanos.error().message);
    const QString prefix
        = u"gcp bucket binding error: Bucket(%1).SignedURL: "_s.arg(goQuote(m_settings.bucket));
    if (!m_settings.key)
        return call->failWith(
            prefix
            + u"storage: unable to detect default GoogleAccessID: sign needs a service-account "
              "key (the component's privateKey and clientEmail, or GOOGLE_APPLICATION_CREDENTIALS)"_s);
    const qint64 seconds = *nanos / 1000000000;
    if (*nanos >= (V4_MAX_EXPIRATION_SECONDS + 1) * 1000000000LL)
        return call->failWith(prefix + u"storage: expires must be within seven days from now"_s);
    SignedUrlOptions o;
    o.method = u"GET"_s;
    o.bucket = m_settings.bucket;
    o.object = key;
    o.expiresInSeconds = seconds;
    o.timestamp = QDateTime::currentDateTimeUtc();
    o.endpoint = resolveSigningEndpoint(
        {{},
         {},
         m_settings.customEndpoint ? QString::fromUtf8(m_settings.endpoint) : QString(),
         m_settings.emulatorHost,
         m_settings.key->universeDomain});
    Result<SignedUrl> url = signUrlV4(*m_settings.key, o);
    if (!url)
        return call->failWith(prefix + url.error().message);
    call->answer(jsonObject("signURL", url->url));
}

// ---- bulkGet ----

namespace {

struct BulkGet
{
    std::mutex mutex;
    std::vector<nlohmann::json> objects;
    std::vector<QByteArray> data;
    QStringList errors;
    size_t nextIndex = 0;
    std::atomic<int> running{0};
    bool finished = false;
};

} // namespace

void GcpBucketBinding::bulkGet(CallPtr call)
{
    const bool encode = call->flag(u"encodeBase64"_s, m_settings.encodeBase64);
    auto state = std::make_shared<BulkGet>();
    auto listing = std::make_shared<Listing>();
    listing->gcs = m_gcs.get();
    listing->bucket = m_settings.bucket;
    listing->onEntry = [state](const nlohmann::json &entry) {
        if (entry.is_object())
            state->objects.push_back(entry);
    };
    GcsClient *gcs = m_gcs.get();
    const QString bucket = m_settings.bucket;
    // Answers once every download ended: the JSON of all of them (on the pool: it is large).
    auto finish = [this, call, state, encode] {
        offload(OFFLOAD_BYTES + 1, [call, state, encode] {
            if (!state->errors.isEmpty())
                return call->failWith(u"gcp bucket binding error while reading objects: "_s
                                      + state->errors.join(u'\n'));
            std::string out = "[";
            for (size_t i = 0; i < state->objects.size(); ++i) {
                if (i)
                    out += ',';
                const nlohmann::json &o = state->objects[i];
                out += "{\"name\":";
                core::goJsonAppendString(out, o.value("name", std::string()));
                out += ",\"data\":\"";
                QByteArray bytes = std::move(state->data[i]);
                if (encode)
                    base64EncodeInPlace(bytes); // daprd encodes, then json.Marshal encodes again
                base64EncodeInPlace(bytes);
                out.append(bytes.constData(), size_t(bytes.size()));
                out += "\",\"attrs\":";
                appendObjectAttrs(out, o);
                out += '}';
            }
            out += ']';
            call->answer(QByteArray::fromStdString(out));
        });
    };
    // Keeps BULK_PARALLEL downloads in flight; each completion starts the next.
    auto pump = std::make_shared<std::function<void()>>();
    *pump = [state, gcs, bucket, finish, weakPump = std::weak_ptr<std::function<void()>>(pump)] {
        for (;;) {
            size_t index = 0;
            {
                std::lock_guard lock(state->mutex);
                if (state->nextIndex >= state->objects.size()
                    || state->running.load() >= BULK_PARALLEL) {
                    if (state->running.load() == 0 && !state->finished) {
                        state->finished = true;
                        finish();
                    }
                    return;
                }
                index = state->nextIndex++;
                ++state->running;
            }
            const QString name
                = QString::fromStdString(state->objects[index].value("name", std::string()));
            std::shared_ptr<std::function<void()>> again = weakPump.lock();
            gcs->download(bucket, name, [state, index, again, name](GcsResult<QByteArray> r) {
                {
                    std::lock_guard lock(state->mutex);
                    if (r)
                        state->data[index] = std::move(*r);
                    else
                        state->errors << u"%1: %2"_s.arg(name, r.error().text);
                    --state->running;
                }
                if (again)
                    (*again)();
            });
        }
    };
    listing->done = [call, state, pump](GcsResult<qint64> r) mutable {
        if (!r)
            return call->failWith(u"gcp bucket binding error while listing objects: "_s
                                  + r.error().text);
        state->data.resize(state->objects.size());
        (*pump)();
        pump.reset(); // the downloads in flight keep it alive
    };
    listing->next({});
}

// ---- copy, move, rename ----

void GcpBucketBinding::copyOrMove(CallPtr call, bool move)
{
    const QString key = call->meta(u"key"_s);
    if (key.isEmpty())
        return call->failWith(KEY_MISSING);
    const QString what = move ? u"move"_s : u"copy"_s;
    Result<GoStruct> payload = goUnmarshalStruct(
        call->request.data, move ? u"bucket.movePayload"_s : u"bucket.copyPayload"_s,
        {{u"destinationBucket"_s, GoFieldKind::String},
         {u"destinationKey"_s, GoFieldKind::String}});
    if (!payload)
        return call->failWith(u"gcp bucket binding error: invalid %1 payload: %2"_s.arg(
            what, payload.error().message));
    QString destBucket = payload->value(u"destinationBucket"_s);
    QString destKey = payload->value(u"destinationKey"_s);
    if (destBucket.isEmpty() && destKey.isEmpty())
        return call->failWith(
            u"gcp bucket binding error: copy/move requires at least one of destinationBucket or "
            "destinationKey (omitting both resolves the destination to the source object, which "
            "rewrites it for copy and deletes it for move)"_s);
    if (destBucket.isEmpty())
        destBucket = m_settings.bucket;
    if (destKey.isEmpty())
        destKey = key;
    if (move && destBucket == m_settings.bucket && destKey == key)
        return call->failWith(
            u"gcp bucket binding error: move destination %1/%2 is the same as the source — move "
            "would delete the source object"_s.arg(destBucket, destKey));
    GcsClient *gcs = m_gcs.get();
    const QString bucket = m_settings.bucket;
    gcs->rewrite(
        bucket, key, destBucket, destKey,
        [call, gcs, bucket, key, destBucket, destKey, move](GcsResult<nlohmann::json> r) {
            if (!r)
                return call->failWith(u"gcp bucket binding error while copying object: "_s
                                      + objectError(r.error()));
            if (!move)
                return call->answer(
                    u"object %1 copied to %2/%3"_s.arg(key, destBucket, destKey).toUtf8());
            gcs->remove(bucket, key, [call, key, destBucket, destKey](GcsResult<void> d) {
                if (!d)
                    return call->failWith(u"gcp bucket binding error while deleting object: "_s
                                          + objectError(d.error()));
                call->answer(u"object %1 moved to %2/%3"_s.arg(key, destBucket, destKey).toUtf8());
            });
        });
}

void GcpBucketBinding::rename(CallPtr call)
{
    const QString key = call->meta(u"key"_s);
    if (key.isEmpty())
        return call->failWith(KEY_MISSING);
    Result<GoStruct> payload = goUnmarshalStruct(call->request.data, u"bucket.renamePayload"_s,
                                                 {{u"newName"_s, GoFieldKind::String}});
    if (!payload)
        return call->failWith(u"gcp bucket binding error: invalid rename payload"_s);
    const QString newName = payload->value(u"newName"_s);
    if (newName.isEmpty())
        return call->failWith(u"gcp bucket binding error: required 'newName' missing"_s);
    GcsClient *gcs = m_gcs.get();
    const QString bucket = m_settings.bucket;
    gcs->rewrite(bucket, key, bucket, newName,
                 [call, gcs, bucket, key, newName](GcsResult<nlohmann::json> r) {
                     if (!r)
                         return call->failWith(u"gcp bucket binding error while copying object: "_s
                                               + objectError(r.error()));
                     gcs->remove(bucket, key, [call, key, newName](GcsResult<void> d) {
                         if (!d)
                             return call->failWith(
                                 u"gcp bucket binding error while deleting object: "_s
                                 + objectError(d.error()));
                         call->answer(u"object %1 renamed to %2"_s.arg(key, newName).toUtf8());
                     });
                 });
}

} // namespace bindery::bindings::gcp_bucket

BINDERY_BINDING(gcp_bucket, void, bindery::bindings::gcp_bucket::GcpBucketBinding)
