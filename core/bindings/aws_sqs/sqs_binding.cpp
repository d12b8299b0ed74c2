// SPDX-License-Identifier: Apache-2.0
#include "core/bindings/aws_sqs/sqs_binding.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <optional>
#include <random>
#include <thread>
#include <vector>

#include <QHash>
#include <QJsonArray>
#include <QLoggingCategory>
#include <QRegularExpression>
#include <QThread>
#include <QUrl>

#include "core/binding_registry.h"
#include "core/binding_settings.h"
#include "core/bindings/aws_sqs/sqs_client.h"
#include "core/bindings/common/blocking_pool.h"

Q_LOGGING_CATEGORY(lcSqs, "bindery.aws.sqs")

namespace bindery::bindings::aws_sqs {

using namespace std::chrono_literals;
using namespace Qt::Literals::StringLiterals;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int MAX_BATCH = 10;         // SQS's limit for ReceiveMessage and *Batch calls
constexpr int LONG_POLL_SECONDS = 20; // SQS's longest wait, as daprd polls
constexpr auto CALL_TIMEOUT = 30s;    // one call, its retries included
constexpr auto RECEIVE_TIMEOUT = 60s; // a 20 s long poll, with room for a slow server
constexpr auto DELETE_LINGER = 10ms;  // wait for a full batch of deletes
constexpr auto DRAIN_BOUND = 150ms;   // in-flight deliveries at stop (read() returns in 250 ms)
constexpr auto FLUSH_BOUND = 2s;      // delete batches in flight at close

Result<SqsSettings> parseSettings(const core::ComponentSpec &spec, core::Directions directions)
{
    core::BindingSettings r(spec, core::builtinSchema(u"aws_sqs"_s), directions);
    SqsSettings s;
    s.componentName = spec.name;
    s.initTimeoutMs = spec.initTimeoutMs > 0 ? spec.initTimeoutMs : 5000;
    s.queueName = r.string(u"queueName"_s);
    s.auth.region = r.string(u"region"_s);
    s.auth.endpoint = r.string(u"endpoint"_s);
    s.auth.accessKey = r.string(u"accessKey"_s);
    s.auth.secretKey = r.secret(u"secretKey"_s).trimmed();
    s.auth.sessionToken = r.secret(u"sessionToken"_s).trimmed();
    const qint64 concurrency = r.integer(u"concurrency"_s, 0, 64);
    const bool visibilitySet = r.isSet(u"visibilityTimeout"_s);
    const qint64 visibilityMs = r.durationMs(u"visibilityTimeout"_s);
    s.attributesAsHeaders = r.boolean(u"attributesAsHeaders"_s);
    if (r.ok()) {
        // SQS's names: 1-80 of [A-Za-z0-9_-], ".fifo" for FIFO queues. A URL is a common slip.
        static const QRegularExpression nameRe(u"^[A-Za-z0-9_-]{1,80}(\\.fifo)?$"_s);
        if (s.queueName.contains(u"://"_s) || s.queueName.contains(u'/'))
            r.fail(u"queueName"_s,
                   u"aws.sqs: metadata 'queueName' must be the queue's name, not its URL: write "
                   "'%1'"_s.arg(s.queueName.section(u'/', -1)));
        else if (!nameRe.match(s.queueName).hasMatch())
            r.fail(u"queueName"_s,
                   u"aws.sqs: metadata 'queueName' '%1' is not an SQS queue name (1-80 letters, "
                   "digits, '-' or '_', plus '.fifo' for a FIFO queue)"_s.arg(s.queueName));
    }
    if (r.ok() && visibilitySet) {
        if (visibilityMs % 1000 != 0 || visibilityMs > 43200000)
            r.fail(u"visibilityTimeout"_s,
                   u"aws.sqs: metadata 'visibilityTimeout' must be whole seconds from 0s to 12h, "
                   "as SQS counts it"_s);
        else
            s.visibilityTimeoutS = static_cast<int>(visibilityMs / 1000);
    }
    if (!r.ok())
        return tl::unexpected(r.result().error());
    s.concurrency = concurrency > 0 ? static_cast<int>(concurrency)
                                    : std::clamp(2 * QThread::idealThreadCount(), 2, 16);
    s.warnings = r.warnings();
    return s;
}

/// The init error for a failed GetQueueUrl, saying what to do about it.
QString initError(const SqsSettings &s, const AwsResolved &aws, const SqsError &e)
{
    switch (e.kind) {
    case SqsErrorKind::Auth:
        return u"aws.sqs: SQS at %1 refused the credentials from %2 (access key %3): %4"_s.arg(
            aws.endpoint, aws.credentialSource, maskedKeyId(aws.credentials.accessKeyId),
            e.describe());
    case SqsErrorKind::QueueMissing:
        return u"aws.sqs: queue '%1' does not exist at %2 (region %3): %4. Bindery, like daprd, "
               "does not create queues: create it first (e.g. aws sqs create-queue "
               "--queue-name %1)"_s.arg(s.queueName, aws.endpoint, aws.region, e.describe());
    case SqsErrorKind::Transport:
    case SqsErrorKind::Closed:
        return u"aws.sqs: cannot reach SQS at %1 (endpoint from %2): %3"_s.arg(
            aws.endpoint, aws.endpointSource, e.describe());
    default:
        return u"aws.sqs: GetQueueUrl for queue '%1' at %2 failed: %3"_s.arg(
            s.queueName, aws.endpoint, e.describe());
    }
}

/// Resolves the credentials, creates the client and looks the queue's URL up, within the
/// component's init budget.
Result<SqsConnection> connect(const SqsSettings &s, int maxConnections, const QString &thread)
{
    auto failed = [&](Error e) {
        e.component = s.componentName;
        return tl::unexpected(std::move(e));
    };
    Result<AwsResolved> aws = resolveAws(s.auth);
    if (!aws)
        return failed(aws.error());
    SqsClientOptions o;
    o.name = thread;
    o.endpoint = aws->endpoint;
    o.region = aws->region;
    o.credentials = aws->credentials;
    o.maxConnections = maxConnections;
    Result<std::unique_ptr<SqsClient>> client = SqsClient::create(o);
    if (!client)
        return failed(client.error());
    const auto budget = std::chrono::milliseconds(std::clamp(s.initTimeoutMs - 500, 1000, 30000));
    const SqsReply reply
        = (*client)->callAndWait("GetQueueUrl", {{u"QueueName"_s, s.queueName}}, budget);
    if (!reply.ok())
        return failed(Error{ErrorCode::InitFailed, initError(s, *aws, reply.error), {}});
    SqsConnection c;
    c.queueUrl = reply.body.value(u"QueueUrl"_s).toString();
    if (c.queueUrl.isEmpty())
        return failed(Error{ErrorCode::InitFailed,
                            u"aws.sqs: GetQueueUrl for queue '%1' at %2 answered no QueueUrl"_s.arg(
                                s.queueName, aws->endpoint),
                            {}});
    c.client = std::move(*client);
    c.fifo = s.queueName.endsWith(u".fifo"_s);
    c.aws = std::move(*aws);
    // Never the secret: where the credentials came from and a masked key id.
    qCInfo(lcSqs).noquote() << u"%1: queue %2; credentials from %3 (access key %4); region %5 "
                               "(from %6); endpoint %7 (from %8)"_s.arg(
                                   s.componentName, c.queueUrl, c.aws.credentialSource,
                                   maskedKeyId(c.aws.credentials.accessKeyId), c.aws.region,
                                   c.aws.regionSource, c.aws.endpoint, c.aws.endpointSource);
    return c;
}

/// A header value the app channel can send: one with control characters is percent-encoded.
QString headerSafe(const QString &value)
{
    for (QChar c : value) {
        if ((c.unicode() < 0x20 && c != u'\t') || c.unicode() == 0x7f)
            return QString::fromLatin1(QUrl::toPercentEncoding(value));
    }
    return value;
}

} // namespace

