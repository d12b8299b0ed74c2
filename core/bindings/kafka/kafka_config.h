// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <QList>
#include <QPair>
#include <QRegularExpression>
#include <QString>
#include <QStringList>

#include "core/binding_metadata.h"
#include "core/component_spec.h"
#include "core/result.h"

struct rd_kafka_conf_s;

namespace bindery::bindings::kafka {

/**
 * @brief The component metadata of a bindings.kafka component, parsed and checked.
 *
 * A value type produced on the runtime thread by parseKafkaSettings(); read-only afterwards.
 */
struct KafkaSettings
{
    QString componentName;
    QString errorPrefix = QStringLiteral("kafka"); ///< starts every error message
    QString authHint;    ///< appended to an authentication failure (e.g. Event Hubs' sign-in)
    QStringList brokers; ///< host:port, scheme dropped
    QStringList topics;
    QString publishTopic;
    QString consumerGroup;
    QString clientId;
    bool oldest = false; ///< initialOffset == oldest
    QString authType;
    QString saslUsername;
    QString saslPassword;
    QString saslMechanism; ///< librdkafka's name (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512)
    QByteArray caCert;     ///< PEM
    QByteArray clientCert; ///< PEM
    QByteArray clientKey;  ///< PEM
    bool skipVerify = false;
    bool disableTls = false;
    qint64 maxMessageBytes = 0; ///< 0 = librdkafka default
    bool consumeRetryEnabled = false;
    qint64 consumeRetryIntervalMs = 0;
    qint64 heartbeatIntervalMs = 0;
    qint64 sessionTimeoutMs = 0;
    qint64 dialTimeoutMs = 0;
    qint64 deliveryTimeoutMs = 0;
    double lingerMs = 0;
    bool lingerSet = false; ///< the component sets lingerMs; otherwise the producer adapts
    QString compression;
    QString acks; ///< librdkafka's value: all, 1, 0
    int producerRetryMax = 0;
    QRegularExpression excludeHeaderMeta; ///< invalid (empty pattern) = exclude nothing
    bool escapeHeaders = false;
    QString assignmentStrategy; ///< librdkafka's name
    qint64 metadataRefreshMs = 0;
    bool keepAlive = false;
    int initTimeoutMs = 5000; ///< the component's initTimeout; bounds the connectivity check
    QStringList warnings;
};

/**
 * @brief Reads the metadata through the schema-driven reader (defaults, allowed values and
 * aliases live in metadata.yaml only) and checks the combinations; errors name the file, line and
 * field. `directions` says which instance is being set up (required fields per direction).
 */
[[nodiscard]] Result<KafkaSettings> parseKafkaSettings(const core::ComponentSpec &spec,
                                                       core::Directions directions);

/**
 * @brief Parses one `brokers` entry. A `scheme://` prefix and a trailing `/` are dropped and
 * reported through `schemeDropped`; anything else that is not host:port is an error message.
 */
[[nodiscard]] Result<QString> parseBrokerAddress(const QString &entry, bool *schemeDropped);

/** @brief Connection/auth settings common to producer and consumer. */
[[nodiscard]] Result<> applyCommonConfig(rd_kafka_conf_s *conf, const KafkaSettings &s);

/** @brief Sets one librdkafka property; the error names the property. */
[[nodiscard]] Result<> setConf(rd_kafka_conf_s *conf, const char *name, const QString &value);

/** @brief Go's url.QueryEscape (space becomes '+'). */
QString queryEscape(const QByteArray &value);

} // namespace bindery::bindings::kafka
