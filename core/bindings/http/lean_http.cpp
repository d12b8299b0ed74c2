// SPDX-License-Identifier: Apache-2.0
#include "core/bindings/http/lean_http.h"

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <memory>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <QAbstractEventDispatcher>
#include <QHash>
#include <QMetaObject>
#include <QObject>
#include <QSocketNotifier>
#include <QSet>
#include <QThread>
#include <QThreadStorage>
#include <QTimer>

#include "core/bindings/http/lean_http_reader.h"

namespace bindery::bindings::http {

namespace {

using Done = std::function<void(LeanResponse)>;

QString sysError(const char *what)
{
    return QStringLiteral("%1: %2").arg(QString::fromLatin1(what),
                                        QString::fromLocal8Bit(std::strerror(errno)));
}

using Internal::ResponseReader;

class Pool;

// One keep-alive connection and the request it carries. Lives on its pool's thread.
class Connection final : public QObject
{
public:
    Connection(Pool &pool, QByteArray key, int fd, bool connecting)
        : m_pool(pool)
        , m_key(std::move(key))
        , m_fd(fd)
        , m_connecting(connecting)
        , m_read(fd, QSocketNotifier::Read)
        , m_write(fd, QSocketNotifier::Write)
    {
        m_read.setEnabled(false);
        m_write.setEnabled(false);
        QObject::connect(&m_read, &QSocketNotifier::activated, this, [this] { onReadable(); });
        QObject::connect(&m_write, &QSocketNotifier::activated, this, [this] { onWritable(); });
        m_timer.setSingleShot(true);
        QObject::connect(&m_timer, &QTimer::timeout, this, [this] {
            LeanResponse r;
            r.timedOut = true;
            r.error = QStringLiteral("timeout awaiting the response");
            finish(std::move(r), true);
        });
    }
    ~Connection() override
    {
        if (m_done) {
            LeanResponse r;
            r.error = QStringLiteral("the connection pool was closed");
            Done done = std::move(m_done);
            done(std::move(r));
        }
        ::close(m_fd);
    }

    const QByteArray &key() const { return m_key; }
    bool reused() const { return m_uses > 0; }
    /// An idle connection the peer has not closed and that holds no stray bytes.
    bool alive() const
    {
        pollfd p{m_fd, POLLIN, 0};
        return ::poll(&p, 1, 0) == 0;
    }

    void start(QByteArray out, bool isHead, int timeoutMs, qint64 maxBody, Done done)
    {
        m_out = std::move(out);
        m_sent = 0;
        m_in.clear();
        m_response = LeanResponse();
        m_reader.reset(isHead, maxBody);
        m_done = std::move(done);
        m_timer.start(timeoutMs);
        if (m_connecting)
            m_write.setEnabled(true);
        else
            onWritable();
    }

private:
    void onWritable()
    {
        if (m_connecting) {
            int soerr = 0;
            socklen_t len = sizeof soerr;
            ::getsockopt(m_fd, SOL_SOCKET, SO_ERROR, &soerr, &len);
            if (soerr != 0) {
                errno = soerr;
                return fail(QStringLiteral("dial tcp %1: connect: %2")
                                .arg(QString::fromLatin1(m_key),
                                     QString::fromLocal8Bit(std::strerror(soerr))));
            }
            m_connecting = false;
        }
        while (m_sent < m_out.size()) {
            const ssize_t n = ::send(m_fd, m_out.constData() + m_sent,
                                     static_cast<size_t>(m_out.size() - m_sent), MSG_NOSIGNAL);
            if (n > 0) {
                m_sent += n;
                continue;
            }
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                m_write.setEnabled(true);
                return;
            }
            return fail(sysError("write"));
        }
        m_write.setEnabled(false);
        m_read.setEnabled(true);
    }

    void onReadable()
    {
        char chunk[16384];
        bool eof = false;
        for (;;) {
            const ssize_t n = ::recv(m_fd, chunk, sizeof chunk, 0);
            if (n > 0) {
                m_in.append(chunk, n);
                if (n < static_cast<ssize_t>(sizeof chunk))
                    break;
                continue;
            }
            if (n == 0) {
                eof = true;
                break;
            }
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            return fail(sysError("read"));
        }
        const ResponseReader::State state = m_reader.feed(m_in, eof, &m_response);
        if (state == ResponseReader::State::More && !eof)
            return;
        if (state == ResponseReader::State::Done) {
            ++m_uses;
            finish(std::move(m_response), eof || m_reader.closeAfter() || !m_in.isEmpty());
            return;
        }
        fail(m_response.error.isEmpty() ? QStringLiteral("EOF") : m_response.error);
    }

    void fail(const QString &why)
    {
        LeanResponse r;
        r.error = why;
        r.tooLarge = m_response.tooLarge;
        finish(std::move(r), true);
    }

    void finish(LeanResponse r, bool close);

    Pool &m_pool;
    QByteArray m_key;
    int m_fd;
    bool m_connecting;
    QSocketNotifier m_read;
    QSocketNotifier m_write;
    QTimer m_timer;
    QByteArray m_out;
    qsizetype m_sent = 0;
    QByteArray m_in;
    int m_uses = 0;
    LeanResponse m_response;
    ResponseReader m_reader;
    Done m_done;
};

// The connections of one thread, idle ones by host.
class Pool final
{
public:
    ~Pool()
    {
        for (auto it = m_idle.begin(); it != m_idle.end(); ++it)
            qDeleteAll(*it);
        qDeleteAll(m_busy);
    }

