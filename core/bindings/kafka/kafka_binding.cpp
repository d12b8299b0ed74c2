// SPDX-License-Identifier: Apache-2.0
#include "core/bindings/kafka/kafka_binding.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <functional>

#include <fcntl.h>
#include <unistd.h>

#include <QLoggingCategory>
#include <QPointer>
#include <QSocketNotifier>
#include <QThread>

#include "core/binding_registry.h"

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
    KafkaInput *input = nullptr;
    QString component;
};

namespace {

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
                        QStringLiteral("kafka: authentication to brokers '%1' failed: %2%3")
                            .arg(s.brokers.join(u','), st.authError, scramHint(s)),
                        s.componentName);
    }
    std::lock_guard lock(st.mutex);
    const QString why = st.lastError.isEmpty() ? errText(last) : st.lastError;
    return fail(ErrorCode::InitFailed,
                QStringLiteral("kafka: cannot connect to brokers '%1' within %2 ms: %3")
                    .arg(s.brokers.join(u','))
                    .arg(bound)
                    .arg(why),
                s.componentName);
}

Result<rd_kafka_t *> newClient(rd_kafka_type_t type, rd_kafka_conf_t *conf)
{
    char errstr[512];
    rd_kafka_t *rk = rd_kafka_new(type, conf, errstr, sizeof errstr);
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        return fail(
            ErrorCode::InitFailed,
            QStringLiteral("kafka: cannot create client: %1").arg(QString::fromUtf8(errstr)));
    }
    return rk; // conf is owned by rk now
}

struct ConfEntry
{
    const char *name;
    QString value;
};

/**
 * The part of init both directions share: the common settings plus this role's `entries`, the
 * error and log callbacks (and `extra`, for the role's own), the client, and the bounded
 * connectivity check. On failure nothing is left behind.
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
    Result<rd_kafka_t *> rk = newClient(type, conf);
    if (!rk)
        return rk;
    if (Result<> r = checkConnectivity(*rk, state, settings); !r) {
        // A consumer that never joined has no group to leave: skip the (blocking) close.
        rd_kafka_destroy_flags(*rk, type == RD_KAFKA_CONSUMER ? RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE
                                                              : 0);
        return tl::unexpected(r.error());
    }
    return rk;
}

struct DeliveryContext
{
    core::InvokeDone done;
    QString topic;
};

void deliveryReport(rd_kafka_t *, const rd_kafka_message_t *msg, void *)
{
    auto *ctx = static_cast<DeliveryContext *>(msg->_private);
    if (!ctx)
        return;
    core::InvokeResult r;
    if (msg->err) {
        r.result = fail(ErrorCode::InvokeFailed,
                        QStringLiteral("kafka: record not written to topic %1: %2")
                            .arg(ctx->topic, errText(msg->err)));
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
    if (st->input)
        st->input->onRebalance(err, partitions);
}

} // namespace

// ------------------------------------------------------------------------------------ output ---

/** @brief Delivery reports served on the invoking thread's event loop (see the class comment). */
struct KafkaOutput::HomePoll
{
    std::mutex mutex;         ///< held while polling; close() takes it before the handle goes away
    rd_kafka_t *rk = nullptr; ///< null once closed
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
        while (::read(pipe[0], drain, sizeof drain) > 0) {
        }
        std::lock_guard lock(mutex);
        if (!rk)
            return;
        // librdkafka writes to the pipe only when the queue goes from empty to non-empty: drain it.
        while (rd_kafka_poll(rk, 0) > 0) {
        }
    }
};

void KafkaOutput::serveReportsOnThisThread()
{
    auto home = std::make_shared<HomePoll>();
    if (::pipe2(home->pipe, O_NONBLOCK | O_CLOEXEC) != 0) {
        qCDebug(lcKafka) << "pipe2 failed; delivery reports stay on the poll thread";
        return;
    }
    home->rk = m_rk;
    home->notifier = new QSocketNotifier(home->pipe[0], QSocketNotifier::Read);
    QObject::connect(home->notifier, &QSocketNotifier::activated, home->notifier,
                     [home]() { home->serve(); });
    rd_kafka_queue_t *mainQueue = rd_kafka_queue_get_main(m_rk);
    rd_kafka_queue_io_event_enable(mainQueue, home->pipe[1], "1", 1);
    rd_kafka_queue_destroy(mainQueue);
    m_home = std::move(home);
    m_pollerPaused = true; // the poll thread stops competing for reports (it may serve one more)
    m_home->serve();       // anything queued before the pipe was attached
}

