// SPDX-License-Identifier: Apache-2.0
// Bench (issue 11): µs per signRequest() for a typical SQS SendMessage (AWS JSON 1.0, 1 KiB
// body), with the signing-key cache and without, against a floor measured in the same run: the
// hashing no SigV4 signer can skip (SHA-256 of the body and of a canonical request of the same
// size, one HMAC-SHA256 of the string to sign) done straight with OpenSSL.
//   bench_sigv4 [--iterations N] [--rounds R]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <vector>

#include <openssl/evp.h>

#include <QByteArray>
#include <QDateTime>

#include "core/bindings/aws_sqs/sigv4.h"

using namespace bindery::bindings::aws_sqs;
using namespace Qt::Literals::StringLiterals;

namespace {

QByteArray sendMessageBody()
{
    const QByteArray head
        = R"({"QueueUrl":"https://sqs.us-east-1.amazonaws.com/123456789012/orders","MessageBody":")";
    const QByteArray tail = R"("})";
    return head + QByteArray(1024 - head.size() - tail.size(), 'x') + tail;
}

double threadCpuMicros()
{
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return double(ts.tv_sec) * 1e6 + double(ts.tv_nsec) / 1e3;
}

// CPU time of this thread, so that other load on a shared machine does not count; wall time is
// printed beside it.
template <typename F> double bestMicros(int rounds, int iterations, F &&f)
{
    std::vector<double> perCall;
    std::printf("    rounds, CPU µs/call (wall):");
    for (int r = 0; r < rounds; ++r) {
        const auto w0 = std::chrono::steady_clock::now();
        const double c0 = threadCpuMicros();
        for (int i = 0; i < iterations; ++i)
            f();
        const double cpu = (threadCpuMicros() - c0) / iterations;
        const std::chrono::duration<double, std::micro> wall
            = std::chrono::steady_clock::now() - w0;
        perCall.push_back(cpu);
        std::printf(" %.2f (%.2f)", cpu, wall.count() / iterations);
    }
    std::printf("\n");
    return *std::min_element(perCall.begin(), perCall.end());
}

} // namespace

int main(int argc, char *argv[])
{
    int iterations = 100000;
    int rounds = 5;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (std::strcmp(argv[i], "--iterations") == 0)
            iterations = std::atoi(argv[i + 1]);
        else if (std::strcmp(argv[i], "--rounds") == 0)
            rounds = std::atoi(argv[i + 1]);
    }

    SigV4Request request;
    request.method = "POST";
    request.path = "/";
    request.headers = {{"Host", "sqs.us-east-1.amazonaws.com"},
                       {"Content-Type", "application/x-amz-json-1.0"},
                       {"X-Amz-Target", "AmazonSQS.SendMessage"},
                       {"Content-Length", "1024"}};
    request.payload = sendMessageBody();
    const AwsCredentials credentials{
        u"AKIDEXAMPLE"_s, u"wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"_s, {}};
    SigV4Options options;
    options.region = u"us-east-1"_s;
    options.service = u"sqs"_s;
    SigningKeyCache cache;

    options.time = QDateTime::currentDateTimeUtc();
    const auto sample = signRequest(request, credentials, options, &cache);
    if (!sample) {
        std::fprintf(stderr, "signing failed: %s\n", qPrintable(sample.error().message));
        return 1;
    }
    std::printf("SigV4 SendMessage, %lld-byte body, canonical request %lld bytes, %d x %d calls\n",
                static_cast<long long>(request.payload.size()),
                static_cast<long long>(sample->canonicalRequest.size()), rounds, iterations);

    std::size_t sink = 0;
    std::printf("  signRequest, cached key:\n");
    const double cached = bestMicros(rounds, iterations, [&] {
        options.time = QDateTime::currentDateTimeUtc();
        const auto r = signRequest(request, credentials, options, &cache);
        sink += std::size_t(r->signature.size());
    });
    std::printf("  signRequest, key derived per call:\n");
    const double uncached = bestMicros(rounds, iterations, [&] {
        options.time = QDateTime::currentDateTimeUtc();
        const auto r = signRequest(request, credentials, options);
        sink += std::size_t(r->signature.size());
    });

    // Floor: the same hashing done directly, algorithms fetched once.
    EVP_MD *md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    EVP_MAC *mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    EVP_MAC_CTX *macTemplate = EVP_MAC_CTX_new(mac);
    char digestName[] = "SHA256";
    const OSSL_PARAM params[]
        = {OSSL_PARAM_construct_utf8_string("digest", digestName, 0), OSSL_PARAM_construct_end()};
    EVP_MAC_CTX_set_params(macTemplate, params);
    const QByteArray key = deriveSigningKey("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20150830",
                                            "us-east-1", "sqs");
    const QByteArray canonical = sample->canonicalRequest;
    const QByteArray stringToSign = sample->stringToSign;
    std::printf("  floor (SHA-256 body + SHA-256 canonical request + 1 HMAC, raw OpenSSL):\n");
    const double floor = bestMicros(rounds, iterations, [&] {
        unsigned char out[EVP_MAX_MD_SIZE];
        unsigned int len = 0;
        EVP_Digest(request.payload.constData(), std::size_t(request.payload.size()), out, &len, md,
                   nullptr);
        EVP_Digest(canonical.constData(), std::size_t(canonical.size()), out, &len, md, nullptr);
        EVP_MAC_CTX *ctx = EVP_MAC_CTX_dup(macTemplate);
        std::size_t macLen = 0;
        EVP_MAC_init(ctx, reinterpret_cast<const unsigned char *>(key.constData()),
                     std::size_t(key.size()), nullptr);
        EVP_MAC_update(ctx, reinterpret_cast<const unsigned char *>(stringToSign.constData()),
                       std::size_t(stringToSign.size()));
        EVP_MAC_final(ctx, out, &macLen, sizeof out);
        EVP_MAC_CTX_free(ctx);
        sink += macLen + len;
    });
    EVP_MAC_CTX_free(macTemplate);
    EVP_MAC_free(mac);
    EVP_MD_free(md);

    std::printf("\n  best of %d: cached %.2f µs/call, uncached %.2f µs/call, floor %.2f µs "
                "(cached = %.1fx floor); %d key derivation(s)  [%zu]\n",
                rounds, cached, uncached, floor, cached / floor, cache.derivations(), sink % 10);
    return 0;
}
