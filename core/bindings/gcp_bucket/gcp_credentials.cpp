// SPDX-License-Identifier: Apache-2.0
#include "core/bindings/gcp_bucket/gcp_credentials.h"

#include <algorithm>
#include <array>
#include <functional>

#include <nlohmann/json.hpp>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <QFile>
#include <QHash>

using namespace Qt::Literals::StringLiterals;

namespace bindery::bindings::gcp_bucket {

struct RsaPrivateKey::Handle
{
    EVP_PKEY *key = nullptr;
    ~Handle() { EVP_PKEY_free(key); }
};

namespace {

// @p field is already quoted and placed, e.g. "'private_key' in key.json".
QString fieldError(const QString &field, const QString &what)
{
    return u"gcp.bucket: %1 %2"_s.arg(field, what);
}

// OpenSSL's reason text ("no start line", "bad base64 decode") never quotes the input, so it is
// safe to show; the queue is cleared so it cannot leak into the next unrelated OpenSSL call.
QString takeOpenSslReason()
{
    const unsigned long code = ERR_peek_last_error();
    const char *reason = code ? ERR_reason_error_string(code) : nullptr;
    ERR_clear_error();
    return reason ? QString::fromLatin1(reason) : u"unknown error"_s;
}

// Without this callback an encrypted PEM would make OpenSSL prompt on the terminal.
int refusePassphrase(char *, int, int, void *)
{
    return 0;
}

bool isBase64Char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+'
           || c == '/' || c == '=';
}

// Rebuilds a clean PEM from the forms keys arrive in: the JSON escape `\n` kept literally by a
// single-quoted or plain YAML scalar, newlines folded into spaces, CRLF, one long line.
Result<QByteArray> normalisePem(QByteArrayView input, const QString &field)
{
    QByteArray text = input.toByteArray().trimmed();
    if (text.size() >= 2 && text.front() == '"' && text.back() == '"')
        text = text.mid(1, text.size() - 2).trimmed();
    text.replace("\\r", "").replace("\\n", "\n");

    static constexpr QByteArrayView beginMark = "-----BEGIN ";
    const qsizetype begin = text.indexOf(beginMark);
    if (text.isEmpty())
        return fail(ErrorCode::InvalidMetadata, fieldError(field, u"is empty"_s));
    if (begin < 0)
        return fail(ErrorCode::InvalidMetadata,
                    fieldError(field, u"is not a PEM private key: it should start with "
                                      "'-----BEGIN PRIVATE KEY-----'"_s));
    const qsizetype labelStart = begin + beginMark.size();
    const qsizetype labelEnd = text.indexOf("-----", labelStart);
    if (labelEnd < 0)
        return fail(ErrorCode::InvalidMetadata,
                    fieldError(field, u"has a broken '-----BEGIN' line"_s));
    const QByteArray label = text.mid(labelStart, labelEnd - labelStart).trimmed();
    if (label.contains("ENCRYPTED"))
        return fail(ErrorCode::InvalidMetadata,
                    fieldError(field, u"is an encrypted key; a service-account key is not "
                                      "encrypted (use the key file Google issued)"_s));
    if (label != "PRIVATE KEY" && label != "RSA PRIVATE KEY") {
        // Name the block only when it looks like a PEM label, never echo arbitrary input.
        const bool plain
            = label.size() <= 30 && std::all_of(label.begin(), label.end(), [](char c) {
                  return (c >= 'A' && c <= 'Z') || c == ' ';
              });
        return fail(
            ErrorCode::InvalidMetadata,
            fieldError(field, u"holds a PEM %1, not a private key"_s.arg(
                                  plain ? u"'%1'"_s.arg(QString::fromLatin1(label)) : u"block"_s)));
    }
    const QByteArray endMark = "-----END " + label + "-----";
    const qsizetype end = text.indexOf(endMark, labelEnd + 5);
    if (end < 0)
        return fail(ErrorCode::InvalidMetadata,
                    fieldError(field, u"has no '%1' line (is the key cut short?)"_s.arg(
                                          QString::fromLatin1(endMark))));

    QByteArray body;
    for (const char c : QByteArrayView(text).sliced(labelEnd + 5, end - labelEnd - 5)) {
        if (QChar::isSpace(uchar(c)))
            continue;
        if (!isBase64Char(c))
            return fail(ErrorCode::InvalidMetadata,
                        fieldError(field, u"is not a PEM private key: its body is not base64"_s));
        body += c;
    }
    if (body.isEmpty())
        return fail(ErrorCode::InvalidMetadata, fieldError(field, u"has an empty PEM body"_s));

    QByteArray pem = "-----BEGIN " + label + "-----\n";
    for (qsizetype i = 0; i < body.size(); i += 64)
        pem += body.mid(i, 64) + '\n';
    pem += endMark + '\n';
    return pem;
}

} // namespace

