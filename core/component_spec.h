// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <QList>
#include <QMap>
#include <QMetaType>
#include <QString>
#include <QStringList>

#include "core/diagnostic.h"

namespace bindery::core {

/** @brief One `spec.metadata` entry as written in the file, before and after resolution. */
struct MetadataItem
{
    QString name;
    QString value;           ///< resolved value (templates, envRef and secretKeyRef applied)
    QString rawValue;        ///< the value as written
    QString secretName;      ///< secretKeyRef.name, if any
    QString secretKey;       ///< secretKeyRef.key, if any
    QString envRef;          ///< envRef, if any
    SourceLocation location; ///< where the entry's `name:` is
    SourceLocation valueLocation;
};

/**
 * @brief A parsed Dapr component (`apiVersion: dapr.io/v1alpha1`, `kind: Component`).
 *
 * A plain value type; safe to copy across threads.
 */
struct ComponentSpec
{
    QString name;
    QString namespaceName;
    QString type;    ///< e.g. "bindings.kafka"
    QString version; ///< e.g. "v1" or empty
    bool ignoreErrors = false;
    int initTimeoutMs = 5000;
    QStringList scopes;
    QString secretStore; ///< auth.secretStore
    QList<MetadataItem> items;
    SourceLocation location;         ///< the document's first line
    SourceLocation typeLocation;     ///< where spec.type is
    SourceLocation metadataLocation; ///< where spec.metadata is (or spec, when absent)

    /// Case-insensitive lookup of a resolved metadata value, as Dapr's DecodeMetadata does.
    QString property(const QString &key, const QString &fallback = {}) const;
    bool hasProperty(const QString &key) const;
    /// Exact-case lookup (some Dapr components, e.g. `route`, match exactly).
    QString exactProperty(const QString &key, const QString &fallback = {}) const;
    const MetadataItem *item(const QString &key) const;
    /// Resolved metadata as a map (last one wins for repeated names).
    QMap<QString, QString> properties() const;

    /// "name (type/version)" or "name (type)", as daprd logs it.
    QString logName() const;
    bool isBinding() const { return type.startsWith(QStringLiteral("bindings.")); }
    bool isSecretStore() const { return type.startsWith(QStringLiteral("secretstores.")); }
    /// daprd's category check (pkg/runtime/processor/manager.go): the type starts with one of
    /// Dapr's categories (`bindings.`, `state.`, `pubsub.`, ...). Otherwise daprd fails with
    /// "incorrect type", which is fatal unless ignoreErrors.
    bool hasKnownCategory() const;
};

/** @brief Parses a bool the way Dapr's weak decoding does: y/yes/true/t/on/1 (case-insensitive). */
bool parseDaprBool(const QString &text, bool *ok = nullptr);
/** @brief Parses a Go duration ("1h2m3.5s", "250ms") or a plain number of seconds... of ms. */
bool parseGoDuration(const QString &text, qint64 *milliseconds);
/** @brief Parses a byte size such as "4Mi", "100MB" or "1024". */
bool parseByteSize(const QString &text, qint64 *bytes);

} // namespace bindery::core

Q_DECLARE_METATYPE(bindery::core::ComponentSpec)
