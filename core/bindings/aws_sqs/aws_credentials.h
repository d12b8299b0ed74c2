// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <functional>

#include <QString>

#include "core/bindings/aws_sqs/sigv4.h"
#include "core/result.h"

namespace bindery::bindings::aws_sqs {

/** @brief What a component says about AWS access; empty fields fall back to the chain. */
struct AwsComponentAuth
{
    QString accessKey;
    QString secretKey;    ///< sensitive
    QString sessionToken; ///< sensitive
    QString region;
    QString endpoint;
};

/**
 * @brief Credentials, region and endpoint after the AWS tools' lookup order, with where each came
 * from (for the log; never the secret).
 */
struct AwsResolved
{
    AwsCredentials credentials;
    QString credentialSource; ///< e.g. "the environment, AWS_ACCESS_KEY_ID"
    QString region;
    QString regionSource;
    QString endpoint; ///< no trailing slash
    QString endpointSource;
};

/** @brief Reads an environment variable; "" when unset. Tests pass their own. */
using EnvLookup = std::function<QString(const char *name)>;

/** @brief The process environment. */
QString processEnv(const char *name);

/**
 * @brief Resolves credentials, region and endpoint in the order AWS tools use (issue 11).
 *
 * Credentials: the component's accessKey/secretKey/sessionToken; AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN; the profile (AWS_PROFILE, AWS_DEFAULT_PROFILE,
 * "default") in the shared credentials file (AWS_SHARED_CREDENTIALS_FILE, ~/.aws/credentials),
 * then in the config file (AWS_CONFIG_FILE, ~/.aws/config). Instance roles, SSO, assume-role,
 * web identity and credential_process are out of scope: when nothing usable is found the error
 * says so (and names the profile setting it found, if any).
 *
 * Region: the component's, AWS_REGION, AWS_DEFAULT_REGION, the profile's `region` in the config
 * file. Endpoint: the component's, AWS_ENDPOINT_URL_SQS, AWS_ENDPOINT_URL, then
 * https://sqs.<region>.amazonaws.com (.amazonaws.com.cn in China regions).
 *
 * Reads files; any thread. Errors are InvalidMetadata or MissingMetadata and never quote a
 * secret.
 */
[[nodiscard]] Result<AwsResolved> resolveAws(const AwsComponentAuth &component,
                                             const EnvLookup &env = processEnv);

/** @brief "AKIA…RHIW": enough of an access key id to tell keys apart in a log. */
QString maskedKeyId(const QString &accessKeyId);

} // namespace bindery::bindings::aws_sqs
