// SPDX-License-Identifier: Apache-2.0
// bindings.localstorage (reference §5): create/get/delete/list, Dapr's unquote + base64 rules,
// and rootPath enforcement against `..` and symlink escapes.
#include <future>

#include <nlohmann/json.hpp>

#include <QDir>
#include <QFile>
#include <QTemporaryDir>
#include <QTest>
#include <QUuid>

#include "core/bindings/localstorage/localstorage_binding.h"
#include "tests/bindings/localstorage_spec.h"

using namespace bindery;
using namespace bindery::core;
using namespace bindery::bindings::localstorage;
using namespace Qt::Literals::StringLiterals;

namespace {

ComponentSpec storageSpec(const QString &root)
{
    return tests::localstorageSpec(root);
}

InvokeResult run(OutputBinding &b, const QString &op, const QByteArray &data,
                 const QString &fileName = {})
{
    InvokeRequest r;
    r.operation = op;
    r.data = data;
    if (!fileName.isNull())
        r.metadata.insert(u"fileName"_s, fileName);
    auto promise = std::make_shared<std::promise<InvokeResult>>();
    std::future<InvokeResult> f = promise->get_future();
    b.invoke(r, [promise](InvokeResult result) { promise->set_value(std::move(result)); });
    if (f.wait_for(std::chrono::seconds(10)) != std::future_status::ready)
        qFatal("invoke never completed");
    return f.get();
}

QByteArray readAll(const QString &path)
{
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray("<missing>");
}

} // namespace

class tst_LocalStorage : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void cleanup();
    void createsTheRootAndRefusesSystemFolders();
    void createWritesDecodedData_data();
    void createWritesDecodedData();
    void createMakesParentsAndNamesFilesWithoutAName();
    void getReturnsTheBytesOrAClearError();
    void deleteAnswersEmptyOrAClearError();
    void listIsRecursiveAbsoluteAndNullWhenEmpty();
    void refusesPathsOutsideTheRoot_data();
    void refusesPathsOutsideTheRoot();
    void treatsAbsoluteFileNamesAsRelativeToTheRoot();
    void refusesSymlinkEscapes();
    void refusesFileNamesWithNul();
    void answersUnsupportedOperations();

private:
    QTemporaryDir *m_dir = nullptr;
    QString m_root;
    LocalStorageBinding *m_binding = nullptr;
};

void tst_LocalStorage::init()
{
    m_dir = new QTemporaryDir;
    m_root = QFileInfo(m_dir->filePath(u"root"_s)).absoluteFilePath();
    m_binding = new LocalStorageBinding;
    const Result<> r = m_binding->init(storageSpec(m_root));
    QVERIFY2(r, r ? "" : qPrintable(r.error().message));
    m_root = QFileInfo(m_root).canonicalFilePath();
}

void tst_LocalStorage::cleanup()
{
    delete m_binding;
    delete m_dir;
}

void tst_LocalStorage::createsTheRootAndRefusesSystemFolders()
{
    QVERIFY(QFileInfo(m_root).isDir());
    QCOMPARE(m_binding->operations(), (QStringList{u"create"_s, u"get"_s, u"delete"_s, u"list"_s}));
    for (const QString &forbidden : {u"/proc"_s, u"/sys/kernel"_s, u"/boot"_s}) {
        LocalStorageBinding b;
        const Result<> r = b.init(storageSpec(forbidden));
        QVERIFY2(!r, qPrintable(forbidden));
        QVERIFY2(r.error().message.contains(u"is not allowed"_s), qPrintable(r.error().message));
    }
    LocalStorageBinding missing;
    const Result<> m = missing.init(storageSpec({}));
    QVERIFY(!m);
    QVERIFY(m.error().message.contains(u"rootPath"_s));
    // A relative rootPath is made absolute.
    const QString cwd = QDir::currentPath();
    QDir::setCurrent(m_dir->path());
    LocalStorageBinding relative;
    QVERIFY(relative.init(storageSpec(u"rel/files"_s)));
    QDir::setCurrent(cwd);
    QVERIFY(QFileInfo(m_dir->filePath(u"rel/files"_s)).isDir());
}

