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
 * thread; `done` fires on a pool thread. A fileName that escapes rootPath is refused.
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

    /// Resolves `fileName` under the root; an error if it would leave the root.
    Result<QString> resolve(const QString &fileName) const;

private:
    core::InvokeResult run(const core::InvokeRequest &request) const;

    QString m_root;
    QThreadPool m_pool;
};

} // namespace bindery::bindings::localstorage
