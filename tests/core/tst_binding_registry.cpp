// SPDX-License-Identifier: Apache-2.0
// Registry keys, versions, case-insensitivity and duplicates, plus the metadata <-> registry
// consistency check (STYLE 2.3, the twin of Dapr's check-component-registrations).
#include <algorithm>

#include <QFile>
#include <QSet>
#include <QTest>

#include <future>
#include <mutex>

#include "core/binding_registry.h"
#include "core/binding_settings.h"

using namespace bindery;
using namespace bindery::core;
using namespace Qt::Literals::StringLiterals;

namespace {

class NullOutput final : public OutputBinding
{
public:
    bindery::Result<> init(const ComponentSpec &) override { return {}; }
    QStringList operations() const override { return {u"create"_s}; }
    void invoke(InvokeRequest, InvokeDone done) override { done({InvokeResponse{}, {}}); }
    void close() override {}
};

/// A binding with a bug: it reads a field its schema (loopback's) does not declare.
class ReadsAnUndeclaredField final : public OutputBinding
{
public:
    bindery::Result<> init(const ComponentSpec &spec) override
    {
        BindingSettings s(spec, builtinSchema(u"loopback"_s), {false, true});
        s.integer(u"capacity"_s);
        s.string(u"queueDepth"_s); // not in loopback/metadata.yaml
        return s.result();
    }
    QStringList operations() const override { return {u"create"_s}; }
    void invoke(InvokeRequest, InvokeDone done) override { done({InvokeResponse{}, {}}); }
    void close() override {}
};

/// What one init of a binding read, as the settings reader's audit sink heard it.
struct FieldAudit
{
    QSet<QString> read;
    QStringList problems; ///< undeclared fields, wrong getters
};

/// Inits `binding` with an empty component (every binding reads all its fields before it checks
/// them) and collects the reader's audit events for `type`.
template <typename Binding> FieldAudit auditInit(Binding &binding, const QString &type)
{
    FieldAudit audit;
    std::mutex mutex;
    BindingSettings::setAuditSink([&](const BindingSettings::AuditEvent &e) {
        std::lock_guard lock(mutex);
        if (e.bindingType != type)
            return;
        if (e.declared)
            audit.read.insert(e.field);
        else
            audit.problems << e.problem;
    });
    ComponentSpec spec;
    spec.name = u"audit"_s;
    spec.type = type;
    // Bounded: a binding that would try to connect gives up at once without its server address.
    auto done = std::async(std::launch::async, [&] { (void)binding.init(spec); });
    done.wait_for(std::chrono::seconds(20));
    BindingSettings::setAuditSink(nullptr);
    binding.close();
    std::lock_guard lock(mutex);
    return audit;
}

/// The field-coverage rule of issue 8: every field read is declared, and every declared field is
/// read or marked in the schema as accepted for compatibility only (or refused as unsupported).
QStringList fieldCoverageProblems(const BindingMetadata &schema, const FieldAudit &audit)
{
    QStringList problems = audit.problems;
    for (const MetadataField &f : schema.fields) {
        if (f.builtin || !f.compatibility.isEmpty() || !f.unsupported.isEmpty())
            continue;
        if (!audit.read.contains(f.name))
            problems << u"%1: field '%2' is declared but never read (read it, or mark it "
                        u"'compatibility:' "
                        "with the reason)"_s.arg(schema.type, f.name);
    }
    return problems;
}

BindingDescriptor descriptor(const QString &type, const QString &version = {})
{
    BindingDescriptor d;
    d.type = type;
    d.version = version;
    d.metadata.type = type;
    d.metadata.output = true;
    d.outputFactory = [] { return std::make_unique<NullOutput>(); };
    return d;
}

} // namespace

class tst_BindingRegistry : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void buildsKeysFromTypeAndVersion_data();
    void buildsKeysFromTypeAndVersion();
    void findsTypesCaseInsensitivelyAndInitialVersionsAlike();
    void keepsOtherVersionsApart();
    void rejectsDuplicateKeysIncludingAliases();
    void findsAliases();
    void createsOnlyTheDirectionsAFactoryExistsFor();
    void hidesTestOnlyBindingsUnlessAsked();
    void opensEmbeddedMetadataThroughBinderyBindings();
    void everyDescriptorMatchesItsMetadata();
    void everyBindingReadsExactlyItsDeclaredFields_data();
    void everyBindingReadsExactlyItsDeclaredFields();
    void readingAnUndeclaredFieldIsCaught();

private:
    BindingRegistry m_builtin;
};

void tst_BindingRegistry::initTestCase()
{
    registerBuiltinBindings(m_builtin);
    registerLoopbackBinding(m_builtin);
}

