// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <QByteArray>
#include <QMap>
#include <QString>
#include <QStringList>

#include "core/binding_metadata.h"
#include "core/component_spec.h"
#include "core/result.h"

namespace bindery::bindings::rabbitmq {

/**
 * @brief An AMQP URI read as daprd's client (Go amqp091) reads it:
 * `amqp://user:pass@host:port/vhost`.
 *
 * The path is the virtual host without its leading '/': `amqp://h:5672/` and `amqp://h:5672`
 * both mean the vhost "/" (rabbitmq-c's own amqp_parse_url reads the first as the empty vhost,
 * whose login fails), `%2F` is a vhost named "/". User and password are percent-decoded and
 * default to guest; the port defaults to 5672 (amqps: 5671). A value type.
 */
struct AmqpUri
{
    bool tls = false;
    std::string host = "localhost";
    int port = 5672;
    std::string user = "guest";
    std::string password = "guest";
    std::string vhost = "/";
    int heartbeatSeconds = 10;             ///< amqp091's default; `heartbeat` query parameter
    int connectTimeoutMs = 30000;          ///< `connection_timeout` (ms)
    bool externalAuth = false;             ///< `auth_mechanism=external`
    QString caCertFile, certFile, keyFile; ///< `cacertfile`, `certfile`, `keyfile`
    QStringList ignoredParameters;         ///< query parameters Bindery does not use

    /// host:port/vhost, for messages (never the password).
    QString display() const;
};

/** @brief Parses `host` as amqp091's ParseURI does; the error says what is wrong, not the value. */
[[nodiscard]] Result<AmqpUri> parseAmqpUri(const QString &uri);

/**
 * @brief The component metadata of a bindings.rabbitmq component, parsed and checked.
 *
 * A value type produced on the thread that runs init(); read-only afterwards.
 */
struct RabbitMqSettings
{
    QString componentName;
    AmqpUri uri;
    QString queueName;
    bool durable = false;
    bool deleteWhenUnused = false;
    bool exclusive = false;
    int prefetchCount = 0;
    std::optional<int> maxPriority;   ///< x-max-priority
    std::optional<qint64> queueTtlMs; ///< x-message-ttl
    QString contentType;              ///< default content-type of published messages
    qint64 reconnectWaitMs = 5000;
    qint64 publishTimeoutMs = 10000;
    QByteArray caCert, clientCert, clientKey; ///< PEM
    bool externalSasl = false;
    int initTimeoutMs = 5000; ///< the component's initTimeout; bounds connecting at init
    QStringList warnings;
};

/**
 * @brief Reads the metadata through the schema-driven reader (defaults, aliases and types live in
 * metadata.yaml only) and checks the combinations; errors name the file, line and field.
 */
[[nodiscard]] Result<RabbitMqSettings> parseRabbitMqSettings(const core::ComponentSpec &spec,
                                                             core::Directions directions);

/**
 * @brief One message to publish, prepared from an output request as daprd's Invoke prepares its
 * amqp.Publishing: every metadata entry in the headers table; `ttlInSeconds`/`ttl`, `priority`,
 * `contentType`, `messageID`, `correlationID`, `type` as AMQP properties. Plain std types, so the
 * publisher thread only copies pointers into rabbitmq-c's structs.
 */
struct OutgoingMessage
{
    std::string body;
    std::string contentType;
    std::string messageId, correlationId, type;
    std::string expiration; ///< milliseconds as text; empty = none
    int priority = 0;       ///< sent only when > 0, as amqp091 does
    std::vector<std::pair<std::string, std::string>> headers;
};

/**
 * @brief Builds the message for `create`; fails (with daprd's reason) on a malformed
 * `ttlInSeconds`/`ttl` or `priority`. Any thread.
 */
[[nodiscard]] Result<OutgoingMessage> prepareMessage(const QByteArray &data,
                                                     const QMap<QString, QString> &metadata,
                                                     const QString &defaultContentType);

/** @brief Go's url.QueryEscape: what daprd does to header keys delivered to the app. */
QString queryEscape(const QString &value);

} // namespace bindery::bindings::rabbitmq
