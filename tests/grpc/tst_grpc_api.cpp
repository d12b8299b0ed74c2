// SPDX-License-Identifier: Apache-2.0
// The gRPC API's wire details the SDK tests do not reach (issue 15), with a gRPC C++ client
// against a real Sidecar: the loopback binding's answer metadata also as `metadata.<key>` header
// metadata, raw data bytes, daprd's merge of the call's metadata, a taken port refused (gRPC would
// share it by default), and grpc-go's answers for unknown services and methods.
#include <memory>

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <QFile>
#include <QTemporaryDir>
#include <QTest>

#include "core/binding_registry.h"
#include "core/host/sidecar.h"
#include "core/traffic.h"
#include "dapr/proto/runtime/v1/dapr.grpc.pb.h"

using namespace Qt::StringLiterals;
using namespace bindery::core;
namespace rt = dapr::proto::runtime::v1;

class tst_GrpcApi : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void cleanupTestCase();
    void passesDataRawAndAnswersMetadataAlsoAsHeaders();
    void mergesTheCallsMetadataAsDaprd();
    void refusesAPortAnotherProcessHolds();
    void answersUnknownPathsAsGrpcGo_data();
    void answersUnknownPathsAsGrpcGo();

private:
    std::unique_ptr<Sidecar> startSidecar(int grpcPort);
    std::unique_ptr<rt::Dapr::Stub> stub() const;

    QTemporaryDir m_dir;
    BindingRegistry m_registry;
    TrafficStream m_traffic{1000};
    std::unique_ptr<Sidecar> m_sidecar;
};

std::unique_ptr<Sidecar> tst_GrpcApi::startSidecar(int grpcPort)
{
    RuntimeOptions o;
    o.appId = u"grpc-test"_s;
    o.httpPort = 0;
    o.grpcPort = grpcPort;
    o.resourcesPaths = {m_dir.path()};
    auto s = std::make_unique<Sidecar>(o, m_registry, m_traffic);
    s->startAndWait();
    return s;
}

std::unique_ptr<rt::Dapr::Stub> tst_GrpcApi::stub() const
{
    return rt::Dapr::NewStub(grpc::CreateChannel(
        "127.0.0.1:" + std::to_string(m_sidecar->grpcPort()), grpc::InsecureChannelCredentials()));
}

void tst_GrpcApi::initTestCase()
{
    QFile f(m_dir.filePath(u"loop.yaml"_s));
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write("apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: loop\nspec:\n"
            "  type: bindings.loopback\n  version: v1\n  metadata:\n  - name: direction\n"
            "    value: output\n");
    f.close();
    registerBuiltinBindings(m_registry);
    registerLoopbackBinding(m_registry);
    m_sidecar = startSidecar(0);
    QVERIFY2(m_sidecar->state() == RuntimeState::Running, qPrintable(m_sidecar->lastError()));
    QVERIFY(m_sidecar->grpcPort() != 0);
}

void tst_GrpcApi::cleanupTestCase()
{
    m_sidecar.reset();
}

void tst_GrpcApi::passesDataRawAndAnswersMetadataAlsoAsHeaders()
{
    // The loopback's echo answers the request's data and metadata.
    rt::InvokeBindingRequest request;
    request.set_name("loop");
    request.set_operation("echo");
    const std::string data("\x00\xff not json", 11);
    request.set_data(data);
    (*request.mutable_metadata())["Content-Type"] = "text/plain";
    (*request.mutable_metadata())["key"] = "k-1";
    grpc::ClientContext context;
    rt::InvokeBindingResponse response;
    const grpc::Status status = stub()->InvokeBinding(&context, request, &response);
    QVERIFY2(status.ok(), status.error_message().c_str());
    QCOMPARE(response.data(), data); // no JSON re-encoding over gRPC
    QCOMPARE(response.metadata().at("key"), "k-1");
    QCOMPARE(response.metadata().at("Content-Type"), "text/plain");
    // daprd: grpc.SetHeader(metadata.<key>), keys lower-cased as gRPC metadata must be.
    const auto &headers = context.GetServerInitialMetadata();
    auto header = [&](const char *key) {
        const auto it = headers.find(key);
        return it == headers.end() ? std::string("<none>")
                                   : std::string(it->second.data(), it->second.size());
    };
    QCOMPARE(header("metadata.key"), "k-1");
    QCOMPARE(header("metadata.content-type"), "text/plain");
}

