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
#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "dapr/proto/runtime/v1/dapr.grpc.pb.h"

extern char **environ;

namespace {

namespace rt = dapr::proto::runtime::v1;
using Clock = std::chrono::steady_clock;

// --- servers -------------------------------------------------------------------------------

class CallbackFloor final : public rt::Dapr::CallbackService
{
public:
    grpc::ServerUnaryReactor *InvokeBinding(grpc::CallbackServerContext *context,
                                            const rt::InvokeBindingRequest * /*request*/,
                                            rt::InvokeBindingResponse * /*response*/) override
    {
        grpc::ServerUnaryReactor *reactor = context->DefaultReactor();
        reactor->Finish(grpc::Status::OK);
        return reactor;
    }
};

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

// --- the server process seen from the client ----------------------------------------------------

struct ServerProcess
{
    std::string api;
    pid_t pid = -1;
    int port = 0;
    int stdinFd = -1; // closing it stops the server

    bool start(const std::string &apiName, int serverThreads)
    {
        api = apiName;
        int in[2];
        int out[2];
        // Close-on-exec, so a second server never holds the first one's stdin open.
        if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0)
            return false;
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_adddup2(&actions, in[0], STDIN_FILENO);
        posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
        posix_spawn_file_actions_addclose(&actions, in[1]);
        posix_spawn_file_actions_addclose(&actions, out[0]);
        const std::string threads = std::to_string(serverThreads);
        const char *argv[] = {"bench_grpc_floor", "--serve",       api.c_str(),
                              "--server-threads", threads.c_str(), nullptr};
        const int rc = posix_spawn(&pid, "/proc/self/exe", &actions, nullptr,
                                   const_cast<char *const *>(argv), environ);
        posix_spawn_file_actions_destroy(&actions);
        close(in[0]);
        close(out[1]);
        stdinFd = in[1];
        if (rc != 0)
            return false;
        FILE *f = fdopen(out[0], "r");
        const bool ok = f && std::fscanf(f, "PORT %d", &port) == 1 && port > 0;
        if (f)
            std::fclose(f);
        return ok;
    }

    void stop()
    {
        if (stdinFd >= 0)
            close(stdinFd);
        stdinFd = -1;
        if (pid > 0)
            waitpid(pid, nullptr, 0);
        pid = -1;
    }

    double cpuSeconds() const
    {
        char path[64];
        std::snprintf(path, sizeof path, "/proc/%d/stat", pid);
        FILE *f = std::fopen(path, "r");
        if (!f)
            return 0;
        char buf[2048];
        const size_t n = std::fread(buf, 1, sizeof buf - 1, f);
        std::fclose(f);
        buf[n] = 0;
        const char *p = std::strrchr(buf, ')');
        unsigned long ut = 0;
        unsigned long st = 0;
        if (p)
            std::sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st);
        return static_cast<double>(ut + st) / static_cast<double>(sysconf(_SC_CLK_TCK));
    }

    int threadCount() const
    {
        char path[64];
        std::snprintf(path, sizeof path, "/proc/%d/status", pid);
        FILE *f = std::fopen(path, "r");
        int threads = 0;
        char line[256];
        while (f && std::fgets(line, sizeof line, f))
            if (std::sscanf(line, "Threads: %d", &threads) == 1)
                break;
        if (f)
            std::fclose(f);
        return threads;
    }
};

std::string loadAverage()
{
    char buf[128] = {};
    FILE *f = std::fopen("/proc/loadavg", "r");
    if (f && std::fgets(buf, sizeof buf, f))
        buf[std::strcspn(buf, " ")] = 0; // the 1-minute figure
    if (f)
        std::fclose(f);
    return buf;
}

double ownCpuSeconds()
{
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec)
           + static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// --- client ------------------------------------------------------------------------------------

// The request the real benchmark sends to the loopback binding (bench_api's body, as gRPC).
rt::InvokeBindingRequest benchRequest()
{
    rt::InvokeBindingRequest r;
    r.set_name("loop");
    r.set_operation("echo");
    r.set_data(R"({"message":"Hi","n":1,"tags":["a","b"]})");
    (*r.mutable_metadata())["key"] = "redis-key-1";
    return r;
}

enum Phase { Warmup, Measure, Stop };

struct ClientCall
{
    grpc::ClientContext context;
    rt::InvokeBindingResponse response;
    grpc::Status status;
    std::unique_ptr<grpc::ClientAsyncResponseReader<rt::InvokeBindingResponse>> reader;
    Clock::time_point started;
    size_t stub = 0;
};

struct ClientThreadResult
{
    uint64_t ok = 0;
    uint64_t failed = 0;
    std::vector<float> latencyUs;
};

