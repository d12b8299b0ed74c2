// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <QString>

#include "core/bindings/kafka/kafka_config.h"
#include "core/component_spec.h"
#include "core/result.h"

namespace bindery::bindings::azure_eventhubs {

/** @brief The parts of an Event Hubs connection string Bindery uses. A value type. */
struct ConnectionString
{
    QString host;       ///< <namespace>.servicebus.windows.net
    int port = 9093;    ///< the Kafka endpoint; an explicit port in Endpoint wins
    QString entityPath; ///< the event hub, when the string names one
    QString keyName;    ///< SharedAccessKeyName (for messages only)
};

/**
 * @brief Parses `Endpoint=sb://<ns>.servicebus.windows.net[:port]/;SharedAccessKeyName=…;
 * SharedAccessKey=…[;EntityPath=<hub>]` (keys case-insensitive, values may hold '='). The error
 * message never contains the key.
 */
[[nodiscard]] Result<ConnectionString> parseConnectionString(const QString &text);

/**
 * @brief Reads a bindings.azure.eventhubs component through its schema and turns it into the
 * Kafka client's settings: bootstrap `<host>:9093`, SASL_SSL, PLAIN, user `$ConnectionString`,
 * the connection string as password, the event hub as topic, the consumer group as Kafka group,
 * and the client tuning Microsoft documents for Event Hubs' Kafka endpoint. Runtime thread.
 */
struct EventHubsSettings
{
    kafka::KafkaSettings kafka;
    bool allProperties = false; ///< getAllMessageProperties
};
[[nodiscard]] Result<EventHubsSettings> parseEventHubsSettings(const core::ComponentSpec &spec,
                                                               core::Directions directions);

} // namespace bindery::bindings::azure_eventhubs
