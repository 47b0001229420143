// player/display_power.h — what the player needs to switch the screen on and
// off: its interface, implemented at the edge (platform/rpi's methods drm,
// vcgencmd, cec, none) and plugged in by main(). The player library knows
// no implementation; tests use a fake (tests/player/fake_display_power.h).
//
// Invariants of every implementation: setPower never throws or crashes; a
// failure is an error string naming the method and what went wrong; a
// success's report quotes what the device answered, so logs and command
// results show it.
#pragma once

#include <QString>

#include <expected>
#include <functional>
#include <string>

namespace stoa::player {

struct DisplayPowerReport {
    bool on = false; // the state asked for, and reached as far as the device says
    QString method;  // "drm", "vcgencmd", "cec", "none"
    QString detail;  // what was done and answered: "vcgencmd display_power 0: display_power=0"
};

class DisplayPower {
public:
    virtual ~DisplayPower() = default;
    virtual QString method() const = 0;
    virtual std::expected<DisplayPowerReport, std::string> setPower(bool on) = 0;
};

// The player's own DPMS switch, for the "drm" method: under eglfs only the
// player's process holds the DRM master (kms_power.h makes it).
using DrmPowerSwitch = std::function<std::expected<void, std::string>(bool on)>;

} // namespace stoa::player
