// SPDX-License-Identifier: Apache-2.0
#include "core/bindings/kafka/kafka_client.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <random>

#include <fcntl.h>
#include <unistd.h>

#include <QDateTime>
#include <QLoggingCategory>
#include <QPointer>
#include <QSocketNotifier>
#include <QThread>

Q_LOGGING_CATEGORY(lcKafka, "bindery.kafka")

namespace bindery::bindings::kafka {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

/** @brief Shared with librdkafka callbacks through the handle's opaque pointer. */
struct ClientState
{
    std::mutex mutex;
    QString lastError;
    rd_kafka_resp_err_t lastCode = RD_KAFKA_RESP_ERR_NO_ERROR;
    bool authFailed = false;
    QString authError;
    KafkaConsumer *consumer = nullptr;
    QString component;
};

namespace {

/// Commit interval: a crash or a lost assignment redelivers at most about this much.
constexpr auto COMMIT_INTERVAL = 250ms;
/// How often dropped records are summed up in the log.
constexpr qint64 DROP_REPORT_MS = 5000;
/// Commit metadata: the partition's delivered high-water mark, for redelivery marking.
constexpr char HIGH_WATER_TAG[] = "bindery:delivered=";

QString errText(rd_kafka_resp_err_t err)
{
    return QString::fromUtf8(rd_kafka_err2str(err));
}

void errorCb(rd_kafka_t *, int err, const char *reason, void *opaque)
{
    auto *st = static_cast<ClientState *>(opaque);
    const auto code = static_cast<rd_kafka_resp_err_t>(err);
    const QString text = QString::fromUtf8(reason);
    {
        std::lock_guard lock(st->mutex);
        st->lastError = text;
        st->lastCode = code;
        if (code == RD_KAFKA_RESP_ERR__AUTHENTICATION
            || code == RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED
            || code == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED
            || code == RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED) {
            st->authFailed = true;
            if (st->authError.isEmpty())
                st->authError = text;
        }
    }
    // "all brokers down" etc. are transient; librdkafka reconnects on its own.
    qCDebug(lcKafka).noquote() << st->component << QStringLiteral("librdkafka:") << text;
}

void logCb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    auto *st = static_cast<ClientState *>(rd_kafka_opaque(rk));
    if (level <= 3)
        qCWarning(lcKafka).noquote()
            << (st ? st->component : QString()) << QString::fromUtf8(fac) << QString::fromUtf8(buf);
    else
        qCDebug(lcKafka).noquote()
            << (st ? st->component : QString()) << QString::fromUtf8(fac) << QString::fromUtf8(buf);
}

/// librdkafka < 2.6.1 repeats the client nonce in SCRAM's final message; Kafka 4.x rejects it
/// as "invalid credentials" (confluentinc/librdkafka#4895).
bool scramBroken()
{
    return rd_kafka_version() < 0x020601ff;
}

QString scramHint(const KafkaSettings &s)
{
    if (!s.saslMechanism.startsWith(QStringLiteral("SCRAM"))
        || s.authType != QStringLiteral("password") || !scramBroken())
        return {};
    return QStringLiteral(" (note: this librdkafka %1 has a SCRAM bug that Kafka 4.x brokers "
                          "reject as invalid "
                          "credentials; it is fixed in librdkafka 2.6.1: run with a newer "
                          "librdkafka.so.1, e.g. "
                          "LD_LIBRARY_PATH=$(scripts/services.d/librdkafka))")
        .arg(QString::fromLatin1(rd_kafka_version_str()));
}

/**
 * Bounded connectivity/auth check at init: a metadata request must succeed. Auth and TLS
 * failures surface through error_cb, served here with rd_kafka_poll.
 */
Result<> checkConnectivity(rd_kafka_t *rk, ClientState &st, const KafkaSettings &s)
{
    qint64 bound = qMin<qint64>(s.dialTimeoutMs, qMax(500, s.initTimeoutMs - 1000));
    bound = qMax<qint64>(bound, 500);
    const auto deadline = Clock::now() + std::chrono::milliseconds(bound);
    rd_kafka_resp_err_t last = RD_KAFKA_RESP_ERR__TIMED_OUT;
    while (Clock::now() < deadline) {
        const rd_kafka_metadata_t *md = nullptr;
        const auto left
            = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now())
                  .count();
        last = rd_kafka_metadata(rk, 0, nullptr, &md,
                                 static_cast<int>(std::clamp<qint64>(left, 1, 250)));
        if (last == RD_KAFKA_RESP_ERR_NO_ERROR) {
            const int brokers = md->broker_cnt;
            rd_kafka_metadata_destroy(md);
            if (brokers > 0)
                return {};
        }
        rd_kafka_poll(rk, 0);
        std::lock_guard lock(st.mutex);
        if (st.authFailed)
            return fail(ErrorCode::InitFailed,
                        QStringLiteral("%1: authentication to brokers '%2' failed: %3%4%5")
                            .arg(s.errorPrefix, s.brokers.join(u','), st.authError, scramHint(s),
                                 s.authHint),
                        s.componentName);
    }
    std::lock_guard lock(st.mutex);
    const QString why = st.lastError.isEmpty() ? errText(last) : st.lastError;
    return fail(ErrorCode::InitFailed,
                QStringLiteral("%1: cannot connect to brokers '%2' within %3 ms: %4")
                    .arg(s.errorPrefix, s.brokers.join(u','))
                    .arg(bound)
                    .arg(why),
                s.componentName);
}