void tst_LocalStorage::createWritesDecodedData_data()
{
    QTest::addColumn<QByteArray>("data"); // what the binding receives (the API's JSON bytes)
    QTest::addColumn<QByteArray>("file");
    QTest::newRow("JSON string is unquoted")
        << QByteArray(R"("hello world")") << QByteArray("hello world");
    QTest::newRow("escapes resolved")
        << QByteArray(R"("a\"b\n\u00e9")") << QByteArray("a\"b\n\xC3\xA9");
    QTest::newRow("base64 string is decoded") << QByteArray(R"("aGVsbG8=")") << QByteArray("hello");
    QTest::newRow("short plain word decodes too")
        << QByteArray(R"("test")") << QByteArray("\xb5\xeb\x2d");
    QTest::newRow("raw base64 decoded") << QByteArray("YWJj") << QByteArray("abc");
    QTest::newRow("object kept as JSON")
        << QByteArray(R"({"message":"Hi"})") << QByteArray(R"({"message":"Hi"})");
    QTest::newRow("number kept") << QByteArray("123") << QByteArray("123");
    QTest::newRow("null is valid base64 too (as Dapr)")
        << QByteArray("null") << QByteArray("\x9e\xe9\x65");
    QTest::newRow("not strict base64 kept") << QByteArray(R"("aGVsbG8")") << QByteArray("aGVsbG8");
}

void tst_LocalStorage::createWritesDecodedData()
{
    QFETCH(QByteArray, data);
    QFETCH(QByteArray, file);
    const InvokeResult r = run(*m_binding, u"create"_s, data, u"out.bin"_s);
    QVERIFY2(r.result, r.result ? "" : qPrintable(r.result.error().message));
    QVERIFY(r.result->hasData);
    QCOMPARE(r.result->data, QByteArray(R"({"fileName":"out.bin"})"));
    QCOMPARE(readAll(m_root + u"/out.bin"_s), file);
}

void tst_LocalStorage::createMakesParentsAndNamesFilesWithoutAName()
{
    const InvokeResult nested = run(*m_binding, u"create"_s, R"("x")", u"a/b/c.txt"_s);
    QVERIFY(nested.result);
    QCOMPARE(nested.result->data, QByteArray(R"({"fileName":"a/b/c.txt"})"));
    QCOMPARE(readAll(m_root + u"/a/b/c.txt"_s), QByteArray("x"));
    const InvokeResult unnamed = run(*m_binding, u"create"_s, R"("y!")");
    QVERIFY(unnamed.result);
    const nlohmann::json j = nlohmann::json::parse(unnamed.result->data.toStdString());
    const QString name = QString::fromStdString(j.value("fileName", ""));
    QVERIFY2(!QUuid::fromString(name).isNull(), qPrintable(name));
    QCOMPARE(readAll(m_root + u'/' + name), QByteArray("y!"));
}

void tst_LocalStorage::getReturnsTheBytesOrAClearError()
{
    QVERIFY(run(*m_binding, u"create"_s, R"({"k":[1,2]})", u"g.json"_s).result);
    const InvokeResult got = run(*m_binding, u"get"_s, "null", u"g.json"_s);
    QVERIFY(got.result && got.result->hasData);
    QCOMPARE(got.result->data, QByteArray(R"({"k":[1,2]})"));
    const InvokeResult missing = run(*m_binding, u"get"_s, "null", u"nope.txt"_s);
    QVERIFY(!missing.result);
    QCOMPARE(missing.result.error().message, u"file not found: "_s + m_root + u"/nope.txt"_s);
    const InvokeResult noName = run(*m_binding, u"get"_s, "null");
    QVERIFY(!noName.result);
    QVERIFY(noName.result.error().message.contains(u"fileName"_s));
}

void tst_LocalStorage::deleteAnswersEmptyOrAClearError()
{
    QVERIFY(run(*m_binding, u"create"_s, R"("z")", u"d.txt"_s).result);
    const InvokeResult del = run(*m_binding, u"delete"_s, "null", u"d.txt"_s);
    QVERIFY(del.result);
    QVERIFY(!del.result->hasData); // 204
    QVERIFY(!QFile::exists(m_root + u"/d.txt"_s));
    const InvokeResult again = run(*m_binding, u"delete"_s, "null", u"d.txt"_s);
    QVERIFY(!again.result);
    QVERIFY2(
        again.result.error().message.startsWith(u"error deleting file "_s + m_root + u"/d.txt"_s),
        qPrintable(again.result.error().message));
}

void tst_LocalStorage::listIsRecursiveAbsoluteAndNullWhenEmpty()
{
    const InvokeResult empty = run(*m_binding, u"list"_s, "null");
    QVERIFY(empty.result && empty.result->hasData);
    QCOMPARE(empty.result->data, QByteArray("null"));
    QVERIFY(run(*m_binding, u"create"_s, R"("1")", u"top.txt"_s).result);
    QVERIFY(run(*m_binding, u"create"_s, R"("2")", u"sub/deep/f.txt"_s).result);
    QDir(m_root).mkpath(u"emptydir"_s);
    const InvokeResult all = run(*m_binding, u"list"_s, "null");
    QVERIFY(all.result);
    const nlohmann::json j = nlohmann::json::parse(all.result->data.toStdString());
    QStringList got;
    for (const auto &e : j)
        got << QString::fromStdString(e.get<std::string>());
    got.sort();
    QCOMPARE(got, (QStringList{m_root + u"/sub/deep/f.txt"_s, m_root + u"/top.txt"_s}));
    const InvokeResult sub = run(*m_binding, u"list"_s, "null", u"sub"_s);
    QVERIFY(sub.result);
    QCOMPARE(sub.result->data, (u"[\""_s + m_root + u"/sub/deep/f.txt\"]"_s).toUtf8());
    QCOMPARE(run(*m_binding, u"list"_s, "null", u"emptydir"_s).result->data, QByteArray("null"));
}

