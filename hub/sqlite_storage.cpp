#include "hub/sqlite_storage.h"

#include <sqlite3.h>

#include <algorithm>
#include <condition_variable>
#include <chrono>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

namespace stoa::hub {
namespace {

constexpr int kSchemaVersion = 7;
constexpr int kReaders = 4;
constexpr int kBusyTimeoutMs = 10000;
// Page caches: the writer's holds the devices rows and index pages a batch
// touches (too small, every batch re-read them with pread); readers serve
// the API and pings.
constexpr int kWriterCacheKiB = 32 * 1024;
constexpr int kReaderCacheKiB = 4 * 1024;
// A checkpoint starts once the WAL holds this many pages (32 MiB), or every
// few seconds: the longer between them, the more often a page written many
// times (an index leaf, a devices page) is copied into the database once.
constexpr int kCheckpointPages = 8000;
// Past this many WAL frames (~256 MiB) passive checkpoints are not keeping
// up (readers hold old frames): a RESTART checkpoint waits for them and
// briefly holds writers, to bound the file.
constexpr int kWalRestartFrames = 65536;
// The checkpointer's passes end once one found at most this many new
// frames (2 MiB), after at most kCheckpointPasses; the writer then copies
// the rest itself (SqliteStorage::Impl::finishCheckpoint()).
constexpr int kFinishFrames = 512;
constexpr int kCheckpointPasses = 8;

const char *const kSchemaV1 = R"sql(
CREATE TABLE devices (
  id TEXT PRIMARY KEY,
  token_hash TEXT UNIQUE,
  revoked INTEGER NOT NULL DEFAULT 0,
  created_at_ms INTEGER NOT NULL,
  last_seen_at_ms INTEGER,
  manifest_version INTEGER,
  plays INTEGER NOT NULL DEFAULT 0,
  last_screenshot_at_ms INTEGER,
  last_status TEXT
);
CREATE TABLE statuses (
  device_id TEXT NOT NULL,
  received_at_ms INTEGER NOT NULL,
  manifest_version INTEGER,
  body TEXT NOT NULL
);
CREATE INDEX statuses_by_device ON statuses(device_id, received_at_ms);
CREATE TABLE plays (
  device_id TEXT NOT NULL,
  id TEXT NOT NULL,
  received_at_ms INTEGER NOT NULL,
  line TEXT NOT NULL,
  PRIMARY KEY (device_id, id)
) WITHOUT ROWID;
CREATE INDEX plays_by_receipt ON plays(device_id, received_at_ms);
CREATE TABLE screenshots (
  device_id TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  bytes INTEGER NOT NULL,
  received_at_ms INTEGER NOT NULL
);
CREATE INDEX screenshots_by_device ON screenshots(device_id, received_at_ms);
CREATE TABLE operators (
  name TEXT PRIMARY KEY,
  role TEXT NOT NULL,
  token_hash TEXT UNIQUE NOT NULL,
  created_at_ms INTEGER NOT NULL
);
)sql";

// Version 2: a group and tags per device.
const char *const kSchemaV2 = R"sql(
ALTER TABLE devices ADD COLUMN grp TEXT;
ALTER TABLE devices ADD COLUMN tags TEXT NOT NULL DEFAULT '';
CREATE INDEX devices_by_group ON devices(grp);
)sql";

// Version 3: operator passwords and login sessions.
const char *const kSchemaV3 = R"sql(
ALTER TABLE operators ADD COLUMN password_hash TEXT NOT NULL DEFAULT '';
CREATE TABLE sessions (
  token_hash TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  expires_at_ms INTEGER NOT NULL
);
)sql";

// Version 4: every change of a device's credentials (added, new token,
// revoked) takes the next cred_version, so a hub can follow them
// (credentialsSince()) instead of asking per request. One writer
// connection computes max + 1, so versions commit in order.
// And the latest status is no longer a copy of its body in the devices row
// but a reference to its statuses row (which retention keeps): every
// heartbeat wrote its body twice, and the devices table grew to a page per
// three devices, so each heartbeat dirtied a page of it.
const char *const kSchemaV4 = R"sql(
ALTER TABLE devices ADD COLUMN cred_version INTEGER NOT NULL DEFAULT 0;
CREATE INDEX devices_by_cred_version ON devices(cred_version);
ALTER TABLE devices ADD COLUMN last_status_rowid INTEGER;
INSERT INTO statuses(device_id, received_at_ms, manifest_version, body)
  SELECT id, last_seen_at_ms, manifest_version, last_status FROM devices
  WHERE last_status IS NOT NULL AND NOT EXISTS (
    SELECT 1 FROM statuses s WHERE s.device_id = devices.id AND s.received_at_ms = devices.last_seen_at_ms);
UPDATE devices SET last_status_rowid = (
  SELECT rowid FROM statuses s WHERE s.device_id = devices.id ORDER BY received_at_ms DESC, rowid DESC LIMIT 1),
  last_status = NULL;
)sql";

// Version 5: the operators' audit log (kept whatever the retention), and
// plays by receipt across devices for the proof-of-play report (the
// version 1 index leads with the device).
const char *const kSchemaV5 = R"sql(
CREATE TABLE audit (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at_ms INTEGER NOT NULL,
  operator TEXT NOT NULL,
  action TEXT NOT NULL,
  target TEXT NOT NULL,
  detail TEXT NOT NULL
);
CREATE INDEX plays_by_time ON plays(received_at_ms);
)sql";

