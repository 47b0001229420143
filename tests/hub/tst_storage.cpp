// The storage suite: the same behaviour asked of both backends (backends.h).
#include "backends.h"

#include "hub/credentials.h"
#include "hub/device_tokens.h"
#include "hub/storage.h"

#include <QFile>
#include <QTemporaryDir>
#include <QTest>

#include <libpq-fe.h>
#include <sqlite3.h>

#include <thread>

using namespace stoa::hub;
using namespace stoa::hub::test;

namespace {

// The storage as the tests use it; a storage that does not open ends the run.
std::unique_ptr<Storage> openOrDie(const std::string &url, const std::string &path)
{
    auto storage = openStorage(url, path);
    if (!storage)
        qFatal("openStorage: %s", storage.error().message.c_str());
    return std::move(*storage);
}

// Runs SQL on the test's database with the backend's own client, behind the
// storage's back (to take the schema back to what an older hub left):
// `postgresSql` on PostgreSQL at `url`, else `sqliteSql` on PATH/hub.db.
bool execBehindTheStorage(const std::string &url, const std::string &path, const char *postgresSql,
                          const char *sqliteSql)
{
    if (Backends::postgres()) {
        PGconn *conn = PQconnectdb(url.c_str());
        PGresult *r = PQstatus(conn) == CONNECTION_OK ? PQexec(conn, postgresSql) : nullptr;
        const bool ok = r && PQresultStatus(r) == PGRES_COMMAND_OK;
        if (!ok)
            qWarning("PostgreSQL: %s", PQerrorMessage(conn));
        PQclear(r);
        PQfinish(conn);
        return ok;
    }
    sqlite3 *conn = nullptr;
    int rc = sqlite3_open((path + "/hub.db").c_str(), &conn);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(conn, sqliteSql, nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK)
        qWarning("SQLite: %s", sqlite3_errmsg(conn));
    sqlite3_close(conn);
    return rc == SQLITE_OK;
}

} // namespace

class StorageTest : public QObject {
    Q_OBJECT
    Backends backends;
    std::unique_ptr<QTemporaryDir> dir;
    std::unique_ptr<Storage> db;

    static StatusReport status(const std::string &id, std::int64_t at, std::optional<std::int64_t> version)
    {
        return {id, at, version, "{\"device_id\":\"" + id + "\",\"t\":" + std::to_string(at) + "}"};
    }
    static PlayRecord play(const std::string &device, const std::string &id, std::int64_t at)
    {
        return {device, id, at, "{\"id\":\"" + id + "\"}"};
    }
    // A copy of the device `id` of the list the storage gives now (an
    // empty summary, id "", when it is missing).
    DeviceSummary find(const std::string &id)
    {
        const auto list = db->devices();
        if (list)
            for (const auto &d : *list)
                if (d.id == id)
                    return d;
        return {};
    }

private slots:
    void initTestCase()
    {
        if (auto why = backends.init())
            QFAIL(why->c_str()); // CI installs the server: its absence is a failure, not a skip
        qInfo("backend: %s", Backends::postgres() ? "postgres" : "sqlite");
    }
    void init()
    {
        dir = std::make_unique<QTemporaryDir>();
        db = backends.fresh(*dir);
    }
    void cleanup()
    {
        db.reset();
        dir.reset();
    }

    void migrateIsIdempotent()
    {
        QVERIFY(db->migrate().has_value());
        QVERIFY(db->migrate().has_value());
        QVERIFY(db->ping().has_value());
        QCOMPARE(*db->deviceCount(), 0);
    }

    // Schema version 6 seeds the online stretches from the heartbeats a
    // version 5 database keeps (the default window, 3 min), once. The
    // database is taken back to version 5 with the backend's own client.
    void upgradeToVersion6SeedsOnlineStretches()
    {
        db.reset();
        const std::string url = backends.freshUrl(), path = dir->path().toStdString();
        db = openOrDie(url, path);
        QVERIFY(db->migrate().has_value());
        const std::int64_t t = 1'000'000'000, minute = 60000;
        IngestBatch b;
        b.statuses = {status("pi-1", t, 1), status("pi-1", t + minute, 1), status("pi-1", t + 10 * minute, 1),
                      status("pi-2", t, 1)};
        QVERIFY(db->ingest(b).has_value());
        db.reset();

        QVERIFY(execBehindTheStorage(url, path,
                                     "DROP TABLE online_stretches; "
                                     "DROP FUNCTION stoa_extend_online(text[], bigint[], bigint); "
                                     "ALTER TABLE devices DROP COLUMN last_status_seq; "
                                     "DELETE FROM hub_schema WHERE version >= 6",
                                     "DROP TABLE online_stretches; ALTER TABLE devices DROP COLUMN online_stretch; "
                                     "PRAGMA user_version=5"));

        db = openOrDie(url, path);
        QVERIFY(db->migrate().has_value());
        QVERIFY(db->migrate().has_value());
        const auto one = *db->onlineStretches("pi-1", 0);
        QCOMPARE(one.recordedFromMs, std::optional<std::int64_t>(t));
        QCOMPARE(one.stretches.size(), std::size_t{2});
        QCOMPARE(one.stretches[0].fromMs, t);
        QCOMPARE(one.stretches[0].toMs, t + minute);
        QCOMPARE(one.stretches[1].fromMs, t + 10 * minute);
        QCOMPARE(one.stretches[1].toMs, t + 10 * minute);
        QCOMPARE(db->onlineStretches("pi-2", 0)->stretches.size(), std::size_t{1});
        // And ingest keeps them from there.
        IngestBatch next;
        next.statuses = {status("pi-1", t + 12 * minute, 1)};
        QVERIFY(db->ingest(next).has_value());
        QCOMPARE(db->onlineStretches("pi-1", 0)->stretches[1].toMs, t + 12 * minute);
    }

