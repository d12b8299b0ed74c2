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
    void reportsGoSyntaxErrors_data();
    void reportsGoSyntaxErrors();
    void decodesTheBindingRequestAsGo_data();
    void decodesTheBindingRequestAsGo();
    void reportsTheFirstTypeErrorAsGo_data();
    void reportsTheFirstTypeErrorAsGo();
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

// Go's scanner messages, byte for byte (issue 9 item 16: no " (at byte N)", Go's own wording).
void tst_GoJson::reportsGoSyntaxErrors_data()
{
    QTest::addColumn<QByteArray>("input");
    QTest::addColumn<QString>("error");
    QTest::newRow("object trailing comma")
        << QByteArray(R"({"operation":"create",})")
        << u"invalid character '}' looking for beginning of object key string"_s;
    QTest::newRow("array trailing comma")
        << QByteArray("[1,]") << u"invalid character ']' looking for beginning of value"_s;
    QTest::newRow("missing colon")
        << QByteArray(R"({"a" 1})") << u"invalid character '1' after object key"_s;
    QTest::newRow("missing comma") << QByteArray(R"({"a":1 "b":2})")
                                   << u"invalid character '\"' after object key:value pair"_s;
    QTest::newRow("array missing comma")
        << QByteArray("[1 2]") << u"invalid character '2' after array element"_s;
    QTest::newRow("control in string")
        << QByteArray("\"a\x01\"") << u"invalid character '\\x01' in string literal"_s;
    QTest::newRow("bad escape") << QByteArray(R"("\q")")
                                << u"invalid character 'q' in string escape code"_s;
    QTest::newRow("bad \\u") << QByteArray(R"("\u12g4")")
                             << u"invalid character 'g' in \\u hexadecimal character escape"_s;
    QTest::newRow("leading zero") << QByteArray("[01]")
                                  << u"invalid character '1' after array element"_s;
    QTest::newRow("minus alone") << QByteArray("[-]")
                                 << u"invalid character ']' in numeric literal"_s;
    QTest::newRow("dot alone") << QByteArray("[1.]")
                               << u"invalid character ']' after decimal point in numeric literal"_s;
    QTest::newRow("exponent alone")
        << QByteArray("[1e]") << u"invalid character ']' in exponent of numeric literal"_s;
    QTest::newRow("tru") << QByteArray("[tru]")
                         << u"invalid character ']' in literal true (expecting 'e')"_s;
    QTest::newRow("nul") << QByteArray("nulL")
                         << u"invalid character 'L' in literal null (expecting 'l')"_s;
    QTest::newRow("NaN") << QByteArray("NaN")
                         << u"invalid character 'N' looking for beginning of value"_s;
    QTest::newRow("single quote") << QByteArray("'a'")
                                  << u"invalid character '\\'' looking for beginning of value"_s;
    QTest::newRow("latin-1 byte is quoted as its rune")
        << QByteArray("\xff") << u"invalid character '\u00ff' looking for beginning of value"_s;
    QTest::newRow("C1 byte is escaped")
        << QByteArray("\x85") << u"invalid character '\\u0085' looking for beginning of value"_s;
    QTest::newRow("truncated object") << QByteArray(R"({"a":)") << u"unexpected EOF"_s;
    QTest::newRow("truncated string") << QByteArray(R"("abc)") << u"unexpected EOF"_s;
}

void tst_GoJson::reportsGoSyntaxErrors()
{
    QFETCH(QByteArray, input);
    nlohmann::json value;
    QString error;
    QVERIFY(!goJsonDecodeFirst(input, &value, &error));
    QTEST(error, "error");
    GoBindingRequest req;
    QVERIFY(!goDecodeBindingRequest(input.constBegin(), input.constEnd(), &req, &error));
    QTEST(error, "error"); // a syntax error wins over any type error
}

