// SPDX-License-Identifier: Apache-2.0
// Test peers of tst_gcp_bucket_binding (issue 12), none of which stands in for Cloud Storage (the
// real fake-gcs-server does):
//  - TokenEndpoint: the sign-in protocol's other side. It checks each JWT's RS256 signature with
//    the public half of the test key and its claims, and answers an access token, or refuses.
//  - Relay: a TCP pass-through in front of fake-gcs-server that records what the binding sent
//    (the Authorization headers) and can cut one connection after N bytes, to prove that an
//    upload or a download continues instead of starting again.
// Both run on the test's thread; they are served while the test waits in an event loop.
#pragma once

#include <memory>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include <QByteArray>
#include <QHash>
#include <QJsonDocument>
#include <QJsonObject>
#include <QList>
#include <QPointer>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTimer>
#include <QUrlQuery>

namespace bindery::tests {

/** @brief The test key's public half, taken from its private key by OpenSSL alone. */
inline EVP_PKEY *publicKeyOf(const QByteArray &privatePem)
{
    BIO *in = BIO_new_mem_buf(privatePem.constData(), int(privatePem.size()));
    EVP_PKEY *priv = PEM_read_bio_PrivateKey(in, nullptr, nullptr, nullptr);
    BIO_free(in);
    if (!priv)
        return nullptr;
    BIO *out = BIO_new(BIO_s_mem());
    PEM_write_bio_PUBKEY(out, priv);
    EVP_PKEY_free(priv);
    EVP_PKEY *pub = PEM_read_bio_PUBKEY(out, nullptr, nullptr, nullptr);
    BIO_free(out);
    return pub;
}

/** @brief A token endpoint (RFC 7523 JWT bearer grant) that verifies what it is sent. */
class TokenEndpoint : public QObject
{
public:
    /// One sign-in as the endpoint saw it.
    struct Grant
    {
        QJsonObject header, claims;
        bool signatureValid = false;
        QString grantType;
        QString problem; ///< empty when everything checked out
    };

    explicit TokenEndpoint(const QByteArray &privatePem)
        : m_publicKey(publicKeyOf(privatePem))
    {
        m_server.listen(QHostAddress::LocalHost, 0);
        QObject::connect(&m_server, &QTcpServer::newConnection, this, [this] {
            while (QTcpSocket *s = m_server.nextPendingConnection())
                serve(s);
        });
    }
    ~TokenEndpoint() override { EVP_PKEY_free(m_publicKey); }

    QString url() const
    {
        return QStringLiteral("http://127.0.0.1:%1/token").arg(m_server.serverPort());
    }
    bool keyLoaded() const { return m_publicKey != nullptr; }

    /// What the next sign-ins answer, in order (the last one repeats).
    struct Answer
    {
        QByteArray token;
        int expiresIn = 3600;
        int delayMs = 0;
        int status = 200;
        QByteArray errorBody; ///< answered instead of a token when status != 200
    };
    void setAnswers(QList<Answer> answers) { m_answers = std::move(answers); }
    const QList<Grant> &grants() const { return m_grants; }

private:
    void serve(QTcpSocket *s)
    {
        QObject::connect(s, &QTcpSocket::disconnected, s, &QObject::deleteLater);
        QObject::connect(s, &QTcpSocket::readyRead, this, [this, s] {
            QByteArray &buf = m_buffers[s];
            buf += s->readAll();
            const qsizetype end = buf.indexOf("\r\n\r\n");
            if (end < 0)
                return;
            qsizetype length = 0;
            for (const QByteArray &line : buf.left(end).split('\n')) {
                if (line.toLower().startsWith("content-length:"))
                    length = line.mid(15).trimmed().toLongLong();
            }
            if (buf.size() < end + 4 + length)
                return;
            const QByteArray body = buf.mid(end + 4, length);
            buf.remove(0, end + 4 + length);
            respond(s, body);
        });
    }

