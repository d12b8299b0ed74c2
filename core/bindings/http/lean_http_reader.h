// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <QByteArray>
#include <QByteArrayView>
#include <QString>

#include "core/bindings/http/lean_http.h"
#include "core/http_client.h"

namespace bindery::bindings::http::Internal {

/**
 * @brief Reads one HTTP/1.x response out of a growing buffer for LeanHttp. Keeps its place
 * between calls, so a large body is scanned once. Its own header so that the fuzz harness
 * (tests/fuzz/fuzz_app_response.cpp) can feed it raw bytes. Value type; one thread at a time.
 */
class ResponseReader final
{
public:
    enum class State { More, Done, Bad };

    void reset(bool isHead, qint64 maxBody)
    {
        *this = ResponseReader();
        m_isHead = isHead;
        m_maxBody = maxBody;
    }
    /// `eof`: the peer closed the connection (ends a close-delimited body).
    State feed(QByteArray &buffer, bool eof, LeanResponse *r)
    {
        for (;;) {
            if (m_stage == Stage::Head) {
                const qsizetype end = buffer.indexOf("\r\n\r\n");
                if (end < 0) {
                    if (buffer.size() > 1024 * 1024)
                        return fail(r, QStringLiteral("response headers larger than 1 MiB"));
                    return eof ? fail(r, buffer.isEmpty()
                                             ? QStringLiteral("EOF")
                                             : QStringLiteral("unexpected EOF in the headers"))
                               : State::More;
                }
                if (!readHead(QByteArrayView(buffer.constData(), end), r))
                    return State::Bad;
                buffer.remove(0, end + 4);
                if (r->status >= 100 && r->status < 200 && r->status != 101)
                    continue; // an interim answer: the real one follows
                m_stage = Stage::Body;
                if (m_isHead || r->status == 204 || r->status == 304)
                    m_mode = Mode::None;
            }
            return readBody(buffer, eof, r);
        }
    }
    bool closeAfter() const { return m_close; }

private:
    enum class Stage { Head, Body };
    enum class Mode { Length, Chunked, Close, None };

    State fail(LeanResponse *r, const QString &why)
    {
        r->error = why;
        return State::Bad;
    }

    bool readHead(QByteArrayView head, LeanResponse *r)
    {
        core::ResponseHead parsed;
        if (!core::parseResponseHead(head, &parsed, &r->error))
            return false;
        r->status = parsed.status;
        r->reason = std::move(parsed.reason);
        r->headers = std::move(parsed.headers);
        m_close = parsed.closeAfter;
        m_mode = parsed.chunked              ? Mode::Chunked
                 : parsed.contentLength >= 0 ? Mode::Length
                                             : Mode::Close;
        m_length = parsed.contentLength;
        return true;
    }

    State append(LeanResponse *r, const char *data, qsizetype size)
    {
        if (m_maxBody >= 0 && size > m_maxBody - r->body.size()) { // no overflow near 2^63
            r->tooLarge = true;
            return fail(r, QStringLiteral("response body larger than %1 bytes").arg(m_maxBody));
        }
        r->body.append(data, size);
        return State::More;
    }

    State readBody(QByteArray &buffer, bool eof, LeanResponse *r)
    {
        switch (m_mode) {
        case Mode::None: return State::Done;
        case Mode::Length:
            if (m_length > m_maxBody && m_maxBody >= 0)
                return append(r, nullptr, m_length);
            if (buffer.size() < m_length)
                return eof ? fail(r, QStringLiteral("unexpected EOF: body shorter than "
                                                    "Content-Length"))
                           : State::More;
            r->body = buffer.left(m_length);
            buffer.remove(0, m_length);
            return State::Done;
        case Mode::Close:
            if (append(r, buffer.constData(), buffer.size()) == State::Bad)
                return State::Bad;
            buffer.clear();
            m_close = true;
            return eof ? State::Done : State::More;
        case Mode::Chunked:
            for (;;) {
                const qsizetype eol = buffer.indexOf("\r\n");
                if (eol < 0)
                    break;
                if (m_trailers) {
                    buffer.remove(0, eol + 2);
                    if (eol == 0)
                        return State::Done;
                    continue;
                }
                bool ok = false;
                const qint64 size
                    = buffer.left(eol).split(';').first().trimmed().toLongLong(&ok, 16);
                if (!ok || size < 0)
                    return fail(r, QStringLiteral("malformed chunk size"));
                if (size == 0) {
                    buffer.remove(0, eol + 2);
                    m_trailers = true;
                    continue;
                }
                // Announced sizes go up to 2^63 - 1: compared without adding to them (an
                // overflow fuzz_app_response reproduces), and refused at once over the bound.
                if (m_maxBody >= 0 && size > m_maxBody - r->body.size())
                    return append(r, nullptr, size);
                const qint64 have = buffer.size() - (eol + 2);
                if (have < 2 || have - 2 < size)
                    break;
                if (append(r, buffer.constData() + eol + 2, size) == State::Bad)
                    return State::Bad;
                buffer.remove(0, eol + 2 + size + 2);
            }
            return eof ? fail(r, QStringLiteral("unexpected EOF in a chunked body")) : State::More;
        }
        return State::Bad;
    }

    Stage m_stage = Stage::Head;
    Mode m_mode = Mode::Close;
    qint64 m_length = 0;
    qint64 m_maxBody = -1;
    bool m_isHead = false;
    bool m_close = false;
    bool m_trailers = false;
};

} // namespace bindery::bindings::http::Internal
