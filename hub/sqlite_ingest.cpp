// hub/sqlite_ingest.cpp — the writes devices cause on SQLite: ingest() of a
// batch in one transaction (statuses with their online stretches, plays,
// screenshots), trimming a device's screenshots, and retention.
#include "hub/sqlite_storage_impl.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace stoa::hub {

using namespace sqlite;

namespace {

// The writer's synchronous setting for one ingest: NORMAL commits without
// the WAL's fsync (syncCommitted() does it later), FULL again afterwards for
// every other write. A PRAGMA acts when prepared: run anew each time.
class CommitWithoutSync {
public:
    explicit CommitWithoutSync(sqlite3 *db, bool active) : db_(active ? db : nullptr)
    {
        if (db_ && sqlite3_exec(db_, "PRAGMA synchronous=NORMAL", nullptr, nullptr, nullptr) != SQLITE_OK)
            db_ = nullptr; // stays FULL: durable at commit anyway
    }
    ~CommitWithoutSync()
    {
        if (db_)
            sqlite3_exec(db_, "PRAGMA synchronous=FULL", nullptr, nullptr, nullptr);
    }
    CommitWithoutSync(const CommitWithoutSync &) = delete;
    CommitWithoutSync &operator=(const CommitWithoutSync &) = delete;

private:
    sqlite3 *db_;
};

} // namespace

StorageResult<IngestCounts> SqliteStorage::ingest(const IngestBatch &batch) { return ingest(batch, true); }

StorageResult<IngestCounts> SqliteStorage::ingestCommitted(const IngestBatch &batch) { return ingest(batch, false); }

StorageResult<void> SqliteStorage::syncCommitted()
{
    std::lock_guard lock(d->syncMutex);
    struct stat named{};
    if (::stat(d->walPath.c_str(), &named) != 0) {
        if (errno == ENOENT)
            return {}; // no WAL: every commit is in the database file, synced by its checkpoint
        return fail(StorageError::Code::Failed, "syncing the WAL: " + d->walPath + ": " + std::strerror(errno));
    }
    if (d->walFd < 0 || d->walInode != named.st_ino) {
        if (d->walFd >= 0)
            ::close(d->walFd);
        d->walFd = ::open(d->walPath.c_str(), O_RDONLY | O_CLOEXEC);
        d->walInode = named.st_ino;
        if (d->walFd < 0)
            return fail(StorageError::Code::Failed, "syncing the WAL: " + d->walPath + ": " + std::strerror(errno));
    }
    if (::fdatasync(d->walFd) != 0)
        return fail(StorageError::Code::Failed, "syncing the WAL: " + d->walPath + ": " + std::strerror(errno));
    return {};
}

