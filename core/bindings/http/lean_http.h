// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <functional>

#include <QByteArray>
#include <QList>
#include <QPair>
#include <QString>

namespace bindery::bindings::http {

/** @brief One answer of LeanHttp: a response, or `error` (transport error or timeout). */
struct LeanResponse
{
    int status = 0;
    QByteArray reason; ///< the status line's reason phrase
    QList<QPair<QByteArray, QByteArray>> headers;
    QByteArray body;
    QString error; ///< set on a transport error or timeout
    bool timedOut = false;
    bool tooLarge = false; ///< the body went over `maxBody`
};

/**
 * @brief A lean HTTP/1.1 client for plain http:// upstreams that runs on the calling thread's
 * Qt event loop, for the http binding's hot path (issue 16.1).
 *
 * The API thread calls OutputBinding::invoke(); doing the request right there, with
 * non-blocking sockets watched by that thread's event loop, saves the two thread hops a worker
 * client costs per request (to the worker and back), which dominate at low concurrency. Kept-
 * alive connections are pooled per thread and host; a request that finds a reused connection
 * closed by the peer before any answer byte is sent again once on a fresh one (as Go and
 * libcurl do).
 *
 * Threads: send() only on a thread with a running Qt event loop (usable()); `done` is called
 * exactly once, on that thread, never from inside send(). Every request is bounded by its
 * timeout. The pool of a thread is destroyed with the thread; requests still pending then
 * complete with an error.
 */
class LeanHttp
{
public:
    /// True on a thread that is running a Qt event loop (the API thread); elsewhere the binding
    /// uses its worker-thread client.
    static bool usable();
    /**
     * @brief Sends `head` (request line and headers, ending in CRLF CRLF) and `body` to
     * host:port. `isHead`: the answer has no body whatever its headers say (a HEAD request).
     * `maxBody` < 0 means no bound.
     */
    static void send(const QByteArray &host, quint16 port, QByteArray head, QByteArray body,
                     bool isHead, int timeoutMs, qint64 maxBody,
                     std::function<void(LeanResponse)> done);
};

} // namespace bindery::bindings::http
