// SPDX-License-Identifier: Apache-2.0
#pragma once
// Isolates QSettings and AppDataLocation from the user's (and from parallel runs) before the
// QApplication exists, then runs the test object.
#include <QApplication>
#include <QTemporaryDir>
#include <QTest>

#define BINDERY_UI_TEST_MAIN(TestObject)                                                           \
    int main(int argc, char *argv[])                                                               \
    {                                                                                              \
        QTemporaryDir home;                                                                        \
        qputenv("XDG_CONFIG_HOME", (home.path() + QStringLiteral("/config")).toLocal8Bit());       \
        qputenv("XDG_DATA_HOME", (home.path() + QStringLiteral("/data")).toLocal8Bit());           \
        if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM"))                                        \
            qputenv("QT_QPA_PLATFORM", "offscreen");                                               \
        QApplication app(argc, argv);                                                              \
        QApplication::setOrganizationName(QStringLiteral("BinderyTest"));                          \
        QApplication::setApplicationName(QStringLiteral(#TestObject));                             \
        TestObject tc;                                                                             \
        QTEST_SET_MAIN_SOURCE_PATH                                                                 \
        return QTest::qExec(&tc, argc, argv);                                                      \
    }