    void respond(QTcpSocket *s, const QByteArray &body)
    {
        const QUrlQuery form{QString::fromUtf8(body)};
        Grant g;
        g.grantType = form.queryItemValue(QStringLiteral("grant_type"), QUrl::FullyDecoded);
        const QByteArray jwt
            = form.queryItemValue(QStringLiteral("assertion"), QUrl::FullyDecoded).toUtf8();
        const QList<QByteArray> parts = jwt.split('.');
        if (parts.size() == 3) {
            const auto decode = [](const QByteArray &b) {
                return QByteArray::fromBase64(b, QByteArray::Base64UrlEncoding
                                                     | QByteArray::OmitTrailingEquals);
            };
            g.header = QJsonDocument::fromJson(decode(parts[0])).object();
            g.claims = QJsonDocument::fromJson(decode(parts[1])).object();
            const QByteArray input = parts[0] + '.' + parts[1];
            const QByteArray signature = decode(parts[2]);
            EVP_MD_CTX *ctx = EVP_MD_CTX_new();
            g.signatureValid
                = m_publicKey
                  && EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, m_publicKey) == 1
                  && EVP_DigestVerify(
                         ctx, reinterpret_cast<const unsigned char *>(signature.constData()),
                         size_t(signature.size()),
                         reinterpret_cast<const unsigned char *>(input.constData()),
                         size_t(input.size()))
                         == 1;
            EVP_MD_CTX_free(ctx);
        }
        if (g.grantType != QStringLiteral("urn:ietf:params:oauth:grant-type:jwt-bearer"))
            g.problem = QStringLiteral("grant_type is ") + g.grantType;
        else if (!g.signatureValid)
            g.problem = QStringLiteral("the RS256 signature does not verify with the public key");
        else if (g.header.value(QStringLiteral("alg")).toString() != QStringLiteral("RS256"))
            g.problem = QStringLiteral("alg is not RS256");
        // Google's libraries put Google's token URL in `aud`; a key's own token_uri is accepted
        // as well.
        const QString aud = g.claims.value(QStringLiteral("aud")).toString();
        if (g.problem.isEmpty() && aud != url()
            && aud != QStringLiteral("https://oauth2.googleapis.com/token"))
            g.problem = QStringLiteral("aud is ") + aud;
        const qint64 iat = qint64(g.claims.value(QStringLiteral("iat")).toDouble());
        const qint64 exp = qint64(g.claims.value(QStringLiteral("exp")).toDouble());
        if (g.problem.isEmpty()
            && (exp - iat != 3600 || qAbs(iat - QDateTime::currentSecsSinceEpoch()) > 60))
            g.problem = QStringLiteral("iat/exp are not now and now + 3600");
        const int index = int(m_grants.size());
        m_grants.append(g);

        Answer a = m_answers.isEmpty() ? Answer{"test-token", 3600, 0, 200, {}}
                                       : m_answers.value(index, m_answers.last());
        QByteArray status = "200 OK";
        QByteArray answer;
        if (!g.problem.isEmpty()) {
            status = "400 Bad Request";
            answer = R"({"error":"invalid_grant","error_description":"Invalid JWT Signature."})";
        } else if (a.status != 200) {
            status = QByteArray::number(a.status) + " Refused";
            answer = a.errorBody;
        } else {
            answer = "{\"access_token\":\"" + a.token + "\",\"expires_in\":"
                     + QByteArray::number(a.expiresIn) + ",\"token_type\":\"Bearer\"}";
        }
        const QByteArray response = "HTTP/1.1 " + status
                                    + "\r\nContent-Type: application/json\r\nContent-Length: "
                                    + QByteArray::number(answer.size()) + "\r\n\r\n" + answer;
        QPointer<QTcpSocket> guard(s);
        QTimer::singleShot(a.delayMs, this, [guard, response] {
            if (guard)
                guard->write(response);
        });
    }

    QTcpServer m_server;
    EVP_PKEY *m_publicKey = nullptr;
    QHash<QTcpSocket *, QByteArray> m_buffers;
    QList<Answer> m_answers;
    QList<Grant> m_grants;
};

/** @brief A TCP pass-through to fake-gcs-server that records and can break one connection. */
class Relay : public QObject
{
public:
    Relay(QString upstreamHost, quint16 upstreamPort)
        : m_host(std::move(upstreamHost))
        , m_port(upstreamPort)
    {
        m_server.listen(QHostAddress::LocalHost, 0);
        QObject::connect(&m_server, &QTcpServer::newConnection, this, [this] {
            while (QTcpSocket *down = m_server.nextPendingConnection())
                accept(down);
        });
    }

