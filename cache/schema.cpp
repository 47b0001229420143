#include "cache/schema.h"

#include <array>

namespace stoa::cache {

namespace {

// Version 1. Times are Unix milliseconds (wall clock, informational only);
// ordering that matters (LRU) uses counters, never the clock, because a Pi
// boots with a wrong clock.
constexpr std::string_view kV1 = R"sql(
CREATE TABLE blobs (
    hex         TEXT PRIMARY KEY,      -- 64 lowercase hex digits of SHA-256
    size        INTEGER NOT NULL,
    added_at    INTEGER NOT NULL,
    last_used   INTEGER NOT NULL,      -- LRU sequence number, larger = more recent
    verify_seq  INTEGER                -- scrub order: larger = hashed more recently; NULL = never since indexed
) WITHOUT ROWID;
CREATE INDEX blobs_lru ON blobs(last_used);
CREATE INDEX blobs_verify ON blobs(verify_seq);

-- Who needs a blob: 'active' / 'staged' manifest, or another owner.
CREATE TABLE pins (
    owner TEXT NOT NULL,
    hex   TEXT NOT NULL,
    PRIMARY KEY (owner, hex)
) WITHOUT ROWID;
CREATE INDEX pins_hex ON pins(hex);

CREATE TABLE manifests (
    slot      TEXT PRIMARY KEY CHECK (slot IN ('active', 'staged')),
    version   INTEGER NOT NULL,
    envelope  BLOB NOT NULL,           -- raw signed envelope bytes as fetched
    stored_at INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE kv (
    key   TEXT PRIMARY KEY,
    value BLOB NOT NULL
) WITHOUT ROWID;

CREATE TABLE plays (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    id          TEXT NOT NULL UNIQUE,
    asset       TEXT,
    url         TEXT,
    playlist    TEXT NOT NULL,
    started_at  TEXT NOT NULL,         -- RFC 3339 UTC
    duration_ms INTEGER NOT NULL,
    completed   INTEGER NOT NULL,
    reason      TEXT                   -- why an item was skipped, NULL when it played
);

CREATE TABLE commands (
    id          TEXT PRIMARY KEY,
    type        TEXT NOT NULL,
    executed_at INTEGER NOT NULL,
    result      TEXT NOT NULL
) WITHOUT ROWID;

-- Commands the agent hands to the player (screenshot, restart_player,
-- display_on/off): 'pending' -> the player sets 'done' or 'failed';
-- a screenshot's file waits in screenshots/<id>.jpg until uploaded.
CREATE TABLE handover (
    id         TEXT PRIMARY KEY,
    type       TEXT NOT NULL,
    state      TEXT NOT NULL CHECK (state IN ('pending', 'done', 'failed')),
    result     TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL
) WITHOUT ROWID;
)sql";

// Version 2 (protocol v1.1 §12): a play of an item in a layout's region
// names the layout and the region (both NULL for the full screen).
constexpr std::string_view kV2 = R"sql(
ALTER TABLE plays ADD COLUMN layout TEXT;
ALTER TABLE plays ADD COLUMN region TEXT;
)sql";

constexpr std::array<std::string_view, 2> kMigrations = {kV1, kV2};

} // namespace

std::span<const std::string_view> migrations() { return kMigrations; }

} // namespace stoa::cache