// daprd 1.18.3 measured side by side (issue 9 items 1, 8, 9; reference §0.1).
void tst_GoJson::decodesTheBindingRequestAsGo_data()
{
    QTest::addColumn<QByteArray>("input");
    QTest::addColumn<QString>("operation");
    QTest::addColumn<QByteArray>("data");  // data as marshalled (goJsonMarshal)
    QTest::addColumn<QString>("metadata"); // k=v;k=v in key order
    QTest::newRow("lower case") << QByteArray(
        R"({"operation":"get","data":1,"metadata":{"k":"v"}})")
                                << u"get"_s << QByteArray("1") << u"k=v"_s;
    QTest::newRow("keys in any case")
        << QByteArray(R"({"Operation":"get","DATA":[1],"MetaData":{"K":"v"}})") << u"get"_s
        << QByteArray("[1]") << u"K=v"_s;
    QTest::newRow("escaped key name")
        << QByteArray(R"({"\u006fperation":"get"})") << u"get"_s << QByteArray("null") << QString();
    QTest::newRow("a repeated field keeps its last value")
        << QByteArray(R"({"OPERATION":"delete","operation":"create"})") << u"create"_s
        << QByteArray("null") << QString();
    QTest::newRow("last value wins whatever its case")
        << QByteArray(R"({"operation":"create","OPERATION":"delete"})") << u"delete"_s
        << QByteArray("null") << QString();
    QTest::newRow("repeated metadata objects merge")
        << QByteArray(R"({"metadata":{"a":"1"},"Metadata":{"b":"2","a":"3"}})") << QString()
        << QByteArray("null") << u"a=3;b=2"_s;
    QTest::newRow("metadata null resets") << QByteArray(R"({"metadata":{"a":"1"},"metadata":null})")
                                          << QString() << QByteArray("null") << QString();
    QTest::newRow("metadata value null is empty")
        << QByteArray(R"({"metadata":{"k":null,"j":"x"}})") << QString() << QByteArray("null")
        << u"j=x;k="_s;
    QTest::newRow("operation null keeps the previous value")
        << QByteArray(R"({"operation":"get","operation":null})") << u"get"_s << QByteArray("null")
        << QString();
    QTest::newRow("invalid UTF-8 becomes U+FFFD")
        << QByteArray("{\"data\":\"a\xff"
                      "b\",\"metadata\":{\"k\":\"\xfe\"}}")
        << QString()
        << QByteArray("\"a\xef\xbf\xbd"
                      "b\"")
        << u"k=\ufffd"_s;
    QTest::newRow("lone surrogates become U+FFFD")
        << QByteArray(R"({"data":["\ud800","\udc00x","\ud800\u0041"]})") << QString()
        << QByteArray("[\"\xef\xbf\xbd\",\"\xef\xbf\xbdx\",\"\xef\xbf\xbd"
                      "A\"]")
        << QString();
    QTest::newRow("surrogate pair") << QByteArray(R"({"data":"\ud83d\ude00"})") << QString()
                                    << QByteArray("\"\xf0\x9f\x98\x80\"") << QString();
    // A string of plain bytes is kept as its own text; any other is decoded and re-encoded.
    QTest::newRow("plain string kept") << QByteArray("{\"data\":\"aGk=+/ ~\x7f\"}") << QString()
                                       << QByteArray("\"aGk=+/ ~\x7f\"") << QString();
    QTest::newRow("empty string") << QByteArray(R"({"data":""})") << QString()
                                  << QByteArray(R"("")") << QString();
    QTest::newRow("HTML characters escaped")
        << QByteArray(R"({"data":"a<b>&c"})") << QString()
        << QByteArray(R"("a\u003cb\u003e\u0026c")") << QString();
    QTest::newRow("escapes resolved") << QByteArray(R"({"data":"a\/b\u0041\t"})") << QString()
                                      << QByteArray(R"("a/bA\t")") << QString();
    QTest::newRow("plain string then a number")
        << QByteArray(R"({"data":"x","DATA":2})") << QString() << QByteArray("2") << QString();
    QTest::newRow("number then a plain string")
        << QByteArray(R"({"data":2,"data":"x"})") << QString() << QByteArray(R"("x")") << QString();
    QTest::newRow("plain string then null") << QByteArray(R"({"data":"x","data":null})")
                                            << QString() << QByteArray("null") << QString();
    QTest::newRow("underflow is zero") << QByteArray(R"({"data":[1e-400,-1e-400]})") << QString()
                                       << QByteArray("[0,-0]") << QString();
    QTest::newRow("null body") << QByteArray("null") << QString() << QByteArray("null")
                               << QString();
    QTest::newRow("unknown fields skipped")
        << QByteArray(R"({"x":{"y":[1,"}"]},"operation":"get"})") << u"get"_s << QByteArray("null")
        << QString();
    QTest::newRow("only the first value") << QByteArray(R"({"operation":"get"} {"operation":"x"})")
                                          << u"get"_s << QByteArray("null") << QString();
}

