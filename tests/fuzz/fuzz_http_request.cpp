// SPDX-License-Identifier: Apache-2.0
// Fuzzes the API's HTTP transport as a client meets it (issue 14): the input is what one client
// writes on one connection (any number of requests, pipelined, malformed, cut short). The real
// HttpApi (Boost.Beast's parser, Bindery's framing checks, routing, trace and token checks,
// body decoding, a loopback binding) serves it over a Unix socket on this thread's event loop.
// Besides crashes and sanitizer reports it checks the answers' framing: every answer is a
// complete HTTP/1.x message, and none follows one that said "Connection: close".
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>

#include <QCoreApplication>
#include <QFile>
#include <QTemporaryDir>

#include "core/api/binding_service.h"
#include "core/binding_registry.h"
#include "core/http/http_api.h"
#include "core/runtime.h"
#include "core/traffic.h"

using namespace bindery::core;

namespace {

struct World
{
    QTemporaryDir dir;
    BindingRegistry registry;
    TrafficStream traffic{0};
    std::unique_ptr<Runtime> runtime;
    std::unique_ptr<api::BindingService> service;
    std::unique_ptr<HttpApi> api;
    QString socket;
};

World *g_world = nullptr;

[[noreturn]] void failWith(const char *what, const QByteArray &answers)
{
    std::fprintf(stderr, "fuzz_http_request: %s\n--- answers ---\n%s\n", what,
                 answers.left(4000).constData());
    std::abort();
}

// Checks the framing of everything the server wrote back. An answer to HEAD has a
// Content-Length but no body; answers cannot be matched to requests here, so after a HEAD in
// the input a body-less answer is accepted where the next answer starts at once.
void checkAnswers(const QByteArray &out, bool sawHead)
{
    qsizetype at = 0;
    bool closed = false;
    while (at < out.size()) {
        if (closed)
            failWith("an answer after Connection: close", out);
        if (!out.mid(at, 7).startsWith("HTTP/1."))
            failWith("an answer that is not HTTP/1.x", out.mid(at));
        const qsizetype end = out.indexOf("\r\n\r\n", at);
        if (end < 0)
            failWith("an answer without the end of its header", out.mid(at));
        const QByteArray head = out.mid(at, end - at);
        const int status = head.mid(9, 3).toInt();
        qsizetype length = -1;
        for (const QByteArray &line : head.split('\n')) {
            const QByteArray l = line.trimmed().toLower();
            if (l.startsWith("content-length:"))
                length = l.mid(15).trimmed().toLongLong();
            if (l == "connection: close")
                closed = true;
        }
        at = end + 4;
        if (status == 100)
            continue;
        if (length < 0) {
            // Go's raw refusals run to the close; nothing may follow them.
            if (status == 204 || status == 304)
                continue;
            if (!closed)
                failWith("an answer without a length on a kept connection", head);
            return;
        }
        if (status == 204 || status == 304)
            failWith("a Content-Length on a 204 or 304", head);
        const bool bodyless = at == out.size() || out.mid(at, 7).startsWith("HTTP/1.");
        if (sawHead && bodyless)
            continue;
        if (out.size() - at < length)
            failWith("an answer shorter than its Content-Length", out.mid(end));
        at += length;
    }
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    static QCoreApplication app(*argc, *argv);
    qputenv("QT_LOGGING_RULES", "bindery.*=false");
    g_world = new World;
    World &w = *g_world;
    registerLoopbackBinding(w.registry);
    QFile f(w.dir.filePath(QStringLiteral("loop.yaml")));
    if (!f.open(QIODevice::WriteOnly))
        std::abort();
    f.write("apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: loop\nspec:\n"
            "  type: bindings.loopback\n  metadata:\n  - name: direction\n    value: output\n");
    f.close();
    RuntimeOptions o;
    o.appId = QStringLiteral("fuzz");
    o.resourcesPaths = {w.dir.path()};
    o.maxBodySize = 64 * 1024;
    o.httpHeaderTimeoutMs = 2000;
    w.runtime = std::make_unique<Runtime>(o, w.registry, w.traffic);
    if (!w.runtime->loadComponents())
        std::abort();
    w.service = std::make_unique<api::BindingService>(*w.runtime);
    w.service->setOutboundReady(true);
    w.api = std::make_unique<HttpApi>(*w.service, o);
    const bindery::Result<QString> path = w.api->listenUnix(w.dir.path());
    if (!path)
        std::abort();
    w.socket = *path;
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    const QByteArray native = QFile::encodeName(g_world->socket);
    std::memcpy(a.sun_path, native.constData(), static_cast<std::size_t>(native.size()));
    if (::connect(fd, reinterpret_cast<sockaddr *>(&a), sizeof a) != 0)
        std::abort();
    // Write the input while serving, then half-close: the server sees the whole client.
    std::size_t sent = 0;
    QByteArray out;
    bool eof = false;
    bool halfClosed = false;
    for (int round = 0; round < 2000 && !eof; ++round) {
        if (sent < size) {
            const ssize_t n = ::send(fd, data + sent, size - sent, MSG_NOSIGNAL);
            if (n > 0)
                sent += static_cast<std::size_t>(n);
            else if (n < 0 && errno != EAGAIN)
                sent = size; // the server closed on us
        } else if (!halfClosed) {
            ::shutdown(fd, SHUT_WR);
            halfClosed = true;
        }
        QCoreApplication::processEvents(QEventLoop::AllEvents);
        char buf[65536];
        for (;;) {
            const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
            if (n > 0) {
                out.append(buf, n);
                continue;
            }
            if (n == 0 || (n < 0 && errno != EAGAIN))
                eof = true;
            break;
        }
    }
    ::close(fd);
    if (!eof)
        failWith("the server neither answered nor closed a half-closed client", out);
    const QByteArray input(reinterpret_cast<const char *>(data), static_cast<qsizetype>(size));
    checkAnswers(out, input.contains("HEAD"));
    return 0;
}
