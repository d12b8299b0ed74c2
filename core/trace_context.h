// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <optional>
#include <string_view>

#include <QByteArray>
#include <QString>

namespace bindery::core::trace {

/// The all-zero traceparent daprd answers when the caller sent none (tracing off).
inline constexpr std::string_view ZERO_TRACEPARENT
    = "00-00000000000000000000000000000000-0000000000000000-00";

/**
 * @brief daprd's SpanContextFromW3CString (pkg/diagnostics/tracing.go): a valid `traceparent`
 * re-serialised as daprd writes it ("00-<trace id>-<span id>-<flags>", lower-case), or nothing
 * when it is invalid (bad lengths or hex, version ff, all-zero ids). Pure; any thread.
 */
std::optional<QByteArray> parseTraceparent(std::string_view header);

/**
 * @brief OpenTelemetry's ParseTraceState as daprd uses it: the list-members re-joined with ",",
 * or empty when the header is empty, invalid or longer than daprd's 512 bytes. Pure.
 */
QByteArray parseTracestate(std::string_view header);

/**
 * @brief OpenTelemetry's baggage.Parse, which daprd runs on the joined `baggage` headers: an
 * empty string when the baggage is valid, else the error text daprd puts after
 * "invalid baggage header: " (e.g. `invalid baggage list-member: "x"`). Pure.
 */
QString baggageError(std::string_view header);

/**
 * @brief A fresh W3C traceparent with random trace and span ids, sampled ("-01"), for an event
 * that starts inside Bindery (a cron tick, a broker record that carried none). Any thread.
 */
QByteArray newTraceparent();

} // namespace bindery::core::trace
