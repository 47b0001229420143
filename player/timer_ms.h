// player/timer_ms.h — a delay in int64 milliseconds as QTimer takes it.
//
// QTimer takes int milliseconds (about 24 days at most); the player's
// delays come from int64 clocks, so each is clamped to [atLeast, a day]. A
// change further away than a day is not lost: whatever the timer drives
// looks again when it fires (the schedule is resolved again, an item's
// slot re-armed). Negative delays (an instant already past) fire at once.
#pragma once

#include <algorithm>
#include <cstdint>

namespace stoa::player {

inline constexpr std::int64_t kMaxTimerMs = 24LL * 3600 * 1000;

// `ms` clamped to [atLeast, kMaxTimerMs], for QTimer::start().
constexpr int timerMs(std::int64_t ms, std::int64_t atLeast = 0)
{
    return int(std::clamp<std::int64_t>(ms, atLeast, kMaxTimerMs));
}

} // namespace stoa::player
