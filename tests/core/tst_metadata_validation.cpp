// SPDX-License-Identifier: Apache-2.0
// Schema validation before init (issue 2): required, unknown + did-you-mean, allowedValues,
// types, and fields that apply to one direction only.
#include <QFile>
#include <QTest>

#include "core/binding_metadata.h"
#include "core/binding_registry.h"
#include "core/component_loader.h"

using namespace bindery;
using namespace bindery::core;
using namespace Qt::Literals::StringLiterals;

namespace {

const QByteArray SCHEMA = R"(schemaVersion: v1
type: bindings
name: testbus
version: v1
binding:
  input: true
  output: true
  operations:
  - name: create
metadata:
- name: brokers
  required: true
- name: consumerGroup
  required: true
  binding:
    input: true
    output: false
- name: partitionKey
  binding:
    input: false
    output: true
- name: maxRetries
  type: number
- name: enabled
  type: bool
- name: timeout
  type: duration
- name: maxBytes
  type: bytesize
- name: mode
  allowedValues: [fast, safe]
- name: oldName
  deprecated: true
)";

// items: "name=value;name=value"
ComponentSpec spec(const QString &items)
{
    QByteArray text
        = "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: bus\nspec:\n"
          "  type: bindings.testbus\n  metadata:\n";
    for (const QString &pair : items.split(u';', Qt::SkipEmptyParts)) {
        const qsizetype eq = pair.indexOf(u'=');
        text += "  - name: " + pair.left(eq).toUtf8() + "\n    value: \""
                + pair.mid(eq + 1).toUtf8() + "\"\n";
    }
    const LoadResult r = ComponentLoader::parseText(text, u"bus.yaml"_s);
    if (r.components.size() != 1)
        qFatal("fixture did not parse");
    return r.components.first();
}

} // namespace

class tst_MetadataValidation : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void validatesAgainstTheSchema_data();
    void validatesAgainstTheSchema();
    void skipsTypeChecksForSecretKeyRefValues();
    void derivesDirectionsFromDirectionMetadata_data();
    void derivesDirectionsFromDirectionMetadata();
    void addsBuiltinDirectionAndRouteFieldsToInputBindings();
    void suggestsTheClosestCandidate_data();
    void suggestsTheClosestCandidate();
    void reportsEveryBadValueOfAFixtureWithFileLineColumn();
    void reportsBrokenSchemaFilesWithTheirLine();

private:
    BindingMetadata m_meta;
    BindingRegistry m_registry;
};

void tst_MetadataValidation::initTestCase()
{
    Result<BindingMetadata> m = BindingMetadata::fromYaml(SCHEMA, u"testbus.yaml"_s);
    QVERIFY2(m, m ? "" : qPrintable(m.error().message));
    m_meta = *m;
    QCOMPARE(m_meta.type, u"bindings.testbus"_s);
    registerBuiltinBindings(m_registry);
}

