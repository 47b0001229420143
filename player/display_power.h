// player/display_power.h — what the player needs to switch the screen on and
// off: its interface, implemented at the edge (platform/rpi's methods drm,
// vcgencmd, cec, none) and plugged in by main(). The player library knows
// no implementation; tests use a fake (tests/player/fake_display_power.h).
//
// Invariants of every implementation: setPower never throws or crashes; a
// failure is an error string naming the method and what went wrong; a
// success's report quotes what the device answered, so logs and command
// results show it.
//
// Threads: setPower may block (an external tool, a sysfs read: up to the
// method's timeout, 5 s by default), so DisplayControl calls it on its own
// worker thread, never on the GUI thread (a blocked GUI thread freezes the
// picture: issue 15). Calls never overlap (one worker, one call at a time),
// but consecutive calls may come from that thread only: an implementation
// must not need the GUI thread's event loop, and whatever it needs done on
// another thread it hands over there itself (DrmPowerSwitch below).
// method() is called on the GUI thread and must not block.
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
// player's process holds the DRM master (kms_power.h makes it). Called on
// DisplayControl's worker thread; the switch runs the DPMS change on the
// thread that owns the screen itself and waits for it with a bound, so a
// GUI thread that never answers (shutting down) costs a bounded wait and an
// error, not a hang.
using DrmPowerSwitch = std::function<std::expected<void, std::string>(bool on)>;

} // namespace stoa::player
