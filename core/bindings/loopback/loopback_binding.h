// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "core/binding.h"

namespace bindery::bindings::loopback {

/// Output side of bindings.loopback: `create` queues for the input side, `echo` answers back,
/// `report` reports the connection state its metadata names (tests of the runtime's reporter).
class LoopbackOutput final : public core::OutputBinding
{
public:
    Result<> init(const core::ComponentSpec &spec) override;
    QStringList operations() const override;
    void invoke(core::InvokeRequest request, core::InvokeDone done) override;
    void close() override {}
    void setConnectionReporter(core::ConnectionReporter reporter) override
    {
        m_reporter = std::move(reporter);
    }

private:
    QString m_name;
    qint64 m_capacity = 0;
    core::ConnectionReporter m_reporter;
};

/// Input side of bindings.loopback: delivers what `create` queued, retrying failed events.
class LoopbackInput final : public core::InputBinding
{
public:
    Result<> init(const core::ComponentSpec &spec) override;
    Result<> read(const core::EventHandler &handler, std::stop_token stop) override;
    void close() override;

private:
    QString m_name;
};

} // namespace bindery::bindings::loopback
