// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <mutex>
#include <vector>

#include <QByteArray>
#include <QString>

#include "core/app_channel.h"
#include "core/http_client.h"

namespace bindery::core {

/**
 * @brief daprd's HTTP app channel: the OPTIONS probe and a POST per event.
 *
 * Deliveries go through HttpConnection, a lean keep-alive HTTP/1.1 client on plain sockets
 * (~10 µs of CPU per POST); the rare OPTIONS probe uses libcurl. Thread-safe: every call borrows
 * a kept-alive connection from a small pool, so concurrent callers (e.g. one per Kafka partition)
 * each get their own connection. post() and options() block the calling thread, bounded by their
 * timeout.
 */
class HttpAppChannel final : public AppChannel
{
public:
    HttpAppChannel(QString address, int port, QByteArray appApiToken = {});
    ~HttpAppChannel() override;
    HttpAppChannel(const HttpAppChannel &) = delete;
    HttpAppChannel &operator=(const HttpAppChannel &) = delete;

    AppReply deliver(const QString &bindingName, const QString &route, const BindingEvent &event,
                     int timeoutMs, Headers *responseHeaders) override;
    ProbeResult probe(const QString &bindingName, const QString &route, int timeoutMs) override;
    /// GET <app><path>: healthy on 2xx; `error` holds daprd's reason otherwise.
    ProbeResult healthProbe(const QString &path, int timeoutMs) override;
    QString address() const override { return m_baseUrl; }
    QString protocol() const override { return QStringLiteral("http"); }

    /// POSTs an event as daprd does (reference §2.3). `responseHeaders` may be null.
    /// `cancel` ends the wait for the answer early (within ~100 ms) with an error.
    AppReply post(const QString &route, const QByteArray &body, const Headers &metadata,
                  int timeoutMs, Headers *responseHeaders = nullptr, std::stop_token cancel = {});
    /// The subscription probe: OPTIONS /route, 2xx or 405 = subscribed (reference §2.2).
    ProbeResult options(const QString &route, int timeoutMs);
    QString baseUrl() const { return m_baseUrl; }

private:
    /// One blocking libcurl request with Go's client headers; `error` holds curl's reason.
    ProbeResult curlProbe(const char *method, const QString &path, bool withToken, int timeoutMs);
    HttpConnection *acquire();
    void release(HttpConnection *connection);

    QString m_address;
    int m_port;
    QString m_baseUrl;
    QByteArray m_token;
    std::mutex m_mutex;
    std::vector<HttpConnection *> m_pool;
    QByteArray m_hostHeader;
};

} // namespace bindery::core