// ------------------------------------------------------------------------- connection state ---

void ConnectionTracker::failed(const QString &text)
{
    std::lock_guard lock(m_mutex);
    if (m_failed && m_last == text)
        return;
    m_failed = true;
    m_last = text;
    if (m_reporter)
        m_reporter(core::ConnectionReport{core::ConnectionState::Failed, text, 0});
}

void ConnectionTracker::recovered(const QString &text)
{
    if (!m_failed.load())
        return;
    std::lock_guard lock(m_mutex);
    if (!m_failed)
        return;
    m_failed = false;
    m_last = text;
    if (m_reporter)
        m_reporter(core::ConnectionReport{core::ConnectionState::Connected, text, 0});
}

// ----------------------------------------------------------------------------------- output ---

Result<> SqsComponent::setUp(const core::ComponentSpec &spec, core::Directions directions)
{
    Result<SqsSettings> parsed = parseSettings(spec, directions);
    if (!parsed)
        return tl::unexpected(parsed.error());
    m_settings = std::move(*parsed);
    // Input: one connection per long poll, plus a few for the delete batches. Output: enough for
    // the API's concurrent calls (SQS servers queue the rest).
    Result<SqsConnection> c = directions.input
                                  ? connect(m_settings, m_settings.concurrency + 4, u"sqs-in"_s)
                                  : connect(m_settings, 32, u"sqs-out"_s);
    if (!c)
        return tl::unexpected(c.error());
    m_connection = std::move(*c);
    return {};
}

