// SPDX-License-Identifier: Apache-2.0
#include "core/go_json.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string_view>
#include <vector>

namespace bindery::core {

size_t goUtf8Rune(const unsigned char *p, size_t n, char32_t *rune)
{
    const unsigned char c = p[0];
    if (c < 0x80) {
        if (rune)
            *rune = c;
        return 1;
    }
    size_t len = 0;
    char32_t cp = 0;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        cp = c & 0x07;
    }
    if (len == 0 || len > n)
        return 0;
    for (size_t k = 1; k < len; ++k) {
        if ((p[k] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[k] & 0x3F);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF)))
        || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
        return 0;
    if (rune)
        *rune = cp;
    return len;
}

namespace {

// Length of the valid UTF-8 sequence at `p` (shortest form, no surrogates, <= U+10FFFF), as
// Go's utf8.DecodeRune accepts it; 0 when the first byte starts no valid sequence.
size_t utf8Sequence(const unsigned char *p, size_t n, uint32_t *codePoint)
{
    const unsigned char c = p[0];
    size_t len = 0;
    uint32_t cp = 0;
    if (c < 0x80) {
        *codePoint = c;
        return 1;
    }
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        cp = c & 0x07;
    }
    if (len == 0 || len > n)
        return 0;
    for (size_t k = 1; k < len; ++k) {
        if ((p[k] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[k] & 0x3F);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF)))
        || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
        return 0;
    *codePoint = cp;
    return len;
}

const char HEX[] = "0123456789abcdef";

void appendHexByte(std::string &out, const char *prefix, unsigned char c)
{
    out += prefix;
    out += HEX[c >> 4];
    out += HEX[c & 0xF];
}

// Walks `s` rune by rune for Go's two escapers (encoding/json's string and strconv.Quote):
// `ascii(c)` writes one ASCII byte, `rune(cp, bytes)` one valid multi-byte rune, and `invalid(c)`
// one byte that starts no valid rune.
template <typename Ascii, typename Rune, typename Invalid>
void escapeRunes(std::string_view s, Ascii &&ascii, Rune &&rune, Invalid &&invalid)
{
    const auto *p = reinterpret_cast<const unsigned char *>(s.data());
    const size_t n = s.size();
    for (size_t i = 0; i < n;) {
        if (p[i] < 0x80) {
            ascii(p[i]);
            ++i;
            continue;
        }
        uint32_t cp = 0;
        const size_t len = utf8Sequence(p + i, n - i, &cp);
        if (len == 0) {
            invalid(p[i]);
            ++i;
            continue;
        }
        rune(cp, s.substr(i, len));
        i += len;
    }
}

// A byte Go's encodeState.string copies as it is: printable ASCII (DEL included) other than
// the quote, the backslash and the HTML-escaped <, > and &.
constexpr std::array<bool, 256> PLAIN_BYTES = [] {
    std::array<bool, 256> t{};
    for (int c = 0x20; c < 0x80; ++c)
        t[static_cast<size_t>(c)] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&';
    return t;
}();

// Eight bytes at a time (SWAR): each test is non-zero exactly when some byte of `v` matches.
constexpr uint64_t ONES = 0x0101010101010101ULL;
constexpr uint64_t HIGHS = 0x8080808080808080ULL;

uint64_t load8(const unsigned char *p)
{
    uint64_t v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

/// A byte of `v` equals `b`.
uint64_t hasByte(uint64_t v, unsigned char b)
{
    const uint64_t x = v ^ (ONES * b);
    return (x - ONES) & ~x & HIGHS;
}

/// A byte of `v` is below `n` (n <= 128; bytes >= 0x80 never count).
uint64_t hasLess(uint64_t v, unsigned char n)
{
    return (v - ONES * n) & ~v & HIGHS;
}

/// Bytes from `p` up to `end` that are plain (PLAIN_BYTES), eight at a time where it can.
size_t plainRun(const unsigned char *p, const unsigned char *end)
{
    const unsigned char *q = p;
    while (end - q >= 8) {
        const uint64_t v = load8(q);
        if ((v & HIGHS) | hasLess(v, 0x20) | hasByte(v, '"') | hasByte(v, '\\') | hasByte(v, '<')
            | hasByte(v, '>') | hasByte(v, '&'))
            break;
        q += 8;
    }
    while (q < end && PLAIN_BYTES[*q])
        ++q;
    return static_cast<size_t>(q - p);
}

// Go's encodeState.string with HTML escaping: one pass, no intermediate strings (hot path of
// every output request). Runs of plain bytes are copied whole (a base64 payload is one run);
// invalid UTF-8 becomes the escape \ufffd, as Go writes it. `Out` is std::string or QByteArray.
template <typename Out> void appendString(Out &out, std::string_view s)
{
    out.reserve(out.size() + static_cast<decltype(out.size())>(s.size()) + 2);
    out += '"';
    const auto *p = reinterpret_cast<const unsigned char *>(s.data());
    const auto *end = p + s.size();
    while (p < end) {
        const size_t run = plainRun(p, end);
        if (run > 0) {
            out.append(reinterpret_cast<const char *>(p), static_cast<decltype(out.size())>(run));
            p += run;
            continue;
        }
        const unsigned char c = *p;
        if (c < 0x80) {
            switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            case '\b': out += "\\b"; break;
            case '\f': out += "\\f"; break;
            default: // < > & and the other control characters
                out += "\\u00";
                out += HEX[c >> 4];
                out += HEX[c & 0xF];
            }
            ++p;
            continue;
        }
        uint32_t cp = 0;
        const size_t len = utf8Sequence(p, static_cast<size_t>(end - p), &cp);
        if (len == 0) {
            out += "\\ufffd";
            ++p;
            continue;
        }
        if (cp == 0x2028 || cp == 0x2029)
            out += cp == 0x2028 ? "\\u2028" : "\\u2029";
        else
            out.append(reinterpret_cast<const char *>(p), static_cast<decltype(out.size())>(len));
        p += len;
    }
    out += '"';
}

