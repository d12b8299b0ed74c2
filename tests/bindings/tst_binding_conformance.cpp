// SPDX-License-Identifier: Apache-2.0
// One conformance suite over every binding (issue 8.5), in the shape of Dapr's own bindings
// conformance tests: each binding joins with one row of bindingRows(); the checks are generic.
//  - init with each required field missing fails with an error naming the field;
//  - operations() equals the schema's operations;
//  - an unknown operation fails with Dapr's error (through the BindingService, as a caller sees
//  it);
//  - close() is idempotent, and a second init after close works;
//  - an input binding's read() returns within 250 ms of a stop request, idle and while a delivery
//    is in flight;
//  - an output invoke completes exactly once, also when the binding closes mid-flight.
// A row that needs a server uses the real one from scripts/services; under CI=true a missing
// server fails the row, otherwise the row is skipped with the command that starts it.
#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <thread>

#include <QDir>
#include <QFile>
#include <QTemporaryDir>
#include <QTest>
#include <QUuid>

#include "core/api/binding_service.h"
#include "core/binding_registry.h"
#include "core/runtime.h"
#include "core/traffic.h"
#include "tests/core/test_app.h"
#ifdef BINDERY_HAS_AWS_SQS
#include "core/bindings/aws_sqs/sqs_client.h"
#endif

using namespace bindery;
using namespace bindery::core;
using namespace Qt::Literals::StringLiterals;
using Items = QList<QPair<QString, QString>>;

