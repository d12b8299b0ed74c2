// SPDX-License-Identifier: Apache-2.0
// Component loading as daprd's disk loader does it (reference §3), with Bindery's diagnostics
// (issue 2): every message names its file:line:column, the component and the field.
#include <QDir>
#include <QElapsedTimer>
#include <QSet>
#include <QFile>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QTest>
#include <QUuid>

#include "core/binding_registry.h"
#include "core/component_loader.h"
#include "core/secret_store.h"

using namespace bindery::core;
using namespace Qt::Literals::StringLiterals;

namespace {

QString dataDir()
{
    return qEnvironmentVariable("BINDERY_SOURCE_DIR") + u"/tests/data/components"_s;
}

QByteArray readFixture(const QString &relative)
{
    QFile f(dataDir() + u'/' + relative);
    if (!f.open(QIODevice::ReadOnly))
        qFatal("missing fixture %s", qPrintable(f.fileName()));
    return f.readAll();
}

const ComponentSpec *byName(const QList<ComponentSpec> &list, const QString &name)
{
    for (const ComponentSpec &c : list) {
        if (c.name == name)
            return &c;
    }
    return nullptr;
}

QStringList strings(const Diagnostics &diagnostics)
{
    QStringList out;
    for (const Diagnostic &d : diagnostics)
        out << d.toString();
    return out;
}

QByteArray component(const QByteArray &specExtra, const QByteArray &items = {})
{
    return "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: c\nspec:\n  type: "
           "bindings.cron\n"
           + specExtra + "  metadata:\n  - name: schedule\n    value: \"@every 1s\"\n" + items;
}

} // namespace

class tst_ComponentLoader : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void loadsEveryYamlFileOfAFolderInNameOrder();
    void skipsNonYamlFilesWithANoteAndIgnoresSubfolders();
    void skipsNonComponentDocumentsSilently();
    void readsIgnoreErrorsVersionAndInitTimeout_data();
    void readsIgnoreErrorsVersionAndInitTimeout();
    void keepsComponentsScopedToThisAppOnly();
    void replacesUuidAndAppIdTemplates();
    void readsEnvRefOnlyWhenValueIsEmpty();
    void refusesForbiddenEnvRefNames_data();
    void refusesForbiddenEnvRefNames();
    void resolvesSecretKeyRefThroughLocalFileStoreWithNestedSeparator();
    void resolvesSecretKeyRefThroughLocalEnvStore();
    void reportsMissingSecretAndMissingStoreWithFileLineAndField();
    void reportsYamlSyntaxErrorWithFileLineAndKeepsOtherDocuments();
    void reportsMissingNameWithFileLine();
    void treatsDuplicateNamesAsFatal();
    void reportsMissingRequiredMetadataInTheIssueShape();
    void reportsUnknownTypeAndVersionWithSuggestion();
    void reportsUnknownKeysInTheComponentShape();
    void reportsEmptyOrMissingResourcesPath();
    // Hostile or unlucky files (issue 14.2, 14.10): bounded work, clear errors, daprd's fatality.
    void boundsAYamlAliasBomb();
    void boundsAFileOfManyAliasBombs();
    void refusesAnOverlongComponentName();
    void expandsManyUuidTemplatesInLinearTime();
    void cutsHugeValuesShortInMessages();
    void skipsSpecialAndOversizedFiles();
    void explainsAComponentWhoseFirstLineIsIndented();
    void reportsATypeCategoryTypoAsIncorrectType();
    void skipsOnlyTheDocumentWithUndecodableMetadata();
    void keepsAStructuredValueWithInvalidUtf8();

private:
    BindingRegistry m_registry;
};

void tst_ComponentLoader::initTestCase()
{
    QVERIFY2(QDir(dataDir()).exists(),
             qPrintable(u"BINDERY_SOURCE_DIR must point at the source tree: "_s + dataDir()));
    registerBuiltinBindings(m_registry);
    qputenv("BINDERY_TST_HEADER", "X-From-Env");
    qputenv("BINDERY_TST_SECRET", "env-secret-value");
    qunsetenv("DAPR_ENV_KEYS");
    // secrets.json is relative: the store finds it beside its component file.
    QDir::setCurrent(QDir::tempPath());
}

