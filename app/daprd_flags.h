// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <QHash>
#include <QList>
#include <QString>
#include <QStringList>

#include "core/result.h"
#include "core/runtime_options.h"

namespace bindery::app {

/** @brief How a flag takes its value, as pflag's typed flags do. */
enum class FlagKind {
    String, ///< one value; the last one given wins
    Bool,   ///< no value ("--x"), or "--x=false"; never the next argument
    List,   ///< repeatable, each value split at commas (pflag's StringSlice)
};

/** @brief One flag binderyd takes: every daprd 1.18 flag, then binderyd's own. */
struct FlagSpec
{
    QString name;
    FlagKind kind = FlagKind::String;
    QString defaultValue;
    QString help;
};

/// daprd 1.18's flags (cmd/daprd/options/options.go at v1.18.3, with the logger's and the
/// metrics' flags), then binderyd's own (--traffic-log, --help).
const QList<FlagSpec> &flagSpecs();

/** @brief A command line read as daprd's pflag reads it. A value type. */
class ParsedFlags
{
public:
    bool isSet(const QString &name) const { return m_values.contains(name); }
    /// The last value given, or the flag's default.
    QString value(const QString &name) const;
    /// Every value given (a list flag's values split at commas); empty when not set.
    QStringList values(const QString &name) const { return m_values.value(name); }
    /// Flag names in the order first given.
    const QStringList &given() const { return m_order; }

private:
    friend Result<ParsedFlags> parseFlags(const QStringList &args);
    QHash<QString, QStringList> m_values;
    QStringList m_order;
};

/**
 * @brief Parses `args` (without the program name) as daprd does: `--name value`,
 * `--name=value`, `-name` (daprd doubles a single dash), a bool as `--name` or `--name=false`.
 * An unknown flag, a missing value or a stray positional argument is an error naming it.
 */
Result<ParsedFlags> parseFlags(const QStringList &args);

/** @brief What binderyd does with its command line. */
struct BinderydConfig
{
    enum class Action { Run, Help, Version, BuildInfo, Wait };
    Action action = Action::Run;
    core::RuntimeOptions options;
    int logLevel = 1; ///< 0 debug, 1 info, 2 warning, 3 error
    bool logJson = false;
    QString logFile;    ///< --log-file; empty = stdout
    QString trafficLog; ///< --traffic-log
    /// --dapr-block-shutdown-duration in ms; -1 when not given.
    qint64 blockShutdownMs = -1;
    /// One line per accepted flag that Bindery does not act on, saying why, logged at start.
    QStringList notes;
};

/**
 * @brief Maps the flags onto binderyd's configuration. A flag Bindery cannot honour is refused
 * with a message saying what Bindery does not do; a flag whose absence changes nothing for a
 * bindings runtime becomes a note. Reads APP_API_TOKEN and DAPR_API_TOKEN from the environment.
 */
Result<BinderydConfig> configure(const ParsedFlags &flags);

/// Empty when binderyd has an app channel for `--app-protocol protocol`, else why it has not.
/// The one place that says which app protocols binderyd speaks.
QString appProtocolError(const QString &protocol);

/// `binderyd --help`.
QString usage();

} // namespace bindery::app