// Version 6: when each device was online (storage.h OnlineStretch), kept
// by age apart from the heartbeats (whose history is bounded by count), so
// the 7-day timeline has a record. Seeded from the heartbeats kept, with
// the default online window (3 minutes). Ingest reads the device's recent
// stretches by (device_id, to_ms).
const char *const kSchemaV6 = R"sql(
CREATE TABLE online_stretches (
  device_id TEXT NOT NULL,
  from_ms INTEGER NOT NULL,
  to_ms INTEGER NOT NULL
);
CREATE INDEX online_stretches_by_device ON online_stretches(device_id, to_ms);
INSERT INTO online_stretches(device_id, from_ms, to_ms)
  SELECT device_id, min(t_ms), max(t_ms) FROM (
    SELECT device_id, t_ms, sum(brk) OVER (PARTITION BY device_id ORDER BY t_ms ROWS UNBOUNDED PRECEDING) AS island
    FROM (SELECT device_id, received_at_ms AS t_ms,
                 CASE WHEN received_at_ms - lag(received_at_ms) OVER (PARTITION BY device_id ORDER BY received_at_ms)
                           <= 180000 THEN 0 ELSE 1 END AS brk
          FROM statuses) AS b) AS g
  GROUP BY device_id, island;
)sql";

// Version 7: the device's open online stretch by reference. A heartbeat
// within the window of the device's newest one only moves
// devices.last_seen_at_ms (updated per heartbeat anyway); the stretch row
// `online_stretch` names ends at max(its to_ms, last_seen_at_ms). Writing
// the stretch row (and its (device_id, to_ms) index entry) per heartbeat
// was 8-10 % of SQLite's ingest cost; now it is written when a stretch
// starts, when a heartbeat takes the other path, and at retention (which
// folds the open ends into the rows). NULL: take the full path next time.
const char *const kSchemaV7 = R"sql(
ALTER TABLE devices ADD COLUMN online_stretch INTEGER;
)sql";

std::vector<std::string> splitTags(const std::string &joined)
{
    std::vector<std::string> out;
    std::size_t pos = 0;
    while (pos < joined.size()) {
        const auto comma = joined.find(',', pos);
        const auto end = comma == std::string::npos ? joined.size() : comma;
        if (end > pos)
            out.push_back(joined.substr(pos, end - pos));
        pos = end + 1;
    }
    return out;
}

std::unexpected<StorageError> fail(StorageError::Code code, std::string message)
{
    return std::unexpected(StorageError{code, std::move(message)});
}

std::unexpected<StorageError> dbFail(sqlite3 *db, const char *what)
{
    const int rc = sqlite3_extended_errcode(db);
    const auto code = (rc & 0xff) == SQLITE_CONSTRAINT ? StorageError::Code::Conflict : StorageError::Code::Failed;
    return fail(code, std::string(what) + ": " + sqlite3_errmsg(db));
}

// One connection and the statements prepared on it. Statements are
// prepared once (SQLITE_PREPARE_PERSISTENT) and reused: preparing anew per
// call was a quarter of the hub's CPU under ingest. Keyed by the SQL
// literal's address: every statement is a literal in this file.
// A connection is used by one thread at a time (the writer under its mutex,
// a reader while leased), and so is its cache.
struct Connection {
    sqlite3 *db = nullptr;
    std::unordered_map<const char *, sqlite3_stmt *> statements;

    explicit Connection(sqlite3 *handle) : db(handle) {}
    ~Connection()
    {
        for (auto &[sql, stmt] : statements)
            sqlite3_finalize(stmt);
        sqlite3_close(db);
    }
    Connection(const Connection &) = delete;
    Connection &operator=(const Connection &) = delete;
    operator sqlite3 *() const { return db; }
};

// A prepared statement of a connection's cache, reset and unbound when it
// goes out of use.
class Stmt {
public:
    Stmt(Connection &conn, const char *sql)
    {
        auto [it, inserted] = conn.statements.try_emplace(sql, nullptr);
        if (inserted && sqlite3_prepare_v3(conn.db, sql, -1, SQLITE_PREPARE_PERSISTENT, &it->second, nullptr) != SQLITE_OK) {
            sqlite3_finalize(it->second);
            conn.statements.erase(it);
            return;
        }
        stmt_ = it->second;
    }
    ~Stmt() { reset(); }
    Stmt(const Stmt &) = delete;
    Stmt &operator=(const Stmt &) = delete;

    explicit operator bool() const { return stmt_ != nullptr; }
    Stmt &bind(int i, const std::string &s)
    {
        // SQLite copies the text: a caller may bind a temporary.
        sqlite3_bind_text(stmt_, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
        return *this;
    }
    // Without a copy: `s` must stay alive and unchanged until reset(), as
    // a batch's strings do for ingest() (the bodies, ~1 KB a heartbeat,
    // were copied once more per row).
    Stmt &bindKept(int i, const std::string &s)
    {
        sqlite3_bind_text(stmt_, i, s.data(), static_cast<int>(s.size()), SQLITE_STATIC);
        return *this;
    }
    Stmt &bind(int i, std::int64_t v)
    {
        sqlite3_bind_int64(stmt_, i, v);
        return *this;
    }
    Stmt &bind(int i, const std::optional<std::int64_t> &v)
    {
        if (v)
            sqlite3_bind_int64(stmt_, i, *v);
        else
            sqlite3_bind_null(stmt_, i);
        return *this;
    }
    int step() { return sqlite3_step(stmt_); }
    sqlite3_stmt *raw() const { return stmt_; }
    void reset()
    {
        if (!stmt_)
            return;
        sqlite3_reset(stmt_);
        sqlite3_clear_bindings(stmt_);
    }
    std::string text(int col) const
    {
        const auto *p = reinterpret_cast<const char *>(sqlite3_column_text(stmt_, col));
        return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col))) : std::string();
    }
    std::int64_t integer(int col) const { return sqlite3_column_int64(stmt_, col); }
    std::optional<std::int64_t> optInteger(int col) const
    {
        if (sqlite3_column_type(stmt_, col) == SQLITE_NULL)
            return std::nullopt;
        return sqlite3_column_int64(stmt_, col);
    }