void tst_GrpcApi::mergesTheCallsMetadataAsDaprd()
{
    rt::InvokeBindingRequest request;
    request.set_name("loop");
    request.set_operation("echo");
    (*request.mutable_metadata())["x-mine"] = "from the request";
    grpc::ClientContext context;
    context.AddMetadata("x-mine", "from the call"); // the request's own key is kept
    context.AddMetadata("x-call", "1");
    context.AddMetadata("grpc-custom", "g"); // grpc-* keys are prefixed dapr-
    context.AddMetadata("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
    rt::InvokeBindingResponse response;
    const grpc::Status status = stub()->InvokeBinding(&context, request, &response);
    QVERIFY2(status.ok(), status.error_message().c_str());
    const auto &md = response.metadata();
    QCOMPARE(md.at("x-mine"), "from the request");
    QCOMPARE(md.at("x-call"), "1");
    QCOMPARE(md.at("dapr-grpc-custom"), "g");
    QCOMPARE(md.at("traceparent"), "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
    QCOMPARE(md.at("content-type"), "application/grpc");
    QCOMPARE(md.at("dapr-authority"), "127.0.0.1:" + std::to_string(m_sidecar->grpcPort()));
    QVERIFY(md.at("user-agent").find("grpc-c++/") != std::string::npos);

    // Without a caller's traceparent, daprd's untraced span: all zeros.
    grpc::ClientContext plain;
    rt::InvokeBindingResponse r2;
    QVERIFY(stub()->InvokeBinding(&plain, request, &r2).ok());
    QCOMPARE(r2.metadata().at("traceparent"),
             "00-00000000000000000000000000000000-0000000000000000-00");
}

void tst_GrpcApi::refusesAPortAnotherProcessHolds()
{
    // gRPC shares a port among listeners by default (SO_REUSEPORT); daprd refuses a taken one.
    const quint16 taken = m_sidecar->grpcPort();
    std::unique_ptr<Sidecar> second = startSidecar(taken);
    QCOMPARE(second->state(), RuntimeState::Failed);
    const QString error = second->lastError();
    QVERIFY2(error.startsWith(u"cannot listen on 127.0.0.1:%1 for the gRPC API: "_s.arg(taken)),
             qPrintable(error));
    QVERIFY2(error.contains(u"address"_s, Qt::CaseInsensitive), qPrintable(error));
}

void tst_GrpcApi::answersUnknownPathsAsGrpcGo_data()
{
    QTest::addColumn<QString>("path");
    QTest::addColumn<QString>("message");
    QTest::newRow("unknown service") << u"/foo.v1.Bar/Baz"_s << u"unknown service foo.v1.Bar"_s;
    QTest::newRow("unknown method of Dapr")
        << u"/dapr.proto.runtime.v1.Dapr/Frobnicate"_s
        << u"unknown method Frobnicate for service dapr.proto.runtime.v1.Dapr"_s;
    QTest::newRow("unserved unary") << u"/dapr.proto.runtime.v1.Dapr/PublishEvent"_s
                                    << u"Bindery is a bindings-only Dapr runtime: PublishEvent is "
                                       "not served"_s;
    QTest::newRow("unserved stream")
        << u"/dapr.proto.runtime.v1.Dapr/SubscribeTopicEventsAlpha1"_s
        << u"Bindery is a bindings-only Dapr runtime: SubscribeTopicEventsAlpha1 is not served"_s;
}

void tst_GrpcApi::answersUnknownPathsAsGrpcGo()
{
    QFETCH(QString, path);
    QFETCH(QString, message);
    grpc::GenericStub generic(grpc::CreateChannel(
        "127.0.0.1:" + std::to_string(m_sidecar->grpcPort()), grpc::InsecureChannelCredentials()));
    grpc::CompletionQueue cq;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    const grpc::ByteBuffer request;
    auto call = generic.PrepareUnaryCall(&context, path.toStdString(), request, &cq);
    call->StartCall();
    grpc::ByteBuffer response;
    grpc::Status status;
    call->Finish(&response, &status, reinterpret_cast<void *>(1));
    void *tag = nullptr;
    bool ok = false;
    QVERIFY(cq.Next(&tag, &ok));
    QCOMPARE(int(status.error_code()), int(grpc::StatusCode::UNIMPLEMENTED));
    QCOMPARE(QString::fromStdString(status.error_message()), message);
    cq.Shutdown();
    while (cq.Next(&tag, &ok)) {
    }
}

QTEST_GUILESS_MAIN(tst_GrpcApi)
#include "tst_grpc_api.moc"