AwsSqsOutput::~AwsSqsOutput()
{
    close();
}

Result<> AwsSqsOutput::init(const core::ComponentSpec &spec)
{
    return setUp(spec, {false, true});
}

QStringList AwsSqsOutput::operations() const
{
    return {u"create"_s};
}

void AwsSqsOutput::invoke(core::InvokeRequest request, core::InvokeDone done)
{
    auto failNow = [&](const QString &message) {
        core::InvokeResult r;
        r.result = fail(ErrorCode::InvokeFailed, message);
        done(std::move(r));
    };
    const std::shared_ptr<SqsClient> client = m_connection.client;
    if (!client)
        return failNow(u"aws.sqs: the binding is closed"_s);
    if (request.operation != u"create"_s)
        return failNow(u"aws.sqs: unsupported operation '%1'"_s.arg(request.operation));

    QJsonObject params{{u"QueueUrl"_s, m_connection.queueUrl},
                       {u"MessageBody"_s, QString::fromUtf8(request.data)}};
    // Bindery additions (daprd reads no request metadata): FIFO fields, a delay, attributes.
    QJsonObject attributes;
    for (auto it = request.metadata.cbegin(); it != request.metadata.cend(); ++it) {
        const QString &key = it.key();
        if (key == u"messageGroupId"_s) {
            params.insert(u"MessageGroupId"_s, it.value());
        } else if (key == u"messageDeduplicationId"_s) {
            params.insert(u"MessageDeduplicationId"_s, it.value());
        } else if (key == u"delaySeconds"_s) {
            bool ok = false;
            const int delay = it.value().trimmed().toInt(&ok);
            if (!ok || delay < 0 || delay > 900)
                return failNow(
                    u"aws.sqs: request metadata 'delaySeconds' must be whole seconds from 0 to "
                    "900, not '%1'"_s.arg(it.value()));
            params.insert(u"DelaySeconds"_s, delay);
        } else if (key.startsWith(u"attribute."_s)) {
            const QString name = key.mid(10);
            if (name.isEmpty())
                return failNow(u"aws.sqs: request metadata 'attribute.' needs a name after the "
                               "dot, e.g. attribute.color"_s);
            attributes.insert(
                name, QJsonObject{{u"DataType"_s, u"String"_s}, {u"StringValue"_s, it.value()}});
        }
    }
    if (!attributes.isEmpty())
        params.insert(u"MessageAttributes"_s, attributes);

    client->call(
        "SendMessage", params, CALL_TIMEOUT,
        [done = std::move(done), tracker = m_tracker,
         queue = m_settings.queueName](SqsReply reply) {
            core::InvokeResult r;
            if (reply.ok()) {
                core::InvokeResponse response; // no data: 204, as daprd
                response.metadata.append(
                    {u"messageId"_s, reply.body.value(u"MessageId"_s).toString()});
                const QString sequence = reply.body.value(u"SequenceNumber"_s).toString();
                if (!sequence.isEmpty())
                    response.metadata.append({u"sequenceNumber"_s, sequence});
                r.result = std::move(response);
                tracker->recovered(u"SQS accepts messages for queue '%1' again"_s.arg(queue));
            } else {
                if (reply.error.kind == SqsErrorKind::Auth)
                    tracker->failed(
                        u"SQS refused the credentials: %1"_s.arg(reply.error.describe()));
                else if (reply.error.kind == SqsErrorKind::Transport)
                    tracker->failed(u"cannot reach SQS: %1"_s.arg(reply.error.describe()));
                r.result = fail(
                    ErrorCode::InvokeFailed,
                    u"SendMessage to queue '%1' failed: %2"_s.arg(queue, reply.error.describe()));
            }
            done(std::move(r));
        });
}

