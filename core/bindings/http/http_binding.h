// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <memory>
#include <mutex>

#include <QByteArray>
#include <QString>

#include "core/binding.h"

namespace bindery::bindings::common {
class RestClient;
}

namespace bindery::bindings::http {

/**
 * @brief bindings.http: calls an HTTP endpoint; the operation is the method.
 *
 * A plain http:// request to an IP address or localhost made on a thread with a Qt event loop
 * (the API thread) goes through LeanHttp on that thread, with no thread hop; https, and calls from
 * other threads, go through the binding kit's RestClient (libcurl multi, keep-alive connections
 * bounded per host, one worker thread per binding). Both send the headers daprd's Go client sends
 * (`User-Agent: Go-http-client/1.1`, `Accept-Encoding: gzip`, nothing unasked) and a timeout on
 * every request (issues 9.5, 9.12, 9.13, 16.1).
 *
 * Threads: invoke() may be called from any thread, concurrently, and never blocks; `done` runs
 * on the calling thread (LeanHttp) or the client's worker thread. close() completes the
 * RestClient's calls in flight with an error; LeanHttp's end within their timeout.
 */
class HttpBinding final : public core::OutputBinding
{
public:
    HttpBinding();
    ~HttpBinding() override;
    Result<> init(const core::ComponentSpec &spec) override;
    QStringList operations() const override;
    void invoke(core::InvokeRequest request, core::InvokeDone done) override;
    void close() override;

private:
    QString m_baseUrl;
    std::chrono::milliseconds m_timeout{0};
    qint64 m_maxBody = 100LL * 1024 * 1024;
    bool m_errorIfNot2xx = true;
    bool m_lean = false; ///< plain http: LeanHttp on a caller with an event loop
    QByteArray m_token;
    QByteArray m_tokenHeader;
    std::mutex m_mutex; ///< guards m_client against close() while invoke() runs elsewhere
    std::shared_ptr<common::RestClient> m_client;
};

} // namespace bindery::bindings::http
