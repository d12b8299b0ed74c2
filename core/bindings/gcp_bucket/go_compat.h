// SPDX-License-Identifier: Apache-2.0
#pragma once

// What daprd's gcp.bucket binding gets from Go's standard library and Google's Go client, written
// again so Bindery answers byte for byte as daprd 1.18 does (issue 12): strconv.Unquote, the
// streaming base64 decoder, http.DetectContentType, time.ParseDuration, url.Parse(...).String()
// and json.Unmarshal into the binding's small payload structs. Every function is pure and may be
// called from any thread.

#include <optional>

#include <QByteArray>
#include <QByteArrayView>
#include <QList>
#include <QMap>
#include <QString>

#include "core/result.h"

namespace bindery::bindings::gcp_bucket {

/**
 * @brief Go's `strconv.Unquote`, in place: `"..."`, `'.'` and raw `` `...` `` literals.
 *
 * On success @p data holds the unquoted bytes and true is returned; otherwise @p data is left
 * untouched. Works inside the buffer it is given (the result is never longer than the literal),
 * so a large payload is not copied; only a literal with invalid UTF-8 among escapes (each such
 * byte becomes U+FFFD, three bytes) is rebuilt in a new buffer. Detaches @p data if it is shared.
 */
bool goUnquoteInPlace(QByteArray &data);

/**
 * @brief Decodes standard base64 in place as daprd's `base64.NewDecoder(StdEncoding, r)` read
 * through `io.Copy`: `\r` and `\n` are skipped, padding is checked, and an error has Go's text
 * ("illegal base64 data at input byte N", N counted within the decoder's 1024-byte window as Go
 * does, or "unexpected EOF" for a cut-off last quantum).
 *
 * On error @p data holds the bytes decoded before it (daprd uploads those). Never allocates.
 */
[[nodiscard]] Result<> goBase64DecodeInPlace(QByteArray &data);

/** @brief Standard base64 with padding, in place (the buffer grows to 4/3, no second copy). */
void base64EncodeInPlace(QByteArray &data);

/** @brief Go's `http.DetectContentType` over the first 512 bytes (WHATWG MIME sniffing). */
QByteArray goDetectContentType(QByteArrayView data);

/**
 * @brief Go's `time.ParseDuration`, with its error texts (`time: invalid duration "x"`,
 * `time: missing unit in duration "15"`, `time: unknown unit "d" in duration "1d"`).
 * @return nanoseconds.
 */
[[nodiscard]] Result<qint64> goParseDuration(const QString &text);

/**
 * @brief `url.Parse(u).String()` of an absolute URL built by string formatting, as daprd builds
 * its `objectURL`: a path already validly escaped is kept, anything else is escaped as Go's
 * `URL.EscapedPath` does; a bad `%` escape or a control character is Go's parse error.
 */
[[nodiscard]] Result<QString> goUrlString(const QString &url);

/** @brief The kind of a field in goUnmarshalStruct(). */
enum class GoFieldKind { String, Int32 };

/** @brief One field of a Go struct decoded with json.Unmarshal, e.g. {"maxResults", Int32}. */
struct GoField
{
    QString jsonName;
    GoFieldKind kind = GoFieldKind::String;
};

/** @brief The decoded struct: field name to its text (an Int32 in decimal); unset = zero. */
using GoStruct = QMap<QString, QString>;

/**
 * @brief Go's `json.Unmarshal(data, &v)` for a struct of string and int32 fields, with Go's
 * error texts, e.g. "json: cannot unmarshal string into Go value of type bucket.listPayload" or
 * "json: cannot unmarshal number 1.5 into Go struct field listPayload.maxResults of type int32".
 * Keys match exactly, else case-insensitively, as Go's decoder does; `null` leaves a field unset.
 * @p goType is the qualified type, e.g. "bucket.listPayload".
 */
[[nodiscard]] Result<GoStruct> goUnmarshalStruct(QByteArrayView data, const QString &goType,
                                                 const QList<GoField> &fields);

/** @brief Go's `strconv.Quote`-style quoting used in Go error texts ("a\"b" -> "\"a\\\"b\""). */
QString goQuote(const QString &text);

} // namespace bindery::bindings::gcp_bucket