private:
    sqlite3_stmt *stmt_ = nullptr;
};

StorageResult<void> exec(sqlite3 *db, const char *sql)
{
    char *err = nullptr;
    if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
        std::string message = err ? err : "unknown error";
        sqlite3_free(err);
        return fail(StorageError::Code::Failed, message + " (in: " + std::string(sql).substr(0, 60) + ")");
    }
    return {};
}

StorageResult<sqlite3 *> openConnection(const std::string &path, bool writer)
{
    sqlite3 *db = nullptr;
    const int flags = (writer ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE : SQLITE_OPEN_READONLY)
                      | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(path.c_str(), &db, flags, nullptr) != SQLITE_OK) {
        std::string message = db ? sqlite3_errmsg(db) : "out of memory";
        sqlite3_close(db);
        return fail(StorageError::Code::Unavailable, "cannot open " + path + ": " + message);
    }
    sqlite3_busy_timeout(db, kBusyTimeoutMs);
    sqlite3_extended_result_codes(db, 1);
    const std::string cache = "PRAGMA cache_size=-" + std::to_string(writer ? kWriterCacheKiB : kReaderCacheKiB);
    if (auto r = exec(db, cache.c_str()); !r) {
        sqlite3_close(db);
        return fail(StorageError::Code::Unavailable, "cannot set up " + path + ": " + r.error().message);
    }
    if (writer) {
        // Checkpoints are the checkpointer thread's (SqliteStorage::Impl).
        for (const char *pragma : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL", "PRAGMA foreign_keys=ON",
                                   "PRAGMA wal_autocheckpoint=0", "PRAGMA journal_size_limit=67108864"}) {
            if (auto r = exec(db, pragma); !r) {
                sqlite3_close(db);
                return fail(StorageError::Code::Unavailable, "cannot set up " + path + ": " + r.error().message);
            }
        }
    }
    return db;
}

// Rolls back unless committed: every write is all-or-nothing.
class Transaction {
public:
    explicit Transaction(sqlite3 *db) : db_(db) {}
    ~Transaction()
    {
        if (open_)
            sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    }
    Transaction(const Transaction &) = delete;
    Transaction &operator=(const Transaction &) = delete;
    StorageResult<void> begin()
    {
        if (auto r = exec(db_, "BEGIN IMMEDIATE"); !r)
            return r;
        open_ = true;
        return {};
    }
    StorageResult<void> commit()
    {
        if (auto r = exec(db_, "COMMIT"); !r)
            return r;
        open_ = false;
        return {};
    }

private:
    sqlite3 *db_;
    bool open_ = false;
};

} // namespace

struct SqliteStorage::Impl {
    std::string path;
    std::mutex writeMutex; // guards writer
    std::unique_ptr<Connection> writer;

    // Readers are opened after migrate() (a read-only connection cannot
    // create the file) and handed out one per call.
    std::mutex readMutex; // guards readers, readersOpened
    std::condition_variable readerFree;
    std::vector<std::unique_ptr<Connection>> readers;
    int readersOpened = 0;

    // Checkpoints run on their own thread and connection, off the commit
    // path: SQLite's default runs them inside a commit, so every thousandth
    // batch waited for the database file's writes and fsync.
    std::mutex checkpointMutex; // guards walPages, walBackfilled, stopping
    std::condition_variable checkpointWake;
    int walPages = 0;
    // The checkpointer copied the whole WAL into the database: the writer's
    // next turn copies what it committed since (a batch or two) and so
    // restarts the WAL (finishCheckpoint()); no other pass meanwhile.
    bool walBackfilled = false;
    bool stopping = false;
    std::thread checkpointer; // last: started once the rest is built

    ~Impl()
    {
        {
            std::lock_guard lock(checkpointMutex);
            stopping = true;
        }
        checkpointWake.notify_all();
        if (checkpointer.joinable())
            checkpointer.join();
    }

    // sqlite3_wal_hook: after each commit of the writer.
    static int onWalCommit(void *arg, sqlite3 *, const char *, int pages)
    {
        auto *self = static_cast<Impl *>(arg);
        bool due;
        {
            std::lock_guard lock(self->checkpointMutex);
            self->walPages = pages;
            due = pages >= kCheckpointPages;
        }
        if (due)
            self->checkpointWake.notify_one();
        return SQLITE_OK;
    }

