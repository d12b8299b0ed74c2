// SPDX-License-Identifier: Apache-2.0
#include "core/bindings/rabbitmq/amqp_client.h"

#include <amqp_ssl_socket.h>
#include <amqp_tcp_socket.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>

#include <QRegularExpression>
#include <QStringList>

namespace bindery::bindings::rabbitmq {

namespace {

/// The reason of the last failed certificate check on this thread (the TLS handshake runs on the
/// thread that opens the connection); rabbitmq-c itself reports only "peer verify failed".
thread_local QString t_verifyError;

int verifyCallback(int ok, X509_STORE_CTX *store)
{
    if (!ok && t_verifyError.isEmpty())
        t_verifyError
            = QString::fromUtf8(X509_verify_cert_error_string(X509_STORE_CTX_get_error(store)));
    return ok;
}

/// Never prompt on a terminal for a key passphrase: an encrypted key is an error.
int noPassword(char *, int, int, void *)
{
    return 0;
}

QString opensslErrors()
{
    QStringList out;
    while (const unsigned long e = ERR_get_error()) {
        char buf[256];
        ERR_error_string_n(e, buf, sizeof buf);
        const QString reason = QString::fromUtf8(ERR_reason_error_string(e));
        out << (reason.isEmpty() ? QString::fromUtf8(buf) : reason);
    }
    out.removeDuplicates();
    return out.join(QStringLiteral("; "));
}

timeval toTimeval(int ms)
{
    ms = std::max(ms, 1);
    return timeval{ms / 1000, (ms % 1000) * 1000};
}

struct BioDeleter
{
    void operator()(BIO *b) const { BIO_free(b); }
};
using Bio = std::unique_ptr<BIO, BioDeleter>;

Bio memBio(const QByteArray &pem)
{
    return Bio(BIO_new_mem_buf(pem.constData(), static_cast<int>(pem.size())));
}

/// Sets up the TLS context rabbitmq-c made from PEM text, instead of its file-only calls.
AmqpResult<void> setUpTls(amqp_socket_t *socket, const RabbitMqSettings &s)
{
    auto *ctx = static_cast<SSL_CTX *>(amqp_ssl_socket_get_context(socket));
    if (!ctx)
        return tl::unexpected(AmqpError{QStringLiteral("rabbitmq: no TLS context"), true});
    ERR_clear_error();
    if (!s.caCert.isEmpty()) {
        X509_STORE *store = SSL_CTX_get_cert_store(ctx);
        Bio bio = memBio(s.caCert);
        int added = 0;
        while (X509 *cert = PEM_read_bio_X509(bio.get(), nullptr, noPassword, nullptr)) {
            if (X509_STORE_add_cert(store, cert) == 1)
                ++added;
            X509_free(cert);
        }
        ERR_clear_error(); // the loop ends with "no start line"
        if (added == 0)
            return tl::unexpected(AmqpError{
                QStringLiteral("rabbitmq: metadata 'caCert' holds no PEM certificate"), true});
    } else {
        SSL_CTX_set_default_verify_paths(ctx); // as Go: the system's CAs
    }
    if (!s.clientCert.isEmpty()) {
        Bio certBio = memBio(s.clientCert);
        X509 *leaf = PEM_read_bio_X509(certBio.get(), nullptr, noPassword, nullptr);
        if (!leaf || SSL_CTX_use_certificate(ctx, leaf) != 1) {
            X509_free(leaf);
            return tl::unexpected(AmqpError{
                QStringLiteral("rabbitmq: metadata 'clientCert' holds no usable PEM certificate: ")
                    + opensslErrors(),
                true});
        }
        X509_free(leaf);
        while (X509 *extra = PEM_read_bio_X509(certBio.get(), nullptr, noPassword, nullptr)) {
            if (SSL_CTX_add_extra_chain_cert(ctx, extra) != 1) // takes it on success
                X509_free(extra);
        }
        ERR_clear_error();
        Bio keyBio = memBio(s.clientKey);
        EVP_PKEY *key = PEM_read_bio_PrivateKey(keyBio.get(), nullptr, noPassword, nullptr);
        const bool used = key && SSL_CTX_use_PrivateKey(ctx, key) == 1;
        EVP_PKEY_free(key);
        if (!used)
            return tl::unexpected(AmqpError{
                QStringLiteral("rabbitmq: metadata 'clientKey' holds no usable PEM private key "
                               "(an encrypted key is not supported): ")
                    + opensslErrors(),
                true});
        if (SSL_CTX_check_private_key(ctx) != 1)
            return tl::unexpected(AmqpError{
                QStringLiteral("rabbitmq: metadata 'clientKey' does not match 'clientCert'"),
                true});
    }
    // Fail the handshake itself on a bad broker certificate, so OpenSSL says why.
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, verifyCallback);
    amqp_ssl_socket_set_verify_peer(socket, 1);
    amqp_ssl_socket_set_verify_hostname(socket, 1);
    return {};
}

/// The client certificate's common name: the identity SASL EXTERNAL signs in as. rabbitmq-c
/// cannot send an empty EXTERNAL response (it fails as "could not allocate memory"); RabbitMQ
/// takes the user from the certificate whatever the response says.
std::string certificateCommonName(const QByteArray &pem)
{
    Bio bio = memBio(pem);
    X509 *cert = PEM_read_bio_X509(bio.get(), nullptr, noPassword, nullptr);
    ERR_clear_error();
    if (!cert)
        return "client";
    char cn[256] = {};
    const int n
        = X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof cn);
    X509_free(cert);
    return n > 0 ? std::string(cn, static_cast<size_t>(n)) : std::string("client");
}

