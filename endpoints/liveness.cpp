// endpoints/liveness.cpp — see liveness.h.
#include "endpoints/liveness.h"

#include <cstdio>

namespace stoa::endpoints {

using Clock = std::chrono::steady_clock;

Liveness::Liveness(std::chrono::milliseconds window, std::string loopName)
    : window_(window), loopName_(std::move(loopName))
{
}

void Liveness::tick() noexcept
{
    const auto now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                         Clock::now().time_since_epoch())
                         .count();
    lastTickNs_.store(now, std::memory_order_relaxed);
}

std::optional<std::chrono::nanoseconds> Liveness::sinceLastTick() const noexcept
{
    const auto last = lastTickNs_.load(std::memory_order_relaxed);
    if (last == kNever)
        return std::nullopt;
    const auto now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                         Clock::now().time_since_epoch())
                         .count();
    return std::chrono::nanoseconds(now - last);
}

bool Liveness::isLive(std::chrono::nanoseconds window) const noexcept
{
    const auto since = sinceLastTick();
    return since && *since <= window;
}

std::string Liveness::describe() const
{
    const auto since = sinceLastTick();
    if (!since)
        return "no " + loopName_ + " tick yet";
    if (*since <= window_)
        return "ok";
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.1f",
                  std::chrono::duration<double>(*since).count());
    return "no " + loopName_ + " tick for " + buf + " s";
}

} // namespace stoa::endpoints
