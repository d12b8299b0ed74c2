// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include <QByteArray>
#include <QString>

namespace bindery::core {

/**
 * @brief Serialises a JSON value exactly as Go's `json.Marshal(any)` does after
 * `json.Decode` into `any` (reference §1.2): compact, object keys sorted, numbers as float64
 * in Go's shortest format, `<`, `>`, `&`, U+2028 and U+2029 escaped, invalid UTF-8 replaced.
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
 * @brief Parses the first JSON value of `body`, ignoring anything after it, as Go's
 * `json.NewDecoder(r).Decode` does. On failure returns false and a Go-style message
 * (e.g. "EOF", "invalid character 'x' looking for beginning of value").
 */
bool goJsonDecodeFirst(const QByteArray &body, nlohmann::json *out, QString *error);

/** @brief Go's name of a JSON value's kind for unmarshal errors: "number", "bool", "array", ... */
QString goJsonKind(const nlohmann::json &value);

} // namespace bindery::core
