// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <QString>

namespace bindery::ui::yamledit {

/**
 * Surgical edits of a Dapr component's `spec.metadata` list in YAML text.
 *
 * They change only the lines of the item concerned (or append one item), so comments, key order,
 * quoting style and blank lines elsewhere stay exactly as written. Pure functions, any thread;
 * they work on the first document that has a `spec:` key.
 */

/// Formats a scalar for a `value:`: plain when safe, double-quoted (escaped) otherwise.
QString formatScalar(const QString &value);

/// Sets `value:` of the item `name` (replacing a secretKeyRef/envRef), or appends the item.
QString setMetadataValue(const QString &text, const QString &name, const QString &value);

/// Replaces the item's value with `secretKeyRef: {name, key}` (appends the item if missing).
QString setMetadataSecretRef(const QString &text, const QString &name, const QString &secretName,
                             const QString &secretKey);

/// Removes the item `name` (and only its lines). Unchanged text if absent.
QString removeMetadataItem(const QString &text, const QString &name);

/// Renames the component `from` to `to` (its `metadata.name:` line only). Unchanged if absent.
QString setComponentName(const QString &text, const QString &from, const QString &to);

/// The 1-based line of the item's `name:` entry, or 0.
int metadataItemLine(const QString &text, const QString &name);

} // namespace bindery::ui::yamledit