    // Schema version 7 (PostgreSQL: the latest status by reference;
    // SQLite: the open online stretch by reference) keeps what a version 6
    // database answers: the latest status, its history and the stretches.
    void upgradeToVersion7KeepsTheLatestStatus()
    {
        db.reset();
        const std::string url = backends.freshUrl(), path = dir->path().toStdString();
        db = openOrDie(url, path);
        QVERIFY(db->migrate().has_value());
        const std::int64_t t = 1'000'000'000, minute = 60000;
        QVERIFY(db->addDevice("pi-1", "h1", 0).has_value());
        QVERIFY(db->addDevice("pi-2", "h2", 0).has_value());
        IngestBatch b;
        b.statuses = {status("pi-1", t, 1), status("pi-1", t + minute, 2), status("pi-2", t, 3)};
        QVERIFY(db->ingest(b).has_value());
        db.reset();

        QVERIFY(execBehindTheStorage(url, path,
                                     "UPDATE devices SET last_status = s.body FROM statuses s "
                                     "WHERE s.seq = devices.last_status_seq; "
                                     "ALTER TABLE devices DROP COLUMN last_status_seq; "
                                     "DELETE FROM hub_schema WHERE version = 7",
                                     "ALTER TABLE devices DROP COLUMN online_stretch; PRAGMA user_version=6"));

        db = openOrDie(url, path);
        QVERIFY(db->migrate().has_value());
        QVERIFY(db->migrate().has_value());
        const auto latest = *db->latestStatus("pi-1");
        QVERIFY(latest.has_value());
        QCOMPARE(latest->receivedAtMs, t + minute);
        QCOMPARE(latest->manifestVersion, std::optional<std::int64_t>(2));
        QCOMPARE(latest->body, status("pi-1", t + minute, 2).body);
        QCOMPARE((*db->latestStatus("pi-2"))->manifestVersion, std::optional<std::int64_t>(3));
        QCOMPARE(db->statusHistory("pi-1", 10)->size(), std::size_t{2});
        // And ingest goes on from there.
        IngestBatch next;
        next.statuses = {status("pi-1", t + 2 * minute, 4)};
        QVERIFY(db->ingest(next).has_value());
        QCOMPARE((*db->latestStatus("pi-1"))->manifestVersion, std::optional<std::int64_t>(4));
        const auto online = *db->onlineStretches("pi-1", 0);
        QCOMPARE(online.stretches.size(), std::size_t{1});
        QCOMPARE(online.stretches[0].fromMs, t);
        QCOMPARE(online.stretches[0].toMs, t + 2 * minute);
    }

    void devicesAndTokens()
    {
        QVERIFY(db->addDevice("pi-1", "hash-1", 1000).has_value());
        QVERIFY(db->addDevice("pi-2", "hash-2", 1000).has_value());
        const auto again = db->addDevice("pi-1", "hash-x", 1000);
        QVERIFY(!again);
        QCOMPARE(again.error().code, StorageError::Code::Conflict);
        // The same token hash for two devices is refused too.
        QVERIFY(!db->addDevice("pi-3", "hash-1", 1000));

        QCOMPARE(*db->deviceForToken("hash-1"), std::optional<std::string>("pi-1"));
        QCOMPARE(*db->deviceForToken("hash-2"), std::optional<std::string>("pi-2"));
        QVERIFY(!db->deviceForToken("nope")->has_value());
        QVERIFY(*db->deviceExists("pi-1"));
        QVERIFY(!*db->deviceExists("pi-9"));

        QVERIFY(db->revokeDevice("pi-1").has_value());
        QVERIFY(!db->deviceForToken("hash-1")->has_value());
        QCOMPARE(db->revokeDevice("pi-9").error().code, StorageError::Code::NotFound);

        // A new token un-revokes, and the old one stays dead.
        QVERIFY(db->setDeviceToken("pi-1", "hash-1b").has_value());
        QCOMPARE(*db->deviceForToken("hash-1b"), std::optional<std::string>("pi-1"));
        QVERIFY(!db->deviceForToken("hash-1")->has_value());
        QCOMPARE(db->setDeviceToken("pi-9", "h").error().code, StorageError::Code::NotFound);

        const auto list = *db->devices();
        QCOMPARE(list.size(), std::size_t{2});
        QCOMPARE(list[0].id, std::string("pi-1")); // by id
        QVERIFY(!list[0].revoked);
        QVERIFY(!list[0].lastSeenAtMs);
        QCOMPARE(*db->deviceCount(), 2);
    }

