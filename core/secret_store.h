// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <memory>

#include <QHash>
#include <QList>
#include <QString>

#include "core/component_spec.h"
#include "core/diagnostic.h"
#include "core/result.h"

namespace bindery::core {

/**
 * @brief A Dapr secret store: `secretstores.local.file` or `secretstores.local.env`.
 *
 * Read-only after init(); get() may be called from any thread.
 */
class SecretStore
{
public:
    virtual ~SecretStore() = default;
    [[nodiscard]] virtual Result<> init(const ComponentSpec &spec) = 0;
    /// Dapr's GetSecret(name): the key/value map stored under `name`.
    [[nodiscard]] virtual Result<QHash<QString, QString>> get(const QString &name) const = 0;

    /// Creates a store for `type` ("secretstores.local.file"), or nullptr if unknown.
    static std::unique_ptr<SecretStore> create(const QString &type);
    static QStringList supportedTypes();
};

/**
 * @brief Initialises the secret stores among `components` and resolves every `secretKeyRef`
 * of the others through their `auth.secretStore`. Errors name the file, line and field.
 */
Diagnostics resolveSecrets(QList<ComponentSpec> &components);

} // namespace bindery::core
