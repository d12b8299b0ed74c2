// SPDX-License-Identifier: Apache-2.0
#include "core/bindings/aws_sqs/aws_credentials.h"

#include <QDir>
#include <QFile>
#include <QHash>
#include <QRegularExpression>
#include <QUrl>

namespace bindery::bindings::aws_sqs {

namespace {

using Section = QHash<QString, QString>;

/// The sections of an AWS ini file (credentials or config). Keys are lower-cased; nested
/// sub-settings (an indented `key =` under e.g. `s3 =`) are skipped, as the CLI reads them
/// only for their service.
QHash<QString, Section> readIni(const QString &path)
{
    QHash<QString, Section> out;
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly | QIODevice::Text))
        return out;
    QString current;
    bool nested = false;
    while (!f.atEnd()) {
        const QString raw = QString::fromUtf8(f.readLine());
        const QString line = raw.trimmed();
        if (line.isEmpty() || line.startsWith(u'#') || line.startsWith(u';'))
            continue;
        if (line.startsWith(u'[') && line.endsWith(u']')) {
            current = line.mid(1, line.size() - 2).trimmed();
            out[current];
            nested = false;
            continue;
        }
        if (current.isEmpty())
            continue;
        const bool indented = raw.startsWith(u' ') || raw.startsWith(u'\t');
        if (indented && nested)
            continue;
        const qsizetype eq = line.indexOf(u'=');
        if (eq <= 0)
            continue;
        const QString key = line.left(eq).trimmed().toLower();
        const QString value = line.mid(eq + 1).trimmed();
        nested = value.isEmpty();
        if (!nested)
            out[current].insert(key, value);
    }
    return out;
}

QString homeFile(const EnvLookup &env, const char *override, const QString &name)
{
    const QString set = env(override);
    if (!set.isEmpty())
        return set.startsWith(u'~') ? QDir::homePath() + set.mid(1) : set;
    QString home = env("HOME");
    if (home.isEmpty())
        home = QDir::homePath();
    return home + QStringLiteral("/.aws/") + name;
}

struct Profile
{
    QString name;
    bool explicitlyChosen = false;
    QString credentialsFile;
    QString configFile;
    Section credentials; ///< its section in the credentials file
    Section config;      ///< its section in the config file
    bool inCredentials = false;
    bool inConfig = false;
};

Profile loadProfile(const EnvLookup &env)
{
    Profile p;
    p.name = env("AWS_PROFILE");
    if (p.name.isEmpty())
        p.name = env("AWS_DEFAULT_PROFILE");
    p.explicitlyChosen = !p.name.isEmpty();
    if (p.name.isEmpty())
        p.name = QStringLiteral("default");
    p.credentialsFile = homeFile(env, "AWS_SHARED_CREDENTIALS_FILE", QStringLiteral("credentials"));
    p.configFile = homeFile(env, "AWS_CONFIG_FILE", QStringLiteral("config"));
    const QHash<QString, Section> creds = readIni(p.credentialsFile);
    if (auto it = creds.constFind(p.name); it != creds.cend()) {
        p.credentials = *it;
        p.inCredentials = true;
    }
    const QHash<QString, Section> config = readIni(p.configFile);
    // The config file names profiles "[profile x]"; the default one may also be "[default]".
    const QStringList sections{QStringLiteral("profile ") + p.name,
                               p.name == QStringLiteral("default") ? QStringLiteral("default")
                                                                   : QString()};
    for (const QString &section : sections) {
        if (section.isEmpty())
            continue;
        if (auto it = config.constFind(section); it != config.cend()) {
            p.config = *it;
            p.inConfig = true;
            break;
        }
    }
    return p;
}

/// The profile keys of credential sources Bindery does not implement, found in `s`.
QStringList unsupportedSources(const Section &s)
{
    QStringList found;
    for (const char *key : {"sso_session", "sso_start_url", "role_arn", "credential_source",
                            "credential_process", "web_identity_token_file", "login_session"}) {
        if (s.contains(QString::fromLatin1(key)))
            found << QString::fromLatin1(key);
    }
    return found;
}

