// SPDX-License-Identifier: Apache-2.0
#pragma once

// Internals shared by the binding kit's files (issue 8 part 4); not for bindings.

#include <QLoggingCategory>
#include <QString>

Q_DECLARE_LOGGING_CATEGORY(lcBindingKit)

namespace bindery::bindings::common::Internal {

/**
 * @brief Names the calling thread `bindery-<base>[-<suffix>]`. Linux allows 15 bytes, so the
 * `<base>` part is shortened to keep the prefix and the suffix (e.g. the worker's index).
 */
void setCurrentThreadName(const QString &base, const QString &suffix = {});

} // namespace bindery::bindings::common::Internal
