// SPDX-License-Identifier: Apache-2.0
#include "core/bindings/gcp_bucket/go_compat.h"

#include <array>
#include <charconv>
#include <cstring>
#include <limits>

#include <nlohmann/json.hpp>

#include "core/go_json.h"

using namespace Qt::Literals::StringLiterals;

namespace bindery::bindings::gcp_bucket {

namespace {

// ---- UTF-8, as Go's unicode/utf8 decodes it ----

int validRuneLength(const unsigned char *p, qsizetype n, char32_t *rune = nullptr)
{
    return int(core::goUtf8Rune(p, size_t(n), rune));
}

int appendRune(char *out, char32_t r)
{
    if (r < 0x80) {
        out[0] = char(r);
        return 1;
    }
    if (r < 0x800) {
        out[0] = char(0xC0 | (r >> 6));
        out[1] = char(0x80 | (r & 0x3F));
        return 2;
    }
    if (r < 0x10000) {
        out[0] = char(0xE0 | (r >> 12));
        out[1] = char(0x80 | ((r >> 6) & 0x3F));
        out[2] = char(0x80 | (r & 0x3F));
        return 3;
    }
    out[0] = char(0xF0 | (r >> 18));
    out[1] = char(0x80 | ((r >> 12) & 0x3F));
    out[2] = char(0x80 | ((r >> 6) & 0x3F));
    out[3] = char(0x80 | (r & 0x3F));
    return 4;
}

/// Exactly `digits` hex digits at `text` (no sign, no prefix), or -1.
qint64 parseHex(const char *text, int digits)
{
    quint64 value = 0;
    const auto [end, ec] = std::from_chars(text, text + digits, value, 16);
    return ec == std::errc() && end == text + digits ? qint64(value) : -1;
}

/**
 * Go's strconv.UnquoteChar for one character of a quoted literal at in[*pos] (*pos < end): writes
 * its bytes to out (at most 4) and returns how many, or -1 on a syntax error.
 */
int unquoteChar(const char *in, qsizetype end, qsizetype *pos, char quote, char *out)
{
    const auto c = static_cast<unsigned char>(in[*pos]);
    if (c == static_cast<unsigned char>(quote))
        return -1;
    if (c >= 0x80) {
        const int len
            = validRuneLength(reinterpret_cast<const unsigned char *>(in + *pos), end - *pos);
        if (len == 0) {
            *pos += 1;
            return appendRune(out, 0xFFFD);
        }
        std::memcpy(out, in + *pos, size_t(len));
        *pos += len;
        return len;
    }
    if (c != '\\') {
        out[0] = char(c);
        *pos += 1;
        return 1;
    }
    if (*pos + 1 >= end)
        return -1;
    const char e = in[*pos + 1];
    *pos += 2;
    switch (e) {
    case 'a': out[0] = '\a'; return 1;
    case 'b': out[0] = '\b'; return 1;
    case 'f': out[0] = '\f'; return 1;
    case 'n': out[0] = '\n'; return 1;
    case 'r': out[0] = '\r'; return 1;
    case 't': out[0] = '\t'; return 1;
    case 'v': out[0] = '\v'; return 1;
    case '\\': out[0] = '\\'; return 1;
    case '\'':
    case '"':
        if (e != quote)
            return -1;
        out[0] = e;
        return 1;
    case 'x':
    case 'u':
    case 'U': {
        const int digits = e == 'x' ? 2 : e == 'u' ? 4 : 8;
        if (end - *pos < digits)
            return -1;
        const qint64 parsed = parseHex(in + *pos, digits);
        if (parsed < 0)
            return -1;
        const auto v = char32_t(parsed);
        *pos += digits;
        if (e == 'x') { // one byte, possibly not UTF-8
            out[0] = char(v);
            return 1;
        }
        if (v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
            return -1;
        return appendRune(out, v);
    }
    default:
        if (e < '0' || e > '7')
            return -1;
        if (end - *pos < 2)
            return -1;
        char32_t v = char32_t(e - '0');
        for (int j = 0; j < 2; ++j) {
            const char d = in[*pos + j];
            if (d < '0' || d > '7')
                return -1;
            v = (v << 3) | char32_t(d - '0');
        }
        *pos += 2;
        if (v > 255)
            return -1;
        out[0] = char(v);
        return 1;
    }
}

/// True when a quoted literal holds a byte that is not valid UTF-8 (it would grow to U+FFFD).
bool hasInvalidUtf8(const char *in, qsizetype from, qsizetype to)
{
    for (qsizetype i = from; i < to;) {
        for (quint64 v = 0; to - i >= 8; i += 8) { // ASCII, the common case, 8 bytes at a time
            std::memcpy(&v, in + i, sizeof v);
            if (v & 0x8080808080808080ULL)
                break;
        }
        while (i < to && static_cast<unsigned char>(in[i]) < 0x80)
            ++i;
        if (i == to)
            break;
        const int len = validRuneLength(reinterpret_cast<const unsigned char *>(in + i), to - i);
        if (len == 0)
            return true;
        i += len;
    }
    return false;
}

} // namespace

bool goUnquoteInPlace(QByteArray &data)
{
    const qsizetype n = data.size();
    if (n < 2)
        return false;
    const char *in = data.constData();
    const char quote = in[0];
    if (quote == '`') {
        const void *close = std::memchr(in + 1, '`', size_t(n - 1));
        if (!close || static_cast<const char *>(close) != in + n - 1)
            return false;
        char *p = data.data();
        qsizetype w = 0;
        for (qsizetype r = 1; r < n - 1; ++r) {
            if (p[r] != '\r')
                p[w++] = p[r];
        }
        data.resize(w);
        return true;
    }
    if (quote != '"' && quote != '\'')
        return false;
    const void *firstQuote = std::memchr(in + 1, quote, size_t(n - 1));
    if (!firstQuote)
        return false;
    const qsizetype end = static_cast<const char *>(firstQuote) - in + 1;

    // Go's fast path: no escapes and no newline up to the first closing quote.
    if (!std::memchr(in, '\\', size_t(end)) && !std::memchr(in, '\n', size_t(end))) {
        const auto *body = reinterpret_cast<const unsigned char *>(in + 1);
        bool valid = false;
        if (quote == '"') {
            valid = !hasInvalidUtf8(reinterpret_cast<const char *>(body), 0, end - 2);
        } else {
            const int len = end - 2 > 0 ? validRuneLength(body, end - 2) : 0;
            valid = len > 0 && len == end - 2;
        }
        if (valid) {
            if (end != n)
                return false; // text after the literal
            // Qt 6 drops leading bytes by moving the start, and trailing ones by the size: the
            // buffer is neither copied nor moved.
            data.remove(0, 1);
            data.chop(1);
            return true;
        }
    }

    // Escapes. A first pass only checks the literal, so a failure leaves `data` as it was; the
    // second decodes into the same buffer (never longer), unless an invalid byte would grow.
    auto decode = [quote, n](const char *src, char *out) -> qsizetype {
        qsizetype r = 1;
        qsizetype w = 0;
        char tmp[4];
        int chars = 0;
        while (r < n && src[r] != quote) {
            if (src[r] == '\n')
                return -1;
            const int len = unquoteChar(src, n, &r, quote, tmp);
            if (len < 0)
                return -1;
            if (out)
                std::memcpy(out + w, tmp, size_t(len));
            w += len;
            ++chars;
            if (quote == '\'')
                break;
        }
        // The closing quote must end the input (Unquote refuses text after it).
        if (r + 1 != n || src[r] != quote || (quote == '\'' && chars != 1))
            return -1;
        return w;
    };
    if (decode(in, nullptr) < 0)
        return false;
    if (hasInvalidUtf8(in, 1, n)) {
        QByteArray rebuilt(n * 3, Qt::Uninitialized);
        rebuilt.resize(decode(in, rebuilt.data()));
        data = std::move(rebuilt);
        return true;
    }
    char *p = data.data(); // detaches a shared buffer first
    data.resize(decode(p, p));
    return true;
}

// ---- base64 ----

namespace {

constexpr char BASE64_ALPHABET[]
    = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

const std::array<unsigned char, 256> &base64DecodeMap()
{
    static const std::array<unsigned char, 256> map = [] {
        std::array<unsigned char, 256> m;
        m.fill(0xFF);
        for (int i = 0; i < 64; ++i)
            m[static_cast<unsigned char>(BASE64_ALPHABET[i])] = static_cast<unsigned char>(i);
        return m;
    }();
    return map;
}

/// Go's Encoding.decodeQuantum over a window without newlines: decodes the quantum at src[*si],
/// writes up to 3 bytes, returns how many; *error gets Go's CorruptInputError offset or -1.
int decodeQuantum(const unsigned char *src, qsizetype len, qsizetype *si, unsigned char *dst,
                  qsizetype *error)
{
    const auto &map = base64DecodeMap();
    unsigned char dbuf[4] = {0, 0, 0, 0};
    int dlen = 4;
    *error = -1;
    for (int j = 0; j < 4; ++j) {
        if (len == *si) {
            if (j == 0)
                return 0;
            *error = *si - j; // padding is required: a short quantum is corrupt
            return 0;
        }
        const unsigned char in = src[*si];
        ++*si;
        const unsigned char out = map[in];
        if (out != 0xFF) {
            dbuf[j] = out;
            continue;
        }
        if (in != '=') {
            *error = *si - 1;
            return 0;
        }
        if (j == 0 || j == 1) {
            *error = *si - 1;
            return 0;
        }
        if (j == 2) { // "==" expected; the first is consumed
            if (*si == len) {
                *error = len;
                return 0;
            }
            if (src[*si] != '=') {
                *error = *si - 1;
                return 0;
            }
            ++*si;
        }
        if (*si < len)
            *error = *si; // trailing garbage; the quantum itself still decodes
        dlen = j;
        break;
    }
    const unsigned val = unsigned(dbuf[0]) << 18 | unsigned(dbuf[1]) << 12 | unsigned(dbuf[2]) << 6
                         | unsigned(dbuf[3]);
    const unsigned char bytes[3]
        = {static_cast<unsigned char>(val >> 16), static_cast<unsigned char>(val >> 8),
           static_cast<unsigned char>(val)};
    for (int k = 0; k < dlen - 1; ++k)
        dst[k] = bytes[k];
    return dlen - 1;
}

QString corruptInput(qsizetype offset)
{
    return u"illegal base64 data at input byte %1"_s.arg(offset);
}

} // namespace

Result<> goBase64DecodeInPlace(QByteArray &data)
{
    // base64.NewDecoder reads through a newline filter into a 1024-byte buffer and decodes the
    // whole quanta it holds; io.Copy keeps asking until EOF or an error. The output never
    // overtakes the input (3 bytes out per 4 in), so it is written into the same buffer.
    constexpr qsizetype WINDOW = 1024;
    unsigned char *buf = reinterpret_cast<unsigned char *>(data.data());
    const qsizetype n = data.size();
    unsigned char window[WINDOW];
    qsizetype held = 0; // filtered bytes in `window`
    qsizetype r = 0;    // raw bytes consumed
    qsizetype w = 0;    // decoded bytes written
    bool eof = false;
    const auto &map = base64DecodeMap();
    for (;;) {
        // A whole window of alphabet characters (no newline, no padding, nothing corrupt) with
        // nothing held decodes straight from the input, as the window would: checked first,
        // then decoded, since the output may overwrite input the slow path would read again.
        while (held == 0 && n - r >= WINDOW) {
            unsigned bad = 0;
            for (qsizetype i = r; i < r + WINDOW; ++i)
                bad |= map[buf[i]];
            if (bad & 0xC0)
                break;
            for (qsizetype i = r; i < r + WINDOW; i += 4) {
                const unsigned v = unsigned(map[buf[i]]) << 18 | unsigned(map[buf[i + 1]]) << 12
                                   | unsigned(map[buf[i + 2]]) << 6 | unsigned(map[buf[i + 3]]);
                buf[w] = static_cast<unsigned char>(v >> 16);
                buf[w + 1] = static_cast<unsigned char>(v >> 8);
                buf[w + 2] = static_cast<unsigned char>(v);
                w += 3;
            }
            r += WINDOW;
        }
        while (held < 4 && !eof) {
            // newlineFilteringReader.Read(window[held:]): reads that many raw bytes, drops
            // \r and \n, and reads again while a read was only newlines.
            qsizetype got = 0;
            while (got == 0) {
                const qsizetype take = qMin(WINDOW - held, n - r);
                if (take == 0) {
                    eof = true;
                    break;
                }
                for (qsizetype i = 0; i < take; ++i) {
                    const unsigned char c = buf[r + i];
                    if (c != '\r' && c != '\n')
                        window[held + got++] = c;
                }
                r += take;
            }
            held += got;
        }
        if (held < 4) {
            data.resize(w);
            if (held > 0)
                return fail(ErrorCode::MalformedData, u"unexpected EOF"_s);
            return {};
        }
        const qsizetype whole = held / 4 * 4;
        qsizetype si = 0;
        while (si < whole) {
            // Four alphabet characters: three bytes, without decodeQuantum's special cases.
            const unsigned a = map[window[si]], b = map[window[si + 1]], c = map[window[si + 2]],
                           d = map[window[si + 3]];
            if (((a | b | c | d) & 0xC0) == 0) {
                const unsigned v = a << 18 | b << 12 | c << 6 | d;
                buf[w] = static_cast<unsigned char>(v >> 16);
                buf[w + 1] = static_cast<unsigned char>(v >> 8);
                buf[w + 2] = static_cast<unsigned char>(v);
                w += 3;
                si += 4;
                continue;
            }
            qsizetype error = -1;
            w += decodeQuantum(window, whole, &si, buf + w, &error);
            if (error >= 0) {
                data.resize(w);
                return fail(ErrorCode::MalformedData, corruptInput(error));
            }
        }
        held -= whole;
        std::memmove(window, window + whole, size_t(held));
    }
}

void base64EncodeInPlace(QByteArray &data)
{
    const qsizetype n = data.size();
    const qsizetype groups = (n + 2) / 3;
    data.resize(groups * 4);
    auto *p = reinterpret_cast<unsigned char *>(data.data());
    // From the last group backwards: group g is read from [3g, 3g+3) before [4g, 4g+4) is
    // written, and every byte that write covers belongs to a group already encoded.
    for (qsizetype g = groups - 1; g >= 0; --g) {
        const qsizetype at = g * 3;
        const int have = int(qMin<qsizetype>(3, n - at));
        const unsigned b0 = p[at];
        const unsigned b1 = have > 1 ? p[at + 1] : 0;
        const unsigned b2 = have > 2 ? p[at + 2] : 0;
        const unsigned v = b0 << 16 | b1 << 8 | b2;
        unsigned char *o = p + g * 4;
        o[0] = static_cast<unsigned char>(BASE64_ALPHABET[(v >> 18) & 63]);
        o[1] = static_cast<unsigned char>(BASE64_ALPHABET[(v >> 12) & 63]);
        o[2] = have > 1 ? static_cast<unsigned char>(BASE64_ALPHABET[(v >> 6) & 63]) : '=';
        o[3] = have > 2 ? static_cast<unsigned char>(BASE64_ALPHABET[v & 63]) : '=';
    }
}

// ---- http.DetectContentType ----

namespace {

bool isSniffWhitespace(unsigned char b)
{
    return b == '\t' || b == '\n' || b == 0x0C || b == '\r' || b == ' ';
}

struct Signature
{
    enum Kind { Html, Masked, Exact, Mp4, Text } kind;
    QByteArrayView pattern;
    QByteArrayView mask;
    bool skipWhitespace = false;
    const char *contentType = nullptr;
};

bool matches(const Signature &sig, QByteArrayView data, qsizetype firstNonWs)
{
    switch (sig.kind) {
    case Signature::Exact: return data.startsWith(sig.pattern);
    case Signature::Masked: {
        const QByteArrayView d = sig.skipWhitespace ? data.sliced(firstNonWs) : data;
        if (d.size() < sig.pattern.size())
            return false;
        for (qsizetype i = 0; i < sig.pattern.size(); ++i) {
            if ((static_cast<unsigned char>(d[i]) & static_cast<unsigned char>(sig.mask[i]))
                != static_cast<unsigned char>(sig.pattern[i]))
                return false;
        }
        return true;
    }
    case Signature::Html: {
        const QByteArrayView d = data.sliced(firstNonWs);
        if (d.size() < sig.pattern.size() + 1)
            return false;
        for (qsizetype i = 0; i < sig.pattern.size(); ++i) {
            auto db = static_cast<unsigned char>(d[i]);
            const auto b = static_cast<unsigned char>(sig.pattern[i]);
            if (b >= 'A' && b <= 'Z')
                db &= 0xDF;
            if (b != db)
                return false;
        }
        const char tt = d[sig.pattern.size()];
        return tt == ' ' || tt == '>';
    }
    case Signature::Mp4: {
        if (data.size() < 12)
            return false;
        const auto *u = reinterpret_cast<const unsigned char *>(data.data());
        const qsizetype boxSize = qsizetype(u[0]) << 24 | qsizetype(u[1]) << 16
                                  | qsizetype(u[2]) << 8 | qsizetype(u[3]);
        if (data.size() < boxSize || boxSize % 4 != 0)
            return false;
        if (data.sliced(4, 4) != "ftyp")
            return false;
        for (qsizetype st = 8; st < boxSize; st += 4) {
            if (st == 12)
                continue; // the version of the major brand
            if (data.sliced(st, 3) == "mp4")
                return true;
        }
        return false;
    }
    case Signature::Text:
        for (const char c : data.sliced(firstNonWs)) {
            const auto b = static_cast<unsigned char>(c);
            if (b <= 0x08 || b == 0x0B || (b >= 0x0E && b <= 0x1A) || (b >= 0x1C && b <= 0x1F))
                return false;
        }
        return true;
    }
    return false;
}

} // namespace

QByteArray goDetectContentType(QByteArrayView data)
{
    using S = Signature;
    static constexpr const char *HTML = "text/html; charset=utf-8";
    static const QByteArrayView FF5("\xFF\xFF\xFF\xFF\xFF", 5);
    static const S signatures[] = {
        {S::Html, "<!DOCTYPE HTML", {}, false, HTML},
        {S::Html, "<HTML", {}, false, HTML},
        {S::Html, "<HEAD", {}, false, HTML},
        {S::Html, "<SCRIPT", {}, false, HTML},
        {S::Html, "<IFRAME", {}, false, HTML},
        {S::Html, "<H1", {}, false, HTML},
        {S::Html, "<DIV", {}, false, HTML},
        {S::Html, "<FONT", {}, false, HTML},
        {S::Html, "<TABLE", {}, false, HTML},
        {S::Html, "<A", {}, false, HTML},
        {S::Html, "<STYLE", {}, false, HTML},
        {S::Html, "<TITLE", {}, false, HTML},
        {S::Html, "<B", {}, false, HTML},
        {S::Html, "<BODY", {}, false, HTML},
        {S::Html, "<BR", {}, false, HTML},
        {S::Html, "<P", {}, false, HTML},
        {S::Html, "<!--", {}, false, HTML},
        {S::Masked, "<?xml", FF5, true, "text/xml; charset=utf-8"},
        {S::Exact, "%PDF-", {}, false, "application/pdf"},
        {S::Exact, "%!PS-Adobe-", {}, false, "application/postscript"},
        {S::Masked, QByteArrayView("\xFE\xFF\x00\x00", 4), QByteArrayView("\xFF\xFF\x00\x00", 4),
         false, "text/plain; charset=utf-16be"},
        {S::Masked, QByteArrayView("\xFF\xFE\x00\x00", 4), QByteArrayView("\xFF\xFF\x00\x00", 4),
         false, "text/plain; charset=utf-16le"},
        {S::Masked, QByteArrayView("\xEF\xBB\xBF\x00", 4), QByteArrayView("\xFF\xFF\xFF\x00", 4),
         false, "text/plain; charset=utf-8"},
        {S::Exact, QByteArrayView("\x00\x00\x01\x00", 4), {}, false, "image/x-icon"},
        {S::Exact, QByteArrayView("\x00\x00\x02\x00", 4), {}, false, "image/x-icon"},
        {S::Exact, "BM", {}, false, "image/bmp"},
        {S::Exact, "GIF87a", {}, false, "image/gif"},
        {S::Exact, "GIF89a", {}, false, "image/gif"},
        {S::Masked, QByteArrayView("RIFF\x00\x00\x00\x00WEBPVP", 14),
         QByteArrayView("\xFF\xFF\xFF\xFF\x00\x00\x00\x00\xFF\xFF\xFF\xFF\xFF\xFF", 14), false,
         "image/webp"},
        {S::Exact, "\x89PNG\x0D\x0A\x1A\x0A", {}, false, "image/png"},
        {S::Exact, "\xFF\xD8\xFF", {}, false, "image/jpeg"},
        {S::Masked,
         QByteArrayView("FORM\x00\x00\x00\x00"
                        "AIFF",
                        12),
         QByteArrayView("\xFF\xFF\xFF\xFF\x00\x00\x00\x00\xFF\xFF\xFF\xFF", 12), false,
         "audio/aiff"},
        {S::Masked, "ID3", QByteArrayView("\xFF\xFF\xFF", 3), false, "audio/mpeg"},
        {S::Masked, QByteArrayView("OggS\x00", 5), FF5, false, "application/ogg"},
        {S::Masked, QByteArrayView("MThd\x00\x00\x00\x06", 8),
         QByteArrayView("\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF", 8), false, "audio/midi"},
        {S::Masked,
         QByteArrayView("RIFF\x00\x00\x00\x00"
                        "AVI ",
                        12),
         QByteArrayView("\xFF\xFF\xFF\xFF\x00\x00\x00\x00\xFF\xFF\xFF\xFF", 12), false,
         "video/avi"},
        {S::Masked, QByteArrayView("RIFF\x00\x00\x00\x00WAVE", 12),
         QByteArrayView("\xFF\xFF\xFF\xFF\x00\x00\x00\x00\xFF\xFF\xFF\xFF", 12), false,
         "audio/wave"},
        {S::Mp4, {}, {}, false, "video/mp4"},
        {S::Exact, "\x1A\x45\xDF\xA3", {}, false, "video/webm"},
        {S::Masked,
         QByteArrayView("\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0LP",
                        36),
         QByteArrayView(
             "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\xFF\xFF", 36),
         false, "application/vnd.ms-fontobject"},
        {S::Exact, QByteArrayView("\x00\x01\x00\x00", 4), {}, false, "font/ttf"},
        {S::Exact, "OTTO", {}, false, "font/otf"},
        {S::Exact, "ttcf", {}, false, "font/collection"},
        {S::Exact, "wOFF", {}, false, "font/woff"},
        {S::Exact, "wOF2", {}, false, "font/woff2"},
        {S::Exact, "\x1F\x8B\x08", {}, false, "application/x-gzip"},
        {S::Exact, "PK\x03\x04", {}, false, "application/zip"},
        {S::Exact,
         QByteArrayView("Rar!\x1A\x07\x00", 7),
         {},
         false,
         "application/x-rar-compressed"},
        {S::Exact,
         QByteArrayView("Rar!\x1A\x07\x01\x00", 8),
         {},
         false,
         "application/x-rar-compressed"},
        {S::Exact, QByteArrayView("\x00\x61\x73\x6D", 4), {}, false, "application/wasm"},
        {S::Text, {}, {}, false, "text/plain; charset=utf-8"},
    };
    const QByteArrayView head = data.first(qMin<qsizetype>(data.size(), 512));
    qsizetype firstNonWs = 0;
    while (firstNonWs < head.size()
           && isSniffWhitespace(static_cast<unsigned char>(head[firstNonWs])))
        ++firstNonWs;
    for (const S &sig : signatures) {
        if (matches(sig, head, firstNonWs))
            return QByteArray(sig.contentType);
    }
    return QByteArrayLiteral("application/octet-stream");
}

// ---- time.ParseDuration ----

QString goQuote(const QString &text)
{
    QString out = u"\""_s;
    for (const QChar c : text) {
        switch (c.unicode()) {
        case '"': out += u"\\\""_s; break;
        case '\\': out += u"\\\\"_s; break;
        case '\n': out += u"\\n"_s; break;
        case '\r': out += u"\\r"_s; break;
        case '\t': out += u"\\t"_s; break;
        case '\a': out += u"\\a"_s; break;
        case '\b': out += u"\\b"_s; break;
        case '\f': out += u"\\f"_s; break;
        case '\v': out += u"\\v"_s; break;
        default:
            if (c.unicode() < 0x20 || c.unicode() == 0x7F)
                out += u"\\x%1"_s.arg(int(c.unicode()), 2, 16, QChar(u'0'));
            else
                out += c;
        }
    }
    return out + u'"';
}

Result<qint64> goParseDuration(const QString &text)
{
    const auto invalid = [&] {
        return fail(ErrorCode::InvalidMetadata, u"time: invalid duration "_s + goQuote(text));
    };
    const QByteArray orig = text.toUtf8();
    QByteArrayView s(orig);
    bool negative = false;
    if (!s.isEmpty() && (s[0] == '-' || s[0] == '+')) {
        negative = s[0] == '-';
        s = s.sliced(1);
    }
    if (s == "0")
        return qint64(0);
    if (s.isEmpty())
        return invalid();
    constexpr quint64 LIMIT = quint64(1) << 63;
    quint64 total = 0;
    while (!s.isEmpty()) {
        if (!(s[0] == '.' || (s[0] >= '0' && s[0] <= '9')))
            return invalid();
        // leadingInt
        quint64 v = 0;
        qsizetype i = 0;
        for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) {
            if (v > (LIMIT - 1) / 10)
                return invalid();
            v = v * 10 + quint64(s[i] - '0');
            if (v > LIMIT)
                return invalid();
        }
        const bool pre = i > 0;
        s = s.sliced(i);
        quint64 f = 0;
        double scale = 1;
        bool post = false;
        if (!s.isEmpty() && s[0] == '.') {
            s = s.sliced(1);
            qsizetype j = 0;
            bool overflow = false;
            for (; j < s.size() && s[j] >= '0' && s[j] <= '9'; ++j) {
                if (overflow)
                    continue;
                if (f > (std::numeric_limits<qint64>::max() - 1) / 10) {
                    overflow = true;
                    continue;
                }
                const quint64 y = f * 10 + quint64(s[j] - '0');
                if (y > quint64(std::numeric_limits<qint64>::max())) {
                    overflow = true;
                    continue;
                }
                f = y;
                scale *= 10;
            }
            post = j > 0;
            s = s.sliced(j);
        }
        if (!pre && !post)
            return invalid();
        qsizetype u = 0;
        for (; u < s.size() && s[u] != '.' && !(s[u] >= '0' && s[u] <= '9'); ++u) {
        }
        if (u == 0)
            return fail(ErrorCode::InvalidMetadata,
                        u"time: missing unit in duration "_s + goQuote(text));
        const QByteArrayView unitName = s.first(u);
        s = s.sliced(u);
        quint64 unit = 0;
        if (unitName == "ns")
            unit = 1;
        else if (unitName == "us" || unitName == "\xC2\xB5s" || unitName == "\xCE\xBCs")
            unit = 1000;
        else if (unitName == "ms")
            unit = 1000000;
        else if (unitName == "s")
            unit = 1000000000;
        else if (unitName == "m")
            unit = 60ULL * 1000000000;
        else if (unitName == "h")
            unit = 3600ULL * 1000000000;
        else
            return fail(ErrorCode::InvalidMetadata,
                        u"time: unknown unit %1 in duration %2"_s.arg(
                            goQuote(QString::fromUtf8(unitName)), goQuote(text)));
        if (v > LIMIT / unit)
            return invalid();
        v *= unit;
        if (f > 0) {
            v += quint64(double(f) * (double(unit) / scale));
            if (v > LIMIT)
                return invalid();
        }
        total += v;
        if (total > LIMIT)
            return invalid();
    }
    if (negative)
        return total == LIMIT ? std::numeric_limits<qint64>::min() : -qint64(total);
    if (total > LIMIT - 1)
        return invalid();
    return qint64(total);
}

// ---- url.Parse(...).String() ----

namespace {

enum class UrlPart { Path, Fragment };

bool isUnreserved(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-'
           || c == '_' || c == '.' || c == '~';
}

// Go's shouldEscape for encodePath and encodeFragment.
bool shouldEscape(unsigned char c, UrlPart part)
{
    if (isUnreserved(c))
        return false;
    switch (c) {
    case '$':
    case '&':
    case '+':
    case ',':
    case '/':
    case ':':
    case ';':
    case '=':
    case '?':
    case '@': return part == UrlPart::Path ? c == '?' : false;
    default: break;
    }
    if (part == UrlPart::Fragment && (c == '!' || c == '(' || c == ')' || c == '*'))
        return false;
    return true;
}

QByteArray escapeUrl(QByteArrayView s, UrlPart part)
{
    static const char hex[] = "0123456789ABCDEF";
    QByteArray out;
    out.reserve(s.size());
    for (const char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        if (shouldEscape(c, part)) {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        } else {
            out += ch;
        }
    }
    return out;
}

// Go's validEncoded: may this already-escaped text be kept as it is?
bool validEncoded(QByteArrayView s, UrlPart part)
{
    for (const char ch : s) {
        switch (ch) {
        case '!':
        case '$':
        case '&':
        case '\'':
        case '(':
        case ')':
        case '*':
        case '+':
        case ',':
        case ';':
        case '=':
        case ':':
        case '@':
        case '[':
        case ']':
        case '%': continue;
        default:
            if (shouldEscape(static_cast<unsigned char>(ch), part))
                return false;
        }
    }
    return true;
}

// Go's unescape (encodePath / encodeFragment modes): '%' needs two hex digits.
Result<QByteArray> unescapeUrl(QByteArrayView s)
{
    QByteArray out;
    out.reserve(s.size());
    for (qsizetype i = 0; i < s.size(); ++i) {
        if (s[i] != '%') {
            out += s[i];
            continue;
        }
        const qint64 byte = i + 2 < s.size() ? parseHex(s.data() + i + 1, 2) : -1;
        if (byte < 0) {
            const QByteArrayView bad = s.sliced(i).first(qMin<qsizetype>(3, s.size() - i));
            return fail(ErrorCode::InvalidMetadata,
                        u"invalid URL escape "_s + goQuote(QString::fromUtf8(bad)));
        }
        out += char(byte);
        i += 2;
    }
    return out;
}

// URL.setPath + EscapedPath (and the same for the fragment).
Result<QByteArray> reescape(QByteArrayView raw, UrlPart part)
{
    Result<QByteArray> plain = unescapeUrl(raw);
    if (!plain)
        return plain;
    if (validEncoded(raw, part))
        return raw.toByteArray(); // RawPath: kept as written
    return escapeUrl(*plain, part);
}

} // namespace

Result<QString> goUrlString(const QString &url)
{
    const QByteArray raw = url.toUtf8();
    const auto parseError = [&](const QString &why) {
        return fail(ErrorCode::InvalidMetadata, u"parse %1: %2"_s.arg(goQuote(url), why));
    };
    for (const char c : raw) {
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F)
            return parseError(u"net/url: invalid control character in URL"_s);
    }
    QByteArrayView rest(raw);
    QByteArrayView fragment;
    bool hasFragment = false;
    if (const qsizetype hash = rest.indexOf('#'); hash >= 0) {
        fragment = rest.sliced(hash + 1);
        rest = rest.first(hash);
        hasFragment = true;
    }
    const qsizetype schemeEnd = rest.indexOf("://");
    const qsizetype pathStart = schemeEnd < 0 ? -1 : rest.indexOf('/', schemeEnd + 3);
    if (pathStart < 0)
        return url;
    QByteArrayView path = rest.sliced(pathStart);
    QByteArrayView query;
    bool forceQuery = false;
    if (path.endsWith('?') && path.count('?') == 1) {
        forceQuery = true;
        path.chop(1);
    } else if (const qsizetype q = path.indexOf('?'); q >= 0) {
        query = path.sliced(q + 1);
        path = path.first(q);
    }
    Result<QByteArray> escapedPath = reescape(path, UrlPart::Path);
    if (!escapedPath)
        return parseError(escapedPath.error().message);
    QByteArray out = rest.first(pathStart).toByteArray() + *escapedPath;
    if (forceQuery || !query.isEmpty())
        out += '?' + query.toByteArray();
    if (hasFragment) {
        Result<QByteArray> escapedFragment = reescape(fragment, UrlPart::Fragment);
        if (!escapedFragment)
            return parseError(escapedFragment.error().message);
        if (!escapedFragment->isEmpty())
            out += '#' + *escapedFragment;
    }
    return QString::fromUtf8(out);
}

