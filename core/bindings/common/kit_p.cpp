// SPDX-License-Identifier: Apache-2.0
#include "core/bindings/common/kit_p.h"

#include <pthread.h>

Q_LOGGING_CATEGORY(lcBindingKit, "bindery.binding.kit")

namespace bindery::bindings::common::Internal {

void setCurrentThreadName(const QString &base, const QString &suffix)
{
    constexpr qsizetype LINUX_MAX = 15;
    const QByteArray prefix = QByteArrayLiteral("bindery-");
    const QByteArray tail = suffix.isEmpty() ? QByteArray() : QByteArray('-' + suffix.toUtf8());
    const qsizetype room = qMax<qsizetype>(0, LINUX_MAX - prefix.size() - tail.size());
    const QByteArray name = QByteArray(prefix + base.toUtf8().left(room) + tail).left(LINUX_MAX);
    pthread_setname_np(pthread_self(), name.constData());
}

} // namespace bindery::bindings::common::Internal
