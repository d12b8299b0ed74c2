// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <tl/expected.hpp>

#include "core/error.h"

namespace bindery {

/** @brief The result of every fallible core API: a value or an Error. Thread-agnostic value type.
 */
template <typename T = void> using Result = tl::expected<T, Error>;

/** @brief Shorthand for returning an error from a function returning Result<T>. */
inline tl::unexpected<Error> fail(ErrorCode code, QString message, QString component = {})
{
    return tl::unexpected<Error>(Error{code, std::move(message), std::move(component)});
}

} // namespace bindery