namespace {

/// What one binding brings to the suite.
struct BindingRow
{
    QString type;        ///< "bindings.kafka"
    QString serverEnv;   ///< an env var its server's script prints (empty: no server needed)
    QString serverStart; ///< the command that starts that server
    /// Complete, valid metadata for one component of this type (its server is reachable).
    std::function<Items()> metadata;
    /// An operation and data an output instance answers quickly and successfully.
    QString operation;
    QByteArray data = "\"conformance\"";
    QMap<QString, QString> requestMetadata;
    /// Makes one event reach an input instance initialised with metadata(): e.g. produce through
    /// the output side. Empty when events come on their own (cron).
    std::function<bool(const Items &)> produce;
};

QTemporaryDir &scratch()
{
    static QTemporaryDir dir;
    return dir;
}

/// A real local HTTP server for the http binding's row.
quint16 upstreamPort()
{
    static tests::TestApp app;
    static const quint16 port = [] {
        const quint16 p = app.start();
        app.answer("POST", "/things", 200, "{\"ok\":true}");
        return p;
    }();
    return port;
}

ComponentSpec makeSpec(const QString &type, const Items &items, const QString &name = u"conf"_s)
{
    ComponentSpec s;
    s.name = name;
    s.type = type;
    s.location.file = u"conformance.yaml"_s;
    s.location.line = 1;
    for (const auto &[k, v] : items) {
        MetadataItem item;
        item.name = k;
        item.value = v;
        item.rawValue = v;
        s.items << item;
    }
    return s;
}

Result<> initWithin(auto &binding, const ComponentSpec &spec, int ms = 15000)
{
    auto task = std::async(std::launch::async, [&] { return binding.init(spec); });
    if (task.wait_for(std::chrono::milliseconds(ms)) != std::future_status::ready)
        return fail(ErrorCode::Timeout, u"init did not return within %1 ms"_s.arg(ms));
    return task.get();
}

struct Completion
{
    std::atomic<int> calls{0};
    std::promise<InvokeResult> first;
};

/// Invokes and waits for the (first) completion; `calls` counts every completion.
InvokeResult invokeAndWait(OutputBinding &b, const QString &op, const QByteArray &data,
                           const QMap<QString, QString> &metadata, int ms = 15000)
{
    auto c = std::make_shared<Completion>();
    std::future<InvokeResult> f = c->first.get_future();
    InvokeRequest r;
    r.operation = op;
    r.data = data;
    r.metadata = metadata;
    b.invoke(r, [c](InvokeResult result) {
        if (c->calls.fetch_add(1) == 0)
            c->first.set_value(std::move(result));
    });
    if (f.wait_for(std::chrono::milliseconds(ms)) != std::future_status::ready)
        return {fail(ErrorCode::Timeout, u"test: no completion within %1 ms"_s.arg(ms)), {}};
    return f.get();
}

QString uniqueName(const QString &prefix)
{
    return prefix + u"-"_s + QUuid::createUuid().toString(QUuid::Id128).left(12);
}

/// One `create` through a fresh output instance of a built-in `type` with `items`: how a broker
/// row makes an event reach its input side (Kafka, Event Hubs, RabbitMQ, SQS).
bool createThroughOutput(const QString &type, const Items &items)
{
    BindingRegistry registry;
    registerBuiltinBindings(registry);
    auto created = registry.createOutput(type, {});
    if (!created)
        return false;
    std::unique_ptr<OutputBinding> out = std::move(*created);
    if (const Result<> r = initWithin(*out, makeSpec(type, items)); !r) {
        qWarning("%s produce: init: %s", qPrintable(type), qPrintable(r.error().message));
        return false;
    }
    const InvokeResult r = invokeAndWait(*out, u"create"_s, "\"event\"", {});
    if (!r.result)
        qWarning("%s produce: %s", qPrintable(type), qPrintable(r.result.error().message));
    out->close();
    return r.result.has_value();
}

#ifdef BINDERY_HAS_AWS_SQS
/// The SQS row's own queue on the server of scripts/services (never the shared `bindery` one).
QString createSqsQueue(const QString &name)
{
    bindings::aws_sqs::SqsClientOptions o;
    o.endpoint = qEnvironmentVariable("SQS_ENDPOINT");
    o.region = qEnvironmentVariable("AWS_REGION");
    o.credentials = {qEnvironmentVariable("AWS_ACCESS_KEY_ID"),
                     qEnvironmentVariable("AWS_SECRET_ACCESS_KEY"),
                     {}};
    auto client = bindings::aws_sqs::SqsClient::create(o);
    if (!client)
        return name;
    const bindings::aws_sqs::SqsReply r
        = (*client)->callAndWait("CreateQueue", {{u"QueueName"_s, name}}, std::chrono::seconds(30));
    if (!r.ok())
        qWarning("CreateQueue %s: %s", qPrintable(name), qPrintable(r.error.describe()));
    return name;
}
#endif

/// Every binding of the suite: one row each. A new binding adds its row here.
QList<BindingRow> bindingRows()
{
    QList<BindingRow> rows;
    {
        BindingRow r;
        r.type = u"bindings.cron"_s;
        r.metadata = [] { return Items{{u"schedule"_s, u"@every 1s"_s}}; };
        rows << r;
    }
    {
        BindingRow r;
        r.type = u"bindings.localstorage"_s;
        r.metadata = [] { return Items{{u"rootPath"_s, scratch().filePath(u"localstorage"_s)}}; };
        r.operation = u"create"_s;
        rows << r;
    }
    {
        BindingRow r;
        r.type = u"bindings.http"_s;
        r.metadata = [] {
            return Items{{u"url"_s, u"http://127.0.0.1:%1/things"_s.arg(upstreamPort())}};
        };
        r.operation = u"post"_s;
        rows << r;
    }
    {
        BindingRow r;
        r.type = u"bindings.loopback"_s;
        r.metadata = [] { return Items{{u"capacity"_s, u"100"_s}}; };
        r.operation = u"create"_s;
        r.produce = [](const Items &items) {
            // The loopback's create queues for the input side of the same component name.
            OutputBinding *out = nullptr;
            BindingRegistry registry;
            registerLoopbackBinding(registry);
            auto created = registry.createOutput(u"bindings.loopback"_s, {});
            if (!created)
                return false;
            std::unique_ptr<OutputBinding> holder = std::move(*created);
            out = holder.get();
            if (!out->init(makeSpec(u"bindings.loopback"_s, items)))
                return false;
            const bool ok = invokeAndWait(*out, u"create"_s, "\"event\"", {}).result.has_value();
            out->close();
            return ok;
        };
        rows << r;
    }
    {
        BindingRow r;
        r.type = u"bindings.kafka"_s;
        r.serverEnv = u"KAFKA_BROKERS"_s;
        r.serverStart = u"scripts/services start kafka"_s;
        r.metadata = [] {
            static const QString topic = uniqueName(u"conformance"_s);
            return Items{{u"brokers"_s, qEnvironmentVariable("KAFKA_BROKERS")},
                         {u"topics"_s, topic},
                         {u"publishTopic"_s, topic},
                         {u"consumerGroup"_s, uniqueName(u"conformance"_s)},
                         {u"initialOffset"_s, u"oldest"_s},
                         {u"dialTimeout"_s, u"5s"_s}};
        };
        r.operation = u"create"_s;
        r.produce
            = [](const Items &items) { return createThroughOutput(u"bindings.kafka"_s, items); };
        rows << r;
    }
    {
        // Event Hubs' Kafka endpoint, played by the Kafka broker's SASL_SSL listener with the
        // "$ConnectionString" user (issue 13).
        BindingRow r;
        r.type = u"bindings.azure.eventhubs"_s;
        r.serverEnv = u"EVENTHUBS_CONNECTION_STRING"_s;
        r.serverStart = u"scripts/services start kafka"_s;
        r.metadata = [] {
            static const QString hub = uniqueName(u"conformance-hub"_s);
            return Items{
                {u"connectionString"_s, qEnvironmentVariable("EVENTHUBS_CONNECTION_STRING")},
                {u"eventHub"_s, hub},
                {u"consumerID"_s, uniqueName(u"conformance"_s)},
                {u"caCert"_s, qEnvironmentVariable("EVENTHUBS_CA_CERT")}};
        };
        r.operation = u"create"_s;
        r.produce = [](const Items &items) {
            return createThroughOutput(u"bindings.azure.eventhubs"_s, items);
        };
        rows << r;
    }
    {
        BindingRow r;
        r.type = u"bindings.rabbitmq"_s;
        r.serverEnv = u"RABBITMQ_URL"_s;
        r.serverStart = u"scripts/services start rabbitmq"_s;
        r.metadata = [] {
            static const QString queue = uniqueName(u"conformance"_s);
            // Gone once its last consumer goes; what only the output side sent expires.
            return Items{{u"host"_s, qEnvironmentVariable("RABBITMQ_URL")},
                         {u"queueName"_s, queue},
                         {u"deleteWhenUnused"_s, u"true"_s},
                         {u"ttlInSeconds"_s, u"60"_s},
                         {u"reconnectWaitInSeconds"_s, u"1"_s}};
        };
        r.operation = u"create"_s;
        r.produce
            = [](const Items &items) { return createThroughOutput(u"bindings.rabbitmq"_s, items); };
        rows << r;
    }
#ifdef BINDERY_HAS_AWS_SQS
    {
        BindingRow r;
        r.type = u"bindings.aws.sqs"_s;
        r.serverEnv = u"SQS_ENDPOINT"_s;
        r.serverStart = u"scripts/services start sqs"_s;
        r.metadata = [] {
            static const QString queue = createSqsQueue(uniqueName(u"conformance"_s));
            return Items{{u"queueName"_s, queue},
                         {u"endpoint"_s, qEnvironmentVariable("SQS_ENDPOINT")},
                         {u"region"_s, qEnvironmentVariable("AWS_REGION")},
                         {u"accessKey"_s, qEnvironmentVariable("AWS_ACCESS_KEY_ID")},
                         {u"secretKey"_s, qEnvironmentVariable("AWS_SECRET_ACCESS_KEY")}};
        };
        r.operation = u"create"_s;
        r.produce
            = [](const Items &items) { return createThroughOutput(u"bindings.aws.sqs"_s, items); };
        rows << r;
    }
#endif
    {
        BindingRow r;
        r.type = u"bindings.gcp.bucket"_s;
        r.serverEnv = u"GCS_ENDPOINT"_s;
        r.serverStart = u"scripts/services start gcs"_s;
        r.metadata = [] {
            // The bucket scripts/services creates; anonymous requests to the emulator's endpoint.
            return Items{{u"bucket"_s, qEnvironmentVariable("GCS_BUCKET", u"bindery"_s)},
                         {u"projectID"_s, u"conformance"_s},
                         {u"endpoint"_s, qEnvironmentVariable("GCS_ENDPOINT")}};
        };
        r.operation = u"create"_s;
        r.requestMetadata = {{u"key"_s, uniqueName(u"conformance"_s)}};
        rows << r;
    }
    return rows;
}

} // namespace

