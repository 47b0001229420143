#include "cache/database.h"

#include "cache/schema.h"

#include <sqlite3.h>

#include <utility>

namespace stoa::cache {

namespace {

ErrorCode codeFor(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
        return ErrorCode::Corrupt;
    case SQLITE_FULL:
        return ErrorCode::DiskFull;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return ErrorCode::Busy;
    default:
        return ErrorCode::Database;
    }
}

} // namespace

Result<Database> Database::open(const std::filesystem::path &file)
{
    sqlite3 *raw = nullptr;
    const int rc = sqlite3_open_v2(file.c_str(), &raw,
                                   SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
    Database db(raw); // owns raw even when open failed, so it is closed
    if (rc != SQLITE_OK)
        return std::unexpected(db.lastError("open " + file.string()));
    if (auto ok = db.configure(); !ok)
        return std::unexpected(ok.error());
    if (auto ok = db.migrate(); !ok)
        return std::unexpected(ok.error());
    return db;
}

Database::Database(Database &&o) noexcept : m_db(std::exchange(o.m_db, nullptr)) {}

Database &Database::operator=(Database &&o) noexcept
{
    if (this != &o) {
        sqlite3_close_v2(m_db);
        m_db = std::exchange(o.m_db, nullptr);
    }
    return *this;
}

Database::~Database() { sqlite3_close_v2(m_db); }

Error Database::lastError(const std::string &what) const
{
    if (!m_db)
        return Error{ErrorCode::Database, what + ": out of memory"};
    const int rc = sqlite3_extended_errcode(m_db);
    return Error{codeFor(rc), what + ": " + sqlite3_errmsg(m_db)};
}

Result<void> Database::configure()
{
    sqlite3_busy_timeout(m_db, kBusyTimeoutMs);
    // journal_mode answers with a row; a file that is not a database fails here.
    auto mode = prepare("PRAGMA journal_mode=WAL");
    if (!mode)
        return std::unexpected(mode.error());
    auto step = mode->step();
    if (!step)
        return std::unexpected(step.error());
    if (*step != Statement::Step::Row || mode->columnText(0) != "wal")
        return fail(ErrorCode::Database, "could not switch state.db to WAL mode");
    return exec("PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;");
}

Result<void> Database::migrate()
{
    auto version = prepare("PRAGMA user_version");
    if (!version)
        return std::unexpected(version.error());
    if (auto s = version->step(); !s)
        return std::unexpected(s.error());
    std::int64_t current = version->columnInt(0);
    if (current > kSchemaVersion)
        return fail(ErrorCode::Database, "state.db has schema version " + std::to_string(current) +
                                             ", newer than this software's " + std::to_string(kSchemaVersion));
    const auto steps = migrations();
    while (current < kSchemaVersion) {
        auto tx = Transaction::begin(*this);
        if (!tx)
            return std::unexpected(tx.error());
        // Re-read inside the write lock: the other process may have migrated meanwhile.
        version->reset();
        if (auto s = version->step(); !s)
            return std::unexpected(s.error());
        current = version->columnInt(0);
        if (current >= kSchemaVersion)
            break;
        if (auto ok = exec(steps[static_cast<std::size_t>(current)]); !ok)
            return ok;
        if (auto ok = exec("PRAGMA user_version=" + std::to_string(current + 1)); !ok)
            return ok;
        if (auto ok = tx->commit(); !ok)
            return ok;
        ++current;
    }
    return {};
}

Result<void> Database::exec(std::string_view sql)
{
    char *msg = nullptr;
    const std::string text(sql);
    const int rc = sqlite3_exec(m_db, text.c_str(), nullptr, nullptr, &msg);
    if (rc != SQLITE_OK) {
        Error e{codeFor(rc), std::string("sql: ") + (msg ? msg : sqlite3_errstr(rc))};
        sqlite3_free(msg);
        return std::unexpected(e);
    }
    return {};
}

Result<Statement> Database::prepare(std::string_view sql)
{
    sqlite3_stmt *stmt = nullptr;
    const int rc = sqlite3_prepare_v2(m_db, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr);
    if (rc != SQLITE_OK)
        return std::unexpected(lastError("prepare"));
    return Statement(stmt, this);
}

namespace {
// Prepares and steps `sql` once; nullopt when it returned no row.
Result<std::optional<Statement>> firstRow(Database &db, std::string_view sql)
{
    auto st = db.prepare(sql);
    if (!st)
        return std::unexpected(st.error());
    auto s = st->step();
    if (!s)
        return std::unexpected(s.error());
    if (*s != Statement::Step::Row)
        return std::optional<Statement>();
    return std::optional(std::move(*st));
}
} // namespace

Result<std::int64_t> Database::queryInt(std::string_view sql)
{
    auto row = firstRow(*this, sql);
    if (!row)
        return std::unexpected(row.error());
    if (!*row)
        return fail(ErrorCode::Database, "query returned no row");
    return (*row)->columnInt(0);
}

Result<std::optional<std::string>> Database::queryText(std::string_view sql)
{
    auto row = firstRow(*this, sql);
    if (!row)
        return std::unexpected(row.error());
    if (!*row)
        return std::optional<std::string>();
    return std::optional((*row)->columnText(0));
}

Result<std::string> Database::integrityCheck()
{
    auto text = queryText("PRAGMA integrity_check(1)");
    if (!text)
        return std::unexpected(text.error());
    if (!*text)
        return fail(ErrorCode::Corrupt, "integrity_check returned nothing");
    return **text;
}

Result<std::int64_t> Database::dataVersion() { return queryInt("PRAGMA data_version"); }

// --- Statement

Statement::Statement(Statement &&o) noexcept
    : m_stmt(std::exchange(o.m_stmt, nullptr)), m_db(o.m_db) {}

Statement &Statement::operator=(Statement &&o) noexcept
{
    if (this != &o) {
        sqlite3_finalize(m_stmt);
        m_stmt = std::exchange(o.m_stmt, nullptr);
        m_db = o.m_db;
    }
    return *this;
}

Statement::~Statement() { sqlite3_finalize(m_stmt); }

Statement &Statement::bind(int index, std::int64_t value)
{
    sqlite3_bind_int64(m_stmt, index, value);
    return *this;
}

Statement &Statement::bind(int index, std::string_view text)
{
    sqlite3_bind_text64(m_stmt, index, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
    return *this;
}

Statement &Statement::bindBlob(int index, std::span<const std::byte> bytes)
{
    sqlite3_bind_blob64(m_stmt, index, bytes.data(), bytes.size(), SQLITE_TRANSIENT);
    return *this;
}

Statement &Statement::bindNull(int index)
{
    sqlite3_bind_null(m_stmt, index);
    return *this;
}

Result<Statement::Step> Statement::step()
{
    const int rc = sqlite3_step(m_stmt);
    if (rc == SQLITE_ROW)
        return Step::Row;
    if (rc == SQLITE_DONE)
        return Step::Done;
    Error e = m_db->lastError("step");
    sqlite3_reset(m_stmt);
    return std::unexpected(e);
}

Result<void> Statement::run()
{
    for (;;) {
        auto s = step();
        if (!s)
            return std::unexpected(s.error());
        if (*s == Step::Done)
            break;
    }
    reset();
    return {};
}

void Statement::reset()
{
    sqlite3_reset(m_stmt);
    sqlite3_clear_bindings(m_stmt);
}

std::int64_t Statement::columnInt(int col) const { return sqlite3_column_int64(m_stmt, col); }

std::string Statement::columnText(int col) const
{
    const auto *p = sqlite3_column_text(m_stmt, col);
    const int n = sqlite3_column_bytes(m_stmt, col);
    return p ? std::string(reinterpret_cast<const char *>(p), static_cast<std::size_t>(n)) : std::string();
}

std::string Statement::columnBlob(int col) const
{
    const void *p = sqlite3_column_blob(m_stmt, col);
    const int n = sqlite3_column_bytes(m_stmt, col);
    return p ? std::string(static_cast<const char *>(p), static_cast<std::size_t>(n)) : std::string();
}

bool Statement::columnIsNull(int col) const { return sqlite3_column_type(m_stmt, col) == SQLITE_NULL; }

// --- Transaction

Result<Transaction> Transaction::begin(Database &db)
{
    if (auto ok = db.exec("BEGIN IMMEDIATE"); !ok)
        return std::unexpected(ok.error());
    return Transaction(&db);
}

Transaction::~Transaction()
{
    if (m_db)
        (void)m_db->exec("ROLLBACK");
}

Result<void> Transaction::commit()
{
    auto ok = m_db->exec("COMMIT");
    if (ok)
        m_db = nullptr;
    return ok;
}

} // namespace stoa::cache
