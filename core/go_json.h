// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include <QByteArray>
#include <QMap>
#include <QString>

namespace bindery::core {

/**
 * @brief Serialises a JSON value exactly as Go's `json.Marshal(any)` does after
 * `json.Decode` into `any` (reference §1.2): compact, object keys sorted, numbers as float64
 * in Go's shortest format, `<`, `>`, `&`, U+2028 and U+2029 escaped, invalid UTF-8 replaced.
 * Pure; any thread.
 */
QByteArray goJsonMarshal(const nlohmann::json &value);

/**
 * @brief Appends `text` as a JSON string exactly as Go's encoding/json writes a string: quoted,
 * `<`, `>`, `&`, U+2028 and U+2029 escaped, invalid UTF-8 as `\ufffd`. For bindings that write
 * daprd's Go structs field by field (struct order is not map order).
 */
void goJsonAppendString(std::string &out, std::string_view text);

/**
 * @brief Go's utf8.DecodeRune for the sequence at p[0..n) (n >= 1): its length, with the code point
 * in *rune, or 0 when it is not valid UTF-8 (overlong, a surrogate, beyond U+10FFFF, cut short),
 * where Go yields RuneError with size 1.
 */
size_t goUtf8Rune(const unsigned char *p, size_t n, char32_t *rune = nullptr);

/** @brief Go's float64 formatting in encoding/json (strconv 'f' or 'e', shortest). */
std::string goFormatFloat(double value);

/**
 * @brief Decodes the first JSON value of `body` into `any`, as Go's
 * `json.NewDecoder(r).Decode(&v)` does: anything after the first value is ignored, numbers are
 * float64 (a number out of float64's range is an error), strings have invalid UTF-8 and lone
 * surrogates replaced by U+FFFD, a repeated object key keeps its last value. On failure returns
 * false and Go's message (e.g. "EOF", "unexpected EOF",
 * "invalid character 'x' looking for beginning of value"). Pure; any thread.
 */
bool goJsonDecodeFirst(const QByteArray &body, nlohmann::json *out, QString *error);

/** @brief daprd's `OutputBindingRequest` (pkg/api/http/requests.go), decoded. */
struct GoBindingRequest
{
    /// `data` as daprd hands it to the component: Go's json.Marshal of the decoded value
    /// (goJsonMarshal), "null" when absent or null.
    QByteArray data = QByteArrayLiteral("null");
    QMap<QString, QString> metadata;
    QString operation;
};

/**
 * @brief Decodes a body into daprd's OutputBindingRequest as Go's
 * `json.NewDecoder(r.Body).Decode(&req)` does (reference §0.1, §1.1): field names match
 * case-insensitively (`Operation`, `DATA`) and a repeated field keeps its last value; a metadata
 * value `null` is ""; syntax errors come first, then the first type error in document order,
 * each with Go's exact message (without daprd's "failed deserializing HTTP body: " prefix).
 * Pure; any thread.
 */
bool goDecodeBindingRequest(const char *begin, const char *end, GoBindingRequest *out,
                            QString *error);

/** @brief Go's strconv.Quote (what `%q` prints): printable runes kept, the rest escaped. */
std::string goQuote(std::string_view s);

/** @brief The value of one hex digit (either case), or -1. */
int goHexValue(char c);

/**
 * @brief Go's url unescape: "%XX" decoded, and '+' a space when `plus` (url.QueryUnescape; else
 * url.PathUnescape). On a bad escape returns false and, when `error` is given, Go's text
 * (`invalid URL escape "%zz"`). Pure; any thread.
 */
bool goUnescape(std::string_view in, bool plus, std::string *out, std::string *error = nullptr);

/** @brief Go's name of a JSON value's kind for unmarshal errors: "number", "bool", "array", ... */
QString goJsonKind(const nlohmann::json &value);

} // namespace bindery::core
