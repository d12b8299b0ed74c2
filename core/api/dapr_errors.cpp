// SPDX-License-Identifier: Apache-2.0
#include "core/api/dapr_errors.h"

#include <array>

#include <nlohmann/json.hpp>

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
constexpr std::array<DaprErrorInfo, 13> kTable{{
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

QByteArray DaprFailure::jsonBody() const
{
    nlohmann::ordered_json j;
    j["errorCode"] = info().code;
    j["message"] = message.toStdString();
    return QByteArray::fromStdString(
        j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

} // namespace bindery::core::api
