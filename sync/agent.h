// sync/agent.h — the sync agent: keeps the store in line with the backend.
//
// The agent is a set of channels, one per file, and a loop over them.
// step() is that loop: it calls each channel's step in a fixed order; a
// channel that is not due returns at once. Each channel owns its own state
// (due time, Pacer, counters), so the channels back off independently; what
// they share is passed to each explicitly, and only what it uses:
//
//   StatusChannel     (status_channel.h)     liveness, sensors, /metrics; the status written to the store
//   ManifestChannel   (manifest_channel.h)   poll keys.json and the manifest, verify, stage
//   DownloadChannel   (download_channel.h)   the staged manifest's blobs; repair of the active one's
//   ActivationChannel (activation_channel.h) staged → active when complete; key revocation
//   CommandChannel    (command_channel.h)    the active manifest's commands, once each
//   HeartbeatChannel  (heartbeat_channel.h)  the status report (§5)
//   PlaysChannel      (plays_channel.h)      proof of play (§6)
//   ScreenshotChannel (screenshot_channel.h) the player's screenshots
//   TimeFloorChannel  (time_floor_channel.h) the trusted clock's floor (§7)
//
// All scheduling uses the monotonic clock; wall-clock time appears only in
// what is reported.
//
// Invariants:
//  - nothing reaches the store that was not verified: manifests through the
//    TrustStore and acceptance rules, blobs through the store's BlobWriter;
//  - a manifest becomes active only when all its blobs are present, in one
//    store transaction; until then the previous one stays active;
//  - any failure (transport, HTTP status, a rejected document) only moves the
//    channel's next attempt later — it never changes what plays;
//  - while a staged manifest cannot be activated, the status says why and
//    since when (status().stagedBlocked: no room, a blob failing, the
//    download window closed); it is cleared as soon as that cause is gone.
//
// Threading: an Agent belongs to the thread that calls step()/run(); stop()
// and wakeUp() may be called from any thread.
#pragma once

#include "cache/store.h"
#include "cache/sync_status.h"
#include "schedule/trust_store.h"
#include "schedule/trusted_time.h"
#include "sync/activation_channel.h"
#include "sync/command_channel.h"
#include "sync/config.h"
#include "sync/download_channel.h"
#include "sync/heartbeat_channel.h"
#include "sync/http.h"
#include "sync/manifest_channel.h"
#include "sync/manifest_slots.h"
#include "sync/plays_channel.h"
#include "sync/screenshot_channel.h"
#include "sync/status_channel.h"
#include "sync/time_floor_channel.h"

#include <atomic>
#include <condition_variable>
#include <mutex>

namespace stoa::sync {

class Agent {
public:
    // Everything passed by reference must outlive the agent.
    Agent(AgentConfig config, std::string deviceId, cache::Store &store, HttpClient &http,
          schedule::TrustStore trust, schedule::TrustedClock &clock, std::uint64_t seed);

    // One pass over every channel that is due. Returns when the next one is.
    SteadyTime step(SteadyTime now);
    // step() until stop(); waits between steps on the monotonic clock.
    void run();
    void stop();
    // From any thread: poll the manifest now (a §10 wake-up said something
    // changed). Only brings the poll forward; a channel backing off after
    // failures keeps its wait, so a burst of wake-ups is no extra load.
    void wakeUp();
    // Before run(). The HttpClient's onActivity should tick the same
    // liveness (main.cpp wires both).
    void setObservers(AgentObservers observers) { m_obs = std::move(observers); }

    const cache::SyncStatus &status() const { return m_status; }

private:
    // --- Shared by the channels; fixed after construction unless noted.
    AgentConfig m_config;
    std::string m_deviceId;
    cache::Store &m_store;
    HttpClient &m_http;
    schedule::TrustStore m_trust;     // changed only by the ManifestChannel (a new keys document)
    schedule::TrustedClock &m_clock;
    Backoff::Rng m_rng;               // every Pacer's jitter; one sequence, drawn in loop order
    SteadyTime m_started;
    AgentObservers m_obs;             // set before run(); channels read the metrics slot at each use
    ManifestSlots m_manifests;        // the store's active/staged, parsed (writers: see manifest_slots.h)
    cache::SyncStatus m_status;       // what status() returns; each channel writes its own fields

    // --- The channels, in the order step() calls them (activation needs
    // downloads, manifest needs activation: declared first).
    StatusChannel m_statusChannel;
    DownloadChannel m_downloads;
    ActivationChannel m_activation;
    ManifestChannel m_manifest;
    CommandChannel m_commands;
    HeartbeatChannel m_heartbeat;
    PlaysChannel m_plays;
    ScreenshotChannel m_screenshots;
    TimeFloorChannel m_timeFloor;

    // --- Stop signalling, the only state shared between threads.
    std::atomic<bool> m_stop{false};
    std::atomic<bool> m_wakeUp{false}; // set by wakeUp(), taken by step()
    std::mutex m_waitMutex;
    std::condition_variable m_wake;
};

} // namespace stoa::sync