struct ConfEntry
{
    const char *name;
    QString value;
};

/**
 * The part of init both roles share: the common settings plus this role's `entries`, the error
 * and log callbacks (and `extra`, for the role's own), the client, and the bounded connectivity
 * check. On failure nothing is left behind.
 */
Result<rd_kafka_t *> connectClient(rd_kafka_type_t type, const KafkaSettings &settings,
                                   ClientState &state, const QList<ConfEntry> &entries,
                                   const std::function<void(rd_kafka_conf_t *)> &extra)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    Result<> configured = applyCommonConfig(conf, settings);
    for (qsizetype i = 0; configured && i < entries.size(); ++i)
        configured = setConf(conf, entries[i].name, entries[i].value);
    if (!configured) {
        rd_kafka_conf_destroy(conf);
        return tl::unexpected(configured.error());
    }
    rd_kafka_conf_set_opaque(conf, &state);
    rd_kafka_conf_set_error_cb(conf, errorCb);
    rd_kafka_conf_set_log_cb(conf, logCb);
    extra(conf);
    char errstr[512];
    rd_kafka_t *rk = rd_kafka_new(type, conf, errstr, sizeof errstr);
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        return fail(ErrorCode::InitFailed,
                    QStringLiteral("%1: cannot create client: %2")
                        .arg(settings.errorPrefix, QString::fromUtf8(errstr)));
    }
    if (Result<> r = checkConnectivity(rk, state, settings); !r) {
        // A consumer that never joined has no group to leave: skip the (blocking) close.
        rd_kafka_destroy_flags(rk, type == RD_KAFKA_CONSUMER ? RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE
                                                             : 0);
        return tl::unexpected(r.error());
    }
    return rk;
}

struct DeliveryContext
{
    core::InvokeDone done;
    QString topic;
    QString prefix;
};

void deliveryReport(rd_kafka_t *, const rd_kafka_message_t *msg, void *)
{
    auto *ctx = static_cast<DeliveryContext *>(msg->_private);
    if (!ctx)
        return;
    core::InvokeResult r;
    if (msg->err) {
        r.result
            = fail(ErrorCode::InvokeFailed, QStringLiteral("%1: record not written to topic %2: %3")
                                                .arg(ctx->prefix, ctx->topic, errText(msg->err)));
    } else {
        r.result = core::InvokeResponse{}; // nil response: 204
    }
    try {
        ctx->done(std::move(r));
    } catch (...) {
        qCWarning(lcKafka) << "InvokeDone threw; ignored";
    }
    delete ctx;
}

void rebalanceCb(rd_kafka_t *, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *partitions,
                 void *opaque)
{
    auto *st = static_cast<ClientState *>(opaque);
    if (st->consumer)
        st->consumer->onRebalance(err, partitions);
}

void commitCb(rd_kafka_t *, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *offsets,
              void *opaque)
{
    auto *st = static_cast<ClientState *>(opaque);
    if (st->consumer)
        st->consumer->onCommitted(err, offsets);
}

/// The delivered high-water mark carried in a commit's metadata, or -1.
qint64 highWaterFrom(const rd_kafka_topic_partition_t &tp)
{
    if (!tp.metadata || tp.metadata_size == 0)
        return -1;
    const QByteArray md(static_cast<const char *>(tp.metadata),
                        static_cast<qsizetype>(tp.metadata_size));
    if (!md.startsWith(HIGH_WATER_TAG))
        return -1;
    bool ok = false;
    const qint64 v = md.mid(static_cast<qsizetype>(sizeof HIGH_WATER_TAG - 1)).toLongLong(&ok);
    return ok ? v : -1;
}

void setHighWater(rd_kafka_topic_partition_t *tp, qint64 delivered)
{
    const QByteArray md = QByteArray(HIGH_WATER_TAG) + QByteArray::number(delivered);
    void *copy = std::malloc(static_cast<size_t>(md.size())); // freed by the list
    if (!copy)
        return;
    std::memcpy(copy, md.constData(), static_cast<size_t>(md.size()));
    tp->metadata = copy;
    tp->metadata_size = static_cast<size_t>(md.size());
}

qint64 nowMs()
{
    return QDateTime::currentMSecsSinceEpoch();
}

} // namespace

QByteArray newTraceparent()
{
    thread_local std::mt19937_64 rng{std::random_device{}()};
    auto hex = [](quint64 v) { return QByteArray::number(v, 16).rightJustified(16, '0'); };
    quint64 hi = 0, lo = 0, span = 0;
    while ((hi | lo) == 0)
        hi = rng(), lo = rng();
    while (span == 0)
        span = rng();
    return "00-" + hex(hi) + hex(lo) + '-' + hex(span) + "-01";
}

bool isTraceparent(const QString &value)
{
    static const QRegularExpression re(
        QStringLiteral("^[0-9a-f]{2}-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}$"));
    return re.match(value.trimmed()).hasMatch();
}

// ---------------------------------------------------------------------------------- producer ---