class tst_BindingConformance : public QObject
{
    Q_OBJECT

private:
    void addRows(bool needInput, bool needOutput);
    /// The row of the current data tag's type; skips (or fails under CI) without its server.
    bool currentRow(BindingRow *row, const BindingDescriptor **descriptor);

    BindingRegistry m_registry;

private Q_SLOTS:
    void initTestCase();
    void everyRegisteredBindingHasARow();

    void requiredFieldMissingIsNamed_data();
    void requiredFieldMissingIsNamed();
    void operationsEqualTheSchema_data() { addRows(false, true); }
    void operationsEqualTheSchema();
    void unknownOperationFailsWithDaprsError_data() { addRows(false, true); }
    void unknownOperationFailsWithDaprsError();
    void closeIsIdempotentAndInitWorksAgain_data() { addRows(false, false); }
    void closeIsIdempotentAndInitWorksAgain();
    void readReturnsPromptlyAfterStop_data();
    void readReturnsPromptlyAfterStop();
    void invokeCompletesExactlyOnce_data();
    void invokeCompletesExactlyOnce();
};

void tst_BindingConformance::initTestCase()
{
    QVERIFY(scratch().isValid());
    registerBuiltinBindings(m_registry);
    registerLoopbackBinding(m_registry);
}

void tst_BindingConformance::addRows(bool needInput, bool needOutput)
{
    QTest::addColumn<QString>("type");
    for (const BindingRow &row : bindingRows()) {
        const BindingDescriptor *d = m_registry.find(row.type);
        if (!d)
            continue; // not built here (everyRegisteredBindingHasARow checks the other way)
        if ((needInput && !d->inputFactory) || (needOutput && !d->outputFactory))
            continue;
        QTest::newRow(qPrintable(row.type)) << row.type;
    }
}