void tst_ComponentLoader::loadsEveryYamlFileOfAFolderInNameOrder()
{
    LoaderOptions o;
    o.appId = u"tst-app"_s;
    const LoadResult r = ComponentLoader::loadPaths({dataDir() + u"/good"_s}, o);
    QVERIFY2(!hasErrors(r.diagnostics), qPrintable(strings(r.diagnostics).join(u'\n')));
    QVERIFY(!r.fatal);
    QStringList names;
    for (const ComponentSpec &c : r.components)
        names << c.name;
    QCOMPARE(names, (QStringList{u"tick"_s, u"files"_s, u"file-secrets"_s, u"env-secrets"_s,
                                 u"api"_s, u"api-env"_s, u"scoped-to-us"_s}));
    const ComponentSpec *tick = byName(r.components, u"tick"_s);
    QCOMPARE(tick->type, u"bindings.cron"_s);
    QCOMPARE(tick->property(u"SCHEDULE"_s), u"@every 1s"_s); // case-insensitive, as DecodeMetadata
    QCOMPARE(tick->exactProperty(u"SCHEDULE"_s), QString());
    QVERIFY(tick->location.file.endsWith(u"good/01-bindings.yaml"_s));
    QCOMPARE(tick->location.line, 2); // after the comment line
    const ComponentSpec *files = byName(r.components, u"files"_s);
    QCOMPARE(files->location.line,
             20); // third document of the file: line numbers stay file-relative
    QCOMPARE(files->items.first().location.line, 29);
}

void tst_ComponentLoader::skipsNonYamlFilesWithANoteAndIgnoresSubfolders()
{
    const LoadResult r = ComponentLoader::loadPaths({dataDir() + u"/good"_s}, {});
    bool noted = false;
    for (const Diagnostic &d : r.diagnostics) {
        if (d.location.file.endsWith(u"notes.txt"_s)) {
            noted = true;
            QCOMPARE(d.severity, Diagnostic::Severity::Info);
            QVERIFY(d.message.contains(u"non-YAML Component file notes.txt"_s));
        }
        QVERIFY(!d.location.file.contains(u"subdir"_s));
    }
    QVERIFY(noted);
    QVERIFY(!byName(r.components, u"never-loaded"_s));
    QVERIFY(!byName(r.components, u"secrets"_s)); // secrets.json is not YAML
}

void tst_ComponentLoader::skipsNonComponentDocumentsSilently()
{
    const LoadResult r
        = ComponentLoader::parseText(readFixture(u"good/01-bindings.yaml"_s), u"f.yaml"_s);
    QCOMPARE(r.components.size(), 2);
    QVERIFY2(r.diagnostics.isEmpty(), qPrintable(strings(r.diagnostics).join(u'\n')));
    // A near miss (kind: component) is worth a warning.
    const LoadResult typo = ComponentLoader::parseText(
        "apiVersion: dapr.io/v1alpha1\nkind: component\nmetadata:\n  name: x\n", u"t.yaml"_s);
    QCOMPARE(typo.components.size(), 0);
    QCOMPARE(typo.diagnostics.size(), 1);
    QCOMPARE(typo.diagnostics.first().severity, Diagnostic::Severity::Warning);
    QVERIFY(
        typo.diagnostics.first().toString().startsWith(u"t.yaml:1:1: warning: document skipped"_s));
}

void tst_ComponentLoader::readsIgnoreErrorsVersionAndInitTimeout_data()
{
    QTest::addColumn<QByteArray>("spec");
    QTest::addColumn<bool>("ignoreErrors");
    QTest::addColumn<QString>("version");
    QTest::addColumn<int>("initTimeoutMs");
    QTest::newRow("defaults") << QByteArray() << false << QString() << 5000;
    QTest::newRow("ignoreErrors true")
        << QByteArray("  ignoreErrors: true\n") << true << QString() << 5000;
    QTest::newRow("ignoreErrors yes")
        << QByteArray("  ignoreErrors: \"yes\"\n") << true << QString() << 5000;
    QTest::newRow("version v1") << QByteArray("  version: v1\n") << false << u"v1"_s << 5000;
    QTest::newRow("initTimeout 1m30s")
        << QByteArray("  initTimeout: 1m30s\n") << false << QString() << 90000;
    QTest::newRow("initTimeout 250ms")
        << QByteArray("  initTimeout: 250ms\n") << false << QString() << 250;
    QTest::newRow("initTimeout invalid = 5s")
        << QByteArray("  initTimeout: soon\n") << false << QString() << 5000;
    QTest::newRow("initTimeout negative = 5s")
        << QByteArray("  initTimeout: -2s\n") << false << QString() << 5000;
    QTest::newRow("initTimeout zero = 5s")
        << QByteArray("  initTimeout: 0s\n") << false << QString() << 5000;
}

