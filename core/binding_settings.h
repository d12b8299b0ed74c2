// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <functional>
#include <limits>
#include <optional>

#include <QByteArray>
#include <QString>
#include <QStringList>

#include "core/binding_metadata.h"
#include "core/component_spec.h"
#include "core/result.h"

namespace bindery::core {

/**
 * @brief Reads a component's metadata typed, with everything about each field taken from the
 * binding's schema (metadata.yaml): default, type, allowed values, aliases, required-ness per
 * direction. The C++ counterpart of Dapr's `DecodeMetadata` (issue 8).
 *
 * A binding reads every field it uses once, at init, into a settings struct:
 * @code
 * BindingSettings s(spec, schema, {.output = true});
 * m_queue = s.string(u"queueName"_s);        // required: the schema says so
 * m_prefetch = s.integer(u"prefetchCount"_s); // default from the schema
 * if (!s.ok()) return s.result();            // names the file, line, component and field
 * @endcode
 * No binding writes a default, an allowed value or an alias in C++. The first error is kept; later
 * getters return their defaults. Keys match case-insensitively (as daprd's mapstructure decoding);
 * exactString() matches the exact case for the few fields daprd reads that way.
 *
 * Asking for a field the schema does not declare, or with a getter that contradicts its declared
 * type, is a programming error: it fails the init with an "internal:" error and is reported to
 * the audit sink, so the registry test catches it. Every field read is recorded (readFields()).
 *
 * Not thread-safe; used on the thread that runs init().
 */
class BindingSettings final
{
public:
    BindingSettings(const ComponentSpec &spec, const BindingMetadata &schema,
                    Directions directions);

    /// The value (trimmed), or the schema default. Required fields must be set.
    QString string(const QString &name);
    /// As string(), untrimmed: for passwords and PEM text.
    QString secret(const QString &name);
    /// As string(), but the key must match exactly (daprd reads e.g. kafka `topics` that way).
    QString exactString(const QString &name);
    /// Dapr's weak bool: y/yes/true/t/on/1 and their negations.
    bool boolean(const QString &name);
    /// An integer within [min, max].
    qint64 integer(const QString &name, qint64 min = std::numeric_limits<qint64>::min(),
                   qint64 max = std::numeric_limits<qint64>::max());
    /// Any number (e.g. kafka `lingerMs: "0.5"`), within [min, max].
    double number(const QString &name, double min = -std::numeric_limits<double>::max(),
                  double max = std::numeric_limits<double>::max());
    /// A Go duration ("1m30s", "250ms") or plain seconds, in milliseconds.
    qint64 durationMs(const QString &name);
    /// A byte size ("4Mi", "100MB", "1024") in bytes.
    qint64 byteSize(const QString &name);
    /// One of the schema's allowedValues, matched case-insensitively; returns the schema's
    /// spelling, or "" when unset without a default.
    QString oneOf(const QString &name);
    /// A comma-separated list; entries trimmed, empty entries dropped.
    QStringList list(const QString &name);
    /// PEM text or the path of a PEM file (read now); "" when unset. An error names the field when
    /// the value is neither.
    QByteArray pem(const QString &name);
    /// True if the component sets the field (through its name or an alias) to a non-empty value.
    bool isSet(const QString &name);

    /// Records a binding-level error about `field` in the same form as the reader's own errors
    /// (e.g. a value the schema allows but this combination does not). Keeps the first error.
    void fail(const QString &field, const QString &message,
              ErrorCode code = ErrorCode::InvalidMetadata);
    /// A warning about `field` for the log and the console.
    void warn(const QString &field, const QString &message);

    bool ok() const { return !m_error.has_value(); }
    /// The first error, or success.
    Result<> result() const;
    QStringList warnings() const { return m_warnings; }
    /// Canonical names (as the schema spells them) of every field read, in order.
    QStringList readFields() const { return m_read; }
    const ComponentSpec &spec() const { return m_spec; }

    /** @brief What the audit sink hears: each field read, and each programming error. */
    struct AuditEvent
    {
        QString bindingType; ///< "bindings.kafka"
        QString field;
        bool declared = true; ///< false: read but not in the schema, or read with the wrong getter
        QString problem;      ///< for declared == false
    };
    /// The warning shown when a component sets a field the schema marks `compatibility`.
    static QString compatibilityWarning(const QString &written, const MetadataField &field);
    /// Process-wide sink for the field-coverage test; nullptr turns it off. Any thread.
    static void setAuditSink(std::function<void(const AuditEvent &)> sink);

private:
    /// The declared field, or nullptr after recording a programming error.
    const MetadataField *lookup(const QString &name, const char *getter,
                                const QStringList &allowedTypes);
    /// The raw value given for `field` (its name or an alias), or the default; sets *given.
    QString rawValue(const MetadataField &field, bool exact, bool *given) const;
    const MetadataItem *itemFor(const MetadataField &field, bool exact) const;
    bool requiredHere(const MetadataField &field) const;
    QString where(const MetadataField *field) const;
    void setError(ErrorCode code, const QString &message);

    const ComponentSpec &m_spec;
    const BindingMetadata &m_schema;
    Directions m_directions;
    std::optional<Error> m_error;
    QStringList m_warnings;
    QStringList m_read;
};

} // namespace bindery::core
