// SPDX-License-Identifier: Apache-2.0
// The component editor: diagnostics at the right line, completion from the schema, form <-> text.
#include <QComboBox>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSignalSpy>
#include <QLineEdit>
#include <QTemporaryDir>
#include <QTest>
#include <QTreeWidget>

#include "core/binding_registry.h"
#include "ui/dialogs/new_component_dialog.h"
#include "ui/editors/component_form.h"
#include "ui/editors/editor_pane.h"
#include "ui/editors/find_replace_bar.h"
#include "core/runtime.h"
#include "ui/editors/yaml_editor.h"
#include "core/component_loader.h"
#include "console_test_env.h"

using namespace bindery;

namespace {
const QString kHttp
    = QStringLiteral("# Calls the local API. This comment must survive form edits.\n" // 1
                     "apiVersion: dapr.io/v1alpha1\n"                                 // 2
                     "kind: Component\n"                                              // 3
                     "metadata:\n"                                                    // 4
                     "  name: web\n"                                                  // 5
                     "spec:\n"                                                        // 6
                     "  type: bindings.http\n"                                        // 7
                     "  version: v1\n"                                                // 8
                     "  metadata:\n"                                                  // 9
                     "  - name: url # where to\n"                                     // 10
                     "    value: http://127.0.0.1:3500/v1.0\n"                        // 11
                     "  # timeouts\n"                                                 // 12
                     "  - name: responseTimeout\n"                                    // 13
                     "    value: 10s\n");                                             // 14
}

class TstEditorPane : public QObject
{
    Q_OBJECT

    core::BindingRegistry m_registry;
    QTemporaryDir m_dir;

    QString writeFile(const QString &name, const QString &text)
    {
        const QString path = m_dir.filePath(name);
        QFile f(path);
        f.open(QIODevice::WriteOnly);
        f.write(text.toUtf8());
        return path;
    }

private Q_SLOTS:
    void initTestCase() { core::registerBuiltinBindings(m_registry); }

    // Bug 6: a component the runtime failed to load (or warned about) is not "No problems.".
    void runtimeFailureIsAProblemOfTheFile()
    {
        const QString path = writeFile(QStringLiteral("web-fail.yaml"), kHttp);
        ui::EditorPane pane(m_registry, path);
        QVERIFY(pane.load());
        auto texts = [&]() {
            QStringList out;
            for (int i = 0; i < pane.problems()->topLevelItemCount(); ++i)
                out << pane.problems()->topLevelItem(i)->text(3);
            return out;
        };
        QCOMPARE(texts(), QStringList{QStringLiteral("No problems.")});
        core::ComponentStatus failed;
        failed.name = QStringLiteral("web");
        failed.location.file = path;
        failed.state = core::ComponentState::Failed;
        failed.error = QStringLiteral("connection refused");
        failed.warnings = {QStringLiteral("brokers: plain http:// scheme accepted")};
        pane.showRuntimeStatus({failed}, true);
        const QStringList after = texts();
        QVERIFY2(!after.contains(QStringLiteral("No problems.")), qPrintable(after.join(u'|')));
        QVERIFY(after.join(u'|').contains(QStringLiteral("connection refused")));
        QVERIFY(after.join(u'|').contains(QStringLiteral("plain http://")));
        failed.state = core::ComponentState::Loaded;
        failed.warnings.clear();
        pane.showRuntimeStatus({failed}, true);
        QCOMPARE(texts(), QStringList{QStringLiteral("No problems.")});
    }

    void findAndReplaceInTheYaml()
    {
        const QString path = writeFile(QStringLiteral("web-find.yaml"), kHttp);
        ui::EditorPane pane(m_registry, path);
        QVERIFY(pane.load());
        pane.show();
        pane.openFind(true);
        QVERIFY(pane.findBar()->isVisible());
        QVERIFY(pane.findBar()->replaceEdit()->isVisible());
        pane.findBar()->findEdit()->setText(QStringLiteral("10s"));
        QVERIFY(pane.findBar()->findNext());
        QCOMPARE(pane.editor()->selectedText(), QStringLiteral("10s"));
        pane.findBar()->findEdit()->setText(QStringLiteral("3500"));
        pane.findBar()->replaceEdit()->setText(QStringLiteral("3600"));
        QCOMPARE(pane.findBar()->replaceAll(), 1);
        QVERIFY(pane.text().contains(QStringLiteral("127.0.0.1:3600")));
        QVERIFY(pane.text().contains(QStringLiteral("This comment must survive")));
        pane.editor()->undo();
        QVERIFY(pane.text().contains(QStringLiteral("127.0.0.1:3500")));
    }