    void runCheckpoints()
    {
        std::unique_ptr<Connection> conn;
        std::unique_lock lock(checkpointMutex);
        while (!stopping) {
            checkpointWake.wait_for(lock, std::chrono::seconds(5), [this] {
                return stopping || (walPages >= kCheckpointPages && !walBackfilled);
            });
            if (stopping)
                break;
            // Woken by the clock with the writer's turn still due: no batch
            // came for seconds; this pass stands in for it (other writes).
            walBackfilled = false;
            walPages = 0;
            lock.unlock();
            if (!conn) {
                if (auto db = openConnection(path, true))
                    conn = std::make_unique<Connection>(*db);
            }
            if (conn) {
                // Passes until the last one found few new frames (each
                // copies only what was committed during the one before), so
                // the writer's own pass (finishCheckpoint()) stays short.
                int frames = 0, copied = 0, before = 0;
                for (int pass = 0; pass < kCheckpointPasses; ++pass) {
                    const int rc = sqlite3_wal_checkpoint_v2(*conn, nullptr, SQLITE_CHECKPOINT_PASSIVE, &frames, &copied);
                    if (rc == SQLITE_OK && frames > kWalRestartFrames) {
                        sqlite3_wal_checkpoint_v2(*conn, nullptr, SQLITE_CHECKPOINT_RESTART, &frames, &copied);
                        break;
                    }
                    if (rc != SQLITE_OK || frames <= 0 || copied != frames)
                        break; // busy, or a reader holds older frames: the next pass
                    if (frames - before <= kFinishFrames) {
                        std::lock_guard backfilled(checkpointMutex);
                        walBackfilled = true;
                        break;
                    }
                    before = frames;
                }
            }
            lock.lock();
        }
    }


    // The writer's side of a checkpoint, under writeMutex before a write
    // transaction. SQLite restarts the WAL from its start only when a
    // write transaction begins with the whole WAL already in the database,
    // and under load the writer's next batch has always begun before the
    // checkpointer's copy ends: the WAL then grew to kWalRestartFrames,
    // every commit woke the checkpointer again (a database fsync beside
    // each WAL fsync), and every WAL fsync of an appended file waited for a
    // journal commit (issue 16: p99 of the heartbeats). Here the writer
    // copies the few frames it committed since the checkpointer's pass,
    // with its fsync, once per pass (~kCheckpointPages of WAL); its next
    // transaction then writes the WAL from the start, over the file's
    // blocks. Busy (the checkpointer is running again, a reader holds an
    // old snapshot): nothing happens until the next pass.
    void finishCheckpoint()
    {
        {
            std::lock_guard lock(checkpointMutex);
            if (!walBackfilled)
                return;
        }
        int frames = 0, copied = 0;
        sqlite3_wal_checkpoint_v2(*writer, nullptr, SQLITE_CHECKPOINT_PASSIVE, &frames, &copied);
        std::lock_guard lock(checkpointMutex);
        walBackfilled = false;
    }

    // A reader connection, returned to the pool when the lease ends.
    class Lease {
    public:
        Lease(Impl *impl, std::unique_ptr<Connection> conn) : impl_(impl), conn_(std::move(conn)) {}
        ~Lease()
        {
            if (conn_) {
                std::lock_guard lock(impl_->readMutex);
                impl_->readers.push_back(std::move(conn_));
                impl_->readerFree.notify_one();
            }
        }
        Lease(Lease &&o) noexcept : impl_(o.impl_), conn_(std::move(o.conn_)) {}
        Lease &operator=(Lease &&) = delete;
        Connection &db() const { return *conn_; }

    private:
        Impl *impl_;
        std::unique_ptr<Connection> conn_;
    };

    StorageResult<Lease> reader()
    {
        std::unique_lock lock(readMutex);
        if (readers.empty() && readersOpened < kReaders) {
            ++readersOpened;
            lock.unlock();
            auto db = openConnection(path, false);
            if (!db) {
                std::lock_guard relock(readMutex);
                --readersOpened;
                return std::unexpected(db.error());
            }
            return Lease(this, std::make_unique<Connection>(*db));
        }
        readerFree.wait(lock, [this] { return !readers.empty(); });
        auto conn = std::move(readers.back());
        readers.pop_back();
        return Lease(this, std::move(conn));
    }
};

SqliteStorage::SqliteStorage(std::unique_ptr<Impl> impl) : d(std::move(impl)) {}
SqliteStorage::~SqliteStorage() = default;

StorageResult<std::unique_ptr<SqliteStorage>> SqliteStorage::open(const std::string &path)
{
    auto impl = std::make_unique<Impl>();
    impl->path = path;
    auto db = openConnection(path, true);
    if (!db)
        return std::unexpected(db.error());
    impl->writer = std::make_unique<Connection>(*db);
    sqlite3_wal_hook(*impl->writer, &Impl::onWalCommit, impl.get());
    impl->checkpointer = std::thread([raw = impl.get()] { raw->runCheckpoints(); });
    return std::unique_ptr<SqliteStorage>(new SqliteStorage(std::move(impl)));
}

