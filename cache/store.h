// cache/store.h — the on-device store: one data directory, shared by the
// player and the sync agent (separate processes).
//
// Layout under dataDir:
//   state.db (+ -wal, -shm)          SQLite state, see schema.cpp
//   blobs/sha256/<2 hex>/<64 hex>    content-addressed assets (blobs.h)
//   tmp/                             partial downloads and import temps
//   manifests/active.json, floor     durable mirror of the active manifest
//   state/                           durable mirror of remembered state (state_mirror.h)
//   corrupt/                         databases that failed their checks
//   store.lock                       flock: exclusive while recovering
//
// Opening runs recovery (recovery.h). The first process to open takes the
// lock exclusively and may rebuild a corrupt database; a process that opens
// while another has the store open takes it shared and skips the rebuild
// (everything else recovery does is safe while the other process works).
//
// While another process holds the lock exclusively (it is recovering, maybe
// rebuilding a big database), open() waits for it by default. The player
// must not: with WhenBusy::Fallback it gets a *fallback* store at once — a
// private database in a temporary directory, filled from the mirrors
// (manifests/active.json and floor, state/kv) and an index of blobs/ — so
// it plays what it has. Plays it records there go to state/plays.spool as
// always (and into the private database, which is thrown away). When the
// lock is free, the player opens the real store off its GUI thread
// (WhenBusy::Fail, retried) and hands it to adopt(): the fallback store
// takes its connection and lock in place, so every reference to the Store
// and its parts stays valid, and puts back the plays it recorded meanwhile.
// A ChangeWatcher opened on a fallback store's directory waits for that and
// then reports the active manifest as changed (changes.h).
//
// A Store and everything it hands out belong to one thread. Other threads
// (the scrubber) open their own Database on the same file.
#pragma once

#include "cache/blobs.h"
#include "cache/commands.h"
#include "cache/database.h"
#include "cache/durable.h"
#include "cache/error.h"
#include "cache/kv.h"
#include "cache/manifests.h"
#include "cache/playlog.h"
#include "cache/recovery.h"
#include "cache/space.h"
#include "cache/state_mirror.h"

#include <filesystem>
#include <memory>

namespace stoa::cache {

// What open() does while another process holds store.lock exclusively.
enum class WhenBusy {
    Wait,     // block until it is done (the agent, tools)
    Fallback, // a fallback store at once (the player), see above
    Fail,     // ErrorCode::Busy at once (the player's retries)
};

struct StoreOptions {
    std::filesystem::path dataDir = "/var/lib/stoa";
    SpaceLimits limits;
    std::int64_t maxPlayRecords = PlayLog::kDefaultMaxRecords;
    WhenBusy whenBusy = WhenBusy::Wait;
};

class Store {
public:
    static Result<std::unique_ptr<Store>> open(const StoreOptions &options);
    ~Store();

    // True while this is a fallback store (see above).
    bool isFallback() const { return !m_fallbackDir.empty(); }
    // Takes over `real`, a store opened normally on the same data directory
    // (same thread from now on); this store stops being a fallback. The plays
    // recorded meanwhile are put back into the real database.
    Result<void> adopt(Store &&real);
    // Whether a Store of this process is a fallback on `dataDir` (ChangeWatcher).
    static bool fallbackActive(const std::filesystem::path &dataDir);

    const std::filesystem::path &dataDir() const { return m_options.dataDir; }
    std::int64_t maxPlayRecords() const { return m_options.maxPlayRecords; }
    const RecoveryReport &recoveryReport() const { return m_report; }
    std::filesystem::path databasePath() const { return m_options.dataDir / "state.db"; }

    Database &db() { return m_db; }
    BlobStore &blobs() { return m_blobs; }
    SpacePolicy &space() { return m_space; }
    ManifestStore &manifests() { return m_manifests; }
    KeyValue &kv() { return m_kv; }
    PlayLog &plays() { return m_plays; }
    CommandLog &commands() { return m_commands; }
    StateMirror &mirror() { return m_mirror; }

private:
    Store(StoreOptions options, UniqueFd lock, Database db);
    static Result<std::unique_ptr<Store>> openFallback(const StoreOptions &options, UniqueFd lock);

    // --- Declaration order matters: the members below refer to m_db and m_mirror.
    StoreOptions m_options;
    UniqueFd m_lock;  // store.lock, held shared for the Store's lifetime (a fallback: held by nobody)
    Database m_db;    // this thread's connection to state.db (a fallback: to its private copy)
    StateMirror m_mirror;
    BlobStore m_blobs;
    SpacePolicy m_space;
    ManifestStore m_manifests;
    KeyValue m_kv;
    PlayLog m_plays;
    CommandLog m_commands;
    RecoveryReport m_report;
    std::filesystem::path m_fallbackDir; // the private database's directory; empty: not a fallback
};

} // namespace stoa::cache
