// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include <QByteArray>
#include <QList>
#include <QPair>
#include <QString>

#include "core/binding.h"
#include "core/bindings/kafka/kafka_config.h"

struct rd_kafka_s;
struct rd_kafka_topic_partition_list_s;

namespace bindery::bindings::kafka {

struct ClientState;

/** @brief One record to produce, already mapped from an InvokeRequest by the binding. */
struct ProduceRecord
{
    QByteArray value;
    bool tombstone = false; ///< a NULL value (issue 9.2): `value` is ignored
    QByteArray key;
    bool hasKey = false;
    int partition = -1; ///< -1: the partitioner picks it (from the key)
    QList<QPair<QByteArray, QByteArray>> headers;
};

/** @brief A W3C `traceparent` with a new random trace id and span id (sampled). Any thread. */
QByteArray newTraceparent();
/** @brief True when `value` has the shape of a W3C traceparent (version 00, non-zero ids). */
bool isTraceparent(const QString &value);

/**
 * @brief The asynchronous producer both bindings.kafka and bindings.azure.eventhubs use.
 *
 * open() and close() run on the runtime thread; produce() may be called from any thread and never
 * blocks (librdkafka queues the record). Every InvokeDone is called exactly once: synchronously
 * from produce() when librdkafka refuses the record outright, otherwise from the delivery report.
 *
 * Delivery reports are served on the thread that calls produce() (the API thread) when it runs an
 * event loop: librdkafka signals a pipe when its report queue becomes non-empty and a
 * QSocketNotifier drains it there, so the HTTP answer is written without a hop through another
 * thread. Until the first produce, and on threads without an event loop, a poll thread serves them.
 *
 * Adaptive batching (issue 16.2): unless the component sets `lingerMs`, the producer runs with
 * linger.ms 0 and one produce request in flight per broker connection: a record goes out at once
 * when nothing is in flight, and records that arrive while a request is in flight wait for its
 * answer and then go out together. One request in flight also means a retry can never reorder
 * records of one partition (and so of one key).
 */
class KafkaProducer final
{
public:
    KafkaProducer();
    ~KafkaProducer();
    KafkaProducer(const KafkaProducer &) = delete;
    KafkaProducer &operator=(const KafkaProducer &) = delete;

    [[nodiscard]] Result<> open(const KafkaSettings &settings);
    void produce(ProduceRecord record, core::InvokeDone done);
    void close();
    bool isOpen() const { return m_rk != nullptr && !m_closed; }

private:
    void serveReportsOnThisThread();

    KafkaSettings m_settings;
    QByteArray m_topic;
    std::unique_ptr<ClientState> m_state;
    rd_kafka_s *m_rk = nullptr;
    std::unique_ptr<std::jthread> m_poller;
    std::atomic<bool> m_pollerPaused{false};
    std::atomic<bool> m_closed{false};
    struct HomePoll;
    std::shared_ptr<HomePoll> m_home; ///< set once reports are served on the invoking thread
};

/** @brief A consumed record as the record mapper sees it; valid only during the call. */
struct ConsumedRecord
{
    QString topic;
    int partition = 0;
    qint64 offset = 0;
    qint64 timestampMs = -1; ///< -1 when the record has none
    bool logAppendTime = false;
    const char *key = nullptr; ///< null when the record has no key
    size_t keyLen = 0;
    const char *value = nullptr; ///< null for a tombstone
    size_t valueLen = 0;
    QList<QPair<QByteArray, QByteArray>> headers;
};

/** @brief Fills a BindingEvent's data, content type and metadata from a record. */
using RecordMapper = std::function<void(const ConsumedRecord &record, core::BindingEvent &event)>;

class PartitionWorker;

/**
 * @brief The consumer-group member both bindings.kafka and bindings.azure.eventhubs use.
 *
 * open() runs on the runtime thread; read() on the runtime's reader thread: it serves rebalances
 * and errors with rd_kafka_consumer_poll (≤ 100 ms per call) and commits. Each assigned partition
 * gets its own worker thread that consumes the partition's queue in order and calls the
 * EventHandler (partitions in parallel).
 *
 * Delivery (issue 14.7): a record the app acknowledged (2xx) is done. A record the app did not
 * answer (connection refused or reset, timeout) is never dropped: its partition stops there and
 * the delivery is retried with backoff until the app answers. A non-2xx answer follows daprd:
 * retried when `consumeRetryEnabled`, else dropped (logged with exact counts) and a later
 * acknowledgement commits past it.
 *
 * Commits (issue 14.8): acknowledged offsets are committed by read() every 250 ms, when a
 * partition is revoked, and at close; the commit carries the partition's delivered high-water
 * mark as its metadata. After a restart or a lost assignment, a record below that mark (or below
 * what this process already delivered) is marked `redelivered`. A partition that comes back after
 * a lost assignment restarts from this process's own acknowledged offset when that is ahead of
 * the group's commit, so a broker outage redelivers nothing that was acknowledged.
 *
 * A partition the group has never committed starts, with initialOffset newest, at the first
 * record written after open() (not at the end of the log when the assignment arrives).
 */
class KafkaConsumer final
{
public:
    KafkaConsumer();
    ~KafkaConsumer();
    KafkaConsumer(const KafkaConsumer &) = delete;
    KafkaConsumer &operator=(const KafkaConsumer &) = delete;

    [[nodiscard]] Result<> open(const KafkaSettings &settings, RecordMapper mapper);
    [[nodiscard]] Result<> read(const core::EventHandler &handler, std::stop_token stop);
    void close();

    /// Called from librdkafka's rebalance callback (inside read()'s poll, reader thread).
    void onRebalance(int err, rd_kafka_topic_partition_list_s *partitions);
    /// Called from librdkafka's offset-commit callback (reader thread).
    void onCommitted(int err, rd_kafka_topic_partition_list_s *offsets);

private:
    using Key = std::pair<std::string, int>;
    /// What this process knows about a partition, kept across assignments.
    struct Memory
    {
        qint64 acked = -1;     ///< next offset to commit (last acknowledged + 1)
        qint64 delivered = -1; ///< last delivered + 1
    };
    void startWorkers(rd_kafka_topic_partition_list_s *partitions);
    void stopWorkers(rd_kafka_topic_partition_list_s *partitions, bool commit); // nullptr = all
    void commitAcked(bool sync);
    void reportDrops(bool force);
    void closeConsumer(); // bounded (≤ 5 s), idempotent

    KafkaSettings m_settings;
    RecordMapper m_mapper;
    std::unique_ptr<ClientState> m_state;
    rd_kafka_s *m_rk = nullptr;
    core::EventHandler m_handler;
    std::map<Key, std::shared_ptr<PartitionWorker>> m_workers;
    std::map<Key, Memory> m_memory;
    std::map<Key, qint64> m_committed; ///< last commit sent per partition (reader thread)
    std::vector<std::shared_ptr<PartitionWorker>> m_lingering; ///< revoked but still delivering
    std::shared_ptr<std::atomic<qint64>> m_dropped;
    qint64 m_startedMs = 0; ///< open() time: where a new group starts with initialOffset newest
    qint64 m_droppedReported = 0;
    qint64 m_lastDropReportMs = 0;
    bool m_consumerClosed = false;
    bool m_closed = false;
};

} // namespace bindery::bindings::kafka
