// SPDX-License-Identifier: Apache-2.0
#include "core/bindings/rabbitmq/rabbitmq_binding.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <QLoggingCategory>

#include "core/binding_registry.h"
#include "core/bindings/common/reconnect_loop.h"
#include "core/bindings/rabbitmq/amqp_client.h"

Q_LOGGING_CATEGORY(lcRabbitMq, "bindery.rabbitmq")

namespace bindery::bindings::rabbitmq {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using common::ConnectAttempt;
using common::ReconnectLoop;
using common::ReconnectOptions;
using core::ConnectionState;

namespace {

/// Publishes waiting for the publisher thread; invoke() answers 500 beyond this.
constexpr size_t MAX_QUEUED_PUBLISHES = 65536;
/// The publisher reads the socket at least this often, for rabbitmq-c's heartbeat checks.
constexpr auto HEARTBEAT_READ_INTERVAL = std::chrono::milliseconds(100);
/// How long a stop waits for the delivery in flight (input) or for confirms (output).
constexpr auto STOP_DRAIN = 3s;

/// The bound for connecting at init: the component's initTimeout, less a margin for the rest.
int initBound(const RabbitMqSettings &s)
{
    return std::max(500, s.initTimeoutMs - 500);
}

/// Reconnect attempts connect within this bound, so that a stop stays prompt.
constexpr int RECONNECT_BOUND_MS = 10000;

ReconnectOptions reconnectOptions(const RabbitMqSettings &s)
{
    ReconnectOptions o;
    // daprd waits reconnectWaitInSeconds between attempts, also after a refusal.
    o.fixedWait = std::chrono::milliseconds(std::max<qint64>(s.reconnectWaitMs, 100));
    o.max = o.fixedWait;
    return o;
}

void report(const core::ConnectionReporter &reporter, ConnectionState state,
            const QString &detail = {}, int next = 0)
{
    if (reporter)
        reporter(core::ConnectionReport{state, detail, next});
}

void finish(core::InvokeDone &done, Result<core::InvokeResponse> result)
{
    if (!done)
        return;
    try {
        done(core::InvokeResult{std::move(result), {}});
    } catch (...) {
        qCWarning(lcRabbitMq) << "InvokeDone threw; ignored";
    }
    done = nullptr;
}

void failDone(core::InvokeDone &done, const QString &message,
              ErrorCode code = ErrorCode::InvokeFailed)
{
    finish(done, fail(code, message));
}

/// An eventfd that wakes a binding thread blocked in poll().
class Wakeup
{
public:
    Wakeup()
        : m_fd(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC))
    {
    }
    ~Wakeup()
    {
        if (m_fd >= 0)
            ::close(m_fd);
    }
    Wakeup(const Wakeup &) = delete;
    Wakeup &operator=(const Wakeup &) = delete;
    int fd() const { return m_fd; }
    void wake() const
    {
        const uint64_t one = 1;
        [[maybe_unused]] const ssize_t n = ::write(m_fd, &one, sizeof one);
    }
    void reset() const
    {
        uint64_t value = 0;
        [[maybe_unused]] const ssize_t n = ::read(m_fd, &value, sizeof value);
    }

private:
    int m_fd;
};

/// Waits until the socket has data, `wakeup` fires or `timeoutMs` passed. False when only the
/// wakeup fired: the socket then has nothing to read and a read would be two wasted syscalls.
bool waitFor(int socketFd, const Wakeup &wakeup, int timeoutMs)
{
    pollfd fds[2] = {{socketFd, POLLIN, 0}, {wakeup.fd(), POLLIN, 0}};
    const int n = ::poll(fds, 2, timeoutMs);
    if (n > 0 && (fds[1].revents & POLLIN))
        wakeup.reset();
    return n <= 0 || fds[0].revents != 0;
}

/**
 * Whether a thread woken by waitFor() should read `conn`: the socket may have data, rabbitmq-c
 * holds some already, or `*lastRead` is 100 ms old (rabbitmq-c checks its heartbeat timers only
 * inside its reads). Woken only by its wakeup with nothing buffered, a read would find nothing.
 * Updates `*lastRead` when it says yes.
 */
bool shouldRead(amqp_connection_state_t conn, bool readable, Clock::time_point *lastRead)
{
    const auto now = Clock::now();
    if (!readable && now - *lastRead < HEARTBEAT_READ_INTERVAL && !amqp_frames_enqueued(conn)
        && !amqp_data_in_buffer(conn))
        return false;
    *lastRead = now;
    return true;
}

/// Names the calling thread (15 bytes at most), so top -H and a debugger tell them apart.
void nameThisThread(const char *name)
{
    pthread_setname_np(pthread_self(), name);
}

size_t bodyHash(const void *data, size_t size)
{
    return qHashBits(data, size, 0);
}

} // namespace

// ------------------------------------------------------------------------------------ output ---

/**
 * @brief The output's publisher: one thread that owns the connection, publishes queued messages
 * and settles each from the broker's confirms. Shared with nothing but the binding.
 */
class Publisher
{
public:
    Publisher(RabbitMqSettings settings, core::ConnectionReporter reporter,
              std::unique_ptr<AmqpConnection> connection)
        : m_settings(std::move(settings))
        , m_reporter(std::move(reporter))
        , m_conn(std::move(connection))
    {
        m_fd = m_conn->fd();
        m_connected = true; // init() connected it; invoke() may publish from now on
        m_state = QStringLiteral("connected");
    }

    void start()
    {
        m_thread = std::jthread([this](std::stop_token stop) {
            nameThisThread("rabbitmq-pub");
            run(stop);
        });
    }