/** @brief Delivery reports served on the invoking thread's event loop (see the class comment). */
struct KafkaProducer::HomePoll
{
    std::mutex mutex;         ///< held while polling; close() takes it before the handle goes away
    rd_kafka_t *rk = nullptr; ///< null once closed
    std::atomic<bool> attached{false}; ///< produce() tried to serve reports on its thread
    int pipe[2] = {-1, -1};
    QPointer<QSocketNotifier> notifier;
    ~HomePoll()
    {
        for (int fd : pipe) {
            if (fd >= 0)
                ::close(fd);
        }
    }
    void serve()
    {
        char drain[64];
        while (pipe[0] >= 0 && ::read(pipe[0], drain, sizeof drain) > 0) {
        }
        std::lock_guard lock(mutex);
        if (!rk)
            return;
        // librdkafka writes to the pipe only when the queue goes from empty to non-empty: drain it.
        while (rd_kafka_poll(rk, 0) > 0) {
        }
    }
};

void KafkaProducer::serveReportsOnThisThread()
{
    if (::pipe2(m_home->pipe, O_NONBLOCK | O_CLOEXEC) != 0) {
        qCDebug(lcKafka) << "pipe2 failed; delivery reports stay on the poll thread";
        return;
    }
    std::shared_ptr<HomePoll> home = m_home;
    home->notifier = new QSocketNotifier(home->pipe[0], QSocketNotifier::Read);
    QObject::connect(home->notifier, &QSocketNotifier::activated, home->notifier,
                     [home]() { home->serve(); });
    rd_kafka_queue_t *mainQueue = rd_kafka_queue_get_main(m_rk);
    rd_kafka_queue_io_event_enable(mainQueue, home->pipe[1], "1", 1);
    rd_kafka_queue_destroy(mainQueue);
    m_pollerPaused = true; // the poll thread only stands by (it may serve one more)
    home->serve();         // anything queued before the pipe was attached
}

KafkaProducer::KafkaProducer()
    : m_state(std::make_unique<ClientState>())
{
}

KafkaProducer::~KafkaProducer()
{
    close();
}

Result<> KafkaProducer::open(const KafkaSettings &settings)
{
    close(); // open() after close() starts afresh (the runtime may init an instance again)
    m_closed = false;
    m_pollerPaused = false;
    m_settings = settings;
    m_topic = settings.publishTopic.toUtf8();
    m_state->component = settings.componentName;
    QList<ConfEntry> entries{
        {"acks", m_settings.acks},
        {"compression.codec", m_settings.compression},
        {"message.timeout.ms", QString::number(m_settings.deliveryTimeoutMs)},
        {"message.send.max.retries", QString::number(m_settings.producerRetryMax)},
        {"retry.backoff.ms", QStringLiteral("100")},
        {"request.timeout.ms",
         QString::number(std::clamp<qint64>(m_settings.deliveryTimeoutMs, 1000, 30000))},
    };
    if (m_settings.lingerSet) {
        entries.append({"linger.ms", QString::number(m_settings.lingerMs)});
    } else {
        // Adaptive (issue 16.2): send at once; while a request is in flight the next records
        // queue up and leave together when it is answered. One in flight keeps key order.
        entries.append({"linger.ms", QStringLiteral("0")});
        entries.append({"max.in.flight.requests.per.connection", QStringLiteral("1")});
    }
    Result<rd_kafka_t *> rk = connectClient(
        RD_KAFKA_PRODUCER, m_settings, *m_state, entries,
        [](rd_kafka_conf_t *conf) { rd_kafka_conf_set_dr_msg_cb(conf, deliveryReport); });
    if (!rk)
        return tl::unexpected(rk.error());
    m_rk = *rk;
    m_home = std::make_shared<HomePoll>();
    m_home->rk = m_rk;
    // Until produce() attaches reports to its thread, this thread serves them. After that it
    // stands by: should the home thread stop serving (blocked waiting for a completion), reports
    // that sit in the queue for two 20 ms looks are served here, so a completion is never stuck.
    m_poller = std::make_unique<std::jthread>(
        [home = m_home, handle = m_rk, paused = &m_pollerPaused](std::stop_token stop) {
            rd_kafka_queue_t *reports = rd_kafka_queue_get_main(handle);
            int waiting = 0;
            while (!stop.stop_requested()) {
                if (!paused->load()) {
                    rd_kafka_poll(handle, 100);
                    continue;
                }
                std::this_thread::sleep_for(20ms);
                waiting = rd_kafka_queue_length(reports) > 0 ? waiting + 1 : 0;
                if (waiting >= 2) {
                    std::unique_lock lock(home->mutex, std::try_to_lock);
                    if (lock && home->rk) {
                        while (rd_kafka_poll(handle, 0) > 0) {
                        }
                    }
                    waiting = 0;
                }
            }
            rd_kafka_queue_destroy(reports);
        });
    return {};
}