bool tst_BindingConformance::currentRow(BindingRow *row, const BindingDescriptor **descriptor)
{
    QFETCH(QString, type);
    for (const BindingRow &r : bindingRows()) {
        if (r.type == type)
            *row = r;
    }
    *descriptor = m_registry.find(type);
    if (!row->serverEnv.isEmpty() && qEnvironmentVariableIsEmpty(qPrintable(row->serverEnv))) {
        const QString why
            = u"%1 is not set: start the server with %2"_s.arg(row->serverEnv, row->serverStart);
        if (qEnvironmentVariable("CI") == u"true"_s)
            QTest::qFail(qPrintable(why), __FILE__, __LINE__);
        else
            QTest::qSkip(qPrintable(why), __FILE__, __LINE__);
        return false;
    }
    return *descriptor != nullptr;
}

void tst_BindingConformance::everyRegisteredBindingHasARow()
{
    QStringList rowTypes;
    for (const BindingRow &row : bindingRows())
        rowTypes << row.type;
    for (const BindingDescriptor *d : m_registry.all(true))
        QVERIFY2(rowTypes.contains(d->type),
                 qPrintable(u"%1 has no row in tst_binding_conformance.cpp's bindingRows()"_s.arg(
                     d->type)));
}

void tst_BindingConformance::requiredFieldMissingIsNamed_data()
{
    QTest::addColumn<QString>("type");
    QTest::addColumn<QString>("field");
    QTest::addColumn<bool>("input");
    for (const BindingRow &row : bindingRows()) {
        const BindingDescriptor *d = m_registry.find(row.type);
        if (!d)
            continue;
        for (const MetadataField &f : d->metadata.fields) {
            if (!f.required)
                continue;
            if (f.input && d->inputFactory)
                QTest::addRow("%s/%s (input)", qPrintable(row.type), qPrintable(f.name))
                    << row.type << f.name << true;
            if (f.output && d->outputFactory)
                QTest::addRow("%s/%s (output)", qPrintable(row.type), qPrintable(f.name))
                    << row.type << f.name << false;
        }
    }
}

void tst_BindingConformance::requiredFieldMissingIsNamed()
{
    QFETCH(QString, field);
    QFETCH(bool, input);
    BindingRow row;
    const BindingDescriptor *d = nullptr;
    if (!currentRow(&row, &d))
        return;
    Items items;
    for (const auto &item : row.metadata()) {
        if (item.first.compare(field, Qt::CaseInsensitive) != 0)
            items << item;
    }
    const ComponentSpec spec = makeSpec(row.type, items);
    Result<> r;
    if (input) {
        std::unique_ptr<InputBinding> b = d->inputFactory();
        r = initWithin(*b, spec);
        b->close();
    } else {
        std::unique_ptr<OutputBinding> b = d->outputFactory();
        r = initWithin(*b, spec);
        b->close();
    }
    QVERIFY2(!r, "init succeeded without a required field");
    QVERIFY2(r.error().message.contains(u"'%1'"_s.arg(field)), qPrintable(r.error().message));
}

void tst_BindingConformance::operationsEqualTheSchema()
{
    BindingRow row;
    const BindingDescriptor *d = nullptr;
    if (!currentRow(&row, &d))
        return;
    std::unique_ptr<OutputBinding> b = d->outputFactory();
    const Result<> r = initWithin(*b, makeSpec(row.type, row.metadata()));
    QVERIFY2(r, r ? "" : qPrintable(r.error().message));
    QStringList ops = b->operations();
    QStringList schema = d->metadata.operationNames();
    ops.sort();
    schema.sort();
    QCOMPARE(ops, schema);
    b->close();
}

