// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <QString>
#include <QThreadPool>

#include "core/binding.h"

namespace bindery::bindings::localstorage {

/**
 * @brief bindings.localstorage: create/get/delete/list files under `rootPath`.
 *
 * File I/O runs on a small thread pool of its own, so invoke() never blocks the runtime
 * thread; `done` fires on a pool thread. A fileName that escapes rootPath is refused, and every
 * path is resolved beneath a descriptor of the root at open time (openat2 RESOLVE_BENEATH, or an
 * O_NOFOLLOW walk), so a link pointing outside, or a folder swapped for one, never leads outside.
 */
class LocalStorageBinding final : public core::OutputBinding
{
public:
    LocalStorageBinding();
    ~LocalStorageBinding() override;
    Result<> init(const core::ComponentSpec &spec) override;
    QStringList operations() const override;
    void invoke(core::InvokeRequest request, core::InvokeDone done) override;
    void close() override;

    /// Joins `fileName` to the root; an error if it would leave the root by name (`..`). Links
    /// are not followed here: each operation opens the path beneath the root's descriptor.
    Result<QString> resolve(const QString &fileName) const;

private:
    core::InvokeResult run(const core::InvokeRequest &request) const;
    QString escapeMessage(const QString &fileName) const;
    /// `path` (a result of resolve()) relative to the root, as the file system wants it.
    QByteArray relativeTo(const QString &path) const;

    QString m_root;
    int m_rootFd = -1; ///< the root, opened at init; every path is resolved beneath it
    QThreadPool m_pool;
};

} // namespace bindery::bindings::localstorage
