// SPDX-License-Identifier: Apache-2.0
// Surgical YAML edits behind the form view: only the item's lines change.
#include <QTest>

#include "ui/yaml_edit.h"
#include "console_test_env.h"

using namespace bindery::ui;

namespace {
const QString kCommented = QStringLiteral("# Orders topic. Keep this comment.\n"
                                          "apiVersion: dapr.io/v1alpha1\n"
                                          "kind: Component\n"
                                          "metadata:\n"
                                          "  name: orders # inline comment\n"
                                          "spec:\n"
                                          "  type: bindings.kafka\n"
                                          "  version: v1\n"
                                          "  metadata:\n"
                                          "  # brokers first\n"
                                          "  - name: brokers\n"
                                          "    value: localhost:9092 # the local broker\n"
                                          "  - name: topics\n"
                                          "    value: \"orders\"\n"
                                          "  - name: saslPassword\n"
                                          "    secretKeyRef:\n"
                                          "      name: kafka\n"
                                          "      key: password\n"
                                          "  # trailing comment\n"
                                          "auth:\n"
                                          "  secretStore: local\n");
}

class TstYamlEdit : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void setValueChangesOnlyThatLine_data()
    {
        QTest::addColumn<QString>("name");
        QTest::addColumn<QString>("value");
        QTest::addColumn<QString>("expectedLine");
        QTest::addColumn<int>("lineNo"); // 0-based
        QTest::newRow("plain keeps inline comment")
            << QStringLiteral("brokers") << QStringLiteral("k1:9092,k2:9092")
            << QStringLiteral("    value: k1:9092,k2:9092 # the local broker") << 11;
        QTest::newRow("needs quotes") << QStringLiteral("topics") << QStringLiteral("@every 5s")
                                      << QStringLiteral("    value: \"@every 5s\"") << 13;
        QTest::newRow("escapes") << QStringLiteral("topics") << QStringLiteral("a \"b\": c")
                                 << QStringLiteral("    value: \"a \\\"b\\\": c\"") << 13;
    }
    void setValueChangesOnlyThatLine()
    {
        QFETCH(QString, name);
        QFETCH(QString, value);
        QFETCH(QString, expectedLine);
        QFETCH(int, lineNo);
        const QString out = yamledit::setMetadataValue(kCommented, name, value);
        const QStringList before = kCommented.split(u'\n');
        const QStringList after = out.split(u'\n');
        QCOMPARE(after.size(), before.size());
        for (int i = 0; i < before.size(); ++i) {
            if (i == lineNo)
                QCOMPARE(after.at(i), expectedLine);
            else
                QCOMPARE(after.at(i), before.at(i));
        }
    }

    void secretRefBecomesValueAndBack()
    {
        const QString withValue = yamledit::setMetadataValue(
            kCommented, QStringLiteral("saslPassword"), QStringLiteral("pw"));
        QVERIFY(withValue.contains(
            QStringLiteral("  - name: saslPassword\n    value: pw\n  # trailing comment")));
        QVERIFY(!withValue.contains(QStringLiteral("secretKeyRef")));
        const QString back
            = yamledit::setMetadataSecretRef(withValue, QStringLiteral("saslPassword"),
                                             QStringLiteral("kafka"), QStringLiteral("password"));
        QCOMPARE(back, kCommented);
    }

    void newItemIsAppendedAfterTheLastItem()
    {
        const QString out = yamledit::setMetadataValue(kCommented, QStringLiteral("consumerGroup"),
                                                       QStringLiteral("g1"));
        QVERIFY(out.contains(QStringLiteral("      key: password\n  - name: consumerGroup\n    "
                                            "value: g1\n  # trailing comment\nauth:")));
        QCOMPARE(yamledit::metadataItemLine(out, QStringLiteral("consumerGroup")), 19);
    }

    void removeTakesOnlyTheItem()
    {
        const QString out = yamledit::removeMetadataItem(kCommented, QStringLiteral("topics"));
        QVERIFY(!out.contains(QStringLiteral("topics")));
        QVERIFY(out.contains(QStringLiteral("# the local broker\n  - name: saslPassword")));
        QCOMPARE(out.split(u'\n').size(), kCommented.split(u'\n').size() - 2);
    }

    void metadataListIsCreatedWhenMissing()
    {
        const QString text
            = QStringLiteral("apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: "
                             "t\nspec:\n  type: bindings.cron\n  version: v1\n  metadata: []\n");
        const QString out = yamledit::setMetadataValue(text, QStringLiteral("schedule"),
                                                       QStringLiteral("@every 1s"));
        QCOMPARE(out, QStringLiteral("apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  "
                                     "name: t\nspec:\n  type: bindings.cron\n  version: v1\n  "
                                     "metadata:\n  - name: schedule\n    value: \"@every 1s\"\n"));
    }

    void crlfIsKept()
    {
        QString text = kCommented;
        text.replace(QStringLiteral("\n"), QStringLiteral("\r\n"));
        const QString out
            = yamledit::setMetadataValue(text, QStringLiteral("topics"), QStringLiteral("x"));
        QVERIFY(out.contains(QStringLiteral("    value: x\r\n")));
        QVERIFY(!out.contains(QRegularExpression(QStringLiteral("[^\r]\n"))));
    }
};

BINDERY_UI_TEST_MAIN(TstYamlEdit)
#include "tst_yaml_edit.moc"