void tst_LocalStorage::refusesPathsOutsideTheRoot_data()
{
    QTest::addColumn<QString>("operation");
    QTest::addColumn<QString>("fileName");
    for (const QString &op : {u"create"_s, u"get"_s, u"delete"_s, u"list"_s}) {
        QTest::addRow("%s ../../etc/passwd", qPrintable(op)) << op << u"../../etc/passwd"_s;
        QTest::addRow("%s a/../../x", qPrintable(op)) << op << u"a/../../x"_s;
        QTest::addRow("%s ..", qPrintable(op)) << op << u".."_s;
    }
}

void tst_LocalStorage::refusesPathsOutsideTheRoot()
{
    QFETCH(QString, operation);
    QFETCH(QString, fileName);
    const InvokeResult r = run(*m_binding, operation, R"("cm9vdDp4OjA6MA==")", fileName);
    QVERIFY(!r.result);
    QVERIFY2(
        r.result.error().message.startsWith(u"fileName '%1' is outside rootPath"_s.arg(fileName)),
        qPrintable(r.result.error().message));
    QVERIFY(!QFile::exists(m_dir->filePath(u"x"_s)));
}

void tst_LocalStorage::treatsAbsoluteFileNamesAsRelativeToTheRoot()
{
    const InvokeResult r = run(*m_binding, u"get"_s, "null", u"/etc/passwd"_s);
    QVERIFY(!r.result);
    QCOMPARE(r.result.error().message, u"file not found: "_s + m_root + u"/etc/passwd"_s);
    QVERIFY(run(*m_binding, u"create"_s, R"("abs")", u"/abs.txt"_s).result);
    QCOMPARE(readAll(m_root + u"/abs.txt"_s), QByteArray("abs"));
}

void tst_LocalStorage::refusesFileNamesWithNul()
{
    const InvokeResult r = run(*m_binding, u"create"_s, R"("x")", u"a\u0000b"_s);
    QVERIFY(!r.result);
    QCOMPARE(r.result.error().message, u"fileName contains a NUL character; it is refused"_s);
    QVERIFY(!QFile::exists(m_root + u"/a"_s));
}

void tst_LocalStorage::refusesSymlinkEscapes()
{
    QTemporaryDir outside;
    QFile secret(outside.filePath(u"secret.txt"_s));
    QVERIFY(secret.open(QIODevice::WriteOnly));
    secret.write("top secret");
    secret.close();
    QVERIFY(QFile::link(outside.path(), m_root + u"/link"_s));
    QVERIFY(QFile::link(outside.filePath(u"secret.txt"_s), m_root + u"/file-link"_s));
    const InvokeResult get = run(*m_binding, u"get"_s, "null", u"link/secret.txt"_s);
    QVERIFY(!get.result);
    QVERIFY2(get.result.error().message.contains(u"resolves through a link"_s),
             qPrintable(get.result.error().message));
    QVERIFY(!run(*m_binding, u"get"_s, "null", u"file-link"_s).result);
    const InvokeResult create = run(*m_binding, u"create"_s, R"("evil")", u"link/evil.txt"_s);
    QVERIFY(!create.result);
    QVERIFY(!QFile::exists(outside.filePath(u"evil.txt"_s)));
    QVERIFY(!run(*m_binding, u"create"_s, R"("evil")", u"link/new/dir/evil.txt"_s).result);
    QVERIFY(!QFile::exists(outside.filePath(u"new"_s)));
    QVERIFY(!run(*m_binding, u"delete"_s, "null", u"link/secret.txt"_s).result);
    QVERIFY(QFile::exists(outside.filePath(u"secret.txt"_s)));
    QVERIFY(!run(*m_binding, u"list"_s, "null", u"link"_s).result);
}

void tst_LocalStorage::answersUnsupportedOperations()
{
    const InvokeResult r = run(*m_binding, u"explode"_s, "null", u"x"_s);
    QVERIFY(!r.result);
    QVERIFY(r.result.error().message.contains(u"explode"_s));
}

QTEST_GUILESS_MAIN(tst_LocalStorage)
#include "tst_localstorage.moc"