RsaPrivateKey::RsaPrivateKey(std::unique_ptr<Handle> handle, QByteArray pem)
    : m_handle(std::move(handle))
    , m_pem(std::move(pem))
{
}

RsaPrivateKey::~RsaPrivateKey() = default;

Result<std::shared_ptr<const RsaPrivateKey>> RsaPrivateKey::fromPem(QByteArrayView pem,
                                                                    const QString &field)
{
    Result<QByteArray> clean = normalisePem(pem, field);
    if (!clean)
        return tl::unexpected(clean.error());

    BIO *bio = BIO_new_mem_buf(clean->constData(), int(clean->size()));
    if (!bio)
        return fail(ErrorCode::InitFailed, u"gcp.bucket: out of memory reading a key"_s);
    auto handle = std::make_unique<Handle>();
    handle->key = PEM_read_bio_PrivateKey(bio, nullptr, refusePassphrase, nullptr);
    BIO_free(bio);
    if (!handle->key)
        return fail(ErrorCode::InvalidMetadata,
                    fieldError(field, u"could not be read as a private key (OpenSSL: %1)"_s.arg(
                                          takeOpenSslReason())));
    if (EVP_PKEY_get_base_id(handle->key) != EVP_PKEY_RSA) {
        const char *typeName = EVP_PKEY_get0_type_name(handle->key);
        return fail(ErrorCode::InvalidMetadata,
                    fieldError(field, u"is not an RSA key (it is %1); service-account keys are RSA "
                                      "keys"_s.arg(typeName ? QString::fromLatin1(typeName)
                                                            : u"another type"_s)));
    }
    return std::shared_ptr<const RsaPrivateKey>(
        new RsaPrivateKey(std::move(handle), std::move(*clean)));
}

int RsaPrivateKey::bits() const
{
    return EVP_PKEY_get_bits(m_handle->key);
}

Result<QByteArray> RsaPrivateKey::signSha256(QByteArrayView data) const
{
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    size_t length = 0;
    // RSA keys sign with PKCS#1 v1.5 padding unless told otherwise, which is what RS256 and
    // GOOG4-RSA-SHA256 both mean.
    if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, m_handle->key) != 1
        || EVP_DigestSign(ctx.get(), nullptr, &length,
                          reinterpret_cast<const unsigned char *>(data.data()), size_t(data.size()))
               != 1)
        return fail(
            ErrorCode::InvokeFailed,
            u"gcp.bucket: RSA-SHA256 signing failed (OpenSSL: %1)"_s.arg(takeOpenSslReason()));
    QByteArray signature(qsizetype(length), Qt::Uninitialized);
    if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char *>(signature.data()), &length,
                       reinterpret_cast<const unsigned char *>(data.data()), size_t(data.size()))
        != 1)
        return fail(
            ErrorCode::InvokeFailed,
            u"gcp.bucket: RSA-SHA256 signing failed (OpenSSL: %1)"_s.arg(takeOpenSslReason()));
    signature.resize(qsizetype(length));
    return signature;
}