void tst_ComponentLoader::readsIgnoreErrorsVersionAndInitTimeout()
{
    QFETCH(QByteArray, spec);
    const LoadResult r = ComponentLoader::parseText(component(spec), u"c.yaml"_s);
    QCOMPARE(r.components.size(), 1);
    QTEST(r.components.first().ignoreErrors, "ignoreErrors");
    QTEST(r.components.first().version, "version");
    QTEST(r.components.first().initTimeoutMs, "initTimeoutMs");
}

void tst_ComponentLoader::keepsComponentsScopedToThisAppOnly()
{
    const QByteArray text = readFixture(u"good/03-refs.yaml"_s);
    LoaderOptions ours;
    ours.appId = u"tst-app"_s;
    LoaderOptions theirs;
    theirs.appId = u"other-app"_s;
    LoaderOptions nobody;
    nobody.appId = u"third"_s;
    QVERIFY(byName(ComponentLoader::parseText(text, u"f"_s, ours).components, u"scoped-to-us"_s));
    QVERIFY(!byName(ComponentLoader::parseText(text, u"f"_s, ours).components,
                    u"only-for-other-app"_s));
    QVERIFY(byName(ComponentLoader::parseText(text, u"f"_s, theirs).components,
                   u"only-for-other-app"_s));
    QVERIFY(
        !byName(ComponentLoader::parseText(text, u"f"_s, nobody).components, u"scoped-to-us"_s));
    QVERIFY(byName(ComponentLoader::parseText(text, u"f"_s, nobody).components,
                   u"api"_s)); // no scopes = all
}

void tst_ComponentLoader::replacesUuidAndAppIdTemplates()
{
    LoaderOptions o;
    o.appId = u"tst-app"_s;
    const LoadResult r = ComponentLoader::parseText(readFixture(u"good/03-refs.yaml"_s), u"f"_s, o);
    const ComponentSpec *api = byName(r.components, u"api"_s);
    QVERIFY(api);
    const QString url = api->property(u"url"_s);
    const QRegularExpression re(
        u"^http://127\\.0\\.0\\.1:1/tst-app/([0-9a-f-]{36})/([0-9a-f-]{36})$"_s);
    const QRegularExpressionMatch m = re.match(url);
    QVERIFY2(m.hasMatch(), qPrintable(url));
    QVERIFY(!QUuid::fromString(m.captured(1)).isNull());
    QVERIFY2(m.captured(1) != m.captured(2), "each {uuid} occurrence is a new UUID");
    QCOMPARE(api->item(u"url"_s)->rawValue, u"http://127.0.0.1:1/{appID}/{uuid}/{uuid}"_s);
    const LoadResult again
        = ComponentLoader::parseText(readFixture(u"good/01-bindings.yaml"_s), u"f"_s, o);
    QCOMPARE(byName(again.components, u"files"_s)->property(u"rootPath"_s),
             u"/tmp/bindery-tst-tst-app"_s);
}

void tst_ComponentLoader::readsEnvRefOnlyWhenValueIsEmpty()
{
    const LoadResult r = ComponentLoader::parseText(readFixture(u"good/03-refs.yaml"_s), u"f"_s);
    QCOMPARE(byName(r.components, u"api"_s)->property(u"securityTokenHeader"_s), u"X-From-Env"_s);
    const LoadResult withValue = ComponentLoader::parseText(
        component({}, "  - name: extra\n    value: written\n    envRef: BINDERY_TST_HEADER\n"),
        u"c"_s);
    QCOMPARE(withValue.components.first().property(u"extra"_s), u"written"_s);
}

