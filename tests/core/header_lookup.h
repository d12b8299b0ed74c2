// SPDX-License-Identifier: Apache-2.0
#pragma once
// The one case-insensitive header lookup the test helpers share (requests an app saw, answers
// a client got).
#include <optional>

#include <QByteArray>

namespace bindery::tests {

/// The first value of header `name` in a list of (name, value) pairs; names compare
/// case-insensitively, as HTTP's do.
template <typename HeaderList>
std::optional<QByteArray> findHeader(const HeaderList &headers, const QByteArray &name)
{
    for (const auto &[k, v] : headers) {
        if (k.compare(name, Qt::CaseInsensitive) == 0)
            return v;
    }
    return std::nullopt;
}

} // namespace bindery::tests
