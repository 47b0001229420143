// sync/agent_metrics.h — what stoa-syncd shows on /metrics (spec §8).
//
// The agent's loop reports events (a manifest poll ended, a download round,
// a telemetry upload) and, at most every few seconds, the state the store
// holds; this turns them into stoa_sync_*, stoa_store_* and stoa_device_*
// series in a registry the endpoint server renders. Everything here is
// written from the agent's thread: the server's thread only renders, so the
// store is never read from it (its collectors would block on SQLite).
//
// Names (base units, counters end in _total; docs/endpoints.md lists them):
//   stoa_sync_requests_total{channel,outcome}   channel: manifest, blob,
//       status, plays, screenshot; outcome: ok, not_modified, absent,
//       rejected, error, unsupported
//   stoa_sync_downloaded_bytes_total, stoa_sync_backoff_seconds,
//   stoa_sync_consecutive_failures, stoa_sync_last_success_timestamp_seconds,
//   stoa_sync_last_attempt_timestamp_seconds, stoa_sync_active_manifest_version,
//   stoa_sync_staged_manifest_version, stoa_sync_staged_missing_bytes,
//   stoa_sync_staged_blocked{reason} (1 for the reason that holds the staged
//       manifest back, 0 for every other reason: every code of
//       sync/downloads.h's Blocker is always present, so a rule need not
//       care about absent series), stoa_sync_staged_blocked_since_timestamp_seconds
//   stoa_store_bytes_used, stoa_store_blobs, stoa_store_quota_bytes,
//   stoa_store_evictions_total, stoa_store_scrub_failures_total,
//   stoa_store_pending_plays
//   stoa_device_cpu_temperature_celsius, stoa_device_throttled,
//   stoa_device_under_voltage, stoa_device_disk_free_bytes, stoa_device_read_only
//   (schedule::DeviceHealth's fields of the same meaning; free disk from
//   cache::diskSpace of the store's data directory)
#pragma once

#include "cache/store.h"
#include "cache/sync_status.h"
#include "endpoints/metrics.h"
#include "schedule/device_health.h"

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace stoa::sync {

class AgentMetrics {
public:
    // `registry` must outlive this. Registration failures (a name clash) are
    // logged and leave that series detached; the agent runs on.
    explicit AgentMetrics(endpoints::MetricsRegistry &registry);

    // One request (or manifest poll) of `channel` ended with `outcome`.
    void request(const char *channel, const char *outcome);
    // Mirrors of the agent's status; cheap, called every loop pass.
    void status(const cache::SyncStatus &s);
    // Store and device figures: reads SQLite, so at most every `every`.
    // `health`: the sensors' last reading (its disk fields are not read: free
    // disk comes from the store, cache::diskSpace, like the heartbeat's).
    void sample(cache::Store &store, const std::optional<schedule::DeviceHealth> &health,
                std::chrono::steady_clock::time_point now, std::chrono::seconds every = std::chrono::seconds(5));

    // The outcome label of a manifest poll's result text (manifest_channel.cpp's words).
    static const char *manifestOutcome(bool ok, const std::string &result);

private:
    struct LazyGauge {
        endpoints::Gauge gauge;
        bool registered = false;
    };
    void setDevice(LazyGauge &g, const char *name, const char *help, double value);

    endpoints::MetricsRegistry &m_registry;
    endpoints::CounterFamily m_requests;
    std::vector<endpoints::Gauge> m_blocked; // stoa_sync_staged_blocked, one child per Blocker in kBlockers' order
    endpoints::Counter m_downloaded, m_evictions, m_scrubFailures;
    endpoints::Gauge m_backoff, m_failures, m_lastSuccess, m_lastAttempt, m_activeVersion, m_stagedVersion,
        m_stagedMissing, m_blockedSince, m_bytesUsed, m_blobs, m_quota, m_pendingPlays, m_diskFree;
    LazyGauge m_temp, m_throttled, m_underVoltage, m_readOnly; // only where the platform can read them
    std::optional<std::chrono::steady_clock::time_point> m_lastSample;
};

} // namespace stoa::sync
