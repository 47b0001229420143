// hub/postgres_storage_impl.h — the PostgreSQL backend's plumbing, shared by
// the files that define PostgresStorage's members: statement parameters and
// array literals (a batch's column in one parameter), reading results,
// Session (one call's use of one connection: statements, transactions,
// pipelines, libpq's answers as StorageError values) and
// PostgresStorage::Pool (the bounded pool and its retry rule).
// The members by concern: postgres_storage.cpp (connecting, the pool,
// ping), postgres_schema.cpp (migrations), postgres_devices.cpp (devices
// and their credentials), postgres_operators.cpp (operators, sessions,
// audit log), postgres_history.cpp (reading statuses, online stretches,
// plays), postgres_ingest.cpp (ingest, screenshots, retention).
// Invariants: those of postgres_storage.h; a Session is used by one thread,
// on a connection leased from the pool for that one call. Internal to
// those files.
#pragma once

#include "hub/postgres_storage.h"

#include <libpq-fe.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <expected>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace stoa::hub::pg {

using Code = StorageError::Code;

// Advisory lock keys, one per kind of work replicas must not do together.
// Arbitrary but fixed: every hub replica must use the same ones.
inline constexpr std::int64_t kMigrationLock = 0x53746f6148756201; // "StoaHub" 1
inline constexpr std::int64_t kRetentionLock = 0x53746f6148756202; // "StoaHub" 2
// Credential changes take it for their transaction, so each one's
// max(cred_version) + 1 is computed after the previous one committed:
// versions then become visible in order (credentialsSince()).
inline constexpr std::int64_t kCredentialLock = 0x53746f6148756203; // "StoaHub" 3
// A deadlock or serialisation failure rolled the transaction back; trying
// again is safe, and twice more is plenty for the rare case.
inline constexpr int kTransientRetries = 2;

std::unexpected<StorageError> fail(Code code, std::string message);

struct ResultDeleter {
    void operator()(PGresult *r) const { PQclear(r); }
};
using Result = std::unique_ptr<PGresult, ResultDeleter>;

// A statement's parameters as libpq takes them: text, or NULL.
class Params {
public:
    Params &add(std::string v)
    {
        // libpq reads a parameter as a C string: a NUL would silently cut
        // it short (and PostgreSQL text cannot hold one anyway).
        if (v.find('\0') != std::string::npos)
            hasNul_ = true;
        values_.emplace_back(std::move(v));
        return *this;
    }
    Params &add(std::int64_t v) { return add(std::to_string(v)); }
    Params &add(std::optional<std::int64_t> v)
    {
        if (!v)
            return addNull();
        return add(*v);
    }
    Params &addNull()
    {
        values_.emplace_back(std::nullopt);
        return *this;
    }

    bool hasNul() const { return hasNul_; }
    int count() const { return static_cast<int>(values_.size()); }
    // Valid until the next add().
    const char *const *values() const
    {
        pointers_.clear();
        for (const auto &v : values_)
            pointers_.push_back(v ? v->c_str() : nullptr);
        return pointers_.data();
    }

private:
    std::vector<std::optional<std::string>> values_;
    mutable std::vector<const char *> pointers_;
    bool hasNul_ = false;
};

// PostgreSQL array literals ('{"a","b"}', '{1,NULL}') carry a whole column
// of a batch in one parameter, which unnest() turns back into rows.
inline void appendQuoted(std::string &out, std::string_view s)
{
    out += '"';
    for (char c : s) {
        if (c == '"' || c == '\\')
            out += '\\';
        out += c;
    }
    out += '"';
}

template <class Range, class Get>
std::string textArray(const Range &items, Get get)
{
    std::string out = "{";
    for (const auto &item : items) {
        if (out.size() > 1)
            out += ',';
        appendQuoted(out, get(item));
    }
    out += '}';
    return out;
}

template <class Range, class Get>
std::string intArray(const Range &items, Get get)
{
    std::string out = "{";
    for (const auto &item : items) {
        if (out.size() > 1)
            out += ',';
        const std::optional<std::int64_t> v = get(item);
        out += v ? std::to_string(*v) : std::string("NULL");
    }
    out += '}';
    return out;
}

std::string text(const PGresult *r, int row, int col);
std::int64_t integer(const PGresult *r, int row, int col);
std::optional<std::int64_t> optInteger(const PGresult *r, int row, int col);
bool boolean(const PGresult *r, int row, int col);
// The rows a command changed.
std::int64_t affected(const PGresult *r);
// SQLite reads a negative LIMIT as "no limit"; LIMIT NULL is PostgreSQL's.
inline Params &addLimit(Params &p, int limit)
{
    return limit < 0 ? p.addNull() : p.add(std::int64_t{limit});
}
// Without the trailing newlines and spaces libpq's messages end with.
std::string trimmed(std::string s);
std::string connectionError(PGconn *conn);

