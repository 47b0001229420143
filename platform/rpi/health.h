// platform/rpi/health.h — the device's sensors, read into the one health
// type (schedule::DeviceHealth) for the heartbeat (§5 health), /metrics,
// /status and the diagnostics screen. The mains hand read()'s result on as it
// is: no process converts it.
//
// HealthSource is the seam; PiHealthSource reads:
//   SoC temperature  <root>/sys/class/thermal/thermal_zone0/temp (millidegrees C)
//   throttling       <root>/sys/devices/platform/soc/soc:firmware/get_throttled,
//                    else `vcgencmd get_throttled` (when a vcgencmd path is set)
//   read-only        statvfs(data dir) ST_RDONLY, or the data dir's mount in
//                    <root>/proc/mounts having the "ro" option
// Free disk is not a sensor: the process holding the store fills
// diskFreeBytes / diskTotalBytes from cache::diskSpace (the one free-disk
// reading; the platform does not link cache), so read() leaves them empty.
//
// Invariants: what cannot be read is std::nullopt ("unknown"), never an
// error and never a made-up zero (a PC has no get_throttled); read() never
// throws; the data dir is a real path (it is not looked up under root,
// statvfs needs the real file system), while /proc/mounts is read under root
// so tests can feed it.
#pragma once

#include "platform/rpi/tool_runner.h"
#include "platform/rpi/throttle.h"
#include "schedule/device_health.h"

#include <QByteArrayView>
#include <QString>

#include <chrono>
#include <cstdint>
#include <optional>

namespace stoa::platform {

// The health fields the firmware's flags give (throttled, underVoltage,
// problemSinceBoot, conditions); the rest of `health` is left as it is.
void applyThrottle(const ThrottleFlags &flags, schedule::DeviceHealth &health);

class HealthSource {
public:
    virtual ~HealthSource() = default;
    // May run a tool (vcgencmd, bounded by a timeout): call it off the GUI thread
    // or rarely (the heartbeat's interval).
    virtual schedule::DeviceHealth read() = 0;
};

struct PiHealthOptions {
    QString root = QStringLiteral("/");      // where /sys and /proc are read
    QString dataDir;                          // the store, e.g. /var/lib/stoa (real path): for readOnly
    QString vcgencmdPath;                     // empty: no vcgencmd fallback for get_throttled
    std::chrono::milliseconds timeout{2000};  // for vcgencmd
};

class PiHealthSource final : public HealthSource {
public:
    // runner is used only for the vcgencmd fallback; it must outlive this.
    PiHealthSource(PiHealthOptions options, ToolRunner &runner);
    schedule::DeviceHealth read() override;

    std::optional<double> cpuTemperature() const;
    std::optional<ThrottleFlags> throttle();
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