void tst_ComponentLoader::refusesForbiddenEnvRefNames_data()
{
    QTest::addColumn<QByteArray>("name");
    QTest::addColumn<QByteArray>("allowlist");
    QTest::addColumn<bool>("refused");
    QTest::newRow("APP_API_TOKEN") << QByteArray("APP_API_TOKEN") << QByteArray() << true;
    QTest::newRow("DAPR_ prefix") << QByteArray("DAPR_API_TOKEN") << QByteArray() << true;
    QTest::newRow("name with a space") << QByteArray("\"BINDERY TST\"") << QByteArray() << true;
    QTest::newRow("outside DAPR_ENV_KEYS")
        << QByteArray("BINDERY_TST_HEADER") << QByteArray("OTHER ONE") << true;
    QTest::newRow("inside DAPR_ENV_KEYS")
        << QByteArray("BINDERY_TST_HEADER") << QByteArray("X BINDERY_TST_HEADER") << false;
    QTest::newRow("plain name") << QByteArray("BINDERY_TST_HEADER") << QByteArray() << false;
}

void tst_ComponentLoader::refusesForbiddenEnvRefNames()
{
    QFETCH(QByteArray, name);
    QFETCH(QByteArray, allowlist);
    QFETCH(bool, refused);
    qputenv("APP_API_TOKEN", "app-token");
    qputenv("DAPR_API_TOKEN", "dapr-token");
    qputenv("BINDERY TST", "spaced");
    if (allowlist.isEmpty())
        qunsetenv("DAPR_ENV_KEYS");
    else
        qputenv("DAPR_ENV_KEYS", allowlist);
    const LoadResult r = ComponentLoader::parseText(
        component({}, "  - name: secretish\n    envRef: " + name + "\n"), u"components/c.yaml"_s);
    qunsetenv("DAPR_ENV_KEYS");
    QCOMPARE(r.components.size(), 1);
    const QString value = r.components.first().property(u"secretish"_s);
    if (!refused) {
        QCOMPARE(value, u"X-From-Env"_s);
        QVERIFY(r.diagnostics.isEmpty());
        return;
    }
    QCOMPARE(value, QString());
    QCOMPARE(r.diagnostics.size(), 1);
    const Diagnostic &d = r.diagnostics.first();
    QCOMPARE(d.severity, Diagnostic::Severity::Warning);
    QCOMPARE(d.field, u"secretish"_s);
    QVERIFY2(d.toString().startsWith(
                 u"components/c.yaml:10:5: warning: component 'c' (bindings.cron): envRef '"_s),
             qPrintable(d.toString()));
    QVERIFY(
        d.toString().endsWith(u"of metadata 'secretish' is not allowed; the value stays empty"_s));
}

void tst_ComponentLoader::resolvesSecretKeyRefThroughLocalFileStoreWithNestedSeparator()
{
    LoadResult r = ComponentLoader::loadPaths({dataDir() + u"/good"_s}, {});
    const Diagnostics d = resolveSecrets(r.components);
    QVERIFY2(d.isEmpty(), qPrintable(strings(d).join(u'\n')));
    const ComponentSpec *api = byName(r.components, u"api"_s);
    QCOMPARE(api->property(u"securityToken"_s), u"s3cr3t"_s);
    QCOMPARE(api->item(u"securityToken"_s)->secretKey, u"db.password"_s); // key defaults to name
    QCOMPARE(api->secretStore, u"file-secrets"_s);
}

void tst_ComponentLoader::resolvesSecretKeyRefThroughLocalEnvStore()
{
    LoadResult r = ComponentLoader::loadPaths({dataDir() + u"/good"_s}, {});
    resolveSecrets(r.components);
    const ComponentSpec *api = byName(r.components, u"api-env"_s);
    QCOMPARE(api->secretStore, u"env-secrets"_s); // `secretstore` decodes case-insensitively
    QCOMPARE(api->property(u"securityToken"_s), u"env-secret-value"_s);
}