    void credentialVersionsFollowEveryChange()
    {
        const auto none = db->credentialsSince(-1);
        QVERIFY(none.has_value());
        QVERIFY(none->empty());
        QVERIFY(db->addDevice("pi-1", "hash-1", 1000).has_value());
        QVERIFY(db->addDevice("pi-2", "hash-2", 1000).has_value());
        const auto all = *db->credentialsSince(-1);
        QCOMPARE(all.size(), std::size_t{2});
        QCOMPARE(all[0].deviceId, std::string("pi-1"));
        QCOMPARE(all[0].tokenHash, std::string("hash-1"));
        QVERIFY(all[0].version < all[1].version); // in order
        const std::int64_t seen = all[1].version;
        QVERIFY(db->credentialsSince(seen)->empty());

        // Revoking, a new token and a new device each come after `seen`;
        // a failed change (no such device) takes no version.
        QVERIFY(db->revokeDevice("pi-1").has_value());
        QVERIFY(!db->revokeDevice("pi-9"));
        QVERIFY(db->setDeviceToken("pi-2", "hash-2b").has_value());
        QVERIFY(db->addDevice("pi-3", "hash-3", 1000).has_value());
        const auto after = *db->credentialsSince(seen);
        QCOMPARE(after.size(), std::size_t{3});
        QCOMPARE(after[0].deviceId, std::string("pi-1"));
        QVERIFY(after[0].revoked);
        QCOMPARE(after[1].deviceId, std::string("pi-2"));
        QCOMPARE(after[1].tokenHash, std::string("hash-2b"));
        QVERIFY(!after[1].revoked);
        QCOMPARE(after[2].deviceId, std::string("pi-3"));
        QVERIFY(after[0].version < after[1].version && after[1].version < after[2].version);
        // Heartbeats, groups and tags are not credential changes.
        IngestBatch batch;
        batch.statuses.push_back(status("pi-2", 5000, 1));
        QVERIFY(db->ingest(batch).has_value());
        QVERIFY(db->setDeviceGroup("pi-2", std::string("lobby")).has_value());
        QVERIFY(db->credentialsSince(after[2].version)->empty());
    }

    void deviceTokensFollowTheStorage()
    {
        QVERIFY(db->addDevice("pi-1", tokenHash("stoa_dev_one"), 1000).has_value());
        DeviceTokens tokens(*db, std::chrono::hours(1)); // refreshed by hand below
        using Kind = DeviceTokens::Lookup::Kind;
        QCOMPARE(tokens.lookup(tokenHash("stoa_dev_one")).kind, Kind::Unknown); // not loaded yet
        QVERIFY(tokens.refresh().has_value());
        QVERIFY(tokens.loaded());
        QCOMPARE(tokens.lookup(tokenHash("stoa_dev_one")).kind, Kind::Device);
        QCOMPARE(tokens.lookup(tokenHash("stoa_dev_one")).deviceId, std::string("pi-1"));
        QCOMPARE(tokens.lookup(tokenHash("stoa_dev_two")).kind, Kind::Unknown);
        QCOMPARE(tokens.lookup("not hex").kind, Kind::Unknown);

        // Changes made behind its back are seen at the next refresh.
        QVERIFY(db->addDevice("pi-2", tokenHash("stoa_dev_two"), 1000).has_value());
        QVERIFY(db->revokeDevice("pi-1").has_value());
        QCOMPARE(tokens.lookup(tokenHash("stoa_dev_one")).kind, Kind::Device);
        QVERIFY(tokens.refresh().has_value());
        QCOMPARE(tokens.lookup(tokenHash("stoa_dev_one")).kind, Kind::Revoked);
        QCOMPARE(tokens.lookup(tokenHash("stoa_dev_two")).deviceId, std::string("pi-2"));

        // A new token replaces the old one: the old hash is forgotten.
        QVERIFY(db->setDeviceToken("pi-1", tokenHash("stoa_dev_one_b")).has_value());
        tokens.changed();
        QCOMPARE(tokens.lookup(tokenHash("stoa_dev_one")).kind, Kind::Unknown);
        QCOMPARE(tokens.lookup(tokenHash("stoa_dev_one_b")).deviceId, std::string("pi-1"));
        QCOMPARE(tokens.size(), std::size_t{2});

        // The thread refreshes by itself.
        DeviceTokens live(*db, std::chrono::milliseconds(20));
        live.start();
        QCOMPARE(live.lookup(tokenHash("stoa_dev_two")).deviceId, std::string("pi-2"));
        QVERIFY(db->revokeDevice("pi-2").has_value());
        QTRY_COMPARE_WITH_TIMEOUT(live.lookup(tokenHash("stoa_dev_two")).kind, Kind::Revoked, 5000);
        live.stop();
    }