Result<AwsCredentials> fromSection(const Section &s, const QString &where)
{
    AwsCredentials c;
    c.accessKeyId = s.value(QStringLiteral("aws_access_key_id"));
    c.secretAccessKey = s.value(QStringLiteral("aws_secret_access_key"));
    c.sessionToken = s.value(QStringLiteral("aws_session_token"));
    if (c.sessionToken.isEmpty())
        c.sessionToken = s.value(QStringLiteral("aws_security_token"));
    if (c.accessKeyId.isEmpty() != c.secretAccessKey.isEmpty())
        return fail(ErrorCode::InvalidMetadata,
                    QStringLiteral("aws.sqs: %1 has %2 but not %3")
                        .arg(where,
                             c.accessKeyId.isEmpty() ? QStringLiteral("aws_secret_access_key")
                                                     : QStringLiteral("aws_access_key_id"),
                             c.accessKeyId.isEmpty() ? QStringLiteral("aws_access_key_id")
                                                     : QStringLiteral("aws_secret_access_key")));
    return c;
}

Result<QString> normaliseEndpoint(const QString &value, const QString &source)
{
    QString e = value.trimmed();
    while (e.endsWith(u'/'))
        e.chop(1);
    const QUrl url(e);
    if (!url.isValid()
        || (url.scheme() != QStringLiteral("http") && url.scheme() != QStringLiteral("https"))
        || url.host().isEmpty() || url.hasQuery() || url.hasFragment())
        return fail(ErrorCode::InvalidMetadata,
                    QStringLiteral("aws.sqs: %1 '%2' is not an http:// or https:// URL "
                                   "(e.g. http://localhost:4566)")
                        .arg(source, value));
    return e;
}

} // namespace

QString processEnv(const char *name)
{
    return qEnvironmentVariable(name);
}

QString maskedKeyId(const QString &accessKeyId)
{
    if (accessKeyId.size() <= 8)
        return QStringLiteral("…");
    return accessKeyId.left(4) + QStringLiteral("…") + accessKeyId.right(4);
}