void tst_MetadataValidation::validatesAgainstTheSchema_data()
{
    QTest::addColumn<QString>("items");
    QTest::addColumn<QStringList>("expected"); // "E|W line:col field: message"
    const QString ok = u"brokers=b;consumerGroup=g"_s;
    QTest::newRow("complete") << ok << QStringList{};
    QTest::newRow("required missing")
        << u"consumerGroup=g"_s
        << QStringList{u"E 8:3 brokers: required metadata 'brokers' is missing"_s};
    QTest::newRow("required empty")
        << u"brokers=;consumerGroup=g"_s
        << QStringList{u"E 8:5 brokers: required metadata 'brokers' is missing"_s};
    QTest::newRow("input-only required, output component")
        << u"brokers=b;direction=output"_s << QStringList{};
    QTest::newRow("input-only required, input component")
        << u"brokers=b;direction=input"_s
        << QStringList{u"E 8:3 consumerGroup: required metadata 'consumerGroup' is missing"_s};
    QTest::newRow("output-only field on an input component")
        << ok + u";direction=input;partitionKey=k"_s
        << QStringList{u"W 14:5 partitionKey: metadata 'partitionKey' applies to output bindings "
                       u"only, but this "
                       "component is input only"_s};
    QTest::newRow("input-only field on an output component")
        << u"brokers=b;direction=output;consumerGroup=g"_s
        << QStringList{u"W 12:5 consumerGroup: metadata 'consumerGroup' applies to input bindings "
                       u"only, but this "
                       "component is output only"_s};
    QTest::newRow("both directions: no warning") << ok + u";partitionKey=k"_s << QStringList{};
    QTest::newRow("unknown, did you mean")
        << ok + u";brokerz=x"_s
        << QStringList{u"W 12:5 brokerz: unknown metadata 'brokerz'; did you mean 'brokers'?"_s};
    QTest::newRow("unknown, nothing close")
        << ok + u";zzzzzzzzzzzz=x"_s
        << QStringList{
               u"W 12:5 zzzzzzzzzzzz: unknown metadata 'zzzzzzzzzzzz'; bindings.testbus does not use it"_s};
    QTest::newRow("case-insensitive names") << u"BROKERS=b;ConsumerGroup=g"_s << QStringList{};
    QTest::newRow("number ok") << ok + u";maxRetries=3"_s << QStringList{};
    QTest::newRow("number float ok") << ok + u";maxRetries=1.5"_s << QStringList{};
    QTest::newRow("number wrong")
        << ok + u";maxRetries=three"_s
        << QStringList{
               u"E 13:12 maxRetries: metadata 'maxRetries' must be a number, not 'three'"_s};
    QTest::newRow("bool yes ok") << ok + u";enabled=yes"_s << QStringList{};
    QTest::newRow("bool wrong")
        << ok + u";enabled=maybe"_s
        << QStringList{
               u"E 13:12 enabled: metadata 'enabled' must be a bool (true or false), not 'maybe'"_s};
    QTest::newRow("duration ok") << ok + u";timeout=1m30s"_s << QStringList{};
    QTest::newRow("duration wrong")
        << ok + u";timeout=soon"_s
        << QStringList{
               u"E 13:12 timeout: metadata 'timeout' must be a duration such as 500ms, 5s or 1m30s, not 'soon'"_s};
    // Found by tests/fuzz: beyond Go's int64 nanoseconds the conversion overflowed (undefined
    // behaviour, caught by the asan-core run) instead of refusing the value as Go does.
    QTest::newRow("duration beyond Go's range")
        << ok + u";timeout=999999999999999999999999h"_s
        << QStringList{u"E 13:12 timeout: metadata 'timeout' must be a duration such as 500ms, 5s "
                       u"or 1m30s, not '999999999999999999999999h'"_s};
    QTest::newRow("seconds beyond Go's range")
        << ok + u";timeout=9223372036854775807"_s
        << QStringList{u"E 13:12 timeout: metadata 'timeout' must be a duration such as 500ms, 5s "
                       u"or 1m30s, not '9223372036854775807'"_s};
    QTest::newRow("bytesize ok") << ok + u";maxBytes=4Mi"_s << QStringList{};
    QTest::newRow("bytesize wrong")
        << ok + u";maxBytes=lots"_s
        << QStringList{
               u"E 13:12 maxBytes: metadata 'maxBytes' must be a byte size such as 1024, 4Mi or 100MB, not 'lots'"_s};
    QTest::newRow("allowed value") << ok + u";mode=safe"_s << QStringList{};
    QTest::newRow("not an allowed value")
        << ok + u";mode=saf"_s
        << QStringList{
               u"E 13:12 mode: metadata 'mode' has value 'saf'; allowed values: fast, safe (did you mean 'safe'?)"_s};
    QTest::newRow("direction not allowed")
        << ok + u";direction=sideways"_s
        << QStringList{u"E 13:12 direction: metadata 'direction' has value 'sideways'; allowed "
                       u"values: input, output, "
                       "input, output"_s};
    QTest::newRow("deprecated") << ok + u";oldName=x"_s
                                << QStringList{
                                       u"W 12:5 oldName: metadata 'oldName' is deprecated"_s};
    QTest::newRow("route is built in") << ok + u";route=/custom"_s << QStringList{};
}

void tst_MetadataValidation::validatesAgainstTheSchema()
{
    QFETCH(QString, items);
    QFETCH(QStringList, expected);
    const Diagnostics diagnostics = validateComponent(spec(items), m_meta);
    QStringList got;
    for (const Diagnostic &d : diagnostics) {
        got << QStringLiteral("%1 %2:%3 %4: %5")
                   .arg(d.isError() ? u"E"_s : u"W"_s)
                   .arg(d.location.line)
                   .arg(d.location.column)
                   .arg(d.field, d.message);
        QCOMPARE(d.location.file, u"bus.yaml"_s);
        QCOMPARE(d.component, u"bus"_s);
        QCOMPARE(d.componentType, u"bindings.testbus"_s);
    }
    QCOMPARE(got, expected);
}

void tst_MetadataValidation::skipsTypeChecksForSecretKeyRefValues()
{
    ComponentSpec s = spec(u"brokers=b;consumerGroup=g"_s);
    MetadataItem item;
    item.name = u"maxRetries"_s;
    item.secretName = u"retries"_s;
    item.value = u"not-a-number-yet"_s;
    item.location = {u"bus.yaml"_s, 20, 5};
    s.items << item;
    QVERIFY(validateComponent(s, m_meta).isEmpty());
    // A required field given by secretKeyRef counts as present even before resolution.
    ComponentSpec t = spec(u"consumerGroup=g"_s);
    item.name = u"brokers"_s;
    item.value.clear();
    t.items << item;
    QVERIFY(validateComponent(t, m_meta).isEmpty());
}

void tst_MetadataValidation::derivesDirectionsFromDirectionMetadata_data()
{
    QTest::addColumn<QString>("items");
    QTest::addColumn<bool>("input");
    QTest::addColumn<bool>("output");
    QTest::newRow("absent = both") << u"brokers=b"_s << true << true;
    QTest::newRow("input") << u"direction=input"_s << true << false;
    QTest::newRow("output") << u"direction=output"_s << false << true;
    QTest::newRow("spaced and cased") << u"DIRECTION= Input , OUTPUT "_s << true << true;
    QTest::newRow("unrecognised = none") << u"direction=sideways"_s << false << false;
}

