// hub/postgres_storage.cpp — Storage on PostgreSQL (see postgres_storage.h).
#include "hub/postgres_storage.h"

#include <libpq-fe.h>

#include <poll.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <initializer_list>
#include <limits>
#include <mutex>
#include <string_view>
#include <utility>
#include <vector>

namespace stoa::hub {
namespace {

using Code = StorageError::Code;

constexpr int kSchemaVersion = 7;
// Advisory lock keys, one per kind of work replicas must not do together.
// Arbitrary but fixed: every hub replica must use the same ones.
constexpr std::int64_t kMigrationLock = 0x53746f6148756201; // "StoaHub" 1
constexpr std::int64_t kRetentionLock = 0x53746f6148756202; // "StoaHub" 2
// Credential changes take it for their transaction, so each one's
// max(cred_version) + 1 is computed after the previous one committed:
// versions then become visible in order (credentialsSince()).
constexpr std::int64_t kCredentialLock = 0x53746f6148756203; // "StoaHub" 3
// How long a call waits for a pooled connection before answering
// Unavailable: a stuck server must not pile up callers forever.
constexpr auto kAcquireTimeout = std::chrono::seconds(30);
// A deadlock or serialisation failure rolled the transaction back; trying
// again is safe, and twice more is plenty for the rare case.
constexpr int kTransientRetries = 2;

// Version 1. Every heartbeat rewrites its device's row: devices leaves half
// of each page free so the new version fits beside the old one and the
// update skips both indexes (HOT; measured 85% of updates instead of 33%).
// Identifiers are COLLATE "C" so ORDER BY and uniqueness are
// bytewise, as in SQLite. statuses.seq breaks ties between equal
// received_at_ms (SQLite's rowid): its sequence keeps the default CACHE 1,
// because per-session caching would hand a later insert a smaller number.
const char *const kSchemaV1[] = {
    R"sql(CREATE TABLE devices (
  id text COLLATE "C" PRIMARY KEY,
  token_hash text UNIQUE,
  revoked boolean NOT NULL DEFAULT false,
  created_at_ms bigint NOT NULL,
  last_seen_at_ms bigint,
  manifest_version bigint,
  plays bigint NOT NULL DEFAULT 0,
  last_screenshot_at_ms bigint,
  last_status text
) WITH (fillfactor = 50))sql",
    R"sql(CREATE TABLE statuses (
  seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  device_id text COLLATE "C" NOT NULL,
  received_at_ms bigint NOT NULL,
  manifest_version bigint,
  body text NOT NULL
))sql",
    "CREATE INDEX statuses_by_device ON statuses (device_id, received_at_ms, seq)",
    R"sql(CREATE TABLE plays (
  device_id text COLLATE "C" NOT NULL,
  id text COLLATE "C" NOT NULL,
  received_at_ms bigint NOT NULL,
  line text NOT NULL,
  PRIMARY KEY (device_id, id)
))sql",
    "CREATE INDEX plays_by_receipt ON plays (device_id, received_at_ms, id)",
    // Retention deletes by age across all devices.
    "CREATE INDEX plays_by_age ON plays (received_at_ms)",
    R"sql(CREATE TABLE screenshots (
  device_id text COLLATE "C" NOT NULL,
  sha256 text NOT NULL,
  bytes bigint NOT NULL,
  received_at_ms bigint NOT NULL
))sql",
    "CREATE INDEX screenshots_by_device ON screenshots (device_id, received_at_ms)",
    R"sql(CREATE TABLE operators (
  name text COLLATE "C" PRIMARY KEY,
  role text NOT NULL CHECK (role IN ('admin', 'editor', 'viewer')),
  token_hash text UNIQUE NOT NULL,
  created_at_ms bigint NOT NULL
))sql",
};

// Locks the devices rows a batch touches, in id order: LockRows sits above
// the ordered scan, so two batches sharing devices queue on the first shared
// one instead of each holding what the other needs.
const char *const kLockDevices = R"sql(
SELECT count(*) FROM (
  SELECT 1 FROM devices WHERE id = ANY ($1::text[]) ORDER BY id FOR NO KEY UPDATE
) AS locked)sql";

// Version 6: when each device was online (storage.h OnlineStretch), kept
// by age apart from the heartbeats, seeded from the heartbeats kept with
// the default online window (3 minutes), and the function ingest calls to
// keep them (kExtendOnline).
const char *const kSchemaV6[] = {
    R"sql(CREATE TABLE online_stretches (
  device_id text COLLATE "C" NOT NULL,
  from_ms bigint NOT NULL,
  to_ms bigint NOT NULL
))sql",
    "CREATE INDEX online_stretches_by_device ON online_stretches (device_id, to_ms)",
    R"sql(INSERT INTO online_stretches (device_id, from_ms, to_ms)
  SELECT device_id, min(t_ms), max(t_ms) FROM (
    SELECT device_id, t_ms, sum(brk) OVER (PARTITION BY device_id ORDER BY t_ms ROWS UNBOUNDED PRECEDING) AS island
    FROM (SELECT device_id, received_at_ms AS t_ms,
                 CASE WHEN received_at_ms - lag(received_at_ms) OVER (PARTITION BY device_id ORDER BY received_at_ms)
                           <= 180000 THEN 0 ELSE 1 END AS brk
          FROM statuses) AS b) AS g
  GROUP BY device_id, island)sql",
    // The batch's heartbeats in order: each extends a stretch of its device
    // whose window it falls in, or starts one. A loop because a batch may
    // hold several heartbeats of one device, each seeing the one before.
    R"sql(CREATE FUNCTION stoa_extend_online(ids text[], ats bigint[], win bigint) RETURNS bigint
LANGUAGE plpgsql AS $fn$
DECLARE
  started bigint := 0;
