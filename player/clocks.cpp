// player/clocks.cpp — see clocks.h.
#include "player/clocks.h"

namespace stoa::player {

schedule::Clocks playerClocks(const std::optional<QDateTime> &fakeNow, std::function<bool()> synchronised)
{
    schedule::Clocks clocks = schedule::Clocks::system(std::move(synchronised));
    if (!fakeNow)
        return clocks;
    const std::int64_t startUtc = fakeNow->toMSecsSinceEpoch();
    const std::int64_t startMono = clocks.monotonicMs();
    const auto mono = clocks.monotonicMs;
    clocks.systemUtcMs = [startUtc, startMono, mono] { return startUtc + (mono() - startMono); };
    clocks.systemSynchronised = [] { return true; };
    return clocks;
}

} // namespace stoa::player
