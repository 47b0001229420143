// endpoints/liveness.h — "is the main loop still turning?" for /healthz.
//
// The loop calls tick() (from any thread; it is one relaxed atomic store of
// the monotonic clock), and the HTTP server's thread asks isLive(). Spec §8:
// live means a tick within the last 10 s; the window is a constructor
// argument so tests can use a short one.
//
// Invariants: only the monotonic clock is used (wall-clock steps never make
// a process look dead or alive); before the first tick the process is not
// live ("no main-loop tick yet") — a loop that never turned is not healthy.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace stoa::endpoints {

class Liveness {
public:
    static constexpr std::chrono::milliseconds kDefaultWindow{10'000};

    // `loopName` names the loop in the 503 reason, e.g. "render or playback".
    explicit Liveness(std::chrono::milliseconds window = kDefaultWindow,
                      std::string loopName = "main-loop");

    void tick() noexcept;

    bool isLive() const noexcept { return isLive(window_); }
    bool isLive(std::chrono::nanoseconds window) const noexcept;

    // Time since the last tick; nullopt before the first.
    std::optional<std::chrono::nanoseconds> sinceLastTick() const noexcept;

    // "ok" when live, else the reason, e.g. "no main-loop tick for 12.3 s"
    // or "no main-loop tick yet".
    std::string describe() const;

    std::chrono::milliseconds window() const noexcept { return window_; }

private:
    static constexpr std::int64_t kNever = INT64_MIN;
    const std::chrono::milliseconds window_;
    const std::string loopName_;
    std::atomic<std::int64_t> lastTickNs_{kNever}; // steady_clock, ns since its epoch
};

} // namespace stoa::endpoints
