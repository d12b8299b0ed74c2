// SPDX-License-Identifier: Apache-2.0
// What daprd's gcp.bucket gets from Go's standard library, ported in
// core/bindings/gcp_bucket/go_compat.h (issue 12), checked against Go's own answers:
// tests/data/gcs-go-compat/vectors.json is written by gen.go beside it (`go run gen.go`), so
// every expectation here is what Go 1.26 printed for the same input.
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTest>

#include "core/bindings/gcp_bucket/go_compat.h"

using namespace bindery;
using namespace bindery::bindings::gcp_bucket;
using namespace Qt::Literals::StringLiterals;

namespace {

QJsonArray vectors(const char *kind)
{
    static const QJsonObject all = [] {
        QFile f(QStringLiteral(BINDERY_GO_VECTORS));
        if (!f.open(QIODevice::ReadOnly))
            qFatal("cannot read %s", BINDERY_GO_VECTORS);
        return QJsonDocument::fromJson(f.readAll()).object();
    }();
    return all.value(QLatin1String(kind)).toArray();
}

/// One data row per vector of `kind`, named by its index and input.
void addRows(const char *kind, bool inputIsBase64)
{
    QTest::addColumn<QJsonObject>("vector");
    int i = 0;
    for (const QJsonValue &v : vectors(kind)) {
        const QJsonObject o = v.toObject();
        QString in = o.value(u"in"_s).toString();
        if (inputIsBase64)
            in = QString::fromUtf8(QByteArray::fromBase64(in.toLatin1())).toHtmlEscaped();
        QTest::addRow("%d %s", i++, qPrintable(in.left(40).simplified())) << o;
    }
}

QByteArray bytesOf(const QJsonObject &o, const QString &field)
{
    return QByteArray::fromBase64(o.value(field).toString().toLatin1());
}

} // namespace

class tst_GcpGoCompat : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void unquotesAsStrconv_data() { addRows("unquote", true); }
    void unquotesAsStrconv();
    void decodesBase64AsItsStreamingDecoder_data() { addRows("base64", true); }
    void decodesBase64AsItsStreamingDecoder();
    void encodesBase64InPlace_data();
    void encodesBase64InPlace();
    void sniffsContentTypes_data() { addRows("sniff", true); }
    void sniffsContentTypes();
    void parsesDurations_data() { addRows("duration", false); }
    void parsesDurations();
    void buildsObjectUrls_data() { addRows("url", false); }
    void buildsObjectUrls();
    void unmarshalsThePayload_data() { addRows("unmarshal", false); }
    void unmarshalsThePayload();
    void unquotesInTheSameBuffer();
};

void tst_GcpGoCompat::unquotesAsStrconv()
{
    QFETCH(QJsonObject, vector);
    const QByteArray in = bytesOf(vector, u"in"_s);
    QByteArray data = in;
    const bool ok = goUnquoteInPlace(data);
    if (vector.contains(u"err"_s)) {
        QVERIFY(!ok);
        QCOMPARE(data, in); // left as it was
    } else {
        QVERIFY(ok);
        QCOMPARE(data, bytesOf(vector, u"out"_s));
    }
}

void tst_GcpGoCompat::decodesBase64AsItsStreamingDecoder()
{
    QFETCH(QJsonObject, vector);
    QByteArray data = bytesOf(vector, u"in"_s);
    const Result<> r = goBase64DecodeInPlace(data);
    // Go's decoder hands io.Copy what it decoded before an error (daprd uploads it).
    QCOMPARE(data, bytesOf(vector, u"out"_s));
    if (vector.contains(u"err"_s)) {
        QVERIFY(!r);
        QCOMPARE(r.error().message, vector.value(u"err"_s).toString());
    } else {
        QVERIFY2(r, r ? "" : qPrintable(r.error().message));
    }
}

