// SPDX-License-Identifier: Apache-2.0
#include "core/trace_context.h"

#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "core/go_json.h"

namespace bindery::core::trace {

namespace {

int hexDigit(char c, bool upperAllowed)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (upperAllowed && c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

std::vector<std::string_view> split(std::string_view s, char sep)
{
    std::vector<std::string_view> out;
    for (;;) {
        const std::size_t at = s.find(sep);
        out.push_back(s.substr(0, at));
        if (at == std::string_view::npos)
            return out;
        s.remove_prefix(at + 1);
    }
}

// Go's strings.TrimSpace for the ASCII whitespace a header can hold.
std::string_view trimSpace(std::string_view s)
{
    auto space = [](char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
    };
    while (!s.empty() && space(s.front()))
        s.remove_prefix(1);
    while (!s.empty() && space(s.back()))
        s.remove_suffix(1);
    return s;
}

std::string_view trimBlank(std::string_view s, bool left, bool right)
{
    while (left && !s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (right && !s.empty() && (s.back() == ' ' || s.back() == '\t'))
        s.remove_suffix(1);
    return s;
}

bool baggageKeyChar(unsigned char c)
{
    // token characters of RFC 7230
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return true;
    switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~': return true;
    default: return false;
    }
}

bool baggageValueChar(unsigned char c)
{
    // W3C baggage-octet: %x21 / %x23-2B / %x2D-3A / %x3C-5B / %x5D-7E
    return c == 0x21 || (c >= 0x23 && c <= 0x2B) || (c >= 0x2D && c <= 0x3A)
           || (c >= 0x3C && c <= 0x5B) || (c >= 0x5D && c <= 0x7E);
}

// Go's url.PathUnescape error for the first bad escape, or empty.
std::string pathUnescapeError(std::string_view s)
{
    std::string unused;
    std::string error;
    goUnescape(s, false, &unused, &error);
    return error;
}

// otel baggage parsePropertyInternal: key, optional "=" value, blanks around.
bool validProperty(std::string_view s)
{
    std::size_t i = 0;
    auto skip = [&] {
        while (i < s.size() && (s[i] == ' ' || s[i] == '\t'))
            ++i;
    };
    skip();
    const std::size_t keyStart = i;
    while (i < s.size() && baggageKeyChar(static_cast<unsigned char>(s[i])))
        ++i;
    if (i == keyStart)
        return false;
    skip();
    if (i == s.size())
        return true;
    if (s[i] != '=')
        return false;
    ++i;
    skip();
    const std::size_t valueStart = i;
    while (i < s.size() && baggageValueChar(static_cast<unsigned char>(s[i])))
        ++i;
    const std::string_view value = s.substr(valueStart, i - valueStart);
    skip();
    return i == s.size() && pathUnescapeError(value).empty();
}

// otel baggage parseMember: the error text, or empty when the member is valid.
std::string memberError(std::string_view member)
{
    const std::size_t semi = member.find(';');
    const std::string_view keyValue = member.substr(0, semi);
    if (semi != std::string_view::npos) {
        for (std::string_view property : split(member.substr(semi + 1), ';')) {
            if (!property.empty() && !validProperty(property))
                return "invalid baggage list-member property: " + goQuote(property);
        }
    }
    const std::size_t eq = keyValue.find('=');
    if (eq == std::string_view::npos)
        return "invalid baggage list-member: " + goQuote(member);
    const std::string_view key = trimSpace(keyValue.substr(0, eq));
    const std::string_view rawValue = keyValue.substr(eq + 1);
    bool keyOk = !key.empty();
    for (char c : key)
        keyOk = keyOk && baggageKeyChar(static_cast<unsigned char>(c));
    if (!keyOk)
        return "invalid key: " + goQuote(key);
    const std::string_view value = trimSpace(rawValue);
    for (char c : value) {
        if (!baggageValueChar(static_cast<unsigned char>(c)))
            return "invalid value: " + goQuote(rawValue);
    }
    if (const std::string e = pathUnescapeError(value); !e.empty())
        return "invalid value: " + e;
    return {};
}

} // namespace

std::optional<QByteArray> parseTraceparent(std::string_view h)
{
    if (h.empty())
        return std::nullopt;
    const std::vector<std::string_view> s = split(h, '-');
    if (s.size() < 4 || s[0].size() != 2)
        return std::nullopt;
    const int v0 = hexDigit(s[0][0], true);
    const int v1 = hexDigit(s[0][1], true);
    if (v0 < 0 || v1 < 0)
        return std::nullopt;
    const int version = v0 * 16 + v1;
    if (version > 254 || (version == 0 && s.size() != 4))
        return std::nullopt;
    if (s[1].size() != 32 || s[2].size() != 16)
        return std::nullopt;
    bool traceZero = true;
    for (char c : s[1]) {
        if (hexDigit(c, false) < 0) // otel's TraceIDFromHex takes lower case only
            return std::nullopt;
        traceZero = traceZero && c == '0';
    }
    bool spanZero = true;
    for (char c : s[2]) {
        if (hexDigit(c, false) < 0)
            return std::nullopt;
        spanZero = spanZero && c == '0';
    }
    // hex.DecodeString: an even number of hex digits, at least one byte.
    const std::string_view flags = s[3];
    if (flags.empty() || flags.size() % 2 != 0)
        return std::nullopt;
    for (char c : flags) {
        if (hexDigit(c, true) < 0)
            return std::nullopt;
    }
    if (traceZero || spanZero)
        return std::nullopt;
    const int flagByte = hexDigit(flags[0], true) * 16 + hexDigit(flags[1], true);
    static const char hex[] = "0123456789abcdef";
    QByteArray out = "00-";
    out.append(s[1].data(), static_cast<qsizetype>(s[1].size()));
    out += '-';
    out.append(s[2].data(), static_cast<qsizetype>(s[2].size()));
    out += '-';
    out += hex[flagByte >> 4];
    out += hex[flagByte & 0xF];
    return out;
}

QByteArray parseTracestate(std::string_view header)
{
    QByteArray out;
    std::vector<std::string> keys;
    int members = 0;
    for (std::string_view m : split(header, ',')) {
        if (m.empty())
            continue;
        const std::size_t eq = m.find('=');
        if (eq == std::string_view::npos)
            return {};
        const std::string_view key = trimBlank(m.substr(0, eq), true, false);
        const std::string_view value = trimBlank(m.substr(eq + 1), false, true);
        auto keyPart = [](std::string_view k, std::size_t rest, bool tenant) {
            if (k.empty() || k.size() - 1 > rest)
                return false;
            const char f = k[0];
            if (!((f >= 'a' && f <= 'z') || (tenant && f >= '0' && f <= '9')))
                return false;
            for (char c : k.substr(1)) {
                if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'
                      || c == '*' || c == '/'))
                    return false;
            }
            return true;
        };
        const std::size_t at = key.find('@');
        const bool keyOk
            = at == std::string_view::npos
                  ? keyPart(key, 255, false)
                  : keyPart(key.substr(0, at), 240, true) && keyPart(key.substr(at + 1), 13, false);
        bool valueOk = !value.empty() && value.size() <= 256;
        for (std::size_t i = 0; valueOk && i < value.size(); ++i) {
            const char c = value[i];
            const char low = i + 1 == value.size() ? '\x21' : '\x20';
            valueOk = c >= low && c <= '\x7e' && c != ',' && c != '=';
        }
        if (!keyOk || !valueOk)
            return {};
        const std::string k(key);
        for (const std::string &seen : keys) {
            if (seen == k)
                return {};
        }
        keys.push_back(k);
        if (++members > 32)
            return {};
        if (!out.isEmpty())
            out += ',';
        out.append(key.data(), static_cast<qsizetype>(key.size()));
        out += '=';
        out.append(value.data(), static_cast<qsizetype>(value.size()));
    }
    return out.size() <= 512 ? out : QByteArray();
}