KafkaOutput::KafkaOutput()
    : m_state(std::make_unique<ClientState>())
{
}

KafkaOutput::~KafkaOutput()
{
    close();
}

Result<> KafkaOutput::init(const core::ComponentSpec &spec)
{
    Result<KafkaSettings> parsed = parseKafkaSettings(spec, {false, true});
    if (!parsed)
        return tl::unexpected(parsed.error());
    m_settings = std::move(*parsed);
    m_state->component = spec.name;
    if (m_settings.publishTopic.isEmpty())
        m_settings.warnings << QStringLiteral(
            "metadata 'publishTopic' is not set: 'create' will fail");

    Result<rd_kafka_t *> rk = connectClient(
        RD_KAFKA_PRODUCER, m_settings, *m_state,
        {
            {"acks", m_settings.acks},
            {"linger.ms", QString::number(m_settings.lingerMs)},
            {"compression.codec", m_settings.compression},
            {"message.timeout.ms", QString::number(m_settings.deliveryTimeoutMs)},
            {"message.send.max.retries", QString::number(m_settings.producerRetryMax)},
            {"retry.backoff.ms", QStringLiteral("100")},
            {"request.timeout.ms",
             QString::number(std::clamp<qint64>(m_settings.deliveryTimeoutMs, 1000, 30000))},
        },
        [](rd_kafka_conf_t *conf) { rd_kafka_conf_set_dr_msg_cb(conf, deliveryReport); });
    if (!rk)
        return tl::unexpected(rk.error());
    m_rk = *rk;
    rd_kafka_t *handle = m_rk;
    m_poller
        = std::make_unique<std::jthread>([handle, paused = &m_pollerPaused](std::stop_token stop) {
              while (!stop.stop_requested() && !paused->load())
                  rd_kafka_poll(handle, 100);
          });
    return {};
}

QStringList KafkaOutput::operations() const
{
    return {QStringLiteral("create")};
}

void KafkaOutput::invoke(core::InvokeRequest request, core::InvokeDone done)
{
    auto failNow = [&](const QString &message) {
        core::InvokeResult r;
        r.result = fail(ErrorCode::InvokeFailed, message);
        done(std::move(r));
    };
    if (m_closed || !m_rk)
        return failNow(QStringLiteral("kafka: the binding is closed"));
    if (request.operation != QStringLiteral("create"))
        return failNow(QStringLiteral("kafka: unsupported operation '%1'").arg(request.operation));
    if (m_settings.publishTopic.isEmpty())
        return failNow(
            QStringLiteral("kafka: metadata 'publishTopic' is not set on this component"));
    if (!m_home && QThread::currentThread()->eventDispatcher())
        serveReportsOnThisThread();

    QByteArray key;
    bool hasKey = false;
    if (auto it = request.metadata.constFind(QStringLiteral("partitionKey"));
        it != request.metadata.cend()) {
        key = it->toUtf8();
        hasKey = true;
    } else if (auto k = request.metadata.constFind(QStringLiteral("__key"));
               k != request.metadata.cend()) {
        key = k->toUtf8();
        hasKey = true;
    }
    int32_t partition = RD_KAFKA_PARTITION_UA;
    if (auto it = request.metadata.constFind(QStringLiteral("partitionNumber"));
        it != request.metadata.cend()) {
        bool ok = false;
        const int p = it->trimmed().toInt(&ok);
        if (!ok || p < 0)
            return failNow(
                QStringLiteral(
                    "kafka: request metadata 'partitionNumber' must be an integer >= 0, not '%1'")
                    .arg(*it));
        partition = p;
    }
    rd_kafka_headers_t *headers = nullptr;
    const bool exclude = !m_settings.excludeHeaderMeta.pattern().isEmpty();
    for (auto it = request.metadata.cbegin(); it != request.metadata.cend(); ++it) {
        if (exclude && m_settings.excludeHeaderMeta.match(it.key()).hasMatch())
            continue;
        if (!headers)
            headers = rd_kafka_headers_new(static_cast<size_t>(request.metadata.size()));
        const QByteArray k = it.key().toUtf8();
        const QByteArray v = it.value().toUtf8();
        rd_kafka_header_add(headers, k.constData(), k.size(), v.constData(), v.size());
    }
    const QByteArray topic = m_settings.publishTopic.toUtf8();
    auto *ctx = new DeliveryContext{std::move(done), m_settings.publishTopic};
    const rd_kafka_resp_err_t err = rd_kafka_producev(
        m_rk, RD_KAFKA_V_TOPIC(topic.constData()), RD_KAFKA_V_PARTITION(partition),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_VALUE(const_cast<char *>(request.data.constData()),
                         static_cast<size_t>(request.data.size())),
        RD_KAFKA_V_KEY(hasKey ? key.constData() : nullptr,
                       hasKey ? static_cast<size_t>(key.size()) : 0),
        RD_KAFKA_V_HEADERS(headers), RD_KAFKA_V_OPAQUE(ctx), RD_KAFKA_V_END);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        if (headers)
            rd_kafka_headers_destroy(headers);
        core::InvokeResult r;
        r.result
            = fail(ErrorCode::InvokeFailed, QStringLiteral("kafka: cannot produce to topic %1: %2")
                                                .arg(m_settings.publishTopic, errText(err)));
        ctx->done(std::move(r));
        delete ctx;
    }
}