    void groupsAndTags()
    {
        QVERIFY(db->addDevice("pi-1", "h1", 0).has_value());
        QVERIFY(db->addDevice("pi-2", "h2", 0).has_value());
        QVERIFY(db->setDeviceGroup("pi-1", std::string("lobby")).has_value());
        QVERIFY(db->setDeviceTags("pi-1", {"floor-2", "east", "east"}).has_value());
        QCOMPARE(db->setDeviceGroup("pi-9", std::string("x")).error().code, StorageError::Code::NotFound);
        QCOMPARE(db->setDeviceTags("pi-9", {}).error().code, StorageError::Code::NotFound);
        auto one = find("pi-1");
        QCOMPARE(one.group, std::optional<std::string>("lobby"));
        QCOMPARE(one.tags, (std::vector<std::string>{"east", "floor-2"})); // sorted, unique
        QVERIFY(!find("pi-2").group);
        QVERIFY(find("pi-2").tags.empty());
        QVERIFY(db->setDeviceGroup("pi-1", std::nullopt).has_value());
        QVERIFY(db->setDeviceTags("pi-1", {}).has_value());
        QVERIFY(!find("pi-1").group);
        QVERIFY(find("pi-1").tags.empty());
    }

    void operators()
    {
        QVERIFY(db->addOperator("ada", Role::Admin, "op-1", 5).has_value());
        QVERIFY(db->addOperator("bob", Role::Viewer, "op-2", 5).has_value());
        QCOMPARE(db->addOperator("ada", Role::Editor, "op-3", 5).error().code, StorageError::Code::Conflict);
        const auto ada = *db->operatorForToken("op-1");
        QVERIFY(ada);
        QCOMPARE(ada->name, std::string("ada"));
        QVERIFY(ada->role == Role::Admin);
        QVERIFY((*db->operatorForToken("op-2"))->role == Role::Viewer);
        QVERIFY(!db->operatorForToken("hash-1")->has_value());
        // Operator and device tokens live apart.
        QVERIFY(!db->deviceForToken("op-2")->has_value());
    }

    void passwordsAndSessions()
    {
        QVERIFY(db->addOperator("ada", Role::Editor, "op-1", 5).has_value());
        const auto none = *db->operatorPassword("ada");
        QVERIFY(none);
        QCOMPARE(none->second, std::string()); // no password yet
        QVERIFY(!db->operatorPassword("bob")->has_value());
        QVERIFY(db->setOperatorPassword("ada", "scrypt$x").has_value());
        QCOMPARE((*db->operatorPassword("ada"))->second, std::string("scrypt$x"));
        QVERIFY((*db->operatorPassword("ada"))->first.role == Role::Editor);
        QCOMPARE(db->setOperatorPassword("bob", "h").error().code, StorageError::Code::NotFound);

        QVERIFY(db->addSession("s-1", "ada", 1000).has_value());
        QCOMPARE((*db->sessionOperator("s-1", 999))->name, std::string("ada"));
        QVERIFY(!db->sessionOperator("s-1", 1000)->has_value()); // expired
        QVERIFY(!db->sessionOperator("s-2", 0)->has_value());
        QVERIFY(db->addSession("s-2", "ada", 5000).has_value());
        QVERIFY(db->removeSession("s-2").has_value());
        QVERIFY(!db->sessionOperator("s-2", 0)->has_value());
        // A session is not an API token, nor the reverse.
        QVERIFY(!db->operatorForToken("s-1")->has_value());
        QVERIFY(!db->sessionOperator("op-1", 0)->has_value());
    }

    void statusesKeepTheLatest()
    {
        QVERIFY(db->addDevice("pi-1", "h1", 0).has_value());
        IngestBatch b;
        b.statuses = {status("pi-1", 1000, 7), status("pi-1", 3000, 9)};
        QVERIFY(db->ingest(b).has_value());
        IngestBatch older; // a late delivery of an older heartbeat does not win
        older.statuses = {status("pi-1", 2000, 8)};
        QVERIFY(db->ingest(older).has_value());

        const auto latest = *db->latestStatus("pi-1");
        QVERIFY(latest);
        QCOMPARE(latest->receivedAtMs, 3000);
        QCOMPARE(latest->manifestVersion, std::optional<std::int64_t>(9));
        QVERIFY(latest->body.find("3000") != std::string::npos);
        const auto dev = find("pi-1");
        QCOMPARE(dev.lastSeenAtMs, std::optional<std::int64_t>(3000));
        QCOMPARE(dev.manifestVersion, std::optional<std::int64_t>(9));

        const auto history = *db->statusHistory("pi-1", 10);
        QCOMPARE(history.size(), std::size_t{3});
        QCOMPARE(history[0].receivedAtMs, 3000); // newest first
        QCOMPARE(history[2].receivedAtMs, 1000);
        QCOMPARE(db->statusHistory("pi-1", 2)->size(), std::size_t{2});
        QVERIFY(!db->latestStatus("pi-2")->has_value());
    }