void tst_BindingConformance::unknownOperationFailsWithDaprsError()
{
    BindingRow row;
    const BindingDescriptor *d = nullptr;
    if (!currentRow(&row, &d))
        return;
    // Through a runtime and the service, as any caller (HTTP, gRPC, console) meets it.
    QTemporaryDir dir;
    QFile f(dir.filePath(u"c.yaml"_s));
    QVERIFY(f.open(QIODevice::WriteOnly));
    QByteArray yaml
        = "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: conf\nspec:\n  type: "
          + row.type.toUtf8()
          + "\n  version: v1\n  metadata:\n  - name: direction\n    value: output\n";
    for (const auto &[k, v] : row.metadata())
        yaml += "  - name: " + k.toUtf8() + "\n    value: '" + v.toUtf8() + "'\n";
    f.write(yaml);
    f.close();
    RuntimeOptions o;
    o.resourcesPaths = {dir.path()};
    TrafficStream traffic(100);
    Runtime runtime(o, m_registry, traffic);
    QVERIFY2(runtime.start(), qPrintable(runtime.lastError()));
    api::BindingService service(runtime);
    std::promise<api::InvokeOutcome> p;
    InvokeRequest req;
    req.operation = u"no-such-operation"_s;
    service.invoke(u"conf"_s, req, api::Transport::Console,
                   [&p](api::InvokeOutcome o) { p.set_value(std::move(o)); });
    std::future<api::InvokeOutcome> fut = p.get_future();
    QCOMPARE(fut.wait_for(std::chrono::seconds(5)), std::future_status::ready);
    const api::InvokeOutcome out = fut.get();
    QVERIFY(out.failure);
    QCOMPARE(QByteArray(out.failure->info().code), QByteArray("ERR_INVOKE_OUTPUT_BINDING"));
    QCOMPARE(out.failure->info().httpStatus, 500);
    QStringList ops = d->metadata.operationNames();
    QVERIFY2(
        out.failure->message.startsWith(
            u"error invoking output binding conf: binding conf does not support operation no-such-operation. supported operations:"_s),
        qPrintable(out.failure->message));
    for (const QString &op : ops)
        QVERIFY2(out.failure->message.contains(op), qPrintable(out.failure->message));
    runtime.stop();
}

void tst_BindingConformance::closeIsIdempotentAndInitWorksAgain()
{
    BindingRow row;
    const BindingDescriptor *d = nullptr;
    if (!currentRow(&row, &d))
        return;
    const ComponentSpec spec = makeSpec(row.type, row.metadata());
    if (d->inputFactory) {
        std::unique_ptr<InputBinding> b = d->inputFactory();
        QVERIFY(initWithin(*b, spec));
        b->close();
        b->close();
        const Result<> again = initWithin(*b, spec);
        QVERIFY2(again, again ? "" : qPrintable(again.error().message));
        b->close();
    }
    if (d->outputFactory) {
        std::unique_ptr<OutputBinding> b = d->outputFactory();
        QVERIFY(initWithin(*b, spec));
        b->close();
        b->close();
        const Result<> again = initWithin(*b, spec);
        QVERIFY2(again, again ? "" : qPrintable(again.error().message));
        if (!row.operation.isEmpty()) {
            // The re-initialised instance works.
            const InvokeResult r = invokeAndWait(*b, row.operation, row.data, row.requestMetadata);
            QVERIFY2(r.result, r.result ? "" : qPrintable(r.result.error().message));
        }
        b->close();
    }
}

void tst_BindingConformance::readReturnsPromptlyAfterStop_data()
{
    QTest::addColumn<QString>("type");
    QTest::addColumn<bool>("deliveryInFlight");
    for (const BindingRow &row : bindingRows()) {
        const BindingDescriptor *d = m_registry.find(row.type);
        if (!d || !d->inputFactory)
            continue;
        QTest::addRow("%s/idle", qPrintable(row.type)) << row.type << false;
        QTest::addRow("%s/delivery in flight", qPrintable(row.type)) << row.type << true;
    }
}

