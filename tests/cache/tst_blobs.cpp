// Blob import, resumable writes, visibility, quota, eviction and full disks.
#include "cache/blob_writer.h"
#include "cache/space.h"
#include "cache/store.h"
#include "store_fixtures.h"

#include <QProcess>
#include <future>
#include <QTemporaryDir>
#include <QTest>

#include <sys/mount.h>
#include <sys/statvfs.h>
#include <unistd.h>

using namespace stoa::cache;
using namespace stoa::testing;
namespace fs = std::filesystem;

class TestBlobs : public QObject {
    Q_OBJECT

    std::unique_ptr<QTemporaryDir> m_tmp;
    fs::path dir() const { return m_tmp->path().toStdString(); }

    std::unique_ptr<Store> openStore(SpaceLimits limits = {})
    {
        StoreOptions o;
        o.dataDir = dir() / "data";
        o.limits = limits;
        return openStoreOrDie(o);
    }

    Result<BlobInfo> put(Store &s, const QByteArray &bytes) { return putBlob(s, bytes); }

    int filesIn(const fs::path &d)
    {
        int n = 0;
        std::error_code ec;
        for (auto it = fs::recursive_directory_iterator(d, ec); it != fs::recursive_directory_iterator(); ++it)
            n += it->is_regular_file() ? 1 : 0;
        return n;
    }

private slots:
    void init() { m_tmp = std::make_unique<QTemporaryDir>(); QVERIFY(m_tmp->isValid()); }

    void importFileNamesBlobByHash()
    {
        auto store = openStore();
        const QByteArray content = randomBytes(3 * 1024 * 1024 + 17, 1); // spans several 1 MiB chunks
        writeFile(dir() / "in.bin", content);
        auto info = importFile(store->blobs(), store->space(), dir() / "in.bin");
        QVERIFY2(info, info ? "" : info.error().message.c_str());
        QCOMPARE(info->digest, digestOf(content));
        QCOMPARE(info->size, std::uint64_t(content.size()));
        const fs::path expected = dir() / "data/blobs/sha256" / info->digest.hex().substr(0, 2) / info->digest.hex();
        QCOMPARE(readFile(expected), content);
        auto found = store->blobs().find(info->digest);
        QVERIFY(found && *found);
        QCOMPARE(**found, expected);
        QCOMPARE(filesIn(dir() / "data/tmp"), 0); // the temp went away by rename
    }

    void writerCommitsOnlyVerifiedBytes()
    {
        auto store = openStore();
        const QByteArray content = randomBytes(100000, 2);
        auto info = put(*store, content);
        QVERIFY2(info, info ? "" : info.error().message.c_str());
        QVERIFY(*store->blobs().contains(digestOf(content)));
    }

    void hashMismatchIsRejectedAndNothingVisible()
    {
        auto store = openStore();
        const QByteArray content = randomBytes(5000, 3);
        QByteArray wrong = content;
        wrong[100] = static_cast<char>(wrong[100] ^ 0x01);
        const stoa::schedule::Digest digest = digestOf(content);
        auto w = BlobWriter::open(store->blobs(), store->space(), digest, 5000);
        QVERIFY(w);
        QVERIFY(w->write(bytesOf(wrong)));
        auto done = w->commit();
        QVERIFY(!done);
        QCOMPARE(done.error().code, ErrorCode::HashMismatch);
        QVERIFY(!*store->blobs().contains(digest));
        QVERIFY(!fs::exists(store->blobs().pathFor(digest)));
        QCOMPARE(filesIn(dir() / "data/tmp"), 0); // wrong bytes are not kept for resuming
    }

    void longerThanDeclaredIsRefused()
    {
        auto store = openStore();
        const QByteArray content = randomBytes(4096, 4);
        auto w = BlobWriter::open(store->blobs(), store->space(), digestOf(content), 4000);
        QVERIFY(w);
        auto ok = w->write(bytesOf(content));
        QVERIFY(!ok);
        QCOMPARE(ok.error().code, ErrorCode::SizeMismatch);
        QCOMPARE(w->offset(), std::uint64_t(0)); // nothing past the declared size reached the file
        auto done = w->commit();
        QVERIFY(!done);
        QCOMPARE(done.error().code, ErrorCode::SizeMismatch);
    }

