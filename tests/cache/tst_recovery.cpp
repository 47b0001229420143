// Recovery at start and the scrubber: what a power cut, a rotting SD card or
// a clumsy hand can do to the data directory, and how the store comes back.
#include "cache/blob_writer.h"
#include "cache/scrub.h"
#include "cache/store.h"
#include "store_fixtures.h"

#include <QTemporaryDir>
#include <QTest>

#include <fcntl.h>
#include <unistd.h>

using namespace stoa::cache;
using namespace stoa::testing;
namespace fs = std::filesystem;

class TestRecovery : public QObject {
    Q_OBJECT

    std::unique_ptr<QTemporaryDir> m_tmp;
    fs::path data() const { return fs::path(m_tmp->path().toStdString()) / "data"; }

    std::unique_ptr<Store> openStore() { return openStoreOrDie(data()); }

    stoa::schedule::Digest put(Store &s, const QByteArray &bytes)
    {
        if (!putBlob(s, bytes))
            qFatal("put failed");
        return digestOf(bytes);
    }

    // Three blobs, an active manifest (version 3) needing two of them.
    std::vector<stoa::schedule::Digest> populate()
    {
        auto s = openStore();
        std::vector<stoa::schedule::Digest> digests;
        for (quint32 i = 0; i < 3; ++i)
            digests.push_back(put(*s, randomBytes(50000 + i, 100 + i)));
        if (!s->manifests().activate(StoredManifest{3, "signed-envelope-v3", {digests[0], digests[1]}}))
            qFatal("activate failed");
        return digests;
    }

    fs::path blobPath(const stoa::schedule::Digest &digest) const { return data() / "blobs/sha256" / digest.hex().substr(0, 2) / digest.hex(); }

    void checkManifestV3(Store &s)
    {
        auto active = s.manifests().get(Slot::Active);
        QVERIFY(active && *active);
        QCOMPARE((*active)->version, std::int64_t(3));
        QCOMPARE((*active)->envelope, std::string("signed-envelope-v3"));
        QCOMPARE((*active)->assets.size(), std::size_t(2));
        QCOMPARE(*s.manifests().rollbackFloor(), std::int64_t(3));
    }

private slots:
    void init() { m_tmp = std::make_unique<QTemporaryDir>(); QVERIFY(m_tmp->isValid()); }

    void cleanStartReportsNothingToDo()
    {
        populate();
        auto s = openStore();
        const auto &r = s->recoveryReport();
        QCOMPARE(r.databaseRebuilt, false);
        QCOMPARE(r.tempsRemoved + r.orphansIndexed + r.rowsDropped + r.badBlobsRemoved, 0);
        QCOMPARE(r.activeVersion, std::int64_t(3));
        QCOMPARE(r.activeAssetsMissing, 0);
    }

    void truncatedBlobIsRemoved()
    {
        const auto digests = populate();
        fs::resize_file(blobPath(digests[2]), 1000);
        auto s = openStore();
        QCOMPARE(s->recoveryReport().badBlobsRemoved, 1);
        QVERIFY(!*s->blobs().contains(digests[2]));
        QVERIFY(!fs::exists(blobPath(digests[2])));
        QVERIFY(*s->blobs().contains(digests[0]));
    }

    void deletedBlobLosesItsRowAndIsReportedMissing()
    {
        const auto digests = populate();
        fs::remove(blobPath(digests[0]));
        auto s = openStore();
        QCOMPARE(s->recoveryReport().rowsDropped, 1);
        QCOMPARE(s->recoveryReport().activeAssetsMissing, 1);
        QVERIFY(!*s->blobs().contains(digests[0]));
        checkManifestV3(*s); // the manifest stays: the agent fetches the blob again
    }

