// hub/postgres_storage.cpp — the PostgreSQL backend's connections:
// connecting (PostgresStorage::open), reading libpq's results and errors,
// Session's statements, transactions and pipelines, the pool's leases, and
// ping() (postgres_storage_impl.h).
#include "hub/postgres_storage_impl.h"

#include <poll.h>

#include <charconv>
#include <cstring>

namespace stoa::hub {
namespace pg {
namespace {

// How long a call waits for a pooled connection before answering
// Unavailable: a stuck server must not pile up callers forever.
constexpr auto kAcquireTimeout = std::chrono::seconds(30);

// Which SQLSTATEs mean "the database is not there for us" rather than "the
// database refused this": lost connection (class 08), shutdown or start-up
// (57P01-57P03), no backend slot (53300), and a read-only server (25006:
// after a failover the address may lead to a standby until DNS catches up).
bool unavailableState(std::string_view state)
{
    return state.starts_with("08") || state == "57P01" || state == "57P02" || state == "57P03" ||
           state == "53300" || state == "25006";
}

// libpq prints notices (e.g. the server's goodbye on shutdown) to stderr by
// default; the hub reports through its error values instead.
void ignoreNotice(void *, const char *) {}

// libpq defaults the URL may override: parameters before the expanded
// dbname lose to the URL's own. connect_timeout bounds a reconnect to a
// host that went away; keepalives notice a silently dead peer. The client
// encoding comes after dbname, so it wins: the bodies we send are UTF-8.
PGconn *connectTo(const std::string &conninfo)
{
    const char *const keywords[] = {"connect_timeout",  "keepalives",       "keepalives_idle",
                                    "keepalives_interval", "keepalives_count", "fallback_application_name",
                                    "dbname",           "client_encoding",  nullptr};
    const char *const values[] = {"10", "1", "30", "10", "3", "stoa-hub", conninfo.c_str(), "UTF8", nullptr};
    PGconn *conn = PQconnectdbParams(keywords, values, 1);
    if (conn && PQstatus(conn) == CONNECTION_OK)
        PQsetNoticeProcessor(conn, ignoreNotice, nullptr);
    return conn;
}

// Whether a pooled connection can take a call as it is. An idle connection
// has nothing to read unless the server spoke first, which for an idle
// client means a notice or its goodbye (shutdown, restart, killed backend):
// consuming it shows EOF as CONNECTION_BAD before a call fails on it.
bool usable(PGconn *conn)
{
    if (PQstatus(conn) != CONNECTION_OK || PQtransactionStatus(conn) != PQTRANS_IDLE ||
        PQpipelineStatus(conn) != PQ_PIPELINE_OFF)
        return false;
    // A goodbye arrives as a message and then EOF; one read may see only
    // the message, so read until nothing is left (bounded: a chatty server
    // cannot keep the caller here).
    for (int reads = 0; reads < 8; ++reads) {
        pollfd p{PQsocket(conn), POLLIN, 0};
        if (::poll(&p, 1, 0) <= 0)
            return true;
        if (!PQconsumeInput(conn) || PQstatus(conn) != CONNECTION_OK)
            return false;
    }
    return true;
}

} // namespace

std::unexpected<StorageError> fail(Code code, std::string message)
{
    return std::unexpected(StorageError{code, std::move(message)});
}

std::string text(const PGresult *r, int row, int col)
{
    return std::string(PQgetvalue(r, row, col), static_cast<std::size_t>(PQgetlength(r, row, col)));
}

std::int64_t integer(const PGresult *r, int row, int col)
{
    const char *v = PQgetvalue(r, row, col);
    std::int64_t out = 0;
    std::from_chars(v, v + PQgetlength(r, row, col), out);
    return out;
}

std::optional<std::int64_t> optInteger(const PGresult *r, int row, int col)
{
    if (PQgetisnull(r, row, col))
        return std::nullopt;
    return integer(r, row, col);
}

bool boolean(const PGresult *r, int row, int col) { return PQgetvalue(r, row, col)[0] == 't'; }

std::int64_t affected(const PGresult *r)
{
    const char *n = PQcmdTuples(const_cast<PGresult *>(r));
    std::int64_t out = 0;
    std::from_chars(n, n + std::strlen(n), out);
    return out;
}

std::string trimmed(std::string s)
{
    while (!s.empty() && (s.back() == '\n' || s.back() == ' '))
        s.pop_back();
    return s;
}

std::string connectionError(PGconn *conn)
{
    return conn ? trimmed(PQerrorMessage(conn)) : std::string("out of memory");
}

StorageResult<Result> Session::exec(const char *what, const char *sql, const Params &params)
{
    if (params.hasNul())
        return fail(Code::Invalid, std::string(what) + ": a value contains a NUL byte");
    if (!PQsendQueryParams(conn_, sql, params.count(), nullptr, params.values(), nullptr, nullptr, 0))
        return failure(what, nullptr); // never reached the server: nothing happened
    // Lost after sending, such a statement may have committed; inside
    // a transaction anything but COMMIT is rolled back with the session.
    const std::string_view statement(sql);
    const bool commits = statement != "BEGIN" && (!inTransaction_ || statement == "COMMIT");
    Result result, error;
    while (PGresult *raw = PQgetResult(conn_)) {
        Result r(raw);
        const auto status = PQresultStatus(r.get());
        if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK)
            result = std::move(r);
        else if (!error)
            error = std::move(r);
    }
    if (!error && result)
        return result;
    if (PQstatus(conn_) != CONNECTION_OK && commits)
        uncertain_ = true;
    return failure(what, error.get());
}

StorageResult<void> Session::begin()
{
    auto r = exec("starting a transaction", "BEGIN");
    if (!r)
        return std::unexpected(r.error());
    inTransaction_ = true;
    return {};
}

StorageResult<void> Session::commit()
{
    auto r = exec("committing", "COMMIT");
    inTransaction_ = false; // committed, or rolled back by the failure
    if (!r)
        return std::unexpected(r.error());
    return {};
}

StorageResult<std::vector<Result>> Session::pipeline(const char *what,
                                                     std::initializer_list<std::pair<const char *, const Params *>> stmts)
{
    for (const auto &[sql, params] : stmts)
        if (params->hasNul())
            return fail(Code::Invalid, std::string(what) + ": a value contains a NUL byte");
    if (!PQenterPipelineMode(conn_))
        return failure(what, nullptr);
    for (const auto &[sql, params] : stmts) {
        if (!PQsendQueryParams(conn_, sql, params->count(), nullptr, params->values(), nullptr, nullptr, 0)) {
            // No Sync was sent, so nothing can have committed; the
            // connection is mid-pipeline and the pool will reset it.
            return failure(what, nullptr);
        }
    }
    if (!PQpipelineSync(conn_))
        return failure(what, nullptr);

    std::vector<Result> results(stmts.size());
    Result error;
    std::size_t index = 0;
    bool synced = false;
    // Each statement's results end with a NULL; the Sync brings
    // PGRES_PIPELINE_SYNC. The bound stops a confused libpq state from
    // spinning here.
    for (std::size_t nulls = 0; nulls <= stmts.size();) {
        PGresult *raw = PQgetResult(conn_);
        if (!raw) {
            if (PQstatus(conn_) != CONNECTION_OK)
                break;
            ++index;
            ++nulls;
            continue;
        }
        Result r(raw);
        const auto status = PQresultStatus(r.get());
        if (status == PGRES_PIPELINE_SYNC) {
            synced = true;
            break;
        }
        if (status == PGRES_PIPELINE_ABORTED)
            continue;
        if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
            if (!error)
                error = std::move(r);
            continue;
        }
        if (index < results.size())
            results[index] = std::move(r);
    }
    // Fails only with results unread: the pool then resets the connection.
    const bool left = synced && PQexitPipelineMode(conn_);
    if (left && !error)
        return results;
    // The Sync's answer lost without an error before it: the server
    // may have committed.
    if (!synced && !error)
        uncertain_ = true;
    return failure(what, error.get());
}

