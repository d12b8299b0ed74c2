// SPDX-License-Identifier: Apache-2.0
// `data` is re-encoded as daprd's json.Marshal(any) does after json.Decode (reference §1.2).
#include <QTest>

#include "core/go_json.h"

using namespace bindery::core;
using namespace Qt::Literals::StringLiterals;

class tst_GoJson : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void reencodesAsGoJsonMarshal_data();
    void reencodesAsGoJsonMarshal();
    void decodesOnlyTheFirstValueWithGoMessages_data();
    void decodesOnlyTheFirstValueWithGoMessages();
    void namesKindsAsGoUnmarshalErrorsDo();
    void escapesInvalidUtf8AsGoDoes_data();
    void escapesInvalidUtf8AsGoDoes();
};

void tst_GoJson::escapesInvalidUtf8AsGoDoes_data()
{
    QTest::addColumn<QByteArray>("raw");
    QTest::addColumn<QByteArray>("expected");
    QTest::newRow("stray byte") << QByteArray("a\xff"
                                              "b")
                                << QByteArray(R"("a\ufffdb")");
    QTest::newRow("truncated sequence")
        << QByteArray("\xe2\x82") << QByteArray(R"("\ufffd\ufffd")");
    QTest::newRow("overlong") << QByteArray("\xc0\xaf") << QByteArray(R"("\ufffd\ufffd")");
    QTest::newRow("surrogate") << QByteArray("\xed\xa0\x80")
                               << QByteArray(R"("\ufffd\ufffd\ufffd")");
    QTest::newRow("valid 4-byte kept")
        << QByteArray("\xf0\x9f\x98\x80") << QByteArray("\"\xf0\x9f\x98\x80\"");
    QTest::newRow("control and DEL") << QByteArray("\x1f\x7f") << QByteArray("\"\\u001f\x7f\"");
}

void tst_GoJson::escapesInvalidUtf8AsGoDoes()
{
    // Reached by goJsonMarshal callers with raw strings (e.g. file names), not by parsed JSON.
    QFETCH(QByteArray, raw);
    QTEST(goJsonMarshal(nlohmann::json(raw.toStdString())), "expected");
}

void tst_GoJson::reencodesAsGoJsonMarshal_data()
{
    QTest::addColumn<QByteArray>("input");
    QTest::addColumn<QByteArray>("expected");
    QTest::newRow("string keeps its quotes")
        << QByteArray(R"("hello")") << QByteArray(R"("hello")");
    QTest::newRow("object keys sorted, whitespace dropped")
        << QByteArray("{ \"b\" : 1,\n \"a\": {\"d\": [1, 2], \"c\": null}, \"B\": true }")
        << QByteArray(R"({"B":true,"a":{"c":null,"d":[1,2]},"b":1})");
    QTest::newRow("HTML escapes") << QByteArray(R"("<a href='x'>&</a>")")
                                  << QByteArray(R"("\u003ca href='x'\u003e\u0026\u003c/a\u003e")");
    QTest::newRow("line separators escaped") << QByteArray("\"a\xE2\x80\xA8"
                                                           "b\xE2\x80\xA9\"")
                                             << QByteArray(R"("a\u2028b\u2029")");
    QTest::newRow("escaped unicode written raw")
        << QByteArray(R"("\u00e9\ud83d\ude00")") << QByteArray("\"\xC3\xA9\xF0\x9F\x98\x80\"");
    QTest::newRow("control characters")
        << QByteArray(R"("a\nb\tc\u0001")") << QByteArray(R"("a\nb\tc\u0001")");
    QTest::newRow("slash not escaped") << QByteArray(R"("a\/b")") << QByteArray(R"("a/b")");
    QTest::newRow("null") << QByteArray("null") << QByteArray("null");
    QTest::newRow("bools") << QByteArray("[true,false]") << QByteArray("[true,false]");
    QTest::newRow("empty containers") << QByteArray("[{}, []]") << QByteArray("[{},[]]");
    QTest::newRow("integer") << QByteArray("42") << QByteArray("42");
    QTest::newRow("1.0 is 1") << QByteArray("1.0") << QByteArray("1");
    QTest::newRow("1.50 is 1.5") << QByteArray("1.50") << QByteArray("1.5");
    QTest::newRow("0.1") << QByteArray("0.1") << QByteArray("0.1");
    QTest::newRow("1e20 in full") << QByteArray("1e20") << QByteArray("100000000000000000000");
    QTest::newRow("1e21 exponent") << QByteArray("1e21") << QByteArray("1e+21");
    QTest::newRow("1E+21 exponent") << QByteArray("1E+21") << QByteArray("1e+21");
    QTest::newRow("0.000001 in full") << QByteArray("0.000001") << QByteArray("0.000001");
    QTest::newRow("1e-7 short exponent") << QByteArray("1e-7") << QByteArray("1e-7");
    QTest::newRow("1.5e-10") << QByteArray("1.5e-10") << QByteArray("1.5e-10");
    QTest::newRow("-2.5e-300") << QByteArray("-2.5e-300") << QByteArray("-2.5e-300");
    QTest::newRow("2^53+1 loses precision")
        << QByteArray("9007199254740993") << QByteArray("9007199254740992");
    QTest::newRow("big integer") << QByteArray("123456789012345678901234567890")
                                 << QByteArray("1.2345678901234568e+29");
    QTest::newRow("uint64 max") << QByteArray("18446744073709551615")
                                << QByteArray("18446744073709552000");
    QTest::newRow("-0") << QByteArray("-0") << QByteArray("-0");
    QTest::newRow("-0.0") << QByteArray("-0.0") << QByteArray("-0");
    QTest::newRow("-0 inside") << QByteArray(R"({"x":[-0, 0, "-0"]})")
                               << QByteArray(R"({"x":[-0,0,"-0"]})");
    QTest::newRow("negative") << QByteArray("-12.25") << QByteArray("-12.25");
    QTest::newRow("seed example") << QByteArray(R"({"message": "Hi"})")
                                  << QByteArray(R"({"message":"Hi"})");
}

