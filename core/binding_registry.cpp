// SPDX-License-Identifier: Apache-2.0
#include "core/binding_registry.h"

#include <map>
#include <mutex>

namespace bindery::core {

namespace {
bool isInitialVersion(const QString &v)
{
    const QString l = v.toLower();
    return l.isEmpty() || l == QStringLiteral("v0") || l == QStringLiteral("v1");
}
} // namespace

QString BindingRegistry::key(const QString &type, const QString &version)
{
    QString k = type.toLower();
    if (!isInitialVersion(version))
        k += u'/' + version.toLower();
    return k;
}

Result<> BindingRegistry::add(BindingDescriptor descriptor)
{
    QStringList keys{key(descriptor.type, descriptor.version)};
    for (const QString &alias : descriptor.aliases)
        keys << key(alias, descriptor.version);
    for (const QString &k : keys) {
        for (const BindingDescriptor &d : m_descriptors) {
            if (key(d.type, d.version) == k)
                return fail(ErrorCode::InvalidComponent,
                            QStringLiteral("duplicate binding key ") + k);
            for (const QString &a : d.aliases) {
                if (key(a, d.version) == k)
                    return fail(ErrorCode::InvalidComponent,
                                QStringLiteral("duplicate binding key ") + k);
            }
        }
    }
    m_descriptors.append(std::move(descriptor));
    return {};
}

const BindingDescriptor *BindingRegistry::find(const QString &type, const QString &version) const
{
    const QString k = key(type, version);
    for (const BindingDescriptor &d : m_descriptors) {
        if (key(d.type, d.version) == k)
            return &d;
        for (const QString &a : d.aliases) {
            if (key(a, d.version) == k)
                return &d;
        }
    }
    return nullptr;
}

QList<const BindingDescriptor *> BindingRegistry::all(bool includeTestOnly) const
{
    QList<const BindingDescriptor *> out;
    for (const BindingDescriptor &d : m_descriptors) {
        if (includeTestOnly || !d.testOnly)
            out << &d;
    }
    return out;
}

Result<std::unique_ptr<InputBinding>> BindingRegistry::createInput(const QString &type,
                                                                   const QString &version) const
{
    const BindingDescriptor *d = find(type, version);
    if (!d || !d->inputFactory)
        return fail(ErrorCode::UnknownBindingType,
                    QStringLiteral("couldn't find input binding %1").arg(key(type, version)));
    return d->inputFactory();
}

Result<std::unique_ptr<OutputBinding>> BindingRegistry::createOutput(const QString &type,
                                                                     const QString &version) const
{
    const BindingDescriptor *d = find(type, version);
    if (!d || !d->outputFactory)
        return fail(ErrorCode::UnknownBindingType,
                    QStringLiteral("couldn't find output binding %1").arg(key(type, version)));
    return d->outputFactory();
}

const BindingMetadata &builtinSchema(const QString &folder)
{
    static std::mutex mutex;
    static std::map<QString, std::unique_ptr<BindingMetadata>> cache;
    std::lock_guard lock(mutex);
    std::unique_ptr<BindingMetadata> &slot = cache[folder];
    if (!slot) {
        const QString path
            = QStringLiteral(":/bindings/") + folder + QStringLiteral("/metadata.yaml");
        Result<BindingMetadata> meta = BindingMetadata::fromFile(path);
        if (!meta)
            qFatal("broken built-in binding schema: %s", qPrintable(meta.error().message));
        slot = std::make_unique<BindingMetadata>(std::move(*meta));
    }
    return *slot; // never erased: the reference stays valid for the process
}

} // namespace bindery::core