StorageResult<void> SqliteStorage::migrate()
{
    std::lock_guard lock(d->writeMutex);
    Transaction tx(*d->writer);
    if (auto r = tx.begin(); !r)
        return r;
    Stmt version(*d->writer, "PRAGMA user_version");
    if (!version || version.step() != SQLITE_ROW)
        return dbFail(*d->writer, "reading the schema version");
    const auto current = version.integer(0);
    version.reset();
    if (current > kSchemaVersion)
        return fail(StorageError::Code::Invalid,
                    "the database's schema version " + std::to_string(current) + " is newer than this hub knows ("
                        + std::to_string(kSchemaVersion) + "): run a newer stoa-hub");
    if (current < 1) {
        if (auto r = exec(*d->writer, kSchemaV1); !r)
            return r;
    }
    if (current < 2) {
        if (auto r = exec(*d->writer, kSchemaV2); !r)
            return r;
    }
    if (current < 3) {
        if (auto r = exec(*d->writer, kSchemaV3); !r)
            return r;
    }
    if (current < 4) {
        if (auto r = exec(*d->writer, kSchemaV4); !r)
            return r;
    }
    if (current < 5) {
        if (auto r = exec(*d->writer, kSchemaV5); !r)
            return r;
    }
    if (current < 6) {
        if (auto r = exec(*d->writer, kSchemaV6); !r)
            return r;
    }
    if (current < 7) {
        if (auto r = exec(*d->writer, kSchemaV7); !r)
            return r;
    }
    if (auto r = exec(*d->writer, ("PRAGMA user_version=" + std::to_string(kSchemaVersion)).c_str()); !r)
        return r;
    return tx.commit();
}

StorageResult<void> SqliteStorage::ping()
{
    auto lease = d->reader();
    if (!lease)
        return std::unexpected(lease.error());
    Stmt s(lease->db(), "SELECT count(*) FROM sqlite_schema");
    if (!s || s.step() != SQLITE_ROW)
        return fail(StorageError::Code::Unavailable, std::string("database does not answer: ")
                                                         + sqlite3_errmsg(lease->db()));
    return {};
}

StorageResult<void> SqliteStorage::addDevice(const std::string &id, const std::string &tokenHash, std::int64_t nowMs)
{
    std::lock_guard lock(d->writeMutex);
    Stmt s(*d->writer, "INSERT INTO devices(id, token_hash, created_at_ms, cred_version) VALUES(?1, ?2, ?3, (SELECT coalesce(max(cred_version), 0) + 1 FROM devices))");
    if (!s)
        return dbFail(*d->writer, "adding a device");
    s.bind(1, id).bind(2, tokenHash).bind(3, nowMs);
    if (s.step() != SQLITE_DONE) {
        auto e = dbFail(*d->writer, "adding a device");
        if (e.error().code == StorageError::Code::Conflict)
            e.error().message = "device " + id + " exists already";
        return e;
    }
    return {};
}

StorageResult<void> SqliteStorage::setDeviceToken(const std::string &id, const std::string &tokenHash)
{
    std::lock_guard lock(d->writeMutex);
    Stmt s(*d->writer, "UPDATE devices SET token_hash = ?2, revoked = 0, cred_version = (SELECT coalesce(max(cred_version), 0) + 1 FROM devices) WHERE id = ?1");
    if (!s)
        return dbFail(*d->writer, "setting a device token");
    s.bind(1, id).bind(2, tokenHash);
    if (s.step() != SQLITE_DONE)
        return dbFail(*d->writer, "setting a device token");
    if (sqlite3_changes(*d->writer) == 0)
        return fail(StorageError::Code::NotFound, "no device " + id);
    return {};
}

StorageResult<void> SqliteStorage::revokeDevice(const std::string &id)
{
    std::lock_guard lock(d->writeMutex);
    Stmt s(*d->writer, "UPDATE devices SET revoked = 1, cred_version = (SELECT coalesce(max(cred_version), 0) + 1 FROM devices) WHERE id = ?1");
    if (!s)
        return dbFail(*d->writer, "revoking a device");
    s.bind(1, id);
    if (s.step() != SQLITE_DONE)
        return dbFail(*d->writer, "revoking a device");
    if (sqlite3_changes(*d->writer) == 0)
        return fail(StorageError::Code::NotFound, "no device " + id);
    return {};
}

StorageResult<std::optional<std::string>> SqliteStorage::deviceForToken(const std::string &tokenHash)
{
    auto lease = d->reader();
    if (!lease)
        return std::unexpected(lease.error());
    Stmt s(lease->db(), "SELECT id FROM devices WHERE token_hash = ?1 AND revoked = 0");
    if (!s)
        return dbFail(lease->db(), "looking up a device token");
    s.bind(1, tokenHash);
    const int rc = s.step();
    if (rc == SQLITE_ROW)
        return s.text(0);
    if (rc == SQLITE_DONE)
        return std::nullopt;
    return dbFail(lease->db(), "looking up a device token");
}

StorageResult<bool> SqliteStorage::deviceExists(const std::string &id)
{
    auto lease = d->reader();
    if (!lease)
        return std::unexpected(lease.error());
    Stmt s(lease->db(), "SELECT 1 FROM devices WHERE id = ?1");
    if (!s)
        return dbFail(lease->db(), "looking up a device");
    s.bind(1, id);
    const int rc = s.step();
    if (rc == SQLITE_ROW || rc == SQLITE_DONE)
        return rc == SQLITE_ROW;
    return dbFail(lease->db(), "looking up a device");
}

StorageResult<std::vector<DeviceCredential>> SqliteStorage::credentialsSince(std::int64_t afterVersion)
{
    auto lease = d->reader();
    if (!lease)
        return std::unexpected(lease.error());
    Stmt s(lease->db(), "SELECT id, coalesce(token_hash, ''), revoked, cred_version FROM devices "
                        "WHERE cred_version > ?1 ORDER BY cred_version");
    if (!s)
        return dbFail(lease->db(), "reading credentials");
    s.bind(1, afterVersion);
    std::vector<DeviceCredential> out;
    int rc;
    while ((rc = s.step()) == SQLITE_ROW)
        out.push_back({s.text(0), s.text(1), s.integer(2) != 0, s.integer(3)});
    if (rc != SQLITE_DONE)
        return dbFail(lease->db(), "reading credentials");
    return out;
}