    /// Any thread; never blocks beyond a short lock.
    void submit(OutgoingMessage message, core::InvokeDone done)
    {
        QString refused;
        bool wake = false;
        {
            std::lock_guard lock(m_mutex);
            if (m_closing)
                refused = QStringLiteral("rabbitmq: the binding is closed");
            else if (!m_connected)
                refused = QStringLiteral("rabbitmq: not connected to the broker (%1)").arg(m_state);
            else if (m_jobs.size() >= MAX_QUEUED_PUBLISHES)
                refused = QStringLiteral("rabbitmq: too many publishes waiting (%1)")
                              .arg(MAX_QUEUED_PUBLISHES);
            else {
                wake = m_jobs.empty();
                m_jobs.push_back({std::move(message), std::move(done)});
            }
        }
        if (!refused.isEmpty())
            return failDone(done, refused);
        if (wake)
            m_wakeup.wake();
    }

    /// Stops the thread: queued publishes are still sent and confirms awaited, within a bound;
    /// what is left fails with "closed". Blocks up to a few seconds.
    void stop()
    {
        {
            std::lock_guard lock(m_mutex);
            if (m_closing)
                return;
            m_closing = true;
        }
        m_thread.request_stop();
        m_wakeup.wake();
        std::unique_lock lock(m_mutex);
        if (!m_finishedCv.wait_for(lock, STOP_DRAIN + 2s, [this] { return m_finished; })) {
            // Blocked in a send to a broker that stopped reading: cut the socket under it.
            std::lock_guard fdLock(m_fdMutex);
            if (m_fd >= 0)
                ::shutdown(m_fd, SHUT_RDWR);
        }
        lock.unlock();
        m_thread.join();
    }

private:
    struct Job
    {
        OutgoingMessage message;
        core::InvokeDone done;
    };
    struct Pending
    {
        core::InvokeDone done;
        size_t hash = 0;
        Clock::time_point deadline;
        QString returned; ///< the basic.return's reason, when the broker returned it
    };

    void setConnected(bool connected, const QString &state)
    {
        std::lock_guard lock(m_mutex);
        m_connected = connected;
        m_state = state;
    }

    void run(std::stop_token stop)
    {
        ReconnectLoop loop(reconnectOptions(m_settings),
                           [this](ConnectionState state, const QString &detail, int next) {
                               setConnected(state == ConnectionState::Connected,
                                            ReconnectLoop::describe(state, detail, next));
                               report(m_reporter, state, detail, next);
                           });
        for (;;) {
            const QString lost = serve(stop);
            if (stop.stop_requested())
                break;
            dropConnection(lost);
            loop.connectionLost(lost);
            const bool connected = loop.connect(stop, [this](int) { return reconnect(); });
            if (!connected)
                break;
        }
        if (m_conn) {
            drain();
            dropConnection(QStringLiteral("the binding is closed"));
        }
        failQueued(QStringLiteral("rabbitmq: the binding is closed"));
        std::lock_guard lock(m_mutex);
        m_finished = true;
        m_finishedCv.notify_all();
    }

    ConnectAttempt reconnect()
    {
        AmqpResult<std::unique_ptr<AmqpConnection>> c = AmqpConnection::open(
            m_settings, AmqpConnection::Role::Publisher, RECONNECT_BOUND_MS, connectionName());
        if (!c)
            return c.error().permanent ? ConnectAttempt::permanent(c.error().message)
                                       : ConnectAttempt::transient(c.error().message);
        std::lock_guard fdLock(m_fdMutex);
        m_conn = std::move(*c);
        m_fd = m_conn->fd();
        m_nextTag = 0;
        return ConnectAttempt::connected();
    }

    QString connectionName() const
    {
        return QStringLiteral("bindery %1 output").arg(m_settings.componentName);
    }

    /// Fails everything in flight and frees the connection.
    void dropConnection(const QString &reason)
    {
        setConnected(false, QStringLiteral("connection lost: ") + reason);
        for (auto &[tag, p] : m_pending)
            failDone(p.done,
                     QStringLiteral("rabbitmq: the connection to the broker was lost before it "
                                    "confirmed the message: %1")
                         .arg(reason));
        m_pending.clear();
        failQueued(QStringLiteral("rabbitmq: the connection to the broker was lost: ") + reason);
        std::lock_guard fdLock(m_fdMutex);
        if (m_conn && !reason.startsWith(QStringLiteral("the binding is closed")))
            m_conn->markBroken();
        m_conn.reset();
        m_fd = -1;
    }

    void failQueued(const QString &reason)
    {
        std::vector<Job> jobs;
        {
            std::lock_guard lock(m_mutex);
            jobs.swap(m_jobs);
        }
        for (Job &j : jobs)
            failDone(j.done, reason);
    }

    /// Serves the connection until it is lost (the reason) or a stop is requested ("").
    QString serve(std::stop_token stop)
    {
        bool readable = true;
        while (!stop.stop_requested()) {
            if (QString lost = step(readable); !lost.isEmpty())
                return lost;
            readable = waitFor(m_fd, m_wakeup, nextWaitMs());
        }
        return {};
    }

    /// At a stop: the queued publishes are sent and their confirms awaited, within a bound.
    void drain()
    {
        const auto until = Clock::now() + STOP_DRAIN;
        while (Clock::now() < until) {
            if (!step().isEmpty())
                return;
            {
                std::lock_guard lock(m_mutex);
                if (m_jobs.empty() && m_pending.empty())
                    return;
            }
            waitFor(m_fd, m_wakeup, 50);
        }
        for (auto &[tag, p] : m_pending)
            failDone(p.done,
                     QStringLiteral("rabbitmq: the binding closed before the broker "
                                    "confirmed the message"),
                     ErrorCode::Closed);
        m_pending.clear();
    }

