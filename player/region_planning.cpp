// player/region_planning.cpp — what a region shows next: the item planned
// from the playlists in force at the instant it comes on (the picker's, or
// the slot grid's via region_sync.cpp), the unplayable ones skipped and
// marked bad, and what is on screen held when nothing else can play (see
// the "never dark" rules in region_player.h).
#include "player/region_player.h"

#include "player/logging.h"
#include "player/timer_ms.h"

#include <algorithm>

namespace stoa::player {

PlannedItem RegionPlayer::plan(const Pick &pick, const std::vector<std::string> &set,
                               std::optional<std::string> &unplayable)
{
    const auto &m = *m_host.manifest();
    const PlaybackConfig &config = m_host.config();
    const schedule::PlaylistItem &source = m.playlists.at(pick.playlist).items.at(pick.index);
    PlannedItem item;
    item.playlist = pick.playlist;
    item.index = pick.index;
    item.fit = source.fit;
    item.playlists = set;
    item.manifestVersion = m.version;
    item.key = contentKey(source);
    item.fadeMs = source.fadeMs.value_or(config.fadeMs);
    item.crop = source.crop;
    if (m_place.layout) {
        item.layout = m_place.layout;
        item.region = m_place.region;
    }
    if (source.text) {
        item.kind = ItemKind::Text;
        item.text = source.text;
        item.durationMs = source.durationMs.value_or(config.defaultImageMs);
        return item;
    }
    if (source.stream) {
        // v1.1 §14: played live by the video engine; the parser requires
        // duration_ms (a live stream has no end of its own).
        item.kind = ItemKind::Stream;
        item.url = *source.stream;
        item.source = QUrl(*source.stream);
        item.durationMs = source.durationMs.value_or(config.defaultImageMs);
        return item;
    }
    if (source.url) {
        item.kind = ItemKind::Web;
        item.url = *source.url;
        item.source = QUrl(*source.url);
        // Spec §3 requires duration_ms for web pages and gives a default for
        // images only; a page without one gets the image default (docs/web.md).
        item.durationMs = source.durationMs.value_or(config.defaultImageMs);
        if (!kWebBuiltIn)
            unplayable = kWebNotBuiltIn;
        else if (!config.web)
            unplayable = kWebTurnedOff;
        return item;
    }
    item.asset = source.asset->ref();
    const auto asset = m.assets.find(*source.asset);
    const std::string mediaType = asset != m.assets.end() ? asset->second.mediaType : std::string();
    if (mediaType.starts_with("image/")) {
        item.kind = ItemKind::Image;
        item.durationMs = source.durationMs.value_or(config.defaultImageMs);
    } else if (mediaType.starts_with("video/")) {
        item.kind = ItemKind::Video;
        item.durationMs = source.durationMs;
    } else {
        unplayable = "unsupported media type '" + mediaType + "'";
        return item;
    }
    auto path = m_host.store().blobs().find(*source.asset);
    if (!path) {
        unplayable = "store error: " + path.error().message;
    } else if (!*path) {
        unplayable = "asset missing from the store";
    } else {
        item.source = QUrl::fromLocalFile(QString::fromStdString((*path)->string()));
        // Planned to play: least recently used first for eviction (written
        // off the GUI thread).
        m_host.recorder().blobUsed(*source.asset);
    }
    return item;
}

void RegionPlayer::prepareNext()
{
    if (!m_host.manifest() || m_fadingOut >= 0)
        return;
    MediaSlot &hidden = slot(hiddenIndex());
    if (hidden.state() != MediaSlot::State::Empty)
        return;
    // The playlists in force when the next item comes on: a boundary before
    // the current item's end decides, and the item is shown at the boundary.
    std::vector<std::string> set = m_playlists;
    const auto nextChange = m_host.nextChangeMono();
    std::optional<std::int64_t> showMono; // when the next item comes on (nullopt: once ready)
    if (m_current >= 0 && !m_switchDue)
        showMono = m_currentEndMono;
    const bool boundaryDecides =
        m_current >= 0 && !m_switchDue && nextChange && m_currentEndMono && *nextChange <= *m_currentEndMono;
    if (boundaryDecides) {
        set = m_host.playlistsAt(m_place, *nextChange);
        showMono = nextChange;
    }
    if (m_staged && m_stagedFor)
        showMono = m_stagedFor;
    if (const schedule::Playlist *synced = syncPlaylistOf(set)) {
        if (const schedule::TrustedNow now = m_host.trustedNow(); now.trusted) {
            // The slot at the instant the next item comes on: the one after
            // the synchronised item on screen (exactly its slot's end), else
            // the end of the item on screen or the boundary, else now (a join).
            const std::int64_t nowMs = now.utc.toMSecsSinceEpoch();
            std::int64_t from = nowMs;
            const PlannedItem *cur = current();
            if (cur && cur->sync && cur->playlists == set && !boundaryDecides && !m_resync)
                from = std::max(nowMs, cur->sync->slotEndMs);
            else if (showMono)
                from = std::max(nowMs, nowMs + (*showMono - m_host.monoNow()));
            if (prepareSlot(set, *synced, from))
                return;
        }
    }
    // Nothing in force then: nothing to pick, and the picker keeps its
    // places (tied playlists between a layout's turns go on in order).
    if (set.empty())
        return;
    const auto &m = *m_host.manifest();
    std::size_t budget = 1;
    for (const auto &name : set)
        if (const auto it = m.playlists.find(name); it != m.playlists.end())
            budget += it->second.items.size();
    const auto usable = [&](const std::string &playlist, std::size_t index) {
        return !m_host.badItems().isBad(contentKey(m.playlists.at(playlist).items.at(index)), m_host.monoNow());
    };
    while (budget-- > 0) {
        const auto pick = m_picker.next(m, set, usable);
        if (!pick)
            return;
        std::optional<std::string> unplayable;
        PlannedItem item = plan(*pick, set, unplayable);
        if (unplayable) {
            failItem(item, *unplayable, "skipped");
            continue;
        }
        // A page's 5 s are the page's: while Chromium starts, its timer waits.
        const bool timed = item.kind != ItemKind::Web || m_host.webWarm();
        hidden.load(std::move(item), timed);
        return;
    }
}

bool RegionPlayer::holdCurrent()
{
    const schedule::Manifest *manifest = m_host.manifest();
    if (m_current < 0 || m_currentFailed || !slot(m_current).item() || !manifest)
        return false;
    const PlannedItem &item = *slot(m_current).item();
    // Only content the schedule still wants: a boundary or a new manifest
    // that dropped it is not overruled by a retry.
    bool inForce = false;
    for (const auto &name : m_playlists)
        if (const auto it = manifest->playlists.find(name); it != manifest->playlists.end())
            for (const auto &entry : it->second.items)
                inForce = inForce || contentKey(entry) == item.key;
    if (!inForce)
        return false;
    if (!m_holding) {
        m_holding = true;
        qCWarning(lcPlayer, "nothing else playable (%zu item(s) failed): keeping %s on screen, retrying them",
                  m_host.badItems().size(), item.key.c_str());
    }
    // The turn that ended is a play of its own; the next one starts now.
    closeCurrent();
    const std::int64_t now = m_host.monoNow();
    m_currentStartedUtc = m_host.trustedUtcNow();
    m_currentStartedMono = now;
    m_outcome = {};
    m_switchDue = false;
    // A turn of its own duration; a video held on its last frame waits for
    // the first retry (and at least a second).
    std::int64_t turn = m_host.config().defaultImageMs;
    if (item.durationMs) {
        turn = *item.durationMs;
    } else if (const auto first = m_host.badItems().firstRetryMs(now)) {
        turn = std::max<std::int64_t>(1000, *first - now);
    }
    m_currentEndMono = now + turn;
    m_itemTimer.start(timerMs(turn));
    m_host.regionHeld(item);
    return true;
}

void RegionPlayer::armRetry()
{
    m_retryTimer.stop();
    if (m_current >= 0 || !m_host.manifest() || m_playlists.empty())
        return;
    const std::int64_t now = m_host.monoNow();
    if (const auto first = m_host.badItems().firstRetryMs(now))
        m_retryTimer.start(timerMs(*first - now + 1, 1));
}

void RegionPlayer::failItem(const PlannedItem &item, const std::string &reason, const char *outcome)
{
    m_host.badItems().markBad(item.key, m_host.monoNow());
    m_host.recorder().record(item, m_host.trustedUtcNow(), 0, false, reason);
    qCWarning(lcPlayer, "skipping %s (%s #%zu): %s", item.key.c_str(), item.playlist.c_str(), item.index,
              reason.c_str());
    m_host.regionItemFailed(item, QString::fromStdString(reason), outcome);
}

} // namespace stoa::player