    void shortBlobCannotCommit()
    {
        auto store = openStore();
        const QByteArray content = randomBytes(4096, 5);
        auto w = BlobWriter::open(store->blobs(), store->space(), digestOf(content), 4096);
        QVERIFY(w->write(bytesOf(content.left(4000))));
        auto done = w->commit();
        QVERIFY(!done);
        QCOMPARE(done.error().code, ErrorCode::SizeMismatch);
        QVERIFY(!*store->blobs().contains(digestOf(content)));
    }

    void interruptedWriteResumesWhereItStopped()
    {
        auto store = openStore();
        const QByteArray content = randomBytes(2 * 1024 * 1024, 6);
        const stoa::schedule::Digest digest = digestOf(content);
        const qsizetype cut = content.size() * 9 / 10;
        {
            auto w = BlobWriter::open(store->blobs(), store->space(), digest, std::uint64_t(content.size()));
            QVERIFY(w);
            QVERIFY(w->write(bytesOf(content.left(cut))));
            // destroyed without commit: the download was interrupted
        }
        QVERIFY(!*store->blobs().contains(digest));
        auto w = BlobWriter::open(store->blobs(), store->space(), digest, std::uint64_t(content.size()));
        QVERIFY(w);
        QCOMPARE(w->offset(), std::uint64_t(cut));
        QVERIFY(w->write(bytesOf(content.mid(cut))));
        auto done = w->commit();
        QVERIFY2(done, done ? "" : done.error().message.c_str());
        QCOMPARE(readFile(store->blobs().pathFor(digest)), content);
    }

    void sealOnAnotherThreadThenCommit()
    {
        auto store = openStore();
        const QByteArray content = randomBytes(3 * 1024 * 1024, 8);
        auto w = BlobWriter::open(store->blobs(), store->space(), digestOf(content), std::uint64_t(content.size()));
        QVERIFY(w && w->write(bytesOf(content)));
        // The expensive part (hash check + fsync) off the owner's thread.
        auto sealed = std::async(std::launch::async, [&] { return w->seal(); }).get();
        QVERIFY2(sealed, sealed ? "" : sealed.error().message.c_str());
        QVERIFY(!*store->blobs().contains(digestOf(content))); // sealed is not yet visible
        QCOMPARE(w->write(bytesOf(content.left(1))).error().code, ErrorCode::InvalidArgument);
        auto done = w->commit();
        QVERIFY2(done, done ? "" : done.error().message.c_str());
        QCOMPARE(readFile(store->blobs().pathFor(digestOf(content))), content);

        const QByteArray other = randomBytes(1000, 9);
        auto bad = BlobWriter::open(store->blobs(), store->space(), digestOf(other), 1000);
        QVERIFY(bad && bad->write(bytesOf(randomBytes(1000, 10))));
        QCOMPARE(bad->seal().error().code, ErrorCode::HashMismatch);
        QCOMPARE(filesIn(dir() / "data/tmp"), 0);
    }

    void secondWriterOnSamePartialIsBusy()
    {
        auto store = openStore();
        const QByteArray content = randomBytes(1000, 7);
        auto a = BlobWriter::open(store->blobs(), store->space(), digestOf(content), 1000);
        QVERIFY(a);
        auto b = BlobWriter::open(store->blobs(), store->space(), digestOf(content), 1000);
        QVERIFY(!b);
        QCOMPARE(b.error().code, ErrorCode::Busy);
    }

