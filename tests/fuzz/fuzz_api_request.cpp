// SPDX-License-Identifier: Apache-2.0
// Fuzzes what the API does with a request body and its trace headers (issue 14): Go's
// encoding/json decoder for daprd's OutputBindingRequest, the json.Marshal re-encoding of
// `data`, and the traceparent/tracestate/baggage parsers. Besides crashes and sanitizer reports
// it checks that every re-encoding is valid JSON that re-encodes to itself.
#include <cstdint>
#include <cstdlib>
#include <cstdio>

#include "core/go_json.h"
#include "core/trace_context.h"

using namespace bindery::core;

namespace {

[[noreturn]] void failWith(const char *what, const QByteArray &detail)
{
    std::fprintf(stderr, "fuzz_api_request: %s: %s\n", what, detail.constData());
    std::abort();
}

// json.Marshal's output decodes, and marshals to the same bytes (a fixed point).
void checkReencoding(const QByteArray &marshalled)
{
    nlohmann::json again;
    QString error;
    if (!goJsonDecodeFirst(marshalled, &again, &error))
        failWith("the re-encoding does not decode", marshalled + " -> " + error.toUtf8());
    if (goJsonMarshal(again) != marshalled)
        failWith("the re-encoding is not stable", marshalled + " -> " + goJsonMarshal(again));
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    const char *begin = reinterpret_cast<const char *>(data);
    const QByteArray bytes(begin, static_cast<qsizetype>(size));

    GoBindingRequest request;
    QString error;
    if (goDecodeBindingRequest(begin, begin + size, &request, &error)) {
        checkReencoding(request.data);
    } else if (error.isEmpty()) {
        failWith("a refused body without a message", bytes.left(200));
    }

    nlohmann::json value;
    if (goJsonDecodeFirst(bytes, &value, &error))
        checkReencoding(goJsonMarshal(value));
    else if (error.isEmpty())
        failWith("a refused value without a message", bytes.left(200));

    const std::string_view header(begin, size);
    if (const std::optional<QByteArray> parent = trace::parseTraceparent(header)) {
        // A re-serialised traceparent is itself valid and stable.
        const std::optional<QByteArray> again = trace::parseTraceparent(parent->toStdString());
        if (!again || *again != *parent)
            failWith("traceparent not stable", *parent);
    }
    const QByteArray state = trace::parseTracestate(header);
    if (!state.isEmpty() && trace::parseTracestate(state.toStdString()) != state)
        failWith("tracestate not stable", state);
    trace::baggageError(header);
    return 0;
}
