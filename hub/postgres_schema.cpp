// hub/postgres_schema.cpp — the PostgreSQL backend's schema: every
// version's statements, and migrate(), which applies those a database lacks
// in one transaction under an advisory lock (replicas starting together
// migrate once) and refuses a database newer than this program (the
// versions are rows of hub_schema).
#include "hub/postgres_storage_impl.h"

namespace stoa::hub {
namespace {

constexpr int kSchemaVersion = 7;

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

// Version 6: when each device was online (storage.h OnlineStretch), kept
// by age apart from the heartbeats, seeded from the heartbeats kept with
// the default online window (3 minutes), and the function ingest calls to
// keep them (kExtendOnline, postgres_ingest.cpp).
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
// statuses row (retention keeps it: kTrimStatuses, postgres_ingest.cpp),
// instead of a copy of its ~1 KB body in devices.last_status written per
// heartbeat (issue 16: the devices row, rewritten per heartbeat, stays ~100
// bytes). The copies go (NULL); a device whose copy has no statuses row
// gets one first.
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

} // namespace

using namespace pg;

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

} // namespace stoa::hub
