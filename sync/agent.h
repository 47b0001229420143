// sync/agent.h — the sync agent: keeps the store in line with the backend.
//
// The main loop is step(): a flat list of handle_*() calls, each of which
// does its channel's work if it is due and otherwise returns at once. Every
// channel (manifest poll, blob downloads, heartbeat, plays, screenshots) has
// its own Pacer, so they back off independently. All scheduling uses the
// monotonic clock; wall-clock time appears only in what is reported.
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
// may be called from any thread.
#pragma once

#include "cache/store.h"
#include "cache/sync_status.h"
#include "schedule/manifest.h"
#include "schedule/trust_store.h"
#include "schedule/trusted_time.h"
#include "endpoints/liveness.h"
#include "sync/agent_metrics.h"
#include "sync/backoff.h"
#include "sync/config.h"
#include "sync/documents.h"
#include "sync/downloads.h"
#include "sync/http.h"

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <optional>

namespace stoa::sync {

// What the agent reports to, besides the store. None is owned; each must
// outlive the agent. All optional: tests run agents with none.
struct AgentObservers {
    endpoints::Liveness *liveness = nullptr; // ticked every loop pass and while transfers move
    AgentMetrics *metrics = nullptr;         // /metrics
    // The platform's sensors (may run a tool for up to a few seconds): read
    // at most every healthEvery, on the agent's thread.
    std::function<DeviceHealth()> health;
    std::chrono::seconds healthEvery{30};
};

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
    struct Channel {
        Pacer pacer;
        SteadyTime due;
        std::string result; // last outcome, for the status
    };

    void handleManifest(SteadyTime now);
    void handleDownloads(SteadyTime now);
    bool downloadRound(SteadyTime now); // true: blobs are missing but the download window is closed
    // Sets m_status.stagedBlocked from what holds the staged manifest back now.
    void refreshStagedBlocked(bool windowClosed);
    bool downloadWindowOpen() const;    // by trusted local time
    void handleActivation();
    void handleCommands();
    void handleHeartbeat(SteadyTime now);
    void handlePlays(SteadyTime now);
    void handleScreenshots(SteadyTime now);
    void handleTimeFloor();
    void publishStatus();
    void handleObservers(SteadyTime now);

    // Manifest channel helpers (agent.cpp).
    bool pollKeys(const QDateTime &trustedNow, std::string &error, std::optional<Millis> &retryAfter);
    void keySetChanged();         // after a keys document was adopted
    bool dropStagedIfRevoked();   // true: a staged manifest the key set no longer vouches for was (or is being) dropped
    void refreshSignerRevoked();  // v1.1 §11: does the key set still vouch for the active manifest?
    void manifestDone(SteadyTime now, bool ok, const std::string &result, std::optional<Millis> retryAfter = {});
    void loadManifestsFromStore();
    Millis syncInterval() const;
    Millis statusInterval() const;
    // Telemetry helpers (agent_telemetry.cpp).
    enum class Sent { Ok, Unsupported, Failed };
    Sent send(Channel &c, SteadyTime now, Request request, Millis interval);
    bool telemetryEnabled() const;

    // --- Configuration and collaborators, fixed after construction.
    AgentConfig m_config;
    std::string m_deviceId;
    cache::Store &m_store;
    HttpClient &m_http;
    schedule::TrustStore m_trust;
    schedule::TrustedClock &m_clock;
    Backoff::Rng m_rng;
    DocumentFetcher m_fetcher;
    BlobDownloads m_downloads;
    SteadyTime m_started;

    // --- Channels: when each may next act.
    Channel m_manifest;
    Channel m_heartbeat;
    Channel m_plays;
    Channel m_screenshots;

    // --- What the store holds, parsed. Invariant: m_staged/m_active match
    // the store's staged/active slots (or are empty when those are).
    std::optional<schedule::Manifest> m_active;
    std::optional<schedule::Manifest> m_staged;
    std::int64_t m_commandsDoneForVersion = -1; // commands of this active version were dispatched
    SteadyTime m_repairDue{};   // next check of the active manifest's blobs (nothing staged)
    bool m_repairing = false;   // active blobs are missing: keep downloading until they are back

    cache::SyncStatus m_status;
    cache::SyncStatus m_published; // last written to the store

    // --- Observers and the last health reading (agent thread only).
    AgentObservers m_obs;
    std::optional<DeviceHealth> m_health;
    std::optional<SteadyTime> m_healthAt;

    // --- Stop signalling, the only state shared between threads.
    std::atomic<bool> m_stop{false};
    std::atomic<bool> m_wakeUp{false}; // set by wakeUp(), taken by step()
    std::mutex m_waitMutex;
    std::condition_variable m_wake;
};

} // namespace stoa::sync
