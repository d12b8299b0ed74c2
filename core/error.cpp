// SPDX-License-Identifier: Apache-2.0
#include "core/error.h"

namespace bindery {

QString errorCodeName(ErrorCode code)
{
    switch (code) {
    case ErrorCode::InvalidComponent: return QStringLiteral("invalid-component");
    case ErrorCode::UnknownBindingType: return QStringLiteral("unknown-binding-type");
    case ErrorCode::MissingMetadata: return QStringLiteral("missing-metadata");
    case ErrorCode::InvalidMetadata: return QStringLiteral("invalid-metadata");
    case ErrorCode::InitFailed: return QStringLiteral("init-failed");
    case ErrorCode::InvokeFailed: return QStringLiteral("invoke-failed");
    case ErrorCode::Unsupported: return QStringLiteral("unsupported");
    case ErrorCode::MalformedData: return QStringLiteral("malformed-data");
    case ErrorCode::NotFound: return QStringLiteral("not-found");
    case ErrorCode::Timeout: return QStringLiteral("timeout");
    case ErrorCode::Closed: return QStringLiteral("closed");
    case ErrorCode::Io: return QStringLiteral("io");
    }
    return QStringLiteral("unknown");
}

} // namespace bindery
