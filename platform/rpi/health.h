// platform/rpi/health.h — the device's health readings for the heartbeat
// (§5 health), diagnostics and metrics.
//
// HealthSource is the seam; PiHealthSource reads:
//   SoC temperature  <root>/sys/class/thermal/thermal_zone0/temp (millidegrees C)
//   throttling       <root>/sys/devices/platform/soc/soc:firmware/get_throttled,
//                    else `vcgencmd get_throttled` (when a vcgencmd path is set)
//   free disk        statvfs(data dir): bytes available to unprivileged users
//   read-only        statvfs(data dir) ST_RDONLY, or the data dir's mount in
//                    <root>/proc/mounts having the "ro" option
//
// Invariants: what cannot be read is std::nullopt ("unknown"), never an
// error and never a made-up zero (a PC has no get_throttled; a missing data
// dir has no free space to tell); read() never throws; the data dir is a real
// path (it is not looked up under root, statvfs needs the real file system),
// while /proc/mounts is read under root so tests can feed it.
#pragma once

#include "platform/rpi/tool_runner.h"
#include "platform/rpi/throttle.h"

#include <QByteArrayView>
#include <QString>

#include <chrono>
#include <cstdint>
#include <optional>

namespace stoa::platform {

struct HealthReading {
    std::optional<double> cpuTempC;           // SoC temperature, °C
    std::optional<ThrottleFlags> throttle;    // firmware flags; heartbeat's throttled = throttle->anyNow()
    std::optional<std::uint64_t> diskFreeBytes; // free space for the data dir (f_bavail * f_frsize)
    std::optional<bool> readOnly;             // the data dir's file system is read-only
};

class HealthSource {
public:
    virtual ~HealthSource() = default;
    // May run a tool (vcgencmd, bounded by a timeout): call it off the GUI thread
    // or rarely (the heartbeat's interval).
    virtual HealthReading read() = 0;
};

struct PiHealthOptions {
    QString root = QStringLiteral("/");      // where /sys and /proc are read
    QString dataDir;                          // the store, e.g. /var/lib/stoa (real path)
    QString vcgencmdPath;                     // empty: no vcgencmd fallback for get_throttled
    std::chrono::milliseconds timeout{2000};  // for vcgencmd
};

class PiHealthSource final : public HealthSource {
public:
    // runner is used only for the vcgencmd fallback; it must outlive this.
    PiHealthSource(PiHealthOptions options, ToolRunner &runner);
    HealthReading read() override;

    std::optional<double> cpuTemperature() const;
    std::optional<ThrottleFlags> throttle();
    std::optional<std::uint64_t> diskFree() const;
    std::optional<bool> readOnly() const;

private:
    PiHealthOptions m_options;
    ToolRunner &m_runner;
    bool m_vcgencmdFailedLogged = false;
};

// "51234\n" millidegrees -> 51.234; nullopt for anything that is not an integer.
std::optional<double> parseMilliCelsius(QByteArrayView text);

// Whether `path` (absolute, canonical) lies on a file system mounted read-only
// according to /proc/mounts text: the longest mount point that is a prefix of
// path decides. nullopt when no mount covers it or the text has no entries.
// Mount points are unescaped (\040 is a space, as the kernel writes them).
std::optional<bool> mountIsReadOnly(QByteArrayView procMounts, const QString &path);

} // namespace stoa::platform
