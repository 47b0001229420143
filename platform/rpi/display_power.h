// platform/rpi/display_power.h — switching the screen on and off (spec §3
// `display` window, commands display_on/display_off), reporting what the
// device did.
//
// Methods, chosen by name in the config:
//   "drm"      DRM/KMS DPMS. Setting DPMS needs the DRM master, which under
//              eglfs is the player's own KMS fd, so the switch itself is a
//              function the player injects (QPlatformScreen::setPowerState
//              of its eglfs screen); this class calls it and confirms it by
//              reading the connector's <root>/sys/class/drm/card*-<name>/dpms.
//              No libdrm here: opening a second fd would not be master.
//   "vcgencmd" `vcgencmd display_power 0|1 [display]`, expects "display_power=N".
//              (Firmware display stack; under the vc4-kms driver the firmware
//              does not own the display and the command does not switch it.)
//   "cec"      HDMI-CEC to the TV (logical address 0): `cec-ctl [-d dev] --to 0
//              --standby` / `--image-view-on`. cec-ctl exits 0 even when the TV
//              does not acknowledge, so its "Tx, ..." status line is checked.
//   "none"     nothing is switched (the player only blanks its picture).
//
// Invariants: setPower never throws or crashes; a failing method (missing
// tool, non-zero exit, timeout, unexpected output, no acknowledgement) is an
// error string naming the method and what went wrong; a success's report
// quotes what the device answered, so logs and command results show it.
#pragma once

#include "platform/rpi/tool_runner.h"
#include "player/display_power.h"
#include "settings/choices.h"

#include <QString>
#include <QStringList>

#include <chrono>
#include <expected>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace stoa::platform {

// The interface is its user's (player/display_power.h): these are the Pi's
// implementations of it, which the player's main() plugs in.
using player::DisplayPower;
using player::DisplayPowerReport;
using player::DrmPowerSwitch;

struct DisplayPowerOptions {
    QString vcgencmdPath = QStringLiteral("/usr/bin/vcgencmd");
    std::optional<int> vcgencmdDisplay; // vcgencmd display id (2: HDMI0, 7: HDMI1); none: the default
    QString cecCtlPath = QStringLiteral("/usr/bin/cec-ctl");
    QString cecDevice;                  // "/dev/cec0"; empty: cec-ctl's default (/dev/cec0)
    QString root = QStringLiteral("/"); // where /sys/class/drm is read (drm)
    QString drmConnector;               // "HDMI-A-1"; empty: the first connected connector
    DrmPowerSwitch drmSwitch;           // required for "drm" to switch anything
    std::chrono::milliseconds timeout{5000}; // per tool invocation
};

// "drm", "vcgencmd", "cec", "none": stoa.conf's names (settings/choices.h).
QStringList displayPowerMethods();

// The implementation for the configured method (stoa.conf's display_power,
// made an enum when the file was read). runner must outlive the result.
std::unique_ptr<DisplayPower> makeDisplayPower(settings::DisplayPower method, DisplayPowerOptions options,
                                               ToolRunner &runner);

// The same for a method name (tests, tools): the name is looked up in the
// settings' list; an error naming the valid ones for an unknown name.
std::expected<std::unique_ptr<DisplayPower>, std::string>
makeDisplayPower(const QString &method, DisplayPowerOptions options, ToolRunner &runner);

// The "drm" method itself (display_power_drm.cpp); makeDisplayPower("drm") calls it.
std::unique_ptr<DisplayPower> makeDrmDisplayPower(const DisplayPowerOptions &options);

// One DRM connector as sysfs shows it (<root>/sys/class/drm/card1-HDMI-A-1/).
struct DrmConnectorState {
    QString name;    // "card1-HDMI-A-1"
    QString status;  // "connected", "disconnected", "unknown"
    QString dpms;    // "On", "Off", "Standby", "Suspend"; empty when unreadable
    QString enabled; // "enabled", "disabled"
};

// The named connector ("HDMI-A-1", any card), or the first connected one
// (by name order) when name is empty; nullopt when there is none.
std::optional<DrmConnectorState> findDrmConnector(const QString &root, const QString &name);

} // namespace stoa::platform
