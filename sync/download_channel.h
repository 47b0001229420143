// sync/download_channel.h — the agent's blob channel: the staged manifest's
// downloads, and the repair of the active manifest's blobs.
//
// Job: each step, find the blobs the target manifest (the staged one, or
// now and then the active one) lacks, fetch a bounded round of them inside
// the download window (BlobDownloads: per-blob backoff, resume, verify), and
// say in the status what is missing and what holds the staged manifest back.
//
// Invariants:
//  - a round fetches at most parallelDownloads * 4 blobs, so one step cannot
//    keep the loop from its other channels for long;
//  - outside download_window (trusted local time, spec §7) nothing is
//    fetched; the status says so (download_window_closed) while blobs of a
//    staged manifest are missing;
//  - status.stagedBlocked names the cause that holds the staged manifest
//    back now, with since when; it is cleared as soon as the cause is gone;
//  - with nothing staged, the active manifest's blobs are checked every
//    repairInterval, and once one is missing every step until all are back.
#pragma once

#include "cache/store.h"
#include "cache/sync_status.h"
#include "schedule/trusted_time.h"
#include "sync/agent_metrics.h"
#include "sync/config.h"
#include "sync/downloads.h"
#include "sync/manifest_slots.h"

namespace stoa::sync {

class DownloadChannel {
public:
    // Everything passed by reference must outlive the channel. `metrics` is
    // the agent's observer slot: null until observers are set, read each use.
    DownloadChannel(const AgentConfig &config, cache::Store &store, HttpClient &http, Backoff::Rng &rng,
                    schedule::TrustedClock &clock, const ManifestSlots &manifests, cache::SyncStatus &status,
                    AgentMetrics *const &metrics);

    void step(SteadyTime now);
    // The loop's next wake-up given `next`, what the other channels want.
    SteadyTime nextDue(SteadyTime now, SteadyTime next) const;
    // The staged manifest was activated or dropped: forget every blob's backoff.
    void forgetAll() { m_downloads.retain({}); }

private:
    bool downloadRound(SteadyTime now); // true: blobs are missing but the download window is closed
    // Sets status.stagedBlocked from what holds the staged manifest back now.
    void refreshStagedBlocked(bool windowClosed);
    bool windowOpen() const; // by trusted local time

    const AgentConfig &m_config;
    cache::Store &m_store;
    schedule::TrustedClock &m_clock;
    const ManifestSlots &m_manifests;
    cache::SyncStatus &m_status; // writes stagedBlobsMissing, stagedBytesMissing, bytesDownloaded,
                                 // downloadError, stagedBlocked, state ("downloading")
    AgentMetrics *const &m_metrics;

    BlobDownloads m_downloads;  // per-blob backoff and failures; retained to the current target's missing blobs
    SteadyTime m_repairDue{};   // next check of the active manifest's blobs (nothing staged); epoch: at once
    bool m_repairing = false;   // active blobs are missing: keep downloading until they are back
};

} // namespace stoa::sync