void KafkaProducer::produce(ProduceRecord record, core::InvokeDone done)
{
    if (m_closed || !m_rk) {
        core::InvokeResult r;
        r.result = fail(ErrorCode::InvokeFailed,
                        QStringLiteral("%1: the binding is closed").arg(m_settings.errorPrefix));
        done(std::move(r));
        return;
    }
    if (!m_home->attached.load(std::memory_order_relaxed)
        && QThread::currentThread()->eventDispatcher() && !m_home->attached.exchange(true))
        serveReportsOnThisThread();
    rd_kafka_headers_t *headers = nullptr;
    if (!record.headers.isEmpty()) {
        headers = rd_kafka_headers_new(static_cast<size_t>(record.headers.size()));
        for (const auto &[k, v] : std::as_const(record.headers))
            rd_kafka_header_add(headers, k.constData(), k.size(), v.constData(), v.size());
    }
    auto *ctx
        = new DeliveryContext{std::move(done), m_settings.publishTopic, m_settings.errorPrefix};
    const bool hasValue = !record.tombstone;
    const rd_kafka_resp_err_t err = rd_kafka_producev(
        m_rk, RD_KAFKA_V_TOPIC(m_topic.constData()),
        RD_KAFKA_V_PARTITION(record.partition >= 0 ? record.partition : RD_KAFKA_PARTITION_UA),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_VALUE(hasValue ? const_cast<char *>(record.value.constData()) : nullptr,
                         hasValue ? static_cast<size_t>(record.value.size()) : 0),
        RD_KAFKA_V_KEY(record.hasKey ? record.key.constData() : nullptr,
                       record.hasKey ? static_cast<size_t>(record.key.size()) : 0),
        RD_KAFKA_V_HEADERS(headers), RD_KAFKA_V_OPAQUE(ctx), RD_KAFKA_V_END);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        if (headers)
            rd_kafka_headers_destroy(headers);
        core::InvokeResult r;
        r.result = fail(ErrorCode::InvokeFailed,
                        QStringLiteral("%1: cannot produce to topic %2: %3")
                            .arg(m_settings.errorPrefix, m_settings.publishTopic, errText(err)));
        ctx->done(std::move(r));
        delete ctx;
    }
}