    void flippedByteIsCaughtByTheScrubber()
    {
        const auto digests = populate();
        {
            QFile f(QString::fromStdString(blobPath(digests[1]).string()));
            QVERIFY(f.open(QIODevice::ReadWrite));
            f.seek(20000);
            char c;
            QVERIFY(f.getChar(&c));
            f.seek(20000);
            QVERIFY(f.putChar(static_cast<char>(c ^ 0x40)));
        }
        auto s = openStore();
        QVERIFY(*s->blobs().contains(digests[1])); // same size: start-up cannot tell
        auto scrub = Scrubber::open(data(), {0, std::chrono::milliseconds(0)});
        QVERIFY(scrub);
        int bad = 0;
        for (int i = 0; i < 3; ++i) {
            auto out = (*scrub)->scrubNext();
            QVERIFY2(out, out ? "" : out.error().message.c_str());
            QVERIFY(*out);
            if (!(*out)->ok) {
                ++bad;
                QCOMPARE((*out)->digest, digests[1]);
            }
        }
        QCOMPARE(bad, 1);
        QCOMPARE((*scrub)->failures(), std::uint64_t(1));
        QVERIFY(!*s->blobs().contains(digests[1]));
        QVERIFY(!fs::exists(blobPath(digests[1])));
        QCOMPARE(**s->kv().getInt("scrub_failures"), std::int64_t(1));
        // The good ones were re-verified and stay.
        QVERIFY(*s->blobs().contains(digests[0]));
        QVERIFY(*s->blobs().contains(digests[2]));
    }

    void scrubberHashesNeverVerifiedBlobsFirst()
    {
        const auto digests = populate();
        // A blob file without a row (as after a crash between rename and insert).
        const QByteArray orphan = randomBytes(3000, 200);
        const stoa::schedule::Digest digest = digestOf(orphan);
        fs::create_directories(blobPath(digest).parent_path());
        writeFile(blobPath(digest), orphan);
        auto s = openStore();
        QCOMPARE(s->recoveryReport().orphansIndexed, 1);
        QVERIFY(*s->blobs().contains(digest));
        auto scrub = Scrubber::open(data(), {0, std::chrono::milliseconds(0)});
        auto first = (*scrub)->scrubNext();
        QVERIFY(first && *first);
        QCOMPARE((*first)->digest, digest);
        QVERIFY((*first)->ok);
    }

    void scrubberThreadVerifiesEverythingAndStops()
    {
        const auto digests = populate();
        auto scrub = Scrubber::open(data(), {64u << 20, std::chrono::minutes(10)});
        QVERIFY(scrub);
        (*scrub)->start();
        QTRY_COMPARE_WITH_TIMEOUT((*scrub)->blobsChecked(), std::uint64_t(3), 10000);
        (*scrub)->stop(); // returns although the thread is in its 10-minute rest
        QCOMPARE((*scrub)->failures(), std::uint64_t(0));
        QCOMPARE((*scrub)->bytesHashed(), std::uint64_t(50000 + 50001 + 50002));
    }

    void strayFilesUnderBlobsAreRemoved()
    {
        const auto digests = populate();
        fs::create_directories(data() / "blobs/sha256/ab");
        writeFile(data() / "blobs/sha256/ab/not-a-hash", "x");
        const std::string wrongShardName = "ff" + digests[0].hex().substr(2);
        writeFile(data() / "blobs/sha256" / digests[0].hex().substr(0, 2) / wrongShardName, "x"); // hex of another shard
        auto s = openStore();
        QCOMPARE(s->recoveryReport().badBlobsRemoved, 2);
        QVERIFY(!fs::exists(data() / "blobs/sha256/ab/not-a-hash"));
        QVERIFY(!fs::exists(data() / "blobs/sha256" / digests[0].hex().substr(0, 2) / wrongShardName));
    }

    void tempsAreCleanedButNeededPartialsKept()
    {
        populate();
        const QByteArray wanted = randomBytes(10000, 300);
        const QByteArray unwanted = randomBytes(10000, 301);
        const QByteArray busy = randomBytes(10000, 302);
        std::optional<BlobWriter> live;
        {
            auto s = openStore();
            QVERIFY(s->manifests().stage(StoredManifest{4, "v4", {digestOf(wanted), digestOf(busy)}}));
            auto w = BlobWriter::open(s->blobs(), s->space(), digestOf(wanted), 10000);
            QVERIFY(w->write(bytesOf(wanted.left(5000))));
        }
        // A writer in "another process" is mid-download of a pinned blob:
        // its partial is locked and must survive recovery untouched. (This
        // store stays open, so the one below recovers under a shared lock.)
        StoreOptions o;
        o.dataDir = data();
        auto other = Store::open(o);
        QVERIFY(other);
        live.emplace(*BlobWriter::open((*other)->blobs(), (*other)->space(), digestOf(busy), 10000));
        QVERIFY(live->write(bytesOf(busy.left(100))));

        const fs::path tmp = data() / "tmp";
        writeFile(tmp / "import-abc123", "half an import");
        writeFile(tmp / (digestOf(unwanted).hex() + ".10000.part"), unwanted.left(3000)); // nobody pins it
        writeFile(tmp / (digestOf(wanted).hex() + ".9999.part"), wanted.left(20));        // a shorter twin
        writeFile(tmp / "garbage", "?");

        auto s = openStore();
        const auto &r = s->recoveryReport();
        QCOMPARE(r.partialsKept, 2);   // the resumable one and the live one
        QCOMPARE(r.tempsRemoved, 4);
        QVERIFY(fs::exists(tmp / (digestOf(wanted).hex() + ".10000.part")));
        QVERIFY(fs::exists(tmp / (digestOf(busy).hex() + ".10000.part")));
        QVERIFY(!fs::exists(tmp / "import-abc123"));
        QVERIFY(!fs::exists(tmp / "garbage"));
        auto resumed = BlobWriter::open(s->blobs(), s->space(), digestOf(wanted), 10000);
        QVERIFY(resumed);
        QCOMPARE(resumed->offset(), std::uint64_t(5000));
    }