void marshal(std::string &out, const nlohmann::json &v)
{
    switch (v.type()) {
    case nlohmann::json::value_t::null:
    case nlohmann::json::value_t::discarded: out += "null"; break;
    case nlohmann::json::value_t::boolean: out += v.get<bool>() ? "true" : "false"; break;
    case nlohmann::json::value_t::number_integer:
        out += goFormatFloat(static_cast<double>(v.get<std::int64_t>()));
        break;
    case nlohmann::json::value_t::number_unsigned:
        out += goFormatFloat(static_cast<double>(v.get<std::uint64_t>()));
        break;
    case nlohmann::json::value_t::number_float: out += goFormatFloat(v.get<double>()); break;
    case nlohmann::json::value_t::string:
        appendString(out, v.get_ref<const std::string &>());
        break;
    case nlohmann::json::value_t::array: {
        out += '[';
        bool first = true;
        for (const auto &e : v) {
            if (!first)
                out += ',';
            first = false;
            marshal(out, e);
        }
        out += ']';
        break;
    }
    case nlohmann::json::value_t::object: {
        // nlohmann::json keeps objects in a std::map: already sorted by key bytes, as Go sorts.
        out += '{';
        bool first = true;
        for (auto it = v.begin(); it != v.end(); ++it) {
            if (!first)
                out += ',';
            first = false;
            appendString(out, it.key());
            out += ':';
            marshal(out, it.value());
        }
        out += '}';
        break;
    }
    case nlohmann::json::value_t::binary: out += "null"; break;
    }
}

// ---- Go's encoding/json scanner (scanner.go), ported state for state so that every syntax
// error carries Go's exact message. Depth is bounded at Go's maxNestingDepth (10000).

enum ScanOp {
    ScanContinue,
    ScanBeginLiteral,
    ScanBeginObject,
    ScanObjectKey,
    ScanObjectValue,
    ScanEndObject,
    ScanBeginArray,
    ScanArrayValue,
    ScanEndArray,
    ScanSkipSpace,
    ScanEnd,
    ScanError,
};

enum class St {
    BeginValue,
    BeginValueOrEmpty,
    BeginStringOrEmpty,
    BeginString,
    EndValue,
    EndTop,
    InString,
    InStringEsc,
    InStringEscU,
    InStringEscU1,
    InStringEscU12,
    InStringEscU123,
    Neg,
    One,
    Zero,
    Dot,
    Dot0,
    E,
    ESign,
    E0,
    T,
    Tr,
    Tru,
    F,
    Fa,
    Fal,
    Fals,
    N,
    Nu,
    Nul,
    Error,
};

enum class Parse : unsigned char { ObjectKey, ObjectValue, ArrayValue };

constexpr size_t MAX_NESTING_DEPTH = 10000;

