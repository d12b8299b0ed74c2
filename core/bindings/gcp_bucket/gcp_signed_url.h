// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <optional>
#include <utility>

#include <QByteArray>
#include <QDateTime>
#include <QList>
#include <QString>

#include "core/bindings/gcp_bucket/gcp_credentials.h"
#include "core/result.h"

namespace bindery::bindings::gcp_bucket {

/// The longest a V4 signature may be valid: seven days, in seconds.
inline constexpr qint64 V4_MAX_EXPIRATION_SECONDS = 604800;

/** @brief Where the bucket goes in a signed URL. */
enum class UrlStyle {
    PathStyle,          ///< https://storage.googleapis.com/<bucket>/<object>
    VirtualHostedStyle, ///< https://<bucket>.storage.googleapis.com/<object>
    BucketBoundHostname ///< https://<your domain>/<object>, a CNAME for one bucket
};

/** @brief A name/value list kept in the caller's order (HTTP headers, query parameters). */
using NameValueList = QList<std::pair<QString, QString>>;

/**
 * @brief The scheme and host a signed URL points at.
 *
 * Resolved the way Google's libraries and the conformance vectors do: an explicit hostname
 * first, then the client's endpoint, then `STORAGE_EMULATOR_HOST`, and otherwise
 * `storage.<universe domain>`.
 */
struct SigningEndpoint
{
    QString scheme = QStringLiteral("https");
    QString host = QStringLiteral("storage.googleapis.com"); ///< host[:port], no scheme, no path
};

/** @brief The inputs of resolveSigningEndpoint(); every one may be empty. */
struct EndpointSources
{
    QString scheme;         ///< "http" or "https"; empty: from the chosen endpoint, else https
    QString hostname;       ///< host[:port] given for this URL
    QString clientEndpoint; ///< the client's endpoint (Bindery's `endpoint`), scheme optional
    QString emulatorHost;   ///< STORAGE_EMULATOR_HOST, with or without scheme
    QString universeDomain; ///< empty: googleapis.com
};

/** @brief Picks the scheme and host of a signed URL (see SigningEndpoint). Pure. */
SigningEndpoint resolveSigningEndpoint(const EndpointSources &sources);

/** @brief What to sign; mirrors Google's SignedURLOptions. A plain value type. */
struct SignedUrlOptions
{
    /// GET, HEAD, PUT, POST or DELETE; "RESUMABLE" means POST with `x-goog-resumable: start`.
    QString method = QStringLiteral("GET");
    QString bucket;
    QString object;              ///< empty: the bucket itself (e.g. a signed listing)
    qint64 expiresInSeconds = 0; ///< 1 .. V4_MAX_EXPIRATION_SECONDS
    QDateTime timestamp;         ///< the signing time; any time spec, used as UTC
    NameValueList headers;       ///< extra headers the request must send; all are signed
    NameValueList queryParameters;
    UrlStyle style = UrlStyle::PathStyle;
    SigningEndpoint endpoint;
    QString bucketBoundHostname; ///< the host for UrlStyle::BucketBoundHostname
};

/** @brief A V4 signed URL and the intermediate texts, for diagnostics and tests. */
struct SignedUrl
{
    QString url;
    QString canonicalRequest;
    QString stringToSign;
    QString signature; ///< lowercase hex
};

/**
 * @brief Signs a URL with the `GOOG4-RSA-SHA256` scheme, byte for byte as Google's libraries do.
 *
 * Canonical request: method, the percent-encoded path (`/` kept), the sorted canonical query with
 * the `X-Goog-*` parameters, lower-cased headers (values trimmed, inner whitespace collapsed,
 * repeated names joined by `,`) including `host` without its port, the signed header names, and the
 * `x-goog-content-sha256` header value or `UNSIGNED-PAYLOAD`. The credential scope is
 * `<yyyymmdd>/auto/storage/goog4_request`; the signature is hex RSA-SHA256 over the string to sign,
 * appended last as `X-Goog-Signature`. daprd's `sign` operation is a GET, path style, with its
 * `signTTL` as @p options.expiresInSeconds. Pure; any thread.
 */
[[nodiscard]] Result<SignedUrl> signUrlV4(const ServiceAccountKey &key,
                                          const SignedUrlOptions &options);

/** @brief Conditions of a V4 POST policy beyond the exact-match fields. */
struct PostPolicyConditions
{
    std::optional<std::pair<qint64, qint64>>
        contentLengthRange;   ///< ["content-length-range", min, max]
    NameValueList startsWith; ///< ["starts-with", "$<field>", "<prefix>"], in order
};

/** @brief What to put in a V4 POST policy (an HTML form upload straight to the bucket). */
struct PostPolicyOptions
{
    QString bucket;
    QString object;
    qint64 expiresInSeconds = 0; ///< 1 .. V4_MAX_EXPIRATION_SECONDS
    QDateTime timestamp;
    /// Form fields that must match exactly (acl, content-type, x-goog-meta-*, success_action_*);
    /// sorted by name in the policy. Fields named `x-ignore-*` are returned but not signed.
    NameValueList fields;
    PostPolicyConditions conditions;
    UrlStyle style = UrlStyle::PathStyle;
    SigningEndpoint endpoint;
    QString bucketBoundHostname;
};

/** @brief The form's action URL and fields; `policy` is the base64 policy document. */
struct SignedPostPolicy
{
    QString url;
    NameValueList fields;  ///< key, the given fields, x-goog-*, x-goog-signature, policy
    QByteArray policyJson; ///< the signed document (non-ASCII as \\uXXXX), before base64
};

/**
 * @brief Builds and signs a V4 POST policy document as Google's libraries do.
 *
 * Conditions in order: the given conditions, the exact-match fields, then `bucket`, `key`,
 * `x-goog-date`, `x-goog-credential`, `x-goog-algorithm`; `expiration` is the timestamp plus the
 * expiry. The document is compact JSON with non-ASCII escaped; the signature is hex RSA-SHA256 of
 * its base64 text. Pure; any thread.
 */
[[nodiscard]] Result<SignedPostPolicy> signPostPolicyV4(const ServiceAccountKey &key,
                                                        const PostPolicyOptions &options);

} // namespace bindery::bindings::gcp_bucket