StorageResult<void> SqliteStorage::setDeviceGroup(const std::string &id, const std::optional<std::string> &group)
{
    std::lock_guard lock(d->writeMutex);
    Stmt s(*d->writer, "UPDATE devices SET grp = ?2 WHERE id = ?1");
    if (!s)
        return dbFail(*d->writer, "setting a group");
    s.bind(1, id);
    if (group)
        s.bind(2, *group);
    if (s.step() != SQLITE_DONE)
        return dbFail(*d->writer, "setting a group");
    if (sqlite3_changes(*d->writer) == 0)
        return fail(StorageError::Code::NotFound, "no device " + id);
    return {};
}

StorageResult<void> SqliteStorage::setDeviceTags(const std::string &id, const std::vector<std::string> &tags)
{
    std::vector<std::string> sorted = tags;
    std::sort(sorted.begin(), sorted.end());
    sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
    std::string joined;
    for (const auto &t : sorted)
        joined += (joined.empty() ? "" : ",") + t;
    std::lock_guard lock(d->writeMutex);
    Stmt s(*d->writer, "UPDATE devices SET tags = ?2 WHERE id = ?1");
    if (!s)
        return dbFail(*d->writer, "setting tags");
    s.bind(1, id).bind(2, joined);
    if (s.step() != SQLITE_DONE)
        return dbFail(*d->writer, "setting tags");
    if (sqlite3_changes(*d->writer) == 0)
        return fail(StorageError::Code::NotFound, "no device " + id);
    return {};
}

StorageResult<std::vector<DeviceSummary>> SqliteStorage::devices()
{
    auto lease = d->reader();
    if (!lease)
        return std::unexpected(lease.error());
    Stmt s(lease->db(), "SELECT id, revoked, last_seen_at_ms, manifest_version, plays, last_screenshot_at_ms, grp, tags "
                        "FROM devices ORDER BY id");
    if (!s)
        return dbFail(lease->db(), "listing devices");
    std::vector<DeviceSummary> out;
    int rc;
    while ((rc = s.step()) == SQLITE_ROW) {
        DeviceSummary dev{s.text(0), s.integer(1) != 0, s.optInteger(2), s.optInteger(3), s.integer(4), s.optInteger(5), {}, {}};
        if (sqlite3_column_type(s.raw(), 6) != SQLITE_NULL)
            dev.group = s.text(6);
        dev.tags = splitTags(s.text(7));
        out.push_back(std::move(dev));
    }
    if (rc != SQLITE_DONE)
        return dbFail(lease->db(), "listing devices");
    return out;
}

StorageResult<std::int64_t> SqliteStorage::deviceCount()
{
    auto lease = d->reader();
    if (!lease)
        return std::unexpected(lease.error());
    Stmt s(lease->db(), "SELECT count(*) FROM devices");
    if (!s || s.step() != SQLITE_ROW)
        return dbFail(lease->db(), "counting devices");
    return s.integer(0);
}

StorageResult<std::optional<StatusReport>> SqliteStorage::latestStatus(const std::string &id)
{
    auto lease = d->reader();
    if (!lease)
        return std::unexpected(lease.error());
    Stmt s(lease->db(), "SELECT s.received_at_ms, s.manifest_version, s.body FROM devices d "
                        "JOIN statuses s ON s.rowid = d.last_status_rowid WHERE d.id = ?1");
    if (!s)
        return dbFail(lease->db(), "reading a status");
    s.bind(1, id);
    const int rc = s.step();
    if (rc == SQLITE_DONE)
        return std::nullopt;
    if (rc != SQLITE_ROW)
        return dbFail(lease->db(), "reading a status");
    return StatusReport{id, s.integer(0), s.optInteger(1), s.text(2)};
}

StorageResult<std::vector<StatusReport>> SqliteStorage::statusHistory(const std::string &id, int limit)
{
    auto lease = d->reader();
    if (!lease)
        return std::unexpected(lease.error());
    Stmt s(lease->db(), "SELECT received_at_ms, manifest_version, body FROM statuses WHERE device_id = ?1 "
                        "ORDER BY received_at_ms DESC, rowid DESC LIMIT ?2");
    if (!s)
        return dbFail(lease->db(), "reading status history");
    s.bind(1, id).bind(2, std::int64_t{limit});
    std::vector<StatusReport> out;
    int rc;
    while ((rc = s.step()) == SQLITE_ROW)
        out.push_back({id, s.integer(0), s.optInteger(1), s.text(2)});
    if (rc != SQLITE_DONE)
        return dbFail(lease->db(), "reading status history");
    return out;
}