    /// One round: publish what is queued, read every frame waiting, expire old publishes.
    /// `readable`: what waitFor() said (see shouldRead()).
    QString step(bool readable = true)
    {
        std::vector<Job> batch;
        {
            std::lock_guard lock(m_mutex);
            batch.swap(m_jobs);
        }
        for (size_t i = 0; i < batch.size(); ++i) {
            if (QString error = publish(batch[i]); !error.isEmpty()) {
                for (size_t j = i + 1; j < batch.size(); ++j)
                    failDone(batch[j].done, QStringLiteral("rabbitmq: cannot publish: ") + error);
                m_out.clear();
                return error;
            }
        }
        if (!m_out.empty()) {
            if (QString error = flushOut(); !error.isEmpty())
                return error; // the publishes sent are pending: the connection loss fails them
        }
        amqp_connection_state_t conn = m_conn->handle();
        if (shouldRead(conn, readable, &m_lastRead)) {
            // One recv takes all the socket has; then only what rabbitmq-c already holds.
            do {
                amqp_frame_t frame;
                const timeval zero{0, 0};
                const int rc = amqp_simple_wait_frame_noblock(conn, &frame, &zero);
                if (rc == AMQP_STATUS_TIMEOUT)
                    break;
                if (rc != AMQP_STATUS_OK)
                    return AmqpConnection::statusText(rc);
                if (QString lost = handleFrame(frame); !lost.isEmpty())
                    return lost;
                conn = m_conn->handle(); // a channel reopen keeps the connection, but be safe
            } while (amqp_frames_enqueued(conn) || amqp_data_in_buffer(conn));
            amqp_maybe_release_buffers(conn);
        }
        expire();
        return {};
    }