BEGIN
  FOR i IN 1 .. coalesce(array_length(ids, 1), 0) LOOP
    UPDATE online_stretches SET from_ms = least(from_ms, ats[i]), to_ms = greatest(to_ms, ats[i])
      WHERE device_id = ids[i] AND to_ms >= ats[i] - win AND from_ms <= ats[i] + win;
    IF NOT FOUND THEN
      INSERT INTO online_stretches (device_id, from_ms, to_ms) VALUES (ids[i], ats[i], ats[i]);
      started := started + 1;
    END IF;
  END LOOP;
  RETURN started;
END
$fn$)sql",
    "INSERT INTO hub_schema (version) VALUES (6)",
};

// Version 7: the latest status by reference, as SQLite's
// last_status_rowid: devices.last_status_seq names the device's newest
// statuses row (retention keeps it, kTrimStatuses), instead of a copy of
// its ~1 KB body in devices.last_status written per heartbeat (issue 16:
// the devices row, rewritten per heartbeat, stays ~100 bytes). The copies
// go (NULL); a device whose copy has no statuses row gets one first.
const char *const kSchemaV7[] = {
    "ALTER TABLE devices ADD COLUMN last_status_seq bigint",
    R"sql(INSERT INTO statuses (device_id, received_at_ms, manifest_version, body)
  SELECT id, last_seen_at_ms, manifest_version, last_status FROM devices d
  WHERE last_status IS NOT NULL AND last_seen_at_ms IS NOT NULL
    AND NOT EXISTS (SELECT 1 FROM statuses s WHERE s.device_id = d.id))sql",
    R"sql(UPDATE devices d SET last_status = NULL, last_status_seq = (
  SELECT seq FROM statuses s WHERE s.device_id = d.id ORDER BY received_at_ms DESC, seq DESC LIMIT 1)
  WHERE last_status IS NOT NULL)sql",
    "INSERT INTO hub_schema (version) VALUES (7)",
};

// The online stretches of a batch's heartbeats (storage.h OnlineStretch):
// one statement per batch, in the batch's pipeline and so in its implicit
// transaction, after kLockDevices: batches of two writers or two replicas
// that share a device queue on its devices row, so no two extend the same
// device's stretches at once (no read-modify-write race), and the UPDATE
// (greatest/least) is atomic on its row anyway.
const char *const kExtendOnline = "SELECT stoa_extend_online($1::text[], $2::bigint[], $3::bigint)";

// The whole batch in one statement. Statuses keep batch order (ordinality)
// so seq, and with it "newest first" among equal received_at_ms, follows it.
// One UPDATE per device row: PostgreSQL applies only one modification of a
// row per statement, so statuses, stored plays and screenshots are folded
// into one row per device first. The latest status replaces the device's
// when it is at least as recent (a later-received tie wins, as in SQLite).
const char *const kIngest = R"sql(
WITH st AS (
  SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::text[]) WITH ORDINALITY
    AS t(device_id, received_at_ms, manifest_version, body, ord)
), st_ins AS (
  INSERT INTO statuses (device_id, received_at_ms, manifest_version, body)
  SELECT device_id, received_at_ms, manifest_version, body FROM st ORDER BY ord
  RETURNING seq, device_id, received_at_ms, manifest_version
), pl_ins AS (
  INSERT INTO plays (device_id, id, received_at_ms, line)
  SELECT * FROM unnest($5::text[], $6::text[], $7::bigint[], $8::text[])
  ON CONFLICT DO NOTHING
  RETURNING device_id
), sc_ins AS (
  INSERT INTO screenshots (device_id, sha256, bytes, received_at_ms)
  SELECT * FROM unnest($9::text[], $10::text[], $11::bigint[], $12::bigint[])
  RETURNING device_id, received_at_ms
), latest AS (
  SELECT DISTINCT ON (device_id) device_id, received_at_ms, manifest_version, seq
  FROM st_ins ORDER BY device_id, received_at_ms DESC, seq DESC
), touched AS (
  SELECT device_id, received_at_ms AS seen, manifest_version, seq, 0 AS stored, NULL::bigint AS shot
  FROM latest
  UNION ALL SELECT device_id, NULL, NULL, NULL, 1, NULL FROM pl_ins
  UNION ALL SELECT device_id, NULL, NULL, NULL, 0, received_at_ms FROM sc_ins
), agg AS (
  SELECT device_id, max(seen) AS seen, max(manifest_version) AS manifest_version, max(seq) AS seq,
         sum(stored) AS stored, max(shot) AS shot
  FROM touched GROUP BY device_id
), upd AS (
  UPDATE devices d SET
    last_seen_at_ms = CASE WHEN a.seen IS NOT NULL AND (d.last_seen_at_ms IS NULL OR a.seen >= d.last_seen_at_ms)
                           THEN a.seen ELSE d.last_seen_at_ms END,
    manifest_version = CASE WHEN a.seen IS NOT NULL AND (d.last_seen_at_ms IS NULL OR a.seen >= d.last_seen_at_ms)
                            THEN a.manifest_version ELSE d.manifest_version END,
    last_status_seq = CASE WHEN a.seen IS NOT NULL AND (d.last_seen_at_ms IS NULL OR a.seen >= d.last_seen_at_ms)
                           THEN a.seq ELSE d.last_status_seq END,
    plays = d.plays + a.stored,
    last_screenshot_at_ms = greatest(d.last_screenshot_at_ms, a.shot)
  FROM agg a WHERE d.id = a.device_id
)
SELECT count(*) FROM pl_ins)sql";