    QString endpoint() const
    {
        return QStringLiteral("http://127.0.0.1:%1").arg(m_server.serverPort());
    }
    /// Cut the first connection whose client-to-server bytes pass `bytes` (once).
    void cutUpstreamAfter(qint64 bytes) { m_cutUp = bytes; }
    /// Cut the first connection whose server-to-client bytes pass `bytes` (once).
    void cutDownstreamAfter(qint64 bytes) { m_cutDown = bytes; }
    int cuts() const { return m_cuts; }
    qint64 upstreamBytes() const { return m_up; }
    qint64 downstreamBytes() const { return m_down; }
    /// Everything the binding sent (capped at 64 MiB), to look for request lines and headers.
    const QByteArray &sent() const { return m_sent; }
    void clear()
    {
        m_sent.clear();
        m_up = m_down = 0;
    }

private:
    struct Pipe
    {
        QPointer<QTcpSocket> down, up;
        qint64 upBytes = 0, downBytes = 0;
        QByteArray pending; ///< client bytes that arrived before the upstream connected
    };

    void accept(QTcpSocket *down)
    {
        auto pipe = std::make_shared<Pipe>();
        pipe->down = down;
        auto *up = new QTcpSocket(this);
        pipe->up = up;
        QObject::connect(up, &QTcpSocket::connected, this, [pipe] {
            if (pipe->up && !pipe->pending.isEmpty())
                pipe->up->write(pipe->pending);
            pipe->pending.clear();
        });
        QObject::connect(down, &QTcpSocket::readyRead, this, [this, pipe] { relay(*pipe, true); });
        QObject::connect(up, &QTcpSocket::readyRead, this, [this, pipe] { relay(*pipe, false); });
        QObject::connect(down, &QTcpSocket::disconnected, this, [pipe] {
            if (pipe->up)
                pipe->up->disconnectFromHost();
        });
        QObject::connect(up, &QTcpSocket::disconnected, this, [pipe] {
            if (pipe->down)
                pipe->down->disconnectFromHost();
        });
        // The server is gone (connection refused): the client must not wait on a dead pipe.
        QObject::connect(up, &QTcpSocket::errorOccurred, this, [pipe] {
            if (pipe->down && pipe->up && pipe->up->state() != QAbstractSocket::ConnectedState)
                pipe->down->abort();
        });
        QObject::connect(down, &QTcpSocket::disconnected, down, &QObject::deleteLater);
        QObject::connect(up, &QTcpSocket::disconnected, up, &QObject::deleteLater);
        up->connectToHost(m_host, m_port);
    }

    /// Moves what arrived on one side to the other, breaking the connection once at the mark.
    void relay(Pipe &pipe, bool fromClient)
    {
        QTcpSocket *from = fromClient ? pipe.down : pipe.up;
        if (!from)
            return;
        QByteArray data = from->readAll();
        qint64 &mark = fromClient ? m_cutUp : m_cutDown;
        const qint64 sofar = fromClient ? pipe.upBytes : pipe.downBytes;
        const bool cutNow = mark >= 0 && sofar + data.size() > mark;
        if (cutNow)
            data.truncate(qMax<qint64>(0, mark - sofar));
        if (fromClient) {
            forwardUp(pipe, data);
        } else {
            pipe.downBytes += data.size();
            m_down += data.size();
            if (pipe.down)
                pipe.down->write(data);
        }
        if (!cutNow)
            return;
        mark = -1;
        ++m_cuts;
        if (fromClient) {
            cut(pipe);
        } else {
            // The bytes so far reach the client, then the connection ends early.
            if (pipe.up)
                pipe.up->abort();
            if (pipe.down)
                pipe.down->disconnectFromHost();
        }
    }

    void forwardUp(Pipe &pipe, const QByteArray &data)
    {
        pipe.upBytes += data.size();
        m_up += data.size();
        if (m_sent.size() < 64 * 1024 * 1024)
            m_sent += data;
        if (pipe.up && pipe.up->state() == QAbstractSocket::ConnectedState)
            pipe.up->write(data);
        else
            pipe.pending += data;
    }

    static void cut(Pipe &pipe)
    {
        if (pipe.down)
            pipe.down->abort();
        if (pipe.up)
            pipe.up->abort();
    }

    QTcpServer m_server;
    QString m_host;
    quint16 m_port;
    qint64 m_cutUp = -1, m_cutDown = -1;
    int m_cuts = 0;
    qint64 m_up = 0, m_down = 0;
    QByteArray m_sent;
};

} // namespace bindery::tests
