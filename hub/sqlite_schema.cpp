// hub/sqlite_schema.cpp — the SQLite backend's schema: every version's
// statements, and migrate(), which applies those a database lacks in one
// transaction and refuses a database newer than this program (the version is
// PRAGMA user_version).
#include "hub/sqlite_storage_impl.h"

#include <string>

namespace stoa::hub {
namespace {

constexpr int kSchemaVersion = 7;

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

} // namespace

using namespace sqlite;

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

} // namespace stoa::hub
