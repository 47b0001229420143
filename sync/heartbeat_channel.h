// sync/heartbeat_channel.h — the agent's heartbeat channel: the device's
// status report (§5), POSTed every status interval.
//
// Job: when due, gather what the device reports (manifest, now playing,
// sync state, store usage, health, the trusted clock, pending commands)
// into a StatusReport and send it (Uploader: pacing, backoff).
//
// Invariants: only reads (the store, the status, the health reading); the
// report is built fresh each time, never from a cached copy; a file://
// server gets nothing and is asked again in a day.
#pragma once

#include "cache/store.h"
#include "cache/sync_status.h"
#include "schedule/device_health.h"
#include "schedule/trusted_time.h"
#include "sync/manifest_slots.h"
#include "sync/uploader.h"

#include <optional>

namespace stoa::sync {

class HeartbeatChannel {
public:
    // Everything passed by reference must outlive the channel. `health`: the
    // last reading of the device's sensors (the StatusChannel's), sent as it
    // is but for free disk, read from the store at each report.
    HeartbeatChannel(const AgentConfig &config, const std::string &deviceId, cache::Store &store, HttpClient &http,
                     Backoff::Rng &rng, schedule::TrustedClock &clock, const ManifestSlots &manifests,
                     cache::SyncStatus &status, const std::optional<schedule::DeviceHealth> &health,
                     AgentMetrics *const &metrics)
        : m_deviceId(deviceId), m_store(store), m_clock(clock), m_manifests(manifests), m_status(status),
          m_health(health), m_upload("status", config, deviceId, http, rng, manifests, metrics) {}

    // At start: the first report, jittered. Returns when it is due.
    SteadyTime start(SteadyTime started);
    void step(SteadyTime now);
    SteadyTime due() const { return m_upload.due; }

private:
    const std::string &m_deviceId;
    cache::Store &m_store;
    schedule::TrustedClock &m_clock;
    const ManifestSlots &m_manifests;
    cache::SyncStatus &m_status; // reads the sync state; writes heartbeat
    const std::optional<schedule::DeviceHealth> &m_health;
    Uploader m_upload;
    SteadyTime m_started{}; // for the report's uptime
};

} // namespace stoa::sync
