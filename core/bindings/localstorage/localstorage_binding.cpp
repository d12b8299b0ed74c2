// SPDX-License-Identifier: Apache-2.0
#include "core/bindings/localstorage/localstorage_binding.h"

#include <nlohmann/json.hpp>

#include <QDir>
#include <QDirIterator>
#include <QFile>
#include <QFileInfo>
#include <QUuid>

#include "core/binding_registry.h"
#include "core/binding_settings.h"
#include "core/go_json.h"

namespace bindery::bindings::localstorage {

namespace {

core::InvokeResult failure(const QString &message)
{
    return {fail(ErrorCode::InvokeFailed, message), {}};
}

core::InvokeResult data(QByteArray bytes)
{
    core::InvokeResponse r;
    r.data = std::move(bytes);
    r.hasData = true;
    return {r, {}};
}

// Go's strconv.Unquote for a double-quoted JSON-encoded string.
bool unquote(const QByteArray &in, QByteArray *out)
{
    if (in.size() < 2 || !in.startsWith('"') || !in.endsWith('"'))
        return false;
    try {
        const nlohmann::json j = nlohmann::json::parse(in.toStdString());
        if (!j.is_string())
            return false;
        *out = QByteArray::fromStdString(j.get<std::string>());
        return true;
    } catch (const nlohmann::json::exception &) {
        return false;
    }
}

// Go's base64.StdEncoding.DecodeString: strict alphabet and padding.
bool strictBase64(const QByteArray &in, QByteArray *out)
{
    if (in.size() % 4 != 0)
        return false;
    auto r = QByteArray::fromBase64Encoding(in, QByteArray::AbortOnBase64DecodingErrors);
    if (!r)
        return false;
    // Qt is lenient about a missing '=' and stray characters inside; round-trip to be strict.
    if (r.decoded.toBase64() != in)
        return false;
    *out = r.decoded;
    return true;
}

} // namespace

LocalStorageBinding::LocalStorageBinding()
{
    m_pool.setMaxThreadCount(4);
}

LocalStorageBinding::~LocalStorageBinding()
{
    close();
}

Result<> LocalStorageBinding::init(const core::ComponentSpec &spec)
{
    core::BindingSettings settings(spec, core::builtinSchema(QStringLiteral("localstorage")),
                                   {false, true});
    const QString root = settings.string(QStringLiteral("rootPath"));
    if (!settings.ok())
        return settings.result();
    const QString absolute = QDir::cleanPath(QDir(root).absolutePath());
    if (!QDir().mkpath(absolute))
        return fail(ErrorCode::InitFailed,
                    QStringLiteral("rootPath '%1': cannot create the folder").arg(root), spec.name);
    const QString canonical = QFileInfo(absolute).canonicalFilePath();
    for (const QString &forbidden :
         {QStringLiteral("/proc"), QStringLiteral("/sys"), QStringLiteral("/boot"),
          QStringLiteral("/var/run/secrets"), QStringLiteral("/run/secrets")}) {
        if (canonical == forbidden || canonical.startsWith(forbidden + u'/'))
            return fail(ErrorCode::InitFailed,
                        QStringLiteral("rootPath '%1' is not allowed: it is inside %2")
                            .arg(root, forbidden),
                        spec.name);
    }
    m_root = canonical;
    return {};
}

QStringList LocalStorageBinding::operations() const
{
    return {QStringLiteral("create"), QStringLiteral("get"), QStringLiteral("delete"),
            QStringLiteral("list")};
}

Result<QString> LocalStorageBinding::resolve(const QString &fileName) const
{
    // A NUL would be cut off by the file system call: the file written would not be the one named.
    if (fileName.contains(QChar(u'\0')))
        return fail(ErrorCode::InvalidMetadata,
                    QStringLiteral("fileName contains a NUL character; it is refused"));
    QString relative = fileName;
    while (relative.startsWith(u'/'))
        relative.remove(0, 1);
    const QString joined = QDir::cleanPath(m_root + u'/' + relative);
    if (joined != m_root && !joined.startsWith(m_root + u'/'))
        return fail(ErrorCode::InvalidMetadata,
                    QStringLiteral("fileName '%1' is outside rootPath %2; it is refused")
                        .arg(fileName, m_root));
    // A symlink inside the root may still point out of it: check the deepest existing ancestor.
    QFileInfo probe(joined);
    while (!probe.exists() && probe.absoluteFilePath() != m_root)
        probe = QFileInfo(probe.absolutePath());
    const QString real = probe.canonicalFilePath();
    if (!real.isEmpty() && real != m_root && !real.startsWith(m_root + u'/'))
        return fail(
            ErrorCode::InvalidMetadata,
            QStringLiteral(
                "fileName '%1' resolves through a link to %2, outside rootPath %3; it is refused")
                .arg(fileName, real, m_root));
    return joined;
}

void LocalStorageBinding::invoke(core::InvokeRequest request, core::InvokeDone done)
{
    m_pool.start(
        [this, request = std::move(request), done = std::move(done)]() { done(run(request)); });
}

core::InvokeResult LocalStorageBinding::run(const core::InvokeRequest &request) const
{
    const QString op = request.operation;
    const QString fileName = request.metadata.value(QStringLiteral("fileName"));
    if (op == QStringLiteral("create")) {
        const QString name
            = fileName.isEmpty() ? QUuid::createUuid().toString(QUuid::WithoutBraces) : fileName;
        Result<QString> path = resolve(name);
        if (!path)
            return failure(path.error().message);
        QByteArray bytes = request.data;
        QByteArray tmp;
        if (unquote(bytes, &tmp))
            bytes = tmp;
        if (strictBase64(bytes, &tmp))
            bytes = tmp;
        QDir().mkpath(QFileInfo(*path).absolutePath());
        QFile f(*path);
        if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate) || f.write(bytes) != bytes.size())
            return failure(QStringLiteral("error writing file %1: %2").arg(*path, f.errorString()));
        nlohmann::json j;
        j["fileName"] = QDir(m_root).relativeFilePath(*path).toStdString();
        return data(core::goJsonMarshal(j));
    }
    if (op == QStringLiteral("get")) {
        if (fileName.isEmpty())
            return failure(
                QStringLiteral("required metadata 'fileName' is missing for operation get"));
        Result<QString> path = resolve(fileName);
        if (!path)
            return failure(path.error().message);
        QFile f(*path);
        if (!QFileInfo(*path).isFile() || !f.open(QIODevice::ReadOnly))
            return failure(QStringLiteral("file not found: %1").arg(*path));
        return data(f.readAll());
    }
    if (op == QStringLiteral("delete")) {
        if (fileName.isEmpty())
            return failure(
                QStringLiteral("required metadata 'fileName' is missing for operation delete"));
        Result<QString> path = resolve(fileName);
        if (!path)
            return failure(path.error().message);
        QFile f(*path);
        if (!f.remove())
            return failure(
                QStringLiteral("error deleting file %1: %2").arg(*path, f.errorString()));
        return {core::InvokeResponse{}, {}};
    }
    if (op == QStringLiteral("list")) {
        Result<QString> dir = resolve(fileName);
        if (!dir)
            return failure(dir.error().message);
        if (!QFileInfo(*dir).isDir())
            return failure(QStringLiteral("error listing %1: not a directory").arg(*dir));
        QStringList files;
        QDirIterator it(*dir, QDir::Files | QDir::Hidden, QDirIterator::Subdirectories);
        while (it.hasNext())
            files << it.next();
        files.sort();
        if (files.isEmpty())
            return data("null");
        nlohmann::json arr = nlohmann::json::array();
        for (const QString &f : files)
            arr.push_back(f.toStdString());
        return data(core::goJsonMarshal(arr));
    }
    return failure(QStringLiteral("unsupported operation %1").arg(op));
}

void LocalStorageBinding::close()
{
    m_pool.waitForDone();
}

} // namespace bindery::bindings::localstorage

BINDERY_BINDING(localstorage, void, bindery::bindings::localstorage::LocalStorageBinding)
