// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <QList>
#include <QString>
#include <QStringList>

#include "core/component_spec.h"
#include "core/diagnostic.h"

namespace bindery::core {

class BindingRegistry;

/** @brief Settings that affect which components load and how templates resolve. */
struct LoaderOptions
{
    QString appId;
    QString namespaceName; ///< $NAMESPACE; empty = no namespace filtering
    QString podName;       ///< $POD_NAME, for `{podName}`
};

/** @brief Components found on disk plus every diagnostic met on the way. */
struct LoadResult
{
    QList<ComponentSpec> components;
    Diagnostics diagnostics;
    /// True when loading must stop as daprd does (e.g. duplicate component names).
    bool fatal = false;
};

/**
 * @brief Reads Dapr component manifests the way daprd's disk loader does (reference §3.2).
 *
 * Pure functions of their input plus the environment (envRef); callable from any thread.
 */
class ComponentLoader final
{
public:
    /// Every .yaml/.yml file of each folder, sorted by name, no recursion.
    static LoadResult loadPaths(const QStringList &paths, const LoaderOptions &options = {});
    /// One file's text (the editor's buffer); `fileName` is used in diagnostics only.
    static LoadResult parseText(const QByteArray &text, const QString &fileName,
                                const LoaderOptions &options = {});
    /// Adds errors for components sharing a name (daprd: fatal), keeping the first of each.
    static void checkDuplicates(LoadResult &result);
};

/**
 * @brief Full static check of one file's text: YAML, component shape, and each binding's schema
 * (required, unknown with "did you mean", allowedValues, types, direction-specific fields).
 *
 * The console's editor diagnostics use it; the runtime runs the same checks per component
 * (loadPaths(), then validateComponent() before each init). Any thread.
 */
Diagnostics checkComponentText(const QByteArray &text, const QString &fileName,
                               const BindingRegistry &registry);

/** @brief Schema validation of parsed components against the registry (no YAML). */
Diagnostics checkComponents(const QList<ComponentSpec> &components,
                            const BindingRegistry &registry);

} // namespace bindery::core