std::unexpected<StorageError> Session::failure(const char *what, const PGresult *r)
{
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
    sqlstate_ = state ? state : "";
    const char *primary = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
    std::string message = primary ? std::string(primary) : connectionError(conn_);
    if (const char *detail = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_DETAIL) : nullptr)
        message += std::string(" (") + detail + ")";
    Code code = Code::Failed;
    if (PQstatus(conn_) != CONNECTION_OK || unavailableState(sqlstate_))
        code = Code::Unavailable;
    else if (sqlstate_ == "23505")
        code = Code::Conflict;
    else if (sqlstate_ == "22021" || sqlstate_ == "22P05")
        code = Code::Invalid; // not UTF-8, or not representable: the caller's bytes
    return fail(code, std::string(what) + ": " + message);
}

} // namespace pg

using namespace pg;

StorageResult<PostgresStorage::Pool::Lease> PostgresStorage::Pool::acquire()
{
    std::unique_lock lock(mutex_);
    if (!freed_.wait_for(lock, kAcquireTimeout, [this] { return !idle_.empty() || total_ < max_; }))
        return fail(Code::Unavailable, "all " + std::to_string(max_) + " database connections busy for " +
                                           std::to_string(kAcquireTimeout.count()) + " s");
    PGconn *conn = nullptr;
    if (!idle_.empty()) {
        conn = idle_.back();
        idle_.pop_back();
    } else {
        ++total_; // a slot reserved while connecting without the lock
    }
    lock.unlock();

    if (!conn) {
        conn = connectTo(conninfo_);
        if (!conn || PQstatus(conn) != CONNECTION_OK) {
            std::string why = connectionError(conn);
            PQfinish(conn);
            dropSlot();
            return fail(Code::Unavailable, "cannot connect to the database: " + why);
        }
    } else if (!usable(conn)) {
        PQreset(conn);
        if (PQstatus(conn) != CONNECTION_OK) {
            std::string why = connectionError(conn);
            PQfinish(conn);
            dropSlot();
            return fail(Code::Unavailable, "cannot reconnect to the database: " + why);
        }
        PQsetNoticeProcessor(conn, ignoreNotice, nullptr);
    }
    return Lease(this, conn);
}

