// SPDX-License-Identifier: Apache-2.0
// What the localstorage tests share: a component spec for a root folder.
#pragma once

#include "core/component_spec.h"

namespace bindery::tests {

inline core::ComponentSpec localstorageSpec(const QString &root)
{
    core::ComponentSpec s;
    s.name = QStringLiteral("files");
    s.type = QStringLiteral("bindings.localstorage");
    core::MetadataItem item;
    item.name = QStringLiteral("rootPath");
    item.value = root;
    s.items << item;
    return s;
}

} // namespace bindery::tests