// A status row goes once it is older than the cutoff ($1) or beyond its
// device's newest $2, but a device's newest row stays whatever its age, as
// in the SQLite backend (which reads the latest status from it) and
// tst_storage's retentionBoundsHistory.
const char *const kTrimStatuses = R"sql(
DELETE FROM statuses s USING (
  SELECT seq FROM (
    SELECT seq, received_at_ms,
           row_number() OVER (PARTITION BY device_id ORDER BY received_at_ms DESC, seq DESC) AS n
    FROM statuses
  ) AS ranked
  WHERE (n > $2::bigint OR received_at_ms < $1::bigint) AND n > 1
) AS doomed
WHERE s.seq = doomed.seq)sql";

std::unexpected<StorageError> fail(Code code, std::string message)
{
    return std::unexpected(StorageError{code, std::move(message)});
}

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
void appendQuoted(std::string &out, std::string_view s)
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

std::string connectionError(PGconn *conn)
{
    return conn ? trimmed(PQerrorMessage(conn)) : std::string("out of memory");
}

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
    StorageResult<Result> exec(const char *what, const char *sql, const Params &params = Params())
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

    StorageResult<void> begin()
    {
        auto r = exec("starting a transaction", "BEGIN");
        if (!r)
            return std::unexpected(r.error());
        inTransaction_ = true;
        return {};
    }
    StorageResult<void> commit()
    {
        auto r = exec("committing", "COMMIT");
        inTransaction_ = false; // committed, or rolled back by the failure
        if (!r)
            return std::unexpected(r.error());
        return {};
    }

    // Statements sent together, then a Sync: one round trip, and one
    // implicit transaction (the server commits at the Sync, or rolls all
    // back at the first error). The results of each statement, in order.
    StorageResult<std::vector<Result>> pipeline(const char *what,
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

    // After a failure: did the connection break (the caller may retry on a
    // fresh one), could the failed call have taken effect anyway, and was it
    // a deadlock or serialisation failure (rolled back, worth retrying)?
    bool connectionLost() const { return PQstatus(conn_) != CONNECTION_OK; }
    bool uncertain() const { return uncertain_; }
    bool transient() const { return sqlstate_ == "40P01" || sqlstate_ == "40001"; }

private:
    std::unexpected<StorageError> failure(const char *what, const PGresult *r)
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

    PGconn *conn_;
    bool inTransaction_ = false;
    bool uncertain_ = false;
    std::string sqlstate_;
};

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

class PostgresStorage::Pool {
public:
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

    StorageResult<Lease> acquire()
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
                    retry = session.transient() && attempt < kTransientRetries;
                if (!retry)
                    return result;
            }
        }
    }

private:
    void giveBack(PGconn *conn)
    {
        std::lock_guard lock(mutex_);
        idle_.push_back(conn); // a broken one is reset by the next acquire()
        freed_.notify_one();
    }
    void dropSlot()
    {
        std::lock_guard lock(mutex_);
        --total_;
        freed_.notify_one();
    }

    const std::string conninfo_;
    const int max_;
    std::mutex mutex_; // guards idle_, total_
    std::condition_variable freed_;
    std::vector<PGconn *> idle_;
    int total_ = 0; // idle, lent, or being connected
};

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

StorageResult<void> PostgresStorage::migrate()
{
    return pool_->run(false, [](Session &s) -> StorageResult<void> {
        if (auto r = s.begin(); !r)
            return r;
        // Replicas starting together: the first migrates, the others wait
        // here and then find the schema current.
        if (auto r = s.exec("locking the schema", "SELECT pg_advisory_xact_lock($1::bigint)",
                            Params().add(kMigrationLock));
            !r)
            return std::unexpected(r.error());
        auto exists = s.exec("reading the schema version", "SELECT to_regclass('hub_schema') IS NOT NULL");
        if (!exists)
            return std::unexpected(exists.error());
        std::int64_t current = 0;
        if (boolean(exists->get(), 0, 0)) {
            auto version = s.exec("reading the schema version", "SELECT coalesce(max(version), 0) FROM hub_schema");
            if (!version)
                return std::unexpected(version.error());
            current = integer(version->get(), 0, 0);
        } else if (auto r = s.exec("creating the schema table",
                                   "CREATE TABLE hub_schema (version integer NOT NULL, "
                                   "applied_at timestamptz NOT NULL DEFAULT now())");
                   !r) {
            return std::unexpected(r.error());
        }
        if (current > kSchemaVersion)
            return fail(Code::Invalid, "the database's schema version " + std::to_string(current) +
                                           " is newer than this hub knows (" + std::to_string(kSchemaVersion) +
                                           "): run a newer stoa-hub");
        if (current < 1) {
            for (const char *sql : kSchemaV1)
                if (auto r = s.exec("creating the schema (version 1)", sql); !r)
                    return std::unexpected(r.error());
            if (auto r = s.exec("recording the schema version", "INSERT INTO hub_schema (version) VALUES (1)"); !r)
                return std::unexpected(r.error());
        }
        if (current < 2) {
            // Version 2: a group and tags per device.
            for (const char *sql : {"ALTER TABLE devices ADD COLUMN grp text COLLATE \"C\"",
                                    "ALTER TABLE devices ADD COLUMN tags text[] NOT NULL DEFAULT '{}'",
                                    "CREATE INDEX devices_by_group ON devices (grp)",
                                    "INSERT INTO hub_schema (version) VALUES (2)"})
                if (auto r = s.exec("upgrading the schema to version 2", sql); !r)
                    return std::unexpected(r.error());
        }
        if (current < 3) {
            // Version 3: operator passwords and login sessions.
            for (const char *sql : {"ALTER TABLE operators ADD COLUMN password_hash text NOT NULL DEFAULT ''",
                                    "CREATE TABLE sessions (token_hash text PRIMARY KEY, name text COLLATE \"C\" NOT NULL, "
                                    "expires_at_ms bigint NOT NULL)",
                                    "INSERT INTO hub_schema (version) VALUES (3)"})
                if (auto r = s.exec("upgrading the schema to version 3", sql); !r)
                    return std::unexpected(r.error());
        }
        if (current < 4) {
            // Version 4: credential versions, so hubs follow tokens without
            // asking per request.
            for (const char *sql : {"ALTER TABLE devices ADD COLUMN cred_version bigint NOT NULL DEFAULT 0",
                                    "CREATE INDEX devices_by_cred_version ON devices (cred_version)",
                                    "INSERT INTO hub_schema (version) VALUES (4)"})
                if (auto r = s.exec("upgrading the schema to version 4", sql); !r)
                    return std::unexpected(r.error());
        }
        if (current < 5) {
            // Version 5: the operators' audit log (kept whatever the
            // retention), and plays by receipt across devices for the
            // proof-of-play report.
            for (const char *sql : {"CREATE TABLE audit (id bigserial PRIMARY KEY, at_ms bigint NOT NULL, "
                                    "operator text NOT NULL, action text NOT NULL, target text NOT NULL, "
                                    "detail text NOT NULL)",
                                    "CREATE INDEX plays_by_time ON plays (received_at_ms)",
                                    "INSERT INTO hub_schema (version) VALUES (5)"})
                if (auto r = s.exec("upgrading the schema to version 5", sql); !r)
                    return std::unexpected(r.error());
        }
        if (current < 6) {
            for (const char *sql : kSchemaV6)
                if (auto r = s.exec("upgrading the schema to version 6", sql); !r)
                    return std::unexpected(r.error());
        }
        if (current < 7) {
            for (const char *sql : kSchemaV7)
                if (auto r = s.exec("upgrading the schema to version 7", sql); !r)
                    return std::unexpected(r.error());
        }
        return s.commit();
    });
}

