// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <mutex>
#include <vector>

#include <QByteArray>
#include <QString>

#include "core/binding.h"
#include "core/http_client.h"
#include "core/traffic.h"

namespace bindery::core {

/** @brief The app's answer to an OPTIONS probe. */
struct ProbeResult
{
    int status = 0; ///< 0 on transport error or timeout
    QString error;  ///< set on transport error or timeout
    qint64 latencyUs = 0;
    bool subscribed() const { return (status >= 200 && status < 300) || status == 405; }
};

/**
 * @brief The lean keep-alive HTTP/1.1 client that delivers input events to the app.
 *
 * Deliveries go through HttpConnection (plain sockets, ~10 µs of CPU per POST); the rare OPTIONS
 * probe uses libcurl. Thread-safe: every call borrows a kept-alive connection from a small pool,
 * so concurrent callers (e.g. one per Kafka partition) each get their own connection. post() and
 * options() block the calling thread, bounded by their timeout; they are called on reader threads,
 * never on the runtime or UI thread.
 */
class AppChannel final
{
public:
    AppChannel(QString address, int port, QByteArray appApiToken = {});
    ~AppChannel();
    AppChannel(const AppChannel &) = delete;
    AppChannel &operator=(const AppChannel &) = delete;

    /// POSTs an event as daprd does (reference §2.3). `responseHeaders` may be null.
    AppReply post(const QString &route, const QByteArray &body, const Headers &metadata,
                  int timeoutMs, Headers *responseHeaders = nullptr);
    /// The subscription probe: OPTIONS /route, 2xx or 405 = subscribed (reference §2.2).
    ProbeResult options(const QString &route, int timeoutMs);
    /// True if a TCP connection to the app port succeeds within `timeoutMs`.
    bool portOpen(int timeoutMs) const;

    QString baseUrl() const { return m_baseUrl; }
    /// "/route" cleaned as Go's path.Clean plus a leading slash.
    static QString cleanRoute(const QString &route);
    /// Go's CanonicalMIMEHeaderKey ("x-opt-offset" -> "X-Opt-Offset").
    static QByteArray canonicalHeaderKey(const QByteArray &key);

private:
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