const QList<ServiceAccountField> &serviceAccountFields()
{
    // daprd's mapstructure names and mapstructurealiases (components-contrib
    // bindings/gcp/bucket/bucket.go, gcpMetadata); universeDomain is Bindery's.
    static const QList<ServiceAccountField> fields{
        {u"type"_s, u"type"_s},
        {u"projectID"_s, u"project_id"_s},
        {u"privateKeyID"_s, u"private_key_id"_s},
        {u"privateKey"_s, u"private_key"_s},
        {u"clientEmail"_s, u"client_email"_s},
        {u"clientID"_s, u"client_id"_s},
        {u"authURI"_s, u"auth_uri"_s},
        {u"tokenURI"_s, u"token_uri"_s},
        {u"authProviderX509CertURL"_s, u"auth_provider_x509_cert_url"_s},
        {u"clientX509CertURL"_s, u"client_x509_cert_url"_s},
        {u"universeDomain"_s, u"universe_domain"_s},
    };
    return fields;
}

namespace {

enum Field {
    Type,
    ProjectId,
    PrivateKeyId,
    PrivateKey,
    ClientEmail,
    ClientId,
    AuthUri,
    TokenUri,
    AuthProviderCertUrl,
    ClientCertUrl,
    UniverseDomain,
    FieldCount
};

struct FieldValue
{
    bool present = false;
    QString key; ///< the key as the user wrote it, for messages
    QString value;
};

// Builds the key from already-extracted field values; shared by the JSON and metadata forms so both
// apply the same defaults and checks. @p nameOf quotes a field as the user's form spells it.
Result<ServiceAccountKey> buildKey(const std::array<FieldValue, FieldCount> &v,
                                   const std::function<QString(Field)> &nameOf,
                                   const QString &source)
{
    const QString where = source.isEmpty() ? QString() : source + u": "_s;
    auto missing = [&](Field f) {
        return fail(
            ErrorCode::MissingMetadata,
            u"gcp.bucket: %1%2 is missing from the service-account key"_s.arg(where, nameOf(f)));
    };
    if (v[Type].present && !v[Type].value.isEmpty() && v[Type].value != u"service_account"_s)
        return fail(
            ErrorCode::InvalidMetadata,
            u"gcp.bucket: %1credential type '%2' is not supported; only service-account keys "
            "(\"type\": \"service_account\") are"_s.arg(where, v[Type].value.left(60)));
    if (v[PrivateKey].value.isEmpty())
        return missing(PrivateKey);
    if (v[ClientEmail].value.trimmed().isEmpty())
        return missing(ClientEmail);

    ServiceAccountKey key;
    key.projectId = v[ProjectId].value;
    key.privateKeyId = v[PrivateKeyId].value.trimmed();
    key.clientEmail = v[ClientEmail].value.trimmed();
    key.clientId = v[ClientId].value;
    key.authUri = v[AuthUri].value;
    if (!v[TokenUri].value.trimmed().isEmpty())
        key.tokenUri = v[TokenUri].value.trimmed();
    key.authProviderX509CertUrl = v[AuthProviderCertUrl].value;
    key.clientX509CertUrl = v[ClientCertUrl].value;
    if (!v[UniverseDomain].value.trimmed().isEmpty())
        key.universeDomain = v[UniverseDomain].value.trimmed();

    const QString field
        = source.isEmpty() ? nameOf(PrivateKey) : u"%1 in %2"_s.arg(nameOf(PrivateKey), source);
    Result<std::shared_ptr<const RsaPrivateKey>> rsa
        = RsaPrivateKey::fromPem(v[PrivateKey].value.toUtf8(), field);
    if (!rsa)
        return tl::unexpected(rsa.error());
    key.privateKey = std::move(*rsa);
    return key;
}

} // namespace

