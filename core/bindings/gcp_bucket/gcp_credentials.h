// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <memory>
#include <optional>

#include <QByteArray>
#include <QByteArrayView>
#include <QList>
#include <QMap>
#include <QString>
#include <QStringView>

#include "core/result.h"

namespace bindery::bindings::gcp_bucket {

/// Google's default token endpoint, used when a key names none.
inline constexpr QStringView DEFAULT_TOKEN_URI = u"https://oauth2.googleapis.com/token";
/// The universe domain of Google's public cloud, used when a key names none.
inline constexpr QStringView DEFAULT_UNIVERSE_DOMAIN = u"googleapis.com";
/// The environment variable Google's libraries read for a key file (Application Default
/// Credentials).
inline constexpr char GOOGLE_APPLICATION_CREDENTIALS[] = "GOOGLE_APPLICATION_CREDENTIALS";

/**
 * @brief An RSA private key parsed once from PEM, signing with RSA-SHA256 (PKCS#1 v1.5).
 *
 * Immutable after construction. sign() may be called from any thread at once (OpenSSL 3 keys are
 * read-only while signing; each call uses its own digest context). Never prints its key material.
 */
class RsaPrivateKey final
{
public:
    ~RsaPrivateKey();
    RsaPrivateKey(const RsaPrivateKey &) = delete;
    RsaPrivateKey &operator=(const RsaPrivateKey &) = delete;

    /**
     * @brief Parses a PKCS#8 (`BEGIN PRIVATE KEY`) or PKCS#1 (`BEGIN RSA PRIVATE KEY`) PEM key.
     *
     * Accepts the forms users paste into YAML and environment variables: literal `\n` escapes (a
     * key copied from the JSON file into a single-quoted or plain YAML scalar), CRLF, lines folded
     * into spaces, surrounding quotes. @p field names the setting in error messages, which never
     * contain the key text. Encrypted keys are refused (never prompts for a passphrase).
     */
    [[nodiscard]] static Result<std::shared_ptr<const RsaPrivateKey>> fromPem(QByteArrayView pem,
                                                                              const QString &field);

    /** @brief RSASSA-PKCS1-v1_5 over SHA-256 of @p data. Thread-safe; does not block. */
    [[nodiscard]] Result<QByteArray> signSha256(QByteArrayView data) const;

    /** @brief The normalised PEM text. Sensitive: never log it or put it in a message. */
    const QByteArray &pem() const { return m_pem; }
    /** @brief Modulus size in bits (2048 for Google's keys). */
    int bits() const;

private:
    struct Handle;
    RsaPrivateKey(std::unique_ptr<Handle> handle, QByteArray pem);

    std::unique_ptr<Handle> m_handle;
    QByteArray m_pem;
};

/**
 * @brief A Google service-account key: the fields of its JSON key file and its parsed RSA key.
 *
 * A plain value type; copies share the immutable key, so it is safe to copy across threads.
 * `privateKey` is never null in a value returned by the parse functions below.
 */
struct ServiceAccountKey
{
    QString type = QStringLiteral("service_account");
    QString projectId;
    QString privateKeyId; ///< the JWT `kid`; may be empty
    QString clientEmail;  ///< the JWT `iss` and the signed-URL credential
    QString clientId;
    QString authUri;
    QString tokenUri = DEFAULT_TOKEN_URI.toString();
    QString authProviderX509CertUrl;
    QString clientX509CertUrl;
    QString universeDomain = DEFAULT_UNIVERSE_DOMAIN.toString();
    std::shared_ptr<const RsaPrivateKey> privateKey;
};

/**
 * @brief Parses the JSON key file form (`"type": "service_account"`, `private_key`, `client_email`,
 * ...).
 *
 * @p source names the file (or other origin) in error messages. `type`, `private_key` and
 * `client_email` are required; `token_uri` and `universe_domain` default to Google's. Other key
 * types
 * (`authorized_user`, `external_account`, ...) are refused by name. Pure function; any thread.
 */
[[nodiscard]] Result<ServiceAccountKey> parseServiceAccountJson(QByteArrayView json,
                                                                const QString &source);

/** @brief Reads and parses a key file; errors name the path. Blocks on file I/O. */
[[nodiscard]] Result<ServiceAccountKey> loadServiceAccountFile(const QString &path);

/**
 * @brief The key file named by `GOOGLE_APPLICATION_CREDENTIALS`, as Google's libraries read it.
 *
 * Empty optional when the variable is unset or empty; an error naming the variable and the path
 * when it is set but the file is missing or not a service-account key. Blocks on file I/O.
 */
[[nodiscard]] Result<std::optional<ServiceAccountKey>> loadFromEnvironment();

/**
 * @brief Builds a key from component metadata, as daprd's gcp.bucket decodes it.
 *
 * Each field has daprd's camelCase name and its snake_case alias (`privateKeyID` /
 * `private_key_id`, `clientEmail` / `client_email`, `authProviderX509CertURL` /
 * `auth_provider_x509_cert_url`, ...), matched case-insensitively; when both a name and its alias
 * are present the camelCase name wins, and two keys that differ only in case are an error (dapr/kit
 * `DecodeMetadata`). `universeDomain` / `universe_domain` is a Bindery addition (daprd has no such
 * field).
 *
 * daprd signs in explicitly only when `private_key_id` is set and otherwise falls back to
 * Application Default Credentials; Bindery also treats a set `private_key` as explicit, so a key
 * without an id is not silently ignored. Returns an empty optional when neither is set (the caller
 * then tries loadFromEnvironment()). With explicit credentials `private_key` and `client_email` are
 * required and `type`, when set, must be `service_account`.
 */
[[nodiscard]] Result<std::optional<ServiceAccountKey>>
serviceAccountFromMetadata(const QMap<QString, QString> &properties);

/** @brief One service-account metadata field: daprd's name and its alias. */
struct ServiceAccountField
{
    QString name;  ///< daprd's mapstructure name, e.g. "privateKeyID"
    QString alias; ///< the JSON key-file name, e.g. "private_key_id"
};

/** @brief Every field serviceAccountFromMetadata() reads, in key-file order. */
const QList<ServiceAccountField> &serviceAccountFields();

} // namespace bindery::bindings::gcp_bucket
