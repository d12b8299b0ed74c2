// SPDX-License-Identifier: Apache-2.0
// Where a test finds the source tree and the built programs, and whether it runs in CI (where a
// missing server is a failure, not a skip). BINDERY_SOURCE_DIR / BINDERY_BIN_DIR come from
// bindery_add_test's environment; the compile definitions BINDERY_TEST_SOURCE_DIR /
// BINDERY_TEST_BIN_DIR are the fallbacks when a test binary is run by hand.
#pragma once

#include <QString>
#include <QtGlobal>

#ifndef BINDERY_TEST_SOURCE_DIR
#define BINDERY_TEST_SOURCE_DIR ""
#endif
#ifndef BINDERY_TEST_BIN_DIR
#define BINDERY_TEST_BIN_DIR ""
#endif

namespace bindery::tests {

/// The environment variable `name`, or `fallback` when it is unset or empty.
inline QString environmentOr(const char *name, const QString &fallback)
{
    const QString value = qEnvironmentVariable(name);
    return value.isEmpty() ? fallback : value;
}

inline QString sourceDir()
{
    return environmentOr("BINDERY_SOURCE_DIR", QStringLiteral(BINDERY_TEST_SOURCE_DIR));
}

inline QString binDir()
{
    return environmentOr("BINDERY_BIN_DIR", QStringLiteral(BINDERY_TEST_BIN_DIR));
}

inline bool isCi()
{
    return qEnvironmentVariable("CI").compare(QStringLiteral("true"), Qt::CaseInsensitive) == 0;
}

} // namespace bindery::tests
