// player/kms_power.h — the "drm" display power switch, done by Qt's own KMS
// screen.
//
// Under eglfs the player's process holds the DRM master, so only it can set
// the connector's DPMS property; Qt's eglfs_kms screen does exactly that in
// QPlatformScreen::setPowerState (Qt's private QPA API, pinned by Debian's
// qt6-base-private-dev 6.4.2). platform/rpi's "drm" method calls this and
// then reads the connector's sysfs `dpms` to confirm. On platforms whose
// screen ignores power states (xcb, offscreen) the call does nothing and the
// confirmation reports the contradiction.
//
// Threads: the switch may be called from any thread (DisplayControl calls it
// on its worker); setPowerState always runs on the screen's own thread, and a
// caller on another thread waits for it at most 2 s (then an error).
#pragma once

#include "player/display_power.h"

class QScreen;

namespace stoa::player {

// The switch for `screen` (the window's screen; must outlive the switch).
DrmPowerSwitch kmsPowerSwitch(QScreen *screen);

} // namespace stoa::player