    int nextWaitMs() const
    {
        // Wake at least every 100 ms: heartbeats are sent from inside rabbitmq-c's reads.
        qint64 ms = 100;
        if (!m_pending.empty()) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                                  m_pending.begin()->second.deadline - Clock::now())
                                  .count();
            ms = std::clamp<qint64>(left + 1, 0, ms);
        }
        return static_cast<int>(ms);
    }

    QString publish(Job &job)
    {
        const OutgoingMessage &m = job.message;
        amqp_basic_properties_t props{};
        auto bytes = [](const std::string &s) {
            return amqp_bytes_t{s.size(), const_cast<char *>(s.data())};
        };
        props._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG;
        props.content_type = bytes(m.contentType);
        props.delivery_mode = AMQP_DELIVERY_PERSISTENT; // daprd: always amqp.Persistent
        std::vector<amqp_table_entry_t> entries(m.headers.size());
        for (size_t i = 0; i < m.headers.size(); ++i) {
            entries[i].key = bytes(m.headers[i].first);
            entries[i].value.kind = AMQP_FIELD_KIND_UTF8;
            entries[i].value.value.bytes = bytes(m.headers[i].second);
        }
        if (!entries.empty()) {
            props._flags |= AMQP_BASIC_HEADERS_FLAG;
            props.headers = amqp_table_t{static_cast<int>(entries.size()), entries.data()};
        }
        if (!m.expiration.empty()) {
            props._flags |= AMQP_BASIC_EXPIRATION_FLAG;
            props.expiration = bytes(m.expiration);
        }
        if (m.priority > 0) {
            props._flags |= AMQP_BASIC_PRIORITY_FLAG;
            props.priority = static_cast<uint8_t>(m.priority);
        }
        if (!m.messageId.empty()) {
            props._flags |= AMQP_BASIC_MESSAGE_ID_FLAG;
            props.message_id = bytes(m.messageId);
        }
        if (!m.correlationId.empty()) {
            props._flags |= AMQP_BASIC_CORRELATION_ID_FLAG;
            props.correlation_id = bytes(m.correlationId);
        }
        if (!m.type.empty()) {
            props._flags |= AMQP_BASIC_TYPE_FLAG;
            props.type = bytes(m.type);
        }
        const std::string &queue = m_queue;
        // Mandatory, so that a message no queue takes comes back (basic.return) as an error
        // instead of vanishing (daprd publishes without it).
        if (m_settings.uri.tls) {
            const int rc = amqp_basic_publish(m_conn->handle(), CHANNEL, amqp_empty_bytes,
                                              bytes(queue), 1, 0, &props, bytes(m.body));
            if (rc != AMQP_STATUS_OK) {
                failDone(job.done, QStringLiteral("rabbitmq: cannot publish: ")
                                       + AmqpConnection::statusText(rc));
                return AmqpConnection::statusText(rc);
            }
        } else if (const int rc = encodePublish(queue, props, m.body); rc != AMQP_STATUS_OK) {
            // Nothing of this message was queued for the socket: it alone fails.
            failDone(job.done,
                     QStringLiteral("rabbitmq: cannot publish: ") + AmqpConnection::statusText(rc));
            return {};
        }
        Pending p;
        p.done = std::move(job.done);
        p.hash = bodyHash(m.body.data(), m.body.size());
        p.deadline = Clock::now() + std::chrono::milliseconds(m_settings.publishTimeoutMs);
        m_pending.emplace(++m_nextTag, std::move(p));
        return {};
    }

    /**
     * Appends basic.publish's three frames (method, content header, body in frame_max pieces)
     * to m_out, as amqp_basic_publish would send them. On a plain TCP connection a batch of
     * publishes then leaves in one send() instead of three per message (rabbitmq-c has no
     * batched publish); TLS connections keep amqp_basic_publish. Between rabbitmq-c's own
     * calls the socket only ever carries whole frames, so its heartbeats cannot interleave.
     */
    int encodePublish(const std::string &queue, amqp_basic_properties_t &props,
                      const std::string &body)
    {
        const size_t start = m_out.size();
        auto beginFrame = [&](uint8_t type) {
            const size_t at = m_out.size();
            m_out.push_back(static_cast<char>(type));
            m_out.push_back(static_cast<char>(CHANNEL >> 8));
            m_out.push_back(static_cast<char>(CHANNEL & 0xff));
            m_out.append(4, '\0'); // payload size, set by endFrame
            return at;
        };
        auto endFrame = [&](size_t at) {
            const auto size = static_cast<uint32_t>(m_out.size() - at - 7);
            for (int i = 0; i < 4; ++i)
                m_out[at + 3 + i] = static_cast<char>(size >> (24 - 8 * i));
            m_out.push_back(static_cast<char>(AMQP_FRAME_END));
        };
        auto put = [&](uint64_t value, int bytes) {
            for (int i = bytes - 1; i >= 0; --i)
                m_out.push_back(static_cast<char>(value >> (8 * i)));
        };
        const int frameMax = amqp_get_frame_max(m_conn->handle());
        auto encodeInto = [&](auto &&encode) {
            // rabbitmq-c's encoders fail when out of room: retry with more, up to one frame.
            const size_t at = m_out.size();
            for (size_t room = 1024;; room *= 2) {
                m_out.resize(at + room);
                const int n = encode(amqp_bytes_t{room, m_out.data() + at});
                const bool full = n == AMQP_STATUS_BAD_AMQP_DATA || n == AMQP_STATUS_TABLE_TOO_BIG;
                if (full && room < static_cast<size_t>(std::max(frameMax, 4096)))
                    continue;
                m_out.resize(n < 0 ? at : at + static_cast<size_t>(n));
                return n;
            }
        };

        amqp_basic_publish_t method{};
        method.exchange = amqp_empty_bytes;
        method.routing_key = amqp_bytes_t{queue.size(), const_cast<char *>(queue.data())};
        method.mandatory = 1;
        method.immediate = 0;
        size_t frame = beginFrame(AMQP_FRAME_METHOD);
        put(AMQP_BASIC_PUBLISH_METHOD, 4);
        int rc = encodeInto([&](amqp_bytes_t out) {
            return amqp_encode_method(AMQP_BASIC_PUBLISH_METHOD, &method, out);
        });
        if (rc < 0) {
            m_out.resize(start);
            return rc;
        }
        endFrame(frame);

        frame = beginFrame(AMQP_FRAME_HEADER);
        put(AMQP_BASIC_CLASS, 2);
        put(0, 2); // weight
        put(body.size(), 8);
        rc = encodeInto([&](amqp_bytes_t out) {
            return amqp_encode_properties(AMQP_BASIC_CLASS, &props, out);
        });
        if (rc < 0) {
            m_out.resize(start);
            return rc;
        }
        endFrame(frame);

        const size_t piece = frameMax > 8 ? static_cast<size_t>(frameMax) - 8 : body.size();
        for (size_t off = 0; off < body.size(); off += piece) {
            frame = beginFrame(AMQP_FRAME_BODY);
            m_out.append(body, off, std::min(piece, body.size() - off));
            endFrame(frame);
        }
        return AMQP_STATUS_OK;
    }

    /// Sends m_out; a broker that takes nothing for publishTimeout is a lost connection.
    QString flushOut()
    {
        size_t off = 0;
        const auto deadline = Clock::now() + std::chrono::milliseconds(m_settings.publishTimeoutMs);
        while (off < m_out.size()) {
            const ssize_t n = ::send(m_fd, m_out.data() + off, m_out.size() - off, MSG_NOSIGNAL);
            if (n > 0) {
                off += static_cast<size_t>(n);
                continue;
            }
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                const auto left
                    = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now())
                          .count();
                if (left <= 0) {
                    m_out.clear();
                    return QStringLiteral("the broker took no data for %1 (publishTimeout)")
                        .arg(core::formatWait(static_cast<int>(m_settings.publishTimeoutMs)));
                }
                pollfd out{m_fd, POLLOUT, 0};
                ::poll(&out, 1, static_cast<int>(left));
                continue;
            }
            m_out.clear();
            return QStringLiteral("cannot write to the broker: %1")
                .arg(QString::fromLocal8Bit(strerror(n < 0 ? errno : EPIPE)));
        }
        m_out.clear();
        if (m_out.capacity() > (1u << 20))
            std::string().swap(m_out); // a burst of big messages does not pin its buffer
        return {};
    }

    /// Settles the publishes up to `tag` (or just `tag`) from a basic.ack or basic.nack.
    void settle(uint64_t tag, bool multiple, bool acked)
    {
        auto settleOne = [&](Pending &p) {
            if (!acked)
                failDone(p.done, QStringLiteral("rabbitmq: the broker refused the message "
                                                "(basic.nack: e.g. queue '%1' is full and rejects "
                                                "publishes, or the broker failed to store it)")
                                     .arg(m_settings.queueName));
            else if (!p.returned.isEmpty())
                failDone(p.done, QStringLiteral("rabbitmq: the broker returned the message as "
                                                "unroutable (%1): does queue '%2' still exist?")
                                     .arg(p.returned, m_settings.queueName));
            else
                finish(p.done, core::InvokeResponse{}); // nil response: 204
        };
        if (!multiple) {
            if (auto it = m_pending.find(tag); it != m_pending.end()) {
                settleOne(it->second);
                m_pending.erase(it);
            }
            return;
        }
        auto end = m_pending.upper_bound(tag);
        for (auto it = m_pending.begin(); it != end; ++it)
            settleOne(it->second);
        m_pending.erase(m_pending.begin(), end);
    }

    QString handleFrame(const amqp_frame_t &frame)
    {
        if (frame.frame_type != AMQP_FRAME_METHOD)
            return {};
        const amqp_method_t &method = frame.payload.method;
        switch (method.id) {
        case AMQP_BASIC_ACK_METHOD: {
            const auto *ack = static_cast<const amqp_basic_ack_t *>(method.decoded);
            settle(ack->delivery_tag, ack->multiple, true);
            return {};
        }
        case AMQP_BASIC_NACK_METHOD: {
            const auto *nack = static_cast<const amqp_basic_nack_t *>(method.decoded);
            settle(nack->delivery_tag, nack->multiple, false);
            return {};
        }
        case AMQP_BASIC_RETURN_METHOD: {
            const auto *ret = static_cast<const amqp_basic_return_t *>(method.decoded);
            const QString reason
                = QStringLiteral("%1 %2").arg(ret->reply_code).arg(toQString(ret->reply_text));
            amqp_message_t message;
            const amqp_rpc_reply_t read
                = amqp_read_message(m_conn->handle(), frame.channel, &message, 0);
            if (read.reply_type != AMQP_RESPONSE_NORMAL)
                return QStringLiteral("cannot read a returned message");
            // The return carries no delivery tag; it comes before the confirm of its message,
            // in publish order: the first unsettled publish with this body is the one.
            const size_t hash = bodyHash(message.body.bytes, message.body.len);
            amqp_destroy_message(&message);
            for (auto &[tag, p] : m_pending) {
                if (p.returned.isEmpty() && p.hash == hash) {
                    p.returned = reason;
                    break;
                }
            }
            return {};
        }
        case AMQP_CHANNEL_CLOSE_METHOD: {
            // A channel error (e.g. a message over the broker's size limit): the publishes in
            // flight on it fail; a new channel serves the next ones at once, as daprd's does.
            const QString reason = AmqpConnection::closeReason(frame);
            m_conn->acknowledgeClose(frame);
            for (auto &[tag, p] : m_pending)
                failDone(p.done,
                         QStringLiteral("rabbitmq: the broker closed the channel: ") + reason);
            m_pending.clear();
            m_nextTag = 0;
            if (AmqpResult<void> r = m_conn->reopenChannel(RECONNECT_BOUND_MS); !r)
                return r.error().message;
            qCWarning(lcRabbitMq).noquote() << m_settings.componentName
                                            << QStringLiteral("channel closed by the broker (")
                                                   + reason + QStringLiteral("); reopened");
            return {};
        }
        case AMQP_CONNECTION_CLOSE_METHOD: {
            const QString reason = AmqpConnection::closeReason(frame);
            m_conn->acknowledgeClose(frame);
            return QStringLiteral("the broker closed the connection: ") + reason;
        }
        case AMQP_CONNECTION_BLOCKED_METHOD: {
            const auto *blocked = static_cast<const amqp_connection_blocked_t *>(method.decoded);
            qCWarning(lcRabbitMq).noquote()
                << QStringLiteral("%1: the broker holds publishes back (%2); creates wait for it, "
                                  "up to publishTimeout")
                       .arg(m_settings.componentName, toQString(blocked->reason));
            return {};
        }
        case AMQP_CONNECTION_UNBLOCKED_METHOD:
            qCInfo(lcRabbitMq).noquote() << QStringLiteral("%1: the broker takes publishes again")
                                                .arg(m_settings.componentName);
            return {};
        default: return {};
        }
    }

    void expire()
    {
        const auto now = Clock::now();
        while (!m_pending.empty() && m_pending.begin()->second.deadline <= now) {
            failDone(m_pending.begin()->second.done,
                     QStringLiteral("rabbitmq: no publisher confirm from the broker within %1 "
                                    "(publishTimeout); the message may or may not be in queue '%2'")
                         .arg(core::formatWait(static_cast<int>(m_settings.publishTimeoutMs)),
                              m_settings.queueName),
                     ErrorCode::Timeout);
            m_pending.erase(m_pending.begin());
        }
    }

    const RabbitMqSettings m_settings;
    const std::string m_queue = m_settings.queueName.toStdString();
    const core::ConnectionReporter m_reporter;
    Wakeup m_wakeup;

    std::mutex m_mutex; // guards the fields below up to m_finished
    std::condition_variable m_finishedCv;
    std::vector<Job> m_jobs;
    bool m_connected = false;
    QString m_state;
    bool m_closing = false;
    bool m_finished = false;

    std::mutex m_fdMutex; ///< the socket, for stop()'s last resort; the connection's lifetime
    int m_fd = -1;

    // The publisher thread's own.
    std::unique_ptr<AmqpConnection> m_conn;
    std::map<uint64_t, Pending> m_pending; ///< by delivery tag; tags (and deadlines) ascend
    Clock::time_point m_lastRead{};
    std::string m_out; ///< encoded publishes of this round, sent together (plain TCP only)
    uint64_t m_nextTag = 0;
    std::jthread m_thread;
};