StorageResult<OnlineRecord> SqliteStorage::onlineStretches(const std::string &id, std::int64_t sinceMs)
{
    auto lease = d->reader();
    if (!lease)
        return std::unexpected(lease.error());
    Stmt first(lease->db(), "SELECT min(from_ms) FROM online_stretches WHERE device_id = ?1");
    // The device's open stretch ends at its last heartbeat (kSchemaV7).
    Stmt s(lease->db(), "SELECT s.from_ms, max(s.to_ms, coalesce(d.last_seen_at_ms, s.to_ms)) AS to_end "
                        "FROM online_stretches AS s LEFT JOIN devices AS d ON d.id = ?1 AND d.online_stretch = s.rowid "
                        "WHERE s.device_id = ?1 AND to_end >= ?2 ORDER BY s.from_ms, to_end");
    if (!first || !s)
        return dbFail(lease->db(), "reading online stretches");
    OnlineRecord out;
    first.bind(1, id);
    if (first.step() != SQLITE_ROW)
        return dbFail(lease->db(), "reading online stretches");
    out.recordedFromMs = first.optInteger(0);
    first.reset();
    s.bind(1, id).bind(2, sinceMs);
    int rc;
    while ((rc = s.step()) == SQLITE_ROW)
        out.stretches.push_back(OnlineStretch{s.integer(0), s.integer(1)});
    if (rc != SQLITE_DONE)
        return dbFail(lease->db(), "reading online stretches");
    return out;
}

StorageResult<std::vector<PlayRecord>> SqliteStorage::plays(const std::string &id, int limit)
{
    auto lease = d->reader();
    if (!lease)
        return std::unexpected(lease.error());
    Stmt s(lease->db(), "SELECT id, received_at_ms, line FROM plays WHERE device_id = ?1 "
                        "ORDER BY received_at_ms, id LIMIT ?2");
    if (!s)
        return dbFail(lease->db(), "reading plays");
    s.bind(1, id).bind(2, std::int64_t{limit});
    std::vector<PlayRecord> out;
    int rc;
    while ((rc = s.step()) == SQLITE_ROW)
        out.push_back({id, s.text(0), s.integer(1), s.text(2)});
    if (rc != SQLITE_DONE)
        return dbFail(lease->db(), "reading plays");
    return out;
}

StorageResult<std::vector<PlayRecord>> SqliteStorage::playsReceivedBetween(std::int64_t fromMs, std::int64_t untilMs,
                                                                          int limit)
{
    auto lease = d->reader();
    if (!lease)
        return std::unexpected(lease.error());
    Stmt s(lease->db(), "SELECT device_id, id, received_at_ms, line FROM plays "
                        "WHERE received_at_ms >= ?1 AND received_at_ms < ?2 "
                        "ORDER BY received_at_ms, device_id, id LIMIT ?3");
    if (!s)
        return dbFail(lease->db(), "reading plays");
    s.bind(1, fromMs).bind(2, untilMs).bind(3, std::int64_t{limit});
    std::vector<PlayRecord> out;
    int rc;
    while ((rc = s.step()) == SQLITE_ROW)
        out.push_back({s.text(0), s.text(1), s.integer(2), s.text(3)});
    if (rc != SQLITE_DONE)
        return dbFail(lease->db(), "reading plays");
    return out;
}

StorageResult<std::int64_t> SqliteStorage::addAudit(const AuditEntry &entry)
{
    std::lock_guard lock(d->writeMutex);
    Stmt s(*d->writer, "INSERT INTO audit (at_ms, operator, action, target, detail) VALUES (?1, ?2, ?3, ?4, ?5)");
    if (!s)
        return dbFail(*d->writer, "adding to the audit log");
    s.bind(1, entry.atMs).bind(2, entry.operatorName).bind(3, entry.action).bind(4, entry.target).bind(5, entry.detail);
    if (s.step() != SQLITE_DONE)
        return dbFail(*d->writer, "adding to the audit log");
    return std::int64_t{sqlite3_last_insert_rowid(*d->writer)};
}

StorageResult<std::vector<AuditEntry>> SqliteStorage::audit(std::int64_t beforeId, int limit)
{
    auto lease = d->reader();
    if (!lease)
        return std::unexpected(lease.error());
    Stmt s(lease->db(), "SELECT id, at_ms, operator, action, target, detail FROM audit "
                        "WHERE ?1 <= 0 OR id < ?1 ORDER BY id DESC LIMIT ?2");
    if (!s)
        return dbFail(lease->db(), "reading the audit log");
    s.bind(1, beforeId).bind(2, std::int64_t{limit});
    std::vector<AuditEntry> out;
    int rc;
    while ((rc = s.step()) == SQLITE_ROW)
        out.push_back({s.integer(0), s.integer(1), s.text(2), s.text(3), s.text(4), s.text(5)});
    if (rc != SQLITE_DONE)
        return dbFail(lease->db(), "reading the audit log");
    return out;
}

StorageResult<void> SqliteStorage::addOperator(const std::string &name, Role role, const std::string &tokenHash,
                                               std::int64_t nowMs)
{
    std::lock_guard lock(d->writeMutex);
    Stmt s(*d->writer, "INSERT INTO operators(name, role, token_hash, created_at_ms) VALUES(?1, ?2, ?3, ?4)");
    if (!s)
        return dbFail(*d->writer, "adding an operator");
    s.bind(1, name).bind(2, std::string(roleName(role))).bind(3, tokenHash).bind(4, nowMs);
    if (s.step() != SQLITE_DONE) {
        auto e = dbFail(*d->writer, "adding an operator");
        if (e.error().code == StorageError::Code::Conflict)
            e.error().message = "operator " + name + " exists already";
        return e;
    }
    return {};
}