void KafkaOutput::close()
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

// ------------------------------------------------------------------------------------- input ---

/** @brief Delivers one assigned partition, in order, on its own thread. */
class PartitionWorker
{
public:
    PartitionWorker(rd_kafka_t *rk, std::string topic, int partition, rd_kafka_queue_t *queue,
                    core::EventHandler handler, const KafkaSettings &settings)
        : m_rk(rk)
        , m_topic(std::move(topic))
        , m_partition(partition)
        , m_queue(queue)
        , m_handler(std::move(handler))
        , m_retry(settings.consumeRetryEnabled)
        , m_retryIntervalMs(settings.consumeRetryIntervalMs)
        , m_escape(settings.escapeHeaders)
        , m_topicName(QString::fromStdString(m_topic))
        , m_offsetList(rd_kafka_topic_partition_list_new(1))
    {
        rd_kafka_topic_partition_list_add(m_offsetList, m_topic.c_str(), m_partition);
    }

    ~PartitionWorker()
    {
        rd_kafka_topic_partition_list_destroy(m_offsetList);
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

    void detachOrJoin()
    {
        if (m_thread.joinable())
            m_thread.join();
    }

    void addStray(rd_kafka_message_t *m)
    {
        std::lock_guard lock(m_mutex);
        m_strays.push_back(m);
    }

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
                               .arg(QString::fromStdString(m_topic))
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

    QString headerValue(const char *data, size_t size) const
    {
        const QByteArray raw(data ? data : "", static_cast<qsizetype>(data ? size : 0));
        return m_escape ? queryEscape(raw) : QString::fromUtf8(raw);
    }

    void deliver(const rd_kafka_message_t *msg)
    {
        core::BindingEvent ev;
        ev.data
            = QByteArray(static_cast<const char *>(msg->payload), static_cast<qsizetype>(msg->len));
        ev.contentType = QStringLiteral("application/json");
        // A record header named like one of these replaces it (daprd builds a map).
        auto put = [&ev](const QString &k, const QString &v) {
            for (auto &kv : ev.metadata) {
                if (kv.first == k) {
                    kv.second = v;
                    return;
                }
            }
            ev.metadata.append({k, v});
        };
        ev.metadata.reserve(8);
        if (msg->key)
            ev.metadata.append({QStringLiteral("__key"),
                                headerValue(static_cast<const char *>(msg->key), msg->key_len)});
        ev.metadata.append({QStringLiteral("__offset"), QString::number(msg->offset)});
        ev.metadata.append({QStringLiteral("__topic"), m_topicName});
        rd_kafka_timestamp_type_t tsType;
        ev.metadata.append({QStringLiteral("__timestamp"),
                            QString::number(rd_kafka_message_timestamp(msg, &tsType))});
        ev.metadata.append({QStringLiteral("__partition"), QString::number(msg->partition)});
        rd_kafka_headers_t *hdrs = nullptr;
        if (rd_kafka_message_headers(msg, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR && hdrs) {
            const char *name = nullptr;
            const void *value = nullptr;
            size_t size = 0;
            for (size_t i = 0; rd_kafka_header_get_all(hdrs, i, &name, &value, &size)
                               == RD_KAFKA_RESP_ERR_NO_ERROR;
                 ++i)
                put(QString::fromUtf8(name), headerValue(static_cast<const char *>(value), size));
        }
        ev.eventKey = m_topicName + u'/' + QString::number(msg->partition) + u'@'
                      + QString::number(msg->offset);
        ev.onFailure = m_retry ? core::FailurePolicy::Retry : core::FailurePolicy::Drop;
        qint64 backoff = m_retryIntervalMs;
        for (;;) {
            const core::AppReply reply = m_handler(ev);
            if (reply.ok()) {
                m_offsetList->elems[0].offset = msg->offset + 1;
                const rd_kafka_resp_err_t err = rd_kafka_offsets_store(m_rk, m_offsetList);
                if (err)
                    qCDebug(lcKafka) << "offset store failed (partition revoked?)" << errText(err);
                return;
            }
            if (!m_retry || m_stop)
                return; // Drop: move on without storing (a later ack commits past it, as daprd)
            std::unique_lock lock(m_mutex);
            m_cv.wait_for(lock, std::chrono::milliseconds(backoff),
                          [this] { return m_stop.load(); });
            if (m_stop)
                return; // not acknowledged: delivered again after restart/rebalance
            backoff = qMin<qint64>(backoff * 2, 5000);
            ++ev.attempt;
        }
    }

    rd_kafka_t *m_rk;
    std::string m_topic;
    int m_partition;
    rd_kafka_queue_t *m_queue;
    core::EventHandler m_handler;
    bool m_retry;
    qint64 m_retryIntervalMs;
    bool m_escape;
    QString m_topicName;
    rd_kafka_topic_partition_list_t
        *m_offsetList; ///< this partition, reused for every offset store
    std::thread m_thread;
    std::atomic<bool> m_stop{false};
    std::mutex m_mutex;
    std::condition_variable m_cv;
    bool m_finished = false;
    std::deque<rd_kafka_message_t *> m_strays;
};

KafkaInput::KafkaInput()
    : m_state(std::make_unique<ClientState>())
{
    m_state->input = this;
}

KafkaInput::~KafkaInput()
{
    close();
}

Result<> KafkaInput::init(const core::ComponentSpec &spec)
{
    Result<KafkaSettings> parsed = parseKafkaSettings(spec, {true, false});
    if (!parsed)
        return tl::unexpected(parsed.error());
    m_settings = std::move(*parsed);
    m_state->component = spec.name;
    if (m_settings.topics.isEmpty()) {
        m_settings.warnings << QStringLiteral(
            "metadata 'topics' is empty: the input binding reads nothing");
        return {};
    }
    if (m_settings.consumerGroup.isEmpty())
        return fail(
            ErrorCode::MissingMetadata,
            QStringLiteral(
                "kafka: metadata 'consumerGroup' (or 'consumerID') is required to read topics"),
            spec.name);
    Result<rd_kafka_t *> rk = connectClient(
        RD_KAFKA_CONSUMER, m_settings, *m_state,
        {
            {"group.id", m_settings.consumerGroup},
            {"enable.auto.commit", QStringLiteral("true")},
            {"auto.commit.interval.ms", QStringLiteral("1000")},
            {"enable.auto.offset.store", QStringLiteral("false")},
            {"auto.offset.reset",
             m_settings.oldest ? QStringLiteral("earliest") : QStringLiteral("latest")},
            {"heartbeat.interval.ms", QString::number(m_settings.heartbeatIntervalMs)},
            {"session.timeout.ms", QString::number(m_settings.sessionTimeoutMs)},
            {"partition.assignment.strategy", m_settings.assignmentStrategy},
            {"fetch.wait.max.ms", QStringLiteral("100")},
            // A subscribed topic that does not exist yet (auto-created by the first produce, as
            // with the seed's topic1) is picked up within seconds, not librdkafka's default 5 min.
            {"topic.metadata.refresh.interval.ms", QStringLiteral("5000")},
            {"fetch.error.backoff.ms", QStringLiteral("100")},
            {"enable.partition.eof", QStringLiteral("false")},
        },
        [](rd_kafka_conf_t *conf) { rd_kafka_conf_set_rebalance_cb(conf, rebalanceCb); });
    if (!rk)
        return tl::unexpected(rk.error());
    m_rk = *rk;
    rd_kafka_poll_set_consumer(m_rk);
    return {};
}

Result<> KafkaInput::read(const core::EventHandler &handler, std::stop_token stop)
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
        return fail(ErrorCode::Io, QStringLiteral("kafka: cannot subscribe to %1: %2")
                                       .arg(m_settings.topics.join(u','), errText(err)));
    qint64 strays = 0;
    while (!stop.stop_requested()) {
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
        const std::pair<std::string, int> key{rd_kafka_topic_name(msg->rkt), msg->partition};
        if (auto it = m_workers.find(key); it != m_workers.end()) {
            ++strays;
            it->second->addStray(msg);
        } else {
            rd_kafka_message_destroy(msg);
        }
    }
    if (strays)
        qCDebug(lcKafka) << "records received on the main queue:" << strays;
    stopWorkers(nullptr);
    closeConsumer();
    return {};
}

void KafkaInput::closeConsumer()
{
    if (m_consumerClosed || !m_rk)
        return;
    m_consumerClosed = true;
    // Leave the group and commit the stored offsets, bounded: a plain rd_kafka_consumer_close()
    // can block for long when the broker is unreachable, and stop must stay prompt.
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

void KafkaInput::onRebalance(int errCode, rd_kafka_topic_partition_list_t *partitions)
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
        stopWorkers(partitions);
        if (cooperative) {
            if (rd_kafka_error_t *e = rd_kafka_incremental_unassign(m_rk, partitions))
                rd_kafka_error_destroy(e);
        } else {
            rd_kafka_assign(m_rk, nullptr);
        }
    }
}