RabbitMqOutput::RabbitMqOutput() = default;

RabbitMqOutput::~RabbitMqOutput()
{
    close();
}

void RabbitMqOutput::setConnectionReporter(core::ConnectionReporter reporter)
{
    m_reporter = std::move(reporter);
}

Result<> RabbitMqOutput::init(const core::ComponentSpec &spec)
{
    Result<RabbitMqSettings> parsed = parseRabbitMqSettings(spec, {false, true});
    if (!parsed)
        return tl::unexpected(parsed.error());
    m_settings = std::move(*parsed);
    report(m_reporter, ConnectionState::Connecting);
    AmqpResult<std::unique_ptr<AmqpConnection>> c
        = AmqpConnection::open(m_settings, AmqpConnection::Role::Publisher, initBound(m_settings),
                               QStringLiteral("bindery %1 output").arg(spec.name));
    if (!c)
        return fail(ErrorCode::InitFailed, c.error().message, spec.name);
    report(m_reporter, ConnectionState::Connected);
    m_publisher = std::make_shared<Publisher>(m_settings, m_reporter, std::move(*c));
    m_publisher->start();
    return {};
}

QStringList RabbitMqOutput::operations() const
{
    return {QStringLiteral("create")};
}

void RabbitMqOutput::invoke(core::InvokeRequest request, core::InvokeDone done)
{
    if (!m_publisher)
        return failDone(done, QStringLiteral("rabbitmq: the binding is not initialised"));
    if (request.operation != QStringLiteral("create"))
        return failDone(
            done, QStringLiteral("rabbitmq: unsupported operation '%1'").arg(request.operation));
    Result<OutgoingMessage> message
        = prepareMessage(request.data, request.metadata, m_settings.contentType);
    if (!message)
        return failDone(done, message.error().message);
    m_publisher->submit(std::move(*message), std::move(done));
}

void RabbitMqOutput::close()
{
    if (m_publisher)
        m_publisher->stop();
}