    // The online stretches ingest keeps (the fleet's rule, window 3 min):
    // a heartbeat within the window of the stretch extends it (the bound
    // included, as deviceState() counts it online), a longer gap starts a
    // new one; several heartbeats of one device in one batch each see the
    // one before; devices stay apart.
    void onlineStretchesFollowTheWindow()
    {
        QVERIFY(db->addDevice("pi-1", "h1", 0).has_value());
        QVERIFY(db->addDevice("pi-2", "h2", 0).has_value());
        QCOMPARE(db->onlineWindowMs(), std::int64_t{180000});
        const std::int64_t t = 1'000'000'000, minute = 60000;
        IngestBatch first;
        first.statuses = {status("pi-1", t, 1), status("pi-2", t + minute, 1), status("pi-1", t + minute, 1),
                          status("pi-1", t + 2 * minute, 1)};
        QVERIFY(db->ingest(first).has_value());
        for (std::int64_t at : {t + 5 * minute, t + 20 * minute, t + 20 * minute + 181000}) {
            IngestBatch one;
            one.statuses = {status("pi-1", at, 1)};
            QVERIFY(db->ingest(one).has_value());
        }
        const auto all = db->onlineStretches("pi-1", 0);
        QVERIFY(all.has_value());
        QCOMPARE(all->recordedFromMs, std::optional<std::int64_t>(t));
        QCOMPARE(all->stretches.size(), std::size_t{3});
        QCOMPARE(all->stretches[0].fromMs, t);
        QCOMPARE(all->stretches[0].toMs, t + 5 * minute); // 3 min after t + 2 min: still within
        QCOMPARE(all->stretches[1].fromMs, t + 20 * minute);
        QCOMPARE(all->stretches[1].toMs, t + 20 * minute);
        QCOMPARE(all->stretches[2].fromMs, t + 20 * minute + 181000); // 1 s too late: a new one
        QCOMPARE(all->stretches[2].toMs, t + 20 * minute + 181000);

        // Only those ending at or after the time asked; the start stays.
        const auto late = *db->onlineStretches("pi-1", t + 6 * minute);
        QCOMPARE(late.recordedFromMs, std::optional<std::int64_t>(t));
        QCOMPARE(late.stretches.size(), std::size_t{2});
        QCOMPARE(late.stretches[0].fromMs, t + 20 * minute);
        const auto other = *db->onlineStretches("pi-2", 0);
        QCOMPARE(other.stretches.size(), std::size_t{1});
        QCOMPARE(other.stretches[0].fromMs, t + minute);
        QCOMPARE(other.stretches[0].toMs, t + minute);
        const auto none = *db->onlineStretches("pi-3", 0);
        QVERIFY(!none.recordedFromMs);
        QVERIFY(none.stretches.empty());

        // A wider window (the hub's option) joins what the default would not.
        db->setOnlineWindow(10 * minute);
        IngestBatch wide;
        wide.statuses = {status("pi-1", t + 30 * minute, 1)};
        QVERIFY(db->ingest(wide).has_value());
        const auto joined = *db->onlineStretches("pi-1", 0);
        QCOMPARE(joined.stretches.size(), std::size_t{3});
        QCOMPARE(joined.stretches[2].toMs, t + 30 * minute);
    }

    // Stretches go by age (35 days by default), apart from the heartbeats'
    // count; each device's newest one before the cutoff stays, so the
    // record's start still says how far back it reaches.
    void onlineStretchesRetention()
    {
        QVERIFY(db->addDevice("pi-1", "h1", 0).has_value());
        QVERIFY(db->addDevice("pi-2", "h2", 0).has_value());
        const std::int64_t day = 86400000, now = 200 * day;
        for (std::int64_t at : {now - 50 * day, now - 40 * day, now - 36 * day, now - 34 * day, now - day}) {
            IngestBatch b;
            b.statuses = {status("pi-1", at, 1)};
            QVERIFY(db->ingest(b).has_value());
        }
        IngestBatch lone;
        lone.statuses = {status("pi-2", now - 60 * day, 1)};
        QVERIFY(db->ingest(lone).has_value());
        QCOMPARE(db->onlineStretches("pi-1", 0)->stretches.size(), std::size_t{5});

        Retention r;
        QCOMPARE(r.stretchesMaxAgeMs, 35 * day);
        r.statusesPerDevice = 1;
        QVERIFY(db->applyRetention(r, now).has_value());
        const auto kept = *db->onlineStretches("pi-1", 0);
        QCOMPARE(kept.recordedFromMs, std::optional<std::int64_t>(now - 36 * day));
        QCOMPARE(kept.stretches.size(), std::size_t{3});
        QCOMPARE(kept.stretches[0].fromMs, now - 36 * day);
        QCOMPARE(kept.stretches[1].fromMs, now - 34 * day);
        QCOMPARE(kept.stretches[2].fromMs, now - day);
        // The heartbeats' count does not bound them: one status is left.
        QCOMPARE(db->statusHistory("pi-1", 100)->size(), std::size_t{1});
        QCOMPARE(db->onlineStretches("pi-2", 0)->recordedFromMs, std::optional<std::int64_t>(now - 60 * day));
        // Again: nothing more goes.
        QVERIFY(db->applyRetention(r, now).has_value());
        QCOMPARE(db->onlineStretches("pi-1", 0)->stretches.size(), std::size_t{3});
    }