    void send(const QByteArray &host, quint16 port, QByteArray out, bool isHead, int timeoutMs,
              qint64 maxBody, Done done, bool retried = false)
    {
        const QByteArray key = host + ':' + QByteArray::number(port);
        Connection *c = nullptr;
        QList<Connection *> &idle = m_idle[key];
        while (!idle.isEmpty() && !c) {
            c = idle.takeLast();
            if (!c->alive()) {
                c->deleteLater();
                c = nullptr;
            }
        }
        if (!c) {
            QString error;
            c = open(host, port, key, &error);
            if (!c) {
                LeanResponse r;
                r.error = error;
                // Never from inside send(): the caller may hold locks.
                QMetaObject::invokeMethod(
                    QAbstractEventDispatcher::instance(),
                    [done = std::move(done), r]() { done(r); }, Qt::QueuedConnection);
                return;
            }
        }
        m_busy.insert(c);
        // A kept-alive connection the peer closed just now fails before any answer byte: send
        // once more on a fresh connection (Go and libcurl do the same).
        const bool reused = c->reused();
        c->start(out, isHead, timeoutMs, maxBody,
                 [this, host, port, out, isHead, timeoutMs, maxBody, done = std::move(done), reused,
                  retried](LeanResponse r) mutable {
                     if (reused && !retried && !r.timedOut && r.status == 0
                         && (r.error == QStringLiteral("EOF")
                             || r.error.startsWith(QStringLiteral("write"))
                             || r.error.startsWith(QStringLiteral("read")))) {
                         send(host, port, std::move(out), isHead, timeoutMs, maxBody,
                              std::move(done), true);
                         return;
                     }
                     done(std::move(r));
                 });
    }

    void release(Connection *c, bool close)
    {
        m_busy.remove(c);
        if (close || m_idle[c->key()].size() >= 64)
            c->deleteLater();
        else
            m_idle[c->key()].append(c);
    }

private:
    Connection *open(const QByteArray &host, quint16 port, const QByteArray &key, QString *error)
    {
        addrinfo hints{};
        hints.ai_socktype = SOCK_STREAM;
        hints.ai_flags = AI_NUMERICSERV;
        addrinfo *res = nullptr;
        const QByteArray service = QByteArray::number(port);
        // Numeric hosts and localhost only (HttpBinding sends names to libcurl): no lookup
        // that could block this thread on a DNS server.
        if (const int rc = ::getaddrinfo(host.constData(), service.constData(), &hints, &res);
            rc != 0) {
            *error = QStringLiteral("dial tcp: lookup %1: %2")
                         .arg(QString::fromLatin1(host), QString::fromLocal8Bit(gai_strerror(rc)));
            return nullptr;
        }
        Connection *c = nullptr;
        for (addrinfo *ai = res; ai && !c; ai = ai->ai_next) {
            const int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
                                    ai->ai_protocol);
            if (fd < 0) {
                *error = sysError("socket");
                continue;
            }
            const int one = 1;
            ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            const int rc = ::connect(fd, ai->ai_addr, ai->ai_addrlen);
            if (rc != 0 && errno != EINPROGRESS) {
                *error = QStringLiteral("dial tcp %1: connect: %2")
                             .arg(QString::fromLatin1(key),
                                  QString::fromLocal8Bit(std::strerror(errno)));
                ::close(fd);
                continue;
            }
            c = new Connection(*this, key, fd, rc != 0);
        }
        ::freeaddrinfo(res);
        return c;
    }

    QHash<QByteArray, QList<Connection *>> m_idle;
    QSet<Connection *> m_busy;
};

void Connection::finish(LeanResponse r, bool close)
{
    m_timer.stop();
    m_read.setEnabled(false);
    m_write.setEnabled(false);
    Done done = std::move(m_done);
    m_done = nullptr;
    m_pool.release(this, close || !r.error.isEmpty());
    if (done)
        done(std::move(r));
}

Pool &threadPool()
{
    // Destroyed when the thread finishes, before its event dispatcher is.
    static QThreadStorage<Pool *> pools;
    if (!pools.hasLocalData())
        pools.setLocalData(new Pool);
    return *pools.localData();
}

} // namespace

bool LeanHttp::usable()
{
    // A dispatcher alone is not enough: a thread that has one but blocks (a caller waiting on
    // the answer outside any event loop) would never see the sockets become ready.
    QThread *thread = QThread::currentThread();
    return QAbstractEventDispatcher::instance(thread) != nullptr && thread->loopLevel() > 0;
}

void LeanHttp::send(const QByteArray &host, quint16 port, QByteArray head, QByteArray body,
                    bool isHead, int timeoutMs, qint64 maxBody,
                    std::function<void(LeanResponse)> done)
{
    head += body;
    threadPool().send(host, port, std::move(head), isHead, timeoutMs, maxBody, std::move(done));
}

} // namespace bindery::bindings::http
