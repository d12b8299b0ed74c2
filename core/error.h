// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <QMetaType>
#include <QString>

namespace bindery {

/** @brief Why a core operation failed. Mapped to Dapr's `ERR_*` codes only at the HTTP edge. */
enum class ErrorCode {
    InvalidComponent,
    UnknownBindingType,
    MissingMetadata,
    InvalidMetadata,
    InitFailed,
    InvokeFailed,
    Unsupported,
    MalformedData,
    NotFound,
    Timeout,
    Closed,
    Io,
};

/** @brief A failure with a human-readable message that names the file, field or binding. */
struct Error
{
    ErrorCode code = ErrorCode::InvokeFailed;
    QString message;
    QString component;
};

/** @brief Stable lower-case name of an error code, e.g. "init-failed". */
QString errorCodeName(ErrorCode code);

} // namespace bindery

Q_DECLARE_METATYPE(bindery::Error)