void tst_MetadataValidation::derivesDirectionsFromDirectionMetadata()
{
    QFETCH(QString, items);
    const Directions d = effectiveDirections(spec(items), m_meta);
    QTEST(d.input, "input");
    QTEST(d.output, "output");
}

void tst_MetadataValidation::addsBuiltinDirectionAndRouteFieldsToInputBindings()
{
    const MetadataField *direction = m_meta.field(u"Direction"_s);
    QVERIFY(direction && direction->builtin);
    QCOMPARE(direction->allowedValues, (QStringList{u"input"_s, u"output"_s, u"input, output"_s}));
    const MetadataField *route = m_meta.field(u"route"_s);
    QVERIFY(route && route->builtin && route->input && !route->output);
    const BindingDescriptor *cron = m_registry.find(u"bindings.cron"_s);
    QVERIFY(cron);
    QCOMPARE(cron->metadata.field(u"direction"_s)->allowedValues, QStringList{u"input"_s});
    const BindingDescriptor *storage = m_registry.find(u"bindings.localstorage"_s);
    QVERIFY(!storage->metadata.field(u"route"_s));
    QCOMPARE(storage->metadata.field(u"direction"_s)->allowedValues, QStringList{u"output"_s});
}

void tst_MetadataValidation::suggestsTheClosestCandidate_data()
{
    QTest::addColumn<QString>("word");
    QTest::addColumn<QString>("expected");
    QTest::newRow("one typo") << u"rootPth"_s << u"rootPath"_s;
    QTest::newRow("case only") << u"ROOTPATH"_s << u"rootPath"_s;
    QTest::newRow("transposition") << u"scheudle"_s << u"schedule"_s;
    QTest::newRow("nothing close") << u"colour"_s << QString();
}

void tst_MetadataValidation::suggestsTheClosestCandidate()
{
    QFETCH(QString, word);
    QTEST(closestMatch(word, {u"rootPath"_s, u"schedule"_s, u"url"_s}), "expected");
}

void tst_MetadataValidation::reportsEveryBadValueOfAFixtureWithFileLineColumn()
{
    QFile f(qEnvironmentVariable("BINDERY_SOURCE_DIR")
            + u"/tests/data/components/malformed/bad-values.yaml"_s);
    QVERIFY(f.open(QIODevice::ReadOnly));
    const Diagnostics d
        = checkComponentText(f.readAll(), u"components/bad-values.yaml"_s, m_registry);
    QStringList got;
    for (const Diagnostic &x : d)
        got << x.toString();
    const QString p = u"components/bad-values.yaml:"_s;
    const QString c = u": component 'upstream' (bindings.http): "_s;
    QCOMPARE(
        got,
        (QStringList{
            p + u"11:12"_s + c
                + u"metadata 'errorIfNot2XX' must be a bool (true or false), not 'maybe'"_s,
            p + u"13:12"_s + c
                + u"metadata 'responseTimeout' must be a duration such as 500ms, 5s or 1m30s, not '10 parsecs'"_s,
            p + u"15:12"_s + c
                + u"metadata 'maxResponseBodySize' must be a byte size such as 1024, 4Mi or 100MB, not 'huge'"_s,
            p + u"17:12"_s + c
                + u"metadata 'MTLSRenegotiation' has value 'RenegotiateNevr'; allowed values: "
                  "RenegotiateNever, RenegotiateOnceAsClient, RenegotiateFreelyAsClient (did you "
                  "mean "
                  "'RenegotiateNever'?)"_s}));
    QCOMPARE(d.at(0).field, u"errorIfNot2XX"_s);
    QCOMPARE(d.at(3).suggestion, u"RenegotiateNever"_s);
}

void tst_MetadataValidation::reportsBrokenSchemaFilesWithTheirLine()
{
    Result<BindingMetadata> m = BindingMetadata::fromYaml(
        "type: bindings\nname: x\nmetadata:\n- description: no name\n", u"x/metadata.yaml"_s);
    QVERIFY(!m);
    QCOMPARE(m.error().message, u"x/metadata.yaml:4: metadata entry without a name"_s);
    Result<BindingMetadata> n = BindingMetadata::fromYaml("type: state\nname: x\n", u"y.yaml"_s);
    QVERIFY(!n);
    QCOMPARE(n.error().message, u"y.yaml: 'type' must be 'bindings'"_s);
    Result<BindingMetadata> o
        = BindingMetadata::fromYaml("type: bindings\nname: [x\n", u"z.yaml"_s);
    QVERIFY(!o);
    QVERIFY2(o.error().message.startsWith(u"z.yaml:"_s), qPrintable(o.error().message));
}

QTEST_GUILESS_MAIN(tst_MetadataValidation)
#include "tst_metadata_validation.moc"