// ---- json.Unmarshal into a small struct ----

namespace {

QString goNumberLiteral(const nlohmann::json &v)
{
    if (v.is_number_integer())
        return QString::number(v.get<qint64>());
    if (v.is_number_unsigned())
        return QString::number(v.get<quint64>());
    return QString::fromStdString(core::goFormatFloat(v.get<double>()));
}

} // namespace

Result<GoStruct> goUnmarshalStruct(QByteArrayView data, const QString &goType,
                                   const QList<GoField> &fields)
{
    const auto error = [](const QString &text) { return fail(ErrorCode::MalformedData, text); };
    nlohmann::json doc;
    try {
        doc = nlohmann::json::parse(data.begin(), data.end());
    } catch (const nlohmann::json::parse_error &e) {
        // Go checks the whole input first and reports its own syntax errors.
        nlohmann::json first;
        QString why;
        const QByteArray bytes = data.toByteArray();
        if (bytes.trimmed().isEmpty())
            return error(u"unexpected end of JSON input"_s);
        if (!core::goJsonDecodeFirst(bytes, &first, &why)) {
            if (why == u"EOF"_s || why == u"unexpected EOF"_s)
                return error(u"unexpected end of JSON input"_s);
            return error(why);
        }
        const qsizetype at = qBound<qsizetype>(0, qsizetype(e.byte) - 1, bytes.size() - 1);
        return error(u"invalid character %1 after top-level value"_s.arg(
            u"'%1'"_s.arg(QChar::fromLatin1(bytes[at]))));
    }
    const QString shortType = goType.section(u'.', -1);
    if (doc.is_null())
        return GoStruct{};
    if (!doc.is_object())
        return error(u"json: cannot unmarshal %1 into Go value of type %2"_s.arg(
            core::goJsonKind(doc), goType));
    GoStruct out;
    for (auto it = doc.begin(); it != doc.end(); ++it) {
        const QString key = QString::fromStdString(it.key());
        const GoField *field = nullptr;
        for (const GoField &f : fields) {
            if (f.jsonName == key) {
                field = &f;
                break;
            }
        }
        if (!field) {
            for (const GoField &f : fields) {
                if (f.jsonName.compare(key, Qt::CaseInsensitive) == 0) {
                    field = &f;
                    break;
                }
            }
        }
        if (!field || it.value().is_null())
            continue; // unknown keys are ignored; null leaves the field as it is
        const nlohmann::json &v = it.value();
        const QString where = u"Go struct field %1.%2 of type %3"_s.arg(
            shortType, field->jsonName,
            field->kind == GoFieldKind::String ? u"string"_s : u"int32"_s);
        if (field->kind == GoFieldKind::String) {
            if (!v.is_string())
                return error(
                    u"json: cannot unmarshal %1 into %2"_s.arg(core::goJsonKind(v), where));
            out.insert(field->jsonName, QString::fromStdString(v.get<std::string>()));
            continue;
        }
        if (!v.is_number())
            return error(u"json: cannot unmarshal %1 into %2"_s.arg(core::goJsonKind(v), where));
        const QString literal = goNumberLiteral(v);
        bool ok = false;
        const qint64 value = literal.toLongLong(&ok);
        if (!ok || value < std::numeric_limits<qint32>::min()
            || value > std::numeric_limits<qint32>::max())
            return error(u"json: cannot unmarshal number %1 into %2"_s.arg(literal, where));
        out.insert(field->jsonName, QString::number(value));
    }
    return out;
}

} // namespace bindery::bindings::gcp_bucket