Result<ServiceAccountKey> parseServiceAccountJson(QByteArrayView json, const QString &source)
{
    const QString where = source.isEmpty() ? QString() : source + u": "_s;
    nlohmann::json doc;
    try {
        doc = nlohmann::json::parse(json.begin(), json.end());
    } catch (const nlohmann::json::parse_error &e) {
        // Only the position: the parser's own text quotes the input, which may be key material.
        return fail(
            ErrorCode::InvalidMetadata,
            u"gcp.bucket: %1not a JSON service-account key file (JSON syntax error at byte %2)"_s
                .arg(where)
                .arg(e.byte));
    }
    if (!doc.is_object())
        return fail(
            ErrorCode::InvalidMetadata,
            u"gcp.bucket: %1not a JSON service-account key file (not a JSON object)"_s.arg(where));

    std::array<FieldValue, FieldCount> values;
    const QList<ServiceAccountField> &fields = serviceAccountFields();
    for (int f = 0; f < FieldCount; ++f) {
        const std::string name = fields[f].alias.toStdString();
        const auto it = doc.find(name);
        if (it == doc.end() || it->is_null())
            continue;
        if (!it->is_string())
            return fail(ErrorCode::InvalidMetadata,
                        u"gcp.bucket: %1'%2' must be a JSON string"_s.arg(where, fields[f].alias));
        values[f] = {true, fields[f].alias, QString::fromStdString(it->get<std::string>())};
    }
    if (!values[Type].present || values[Type].value.isEmpty())
        return fail(ErrorCode::InvalidMetadata,
                    u"gcp.bucket: %1has no \"type\"; a service-account key file has "
                    "\"type\": \"service_account\""_s.arg(where));
    return buildKey(
        values, [&](Field f) { return u"'%1'"_s.arg(fields[f].alias); }, source);
}

Result<ServiceAccountKey> loadServiceAccountFile(const QString &path)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return fail(ErrorCode::Io,
                    u"gcp.bucket: cannot read the service-account key file '%1': %2"_s.arg(
                        path, file.errorString()));
    // Key files are a few KiB; a huge file is a wrong path, not a key.
    if (file.size() > 1024 * 1024)
        return fail(
            ErrorCode::InvalidMetadata,
            u"gcp.bucket: '%1' is %2 bytes, too large for a service-account key file"_s.arg(path)
                .arg(file.size()));
    return parseServiceAccountJson(file.readAll(), path);
}

Result<std::optional<ServiceAccountKey>> loadFromEnvironment()
{
    const QString path = qEnvironmentVariable(GOOGLE_APPLICATION_CREDENTIALS);
    if (path.isEmpty())
        return std::optional<ServiceAccountKey>();
    Result<ServiceAccountKey> key = loadServiceAccountFile(path);
    if (!key) {
        Error error = key.error();
        error.message += u" (the file %1 points at)"_s.arg(
            QString::fromLatin1(GOOGLE_APPLICATION_CREDENTIALS));
        return tl::unexpected(std::move(error));
    }
    return std::optional<ServiceAccountKey>(std::move(*key));
}

Result<std::optional<ServiceAccountKey>>
serviceAccountFromMetadata(const QMap<QString, QString> &properties)
{
    QHash<QString, QString> byLowerKey; // lower-cased key -> key as written
    for (auto it = properties.cbegin(); it != properties.cend(); ++it) {
        const QString lower = it.key().toLower();
        const auto seen = byLowerKey.constFind(lower);
        if (seen != byLowerKey.cend())
            return fail(ErrorCode::InvalidMetadata,
                        u"gcp.bucket: metadata keys '%1' and '%2' differ only in case; keys are "
                        "case-insensitive, give one of them"_s.arg(*seen, it.key()));
        byLowerKey.insert(lower, it.key());
    }

    const QList<ServiceAccountField> &fields = serviceAccountFields();
    std::array<FieldValue, FieldCount> values;
    for (int f = 0; f < FieldCount; ++f) {
        // dapr/kit: the field's own name wins when present (even empty); the alias only fills a
        // gap.
        for (const QString &candidate : {fields[f].name, fields[f].alias}) {
            const auto found = byLowerKey.constFind(candidate.toLower());
            if (found == byLowerKey.cend())
                continue;
            values[f] = {true, *found, properties.value(*found)};
            break;
        }
    }
    if (values[PrivateKeyId].value.trimmed().isEmpty() && values[PrivateKey].value.isEmpty())
        return std::optional<ServiceAccountKey>();

    auto nameOf = [&](Field f) {
        return values[f].present ? u"'%1'"_s.arg(values[f].key)
                                 : u"'%1' (or '%2')"_s.arg(fields[f].alias, fields[f].name);
    };
    Result<ServiceAccountKey> key = buildKey(values, nameOf, QString());
    if (!key)
        return tl::unexpected(key.error());
    return std::optional<ServiceAccountKey>(std::move(*key));
}

} // namespace bindery::bindings::gcp_bucket
