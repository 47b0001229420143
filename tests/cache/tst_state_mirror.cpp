// State that outlives its database (issue 15), at the store level: command
// ids, the time floor, the keys document and unsent plays come back after
// state.db was corrupted (bytes overwritten) or deleted; the mirror never
// lowers the floor; the play spool survives a torn line and stays bounded;
// the player's fallback store plays from the mirror while another process
// holds store.lock exclusively, and its plays reach the real database.
#include "cache/changes.h"
#include "cache/state_mirror.h"
#include "cache/store.h"
#include "store_fixtures.h"

#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

using namespace stoa::cache;
using namespace stoa::testing;
namespace fs = std::filesystem;

namespace {

// A region's play: the mirror keeps layout and region too.
PlayRecord play(const std::string &id)
{
    PlayRecord p = playRecord(id);
    p.layout = "menu";
    p.region = "side";
    return p;
}

std::set<std::string> playIds(Store &s)
{
    std::set<std::string> out;
    auto b = s.plays().batch(1 << 20);
    if (!b)
        qFatal("batch: %s", b.error().message.c_str());
    for (const auto &r : *b)
        out.insert(r.id);
    return out;
}

} // namespace

class TestStateMirror : public QObject {
    Q_OBJECT

    std::unique_ptr<QTemporaryDir> m_tmp;
    fs::path data() const { return fs::path(m_tmp->path().toStdString()) / "data"; }
    std::unique_ptr<Store> openStore() { return openStoreOrDie(data()); }

    // "corrupt": the first pages overwritten (no longer a database);
    // "deleted": state.db and its WAL/SHM gone.
    void loseDatabase(const QString &how)
    {
        if (how == "corrupt") {
            for (const char *f : {"state.db-wal", "state.db-shm"})
                fs::remove(data() / f);
            QFile f(QString::fromStdString((data() / "state.db").string()));
            QVERIFY(f.open(QIODevice::ReadWrite));
            QVERIFY(f.write(randomBytes(16 * 1024, 7)) == 16 * 1024);
        } else {
            for (const char *f : {"state.db", "state.db-wal", "state.db-shm"})
                fs::remove(data() / f);
        }
    }

    void losses()
    {
        QTest::addColumn<QString>("how");
        QTest::newRow("corrupt") << "corrupt";
        QTest::newRow("deleted") << "deleted";
    }

private slots:
    void init() { m_tmp = std::make_unique<QTemporaryDir>(); QVERIFY(m_tmp->isValid()); }

    void rememberedStateSurvivesALostDatabase_data() { losses(); }
    void rememberedStateSurvivesALostDatabase()
    {
        QFETCH(QString, how);
        {
            auto s = openStore();
            QCOMPARE(*s->commands().markExecuted("cmd-reboot", "reboot", "started"), true);
            QCOMPARE(*s->commands().handToPlayer("cmd-shot", "screenshot"), true);
            QCOMPARE(*s->kv().raise("time_floor_ms", 1'800'000'000'000), std::int64_t(1'800'000'000'000));
            QVERIFY(s->kv().set("keys.envelope", "keys-document-v7"));
            for (int i = 0; i < 5; ++i)
                QVERIFY(s->plays().append(play("p" + std::to_string(i))));
            auto sent = s->plays().batch(2);
            QVERIFY(sent && sent->size() == 2);
            QVERIFY(s->plays().acknowledge(sent->back().seq)); // p0, p1 uploaded
        }
        loseDatabase(how);
        auto s = openStore();
        const auto &r = s->recoveryReport();
        QCOMPARE(r.databaseRebuilt, how == "corrupt");
        QCOMPARE(r.commandsRestored, 2);
        QCOMPARE(r.playsRestored, 3);
        QCOMPARE(r.valuesRestored, 2);
        // No command runs twice: both ids are known, a second mark is refused.
        QCOMPARE(*s->commands().wasExecuted("cmd-reboot"), true);
        QCOMPARE(*s->commands().wasExecuted("cmd-shot"), true);
        QCOMPARE(*s->commands().markExecuted("cmd-reboot", "reboot", "started"), false);
        QCOMPARE(*s->commands().handToPlayer("cmd-shot", "screenshot"), false);
        QCOMPARE(**s->kv().getInt("time_floor_ms"), std::int64_t(1'800'000'000'000));
        QCOMPARE(**s->kv().get("keys.envelope"), std::string("keys-document-v7"));
        QCOMPARE(playIds(*s), (std::set<std::string>{"p2", "p3", "p4"}));
        auto back = s->plays().batch(10);
        QCOMPARE(back->front().layout, std::optional<std::string>("menu"));
        QCOMPARE(back->front().durationMs, std::int64_t(8000));

        // A second loss right after: the mirror was rewritten from the rebuilt database.
        s.reset();
        loseDatabase(how);
        s = openStore();
        QCOMPARE(playIds(*s), (std::set<std::string>{"p2", "p3", "p4"}));
        QCOMPARE(*s->commands().wasExecuted("cmd-reboot"), true);
    }

