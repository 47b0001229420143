// player/clocks.h — the clocks the player schedules by: the real ones, or (`--fake-now`) the wall clock shifted.
//
// `--fake-now T` makes the player schedule as if the wall clock read T when
// it started, then advance with the monotonic clock (tests and demos of a
// schedule boundary without waiting for it). The fake clock counts as
// NTP-synchronised so the trusted clock takes it at its word.
#pragma once

#include "schedule/trusted_time.h"

#include <QDateTime>

#include <functional>
#include <optional>

namespace stoa::player {

// The real clocks, or the shifted ones when `fakeNow` is set. `synchronised`
// is the platform's NTP state (main passes platform/rpi's adjtimex reading);
// empty: the system clock never counts as NTP time.
schedule::Clocks playerClocks(const std::optional<QDateTime> &fakeNow, std::function<bool()> synchronised = {});

} // namespace stoa::player