void tst_ComponentLoader::reportsMissingSecretAndMissingStoreWithFileLineAndField()
{
    const QByteArray stores = readFixture(u"good/02-secretstores.yaml"_s);
    const QByteArray text
        = stores
          + "---\napiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: c\nspec:\n"
            "  type: bindings.http\n  metadata:\n  - name: url\n    value: http://h\n"
            "  - name: securityToken\n    secretKeyRef:\n      name: db.nope\n"
            "auth:\n  secretStore: file-secrets\n"
            "---\napiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: d\nspec:\n"
            "  type: bindings.http\n  metadata:\n  - name: securityToken\n    secretKeyRef:\n"
            "      name: x\nauth:\n  secretStore: vault\n";
    QTemporaryDir dir;
    QFile::copy(dataDir() + u"/good/secrets.json"_s, dir.filePath(u"secrets.json"_s));
    QFile f(dir.filePath(u"s.yaml"_s));
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write(text);
    f.close();
    LoadResult r = ComponentLoader::loadPaths({dir.path()}, {});
    const QStringList d = strings(resolveSecrets(r.components));
    const QString file = dir.path() + u"/s.yaml"_s;
    QCOMPARE(d.size(), 2);
    QCOMPARE(
        d.at(0),
        file
            + u":32:5: warning: component 'c' (bindings.http): metadata 'securityToken': secret "
              "'db.nope' key 'db.nope' not found in store 'file-secrets'; the value stays empty"_s);
    QCOMPARE(d.at(1),
             file
                 + u":45:5: component 'd' (bindings.http): metadata 'securityToken': secret store "
                   "'vault' is not loaded"_s);
    QCOMPARE(byName(r.components, u"c"_s)->property(u"securityToken"_s), QString());
}

void tst_ComponentLoader::reportsYamlSyntaxErrorWithFileLineAndKeepsOtherDocuments()
{
    const LoadResult r = ComponentLoader::parseText(readFixture(u"malformed/syntax-error.yaml"_s),
                                                    u"components/syntax-error.yaml"_s);
    QCOMPARE(r.components.size(), 1);
    QCOMPARE(r.components.first().name, u"fine"_s);
    QCOMPARE(r.diagnostics.size(), 1);
    const QString s = r.diagnostics.first().toString();
    // The mis-indented entry is on line 21, in the second document.
    QVERIFY2(QRegularExpression(u"^components/syntax-error\\.yaml:21:\\d+: YAML syntax error: "_s)
                 .match(s)
                 .hasMatch(),
             qPrintable(s));
    QVERIFY(r.diagnostics.first().isError());
    QVERIFY(!r.fatal); // daprd: one bad document is a warning, not fatal
}

void tst_ComponentLoader::reportsMissingNameWithFileLine()
{
    const LoadResult r = ComponentLoader::parseText(readFixture(u"malformed/missing-name.yaml"_s),
                                                    u"components/missing-name.yaml"_s);
    QCOMPARE(r.components.size(), 0);
    QCOMPARE(r.diagnostics.size(), 1);
    QCOMPARE(r.diagnostics.first().field, u"metadata.name"_s);
    QCOMPARE(r.diagnostics.first().toString(),
             u"components/missing-name.yaml:4:3: component has no metadata.name"_s);
}

void tst_ComponentLoader::treatsDuplicateNamesAsFatal()
{
    const LoadResult r = ComponentLoader::loadPaths({dataDir() + u"/malformed"_s}, {});
    QVERIFY(r.fatal);
    QStringList dups;
    for (const Diagnostic &d : r.diagnostics) {
        if (d.message.startsWith(u"duplicate definition"_s))
            dups << d.toString();
    }
    QCOMPARE(dups.size(), 1);
    const QString file = dataDir() + u"/malformed/duplicate.yaml"_s;
    QCOMPARE(dups.first(),
             file
                 + u":11:1: component 'twice' (bindings.localstorage): duplicate definition of "
                   "Component name twice (bindings.localstorage/) with existing twice "
                   "(bindings.cron/) at "_s
                 + file + u":1"_s);
    // The first definition is kept; the second is dropped.
    QCOMPARE(byName(r.components, u"twice"_s)->type, u"bindings.cron"_s);
}

