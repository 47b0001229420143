// sync/time_floor_channel.cpp — see time_floor_channel.h.
#include "sync/time_floor_channel.h"

#include "sync/logging.h"

namespace stoa::sync {

namespace {
constexpr const char *kTimeFloorKey = "time_floor_ms";
} // namespace

void TimeFloorChannel::step()
{
    if (!m_clock.persistDue())
        return;
    if (auto floor = m_clock.floorToPersist()) {
        if (auto ok = m_store.kv().raise(kTimeFloorKey, *floor); !ok) {
            qCWarning(lcSync, "cannot save the time floor: %s", ok.error().message.c_str());
            return;
        }
    }
    m_clock.markPersisted();
}

SteadyTime TimeFloorChannel::due(SteadyTime now) const
{
    return now + std::chrono::milliseconds(m_clock.msUntilPersistDue());
}

void TimeFloorChannel::saveNow()
{
    if (auto floor = m_clock.floorToPersist())
        (void)m_store.kv().raise(kTimeFloorKey, *floor);
}

} // namespace stoa::sync
