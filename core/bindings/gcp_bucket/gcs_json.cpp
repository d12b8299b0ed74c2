// SPDX-License-Identifier: Apache-2.0
#include "core/bindings/gcp_bucket/gcs_json.h"

#include <QByteArray>
#include <QRegularExpression>

#include "core/go_json.h"

using namespace Qt::Literals::StringLiterals;

namespace bindery::bindings::gcp_bucket {

namespace {

constexpr char ZERO_TIME[] = "\"0001-01-01T00:00:00Z\"";

std::string text(const nlohmann::json &object, const char *name)
{
    const auto it = object.find(name);
    return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// The JSON API sends int64 and uint64 fields as strings (`json:",string"` in Go's raw types).
long long integer(const nlohmann::json &object, const char *name)
{
    const auto it = object.find(name);
    if (it == object.end())
        return 0;
    if (it->is_number_integer() || it->is_number_unsigned())
        return it->get<long long>();
    if (it->is_string()) {
        bool ok = false;
        const long long v = QByteArray::fromStdString(it->get<std::string>()).toLongLong(&ok);
        return ok ? v : 0;
    }
    return 0;
}

bool flag(const nlohmann::json &object, const char *name)
{
    const auto it = object.find(name);
    return it != object.end() && it->is_boolean() && it->get<bool>();
}

void key(std::string &out, const char *name, bool first = false)
{
    if (!first)
        out += ',';
    out += '"';
    out += name;
    out += "\":";
}

void string(std::string &out, const std::string &value)
{
    core::goJsonAppendString(out, value);
}

// Go's convertTime (time.Parse RFC 3339; any failure is the zero time) and time.Time's
// MarshalJSON (RFC 3339 with up to nine fraction digits, trailing zeros dropped; a zero offset is
// "Z").
void time(std::string &out, const std::string &value)
{
    static const QRegularExpression rfc3339(
        u"^(\\d{4})-(\\d{2})-(\\d{2})T(\\d{2}):(\\d{2}):(\\d{2})(?:\\.(\\d+))?(Z|([+-])(\\d{2}):(\\d{2}))$"_s);
    const QRegularExpressionMatch m = rfc3339.match(QString::fromStdString(value));
    if (value.empty() || !m.hasMatch() || m.captured(2).toInt() < 1 || m.captured(2).toInt() > 12
        || m.captured(3).toInt() < 1 || m.captured(3).toInt() > 31 || m.captured(4).toInt() > 23
        || m.captured(5).toInt() > 59 || m.captured(6).toInt() > 59) {
        out += ZERO_TIME;
        return;
    }
    QString fraction = m.captured(7).left(9);
    while (fraction.endsWith(u'0'))
        fraction.chop(1);
    QString zone = m.captured(8);
    if (zone != u"Z"_s && m.captured(10).toInt() == 0 && m.captured(11).toInt() == 0)
        zone = u"Z"_s;
    const QString formatted = u"%1-%2-%3T%4:%5:%6%7%8"_s.arg(
        m.captured(1), m.captured(2), m.captured(3), m.captured(4), m.captured(5), m.captured(6),
        fraction.isEmpty() ? QString() : u"."_s + fraction, zone);
    out += '"';
    out += formatted.toStdString();
    out += '"';
}

void bytesAsBase64(std::string &out, const std::string &base64)
{
    // Go decodes md5Hash into []byte and marshals it back as base64.
    const QByteArray decoded = QByteArray::fromBase64(QByteArray::fromStdString(base64));
    out += '"';
    out += decoded.toBase64().toStdString();
    out += '"';
}

unsigned crc32c(const std::string &base64)
{
    const QByteArray d = QByteArray::fromBase64Encoding(QByteArray::fromStdString(base64),
                                                        QByteArray::AbortOnBase64DecodingErrors)
                             .decoded;
    if (d.size() != 4)
        return 0;
    const auto *u = reinterpret_cast<const unsigned char *>(d.constData());
    return unsigned(u[0]) << 24 | unsigned(u[1]) << 16 | unsigned(u[2]) << 8 | unsigned(u[3]);
}

void acl(std::string &out, const nlohmann::json &object)
{
    const auto it = object.find("acl");
    if (it == object.end() || !it->is_array() || it->empty()) {
        out += "null";
        return;
    }
    out += '[';
    bool first = true;
    for (const nlohmann::json &rule : *it) {
        if (!first)
            out += ',';
        first = false;
        out += '{';
        key(out, "Entity", true);
        string(out, text(rule, "entity"));
        key(out, "EntityID");
        string(out, text(rule, "entityId"));
        key(out, "Role");
        string(out, text(rule, "role"));
        key(out, "Domain");
        string(out, text(rule, "domain"));
        key(out, "Email");
        string(out, text(rule, "email"));
        key(out, "ProjectTeam");
        const auto team = rule.find("projectTeam");
        if (team == rule.end() || !team->is_object()) {
            out += "null";
        } else {
            out += "{\"ProjectNumber\":";
            string(out, text(*team, "projectNumber"));
            out += ",\"Team\":";
            string(out, text(*team, "team"));
            out += '}';
        }
        out += '}';
    }
    out += ']';
}

void metadata(std::string &out, const nlohmann::json &object)
{
    const auto it = object.find("metadata");
    if (it == object.end() || !it->is_object()) {
        out += "null";
        return;
    }
    out += '{'; // nlohmann's objects iterate in byte order of the keys, as Go sorts a map
    bool first = true;
    for (auto m = it->begin(); m != it->end(); ++m) {
        if (!first)
            out += ',';
        first = false;
        string(out, m.key());
        out += ':';
        string(out, m.value().is_string() ? m.value().get<std::string>() : m.value().dump());
    }
    out += '}';
}

} // namespace

void appendObjectAttrs(std::string &out, const nlohmann::json &o)
{
    out += '{';
    key(out, "Bucket", true);
    string(out, text(o, "bucket"));
    key(out, "Name");
    string(out, text(o, "name"));
    key(out, "ContentType");
    string(out, text(o, "contentType"));
    key(out, "ContentLanguage");
    string(out, text(o, "contentLanguage"));
    key(out, "CacheControl");
    string(out, text(o, "cacheControl"));
    key(out, "EventBasedHold");
    out += flag(o, "eventBasedHold") ? "true" : "false";
    key(out, "TemporaryHold");
    out += flag(o, "temporaryHold") ? "true" : "false";
    key(out, "RetentionExpirationTime");
    time(out, text(o, "retentionExpirationTime"));
    key(out, "ACL");
    acl(out, o);
    key(out, "PredefinedACL");
    out += "\"\"";
    key(out, "Owner");
    const auto owner = o.find("owner");
    string(out, owner != o.end() && owner->is_object() ? text(*owner, "entity") : std::string());
    key(out, "Size");
    out += std::to_string(integer(o, "size"));
    key(out, "ContentEncoding");
    string(out, text(o, "contentEncoding"));
    key(out, "ContentDisposition");
    string(out, text(o, "contentDisposition"));
    key(out, "MD5");
    bytesAsBase64(out, text(o, "md5Hash"));
    key(out, "CRC32C");
    out += std::to_string(crc32c(text(o, "crc32c")));
    key(out, "MediaLink");
    string(out, text(o, "mediaLink"));
    key(out, "Metadata");
    metadata(out, o);
    key(out, "Generation");
    out += std::to_string(integer(o, "generation"));
    key(out, "Metageneration");
    out += std::to_string(integer(o, "metageneration"));
    key(out, "StorageClass");
    string(out, text(o, "storageClass"));
    key(out, "Created");
    time(out, text(o, "timeCreated"));
    key(out, "Finalized");
    time(out, text(o, "timeFinalized"));
    key(out, "Deleted");
    time(out, text(o, "timeDeleted"));
    key(out, "Updated");
    time(out, text(o, "updated"));
    key(out, "CustomerKeySHA256");
    const auto encryption = o.find("customerEncryption");
    string(out, encryption != o.end() && encryption->is_object() ? text(*encryption, "keySha256")
                                                                 : std::string());
    key(out, "KMSKeyName");
    string(out, text(o, "kmsKeyName"));
    key(out, "Prefix");
    out += "\"\"";
    key(out, "Etag");
    string(out, text(o, "etag"));
    key(out, "CustomTime");
    time(out, text(o, "customTime"));
    key(out, "ComponentCount");
    out += std::to_string(integer(o, "componentCount"));
    key(out, "Retention");
    const auto retention = o.find("retention");
    if (retention == o.end() || !retention->is_object()) {
        out += "null";
    } else {
        out += "{\"Mode\":";
        string(out, text(*retention, "mode"));
        out += ",\"RetainUntil\":";
        time(out, text(*retention, "retainUntilTime"));
        out += '}';
    }
    key(out, "SoftDeleteTime");
    time(out, text(o, "softDeleteTime"));
    key(out, "HardDeleteTime");
    time(out, text(o, "hardDeleteTime"));
    out += '}';
}

void appendPrefixAttrs(std::string &out, const std::string &prefix)
{
    out += "{\"Bucket\":\"\",\"Name\":\"\",\"ContentType\":\"\",\"ContentLanguage\":\"\","
           "\"CacheControl\":\"\",\"EventBasedHold\":false,\"TemporaryHold\":false,"
           "\"RetentionExpirationTime\":\"0001-01-01T00:00:00Z\",\"ACL\":null,"
           "\"PredefinedACL\":\"\",\"Owner\":\"\",\"Size\":0,\"ContentEncoding\":\"\","
           "\"ContentDisposition\":\"\",\"MD5\":null,\"CRC32C\":0,\"MediaLink\":\"\","
           "\"Metadata\":null,\"Generation\":0,\"Metageneration\":0,\"StorageClass\":\"\","
           "\"Created\":\"0001-01-01T00:00:00Z\",\"Finalized\":\"0001-01-01T00:00:00Z\","
           "\"Deleted\":\"0001-01-01T00:00:00Z\",\"Updated\":\"0001-01-01T00:00:00Z\","
           "\"CustomerKeySHA256\":\"\",\"KMSKeyName\":\"\",\"Prefix\":";
    string(out, prefix);
    out += ",\"Etag\":\"\",\"CustomTime\":\"0001-01-01T00:00:00Z\",\"ComponentCount\":0,"
           "\"Retention\":null,\"SoftDeleteTime\":\"0001-01-01T00:00:00Z\","
           "\"HardDeleteTime\":\"0001-01-01T00:00:00Z\"}";
}

QString googleMediaErrorText(int status, QByteArrayView body)
{
    return u"googleapi: got HTTP response code %1 with body: %2"_s.arg(status).arg(
        QString::fromUtf8(body));
}

QString googleApiErrorText(int status, QByteArrayView body)
{
    const nlohmann::json doc = nlohmann::json::parse(body.begin(), body.end(), nullptr, false);
    const auto error = doc.is_object() ? doc.find("error") : doc.end();
    if (!doc.is_object() || error == doc.end() || !error->is_object())
        return googleMediaErrorText(status, body);
    const QString message = QString::fromStdString(text(*error, "message"));
    int code = status;
    if (const auto c = error->find("code");
        c != error->end() && c->is_number_integer() && c->get<int>() != 0)
        code = c->get<int>();
    QList<QPair<QString, QString>> items; // reason, message
    if (const auto list = error->find("errors"); list != error->end() && list->is_array()) {
        for (const nlohmann::json &item : *list) {
            if (item.is_object())
                items.append({QString::fromStdString(text(item, "reason")),
                              QString::fromStdString(text(item, "message"))});
        }
    }
    if (items.isEmpty() && message.isEmpty())
        return googleMediaErrorText(code, body);
    QString out = u"googleapi: Error %1: %2"_s.arg(code).arg(message);
    if (const auto details = error->find("details");
        details != error->end() && details->is_array() && !details->empty())
        out += u"\nDetails:\n"_s + QString::fromStdString(details->dump(2)) + u'\n';
    if (items.isEmpty())
        return out.trimmed();
    if (items.size() == 1 && items.first().second == message)
        return out + u", "_s + items.first().first;
    out += u"\nMore details:\n"_s;
    for (const auto &[reason, itemMessage] : items)
        out += u"Reason: %1, Message: %2\n"_s.arg(reason, itemMessage);
    return out;
}

} // namespace bindery::bindings::gcp_bucket