    // Retention judges a stretch by where it ends now, though heartbeats
    // within the window may have moved only the device's last heartbeat
    // (SQLite, schema 7): pi-3's newer stretch starts before the cutoff but
    // was extended past it, so the older one is the newest before the
    // cutoff and stays (the record reaches back to it); and the extended
    // one keeps its end through retention and further heartbeats.
    void onlineStretchesRetentionSeesExtendedEnds()
    {
        QVERIFY(db->addDevice("pi-3", "h3", 0).has_value());
        const std::int64_t day = 86400000, now = 200 * day;
        db->setOnlineWindow(3 * day);
        for (std::int64_t at : {now - 40 * day, now - 36 * day, now - 35 * day, now - 34 * day}) {
            IngestBatch b;
            b.statuses = {status("pi-3", at, 1)};
            QVERIFY(db->ingest(b).has_value());
        }
        const auto before = *db->onlineStretches("pi-3", now - 35 * day);
        QCOMPARE(before.stretches.size(), std::size_t{1});
        QCOMPARE(before.stretches[0].fromMs, now - 36 * day);
        QCOMPARE(before.stretches[0].toMs, now - 34 * day);

        Retention r;
        QVERIFY(db->applyRetention(r, now).has_value());
        const auto kept = *db->onlineStretches("pi-3", 0);
        QCOMPARE(kept.recordedFromMs, std::optional<std::int64_t>(now - 40 * day));
        QCOMPARE(kept.stretches.size(), std::size_t{2});
        QCOMPARE(kept.stretches[1].fromMs, now - 36 * day);
        QCOMPARE(kept.stretches[1].toMs, now - 34 * day);
        IngestBatch next;
        next.statuses = {status("pi-3", now - 33 * day, 1)};
        QVERIFY(db->ingest(next).has_value());
        QCOMPARE(db->onlineStretches("pi-3", 0)->stretches.back().toMs, now - 33 * day);
        QCOMPARE(db->onlineStretches("pi-3", 0)->stretches.size(), std::size_t{2});
    }

    void playsAreStoredOnce()
    {
        QVERIFY(db->addDevice("pi-1", "h1", 0).has_value());
        QVERIFY(db->addDevice("pi-2", "h2", 0).has_value());
        IngestBatch b;
        b.plays = {play("pi-1", "a", 10), play("pi-1", "b", 10), play("pi-1", "a", 11), play("pi-2", "a", 12)};
        const auto counts = db->ingest(b);
        QVERIFY(counts.has_value());
        QCOMPARE(counts->playsStored, 3);   // (pi-1,a) (pi-1,b) (pi-2,a)
        QCOMPARE(counts->playsDuplicate, 1);

        IngestBatch again; // the device sends the same batch again
        again.plays = {play("pi-1", "a", 20), play("pi-1", "b", 20), play("pi-1", "c", 20)};
        const auto second = db->ingest(again);
        QCOMPARE(second->playsStored, 1);
        QCOMPARE(second->playsDuplicate, 2);

        QCOMPARE(find("pi-1").plays, 3);
        QCOMPARE(find("pi-2").plays, 1);
        const auto plays = *db->plays("pi-1", 100);
        QCOMPARE(plays.size(), std::size_t{3});
        QCOMPARE(plays[0].id, std::string("a"));
        QCOMPARE(plays[0].receivedAtMs, 10); // the first receipt stands
        QCOMPARE(plays[2].id, std::string("c"));
    }

    void playsAcrossDevicesByReceipt()
    {
        IngestBatch b;
        b.plays = {play("pi-2", "a", 10), play("pi-1", "a", 20), play("pi-1", "b", 30), play("pi-2", "b", 40)};
        QVERIFY(db->ingest(b).has_value());
        // [20, 40): the end is excluded, the order is by receipt.
        const auto between = db->playsReceivedBetween(20, 40, 100);
        QVERIFY(between.has_value());
        QCOMPARE(between->size(), std::size_t{2});
        QCOMPARE((*between)[0].deviceId, std::string("pi-1"));
        QCOMPARE((*between)[0].id, std::string("a"));
        QCOMPARE((*between)[1].id, std::string("b"));
        QCOMPARE((*between)[1].receivedAtMs, 30);
        QCOMPARE(db->playsReceivedBetween(0, 1000, 3)->size(), std::size_t{3}); // the limit holds
        QCOMPARE(db->playsReceivedBetween(41, 1000, 100)->size(), std::size_t{0});
    }