void tst_ComponentLoader::reportsMissingRequiredMetadataInTheIssueShape()
{
    const Diagnostics d = checkComponentText(readFixture(u"malformed/missing-required.yaml"_s),
                                             u"components/missing-required.yaml"_s, m_registry);
    QCOMPARE(strings(d), (QStringList{u"components/missing-required.yaml:9:7: warning: component "
                                      u"'orders' (bindings.localstorage): unknown "
                                      "metadata 'rootPth'; did you mean 'rootPath'?"_s,
                                      u"components/missing-required.yaml:9:5: component 'orders' "
                                      u"(bindings.localstorage): required metadata "
                                      "'rootPath' is missing"_s}));
    QCOMPARE(d.at(0).field, u"rootPth"_s);
    QCOMPARE(d.at(0).suggestion, u"rootPath"_s);
    QCOMPARE(d.at(1).field, u"rootPath"_s);
}

void tst_ComponentLoader::reportsUnknownTypeAndVersionWithSuggestion()
{
    const Diagnostics d = checkComponentText(readFixture(u"malformed/unknown-type.yaml"_s),
                                             u"components/unknown-type.yaml"_s, m_registry);
    QCOMPARE(strings(d), (QStringList{u"components/unknown-type.yaml:6:9: component 'typo' "
                                      u"(bindings.cronn): couldn't find binding typo "
                                      "(bindings.cronn); did you mean 'bindings.cron'?"_s,
                                      u"components/unknown-type.yaml:16:9: component 'future' "
                                      u"(bindings.cron): couldn't find binding future "
                                      "(bindings.cron/v2); bindings.cron has version v1"_s}));
    QCOMPARE(d.at(0).field, u"spec.type"_s);
}

void tst_ComponentLoader::reportsUnknownKeysInTheComponentShape()
{
    const LoadResult r = ComponentLoader::parseText(
        component("  initTimout: 5s\n", "  - name: x\n    valu: 1\n"), u"c.yaml"_s);
    QCOMPARE(strings(r.diagnostics),
             (QStringList{u"c.yaml:7:3: warning: component 'c' (bindings.cron): unknown key "
                          u"'initTimout' in spec; did you mean "
                          "'initTimeout'?"_s,
                          u"c.yaml:12:5: warning: component 'c' (bindings.cron): unknown key "
                          u"'valu' in a spec.metadata entry; did "
                          "you mean 'value'?"_s}));
}

void tst_ComponentLoader::reportsEmptyOrMissingResourcesPath()
{
    const LoadResult r = ComponentLoader::loadPaths({u"/nonexistent/bindery"_s}, {});
    QCOMPARE(r.components.size(), 0);
    QCOMPARE(strings(r.diagnostics),
             QStringList{u"/nonexistent/bindery: resources path does not exist"_s});
    QTemporaryDir empty;
    QVERIFY(ComponentLoader::loadPaths({empty.path()}, {}).diagnostics.isEmpty());
}

void tst_ComponentLoader::boundsAYamlAliasBomb()
{
    // 10 levels of 10 aliases each: 10^10 nodes if expanded, a few hundred bytes of YAML.
    QByteArray bomb
        = "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: bomb\nspec:\n"
          "  type: bindings.cron\n  metadata:\n  - name: schedule\n    value: \"@every 1s\"\n"
          "  - name: x\n    value:\n      a0: &a0 [\"lol\", \"lol\", \"lol\", \"lol\", \"lol\"]\n";
    for (int i = 1; i <= 9; ++i) {
        bomb += "      a" + QByteArray::number(i) + ": &a" + QByteArray::number(i) + " [";
        for (int j = 0; j < 10; ++j)
            bomb += (j ? ", *a" : "*a") + QByteArray::number(i - 1);
        bomb += "]\n";
    }
    QElapsedTimer t;
    t.start();
    const LoadResult r = ComponentLoader::parseText(bomb, u"bomb.yaml"_s);
    QVERIFY2(t.elapsed() < 2000, qPrintable(u"took %1 ms"_s.arg(t.elapsed())));
    QVERIFY(r.components.isEmpty());
    QCOMPARE(r.diagnostics.size(), 1);
    QVERIFY2(r.diagnostics.first().message.contains(u"YAML aliases"_s),
             qPrintable(r.diagnostics.first().message));
}

