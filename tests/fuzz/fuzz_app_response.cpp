// SPDX-License-Identifier: Apache-2.0
// Fuzzes how the lean HTTP clients read an answer (issue 14). The input is the raw bytes a peer
// answers one request with, given to both:
//  - the app channel's delivery (HttpAppChannel::post over HttpConnection): a local server
//    thread reads the POST and answers with the input, then closes; the channel's framing
//    (Content-Length, chunked, close-delimited, 1xx), gzip decoding and status handling run
//    as for a real event;
//  - the http binding's LeanHttp response reader, fed all at once and in small pieces.
// Besides crashes and sanitizer reports it checks: a body framed by Content-Length has exactly
// that many bytes; no decoded body is longer than the input (chunked decoding bounded) or the
// reader's bound; a success is a 2xx, a failure has a message; the reader gives the same answer
// however the bytes arrive.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <thread>

#include "core/bindings/http/lean_http_reader.h"
#include "core/http_app_channel.h"
#include "core/http_client.h"

using namespace bindery::core;
using bindery::bindings::http::LeanResponse;
using bindery::bindings::http::Internal::ResponseReader;

namespace {

[[noreturn]] void failWith(const char *what, const QByteArray &input)
{
    std::fprintf(stderr, "fuzz_app_response: %s\n--- input ---\n%s\n", what,
                 input.left(2000).constData());
    std::abort();
}

// Answers each accepted connection with the next input: reads the request (head and the
// 2-byte body the harness posts), writes the input, closes.
class Peer
{
public:
    Peer()
    {
        m_listen = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof a;
        if (m_listen < 0 || ::bind(m_listen, reinterpret_cast<sockaddr *>(&a), sizeof a) != 0
            || ::listen(m_listen, 16) != 0
            || ::getsockname(m_listen, reinterpret_cast<sockaddr *>(&a), &len) != 0) {
            std::perror("fuzz_app_response: listen");
            std::abort();
        }
        m_port = ntohs(a.sin_port);
        std::thread([this] { serve(); }).detach(); // lives as long as the process
    }
    quint16 port() const { return m_port; }
    void setAnswer(const QByteArray &answer)
    {
        std::lock_guard lock(m_mutex);
        m_answer = answer;
        m_served = false;
    }
    /// Waits until the connection of the current answer is closed on the server's side.
    void waitServed()
    {
        std::unique_lock lock(m_mutex);
        m_cv.wait(lock, [this] { return m_served; });
    }

private:
    void serve()
    {
        for (;;) {
            const int fd = ::accept4(m_listen, nullptr, nullptr, SOCK_CLOEXEC);
            if (fd < 0)
                continue;
            QByteArray request;
            char buf[4096];
            for (;;) {
                const qsizetype end = request.indexOf("\r\n\r\n");
                if (end >= 0 && request.size() >= end + 4 + 2)
                    break;
                const ssize_t n = ::read(fd, buf, sizeof buf);
                if (n <= 0)
                    break;
                request.append(buf, n);
            }
            QByteArray answer;
            {
                std::lock_guard lock(m_mutex);
                answer = m_answer;
            }
            for (qsizetype at = 0; at < answer.size();) {
                const ssize_t n
                    = ::send(fd, answer.constData() + at, answer.size() - at, MSG_NOSIGNAL);
                if (n <= 0)
                    break;
                at += n;
            }
            ::shutdown(fd, SHUT_WR);
            ::close(fd);
            {
                std::lock_guard lock(m_mutex);
                m_served = true;
            }
            m_cv.notify_all();
        }
    }

