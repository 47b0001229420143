// sync/agent_metrics.cpp — see agent_metrics.h.
#include "sync/agent_metrics.h"

#include "cache/kv.h"
#include "cache/space.h"
#include "sync/downloads.h"
#include "sync/logging.h"

namespace stoa::sync {


AgentMetrics::AgentMetrics(endpoints::MetricsRegistry &reg) : m_registry(reg)
{
    auto counter = [&](std::string_view n, std::string_view h) { return endpoints::orDetached(reg.counter(n, h)); };
    auto gauge = [&](std::string_view n, std::string_view h) { return endpoints::orDetached(reg.gauge(n, h)); };
    m_requests = endpoints::orDetached(reg.counterFamily("stoa_sync_requests_total",
                                        "Requests to the backend by channel and outcome (a manifest poll counts once)",
                                        {"channel", "outcome"}));
    m_downloaded = counter("stoa_sync_downloaded_bytes_total", "Blob body bytes received since the agent started");
    m_evictions = counter("stoa_store_evictions_total", "Blobs evicted from the store (space policy, clear_cache)");
    m_scrubFailures = counter("stoa_store_scrub_failures_total", "Blobs found corrupt by the background scrub");
    m_backoff = gauge("stoa_sync_backoff_seconds", "Wait chosen after the last failed manifest poll; 0 after a success");
    m_failures = gauge("stoa_sync_consecutive_failures", "Manifest polls failed in a row");
    m_lastSuccess = gauge("stoa_sync_last_success_timestamp_seconds", "Unix time of the last successful manifest poll");
    m_lastAttempt = gauge("stoa_sync_last_attempt_timestamp_seconds", "Unix time of the last manifest poll");
    m_activeVersion = gauge("stoa_sync_active_manifest_version", "Version of the active manifest; 0: none");
    m_stagedVersion = gauge("stoa_sync_staged_manifest_version", "Version of the staged manifest; 0: none");
    m_stagedMissing = gauge("stoa_sync_staged_missing_bytes", "Bytes of the staged manifest still to download");
    const auto blocked = endpoints::orDetached(reg.gaugeFamily(
        "stoa_sync_staged_blocked",
        "1 while the staged manifest cannot be activated for this reason (no_space, blob_corrupt, blob_too_large, "
        "blob_unreachable, store_error, download_window_closed); 0 otherwise",
        {"reason"}));
    for (const Blocker b : kBlockers)
        m_blocked.push_back(blocked.labels({blockerCode(b)})); // 0 until a reason holds
    m_blockedSince = gauge("stoa_sync_staged_blocked_since_timestamp_seconds",
                           "Unix time since when the staged manifest has been held back for its current reason; "
                           "0: nothing holds it back");
    m_bytesUsed = gauge("stoa_store_bytes_used", "Bytes of blobs in the store");
    m_blobs = gauge("stoa_store_blobs", "Blobs in the store");
    m_quota = gauge("stoa_store_quota_bytes", "Configured store quota; 0: none");
    m_pendingPlays = gauge("stoa_store_pending_plays", "Proof-of-play records waiting for upload");
    m_diskFree = gauge("stoa_device_disk_free_bytes", "Free bytes on the data directory's file system");
}

void AgentMetrics::setDevice(LazyGauge &g, const char *name, const char *help, double value)
{
    // Registered on the first known value: a series that reads 0 on a machine
    // without the sensor would look like a real reading.
    if (!g.registered)
        g.gauge = endpoints::orDetached(m_registry.gauge(name, help)), g.registered = true;
    g.gauge.set(value);
}

void AgentMetrics::request(const char *channel, const char *outcome)
{
    m_requests.labels({channel, outcome}).inc();
}

const char *AgentMetrics::manifestOutcome(bool ok, const std::string &result)
{
    if (ok)
        return result == "unchanged" ? "not_modified" : result == "no manifest published" ? "absent" : "ok";
    return result.find("rejected") != std::string::npos ? "rejected" : "error";
}

void AgentMetrics::status(const cache::SyncStatus &s)
{
    m_downloaded.setTotal(double(s.bytesDownloaded));
    m_backoff.set(s.backoffSeconds);
    m_failures.set(s.consecutiveFailures);
    if (s.lastSuccessAtMs)
        m_lastSuccess.set(double(s.lastSuccessAtMs) / 1000.0);
    if (s.lastAttemptAtMs)
        m_lastAttempt.set(double(s.lastAttemptAtMs) / 1000.0);
    m_activeVersion.set(double(s.activeVersion));
    m_stagedVersion.set(double(s.stagedVersion));
    m_stagedMissing.set(double(s.stagedBytesMissing));
    for (std::size_t i = 0; i < m_blocked.size(); ++i)
        m_blocked[i].set(s.stagedBlocked && s.stagedBlocked->reason == blockerCode(kBlockers[i]) ? 1 : 0);
    m_blockedSince.set(s.stagedBlocked ? double(s.stagedBlocked->sinceMs) / 1000.0 : 0);
}

void AgentMetrics::sample(cache::Store &store, const std::optional<schedule::DeviceHealth> &health,
                          std::chrono::steady_clock::time_point now, std::chrono::seconds every)
{
    if (m_lastSample && now - *m_lastSample < every)
        return;
    m_lastSample = now;
    if (auto u = store.space().usage()) {
        m_bytesUsed.set(double(u->blobBytes));
        m_blobs.set(double(u->blobCount));
        m_quota.set(double(u->quotaBytes));
    }
    // Apart from usage(): the disk can be read while SQLite cannot.
    if (auto disk = cache::diskSpace(store.dataDir()))
        m_diskFree.set(double(disk->freeBytes));
    if (auto n = store.kv().getInt("evictions"); n && *n)
        m_evictions.setTotal(double(**n));
    if (auto n = store.kv().getInt("scrub_failures"); n && *n)
        m_scrubFailures.setTotal(double(**n));
    if (auto n = store.plays().count())
        m_pendingPlays.set(double(*n));
    if (!health)
        return;
    if (health->cpuTempC)
        setDevice(m_temp, "stoa_device_cpu_temperature_celsius", "SoC temperature", *health->cpuTempC);
    if (health->throttled)
        setDevice(m_throttled, "stoa_device_throttled", "1 while the SoC is throttled or frequency-capped",
                  *health->throttled ? 1 : 0);
    if (health->underVoltage)
        setDevice(m_underVoltage, "stoa_device_under_voltage", "1 while the supply is under-voltage",
                  *health->underVoltage ? 1 : 0);
    if (health->readOnly)
        setDevice(m_readOnly, "stoa_device_read_only", "1 when the data directory's file system is read-only",
                  *health->readOnly ? 1 : 0);
}

} // namespace stoa::sync