    void didYouMeanHasAOneClickFix()
    {
        QString text = kHttp;
        text.replace(QStringLiteral("responseTimeout"), QStringLiteral("responseTimout"));
        const QString path = writeFile(QStringLiteral("web-typo.yaml"), text);
        ui::EditorPane pane(m_registry, path);
        QVERIFY(pane.load());
        QTreeWidgetItem *fixable = nullptr;
        for (int i = 0; i < pane.problems()->topLevelItemCount(); ++i) {
            if (pane.problems()->topLevelItem(i)->text(3).contains(QStringLiteral("double-click")))
                fixable = pane.problems()->topLevelItem(i);
        }
        QVERIFY(fixable);
        QVERIFY(pane.applyFix(fixable));
        QVERIFY(pane.text().contains(QStringLiteral("  - name: responseTimeout\n")));
        QCOMPARE(pane.problems()->topLevelItem(0)->text(3), QStringLiteral("No problems."));
    }

    // GCS: a service-account JSON key file fills the form; the private key never shows in clear.
    void keyFileFillsTheServiceAccountFields()
    {
        core::BindingMetadata meta;
        meta.type = QStringLiteral("bindings.gcp.bucket");
        meta.name = QStringLiteral("gcp.bucket");
        meta.title = QStringLiteral("GCP Storage Bucket");
        for (const char *name : {"bucket", "projectID", "privateKeyID", "privateKey", "clientEmail",
                                 "clientID", "tokenURI"}) {
            core::MetadataField f;
            f.name = QString::fromLatin1(name);
            f.sensitive = f.name.startsWith(QStringLiteral("privateKey"));
            meta.fields << f;
        }
        ui::ComponentForm form;
        form.setSchema(&meta);
        QVERIFY(form.keyFileButton());
        const QString key
            = QStringLiteral("-----BEGIN PRIVATE KEY-----\nMIIEv...\n-----END PRIVATE KEY-----\n");
        QJsonObject json{
            {QStringLiteral("type"), QStringLiteral("service_account")},
            {QStringLiteral("project_id"), QStringLiteral("demo-project")},
            {QStringLiteral("private_key_id"), QStringLiteral("abc123")},
            {QStringLiteral("private_key"), key},
            {QStringLiteral("client_email"),
             QStringLiteral("sa@demo-project.iam.gserviceaccount.com")},
            {QStringLiteral("client_id"), QStringLiteral("1234567890")},
            {QStringLiteral("token_uri"), QStringLiteral("https://oauth2.googleapis.com/token")}};
        const QString path = writeFile(QStringLiteral("key.json"),
                                       QString::fromUtf8(QJsonDocument(json).toJson()));
        QSignalSpy edited(&form, &ui::ComponentForm::fieldEdited);
        QString error;
        QCOMPARE(form.loadKeyFile(path, &error), 6);
        QHash<QString, QString> values;
        for (const QList<QVariant> &e : edited)
            values.insert(e.at(0).toString(), e.at(1).toString());
        QCOMPARE(values.value(QStringLiteral("projectID")), QStringLiteral("demo-project"));
        QCOMPARE(values.value(QStringLiteral("privateKey")), key);
        QCOMPARE(values.value(QStringLiteral("clientEmail")),
                 QStringLiteral("sa@demo-project.iam.gserviceaccount.com"));
        auto *line = qobject_cast<QLineEdit *>(form.fieldWidget(QStringLiteral("privateKey")));
        QVERIFY(line);
        QCOMPARE(line->text(), key);
        QVERIFY(line->echoMode() != QLineEdit::Normal);
        QVERIFY(!line->displayText().contains(QStringLiteral("PRIVATE KEY")));
        // A file that is not a key says so.
        const QString bad = writeFile(QStringLiteral("bad.json"), QStringLiteral("{nope"));
        QCOMPARE(form.loadKeyFile(bad, &error), -1);
        QVERIFY(error.contains(QStringLiteral("bad.json")));
    }