void KafkaInput::startWorkers(rd_kafka_topic_partition_list_t *partitions)
{
    for (int i = 0; i < partitions->cnt; ++i) {
        const rd_kafka_topic_partition_t &tp = partitions->elems[i];
        const std::pair<std::string, int> key{tp.topic, tp.partition};
        if (m_workers.count(key))
            continue;
        rd_kafka_queue_t *q = rd_kafka_queue_get_partition(m_rk, tp.topic, tp.partition);
        if (!q)
            continue;
        rd_kafka_queue_forward(q, nullptr); // this partition is consumed by its own worker
        auto w = std::make_shared<PartitionWorker>(m_rk, tp.topic, tp.partition, q, m_handler,
                                                   m_settings);
        PartitionWorker::start(w);
        m_workers.emplace(key, std::move(w));
    }
}

void KafkaInput::stopWorkers(rd_kafka_topic_partition_list_t *partitions)
{
    std::vector<std::shared_ptr<PartitionWorker>> stopping;
    for (auto it = m_workers.begin(); it != m_workers.end();) {
        bool match = partitions == nullptr;
        for (int i = 0; !match && i < partitions->cnt; ++i)
            match = it->first.first == partitions->elems[i].topic
                    && it->first.second == partitions->elems[i].partition;
        if (match) {
            it->second->requestStop();
            stopping.push_back(it->second);
            it = m_workers.erase(it);
        } else {
            ++it;
        }
    }
    // Wait for in-flight deliveries of these partitions, up to a bound; a delivery still
    // running after that is left to finish (its offset store then fails harmlessly).
    const auto until = Clock::now() + 5s;
    for (auto &w : stopping) {
        if (!w->waitFinished(until))
            m_lingering.push_back(w);
    }
}

void KafkaInput::close()
{
    if (m_closed)
        return;
    m_closed = true;
    if (!m_rk)
        return;
    for (auto &w : m_workers)
        w.second->requestStop();
    for (auto &w : m_workers)
        w.second->detachOrJoin();
    m_workers.clear();
    for (auto &w : m_lingering)
        w->detachOrJoin(); // must not outlive the handle
    m_lingering.clear();
    closeConsumer();
    rd_kafka_destroy_flags(m_rk, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE); // closed above, bounded
    m_rk = nullptr;
}

} // namespace bindery::bindings::kafka

BINDERY_BINDING(kafka, bindery::bindings::kafka::KafkaInput, bindery::bindings::kafka::KafkaOutput)