StorageResult<void> PostgresStorage::ping()
{
    return pool_->run(true, [](Session &s) -> StorageResult<void> {
        if (auto r = s.exec("pinging the database", "SELECT 1"); !r)
            return std::unexpected(r.error());
        return {};
    });
}

namespace {

// One credential change in its own transaction, under kCredentialLock; the
// statement reads the next version as $1 (it is appended to `params`).
StorageResult<Result> changeCredentials(Session &s, const char *what, const char *sql, Params params)
{
    if (auto r = s.begin(); !r)
        return std::unexpected(r.error());
    if (auto r = s.exec(what, "SELECT pg_advisory_xact_lock($1::bigint)", Params().add(kCredentialLock)); !r)
        return std::unexpected(r.error());
    auto r = s.exec(what, sql, params);
    if (!r)
        return r;
    if (auto c = s.commit(); !c)
        return std::unexpected(c.error());
    return r;
}

constexpr const char *kNextCredVersion = "(SELECT coalesce(max(cred_version), 0) + 1 FROM devices)";

} // namespace

StorageResult<void> PostgresStorage::addDevice(const std::string &id, const std::string &tokenHash,
                                               std::int64_t nowMs)
{
    static const std::string sql = std::string("INSERT INTO devices (id, token_hash, created_at_ms, cred_version) "
                                               "VALUES ($1, $2, $3::bigint, ") + kNextCredVersion + ")";
    return pool_->run(false, [&](Session &s) -> StorageResult<void> {
        auto r = changeCredentials(s, "adding a device", sql.c_str(), Params().add(id).add(tokenHash).add(nowMs));
        if (!r && r.error().code == Code::Conflict)
            r.error().message = "device " + id + " exists already (or its token hash is taken): " + r.error().message;
        if (!r)
            return std::unexpected(r.error());
        return {};
    });
}

StorageResult<void> PostgresStorage::setDeviceToken(const std::string &id, const std::string &tokenHash)
{
    static const std::string sql = std::string("UPDATE devices SET token_hash = $2, revoked = false, cred_version = ")
                                   + kNextCredVersion + " WHERE id = $1";
    return pool_->run(false, [&](Session &s) -> StorageResult<void> {
        auto r = changeCredentials(s, "setting a device token", sql.c_str(), Params().add(id).add(tokenHash));
        if (!r)
            return std::unexpected(r.error());
        if (affected(r->get()) == 0)
            return fail(Code::NotFound, "no device " + id);
        return {};
    });
}

StorageResult<void> PostgresStorage::revokeDevice(const std::string &id)
{
    static const std::string sql = std::string("UPDATE devices SET revoked = true, cred_version = ") + kNextCredVersion
                                   + " WHERE id = $1";
    return pool_->run(false, [&](Session &s) -> StorageResult<void> {
        auto r = changeCredentials(s, "revoking a device", sql.c_str(), Params().add(id));
        if (!r)
            return std::unexpected(r.error());
        if (affected(r->get()) == 0)
            return fail(Code::NotFound, "no device " + id);
        return {};
    });
}

StorageResult<std::vector<DeviceCredential>> PostgresStorage::credentialsSince(std::int64_t afterVersion)
{
    return pool_->run(true, [&](Session &s) -> StorageResult<std::vector<DeviceCredential>> {
        auto r = s.exec("reading credentials",
                        "SELECT id, coalesce(token_hash, ''), revoked, cred_version FROM devices "
                        "WHERE cred_version > $1::bigint ORDER BY cred_version",
                        Params().add(afterVersion));
        if (!r)
            return std::unexpected(r.error());
        std::vector<DeviceCredential> out;
        const int rows = PQntuples(r->get());
        out.reserve(static_cast<std::size_t>(rows));
        for (int i = 0; i < rows; ++i)
            out.push_back({text(r->get(), i, 0), text(r->get(), i, 1), boolean(r->get(), i, 2), integer(r->get(), i, 3)});
        return out;
    });
}