// ------------------------------------------------------------------------------------- input ---

namespace {

/// A header or property value as text, for the traffic (never sent to the app).
QString fieldText(const amqp_field_value_t &v)
{
    switch (v.kind) {
    case AMQP_FIELD_KIND_BOOLEAN:
        return v.value.boolean ? QStringLiteral("true") : QStringLiteral("false");
    case AMQP_FIELD_KIND_I8: return QString::number(v.value.i8);
    case AMQP_FIELD_KIND_U8: return QString::number(v.value.u8);
    case AMQP_FIELD_KIND_I16: return QString::number(v.value.i16);
    case AMQP_FIELD_KIND_U16: return QString::number(v.value.u16);
    case AMQP_FIELD_KIND_I32: return QString::number(v.value.i32);
    case AMQP_FIELD_KIND_U32: return QString::number(v.value.u32);
    case AMQP_FIELD_KIND_I64: return QString::number(v.value.i64);
    case AMQP_FIELD_KIND_U64: return QString::number(v.value.u64);
    case AMQP_FIELD_KIND_TIMESTAMP: return QString::number(v.value.u64);
    case AMQP_FIELD_KIND_F32: return QString::number(double(v.value.f32));
    case AMQP_FIELD_KIND_F64: return QString::number(v.value.f64);
    case AMQP_FIELD_KIND_UTF8: return toQString(v.value.bytes);
    case AMQP_FIELD_KIND_BYTES:
        return QStringLiteral("0x")
               + QString::fromLatin1(QByteArray(static_cast<const char *>(v.value.bytes.bytes),
                                                static_cast<qsizetype>(v.value.bytes.len))
                                         .toHex());
    case AMQP_FIELD_KIND_ARRAY:
        return QStringLiteral("[array of %1]").arg(v.value.array.num_entries);
    case AMQP_FIELD_KIND_TABLE:
        return QStringLiteral("{table of %1}").arg(v.value.table.num_entries);
    case AMQP_FIELD_KIND_VOID: return QStringLiteral("(void)");
    case AMQP_FIELD_KIND_DECIMAL:
        return QStringLiteral("%1e-%2").arg(v.value.decimal.value).arg(v.value.decimal.decimals);
    }
    return {};
}

/// The delivery as the app gets it from daprd, plus its AMQP properties for the traffic.
core::BindingEvent toEvent(const amqp_envelope_t &env, const QString &queue)
{
    core::BindingEvent ev;
    ev.data = QByteArray(static_cast<const char *>(env.message.body.bytes),
                         static_cast<qsizetype>(env.message.body.len));
    ev.redelivered = env.redelivered != 0;
    ev.onFailure = core::FailurePolicy::Requeue;
    const amqp_basic_properties_t &p = env.message.properties;
    auto prop = [&ev](const char *name, const QString &value) {
        ev.properties.append({QString::fromLatin1(name), value});
    };
    if (p._flags & AMQP_BASIC_CONTENT_TYPE_FLAG)
        prop("content-type", toQString(p.content_type));
    if (p._flags & AMQP_BASIC_CONTENT_ENCODING_FLAG)
        prop("content-encoding", toQString(p.content_encoding));
    if (p._flags & AMQP_BASIC_DELIVERY_MODE_FLAG)
        prop("delivery-mode", QString::number(p.delivery_mode));
    if (p._flags & AMQP_BASIC_PRIORITY_FLAG)
        prop("priority", QString::number(p.priority));
    if (p._flags & AMQP_BASIC_CORRELATION_ID_FLAG)
        prop("correlation-id", toQString(p.correlation_id));
    if (p._flags & AMQP_BASIC_REPLY_TO_FLAG)
        prop("reply-to", toQString(p.reply_to));
    if (p._flags & AMQP_BASIC_EXPIRATION_FLAG)
        prop("expiration", toQString(p.expiration));
    QString messageId;
    if (p._flags & AMQP_BASIC_MESSAGE_ID_FLAG) {
        messageId = toQString(p.message_id);
        prop("message-id", messageId);
    }
    if (p._flags & AMQP_BASIC_TIMESTAMP_FLAG)
        prop("timestamp", QString::number(p.timestamp));
    if (p._flags & AMQP_BASIC_TYPE_FLAG)
        prop("type", toQString(p.type));
    if (p._flags & AMQP_BASIC_USER_ID_FLAG)
        prop("user-id", toQString(p.user_id));
    if (p._flags & AMQP_BASIC_APP_ID_FLAG)
        prop("app-id", toQString(p.app_id));
    prop("exchange", toQString(env.exchange));
    prop("routing-key", toQString(env.routing_key));
    prop("redelivered", ev.redelivered ? QStringLiteral("true") : QStringLiteral("false"));
    if (p._flags & AMQP_BASIC_HEADERS_FLAG) {
        for (int i = 0; i < p.headers.num_entries; ++i) {
            const amqp_table_entry_t &e = p.headers.entries[i];
            const QString key = toQString(e.key);
            if (e.value.kind != AMQP_FIELD_KIND_UTF8) {
                // daprd passes string headers only; the rest is shown, not sent.
                prop("header", key + QStringLiteral(" = ") + fieldText(e.value));
                continue;
            }
            // daprd: metadata[url.QueryEscape(k)] = v; a later duplicate key wins (a Go map).
            const QString name = queryEscape(key);
            const QString value = toQString(e.value.value.bytes);
            auto it = std::find_if(ev.metadata.begin(), ev.metadata.end(),
                                   [&](const auto &kv) { return kv.first == name; });
            if (it != ev.metadata.end())
                it->second = value;
            else
                ev.metadata.append({name, value});
        }
    }
    ev.eventKey
        = queue + u'/'
          + (messageId.isEmpty()
                 ? QStringLiteral("#")
                       + QString::number(bodyHash(env.message.body.bytes, env.message.body.len), 16)
                 : messageId);
    return ev;
}

} // namespace