    void auditLogIsNewestFirstAndPaged()
    {
        QCOMPARE(db->audit(0, 10)->size(), std::size_t{0});
        std::vector<std::int64_t> ids;
        for (int i = 0; i < 5; ++i) {
            // Text an operator typed, with quotes and markup, is kept as given.
            auto id = db->addAudit({0, 1000 + i, "ed", "schedule.publish", "groups/lobby",
                                    "version " + std::to_string(i) + ": \"<b>x</b>\" ünïcode"});
            QVERIFY(id.has_value());
            if (!ids.empty())
                QVERIFY(*id > ids.back()); // ids increase in the order of adding
            ids.push_back(*id);
        }
        const auto page = db->audit(0, 3);
        QVERIFY(page.has_value());
        QCOMPARE(page->size(), std::size_t{3});
        QCOMPARE((*page)[0].id, ids[4]);
        QCOMPARE((*page)[0].atMs, 1004);
        QCOMPARE((*page)[0].operatorName, std::string("ed"));
        QCOMPARE((*page)[0].action, std::string("schedule.publish"));
        QCOMPARE((*page)[0].target, std::string("groups/lobby"));
        QCOMPARE((*page)[0].detail, std::string("version 4: \"<b>x</b>\" ünïcode"));
        QCOMPARE((*page)[2].id, ids[2]);
        const auto next = db->audit(page->back().id, 3); // the next page starts below the last id
        QCOMPARE(next->size(), std::size_t{2});
        QCOMPARE((*next)[0].id, ids[1]);
        QCOMPARE((*next)[1].id, ids[0]);
        // Retention never removes the audit log.
        QVERIFY(db->applyRetention(Retention{1, 1}, 1'000'000'000).has_value());
        QCOMPARE(db->audit(0, 10)->size(), std::size_t{5});
    }

    void screenshotsAreRecorded()
    {
        QVERIFY(db->addDevice("pi-1", "h1", 0).has_value());
        IngestBatch b;
        b.screenshots = {{"pi-1", std::string(64, 'a'), 1234, 5000}};
        QVERIFY(db->ingest(b).has_value());
        QCOMPARE(find("pi-1").lastScreenshotAtMs, std::optional<std::int64_t>(5000));
    }

    void screenshotsAreTrimmedPerDevice()
    {
        QVERIFY(db->addDevice("pi-1", "h1", 0).has_value());
        QVERIFY(db->addDevice("pi-2", "h2", 0).has_value());
        const std::string a(64, 'a'), b(64, 'b'), c(64, 'c');
        IngestBatch batch;
        batch.screenshots = {{"pi-1", a, 1, 100}, {"pi-1", b, 1, 200}, {"pi-1", c, 1, 300}, {"pi-2", a, 1, 150}};
        QVERIFY(db->ingest(batch).has_value());
        // pi-1 keeps its newest one: a and b go from pi-1, but pi-2 still names a.
        const auto unused = db->trimScreenshots("pi-1", 1);
        QVERIFY(unused.has_value());
        QCOMPARE(*unused, std::vector<std::string>{b});
        QCOMPARE(*db->trimScreenshots("pi-1", 1), std::vector<std::string>{});
        QCOMPARE(*db->trimScreenshots("pi-2", 0), std::vector<std::string>{a});
        QCOMPARE(find("pi-1").lastScreenshotAtMs, std::optional<std::int64_t>(300));
    }

    void emptyBatchIsFine()
    {
        const auto counts = db->ingest(IngestBatch{});
        QVERIFY(counts.has_value());
        QCOMPARE(counts->playsStored, 0);
    }

    void retentionBoundsHistory()
    {
        QVERIFY(db->addDevice("pi-1", "h1", 0).has_value());
        IngestBatch b;
        for (int i = 0; i < 10; ++i)
            b.statuses.push_back(status("pi-1", 100000 + i * 1000, i));
        b.plays = {play("pi-1", "old", 1000), play("pi-1", "new", 200000)};
        QVERIFY(db->ingest(b).has_value());

        Retention r;
        r.maxAgeMs = 150000;      // at now = 250000: before 100000 goes
        r.statusesPerDevice = 4;
        const auto removed = db->applyRetention(r, 250000);
        QVERIFY(removed.has_value());
        QCOMPARE(*removed, 7); // 6 statuses over the count, 1 old play
        const auto history = *db->statusHistory("pi-1", 100);
        QCOMPARE(history.size(), std::size_t{4});
        QCOMPARE(history[0].receivedAtMs, 109000);
        const auto plays = *db->plays("pi-1", 100);
        QCOMPARE(plays.size(), std::size_t{1});
        QCOMPARE(plays[0].id, std::string("new"));
        // The latest status outlives its age and the count.
        r.maxAgeMs = 1;
        r.statusesPerDevice = 0;
        QVERIFY(db->applyRetention(r, 10000000).has_value());
        const auto kept = *db->statusHistory("pi-1", 100);
        QCOMPARE(kept.size(), std::size_t{1});
        QCOMPARE(kept[0].receivedAtMs, 109000);
        QCOMPARE((*db->latestStatus("pi-1"))->receivedAtMs, 109000);
        QCOMPARE((*db->latestStatus("pi-1"))->body, status("pi-1", 109000, 9).body);
    }

    void concurrentIngestLosesNothing()
    {
        constexpr int kThreads = 8, kBatches = 25, kPerBatch = 20;
        for (int t = 0; t < kThreads; ++t)
            QVERIFY(db->addDevice("pi-" + std::to_string(t), "h" + std::to_string(t), 0).has_value());
        std::atomic<int> failures{0};
        std::vector<std::thread> threads;
        for (int t = 0; t < kThreads; ++t) {
            threads.emplace_back([&, t] {
                const std::string dev = "pi-" + std::to_string(t);
                for (int b = 0; b < kBatches; ++b) {
                    IngestBatch batch;
                    batch.statuses.push_back(status(dev, 1000 + b, b));
                    for (int i = 0; i < kPerBatch; ++i)
                        batch.plays.push_back(play(dev, std::to_string(b) + "-" + std::to_string(i), 1000 + b));
                    // Readers run beside the writers.
                    if (!db->ingest(batch) || !db->deviceForToken("h" + std::to_string(t)))
                        ++failures;
                }
            });
        }
        for (auto &th : threads)
            th.join();
        QCOMPARE(failures.load(), 0);
        const auto all = *db->devices();
        for (const auto &dev : all) {
            QCOMPARE(dev.plays, kBatches * kPerBatch);
            QCOMPARE(dev.lastSeenAtMs, std::optional<std::int64_t>(1000 + kBatches - 1));
        }
    }

    // SQLite restarts its WAL from the start only when a write transaction
    // begins with the whole WAL checkpointed; with batches back to back the
    // next one had always begun before the checkpointer's pass ended, so
    // the WAL grew to kWalRestartFrames (256 MiB) with a database fsync
    // beside every commit (issue 16). Now it restarts about every
    // kCheckpointPages (32 MiB): the checkpoint sequence number in the WAL
    // header (bytes 12-15) counts the restarts.
    void sqliteWalRestartsUnderContinuousIngest()
    {
        if (Backends::postgres())
            QSKIP("SQLite's WAL");
        constexpr int kDevices = 100, kBatches = 250; // ~1 page a status: ~25,000 frames, ~100 MiB
        for (int d = 0; d < kDevices; ++d)
            QVERIFY(db->addDevice("pi-" + std::to_string(d), "h" + std::to_string(d), 0).has_value());
        const std::string pad(3500, 'x');
        const std::string wal = dir->path().toStdString() + "/hub.db-wal";
        auto sequence = [&]() -> std::optional<std::uint32_t> {
            QFile f(QString::fromStdString(wal));
            if (!f.open(QIODevice::ReadOnly))
                return std::nullopt;
            const QByteArray header = f.read(16);
            if (header.size() < 16)
                return std::nullopt;
            const auto *b = reinterpret_cast<const unsigned char *>(header.constData()) + 12;
            return (std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) | (std::uint32_t{b[2]} << 8) | b[3];
        };
        std::optional<std::uint32_t> last;
        int restarts = 0;
        for (int b = 0; b < kBatches; ++b) {
            IngestBatch batch;
            for (int d = 0; d < kDevices; ++d) {
                const std::string id = "pi-" + std::to_string(d);
                batch.statuses.push_back({id, 1000 + b, 1, "{\"device_id\":\"" + id + "\",\"pad\":\"" + pad + "\"}"});
            }
            QVERIFY(db->ingest(batch).has_value());
            const auto now = sequence();
            if (last && now && *now != *last)
                ++restarts;
            if (now)
                last = now;
        }
        qInfo("WAL restarts in %d back-to-back batches: %d", kBatches, restarts);
        QVERIFY2(restarts >= 2, ("the WAL restarted " + std::to_string(restarts) + " time(s)").c_str());
        QCOMPARE(find("pi-7").lastSeenAtMs, std::optional<std::int64_t>(1000 + kBatches - 1));
    }

    void roles()
    {
        for (auto r : {Role::Admin, Role::Editor, Role::Viewer})
            QVERIFY(roleFromName(roleName(r)) == r);
        QVERIFY(!roleFromName("root"));
    }
};

QTEST_GUILESS_MAIN(StorageTest)
#include "tst_storage.moc"