StorageResult<std::optional<std::string>> PostgresStorage::deviceForToken(const std::string &tokenHash)
{
    return pool_->run(true, [&](Session &s) -> StorageResult<std::optional<std::string>> {
        auto r = s.exec("looking up a device token", "SELECT id FROM devices WHERE token_hash = $1 AND NOT revoked",
                        Params().add(tokenHash));
        if (!r)
            return std::unexpected(r.error());
        if (PQntuples(r->get()) == 0)
            return std::nullopt;
        return text(r->get(), 0, 0);
    });
}

StorageResult<bool> PostgresStorage::deviceExists(const std::string &id)
{
    return pool_->run(true, [&](Session &s) -> StorageResult<bool> {
        auto r = s.exec("looking up a device", "SELECT 1 FROM devices WHERE id = $1", Params().add(id));
        if (!r)
            return std::unexpected(r.error());
        return PQntuples(r->get()) > 0;
    });
}

StorageResult<void> PostgresStorage::setDeviceGroup(const std::string &id, const std::optional<std::string> &group)
{
    return pool_->run(false, [&](Session &s) -> StorageResult<void> {
        Params p;
        p.add(id);
        if (group)
            p.add(*group);
        else
            p.addNull();
        auto r = s.exec("setting a group", "UPDATE devices SET grp = $2 WHERE id = $1", p);
        if (!r)
            return std::unexpected(r.error());
        if (affected(r->get()) == 0)
            return fail(Code::NotFound, "no device " + id);
        return {};
    });
}

StorageResult<void> PostgresStorage::setDeviceTags(const std::string &id, const std::vector<std::string> &tags)
{
    // Tag names are [A-Za-z0-9._-] (the hub checks), so a text[] literal needs no quoting.
    std::vector<std::string> sorted = tags;
    std::sort(sorted.begin(), sorted.end());
    sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
    std::string array = "{";
    for (std::size_t i = 0; i < sorted.size(); ++i)
        array += (i ? "," : "") + sorted[i];
    array += "}";
    return pool_->run(false, [&](Session &s) -> StorageResult<void> {
        auto r = s.exec("setting tags", "UPDATE devices SET tags = $2::text[] WHERE id = $1", Params().add(id).add(array));
        if (!r)
            return std::unexpected(r.error());
        if (affected(r->get()) == 0)
            return fail(Code::NotFound, "no device " + id);
        return {};
    });
}

StorageResult<std::vector<DeviceSummary>> PostgresStorage::devices()
{
    return pool_->run(true, [](Session &s) -> StorageResult<std::vector<DeviceSummary>> {
        auto r = s.exec("listing devices",
                        "SELECT id, revoked, last_seen_at_ms, manifest_version, plays, last_screenshot_at_ms, grp, "
                        "array_to_string(tags, ',') FROM devices ORDER BY id");
        if (!r)
            return std::unexpected(r.error());
        const PGresult *res = r->get();
        std::vector<DeviceSummary> out;
        out.reserve(static_cast<std::size_t>(PQntuples(res)));
        for (int i = 0; i < PQntuples(res); ++i) {
            DeviceSummary d{text(res, i, 0), boolean(res, i, 1), optInteger(res, i, 2), optInteger(res, i, 3),
                            integer(res, i, 4), optInteger(res, i, 5), {}, {}};
            if (!PQgetisnull(res, i, 6))
                d.group = text(res, i, 6);
            const std::string tags = text(res, i, 7);
            for (std::size_t pos = 0; pos < tags.size();) {
                const auto comma = std::min(tags.find(',', pos), tags.size());
                if (comma > pos)
                    d.tags.push_back(tags.substr(pos, comma - pos));
                pos = comma + 1;
            }
            out.push_back(std::move(d));
        }
        return out;
    });
}

StorageResult<std::int64_t> PostgresStorage::deviceCount()
{
    return pool_->run(true, [](Session &s) -> StorageResult<std::int64_t> {
        auto r = s.exec("counting devices", "SELECT count(*) FROM devices");
        if (!r)
            return std::unexpected(r.error());
        return integer(r->get(), 0, 0);
    });
}

StorageResult<std::optional<StatusReport>> PostgresStorage::latestStatus(const std::string &id)
{
    return pool_->run(true, [&](Session &s) -> StorageResult<std::optional<StatusReport>> {
        auto r = s.exec("reading a status",
                        "SELECT s.received_at_ms, s.manifest_version, s.body FROM devices d "
                        "JOIN statuses s ON s.seq = d.last_status_seq WHERE d.id = $1",
                        Params().add(id));
        if (!r)
            return std::unexpected(r.error());
        const PGresult *res = r->get();
        if (PQntuples(res) == 0)
            return std::nullopt;
        return StatusReport{id, integer(res, 0, 0), optInteger(res, 0, 1), text(res, 0, 2)};
    });
}

namespace {
// SQLite reads a negative LIMIT as "no limit"; LIMIT NULL is PostgreSQL's.
Params &addLimit(Params &p, int limit)
{
    return limit < 0 ? p.addNull() : p.add(std::int64_t{limit});
}
} // namespace

StorageResult<std::vector<StatusReport>> PostgresStorage::statusHistory(const std::string &id, int limit)
{
    return pool_->run(true, [&](Session &s) -> StorageResult<std::vector<StatusReport>> {
        Params p;
        addLimit(p.add(id), limit);
        auto r = s.exec("reading status history",
                        "SELECT received_at_ms, manifest_version, body FROM statuses WHERE device_id = $1 "
                        "ORDER BY received_at_ms DESC, seq DESC LIMIT $2::bigint",
                        p);
        if (!r)
            return std::unexpected(r.error());
        const PGresult *res = r->get();
        std::vector<StatusReport> out;
        out.reserve(static_cast<std::size_t>(PQntuples(res)));
        for (int i = 0; i < PQntuples(res); ++i)
            out.push_back({id, integer(res, i, 0), optInteger(res, i, 1), text(res, i, 2)});
        return out;
    });
}