/**
 * @brief The input's delivery thread: calls the EventHandler for each delivery in order and
 * hands the outcome back to the reader thread, which owns the connection and sends the ack.
 * Keeping the app's answer off the connection's thread keeps heartbeats flowing while the app
 * takes its time (up to the runtime's delivery timeout).
 */
class DeliveryWorker
{
public:
    struct Outcome
    {
        quint64 generation = 0;
        uint64_t tag = 0;
        bool acked = false;
    };

    explicit DeliveryWorker(core::EventHandler handler)
        : m_handler(std::move(handler))
    {
    }

    void start()
    {
        m_thread = std::thread([this] {
            nameThisThread("rabbitmq-dlv");
            run();
        });
    }

    const Wakeup &wakeup() const { return m_wakeup; }

    /// Reader thread: queues a delivery of connection `generation`.
    void push(quint64 generation, uint64_t tag, core::BindingEvent event)
    {
        std::lock_guard lock(m_mutex);
        m_queue.push_back({generation, tag, std::move(event)});
        m_cv.notify_one();
    }

    /// Reader thread: deliveries of older connections are dropped (the broker requeued them).
    void setGeneration(quint64 generation)
    {
        std::lock_guard lock(m_mutex);
        std::erase_if(m_queue, [generation](const Item &i) { return i.generation != generation; });
    }

    /// Reader thread, at a stop: forget what has not started (it goes back to the queue when the
    /// connection closes) and settle the delivery in flight without the failure pause.
    void stopSoon()
    {
        std::lock_guard lock(m_mutex);
        m_queue.clear();
        m_stopping = true;
        m_cv.notify_all();
    }

    std::vector<Outcome> takeOutcomes()
    {
        std::lock_guard lock(m_mutex);
        std::vector<Outcome> out;
        out.swap(m_outcomes);
        return out;
    }

    bool busy() const
    {
        std::lock_guard lock(m_mutex);
        return m_busy || !m_outcomes.empty();
    }

    /// Ends the thread once the delivery in flight (if any) returned; blocks until then.
    void stopAndJoin()
    {
        {
            std::lock_guard lock(m_mutex);
            m_stop = true;
            m_queue.clear();
            m_cv.notify_all();
        }
        if (m_thread.joinable())
            m_thread.join();
    }

private:
    struct Item
    {
        quint64 generation = 0;
        uint64_t tag = 0;
        core::BindingEvent event;
    };

    void run()
    {
        std::unique_lock lock(m_mutex);
        for (;;) {
            m_cv.wait(lock, [this] { return m_stop || !m_queue.empty(); });
            if (m_stop)
                return;
            Item item = std::move(m_queue.front());
            m_queue.pop_front();
            m_busy = true;
            lock.unlock();

            // Attempts of a message the app refused before (same message id, or same body).
            auto seen = m_failures.find(item.event.eventKey);
            item.event.attempt
                = seen != m_failures.end() && item.event.redelivered ? seen->second + 1 : 1;
            const core::AppReply reply = m_handler(item.event);
            if (reply.ok()) {
                m_consecutiveFailures = 0;
                if (seen != m_failures.end())
                    m_failures.erase(seen);
            } else {
                if (m_failures.size() > 10000)
                    m_failures.clear();
                m_failures[item.event.eventKey] = item.event.attempt;
                // daprd nacks at once and the broker redelivers at once; a short, growing pause
                // keeps a failing app from being hammered (50 ms doubling to 1 s).
                const int shift = std::min(m_consecutiveFailures++, 5);
                const auto pause = std::min(std::chrono::milliseconds(50 << shift),
                                            std::chrono::milliseconds(1000));
                lock.lock();
                m_cv.wait_for(lock, pause, [this] { return m_stop || m_stopping; });
                lock.unlock();
            }
            lock.lock();
            m_busy = false;
            // One wake-up per batch: the reader takes every outcome after each wake-up.
            const bool first = m_outcomes.empty();
            m_outcomes.push_back({item.generation, item.tag, reply.ok()});
            if (first)
                m_wakeup.wake();
        }
    }

    const core::EventHandler m_handler;
    Wakeup m_wakeup;
    mutable std::mutex m_mutex;
    std::condition_variable m_cv;
    std::deque<Item> m_queue;
    std::vector<Outcome> m_outcomes;
    bool m_busy = false;
    bool m_stop = false;
    bool m_stopping = false;
    // The delivery thread's own.
    std::unordered_map<QString, int> m_failures;
    int m_consecutiveFailures = 0;
    std::thread m_thread;
};