    void garbageDatabaseIsMovedAsideAndRebuilt()
    {
        const auto digests = populate();
        for (const char *f : {"state.db-wal", "state.db-shm"})
            fs::remove(data() / f);
        writeFile(data() / "state.db", randomBytes(64 * 1024, 400));
        auto s = openStore();
        const auto &r = s->recoveryReport();
        QVERIFY(r.databaseRebuilt);
        QVERIFY(fs::exists(r.databaseMovedTo));
        QCOMPARE(readFile(r.databaseMovedTo).size(), qsizetype(64 * 1024));
        QCOMPARE(r.orphansIndexed, 3);
        QVERIFY(r.manifestRestored);
        checkManifestV3(*s);
        for (const auto &digest : digests)
            QVERIFY(*s->blobs().contains(digest));
        QCOMPARE(*s->db().integrityCheck(), std::string("ok"));
        // And the rollback floor still holds after the rebuild.
        QCOMPARE(s->manifests().stage(StoredManifest{2, "old", {}}).error().code, ErrorCode::Rollback);
    }

    void corruptPagesFailIntegrityCheckAndAreRebuilt()
    {
        {
            const auto digests = populate();
            auto s = openStore();
            for (int i = 0; i < 2000; ++i) {
                PlayRecord p;
                p.id = "p" + std::to_string(i);
                p.playlist = std::string(200, 'x');
                p.startedAt = "2026-11-25T10:00:00Z";
                QVERIFY(s->plays().append(p));
            }
        } // the last connection closing checkpoints the WAL into state.db
        QVERIFY(!fs::exists(data() / "state.db-wal") || fs::file_size(data() / "state.db-wal") == 0);
        const auto size = fs::file_size(data() / "state.db");
        QVERIFY(size > 200 * 1024);
        {
            // Scribble over interior pages, as a dying SD card would.
            QFile f(QString::fromStdString((data() / "state.db").string()));
            QVERIFY(f.open(QIODevice::ReadWrite));
            for (qint64 page = 3; page * 4096 < qint64(size); page += 7) {
                f.seek(page * 4096 + 8);
                f.write(randomBytes(512, quint32(page)));
            }
        }
        auto s = openStore();
        QVERIFY(s->recoveryReport().databaseRebuilt);
        checkManifestV3(*s);
        QCOMPARE(*s->db().integrityCheck(), std::string("ok"));
    }

    void deletedDatabaseIsRebuiltFromDisk()
    {
        const auto digests = populate();
        for (const char *f : {"state.db", "state.db-wal", "state.db-shm"})
            fs::remove(data() / f);
        auto s = openStore();
        const auto &r = s->recoveryReport();
        QCOMPARE(r.orphansIndexed, 3);
        QVERIFY(r.manifestRestored);
        QCOMPARE(r.activeAssetsMissing, 0);
        checkManifestV3(*s);
    }

