// SPDX-License-Identifier: Apache-2.0
// Output benchmark for bindings.rabbitmq (issue 10), against the real server
// (scripts/services start rabbitmq; RABBITMQ_HOST/PORT/USERNAME/PASSWORD). Prints, at 1 and 64
// in flight:
//  - POST /v1.0/bindings/out (create, answered after the publisher confirm) through binderyd,
//    closed loop over that many keep-alive connections: req/s, p50/p99, binderyd CPU/request;
//  - the floor, in the same run: a direct rabbitmq-c client publishing the same 81-byte body
//    with the same properties on one connection in confirm mode, that many unconfirmed at once;
//  - binderyd / floor (target at 64: >= 0.8).
// Env: BENCH_SECONDS (default 5), BENCH_ROUNDS (default 2: floor and binderyd alternate).
#include "rabbitmq/bench_rabbitmq_common.h"

using namespace bench;

namespace {

const std::string DATA
    = R"({"item":"widget","note":"bindery rabbitmq benchmark payload","order":123456,"qty":2})";

} // namespace

int main()
{
    const rmq::Server server;
    const double seconds = atof(env("BENCH_SECONDS", "5").c_str());
    const int rounds = atoi(env("BENCH_ROUNDS", "2").c_str());
    const std::string queue = "bench-out-" + std::to_string(time(nullptr));
    const std::string dir = rmq::componentDir("bench-rmq-out", "out", server, queue,
                                              "  - name: direction\n    value: \"output\"\n");
    Daemon d;
    if (!d.start(dir, 0)) {
        fprintf(stderr, "binderyd did not start (is RabbitMQ running? scripts/services start "
                        "rabbitmq)\n");
        return 2;
    }
    const std::string body = R"({"data":)" + DATA + R"(,"operation":"create"})";
    const std::string request = "POST /v1.0/bindings/out HTTP/1.1\r\nHost: bench\r\n"
                                "Content-Type: application/json\r\nContent-Length: "
                                + std::to_string(body.size()) + "\r\n\r\n" + body;
    amqp_connection_state_t admin = rmq::connect(server);
    amqp_connection_state_t direct = rmq::connect(server);
    rmq::confirmSelect(direct);

    printf("bench_rabbitmq_output: %.0f s per measurement, %d rounds, body %zu B, queue %s\n",
           seconds, rounds, DATA.size(), queue.c_str());
    for (int inFlight : {1, 64}) {
        double bestFloor = 0;
        double bestBindery = 0;
        for (int round = 0; round < rounds; ++round) {
            rmq::purge(admin, queue);
            const long confirmed
                = rmq::publishConfirmed(direct, queue, DATA, 0, inFlight, seconds, 1.0);
            const double floorRate = static_cast<double>(confirmed) / seconds;
            rmq::purge(admin, queue);
            const double cpu0 = cpuSeconds(d.pid());
            const LoadResult r = runLoad(d.port(), request, inFlight, seconds);
            const double cpu = cpuSeconds(d.pid()) - cpu0;
            if (r.failed) {
                fprintf(stderr, "%ld creates failed\n", r.failed);
                return 1;
            }
            printf("  %2d in flight, round %d: binderyd %8.0f req/s (p50 %6.3f ms, p99 %6.3f "
                   "ms, %3.0f us CPU/req) | direct rabbitmq-c %8.0f msg/s | %.2fx\n",
                   inFlight, round + 1, r.rps(), percentile(r.latUs, 50) / 1000,
                   percentile(r.latUs, 99) / 1000,
                   r.ok ? cpu * 1e6 / static_cast<double>(r.ok + r.failed) : 0.0, floorRate,
                   floorRate > 0 ? r.rps() / floorRate : 0.0);
            bestFloor = std::max(bestFloor, floorRate);
            bestBindery = std::max(bestBindery, r.rps());
        }
        printf("%2d in flight: binderyd %.0f req/s, floor %.0f msg/s: %.2fx%s\n", inFlight,
               bestBindery, bestFloor, bestFloor > 0 ? bestBindery / bestFloor : 0.0,
               inFlight == 64 ? " (target >= 0.8x)" : "");
    }
    rmq::deleteQueue(admin, queue);
    rmq::closeConnection(direct);
    rmq::closeConnection(admin);
    d.stop();
    return 0;
}
