// SPDX-License-Identifier: Apache-2.0
#include "core/secret_store.h"

#include <nlohmann/json.hpp>

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QProcessEnvironment>

#include "core/redact.h"

namespace bindery::core {

namespace {

void flatten(const nlohmann::json &node, const std::string &prefix, const std::string &sep,
             QHash<QString, QString> &out)
{
    if (node.is_object()) {
        for (auto it = node.begin(); it != node.end(); ++it)
            flatten(it.value(), prefix.empty() ? it.key() : prefix + sep + it.key(), sep, out);
    } else if (node.is_array()) {
        for (size_t i = 0; i < node.size(); ++i)
            flatten(node[i], prefix + sep + std::to_string(i), sep, out);
    } else if (node.is_string()) {
        out.insert(QString::fromStdString(prefix), QString::fromStdString(node.get<std::string>()));
    } else {
        out.insert(QString::fromStdString(prefix), QString::fromStdString(node.dump()));
    }
}

class LocalFileSecretStore final : public SecretStore
{
public:
    Result<> init(const ComponentSpec &spec) override
    {
        const QString path = spec.property(QStringLiteral("secretsFile"));
        if (path.isEmpty())
            return fail(ErrorCode::MissingMetadata,
                        QStringLiteral("missing local secrets file in metadata"), spec.name);
        QString resolved = path;
        if (QFileInfo(path).isRelative() && !spec.location.file.isEmpty()) {
            // daprd resolves relative to its working directory; we also try the component's folder.
            if (!QFileInfo::exists(path))
                resolved = QFileInfo(spec.location.file).absoluteDir().filePath(path);
        }
        QFile f(resolved);
        if (!f.open(QIODevice::ReadOnly))
            return fail(
                ErrorCode::InitFailed,
                QStringLiteral("cannot read secrets file %1: %2").arg(path, f.errorString()),
                spec.name);
        m_multiValued
            = parseDaprBool(spec.property(QStringLiteral("multiValued"), QStringLiteral("false")));
        const std::string sep
            = spec.property(QStringLiteral("nestedSeparator"), QStringLiteral(":")).toStdString();
        try {
            const nlohmann::json doc = nlohmann::json::parse(f.readAll().toStdString());
            if (!doc.is_object())
                return fail(ErrorCode::InitFailed,
                            QStringLiteral("secrets file %1 is not a JSON object").arg(path),
                            spec.name);
            if (m_multiValued) {
                for (auto it = doc.begin(); it != doc.end(); ++it) {
                    QHash<QString, QString> inner;
                    if (it.value().is_object())
                        flatten(it.value(), {}, sep, inner);
                    else
                        flatten(it.value(), it.key(), sep, inner);
                    m_multi.insert(QString::fromStdString(it.key()), inner);
                }
            } else {
                flatten(doc, {}, sep, m_flat);
            }
        } catch (const nlohmann::json::exception &e) {
            return fail(ErrorCode::InitFailed,
                        QStringLiteral("secrets file %1 is not valid JSON: %2")
                            .arg(path, QString::fromUtf8(e.what())),
                        spec.name);
        }
        return {};
    }

    Result<QHash<QString, QString>> get(const QString &name) const override
    {
        if (m_multiValued) {
            if (!m_multi.contains(name))
                return fail(ErrorCode::NotFound, QStringLiteral("secret %1 not found").arg(name));
            return m_multi.value(name);
        }
        if (!m_flat.contains(name))
            return fail(ErrorCode::NotFound, QStringLiteral("secret %1 not found").arg(name));
        return QHash<QString, QString>{{name, m_flat.value(name)}};
    }

    Result<QHash<QString, QHash<QString, QString>>> bulkGet() const override
    {
        if (m_multiValued)
            return m_multi;
        QHash<QString, QHash<QString, QString>> out;
        for (auto it = m_flat.cbegin(); it != m_flat.cend(); ++it)
            out.insert(it.key(), {{it.key(), it.value()}});
        return out;
    }

