// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <atomic>
#include <memory>
#include <mutex>

#include <QString>
#include <QStringList>

#include "core/binding.h"
#include "core/binding_metadata.h"
#include "core/bindings/aws_sqs/aws_credentials.h"

namespace bindery::bindings::aws_sqs {

class SqsClient;
struct InputRun;

/** @brief A component's settings, read once at init through BindingSettings. */
struct SqsSettings
{
    QString componentName;
    QString queueName;
    AwsComponentAuth auth;
    int concurrency = 2;         ///< parallel long polls (input)
    int visibilityTimeoutS = -1; ///< -1: the queue's own
    bool attributesAsHeaders = true;
    int initTimeoutMs = 5000;
    QStringList warnings;
};

/**
 * @brief Reports a binding's connection state through the runtime's ConnectionReporter, only
 * when it changes. Thread-safe.
 */
class ConnectionTracker final
{
public:
    void setReporter(core::ConnectionReporter reporter) { m_reporter = std::move(reporter); }
    /// Reports a failure (every time its text changes).
    void failed(const QString &text);
    /// Reports recovery once after a failure; nothing when it never failed.
    void recovered(const QString &text);

private:
    core::ConnectionReporter m_reporter; // set before init, read-only afterwards
    std::atomic<bool> m_failed{false};
    std::mutex m_mutex;
    QString m_last;
};

/** @brief What both directions set up at init: the client and the queue's URL. */
struct SqsConnection
{
    std::shared_ptr<SqsClient> client;
    QString queueUrl;
    bool fifo = false;
    AwsResolved aws;
};

/** @brief What an instance of either direction holds: its settings, connection and tracker. */
class SqsComponent
{
public:
    QStringList settingsWarnings() const { return m_settings.warnings; }
    void setReporter(core::ConnectionReporter reporter)
    {
        m_tracker->setReporter(std::move(reporter));
    }

protected:
    /// Reads the settings for `directions` and connects: credentials, client, GetQueueUrl. On
    /// init's thread, within the component's initTimeout.
    Result<> setUp(const core::ComponentSpec &spec, core::Directions directions);

    SqsSettings m_settings;
    SqsConnection m_connection;
    std::shared_ptr<ConnectionTracker> m_tracker = std::make_shared<ConnectionTracker>();
};

/**
 * @brief bindings.aws.sqs output: `create` sends the request data as one message (SendMessage),
 * with the Bindery additions messageGroupId, messageDeduplicationId, delaySeconds and
 * `attribute.<Name>` from the request metadata.
 *
 * init() and close() on the runtime thread; invoke() from any thread, never blocking: the call
 * completes from the SQS client's worker thread once SQS answered (204 with metadata.messageId),
 * or with SQS's own error code and message (500).
 */
class AwsSqsOutput final : public core::OutputBinding, private SqsComponent
{
public:
    ~AwsSqsOutput() override;
    Result<> init(const core::ComponentSpec &spec) override;
    QStringList operations() const override;
    void invoke(core::InvokeRequest request, core::InvokeDone done) override;
    void close() override;
    QStringList initWarnings() const override { return settingsWarnings(); }
    void setConnectionReporter(core::ConnectionReporter r) override { setReporter(std::move(r)); }
};

/**
 * @brief bindings.aws.sqs input: `concurrency` long polls of up to 10 messages run in parallel;
 * each message is delivered on a pool of the binding's own threads (FIFO queues: one message
 * group at a time, in order); the acknowledged ones are deleted with DeleteMessageBatch; a
 * failed delivery is left to reappear after the visibility timeout (daprd's rule), shown in the
 * traffic as `retry` with the receive count as its attempt.
 *
 * init() and close() on the runtime thread; read() on the reader thread, returning within 250 ms
 * of `stop` (a delivery still waiting for the app then finishes on its own; its message is
 * deleted if the app acknowledges it); close() gives delete batches in flight up to 2 s. Throttling
 * and 5xx answers are retried with backoff and jitter; refused credentials and other lasting
 * errors pause every poller with a growing wait (up to a minute), and are shown through the
 * ConnectionReporter and the log.
 */
class AwsSqsInput final : public core::InputBinding, private SqsComponent
{
public:
    ~AwsSqsInput() override;
    Result<> init(const core::ComponentSpec &spec) override;
    Result<> read(const core::EventHandler &handler, std::stop_token stop) override;
    void close() override;
    QStringList initWarnings() const override { return settingsWarnings(); }
    void setConnectionReporter(core::ConnectionReporter r) override { setReporter(std::move(r)); }

private:
    std::shared_ptr<InputRun> m_run; ///< the last read()'s state, for close()
};

} // namespace bindery::bindings::aws_sqs