void AwsSqsOutput::close()
{
    // Pending calls complete with "client closed" (each InvokeDone runs once).
    m_connection.client.reset();
}

// ------------------------------------------------------------------------------------ input ---

/** @brief One read() call's state, shared with its pollers, deliveries and SQS callbacks. */
struct InputRun
{
    core::EventHandler handler; // a copy: a late delivery may outlive read()
    std::weak_ptr<SqsClient> client;
    std::shared_ptr<ConnectionTracker> tracker;
    AwsComponentAuth auth;
    QString component;
    QString queueName;
    QString queueUrl;
    bool fifo = false;
    bool headers = true;
    int visibilityTimeoutS = -1;

    std::mutex mutex;
    std::condition_variable_any slotsCv;   // free slots, the pause after a failure, stopping
    std::condition_variable_any deletesCv; // work for the deleter, batches completed
    int capacity = 0;                      // messages received and not done yet, at most
    int freeSlots = 0;                     // messages that may still be received
    bool stopping = false;
    Clock::time_point resumeAt{}; // pollers wait until then after a failure
    int failures = 0;             // consecutive failed polls
    QStringList toDelete;         // receipt handles of acknowledged messages
    QStringList toRelease;        // received but never delivered: visible again at once
    bool deleterExit = false;
    int batchesInFlight = 0;
    std::mt19937 rng{std::random_device{}()};

    void releaseSlots(int n)
    {
        if (n <= 0)
            return;
        {
            std::lock_guard lock(mutex);
            freeSlots += n;
        }
        slotsCv.notify_all();
    }
};

using RunPtr = std::shared_ptr<InputRun>;