    // A writer is opened for a Digest, so a name like "../../etc/passwd" never
    // reaches a path; what the store reads back as text (a partial's file
    // name) is a blob's only when it is one.
    void partialNamesMustBeDigests()
    {
        const std::string hex(64, 'a');
        const auto good = BlobStore::parsePartialName("/x/tmp/" + hex + ".10.part");
        QVERIFY(good);
        QCOMPARE(good->digest.hex(), hex);
        QCOMPARE(good->expectedSize, std::uint64_t(10));
        QVERIFY(!BlobStore::parsePartialName("/x/tmp/" + std::string(63, 'a') + "A.10.part"));
        QVERIFY(!BlobStore::parsePartialName("/x/tmp/" + std::string(63, 'a') + "g.10.part"));
        QVERIFY(!BlobStore::parsePartialName("/x/tmp/../../etc/passwd.10.part"));
    }

    void quotaEvictsLeastRecentlyUsedUnpinned()
    {
        auto store = openStore(SpaceLimits{30000, 0});
        const QByteArray a = randomBytes(10000, 10), b = randomBytes(10000, 11), c = randomBytes(10000, 12);
        QVERIFY(put(*store, a));
        QVERIFY(put(*store, b));
        QVERIFY(put(*store, c));
        // a is pinned by the active manifest, b was used recently: c is the LRU unpinned one.
        QVERIFY(store->manifests().activate(StoredManifest{1, "env", {digestOf(a)}}));
        QVERIFY(store->blobs().touch(digestOf(b)));
        const QByteArray d = randomBytes(10000, 13);
        auto ok = put(*store, d);
        QVERIFY2(ok, ok ? "" : ok.error().message.c_str());
        QVERIFY(*store->blobs().contains(digestOf(a)));
        QVERIFY(*store->blobs().contains(digestOf(b)));
        QVERIFY(!*store->blobs().contains(digestOf(c)));
        QVERIFY(!fs::exists(store->blobs().pathFor(digestOf(c))));
        QVERIFY(*store->blobs().contains(digestOf(d)));
        auto usage = store->space().usage();
        QVERIFY(usage);
        QCOMPARE(usage->blobBytes, std::uint64_t(30000));
        QCOMPARE(usage->pinnedBytes, std::uint64_t(10000));
    }

    void quotaNeverEvictsPinnedBlobs()
    {
        auto store = openStore(SpaceLimits{20000, 0});
        const QByteArray a = randomBytes(10000, 20), b = randomBytes(10000, 21);
        QVERIFY(put(*store, a));
        QVERIFY(put(*store, b));
        QVERIFY(store->manifests().activate(StoredManifest{1, "env", {digestOf(a)}}));
        QVERIFY(store->manifests().stage(StoredManifest{2, "env2", {digestOf(b)}}));
        auto ok = put(*store, randomBytes(10000, 22));
        QVERIFY(!ok);
        QCOMPARE(ok.error().code, ErrorCode::NoSpace);
        QVERIFY2(ok.error().message.find("quota") != std::string::npos, ok.error().message.c_str());
        QVERIFY(*store->blobs().contains(digestOf(a)));
        QVERIFY(*store->blobs().contains(digestOf(b)));
    }

    void parallelPartialsCountAtTheirFinalSize()
    {
        auto store = openStore(SpaceLimits{25000, 0});
        const QByteArray a = randomBytes(10000, 30), b = randomBytes(10000, 31), c = randomBytes(10000, 32);
        auto wa = BlobWriter::open(store->blobs(), store->space(), digestOf(a), 10000);
        auto wb = BlobWriter::open(store->blobs(), store->space(), digestOf(b), 10000);
        QVERIFY(wa && wb);
        // Neither has written a byte yet, but together with c they would not fit.
        auto wc = BlobWriter::open(store->blobs(), store->space(), digestOf(c), 10000);
        QVERIFY(!wc);
        QCOMPARE(wc.error().code, ErrorCode::NoSpace);
    }

    void freeDiskFloorRefusesClearly()
    {
        auto store = openStore(SpaceLimits{0, std::uint64_t(1) << 62}); // keep 4 EiB free: impossible
        auto ok = put(*store, randomBytes(1000, 40));
        QVERIFY(!ok);
        QCOMPARE(ok.error().code, ErrorCode::NoSpace);
        QVERIFY2(ok.error().message.find("free") != std::string::npos, ok.error().message.c_str());
        QCOMPARE(filesIn(dir() / "data/tmp"), 0);
        QCOMPARE(filesIn(dir() / "data/blobs"), 0);
    }

