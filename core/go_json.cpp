// SPDX-License-Identifier: Apache-2.0
#include "core/go_json.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <vector>
#include <cmath>
#include <cstdio>

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

// Go's encodeState.string with HTML escaping: one pass, no intermediate strings (hot path of
// every output request). Invalid UTF-8 becomes the escape \ufffd, as Go writes it.
void appendString(std::string &out, std::string_view s)
{
    static const char hex[] = "0123456789abcdef";
    out.reserve(out.size() + s.size() + 2);
    out += '"';
    const auto *p = reinterpret_cast<const unsigned char *>(s.data());
    const size_t n = s.size();
    for (size_t i = 0; i < n;) {
        const unsigned char c = p[i];
        if (c < 0x80) {
            switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            case '\b': out += "\\b"; break;
            case '\f': out += "\\f"; break;
            case '<':
            case '>':
            case '&':
                out += "\\u00";
                out += hex[c >> 4];
                out += hex[c & 0xF];
                break;
            default:
                if (c < 0x20) {
                    out += "\\u00";
                    out += hex[c >> 4];
                    out += hex[c & 0xF];
                } else {
                    out += static_cast<char>(c);
                }
            }
            ++i;
            continue;
        }
        char32_t cp = 0;
        const size_t len = goUtf8Rune(p + i, n - i, &cp);
        if (len == 0) {
            out += "\\ufffd";
            ++i;
            continue;
        }
        if (cp == 0x2028 || cp == 0x2029) {
            out += cp == 0x2028 ? "\\u2028" : "\\u2029";
        } else {
            out.append(reinterpret_cast<const char *>(p + i), len);
        }
        i += len;
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

// Ordinals (among all number tokens) of the integer tokens "-0": nlohmann parses them as the
// integer 0, but Go decodes every number as float64 and keeps the sign (json.Marshal gives -0).
std::vector<size_t> negativeZeroTokens(const char *begin, const char *end)
{
    std::vector<size_t> out;
    size_t ordinal = 0;
    bool inString = false;
    for (const char *p = begin; p < end; ++p) {
        const char c = *p;
        if (inString) {
            if (c == '\\')
                ++p;
            else if (c == '"')
                inString = false;
            continue;
        }
        if (c == '"') {
            inString = true;
        } else if (c == '-' || (c >= '0' && c <= '9')) {
            const char *start = p;
            while (p + 1 < end
                   && (std::isdigit(static_cast<unsigned char>(p[1])) || p[1] == '.' || p[1] == 'e'
                       || p[1] == 'E' || p[1] == '+' || p[1] == '-'))
                ++p;
            if (p - start == 1 && start[0] == '-' && start[1] == '0')
                out.push_back(ordinal);
            ++ordinal;
        }
    }
    return out;
}

class GoSax : public nlohmann::detail::json_sax_dom_parser<nlohmann::json>
{
public:
    using Base = nlohmann::detail::json_sax_dom_parser<nlohmann::json>;
    GoSax(nlohmann::json &result, std::vector<size_t> negativeZeros)
        : Base(result, true)
        , m_negativeZeros(std::move(negativeZeros))
    {
    }
    bool number_integer(nlohmann::json::number_integer_t value)
    {
        const size_t ordinal = m_ordinal++;
        if (value == 0
            && std::find(m_negativeZeros.begin(), m_negativeZeros.end(), ordinal)
                   != m_negativeZeros.end())
            return Base::number_float(-0.0, "-0");
        return Base::number_integer(value);
    }
    bool number_unsigned(nlohmann::json::number_unsigned_t value)
    {
        ++m_ordinal;
        return Base::number_unsigned(value);
    }
    bool number_float(nlohmann::json::number_float_t value, const std::string &text)
    {
        ++m_ordinal;
        return Base::number_float(value, text);
    }
    // Go's decoder stops at 10000 levels of nesting; deeper input would also overflow the stack
    // of the recursive marshal (one request could crash the runtime).
    bool start_object(std::size_t elements) { return enter('{') && Base::start_object(elements); }
    bool end_object()
    {
        --m_depth;
        return Base::end_object();
    }
    bool start_array(std::size_t elements) { return enter('[') && Base::start_array(elements); }
    bool end_array()
    {
        --m_depth;
        return Base::end_array();
    }
    char tooDeep() const { return m_tooDeep; }

private:
    bool enter(char c)
    {
        if (++m_depth <= 10000)
            return true;
        m_tooDeep = c;
        return false;
    }
    int m_depth = 0;
    char m_tooDeep = 0;
    std::vector<size_t> m_negativeZeros;
    size_t m_ordinal = 0;
};

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
    std::string out;
    marshal(out, value);
    return QByteArray::fromStdString(out);
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

bool goJsonDecodeFirst(const QByteArray &body, nlohmann::json *out, QString *error)
{
    const char *begin = body.constData();
    const char *end = begin + body.size();
    while (begin < end && (*begin == ' ' || *begin == '\t' || *begin == '\n' || *begin == '\r'))
        ++begin;
    if (begin == end) {
        *error = QStringLiteral("EOF");
        return false;
    }
    nlohmann::json result;
    GoSax sax(result, body.contains("-0") ? negativeZeroTokens(begin, end) : std::vector<size_t>());
    bool ok = false;
    try {
        ok = nlohmann::json::sax_parse(begin, end, &sax, nlohmann::json::input_format_t::json,
                                       false);
    } catch (const nlohmann::json::parse_error &e) {
        const size_t pos = e.byte > 0 ? e.byte - 1 : 0;
        const size_t len = static_cast<size_t>(end - begin);
        if (pos >= len) {
            *error = QStringLiteral("unexpected EOF");
        } else {
            const char c = begin[pos];
            *error = QStringLiteral(
                         "invalid character '%1' looking for beginning of value (at byte %2)")
                         .arg(QString::fromLatin1(&c, 1))
                         .arg(pos + 1);
        }
        return false;
    }
    if (sax.tooDeep()) {
        *error = QStringLiteral("invalid character '%1' exceeded max depth")
                     .arg(QLatin1Char(sax.tooDeep()));
        return false;
    }
    if (!ok || sax.is_errored()) {
        *error = QStringLiteral("unexpected EOF");
        return false;
    }
    *out = std::move(result);
    return true;
}

} // namespace bindery::core
