// player/playback_time.cpp — trusted time in the player: the time floor
// saved to the store (spec §7) and a set wall clock noticed (a jump of
// trusted time against the monotonic clock), which resolves the schedule
// again (see playback.h).
#include "player/playback.h"

#include "player/logging.h"
#include "player/timer_ms.h"

#include <algorithm>
#include <cstdlib>
#include <utility>

namespace stoa::player {

namespace {

constexpr const char *kTimeFloorKey = "time_floor_ms";
// How much trusted time may drift from the monotonic clock between two
// samples (kJumpCheckMs apart) before that counts as a jump. NTP slews at
// most 500 ppm (0.5 ms a second); a tick late under load moves both clocks alike.
constexpr std::int64_t kJumpToleranceMs = 1000;

} // namespace

std::optional<std::int64_t> Playback::persistedFloor(cache::Store &store)
{
    // Both processes persist the floor (spec §7) with KeyValue::raise, so
    // neither lowers what the other saved; a player with no agent keeps it too.
    auto floor = store.kv().getInt(kTimeFloorKey);
    return floor ? *floor : std::nullopt;
}

void Playback::persistTimeFloor(bool force)
{
    (void)m_clock.now(); // raises the floor from the system clock when it is trusted
    if (force || m_clock.persistDue()) {
        if (const auto floor = m_clock.floorToPersist()) {
            if (auto saved = m_store.kv().raise(kTimeFloorKey, *floor); saved)
                m_clock.markPersisted();
            else
                qCWarning(lcPlayer, "cannot save the time floor: %s", saved.error().message.c_str());
        }
    }
    // At least every 10 minutes (kPersistIntervalMs), sooner after a jump.
    m_floorTimer.start(timerMs(m_clock.msUntilPersistDue(), 1000));
}

void Playback::checkTimeJump()
{
    const schedule::TrustedNow now = m_clock.now();
    const std::int64_t trusted = now.utc.toMSecsSinceEpoch();
    const std::int64_t mono = monoNow();
    const auto last = std::exchange(m_trustedSample, std::pair(trusted, mono));
    // v1.1 §13: a synchronised playlist plays in step only on a trusted
    // clock; trust can change without a jump (the wall clock set back
    // behind the floor: trusted time runs on from the floor).
    const bool trustChanged = std::exchange(m_clockTrusted, now.trusted) != now.trusted;
    const auto resync = [this] {
        m_fullScreen->timeJumped();
        for (auto &r : m_layout)
            r->timeJumped();
        publishNowPlaying();
    };
    if (!last)
        return;
    const std::int64_t by = trusted - (last->first + (mono - last->second));
    if (std::abs(by) <= kJumpToleranceMs) {
        if (trustChanged) {
            qCInfo(lcPlayer, "the clock is %s now", now.trusted ? "trusted" : "not trusted");
            resync();
        }
        return;
    }
    qCInfo(lcPlayer, "trusted time moved %+.1f s apart from the monotonic clock (the wall clock was set): "
                     "the schedule is resolved again", double(by) / 1000.0);
    persistTimeFloor(false); // a synchronised clock set forward raised the floor: saved at once
    onScheduleTimer();
    resync();
    emit trustedTimeJumped();
}

QString Playback::syncState() const
{
    bool synced = m_fullScreen->syncPlaylist() != nullptr;
    for (const auto &r : m_layout)
        synced = synced || r->syncPlaylist() != nullptr;
    if (!synced)
        return {};
    return m_clockTrusted ? QStringLiteral("synchronised") : QStringLiteral("unsynchronised");
}

} // namespace stoa::player
