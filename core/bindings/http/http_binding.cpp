// SPDX-License-Identifier: Apache-2.0
#include "core/bindings/http/http_binding.h"

#include <climits>

#include <QFile>
#include <QMap>
#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QNetworkRequest>
#include <QSslCertificate>
#include <QSslKey>

#include "core/binding_registry.h"
#include "core/binding_settings.h"

namespace bindery::bindings::http {

HttpBinding::HttpBinding() = default;
HttpBinding::~HttpBinding() = default;

Result<> HttpBinding::init(const core::ComponentSpec &spec)
{
    core::BindingSettings s(spec, core::builtinSchema(QStringLiteral("http")), {false, true});
    m_baseUrl = s.string(QStringLiteral("url"));
    m_timeoutMs
        = static_cast<int>(qMin<qint64>(s.durationMs(QStringLiteral("responseTimeout")), INT_MAX));
    m_maxBody = s.byteSize(QStringLiteral("maxResponseBodySize"));
    m_errorIfNot2xx = s.boolean(QStringLiteral("errorIfNot2XX"));
    m_token = s.secret(QStringLiteral("securityToken"));
    m_tokenHeader = s.string(QStringLiteral("securityTokenHeader"));
    const QByteArray ca = s.pem(QStringLiteral("MTLSRootCA"));
    const QByteArray cert = s.pem(QStringLiteral("MTLSClientCert"));
    const QByteArray key = s.pem(QStringLiteral("MTLSClientKey"));
    if (!s.ok())
        return s.result();
    m_url = QUrl(m_baseUrl, QUrl::StrictMode);
    if (!m_url.isValid()
        || (m_url.scheme() != QStringLiteral("http")
            && m_url.scheme() != QStringLiteral("https"))) {
        s.fail(QStringLiteral("url"),
               QStringLiteral("metadata 'url' must be an http:// or https:// URL, not '%1'")
                   .arg(m_baseUrl));
        return s.result();
    }
    if (!m_token.isEmpty() && m_tokenHeader.isEmpty()) {
        s.fail(QStringLiteral("securityTokenHeader"),
               QStringLiteral("metadata 'securityTokenHeader' is required with 'securityToken'"),
               ErrorCode::MissingMetadata);
        return s.result();
    }
    if (!ca.isEmpty() || !cert.isEmpty() || !key.isEmpty()) {
        m_tls = true;
        m_ssl = QSslConfiguration::defaultConfiguration();
        if (!ca.isEmpty()) {
            const QList<QSslCertificate> cas = QSslCertificate::fromData(ca);
            if (cas.isEmpty()) {
                s.fail(QStringLiteral("MTLSRootCA"),
                       QStringLiteral("metadata 'MTLSRootCA' holds no PEM certificate"));
                return s.result();
            }
            m_ssl.setCaCertificates(cas);
        }
        if (!cert.isEmpty() || !key.isEmpty()) {
            const QList<QSslCertificate> certs = QSslCertificate::fromData(cert);
            const QSslKey pkey(key, QSsl::Rsa);
            const QSslKey ecKey(key, QSsl::Ec);
            if (certs.isEmpty()) {
                s.fail(QStringLiteral("MTLSClientCert"),
                       QStringLiteral("metadata 'MTLSClientCert' holds no PEM certificate"));
                return s.result();
            }
            if (pkey.isNull() && ecKey.isNull()) {
                s.fail(QStringLiteral("MTLSClientKey"),
                       QStringLiteral("metadata 'MTLSClientKey' holds no PEM private key"));
                return s.result();
            }
            m_ssl.setLocalCertificate(certs.first());
            m_ssl.setPrivateKey(pkey.isNull() ? ecKey : pkey);
        }
    }
    return {};
}

QStringList HttpBinding::operations() const
{
    return {QStringLiteral("create"), QStringLiteral("get"),     QStringLiteral("head"),
            QStringLiteral("post"),   QStringLiteral("put"),     QStringLiteral("patch"),
            QStringLiteral("delete"), QStringLiteral("options"), QStringLiteral("trace")};
}

void HttpBinding::invoke(core::InvokeRequest request, core::InvokeDone done)
{
    if (!m_nam) {
        m_nam = std::make_unique<QNetworkAccessManager>();
        m_nam->setRedirectPolicy(QNetworkRequest::NoLessSafeRedirectPolicy);
    }
    QString verb = request.operation.toUpper();
    if (verb == QStringLiteral("CREATE"))
        verb = QStringLiteral("POST");
    const bool withBody = verb == QStringLiteral("POST") || verb == QStringLiteral("PUT")
                          || verb == QStringLiteral("PATCH");
    QString target = m_baseUrl;
    const QString path = request.metadata.value(QStringLiteral("path"));
    if (!path.isEmpty()) {
        while (target.endsWith(u'/'))
            target.chop(1);
        target += u'/' + (path.startsWith(u'/') ? path.mid(1) : path);
    }
    QNetworkRequest req{QUrl(target)};
    req.setAttribute(QNetworkRequest::Http2AllowedAttribute, false);
    if (m_timeoutMs > 0)
        req.setTransferTimeout(m_timeoutMs);
    if (m_tls)
        req.setSslConfiguration(m_ssl);
    req.setRawHeader("Accept", "application/json; charset=utf-8");
    if (withBody)
        req.setRawHeader("Content-Type", "application/json; charset=utf-8");
    // Any request metadata key starting with an upper-case ASCII letter is a header.
    for (auto it = request.metadata.begin(); it != request.metadata.end(); ++it) {
        const QString &k = it.key();
        if (!k.isEmpty() && k[0] >= u'A' && k[0] <= u'Z')
            req.setRawHeader(k.toUtf8(), it.value().toUtf8());
    }
    for (const QString &k :
         {QStringLiteral("traceparent"), QStringLiteral("tracestate"), QStringLiteral("baggage")}) {
        if (request.metadata.contains(k))
            req.setRawHeader(k.toUtf8(), request.metadata.value(k).toUtf8());
    }
    if (!m_token.isEmpty())
        req.setRawHeader(m_tokenHeader.toUtf8(), m_token.toUtf8());
    bool errorIfNot2xx = m_errorIfNot2xx;
    if (request.metadata.contains(QStringLiteral("errorIfNot2XX")))
        errorIfNot2xx
            = core::parseDaprBool(request.metadata.value(QStringLiteral("errorIfNot2XX")));

    QNetworkReply *reply = withBody ? m_nam->sendCustomRequest(req, verb.toUtf8(), request.data)
                                    : m_nam->sendCustomRequest(req, verb.toUtf8());
    const qint64 maxBody = m_maxBody;
    QObject::connect(
        reply, &QNetworkReply::finished, reply, [reply, done, errorIfNot2xx, maxBody, target]() {
            reply->deleteLater();
            const QVariant statusAttr = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute);
            if (!statusAttr.isValid()) {
                done({fail(ErrorCode::InvokeFailed, QStringLiteral("error invoking %1: %2")
                                                        .arg(target, reply->errorString())),
                      {}});
                return;
            }
            const int status = statusAttr.toInt();
            core::InvokeResponse r;
            r.hasData = true;
            r.data = reply->readAll();
            if (r.data.size() > maxBody) {
                done(
                    {fail(ErrorCode::InvokeFailed,
                          QStringLiteral("response body of %1 bytes exceeds maxResponseBodySize %2")
                              .arg(r.data.size())
                              .arg(maxBody)),
                     {}});
                return;
            }
            r.metadata.append({QStringLiteral("statusCode"), QString::number(status)});
            r.metadata.append(
                {QStringLiteral("status"),
                 QString::number(status) + u' '
                     + reply->attribute(QNetworkRequest::HttpReasonPhraseAttribute).toString()});
            QMap<QString, QStringList> headers;
            for (const auto &[k, v] : reply->rawHeaderPairs())
                headers[QString::fromLatin1(k)] << QString::fromUtf8(v);
            for (auto it = headers.begin(); it != headers.end(); ++it)
                r.metadata.append({it.key(), it.value().join(QStringLiteral(", "))});
            if (errorIfNot2xx && (status < 200 || status > 299)) {
                done({fail(ErrorCode::InvokeFailed,
                           QStringLiteral("received status code %1").arg(status)),
                      r.metadata});
                return;
            }
            done({r, {}});
        });
}

void HttpBinding::close()
{
    if (!m_nam)
        return;
    // Abort in-flight replies first: each emits finished and so calls its done exactly once.
    const QList<QNetworkReply *> replies = m_nam->findChildren<QNetworkReply *>();
    for (QNetworkReply *r : replies)
        r->abort();
    m_nam.reset();
}

} // namespace bindery::bindings::http

BINDERY_BINDING(http, void, bindery::bindings::http::HttpBinding)
