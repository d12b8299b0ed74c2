// SPDX-License-Identifier: Apache-2.0
#include "core/binding_metadata.h"

#include <algorithm>

#include <yaml-cpp/yaml.h>

#include <QFile>

#include "core/binding_settings.h"

namespace bindery::core {

namespace {

QString str(const YAML::Node &node, const char *key, const QString &fallback = {})
{
    const YAML::Node v = node[key];
    if (!v || !v.IsScalar())
        return fallback;
    return QString::fromStdString(v.Scalar());
}

bool boolean(const YAML::Node &node, const char *key, bool fallback)
{
    const YAML::Node v = node[key];
    if (!v || !v.IsScalar())
        return fallback;
    return parseDaprBool(QString::fromStdString(v.Scalar()));
}

QStringList list(const YAML::Node &node, const char *key)
{
    QStringList out;
    const YAML::Node v = node[key];
    if (v && v.IsSequence()) {
        for (const YAML::Node &e : v)
            out << QString::fromStdString(e.Scalar());
    }
    return out;
}

// Dapr writes string defaults quoted ('"newest"'); show them bare.
QString unquote(QString s)
{
    if (s.size() >= 2 && s.startsWith(u'"') && s.endsWith(u'"'))
        s = s.mid(1, s.size() - 2);
    return s;
}

int editDistance(const QString &a, const QString &b)
{
    QList<int> prev(b.size() + 1), cur(b.size() + 1);
    for (int j = 0; j <= b.size(); ++j)
        prev[j] = j;
    for (int i = 1; i <= a.size(); ++i) {
        cur[0] = i;
        for (int j = 1; j <= b.size(); ++j) {
            const int cost = a[i - 1].toLower() == b[j - 1].toLower() ? 0 : 1;
            cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost});
        }
        std::swap(prev, cur);
    }
    return prev[b.size()];
}

} // namespace

const MetadataField *BindingMetadata::field(const QString &fieldName) const
{
    for (const MetadataField &f : fields) {
        if (f.name.compare(fieldName, Qt::CaseInsensitive) == 0)
            return &f;
        for (const QString &alias : f.aliases) {
            if (alias.compare(fieldName, Qt::CaseInsensitive) == 0)
                return &f;
        }
    }
    return nullptr;
}

QStringList BindingMetadata::operationNames() const
{
    QStringList out;
    for (const OperationInfo &op : operations)
        out << op.name;
    return out;
}