StorageResult<OnlineRecord> PostgresStorage::onlineStretches(const std::string &id, std::int64_t sinceMs)
{
    return pool_->run(true, [&](Session &s) -> StorageResult<OnlineRecord> {
        auto r = s.exec("reading online stretches",
                        "SELECT from_ms, to_ms, (SELECT min(from_ms) FROM online_stretches WHERE device_id = $1) "
                        "FROM (SELECT 1) AS one LEFT JOIN online_stretches ON device_id = $1 AND to_ms >= $2::bigint "
                        "ORDER BY from_ms, to_ms",
                        Params().add(id).add(sinceMs));
        if (!r)
            return std::unexpected(r.error());
        const PGresult *res = r->get();
        OnlineRecord out;
        for (int i = 0; i < PQntuples(res); ++i) {
            if (i == 0 && !PQgetisnull(res, 0, 2))
                out.recordedFromMs = integer(res, 0, 2);
            if (!PQgetisnull(res, i, 0))
                out.stretches.push_back(OnlineStretch{integer(res, i, 0), integer(res, i, 1)});
        }
        return out;
    });
}

StorageResult<std::vector<PlayRecord>> PostgresStorage::plays(const std::string &id, int limit)
{
    return pool_->run(true, [&](Session &s) -> StorageResult<std::vector<PlayRecord>> {
        Params p;
        addLimit(p.add(id), limit);
        auto r = s.exec("reading plays",
                        "SELECT id, received_at_ms, line FROM plays WHERE device_id = $1 "
                        "ORDER BY received_at_ms, id LIMIT $2::bigint",
                        p);
        if (!r)
            return std::unexpected(r.error());
        const PGresult *res = r->get();
        std::vector<PlayRecord> out;
        out.reserve(static_cast<std::size_t>(PQntuples(res)));
        for (int i = 0; i < PQntuples(res); ++i)
            out.push_back({id, text(res, i, 0), integer(res, i, 1), text(res, i, 2)});
        return out;
    });
}

StorageResult<std::vector<PlayRecord>> PostgresStorage::playsReceivedBetween(std::int64_t fromMs, std::int64_t untilMs,
                                                                            int limit)
{
    return pool_->run(true, [&](Session &s) -> StorageResult<std::vector<PlayRecord>> {
        Params p;
        addLimit(p.add(fromMs).add(untilMs), limit);
        auto r = s.exec("reading plays",
                        "SELECT device_id, id, received_at_ms, line FROM plays "
                        "WHERE received_at_ms >= $1::bigint AND received_at_ms < $2::bigint "
                        "ORDER BY received_at_ms, device_id, id LIMIT $3::bigint",
                        p);
        if (!r)
            return std::unexpected(r.error());
        const PGresult *res = r->get();
        std::vector<PlayRecord> out;
        out.reserve(static_cast<std::size_t>(PQntuples(res)));
        for (int i = 0; i < PQntuples(res); ++i)
            out.push_back({text(res, i, 0), text(res, i, 1), integer(res, i, 2), text(res, i, 3)});
        return out;
    });
}

StorageResult<std::int64_t> PostgresStorage::addAudit(const AuditEntry &entry)
{
    return pool_->run(false, [&](Session &s) -> StorageResult<std::int64_t> {
        auto r = s.exec("adding to the audit log",
                        "INSERT INTO audit (at_ms, operator, action, target, detail) "
                        "VALUES ($1::bigint, $2, $3, $4, $5) RETURNING id",
                        Params().add(entry.atMs).add(entry.operatorName).add(entry.action).add(entry.target).add(entry.detail));
        if (!r)
            return std::unexpected(r.error());
        return integer(r->get(), 0, 0);
    });
}

StorageResult<std::vector<AuditEntry>> PostgresStorage::audit(std::int64_t beforeId, int limit)
{
    return pool_->run(true, [&](Session &s) -> StorageResult<std::vector<AuditEntry>> {
        Params p;
        addLimit(p.add(beforeId), limit);
        auto r = s.exec("reading the audit log",
                        "SELECT id, at_ms, operator, action, target, detail FROM audit "
                        "WHERE $1::bigint <= 0 OR id < $1::bigint ORDER BY id DESC LIMIT $2::bigint",
                        p);
        if (!r)
            return std::unexpected(r.error());
        const PGresult *res = r->get();
        std::vector<AuditEntry> out;
        out.reserve(static_cast<std::size_t>(PQntuples(res)));
        for (int i = 0; i < PQntuples(res); ++i)
            out.push_back({integer(res, i, 0), integer(res, i, 1), text(res, i, 2), text(res, i, 3), text(res, i, 4),
                           text(res, i, 5)});
        return out;
    });
}

StorageResult<void> PostgresStorage::addOperator(const std::string &name, Role role, const std::string &tokenHash,
                                                 std::int64_t nowMs)
{
    return pool_->run(false, [&](Session &s) -> StorageResult<void> {
        auto r = s.exec("adding an operator",
                        "INSERT INTO operators (name, role, token_hash, created_at_ms) VALUES ($1, $2, $3, $4::bigint)",
                        Params().add(name).add(std::string(roleName(role))).add(tokenHash).add(nowMs));
        if (!r && r.error().code == Code::Conflict)
            r.error().message =
                "operator " + name + " exists already (or its token hash is taken): " + r.error().message;
        if (!r)
            return std::unexpected(r.error());
        return {};
    });
}

