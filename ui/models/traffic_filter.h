// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <memory>
#include <vector>

#include <QByteArrayView>
#include <QString>
#include <QStringList>

namespace bindery::ui {

/** @brief What a filter sees of one traffic row (no copies: views into the model's row). */
struct FilterSubject
{
    int kind = 0; ///< core::TrafficRecord::Kind
    const QString *binding = nullptr;
    const QString *operation = nullptr;
    const QString *bindingType = nullptr;
    const QString *route = nullptr;
    int status = 0;
    bool ok = false;
    bool pending = false;
    qint64 latencyUs = 0;
    quint64 traceHash = 0; ///< traceHash() of the row's trace id, 0 = none
    QByteArrayView packed; ///< every other field as UTF-8 bytes (for free text)
    /// Header values held as packed traceparents (kPackedTraceparentSize bytes each, see
    /// packTraceparent()); free text matches their text form as if it were in `packed`.
    QByteArrayView traceparents;
};

/// Bytes of a traceparent held in binary: version, trace id, parent id, flags.
inline constexpr qsizetype kPackedTraceparentSize = 26;
/// Bytes of a traceparent's text form ("00-<32 hex>-<16 hex>-<2 hex>").
inline constexpr qsizetype kTraceparentTextSize = 55;
/// Packs `value` into `out` when it is a traceparent in its canonical form (55 characters,
/// lower-case hex), so unpackTraceparent() gives back exactly `value`; else false.
bool packTraceparent(QStringView value, char *out);
/// The text form of a packed traceparent: kTraceparentTextSize characters into `out`.
void unpackTraceparent(const char *in, char *out);

/**
 * @brief A traffic filter in a small Wireshark-like language.
 *
 * Terms: free words or "quoted text" (matched case-insensitively against every field),
 * `binding:`, `type:`, `direction:`/`dir:` (in|out|probe), `op:`, `route:`, `status:`
 * (a code, 5xx, ok, error, pending), `latency>`/`latency<` (ms; `us`, `ms`, `s` suffixes),
 * `trace:` (a W3C trace id). A value may list alternatives with commas. Terms combine with
 * `and` (also implied between adjacent terms), `or`, `!`/`not` and parentheses. A field name the
 * language does not know is an error, not free text. UI thread (the model's).
 */
class TrafficFilter
{
public:
    TrafficFilter();
    ~TrafficFilter();
    TrafficFilter(const TrafficFilter &other);
    TrafficFilter &operator=(const TrafficFilter &other);

    static TrafficFilter parse(const QString &expression);
    bool isEmpty() const { return m_root == nullptr; }
    bool matches(const FilterSubject &row) const;
    QString expression() const { return m_expression; }

    QString error; ///< non-empty when the expression is malformed (then it matches everything)

    /// The field names the language knows, with their trailing ':' or operator ("binding:").
    static QStringList fieldNames();
    /// The 64-bit key under which a trace id (32 hex digits) is indexed; 0 for no id.
    static quint64 traceHash(QStringView traceId);
    /// Quotes a value for use in an expression when it needs it.
    static QString quote(const QString &value);

    struct Node;

private:
    std::shared_ptr<const Node> m_root; ///< immutable once parsed: copies share it
    QString m_expression;
};

/** @brief The trace id (32 lower-case hex digits) of a W3C `traceparent` value, or "". */
QString traceIdOf(const QString &traceparent);

} // namespace bindery::ui