    // v1.1 §11 fast-forward recovery as the store keeps it: an attacker's
    // huge version is active, a keys document (version 5) resets the floor
    // to 3. The reset survives a restart and a rebuilt database although
    // the manifest above it is still the active one, and the same keys
    // document adopted again never lowers the floor a second time.
    void floorResetSurvivesRestartAndRebuildAndAppliesOnce()
    {
        constexpr std::int64_t kHuge = std::int64_t(1) << 62;
        populate(); // version 3 active
        {
            auto s = openStore();
            QVERIFY(s->manifests().activate(StoredManifest{kHuge, "attacker", {}}));
            auto reset = s->manifests().resetFloor(3, 5);
            QVERIFY(reset);
            QVERIFY(reset->applied);
            QCOMPARE(reset->before, kHuge);
            QCOMPARE(reset->after, std::int64_t(3));
            QCOMPARE(*s->manifests().rollbackFloor(), std::int64_t(3));
            QCOMPARE((*s->manifests().get(Slot::Active))->version, kHuge); // it keeps playing
        }
        auto checkReset = [&](Store &s) {
            QCOMPARE(*s.manifests().rollbackFloor(), std::int64_t(3));
            QCOMPARE(s.manifests().floorRecord()->resetKeysVersion.value_or(-1), std::int64_t(5));
            QCOMPARE((*s.manifests().get(Slot::Active))->version, kHuge);
        };
        {
            auto s = openStore();
            checkReset(*s);
        }
        for (const char *f : {"state.db", "state.db-wal", "state.db-shm"})
            fs::remove(data() / f);
        {
            auto s = openStore();
            QVERIFY(s->recoveryReport().manifestRestored);
            checkReset(*s);
            // The operator's next manifest is above the floor: adopted.
            QVERIFY(s->manifests().activate(StoredManifest{4, "operator-v4", {}}));
            QVERIFY(s->manifests().activate(StoredManifest{5, "operator-v5", {}}));
            // The same keys document again (its copy in state.db lost): no
            // second reset, so a replay of v4 stays refused.
            auto again = s->manifests().resetFloor(3, 5);
            QVERIFY(again);
            QVERIFY(!again->applied);
            QCOMPARE(*s->manifests().rollbackFloor(), std::int64_t(5));
            QCOMPARE(s->manifests().stage(StoredManifest{4, "operator-v4", {}}).error().code, ErrorCode::Rollback);
            // An older keys document cannot either; a newer one only lowers.
            QVERIFY(!s->manifests().resetFloor(0, 4)->applied);
            QCOMPARE(s->manifests().resetFloor(9, 6)->after, std::int64_t(5));
        }
        for (const char *f : {"state.db", "state.db-wal", "state.db-shm"})
            fs::remove(data() / f);
        auto s = openStore();
        QCOMPARE(*s->manifests().rollbackFloor(), std::int64_t(5));
        QCOMPARE(s->manifests().floorRecord()->resetKeysVersion.value_or(-1), std::int64_t(6));
        QCOMPARE((*s->manifests().get(Slot::Active))->envelope, std::string("operator-v5"));
    }

    // A crash between the reset's commit and its mirror write: the database
    // is the later state and recovery must not take the floor back up from
    // the stale mirror.
    void resetNotYetMirroredIsKept()
    {
        constexpr std::int64_t kHuge = std::int64_t(1) << 62;
        const QByteArray preReset = QByteArray::number(qint64(kHuge)) + "\n";
        {
            auto s = openStore();
            QVERIFY(s->manifests().activate(StoredManifest{kHuge, "attacker", {}}));
            QCOMPARE(readFile(data() / "manifests/floor"), preReset);
            QVERIFY(s->manifests().resetFloor(0, 2));
            QCOMPARE(readFile(data() / "manifests/floor"), QByteArray("0\nreset_by_keys_version 2\n"));
        }
        writeFile(data() / "manifests/floor", preReset);
        {
            auto s = openStore();
            QCOMPARE(*s->manifests().rollbackFloor(), std::int64_t(0));
        }
        QCOMPARE(readFile(data() / "manifests/floor"), QByteArray("0\nreset_by_keys_version 2\n"));
        // A damaged reset line is reported, not read as "no reset".
        writeFile(data() / "manifests/floor", "0\nreset_by_keys_version x\n");
        QCOMPARE(ManifestStore::readMirroredFloor(data()).error().code, ErrorCode::Corrupt);
    }

    void corruptMirrorDoesNotStopTheStore()
    {
        populate();
        writeFile(data() / "manifests/active.json", "{not json");
        auto s = openStore();
        checkManifestV3(*s); // the database is fine and wins
        auto mirror = ManifestStore::readMirror(data());
        QVERIFY(mirror && *mirror); // and the mirror was rewritten from it
        QCOMPARE((*mirror)->version, std::int64_t(3));
    }
};

QTEST_GUILESS_MAIN(TestRecovery)
#include "tst_recovery.moc"