void tst_BindingConformance::readReturnsPromptlyAfterStop()
{
    QFETCH(bool, deliveryInFlight);
    BindingRow row;
    const BindingDescriptor *d = nullptr;
    if (!currentRow(&row, &d))
        return;
    const Items items = row.metadata();
    std::shared_ptr<InputBinding> b = d->inputFactory();
    const Result<> init = initWithin(*b, makeSpec(row.type, items));
    QVERIFY2(init, init ? "" : qPrintable(init.error().message));

    std::atomic<bool> inHandler{false};
    std::atomic<int> delivered{0};
    std::promise<Result<>> done;
    std::future<Result<>> finished = done.get_future();
    std::jthread reader([&](std::stop_token stop) {
        // A delivery "in flight" is an app that has not answered yet: it answers only when the
        // runtime gives up on it (here: when stop is requested), as the app channel does.
        EventHandler handler = [&](const BindingEvent &) -> AppReply {
            delivered.fetch_add(1);
            inHandler = true;
            if (deliveryInFlight) {
                while (!stop.stop_requested())
                    std::this_thread::sleep_for(std::chrono::milliseconds(5));
                return AppReply{0, {}, u"stopped"_s};
            }
            return AppReply{200, {}, {}};
        };
        done.set_value(b->read(handler, stop));
    });
    if (deliveryInFlight) {
        // Produce until one arrives: a reader that is still joining (a consumer group) or not yet
        // registered (loopback) may miss the first.
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
        while (!inHandler && std::chrono::steady_clock::now() < deadline) {
            if (row.produce)
                QVERIFY(row.produce(items));
            QTest::qWaitFor([&] { return inHandler.load(); }, 1000);
        }
        QVERIFY(inHandler.load());
    } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(300)); // read() is running
    }
    const auto requested = std::chrono::steady_clock::now();
    reader.request_stop();
    QCOMPARE(finished.wait_for(std::chrono::seconds(10)), std::future_status::ready);
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::steady_clock::now() - requested)
                        .count();
    reader.join();
    qInfo("%s: read() returned %lld ms after stop (%d deliveries)", qPrintable(row.type),
          static_cast<long long>(ms), delivered.load());
    QVERIFY2(ms <= 250, qPrintable(u"read() returned %1 ms after the stop request"_s.arg(ms)));
    const Result<> r = finished.get();
    QVERIFY2(r, r ? "" : qPrintable(r.error().message));
    b->close();
}

void tst_BindingConformance::invokeCompletesExactlyOnce_data()
{
    QTest::addColumn<QString>("type");
    QTest::addColumn<bool>("closeMidFlight");
    for (const BindingRow &row : bindingRows()) {
        const BindingDescriptor *d = m_registry.find(row.type);
        if (!d || !d->outputFactory || row.operation.isEmpty())
            continue;
        QTest::addRow("%s/open", qPrintable(row.type)) << row.type << false;
        QTest::addRow("%s/closed mid-flight", qPrintable(row.type)) << row.type << true;
    }
}

void tst_BindingConformance::invokeCompletesExactlyOnce()
{
    QFETCH(bool, closeMidFlight);
    BindingRow row;
    const BindingDescriptor *d = nullptr;
    if (!currentRow(&row, &d))
        return;
    std::shared_ptr<OutputBinding> b = d->outputFactory();
    const Result<> init = initWithin(*b, makeSpec(row.type, row.metadata()));
    QVERIFY2(init, init ? "" : qPrintable(init.error().message));
    constexpr int kCalls = 50;
    std::vector<std::shared_ptr<std::atomic<int>>> counts;
    for (int i = 0; i < kCalls; ++i) {
        auto count = std::make_shared<std::atomic<int>>(0);
        counts.push_back(count);
        InvokeRequest r;
        r.operation = row.operation;
        r.data = row.data;
        r.metadata = row.requestMetadata;
        // Calls come from several threads, as from the HTTP and gRPC API threads.
        std::thread([b, r, count]() {
            b->invoke(r, [count](InvokeResult) { count->fetch_add(1); });
        }).join();
    }
    if (closeMidFlight)
        b->close();
    QTRY_VERIFY_WITH_TIMEOUT(
        std::all_of(counts.begin(), counts.end(), [](const auto &c) { return c->load() >= 1; }),
        20000);
    std::this_thread::sleep_for(std::chrono::milliseconds(200)); // a late second completion shows
    for (int i = 0; i < kCalls; ++i)
        QVERIFY2(counts[i]->load() == 1,
                 qPrintable(u"call %1 completed %2 times"_s.arg(i).arg(counts[i]->load())));
    b->close();
}

QTEST_GUILESS_MAIN(tst_BindingConformance)
#include "tst_binding_conformance.moc"
