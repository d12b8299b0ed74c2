// SPDX-License-Identifier: Apache-2.0
#include "core/bindings/http/http_binding.h"

#include <QFile>
#include <QMap>
#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QNetworkRequest>
#include <QSslCertificate>
#include <QSslKey>

#include "core/binding_registry.h"

namespace bindery::bindings::http {

namespace {

QByteArray pemOrFile(const QString &value)
{
    if (value.contains(QStringLiteral("-----BEGIN")))
        return value.toUtf8();
    QFile f(value);
    if (f.open(QIODevice::ReadOnly))
        return f.readAll();
    return {};
}

} // namespace

HttpBinding::HttpBinding() = default;
HttpBinding::~HttpBinding() = default;

Result<> HttpBinding::init(const core::ComponentSpec &spec)
{
    m_baseUrl = spec.property(QStringLiteral("url"));
    m_url = QUrl(m_baseUrl, QUrl::StrictMode);
    if (m_baseUrl.isEmpty())
        return fail(ErrorCode::MissingMetadata,
                    QStringLiteral("required metadata 'url' is missing"), spec.name);
    if (!m_url.isValid()
        || (m_url.scheme() != QStringLiteral("http") && m_url.scheme() != QStringLiteral("https")))
        return fail(ErrorCode::InvalidMetadata,
                    QStringLiteral("metadata 'url' must be an http:// or https:// URL, not '%1'")
                        .arg(m_baseUrl),
                    spec.name);
    qint64 ms = 0;
    const QString timeout = spec.property(QStringLiteral("responseTimeout"));
    if (!timeout.isEmpty()) {
        if (!core::parseGoDuration(timeout, &ms))
            return fail(
                ErrorCode::InvalidMetadata,
                QStringLiteral("metadata 'responseTimeout' is not a duration: '%1'").arg(timeout));
        m_timeoutMs = static_cast<int>(ms);
    }
    const QString maxBody = spec.property(QStringLiteral("maxResponseBodySize"));
    if (!maxBody.isEmpty() && !core::parseByteSize(maxBody, &m_maxBody))
        return fail(
            ErrorCode::InvalidMetadata,
            QStringLiteral("metadata 'maxResponseBodySize' is not a byte size: '%1'").arg(maxBody));
    m_errorIfNot2xx = core::parseDaprBool(
        spec.property(QStringLiteral("errorIfNot2XX"), QStringLiteral("true")));
    m_token = spec.property(QStringLiteral("securityToken"));
    m_tokenHeader = spec.property(QStringLiteral("securityTokenHeader"));
    if (!m_token.isEmpty() && m_tokenHeader.isEmpty())
        return fail(
            ErrorCode::MissingMetadata,
            QStringLiteral("metadata 'securityTokenHeader' is required with 'securityToken'"));
    const QString ca = spec.property(QStringLiteral("MTLSRootCA"));
    const QString cert = spec.property(QStringLiteral("MTLSClientCert"));
    const QString key = spec.property(QStringLiteral("MTLSClientKey"));
    if (!ca.isEmpty() || !cert.isEmpty() || !key.isEmpty()) {
        m_tls = true;
        m_ssl = QSslConfiguration::defaultConfiguration();
        if (!ca.isEmpty()) {
            const QList<QSslCertificate> cas = QSslCertificate::fromData(pemOrFile(ca));
            if (cas.isEmpty())
                return fail(ErrorCode::InvalidMetadata,
                            QStringLiteral("metadata 'MTLSRootCA' holds no PEM certificate"));
            m_ssl.setCaCertificates(cas);
        }
        if (!cert.isEmpty() || !key.isEmpty()) {
            const QList<QSslCertificate> certs = QSslCertificate::fromData(pemOrFile(cert));
            const QSslKey pkey(pemOrFile(key), QSsl::Rsa);
            const QSslKey ecKey(pemOrFile(key), QSsl::Ec);
            if (certs.isEmpty())
                return fail(ErrorCode::InvalidMetadata,
                            QStringLiteral("metadata 'MTLSClientCert' holds no PEM certificate"));
            if (pkey.isNull() && ecKey.isNull())
                return fail(ErrorCode::InvalidMetadata,
                            QStringLiteral("metadata 'MTLSClientKey' holds no PEM private key"));
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

namespace bindery::core {

void registerHttpBinding(BindingRegistry &registry)
{
    BindingDescriptor d;
    d.type = QStringLiteral("bindings.http");
    d.metadata = loadBuiltinMetadata(QStringLiteral("http"));
    d.outputFactory = [] { return std::make_unique<bindings::http::HttpBinding>(); };
    if (Result<> r = registry.add(std::move(d)); !r)
        qFatal("%s", qPrintable(r.error().message));
}

} // namespace bindery::core