void tst_GoJson::reencodesAsGoJsonMarshal()
{
    QFETCH(QByteArray, input);
    nlohmann::json value;
    QString error;
    QVERIFY2(goJsonDecodeFirst(input, &value, &error), qPrintable(error));
    QTEST(goJsonMarshal(value), "expected");
}

void tst_GoJson::decodesOnlyTheFirstValueWithGoMessages_data()
{
    QTest::addColumn<QByteArray>("input");
    QTest::addColumn<bool>("ok");
    QTest::addColumn<QString>("errorPrefix");
    QTest::newRow("trailing data ignored")
        << QByteArray(R"({"a":1} {"b":2} garbage)") << true << QString();
    QTest::newRow("leading whitespace") << QByteArray(" \n\t{}") << true << QString();
    QTest::newRow("empty is EOF") << QByteArray() << false << u"EOF"_s;
    QTest::newRow("blank is EOF") << QByteArray(" \n ") << false << u"EOF"_s;
    QTest::newRow("truncated") << QByteArray(R"({"data": )") << false << u"unexpected EOF"_s;
    QTest::newRow("not JSON") << QByteArray("hello") << false
                              << u"invalid character 'h' looking for beginning of value"_s;
    // Go's maxNestingDepth is 10000 (the outer object counts); deeper input is refused, not a
    // crash.
    QTest::newRow("depth 10000 ok")
        << "{\"d\":" + QByteArray(9999, '[') + QByteArray(9999, ']') + "}" << true << QString();
    QTest::newRow("depth 10001 refused")
        << "{\"d\":" + QByteArray(10000, '[') + QByteArray(10000, ']') + "}" << false
        << u"invalid character '[' exceeded max depth"_s;
    QTest::newRow("depth 200000 refused") << QByteArray("{\"a\":").repeated(200000) << false
                                          << u"invalid character '{' exceeded max depth"_s;
}

void tst_GoJson::decodesOnlyTheFirstValueWithGoMessages()
{
    QFETCH(QByteArray, input);
    QFETCH(bool, ok);
    QFETCH(QString, errorPrefix);
    nlohmann::json value;
    QString error;
    QCOMPARE(goJsonDecodeFirst(input, &value, &error), ok);
    if (ok)
        QVERIFY(value.is_object());
    else
        QVERIFY2(error.startsWith(errorPrefix), qPrintable(error));
}

void tst_GoJson::namesKindsAsGoUnmarshalErrorsDo()
{
    QCOMPARE(goJsonKind(nlohmann::json(1)), u"number"_s);
    QCOMPARE(goJsonKind(nlohmann::json(1.5)), u"number"_s);
    QCOMPARE(goJsonKind(nlohmann::json(true)), u"bool"_s);
    QCOMPARE(goJsonKind(nlohmann::json::array()), u"array"_s);
    QCOMPARE(goJsonKind(nlohmann::json::object()), u"object"_s);
    QCOMPARE(goJsonKind(nlohmann::json("s")), u"string"_s);
}

QTEST_GUILESS_MAIN(tst_GoJson)
#include "tst_go_json.moc"
