// schedule/device_health.h — the device's health: one type for every process
// and every place that shows it.
//
// Read by: the agent's heartbeat (§5 health, through StatusReport), its
// /metrics (stoa_device_*), the player's /status (§5 again) and its
// diagnostics screen. Filled by two sources, each field saying which:
//   - the sensors, by platform/rpi's HealthSource (plugged in by the mains);
//   - the data directory's free space, by the process that holds the store,
//     from cache::diskSpace (the cache owns the data directory; the platform
//     reader leaves these fields empty).
// It lives here, in the pure module below sync, player and the platform,
// because the status report carries it on the wire; nothing here reads a
// sensor.
//
// Invariants: nullopt (or an empty list) is "unknown": the source could not
// tell (a PC has no throttling flags, a missing data dir no free space), never
// a made-up zero or false. §5 writes unknown as JSON null; /metrics leaves the
// series out; the diagnostics screen says "n/a".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace stoa::schedule {

struct DeviceHealth {
    // §5 health.cpu_temp_c: SoC temperature in °C (platform: thermal_zone0).
    std::optional<double> cpuTempC;
    // §5 health.throttled: the firmware slows the ARM now (get_throttled bit 2
    // "throttled" or bit 1 "frequency capped"); under-voltage is its own field.
    std::optional<bool> throttled;
    // The supply is under-voltage now (get_throttled bit 0). Metrics and
    // diagnostics; not in §5.
    std::optional<bool> underVoltage;
    // Any throttling or under-voltage since boot, now included (bits 0-3,
    // 16-19). Diagnostics.
    std::optional<bool> problemSinceBoot;
    // The firmware flags set, by name in bit order ("under-voltage",
    // "throttled-occurred", …; platform/rpi/throttle.h). Empty: none or unknown.
    std::vector<std::string> conditions;
    // §5 health.disk_free_bytes: bytes of the data directory's file system
    // available to the store (statvfs f_bavail × f_frsize). Store holder.
    std::optional<std::uint64_t> diskFreeBytes;
    // The size of that file system in bytes. Store holder; diagnostics.
    std::optional<std::uint64_t> diskTotalBytes;
    // The data directory's file system is mounted read-only (platform:
    // statvfs ST_RDONLY or /proc/mounts). Metrics; not in §5.
    std::optional<bool> readOnly;
};

} // namespace stoa::schedule
