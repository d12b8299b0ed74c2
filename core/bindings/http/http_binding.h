// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <memory>

#include <QSslConfiguration>
#include <QString>
#include <QUrl>

#include "core/binding.h"

class QNetworkAccessManager;

namespace bindery::bindings::http {

/**
 * @brief bindings.http: calls an HTTP endpoint; the operation is the method.
 *
 * invoke() runs on the runtime thread and never blocks: requests go through a
 * QNetworkAccessManager created there on first use, and `done` fires from its finished signal.
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
    QUrl m_url;
    QString m_baseUrl;
    int m_timeoutMs = 0;
    qint64 m_maxBody = 100LL * 1024 * 1024;
    bool m_errorIfNot2xx = true;
    QString m_token;
    QString m_tokenHeader;
    bool m_tls = false;
    QSslConfiguration m_ssl;
    std::unique_ptr<QNetworkAccessManager> m_nam;
};

} // namespace bindery::bindings::http
