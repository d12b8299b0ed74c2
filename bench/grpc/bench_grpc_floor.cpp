// SPDX-License-Identifier: Apache-2.0
// Bench (issue 15): the floor Bindery's gRPC API is measured against (target >= 0.7x). A bare
// gRPC C++ server of Bindery's own Dapr service whose InvokeBinding answers an empty response at
// once, written twice: with the callback API (Dapr::CallbackService) and with the async
// completion-queue API (Dapr::AsyncService, one queue and thread per --server-threads). Each
// server runs in its own process (this binary with --serve), so its CPU is read from
// /proc/<pid>/stat without the client's. The client is an async completion-queue client: one
// thread per --client-threads drives its share of the outstanding unary calls, spread over
// --channels channels (separate TCP connections); it reports its own CPU per call too.
//   bench_grpc_floor [--seconds S] [--rounds R] [--channels N] [--client-threads T]
//                    [--server-threads N] [--api callback|async|both] [--concurrency 1,64]
//   bench_grpc_floor --serve callback|async [--server-threads N]   (prints "PORT <n>", stops at
//   EOF)
#include "grpc_load.h"

namespace {

using namespace bindery::bench::grpcload;

// --- the async server ------------------------------------------------------------------------

// One InvokeBinding call of the async server: requested, then answered at once, then deleted.
class AsyncCall
{
public:
    AsyncCall(rt::Dapr::AsyncService *service, grpc::ServerCompletionQueue *cq)
        : m_service(service)
        , m_cq(cq)
        , m_responder(&m_context)
    {
        m_service->RequestInvokeBinding(&m_context, &m_request, &m_responder, m_cq, m_cq, this);
    }

    void proceed(bool ok)
    {
        if (!ok || m_answered) { // shut down before a call came, or the answer went out
            delete this;
            return;
        }
        new AsyncCall(m_service, m_cq);
        m_answered = true;
        m_responder.Finish(m_response, grpc::Status::OK, this);
    }

private:
    rt::Dapr::AsyncService *m_service;
    grpc::ServerCompletionQueue *m_cq;
    grpc::ServerContext m_context;
    rt::InvokeBindingRequest m_request;
    rt::InvokeBindingResponse m_response;
    grpc::ServerAsyncResponseWriter<rt::InvokeBindingResponse> m_responder;
    bool m_answered = false;
};

int serve(const std::string &api, int serverThreads)
{
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    CallbackFloor callbackService;
    rt::Dapr::AsyncService asyncService;
    std::vector<std::unique_ptr<grpc::ServerCompletionQueue>> cqs;
    if (api == "callback") {
        builder.RegisterService(&callbackService);
    } else {
        builder.RegisterService(&asyncService);
        for (int i = 0; i < serverThreads; ++i)
            cqs.push_back(builder.AddCompletionQueue());
    }
    std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
    if (!server || port == 0) {
        std::fprintf(stderr, "bench_grpc_floor: %s server failed to start\n", api.c_str());
        return 1;
    }
    std::vector<std::thread> threads;
    for (auto &cq : cqs) {
        for (int i = 0; i < 64; ++i) // calls requested ahead, so arrivals never wait for one
            new AsyncCall(&asyncService, cq.get());
        threads.emplace_back([q = cq.get()] {
            void *tag = nullptr;
            bool ok = false;
            while (q->Next(&tag, &ok))
                static_cast<AsyncCall *>(tag)->proceed(ok);
        });
    }
    std::printf("PORT %d\n", port);
    std::fflush(stdout);
    while (std::fgetc(stdin) != EOF) {
    }
    server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
    for (auto &cq : cqs)
        cq->Shutdown();
    for (auto &t : threads)
        t.join();
    return 0;
}

} // namespace