void KafkaProducer::close()
{
    if (m_closed.exchange(true))
        return;
    if (m_poller) {
        m_poller->request_stop();
        m_poller->join();
        m_poller.reset();
    }
    if (m_home) {
        std::lock_guard lock(m_home->mutex);
        if (m_rk) {
            rd_kafka_queue_t *mainQueue = rd_kafka_queue_get_main(m_rk);
            rd_kafka_queue_io_event_enable(mainQueue, -1, nullptr, 0);
            rd_kafka_queue_destroy(mainQueue);
        }
        m_home->rk = nullptr; // a notifier that still fires finds nothing to poll
        if (QSocketNotifier *n = m_home->notifier) {
            if (n->thread() == QThread::currentThread())
                delete n;
            else
                QMetaObject::invokeMethod(n, &QObject::deleteLater);
        }
    }
    if (!m_rk)
        return;
    // Give in-flight records a short chance, then fail the rest: every InvokeDone fires once.
    rd_kafka_flush(m_rk, 2000);
    rd_kafka_purge(m_rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    const auto deadline = Clock::now() + 2s;
    while (rd_kafka_outq_len(m_rk) > 0 && Clock::now() < deadline)
        rd_kafka_poll(m_rk, 50);
    rd_kafka_poll(m_rk, 0);
    rd_kafka_destroy(m_rk);
    m_rk = nullptr;
}

// ---------------------------------------------------------------------------------- consumer ---

/** @brief Delivers one assigned partition, in order, on its own thread. */
class PartitionWorker
{
public:
    struct Start
    {
        qint64 acked = -1;          ///< next offset to commit when this worker starts
        qint64 redeliverBelow = -1; ///< records below this offset were delivered before
    };

    PartitionWorker(rd_kafka_t *rk, std::string topic, int partition, rd_kafka_queue_t *queue,
                    core::EventHandler handler, RecordMapper mapper, const KafkaSettings &settings,
                    std::shared_ptr<std::atomic<qint64>> dropped, Start start)
        : m_rk(rk)
        , m_topic(std::move(topic))
        , m_partition(partition)
        , m_queue(queue)
        , m_handler(std::move(handler))
        , m_mapper(std::move(mapper))
        , m_retry(settings.consumeRetryEnabled)
        , m_retryIntervalMs(settings.consumeRetryIntervalMs)
        , m_topicName(QString::fromStdString(m_topic))
        , m_dropped(std::move(dropped))
        , m_redeliverBelow(start.redeliverBelow)
        , m_acked(start.acked)
        , m_delivered(start.acked)
    {
    }

    ~PartitionWorker()
    {
        for (rd_kafka_message_t *m : m_strays)
            rd_kafka_message_destroy(m);
        if (m_queue)
            rd_kafka_queue_destroy(m_queue);
    }

    static void start(const std::shared_ptr<PartitionWorker> &self)
    {
        self->m_thread = std::thread([self]() { self->run(); });
    }

    void requestStop()
    {
        m_stop = true;
        m_cv.notify_all();
    }

    /// Waits until the worker's loop ended, up to `until`. True when it did.
    bool waitFinished(Clock::time_point until)
    {
        std::unique_lock lock(m_mutex);
        if (!m_cv.wait_until(lock, until, [this] { return m_finished; }))
            return false;
        lock.unlock();
        if (m_thread.joinable())
            m_thread.join();
        return true;
    }

    void join()
    {
        if (m_thread.joinable())
            m_thread.join();
    }

    void addStray(rd_kafka_message_t *m)
    {
        std::lock_guard lock(m_mutex);
        m_strays.push_back(m);
    }

    qint64 acked() const { return m_acked.load(); }
    qint64 delivered() const { return m_delivered.load(); }

private:
    void run()
    {
        while (!m_stop) {
            rd_kafka_message_t *msg = nullptr;
            {
                std::lock_guard lock(m_mutex);
                if (!m_strays.empty()) {
                    msg = m_strays.front();
                    m_strays.pop_front();
                }
            }
            if (!msg)
                msg = rd_kafka_consume_queue(m_queue, 100);
            if (!msg)
                continue;
            if (msg->err) {
                if (msg->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                    qCWarning(lcKafka).noquote()
                        << QStringLiteral("consumer error on %1/%2: %3")
                               .arg(m_topicName)
                               .arg(m_partition)
                               .arg(QString::fromUtf8(rd_kafka_message_errstr(msg)));
            } else {
                deliver(msg);
            }
            rd_kafka_message_destroy(msg);
        }
        std::lock_guard lock(m_mutex);
        m_finished = true;
        m_cv.notify_all();
    }

    void deliver(const rd_kafka_message_t *msg)
    {
        ConsumedRecord rec;
        rec.topic = m_topicName;
        rec.partition = msg->partition;
        rec.offset = msg->offset;
        rd_kafka_timestamp_type_t tsType;
        rec.timestampMs = rd_kafka_message_timestamp(msg, &tsType);
        rec.logAppendTime = tsType == RD_KAFKA_TIMESTAMP_LOG_APPEND_TIME;
        rec.key = static_cast<const char *>(msg->key);
        rec.keyLen = msg->key_len;
        rec.value = static_cast<const char *>(msg->payload);
        rec.valueLen = msg->len;
        rd_kafka_headers_t *hdrs = nullptr;
        if (rd_kafka_message_headers(msg, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR && hdrs) {
            const char *name = nullptr;
            const void *value = nullptr;
            size_t size = 0;
            for (size_t i = 0; rd_kafka_header_get_all(hdrs, i, &name, &value, &size)
                               == RD_KAFKA_RESP_ERR_NO_ERROR;
                 ++i)
                rec.headers.append({QByteArray(name), QByteArray(static_cast<const char *>(value),
                                                                 value ? qsizetype(size) : 0)});
        }
        core::BindingEvent ev;
        m_mapper(rec, ev);
        ev.eventKey = m_topicName + u'/' + QString::number(msg->partition) + u'@'
                      + QString::number(msg->offset);
        ev.redelivered = msg->offset < m_redeliverBelow;
        ev.onFailure = m_retry ? core::FailurePolicy::Retry
                               : core::FailurePolicy::DropAnsweredRetryUnanswered;
        if (m_delivered.load() < msg->offset + 1)
            m_delivered = msg->offset + 1;
        qint64 backoff = m_retryIntervalMs;
        for (;;) {
            const core::AppReply reply = m_handler(ev);
            if (reply.ok()) {
                m_acked = msg->offset + 1;
                return;
            }
            // No answer at all (refused, reset, timeout): the app never saw it or never finished
            // it, so it is never dropped (issue 14.7). A non-2xx answer follows daprd's rule.
            const bool unanswered = reply.status == 0;
            if (!unanswered && !m_retry) {
                m_dropped->fetch_add(1);
                return; // a later acknowledgement commits past it, as daprd
            }
            if (m_stop)
                return; // not acknowledged: delivered again after restart or rebalance
            std::unique_lock lock(m_mutex);
            m_cv.wait_for(lock, std::chrono::milliseconds(backoff),
                          [this] { return m_stop.load(); });
            if (m_stop)
                return;
            backoff = qMin<qint64>(backoff * 2, unanswered && !m_retry ? 1000 : 5000);
            ++ev.attempt;
            ev.redelivered = true;
        }
    }

    rd_kafka_t *m_rk;
    std::string m_topic;
    int m_partition;
    rd_kafka_queue_t *m_queue;
    core::EventHandler m_handler;
    RecordMapper m_mapper;
    bool m_retry;
    qint64 m_retryIntervalMs;
    QString m_topicName;
    std::shared_ptr<std::atomic<qint64>> m_dropped;
    qint64 m_redeliverBelow;
    std::atomic<qint64> m_acked;
    std::atomic<qint64> m_delivered;
    std::thread m_thread;
    std::atomic<bool> m_stop{false};
    std::mutex m_mutex;
    std::condition_variable m_cv;
    bool m_finished = false;
    std::deque<rd_kafka_message_t *> m_strays;
};

KafkaConsumer::KafkaConsumer()
    : m_state(std::make_unique<ClientState>())
    , m_dropped(std::make_shared<std::atomic<qint64>>(0))
{
    m_state->consumer = this;
}

KafkaConsumer::~KafkaConsumer()
{
    close();
}

Result<> KafkaConsumer::open(const KafkaSettings &settings, RecordMapper mapper)
{
    close(); // open() after close() starts afresh
    m_closed = false;
    m_consumerClosed = false;
    m_memory.clear();
    m_committed.clear();
    m_settings = settings;
    m_mapper = std::move(mapper);
    m_state->component = settings.componentName;
    m_startedMs = nowMs();
    Result<rd_kafka_t *> rk = connectClient(
        RD_KAFKA_CONSUMER, m_settings, *m_state,
        {
            {"group.id", m_settings.consumerGroup},
            // Committed by read() (every 250 ms, on revoke, at close) with the delivered
            // high-water mark as metadata (issue 14.8).
            {"enable.auto.commit", QStringLiteral("false")},
            {"enable.auto.offset.store", QStringLiteral("false")},
            {"auto.offset.reset",
             m_settings.oldest ? QStringLiteral("earliest") : QStringLiteral("latest")},
            {"heartbeat.interval.ms", QString::number(m_settings.heartbeatIntervalMs)},
            {"session.timeout.ms", QString::number(m_settings.sessionTimeoutMs)},
            {"partition.assignment.strategy", m_settings.assignmentStrategy},
            {"fetch.wait.max.ms", QStringLiteral("100")},
            // The seed's topic1 does not exist when the binding starts: the consumer's metadata
            // request creates it (where the broker allows), as daprd's does, so a record produced
            // right after start is read (issue 9.3).
            {"allow.auto.create.topics", QStringLiteral("true")},
            // A subscribed topic that appears later is picked up within seconds, not 5 minutes.
            {"topic.metadata.refresh.interval.ms", QStringLiteral("5000")},
            {"fetch.error.backoff.ms", QStringLiteral("100")},
            {"enable.partition.eof", QStringLiteral("false")},
        },
        [](rd_kafka_conf_t *conf) {
            rd_kafka_conf_set_rebalance_cb(conf, rebalanceCb);
            rd_kafka_conf_set_offset_commit_cb(conf, commitCb);
        });
    if (!rk)
        return tl::unexpected(rk.error());
    m_rk = *rk;
    rd_kafka_poll_set_consumer(m_rk);
    return {};
}

Result<> KafkaConsumer::read(const core::EventHandler &handler, std::stop_token stop)
{
    if (!m_rk) {
        while (!stop.stop_requested())
            std::this_thread::sleep_for(100ms);
        return {};
    }
    m_handler = handler;
    rd_kafka_topic_partition_list_t *topics
        = rd_kafka_topic_partition_list_new(static_cast<int>(m_settings.topics.size()));
    for (const QString &t : std::as_const(m_settings.topics))
        rd_kafka_topic_partition_list_add(topics, t.toUtf8().constData(), RD_KAFKA_PARTITION_UA);
    const rd_kafka_resp_err_t err = rd_kafka_subscribe(m_rk, topics);
    rd_kafka_topic_partition_list_destroy(topics);
    if (err)
        return fail(ErrorCode::Io,
                    QStringLiteral("%1: cannot subscribe to %2: %3")
                        .arg(m_settings.errorPrefix, m_settings.topics.join(u','), errText(err)));
    qint64 strays = 0;
    auto nextCommit = Clock::now() + COMMIT_INTERVAL;
    while (!stop.stop_requested()) {
        if (Clock::now() >= nextCommit) {
            commitAcked(false);
            reportDrops(false);
            nextCommit = Clock::now() + COMMIT_INTERVAL;
        }
        rd_kafka_message_t *msg = rd_kafka_consumer_poll(m_rk, 100);
        if (!msg)
            continue;
        if (msg->err) {
            if (msg->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                qCDebug(lcKafka).noquote()
                    << m_state->component << QString::fromUtf8(rd_kafka_message_errstr(msg));
            rd_kafka_message_destroy(msg);
            continue;
        }
        // Records normally go to the per-partition queues; one that slipped through before the
        // queue was split off goes to its worker so that ordering holds.
        const Key key{rd_kafka_topic_name(msg->rkt), msg->partition};
        if (auto it = m_workers.find(key); it != m_workers.end()) {
            ++strays;
            it->second->addStray(msg);
        } else {
            rd_kafka_message_destroy(msg);
        }
    }
    if (strays)
        qCDebug(lcKafka) << "records received on the main queue:" << strays;
    stopWorkers(nullptr, true);
    closeConsumer();
    reportDrops(true);
    return {};
}

void KafkaConsumer::reportDrops(bool force)
{
    const qint64 total = m_dropped->load();
    const qint64 now = nowMs();
    if (total == m_droppedReported || (!force && now - m_lastDropReportMs < DROP_REPORT_MS))
        return;
    qCWarning(lcKafka).noquote()
        << QStringLiteral("%1: %2 record(s) the app answered with an error were dropped "
                          "(consumeRetryEnabled is off, as in daprd); %3 dropped in total")
               .arg(m_state->component)
               .arg(total - m_droppedReported)
               .arg(total);
    m_droppedReported = total;
    m_lastDropReportMs = now;
}

void KafkaConsumer::commitAcked(bool sync)
{
    if (!m_rk)
        return;
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(4);
    std::vector<std::pair<Key, qint64>> sent;
    auto add = [&](const Key &key, qint64 acked, qint64 delivered) {
        if (acked < 0)
            return;
        if (auto it = m_committed.find(key); it != m_committed.end() && it->second >= acked)
            return;
        rd_kafka_topic_partition_t *tp
            = rd_kafka_topic_partition_list_add(list, key.first.c_str(), key.second);
        tp->offset = acked;
        setHighWater(tp, qMax(acked, delivered));
        sent.emplace_back(key, acked);
    };
    for (const auto &[key, w] : m_workers)
        add(key, w->acked(), w->delivered());
    if (list->cnt == 0) {
        rd_kafka_topic_partition_list_destroy(list);
        return;
    }
    if (!sync) {
        // The result arrives in onCommitted (reader thread); a failure makes the next tick retry.
        for (const auto &[key, offset] : sent)
            m_committed[key] = offset;
        if (rd_kafka_commit(m_rk, list, 1) != RD_KAFKA_RESP_ERR_NO_ERROR) {
            for (const auto &s : sent)
                m_committed.erase(s.first);
        }
        rd_kafka_topic_partition_list_destroy(list);
        return;
    }
    // On revoke and at close: wait for the answer, bounded.
    rd_kafka_queue_t *q = rd_kafka_queue_new(m_rk);
    rd_kafka_resp_err_t err = rd_kafka_commit_queue(m_rk, list, q, nullptr, nullptr);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        err = RD_KAFKA_RESP_ERR__TIMED_OUT;
        if (rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 3000)) {
            err = rd_kafka_event_error(ev);
            rd_kafka_event_destroy(ev);
        }
    }
    rd_kafka_queue_destroy(q);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        for (const auto &[key, offset] : sent)
            m_committed[key] = offset;
    } else {
        qCWarning(lcKafka).noquote() << QStringLiteral("%1: committing offsets failed: %2")
                                            .arg(m_state->component, errText(err));
    }
    rd_kafka_topic_partition_list_destroy(list);
}

void KafkaConsumer::onCommitted(int errCode, rd_kafka_topic_partition_list_t *offsets)
{
    const auto err = static_cast<rd_kafka_resp_err_t>(errCode);
    if (err == RD_KAFKA_RESP_ERR__NO_OFFSET)
        return;
    for (int i = 0; offsets && i < offsets->cnt; ++i) {
        const rd_kafka_topic_partition_t &tp = offsets->elems[i];
        if (err || tp.err) {
            // Sent again at the next tick.
            m_committed.erase({tp.topic, tp.partition});
            qCDebug(lcKafka).noquote() << m_state->component << "commit failed for" << tp.topic
                                       << tp.partition << errText(err ? err : tp.err);
        }
    }
}

void KafkaConsumer::closeConsumer()
{
    if (m_consumerClosed || !m_rk)
        return;
    m_consumerClosed = true;
    // Leave the group, bounded: a plain rd_kafka_consumer_close() can block for long when the
    // broker is unreachable, and stop must stay prompt.
    rd_kafka_queue_t *q = rd_kafka_queue_new(m_rk);
    if (rd_kafka_error_t *e = rd_kafka_consumer_close_queue(m_rk, q))
        rd_kafka_error_destroy(e);
    const auto deadline = Clock::now() + 5s;
    while (!rd_kafka_consumer_closed(m_rk) && Clock::now() < deadline) {
        rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 100);
        if (!ev)
            continue;
        if (rd_kafka_event_type(ev) == RD_KAFKA_EVENT_REBALANCE)
            onRebalance(rd_kafka_event_error(ev), rd_kafka_event_topic_partition_list(ev));
        rd_kafka_event_destroy(ev);
    }
    if (!rd_kafka_consumer_closed(m_rk))
        qCWarning(lcKafka).noquote()
            << m_state->component
            << QStringLiteral("consumer did not close within 5 s (broker unreachable?)");
    rd_kafka_queue_destroy(q);
}

