// SPDX-License-Identifier: Apache-2.0
// bindings.localstorage never reaches outside rootPath (issue 14, item 6): links inside the root
// that point outside (to something that exists or not yet) are refused for create/get/delete/list,
// and a folder swapped for such a link while ~2000 creates run lets none of them out. Each test
// runs on openat2 (RESOLVE_BENEATH) and on the O_NOFOLLOW descriptor walk used without openat2.
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <future>
#include <thread>

#include <QDir>
#include <QDirIterator>
#include <QFile>
#include <QTemporaryDir>
#include <QTest>

#include "core/bindings/localstorage/beneath.h"
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

std::future<InvokeResult> start(OutputBinding &b, const QString &op, const QByteArray &data,
                                const QString &fileName)
{
    InvokeRequest r;
    r.operation = op;
    r.data = data;
    r.metadata.insert(u"fileName"_s, fileName);
    auto promise = std::make_shared<std::promise<InvokeResult>>();
    std::future<InvokeResult> f = promise->get_future();
    b.invoke(r, [promise](InvokeResult result) { promise->set_value(std::move(result)); });
    return f;
}

InvokeResult run(OutputBinding &b, const QString &op, const QByteArray &data,
                 const QString &fileName)
{
    std::future<InvokeResult> f = start(b, op, data, fileName);
    if (f.wait_for(std::chrono::seconds(10)) != std::future_status::ready)
        qFatal("invoke never completed");
    return f.get();
}

// Every entry (files, folders, links) beneath `dir`, recursively.
int countEntries(const QString &dir)
{
    int n = 0;
    QDirIterator it(dir, QDir::AllEntries | QDir::Hidden | QDir::System | QDir::NoDotAndDotDot,
                    QDirIterator::Subdirectories);
    while (it.hasNext()) {
        it.next();
        ++n;
    }
    return n;
}

} // namespace

class tst_LocalStorageBeneath : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void cleanup();
    void refusesLinksToOutside_data();
    void refusesLinksToOutside();
    void followsLinksThatStayInside();
    void neverBlocksOnAFifo();
    void racingFolderSwapWritesNothingOutside_data();
    void racingFolderSwapWritesNothingOutside();

private:
    void addModes();
    QTemporaryDir *m_dir = nullptr;
    QString m_root;
    QString m_outside;
    LocalStorageBinding *m_binding = nullptr;
};

void tst_LocalStorageBeneath::init()
{
    m_dir = new QTemporaryDir;
    QVERIFY(QDir(m_dir->path()).mkpath(u"outside"_s));
    m_outside = QFileInfo(m_dir->filePath(u"outside"_s)).canonicalFilePath();
    m_binding = new LocalStorageBinding;
    const Result<> r = m_binding->init(storageSpec(m_dir->filePath(u"root"_s)));
    QVERIFY2(r, r ? "" : qPrintable(r.error().message));
    m_root = QFileInfo(m_dir->filePath(u"root"_s)).canonicalFilePath();
}

void tst_LocalStorageBeneath::cleanup()
{
    beneath::forceDescriptorWalk(false);
    delete m_binding;
    delete m_dir;
}

void tst_LocalStorageBeneath::addModes()
{
    QTest::addColumn<bool>("walk");
    QTest::newRow("openat2") << false;
    QTest::newRow("descriptor walk") << true;
}

void tst_LocalStorageBeneath::refusesLinksToOutside_data()
{
    addModes();
}

void tst_LocalStorageBeneath::refusesLinksToOutside()
{
    QFETCH(bool, walk);
    beneath::forceDescriptorWalk(walk);
    QFile secret(m_outside + u"/secret.txt"_s);
    QVERIFY(secret.open(QIODevice::WriteOnly));
    secret.write("top secret");
    secret.close();
    // Links to what exists outside, and to what does not exist yet (relative and absolute).
    QVERIFY(QFile::link(m_outside, m_root + u"/dir-link"_s));
    QVERIFY(QFile::link(m_outside + u"/secret.txt"_s, m_root + u"/file-link"_s));
    QVERIFY(QFile::link(m_outside + u"/new.txt"_s, m_root + u"/dangling-abs"_s));
    QCOMPARE(symlink("../outside/new2.txt", qPrintable(m_root + u"/dangling-rel"_s)), 0);
    QVERIFY(QFile::link(m_outside + u"/newdir"_s, m_root + u"/dangling-dir"_s));
    QVERIFY(QDir(m_root).mkpath(u"sub"_s));
    QCOMPARE(symlink("../../outside/new3.txt", qPrintable(m_root + u"/sub/dangling"_s)), 0);

    const QStringList targets{
        u"dir-link/secret.txt"_s,    u"dir-link/fresh.txt"_s, u"file-link"_s,
        u"dangling-abs"_s,           u"dangling-rel"_s,       u"dangling-dir/x.txt"_s,
        u"dangling-dir/a/b/x.txt"_s, u"sub/dangling"_s};
    for (const QString &name : targets) {
        for (const QString &op : {u"create"_s, u"get"_s, u"delete"_s}) {
            const InvokeResult r = run(*m_binding, op, R"("evil")", name);
            QVERIFY2(!r.result, qPrintable(op + u' ' + name + u" was not refused"_s));
            QVERIFY2(r.result.error().message.contains(u"outside rootPath"_s)
                         || r.result.error().message.contains(u"resolves through a link"_s),
                     qPrintable(op + u' ' + name + u": "_s + r.result.error().message));
        }
    }
    for (const QString &name : {u"dir-link"_s, u"dangling-dir"_s}) {
        const InvokeResult r = run(*m_binding, u"list"_s, "null", name);
        QVERIFY2(!r.result, qPrintable(u"list "_s + name + u" was not refused"_s));
        QVERIFY2(r.result.error().message.contains(u"outside rootPath"_s),
                 qPrintable(r.result.error().message));
    }
    // Nothing was written, created or removed outside; the links are still there.
    QCOMPARE(countEntries(m_outside), 1);
    QFile check(m_outside + u"/secret.txt"_s);
    QVERIFY(check.open(QIODevice::ReadOnly));
    QCOMPARE(check.readAll(), QByteArray("top secret"));
    QVERIFY(QFileInfo(m_root + u"/dangling-abs"_s).isSymLink());
    // Listing the root names the links (as daprd's Lstat walk) but never descends through them.
    const InvokeResult all = run(*m_binding, u"list"_s, "null", QString());
    QVERIFY(all.result);
    QVERIFY2(!all.result->data.contains("secret.txt"), all.result->data.constData());
}