void tst_BindingRegistry::buildsKeysFromTypeAndVersion_data()
{
    QTest::addColumn<QString>("type");
    QTest::addColumn<QString>("version");
    QTest::addColumn<QString>("key");
    QTest::newRow("no version") << u"bindings.kafka"_s << QString() << u"bindings.kafka"_s;
    QTest::newRow("v1 is initial") << u"bindings.kafka"_s << u"v1"_s << u"bindings.kafka"_s;
    QTest::newRow("v0 is initial") << u"bindings.kafka"_s << u"v0"_s << u"bindings.kafka"_s;
    QTest::newRow("V1 upper case") << u"bindings.kafka"_s << u"V1"_s << u"bindings.kafka"_s;
    QTest::newRow("v2 kept") << u"bindings.kafka"_s << u"v2"_s << u"bindings.kafka/v2"_s;
    QTest::newRow("lower-cased") << u"Bindings.AWS.SQS"_s << u"V2"_s << u"bindings.aws.sqs/v2"_s;
}

void tst_BindingRegistry::buildsKeysFromTypeAndVersion()
{
    QFETCH(QString, type);
    QFETCH(QString, version);
    QTEST(BindingRegistry::key(type, version), "key");
}

void tst_BindingRegistry::findsTypesCaseInsensitivelyAndInitialVersionsAlike()
{
    const BindingDescriptor *cron = m_builtin.find(u"bindings.cron"_s);
    QVERIFY(cron);
    QCOMPARE(m_builtin.find(u"BINDINGS.Cron"_s), cron);
    QCOMPARE(m_builtin.find(u"bindings.cron"_s, u"v1"_s), cron);
    QCOMPARE(m_builtin.find(u"bindings.cron"_s, u"v0"_s), cron);
    QCOMPARE(m_builtin.find(u"bindings.cron"_s, u"v2"_s), nullptr);
    QCOMPARE(m_builtin.find(u"bindings.nosuch"_s), nullptr);
}

void tst_BindingRegistry::keepsOtherVersionsApart()
{
    BindingRegistry r;
    QVERIFY(r.add(descriptor(u"bindings.thing"_s)));
    QVERIFY(r.add(descriptor(u"bindings.thing"_s, u"v2"_s)));
    QCOMPARE(r.find(u"bindings.thing"_s, u"v2"_s)->version, u"v2"_s);
    QCOMPARE(r.find(u"bindings.thing"_s)->version, QString());
    QCOMPARE(r.all().size(), 2);
}

void tst_BindingRegistry::rejectsDuplicateKeysIncludingAliases()
{
    BindingRegistry r;
    QVERIFY(r.add(descriptor(u"bindings.thing"_s)));
    bindery::Result<> again = r.add(descriptor(u"Bindings.Thing"_s, u"v1"_s));
    QVERIFY(!again);
    QCOMPARE(again.error().message, u"duplicate binding key bindings.thing"_s);
    BindingDescriptor aliased = descriptor(u"bindings.other"_s);
    aliased.aliases = {u"bindings.THING"_s};
    QVERIFY(!r.add(aliased));
    BindingDescriptor withAlias = descriptor(u"bindings.mqtt3"_s);
    withAlias.aliases = {u"bindings.mqtt"_s};
    QVERIFY(r.add(withAlias));
    QVERIFY(!r.add(descriptor(u"bindings.mqtt"_s)));
    QCOMPARE(r.all().size(), 2);
}

void tst_BindingRegistry::findsAliases()
{
    BindingRegistry r;
    BindingDescriptor d = descriptor(u"bindings.mqtt3"_s);
    d.aliases = {u"bindings.mqtt"_s};
    QVERIFY(r.add(d));
    QVERIFY(r.find(u"bindings.MQTT"_s));
    QCOMPARE(r.find(u"bindings.mqtt"_s)->type, u"bindings.mqtt3"_s);
}

void tst_BindingRegistry::createsOnlyTheDirectionsAFactoryExistsFor()
{
    QVERIFY(m_builtin.createInput(u"bindings.cron"_s, {}));
    auto out = m_builtin.createOutput(u"bindings.cron"_s, u"v1"_s);
    QVERIFY(!out);
    QCOMPARE(out.error().message, u"couldn't find output binding bindings.cron"_s);
    QVERIFY(m_builtin.createOutput(u"bindings.localstorage"_s, {}));
    QVERIFY(!m_builtin.createInput(u"bindings.localstorage"_s, {}));
    QVERIFY(!m_builtin.createOutput(u"bindings.cron"_s, u"v9"_s));
}

void tst_BindingRegistry::hidesTestOnlyBindingsUnlessAsked()
{
    auto types = [](const QList<const BindingDescriptor *> &list) {
        QStringList out;
        for (const BindingDescriptor *d : list)
            out << d->type;
        return out;
    };
    QVERIFY(!types(m_builtin.all()).contains(u"bindings.loopback"_s));
    QVERIFY(types(m_builtin.all(true)).contains(u"bindings.loopback"_s));
    for (const QString &shipped :
         {u"bindings.cron"_s, u"bindings.localstorage"_s, u"bindings.http"_s})
        QVERIFY2(types(m_builtin.all()).contains(shipped), qPrintable(shipped));
}