StorageResult<std::optional<Operator>> PostgresStorage::operatorForToken(const std::string &tokenHash)
{
    return pool_->run(true, [&](Session &s) -> StorageResult<std::optional<Operator>> {
        auto r = s.exec("looking up an operator token", "SELECT name, role FROM operators WHERE token_hash = $1",
                        Params().add(tokenHash));
        if (!r)
            return std::unexpected(r.error());
        const PGresult *res = r->get();
        if (PQntuples(res) == 0)
            return std::nullopt;
        const auto role = roleFromName(text(res, 0, 1));
        if (!role)
            return fail(Code::Failed, "operator " + text(res, 0, 0) + " has an unknown role " + text(res, 0, 1));
        return Operator{text(res, 0, 0), *role};
    });
}

StorageResult<void> PostgresStorage::setOperatorPassword(const std::string &name, const std::string &passwordHash)
{
    return pool_->run(false, [&](Session &s) -> StorageResult<void> {
        auto r = s.exec("setting a password", "UPDATE operators SET password_hash = $2 WHERE name = $1",
                        Params().add(name).add(passwordHash));
        if (!r)
            return std::unexpected(r.error());
        if (affected(r->get()) == 0)
            return fail(Code::NotFound, "no operator " + name);
        return {};
    });
}

StorageResult<std::optional<std::pair<Operator, std::string>>> PostgresStorage::operatorPassword(const std::string &name)
{
    return pool_->run(true, [&](Session &s) -> StorageResult<std::optional<std::pair<Operator, std::string>>> {
        auto r = s.exec("reading a password", "SELECT name, role, password_hash FROM operators WHERE name = $1",
                        Params().add(name));
        if (!r)
            return std::unexpected(r.error());
        const PGresult *res = r->get();
        if (PQntuples(res) == 0)
            return std::nullopt;
        const auto role = roleFromName(text(res, 0, 1));
        if (!role)
            return fail(Code::Failed, "operator " + text(res, 0, 0) + " has an unknown role " + text(res, 0, 1));
        return std::pair{Operator{text(res, 0, 0), *role}, text(res, 0, 2)};
    });
}

StorageResult<void> PostgresStorage::addSession(const std::string &tokenHash, const std::string &name, std::int64_t expiresAtMs)
{
    return pool_->run(false, [&](Session &s) -> StorageResult<void> {
        // Expired sessions go whenever a new one comes: the table stays small.
        if (auto r = s.exec("adding a session", "DELETE FROM sessions WHERE expires_at_ms < $1::bigint",
                            Params().add(expiresAtMs - std::int64_t{30} * 86400 * 1000));
            !r)
            return std::unexpected(r.error());
        auto r = s.exec("adding a session", "INSERT INTO sessions (token_hash, name, expires_at_ms) VALUES ($1, $2, $3::bigint)",
                        Params().add(tokenHash).add(name).add(expiresAtMs));
        if (!r)
            return std::unexpected(r.error());
        return {};
    });
}

StorageResult<std::optional<Operator>> PostgresStorage::sessionOperator(const std::string &tokenHash, std::int64_t nowMs)
{
    return pool_->run(true, [&](Session &s) -> StorageResult<std::optional<Operator>> {
        auto r = s.exec("looking up a session",
                        "SELECT o.name, o.role FROM sessions s JOIN operators o ON o.name = s.name "
                        "WHERE s.token_hash = $1 AND s.expires_at_ms > $2::bigint",
                        Params().add(tokenHash).add(nowMs));
        if (!r)
            return std::unexpected(r.error());
        const PGresult *res = r->get();
        if (PQntuples(res) == 0)
            return std::nullopt;
        const auto role = roleFromName(text(res, 0, 1));
        if (!role)
            return fail(Code::Failed, "operator " + text(res, 0, 0) + " has an unknown role " + text(res, 0, 1));
        return Operator{text(res, 0, 0), *role};
    });
}

StorageResult<void> PostgresStorage::removeSession(const std::string &tokenHash)
{
    return pool_->run(false, [&](Session &s) -> StorageResult<void> {
        auto r = s.exec("ending a session", "DELETE FROM sessions WHERE token_hash = $1", Params().add(tokenHash));
        if (!r)
            return std::unexpected(r.error());
        return {};
    });
}

StorageResult<IngestCounts> PostgresStorage::ingest(const IngestBatch &batch)
{
    IngestCounts counts;
    if (batch.empty())
        return counts;

    std::vector<std::string_view> ids;
    ids.reserve(batch.statuses.size() + batch.plays.size() + batch.screenshots.size());
    for (const auto &st : batch.statuses)
        ids.push_back(st.deviceId);
    for (const auto &p : batch.plays)
        ids.push_back(p.deviceId);
    for (const auto &sh : batch.screenshots)
        ids.push_back(sh.deviceId);
    std::ranges::sort(ids);
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    Params lock;
    lock.add(textArray(ids, [](std::string_view id) { return id; }));

    const auto &st = batch.statuses;
    const auto &pl = batch.plays;
    const auto &sh = batch.screenshots;
    Params rows;
    rows.add(textArray(st, [](const StatusReport &s) -> std::string_view { return s.deviceId; }))
        .add(intArray(st, [](const StatusReport &s) -> std::optional<std::int64_t> { return s.receivedAtMs; }))
        .add(intArray(st, [](const StatusReport &s) { return s.manifestVersion; }))
        .add(textArray(st, [](const StatusReport &s) -> std::string_view { return s.body; }))
        .add(textArray(pl, [](const PlayRecord &p) -> std::string_view { return p.deviceId; }))
        .add(textArray(pl, [](const PlayRecord &p) -> std::string_view { return p.id; }))
        .add(intArray(pl, [](const PlayRecord &p) -> std::optional<std::int64_t> { return p.receivedAtMs; }))
        .add(textArray(pl, [](const PlayRecord &p) -> std::string_view { return p.line; }))
        .add(textArray(sh, [](const ScreenshotRecord &s) -> std::string_view { return s.deviceId; }))
        .add(textArray(sh, [](const ScreenshotRecord &s) -> std::string_view { return s.sha256Hex; }))
        .add(intArray(sh, [](const ScreenshotRecord &s) -> std::optional<std::int64_t> { return s.bytes; }))
        .add(intArray(sh, [](const ScreenshotRecord &s) -> std::optional<std::int64_t> { return s.receivedAtMs; }));

    Params online;
    online.add(textArray(st, [](const StatusReport &s) -> std::string_view { return s.deviceId; }))
        .add(intArray(st, [](const StatusReport &s) -> std::optional<std::int64_t> { return s.receivedAtMs; }))
        .add(onlineWindowMs());

    return pool_->run(false, [&](Session &s) -> StorageResult<IngestCounts> {
        auto r = st.empty() ? s.pipeline("ingesting a batch", {{kLockDevices, &lock}, {kIngest, &rows}})
                            : s.pipeline("ingesting a batch", {{kLockDevices, &lock}, {kIngest, &rows}, {kExtendOnline, &online}});
        if (!r)
            return std::unexpected(r.error());
        const PGresult *res = (*r)[1].get();
        if (!res || PQntuples(res) != 1)
            return fail(Code::Failed, "ingesting a batch: no count in the answer");
        IngestCounts c;
        c.playsStored = integer(res, 0, 0);
        c.playsDuplicate = static_cast<std::int64_t>(batch.plays.size()) - c.playsStored;
        return c;
    });
}