    // The mirror keeps the highest floor any process saved; a database
    // restored from an old copy (lower floor) is raised, never the reverse.
    void timeFloorIsNeverLowered()
    {
        {
            auto s = openStore();
            QVERIFY(s->kv().raise("time_floor_ms", 2'000));
            QVERIFY(s->kv().setInt("time_floor_ms", 1'000)); // a stale writer
        }
        QCOMPARE(**StateMirror(data()).readInt("time_floor_ms"), std::int64_t(2'000));
        {
            auto s = openStore(); // database 1000, mirror 2000
            QCOMPARE(**s->kv().getInt("time_floor_ms"), std::int64_t(2'000));
            QCOMPARE(s->recoveryReport().valuesRestored, 1);
            QVERIFY(s->kv().raise("time_floor_ms", 3'000));
        }
        QCOMPARE(**StateMirror(data()).readInt("time_floor_ms"), std::int64_t(3'000));
    }

    // The database ahead of the mirror (state written before this version,
    // or a failed mirror write): the mirror is rewritten from it at open.
    void mirrorCatchesUpWithTheDatabase()
    {
        {
            auto s = openStore();
            QVERIFY(s->commands().markExecuted("old-cmd", "reboot", "done"));
            QVERIFY(s->plays().append(play("old-play")));
            QVERIFY(s->kv().setInt("time_floor_ms", 5'000));
        }
        fs::remove_all(data() / "state");
        { auto s = openStore(); }
        StateMirror m(data());
        QVERIFY(m.commandIds()->contains("old-cmd"));
        QCOMPARE(m.readSpool()->live.size(), std::size_t(1));
        QCOMPARE(**m.readInt("time_floor_ms"), std::int64_t(5'000));
    }

    // A crash mid-append leaves a partial line: it is skipped, and the next
    // record still lands on a line of its own.
    void tornSpoolLineLosesNothingElse()
    {
        {
            auto s = openStore();
            QVERIFY(s->plays().append(play("a")));
        }
        {
            QFile f(QString::fromStdString((data() / "state/plays.spool").string()));
            QVERIFY(f.open(QIODevice::Append));
            f.write("{\"r\":{\"id\":\"torn\",\"playl");
        }
        {
            auto s = openStore();
            QVERIFY(s->plays().append(play("b")));
        }
        auto spool = StateMirror(data()).readSpool();
        QVERIFY(spool);
        QCOMPARE(spool->live.size(), std::size_t(2));
        QCOMPARE(spool->live[1].id, std::string("b"));
        loseDatabase("deleted");
        auto s = openStore();
        QCOMPARE(playIds(*s), (std::set<std::string>{"a", "b"}));
    }

    // The spool follows the play log's cap and is compacted as uploads are
    // acknowledged: its size stays within a fixed multiple of the cap.
    void spoolIsBounded()
    {
        StoreOptions o;
        o.dataDir = data();
        o.maxPlayRecords = 100;
        auto s = openStoreOrDie(o);
        std::int64_t largest = 0;
        int appended = 0;
        for (int round = 0; round < 25; ++round) {
            for (int i = 0; i < 50; ++i, ++appended) // live grows by 5 a round: the cap drops some too
                QVERIFY(s->plays().append(play("r" + std::to_string(round) + "-" + std::to_string(i))));
            auto sent = s->plays().batch(45);
            QVERIFY(s->plays().acknowledge(sent->back().seq));
            largest = std::max(largest, s->mirror().spoolBytes());
        }
        const std::int64_t recordBytes = std::int64_t(playToJson(play("r24-49")).size()) + 1;
        // At most the live records plus max(live, 1024) dead lines, each
        // dead line no longer than a record here; and it was compacted.
        QVERIFY2(largest <= (100 + 1024 + 50) * recordBytes, qPrintable(QString::number(largest) + " bytes"));
        QVERIFY(s->mirror().spoolBytes() < appended * recordBytes);
        auto spool = s->mirror().readSpool();
        QCOMPARE(std::int64_t(spool->live.size()), *s->plays().count());
    }

    // A failed mirror write fails the command (it does not run) and
    // records nothing: no id committed without its mirror copy.
    void commandIsNotRecordedWhenTheMirrorCannotBeWritten()
    {
        auto s = openStore();
        fs::remove_all(data() / "state");
        writeFile(data() / "state", "not a directory");
        auto r = s->commands().markExecuted("cmd-x", "reboot", "started");
        QVERIFY(!r);
        QCOMPARE(*s->commands().wasExecuted("cmd-x"), false);
        QVERIFY(!s->commands().handToPlayer("cmd-y", "screenshot"));
        QCOMPARE(*s->commands().wasExecuted("cmd-y"), false);
        fs::remove(data() / "state");
    }

    // The player's fallback: another process holds store.lock exclusively
    // (recovering). The fallback store opens at once with the mirrored
    // manifest and the blobs; its plays go to the spool; once the lock is
    // free the real store is adopted in place and has those plays.
    void fallbackPlaysFromTheMirrorWhileTheLockIsHeld()
    {
        const QByteArray bytes = randomBytes(40000, 11);
        const stoa::schedule::Digest digest = digestOf(bytes);
        {
            auto s = openStore();
            QVERIFY(putBlob(*s, bytes));
            QVERIFY(s->manifests().activate(StoredManifest{9, "envelope-v9", {digest}}));
            QVERIFY(s->kv().raise("time_floor_ms", 4'000));
            QVERIFY(s->plays().append(play("before")));
        }
        UniqueFd held(::open((data() / "store.lock").c_str(), O_RDWR | O_CLOEXEC));
        QVERIFY(held.valid());
        QCOMPARE(::flock(held.get(), LOCK_EX | LOCK_NB), 0);

        StoreOptions o;
        o.dataDir = data();
        o.whenBusy = WhenBusy::Fail;
        auto busy = Store::open(o);
        QVERIFY(!busy);
        QCOMPARE(busy.error().code, ErrorCode::Busy);

        o.whenBusy = WhenBusy::Fallback;
        auto fb = Store::open(o);
        QVERIFY2(fb, fb ? "" : fb.error().message.c_str());
        Store &store = **fb;
        QVERIFY(store.isFallback());
        QVERIFY(Store::fallbackActive(data()));
        auto active = store.manifests().get(Slot::Active);
        QVERIFY(active && *active);
        QCOMPARE((*active)->version, std::int64_t(9));
        QCOMPARE((*active)->envelope, std::string("envelope-v9"));
        auto path = store.blobs().find(digest);
        QVERIFY(path && *path);
        QCOMPARE(readFile(**path), bytes);
        QCOMPARE(**store.kv().getInt("time_floor_ms"), std::int64_t(4'000));
        // The watcher must not open state.db meanwhile; it waits.
        auto watcher = ChangeWatcher::open(data(), std::chrono::hours(1));
        QVERIFY(watcher);
        QSignalSpy changed(watcher->get(), &ChangeWatcher::activeManifestChanged);
        QVERIFY(!(*watcher)->poll());

        QVERIFY(store.plays().append(play("during")));
        QVERIFY(store.kv().raise("time_floor_ms", 6'000));

        // Still held: the retry fails without waiting.
        o.whenBusy = WhenBusy::Fail;
        QCOMPARE(Store::open(o).error().code, ErrorCode::Busy);
        held.reset(); // the other process is done
        auto real = Store::open(o);
        QVERIFY2(real, real ? "" : real.error().message.c_str());
        QVERIFY(!(*real)->isFallback());
        QVERIFY(store.plays().append(play("between"))); // after the real store's recovery read the spool
        QVERIFY(store.adopt(std::move(**real)));
        real->reset();
        QVERIFY(!store.isFallback());
        QVERIFY(!Store::fallbackActive(data()));
        QCOMPARE(playIds(store), (std::set<std::string>{"before", "during", "between"}));
        QCOMPARE(**store.kv().getInt("time_floor_ms"), std::int64_t(6'000));
        QCOMPARE((*store.manifests().get(Slot::Active))->version, std::int64_t(9));
        QVERIFY((*watcher)->poll());
        QCOMPARE(changed.size(), 1);
        // The store works as a normal one: an agent's acknowledgement lands.
        auto batch = store.plays().batch(10);
        QVERIFY(store.plays().acknowledge(batch->back().seq));
        QCOMPARE(*store.plays().count(), std::int64_t(0));
    }
};

QTEST_GUILESS_MAIN(TestStateMirror)
#include "tst_state_mirror.moc"