void PostgresStorage::Pool::giveBack(PGconn *conn)
{
    std::lock_guard lock(mutex_);
    idle_.push_back(conn); // a broken one is reset by the next acquire()
    freed_.notify_one();
}

void PostgresStorage::Pool::dropSlot()
{
    std::lock_guard lock(mutex_);
    --total_;
    freed_.notify_one();
}

PostgresStorage::PostgresStorage(std::unique_ptr<Pool> pool) : pool_(std::move(pool)) {}
PostgresStorage::~PostgresStorage() = default;

StorageResult<std::unique_ptr<PostgresStorage>> PostgresStorage::open(const std::string &conninfoOrUrl,
                                                                     int maxConnections)
{
    // A malformed URL is the operator's mistake, not an outage: say so.
    char *parseError = nullptr;
    PQconninfoOption *options = PQconninfoParse(conninfoOrUrl.c_str(), &parseError);
    if (!options) {
        std::string why = parseError ? trimmed(parseError) : std::string("out of memory");
        PQfreemem(parseError);
        return fail(Code::Invalid, "bad PostgreSQL connection string: " + why);
    }
    PQconninfoFree(options);

    PGconn *conn = connectTo(conninfoOrUrl);
    if (!conn || PQstatus(conn) != CONNECTION_OK) {
        std::string why = connectionError(conn);
        PQfinish(conn);
        return fail(Code::Unavailable, "cannot connect to the database: " + why);
    }
    // Identity columns need 10; anything older is long out of support.
    if (PQserverVersion(conn) < 100000) {
        const int version = PQserverVersion(conn);
        PQfinish(conn);
        return fail(Code::Invalid, "PostgreSQL 10 or later is needed; the server is " + std::to_string(version));
    }
    auto pool = std::make_unique<Pool>(conninfoOrUrl, maxConnections);
    pool->adopt(conn);
    return std::unique_ptr<PostgresStorage>(new PostgresStorage(std::move(pool)));
}

StorageResult<void> PostgresStorage::ping()
{
    return pool_->run(true, [](Session &s) -> StorageResult<void> {
        if (auto r = s.exec("pinging the database", "SELECT 1"); !r)
            return std::unexpected(r.error());
        return {};
    });
}

} // namespace stoa::hub