Result<BindingMetadata> BindingMetadata::fromYaml(const QByteArray &text, const QString &sourceName)
{
    BindingMetadata meta;
    try {
        const YAML::Node root = YAML::Load(text.toStdString());
        if (!root.IsMap())
            return fail(ErrorCode::InvalidComponent,
                        sourceName + QStringLiteral(": not a YAML mapping"));
        if (str(root, "type") != QStringLiteral("bindings"))
            return fail(ErrorCode::InvalidComponent,
                        sourceName + QStringLiteral(": 'type' must be 'bindings'"));
        meta.name = str(root, "name");
        if (meta.name.isEmpty())
            return fail(ErrorCode::InvalidComponent,
                        sourceName + QStringLiteral(": 'name' is missing"));
        meta.type = QStringLiteral("bindings.") + meta.name;
        meta.version = str(root, "version", QStringLiteral("v1"));
        for (const QString &alias : list(root, "aliases"))
            meta.aliases << (alias.startsWith(QStringLiteral("bindings."))
                                 ? alias
                                 : QStringLiteral("bindings.") + alias);
        meta.status = str(root, "status");
        meta.title = str(root, "title", meta.name);
        meta.description = str(root, "description");
        const YAML::Node binding = root["binding"];
        if (binding) {
            meta.input = boolean(binding, "input", false);
            meta.output = boolean(binding, "output", false);
            if (const YAML::Node ops = binding["operations"]; ops && ops.IsSequence()) {
                for (const YAML::Node &op : ops)
                    meta.operations.append({str(op, "name"), str(op, "description")});
            }
        }
        if (const YAML::Node reqs = root["requestMetadata"]; reqs && reqs.IsSequence()) {
            for (const YAML::Node &r : reqs) {
                meta.requestMetadata.append({str(r, "name"), str(r, "description"),
                                             unquote(str(r, "example")), list(r, "operations"),
                                             boolean(r, "required", false)});
            }
        }
        if (const YAML::Node fields = root["metadata"]; fields && fields.IsSequence()) {
            for (const YAML::Node &f : fields) {
                MetadataField field;
                field.name = str(f, "name");
                if (field.name.isEmpty()) {
                    return fail(ErrorCode::InvalidComponent,
                                sourceName + u':' + QString::number(f.Mark().line + 1)
                                    + QStringLiteral(": metadata entry without a name"));
                }
                field.description = str(f, "description");
                field.type = str(f, "type", QStringLiteral("string"));
                field.defaultValue = unquote(str(f, "default"));
                field.example = unquote(str(f, "example"));
                field.allowedValues = list(f, "allowedValues");
                field.aliases = list(f, "aliases");
                field.required = boolean(f, "required", false);
                field.sensitive = boolean(f, "sensitive", false);
                field.deprecated = boolean(f, "deprecated", false);
                field.compatibility = str(f, "compatibility");
                field.unsupported = str(f, "unsupported");
                field.group = str(f, "group");
                if (const YAML::Node b = f["binding"]; b && b.IsMap()) {
                    field.input = boolean(b, "input", false);
                    field.output = boolean(b, "output", false);
                }
                meta.fields.append(field);
            }
        }
    } catch (const YAML::Exception &e) {
        return fail(ErrorCode::InvalidComponent,
                    sourceName + u':' + QString::number(e.mark.line + 1) + QStringLiteral(": ")
                        + QString::fromStdString(e.msg));
    }
    // The built-in fields Dapr's tooling appends to every input binding (cc validators.go).
    if (meta.input) {
        MetadataField direction;
        direction.name = QStringLiteral("direction");
        direction.description = QStringLiteral(
            "Which directions to create. 'input' also skips the app's OPTIONS probe.");
        direction.allowedValues = {QStringLiteral("input")};
        if (meta.output)
            direction.allowedValues << QStringLiteral("output") << QStringLiteral("input, output");
        direction.example = meta.output ? QStringLiteral("input, output") : QStringLiteral("input");
        direction.builtin = true;
        meta.fields.append(direction);
        MetadataField route;
        route.name = QStringLiteral("route");
        route.description = QStringLiteral("The app path events are POSTed to (default /<name>).");
        route.example = QStringLiteral("/custom-path");
        route.input = true;
        route.output = false;
        route.builtin = true;
        meta.fields.append(route);
    } else if (meta.output && !meta.field(QStringLiteral("direction"))) {
        MetadataField direction;
        direction.name = QStringLiteral("direction");
        direction.description = QStringLiteral("Which directions to create.");
        direction.allowedValues = {QStringLiteral("output")};
        direction.example = QStringLiteral("output");
        direction.builtin = true;
        meta.fields.append(direction);
    }
    return meta;
}

Result<BindingMetadata> BindingMetadata::fromFile(const QString &path)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return fail(ErrorCode::Io, path + QStringLiteral(": cannot open: ") + file.errorString());
    return fromYaml(file.readAll(), path);
}

Directions effectiveDirections(const ComponentSpec &spec, const BindingMetadata &meta)
{
    const MetadataItem *direction = spec.item(QStringLiteral("direction"));
    if (!direction)
        return {meta.input, meta.output};
    Directions d;
    const QStringList parts = direction->value.split(u',');
    for (const QString &p : parts) {
        const QString v = p.trimmed().toLower();
        if (v == QStringLiteral("input"))
            d.input = meta.input;
        else if (v == QStringLiteral("output"))
            d.output = meta.output;
    }
    return d;
}

QString closestMatch(const QString &word, const QStringList &candidates)
{
    QString best;
    int bestDistance = std::max<int>(2, static_cast<int>(word.size()) / 3) + 1;
    for (const QString &c : candidates) {
        const int d = editDistance(word, c);
        if (d < bestDistance) {
            bestDistance = d;
            best = c;
        }
    }
    return best;
}

