// cache/store.h — the on-device store: one data directory, shared by the
// player and the sync agent (separate processes).
//
// Layout under dataDir:
//   state.db (+ -wal, -shm)          SQLite state, see schema.cpp
//   blobs/sha256/<2 hex>/<64 hex>    content-addressed assets (blobs.h)
//   tmp/                             partial downloads and import temps
//   manifests/active.json, floor     durable mirror of the active manifest
//   corrupt/                         databases that failed their checks
//   store.lock                       flock: exclusive while recovering
//
// Opening runs recovery (recovery.h). The first process to open takes the
// lock exclusively and may rebuild a corrupt database; a process that opens
// while another has the store open takes it shared and skips the rebuild
// (everything else recovery does is safe while the other process works).
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

#include <filesystem>
#include <memory>

namespace stoa::cache {

struct StoreOptions {
    std::filesystem::path dataDir = "/var/lib/stoa";
    SpaceLimits limits;
    std::int64_t maxPlayRecords = PlayLog::kDefaultMaxRecords;
};

class Store {
public:
    static Result<std::unique_ptr<Store>> open(const StoreOptions &options);
    ~Store();

    const std::filesystem::path &dataDir() const { return m_options.dataDir; }
    const RecoveryReport &recoveryReport() const { return m_report; }
    std::filesystem::path databasePath() const { return m_options.dataDir / "state.db"; }

    Database &db() { return m_db; }
    BlobStore &blobs() { return m_blobs; }
    SpacePolicy &space() { return m_space; }
    ManifestStore &manifests() { return m_manifests; }
    KeyValue &kv() { return m_kv; }
    PlayLog &plays() { return m_plays; }
    CommandLog &commands() { return m_commands; }

private:
    Store(StoreOptions options, UniqueFd lock, Database db);

    // --- Declaration order matters: the members below refer to m_db.
    StoreOptions m_options;
    UniqueFd m_lock;  // store.lock, held shared for the Store's lifetime
    Database m_db;    // this thread's connection to state.db
    BlobStore m_blobs;
    SpacePolicy m_space;
    ManifestStore m_manifests;
    KeyValue m_kv;
    PlayLog m_plays;
    CommandLog m_commands;
    RecoveryReport m_report;
};

} // namespace stoa::cache
