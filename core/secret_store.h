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
    /// Dapr's BulkGetSecret: every secret the store holds, name -> key/value map.
    [[nodiscard]] virtual Result<QHash<QString, QHash<QString, QString>>> bulkGet() const = 0;
    /// Dapr's Features(), as /v1.0/metadata lists them ("MULTIPLE_KEY_VALUES_PER_SECRET").
    virtual QStringList features() const { return {}; }

    /// Creates a store for `type` ("secretstores.local.file"), or nullptr if unknown.
    static std::unique_ptr<SecretStore> create(const QString &type);
    static QStringList supportedTypes();
};

/** @brief The secret stores that initialised, by component name. */
using SecretStores = QHash<QString, std::shared_ptr<SecretStore>>;

/**
 * @brief Initialises the secret stores among `components` and resolves every `secretKeyRef`
 * of the others through their `auth.secretStore`. Errors name the file, line and field. The
 * stores that initialised are returned in `stores` when given (the secrets API serves them).
 */
Diagnostics resolveSecrets(QList<ComponentSpec> &components, SecretStores *stores = nullptr);

} // namespace bindery::core