void tst_ComponentLoader::boundsAFileOfManyAliasBombs()
{
    // Found by tests/fuzz (fuzz_component_loader): the node budget was per document, so a file
    // of many small bombs cost a budget each (a 16 MiB file: hours). Now the file shares one
    // budget; a document of plain values after the bombs still loads.
    QByteArray bomb = "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: bomb\n"
                      "spec:\n  type: bindings.cron\n  metadata:\n  - name: x\n    value:\n"
                      "      a0: &a0 [lol, lol, lol, lol, lol]\n";
    for (int i = 1; i <= 9; ++i) {
        bomb += "      a" + QByteArray::number(i) + ": &a" + QByteArray::number(i) + " [";
        for (int j = 0; j < 10; ++j)
            bomb += (j ? ", *a" : "*a") + QByteArray::number(i - 1);
        bomb += "]\n";
    }
    QByteArray file;
    for (int i = 0; i < 20; ++i)
        file += bomb + "---\n";
    file += "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: plain\nspec:\n"
            "  type: bindings.cron\n  metadata:\n  - name: schedule\n    value: \"@every 1s\"\n";
    QElapsedTimer t;
    t.start();
    const LoadResult r = ComponentLoader::parseText(file, u"bombs.yaml"_s);
    QVERIFY2(t.elapsed() < 2000, qPrintable(u"took %1 ms"_s.arg(t.elapsed())));
    QCOMPARE(r.diagnostics.size(), 20);
    for (const Diagnostic &d : r.diagnostics)
        QVERIFY2(d.message.contains(u"YAML aliases"_s), qPrintable(d.toString()));
    QCOMPARE(r.components.size(), 1);
    QCOMPARE(r.components.first().name, u"plain"_s);
}

void tst_ComponentLoader::refusesAnOverlongComponentName()
{
    const QByteArray name(300, 'n');
    const LoadResult r = ComponentLoader::parseText(
        "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: " + name
            + "\nspec:\n  type: bindings.cron\n",
        u"long.yaml"_s);
    QVERIFY(r.components.isEmpty());
    QCOMPARE(r.diagnostics.size(), 1);
    QVERIFY2(r.diagnostics.first().toString().startsWith(
                 u"long.yaml:4:9: invalid component name: it has 300 characters, at most 253"_s),
             qPrintable(r.diagnostics.first().toString()));
}

void tst_ComponentLoader::expandsManyUuidTemplatesInLinearTime()
{
    QByteArray value;
    for (int i = 0; i < 20000; ++i)
        value += "{uuid},";
    QElapsedTimer t;
    t.start();
    const LoadResult r = ComponentLoader::parseText(
        component({}, "  - name: ids\n    value: \"" + value + "\"\n"), u"uuids.yaml"_s);
    QVERIFY2(t.elapsed() < 3000, qPrintable(u"took %1 ms"_s.arg(t.elapsed())));
    QCOMPARE(r.components.size(), 1);
    const QStringList ids = r.components.first().property(u"ids"_s).split(u',', Qt::SkipEmptyParts);
    QCOMPARE(ids.size(), 20000);
    QCOMPARE(QSet<QString>(ids.begin(), ids.end()).size(), 20000); // a new UUID at each occurrence
}

void tst_ComponentLoader::cutsHugeValuesShortInMessages()
{
    BindingRegistry registry;
    registerBuiltinBindings(registry);
    const QByteArray huge(10 * 1024 * 1024, 'x');
    const Diagnostics d = checkComponentText(
        "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: h\nspec:\n  type: "
        "bindings.http\n  metadata:\n  - name: url\n    value: http://x\n  - name: errorIfNot2XX\n"
        "    value: "
            + huge + "\n",
        u"huge.yaml"_s, registry);
    QCOMPARE(d.size(), 1);
    QVERIFY2(d.first().toString().size() < 400, qPrintable(d.first().toString().left(400)));
    QVERIFY(d.first().message.contains(u"(10485760 characters)"_s));
}

void tst_ComponentLoader::skipsSpecialAndOversizedFiles()
{
    QTemporaryDir dir;
    QVERIFY(QFile::link(u"/dev/zero"_s, dir.filePath(u"zero.yaml"_s)));
    QFile big(dir.filePath(u"big.yaml"_s));
    QVERIFY(big.open(QIODevice::WriteOnly));
    big.write(QByteArray(17 * 1024 * 1024, '#'));
    big.close();
    QFile good(dir.filePath(u"good.yaml"_s));
    QVERIFY(good.open(QIODevice::WriteOnly));
    good.write(component({}));
    good.close();
    QElapsedTimer t;
    t.start();
    const LoadResult r = ComponentLoader::loadPaths({dir.path()});
    QVERIFY(t.elapsed() < 5000);
    QCOMPARE(r.components.size(), 1);
    const QString all = strings(r.diagnostics).join(u'\n');
    QVERIFY2(all.contains(u"zero.yaml: warning: skipped: not a regular file"_s), qPrintable(all));
    QVERIFY2(all.contains(u"big.yaml: skipped: the file is larger than 16 MiB"_s), qPrintable(all));
}

