// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <memory>

#include <QStringList>

#include "core/result.h"
#include "core/runtime_options.h"

namespace bindery::core {

namespace api {
class BindingService;
}

/**
 * @brief daprd's gRPC API (`dapr.proto.runtime.v1.Dapr`, --dapr-grpc-port): the second transport
 * over api::BindingService, beside HttpApi. It serves what a bindings runtime has, wire-compatible
 * with daprd 1.18 (reference §1.6): InvokeBinding (raw data, the call's metadata merged as daprd
 * merges it, the answer's metadata also as `metadata.<key>` header metadata, every failure with
 * daprd's message and a google.rpc.ErrorInfo detail), GetMetadata, SetMetadata, GetSecret and
 * GetBulkSecret; DAPR_API_TOKEN is checked from the `dapr-api-token` metadata. Every other method
 * of the service answers UNIMPLEMENTED, naming Bindery and the method.
 *
 * Threads: gRPC's callback API runs the handlers on gRPC's own threads (two on a 2-core machine),
 * so a handler never blocks: InvokeBinding hands the call to the service and returns, and the
 * answer goes out from whatever thread the binding completes on. No gRPC thread is held by a slow
 * binding (bench/grpc/README.md measured the callback API against the async one).
 *
 * listen(), shutdown() and the destructor are called from one thread (the sidecar's). The service
 * must outlive this object: the destructor waits until every call in flight has been answered.
 */
class GrpcApi final
{
public:
    GrpcApi(api::BindingService &service, const RuntimeOptions &options);
    /// shutdown(), then waits for it (bounded by the calls in flight, which the bindings bound).
    ~GrpcApi();
    GrpcApi(const GrpcApi &) = delete;
    GrpcApi &operator=(const GrpcApi &) = delete;

    /// Listens on every address (daprd's --dapr-listen-addresses) at `port`; returns the port
    /// bound (useful with 0). Fails, naming the address and why, when a port is taken.
    [[nodiscard]] Result<quint16> listen(const QStringList &addresses, quint16 port);
    /// Stops taking calls and starts answering the ones in flight; returns at once. The calls in
    /// flight end when their bindings complete (the runtime's stop closes them) or after 2 s.
    void shutdown();

private:
    struct Private;
    std::unique_ptr<Private> d;
};

} // namespace bindery::core