Result<AwsResolved> resolveAws(const AwsComponentAuth &component, const EnvLookup &env)
{
    AwsResolved r;
    const Profile profile = loadProfile(env);
    const QString profileName = QStringLiteral("profile '%1'").arg(profile.name);

    // Credentials.
    if (!component.accessKey.isEmpty() || !component.secretKey.isEmpty()) {
        if (component.accessKey.isEmpty() || component.secretKey.isEmpty())
            return fail(ErrorCode::MissingMetadata,
                        QStringLiteral("aws.sqs: metadata '%1' is set but '%2' is not; set both")
                            .arg(component.accessKey.isEmpty() ? QStringLiteral("secretKey")
                                                               : QStringLiteral("accessKey"),
                                 component.accessKey.isEmpty() ? QStringLiteral("accessKey")
                                                               : QStringLiteral("secretKey")));
        r.credentials = {component.accessKey, component.secretKey, component.sessionToken};
        r.credentialSource = QStringLiteral("metadata accessKey");
    } else if (!component.sessionToken.isEmpty()) {
        return fail(ErrorCode::MissingMetadata,
                    QStringLiteral("aws.sqs: metadata 'sessionToken' is set but 'accessKey' and "
                                   "'secretKey' are not; a session token goes with them"));
    } else if (!env("AWS_ACCESS_KEY_ID").isEmpty() || !env("AWS_SECRET_ACCESS_KEY").isEmpty()) {
        if (env("AWS_ACCESS_KEY_ID").isEmpty() || env("AWS_SECRET_ACCESS_KEY").isEmpty())
            return fail(ErrorCode::MissingMetadata,
                        QStringLiteral("aws.sqs: the environment has %1 but not %2")
                            .arg(env("AWS_ACCESS_KEY_ID").isEmpty()
                                     ? QStringLiteral("AWS_SECRET_ACCESS_KEY")
                                     : QStringLiteral("AWS_ACCESS_KEY_ID"),
                                 env("AWS_ACCESS_KEY_ID").isEmpty()
                                     ? QStringLiteral("AWS_ACCESS_KEY_ID")
                                     : QStringLiteral("AWS_SECRET_ACCESS_KEY")));
        r.credentials
            = {env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY"), env("AWS_SESSION_TOKEN")};
        r.credentialSource = QStringLiteral("the environment, AWS_ACCESS_KEY_ID");
    } else {
        Result<AwsCredentials> fromFile = AwsCredentials{};
        if (profile.inCredentials) {
            fromFile
                = fromSection(profile.credentials,
                              QStringLiteral("%1 in %2").arg(profileName, profile.credentialsFile));
            r.credentialSource = QStringLiteral("shared credentials file %1 [%2]")
                                     .arg(profile.credentialsFile, profile.name);
        }
        if (fromFile && fromFile->accessKeyId.isEmpty() && profile.inConfig) {
            fromFile = fromSection(profile.config,
                                   QStringLiteral("%1 in %2").arg(profileName, profile.configFile));
            r.credentialSource
                = QStringLiteral("config file %1 [%2]").arg(profile.configFile, profile.name);
        }
        if (!fromFile)
            return tl::unexpected(fromFile.error());
        if (fromFile->accessKeyId.isEmpty()) {
            const QStringList unsupported
                = unsupportedSources(profile.config) + unsupportedSources(profile.credentials);
            QString why;
            if (!unsupported.isEmpty())
                why = QStringLiteral(" (%1 uses %2, which Bindery does not support)")
                          .arg(profileName, unsupported.join(QStringLiteral(", ")));
            else if (profile.explicitlyChosen && !profile.inCredentials && !profile.inConfig)
                why = QStringLiteral(" (%1 from AWS_PROFILE is in neither %2 nor %3)")
                          .arg(profileName, profile.credentialsFile, profile.configFile);
            return fail(
                ErrorCode::MissingMetadata,
                QStringLiteral("aws.sqs: no AWS credentials found%1: set metadata 'accessKey' and "
                               "'secretKey', or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or "
                               "aws_access_key_id and aws_secret_access_key for the profile in %2 "
                               "(AWS_PROFILE chooses it). Instance roles, SSO, assume-role and "
                               "credential_process are not supported by Bindery")
                    .arg(why, profile.credentialsFile));
        }
        r.credentials = *fromFile;
    }

    // Region.
    if (!component.region.isEmpty()) {
        r.region = component.region;
        r.regionSource = QStringLiteral("metadata 'region'");
    } else if (!env("AWS_REGION").isEmpty()) {
        r.region = env("AWS_REGION");
        r.regionSource = QStringLiteral("AWS_REGION");
    } else if (!env("AWS_DEFAULT_REGION").isEmpty()) {
        r.region = env("AWS_DEFAULT_REGION");
        r.regionSource = QStringLiteral("AWS_DEFAULT_REGION");
    } else if (!profile.config.value(QStringLiteral("region")).isEmpty()) {
        r.region = profile.config.value(QStringLiteral("region"));
        r.regionSource = QStringLiteral("%1 in %2").arg(profileName, profile.configFile);
    } else {
        return fail(ErrorCode::MissingMetadata,
                    QStringLiteral("aws.sqs: no AWS region: set metadata 'region' (e.g. "
                                   "us-east-1), AWS_REGION, or region for the profile in %1")
                        .arg(profile.configFile));
    }
    r.region = r.region.trimmed();
    static const QRegularExpression regionRe(QStringLiteral("^[a-z0-9-]+$"));
    if (!regionRe.match(r.region).hasMatch())
        return fail(ErrorCode::InvalidMetadata,
                    QStringLiteral("aws.sqs: region '%1' (from %2) is not a region name such as "
                                   "us-east-1")
                        .arg(r.region, r.regionSource));

    // Endpoint.
    QString endpoint;
    if (!component.endpoint.trimmed().isEmpty()) {
        endpoint = component.endpoint;
        r.endpointSource = QStringLiteral("metadata 'endpoint'");
    } else if (!env("AWS_ENDPOINT_URL_SQS").isEmpty()) {
        endpoint = env("AWS_ENDPOINT_URL_SQS");
        r.endpointSource = QStringLiteral("AWS_ENDPOINT_URL_SQS");
    } else if (!env("AWS_ENDPOINT_URL").isEmpty()) {
        endpoint = env("AWS_ENDPOINT_URL");
        r.endpointSource = QStringLiteral("AWS_ENDPOINT_URL");
    } else {
        endpoint
            = QStringLiteral("https://sqs.%1.amazonaws.com%2")
                  .arg(r.region, r.region.startsWith(QStringLiteral("cn-")) ? QStringLiteral(".cn")
                                                                            : QString());
        r.endpointSource = QStringLiteral("the region");
    }
    Result<QString> e = normaliseEndpoint(endpoint, r.endpointSource);
    if (!e)
        return tl::unexpected(e.error());
    r.endpoint = *e;
    return r;
}

} // namespace bindery::bindings::aws_sqs
