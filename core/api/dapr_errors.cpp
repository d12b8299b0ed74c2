// SPDX-License-Identifier: Apache-2.0
#include "core/api/dapr_errors.h"

#include <array>

#include <nlohmann/json.hpp>

#include "core/go_json.h"
#include "core/redact.h"

namespace bindery::core::api {

namespace {

// gRPC status codes (grpc/status.h) without including gRPC into the core.
constexpr int kInvalidArgument = 3;
constexpr int kNotFound = 5;
constexpr int kResourceExhausted = 8;
constexpr int kFailedPrecondition = 9;
constexpr int kInternal = 13;
constexpr int kUnavailable = 14;
constexpr int kUnauthenticated = 16;

// daprd's pkg/messages/predefined.go and errorcodes.go, plus Bindery's two additions.
constexpr std::array<DaprErrorInfo, 16> kTable{{
    {DaprError::MalformedRequest, "ERR_MALFORMED_REQUEST", 400, kInvalidArgument},
    {DaprError::MalformedRequestData, "ERR_MALFORMED_REQUEST_DATA", 500, kInternal},
    {DaprError::BodyTooLarge, "ERR_BODY_TOO_LARGE", 413, kResourceExhausted},
    {DaprError::InvokeOutputBinding, "ERR_INVOKE_OUTPUT_BINDING", 500, kInternal},
    {DaprError::OutputBindingNotReady, "ERR_INVOKE_OUTPUT_BINDING", 503, kUnavailable},
    {DaprError::DirectInvokeNoAppId, "ERR_DIRECT_INVOKE", 404, kNotFound},
    {DaprError::HealthNotReady, "ERR_HEALTH_NOT_READY", 500, kInternal},
    {DaprError::HealthAppIdNotMatch, "ERR_HEALTH_APPID_NOT_MATCH", 500, kInternal},
    {DaprError::OutboundHealthNotReady, "ERR_OUTBOUND_HEALTH_NOT_READY", 500, kInternal},
    {DaprError::SecretStoresNotConfigured, "ERR_SECRET_STORES_NOT_CONFIGURED", 500,
     kFailedPrecondition},
    {DaprError::SecretStoreNotFound, "ERR_SECRET_STORE_NOT_FOUND", 401, kInvalidArgument},
    {DaprError::SecretGet, "ERR_SECRET_GET", 500, kInternal},
    {DaprError::ApiTokenInvalid, "ERR_API_TOKEN_INVALID", 401, kUnauthenticated},
    {DaprError::PubsubNotFound, "ERR_PUBSUB_NOT_FOUND", 404, kInvalidArgument},
    {DaprError::StateStoreNotConfigured, "ERR_STATE_STORE_NOT_CONFIGURED", 500,
     kFailedPrecondition},
    {DaprError::DirectInvoke, "ERR_DIRECT_INVOKE", 500, kInternal},
}};

} // namespace

const DaprErrorInfo &daprErrorInfo(DaprError error)
{
    for (const DaprErrorInfo &info : kTable) {
        if (info.error == error)
            return info;
    }
    return kTable[static_cast<size_t>(DaprError::InvokeOutputBinding)];
}

DaprError daprErrorForInvoke(ErrorCode code)
{
    return code == ErrorCode::NotReady ? DaprError::OutputBindingNotReady
                                       : DaprError::InvokeOutputBinding;
}

DaprFailure::DaprFailure(DaprError e, const QString &text)
    : error(e)
    , message(redacted(text))
{
}

QByteArray DaprFailure::jsonBody() const
{
    // APIError.JSONErrorValue is json.Marshal: Go's escaping (<, >, & as \u00XX), no newline.
    QByteArray out
        = "{\"errorCode\":" + goJsonMarshal(nlohmann::json(info().code))
          + ",\"message\":" + goJsonMarshal(nlohmann::json(redacted(message).toStdString()));
    if (!reason.isEmpty()) {
        nlohmann::json meta = nlohmann::json::object();
        for (auto it = reasonMetadata.cbegin(); it != reasonMetadata.cend(); ++it)
            meta[it.key().toStdString()] = it.value().toStdString();
        out += ",\"details\":[{\"@type\":\"type.googleapis.com/google.rpc.ErrorInfo\","
               "\"domain\":\"dapr.io\",\"metadata\":"
               + goJsonMarshal(meta)
               + ",\"reason\":" + goJsonMarshal(nlohmann::json(reason.toStdString())) + "}]";
    }
    out += '}';
    return out;
}

} // namespace bindery::core::api
