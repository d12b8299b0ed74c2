// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <QByteArray>
#include <QMap>
#include <QString>

#include "core/error.h"

namespace bindery::core::api {

/** @brief Every Dapr API error Bindery answers with; the transports look each up in one table. */
enum class DaprError {
    MalformedRequest,          ///< the request cannot be decoded
    MalformedRequestData,      ///< `data` cannot be re-encoded
    BodyTooLarge,              ///< over --max-body-size (Bindery's 413; daprd answers 400)
    InvokeOutputBinding,       ///< any failure of an output binding call
    OutputBindingNotReady,     ///< the binding is (re)initialising: try again (Bindery's 503)
    DirectInvokeNoAppId,       ///< daprd's answer to a route it does not have
    HealthNotReady,            ///< GET /v1.0/healthz before the runtime and app are ready
    HealthAppIdNotMatch,       ///< GET /v1.0/healthz?appid=<other>
    OutboundHealthNotReady,    ///< GET /v1.0/healthz/outbound before the API is up
    SecretStoresNotConfigured, ///< no secret store is loaded
    SecretStoreNotFound,       ///< the named secret store is not loaded
    SecretGet,                 ///< the store failed to answer
    ApiTokenInvalid,           ///< DAPR_API_TOKEN set and the request's token differs
    PubsubNotFound,            ///< publish: Bindery has no pub/sub (daprd's unknown pubsub)
    StateStoreNotConfigured,   ///< state: Bindery has no state store
    DirectInvoke,              ///< service invocation: Bindery does not invoke apps
};

/** @brief How one DaprError goes on the wire. */
struct DaprErrorInfo
{
    DaprError error;
    const char *code; ///< Dapr's errorCode, e.g. "ERR_INVOKE_OUTPUT_BINDING"
    int httpStatus;
    int grpcStatus; ///< a grpc::StatusCode value (13 = INTERNAL, ...)
};

/** @brief The one table (pure; any thread). */
const DaprErrorInfo &daprErrorInfo(DaprError error);

/**
 * @brief Maps a binding's failure (a Bindery ErrorCode from OutputBinding::invoke) to the Dapr
 * error the API answers: every failure is ERR_INVOKE_OUTPUT_BINDING, as daprd does, except a
 * binding that is not ready yet.
 */
DaprError daprErrorForInvoke(ErrorCode code);

/** @brief A Dapr error with its message, ready for any transport. */
struct DaprFailure
{
    DaprFailure() = default;
    /// `text` is masked (core/redact.h): an API answer never shows a secret.
    DaprFailure(DaprError e, const QString &text);

    DaprError error = DaprError::InvokeOutputBinding;
    QString message;
    /// daprd's newer errors carry a google.rpc.ErrorInfo detail: its reason ("DAPR_...") and
    /// metadata. Empty for the older ones, which have no "details".
    QString reason;
    QMap<QString, QString> reasonMetadata;

    const DaprErrorInfo &info() const { return daprErrorInfo(error); }
    /// Dapr's JSON body as Go's json.Marshal writes it: {"errorCode":"...","message":"..."}
    /// (plus "details" when there is a reason).
    QByteArray jsonBody() const;
};

} // namespace bindery::core::api
