// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <QList>
#include <QPair>
#include <QRegularExpression>
#include <QString>
#include <QStringList>

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
    QStringList brokers; ///< host:port, scheme dropped
    QStringList topics;
    QString publishTopic;
    QString consumerGroup;
    QString clientId = QStringLiteral("bindery");
    bool oldest = false; ///< initialOffset == oldest
    QString authType = QStringLiteral("none");
    QString saslUsername;
    QString saslPassword;
    QString saslMechanism = QStringLiteral("PLAIN"); ///< librdkafka's name
    QString caCert;
    QString clientCert;
    QString clientKey;
    bool skipVerify = false;
    bool disableTls = false;
    qint64 maxMessageBytes = 0; ///< 0 = librdkafka default
    bool consumeRetryEnabled = false;
    qint64 consumeRetryIntervalMs = 100;
    qint64 heartbeatIntervalMs = 3000;
    qint64 sessionTimeoutMs = 10000;
    qint64 dialTimeoutMs = 30000;
    qint64 deliveryTimeoutMs = 10000;
    double lingerMs = 1;
    QString compression = QStringLiteral("none");
    QString acks = QStringLiteral("all"); ///< librdkafka's value: all, 1, 0
    int producerRetryMax = 5;
    QRegularExpression excludeHeaderMeta; ///< invalid (empty pattern) = exclude nothing
    bool escapeHeaders = false;
    QString assignmentStrategy = QStringLiteral("range");
    qint64 metadataRefreshMs = 9 * 60 * 1000;
    bool keepAlive = false;
    int initTimeoutMs = 5000; ///< the component's initTimeout; bounds the connectivity check
    QStringList warnings;
};

/** @brief Parses and checks the metadata; errors name the field and say what to write. */
[[nodiscard]] Result<KafkaSettings> parseKafkaSettings(const core::ComponentSpec &spec);

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
