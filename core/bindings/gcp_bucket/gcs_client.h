// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <functional>
#include <memory>

#include <nlohmann/json.hpp>
#include <tl/expected.hpp>

#include <QByteArray>
#include <QString>

#include "core/bindings/common/rest_client.h"
#include "core/bindings/gcp_bucket/gcp_token_source.h"

namespace bindery::bindings::gcp_bucket {

/** @brief Why a Cloud Storage call failed, in the words Google's Go client would use. */
struct GcsFailure
{
    int status = 0; ///< the HTTP status; 0 when no answer came (transport, sign-in, closed)
    /// `googleapi: Error 404: No such object: b/o, notFound`, or for a transport error
    /// `Get "<url>": <reason>` (Go's url.Error form), or the sign-in's own message.
    QString text;
    /// A download that broke after some of the body arrived (Go: an error while reading).
    bool partial = false;
    bool notFound() const { return status == 404; }
};

template <typename T> using GcsResult = tl::expected<T, GcsFailure>;

/** @brief Where the client sends its requests, and how it uploads. */
struct GcsClientOptions
{
    /// scheme://host[:port][/prefix] without a trailing slash: the JSON API is at
    /// `<endpoint>/storage/v1`, uploads at `<endpoint>/upload/storage/v1`.
    QByteArray endpoint = "https://storage.googleapis.com";
    /// Objects up to this size go in one request (uploadType=media); larger ones through a
    /// resumable session in chunks of this size (a multiple of 256 KiB).
    qint64 chunkSize = 16 * 1024 * 1024;
    /// Budget of each request of small documents (metadata, listing pages, deletes, copies).
    std::chrono::milliseconds timeout{60000};
    /// A transfer (download, upload chunk) fails when no byte moved for this long.
    std::chrono::milliseconds stallTimeout{30000};
};

/**
 * @brief The Cloud Storage JSON API calls daprd's gcp.bucket binding makes, asynchronous, over
 * the binding kit's RestClient (issue 12).
 *
 * Sign-in: with a TokenSource each call first waits (without blocking) for a usable token, and
 * every attempt carries the freshest one (RestRequest::beforeAttempt); a 401 drops the cached
 * token so the next call signs in again. Without one the calls are anonymous (emulators).
 *
 * Large objects: an upload sends the caller's buffer as it is (slices of it for the chunks of a
 * resumable session: no copy); a chunk that fails is sent again from where the session stands,
 * the session is never started again. A download streams into one growing buffer and, when the
 * connection breaks after some bytes, continues with a Range request for the same generation.
 *
 * Threads: every method may be called from any thread; `done` runs on the RestClient's worker
 * (or at once on the caller's thread when the sign-in fails or the client is closing). The
 * RestClient and TokenSource must outlive every call in flight (destroy the TokenSource's client
 * first, then the RestClient: both complete what is pending).
 */
class GcsClient final
{
public:
    GcsClient(common::RestClient &client, std::shared_ptr<TokenSource> tokens,
              GcsClientOptions options);

    /// Upload `data` as `bucket/name`; the answer is the object resource.
    void upload(const QString &bucket, const QString &name, const QByteArray &contentType,
                std::shared_ptr<const QByteArray> data,
                std::function<void(GcsResult<nlohmann::json>)> done);
    /// Download the object's bytes.
    void download(const QString &bucket, const QString &name,
                  std::function<void(GcsResult<QByteArray>)> done);
    /// One listing page (projection=full, Go's iterator's request); empty prefix/delimiter/token
    /// are left out.
    void listPage(const QString &bucket, const QString &prefix, const QString &delimiter,
                  const QString &pageToken, std::function<void(GcsResult<nlohmann::json>)> done);
    void remove(const QString &bucket, const QString &name,
                std::function<void(GcsResult<void>)> done);
    /// objects.rewrite until done (Go's Copier); the answer is the new object resource.
    void rewrite(const QString &srcBucket, const QString &srcName, const QString &dstBucket,
                 const QString &dstName, std::function<void(GcsResult<nlohmann::json>)> done);

    const GcsClientOptions &options() const { return m_options; }

    /// Sends with the token attached (or anonymously); `done` gets the raw response.
    void send(common::RestRequest request, common::RestClient::Done done);
    /// `<endpoint>/storage/v1/b/<bucket>/o/<name>` with both parts percent-encoded.
    QByteArray objectUrl(const QString &bucket, const QString &name) const;
    /// The failure a response stands for (JSON API error text, or Go's transport text).
    GcsFailure failure(const common::RestResponse &response, const QByteArray &method,
                       const QByteArray &url, bool media = false) const;

private:
    struct Upload;
    struct Download;

    common::RestClient &m_client;
    std::shared_ptr<TokenSource> m_tokens;
    GcsClientOptions m_options;
};

/** @brief Percent-encodes one path segment or query value (only unreserved bytes stay). */
QByteArray encodeComponent(const QString &text);

} // namespace bindery::bindings::gcp_bucket
