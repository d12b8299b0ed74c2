// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "core/binding.h"
#include "core/bindings/kafka/kafka_client.h"
#include "core/bindings/kafka/kafka_config.h"

namespace bindery::bindings::kafka {

/**
 * @brief bindings.kafka output: `create` produces the request data to publishTopic, answered from
 * the delivery report (KafkaProducer).
 *
 * init() and close() run on the runtime thread; invoke() on any thread and never blocks. The
 * request maps to the record as daprd's does: `partitionKey` (else `__key`) is the key,
 * `partitionNumber` the partition, every metadata entry a header unless excludeHeaderMetaRegex
 * matches it; data that is exactly `null` (missing or null in the request) is a tombstone (issue
 * 9.2); a `traceparent` header is on every record, the caller's or a new one (issue 9.10).
 */
class KafkaOutput final : public core::OutputBinding
{
public:
    Result<> init(const core::ComponentSpec &spec) override;
    QStringList operations() const override;
    void invoke(core::InvokeRequest request, core::InvokeDone done) override;
    void close() override;
    QStringList initWarnings() const override { return m_settings.warnings; }

private:
    KafkaSettings m_settings;
    KafkaProducer m_producer;
};

/**
 * @brief bindings.kafka input: one consumer-group member reading `topics` (KafkaConsumer).
 *
 * A record reaches the app with daprd's metadata: `__key`, `__offset`, `__topic`, `__timestamp`,
 * `__partition` and every record header (so a record's `traceparent` too); a tombstone arrives as
 * the body `null`.
 */
class KafkaInput final : public core::InputBinding
{
public:
    Result<> init(const core::ComponentSpec &spec) override;
    Result<> read(const core::EventHandler &handler, std::stop_token stop) override;
    void close() override;
    QStringList initWarnings() const override { return m_settings.warnings; }

private:
    KafkaSettings m_settings;
    KafkaConsumer m_consumer;
};

} // namespace bindery::bindings::kafka
