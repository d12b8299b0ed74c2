// SPDX-License-Identifier: Apache-2.0
#include "core/bindings/localstorage/localstorage_binding.h"

#include <cerrno>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QUuid>

#include "core/binding_registry.h"
#include "core/binding_settings.h"
#include "core/bindings/localstorage/beneath.h"
#include "core/go_json.h"

namespace bindery::bindings::localstorage {

namespace {

QString errnoText(int error)
{
    return QString::fromLocal8Bit(std::strerror(error));
}

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
    if (m_rootFd >= 0)
        ::close(m_rootFd);
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
    const int fd
        = ::open(QFile::encodeName(canonical).constData(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return fail(
            ErrorCode::InitFailed,
            QStringLiteral("rootPath '%1': cannot open the folder: %2").arg(root, errnoText(errno)),
            spec.name);
    if (m_rootFd >= 0)
        ::close(m_rootFd);
    m_rootFd = fd;
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
    // A link inside the root may still point out of it: that is refused when the path is opened
    // (beneath::open), not checked here, so that nothing can change between a check and the open.
    return joined;
}

void LocalStorageBinding::invoke(core::InvokeRequest request, core::InvokeDone done)
{
    m_pool.start(
        [this, request = std::move(request), done = std::move(done)]() { done(run(request)); });
}

namespace {

/// A descriptor closed when it goes out of scope.
struct Fd
{
    int fd = -1;
    explicit Fd(int f)
        : fd(f)
    {
    }
    Fd(const Fd &) = delete;
    Fd &operator=(const Fd &) = delete;
    ~Fd()
    {
        if (fd >= 0)
            ::close(fd);
    }
};

// Every non-folder entry beneath `dirFd`, recursively, without following links (as daprd's
// filepath.Walk lists with Lstat). Takes ownership of `dirFd`.
void listBeneath(int dirFd, const QString &path, QStringList *files)
{
    DIR *dir = fdopendir(dirFd);
    if (!dir) {
        ::close(dirFd);
        return;
    }
    while (const dirent *e = readdir(dir)) {
        const QByteArray name(e->d_name);
        if (name == "." || name == "..")
            continue;
        bool isDir = e->d_type == DT_DIR;
        if (e->d_type == DT_UNKNOWN) {
            struct stat st
            {
            };
            if (fstatat(dirfd(dir), name.constData(), &st, AT_SYMLINK_NOFOLLOW) != 0)
                continue;
            isDir = S_ISDIR(st.st_mode);
        }
        const QString child = path + u'/' + QFile::decodeName(name);
        if (!isDir) {
            *files << child;
            continue;
        }
        const int sub
            = openat(dirfd(dir), name.constData(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub >= 0)
            listBeneath(sub, child, files);
    }
    closedir(dir);
}

} // namespace

QString LocalStorageBinding::escapeMessage(const QString &fileName) const
{
    return QStringLiteral(
               "fileName '%1' resolves through a link outside rootPath %2; it is refused")
        .arg(fileName, m_root);
}

QByteArray LocalStorageBinding::relativeTo(const QString &path) const
{
    return path == m_root ? QByteArray() : QFile::encodeName(path.mid(m_root.size() + 1));
}

core::InvokeResult LocalStorageBinding::run(const core::InvokeRequest &request) const
{
    // Every open below goes through beneath::open on the root's descriptor: the path is resolved
    // beneath the root at open time, so a link or a folder swapped for one never leads outside.
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
        const QByteArray relative = relativeTo(*path);
        QByteArrayList folders = relative.split('/');
        folders.removeLast();
        Fd parent(beneath::makeFolders(m_rootFd, folders));
        int fd = parent.fd;
        if (parent.fd >= 0)
            // O_NONBLOCK: a FIFO in the root fails (ENXIO) instead of hanging a pool thread.
            fd = beneath::open(m_rootFd, relative, O_WRONLY | O_CREAT | O_TRUNC | O_NONBLOCK, 0666);
        if (fd < 0)
            return failure(
                beneath::isEscape(-fd)
                    ? escapeMessage(name)
                    : QStringLiteral("error writing file %1: %2").arg(*path, errnoText(-fd)));
        Fd file(fd);
        qsizetype written = 0;
        while (written < bytes.size()) {
            const ssize_t n = ::write(file.fd, bytes.constData() + written,
                                      static_cast<size_t>(bytes.size() - written));
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0)
                return failure(
                    QStringLiteral("error writing file %1: %2").arg(*path, errnoText(errno)));
            written += n;
        }
        nlohmann::json j;
        j["fileName"] = QString::fromUtf8(relative).toStdString();
        return data(core::goJsonMarshal(j));
    }
    if (op == QStringLiteral("get")) {
        if (fileName.isEmpty())
            return failure(
                QStringLiteral("required metadata 'fileName' is missing for operation get"));
        Result<QString> path = resolve(fileName);
        if (!path)
            return failure(path.error().message);
        Fd file(beneath::open(m_rootFd, relativeTo(*path), O_RDONLY | O_NONBLOCK));
        if (file.fd < 0 && beneath::isEscape(-file.fd))
            return failure(escapeMessage(fileName));
        struct stat st
        {
        };
        if (file.fd < 0 || fstat(file.fd, &st) != 0 || !S_ISREG(st.st_mode))
            return failure(QStringLiteral("file not found: %1").arg(*path));
        QFile f;
        if (!f.open(file.fd, QIODevice::ReadOnly, QFileDevice::DontCloseHandle))
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
        const QByteArray relative = relativeTo(*path);
        QByteArrayList parts = relative.split('/');
        const QByteArray last = parts.takeLast();
        Fd parent(beneath::open(m_rootFd, parts.join('/'), O_RDONLY | O_DIRECTORY));
        // A link inside the root that points outside is refused too (though unlinking it would
        // only remove the link), as get and create refuse it.
        if ((parent.fd < 0 && beneath::isEscape(-parent.fd))
            || (parent.fd >= 0 && beneath::leadsOutside(m_rootFd, relative)))
            return failure(escapeMessage(fileName));
        int error = parent.fd < 0 ? -parent.fd : 0;
        if (!error && last.isEmpty())
            error = EISDIR; // the root itself
        // unlinkat removes a link itself, never what it points to.
        if (!error && unlinkat(parent.fd, last.constData(), 0) != 0)
            error = errno;
        if (error)
            return failure(
                QStringLiteral("error deleting file %1: %2").arg(*path, errnoText(error)));
        return {core::InvokeResponse{}, {}};
    }
    if (op == QStringLiteral("list")) {
        Result<QString> dir = resolve(fileName);
        if (!dir)
            return failure(dir.error().message);
        const int fd = beneath::open(m_rootFd, relativeTo(*dir), O_RDONLY | O_DIRECTORY);
        if (fd < 0 && beneath::isEscape(-fd))
            return failure(escapeMessage(fileName));
        if (fd < 0)
            return failure(QStringLiteral("error listing %1: not a directory").arg(*dir));
        QStringList files;
        listBeneath(fd, *dir, &files);
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