Diagnostics validateComponent(const ComponentSpec &spec, const BindingMetadata &meta)
{
    Diagnostics out;
    auto make = [&](Diagnostic::Severity sev, const SourceLocation &where, const QString &fieldName,
                    const QString &message) {
        Diagnostic d;
        d.severity = sev;
        d.location = where.line > 0 ? where : spec.location;
        d.component = spec.name;
        d.componentType = spec.type;
        d.field = fieldName;
        d.message = message;
        return d;
    };

    const Directions dirs = effectiveDirections(spec, meta);
    QStringList known;
    for (const MetadataField &f : meta.fields)
        known << f.name;

    for (const MetadataItem &item : spec.items) {
        const MetadataField *f = meta.field(item.name);
        if (!f) {
            Diagnostic d = make(Diagnostic::Severity::Warning, item.location, item.name,
                                QStringLiteral("unknown metadata '%1'").arg(item.name));
            d.suggestion = closestMatch(item.name, known);
            if (!d.suggestion.isEmpty())
                d.message += QStringLiteral("; did you mean '%1'?").arg(d.suggestion);
            else
                d.message += QStringLiteral("; %1 does not use it").arg(meta.type);
            out << d;
            continue;
        }
        if (f->deprecated) {
            out << make(Diagnostic::Severity::Warning, item.location, f->name,
                        QStringLiteral("metadata '%1' is deprecated").arg(item.name));
        }
        const bool setToSomething = !item.value.trimmed().isEmpty() || !item.secretName.isEmpty();
        if (setToSomething && !f->unsupported.isEmpty()
            && !(f->type == QStringLiteral("bool") && item.secretName.isEmpty()
                 && !parseDaprBool(item.value))) {
            out << make(Diagnostic::Severity::Error, item.location, f->name,
                        QStringLiteral("metadata '%1' is not supported by Bindery: %2")
                            .arg(item.name, f->unsupported));
            continue;
        }
        // A field that only applies to the direction this component does not have.
        if (!f->builtin && !(f->input && f->output) && (dirs.input || dirs.output)) {
            const bool applies = (f->input && dirs.input) || (f->output && dirs.output);
            if (!applies) {
                const QString only = f->input ? QStringLiteral("input") : QStringLiteral("output");
                const QString has = dirs.input ? QStringLiteral("input") : QStringLiteral("output");
                out << make(Diagnostic::Severity::Warning, item.location, f->name,
                            QStringLiteral("metadata '%1' applies to %2 bindings only, but this "
                                           "component is %3 only")
                                .arg(item.name, only, has));
            }
        }
        const bool fromSecret = !item.secretName.isEmpty();
        const QString value = item.value;
        if (value.isEmpty() || fromSecret)
            continue;
        const SourceLocation &at = item.valueLocation.line > 0 ? item.valueLocation : item.location;
        if (!f->allowedValues.isEmpty()) {
            bool allowed = false;
            for (const QString &a : f->allowedValues) {
                auto norm = [](QString s) { return s.remove(u' ').toLower(); };
                if (norm(a) == norm(value))
                    allowed = true;
            }
            if (!allowed) {
                Diagnostic d
                    = make(Diagnostic::Severity::Error, at, f->name,
                           QStringLiteral("metadata '%1' has value '%2'; allowed values: %3")
                               .arg(item.name, shortValue(value),
                                    f->allowedValues.join(QStringLiteral(", "))));
                d.suggestion = closestMatch(value, f->allowedValues);
                if (!d.suggestion.isEmpty())
                    d.message += QStringLiteral(" (did you mean '%1'?)").arg(d.suggestion);
                out << d;
                continue;
            }
        }
        QString problem;
        if (f->type == QStringLiteral("number")) {
            bool ok = false;
            value.toDouble(&ok);
            if (!ok)
                problem = QStringLiteral("a number");
        } else if (f->type == QStringLiteral("bool")) {
            bool ok = false;
            parseDaprBool(value, &ok);
            if (!ok)
                problem = QStringLiteral("a bool (true or false)");
        } else if (f->type == QStringLiteral("duration")) {
            qint64 ms = 0;
            if (!parseGoDuration(value, &ms))
                problem = QStringLiteral("a duration such as 500ms, 5s or 1m30s");
        } else if (f->type == QStringLiteral("bytesize")) {
            qint64 bytes = 0;
            if (!parseByteSize(value, &bytes))
                problem = QStringLiteral("a byte size such as 1024, 4Mi or 100MB");
        }
        if (!problem.isEmpty()) {
            out << make(Diagnostic::Severity::Error, at, f->name,
                        QStringLiteral("metadata '%1' must be %2, not '%3'")
                            .arg(item.name, problem, shortValue(value)));
        } else if (!f->compatibility.isEmpty()) {
            out << make(Diagnostic::Severity::Warning, item.location, f->name,
                        BindingSettings::compatibilityWarning(item.name, *f));
        }
    }

    for (const MetadataField &f : meta.fields) {
        if (!f.required)
            continue;
        const bool needed = (f.input && dirs.input) || (f.output && dirs.output);
        if (!needed)
            continue;
        const MetadataItem *item = spec.item(f.name);
        if (!item) {
            for (const QString &alias : f.aliases) {
                if ((item = spec.item(alias)))
                    break;
            }
        }
        if (!item || (item->value.isEmpty() && item->secretName.isEmpty())) {
            out << make(Diagnostic::Severity::Error, item ? item->location : spec.metadataLocation,
                        f.name, QStringLiteral("required metadata '%1' is missing").arg(f.name));
        }
    }
    return out;
}

} // namespace bindery::core
