// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <QMetaType>
#include <QString>

namespace bindery {

/**
 * @brief Why a core operation failed. The API transports map these to Dapr's `ERR_*` codes and
 * statuses in one table, core/api/dapr_errors.h; nothing else in the core knows Dapr's codes.
 */
enum class ErrorCode {
    InvalidComponent,   ///< a component file or document that cannot be used
    UnknownBindingType, ///< no binding is registered for the type/version
    MissingMetadata,    ///< a required metadata field is missing
    InvalidMetadata,    ///< a metadata value is malformed or not allowed
    InitFailed,         ///< a binding's init failed (e.g. cannot reach its server)
    InvokeFailed,       ///< an output call failed
    Unsupported,        ///< valid for daprd, not supported by Bindery (yet)
    MalformedData,      ///< request data or a request part that cannot be used
    NotFound,           ///< the named thing (file, object, secret) does not exist
    NotReady,           ///< a binding is (re)initialising; the call may be retried
    Timeout,            ///< a bounded wait ran out
    Closed,             ///< the binding or client was closed while the call was pending
    Io,                 ///< an operating-system or socket error
};

/** @brief A failure with a human-readable message that names the file, field or binding. */
struct Error
{
    ErrorCode code = ErrorCode::InvokeFailed;
    QString message;
    QString component;
};

} // namespace bindery

Q_DECLARE_METATYPE(bindery::Error)