StorageResult<std::vector<std::string>> PostgresStorage::trimScreenshots(const std::string &deviceId, int keep)
{
    return pool_->run(false, [&](Session &s) -> StorageResult<std::vector<std::string>> {
        if (auto r = s.begin(); !r)
            return std::unexpected(r.error());
        auto dropped = s.exec("trimming screenshots",
                              "DELETE FROM screenshots WHERE device_id = $1 AND ctid NOT IN ("
                              "SELECT ctid FROM screenshots WHERE device_id = $1 "
                              "ORDER BY received_at_ms DESC LIMIT $2::bigint) RETURNING sha256",
                              Params().add(deviceId).add(std::int64_t{std::max(keep, 0)}));
        if (!dropped)
            return std::unexpected(dropped.error());
        std::string array = "{";
        for (int i = 0; i < PQntuples(dropped->get()); ++i)
            array += (i ? "," : "") + text(dropped->get(), i, 0); // lowercase hex: no quoting needed
        array += "}";
        // The same transaction sees its own deletion.
        auto unused = s.exec("trimming screenshots",
                             "SELECT DISTINCT h FROM unnest($1::text[]) AS h "
                             "WHERE NOT EXISTS (SELECT 1 FROM screenshots WHERE sha256 = h) ORDER BY h",
                             Params().add(array));
        if (!unused)
            return std::unexpected(unused.error());
        std::vector<std::string> out;
        for (int i = 0; i < PQntuples(unused->get()); ++i)
            out.push_back(text(unused->get(), i, 0));
        if (auto r = s.commit(); !r)
            return std::unexpected(r.error());
        return out;
    });
}

StorageResult<std::int64_t> PostgresStorage::applyRetention(const Retention &retention, std::int64_t nowMs)
{
    if (retention.maxAgeMs < 0 || retention.statusesPerDevice < 0)
        return fail(Code::Invalid, "retention: maxAgeMs and statusesPerDevice must not be negative");
    std::int64_t cutoff = 0;
    if (__builtin_sub_overflow(nowMs, retention.maxAgeMs, &cutoff))
        cutoff = std::numeric_limits<std::int64_t>::min();

    return pool_->run(false, [&](Session &s) -> StorageResult<std::int64_t> {
        if (auto r = s.begin(); !r)
            return std::unexpected(r.error());
        // Replicas running retention at once would scan and delete the same
        // rows; the second waits and then finds little to do.
        if (auto r = s.exec("locking retention", "SELECT pg_advisory_xact_lock($1::bigint)",
                            Params().add(kRetentionLock));
            !r)
            return std::unexpected(r.error());
        std::int64_t removed = 0;
        auto statuses =
            s.exec("trimming statuses", kTrimStatuses, Params().add(cutoff).add(retention.statusesPerDevice));
        if (!statuses)
            return std::unexpected(statuses.error());
        removed += affected(statuses->get());
        auto plays = s.exec("trimming plays", "DELETE FROM plays WHERE received_at_ms < $1::bigint",
                            Params().add(cutoff));
        if (!plays)
            return std::unexpected(plays.error());
        removed += affected(plays->get());
        auto shots = s.exec("trimming screenshots", "DELETE FROM screenshots WHERE received_at_ms < $1::bigint",
                            Params().add(cutoff));
        if (!shots)
            return std::unexpected(shots.error());
        removed += affected(shots->get());
        // Each device's newest stretch before the cutoff stays: the record
        // still reaches back that far (storage.h Retention).
        std::int64_t stretchCutoff = 0;
        if (__builtin_sub_overflow(nowMs, retention.stretchesMaxAgeMs, &stretchCutoff))
            stretchCutoff = std::numeric_limits<std::int64_t>::min();
        auto stretches = s.exec("trimming online stretches",
                                "DELETE FROM online_stretches AS s WHERE to_ms < $1::bigint AND EXISTS ("
                                "SELECT 1 FROM online_stretches n WHERE n.device_id = s.device_id "
                                "AND n.to_ms < $1::bigint "
                                "AND (n.to_ms > s.to_ms OR (n.to_ms = s.to_ms AND n.from_ms > s.from_ms)))",
                                Params().add(stretchCutoff));
        if (!stretches)
            return std::unexpected(stretches.error());
        removed += affected(stretches->get());
        if (auto r = s.commit(); !r)
            return std::unexpected(r.error());
        return removed;
    });
}

} // namespace stoa::hub
