// SPDX-License-Identifier: Apache-2.0
// Shared pieces of the RabbitMQ benchmarks: the server's address from the environment, a direct
// rabbitmq-c connection (the floor), queue helpers and the component file. The HTTP load
// generator, binderyd launching and percentiles come from bench/kafka/bench_common.h.
#pragma once

#include <amqp.h>
#include <amqp_tcp_socket.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "kafka/bench_common.h"

namespace bench::rmq {

/// RABBITMQ_HOST / RABBITMQ_PORT / RABBITMQ_USERNAME / RABBITMQ_PASSWORD, vhost "/".
struct Server
{
    std::string host = env("RABBITMQ_HOST", "127.0.0.1");
    int port = atoi(env("RABBITMQ_PORT", "5680").c_str());
    std::string user = env("RABBITMQ_USERNAME", "bindery");
    std::string password = env("RABBITMQ_PASSWORD", "bindery-secret");
    std::string url() const
    {
        return "amqp://" + user + ":" + password + "@" + host + ":" + std::to_string(port) + "/";
    }
};

inline void die(const char *what, amqp_rpc_reply_t r)
{
    if (r.reply_type == AMQP_RESPONSE_NORMAL)
        return;
    fprintf(stderr, "%s failed (reply type %d, library error %s)\n", what, r.reply_type,
            amqp_error_string2(r.library_error));
    exit(2);
}

/// One direct rabbitmq-c connection with channel 1 open: the floor's client.
inline amqp_connection_state_t connect(const Server &s)
{
    amqp_connection_state_t c = amqp_new_connection();
    amqp_socket_t *sock = amqp_tcp_socket_new(c);
    if (amqp_socket_open(sock, s.host.c_str(), s.port) != AMQP_STATUS_OK) {
        fprintf(stderr, "cannot connect to RabbitMQ at %s:%d (scripts/services start rabbitmq)\n",
                s.host.c_str(), s.port);
        exit(2);
    }
    die("login", amqp_login(c, "/", AMQP_DEFAULT_MAX_CHANNELS, AMQP_DEFAULT_FRAME_SIZE, 10,
                            AMQP_SASL_METHOD_PLAIN, s.user.c_str(), s.password.c_str()));
    amqp_channel_open(c, 1);
    die("channel.open", amqp_get_rpc_reply(c));
    return c;
}

inline void closeConnection(amqp_connection_state_t c)
{
    amqp_channel_close(c, 1, AMQP_REPLY_SUCCESS);
    amqp_connection_close(c, AMQP_REPLY_SUCCESS);
    amqp_destroy_connection(c);
}

inline void declare(amqp_connection_state_t c, const std::string &queue)
{
    amqp_queue_declare(c, 1, amqp_cstring_bytes(queue.c_str()), 0, 0, 0, 0, amqp_empty_table);
    die("queue.declare", amqp_get_rpc_reply(c));
}

inline void purge(amqp_connection_state_t c, const std::string &queue)
{
    amqp_queue_purge(c, 1, amqp_cstring_bytes(queue.c_str()));
    die("queue.purge", amqp_get_rpc_reply(c));
}

inline void deleteQueue(amqp_connection_state_t c, const std::string &queue)
{
    amqp_queue_delete(c, 1, amqp_cstring_bytes(queue.c_str()), 0, 0);
    die("queue.delete", amqp_get_rpc_reply(c));
}

/// The messages in `queue` now (a passive declare).
inline long messageCount(amqp_connection_state_t c, const std::string &queue)
{
    amqp_queue_declare_ok_t *ok
        = amqp_queue_declare(c, 1, amqp_cstring_bytes(queue.c_str()), 1, 0, 0, 0, amqp_empty_table);
    die("queue.declare passive", amqp_get_rpc_reply(c));
    return ok ? static_cast<long>(ok->message_count) : -1;
}

/// Publishes copies of `body` to `queue` with the binding's properties (text/plain, persistent,
/// mandatory), keeping up to `window` unconfirmed, until `n` are confirmed or, when `seconds` > 0,
/// until warmup + seconds have passed. Returns the confirms counted (those after the warm-up when
/// timed). The channel must be in confirm mode.
inline long publishConfirmed(amqp_connection_state_t c, const std::string &queue,
                             const std::string &body, long n, int window, double seconds = 0,
                             double warmup = 0)
{
    amqp_basic_properties_t props{};
    props._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG;
    props.content_type = amqp_cstring_bytes("text/plain");
    props.delivery_mode = AMQP_DELIVERY_PERSISTENT;
    const amqp_bytes_t payload{body.size(), const_cast<char *>(body.data())};
    const auto start = Clock::now();
    const auto measureFrom
        = start
          + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(warmup));
    const auto end
        = measureFrom
          + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
    long sent = 0;
    long confirmed = 0;
    long counted = 0;
    bool sending = true;
    while (confirmed < sent || sending) {
        const auto now = Clock::now();
        sending = seconds > 0 ? now < end : sent < n;
        while (sending && sent - confirmed < window && (seconds > 0 || sent < n)) {
            if (amqp_basic_publish(c, 1, amqp_empty_bytes, amqp_cstring_bytes(queue.c_str()), 1, 0,
                                   &props, payload)
                != AMQP_STATUS_OK) {
                fprintf(stderr, "publish failed\n");
                exit(2);
            }
            ++sent;
        }
        if (confirmed == sent)
            continue;
        amqp_frame_t f;
        if (amqp_simple_wait_frame(c, &f) != AMQP_STATUS_OK) {
            fprintf(stderr, "connection lost\n");
            exit(2);
        }
        if (f.frame_type == AMQP_FRAME_METHOD && f.payload.method.id == AMQP_BASIC_ACK_METHOD) {
            const auto *ack = static_cast<amqp_basic_ack_t *>(f.payload.method.decoded);
            const long upTo = static_cast<long>(ack->delivery_tag);
            const long now2 = ack->multiple ? upTo : confirmed + 1;
            const auto t = Clock::now();
            if (seconds <= 0 || (t >= measureFrom && t < end))
                counted += now2 - confirmed;
            confirmed = now2;
        }
        amqp_maybe_release_buffers(c);
    }
    return counted;
}

inline void confirmSelect(amqp_connection_state_t c)
{
    amqp_confirm_select(c, 1);
    die("confirm.select", amqp_get_rpc_reply(c));
}

/// A bindings.rabbitmq component file in a fresh temporary folder; returns the folder.
inline std::string componentDir(const char *stem, const std::string &name, const Server &s,
                                const std::string &queue, const std::string &extraItems)
{
    std::string dirTemplate = "/tmp/" + std::string(stem) + "-XXXXXX";
    const std::string dir = mkdtemp(dirTemplate.data());
    const std::string yaml
        = "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: " + name
          + "\nspec:\n  type: bindings.rabbitmq\n  version: v1\n  metadata:\n"
            "  - name: host\n    value: \""
          + s.url() + "\"\n  - name: queueName\n    value: \"" + queue + "\"\n" + extraItems;
    writeFile(dir + "/c.yaml", yaml);
    return dir;
}

} // namespace bench::rmq
