// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <QList>
#include <QString>
#include <QStringList>

#include "core/component_spec.h"
#include "core/diagnostic.h"
#include "core/result.h"

namespace bindery::core {

/** @brief One component metadata field of a binding's schema (`metadata:` in metadata.yaml). */
struct MetadataField
{
    QString name;
    QString description;
    QString type = QStringLiteral("string"); ///< string | number | bool | duration | bytesize
    QString defaultValue;
    QString example;
    QStringList allowedValues;
    QStringList aliases;
    bool required = false;
    bool sensitive = false;
    bool deprecated = false;
    bool input = true;    ///< applies to the input direction
    bool output = true;   ///< applies to the output direction
    bool builtin = false; ///< added by the runtime (direction, route), not written in the file
    /// Non-empty: accepted so daprd's files load, but Bindery does nothing with it (the reason).
    QString compatibility;
    /// Non-empty: not supported yet; setting it (a bool: to true) is an init error (the reason).
    QString unsupported;
    /// Non-empty: fields that belong together and are edited as one value, e.g. the fields of a
    /// GCP service-account key file ("serviceAccountKey"); the console shows and fills them as
    /// one secret.
    QString group;
};

/** @brief One output operation, e.g. `create`. */
struct OperationInfo
{
    QString name;
    QString description;
};

/** @brief A per-request metadata key a binding understands (composer hints), e.g. `partitionKey`.
 */
struct RequestMetadataHint
{
    QString name;
    QString description;
    QString example;
    QStringList operations; ///< empty = every operation
    bool required = false;
};

/**
 * @brief A binding type's schema: Bindery's own metadata.yaml, a subset of Dapr's format plus
 * `requestMetadata` hints.
 *
 * Immutable after load; safe to share between threads.
 */
struct BindingMetadata
{
    QString type; ///< "bindings.<name>"
    QString name; ///< "kafka", "aws.sqs"
    QString version = QStringLiteral("v1");
    QStringList aliases; ///< other registered type names, e.g. "bindings.mqtt" for mqtt3
    QString status;
    QString title;
    QString description;
    bool input = false;
    bool output = false;
    QList<OperationInfo> operations;
    QList<RequestMetadataHint> requestMetadata;
    QList<MetadataField> fields; ///< includes the built-ins `direction` and `route` for inputs

    /// Case-insensitive lookup, aliases included.
    const MetadataField *field(const QString &name) const;
    QStringList operationNames() const;

    /** @brief Parses a metadata.yaml text. Errors name `sourceName` and the line. */
    [[nodiscard]] static Result<BindingMetadata> fromYaml(const QByteArray &text,
                                                          const QString &sourceName);
    /** @brief Loads from a file or Qt resource path (e.g. ":/bindings/kafka/metadata.yaml"). */
    [[nodiscard]] static Result<BindingMetadata> fromFile(const QString &path);
};

/** @brief Which directions a component instance will have, from `direction` and the schema. */
struct Directions
{
    bool input = false;
    bool output = false;
};
Directions effectiveDirections(const ComponentSpec &spec, const BindingMetadata &meta);

/**
 * @brief Validates a component against its binding schema before init.
 *
 * Missing required fields, values outside allowedValues and wrong types are errors; unknown
 * fields are warnings with a "did you mean". Every diagnostic names the file, line, component
 * and field. Pure function; any thread.
 */
Diagnostics validateComponent(const ComponentSpec &spec, const BindingMetadata &meta);

/** @brief The closest candidate by edit distance, or empty when nothing is close. */
QString closestMatch(const QString &word, const QStringList &candidates);

} // namespace bindery::core