QString baggageError(std::string_view header)
{
    if (header.empty())
        return {};
    if (header.size() > 8192)
        return QStringLiteral("baggage-string too large: %1").arg(header.size());
    std::vector<std::string> errors;
    int invalid = 0;
    int valid = 0;
    std::vector<std::string> keys;
    for (std::string_view member : split(header, ',')) {
        if (valid >= 64) {
            errors.push_back("too many list-members in baggage-string");
            break;
        }
        const std::string e = memberError(member);
        if (!e.empty()) {
            if (++invalid <= 5)
                errors.push_back(e);
            continue;
        }
        const std::string key(trimSpace(member.substr(0, member.find('='))));
        bool seen = false;
        for (const std::string &k : keys)
            seen = seen || k == key;
        if (!seen) {
            keys.push_back(key);
            ++valid;
        }
    }
    if (invalid > 5)
        errors.push_back("and " + std::to_string(invalid - 5) + " more invalid member(s)");
    std::string joined;
    for (const std::string &e : errors) {
        if (!joined.empty())
            joined += '\n';
        joined += e;
    }
    return QString::fromStdString(joined);
}

QByteArray newTraceparent()
{
    thread_local std::mt19937_64 rng{std::random_device{}()};
    static const char hex[] = "0123456789abcdef";
    QByteArray out("00-", 3);
    out.reserve(55);
    auto append = [&](int digits) {
        std::uint64_t word = 0;
        bool allZero = true;
        QByteArray part;
        do {
            part.clear();
            allZero = true;
            for (int i = 0; i < digits; ++i) {
                if (i % 16 == 0)
                    word = rng();
                const int d = static_cast<int>(word & 0xF);
                word >>= 4;
                allZero = allZero && d == 0;
                part += hex[d];
            }
        } while (allZero);
        out += part;
    };
    append(32);
    out += '-';
    append(16);
    out += "-01";
    return out;
}

} // namespace bindery::core::trace
