// state.db: settings, migrations, manifests and the rollback floor, small
// state, the play log, command ids, and two processes at once.
#include "cache/blob_writer.h"
#include "cache/changes.h"
#include "cache/store.h"
#include "store_fixtures.h"

#include <QProcess>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>

#include <sqlite3.h>

using namespace stoa::cache;
using namespace stoa::testing;
namespace fs = std::filesystem;

class TestState : public QObject {
    Q_OBJECT

    std::unique_ptr<QTemporaryDir> m_tmp;
    fs::path data() const { return fs::path(m_tmp->path().toStdString()) / "data"; }

    std::unique_ptr<Store> openStore(std::int64_t maxPlays = PlayLog::kDefaultMaxRecords)
    {
        StoreOptions o;
        o.dataDir = data();
        o.maxPlayRecords = maxPlays;
        return openStoreOrDie(o);
    }

    stoa::schedule::Digest put(Store &s, const QByteArray &bytes)
    {
        if (!putBlob(s, bytes))
            qFatal("put failed");
        return digestOf(bytes);
    }

    std::string pragma(Database &db, const char *sql)
    {
        auto st = db.prepare(sql);
        if (!st || !st->step())
            return "?";
        return st->columnText(0);
    }

private slots:
    void init() { m_tmp = std::make_unique<QTemporaryDir>(); QVERIFY(m_tmp->isValid()); }

    void databaseUsesWalFullSyncAndCurrentSchema()
    {
        auto s = openStore();
        QCOMPARE(pragma(s->db(), "PRAGMA journal_mode"), std::string("wal"));
        QCOMPARE(pragma(s->db(), "PRAGMA synchronous"), std::string("2")); // FULL
        QCOMPARE(pragma(s->db(), "PRAGMA user_version"), std::to_string(Database::kSchemaVersion));
        QCOMPARE(pragma(s->db(), "PRAGMA busy_timeout"), std::to_string(Database::kBusyTimeoutMs));
    }

    void newerSchemaIsRefusedNotClobbered()
    {
        { auto s = openStore(); QVERIFY(s->db().exec("PRAGMA user_version=99")); }
        StoreOptions o;
        o.dataDir = data();
        auto s = Store::open(o);
        QVERIFY(!s);
        QVERIFY2(s.error().message.find("newer") != std::string::npos, s.error().message.c_str());
    }

    void stageThenActivateIsAllOrNothing()
    {
        auto s = openStore();
        const auto a = put(*s, randomBytes(100, 1));
        const auto missing = digestOf(randomBytes(100, 2));
        QVERIFY(s->manifests().stage(StoredManifest{5, "v5", {a, missing}}));
        auto act = s->manifests().activateStaged();
        QVERIFY(!act);
        QCOMPARE(act.error().code, ErrorCode::NotFound);
        QVERIFY(!*s->manifests().get(Slot::Active)); // nothing became active
        QCOMPARE(*s->manifests().rollbackFloor(), std::int64_t(0));

        put(*s, randomBytes(100, 2));
        QVERIFY(s->manifests().activateStaged());
        auto active = s->manifests().get(Slot::Active);
        QVERIFY(active && *active);
        QCOMPARE((*active)->version, std::int64_t(5));
        QCOMPARE((*active)->envelope, std::string("v5"));
        QCOMPARE((*active)->assets.size(), std::size_t(2));
        QVERIFY(!*s->manifests().get(Slot::Staged));
        QCOMPARE(*s->manifests().rollbackFloor(), std::int64_t(5));
    }

    void oldPlaysOnWhileNewIsStaged()
    {
        auto s = openStore();
        const auto a = put(*s, randomBytes(100, 3));
        QVERIFY(s->manifests().activate(StoredManifest{1, "v1", {a}}));
        QVERIFY(s->manifests().stage(StoredManifest{2, "v2", {digestOf(randomBytes(100, 4))}}));
        QCOMPARE((*s->manifests().get(Slot::Active))->version, std::int64_t(1));
        QCOMPARE((*s->manifests().get(Slot::Staged))->version, std::int64_t(2));
    }

    void rollbackFloorRefusesOldVersionsAndSurvivesRestart()
    {
        {
            auto s = openStore();
            QVERIFY(s->manifests().activate(StoredManifest{42, "v42", {}}));
        }
        auto s = openStore();
        QCOMPARE(*s->manifests().rollbackFloor(), std::int64_t(42));
        for (std::int64_t v : {41, 42}) {
            auto r = s->manifests().stage(StoredManifest{v, "old", {}});
            QVERIFY(!r);
            QCOMPARE(r.error().code, ErrorCode::Rollback);
        }
        QCOMPARE(s->manifests().stage(StoredManifest{41, "old", {}}).error().message,
                 std::string("version 41 is not newer than adopted 42"));
        QVERIFY(s->manifests().stage(StoredManifest{43, "new", {}}));
    }

    void floorSurvivesWipingTheAssets()
    {
        {
            auto s = openStore();
            const auto a = put(*s, randomBytes(100, 5));
            QVERIFY(s->manifests().activate(StoredManifest{7, "v7", {a}}));
        }
        fs::remove_all(data() / "blobs");
        auto s = openStore();
        QCOMPARE(*s->manifests().rollbackFloor(), std::int64_t(7));
        QCOMPARE(s->recoveryReport().rowsDropped, 1);
        QCOMPARE(s->recoveryReport().activeAssetsMissing, 1);
    }

    void generationCountsActivations()
    {
        auto s = openStore();
        QCOMPARE(*s->manifests().generation(), std::int64_t(0));
        QVERIFY(s->manifests().activate(StoredManifest{1, "a", {}}));
        QVERIFY(s->manifests().activate(StoredManifest{2, "b", {}}));
        QCOMPARE(*s->manifests().generation(), std::int64_t(2));
    }

