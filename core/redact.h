// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <atomic>
#include <memory>
#include <mutex>

#include <QByteArray>
#include <QByteArrayList>
#include <QList>
#include <QString>

#include "core/component_spec.h"

namespace bindery::core {

/// daprd's mask for a hidden value (Go's url.URL.Redacted() and net/http's errors write it too).
inline constexpr char kRedactedMask[] = "***";

/**
 * @brief Masks the password of every URL's user info in `text`: `scheme://user:pass@host`
 * becomes `scheme://user:***@host`, as Go's net/http writes a URL in its errors. Pure; any thread.
 */
QString maskUrlPasswords(const QString &text);
QByteArray maskUrlPasswords(const QByteArray &text);

/// The passwords of the URLs' user info in `text` (as written, and percent-decoded).
QStringList urlPasswords(const QString &text);

/**
 * @brief Hides secrets in text that leaves the process: API answers, log lines, traffic records
 * (and so the traffic log, the console's views and its exports).
 *
 * It knows every value a component took from a secret store (`secretKeyRef`) and every URL
 * password written in a component's metadata (learn(), called where secrets are resolved), and
 * replaces each with `***`; it also masks any `scheme://user:pass@` it meets. Values shorter than
 * kMinimumLength are not learned (masking "1" or "on" everywhere would garble every message).
 * One per process (global()): the log sink is process-wide. Thread-safe; learn() only adds, so a
 * value once loaded stays masked after a reload removed it.
 */
class Redactor final
{
public:
    static constexpr qsizetype kMinimumLength = 4;

    static Redactor &global();

    /// Learns the secret values and URL passwords of `components` (resolved specs).
    void learn(const QList<ComponentSpec> &components);
    /// Learns one value to hide.
    void learnValue(const QString &value);

    QString redact(const QString &text) const;
    QByteArray redact(const QByteArray &text) const;
    /// Number of values learned (for tests and diagnostics).
    qsizetype size() const;

private:
    struct Values
    {
        QStringList text;     ///< longest first
        QByteArrayList bytes; ///< the same, UTF-8, longest first
    };
    std::shared_ptr<const Values> snapshot() const;

    mutable std::mutex m_mutex;
    std::shared_ptr<const Values> m_values = std::make_shared<Values>();
    std::atomic<bool> m_any{false}; ///< anything learned: else redact() takes no lock
};

/// Redactor::global().redact(text): the form the rest of the code calls.
inline QString redacted(const QString &text)
{
    return Redactor::global().redact(text);
}
inline QByteArray redacted(const QByteArray &text)
{
    return Redactor::global().redact(text);
}

} // namespace bindery::core