    void typoGetsDiagnosticAtItsLine_data()
    {
        QTest::addColumn<QString>("from");
        QTest::addColumn<QString>("to");
        QTest::addColumn<int>("line");
        QTest::addColumn<QString>("mentions");
        QTest::addColumn<bool>("error");
        QTest::newRow("unknown key, did you mean")
            << QStringLiteral("  - name: responseTimeout")
            << QStringLiteral("  - name: responseTimout") << 13 << QStringLiteral("responseTimeout")
            << false;
        QTest::newRow("wrong type")
            << QStringLiteral("    value: 10s") << QStringLiteral("    value: ten seconds") << 14
            << QStringLiteral("responseTimeout") << true;
        QTest::newRow("missing required")
            << QStringLiteral("  - name: url # where to\n    value: http://127.0.0.1:3500/v1.0\n")
            << QString() << 0 << QStringLiteral("url") << true;
        QTest::newRow("allowed values")
            << QStringLiteral("  - name: responseTimeout\n    value: 10s")
            << QStringLiteral("  - name: MTLSRenegotiation\n    value: Sometimes") << 14
            << QStringLiteral("Sometimes") << true;
    }
    void typoGetsDiagnosticAtItsLine()
    {
        QFETCH(QString, from);
        QFETCH(QString, to);
        QFETCH(int, line);
        QFETCH(QString, mentions);
        QFETCH(bool, error);
        QString text = kHttp;
        QVERIFY(text.contains(from));
        text.replace(from, to);
        ui::EditorPane pane(m_registry, writeFile(QStringLiteral("web.yaml"), text));
        QVERIFY(pane.load());
        const core::Diagnostics diags = pane.diagnostics();
        const core::Diagnostic *hit = nullptr;
        for (const core::Diagnostic &d : diags) {
            if (QString(d.message + d.suggestion + d.field).contains(mentions))
                hit = &d;
        }
        QVERIFY2(hit, qPrintable(QStringLiteral("no diagnostic mentions %1").arg(mentions)));
        QCOMPARE(hit->isError(), error);
        if (line > 0) {
            QCOMPARE(hit->location.line, line);
            // Margin marker on that line (0-based in QScintilla) and nowhere else for this file.
            const unsigned mask = pane.editor()->markersAtLine(line - 1);
            QVERIFY(
                mask
                & (1u << (error ? ui::YamlEditor::ErrorMarker : ui::YamlEditor::WarningMarker)));
            QVERIFY(!pane.editor()->diagnosticsAt(line).isEmpty());
        }
        // The problems list shows it.
        bool listed = false;
        for (int i = 0; i < pane.problems()->topLevelItemCount(); ++i)
            listed = listed || pane.problems()->topLevelItem(i)->text(3).contains(mentions);
        QVERIFY(listed);
    }

    void cleanFileHasNoProblems()
    {
        ui::EditorPane pane(m_registry, writeFile(QStringLiteral("clean.yaml"), kHttp));
        QVERIFY(pane.load());
        QVERIFY(pane.diagnostics().isEmpty());
        QCOMPARE(pane.editor()->markersAtLine(12), 0u);
    }

    void editingTheTextUpdatesDiagnostics()
    {
        ui::EditorPane pane(m_registry, writeFile(QStringLiteral("live.yaml"), kHttp));
        QVERIFY(pane.load());
        QVERIFY(pane.diagnostics().isEmpty());
        pane.editor()->setSelection(12, 10, 12, 25); // "responseTimeout"
        pane.editor()->replaceSelectedText(QStringLiteral("responseTimeot"));
        QTRY_VERIFY(!pane.diagnostics().isEmpty());
        QCOMPARE(pane.diagnostics().first().location.line, 13);
    }

    void formEditChangesYamlAndKeepsComments()
    {
        ui::EditorPane pane(m_registry, writeFile(QStringLiteral("form.yaml"), kHttp));
        QVERIFY(pane.load());
        auto *url = qobject_cast<QLineEdit *>(pane.form()->fieldWidget(QStringLiteral("url")));
        QVERIFY(url);
        QCOMPARE(url->text(), QStringLiteral("http://127.0.0.1:3500/v1.0"));
        url->selectAll();
        QTest::keyClicks(url, QStringLiteral("http://example.test:8080/api"));
        QString expected = kHttp;
        expected.replace(QStringLiteral("http://127.0.0.1:3500/v1.0"),
                         QStringLiteral("http://example.test:8080/api"));
        QCOMPARE(pane.text(), expected);

        // A new field from a picker is appended as an item; comments and order stay.
        auto *reneg = qobject_cast<QComboBox *>(
            pane.form()->fieldWidget(QStringLiteral("MTLSRenegotiation")));
        QVERIFY(reneg);
        QVERIFY(reneg->findText(QStringLiteral("RenegotiateOnceAsClient")) > 0);
        reneg->setCurrentText(QStringLiteral("RenegotiateOnceAsClient"));
        QVERIFY(pane.text().startsWith(expected));
        QVERIFY(pane.text().endsWith(
            QStringLiteral("  - name: MTLSRenegotiation\n    value: RenegotiateOnceAsClient\n")));
        pane.recheck();
        // The schema marks MTLSRenegotiation as accepted for compatibility only: one warning.
        QCOMPARE(pane.diagnostics().size(), 1);
        QVERIFY(pane.diagnostics().first().message.contains(
            QStringLiteral("accepted for compatibility and has no effect")));

        // Text -> form: editing the YAML updates the field.
        QString text = pane.text();
        text.replace(QStringLiteral("value: 10s"), QStringLiteral("value: 25s"));
        pane.setText(text);
        auto *timeout = qobject_cast<QLineEdit *>(
            pane.form()->fieldWidget(QStringLiteral("responseTimeout")));
        QCOMPARE(timeout->text(), QStringLiteral("25s"));

        // Saved text is valid for the loader.
        QVERIFY(pane.save());
        QFile f(pane.path());
        QVERIFY(f.open(QIODevice::ReadOnly));
        const core::LoadResult lr = core::ComponentLoader::parseText(f.readAll(), pane.path());
        QCOMPARE(lr.components.size(), 1);
        QCOMPARE(lr.components.first().property(QStringLiteral("url")),
                 QStringLiteral("http://example.test:8080/api"));
    }