void tst_BindingRegistry::opensEmbeddedMetadataThroughBinderyBindings()
{
    // Resources of static libraries must reach the executable (STYLE 2.7).
    QVERIFY(QFile::exists(u":/bindings/cron/metadata.yaml"_s));
    Result<BindingMetadata> cron = BindingMetadata::fromFile(u":/bindings/cron/metadata.yaml"_s);
    QVERIFY2(cron, cron ? "" : qPrintable(cron.error().message));
    QCOMPARE(cron->name, u"cron"_s);
    QVERIFY(cron->field(u"schedule"_s) && cron->field(u"schedule"_s)->required);
    Result<BindingMetadata> missing
        = BindingMetadata::fromFile(u":/bindings/nosuch/metadata.yaml"_s);
    QVERIFY(!missing);
    QVERIFY(missing.error().message.startsWith(u":/bindings/nosuch/metadata.yaml: cannot open"_s));
}

void tst_BindingRegistry::everyDescriptorMatchesItsMetadata()
{
    const QList<const BindingDescriptor *> all = m_builtin.all(true);
    QVERIFY(all.size() >= 4);
    for (const BindingDescriptor *d : all) {
        const QByteArray what = d->type.toUtf8();
        const BindingMetadata &m = d->metadata;
        QVERIFY2(!m.name.isEmpty(), what.constData());
        QVERIFY2(QFile::exists(u":/bindings/"_s + m.name + u"/metadata.yaml"_s), what.constData());
        QCOMPARE(BindingRegistry::key(m.type, m.version),
                 BindingRegistry::key(d->type, d->version));
        QCOMPARE(m.input, bool(d->inputFactory));
        QCOMPARE(m.output, bool(d->outputFactory));
        QVERIFY2(m.input || m.output, what.constData());
        if (d->outputFactory) {
            const std::unique_ptr<OutputBinding> out = d->outputFactory();
            QCOMPARE(out->operations(), m.operationNames());
        } else {
            QVERIFY2(m.operationNames().isEmpty(), what.constData());
        }
        for (const MetadataField &f : m.fields) {
            QVERIFY2(!f.name.isEmpty(), what.constData());
            QVERIFY2(f.required ? f.defaultValue.isEmpty() : true,
                     qPrintable(d->type + u": "_s + f.name));
            const QStringList types{u"string"_s, u"number"_s, u"bool"_s, u"duration"_s,
                                    u"bytesize"_s};
            QVERIFY2(types.contains(f.type),
                     qPrintable(d->type + u": "_s + f.name + u" has type "_s + f.type));
        }
    }
}

void tst_BindingRegistry::everyBindingReadsExactlyItsDeclaredFields_data()
{
    QTest::addColumn<QString>("type");
    for (const BindingDescriptor *d : m_builtin.all(true))
        QTest::newRow(qPrintable(d->type)) << d->type;
}

void tst_BindingRegistry::everyBindingReadsExactlyItsDeclaredFields()
{
    QFETCH(QString, type);
    const BindingDescriptor *d = m_builtin.find(type);
    QVERIFY(d);
    FieldAudit all;
    if (d->inputFactory) {
        std::unique_ptr<InputBinding> b = d->inputFactory();
        const FieldAudit a = auditInit(*b, type);
        all.read.unite(a.read);
        all.problems << a.problems;
    }
    if (d->outputFactory) {
        std::unique_ptr<OutputBinding> b = d->outputFactory();
        const FieldAudit a = auditInit(*b, type);
        all.read.unite(a.read);
        all.problems << a.problems;
    }
    const QStringList problems = fieldCoverageProblems(d->metadata, all);
    QVERIFY2(problems.isEmpty(), qPrintable(problems.join(u'\n')));
}

void tst_BindingRegistry::readingAnUndeclaredFieldIsCaught()
{
    ReadsAnUndeclaredField buggy;
    const FieldAudit audit = auditInit(buggy, u"bindings.loopback"_s);
    const QStringList problems = fieldCoverageProblems(builtinSchema(u"loopback"_s), audit);
    QCOMPARE(problems.size(), 1);
    QVERIFY2(problems.first().contains(u"'queueDepth' is not declared"_s),
             qPrintable(problems.first()));
    // And the init itself fails loudly instead of running with a value nobody validates.
    ReadsAnUndeclaredField again;
    ComponentSpec spec;
    spec.name = u"x"_s;
    spec.type = u"bindings.loopback"_s;
    const Result<> r = again.init(spec);
    QVERIFY(!r);
    QVERIFY2(r.error().message.startsWith(u"internal: field 'queueDepth' is not declared"_s),
             qPrintable(r.error().message));
}

QTEST_GUILESS_MAIN(tst_BindingRegistry)
#include "tst_binding_registry.moc"
