// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "core/binding.h"
#include "core/bindings/kafka/kafka_config.h"

struct rd_kafka_s;
struct rd_kafka_message_s;
struct rd_kafka_topic_partition_list_s;

namespace bindery::bindings::kafka {

struct ClientState;

/**
 * @brief bindings.kafka output: asynchronous produce to publishTopic, answered from the delivery
 * report.
 *
 * init(), invoke() and close() are called on the runtime thread; invoke() never blocks (librdkafka
 * queues the record). Every InvokeDone is called exactly once: synchronously from invoke() when
 * librdkafka refuses the record outright (e.g. queue full), otherwise from the delivery report.
 *
 * Delivery reports are served on the thread that calls invoke() (the API thread) when it runs an
 * event loop: librdkafka signals a pipe when its report queue becomes non-empty and a
 * QSocketNotifier drains it there, so the HTTP answer is written without a hop through another
 * thread (one wake-up less per request: the p99 of bench_kafka_output's added latency). Until the
 * first invoke, and on threads without an event loop, a poll std::jthread serves them.
 */
class KafkaOutput final : public core::OutputBinding
{
public:
    KafkaOutput();
    ~KafkaOutput() override;
    Result<> init(const core::ComponentSpec &spec) override;
    QStringList operations() const override;
    void invoke(core::InvokeRequest request, core::InvokeDone done) override;
    void close() override;
    QStringList initWarnings() const override { return m_settings.warnings; }

private:
    KafkaSettings m_settings;
    std::unique_ptr<ClientState> m_state;
    rd_kafka_s *m_rk = nullptr;
    void serveReportsOnThisThread();

    std::unique_ptr<std::jthread> m_poller;
    std::atomic<bool> m_pollerPaused{false};
    std::atomic<bool> m_closed{false};
    struct HomePoll;
    std::shared_ptr<HomePoll> m_home; ///< set once reports are served on the invoking thread
};

class PartitionWorker;

/**
 * @brief bindings.kafka input: one consumer-group member reading `topics`.
 *
 * read() runs on the runtime's reader thread: it serves rebalances and errors with
 * rd_kafka_consumer_poll (≤ 100 ms per call). Each assigned partition gets its own worker thread
 * that consumes the partition's queue in order and calls the EventHandler (partitions in
 * parallel); an offset is stored (and auto-committed) only after the app answered 2xx.
 */
class KafkaInput final : public core::InputBinding
{
public:
    KafkaInput();
    ~KafkaInput() override;
    Result<> init(const core::ComponentSpec &spec) override;
    Result<> read(const core::EventHandler &handler, std::stop_token stop) override;
    void close() override;
    QStringList initWarnings() const override { return m_settings.warnings; }

    /// Called from librdkafka's rebalance callback (inside read()'s poll, reader thread).
    void onRebalance(int err, rd_kafka_topic_partition_list_s *partitions);

private:
    void startWorkers(rd_kafka_topic_partition_list_s *partitions);
    void stopWorkers(rd_kafka_topic_partition_list_s *partitions); // nullptr = all
    void closeConsumer();                                          // bounded (≤ 5 s), idempotent

    KafkaSettings m_settings;
    std::unique_ptr<ClientState> m_state;
    rd_kafka_s *m_rk = nullptr;
    core::EventHandler m_handler;
    std::map<std::pair<std::string, int>, std::shared_ptr<PartitionWorker>> m_workers;
    std::vector<std::shared_ptr<PartitionWorker>> m_lingering; ///< revoked but still delivering
    bool m_consumerClosed = false;
    bool m_closed = false;
};

} // namespace bindery::bindings::kafka
