// sync/status_channel.h — the agent's status channel: what it tells the
// rest of the device about itself.
//
// Job: first thing each pass, tick the liveness (/healthz, the systemd
// watchdog), read the device's sensors now and then, and feed /metrics;
// last thing each pass, settle the status's state and write the status to
// the store (cache::kSyncStatusKey) when it changed, for the player's
// diagnostics and stoa status.
//
// Invariants:
//  - the store gets the status only when it differs from the last one
//    written (a failed write is tried again next pass);
//  - state is derived, never left stale: backing_off while the manifest
//    channel fails, else downloading while a manifest is staged, else
//    in_sync or no_manifest; stagedBlocked is empty when nothing is staged;
//  - the sensors are read on the agent's thread, at most every healthEvery.
#pragma once

#include "cache/store.h"
#include "cache/sync_status.h"
#include "endpoints/liveness.h"
#include "sync/agent_metrics.h"
#include "sync/downloads.h"
#include "sync/manifest_slots.h"

#include <chrono>
#include <functional>
#include <optional>

namespace stoa::sync {

// What the agent reports to, besides the store. None is owned; each must
// outlive the agent. All optional: tests run agents with none.
struct AgentObservers {
    endpoints::Liveness *liveness = nullptr; // ticked every loop pass and while transfers move
    AgentMetrics *metrics = nullptr;         // /metrics
    // The platform's sensors (may run a tool for up to a few seconds): read
    // at most every healthEvery, on the agent's thread. Its disk fields are
    // not used: free disk is read from the store when reported.
    std::function<schedule::DeviceHealth()> health;
    std::chrono::seconds healthEvery{30};
};

class StatusChannel {
public:
    // Everything passed by reference must outlive the channel; `observers`
    // may change until the agent runs.
    StatusChannel(cache::Store &store, const ManifestSlots &manifests, cache::SyncStatus &status,
                  const AgentObservers &observers)
        : m_store(store), m_manifests(manifests), m_status(status), m_obs(observers) {}

    // Start of a pass: liveness, sensors, metrics.
    void observe(SteadyTime now);
    // End of a pass: the state settled, the status written if it changed.
    void publish();
    // The last sensor reading; nothing before the first or without sensors.
    const std::optional<schedule::DeviceHealth> &health() const { return m_health; }

private:
    cache::Store &m_store;
    const ManifestSlots &m_manifests;
    cache::SyncStatus &m_status; // writes state, stagedBlocked (cleared)
    const AgentObservers &m_obs;

    cache::SyncStatus m_published;         // last written to the store
    std::optional<schedule::DeviceHealth> m_health; // last sensor reading
    std::optional<SteadyTime> m_healthAt;  // when it was taken
};

} // namespace stoa::sync
