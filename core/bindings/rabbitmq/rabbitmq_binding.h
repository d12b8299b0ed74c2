// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <memory>

#include "core/binding.h"
#include "core/bindings/rabbitmq/rabbitmq_config.h"

namespace bindery::bindings::rabbitmq {

class Publisher;
class DeliveryWorker;

/**
 * @brief bindings.rabbitmq output: `create` publishes to queueName through the default exchange
 * and answers once the broker's publisher confirm arrived (issue 10).
 *
 * init() connects (bounded by initTimeout) as daprd's Init does, then hands the connection to a
 * publisher thread of the binding's own. invoke() never blocks: it prepares the message, queues
 * it for that thread and returns; the publisher publishes (mandatory, in confirm mode) and calls
 * each InvokeDone exactly once, on its thread: 204 on basic.ack, 500 on basic.nack, on a
 * basic.return (unroutable), on a lost connection, or after publishTimeout without a confirm.
 * While the connection is down (it reconnects every reconnectWaitInSeconds) invoke() answers 500
 * at once, naming the connection state. close() is bounded (a few seconds): publishes still
 * unconfirmed then fail with "closed".
 */
class RabbitMqOutput final : public core::OutputBinding
{
public:
    RabbitMqOutput();
    ~RabbitMqOutput() override;
    Result<> init(const core::ComponentSpec &spec) override;
    QStringList operations() const override;
    void invoke(core::InvokeRequest request, core::InvokeDone done) override;
    void close() override;
    QStringList initWarnings() const override { return m_settings.warnings; }
    void setConnectionReporter(core::ConnectionReporter reporter) override;

private:
    RabbitMqSettings m_settings;
    core::ConnectionReporter m_reporter;
    std::shared_ptr<Publisher> m_publisher;
};

/**
 * @brief bindings.rabbitmq input: consumes queueName with manual acknowledgement (issue 10).
 *
 * init() connects once to check the settings (as daprd's Init does) and closes again. read() runs
 * on the runtime's reader thread and owns the consumer connection: it reconnects every
 * reconnectWaitInSeconds after a loss (each state change reported), keeps the connection served
 * (heartbeats, acknowledgements) and hands each delivery, in order, to a delivery thread of the
 * binding's own that calls the EventHandler: 2xx acks the message, anything else nacks it with
 * requeue (daprd's rule; consecutive failures wait 50 ms doubling to 1 s before the nack, so a
 * failing app is not hammered). Deliveries received but not yet acknowledged when the connection
 * goes come back from the broker (redelivered). read() returns within ~5 s of a stop: it waits
 * that long for the delivery in flight so its acknowledgement can be sent; close() then joins
 * the delivery thread (bounded by the runtime's delivery timeout).
 */
class RabbitMqInput final : public core::InputBinding
{
public:
    RabbitMqInput();
    ~RabbitMqInput() override;
    Result<> init(const core::ComponentSpec &spec) override;
    Result<> read(const core::EventHandler &handler, std::stop_token stop) override;
    void close() override;
    QStringList initWarnings() const override { return m_settings.warnings; }
    void setConnectionReporter(core::ConnectionReporter reporter) override;

private:
    RabbitMqSettings m_settings;
    core::ConnectionReporter m_reporter;
    std::shared_ptr<DeliveryWorker> m_worker;
};

} // namespace bindery::bindings::rabbitmq