StorageResult<std::optional<Operator>> SqliteStorage::operatorForToken(const std::string &tokenHash)
{
    auto lease = d->reader();
    if (!lease)
        return std::unexpected(lease.error());
    Stmt s(lease->db(), "SELECT name, role FROM operators WHERE token_hash = ?1");
    if (!s)
        return dbFail(lease->db(), "looking up an operator token");
    s.bind(1, tokenHash);
    const int rc = s.step();
    if (rc == SQLITE_DONE)
        return std::nullopt;
    if (rc != SQLITE_ROW)
        return dbFail(lease->db(), "looking up an operator token");
    const auto role = roleFromName(s.text(1));
    if (!role)
        return fail(StorageError::Code::Failed, "operator " + s.text(0) + " has an unknown role " + s.text(1));
    return Operator{s.text(0), *role};
}

StorageResult<void> SqliteStorage::setOperatorPassword(const std::string &name, const std::string &passwordHash)
{
    std::lock_guard lock(d->writeMutex);
    Stmt s(*d->writer, "UPDATE operators SET password_hash = ?2 WHERE name = ?1");
    if (!s)
        return dbFail(*d->writer, "setting a password");
    s.bind(1, name).bind(2, passwordHash);
    if (s.step() != SQLITE_DONE)
        return dbFail(*d->writer, "setting a password");
    if (sqlite3_changes(*d->writer) == 0)
        return fail(StorageError::Code::NotFound, "no operator " + name);
    return {};
}

StorageResult<std::optional<std::pair<Operator, std::string>>> SqliteStorage::operatorPassword(const std::string &name)
{
    auto lease = d->reader();
    if (!lease)
        return std::unexpected(lease.error());
    Stmt s(lease->db(), "SELECT name, role, password_hash FROM operators WHERE name = ?1");
    if (!s)
        return dbFail(lease->db(), "reading a password");
    s.bind(1, name);
    const int rc = s.step();
    if (rc == SQLITE_DONE)
        return std::nullopt;
    if (rc != SQLITE_ROW)
        return dbFail(lease->db(), "reading a password");
    const auto role = roleFromName(s.text(1));
    if (!role)
        return fail(StorageError::Code::Failed, "operator " + s.text(0) + " has an unknown role " + s.text(1));
    return std::pair{Operator{s.text(0), *role}, s.text(2)};
}

StorageResult<void> SqliteStorage::addSession(const std::string &tokenHash, const std::string &name, std::int64_t expiresAtMs)
{
    std::lock_guard lock(d->writeMutex);
    Stmt s(*d->writer, "INSERT INTO sessions(token_hash, name, expires_at_ms) VALUES(?1, ?2, ?3)");
    Stmt old(*d->writer, "DELETE FROM sessions WHERE expires_at_ms < ?1");
    if (!s || !old)
        return dbFail(*d->writer, "adding a session");
    // Expired sessions go whenever a new one comes: the table stays small.
    old.bind(1, expiresAtMs - std::int64_t{30} * 86400 * 1000);
    s.bind(1, tokenHash).bind(2, name).bind(3, expiresAtMs);
    if (old.step() != SQLITE_DONE || s.step() != SQLITE_DONE)
        return dbFail(*d->writer, "adding a session");
    return {};
}

StorageResult<std::optional<Operator>> SqliteStorage::sessionOperator(const std::string &tokenHash, std::int64_t nowMs)
{
    auto lease = d->reader();
    if (!lease)
        return std::unexpected(lease.error());
    Stmt s(lease->db(), "SELECT o.name, o.role FROM sessions s JOIN operators o ON o.name = s.name "
                        "WHERE s.token_hash = ?1 AND s.expires_at_ms > ?2");
    if (!s)
        return dbFail(lease->db(), "looking up a session");
    s.bind(1, tokenHash).bind(2, nowMs);
    const int rc = s.step();
    if (rc == SQLITE_DONE)
        return std::nullopt;
    if (rc != SQLITE_ROW)
        return dbFail(lease->db(), "looking up a session");
    const auto role = roleFromName(s.text(1));
    if (!role)
        return fail(StorageError::Code::Failed, "operator " + s.text(0) + " has an unknown role " + s.text(1));
    return Operator{s.text(0), *role};
}

StorageResult<void> SqliteStorage::removeSession(const std::string &tokenHash)
{
    std::lock_guard lock(d->writeMutex);
    Stmt s(*d->writer, "DELETE FROM sessions WHERE token_hash = ?1");
    if (!s)
        return dbFail(*d->writer, "ending a session");
    s.bind(1, tokenHash);
    if (s.step() != SQLITE_DONE)
        return dbFail(*d->writer, "ending a session");
    return {};
}

StorageResult<IngestCounts> SqliteStorage::ingest(const IngestBatch &batch)
{
    IngestCounts counts;
    if (batch.empty())
        return counts;
    std::lock_guard lock(d->writeMutex);
    d->finishCheckpoint();
    Connection &db = *d->writer;
    Transaction tx(db);
    if (auto r = tx.begin(); !r)
        return std::unexpected(r.error());

    Stmt addStatus(db, "INSERT INTO statuses(device_id, received_at_ms, manifest_version, body) VALUES(?1, ?2, ?3, ?4)");
    // The usual heartbeat: the device's newest, within the window of its
    // open stretch (kSchemaV7), which it then extends by moving
    // last_seen_at_ms alone: one statement, the one that keeps the latest
    // status anyway. No row changed: the full path below.
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
    // The open stretches' ends go into their rows first (kSchemaV7), and
    // a device whose open stretch went is taken down the full path by its
    // next heartbeat.
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