void tst_GoJson::decodesTheBindingRequestAsGo()
{
    QFETCH(QByteArray, input);
    GoBindingRequest req;
    QString error;
    QVERIFY2(goDecodeBindingRequest(input.constBegin(), input.constEnd(), &req, &error),
             qPrintable(error));
    QTEST(req.operation, "operation");
    QTEST(req.data, "data");
    QStringList pairs;
    for (auto it = req.metadata.cbegin(); it != req.metadata.cend(); ++it)
        pairs << it.key() + u'=' + it.value();
    QTEST(pairs.join(u';'), "metadata");
}

void tst_GoJson::reportsTheFirstTypeErrorAsGo_data()
{
    QTest::addColumn<QByteArray>("input");
    QTest::addColumn<QString>("error");
    const QString prefix = u"json: cannot unmarshal "_s;
    QTest::newRow("1e400 (issue 14 item 1)")
        << QByteArray(R"({"data":1e400})")
        << prefix
               + u"number 1e400 into Go struct field OutputBindingRequest.data of type float64"_s;
    QTest::newRow("nested -1e309")
        << QByteArray(R"({"data":{"a":[-1e309]}})")
        << prefix
               + u"number -1e309 into Go struct field OutputBindingRequest.data of type float64"_s;
    QTest::newRow("10,000-digit integer")
        << "{\"data\":" + QByteArray(10000, '9') + "}"
        << prefix + u"number "_s + QString(10000, u'9')
               + u" into Go struct field OutputBindingRequest.data of type float64"_s;
    QTest::newRow("metadata value number")
        << QByteArray(R"({"metadata":{"a":1}})")
        << prefix + u"number into Go struct field OutputBindingRequest.metadata of type string"_s;
    QTest::newRow("metadata value object")
        << QByteArray(R"({"metadata":{"a":{"b":1e400}}})")
        << prefix + u"object into Go struct field OutputBindingRequest.metadata of type string"_s;
    QTest::newRow("metadata a string")
        << QByteArray(R"({"metadata":"x"})")
        << prefix
               + u"string into Go struct field OutputBindingRequest.metadata of type map[string]string"_s;
    QTest::newRow("operation bool")
        << QByteArray(R"({"operation":true})")
        << prefix + u"bool into Go struct field OutputBindingRequest.operation of type string"_s;
    QTest::newRow("first error in document order")
        << QByteArray(R"({"operation":5,"metadata":{"a":1},"data":1e400})")
        << prefix + u"number into Go struct field OutputBindingRequest.operation of type string"_s;
    QTest::newRow("body is an array")
        << QByteArray("[1]") << prefix + u"array into Go value of type http.OutputBindingRequest"_s;
    QTest::newRow("body is a string")
        << QByteArray(R"("x")")
        << prefix + u"string into Go value of type http.OutputBindingRequest"_s;
}

void tst_GoJson::reportsTheFirstTypeErrorAsGo()
{
    QFETCH(QByteArray, input);
    GoBindingRequest req;
    QString error;
    QVERIFY(!goDecodeBindingRequest(input.constBegin(), input.constEnd(), &req, &error));
    QTEST(error, "error");
}

QTEST_GUILESS_MAIN(tst_GoJson)
#include "tst_go_json.moc"