StorageResult<IngestCounts> SqliteStorage::ingest(const IngestBatch &batch, bool durable)
{
    IngestCounts counts;
    if (batch.empty())
        return counts;
    std::lock_guard lock(d->writeMutex);
    d->finishCheckpoint();
    Connection &db = *d->writer;
    const CommitWithoutSync noSync(db, !durable);
    Transaction tx(db);
    if (auto r = tx.begin(); !r)
        return std::unexpected(r.error());

    Stmt addStatus(db, "INSERT INTO statuses(device_id, received_at_ms, manifest_version, body) VALUES(?1, ?2, ?3, ?4)");
    // The usual heartbeat: the device's newest, within the window of its
    // open stretch (kSchemaV7 in sqlite_schema.cpp), which it then extends
    // by moving last_seen_at_ms alone: one statement, the one that keeps
    // the latest status anyway. No row changed: the full path below.
    Stmt latestExtending(db, "UPDATE devices SET last_seen_at_ms = ?2, manifest_version = ?3, last_status_rowid = ?4 "
                             "WHERE id = ?1 AND online_stretch IS NOT NULL AND last_seen_at_ms <= ?2 "
                             "AND last_seen_at_ms >= ?2 - ?5");
    // The full path (a stretch starts, a late heartbeat, no device row, a
    // device not seen since the upgrade): the open end goes into its row
    // first, then the heartbeat extends every stretch whose window it falls
    // in or starts one, as before version 7; the device's open stretch is
    // then the one holding its newest heartbeat.
    Stmt foldOpen(db, "UPDATE online_stretches SET to_ms = d.last_seen_at_ms FROM devices AS d "
                      "WHERE d.id = ?1 AND online_stretches.rowid = d.online_stretch "
                      "AND online_stretches.device_id = d.id AND d.last_seen_at_ms > online_stretches.to_ms");
    Stmt extend(db, "UPDATE online_stretches SET from_ms = min(from_ms, ?2), to_ms = max(to_ms, ?2) "
                    "WHERE device_id = ?1 AND to_ms >= ?2 - ?3 AND from_ms <= ?2 + ?3 RETURNING rowid");
    Stmt startStretch(db, "INSERT INTO online_stretches(device_id, from_ms, to_ms) VALUES(?1, ?2, ?2)");
    Stmt latest(db, "UPDATE devices SET last_seen_at_ms = ?2, manifest_version = ?3, last_status_rowid = ?4, "
                    "online_stretch = ?5 WHERE id = ?1 AND (last_seen_at_ms IS NULL OR last_seen_at_ms <= ?2)");
    Stmt addPlay(db, "INSERT OR IGNORE INTO plays(device_id, id, received_at_ms, line) VALUES(?1, ?2, ?3, ?4)");
    Stmt countPlay(db, "UPDATE devices SET plays = plays + ?2 WHERE id = ?1");
    Stmt addShot(db, "INSERT INTO screenshots(device_id, sha256, bytes, received_at_ms) VALUES(?1, ?2, ?3, ?4)");
    Stmt lastShot(db, "UPDATE devices SET last_screenshot_at_ms = max(coalesce(last_screenshot_at_ms, 0), ?2) "
                      "WHERE id = ?1");
    if (!addStatus || !latestExtending || !foldOpen || !extend || !startStretch || !latest || !addPlay || !countPlay
        || !addShot || !lastShot)
        return dbFail(db, "preparing the ingest");
    const std::int64_t window = onlineWindowMs();

    for (const auto &st : batch.statuses) {
        addStatus.bindKept(1, st.deviceId).bind(2, st.receivedAtMs).bind(3, st.manifestVersion).bindKept(4, st.body);
        if (addStatus.step() != SQLITE_DONE)
            return dbFail(db, "storing a status");
        addStatus.reset();
        const auto statusRowid = static_cast<std::int64_t>(sqlite3_last_insert_rowid(db));
        latestExtending.bindKept(1, st.deviceId).bind(2, st.receivedAtMs).bind(3, st.manifestVersion).bind(4, statusRowid)
            .bind(5, window);
        if (latestExtending.step() != SQLITE_DONE)
            return dbFail(db, "storing a status");
        latestExtending.reset();
        if (sqlite3_changes(db) > 0)
            continue;

        foldOpen.bind(1, st.deviceId);
        if (foldOpen.step() != SQLITE_DONE)
            return dbFail(db, "storing an online stretch");
        foldOpen.reset();
        std::optional<std::int64_t> holding;
        extend.bind(1, st.deviceId).bind(2, st.receivedAtMs).bind(3, window);
        int rc;
        while ((rc = extend.step()) == SQLITE_ROW)
            holding = std::max(holding.value_or(0), extend.integer(0));
        extend.reset();
        if (rc != SQLITE_DONE)
            return dbFail(db, "storing an online stretch");
        if (!holding) {
            startStretch.bind(1, st.deviceId).bind(2, st.receivedAtMs);
            if (startStretch.step() != SQLITE_DONE)
                return dbFail(db, "storing an online stretch");
            startStretch.reset();
            holding = static_cast<std::int64_t>(sqlite3_last_insert_rowid(db));
        }
        latest.bind(1, st.deviceId).bind(2, st.receivedAtMs).bind(3, st.manifestVersion).bind(4, statusRowid)
            .bind(5, holding);
        if (latest.step() != SQLITE_DONE)
            return dbFail(db, "storing a status");
        latest.reset();
    }
    // A device's stored plays are counted once per run of its records
    // (a request's records are one run): one UPDATE of its row per plays
    // request instead of one per record (~10).
    const std::string *counting = nullptr;
    std::int64_t stored = 0;
    auto flushCount = [&]() -> bool {
        if (counting && stored > 0) {
            countPlay.bindKept(1, *counting).bind(2, stored);
            if (countPlay.step() != SQLITE_DONE)
                return false;
            countPlay.reset();
        }
        stored = 0;
        return true;
    };
    for (const auto &play : batch.plays) {
        if (!counting || *counting != play.deviceId) {
            if (!flushCount())
                return dbFail(db, "counting plays");
            counting = &play.deviceId;
        }
        addPlay.bindKept(1, play.deviceId).bindKept(2, play.id).bind(3, play.receivedAtMs).bindKept(4, play.line);
        if (addPlay.step() != SQLITE_DONE)
            return dbFail(db, "storing a play");
        addPlay.reset();
        if (sqlite3_changes(db) == 0) {
            ++counts.playsDuplicate;
            continue;
        }
        ++counts.playsStored;
        ++stored;
    }
    if (!flushCount())
        return dbFail(db, "counting plays");
    for (const auto &shot : batch.screenshots) {
        addShot.bind(1, shot.deviceId).bind(2, shot.sha256Hex).bind(3, shot.bytes).bind(4, shot.receivedAtMs);
        lastShot.bind(1, shot.deviceId).bind(2, shot.receivedAtMs);
        if (addShot.step() != SQLITE_DONE || lastShot.step() != SQLITE_DONE)
            return dbFail(db, "storing a screenshot");
        addShot.reset();
        lastShot.reset();
    }
    if (auto r = tx.commit(); !r)
        return std::unexpected(r.error());
    return counts;
}