// Keeps `outstanding` calls in flight on one completion queue until the phase is Stop.
void clientLoop(const std::vector<std::unique_ptr<rt::Dapr::Stub>> &stubs, size_t firstStub,
                int outstanding, const rt::InvokeBindingRequest &request,
                const std::atomic<int> &phase, ClientThreadResult &result)
{
    grpc::CompletionQueue cq;
    auto startCall = [&](size_t stub) {
        auto *call = new ClientCall;
        call->stub = stub;
        call->started = Clock::now();
        call->reader = stubs[stub]->PrepareAsyncInvokeBinding(&call->context, request, &cq);
        call->reader->StartCall();
        call->reader->Finish(&call->response, &call->status, call);
    };
    for (int i = 0; i < outstanding; ++i)
        startCall((firstStub + static_cast<size_t>(i)) % stubs.size());
    int inFlight = outstanding;
    void *tag = nullptr;
    bool ok = false;
    while (inFlight > 0 && cq.Next(&tag, &ok)) {
        auto *call = static_cast<ClientCall *>(tag);
        const int p = phase.load(std::memory_order_relaxed);
        if (p == Measure) {
            if (ok && call->status.ok()) {
                ++result.ok;
                result.latencyUs.push_back(
                    std::chrono::duration<float, std::micro>(Clock::now() - call->started).count());
            } else {
                ++result.failed;
            }
        }
        const size_t stub = call->stub;
        delete call;
        --inFlight;
        if (p != Stop) {
            startCall(stub);
            ++inFlight;
        }
    }
    cq.Shutdown();
    while (cq.Next(&tag, &ok)) {
    }
}

struct RunResult
{
    double callsPerSecond = 0;
    double serverUsPerCall = 0;
    double serverCores = 0;
    double clientUsPerCall = 0;
    double clientCores = 0;
    double p50Us = 0;
    double p99Us = 0;
    uint64_t failed = 0;
};

double percentile(std::vector<float> &v, double p)
{
    if (v.empty())
        return 0;
    const size_t i = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(i), v.end());
    return v[i];
}

RunResult runLoad(const ServerProcess &server,
                  const std::vector<std::unique_ptr<rt::Dapr::Stub>> &stubs, int concurrency,
                  int clientThreads, double seconds)
{
    const rt::InvokeBindingRequest request = benchRequest();
    std::atomic<int> phase{Warmup};
    const int threads = std::max(1, std::min(clientThreads, concurrency));
    std::vector<ClientThreadResult> results(static_cast<size_t>(threads));
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
        const int share = concurrency / threads + (t < concurrency % threads ? 1 : 0);
        workers.emplace_back(clientLoop, std::cref(stubs), static_cast<size_t>(t), share,
                             std::cref(request), std::cref(phase),
                             std::ref(results[static_cast<size_t>(t)]));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    const double server0 = server.cpuSeconds();
    const double client0 = ownCpuSeconds();
    const Clock::time_point t0 = Clock::now();
    phase = Measure;
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
    phase = Stop;
    const double wall = std::chrono::duration<double>(Clock::now() - t0).count();
    const double serverCpu = server.cpuSeconds() - server0;
    const double clientCpu = ownCpuSeconds() - client0;
    for (auto &w : workers)
        w.join();

    RunResult r;
    uint64_t ok = 0;
    std::vector<float> latencies;
    for (auto &t : results) {
        ok += t.ok;
        r.failed += t.failed;
        latencies.insert(latencies.end(), t.latencyUs.begin(), t.latencyUs.end());
    }
    const double calls = static_cast<double>(std::max<uint64_t>(ok, 1));
    r.callsPerSecond = static_cast<double>(ok) / wall;
    r.serverUsPerCall = serverCpu * 1e6 / calls;
    r.serverCores = serverCpu / wall;
    r.clientUsPerCall = clientCpu * 1e6 / calls;
    r.clientCores = clientCpu / wall;
    r.p50Us = percentile(latencies, 0.50);
    r.p99Us = percentile(latencies, 0.99);
    return r;
}

std::vector<std::unique_ptr<rt::Dapr::Stub>> makeStubs(int port, int channels)
{
    std::vector<std::unique_ptr<rt::Dapr::Stub>> stubs;
    for (int i = 0; i < channels; ++i) {
        grpc::ChannelArguments args;
        // A local subchannel pool and a distinct argument give each channel its own connection.
        args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
        args.SetInt("bindery.bench.channel", i);
        // A lean client: no retry, deadline or census filters (about 20% less client CPU per call).
        args.SetInt(GRPC_ARG_MINIMAL_STACK, 1);
        args.SetInt(GRPC_ARG_ENABLE_RETRIES, 0);
        auto channel = grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(port),
                                                 grpc::InsecureChannelCredentials(), args);
        channel->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(5));
        stubs.push_back(rt::Dapr::NewStub(channel));
    }
    return stubs;
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
        if (!servers[i].start(apis[i], serverThreads)) {
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
