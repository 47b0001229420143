// cache/database.h — one SQLite connection to state.db, through the C API.
//
// Job: open with the settings every Stoa process must share (WAL journal,
// synchronous=FULL so a commit survives power loss, a busy timeout so the
// player and the agent can write at the same time, foreign keys on), apply
// schema migrations by PRAGMA user_version, and offer small RAII helpers.
//
// Thread-safety: a Database is used by one thread at a time. A background
// thread (the scrubber) opens its own connection.
// Invariant: after open() succeeded, the schema is at kSchemaVersion.
#pragma once

#include "cache/error.h"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>

struct sqlite3;
struct sqlite3_stmt;

namespace stoa::cache {

class Statement;

class Database {
public:
    static constexpr int kSchemaVersion = 2;
    static constexpr int kBusyTimeoutMs = 10000;

    // Opens (creating if absent) and migrates. A file that is not a database
    // or fails quick_check yields ErrorCode::Corrupt, so the caller can move
    // it aside and rebuild.
    static Result<Database> open(const std::filesystem::path &file);

    Database(Database &&) noexcept;
    Database &operator=(Database &&) noexcept;
    Database(const Database &) = delete;
    Database &operator=(const Database &) = delete;
    ~Database();

    Result<void> exec(std::string_view sql);
    Result<Statement> prepare(std::string_view sql);
    // The first column of the first row of `sql` (a COUNT, a SUM, a PRAGMA).
    Result<std::int64_t> queryInt(std::string_view sql);
    // The same as text; nullopt when the query returns no row.
    Result<std::optional<std::string>> queryText(std::string_view sql);

    // "ok" or the first problem PRAGMA integrity_check reports.
    Result<std::string> integrityCheck();
    // Changes whenever another connection commits (PRAGMA data_version):
    // the cheap way to learn the other process wrote something.
    Result<std::int64_t> dataVersion();

    Error lastError(const std::string &what) const;
    sqlite3 *handle() const { return m_db; }

private:
    explicit Database(sqlite3 *db) : m_db(db) {}
    Result<void> configure();
    Result<void> migrate();

    sqlite3 *m_db = nullptr; // owned; closed in the destructor
};

// A prepared statement. Bind indexes are 1-based, column indexes 0-based,
// as in SQLite.
class Statement {
public:
    enum class Step { Row, Done };

    Statement(Statement &&) noexcept;
    Statement &operator=(Statement &&) noexcept;
    Statement(const Statement &) = delete;
    Statement &operator=(const Statement &) = delete;
    ~Statement();

    Statement &bind(int index, std::int64_t value);
    Statement &bind(int index, std::string_view text);
    Statement &bindBlob(int index, std::span<const std::byte> bytes);
    Statement &bindNull(int index);
    template <class T>
    Statement &bind(int index, const std::optional<T> &v)
    {
        return v ? bind(index, *v) : bindNull(index);
    }

    Result<Step> step();
    // Steps through every remaining row, calling fn(*this) for each.
    template <class F>
    Result<void> each(F &&fn)
    {
        for (;;) {
            auto s = step();
            if (!s)
                return std::unexpected(s.error());
            if (*s == Step::Done)
                return {};
            fn(*this);
        }
    }
    // Runs to completion, for statements that return no rows.
    Result<void> run();
    void reset();

    std::int64_t columnInt(int col) const;
    std::string columnText(int col) const;
    std::string columnBlob(int col) const;
    bool columnIsNull(int col) const;

private:
    friend class Database;
    Statement(sqlite3_stmt *stmt, const Database *db) : m_stmt(stmt), m_db(db) {}
    sqlite3_stmt *m_stmt = nullptr; // owned; finalized in the destructor
    const Database *m_db = nullptr; // for error messages; outlives the statement
};

// BEGIN IMMEDIATE on construction (takes the write lock up front, so two
// writers never deadlock upgrading a read lock), ROLLBACK on destruction
// unless commit() succeeded.
class Transaction {
public:
    static Result<Transaction> begin(Database &db);
    Transaction(Transaction &&o) noexcept : m_db(std::exchange(o.m_db, nullptr)) {}
    Transaction(const Transaction &) = delete;
    Transaction &operator=(const Transaction &) = delete;
    Transaction &operator=(Transaction &&) = delete;
    ~Transaction();
    Result<void> commit();

private:
    explicit Transaction(Database *db) : m_db(db) {}
    Database *m_db = nullptr; // null once committed or rolled back
};

} // namespace stoa::cache
