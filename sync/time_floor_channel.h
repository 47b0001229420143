// sync/time_floor_channel.h — the agent's time-floor channel: saving the
// trusted clock's floor (spec §7) so a reboot without a clock source cannot
// go back in time further than the last save.
//
// Job: when the trusted clock says a save is due, raise the stored floor
// to what it offers; at stop, save once more.
//
// Invariants: the stored floor only rises (KeyValue::raise); a failed save
// leaves the clock's persist due, so the next step tries again.
#pragma once

#include "cache/store.h"
#include "schedule/trusted_time.h"
#include "sync/downloads.h"

namespace stoa::sync {

class TimeFloorChannel {
public:
    // Both must outlive the channel.
    TimeFloorChannel(cache::Store &store, schedule::TrustedClock &clock) : m_store(store), m_clock(clock) {}

    void step();
    // When the next save is due.
    SteadyTime due(SteadyTime now) const;
    // At stop: whatever the clock offers, saved now.
    void saveNow();

private:
    cache::Store &m_store;
    schedule::TrustedClock &m_clock;
};

} // namespace stoa::sync
