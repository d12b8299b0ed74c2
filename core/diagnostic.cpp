// SPDX-License-Identifier: Apache-2.0
#include "core/diagnostic.h"

#include <algorithm>

namespace bindery::core {

QString Diagnostic::toString() const
{
    QString out;
    if (!location.file.isEmpty()) {
        out += location.file;
        if (location.line > 0) {
            out += u':' + QString::number(location.line);
            if (location.column > 0)
                out += u':' + QString::number(location.column);
        }
        out += QStringLiteral(": ");
    }
    if (severity == Severity::Warning)
        out += QStringLiteral("warning: ");
    if (!component.isEmpty()) {
        out += QStringLiteral("component '") + component + u'\'';
        if (!componentType.isEmpty())
            out += QStringLiteral(" (") + componentType + u')';
        out += QStringLiteral(": ");
    }
    out += message;
    return out;
}

bool hasErrors(const Diagnostics &diagnostics)
{
    return std::any_of(diagnostics.begin(), diagnostics.end(),
                       [](const Diagnostic &d) { return d.isError(); });
}

QString shortValue(const QString &value, qsizetype limit)
{
    if (value.size() <= limit)
        return value;
    return value.left(limit) + QStringLiteral("… (%1 characters)").arg(value.size());
}

} // namespace bindery::core