// One call's use of one connection: runs statements, turns libpq's answers
// into StorageError, and remembers what a failure implies for a retry.
class Session {
public:
    explicit Session(PGconn *conn) : conn_(conn) {}
    ~Session()
    {
        // A failed call leaves its transaction open; close it so the
        // connection goes back to the pool idle. If this fails the pool
        // sees a connection not idle and resets it.
        if (inTransaction_ && PQstatus(conn_) == CONNECTION_OK)
            PQclear(PQexecParams(conn_, "ROLLBACK", 0, nullptr, nullptr, nullptr, nullptr, 0));
    }
    Session(const Session &) = delete;
    Session &operator=(const Session &) = delete;

    // One statement; its result when it succeeded.
    StorageResult<Result> exec(const char *what, const char *sql, const Params &params = Params());

    StorageResult<void> begin();
    StorageResult<void> commit();

    // Statements sent together, then a Sync: one round trip, and one
    // implicit transaction (the server commits at the Sync, or rolls all
    // back at the first error). The results of each statement, in order.
    StorageResult<std::vector<Result>> pipeline(const char *what,
                                                std::initializer_list<std::pair<const char *, const Params *>> stmts);

    // After a failure: did the connection break (the caller may retry on a
    // fresh one), could the failed call have taken effect anyway, and was it
    // a deadlock or serialisation failure (rolled back, worth retrying)?
    bool connectionLost() const { return PQstatus(conn_) != CONNECTION_OK; }
    bool uncertain() const { return uncertain_; }
    bool transient() const { return sqlstate_ == "40P01" || sqlstate_ == "40001"; }

private:
    std::unexpected<StorageError> failure(const char *what, const PGresult *r);

    PGconn *conn_;
    bool inTransaction_ = false;
    bool uncertain_ = false;
    std::string sqlstate_;
};

} // namespace stoa::hub::pg

namespace stoa::hub {

class PostgresStorage::Pool {
public:
    using Session = pg::Session;

    Pool(std::string conninfo, int maxConnections)
        : conninfo_(std::move(conninfo)), max_(maxConnections < 1 ? 1 : maxConnections)
    {
    }
    ~Pool()
    {
        for (PGconn *c : idle_)
            PQfinish(c);
    }
    Pool(const Pool &) = delete;
    Pool &operator=(const Pool &) = delete;

    // The first connection, made by open() to check the server is there.
    void adopt(PGconn *conn)
    {
        std::lock_guard lock(mutex_);
        idle_.push_back(conn);
        ++total_;
    }

    // A connection lent to one call; back to the pool when it ends.
    class Lease {
    public:
        Lease(Pool *pool, PGconn *conn) : pool_(pool), conn_(conn) {}
        ~Lease()
        {
            if (conn_)
                pool_->giveBack(conn_);
        }
        Lease(Lease &&o) noexcept : pool_(o.pool_), conn_(std::exchange(o.conn_, nullptr)) {}
        Lease &operator=(Lease &&) = delete;
        PGconn *conn() const { return conn_; }

    private:
        Pool *pool_;
        PGconn *conn_;
    };

    // A connection for one call: an idle one (reset first when it went
    // bad), or a new one while fewer than the maximum exist; else waits
    // (bounded) for one to come back.
    StorageResult<Lease> acquire();

    // Runs `work(Session &)` on a pooled connection. Retries once on a
    // fresh connection when the connection broke and the call cannot have
    // taken effect (or `readOnly`), and a few times after a deadlock.
    template <class Work>
    auto run(bool readOnly, Work work) -> decltype(work(std::declval<Session &>()))
    {
        for (int attempt = 0;; ++attempt) {
            auto lease = acquire();
            if (!lease)
                return std::unexpected(lease.error());
            bool retry = false;
            {
                Session session(lease->conn());
                auto result = work(session);
                if (result)
                    return result;
                if (session.connectionLost())
                    retry = attempt == 0 && (readOnly || !session.uncertain());
                else
                    retry = session.transient() && attempt < pg::kTransientRetries;
                if (!retry)
                    return result;
            }
        }
    }

private:
    void giveBack(PGconn *conn);
    void dropSlot();

    const std::string conninfo_;
    const int max_;
    std::mutex mutex_; // guards idle_, total_
    std::condition_variable freed_;
    std::vector<PGconn *> idle_;
    int total_ = 0; // idle, lent, or being connected
};

} // namespace stoa::hub
