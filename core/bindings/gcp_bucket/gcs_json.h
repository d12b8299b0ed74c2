// SPDX-License-Identifier: Apache-2.0
#pragma once

// The JSON daprd's gcp.bucket binding writes and the error texts it passes on, produced from the
// Cloud Storage JSON API's own documents (issue 12). Pure functions; any thread.

#include <string>

#include <nlohmann/json.hpp>

#include <QByteArrayView>
#include <QString>

namespace bindery::bindings::gcp_bucket {

/**
 * @brief Appends Go's `json.Marshal` of `storage.ObjectAttrs` (cloud.google.com/go/storage
 * v1.52, as daprd 1.18 links it) built from a JSON API object resource, exactly as daprd's
 * `list` and `bulkGet` answer it: capitalised field names in struct order, times as RFC 3339
 * with nanoseconds (zero times as "0001-01-01T00:00:00Z"), `MD5` as base64, `CRC32C` as a
 * number, missing lists, maps and pointers as null.
 */
void appendObjectAttrs(std::string &out, const nlohmann::json &object);

/** @brief The ObjectAttrs Go's iterator yields for a listing prefix: only `Prefix` set. */
void appendPrefixAttrs(std::string &out, const std::string &prefix);

/**
 * @brief The text of the `*googleapi.Error` Google's Go client makes from a JSON API error answer
 * (googleapi.CheckResponse): "googleapi: Error 404: No such object: b/o, notFound", or
 * "googleapi: got HTTP response code 502 with body: ..." when the body is not Google's error JSON.
 */
QString googleApiErrorText(int status, QByteArrayView body);

/** @brief As googleApiErrorText() for a media download (the body is never parsed). */
QString googleMediaErrorText(int status, QByteArrayView body);

} // namespace bindery::bindings::gcp_bucket