void tst_LocalStorageBeneath::followsLinksThatStayInside()
{
    // openat2 keeps a relative link that stays inside working; the walk refuses every link.
    QVERIFY(run(*m_binding, u"create"_s, R"("in")", u"real/f.txt"_s).result);
    QCOMPARE(symlink("real", qPrintable(m_root + u"/alias"_s)), 0);
    const InvokeResult got = run(*m_binding, u"get"_s, "null", u"alias/f.txt"_s);
    QVERIFY2(got.result, got.result ? "" : qPrintable(got.result.error().message));
    QCOMPARE(got.result->data, QByteArray("in"));
    beneath::forceDescriptorWalk(true);
    QVERIFY(!run(*m_binding, u"get"_s, "null", u"alias/f.txt"_s).result);
    QVERIFY(run(*m_binding, u"get"_s, "null", u"real/f.txt"_s).result);
}

void tst_LocalStorageBeneath::neverBlocksOnAFifo()
{
    // Opened without O_NONBLOCK, a FIFO nobody writes to (or reads from) would hang the call.
    QCOMPARE(mkfifo(qPrintable(m_root + u"/pipe"_s), 0600), 0);
    const InvokeResult got = run(*m_binding, u"get"_s, "null", u"pipe"_s);
    QVERIFY(!got.result);
    QCOMPARE(got.result.error().message, u"file not found: "_s + m_root + u"/pipe"_s);
    const InvokeResult created = run(*m_binding, u"create"_s, R"("x")", u"pipe"_s);
    QVERIFY(!created.result);
    QVERIFY2(created.result.error().message.startsWith(u"error writing file "_s),
             qPrintable(created.result.error().message));
}

void tst_LocalStorageBeneath::racingFolderSwapWritesNothingOutside_data()
{
    addModes();
}

void tst_LocalStorageBeneath::racingFolderSwapWritesNothingOutside()
{
    QFETCH(bool, walk);
    beneath::forceDescriptorWalk(walk);
    // `d` is a real folder inside the root; `swap` a link to the outside. One thread keeps
    // exchanging the two names (an atomic rename), another issues the creates through the binding.
    QVERIFY(QDir(m_root).mkpath(u"d"_s));
    QVERIFY(QFile::link(m_outside, m_root + u"/swap"_s));
    const QByteArray d = QFile::encodeName(m_root + u"/d"_s);
    const QByteArray swap = QFile::encodeName(m_root + u"/swap"_s);
    std::atomic<int> swaps{0};
    // A jthread: a failed QVERIFY below returns early, and its destructor still stops and joins.
    std::jthread swapper([&](std::stop_token stop) {
        while (!stop.stop_requested()) {
            if (renameat2(AT_FDCWD, d.constData(), AT_FDCWD, swap.constData(), RENAME_EXCHANGE)
                == 0)
                swaps.fetch_add(1);
            std::this_thread::yield();
        }
    });
    // In batches, so that the creates spread over many swaps and land in both states.
    constexpr int creates = 2000;
    constexpr int batch = 50;
    int written = 0;
    int refused = 0;
    QMap<QString, int> reasons;
    for (int first = 0; first < creates; first += batch) {
        std::vector<std::future<InvokeResult>> pending;
        for (int i = first; i < first + batch; ++i)
            pending.push_back(start(*m_binding, u"create"_s, R"("x")", u"d/f%1.txt"_s.arg(i)));
        for (std::future<InvokeResult> &f : pending) {
            QVERIFY(f.wait_for(std::chrono::seconds(30)) == std::future_status::ready);
            const InvokeResult r = f.get();
            if (r.result) {
                ++written;
            } else {
                ++refused;
                const QString m = r.result.error().message;
                ++reasons[m.contains(u"resolves through a link outside rootPath"_s)
                              ? u"a link outside rootPath"_s
                              : m.section(u": "_s, -1)];
            }
        }
    }
    swapper.request_stop();
    swapper.join();
    const int outside = countEntries(m_outside);
    qInfo("%d creates: %d written inside, %d refused, %d swaps, %d files outside", creates, written,
          refused, swaps.load(), outside);
    for (auto it = reasons.cbegin(); it != reasons.cend(); ++it)
        qInfo("refused %d times: %s", it.value(), qPrintable(it.key()));
    QCOMPARE(outside, 0);
    // Both outcomes happened, so the swaps really raced the creates (how many swaps the swapper
    // gets done depends on the machine's load).
    QVERIFY(written > 0);
    QVERIFY(refused > 0);
    QVERIFY(swaps.load() > 0);
    int inside = 0;
    for (const QString &folder : {u"/d"_s, u"/swap"_s}) {
        if (!QFileInfo(m_root + folder).isSymLink())
            inside = countEntries(m_root + folder);
    }
    QCOMPARE(inside, written);
}

QTEST_GUILESS_MAIN(tst_LocalStorageBeneath)
#include "tst_localstorage_beneath.moc"
