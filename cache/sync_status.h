// cache/sync_status.h — what the sync agent tells the rest of the device about itself.
//
// A snapshot written to the store (kv "sync.status", JSON) whenever it
// changes, so the player's diagnostics screen and the heartbeat show the
// agent's state without talking to the agent process. It lives in cache/
// because the store is the only thing the two processes share: the agent
// writes it, the player and `stoa status` read it. Wall-clock fields are
// for display only; the agent schedules by the monotonic clock.
#pragma once

#include <QJsonObject>

#include <cstdint>
#include <optional>
#include <string>

namespace stoa::cache {

class KeyValue;

inline constexpr const char *kSyncStatusKey = "sync.status";

struct SyncStatus {
    // What keeps the staged manifest from being activated, while something
    // does (§5 sync.staged_blocked, docs/protocol.md): a blob that cannot be
    // had, no room for it, or the download window closed. The agent sets it
    // when the cause appears and clears it when the cause is gone; the staged
    // version is stagedVersion.
    struct StagedBlock {
        std::string reason;       // fixed code (sync/downloads.h Blocker): no_space, blob_corrupt, ...
        std::string message;      // one sentence in plain words, for operators and the screen
        std::int64_t sinceMs = 0; // wall clock: since when this reason has held it back
        bool operator==(const StagedBlock &) const = default;
    };

    std::string server;               // base URL (never with credentials)
    std::string state = "starting";   // starting, in_sync, downloading, backing_off, no_manifest
    std::int64_t lastAttemptAtMs = 0; // wall clock of the last manifest poll
    std::string lastResult;           // "unchanged", "staged version 7", an error
    std::int64_t lastSuccessAtMs = 0;
    std::string lastError;            // empty after a success
    int consecutiveFailures = 0;      // manifest channel
    double backoffSeconds = 0;        // the wait chosen after the last manifest attempt
    std::int64_t nextAttemptAtMs = 0; // wall clock estimate of the next manifest poll
    std::int64_t activeVersion = 0;
    bool activeSignerRevoked = false; // v1.1 §11: no key in force vouches for the active manifest any more
    std::int64_t stagedVersion = 0;   // 0: nothing staged
    int stagedBlobsMissing = 0;
    std::uint64_t stagedBytesMissing = 0;
    std::uint64_t bytesDownloaded = 0; // since the agent started
    std::string downloadError;         // last blob failure
    std::optional<StagedBlock> stagedBlocked; // nullopt: nothing staged, or nothing holds it back
    std::string keys;                  // "root keys only" or "keys document v3 (2 signing keys)"
    std::string heartbeat;             // "ok", "not supported by the server", an error
    std::string plays;                 // same, for proof-of-play uploads

    QJsonObject toJson() const;
    static SyncStatus fromJson(const QJsonObject &o);
    bool operator==(const SyncStatus &) const = default;
};

// The agent's last published status; nullopt when it never wrote one (or the
// store could not be read: the caller shows "no agent state").
std::optional<SyncStatus> readSyncStatus(KeyValue &kv);

} // namespace stoa::cache