StorageResult<std::vector<std::string>> SqliteStorage::trimScreenshots(const std::string &deviceId, int keep)
{
    std::lock_guard lock(d->writeMutex);
    Connection &db = *d->writer;
    Transaction tx(db);
    if (auto r = tx.begin(); !r)
        return std::unexpected(r.error());
    Stmt drop(db, "DELETE FROM screenshots WHERE device_id = ?1 AND rowid NOT IN (SELECT rowid FROM screenshots "
                  "WHERE device_id = ?1 ORDER BY received_at_ms DESC, rowid DESC LIMIT ?2) RETURNING sha256");
    Stmt used(db, "SELECT 1 FROM screenshots WHERE sha256 = ?1 LIMIT 1");
    if (!drop || !used)
        return dbFail(db, "trimming screenshots");
    drop.bind(1, deviceId).bind(2, std::int64_t{std::max(keep, 0)});
    std::vector<std::string> dropped;
    int rc;
    while ((rc = drop.step()) == SQLITE_ROW)
        dropped.push_back(drop.text(0));
    if (rc != SQLITE_DONE)
        return dbFail(db, "trimming screenshots");
    std::sort(dropped.begin(), dropped.end());
    dropped.erase(std::unique(dropped.begin(), dropped.end()), dropped.end());
    std::vector<std::string> unused;
    for (const auto &hex : dropped) {
        used.bind(1, hex);
        const int u = used.step();
        if (u == SQLITE_DONE)
            unused.push_back(hex);
        else if (u != SQLITE_ROW)
            return dbFail(db, "trimming screenshots");
        used.reset();
    }
    if (auto r = tx.commit(); !r)
        return std::unexpected(r.error());
    return unused;
}

StorageResult<std::int64_t> SqliteStorage::applyRetention(const Retention &retention, std::int64_t nowMs)
{
    std::lock_guard lock(d->writeMutex);
    Connection &db = *d->writer;
    Transaction tx(db);
    if (auto r = tx.begin(); !r)
        return std::unexpected(r.error());
    const std::int64_t cutoff = nowMs - retention.maxAgeMs;
    std::int64_t removed = 0;
    // A device's latest status row stays, whatever its age: latestStatus()
    // reads it there.
    Stmt old(db, "DELETE FROM statuses WHERE received_at_ms < ?1 AND rowid NOT IN "
                 "(SELECT last_status_rowid FROM devices WHERE last_status_rowid IS NOT NULL)");
    Stmt excess(db, "DELETE FROM statuses WHERE rowid IN (SELECT rowid FROM (SELECT rowid, row_number() OVER "
                    "(PARTITION BY device_id ORDER BY received_at_ms DESC, rowid DESC) AS n FROM statuses) "
                    "WHERE n > max(?1, 1))");
    Stmt oldPlays(db, "DELETE FROM plays WHERE received_at_ms < ?1");
    Stmt oldShots(db, "DELETE FROM screenshots WHERE received_at_ms < ?1");
    // Each device's newest stretch before the cutoff stays: the record
    // still reaches back that far (storage.h Retention).
    // The open stretches' ends go into their rows first (kSchemaV7 in
    // sqlite_schema.cpp), and a device whose open stretch went is taken
    // down the full path by its next heartbeat.
    Stmt foldOpen(db, "UPDATE online_stretches SET to_ms = d.last_seen_at_ms FROM devices AS d "
                      "WHERE online_stretches.rowid = d.online_stretch AND online_stretches.device_id = d.id "
                      "AND d.last_seen_at_ms > online_stretches.to_ms");
    Stmt dropOpen(db, "UPDATE devices SET online_stretch = NULL WHERE online_stretch IS NOT NULL AND NOT EXISTS ("
                      "SELECT 1 FROM online_stretches AS s WHERE s.rowid = devices.online_stretch "
                      "AND s.device_id = devices.id)");
    Stmt oldStretches(db, "DELETE FROM online_stretches AS s WHERE to_ms < ?1 AND EXISTS ("
                          "SELECT 1 FROM online_stretches n WHERE n.device_id = s.device_id AND n.to_ms < ?1 "
                          "AND (n.to_ms > s.to_ms OR (n.to_ms = s.to_ms AND n.from_ms > s.from_ms)))");
    if (!old || !excess || !oldPlays || !oldShots || !foldOpen || !dropOpen || !oldStretches)
        return dbFail(db, "preparing retention");
    if (foldOpen.step() != SQLITE_DONE)
        return dbFail(db, "applying retention");
    oldStretches.bind(1, nowMs - retention.stretchesMaxAgeMs);
    if (oldStretches.step() != SQLITE_DONE)
        return dbFail(db, "applying retention");
    removed += sqlite3_changes(db);
    if (dropOpen.step() != SQLITE_DONE)
        return dbFail(db, "applying retention");
    for (Stmt *s : {&old, &oldPlays, &oldShots}) {
        s->bind(1, cutoff);
        if (s->step() != SQLITE_DONE)
            return dbFail(db, "applying retention");
        removed += sqlite3_changes(db);
    }
    excess.bind(1, retention.statusesPerDevice);
    if (excess.step() != SQLITE_DONE)
        return dbFail(db, "applying retention");
    removed += sqlite3_changes(db);
    if (auto r = tx.commit(); !r)
        return std::unexpected(r.error());
    return removed;
}

} // namespace stoa::hub
