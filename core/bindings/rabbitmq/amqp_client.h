// SPDX-License-Identifier: Apache-2.0
#pragma once

// A thin owner of one rabbitmq-c (0.11) connection for the RabbitMQ binding: TLS set up from PEM
// text in memory, sign-in, channel 1, the queue declaration, and readable errors. rabbitmq-c
// blocks and is not thread-safe: a connection is used by one thread at a time.

#include <memory>
#include <string>

#include <amqp.h>

#include <QString>

#include "core/bindings/rabbitmq/rabbitmq_config.h"

namespace bindery::bindings::rabbitmq {

/// The one channel each of the binding's connections uses.
inline constexpr amqp_channel_t CHANNEL = 1;

/** @brief Why a connection attempt or call failed, and whether retrying soon can help. */
struct AmqpError
{
    QString message;
    /// Bad credentials, an unknown vhost, a certificate the broker refuses, a queue declared
    /// with other settings: retrying at the reconnect pace cannot fix it.
    bool permanent = false;
};

template <typename T> using AmqpResult = tl::expected<T, AmqpError>;

/**
 * @brief One open rabbitmq-c connection with channel 1 open and the binding's queue declared.
 *
 * Threads: made on any thread, then used by one thread at a time (the binding hands it from
 * init() to its own thread). Every blocking step is bounded: the TCP/TLS connect by the URI's
 * connection_timeout (capped by the caller's bound), the AMQP handshake and each RPC by the
 * caller's bound. Destroying it closes the channel and the connection politely when it is still
 * healthy (bounded), then frees the handle.
 */
class AmqpConnection final
{
public:
    /// What the connection is for: the publisher puts channel 1 in confirm mode; the consumer
    /// sets the prefetch and starts consuming the queue.
    enum class Role { Publisher, Consumer, Probe };

    /**
     * @brief Connects, signs in (PLAIN, or EXTERNAL with a client certificate), opens channel 1
     * and declares the queue with the component's settings; then sets up `role`. A declaration
     * that conflicts with the existing queue (PRECONDITION_FAILED) names the differing field.
     * `name` is sent as the client property connection_name (shown by rabbitmqctl and the
     * management UI), e.g. "bindery orders input".
     */
    static AmqpResult<std::unique_ptr<AmqpConnection>>
    open(const RabbitMqSettings &settings, Role role, int boundMs, const QString &name);
    ~AmqpConnection();
    AmqpConnection(const AmqpConnection &) = delete;
    AmqpConnection &operator=(const AmqpConnection &) = delete;

    amqp_connection_state_t handle() const { return m_conn; }
    /// The socket, for poll(); -1 when closed.
    int fd() const;
    /// Marks the connection as broken: the destructor then skips the polite close.
    void markBroken() { m_broken = true; }
    /// Answers the broker's channel.close or connection.close with the matching close-ok.
    void acknowledgeClose(const amqp_frame_t &frame);
    /// Reopens channel 1 after the broker closed it (a channel error); confirm mode again for a
    /// publisher. Bounded by `boundMs`.
    AmqpResult<void> reopenChannel(int boundMs);

    /// "403 ACCESS_REFUSED - ...", the broker's words for a channel.close/connection.close frame.
    static QString closeReason(const amqp_frame_t &frame);
    /// A library status as text, with OpenSSL's reason when the status is a TLS one.
    static QString statusText(int status);

private:
    AmqpConnection() = default;
    AmqpResult<void> openChannel(const RabbitMqSettings &settings, int boundMs);
    AmqpResult<void> setUpRole();
    amqp_bytes_t queueBytes() const;

    amqp_connection_state_t m_conn = nullptr;
    Role m_role = Role::Probe;
    bool m_broken = false;
    std::string m_queue;
    int m_prefetch = 0;
};

/** @brief rabbitmq-c bytes as a QString (UTF-8). */
inline QString toQString(amqp_bytes_t b)
{
    return QString::fromUtf8(static_cast<const char *>(b.bytes), static_cast<qsizetype>(b.len));
}

} // namespace bindery::bindings::rabbitmq