void tst_ComponentLoader::explainsAComponentWhoseFirstLineIsIndented()
{
    const LoadResult r = ComponentLoader::parseText(" " + component({}), u"indented.yaml"_s);
    QVERIFY(r.components.isEmpty());
    QCOMPARE(r.diagnostics.size(), 1);
    QVERIFY(r.diagnostics.first().isError());
    QVERIFY2(r.diagnostics.first().toString().startsWith(u"indented.yaml:1:"_s)
                 && r.diagnostics.first().message.contains(
                     u"check the indentation of its first lines"_s),
             qPrintable(r.diagnostics.first().toString()));
}

void tst_ComponentLoader::reportsATypeCategoryTypoAsIncorrectType()
{
    BindingRegistry registry;
    registerBuiltinBindings(registry);
    const Diagnostics d
        = checkComponentText("apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: "
                             "k\nspec:\n  type: binding.kafka\n",
                             u"typo.yaml"_s, registry);
    QCOMPARE(d.size(), 1);
    QVERIFY(d.first().isError());
    QCOMPARE(
        d.first().toString(),
        u"typo.yaml:6:9: component 'k' (binding.kafka): incorrect type binding.kafka; did you mean 'bindings.kafka'?"_s);
    // Another building block is not an error: Bindery only does not run it.
    const Diagnostics state
        = checkComponentText("apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: "
                             "s\nspec:\n  type: state.redis\n",
                             u"state.yaml"_s, registry);
    QCOMPARE(state.size(), 1);
    QVERIFY(!state.first().isError());
}

void tst_ComponentLoader::skipsOnlyTheDocumentWithUndecodableMetadata()
{
    const LoadResult r
        = ComponentLoader::parseText(component({}) + "---\n"
                                         + "apiVersion: dapr.io/v1alpha1\nkind: "
                                           "Component\nmetadata:\n  name: broken\nspec:\n  type: "
                                           "bindings.cron\n  metadata:\n  - just a string\n",
                                     u"two.yaml"_s);
    QCOMPARE(r.components.size(), 1);
    QCOMPARE(r.components.first().name, u"c"_s);
    QCOMPARE(r.diagnostics.size(), 1);
    QVERIFY(!r.fatal);
    QVERIFY2(r.diagnostics.first().toString().startsWith(
                 u"two.yaml:18:5: component 'broken': document skipped: spec.metadata entries"_s),
             qPrintable(r.diagnostics.first().toString()));
}

void tst_ComponentLoader::keepsAStructuredValueWithInvalidUtf8()
{
    // Found by tests/fuzz (fuzz_component_loader): a mapping or list value holding bytes that
    // are not UTF-8 made nlohmann::json::dump() throw out of parseText (binderyd: terminate).
    // They become U+FFFD, as in a plain value and as Go's json.Marshal writes them.
    const LoadResult r = ComponentLoader::parseText(
        "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: c\nspec:\n"
        "  type: bindings.cron\n  metadata:\n  - name: x\n    value: [\"a\x9a\xff"
        "b\"]\n"
        "  - name: y\n    value: \"c\x9a\"\n",
        u"utf8.yaml"_s);
    QVERIFY2(r.diagnostics.isEmpty(), qPrintable(r.diagnostics.value(0).toString()));
    QCOMPARE(r.components.size(), 1);
    QCOMPARE(r.components.first().item(u"x"_s)->rawValue, u"[\"a\uFFFD\uFFFDb\"]"_s);
    QCOMPARE(r.components.first().item(u"y"_s)->rawValue, u"c\uFFFD"_s);
}

QTEST_GUILESS_MAIN(tst_ComponentLoader)
#include "tst_component_loader.moc"
