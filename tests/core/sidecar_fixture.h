// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <functional>

#include <QMetaObject>
#include <QThread>

#include "core/host/sidecar.h"

namespace bindery::core {

/// Runs `fn` on the sidecar's runtime thread and waits for it (tests call the runtime's
/// Q_INVOKABLEs this way, as the console does with queued calls).
inline void onRuntime(Sidecar &sidecar, const std::function<void(Runtime &)> &fn)
{
    Runtime *runtime = sidecar.runtime();
    QMetaObject::invokeMethod(
        runtime, [&]() { fn(*runtime); }, Qt::BlockingQueuedConnection);
}

} // namespace bindery::core