namespace {

core::BindingEvent makeEvent(const InputRun &run, const QJsonObject &m)
{
    core::BindingEvent ev;
    ev.data = m.value(u"Body"_s).toString().toUtf8();
    ev.contentType = u"application/json"_s;
    ev.eventKey = m.value(u"MessageId"_s).toString();
    const QJsonObject system = m.value(u"Attributes"_s).toObject();
    ev.attempt = std::max(1, system.value(u"ApproximateReceiveCount"_s).toString().toInt());
    // daprd's rule: a message the app did not acknowledge is not deleted and comes back after
    // the visibility timeout.
    ev.onFailure = core::FailurePolicy::Retry;
    if (!run.headers)
        return ev;
    const QJsonObject attributes = m.value(u"MessageAttributes"_s).toObject();
    ev.metadata.reserve(attributes.size() + 6);
    for (auto it = attributes.constBegin(); it != attributes.constEnd(); ++it) {
        const QJsonObject a = it.value().toObject();
        const bool binary = a.value(u"DataType"_s).toString().startsWith(u"Binary"_s);
        // Binary values arrive base64-encoded on the JSON protocol and stay so.
        ev.metadata.append(
            {it.key(),
             headerSafe(a.value(binary ? u"BinaryValue"_s : u"StringValue"_s).toString())});
    }
    auto put = [&ev](const QString &key, const QString &value) {
        if (value.isEmpty())
            return;
        for (auto &kv : ev.metadata) {
            if (kv.first.compare(key, Qt::CaseInsensitive) == 0) {
                kv.second = value;
                return;
            }
        }
        ev.metadata.append({key, value});
    };
    put(u"sqs-message-id"_s, ev.eventKey);
    put(u"sqs-receive-count"_s, system.value(u"ApproximateReceiveCount"_s).toString());
    put(u"sqs-sent-timestamp"_s, system.value(u"SentTimestamp"_s).toString());
    if (run.fifo) {
        put(u"sqs-message-group-id"_s, system.value(u"MessageGroupId"_s).toString());
        put(u"sqs-sequence-number"_s, system.value(u"SequenceNumber"_s).toString());
        put(u"sqs-message-deduplication-id"_s,
            system.value(u"MessageDeduplicationId"_s).toString());
    }
    return ev;
}

/// Sends one DeleteMessageBatch (or ChangeMessageVisibilityBatch to 0 for `release`).
void sendBatch(const RunPtr &run, SqsClient &client, const QStringList &handles, bool release)
{
    QJsonArray entries;
    for (qsizetype i = 0; i < handles.size(); ++i) {
        QJsonObject e{{u"Id"_s, QString::number(i)}, {u"ReceiptHandle"_s, handles[i]}};
        if (release)
            e.insert(u"VisibilityTimeout"_s, 0);
        entries.append(e);
    }
    {
        std::lock_guard lock(run->mutex);
        ++run->batchesInFlight;
    }
    const QByteArrayView action = release ? QByteArrayView("ChangeMessageVisibilityBatch")
                                          : QByteArrayView("DeleteMessageBatch");
    client.call(
        action, {{u"QueueUrl"_s, run->queueUrl}, {u"Entries"_s, entries}}, CALL_TIMEOUT,
        [run, release, count = handles.size()](SqsReply reply) {
            if (!reply.ok()) {
                if (reply.error.kind != SqsErrorKind::Closed)
                    qCWarning(lcSqs).noquote() << u"%1: %2 message(s) %3: %4"_s.arg(
                        run->component, QString::number(count),
                        release ? u"could not be made visible again"_s
                                : u"acknowledged by the app could not be deleted "
                                  "(they will be delivered again)"_s,
                        reply.error.describe());
            } else if (const QJsonArray failed = reply.body.value(u"Failed"_s).toArray();
                       !failed.isEmpty()) {
                const QJsonObject first = failed.first().toObject();
                qCWarning(lcSqs).noquote() << u"%1: %2 of %3 message(s) %4: %5: %6"_s.arg(
                    run->component, QString::number(failed.size()), QString::number(count),
                    release ? u"could not be made visible again"_s : u"could not be deleted"_s,
                    first.value(u"Code"_s).toString(), first.value(u"Message"_s).toString());
            }
            {
                std::lock_guard lock(run->mutex);
                --run->batchesInFlight;
            }
            run->deletesCv.notify_all();
        });
}

/// Hands receipt handles to the deleter (acknowledged: DeleteMessageBatch; `release`: visible
/// again at once). After read() returned, a late answer sends its batch itself.
void queueHandles(const RunPtr &run, const QStringList &handles, bool release)
{
    {
        std::lock_guard lock(run->mutex);
        if (!run->deleterExit) {
            (release ? run->toRelease : run->toDelete) << handles;
            if (release || run->toDelete.size() == handles.size()
                || run->toDelete.size() >= MAX_BATCH)
                run->deletesCv.notify_all();
            return;
        }
    }
    if (const std::shared_ptr<SqsClient> client = run->client.lock()) {
        for (qsizetype i = 0; i < handles.size(); i += MAX_BATCH)
            sendBatch(run, *client, handles.mid(i, MAX_BATCH), release);
    }
}

/// Delivers `messages` in order (one message, or one FIFO group's messages of a batch). The
/// first failure stops the list: its rest stays hidden and comes back after it, in order.
void deliverList(const RunPtr &run, const QList<QJsonObject> &messages)
{
    for (qsizetype i = 0; i < messages.size(); ++i) {
        const QString handle = messages[i].value(u"ReceiptHandle"_s).toString();
        {
            std::unique_lock lock(run->mutex);
            if (run->stopping) {
                // Received but not delivered: make them visible again now, not after the
                // visibility timeout.
                lock.unlock();
                QStringList rest;
                for (qsizetype j = i; j < messages.size(); ++j)
                    rest << messages[j].value(u"ReceiptHandle"_s).toString();
                queueHandles(run, rest, true);
                run->releaseSlots(static_cast<int>(messages.size() - i));
                return;
            }
        }
        const core::AppReply reply = run->handler(makeEvent(*run, messages[i]));
        if (!reply.ok()) {
            run->releaseSlots(static_cast<int>(messages.size() - i));
            return;
        }
        queueHandles(run, {handle}, false);
        run->releaseSlots(1);
    }
}

/// Sends the acknowledged messages' deletes in batches of up to 10, waiting briefly for a full
/// batch; at exit, sends everything left.
void deleteLoop(const RunPtr &run)
{
    std::unique_lock lock(run->mutex);
    for (;;) {
        run->deletesCv.wait(lock, [&] {
            return run->deleterExit || !run->toDelete.isEmpty() || !run->toRelease.isEmpty();
        });
        if (!run->deleterExit && run->toDelete.size() < MAX_BATCH && run->toRelease.isEmpty())
            run->deletesCv.wait_for(lock, DELETE_LINGER, [&] {
                return run->deleterExit || run->toDelete.size() >= MAX_BATCH;
            });
        const QStringList deletes = run->toDelete.mid(0, MAX_BATCH);
        run->toDelete.remove(0, deletes.size());
        const QStringList releases = run->toRelease.mid(0, MAX_BATCH);
        run->toRelease.remove(0, releases.size());
        if (deletes.isEmpty() && releases.isEmpty()) {
            if (run->deleterExit)
                return;
            continue;
        }
        lock.unlock();
        if (const std::shared_ptr<SqsClient> client = run->client.lock()) {
            if (!deletes.isEmpty())
                sendBatch(run, *client, deletes, false);
            if (!releases.isEmpty())
                sendBatch(run, *client, releases, true);
        }
        lock.lock();
    }
}

/// Takes up to 10 slots for the next poll, waiting for a free slot and for the pause after a
/// failure to end. 0 once stopped. `*busy` tells whether other messages are being delivered.
int acquireSlots(const RunPtr &run, std::stop_token stop, bool *busy)
{
    std::unique_lock lock(run->mutex);
    for (;;) {
        if (stop.stop_requested() || run->stopping)
            return 0;
        if (Clock::now() < run->resumeAt) {
            const Clock::time_point until = run->resumeAt;
            run->slotsCv.wait_until(lock, stop, until, [&] { return run->stopping; });
            continue;
        }
        if (run->freeSlots > 0) {
            const int n = std::min(MAX_BATCH, run->freeSlots);
            *busy = run->freeSlots < run->capacity;
            run->freeSlots -= n;
            return n;
        }
        run->slotsCv.wait(lock, stop, [&] { return run->freeSlots > 0 || run->stopping; });
    }
}

/// After a failed poll: say why (once per distinct reason), re-read the credentials when they
/// were refused, and pause every poller with a growing, jittered wait.
void pollFailed(const RunPtr &run, SqsClient &client, const SqsError &e)
{
    QString text;
    std::chrono::milliseconds base = 500ms;
    std::chrono::milliseconds cap = 30s;
    switch (e.kind) {
    case SqsErrorKind::Closed: return;
    case SqsErrorKind::Auth: {
        // Credentials from a file may have been renewed since init.
        Result<AwsResolved> again = resolveAws(run->auth);
        if (again)
            client.setCredentials(again->credentials);
        text
            = u"SQS refused the credentials%1: %2; polling again with a growing wait (up to 1 "
              "min)"_s.arg(again ? u" from %1 (access key %2)"_s.arg(
                               again->credentialSource, maskedKeyId(again->credentials.accessKeyId))
                                 : QString(),
                           e.describe());
        base = 2s;
        cap = 60s;
        break;
    }
    case SqsErrorKind::QueueMissing:
        text = u"queue '%1' no longer exists: %2"_s.arg(run->queueName, e.describe());
        base = 2s;
        cap = 60s;
        break;
    case SqsErrorKind::Transport:
        // Without curl's varying detail ("after 35012 ms"), so that it is said once.
        if (e.code == u"connect"_s)
            text = u"cannot connect to SQS at %1"_s.arg(client.endpoint());
        else if (e.code == u"timeout"_s)
            text = u"SQS at %1 does not answer in time"_s.arg(client.endpoint());
        else
            text = u"the connection to SQS at %1 fails (%2)"_s.arg(client.endpoint(), e.code);
        break;
    case SqsErrorKind::Throttled: break; // a pause, not a connection problem
    default: text = u"ReceiveMessage failed: %1"_s.arg(e.describe()); break;
    }
    std::chrono::milliseconds wait;
    {
        std::lock_guard lock(run->mutex);
        ++run->failures;
        const int shift = std::min(run->failures - 1, 10);
        const auto ceiling = std::min(cap, base * (1 << shift));
        // Half fixed, half jitter: never a tight loop, and pollers spread out.
        std::uniform_int_distribution<qint64> jitter(0, ceiling.count() / 2);
        wait = std::chrono::milliseconds(ceiling.count() / 2 + jitter(run->rng));
        run->resumeAt = std::max(run->resumeAt, Clock::now() + wait);
    }
    if (!text.isEmpty())
        run->tracker->failed(text);
    else
        qCWarning(lcSqs).noquote() << u"%1: ReceiveMessage throttled: %2; pausing %3 ms"_s.arg(
            run->component, e.describe(), QString::number(wait.count()));
    qCDebug(lcSqs).noquote() << run->component << e.describe() << "next poll in" << wait.count()
                             << "ms";
}

/// One poller: long polls of up to 10 messages while there are free slots; each message (each
/// FIFO group of a batch) goes to the delivery pool.
void pollLoop(const RunPtr &run, common::BlockingPool &pool, std::stop_token stop)
{
    QJsonArray system{u"ApproximateReceiveCount"_s, u"SentTimestamp"_s, u"MessageGroupId"_s,
                      u"SequenceNumber"_s, u"MessageDeduplicationId"_s};
    for (;;) {
        bool busy = false;
        const int want = acquireSlots(run, stop, &busy);
        if (want == 0)
            return;
        const std::shared_ptr<SqsClient> client = run->client.lock();
        if (!client) {
            run->releaseSlots(want);
            return;
        }
        QJsonObject params{
            {u"QueueUrl"_s, run->queueUrl},
            {u"MaxNumberOfMessages"_s, want},
            // FIFO with groups in flight: short polls (see read()).
            {u"WaitTimeSeconds"_s, run->fifo && busy ? 1 : LONG_POLL_SECONDS},
            // both names: AttributeNames is deprecated but older servers know only it
            {u"MessageSystemAttributeNames"_s, system},
            {u"AttributeNames"_s, system}};
        if (run->headers)
            params.insert(u"MessageAttributeNames"_s, QJsonArray{u"All"_s});
        if (run->visibilityTimeoutS >= 0)
            params.insert(u"VisibilityTimeout"_s, run->visibilityTimeoutS);

        struct Waiter
        {
            std::mutex mutex;
            std::condition_variable_any cv;
            std::optional<SqsReply> reply;
        };
        auto waiter = std::make_shared<Waiter>();
        client->call("ReceiveMessage", params, RECEIVE_TIMEOUT, [waiter](SqsReply r) {
            {
                std::lock_guard lock(waiter->mutex);
                waiter->reply = std::move(r);
            }
            waiter->cv.notify_all();
        });
        SqsReply reply;
        {
            std::unique_lock lock(waiter->mutex);
            waiter->cv.wait(lock, stop, [&] { return waiter->reply.has_value(); });
            if (!waiter->reply) { // stopped: the poll is abandoned
                run->releaseSlots(want);
                return;
            }
            reply = std::move(*waiter->reply);
        }
        if (!reply.ok()) {
            run->releaseSlots(want);
            pollFailed(run, *client, reply.error);
            continue;
        }
        {
            std::lock_guard lock(run->mutex);
            run->failures = 0;
        }
        run->tracker->recovered(u"receiving from queue '%1' again"_s.arg(run->queueName));
        const QJsonArray messages = reply.body.value(u"Messages"_s).toArray();
        run->releaseSlots(want - static_cast<int>(messages.size()));
        // Standard queues: every message on its own. FIFO: a batch's messages of one group in
        // order, groups in parallel (SQS hands out no more of a group while one is in flight).
        QList<QList<QJsonObject>> lists;
        QHash<QString, qsizetype> groupIndex;
        for (const QJsonValue &v : messages) {
            const QJsonObject m = v.toObject();
            if (!run->fifo) {
                lists.append({m});
                continue;
            }
            const QString group
                = m.value(u"Attributes"_s).toObject().value(u"MessageGroupId"_s).toString();
            auto it = groupIndex.constFind(group);
            if (it == groupIndex.cend()) {
                groupIndex.insert(group, lists.size());
                lists.append({m});
            } else {
                lists[*it].append(m);
            }
        }
        for (const QList<QJsonObject> &list : std::as_const(lists)) {
            // Not delivered (the pool stopped first): visible again at once.
            auto giveBack = [run, list] {
                QStringList handles;
                for (const QJsonObject &m : list)
                    handles << m.value(u"ReceiptHandle"_s).toString();
                queueHandles(run, handles, true);
                run->releaseSlots(static_cast<int>(list.size()));
            };
            Result<> queued
                = pool.submit([run, list](std::stop_token) { deliverList(run, list); }, giveBack);
            if (!queued) // cannot happen with the slots bounding the pool's queue; be safe
                giveBack();
        }
    }
}

} // namespace

