// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <sys/types.h>

#include <QByteArray>
#include <QByteArrayList>

namespace bindery::bindings::localstorage::beneath {

/**
 * @brief Opens `relative` (a cleaned path of plain components, no `..`, no leading '/') beneath
 * the directory `rootFd`, refusing any resolution that leaves it.
 *
 * Uses openat2(2) with RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS: a symlink whose target lies
 * outside (existing or not) fails with EXDEV, so there is no check-then-open window. When the
 * kernel lacks openat2 (ENOSYS) it walks component by component with O_NOFOLLOW, refusing every
 * symlink (ELOOP or ENOTDIR). An empty `relative` reopens the root itself.
 *
 * @return a descriptor (O_CLOEXEC is added), or -errno. Thread-safe.
 */
int open(int rootFd, const QByteArray &relative, int flags, mode_t mode = 0);

/**
 * @brief Creates the folders of `components` beneath `rootFd` (mkdirat under descriptors opened
 * beneath the root) and returns a descriptor of the last one, or -errno. An empty list returns a
 * duplicate of the root.
 */
int makeFolders(int rootFd, const QByteArrayList &components);

/**
 * @brief True when `relative` ends in a link that resolves outside the root (openat2), or, on the
 * descriptor walk, when any component of it is a link. A missing path does not escape.
 */
bool leadsOutside(int rootFd, const QByteArray &relative);

/// True when `error` (a positive errno) means "the path would leave the root".
bool isEscape(int error);

/// Test hook: forces the O_NOFOLLOW descriptor walk even where openat2 exists.
void forceDescriptorWalk(bool on);

} // namespace bindery::bindings::localstorage::beneath