int main(int argc, char *argv[])
{
    double seconds = 5;
    int rounds = 2;
    int channels = 4;
    int clientThreads = 1;
    int serverThreads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    std::string api = "both";
    std::string serveApi;
    std::vector<int> concurrencies = {1, 64};
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string k = argv[i];
        const char *v = argv[i + 1];
        if (k == "--seconds")
            seconds = std::atof(v);
        else if (k == "--rounds")
            rounds = std::atoi(v);
        else if (k == "--channels")
            channels = std::max(1, std::atoi(v));
        else if (k == "--client-threads")
            clientThreads = std::max(1, std::atoi(v));
        else if (k == "--server-threads")
            serverThreads = std::max(1, std::atoi(v));
        else if (k == "--api")
            api = v;
        else if (k == "--serve")
            serveApi = v;
        else if (k == "--concurrency") {
            concurrencies.clear();
            for (const char *p = v; *p;) {
                concurrencies.push_back(std::atoi(p));
                const char *comma = std::strchr(p, ',');
                p = comma ? comma + 1 : p + std::strlen(p);
            }
        }
    }
    if (!serveApi.empty())
        return serve(serveApi, serverThreads);

    std::vector<std::string> apis;
    if (api == "both" || api == "callback")
        apis.push_back("callback");
    if (api == "both" || api == "async")
        apis.push_back("async");
    std::vector<ServerProcess> servers(apis.size());
    for (size_t i = 0; i < apis.size(); ++i) {
        if (!servers[i].start(
                apis[i], {"--serve", apis[i], "--server-threads", std::to_string(serverThreads)})) {
            std::fprintf(stderr, "bench_grpc_floor: could not start the %s server\n",
                         apis[i].c_str());
            return 1;
        }
    }
    std::printf(
        "bench_grpc_floor: Dapr/InvokeBinding answered empty at once (%zu B request), gRPC %s;"
        " %.0f s per run, %d rounds, %d channels, %d client threads; callback server on gRPC's"
        " threads, async server on %d;"
        " %u cores, load average %s\n",
        benchRequest().ByteSizeLong(), grpc::Version().c_str(), seconds, rounds, channels,
        clientThreads, serverThreads, std::thread::hardware_concurrency(), loadAverage().c_str());

    // runs[api][concurrency]: every round's result, summarised below.
    std::vector<std::vector<std::vector<RunResult>>> runs(
        apis.size(), std::vector<std::vector<RunResult>>(concurrencies.size()));
    bool failed = false;
    for (int round = 1; round <= rounds; ++round) {
        for (size_t a = 0; a < apis.size(); ++a) {
            for (size_t c = 0; c < concurrencies.size(); ++c) {
                const int concurrency = concurrencies[c];
                auto stubs = makeStubs(servers[a].port, std::min(channels, concurrency));
                const RunResult r = runLoad(servers[a], stubs, concurrency, clientThreads, seconds);
                std::printf("  round %d %-8s c=%-3d %8.0f calls/s  server %5.1f us CPU/call "
                            "(%3.0f%% of a core,"
                            " %d threads)  client %5.1f us CPU/call (%3.0f%%)  p50 %6.0f us  p99 "
                            "%6.0f us%s\n",
                            round, apis[a].c_str(), concurrency, r.callsPerSecond,
                            r.serverUsPerCall, r.serverCores * 100, servers[a].threadCount(),
                            r.clientUsPerCall, r.clientCores * 100, r.p50Us, r.p99Us,
                            r.failed ? (" FAILED CALLS: " + std::to_string(r.failed)).c_str() : "");
                std::fflush(stdout);
                failed = failed || r.failed > 0;
                runs[a][c].push_back(r);
            }
        }
    }
    // On a shared machine the rounds spread widely: the best round is the floor (the most a bare
    // server did here), the median says what is typical.
    for (size_t a = 0; a < apis.size(); ++a) {
        for (size_t c = 0; c < concurrencies.size(); ++c) {
            std::vector<double> rate;
            std::vector<double> cpu;
            for (const RunResult &r : runs[a][c]) {
                rate.push_back(r.callsPerSecond);
                cpu.push_back(r.serverUsPerCall);
            }
            std::sort(rate.begin(), rate.end());
            std::sort(cpu.begin(), cpu.end());
            std::printf("RESULT grpc floor %-8s c=%-3d best %6.0f calls/s, median %6.0f;"
                        " server CPU/call lowest %5.1f us, median %5.1f us\n",
                        apis[a].c_str(), concurrencies[c], rate.back(), rate[rate.size() / 2],
                        cpu.front(), cpu[cpu.size() / 2]);
        }
    }
    std::printf("  load average after the runs: %s\n", loadAverage().c_str());
    for (auto &s : servers)
        s.stop();
    return failed ? 1 : 0;
}