    int m_listen = -1;
    quint16 m_port = 0;
    std::mutex m_mutex;
    std::condition_variable m_cv;
    QByteArray m_answer;
    bool m_served = true;
};

// The framing the last (non-1xx) head of `headers` asks for, as parseResponseHead reads it.
struct Framing
{
    qint64 contentLength = -1;
    bool chunked = false;
};

Framing framingOf(const Headers &headers)
{
    Framing f;
    for (const auto &[k, v] : headers) {
        if (k.compare(u"Content-Length", Qt::CaseInsensitive) == 0)
            f.contentLength = v.toUtf8().trimmed().toLongLong();
        else if (k.compare(u"Transfer-Encoding", Qt::CaseInsensitive) == 0)
            f.chunked = v.toLower().contains(u"chunked");
    }
    return f;
}

void checkDelivery(Peer &peer, const QByteArray &input)
{
    peer.setAnswer(input);
    HttpAppChannel channel(QStringLiteral("127.0.0.1"), peer.port());
    Headers headers;
    const AppReply reply
        = channel.post(QStringLiteral("/orders"), QByteArrayLiteral("{}"), {}, 10000, &headers);
    peer.waitServed();
    if (reply.error.isEmpty() && (reply.status < 200 || reply.status > 299))
        failWith("a success that is not a 2xx", input);
    if (reply.status == 0)
        return; // the transport failed: nothing was read
    // A gzip body is decoded (and its Content-Length dropped): only plain bodies are measured.
    if (input.toLower().contains("gzip"))
        return;
    if (reply.body.size() > input.size())
        failWith("a body longer than the answer", input);
    const Framing f = framingOf(headers);
    if (!f.chunked && f.contentLength >= 0 && reply.body.size() != f.contentLength)
        failWith("a body that is not Content-Length bytes", input);
}

struct ReaderResult
{
    ResponseReader::State state;
    LeanResponse response;
    QByteArray rest;
};

ReaderResult readAll(const QByteArray &input, qsizetype piece, qint64 maxBody)
{
    ResponseReader reader;
    reader.reset(false, maxBody);
    ReaderResult out{ResponseReader::State::More, {}, {}};
    QByteArray buffer;
    for (qsizetype at = 0; at < input.size(); at += piece) {
        buffer.append(input.mid(at, piece));
        out.state = reader.feed(buffer, false, &out.response);
        if (out.state != ResponseReader::State::More)
            break;
    }
    if (out.state == ResponseReader::State::More)
        out.state = reader.feed(buffer, true, &out.response);
    out.rest = buffer;
    return out;
}

void checkReader(const QByteArray &input)
{
    constexpr qint64 kMaxBody = 1024;
    const ReaderResult whole = readAll(input, qMax<qsizetype>(1, input.size()), kMaxBody);
    const ReaderResult pieces = readAll(input, 1 + input.size() % 61, kMaxBody);
    // (A refused answer's partial body is never used: only a complete one's is compared.)
    if (whole.state != pieces.state || whole.response.status != pieces.response.status
        || whole.response.error != pieces.response.error
        || (whole.state == ResponseReader::State::Done
            && whole.response.body != pieces.response.body))
        failWith("the reader's answer depends on how the bytes arrive", input);
    const LeanResponse &r = whole.response;
    if (whole.state == ResponseReader::State::Bad && r.error.isEmpty())
        failWith("a refused answer without a message", input);
    if (r.body.size() > kMaxBody || r.body.size() > input.size())
        failWith("a body over the bound or longer than the answer", input);
    if (r.tooLarge && whole.state != ResponseReader::State::Bad)
        failWith("a body over the bound that is not refused", input);
    if (whole.state != ResponseReader::State::Done || r.status == 204 || r.status == 304)
        return;
    Headers headers;
    for (const auto &[k, v] : r.headers)
        headers.append({QString::fromLatin1(k), QString::fromLatin1(v)});
    const Framing f = framingOf(headers);
    if (!f.chunked && f.contentLength >= 0 && r.body.size() != f.contentLength)
        failWith("the reader's body is not Content-Length bytes", input);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    static Peer peer;
    const QByteArray input(reinterpret_cast<const char *>(data), static_cast<qsizetype>(size));
    checkReader(input);
    checkDelivery(peer, input);
    return 0;
}
