// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "core/binding.h"
#include "core/bindings/azure_eventhubs/eventhubs_config.h"
#include "core/bindings/kafka/kafka_client.h"

namespace bindery::bindings::azure_eventhubs {

/**
 * @brief bindings.azure.eventhubs output over Event Hubs' Kafka endpoint: `create` sends the data
 * as one event, `partitionKey` as the record key, `contentType` as the header `content-type`, and
 * a `traceparent` header (the caller's or a new one). 204 after Event Hubs acknowledged it.
 *
 * The transport is the Kafka binding's KafkaProducer; a second transport (AMQP 1.0) would be a
 * second implementation behind the same two classes. Threads as kafka::KafkaProducer.
 */
class EventHubsOutput final : public core::OutputBinding
{
public:
    Result<> init(const core::ComponentSpec &spec) override;
    QStringList operations() const override;
    void invoke(core::InvokeRequest request, core::InvokeDone done) override;
    void close() override;
    QStringList initWarnings() const override { return m_settings.kafka.warnings; }

private:
    EventHubsSettings m_settings;
    kafka::KafkaProducer m_producer;
};

/**
 * @brief bindings.azure.eventhubs input: a member of the event hub's consumer group (Kafka
 * consumer group) that delivers each event with daprd's `x-opt-*` headers where the meaning
 * carries over (README: "Azure Event Hubs"). Offsets are committed after the app's 2xx; an error
 * answer is retried. Threads as kafka::KafkaConsumer.
 */
class EventHubsInput final : public core::InputBinding
{
public:
    Result<> init(const core::ComponentSpec &spec) override;
    Result<> read(const core::EventHandler &handler, std::stop_token stop) override;
    void close() override;
    QStringList initWarnings() const override { return m_settings.kafka.warnings; }

private:
    EventHubsSettings m_settings;
    kafka::KafkaConsumer m_consumer;
};

} // namespace bindery::bindings::azure_eventhubs