void KafkaConsumer::onRebalance(int errCode, rd_kafka_topic_partition_list_t *partitions)
{
    const auto err = static_cast<rd_kafka_resp_err_t>(errCode);
    const bool cooperative = std::strcmp(rd_kafka_rebalance_protocol(m_rk), "COOPERATIVE") == 0;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        startWorkers(partitions);
        if (cooperative) {
            if (rd_kafka_error_t *e = rd_kafka_incremental_assign(m_rk, partitions))
                rd_kafka_error_destroy(e);
        } else {
            rd_kafka_assign(m_rk, partitions);
        }
    } else {
        // Commit what the app acknowledged before the partitions go, unless they are already
        // lost (a session timeout: the group moved on and would refuse the commit).
        stopWorkers(partitions, !rd_kafka_assignment_lost(m_rk));
        if (cooperative) {
            if (rd_kafka_error_t *e = rd_kafka_incremental_unassign(m_rk, partitions))
                rd_kafka_error_destroy(e);
        } else {
            rd_kafka_assign(m_rk, nullptr);
        }
    }
}

void KafkaConsumer::startWorkers(rd_kafka_topic_partition_list_t *partitions)
{
    // The group's commits and their delivered high-water marks, bounded: a record below the mark
    // was delivered before (by a process that crashed or lost its assignment).
    rd_kafka_topic_partition_list_t *committed = rd_kafka_topic_partition_list_copy(partitions);
    for (int i = 0; i < committed->cnt; ++i)
        committed->elems[i].offset = RD_KAFKA_OFFSET_INVALID;
    const bool haveCommitted
        = rd_kafka_committed(m_rk, committed, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR;
    std::map<Key, PartitionWorker::Start> starts;
    rd_kafka_topic_partition_list_t *fresh = rd_kafka_topic_partition_list_new(partitions->cnt);
    for (int i = 0; i < partitions->cnt; ++i) {
        rd_kafka_topic_partition_t &tp = partitions->elems[i];
        const Key key{tp.topic, tp.partition};
        if (m_workers.count(key))
            continue;
        qint64 groupOffset = -1;
        qint64 highWater = -1;
        if (haveCommitted) {
            const rd_kafka_topic_partition_t *c
                = rd_kafka_topic_partition_list_find(committed, tp.topic, tp.partition);
            if (c && !c->err && c->offset >= 0) {
                groupOffset = c->offset;
                highWater = highWaterFrom(*c);
            }
        }
        const Memory mem = m_memory.count(key) ? m_memory[key] : Memory{};
        PartitionWorker::Start &start = starts[key];
        start.acked = qMax(groupOffset, mem.acked);
        start.redeliverBelow = qMax(highWater, mem.delivered);
        if (groupOffset >= 0)
            m_committed[key] = groupOffset;
        else
            m_committed.erase(key);
        // This process acknowledged more than the group committed (a lost assignment): start
        // there, and the next commit tick records it.
        if (start.acked >= 0)
            tp.offset = start.acked;
        else
            rd_kafka_topic_partition_list_add(fresh, tp.topic, tp.partition)->offset
                = m_settings.oldest ? RD_KAFKA_OFFSET_BEGINNING : m_startedMs;
    }
    rd_kafka_topic_partition_list_destroy(committed);
    // A partition the group never committed starts at the beginning (initialOffset oldest) or,
    // with newest, at the first record written after this binding started, not at the end of the
    // log when the assignment arrives: the seed's first record, produced while the group is still
    // forming, is delivered (9.3). That start is committed at once, so a restart before the first
    // acknowledgement goes on from there instead of from a later "now".
    if (fresh->cnt > 0) {
        if (!m_settings.oldest && rd_kafka_offsets_for_times(m_rk, fresh, 5000))
            qCDebug(lcKafka) << "offsets_for_times failed; new partitions start at the end";
        for (int i = 0; i < fresh->cnt; ++i) {
            const rd_kafka_topic_partition_t &f = fresh->elems[i];
            qint64 offset = !m_settings.oldest && !f.err ? f.offset : -1;
            int64_t low = 0, high = 0;
            if (offset < 0
                && rd_kafka_query_watermark_offsets(m_rk, f.topic, f.partition, &low, &high, 5000)
                       == RD_KAFKA_RESP_ERR_NO_ERROR)
                offset = m_settings.oldest ? low : high;
            if (offset < 0)
                continue; // left to auto.offset.reset
            rd_kafka_topic_partition_list_find(partitions, f.topic, f.partition)->offset = offset;
            starts[{f.topic, f.partition}].acked = offset;
        }
    }
    rd_kafka_topic_partition_list_destroy(fresh);
    for (const auto &[key, start] : starts) {
        rd_kafka_queue_t *q = rd_kafka_queue_get_partition(m_rk, key.first.c_str(), key.second);
        if (!q)
            continue;
        rd_kafka_queue_forward(q, nullptr); // this partition is consumed by its own worker
        auto w = std::make_shared<PartitionWorker>(m_rk, key.first, key.second, q, m_handler,
                                                   m_mapper, m_settings, m_dropped, start);
        PartitionWorker::start(w);
        m_workers.emplace(key, std::move(w));
    }
}

void KafkaConsumer::stopWorkers(rd_kafka_topic_partition_list_t *partitions, bool commit)
{
    std::vector<std::pair<Key, std::shared_ptr<PartitionWorker>>> stopping;
    for (auto &[key, w] : m_workers) {
        bool match = partitions == nullptr;
        for (int i = 0; !match && i < partitions->cnt; ++i)
            match = key.first == partitions->elems[i].topic
                    && key.second == partitions->elems[i].partition;
        if (match) {
            w->requestStop();
            stopping.emplace_back(key, w);
        }
    }
    // Wait for in-flight deliveries of these partitions, up to a bound; a delivery still
    // running after that is left to finish (its acknowledgement is then not committed).
    const auto until = Clock::now() + 5s;
    for (auto &[key, w] : stopping) {
        if (!w->waitFinished(until))
            m_lingering.push_back(w);
    }
    if (commit)
        commitAcked(true);
    for (auto &[key, w] : stopping) {
        Memory &mem = m_memory[key];
        mem.acked = qMax(mem.acked, w->acked());
        mem.delivered = qMax(mem.delivered, w->delivered());
        m_workers.erase(key);
    }
}

void KafkaConsumer::close()
{
    if (m_closed)
        return;
    m_closed = true;
    if (!m_rk)
        return;
    for (auto &w : m_workers)
        w.second->requestStop();
    for (auto &w : m_workers)
        w.second->join();
    m_workers.clear();
    for (auto &w : m_lingering)
        w->join(); // must not outlive the handle
    m_lingering.clear();
    closeConsumer();
    rd_kafka_destroy_flags(m_rk, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE); // closed above, bounded
    m_rk = nullptr;
}

} // namespace bindery::bindings::kafka
