// hub/sqlite_storage.cpp — the SQLite backend's connections: opening the
// database (SqliteStorage::open), each connection's settings, the pool of
// readers, ping(), and the checkpointer that copies the WAL into the
// database off the commit path (sqlite_storage_impl.h).
#include "hub/sqlite_storage_impl.h"

#include <chrono>

#include <unistd.h>

namespace stoa::hub {
namespace sqlite {
namespace {

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

} // namespace

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

} // namespace sqlite

using namespace sqlite;

SqliteStorage::Impl::~Impl()
{
    {
        std::lock_guard lock(checkpointMutex);
        stopping = true;
    }
    checkpointWake.notify_all();
    if (checkpointer.joinable())
        checkpointer.join();
    if (walFd >= 0)
        ::close(walFd);
}

int SqliteStorage::Impl::onWalCommit(void *arg, sqlite3 *, const char *, int pages)
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

void SqliteStorage::Impl::runCheckpoints()
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

void SqliteStorage::Impl::finishCheckpoint()
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

StorageResult<SqliteStorage::Impl::Lease> SqliteStorage::Impl::reader()
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
    if (const char *wal = sqlite3_filename_wal(sqlite3_db_filename(*db, "main")))
        impl->walPath = wal;
    sqlite3_wal_hook(*impl->writer, &Impl::onWalCommit, impl.get());
    impl->checkpointer = std::thread([raw = impl.get()] { raw->runCheckpoints(); });
    return std::unique_ptr<SqliteStorage>(new SqliteStorage(std::move(impl)));
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

} // namespace stoa::hub
