// hub/fleet_metrics.h — the fleet as Prometheus series: what the alerting
// rules in packaging/prometheus/ need beyond the hub's own health
// (docs/operations.md, "Alerting").
//
// Job: at each scrape of /metrics, from the device list the hub's collector
// read (Storage::devices()), each device's latest heartbeat
// (Storage::latestStatus(), re-read only when a newer one arrived) and the
// manifests in the site, set:
//   stoa_hub_database_up                                  1 while the database answers a ping
//   stoa_hub_group_devices{group,state}                   per group, its devices by state
//   stoa_hub_device_last_heartbeat_timestamp_seconds{device}
//   stoa_hub_device_manifest_version{device}, _manifest_stale{device},
//   stoa_hub_device_manifest_expiry_timestamp_seconds{device},
//   stoa_hub_device_sync_consecutive_failures{device},
//   stoa_hub_device_sync_last_success_timestamp_seconds{device},
//   stoa_hub_device_disk_free_bytes{device}, _cpu_temperature_celsius{device},
//   stoa_hub_device_throttled{device}                     from its latest heartbeat
//   stoa_hub_publication_version, _timestamp_seconds,
//   stoa_hub_publication_target_devices, _adopted_devices the newest publication and its adoption
// Invariants (cardinality is bounded and documented in docs/hub.md):
//  - revoked devices have no series; a device gets its last-heartbeat series
//    from its first heartbeat on (never-seen devices are not "offline");
//  - the series read from a heartbeat exist only while the device is online
//    (heard within HubOptions::onlineMs): an old heartbeat says nothing
//    about the device now, and an offline device is the offline alert's;
//    a heartbeat field that is null (no sensor on a PC) has no series;
//  - a series whose device, group or field went away is removed, not left
//    at its last value; while the device list cannot be read every per-device
//    and per-group series is removed, so a database outage raises
//    "database unreachable", never "every device offline";
//  - at most Options::statusReadsPerScrape heartbeats are read per scrape
//    (oldest first), so a scrape of a large fleet costs a bounded number of
//    database calls; the rest are read at the next scrapes;
//  - collect() and collectFailed() run on the metrics registry's collecting
//    step, which the registry serialises; a mutex guards the state anyway.
#pragma once

#include "hub/storage.h"

#include "endpoints/metrics.h"

#include <cstdint>
#include <expected>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace stoa::hub {

class FleetMetrics {
public:
    struct Options {
        std::int64_t onlineMs = 3 * 60 * 1000;
        std::int64_t staleMs = 15 * 60 * 1000;
        std::string siteDir; // DATA/site: the published manifests
        std::size_t statusReadsPerScrape = 2000;
    };

    // Registers the families; the message says why not.
    static std::expected<std::unique_ptr<FleetMetrics>, std::string> create(endpoints::MetricsRegistry &registry,
                                                                             Storage &storage, Options options);
    ~FleetMetrics();
    FleetMetrics(const FleetMetrics &) = delete;
    FleetMetrics &operator=(const FleetMetrics &) = delete;

    // One scrape: `devices` as Storage::devices() returned them, at `nowMs`.
    void collect(const std::vector<DeviceSummary> &devices, std::int64_t nowMs);
    // One scrape whose device list could not be read.
    void collectFailed();

    // What the latest heartbeat of a device says, as the series show it.
    struct Heartbeat {
        std::int64_t receivedAtMs = 0;
        std::optional<double> manifestExpiresAtS;
        std::optional<bool> manifestStale;
        std::optional<double> syncFailures;
        std::optional<double> syncLastSuccessS;
        std::optional<double> diskFreeBytes;
        std::optional<double> cpuTempC;
        std::optional<bool> throttled;
    };
    // The fields of a §5 status document (schedule/status_report.h); a
    // field missing, null or of the wrong type is nullopt.
    static Heartbeat parseHeartbeat(const std::string &body, std::int64_t receivedAtMs);

private:
    struct Families;
    FleetMetrics(Storage &storage, Options options, std::unique_ptr<Families> families);
    void readHeartbeats(const std::vector<const DeviceSummary *> &online);
    struct Publication {
        std::int64_t version = 0;
        double publishedAtS = 0;
        bool fleetManifest = false;
        std::vector<std::string> deviceManifests; // ids with a manifest of their own
    };
    Publication scanSite();

    Storage &storage_;
    const Options options_;
    std::unique_ptr<Families> f_;
    std::mutex mutex_; // guards the caches below
    std::map<std::string, Heartbeat> heartbeats_; // by device id
    struct SiteFile {
        std::int64_t mtimeNs = -1;
        std::int64_t size = -1;
        std::int64_t version = 0;
    };
    std::map<std::string, SiteFile> siteFiles_; // by path
};

} // namespace stoa::hub