/// The broker's reply code and text of a connection.close or channel.close method.
bool closeDetails(const amqp_method_t &method, int *code, QString *text)
{
    if (method.id == AMQP_CONNECTION_CLOSE_METHOD) {
        const auto *m = static_cast<const amqp_connection_close_t *>(method.decoded);
        *code = m->reply_code;
        *text = toQString(m->reply_text);
        return true;
    }
    if (method.id == AMQP_CHANNEL_CLOSE_METHOD) {
        const auto *m = static_cast<const amqp_channel_close_t *>(method.decoded);
        *code = m->reply_code;
        *text = toQString(m->reply_text);
        return true;
    }
    return false;
}

/// A failed RPC as text; `permanent` for the broker's refusals that retrying cannot fix.
AmqpError replyError(const amqp_rpc_reply_t &reply, const QString &what)
{
    switch (reply.reply_type) {
    case AMQP_RESPONSE_NORMAL: return {what, false};
    case AMQP_RESPONSE_NONE: return {what + QStringLiteral(": no reply from the broker"), false};
    case AMQP_RESPONSE_LIBRARY_EXCEPTION:
        return {what + QStringLiteral(": ") + AmqpConnection::statusText(reply.library_error),
                false};
    case AMQP_RESPONSE_SERVER_EXCEPTION: {
        int code = 0;
        QString text;
        if (!closeDetails(reply.reply, &code, &text))
            return {what + QStringLiteral(": unexpected reply from the broker"), false};
        // 403 ACCESS_REFUSED, 404 NOT_FOUND, 406 PRECONDITION_FAILED, 530 NOT_ALLOWED (vhost)
        const bool permanent = code == 403 || code == 404 || code == 406 || code == 530;
        return {what + QStringLiteral(": ") + text, permanent};
    }
    }
    return {what, false};
}

/// components-contrib's field names for the queue arguments the broker compares.
QString fieldForArgument(const QString &argument)
{
    if (argument == QStringLiteral("durable"))
        return QStringLiteral("durable");
    if (argument == QStringLiteral("auto_delete"))
        return QStringLiteral("deleteWhenUnused");
    if (argument == QStringLiteral("exclusive"))
        return QStringLiteral("exclusive");
    if (argument == QStringLiteral("x-message-ttl"))
        return QStringLiteral("ttlInSeconds");
    if (argument == QStringLiteral("x-max-priority"))
        return QStringLiteral("maxPriority");
    return {};
}

} // namespace