AwsSqsInput::~AwsSqsInput()
{
    close();
}

Result<> AwsSqsInput::init(const core::ComponentSpec &spec)
{
    return setUp(spec, {true, false});
}

Result<> AwsSqsInput::read(const core::EventHandler &handler, std::stop_token stop)
{
    if (!m_connection.client)
        return fail(ErrorCode::Closed, u"aws.sqs: the binding is closed"_s);
    auto run = std::make_shared<InputRun>();
    m_run = run;
    run->handler = handler;
    run->client = m_connection.client;
    run->tracker = m_tracker;
    run->auth = m_settings.auth;
    run->component = m_settings.componentName;
    run->queueName = m_settings.queueName;
    run->queueUrl = m_connection.queueUrl;
    run->fifo = m_connection.fifo;
    run->headers = m_settings.attributesAsHeaders;
    run->visibilityTimeoutS = m_settings.visibilityTimeoutS;
    const int capacity = m_settings.concurrency * MAX_BATCH;
    run->capacity = capacity;
    run->freeSlots = capacity;
    // FIFO queues: one receive at a time. SQS hands out no more of a group while one of its
    // messages is in flight; one poller keeps that true on servers whose concurrent receives
    // race (moto's do), and its polls stay short while groups are in flight, so a group freed
    // by a delete is picked up within a second there too. Deliveries stay parallel across
    // groups.
    const int pollerCount = run->fifo ? 1 : m_settings.concurrency;

    common::BlockingPool pool({u"sqs"_s, capacity, capacity + MAX_BATCH});
    std::thread deleter([run] { deleteLoop(run); });
    std::vector<std::thread> pollers;
    pollers.reserve(static_cast<size_t>(pollerCount));
    for (int i = 0; i < pollerCount; ++i)
        pollers.emplace_back([run, &pool, stop] { pollLoop(run, pool, stop); });
    qCInfo(lcSqs).noquote() << u"%1: reading queue %2 with %3 long polls, up to %4 deliveries "
                               "at once%5"_s.arg(
                                   run->component, run->queueName, QString::number(pollerCount),
                                   QString::number(capacity),
                                   run->fifo ? u" (FIFO: in order per group)"_s : QString());

    {
        std::mutex idleMutex;
        std::condition_variable_any idle;
        std::unique_lock lock(idleMutex);
        idle.wait(lock, stop, [] { return false; }); // until the runtime stops the reader
    }

    {
        std::lock_guard lock(run->mutex);
        run->stopping = true;
    }
    run->slotsCv.notify_all();
    for (std::thread &t : pollers)
        t.join();
    // Deliveries still waiting for the app get a moment; read() returns within 250 ms (a later
    // answer still deletes its message, see queueHandles). Queued ones are given back.
    pool.stop(common::StopMode::Drain, DRAIN_BOUND);
    {
        std::lock_guard lock(run->mutex);
        run->deleterExit = true;
    }
    run->deletesCv.notify_all();
    deleter.join(); // sends what is pending without waiting for the answers
    return {};
}

void AwsSqsInput::close()
{
    // Deletes still on their way: give them a bounded moment before the client goes (a message
    // whose delete is lost comes back after its visibility timeout).
    if (m_run) {
        std::unique_lock lock(m_run->mutex);
        if (!m_run->deletesCv.wait_for(lock, FLUSH_BOUND,
                                       [&] { return m_run->batchesInFlight == 0; }))
            qCWarning(lcSqs).noquote() << u"%1: %2 delete batch(es) still pending at close"_s.arg(
                m_run->component, QString::number(m_run->batchesInFlight));
    }
    m_run.reset();
    m_connection.client.reset();
}

} // namespace bindery::bindings::aws_sqs

BINDERY_BINDING(aws_sqs, bindery::bindings::aws_sqs::AwsSqsInput,
                bindery::bindings::aws_sqs::AwsSqsOutput)