namespace {

/**
 * @brief One consumer connection's life: deliveries to the worker, outcomes back as acks, until
 * the connection is lost (the reason) or a stop is requested and the delivery in flight is
 * settled ("").
 */
QString consume(AmqpConnection &conn, DeliveryWorker &worker, quint64 generation,
                const QString &queue, std::stop_token stop)
{
    amqp_connection_state_t c = conn.handle();
    bool stopping = false;
    Clock::time_point stopUntil;
    bool readable = true;
    Clock::time_point lastRead{};
    for (;;) {
        if (stop.stop_requested() && !stopping) {
            stopping = true;
            stopUntil = Clock::now() + STOP_DRAIN;
            worker.stopSoon(); // unacknowledged: back to the queue when the connection closes
        }
        // Deliveries are settled in tag order (the worker takes them one at a time, in order),
        // so a run of acks is one basic.ack with `multiple` for its last tag.
        uint64_t ackUpTo = 0;
        auto flushAcks = [&] {
            const int rc = ackUpTo ? amqp_basic_ack(c, CHANNEL, ackUpTo, 1) : AMQP_STATUS_OK;
            ackUpTo = 0;
            return rc;
        };
        for (const DeliveryWorker::Outcome &o : worker.takeOutcomes()) {
            if (o.generation != generation)
                continue; // that delivery's channel is gone; the broker requeued it
            if (o.acked) {
                ackUpTo = o.tag;
                continue;
            }
            int rc = flushAcks();
            if (rc == AMQP_STATUS_OK)
                rc = amqp_basic_nack(c, CHANNEL, o.tag, 0, 1);
            if (rc != AMQP_STATUS_OK)
                return AmqpConnection::statusText(rc);
        }
        if (const int rc = flushAcks(); rc != AMQP_STATUS_OK)
            return AmqpConnection::statusText(rc);
        if (stopping && (!worker.busy() || Clock::now() >= stopUntil))
            return {};
        for (const bool read = shouldRead(c, readable, &lastRead); read;) {
            amqp_envelope_t env;
            const timeval zero{0, 0};
            const amqp_rpc_reply_t r = amqp_consume_message(c, &env, &zero, 0);
            if (r.reply_type == AMQP_RESPONSE_NORMAL) {
                if (!stopping)
                    worker.push(generation, env.delivery_tag, toEvent(env, queue));
                amqp_destroy_envelope(&env);
                continue;
            }
            if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION
                && r.library_error == AMQP_STATUS_TIMEOUT)
                break;
            if (r.reply_type != AMQP_RESPONSE_LIBRARY_EXCEPTION
                || r.library_error != AMQP_STATUS_UNEXPECTED_STATE)
                return r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION
                           ? AmqpConnection::statusText(r.library_error)
                           : QStringLiteral("unexpected reply from the broker");
            // Not a delivery: the frame was put back; read it.
            amqp_frame_t frame;
            const int rc = amqp_simple_wait_frame(c, &frame);
            if (rc != AMQP_STATUS_OK)
                return AmqpConnection::statusText(rc);
            if (frame.frame_type != AMQP_FRAME_METHOD)
                continue;
            switch (frame.payload.method.id) {
            case AMQP_CHANNEL_CLOSE_METHOD:
            case AMQP_CONNECTION_CLOSE_METHOD: {
                const QString reason = AmqpConnection::closeReason(frame);
                conn.acknowledgeClose(frame);
                return QStringLiteral("the broker closed the %1: %2")
                    .arg(frame.payload.method.id == AMQP_CHANNEL_CLOSE_METHOD
                             ? QStringLiteral("channel")
                             : QStringLiteral("connection"),
                         reason);
            }
            case AMQP_BASIC_CANCEL_METHOD:
                return QStringLiteral("the broker cancelled the consumer (queue '%1' deleted?)")
                    .arg(queue);
            default: break;
            }
        }
        amqp_maybe_release_buffers(c);
        readable = waitFor(conn.fd(), worker.wakeup(), 100);
    }
}

} // namespace

RabbitMqInput::RabbitMqInput() = default;

RabbitMqInput::~RabbitMqInput()
{
    close();
}

void RabbitMqInput::setConnectionReporter(core::ConnectionReporter reporter)
{
    m_reporter = std::move(reporter);
}

Result<> RabbitMqInput::init(const core::ComponentSpec &spec)
{
    Result<RabbitMqSettings> parsed = parseRabbitMqSettings(spec, {true, false});
    if (!parsed)
        return tl::unexpected(parsed.error());
    m_settings = std::move(*parsed);
    // daprd's Init connects and declares the queue: a wrong host, password, vhost, certificate
    // or queue setting is an init error here too. read() connects again when it starts.
    AmqpResult<std::unique_ptr<AmqpConnection>> c
        = AmqpConnection::open(m_settings, AmqpConnection::Role::Probe, initBound(m_settings),
                               QStringLiteral("bindery %1 input (check)").arg(spec.name));
    if (!c)
        return fail(ErrorCode::InitFailed, c.error().message, spec.name);
    return {};
}

Result<> RabbitMqInput::read(const core::EventHandler &handler, std::stop_token stop)
{
    if (m_worker)
        return fail(ErrorCode::InvokeFailed, QStringLiteral("rabbitmq: read() called twice"));
    m_worker = std::make_shared<DeliveryWorker>(handler);
    m_worker->start();
    // A stop wakes the reader at once, not at its next 100 ms poll.
    const std::shared_ptr<DeliveryWorker> worker = m_worker;
    const std::stop_callback wakeOnStop(stop, [worker] { worker->wakeup().wake(); });
    const core::ConnectionReporter reporter = m_reporter;
    ReconnectLoop loop(reconnectOptions(m_settings),
                       [reporter](ConnectionState state, const QString &detail, int next) {
                           report(reporter, state, detail, next);
                       });
    std::unique_ptr<AmqpConnection> conn;
    const QString name = QStringLiteral("bindery %1 input").arg(m_settings.componentName);
    quint64 generation = 0;
    auto attempt = [&](int) {
        AmqpResult<std::unique_ptr<AmqpConnection>> c = AmqpConnection::open(
            m_settings, AmqpConnection::Role::Consumer, RECONNECT_BOUND_MS, name);
        if (!c)
            return c.error().permanent ? ConnectAttempt::permanent(c.error().message)
                                       : ConnectAttempt::transient(c.error().message);
        conn = std::move(*c);
        return ConnectAttempt::connected();
    };
    while (loop.connect(stop, attempt)) {
        m_worker->setGeneration(++generation);
        const QString lost = consume(*conn, *m_worker, generation, m_settings.queueName, stop);
        if (stop.stop_requested() && lost.isEmpty())
            break;
        conn->markBroken();
        conn.reset();
        if (stop.stop_requested())
            break;
        loop.connectionLost(lost);
    }
    conn.reset(); // closes politely: what is not acknowledged goes back to the queue
    loop.reportStopped();
    return {};
}

void RabbitMqInput::close()
{
    if (m_worker)
        m_worker->stopAndJoin();
    m_worker.reset(); // init() and read() may follow
}

} // namespace bindery::bindings::rabbitmq

BINDERY_BINDING(rabbitmq, bindery::bindings::rabbitmq::RabbitMqInput,
                bindery::bindings::rabbitmq::RabbitMqOutput)
