// player/playback_staging.cpp — the regions on screen and the gapless
// change between them: the next change's regions staged a load timeout
// ahead, shown in one GUI-thread turn once every one is prepared, the old
// released after (see playback.h).
#include "player/playback.h"

#include "player/logging.h"
#include "player/timer_ms.h"
#include "schedule/timing.h"

#include <algorithm>

namespace stoa::player {

bool Playback::changesRegions(const InForce &what) const
{
    std::vector<RegionPlace> current;
    for (const auto &r : m_layout)
        current.push_back(r->place());
    return placesOf(what.layout) != current;
}

void Playback::armStage()
{
    m_stageTimer.stop();
    if (!m_nextChangeMono || !changesRegions(m_upcoming) || (m_pending && m_pending->what == m_upcoming))
        return;
    // As long ahead as a load may take (the new content is held ready, a
    // video paused on its first frame, until the instant).
    // Not at once after a switch either: making a layout's QML items holds
    // the GUI thread a while (~100 ms measured under Xvfb), which would
    // delay the switch's own frame; half the time left at most.
    const std::int64_t lead = m_config.loadTimeout.count();
    const std::int64_t until = *m_nextChangeMono - monoNow();
    const std::int64_t delay = std::max(until - lead, std::min(kStageSettleMs, until / 2));
    m_stageTimer.start(timerMs(delay));
}

void Playback::stage(const InForce &what, bool due)
{
    if (m_pending && m_pending->what == what) {
        m_pending->due = m_pending->due || due;
        commitIfReady();
        return;
    }
    dropPending();
    m_stageTimer.stop();
    Pending p;
    p.what = what;
    p.due = due;
    for (const auto &place : placesOf(what.layout)) {
        auto r = std::make_unique<RegionPlayer>(static_cast<RegionHost &>(*this), place);
        connect(r.get(), &RegionPlayer::preparedChanged, this, &Playback::commitIfReady);
        p.regions.push_back(std::move(r));
    }
    const bool regions = !p.regions.empty();
    m_pending = std::move(p);
    m_staging = true;
    if (regions)
        emit regionsChanged(); // their QML items are made now, hidden until shown
    // Staged ahead, it shows at the next change (a synchronised region
    // plans the slot of then); due, now.
    const std::optional<std::int64_t> showMono = due ? std::nullopt : m_nextChangeMono;
    for (auto &r : m_pending->regions)
        r->stage(playlistsOf(r->place(), what), showMono);
    if (!what.layout && !what.playlists.empty() && !m_fullScreen->showing()) {
        m_pending->fullScreen = true;
        m_fullScreen->stage(what.playlists, showMono);
    }
    m_staging = false;
    if (what.layout)
        qCInfo(lcPlayer, "staging layout %s (%zu regions)%s", what.layout->c_str(), m_pending->regions.size(),
               due ? "" : " ahead of its change");
    else
        qCInfo(lcPlayer, "staging [%s] full-screen%s", qPrintable(joined(what.playlists)),
               due ? "" : " ahead of its change");
    commitIfReady();
}

void Playback::dropPending()
{
    if (!m_pending)
        return;
    Pending p = std::move(*m_pending);
    m_pending.reset();
    if (p.fullScreen)
        m_fullScreen->clear();
    for (auto &r : p.regions)
        r->clear();
    if (!p.regions.empty())
        emit regionsChanged();
    // After their QML items (destroyed by regionsChanged, deferred too).
    for (auto &r : p.regions)
        r.release()->deleteLater();
}

void Playback::commitIfReady()
{
    if (!m_pending || !m_pending->due || m_staging)
        return;
    for (const auto &r : m_pending->regions)
        if (!r->prepared())
            return;
    if (m_pending->fullScreen && !m_fullScreen->prepared())
        return;
    Pending p = std::move(*m_pending);
    m_pending.reset();
    std::vector<std::unique_ptr<RegionPlayer>> old = std::move(m_layout);
    m_layout = std::move(p.regions);
    if (p.what.layout)
        qCInfo(lcPlayer, "layout %s: %zu regions", p.what.layout->c_str(), m_layout.size());
    // The new content shown first, the old released after, in this one
    // GUI-thread turn: the next frame is the first with the new content and
    // no frame shows neither. What the old showed is logged as it ended.
    for (auto &r : m_layout)
        r->go();
    if (p.fullScreen)
        m_fullScreen->go();
    else
        m_fullScreen->boundary(p.what.playlists);
    for (auto &r : old)
        r->clear();
    if (!old.empty())
        emit regionsChanged();
    // Deleted after their QML items (queued by regionsChanged), so no
    // binding reads a deleted slot.
    for (auto &r : old)
        r.release()->deleteLater();
    // A layout's turn counts from when it shows (at its instant when it was
    // staged ahead; later when its regions took longer to load).
    if (turnsTaken() && p.what.layout && p.what == m_inForce && m_manifest)
        m_turnEndMono = monoNow() + schedule::layoutTurnMs(*m_manifest, *p.what.layout);
    armTurn(); // and what comes next is staged against the regions now on screen
    updateIdle();
    if (m_idle)
        setStatus(idleReason());
}

std::vector<std::string> Playback::playlistsOf(const RegionPlace &place, const InForce &what) const
{
    if (!place.layout)
        return what.layout ? std::vector<std::string>{} : what.playlists;
    if (!m_manifest || what.layout != place.layout)
        return {};
    for (const auto &region : m_manifest->layouts.at(*place.layout).regions)
        if (region.id == place.region)
            return {region.playlist};
    return {};
}

std::vector<std::string> Playback::playlistsAt(const RegionPlace &place, std::int64_t mono)
{
    if (!m_manifest)
        return {};
    return playlistsOf(place, m_nextChangeMono && mono >= *m_nextChangeMono ? m_upcoming : m_inForce);
}

std::vector<RegionPlace> Playback::placesOf(const std::optional<std::string> &layout) const
{
    std::vector<RegionPlace> places;
    if (!m_manifest || !layout)
        return places;
    const auto it = m_manifest->layouts.find(*layout);
    if (it == m_manifest->layouts.end())
        return places;
    for (const auto &region : it->second.regions)
        places.push_back(RegionPlace{layout, region.id, region.rect, region.z});
    return places;
}

void Playback::apply(bool adopted)
{
    if (changesRegions(m_inForce)) {
        // Other regions: staged (if not already, ahead of the change) and
        // shown once prepared, the old ones staying until then. Under a new
        // manifest the old ones plan nothing more from names it may lack.
        if (adopted) {
            for (auto &r : m_layout)
                r->manifestAdopted(playlistsOf(r->place(), m_inForce));
            m_fullScreen->manifestAdopted(m_inForce.layout ? std::vector<std::string>{} : m_inForce.playlists);
        }
        stage(m_inForce, true);
        updateIdle();
        return;
    }
    // The same regions: kept (a new manifest reloads their hidden slots).
    if (m_pending && (m_pending->due || !(m_pending->what == m_upcoming)))
        dropPending();
    if (adopted)
        for (auto &r : m_layout)
            r->manifestAdopted(playlistsOf(r->place(), m_inForce));
    if (!m_pending || !m_pending->fullScreen) {
        if (adopted)
            m_fullScreen->manifestAdopted(m_inForce.playlists);
        else
            m_fullScreen->boundary(m_inForce.playlists);
    }
    updateIdle();
}

} // namespace stoa::player
