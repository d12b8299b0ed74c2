// SPDX-License-Identifier: Apache-2.0
// Input benchmark for bindings.rabbitmq (issue 10), against the real server
// (scripts/services start rabbitmq). A queue pre-filled with BENCH_MESSAGES (100,000) messages is
// delivered to a trivial app (an epoll server answering 200 at once):
//  - the floor: a direct rabbitmq-c consumer (manual ack, the same prefetch) that makes the same
//    HTTP call for each message on one keep-alive connection, then acks it;
//  - binderyd with a bindings.rabbitmq input (direction: input, the same prefetch);
// both measured between 5% and 95% of the messages; prints events/s, binderyd's CPU per event
// and binderyd / floor (target >= 0.8). Env: BENCH_MESSAGES, BENCH_PREFETCH (default 0, daprd's
// default: no limit), BENCH_ROUNDS (default 2).
#include <algorithm>

#include "core/epoll_http.h"
#include "rabbitmq/bench_rabbitmq_common.h"

using namespace bench;

namespace {

const std::string DATA
    = R"({"item":"widget","note":"bindery rabbitmq benchmark payload","order":123456,"qty":2})";

/// Seconds between the app having served `from` and `to` messages (polls every 1 ms).
double timeBetween(const bindery::bench::TrivialApp &app, uint64_t base, long from, long to,
                   double timeoutSeconds, long *reached)
{
    const auto deadline = Clock::now()
                          + std::chrono::duration_cast<Clock::duration>(
                              std::chrono::duration<double>(timeoutSeconds));
    Clock::time_point start{};
    bool started = false;
    for (;;) {
        const long served = static_cast<long>(app.served() - base);
        *reached = served;
        if (!started && served >= from) {
            start = Clock::now();
            started = true;
        }
        if (served >= to)
            return std::chrono::duration<double>(Clock::now() - start).count();
        if (Clock::now() > deadline)
            return -1;
        usleep(1000);
    }
}

/// The floor: consume, POST the body to the app, ack; until `n` are acked.
void directConsume(const rmq::Server &server, const std::string &queue, int appPort, long n,
                   int prefetch)
{
    amqp_connection_state_t c = rmq::connect(server);
    amqp_basic_qos(c, 1, 0, static_cast<uint16_t>(prefetch), 1);
    rmq::die("basic.qos", amqp_get_rpc_reply(c));
    amqp_basic_consume(c, 1, amqp_cstring_bytes(queue.c_str()), amqp_empty_bytes, 0, 0, 0,
                       amqp_empty_table);
    rmq::die("basic.consume", amqp_get_rpc_reply(c));
    int fd = -1;
    const std::string head = "POST /in HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(appPort)
                             + "\r\nContent-Type: application/json\r\nContent-Length: ";
    for (long done = 0; done < n;) {
        amqp_envelope_t env;
        const amqp_rpc_reply_t r = amqp_consume_message(c, &env, nullptr, 0);
        if (r.reply_type != AMQP_RESPONSE_NORMAL) {
            fprintf(stderr, "consume failed\n");
            exit(2);
        }
        const std::string body(static_cast<const char *>(env.message.body.bytes),
                               env.message.body.len);
        const int status
            = blockingRequest(fd, appPort, head + std::to_string(body.size()) + "\r\n\r\n" + body);
        if (status >= 200 && status < 300) {
            amqp_basic_ack(c, 1, env.delivery_tag, 0);
            ++done;
        } else {
            amqp_basic_nack(c, 1, env.delivery_tag, 0, 1);
        }
        amqp_destroy_envelope(&env);
        amqp_maybe_release_buffers(c);
    }
    if (fd >= 0)
        close(fd);
    rmq::closeConnection(c);
}

} // namespace

int main()
{
    const rmq::Server server;
    const long messages = atol(env("BENCH_MESSAGES", "100000").c_str());
    const int prefetch = atoi(env("BENCH_PREFETCH", "0").c_str());
    const int rounds = atoi(env("BENCH_ROUNDS", "2").c_str());
    const long from = messages / 20;
    const long to = messages - messages / 20;
    const std::string queue = "bench-in-" + std::to_string(time(nullptr));
    bindery::bench::TrivialApp app;
    amqp_connection_state_t admin = rmq::connect(server);
    rmq::declare(admin, queue);
    amqp_connection_state_t filler = rmq::connect(server);
    rmq::confirmSelect(filler);
    const std::string dir = rmq::componentDir(
        "bench-rmq-in", "in", server, queue,
        "  - name: direction\n    value: \"input\"\n  - name: prefetchCount\n    value: \""
            + std::to_string(prefetch) + "\"\n");
    printf("bench_rabbitmq_input: %ld messages of %zu B, prefetch %d, measured from %ld to %ld\n",
           messages, DATA.size(), prefetch, from, to);
    double bestFloor = 0;
    double bestBindery = 0;
    for (int round = 0; round < rounds; ++round) {
        rmq::purge(admin, queue);
        rmq::publishConfirmed(filler, queue, DATA, messages, 256);
        long reached = 0;
        uint64_t base = app.served();
        std::thread floorThread(
            [&] { directConsume(server, queue, app.port(), messages, prefetch); });
        const double floorSeconds = timeBetween(app, base, from, to, 300, &reached);
        floorThread.join();
        const double floorRate = floorSeconds > 0 ? (to - from) / floorSeconds : 0;

        rmq::purge(admin, queue);
        rmq::publishConfirmed(filler, queue, DATA, messages, 256);
        base = app.served();
        Daemon d;
        if (!d.start(dir, app.port())) {
            fprintf(stderr, "binderyd did not start\n");
            return 2;
        }
        const double cpu0 = cpuSeconds(d.pid());
        const double binderySeconds = timeBetween(app, base, from, to, 300, &reached);
        const double cpu = cpuSeconds(d.pid()) - cpu0;
        long left = 0;
        for (int i = 0; i < 3000 && (left = rmq::messageCount(admin, queue)) > 0; ++i)
            usleep(10000);
        d.stop();
        if (binderySeconds < 0) {
            fprintf(stderr, "binderyd delivered only %ld messages\n", reached);
            return 1;
        }
        const double binderyRate = (to - from) / binderySeconds;
        printf("  round %d: binderyd %8.0f events/s (%.1f us CPU/event, %ld left in the queue) | "
               "direct consume+POST+ack %8.0f events/s | %.2fx\n",
               round + 1, binderyRate, cpu * 1e6 / static_cast<double>(to), left, floorRate,
               floorRate > 0 ? binderyRate / floorRate : 0.0);
        bestFloor = std::max(bestFloor, floorRate);
        bestBindery = std::max(bestBindery, binderyRate);
    }
    printf("input: binderyd %.0f events/s, floor %.0f events/s: %.2fx (target >= 0.8x)\n",
           bestBindery, bestFloor, bestFloor > 0 ? bestBindery / bestFloor : 0.0);
    rmq::deleteQueue(admin, queue);
    rmq::closeConnection(filler);
    rmq::closeConnection(admin);
    return 0;
}
