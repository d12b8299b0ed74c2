// SPDX-License-Identifier: Apache-2.0
#include "core/component_loader.h"

#include <cerrno>
#include <cstdlib>

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QHash>
#include <QRegularExpression>
#include <QUuid>

#include "core/binding_metadata.h"
#include "core/binding_registry.h"

namespace bindery::core {

namespace {

// Bounds on the work one file may cause (issue 14.2): a few hundred bytes of YAML aliases can
// otherwise expand to gigabytes, and a huge value must not reach the log several times.
constexpr qint64 kMaxFileBytes = 16 * 1024 * 1024;
constexpr int kMaxNodesPerFile = 200000;          ///< nodes visited, aliases counted at each use
constexpr qsizetype kMaxValueChars = 1024 * 1024; ///< a non-scalar value as JSON text
constexpr qsizetype kMaxNameChars = 253;          ///< a Kubernetes object name's limit

/// Visiting budget of one file, shared by its documents (a budget per document let a file of
/// many small alias bombs cost minutes; found by tests/fuzz); yamlToJson() throws when it is
/// spent.
struct NodeBudget
{
    int left = kMaxNodesPerFile;
};

struct BudgetExceeded
{
};

SourceLocation at(const QString &file, const YAML::Mark &mark, int lineOffset)
{
    if (mark.is_null())
        return {file, lineOffset + 1, 1};
    return {file, mark.line + 1 + lineOffset, mark.column + 1};
}

nlohmann::json yamlToJson(const YAML::Node &node, NodeBudget &budget)
{
    if (--budget.left < 0)
        throw BudgetExceeded{};
    switch (node.Type()) {
    case YAML::NodeType::Map: {
        nlohmann::json obj = nlohmann::json::object();
        for (auto it = node.begin(); it != node.end(); ++it)
            obj[it->first.as<std::string>()] = yamlToJson(it->second, budget);
        return obj;
    }
    case YAML::NodeType::Sequence: {
        nlohmann::json arr = nlohmann::json::array();
        for (const YAML::Node &e : node)
            arr.push_back(yamlToJson(e, budget));
        return arr;
    }
    case YAML::NodeType::Scalar: {
        const std::string &s = node.Scalar();
        if (node.Tag() == "?") { // plain scalar: numbers and bools keep their JSON type
            if (s == "true" || s == "false")
                return s == "true";
            // std::stoll, then std::stod, without their exceptions: one thrown per plain word
            // made an alias bomb's 200000 nodes cost seconds (found by tests/fuzz).
            const char *begin = s.c_str();
            char *end = nullptr;
            errno = 0;
            const long long i = std::strtoll(begin, &end, 10);
            if (end != begin && errno != ERANGE) {
                if (end == begin + s.size())
                    return i;
                errno = 0;
                const double d = std::strtod(begin, &end);
                if (end != begin && errno != ERANGE && end == begin + s.size())
                    return d;
            }
        }
        return s;
    }
    default: return nullptr;
    }
}

QString scalarText(const YAML::Node &node, NodeBudget &budget)
{
    if (!node || node.IsNull())
        return {};
    if (node.IsScalar())
        return QString::fromStdString(node.Scalar());
    // Dapr's DynamicValue keeps non-string values as JSON text.
    // Invalid UTF-8 becomes U+FFFD, as Go's json.Marshal writes it and as scalars read here
    // (QString::fromStdString); dump() would otherwise throw out of the loader (found by
    // tests/fuzz).
    std::string json
        = yamlToJson(node, budget).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    if (json.size() > size_t(kMaxValueChars))
        throw BudgetExceeded{};
    return QString::fromStdString(json);
}

QString applyTemplates(QString value, const LoaderOptions &o, QString *error)
{
    // One pass, a new UUID at each occurrence (daprd's rule), linear in the value's length.
    if (value.contains(QStringLiteral("{uuid}"))) {
        const QStringList parts = value.split(QStringLiteral("{uuid}"));
        QString out;
        out.reserve(value.size() + parts.size() * 32);
        for (qsizetype i = 0; i < parts.size(); ++i) {
            if (i > 0)
                out += QUuid::createUuid().toString(QUuid::WithoutBraces);
            out += parts[i];
        }
        value = std::move(out);
    }
    if (value.contains(QStringLiteral("{podName}"))) {
        if (o.podName.isEmpty())
            *error = QStringLiteral("'{podName}' is used but POD_NAME is not set");
        value.replace(QStringLiteral("{podName}"), o.podName);
    }
    value.replace(QStringLiteral("{namespace}"), o.namespaceName + u'.' + o.appId);
    value.replace(QStringLiteral("{appID}"), o.appId);
    return value;
}

bool envRefAllowed(const QString &name)
{
    if (name.isEmpty() || name.contains(u' ') || name == QStringLiteral("APP_API_TOKEN")
        || name.startsWith(QStringLiteral("DAPR_")))
        return false;
    const QByteArray allow = qgetenv("DAPR_ENV_KEYS");
    if (!allow.isEmpty()) {
        const QStringList keys = QString::fromUtf8(allow).split(u' ', Qt::SkipEmptyParts);
        return keys.contains(name);
    }
    return true;
}

void checkKeys(const YAML::Node &map, const QStringList &allowed, const QString &where,
               const QString &file, int offset, const ComponentSpec &spec, Diagnostics &out)
{
    if (!map || !map.IsMap())
        return;
    for (auto it = map.begin(); it != map.end(); ++it) {
        const QString key = QString::fromStdString(it->first.Scalar());
        if (allowed.contains(key))
            continue;
        Diagnostic d;
        d.severity = Diagnostic::Severity::Warning;
        d.location = at(file, it->first.Mark(), offset);
        d.component = spec.name;
        d.componentType = spec.type;
        d.field = key;
        d.message = QStringLiteral("unknown key '%1' in %2").arg(key, where);
        d.suggestion = closestMatch(key, allowed);
        if (!d.suggestion.isEmpty())
            d.message += QStringLiteral("; did you mean '%1'?").arg(d.suggestion);
        out << d;
    }
}

struct Document
{
    QByteArray text;
    int lineOffset = 0;
};

// daprd splits files on the byte sequence "\n---" and drops the rest of that line.
QList<Document> splitDocuments(const QByteArray &text)
{
    QList<Document> docs;
    int line = 0;
    int docStartLine = 0;
    QByteArray current;
    const QList<QByteArray> lines = text.split('\n');
    for (qsizetype i = 0; i < lines.size(); ++i) {
        const QByteArray &l = lines[i];
        if (i > 0 && l.startsWith("---")) {
            docs.append({current, docStartLine});
            current.clear();
            docStartLine = line + 1;
        } else {
            current += l;
            current += '\n';
        }
        ++line;
    }
    docs.append({current, docStartLine});
    return docs;
}

void parseDocument(const Document &doc, const QString &file, const LoaderOptions &options,
                   NodeBudget &budget, LoadResult &result)
{
    const int off = doc.lineOffset;
    auto error = [&](const SourceLocation &where, const QString &message,
                     const QString &component = {}, const QString &field = {}) {
        Diagnostic d;
        d.location = where;
        d.component = component;
        d.field = field;
        d.message = message;
        result.diagnostics << d;
    };
    YAML::Node root;
    try {
        root = YAML::Load(doc.text.toStdString());
    } catch (const YAML::Exception &e) {
        error(at(file, e.mark, off),
              QStringLiteral("YAML syntax error: ") + QString::fromStdString(e.msg));
        return;
    }
    if (!root || root.IsNull())
        return; // an empty document
    try {
        if (!root.IsMap()) {
            error(at(file, root.Mark(), off), QStringLiteral("document is not a YAML mapping"));
            return;
        }
        const QString apiVersion = scalarText(root["apiVersion"], budget);
        const QString kind = scalarText(root["kind"], budget);
        if (kind != QStringLiteral("Component")
            || apiVersion != QStringLiteral("dapr.io/v1alpha1")) {
            // Resiliency, Configuration, Subscription... share folders; daprd skips them silently.
            // A near-miss is almost certainly a typo, so say so.
            static const QRegularExpression looksLikeComponent(
                QStringLiteral("^\\s*kind:\\s*[\"']?Component[\"']?\\s*$"),
                QRegularExpression::MultilineOption);
            if (kind.isEmpty()
                && looksLikeComponent.match(QString::fromUtf8(doc.text)).hasMatch()) {
                // e.g. one space before the first key: YAML then reads something else entirely.
                error(
                    at(file, root.Mark(), off),
                    QStringLiteral("document skipped: it looks like a Dapr component, but its "
                                   "apiVersion and kind were not read as top-level keys (check the "
                                   "indentation of its first lines)"));
                return;
            }
            if (kind.compare(QStringLiteral("Component"), Qt::CaseInsensitive) == 0) {
                Diagnostic d;
                d.severity = Diagnostic::Severity::Warning;
                d.location = at(file, root.Mark(), off);
                d.message
                    = QStringLiteral("document skipped: apiVersion/kind is '%1'/'%2', expected "
                                     "'dapr.io/v1alpha1'/'Component'")
                          .arg(apiVersion, kind);
                result.diagnostics << d;
            }
            return;
        }
        ComponentSpec spec;
        spec.location = at(file, root.Mark(), off);
        const YAML::Node meta = root["metadata"];
        spec.name = meta && meta.IsMap() ? scalarText(meta["name"], budget) : QString();
        spec.namespaceName
            = meta && meta.IsMap() ? scalarText(meta["namespace"], budget) : QString();
        if (spec.name.isEmpty()) {
            error(meta ? at(file, meta.Mark(), off) : spec.location,
                  QStringLiteral("component has no metadata.name"), {},
                  QStringLiteral("metadata.name"));
            return;
        }
        if (spec.name.size() > kMaxNameChars) {
            error(at(file, meta["name"].Mark(), off),
                  QStringLiteral(
                      "invalid component name: it has %1 characters, at most %2 are allowed")
                      .arg(spec.name.size())
                      .arg(kMaxNameChars),
                  {}, QStringLiteral("metadata.name"));
            return;
        }
        if (spec.name.contains(u'/') || spec.name.contains(u'%') || spec.name == QStringLiteral(".")
            || spec.name == QStringLiteral("..")) {
            error(at(file, meta["name"].Mark(), off),
                  QStringLiteral("invalid component name '%1': it must be a valid path segment")
                      .arg(spec.name),
                  spec.name, QStringLiteral("metadata.name"));
            return;
        }
        const YAML::Node specNode = root["spec"];
        if (!specNode || !specNode.IsMap()) {
            error(spec.location, QStringLiteral("component '%1' has no spec").arg(spec.name),
                  spec.name, QStringLiteral("spec"));
            return;
        }
        spec.type = scalarText(specNode["type"], budget);
        spec.typeLocation = specNode["type"] ? at(file, specNode["type"].Mark(), off)
                                             : at(file, specNode.Mark(), off);
        spec.metadataLocation = specNode["metadata"] ? at(file, specNode["metadata"].Mark(), off)
                                                     : at(file, specNode.Mark(), off);
        checkKeys(root,
                  {QStringLiteral("apiVersion"), QStringLiteral("kind"), QStringLiteral("metadata"),
                   QStringLiteral("spec"), QStringLiteral("auth"), QStringLiteral("scopes")},
                  QStringLiteral("the component"), file, off, spec, result.diagnostics);
        checkKeys(specNode,
                  {QStringLiteral("type"), QStringLiteral("version"),
                   QStringLiteral("ignoreErrors"), QStringLiteral("initTimeout"),
                   QStringLiteral("metadata")},
                  QStringLiteral("spec"), file, off, spec, result.diagnostics);
        if (spec.type.isEmpty()) {
            error(spec.typeLocation,
                  QStringLiteral("component '%1' has no spec.type").arg(spec.name), spec.name,
                  QStringLiteral("spec.type"));
            return;
        }
        spec.version = scalarText(specNode["version"], budget);
        spec.ignoreErrors = parseDaprBool(scalarText(specNode["ignoreErrors"], budget));
        const QString initTimeout = scalarText(specNode["initTimeout"], budget);
        qint64 ms = 0;
        if (!initTimeout.isEmpty() && parseGoDuration(initTimeout, &ms) && ms > 0)
            spec.initTimeoutMs = static_cast<int>(ms);
        if (const YAML::Node scopes = root["scopes"]; scopes && scopes.IsSequence()) {
            for (const YAML::Node &s : scopes)
                spec.scopes << scalarText(s, budget);
        }
        if (const YAML::Node auth = root["auth"]; auth && auth.IsMap()) {
            for (auto it = auth.begin(); it != auth.end(); ++it) {
                if (QString::fromStdString(it->first.Scalar())
                        .compare(QStringLiteral("secretStore"), Qt::CaseInsensitive)
                    == 0)
                    spec.secretStore = scalarText(it->second, budget);
            }
        }
        if (const YAML::Node items = specNode["metadata"]; items && items.IsSequence()) {
            for (const YAML::Node &n : items) {
                if (!n.IsMap()) {
                    // daprd cannot decode the document and skips it (not fatal).
                    error(at(file, n.Mark(), off),
                          QStringLiteral("document skipped: spec.metadata entries must be "
                                         "name/value mappings"),
                          spec.name, QStringLiteral("spec.metadata"));
                    return;
                }
                checkKeys(n,
                          {QStringLiteral("name"), QStringLiteral("value"),
                           QStringLiteral("secretKeyRef"), QStringLiteral("envRef")},
                          QStringLiteral("a spec.metadata entry"), file, off, spec,
                          result.diagnostics);
                MetadataItem item;
                item.name = scalarText(n["name"], budget);
                item.location = at(file, n.Mark(), off);
                if (item.name.isEmpty()) {
                    error(item.location, QStringLiteral("spec.metadata entry has no name"),
                          spec.name, QStringLiteral("spec.metadata"));
                    continue;
                }
                if (const YAML::Node v = n["value"]) {
                    item.rawValue = scalarText(v, budget);
                    item.valueLocation = at(file, v.Mark(), off);
                }
                if (const YAML::Node ref = n["secretKeyRef"]; ref && ref.IsMap()) {
                    item.secretName = scalarText(ref["name"], budget);
                    item.secretKey = scalarText(ref["key"], budget);
                    if (item.secretKey.isEmpty())
                        item.secretKey = item.secretName;
                }
                item.envRef = scalarText(n["envRef"], budget);
                QString templateError;
                item.value = applyTemplates(item.rawValue, options, &templateError);
                if (!templateError.isEmpty())
                    error(item.valueLocation, templateError, spec.name, item.name);
                if (item.value.isEmpty() && !item.envRef.isEmpty()) {
                    if (envRefAllowed(item.envRef)) {
                        item.value = qEnvironmentVariable(item.envRef.toLocal8Bit().constData());
                    } else {
                        Diagnostic d;
                        d.severity = Diagnostic::Severity::Warning;
                        d.location = item.location;
                        d.component = spec.name;
                        d.componentType = spec.type;
                        d.field = item.name;
                        d.message = QStringLiteral(
                                        "envRef '%1' of metadata '%2' is not allowed; the value "
                                        "stays empty")
                                        .arg(item.envRef, item.name);
                        result.diagnostics << d;
                    }
                }
                spec.items << item;
            }
        } else if (specNode["metadata"] && !specNode["metadata"].IsNull()) {
            error(spec.metadataLocation,
                  QStringLiteral(
                      "document skipped: spec.metadata must be a list of name/value entries"),
                  spec.name, QStringLiteral("spec.metadata"));
            return;
        }
        if (!options.namespaceName.isEmpty() && !spec.namespaceName.isEmpty()
            && spec.namespaceName != options.namespaceName)
            return;
        if (!spec.scopes.isEmpty() && !spec.scopes.contains(options.appId))
            return;
        result.components << spec;
    } catch (const YAML::Exception &e) {
        error(at(file, e.mark, off),
              QStringLiteral("malformed component: ") + QString::fromStdString(e.msg));
    } catch (const BudgetExceeded &) {
        error(at(file, root.Mark(), off),
              QStringLiteral("document skipped: the file expands to more than %1 YAML nodes or "
                             "a value longer than %2 characters (YAML aliases?)")
                  .arg(kMaxNodesPerFile)
                  .arg(kMaxValueChars));
    }
}

} // namespace

LoadResult ComponentLoader::parseText(const QByteArray &text, const QString &fileName,
                                      const LoaderOptions &options)
{
    LoadResult result;
    NodeBudget budget;
    for (const Document &doc : splitDocuments(text))
        parseDocument(doc, fileName, options, budget, result);
    return result;
}

LoadResult ComponentLoader::loadPaths(const QStringList &paths, const LoaderOptions &options)
{
    LoadResult result;
    for (const QString &path : paths) {
        QDir dir(path);
        if (!dir.exists()) {
            Diagnostic d;
            d.location.file = path;
            d.message = QStringLiteral("resources path does not exist");
            result.diagnostics << d;
            continue;
        }
        const QFileInfoList entries = dir.entryInfoList(QDir::Files | QDir::System, QDir::Name);
        for (const QFileInfo &fi : entries) {
            const QString suffix = fi.suffix().toLower();
            const QString shown = dir.path() + u'/' + fi.fileName();
            if (!fi.isFile()) {
                // A device, FIFO or socket (or a link to one): reading it could block or never end.
                Diagnostic d;
                d.severity = Diagnostic::Severity::Warning;
                d.location.file = shown;
                d.message = QStringLiteral("skipped: not a regular file");
                result.diagnostics << d;
                continue;
            }
            if (suffix != QStringLiteral("yaml") && suffix != QStringLiteral("yml")) {
                Diagnostic d;
                d.severity = Diagnostic::Severity::Info;
                d.location.file = shown;
                d.message = QStringLiteral(
                                "A non-YAML Component file %1 was detected, it will not be loaded")
                                .arg(fi.fileName());
                result.diagnostics << d;
                continue;
            }
            QFile f(fi.filePath());
            if (!f.open(QIODevice::ReadOnly)) {
                Diagnostic d;
                d.location.file = shown;
                d.message = QStringLiteral("cannot read: ") + f.errorString();
                result.diagnostics << d;
                continue;
            }
            const QByteArray text = f.read(kMaxFileBytes + 1);
            if (text.size() > kMaxFileBytes) {
                Diagnostic d;
                d.location.file = shown;
                d.message = QStringLiteral("skipped: the file is larger than %1 MiB")
                                .arg(kMaxFileBytes / 1048576);
                result.diagnostics << d;
                continue;
            }
            LoadResult one = parseText(text, shown, options);
            result.components << one.components;
            result.diagnostics << one.diagnostics;
        }
    }
    checkDuplicates(result);
    return result;
}

void ComponentLoader::checkDuplicates(LoadResult &result)
{
    QHash<QString, const ComponentSpec *> seen;
    QList<ComponentSpec> kept;
    for (const ComponentSpec &c : std::as_const(result.components)) {
        if (const ComponentSpec *first = seen.value(c.name)) {
            Diagnostic d;
            d.location = c.location;
            d.component = c.name;
            d.componentType = c.type;
            d.field = QStringLiteral("metadata.name");
            d.message
                = QStringLiteral("duplicate definition of Component name %1 (%2/%3) with existing "
                                 "%4 (%5/%6) at %7:%8")
                      .arg(c.name, c.type, c.version, first->name, first->type, first->version,
                           first->location.file)
                      .arg(first->location.line);
            result.diagnostics << d;
            result.fatal = true;
            continue;
        }
        seen.insert(c.name, &c);
    }
    for (const ComponentSpec &c : std::as_const(result.components)) {
        if (seen.value(c.name) == &c)
            kept << c;
    }
    result.components = kept;
}

Diagnostics checkComponents(const QList<ComponentSpec> &components, const BindingRegistry &registry)
{
    Diagnostics out;
    for (const ComponentSpec &c : components) {
        if (c.isSecretStore())
            continue;
        if (!c.hasKnownCategory()) {
            Diagnostic d;
            d.location = c.typeLocation;
            d.component = c.name;
            d.componentType = c.type;
            d.field = QStringLiteral("spec.type");
            d.message = QStringLiteral("incorrect type %1").arg(c.type);
            // "binding.kafka", "Bindings.kafka": a category typo, not another building block.
            const QString category = c.type.section(u'.', 0, 0);
            if (closestMatch(category, {QStringLiteral("bindings")}) == QStringLiteral("bindings")
                || category.compare(QStringLiteral("bindings"), Qt::CaseInsensitive) == 0) {
                d.suggestion = QStringLiteral("bindings.") + c.type.section(u'.', 1);
                d.message += QStringLiteral("; did you mean '%1'?").arg(d.suggestion);
            }
            out << d;
            continue;
        }
        if (!c.isBinding()) {
            Diagnostic d;
            d.severity = Diagnostic::Severity::Info;
            d.location = c.typeLocation;
            d.component = c.name;
            d.componentType = c.type;
            d.message
                = QStringLiteral("not a binding; Bindery loads bindings and secret stores only");
            out << d;
            continue;
        }
        const BindingDescriptor *desc = registry.find(c.type, c.version);
        if (!desc) {
            Diagnostic d;
            d.location = c.typeLocation;
            d.component = c.name;
            d.componentType = c.type;
            d.field = QStringLiteral("spec.type");
            QStringList types;
            for (const BindingDescriptor *b : registry.all())
                types << b->type;
            d.message = QStringLiteral("couldn't find binding %1").arg(c.logName());
            // The type exists under another version: name the versions, not the type itself.
            QStringList versions;
            for (const BindingDescriptor *b : registry.all(true)) {
                if (b->type.compare(c.type, Qt::CaseInsensitive) == 0)
                    versions << (b->version.isEmpty() ? QStringLiteral("v1") : b->version);
            }
            if (!versions.isEmpty()) {
                d.message += QStringLiteral("; %1 has version %2")
                                 .arg(c.type, versions.join(QStringLiteral(", ")));
            } else {
                d.suggestion = closestMatch(c.type, types);
                if (!d.suggestion.isEmpty())
                    d.message += QStringLiteral("; did you mean '%1'?").arg(d.suggestion);
            }
            out << d;
            continue;
        }
        out << validateComponent(c, desc->metadata);
    }
    return out;
}

Diagnostics checkComponentText(const QByteArray &text, const QString &fileName,
                               const BindingRegistry &registry)
{
    LoadResult r = ComponentLoader::parseText(text, fileName);
    ComponentLoader::checkDuplicates(r);
    Diagnostics out = r.diagnostics;
    out << checkComponents(r.components, registry);
    return out;
}

} // namespace bindery::core
