// SPDX-License-Identifier: Apache-2.0
#include "core/bindings/localstorage/beneath.h"

#include <cerrno>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>

namespace bindery::bindings::localstorage::beneath {

namespace {

std::atomic<bool> g_forceWalk{false};
std::atomic<bool> g_noOpenat2{false}; // set once the kernel answered ENOSYS

int viaOpenat2(int rootFd, const QByteArray &relative, int flags, mode_t mode)
{
    open_how how{};
    how.flags = static_cast<__u64>(flags | O_CLOEXEC);
    how.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
    const char *path = relative.isEmpty() ? "." : relative.constData();
    for (;;) {
        const long fd = syscall(SYS_openat2, rootFd, path, &how, sizeof how);
        if (fd >= 0)
            return static_cast<int>(fd);
        // EAGAIN: a rename raced the lookup (RESOLVE_BENEATH re-checks); try again.
        if (errno != EINTR && errno != EAGAIN)
            return -errno;
    }
}

int viaWalk(int rootFd, const QByteArray &relative, int flags, mode_t mode)
{
    const QByteArrayList parts = relative.split('/');
    int current = fcntl(rootFd, F_DUPFD_CLOEXEC, 0);
    if (current < 0)
        return -errno;
    if (relative.isEmpty()) {
        const int fd = openat(current, ".", flags | O_CLOEXEC, mode);
        const int error = errno;
        ::close(current);
        return fd >= 0 ? fd : -error;
    }
    for (qsizetype i = 0; i < parts.size(); ++i) {
        const QByteArray &part = parts.at(i);
        if (part.isEmpty() || part == "." || part == "..") {
            ::close(current);
            return -EXDEV;
        }
        const bool last = i == parts.size() - 1;
        const int next
            = last ? openat(current, part.constData(), flags | O_NOFOLLOW | O_CLOEXEC, mode)
                   : openat(current, part.constData(),
                            O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        int error = errno;
        // O_DIRECTORY | O_NOFOLLOW on a link answers ENOTDIR: name it a link (ELOOP).
        struct stat st
        {
        };
        if (next < 0 && error == ENOTDIR
            && fstatat(current, part.constData(), &st, AT_SYMLINK_NOFOLLOW) == 0
            && S_ISLNK(st.st_mode))
            error = ELOOP;
        ::close(current);
        if (next < 0)
            return -error;
        current = next;
    }
    return current;
}

} // namespace

int open(int rootFd, const QByteArray &relative, int flags, mode_t mode)
{
    if (!g_forceWalk.load(std::memory_order_relaxed)
        && !g_noOpenat2.load(std::memory_order_relaxed)) {
        const int fd = viaOpenat2(rootFd, relative, flags, mode);
        if (fd != -ENOSYS)
            return fd;
        g_noOpenat2.store(true, std::memory_order_relaxed);
    }
    return viaWalk(rootFd, relative, flags, mode);
}

bool leadsOutside(int rootFd, const QByteArray &relative)
{
    if (!g_forceWalk.load(std::memory_order_relaxed)
        && !g_noOpenat2.load(std::memory_order_relaxed)) {
        const int fd = viaOpenat2(rootFd, relative, O_PATH, 0);
        if (fd >= 0)
            ::close(fd);
        if (fd != -ENOSYS)
            return fd < 0 && isEscape(-fd);
        g_noOpenat2.store(true, std::memory_order_relaxed);
    }
    // O_PATH | O_NOFOLLOW opens a final link itself; the walk refuses links anywhere.
    const int fd = viaWalk(rootFd, relative, O_PATH | O_NOFOLLOW, 0);
    if (fd < 0)
        return isEscape(-fd);
    struct stat st
    {
    };
    const bool link = fstat(fd, &st) == 0 && S_ISLNK(st.st_mode);
    ::close(fd);
    return link;
}

int makeFolders(int rootFd, const QByteArrayList &components)
{
    int current = open(rootFd, {}, O_RDONLY | O_DIRECTORY);
    QByteArray prefix;
    for (const QByteArray &part : components) {
        if (current < 0)
            return current;
        prefix = prefix.isEmpty() ? part : prefix + '/' + part;
        int next = open(rootFd, prefix, O_RDONLY | O_DIRECTORY);
        // mkdirat never follows a link in its last component (EEXIST); the folder it creates is
        // inside `current`, itself opened beneath the root. Only when missing: a mkdirat that
        // answers EEXIST still takes the parent's lock.
        if (next == -ENOENT) {
            if (mkdirat(current, part.constData(), 0777) != 0 && errno != EEXIST) {
                const int error = errno;
                ::close(current);
                return -error;
            }
            next = open(rootFd, prefix, O_RDONLY | O_DIRECTORY);
        }
        ::close(current);
        current = next;
    }
    return current;
}

bool isEscape(int error)
{
    return error == EXDEV || error == ELOOP;
}

void forceDescriptorWalk(bool on)
{
    g_forceWalk.store(on, std::memory_order_relaxed);
}

} // namespace bindery::bindings::localstorage::beneath