    // The device's one free-disk reading (heartbeat, /status, /metrics,
    // the space policy): what statvfs says for the data dir, or an error
    // naming the path.
    void diskSpaceOfTheDataDir()
    {
        auto store = openStore();
        auto disk = diskSpace(store->dataDir());
        QVERIFY2(disk, disk ? "" : disk.error().message.c_str());
        struct statvfs st {};
        QCOMPARE(::statvfs(store->dataDir().c_str(), &st), 0);
        QVERIFY(disk->freeBytes > 0);
        QVERIFY(disk->freeBytes <= disk->totalBytes);
        QCOMPARE(disk->totalBytes, std::uint64_t(st.f_blocks) * st.f_frsize);
        auto usage = store->space().usage();
        QVERIFY(usage);
        QCOMPARE(usage->diskTotalBytes, disk->totalBytes);

        auto missing = diskSpace(dir() / "no/such/dir");
        QVERIFY(!missing);
        QVERIFY2(missing.error().message.find("no/such/dir") != std::string::npos, missing.error().message.c_str());
    }

    // A real ENOSPC from a real, small file system (tmpfs; needs root).
    void fullDiskGivesClearErrorAndNothingVisible()
    {
        if (::geteuid() != 0)
            QSKIP("mounting a small tmpfs needs root");
        const fs::path mnt = dir() / "small";
        fs::create_directories(mnt);
        if (::mount("tmpfs", mnt.c_str(), "tmpfs", 0, "size=1m") != 0)
            QSKIP("cannot mount tmpfs here");
        struct Unmount {
            fs::path p;
            ~Unmount() { ::umount2(p.c_str(), MNT_DETACH); }
        } unmount{mnt};

        StoreOptions o;
        o.dataDir = mnt / "data";
        auto store = Store::open(o);
        QVERIFY2(store, store ? "" : store.error().message.c_str());
        const QByteArray big = randomBytes(600 * 1024, 41);
        writeFile(dir() / "big.bin", big);

        // The reservation passes; then something else on the device eats the
        // disk (a log, another program), and the write itself hits ENOSPC.
        auto w = BlobWriter::open((*store)->blobs(), (*store)->space(), digestOf(big), std::uint64_t(big.size()));
        QVERIFY2(w, w ? "" : w.error().message.c_str());
        QFile filler(QString::fromStdString((mnt / "filler").string()));
        QVERIFY(filler.open(QIODevice::WriteOnly));
        const QByteArray block(4096, 'x');
        while (filler.write(block) == block.size() && filler.flush()) {
        }
        filler.close();
        auto wrote = w->write(bytesOf(big));
        QVERIFY(!wrote);
        QCOMPARE(wrote.error().code, ErrorCode::DiskFull);
        QVERIFY2(wrote.error().message.find("No space") != std::string::npos, wrote.error().message.c_str());
        QCOMPARE(w->offset(), std::uint64_t(0));
        w->discard();
        QVERIFY(!*(*store)->blobs().contains(digestOf(big)));
        QVERIFY(!fs::exists((*store)->blobs().pathFor(digestOf(big))));

        // With the disk full, an import is refused up front with a clear reason.
        auto imported = importFile((*store)->blobs(), (*store)->space(), dir() / "big.bin");
        QVERIFY(!imported);
        QCOMPARE(imported.error().code, ErrorCode::NoSpace);
        QCOMPARE(filesIn(mnt / "data/tmp"), 0);
        QCOMPARE(filesIn(mnt / "data/blobs"), 0);
        fs::remove(mnt / "filler");

        // The store still works for what fits.
        const QByteArray small = randomBytes(1000, 42);
        QVERIFY(put(**store, small));
    }
};

QTEST_GUILESS_MAIN(TestBlobs)
#include "tst_blobs.moc"
