// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <QByteArray>
#include <QString>

#include "core/traffic.h"

namespace bindery::ui {

/**
 * @brief How the console shows what travels through a binding: metadata grouped by where it comes
 * from (trace context, Kafka record, AMQP properties, SQS attributes, Event Hubs `x-opt-*`
 * annotations, HTTP), payloads as JSON, text, an image or a hex dump, and secrets masked.
 * Plain functions; any thread.
 */
namespace format {

/// The group a metadata key belongs to ("Trace context", "AMQP properties", ... or "Other").
QString metadataGroup(const QString &key);
/// Metadata as HTML tables, one per group (in a fixed order), secrets masked, epoch times
/// readable, JSON values pretty.
QString metadataHtml(const core::Headers &headers);
/// A payload as HTML: pretty JSON, text, an image's size and type, or a hex dump of the first
/// bytes; never mojibake.
QString payloadHtml(const QByteArray &bytes);
/// What the bytes are: "json", "text", "image/png" (any image type Qt reads), or "binary".
QString sniff(const QByteArray &bytes);
/// A classic 16-bytes-per-line hex dump with the ASCII column (at most `max` bytes).
QString hexDump(const QByteArray &bytes, int max = 64 * 1024);

/// Whether a metadata or setting name holds a secret (password, key, token, SAS, ...).
bool isSecretKey(const QString &key);
/// The value to show for `key`: masked when the key holds a secret.
QString shownValue(const QString &key, const QString &value);
/// `text` with connection-string secrets (`SharedAccessKey=`, `AccountKey=`, `Password=`, ...),
/// URL passwords and PEM private keys replaced by a mask.
QString maskSecrets(const QString &text);
/// A copy of `record` with secret metadata values and connection-string secrets masked (for
/// exports and the clipboard).
core::TrafficRecord masked(core::TrafficRecord record);

/// daprd's mask, the same as core/redact.h writes.
inline constexpr char16_t kMask[] = u"***";

} // namespace format
} // namespace bindery::ui
