// player/region_sync.cpp — v1.1 §13 in a region: a synchronised playlist
// played in step on the slot grid (the slot's item loaded ahead, the switch
// at the slot's instant, a late video sought while hidden); see the rules
// in region_player.h.
#include "player/region_player.h"

#include "player/logging.h"
#include "player/timer_ms.h"
#include "schedule/timing.h"

#include <algorithm>

namespace stoa::player {

namespace {
// The first hidden seek aims this far past where the slot stands when it is
// issued (a flushing accurate seek of a paused pipeline: decode from the
// key frame before; ~100 ms seen on a loaded 2-core VM). Landed early, the
// frame waits for its instant; landed late, it is sought again aiming at
// twice the time the last one took.
constexpr std::int64_t kSeekLeadMs = 150;
constexpr int kSeekAttempts = 3;
// A hidden seek not landed by then is given up (the video is shown as it
// is and sought on screen): what is on screen waits at most this long.
constexpr std::int64_t kSeekWaitMs = 1500;
} // namespace

const schedule::Playlist *RegionPlayer::syncPlaylistOf(const std::vector<std::string> &set) const
{
    // One playlist: tied playlists take turns item by item, which no slot
    // grid can follow; a synchronised one tied with others plays unsynchronised.
    const schedule::Manifest *m = m_host.manifest();
    if (!m || set.size() != 1)
        return nullptr;
    const auto it = m->playlists.find(set.front());
    return it != m->playlists.end() && it->second.sync ? &it->second : nullptr;
}

bool RegionPlayer::prepareSlot(const std::vector<std::string> &set, const schedule::Playlist &playlist,
                               std::int64_t fromMs)
{
    // An item that cannot play gives its slot to the item on screen (held
    // through it): the next usable slot is planned instead.
    for (std::size_t tries = 0; tries < playlist.items.size(); ++tries) {
        const auto at = schedule::syncSlotAt(playlist, fromMs);
        if (!at)
            return false;
        if (m_host.badItems().isBad(contentKey(playlist.items.at(at->index)), m_host.monoNow())) {
            fromMs = at->nextBoundaryMs;
            continue;
        }
        std::optional<std::string> unplayable;
        PlannedItem item = plan(Pick{set.front(), at->index}, set, unplayable);
        if (unplayable) {
            failItem(item, *unplayable, "skipped");
            fromMs = at->nextBoundaryMs;
            continue;
        }
        item.sync = PlannedItem::SyncSlot{at->slotStartMs, at->nextBoundaryMs};
        const bool timed = item.kind != ItemKind::Web || m_host.webWarm();
        slot(hiddenIndex()).load(std::move(item), timed);
        m_resync = false;
        armSlotTimer();
        return true;
    }
    return false;
}

std::optional<std::int64_t> RegionPlayer::slotSwitchAt() const
{
    const MediaSlot &hidden = *m_slots[std::size_t(hiddenIndex())];
    if (m_fadingOut < 0 && hidden.item() && hidden.item()->sync)
        return hidden.item()->sync->slotStartMs;
    // The next item is not a synchronised one (a new manifest, a boundary
    // ahead) or not planned yet: the one on screen still ends with its slot.
    if (const PlannedItem *cur = current(); cur && cur->sync && !m_switchDue)
        return cur->sync->slotEndMs;
    return std::nullopt;
}

void RegionPlayer::armSlotTimer()
{
    m_slotTimer.stop();
    const auto at = slotSwitchAt();
    if (!at)
        return;
    // Trusted distance, waited on the monotonic clock: right while the two
    // run together; Playback tells timeJumped() when they part.
    const std::int64_t wait = *at - m_host.trustedNow().utc.toMSecsSinceEpoch();
    m_slotTimer.start(timerMs(wait));
}

void RegionPlayer::onSlotTimer()
{
    const PlannedItem *cur = current();
    // An unsynchronised item on screen (of the playlist before a boundary,
    // or played while the clock was untrusted) ends by its own timer.
    if (m_current >= 0 && (!cur || !cur->sync))
        return;
    MediaSlot &hidden = slot(hiddenIndex());
    if (const auto at = slotSwitchAt(); at && *at > m_host.trustedNow().utc.toMSecsSinceEpoch()) {
        armSlotTimer(); // a millisecond early by the two clocks' rounding
        return;
    }
    if (m_current >= 0 && !m_switchDue)
        m_outcome = {true, std::nullopt};
    m_switchDue = true;
    m_slotMissed = hidden.state() != MediaSlot::State::Ready;
    trySwitch();
}

void RegionPlayer::timeJumped()
{
    if (!syncPlaylist() || !m_host.manifest())
        return;
    // The hidden item was planned for slots (or a trust) of before: plan
    // again from now; the item on screen gives way to the slot's.
    m_slotTimer.stop();
    if (m_fadingOut < 0) {
        MediaSlot &hidden = slot(hiddenIndex());
        if (hidden.state() != MediaSlot::State::Empty)
            hidden.release();
    }
    if (m_current >= 0 && !m_switchDue)
        m_outcome = {false, "trusted time moved"};
    m_itemTimer.stop();
    m_switchDue = true;
    m_resync = true;
    prepareNext();
    trySwitch();
}

bool RegionPlayer::positionHidden(MediaSlot &hidden)
{
    const PlannedItem &item = *hidden.item();
    if (item.kind != ItemKind::Video || !item.sync)
        return true;
    const std::int64_t nowMs = m_host.trustedNow().utc.toMSecsSinceEpoch();
    const auto issue = [&](std::int64_t leadMs, int attempts) {
        m_seek.emplace();
        m_seek->slot = hidden.index();
        m_seek->generation = hidden.generation();
        m_seek->targetMs = nowMs - item.sync->slotStartMs + leadMs;
        m_seek->issuedMono = m_host.monoNow();
        m_seek->attempts = attempts;
        hidden.seekTo(m_seek->targetMs);
        m_seekTimer.start(int(kSeekWaitMs));
    };
    if (!m_seek || m_seek->slot != hidden.index() || m_seek->generation != hidden.generation()) {
        m_seek.reset();
        m_seekTimer.stop();
        if (nowMs - item.sync->slotStartMs < kSeekAfterMs)
            return true; // at its slot's start: its first frame is the right one
        issue(kSeekLeadMs, 1);
        return false;
    }
    if (m_seek->gaveUp)
        return true;
    if (!m_seek->landed)
        return false; // slotSought() or the deadline
    const std::int64_t showAt = item.sync->slotStartMs + m_seek->targetMs;
    if (showAt > nowMs) {
        m_seekTimer.start(timerMs(showAt - nowMs));
        return false;
    }
    // Landed after its instant: the frame is behind the slot by as much.
    if (nowMs - showAt > kSeekAfterMs && m_seek->attempts < kSeekAttempts) {
        const std::int64_t took = m_host.monoNow() - m_seek->issuedMono;
        issue(std::max(kSeekLeadMs, 2 * took), m_seek->attempts + 1);
        return false;
    }
    return true;
}

void RegionPlayer::slotSought(int index, int generation)
{
    if (!m_seek || m_seek->slot != index || m_seek->generation != generation || m_seek->landed ||
        index != hiddenIndex() || slot(index).generation() != generation)
        return;
    m_seek->landed = true;
    m_seekTimer.stop();
    qCDebug(lcPlayer, "hidden video sought to %lld ms in %lld ms", static_cast<long long>(m_seek->targetMs),
            static_cast<long long>(m_host.monoNow() - m_seek->issuedMono));
    trySwitch();
}

void RegionPlayer::onSeekTimer()
{
    if (m_seek && !m_seek->landed) {
        m_seek->gaveUp = true;
        qCWarning(lcPlayer, "a synchronised video's seek to %lld ms did not land within %lld ms: shown as it is",
                  static_cast<long long>(m_seek->targetMs), static_cast<long long>(kSeekWaitMs));
    }
    trySwitch();
}

} // namespace stoa::player