    void keyValueStoresBytesAndCounters()
    {
        auto s = openStore();
        QVERIFY(!*s->kv().get("time_floor"));
        const std::string binary("a\0b\xff", 4);
        QVERIFY(s->kv().set("blob", binary));
        QCOMPARE(**s->kv().get("blob"), binary);
        QVERIFY(s->kv().setInt("time_floor", 1764064800000));
        QCOMPARE(**s->kv().getInt("time_floor"), std::int64_t(1764064800000));
        QCOMPARE(*s->kv().add("n", 5), std::int64_t(5));
        QCOMPARE(*s->kv().add("n", -2), std::int64_t(3));
        QVERIFY(s->kv().remove("n"));
        QVERIFY(!*s->kv().getInt("n"));
    }

    void playLogBatchesInOrderAndAcknowledges()
    {
        auto s = openStore();
        for (int i = 0; i < 10; ++i)
            QVERIFY(s->plays().append(playRecord("p" + std::to_string(i))));
        QVERIFY(s->plays().append(playRecord("p3"))); // same id again: not a second record
        auto batch = s->plays().batch(4);
        QVERIFY(batch);
        QCOMPARE(batch->size(), std::size_t(4));
        QCOMPARE(batch->front().id, std::string("p0"));
        QCOMPARE(batch->back().id, std::string("p3"));
        QCOMPARE(*batch->front().asset, "sha256:" + std::string(64, 'a'));
        QVERIFY(!batch->front().url);
        QVERIFY(s->plays().acknowledge(batch->back().seq));
        QCOMPARE(*s->plays().count(), std::int64_t(6));
        QCOMPARE(s->plays().batch(1)->front().id, std::string("p4"));
    }

    void playLogIsCappedOldestFirstAndCountsDrops()
    {
        auto s = openStore(5);
        for (int i = 0; i < 8; ++i)
            QVERIFY(s->plays().append(playRecord("p" + std::to_string(i))));
        QCOMPARE(*s->plays().count(), std::int64_t(5));
        QCOMPARE(*s->plays().dropped(), std::int64_t(3));
        QCOMPARE(s->plays().batch(1)->front().id, std::string("p3"));
    }

    void commandsRunOnceEver()
    {
        {
            auto s = openStore();
            QVERIFY(!*s->commands().wasExecuted("cmd-7"));
            QCOMPARE(*s->commands().markExecuted("cmd-7", "screenshot", "ok"), true);
            QCOMPARE(*s->commands().markExecuted("cmd-7", "screenshot", "ok"), false);
        }
        auto s = openStore();
        QVERIFY(*s->commands().wasExecuted("cmd-7"));
    }

    void changeWatcherSeesActivationFromAnotherConnection()
    {
        auto s = openStore();
        auto w = ChangeWatcher::open(data(), std::chrono::milliseconds(50));
        QVERIFY(w);
        QSignalSpy spy((*w).get(), &ChangeWatcher::activeManifestChanged);
        QVERIFY(!(*w)->poll()); // nothing happened yet
        QVERIFY(s->kv().setInt("unrelated", 1));
        QVERIFY((*w)->poll());
        QCOMPARE(spy.count(), 0); // a commit, but not a new manifest
        QVERIFY(s->manifests().activate(StoredManifest{1, "a", {}}));
        QVERIFY(spy.wait(2000)); // by the watcher's own timer
        QCOMPARE(spy.first().first().toLongLong(), 1LL);
    }

    // The player (this process) reads and logs plays while the agent (a
    // child process) activates manifests and logs plays too.
    void twoProcessesUseTheStoreAtOnce()
    {
        auto s = openStore();
        auto w = ChangeWatcher::open(data(), std::chrono::milliseconds(50));
        QVERIFY(w);
        QSignalSpy spy((*w).get(), &ChangeWatcher::activeManifestChanged);

        QProcess child;
        child.setProcessChannelMode(QProcess::ForwardedErrorChannel);
        child.start(STOA_STORE_CHILD, {"writer", QString::fromStdString(data().string()), "40"});
        QVERIFY(child.waitForStarted());
        int ours = 0;
        std::int64_t lastSeen = 0;
        while (child.state() != QProcess::NotRunning || ours < 50) {
            // Our own writes interleave with the child's; busy_timeout absorbs the contention.
            auto added = s->plays().append(playRecord("parent-" + std::to_string(ours++)));
            QVERIFY2(added, added ? "" : added.error().message.c_str());
            auto active = s->manifests().get(Slot::Active);
            QVERIFY2(active, active ? "" : active.error().message.c_str());
            if (*active) {
                // What we read is always a whole activation: version, envelope and pins agree.
                QCOMPARE((*active)->envelope, "envelope-" + std::to_string((*active)->version));
                QVERIFY((*active)->version >= lastSeen);
                lastSeen = (*active)->version;
                for (const auto &digest : (*active)->assets)
                    QVERIFY(*s->blobs().contains(digest));
            }
            child.waitForFinished(5);
        }
        QCOMPARE(child.exitStatus(), QProcess::NormalExit);
        QCOMPARE(child.exitCode(), 0);
        QCOMPARE((*s->manifests().get(Slot::Active))->version, std::int64_t(40));
        QCOMPARE(*s->plays().count(), std::int64_t(40 + ours));
        QCOMPARE(*s->db().integrityCheck(), std::string("ok"));
        QTRY_VERIFY_WITH_TIMEOUT(!spy.isEmpty() && spy.last().first().toLongLong() == 40, 2000);
    }
};

QTEST_GUILESS_MAIN(TestState)
#include "tst_state.moc"