    void sensitiveFieldIsMasked()
    {
        ui::EditorPane pane(m_registry, writeFile(QStringLiteral("sens.yaml"), kHttp));
        QVERIFY(pane.load());
        auto *token
            = qobject_cast<QLineEdit *>(pane.form()->fieldWidget(QStringLiteral("securityToken")));
        QVERIFY(token);
        QCOMPARE(token->echoMode(), QLineEdit::PasswordEchoOnEdit);
    }

    void completionOffersSchemaNamesAndAllowedValues()
    {
        ui::EditorPane pane(m_registry, writeFile(QStringLiteral("complete.yaml"),
                                                  kHttp + QStringLiteral("  - name: ")));
        QVERIFY(pane.load());
        ui::YamlEditor *ed = pane.editor();
        ed->setCursorPosition(14, 10);
        int id = 0;
        QStringList items = ed->completionsAtCursor(&id);
        QCOMPARE(id, int(ui::YamlEditor::NameList));
        QVERIFY(items.contains(QStringLiteral("MTLSRenegotiation")));
        QVERIFY(!items.contains(QStringLiteral("url"))); // already written
        ed->setText(kHttp + QStringLiteral("  - name: MTLSRenegotiation\n    value: "));
        ed->setCursorPosition(15, 11);
        items = ed->completionsAtCursor(&id);
        QCOMPARE(id, int(ui::YamlEditor::ValueList));
        QCOMPARE(items, QStringList({QStringLiteral("RenegotiateNever"),
                                     QStringLiteral("RenegotiateOnceAsClient"),
                                     QStringLiteral("RenegotiateFreelyAsClient")}));
        ed->setText(QStringLiteral("spec:\n  type: "));
        ed->setCursorPosition(1, 8);
        items = ed->completionsAtCursor(&id);
        QCOMPARE(id, int(ui::YamlEditor::TypeList));
        QVERIFY(items.contains(QStringLiteral("bindings.localstorage")));
    }

    void newComponentFromCatalogIsValid_data()
    {
        QTest::addColumn<QString>("type");
        for (const core::BindingDescriptor *d : m_registry.all())
            QTest::newRow(qPrintable(d->type)) << d->type;
    }
    void newComponentFromCatalogIsValid()
    {
        QFETCH(QString, type);
        const core::BindingDescriptor *d = m_registry.find(type);
        QVERIFY(d);
        QVERIFY(!d->testOnly);
        const QString yaml
            = ui::NewComponentDialog::componentYaml(d->metadata, QStringLiteral("my-thing"));
        const core::Diagnostics diags
            = core::checkComponentText(yaml.toUtf8(), QStringLiteral("new.yaml"), m_registry);
        for (const core::Diagnostic &diag : diags)
            QVERIFY2(!diag.isError(), qPrintable(diag.toString() + QStringLiteral("\n") + yaml));
        const core::LoadResult lr
            = core::ComponentLoader::parseText(yaml.toUtf8(), QStringLiteral("new.yaml"));
        QCOMPARE(lr.components.size(), 1);
        QCOMPARE(lr.components.first().type, type);
        for (const core::MetadataField &f : d->metadata.fields) {
            if (f.required && !f.builtin)
                QVERIFY2(lr.components.first().item(f.name), qPrintable(f.name));
        }
    }
};

BINDERY_UI_TEST_MAIN(TstEditorPane)
#include "tst_editor_pane.moc"
