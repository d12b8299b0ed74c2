// SPDX-License-Identifier: Apache-2.0
// The gRPC benchmarks' shared parts (issue 15): the bare callback-API InvokeBinding server (the
// floor), a server process seen from the client (its CPU read from /proc), and the async
// completion-queue load client. Used by bench_grpc_floor and bench_grpc_api.
#pragma once

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

namespace bindery::bench::grpcload {

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

// --- the server process seen from the client ----------------------------------------------------

struct ServerProcess
{
    std::string api;
    pid_t pid = -1;
    int port = 0;
    int port2 = 0;    // a second port, if the server printed one (Bindery's HTTP API)
    int stdinFd = -1; // closing it stops the server

    /// Runs this binary with `args` (e.g. --serve callback); it prints "PORT <n> [<n2>]".
    bool start(const std::string &label, const std::vector<std::string> &args)
    {
        api = label;
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
        std::vector<char *> argv{const_cast<char *>("bench-server")};
        for (const std::string &a : args)
            argv.push_back(const_cast<char *>(a.c_str()));
        argv.push_back(nullptr);
        const int rc = posix_spawn(&pid, "/proc/self/exe", &actions, nullptr, argv.data(), environ);
        posix_spawn_file_actions_destroy(&actions);
        close(in[0]);
        close(out[1]);
        stdinFd = in[1];
        if (rc != 0)
            return false;
        FILE *f = fdopen(out[0], "r");
        char line[128] = {};
        const bool ok = f && std::fgets(line, sizeof line, f)
                        && std::sscanf(line, "PORT %d %d", &port, &port2) >= 1 && port > 0;
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

inline std::string loadAverage()
{
    char buf[128] = {};
    FILE *f = std::fopen("/proc/loadavg", "r");
    if (f && std::fgets(buf, sizeof buf, f))
        buf[std::strcspn(buf, " ")] = 0; // the 1-minute figure
    if (f)
        std::fclose(f);
    return buf;
}

inline double ownCpuSeconds()
{
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec)
           + static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// --- client ------------------------------------------------------------------------------------

// The request the real benchmark sends to the loopback binding (bench_api's body, as gRPC).
inline rt::InvokeBindingRequest benchRequest()
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
inline void clientLoop(const std::vector<std::unique_ptr<rt::Dapr::Stub>> &stubs, size_t firstStub,
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

inline double percentile(std::vector<float> &v, double p)
{
    if (v.empty())
        return 0;
    const size_t i = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(i), v.end());
    return v[i];
}

inline RunResult runLoad(const ServerProcess &server,
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

inline std::vector<std::unique_ptr<rt::Dapr::Stub>> makeStubs(int port, int channels)
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

} // namespace bindery::bench::grpcload
