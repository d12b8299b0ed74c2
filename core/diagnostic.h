// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <QList>
#include <QMetaType>
#include <QString>

namespace bindery::core {

/** @brief A place in a component file. Lines and columns are 1-based; 0 means unknown. */
struct SourceLocation
{
    QString file;
    int line = 0;
    int column = 0;
};

/**
 * @brief One finding of the loader or the validator, e.g. a missing required field.
 *
 * toString() gives the canonical one-line form used by binderyd's log, the console's problems
 * list and the tests: `file:line:col: component 'orders' (bindings.kafka): message`.
 */
struct Diagnostic
{
    enum class Severity { Error, Warning, Info };

    Severity severity = Severity::Error;
    SourceLocation location;
    QString component;     ///< metadata.name, empty when unknown
    QString componentType; ///< spec.type, empty when unknown
    QString field;         ///< the metadata field concerned, if any
    QString message;
    QString suggestion; ///< "did you mean" candidate, if any

    QString toString() const;
    bool isError() const { return severity == Severity::Error; }
};

using Diagnostics = QList<Diagnostic>;

bool hasErrors(const Diagnostics &diagnostics);

/** @brief A value as it may appear in a message: at most `limit` characters, then an ellipsis and
 * the full length (a 10 MB value must not reach the log whole). Pure. */
QString shortValue(const QString &value, qsizetype limit = 80);

} // namespace bindery::core

Q_DECLARE_METATYPE(bindery::core::Diagnostic)
