// hub/sqlite_storage_impl.h — the SQLite backend's plumbing, shared by the
// files that define SqliteStorage's members: a connection with its cache of
// prepared statements, a statement reset by scope, a transaction that rolls
// back unless committed, errors as StorageError values, and
// SqliteStorage::Impl (the writer, the pool of readers, the checkpointer).
// The members by concern: sqlite_storage.cpp (open, connections,
// checkpoints, ping), sqlite_schema.cpp (migrations), sqlite_devices.cpp
// (devices and their credentials), sqlite_operators.cpp (operators,
// sessions, audit log), sqlite_history.cpp (reading statuses, online
// stretches, plays), sqlite_ingest.cpp (ingest, screenshots, retention).
// Invariants: those of sqlite_storage.h; a Connection and its statements
// are used by one thread at a time (the writer under writeMutex, a reader
// while leased). Internal to those files.
#pragma once

#include "hub/sqlite_storage.h"

#include <sqlite3.h>

#include <condition_variable>
#include <cstdint>
#include <expected>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

namespace stoa::hub::sqlite {

std::unexpected<StorageError> fail(StorageError::Code code, std::string message);
// The connection's last error; a constraint violation is a Conflict.
std::unexpected<StorageError> dbFail(sqlite3 *db, const char *what);

// One connection and the statements prepared on it. Statements are
// prepared once (SQLITE_PREPARE_PERSISTENT) and reused: preparing anew per
// call was a quarter of the hub's CPU under ingest. Keyed by the SQL
// literal's address: every statement is a literal in the sqlite_*.cpp files.
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

// Runs `sql` (one or more statements), ignoring any rows.
StorageResult<void> exec(sqlite3 *db, const char *sql);

// The writer (read-write, creating the file; WAL, synchronous=FULL, no
// automatic checkpoints) or a reader (read-only).
StorageResult<sqlite3 *> openConnection(const std::string &path, bool writer);

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

} // namespace stoa::hub::sqlite

namespace stoa::hub {

struct SqliteStorage::Impl {
    using Connection = sqlite::Connection;

    std::string path;
    std::mutex writeMutex; // guards writer
    std::unique_ptr<Connection> writer;

    // syncCommitted()'s own descriptor of the WAL file (fdatasync syncs the
    // file whichever descriptor names it), reopened if the file was
    // replaced; -1 until the first sync.
    std::mutex syncMutex; // guards walFd, walInode
    std::string walPath;
    int walFd = -1;
    unsigned long walInode = 0;

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

    ~Impl();

    // sqlite3_wal_hook: after each commit of the writer.
    static int onWalCommit(void *arg, sqlite3 *, const char *, int pages);
    // The checkpointer thread: passive checkpoints when the WAL is due.
    void runCheckpoints();

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
    void finishCheckpoint();

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

    StorageResult<Lease> reader();
};

} // namespace stoa::hub
