// SPDX-License-Identifier: Apache-2.0
#pragma once
// A gzip body (RFC 1952), as a compressing HTTP server sends it, for the tests of the clients
// that decode one (issue 9.12, 9.14).
#include <zlib.h>

#include <QByteArray>

namespace bindery::tests {

inline QByteArray gzipBody(const QByteArray &plain)
{
    z_stream z{};
    deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
    QByteArray out(static_cast<qsizetype>(deflateBound(&z, static_cast<uLong>(plain.size()))), 0);
    z.next_in = reinterpret_cast<Bytef *>(const_cast<char *>(plain.constData()));
    z.avail_in = static_cast<uInt>(plain.size());
    z.next_out = reinterpret_cast<Bytef *>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    deflate(&z, Z_FINISH);
    out.resize(static_cast<qsizetype>(z.total_out));
    deflateEnd(&z);
    return out;
}

} // namespace bindery::tests