bool isSpace(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

bool isHex(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

void appendRune(std::string &out, uint32_t r)
{
    if (r < 0x80) {
        out += static_cast<char>(r);
    } else if (r < 0x800) {
        out += static_cast<char>(0xC0 | (r >> 6));
        out += static_cast<char>(0x80 | (r & 0x3F));
    } else if (r < 0x10000) {
        out += static_cast<char>(0xE0 | (r >> 12));
        out += static_cast<char>(0x80 | ((r >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (r & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (r >> 18));
        out += static_cast<char>(0x80 | ((r >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((r >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (r & 0x3F));
    }
}

// Go's quoteChar: the byte as a rune (U+0000..U+00FF), quoted by strconv.Quote.
std::string quoteChar(unsigned char c)
{
    if (c == '\'')
        return "'\\''";
    if (c == '"')
        return "'\"'";
    std::string rune;
    appendRune(rune, c);
    std::string q = goQuote(rune);
    q.front() = '\'';
    q.back() = '\'';
    return q;
}

class Scanner
{
public:
    int step(unsigned char c) { return run(m_step, c); }
    bool endTop() const { return m_endTop; }
    /// Inside a string literal, where only '"', '\\' and control bytes change the state.
    bool inString() const { return m_step == St::InString; }
    const std::string &error() const { return m_error; }
    // stateEndValue(&scan, ' '), as the Decoder calls after '}' or ']'.
    int endValueSpace() { return run(St::EndValue, ' '); }

private:
    int to(St next)
    {
        m_step = next;
        return ScanContinue;
    }
    int fail(unsigned char c, const char *context)
    {
        m_step = St::Error;
        m_error = "invalid character " + quoteChar(c) + " " + context;
        return ScanError;
    }
    int push(unsigned char c, Parse p, int success)
    {
        m_parse.push_back(static_cast<char>(p));
        if (m_parse.size() <= MAX_NESTING_DEPTH)
            return success;
        return fail(c, "exceeded max depth");
    }
    void pop()
    {
        m_parse.pop_back();
        if (m_parse.empty()) {
            m_step = St::EndTop;
            m_endTop = true;
        } else {
            m_step = St::EndValue;
        }
    }
    int run(St state, unsigned char c);

    St m_step = St::BeginValue;
    bool m_endTop = false;
    std::string m_parse; ///< Parse values; a string so shallow documents allocate nothing (SSO)
    std::string m_error;
};

int Scanner::run(St state, unsigned char c)
{
    const bool digit = c >= '0' && c <= '9';
    switch (state) {
    case St::BeginValueOrEmpty:
        if (isSpace(c))
            return ScanSkipSpace;
        if (c == ']')
            return run(St::EndValue, c);
        return run(St::BeginValue, c);
    case St::BeginValue:
        if (isSpace(c))
            return ScanSkipSpace;
        switch (c) {
        case '{':
            m_step = St::BeginStringOrEmpty;
            return push(c, Parse::ObjectKey, ScanBeginObject);
        case '[': m_step = St::BeginValueOrEmpty; return push(c, Parse::ArrayValue, ScanBeginArray);
        case '"': m_step = St::InString; return ScanBeginLiteral;
        case '-': m_step = St::Neg; return ScanBeginLiteral;
        case '0': m_step = St::Zero; return ScanBeginLiteral;
        case 't': m_step = St::T; return ScanBeginLiteral;
        case 'f': m_step = St::F; return ScanBeginLiteral;
        case 'n': m_step = St::N; return ScanBeginLiteral;
        default: break;
        }
        if (c >= '1' && c <= '9') {
            m_step = St::One;
            return ScanBeginLiteral;
        }
        return fail(c, "looking for beginning of value");
    case St::BeginStringOrEmpty:
        if (isSpace(c))
            return ScanSkipSpace;
        if (c == '}') {
            m_parse.back() = static_cast<char>(Parse::ObjectValue);
            return run(St::EndValue, c);
        }
        return run(St::BeginString, c);
    case St::BeginString:
        if (isSpace(c))
            return ScanSkipSpace;
        if (c == '"') {
            m_step = St::InString;
            return ScanBeginLiteral;
        }
        return fail(c, "looking for beginning of object key string");
    case St::EndValue: {
        if (m_parse.empty()) {
            m_step = St::EndTop;
            m_endTop = true;
            return run(St::EndTop, c);
        }
        if (isSpace(c)) {
            m_step = St::EndValue;
            return ScanSkipSpace;
        }
        switch (static_cast<Parse>(m_parse.back())) {
        case Parse::ObjectKey:
            if (c == ':') {
                m_parse.back() = static_cast<char>(Parse::ObjectValue);
                m_step = St::BeginValue;
                return ScanObjectKey;
            }
            return fail(c, "after object key");
        case Parse::ObjectValue:
            if (c == ',') {
                m_parse.back() = static_cast<char>(Parse::ObjectKey);
                m_step = St::BeginString;
                return ScanObjectValue;
            }
            if (c == '}') {
                pop();
                return ScanEndObject;
            }
            return fail(c, "after object key:value pair");
        case Parse::ArrayValue:
            if (c == ',') {
                m_step = St::BeginValue;
                return ScanArrayValue;
            }
            if (c == ']') {
                pop();
                return ScanEndArray;
            }
            return fail(c, "after array element");
        }
        return fail(c, "");
    }
    case St::EndTop:
        if (!isSpace(c))
            fail(c, "after top-level value");
        return ScanEnd;
    case St::InString:
        if (c == '"')
            return to(St::EndValue);
        if (c == '\\')
            return to(St::InStringEsc);
        if (c < 0x20)
            return fail(c, "in string literal");
        return ScanContinue;
    case St::InStringEsc:
        switch (c) {
        case 'b':
        case 'f':
        case 'n':
        case 'r':
        case 't':
        case '\\':
        case '/':
        case '"': m_step = St::InString; return ScanContinue;
        case 'u': m_step = St::InStringEscU; return ScanContinue;
        default: return fail(c, "in string escape code");
        }
    case St::InStringEscU:
    case St::InStringEscU1:
    case St::InStringEscU12:
    case St::InStringEscU123:
        if (!isHex(c))
            return fail(c, "in \\u hexadecimal character escape");
        m_step = state == St::InStringEscU123 ? St::InString : static_cast<St>(int(state) + 1);
        return ScanContinue;
    case St::Neg:
        if (c == '0')
            return to(St::Zero);
        if (c >= '1' && c <= '9')
            return to(St::One);
        return fail(c, "in numeric literal");
    case St::One:
        if (digit)
            return to(St::One);
        return run(St::Zero, c);
    case St::Zero:
        if (c == '.')
            return to(St::Dot);
        if (c == 'e' || c == 'E')
            return to(St::E);
        return run(St::EndValue, c);
    case St::Dot:
        if (digit)
            return to(St::Dot0);
        return fail(c, "after decimal point in numeric literal");
    case St::Dot0:
        if (digit)
            return ScanContinue;
        if (c == 'e' || c == 'E')
            return to(St::E);
        return run(St::EndValue, c);
    case St::E:
        if (c == '+' || c == '-')
            return to(St::ESign);
        return run(St::ESign, c);
    case St::ESign:
        if (digit)
            return to(St::E0);
        return fail(c, "in exponent of numeric literal");
    case St::E0:
        if (digit)
            return ScanContinue;
        return run(St::EndValue, c);
    case St::T:
    case St::Tr:
    case St::Tru:
    case St::F:
    case St::Fa:
    case St::Fal:
    case St::Fals:
    case St::N:
    case St::Nu:
    case St::Nul: {
        // The letters of true, false and null, one state each (stateT ... stateNul).
        struct Letter
        {
            St state;
            char expected;
            St next;
            const char *context;
        };
        static const Letter letters[] = {
            {St::T, 'r', St::Tr, "in literal true (expecting 'r')"},
            {St::Tr, 'u', St::Tru, "in literal true (expecting 'u')"},
            {St::Tru, 'e', St::EndValue, "in literal true (expecting 'e')"},
            {St::F, 'a', St::Fa, "in literal false (expecting 'a')"},
            {St::Fa, 'l', St::Fal, "in literal false (expecting 'l')"},
            {St::Fal, 's', St::Fals, "in literal false (expecting 's')"},
            {St::Fals, 'e', St::EndValue, "in literal false (expecting 'e')"},
            {St::N, 'u', St::Nu, "in literal null (expecting 'u')"},
            {St::Nu, 'l', St::Nul, "in literal null (expecting 'l')"},
            {St::Nul, 'l', St::EndValue, "in literal null (expecting 'l')"},
        };
        for (const Letter &l : letters) {
            if (l.state != state)
                continue;
            if (c != static_cast<unsigned char>(l.expected))
                return fail(c, l.context);
            m_step = l.next;
            return ScanContinue;
        }
        return ScanError;
    }
    case St::Error: return ScanError;
    }
    return ScanError;
}

// Decoder.readValue: the length of the first value of [begin, end), or false with Go's error.
bool scanFirstValue(const char *begin, const char *end, const char **valueEnd, std::string *error)
{
    Scanner scan;
    const auto *p = reinterpret_cast<const unsigned char *>(begin);
    const auto *e = reinterpret_cast<const unsigned char *>(end);
    for (; p < e; ++p) {
        switch (scan.step(*p)) {
        case ScanEnd: *valueEnd = reinterpret_cast<const char *>(p); return true;
        case ScanEndObject:
        case ScanEndArray:
            if (scan.endValueSpace() == ScanEnd) {
                *valueEnd = reinterpret_cast<const char *>(p + 1);
                return true;
            }
            break;
        case ScanError: *error = scan.error(); return false;
        default: break;
        }
        if (scan.inString()) {
            // The bytes that leave the state as it is are skipped without a step each: a large
            // payload is one string.
            while (e - p > 8) {
                const uint64_t v = load8(p + 1);
                if (hasLess(v, 0x20) | hasByte(v, '"') | hasByte(v, '\\'))
                    break;
                p += 8;
            }
            while (e - p > 1 && p[1] >= 0x20 && p[1] != '"' && p[1] != '\\')
                ++p;
        }
    }
    if (scan.step(' ') == ScanEnd) {
        *valueEnd = end;
        return true;
    }
    bool nonSpace = false;
    for (const char *q = begin; q < end && !nonSpace; ++q)
        nonSpace = !isSpace(static_cast<unsigned char>(*q));
    *error = nonSpace ? "unexpected EOF" : "EOF";
    return false;
}

// ---- Decoding of a value the scanner accepted (decode.go), so nothing here can be malformed.

// getu4: the \uXXXX escape at p, or -1.
int32_t getU4(const char *p, const char *end)
{
    if (end - p < 6 || p[0] != '\\' || p[1] != 'u')
        return -1;
    int32_t r = 0;
    for (int i = 2; i < 6; ++i) {
        const int h = goHexValue(p[i]);
        if (h < 0)
            return -1;
        r = r * 16 + h;
    }
    return r;
}

class Reader
{
public:
    Reader(const char *begin, const char *end)
        : m_p(begin)
        , m_end(end)
    {
    }
    char peek()
    {
        skipSpace();
        return *m_p;
    }
    void expect() { ++m_p; } // the scanner checked the byte: ':' ',' '{' '}' '[' ']'
    void skipSpace()
    {
        while (m_p < m_end && isSpace(static_cast<unsigned char>(*m_p)))
            ++m_p;
    }

    // Go's unquote: escapes resolved, invalid UTF-8 and lone surrogates as U+FFFD.
    std::string string()
    {
        ++m_p; // opening quote
        const char *start = m_p;
        while (static_cast<unsigned char>(*m_p) >= 0x20 && *m_p != '"' && *m_p != '\\'
               && static_cast<unsigned char>(*m_p) < 0x80)
            ++m_p;
        if (*m_p == '"') {
            std::string plain(start, m_p);
            ++m_p;
            return plain;
        }
        std::string out(start, m_p);
        for (;;) {
            const auto c = static_cast<unsigned char>(*m_p);
            if (c == '"') {
                ++m_p;
                return out;
            }
            if (c == '\\') {
                const char e = m_p[1];
                switch (e) {
                case 'b': out += '\b'; break;
                case 'f': out += '\f'; break;
                case 'n': out += '\n'; break;
                case 'r': out += '\r'; break;
                case 't': out += '\t'; break;
                case 'u': {
                    int32_t r = getU4(m_p, m_end);
                    m_p += 6;
                    if (r >= 0xD800 && r < 0xE000) {
                        const int32_t r1 = getU4(m_p, m_end);
                        if (r < 0xDC00 && r1 >= 0xDC00 && r1 < 0xE000) {
                            m_p += 6;
                            appendRune(out, 0x10000 + ((r - 0xD800) << 10) + (r1 - 0xDC00));
                            continue;
                        }
                        r = 0xFFFD;
                    }
                    appendRune(out, static_cast<uint32_t>(r));
                    continue;
                }
                default: out += e; break; // " \ /
                }
                m_p += 2;
                continue;
            }
            if (c < 0x80) {
                out += static_cast<char>(c);
                ++m_p;
                continue;
            }
            uint32_t cp = 0;
            const size_t len = utf8Sequence(reinterpret_cast<const unsigned char *>(m_p),
                                            static_cast<size_t>(m_end - m_p), &cp);
            if (len == 0) {
                out += "\xEF\xBF\xBD";
                ++m_p;
            } else {
                out.append(m_p, len);
                m_p += len;
            }
        }
    }

    // At a string literal whose bytes are all plain (PLAIN_BYTES): its text, quotes included,
    // which is what Go's json.Marshal writes for the string it decodes to; the reader moves past
    // it. Otherwise false, and the reader stays.
    bool plainString(std::string_view *raw)
    {
        const auto *open = reinterpret_cast<const unsigned char *>(m_p);
        const auto *end = reinterpret_cast<const unsigned char *>(m_end);
        const unsigned char *close = open + 1 + plainRun(open + 1, end);
        if (close >= end || *close != '"')
            return false;
        const auto length = static_cast<size_t>(close + 1 - open);
        *raw = {m_p, length};
        m_p += length;
        return true;
    }

    // The literal's text (a number, true, false or null).
    std::string_view literal()
    {
        const char *start = m_p;
        while (m_p < m_end) {
            const char c = *m_p;
            if (c == ',' || c == '}' || c == ']' || isSpace(static_cast<unsigned char>(c)))
                break;
            ++m_p;
        }
        return {start, static_cast<size_t>(m_p - start)};
    }

    void skipValue()
    {
        skipSpace();
        const char c = *m_p;
        if (c == '"') {
            skipString();
            return;
        }
        if (c != '{' && c != '[') {
            literal();
            return;
        }
        int depth = 0;
        do {
            const char d = *m_p;
            if (d == '"') {
                skipString();
                continue;
            }
            if (d == '{' || d == '[')
                ++depth;
            else if (d == '}' || d == ']')
                --depth;
            ++m_p;
        } while (depth > 0);
    }

private:
    void skipString()
    {
        ++m_p;
        while (*m_p != '"')
            m_p += *m_p == '\\' ? 2 : 1;
        ++m_p;
    }

    const char *m_p;
    const char *m_end;
};

// strconv.ParseFloat(s, 64) on a literal the scanner accepted: false when it overflows float64
// (Go then fails the decode); an underflow gives a signed zero, as in Go.
bool parseGoFloat(std::string_view text, double *out)
{
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
    if (ec == std::errc())
        return true;
    if (ec != std::errc::result_out_of_range)
        return false;
    // Overflow or underflow? Compare the decimal exponent of the first significant digit.
    const char *p = text.data();
    const char *e = p + text.size();
    const bool negative = *p == '-';
    if (negative)
        ++p;
    long intDigits = 0;
    long leadingFractionZeros = 0;
    bool seenSignificant = false;
    for (; p < e && *p >= '0' && *p <= '9'; ++p) {
        if (*p != '0')
            seenSignificant = true;
        if (seenSignificant)
            ++intDigits;
    }
    if (p < e && *p == '.') {
        for (++p; p < e && *p >= '0' && *p <= '9'; ++p) {
            if (!seenSignificant && *p == '0')
                ++leadingFractionZeros;
            else
                seenSignificant = true;
        }
    }
    long exponent = 0;
    if (p < e && (*p == 'e' || *p == 'E')) {
        ++p;
        const bool negExp = p < e && *p == '-';
        if (p < e && (*p == '-' || *p == '+'))
            ++p;
        for (; p < e && *p >= '0' && *p <= '9'; ++p)
            exponent = std::min(exponent * 10 + (*p - '0'), 100000000L);
        if (negExp)
            exponent = -exponent;
    }
    const long magnitude = intDigits > 0 ? intDigits + exponent : exponent - leadingFractionZeros;
    if (magnitude > 0)
        return false;
    *out = negative ? -0.0 : 0.0;
    return true;
}

const char *kindOf(char c)
{
    switch (c) {
    case '{': return "object";
    case '[': return "array";
    case '"': return "string";
    case 't':
    case 'f': return "bool";
    case 'n': return "null";
    default: return "number";
    }
}

// Decodes one value into `any` (interface{}): objects keep the last of repeated keys, numbers
// are float64. Iterative, so the depth the scanner allows never touches the stack. The first
// number out of range is reported through `typeError(text)`; decoding goes on, as Go's does.
template <typename TypeError>
void decodeAny(Reader &in, nlohmann::json &target, TypeError &&typeError)
{
    struct Frame
    {
        nlohmann::json *container;
        bool object;
    };
    std::vector<Frame> stack;
    nlohmann::json *slot = &target;
    for (;;) {
        // A value starts here.
        const char c = in.peek();
        if (c == '{' || c == '[') {
            in.expect();
            *slot = c == '{' ? nlohmann::json::object() : nlohmann::json::array();
            stack.push_back({slot, c == '{'});
            const char next = in.peek();
            if (next == '}' || next == ']') {
                in.expect();
                stack.pop_back();
            } else {
                if (c == '{') {
                    std::string key = in.string();
                    in.peek();
                    in.expect(); // ':'
                    slot = &(*slot)[key];
                } else {
                    slot->push_back(nullptr);
                    slot = &slot->back();
                }
                continue;
            }
        } else if (c == '"') {
            *slot = in.string();
        } else {
            const std::string_view lit = in.literal();
            if (lit == "null") {
                *slot = nullptr;
            } else if (lit == "true" || lit == "false") {
                *slot = lit == "true";
            } else {
                double d = 0;
                if (parseGoFloat(lit, &d))
                    *slot = d;
                else
                    typeError(lit);
            }
        }
        // The value ended: continue in the innermost open container, or finish.
        for (;;) {
            if (stack.empty())
                return;
            Frame &top = stack.back();
            const char next = in.peek();
            in.expect();
            if (next == ',') {
                if (top.object) {
                    in.peek();
                    std::string key = in.string();
                    in.peek();
                    in.expect();
                    slot = &(*top.container)[key];
                } else {
                    top.container->push_back(nullptr);
                    slot = &top.container->back();
                }
                break;
            }
            stack.pop_back(); // '}' or ']'
        }
    }
}

// Go's field matching for a struct with fields data, metadata, operation: exact name first,
// then ASCII case folding (none of the three has a letter with a non-ASCII fold, like 'k'/'s').
int fieldIndex(const std::string &key)
{
    static const char *const names[] = {"data", "metadata", "operation"};
    for (int i = 0; i < 3; ++i) {
        if (key == names[i])
            return i;
    }
    for (int i = 0; i < 3; ++i) {
        const size_t n = std::strlen(names[i]);
        if (key.size() != n)
            continue;
        bool same = true;
        for (size_t k = 0; k < n && same; ++k)
            same = (key[k] | 0x20) == names[i][k]
                   && std::isalpha(static_cast<unsigned char>(key[k]));
        if (same)
            return i;
    }
    return -1;
}
} // namespace

std::string goFormatFloat(double f)
{
    if (std::isnan(f) || std::isinf(f))
        return "null"; // Go fails here; unreachable for parsed JSON
    const double a = std::fabs(f);
    char buf[64];
    if (a != 0 && (a < 1e-6 || a >= 1e21)) {
        auto [end, ec] = std::to_chars(buf, buf + sizeof buf, f, std::chars_format::scientific);
        std::string s(buf, end);
        // Go writes e-07 as e-7 (and e+07 stays e+07? no: Go's 'e' uses at least 2 exponent digits,
        // then encoding/json shortens "e-0X" only).
        const size_t n = s.size();
        if (n >= 4 && s[n - 4] == 'e' && s[n - 3] == '-' && s[n - 2] == '0')
            s.erase(n - 2, 1);
        return s;
    }
    // Shortest digits, written in fixed notation without an exponent (strconv 'f', -1).
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, f, std::chars_format::scientific);
    std::string sci(buf, end);
    const size_t e = sci.find('e');
    std::string mant = sci.substr(0, e);
    const int exp = std::stoi(sci.substr(e + 1));
    bool neg = false;
    if (!mant.empty() && mant[0] == '-') {
        neg = true;
        mant.erase(0, 1);
    }
    std::string digits;
    for (char c : mant) {
        if (c != '.')
            digits += c;
    }
    std::string out;
    const int pointPos = exp + 1; // digits before the decimal point
    if (pointPos <= 0) {
        out = "0." + std::string(static_cast<size_t>(-pointPos), '0') + digits;
    } else if (static_cast<size_t>(pointPos) >= digits.size()) {
        out = digits + std::string(static_cast<size_t>(pointPos) - digits.size(), '0');
    } else {
        out = digits.substr(0, static_cast<size_t>(pointPos)) + "."
              + digits.substr(static_cast<size_t>(pointPos));
    }
    if (f == 0)
        out = "0";
    return (neg ? "-" : "") + out;
}

QByteArray goJsonMarshal(const nlohmann::json &value)
{
    if (value.is_string()) { // written straight into the result: no copy of a large payload
        QByteArray out;
        appendString(out, value.get_ref<const std::string &>());
        return out;
    }
    thread_local std::string out; // keeps its capacity: one allocation per call, the result's
    out.clear();
    marshal(out, value);
    QByteArray result(out.data(), static_cast<qsizetype>(out.size()));
    if (out.capacity() > 1024 * 1024)
        std::string().swap(out); // a huge one-off value does not stay resident
    return result;
}

void goJsonAppendString(std::string &out, std::string_view text)
{
    appendString(out, text);
}

QString goJsonKind(const nlohmann::json &v)
{
    if (v.is_number())
        return QStringLiteral("number");
    if (v.is_boolean())
        return QStringLiteral("bool");
    if (v.is_array())
        return QStringLiteral("array");
    if (v.is_object())
        return QStringLiteral("object");
    if (v.is_string())
        return QStringLiteral("string");
    return QStringLiteral("null");
}

std::string goQuote(std::string_view s)
{
    std::string out = "\"";
    escapeRunes(
        s,
        [&](unsigned char c) {
            switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\a': out += "\\a"; break;
            case '\b': out += "\\b"; break;
            case '\f': out += "\\f"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            case '\v': out += "\\v"; break;
            default:
                if (c < 0x20 || c == 0x7f)
                    appendHexByte(out, "\\x", c);
                else
                    out += static_cast<char>(c);
            }
        },
        [&](uint32_t cp, std::string_view bytes) {
            // Not unicode.IsPrint: C1 controls, non-ASCII spaces, format characters.
            const bool unprintable = cp <= 0xA0 || cp == 0xAD || cp == 0x1680
                                     || (cp >= 0x2000 && cp <= 0x200F) || cp == 0x2028
                                     || cp == 0x2029 || cp == 0x202F || cp == 0x205F
                                     || (cp >= 0x2060 && cp <= 0x2064) || cp == 0x3000
                                     || cp == 0xFEFF || cp == 0xFFFE || cp == 0xFFFF;
            if (!unprintable) {
                out += bytes;
                return;
            }
            char buf[12];
            std::snprintf(buf, sizeof buf, cp > 0xFFFF ? "\\U%08x" : "\\u%04x", cp);
            out += buf;
        },
        [&](unsigned char c) { appendHexByte(out, "\\x", c); });
    out += '"';
    return out;
}

int goHexValue(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

bool goUnescape(std::string_view in, bool plus, std::string *out, std::string *error)
{
    out->clear();
    out->reserve(in.size());
    for (std::size_t i = 0; i < in.size(); ++i) {
        const char c = in[i];
        if (c == '%') {
            if (i + 2 >= in.size() || goHexValue(in[i + 1]) < 0 || goHexValue(in[i + 2]) < 0) {
                if (error)
                    *error = "invalid URL escape " + goQuote(in.substr(i, 3));
                return false;
            }
            *out += static_cast<char>(goHexValue(in[i + 1]) * 16 + goHexValue(in[i + 2]));
            i += 2;
        } else if (plus && c == '+') {
            *out += ' ';
        } else {
            *out += c;
        }
    }
    return true;
}

bool goJsonDecodeFirst(const QByteArray &body, nlohmann::json *out, QString *error)
{
    const char *begin = body.constData();
    const char *end = begin + body.size();
    const char *valueEnd = nullptr;
    std::string why;
    if (!scanFirstValue(begin, end, &valueEnd, &why)) {
        *error = QString::fromStdString(why);
        return false;
    }
    Reader in(begin, valueEnd);
    nlohmann::json result;
    std::string typeError;
    decodeAny(in, result, [&](std::string_view number) {
        if (typeError.empty())
            typeError = "json: cannot unmarshal number " + std::string(number)
                        + " into Go value of type float64";
    });
    if (!typeError.empty()) {
        *error = QString::fromStdString(typeError);
        return false;
    }
    *out = std::move(result);
    return true;
}

bool goDecodeBindingRequest(const char *begin, const char *end, GoBindingRequest *out,
                            QString *error)
{
    const char *valueEnd = nullptr;
    std::string why;
    if (!scanFirstValue(begin, end, &valueEnd, &why)) {
        *error = QString::fromStdString(why);
        return false;
    }
    static const std::string field = "json: cannot unmarshal ";
    std::string typeError; // Go reports the first type error once the whole value is decoded
    auto fieldError = [&](const std::string &what, const char *into) {
        if (typeError.empty())
            typeError = field + what + " into Go struct field OutputBindingRequest." + into;
    };
    Reader in(begin, valueEnd);
    const char top = in.peek();
    if (top == 'n')
        return true; // null leaves the struct as it is
    if (top != '{') {
        *error = QString::fromStdString(field + kindOf(top)
                                        + " into Go value of type http.OutputBindingRequest");
        return false;
    }
    in.expect();
    if (in.peek() == '}')
        return true;
    for (;;) {
        in.peek();
        const std::string key = in.string();
        in.peek();
        in.expect(); // ':'
        const char c = in.peek();
        switch (fieldIndex(key)) {
        case 0: {
            // A plain string (a base64 payload, say) is its own re-encoding: kept as it is,
            // never decoded into a std::string and escaped again.
            std::string_view raw;
            if (c == '"' && in.plainString(&raw)) {
                out->data = QByteArray(raw.data(), static_cast<qsizetype>(raw.size()));
                break;
            }
            nlohmann::json value;
            decodeAny(in, value, [&](std::string_view number) {
                fieldError("number " + std::string(number), "data of type float64");
            });
            out->data = goJsonMarshal(value);
            break;
        }
        case 1:
            if (c == 'n') {
                in.literal();
                out->metadata.clear(); // null sets the map to nil
            } else if (c != '{') {
                fieldError(kindOf(c), "metadata of type map[string]string");
                in.skipValue();
            } else {
                in.expect();
                if (in.peek() == '}') {
                    in.expect();
                    break;
                }
                for (;;) {
                    in.peek();
                    const std::string k = in.string();
                    in.peek();
                    in.expect();
                    const char v = in.peek();
                    QString value;
                    if (v == '"') {
                        value = QString::fromStdString(in.string());
                    } else {
                        if (v != 'n') // null into a string is a no-op: the entry is ""
                            fieldError(kindOf(v), "metadata of type string");
                        in.skipValue();
                    }
                    out->metadata.insert(QString::fromStdString(k), value);
                    const char next = in.peek();
                    in.expect();
                    if (next == '}')
                        break;
                }
            }
            break;
        case 2:
            if (c == '"')
                out->operation = QString::fromStdString(in.string());
            else if (c != 'n') // null keeps the previous value
                fieldError(kindOf(c), "operation of type string");
            if (c != '"')
                in.skipValue();
            break;
        default: in.skipValue(); break;
        }
        const char next = in.peek();
        in.expect();
        if (next == '}')
            break;
    }
    if (!typeError.empty()) {
        *error = QString::fromStdString(typeError);
        return false;
    }
    return true;
}

} // namespace bindery::core