void tst_GcpGoCompat::encodesBase64InPlace_data()
{
    QTest::addColumn<QByteArray>("bytes");
    for (const int n : {0, 1, 2, 3, 4, 5, 100, 1000, 65537})
        QTest::addRow("%d bytes", n) << QByteArray(n, 'x').replace(0, qMin(n, 3), "\xff\x00\x7f");
}

void tst_GcpGoCompat::encodesBase64InPlace()
{
    QFETCH(QByteArray, bytes);
    QByteArray data = bytes;
    base64EncodeInPlace(data);
    QCOMPARE(data, bytes.toBase64());
}

void tst_GcpGoCompat::sniffsContentTypes()
{
    QFETCH(QJsonObject, vector);
    QCOMPARE(goDetectContentType(bytesOf(vector, u"in"_s)),
             vector.value(u"out"_s).toString().toUtf8());
}

void tst_GcpGoCompat::parsesDurations()
{
    QFETCH(QJsonObject, vector);
    const Result<qint64> r = goParseDuration(vector.value(u"in"_s).toString());
    if (vector.contains(u"err"_s)) {
        QVERIFY(!r);
        QCOMPARE(r.error().message, vector.value(u"err"_s).toString());
    } else {
        QVERIFY2(r, r ? "" : qPrintable(r.error().message));
        QCOMPARE(QString::number(*r), vector.value(u"out"_s).toString());
    }
}

void tst_GcpGoCompat::buildsObjectUrls()
{
    QFETCH(QJsonObject, vector);
    const Result<QString> r = goUrlString(u"https://storage.googleapis.com/bucket/"_s
                                          + vector.value(u"in"_s).toString());
    if (vector.contains(u"err"_s)) {
        QVERIFY(!r);
        QCOMPARE(r.error().message, vector.value(u"err"_s).toString());
    } else {
        QVERIFY2(r, r ? "" : qPrintable(r.error().message));
        QCOMPARE(*r, vector.value(u"out"_s).toString());
    }
}

void tst_GcpGoCompat::unmarshalsThePayload()
{
    QFETCH(QJsonObject, vector);
    const Result<GoStruct> r
        = goUnmarshalStruct(vector.value(u"in"_s).toString().toUtf8(), u"main.listPayload"_s,
                            {{u"prefix"_s, GoFieldKind::String},
                             {u"maxResults"_s, GoFieldKind::Int32},
                             {u"delimiter"_s, GoFieldKind::String}});
    if (vector.contains(u"err"_s)) {
        QVERIFY(!r);
        QCOMPARE(r.error().message, vector.value(u"err"_s).toString());
        return;
    }
    QVERIFY2(r, r ? "" : qPrintable(r.error().message));
    const QJsonObject want
        = QJsonDocument::fromJson(vector.value(u"out"_s).toString().toUtf8()).object();
    QCOMPARE(r->value(u"prefix"_s), want.value(u"prefix"_s).toString());
    QCOMPARE(r->value(u"delimiter"_s), want.value(u"delimiter"_s).toString());
    QCOMPARE(r->value(u"maxResults"_s, u"0"_s).toInt(), want.value(u"maxResults"_s).toInt());
}

void tst_GcpGoCompat::unquotesInTheSameBuffer()
{
    // A large payload is unquoted where it lies: no second buffer of its size.
    QByteArray data = '"' + QByteArray(1 << 20, 'a') + "\\n\"";
    const char *before = data.constData();
    QVERIFY(goUnquoteInPlace(data));
    QCOMPARE(data.constData(), before);
    QCOMPARE(data.size(), (1 << 20) + 1);
    QCOMPARE(data.back(), '\n');
    QByteArray b64 = QByteArray(3 << 20, 'z').toBase64();
    const char *start = b64.constData();
    QVERIFY(goBase64DecodeInPlace(b64));
    QCOMPARE(b64.constData(), start);
    QCOMPARE(b64, QByteArray(3 << 20, 'z'));
}

QTEST_GUILESS_MAIN(tst_GcpGoCompat)
#include "tst_gcp_go_compat.moc"