QString AmqpConnection::statusText(int status)
{
    QString text = QString::fromUtf8(amqp_error_string2(status));
    if (status == AMQP_STATUS_SSL_ERROR || status == AMQP_STATUS_SSL_CONNECTION_FAILED
        || status == AMQP_STATUS_SSL_PEER_VERIFY_FAILED
        || status == AMQP_STATUS_SSL_HOSTNAME_VERIFY_FAILED) {
        QStringList why;
        if (!t_verifyError.isEmpty())
            why << t_verifyError;
        if (const QString ssl = opensslErrors(); !ssl.isEmpty())
            why << ssl;
        if (!why.isEmpty())
            text += QStringLiteral(" (") + why.join(QStringLiteral("; ")) + u')';
    }
    return text;
}

QString AmqpConnection::closeReason(const amqp_frame_t &frame)
{
    int code = 0;
    QString text;
    if (frame.frame_type != AMQP_FRAME_METHOD || !closeDetails(frame.payload.method, &code, &text))
        return QStringLiteral("closed by the broker");
    return QStringLiteral("%1 %2").arg(code).arg(text);
}

AmqpResult<std::unique_ptr<AmqpConnection>>
AmqpConnection::open(const RabbitMqSettings &s, Role role, int boundMs, const QString &name)
{
    std::unique_ptr<AmqpConnection> c(new AmqpConnection);
    c->m_role = role;
    c->m_conn = amqp_new_connection();
    if (!c->m_conn)
        return tl::unexpected(AmqpError{QStringLiteral("rabbitmq: out of memory"), false});
    const QString where = s.uri.display();
    t_verifyError.clear();
    ERR_clear_error();
    amqp_socket_t *socket
        = s.uri.tls ? amqp_ssl_socket_new(c->m_conn) : amqp_tcp_socket_new(c->m_conn);
    if (!socket)
        return tl::unexpected(AmqpError{QStringLiteral("rabbitmq: cannot create a socket"), false});
    if (s.uri.tls) {
        if (AmqpResult<void> tls = setUpTls(socket, s); !tls)
            return tl::unexpected(tls.error());
    }
    c->markBroken(); // until signed in, closing means just freeing
    const timeval connectTimeout = toTimeval(std::min(s.uri.connectTimeoutMs, boundMs));
    const int opened
        = amqp_socket_open_noblock(socket, s.uri.host.c_str(), s.uri.port, &connectTimeout);
    if (opened != AMQP_STATUS_OK) {
        const bool tlsRefused = opened == AMQP_STATUS_SSL_PEER_VERIFY_FAILED
                                || opened == AMQP_STATUS_SSL_HOSTNAME_VERIFY_FAILED
                                || opened == AMQP_STATUS_SSL_CONNECTION_FAILED;
        return tl::unexpected(AmqpError{
            QStringLiteral("rabbitmq: cannot connect to %1: %2").arg(where, statusText(opened)),
            tlsRefused});
    }
    // No Nagle: a publish must not wait for the broker's delayed ACK of the one before.
    if (const int fd = amqp_socket_get_sockfd(socket); fd >= 0) {
        const int one = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    const timeval bound = toTimeval(boundMs);
    amqp_set_handshake_timeout(c->m_conn, &bound);
    amqp_set_rpc_timeout(c->m_conn, &bound);
    // rabbitmq-c merges these into its own client properties. consumer_cancel_notify: a deleted
    // queue cancels the consumer (basic.cancel) instead of leaving it silently idle;
    // connection.blocked: the broker says when a resource alarm holds publishes back.
    const QByteArray connectionName = name.toUtf8();
    amqp_table_entry_t capabilities[2];
    capabilities[0].key = amqp_cstring_bytes("consumer_cancel_notify");
    capabilities[1].key = amqp_cstring_bytes("connection.blocked");
    for (amqp_table_entry_t &capability : capabilities) {
        capability.value.kind = AMQP_FIELD_KIND_BOOLEAN;
        capability.value.value.boolean = 1;
    }
    amqp_table_entry_t property[2];
    property[0].key = amqp_cstring_bytes("connection_name");
    property[0].value.kind = AMQP_FIELD_KIND_UTF8;
    property[0].value.value.bytes = amqp_bytes_t{static_cast<size_t>(connectionName.size()),
                                                 const_cast<char *>(connectionName.constData())};
    property[1].key = amqp_cstring_bytes("capabilities");
    property[1].value.kind = AMQP_FIELD_KIND_TABLE;
    property[1].value.value.table = amqp_table_t{2, capabilities};
    const amqp_table_t properties{2, property};
    const std::string identity
        = s.externalSasl ? certificateCommonName(s.clientCert) : std::string();
    const amqp_rpc_reply_t login
        = s.externalSasl ? amqp_login_with_properties(
              c->m_conn, s.uri.vhost.c_str(), AMQP_DEFAULT_MAX_CHANNELS, AMQP_DEFAULT_FRAME_SIZE,
              s.uri.heartbeatSeconds, &properties, AMQP_SASL_METHOD_EXTERNAL, identity.c_str())
                         : amqp_login_with_properties(
                             c->m_conn, s.uri.vhost.c_str(), AMQP_DEFAULT_MAX_CHANNELS,
                             AMQP_DEFAULT_FRAME_SIZE, s.uri.heartbeatSeconds, &properties,
                             AMQP_SASL_METHOD_PLAIN, s.uri.user.c_str(), s.uri.password.c_str());
    if (login.reply_type != AMQP_RESPONSE_NORMAL) {
        const QString as
            = s.externalSasl
                  ? QStringLiteral("with SASL EXTERNAL (the client certificate)")
                  : QStringLiteral("as user '%1'").arg(QString::fromStdString(s.uri.user));
        AmqpError e
            = replyError(login, QStringLiteral("rabbitmq: cannot sign in to %1 %2").arg(where, as));
        // A broker that drops the socket during sign-in (no connection.close) refused it too.
        if (login.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION
            && login.library_error == AMQP_STATUS_CONNECTION_CLOSED)
            e.permanent = true;
        // With TLS 1.3 the broker checks the client certificate after the handshake: its alert
        // may come as a bare "SSL error" during sign-in, with no detail left to read.
        if (login.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION
            && login.library_error == AMQP_STATUS_SSL_ERROR && !s.clientCert.isEmpty()
            && !e.message.contains(u'('))
            e.message += QStringLiteral(" (the broker ended the TLS session during sign-in: it "
                                        "may not trust the client certificate 'clientCert')");
        return tl::unexpected(e);
    }
    c->m_broken = false;
    if (AmqpResult<void> ch = c->openChannel(s, boundMs); !ch)
        return tl::unexpected(ch.error());
    return c;
}

AmqpResult<void> AmqpConnection::openChannel(const RabbitMqSettings &s, int boundMs)
{
    m_queue = s.queueName.toStdString();
    m_prefetch = s.prefetchCount;
    const timeval bound = toTimeval(boundMs);
    amqp_set_rpc_timeout(m_conn, &bound);
    amqp_channel_open(m_conn, CHANNEL);
    if (amqp_rpc_reply_t r = amqp_get_rpc_reply(m_conn); r.reply_type != AMQP_RESPONSE_NORMAL)
        return tl::unexpected(replyError(r, QStringLiteral("rabbitmq: cannot open a channel")));

    // The arguments and their types are daprd's (amqp091 encodes Go int as 'I', uint8 as 'B').
    amqp_table_entry_t entries[2];
    int n = 0;
    if (s.queueTtlMs) {
        entries[n].key = amqp_cstring_bytes("x-message-ttl");
        entries[n].value.kind = AMQP_FIELD_KIND_I32;
        entries[n].value.value.i32 = static_cast<int32_t>(*s.queueTtlMs);
        ++n;
    }
    if (s.maxPriority) {
        entries[n].key = amqp_cstring_bytes("x-max-priority");
        entries[n].value.kind = AMQP_FIELD_KIND_U8;
        entries[n].value.value.u8 = static_cast<uint8_t>(*s.maxPriority);
        ++n;
    }
    const amqp_table_t args{n, entries};
    amqp_queue_declare(m_conn, CHANNEL, queueBytes(), 0, s.durable, s.exclusive, s.deleteWhenUnused,
                       args);
    if (amqp_rpc_reply_t r = amqp_get_rpc_reply(m_conn); r.reply_type != AMQP_RESPONSE_NORMAL) {
        AmqpError e
            = replyError(r, QStringLiteral("rabbitmq: cannot declare queue '%1'").arg(s.queueName));
        static const QRegularExpression inequivalent(
            QStringLiteral("PRECONDITION_FAILED - inequivalent arg '([^']+)'"));
        if (const QRegularExpressionMatch m = inequivalent.match(e.message); m.hasMatch()) {
            const QString field = fieldForArgument(m.captured(1));
            if (!field.isEmpty())
                e.message = QStringLiteral("rabbitmq: queue '%1' already exists with another "
                                           "'%2' (metadata '%3' differs from the queue's): %4")
                                .arg(s.queueName, m.captured(1), field, e.message);
        } else if (e.message.contains(QStringLiteral("RESOURCE_LOCKED"))) {
            e.message += QStringLiteral(" (the queue is exclusive to another connection)");
        }
        return tl::unexpected(e);
    }
    return setUpRole();
}

amqp_bytes_t AmqpConnection::queueBytes() const
{
    return amqp_bytes_t{static_cast<size_t>(m_queue.size()), const_cast<char *>(m_queue.data())};
}

AmqpResult<void> AmqpConnection::setUpRole()
{
    if (m_role == Role::Publisher) {
        amqp_confirm_select(m_conn, CHANNEL);
        if (amqp_rpc_reply_t r = amqp_get_rpc_reply(m_conn); r.reply_type != AMQP_RESPONSE_NORMAL)
            return tl::unexpected(
                replyError(r, QStringLiteral("rabbitmq: cannot enable publisher confirms")));
    } else if (m_role == Role::Consumer) {
        // daprd: Qos(prefetchCount, 0, global=true), then a server-named consumer with acks.
        amqp_basic_qos(m_conn, CHANNEL, 0, static_cast<uint16_t>(m_prefetch), 1);
        if (amqp_rpc_reply_t r = amqp_get_rpc_reply(m_conn); r.reply_type != AMQP_RESPONSE_NORMAL)
            return tl::unexpected(
                replyError(r, QStringLiteral("rabbitmq: cannot set prefetchCount")));
        amqp_basic_consume(m_conn, CHANNEL, queueBytes(), amqp_empty_bytes, 0, 0, 0,
                           amqp_empty_table);
        if (amqp_rpc_reply_t r = amqp_get_rpc_reply(m_conn); r.reply_type != AMQP_RESPONSE_NORMAL)
            return tl::unexpected(replyError(
                r, QStringLiteral("rabbitmq: cannot consume queue '%1'")
                       .arg(QString::fromUtf8(m_queue.data(), qsizetype(m_queue.size())))));
    }
    return {};
}

AmqpResult<void> AmqpConnection::reopenChannel(int boundMs)
{
    const timeval bound = toTimeval(boundMs);
    amqp_set_rpc_timeout(m_conn, &bound);
    amqp_channel_open(m_conn, CHANNEL);
    if (amqp_rpc_reply_t r = amqp_get_rpc_reply(m_conn); r.reply_type != AMQP_RESPONSE_NORMAL)
        return tl::unexpected(replyError(r, QStringLiteral("rabbitmq: cannot reopen the channel")));
    return setUpRole();
}

int AmqpConnection::fd() const
{
    return m_conn ? amqp_get_sockfd(m_conn) : -1;
}

void AmqpConnection::acknowledgeClose(const amqp_frame_t &frame)
{
    if (frame.frame_type != AMQP_FRAME_METHOD)
        return;
    if (frame.payload.method.id == AMQP_CHANNEL_CLOSE_METHOD) {
        amqp_channel_close_ok_t ok{};
        amqp_send_method(m_conn, frame.channel, AMQP_CHANNEL_CLOSE_OK_METHOD, &ok);
    } else if (frame.payload.method.id == AMQP_CONNECTION_CLOSE_METHOD) {
        amqp_connection_close_ok_t ok{};
        amqp_send_method(m_conn, 0, AMQP_CONNECTION_CLOSE_OK_METHOD, &ok);
        m_broken = true; // nothing more to say on it
    }
}

AmqpConnection::~AmqpConnection()
{
    if (!m_conn)
        return;
    if (!m_broken) {
        // Polite and bounded: unacknowledged deliveries go back to the queue either way.
        const timeval bound = toTimeval(1000);
        amqp_set_rpc_timeout(m_conn, &bound);
        amqp_connection_close(m_conn, AMQP_REPLY_SUCCESS);
    }
    amqp_destroy_connection(m_conn);
}

} // namespace bindery::bindings::rabbitmq
