// SPDX-License-Identifier: Apache-2.0
#include "core/binding_settings.h"

#include <mutex>

#include <QFile>
#include <QLoggingCategory>

Q_LOGGING_CATEGORY(lcSettings, "bindery.core.settings")

namespace bindery::core {

namespace {

std::mutex g_sinkMutex;
std::function<void(const BindingSettings::AuditEvent &)> g_sink;

void audit(const BindingSettings::AuditEvent &event)
{
    std::lock_guard lock(g_sinkMutex);
    if (g_sink)
        g_sink(event);
}

} // namespace

void BindingSettings::setAuditSink(std::function<void(const AuditEvent &)> sink)
{
    std::lock_guard lock(g_sinkMutex);
    g_sink = std::move(sink);
}

BindingSettings::BindingSettings(const ComponentSpec &spec, const BindingMetadata &schema,
                                 Directions directions)
    : m_spec(spec)
    , m_schema(schema)
    , m_directions(directions)
{
    // Fields the schema marks as accepted for compatibility only, or not supported yet: say so
    // once, here, so no binding has to know about them.
    for (const MetadataField &f : m_schema.fields) {
        if (f.compatibility.isEmpty() && f.unsupported.isEmpty())
            continue;
        const MetadataItem *item = itemFor(f, false);
        if (!item || (item->value.trimmed().isEmpty() && item->secretName.isEmpty()))
            continue;
        if (!f.unsupported.isEmpty()) {
            // A bool that is off asks for nothing unsupported.
            if (f.type == QStringLiteral("bool") && !parseDaprBool(item->value))
                continue;
            setError(ErrorCode::Unsupported,
                     where(&f)
                         + QStringLiteral("metadata '%1' is not supported by Bindery: %2")
                               .arg(item->name, f.unsupported));
        } else {
            m_warnings << compatibilityWarning(item->name, f);
        }
    }
}

QString BindingSettings::compatibilityWarning(const QString &written, const MetadataField &field)
{
    return QStringLiteral(
               "metadata '%1' is accepted for compatibility and has no effect in Bindery: %2")
        .arg(written, field.compatibility);
}

const MetadataItem *BindingSettings::itemFor(const MetadataField &field, bool exact) const
{
    if (exact) {
        for (auto it = m_spec.items.crbegin(); it != m_spec.items.crend(); ++it) {
            if (it->name == field.name)
                return &*it;
        }
        return nullptr;
    }
    if (const MetadataItem *item = m_spec.item(field.name))
        return item;
    for (const QString &alias : field.aliases) {
        if (const MetadataItem *item = m_spec.item(alias))
            return item;
    }
    return nullptr;
}

QString BindingSettings::rawValue(const MetadataField &field, bool exact, bool *given) const
{
    const MetadataItem *item = itemFor(field, exact);
    if (item && !item->value.isEmpty()) {
        *given = true;
        return item->value;
    }
    *given = false;
    return field.defaultValue;
}

bool BindingSettings::requiredHere(const MetadataField &field) const
{
    if (!field.required)
        return false;
    return (field.input && m_directions.input) || (field.output && m_directions.output);
}

QString BindingSettings::where(const MetadataField *field) const
{
    SourceLocation at = m_spec.metadataLocation;
    if (field) {
        if (const MetadataItem *item = itemFor(*field, false))
            at = item->valueLocation.line > 0 ? item->valueLocation : item->location;
    }
    if (at.file.isEmpty())
        at = m_spec.location;
    if (at.file.isEmpty())
        return {};
    QString out = at.file;
    if (at.line > 0) {
        out += u':' + QString::number(at.line);
        if (at.column > 0)
            out += u':' + QString::number(at.column);
    }
    return out + QStringLiteral(": ");
}

void BindingSettings::setError(ErrorCode code, const QString &message)
{
    if (!m_error)
        m_error = Error{code, message, m_spec.name};
}

void BindingSettings::fail(const QString &fieldName, const QString &message, ErrorCode code)
{
    const MetadataField *f = m_schema.field(fieldName);
    setError(code, where(f) + message);
}

void BindingSettings::warn(const QString &fieldName, const QString &message)
{
    Q_UNUSED(fieldName);
    if (!m_warnings.contains(message))
        m_warnings << message;
}

Result<> BindingSettings::result() const
{
    if (m_error)
        return tl::unexpected(*m_error);
    return {};
}

const MetadataField *BindingSettings::lookup(const QString &name, const char *getter,
                                             const QStringList &allowedTypes)
{
    const MetadataField *f = m_schema.field(name);
    QString problem;
    if (!f || f->builtin)
        problem = QStringLiteral("field '%1' is not declared in the schema of %2")
                      .arg(name, m_schema.type);
    else if (f->name != name)
        problem
            = QStringLiteral("field '%1' is read under another spelling ('%2')").arg(f->name, name);
    else if (!allowedTypes.isEmpty() && !allowedTypes.contains(f->type))
        problem = QStringLiteral("field '%1' has type %2 in the schema but is read with %3()")
                      .arg(name, f->type, QString::fromLatin1(getter));
    if (!problem.isEmpty()) {
        qCCritical(lcSettings).noquote()
            << QStringLiteral("programming error in %1: %2").arg(m_schema.type, problem);
        audit({m_schema.type, name, false, problem});
        setError(ErrorCode::InitFailed, QStringLiteral("internal: ") + problem);
        return nullptr;
    }
    if (!m_read.contains(f->name))
        m_read << f->name;
    audit({m_schema.type, f->name, true, {}});
    return f;
}

QString BindingSettings::string(const QString &name)
{
    const MetadataField *f = lookup(name, "string", {QStringLiteral("string")});
    if (!f)
        return {};
    bool given = false;
    const QString v = rawValue(*f, false, &given).trimmed();
    if (v.isEmpty() && requiredHere(*f))
        setError(ErrorCode::MissingMetadata,
                 where(nullptr) + QStringLiteral("required metadata '%1' is missing").arg(f->name));
    return v;
}

QString BindingSettings::secret(const QString &name)
{
    const MetadataField *f = lookup(name, "secret", {QStringLiteral("string")});
    if (!f)
        return {};
    bool given = false;
    const QString v = rawValue(*f, false, &given);
    if (v.trimmed().isEmpty() && requiredHere(*f))
        setError(ErrorCode::MissingMetadata,
                 where(nullptr) + QStringLiteral("required metadata '%1' is missing").arg(f->name));
    return v;
}

QString BindingSettings::exactString(const QString &name)
{
    const MetadataField *f = lookup(name, "exactString", {QStringLiteral("string")});
    if (!f)
        return {};
    bool given = false;
    const QString v = rawValue(*f, true, &given).trimmed();
    if (v.isEmpty() && requiredHere(*f))
        setError(ErrorCode::MissingMetadata,
                 where(nullptr) + QStringLiteral("required metadata '%1' is missing").arg(f->name));
    return v;
}

bool BindingSettings::boolean(const QString &name)
{
    const MetadataField *f = lookup(name, "boolean", {QStringLiteral("bool")});
    if (!f)
        return false;
    bool given = false;
    const QString v = rawValue(*f, false, &given).trimmed();
    if (v.isEmpty()) {
        if (requiredHere(*f))
            setError(ErrorCode::MissingMetadata,
                     where(nullptr)
                         + QStringLiteral("required metadata '%1' is missing").arg(f->name));
        return false;
    }
    bool ok = false;
    const bool b = parseDaprBool(v, &ok);
    if (!ok) {
        setError(ErrorCode::InvalidMetadata,
                 where(f)
                     + QStringLiteral("metadata '%1' must be a bool (true or false), not '%2'")
                           .arg(f->name, shortValue(v)));
        return parseDaprBool(f->defaultValue);
    }
    return b;
}

qint64 BindingSettings::integer(const QString &name, qint64 min, qint64 max)
{
    const MetadataField *f = lookup(name, "integer", {QStringLiteral("number")});
    if (!f)
        return 0;
    bool given = false;
    const QString v = rawValue(*f, false, &given).trimmed();
    if (v.isEmpty()) {
        if (requiredHere(*f))
            setError(ErrorCode::MissingMetadata,
                     where(nullptr)
                         + QStringLiteral("required metadata '%1' is missing").arg(f->name));
        return qBound(min, qint64(0), max);
    }
    bool ok = false;
    const qint64 n = v.toLongLong(&ok);
    if (!ok || n < min || n > max) {
        QString range;
        if (min != std::numeric_limits<qint64>::min() && max != std::numeric_limits<qint64>::max())
            range = QStringLiteral(" from %1 to %2").arg(min).arg(max);
        else if (min != std::numeric_limits<qint64>::min())
            range = QStringLiteral(" >= %1").arg(min);
        else if (max != std::numeric_limits<qint64>::max())
            range = QStringLiteral(" <= %1").arg(max);
        setError(ErrorCode::InvalidMetadata,
                 where(f)
                     + QStringLiteral("metadata '%1' must be an integer%2, not '%3'")
                           .arg(f->name, range, shortValue(v)));
        return qBound(min, f->defaultValue.toLongLong(), max);
    }
    return n;
}

double BindingSettings::number(const QString &name, double min, double max)
{
    const MetadataField *f = lookup(name, "number", {QStringLiteral("number")});
    if (!f)
        return 0;
    bool given = false;
    const QString v = rawValue(*f, false, &given).trimmed();
    if (v.isEmpty()) {
        if (requiredHere(*f))
            setError(ErrorCode::MissingMetadata,
                     where(nullptr)
                         + QStringLiteral("required metadata '%1' is missing").arg(f->name));
        return qBound(min, 0.0, max);
    }
    bool ok = false;
    const double n = v.toDouble(&ok);
    if (!ok || n < min || n > max) {
        setError(ErrorCode::InvalidMetadata,
                 where(f)
                     + QStringLiteral("metadata '%1' must be a number from %2 to %3, not '%4'")
                           .arg(f->name)
                           .arg(min)
                           .arg(max)
                           .arg(shortValue(v)));
        return qBound(min, f->defaultValue.toDouble(), max);
    }
    return n;
}

qint64 BindingSettings::durationMs(const QString &name)
{
    const MetadataField *f = lookup(name, "durationMs", {QStringLiteral("duration")});
    if (!f)
        return 0;
    bool given = false;
    const QString v = rawValue(*f, false, &given).trimmed();
    if (v.isEmpty()) {
        if (requiredHere(*f))
            setError(ErrorCode::MissingMetadata,
                     where(nullptr)
                         + QStringLiteral("required metadata '%1' is missing").arg(f->name));
        return 0;
    }
    qint64 ms = 0;
    if (!parseGoDuration(v, &ms) || ms < 0) {
        setError(ErrorCode::InvalidMetadata,
                 where(f)
                     + QStringLiteral(
                           "metadata '%1' must be a duration such as 500ms, 5s or 1m30s, not '%2'")
                           .arg(f->name, shortValue(v)));
        qint64 fallback = 0;
        parseGoDuration(f->defaultValue, &fallback);
        return fallback;
    }
    return ms;
}

qint64 BindingSettings::byteSize(const QString &name)
{
    const MetadataField *f = lookup(name, "byteSize", {QStringLiteral("bytesize")});
    if (!f)
        return 0;
    bool given = false;
    const QString v = rawValue(*f, false, &given).trimmed();
    if (v.isEmpty()) {
        if (requiredHere(*f))
            setError(ErrorCode::MissingMetadata,
                     where(nullptr)
                         + QStringLiteral("required metadata '%1' is missing").arg(f->name));
        return 0;
    }
    qint64 bytes = 0;
    if (!parseByteSize(v, &bytes) || bytes < 0) {
        setError(ErrorCode::InvalidMetadata,
                 where(f)
                     + QStringLiteral(
                           "metadata '%1' must be a byte size such as 1024, 4Mi or 100MB, not '%2'")
                           .arg(f->name, shortValue(v)));
        qint64 fallback = 0;
        parseByteSize(f->defaultValue, &fallback);
        return fallback;
    }
    return bytes;
}

QString BindingSettings::oneOf(const QString &name)
{
    const MetadataField *f = lookup(name, "oneOf", {QStringLiteral("string")});
    if (!f)
        return {};
    if (f->allowedValues.isEmpty()) {
        const QString problem
            = QStringLiteral("field '%1' is read with oneOf() but has no allowedValues").arg(name);
        audit({m_schema.type, name, false, problem});
        setError(ErrorCode::InitFailed, QStringLiteral("internal: ") + problem);
        return {};
    }
    bool given = false;
    const QString v = rawValue(*f, false, &given).trimmed();
    if (v.isEmpty()) {
        if (requiredHere(*f))
            setError(ErrorCode::MissingMetadata,
                     where(nullptr)
                         + QStringLiteral("required metadata '%1' is missing").arg(f->name));
        return {};
    }
    auto norm = [](QString s) { return s.remove(u' ').toLower(); };
    for (const QString &allowed : f->allowedValues) {
        if (norm(allowed) == norm(v))
            return allowed;
    }
    QString message = QStringLiteral("metadata '%1' has value '%2'; allowed values: %3")
                          .arg(f->name, shortValue(v), f->allowedValues.join(QStringLiteral(", ")));
    const QString suggestion = closestMatch(v, f->allowedValues);
    if (!suggestion.isEmpty())
        message += QStringLiteral(" (did you mean '%1'?)").arg(suggestion);
    setError(ErrorCode::InvalidMetadata, where(f) + message);
    return f->defaultValue;
}

QStringList BindingSettings::list(const QString &name)
{
    const MetadataField *f = lookup(name, "list", {QStringLiteral("string")});
    if (!f)
        return {};
    bool given = false;
    const QString v = rawValue(*f, false, &given);
    QStringList out;
    for (const QString &part : v.split(u',')) {
        if (!part.trimmed().isEmpty())
            out << part.trimmed();
    }
    if (out.isEmpty() && requiredHere(*f))
        setError(ErrorCode::MissingMetadata,
                 where(nullptr) + QStringLiteral("required metadata '%1' is missing").arg(f->name));
    return out;
}

QByteArray BindingSettings::pem(const QString &name)
{
    const MetadataField *f = lookup(name, "pem", {QStringLiteral("string")});
    if (!f)
        return {};
    bool given = false;
    const QString v = rawValue(*f, false, &given).trimmed();
    if (v.isEmpty()) {
        if (requiredHere(*f))
            setError(ErrorCode::MissingMetadata,
                     where(nullptr)
                         + QStringLiteral("required metadata '%1' is missing").arg(f->name));
        return {};
    }
    if (v.contains(QStringLiteral("-----BEGIN")))
        return v.toUtf8();
    QFile file(v);
    if (file.open(QIODevice::ReadOnly)) {
        const QByteArray content = file.read(16 * 1024 * 1024);
        if (content.contains("-----BEGIN"))
            return content;
        setError(ErrorCode::InvalidMetadata,
                 where(f)
                     + QStringLiteral("metadata '%1' names the file '%2', which holds no PEM data")
                           .arg(f->name, shortValue(v)));
        return {};
    }
    // Never echo what may be key material.
    setError(ErrorCode::InvalidMetadata,
             where(f)
                 + QStringLiteral(
                       "metadata '%1' is neither PEM text (-----BEGIN ...) nor a readable file")
                       .arg(f->name));
    return {};
}

bool BindingSettings::isSet(const QString &name)
{
    const MetadataField *f = lookup(name, "isSet", {});
    if (!f)
        return false;
    const MetadataItem *item = itemFor(*f, false);
    return item && !item->value.trimmed().isEmpty();
}

} // namespace bindery::core