    QStringList features() const override
    {
        return m_multiValued ? QStringList{QStringLiteral("MULTIPLE_KEY_VALUES_PER_SECRET")}
                             : QStringList{};
    }

private:
    bool m_multiValued = false;
    QHash<QString, QString> m_flat;
    QHash<QString, QHash<QString, QString>> m_multi;
};

class LocalEnvSecretStore final : public SecretStore
{
public:
    Result<> init(const ComponentSpec &spec) override
    {
        m_prefix = spec.property(QStringLiteral("prefix"));
        return {};
    }
    // daprd's env store: a variable that is unset, or refused (DAPR_*, APP_API_TOKEN, so the
    // API token never leaks through the secrets API), reads as "".
    Result<QHash<QString, QString>> get(const QString &name) const override
    {
        const QString var = m_prefix + name;
        QString value;
        if (allowed(var))
            value = QProcessEnvironment::systemEnvironment().value(var);
        return QHash<QString, QString>{{name, value}};
    }

    Result<QHash<QString, QHash<QString, QString>>> bulkGet() const override
    {
        const QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        QHash<QString, QHash<QString, QString>> out;
        for (const QString &key : env.keys()) {
            if (!m_prefix.isEmpty() && (key.size() <= m_prefix.size() || !key.startsWith(m_prefix)))
                continue;
            if (!allowed(key))
                continue;
            const QString name = key.mid(m_prefix.size());
            out.insert(name, {{name, env.value(key)}});
        }
        return out;
    }

private:
    static bool allowed(const QString &key)
    {
        const QString upper = key.toUpper();
        return upper != QStringLiteral("APP_API_TOKEN")
               && !upper.startsWith(QStringLiteral("DAPR_"));
    }

    QString m_prefix;
};

} // namespace

std::unique_ptr<SecretStore> SecretStore::create(const QString &type)
{
    const QString t = type.toLower();
    if (t == QStringLiteral("secretstores.local.file"))
        return std::make_unique<LocalFileSecretStore>();
    if (t == QStringLiteral("secretstores.local.env"))
        return std::make_unique<LocalEnvSecretStore>();
    return nullptr;
}

QStringList SecretStore::supportedTypes()
{
    return {QStringLiteral("secretstores.local.file"), QStringLiteral("secretstores.local.env")};
}

Diagnostics resolveSecrets(QList<ComponentSpec> &components, SecretStores *initialised)
{
    Diagnostics out;
    QHash<QString, std::shared_ptr<SecretStore>> stores;
    for (const ComponentSpec &c : std::as_const(components)) {
        if (!c.isSecretStore())
            continue;
        std::shared_ptr<SecretStore> store = SecretStore::create(c.type);
        Diagnostic d;
        d.location = c.typeLocation;
        d.component = c.name;
        d.componentType = c.type;
        if (!store) {
            d.field = QStringLiteral("spec.type");
            d.message = QStringLiteral("unsupported secret store type; Bindery supports %1")
                            .arg(SecretStore::supportedTypes().join(QStringLiteral(", ")));
            out << d;
            continue;
        }
        if (Result<> r = store->init(c); !r) {
            d.message = r.error().message;
            out << d;
            continue;
        }
        stores.insert(c.name, store);
    }
    if (initialised)
        *initialised = stores;
    for (ComponentSpec &c : components) {
        for (MetadataItem &item : c.items) {
            if (item.secretName.isEmpty())
                continue;
            Diagnostic d;
            d.location = item.location;
            d.component = c.name;
            d.componentType = c.type;
            d.field = item.name;
            if (c.secretStore.isEmpty()) {
                d.message
                    = QStringLiteral("metadata '%1' uses secretKeyRef but the component has no "
                                     "auth.secretStore")
                          .arg(item.name);
                out << d;
                continue;
            }
            const std::shared_ptr<SecretStore> store = stores.value(c.secretStore);
            if (!store) {
                d.message = QStringLiteral("metadata '%1': secret store '%2' is not loaded")
                                .arg(item.name, c.secretStore);
                out << d;
                continue;
            }
            Result<QHash<QString, QString>> secret = store->get(item.secretName);
            if (!secret || !secret->contains(item.secretKey)) {
                d.severity = Diagnostic::Severity::Warning;
                d.message = QStringLiteral(
                                "metadata '%1': secret '%2' key '%3' not found in store '%4'; the "
                                "value stays empty")
                                .arg(item.name, item.secretName, item.secretKey, c.secretStore);
                out << d;
                continue;
            }
            item.value = secret->value(item.secretKey);
        }
    }
    // From here on every output of the process masks these values (core/redact.h).
    Redactor::global().learn(components);
    return out;
}

} // namespace bindery::core
