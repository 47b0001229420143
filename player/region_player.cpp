// player/region_player.cpp — one region's slots and switching (see region_player.h).
#include "player/region_player.h"

#include "player/logging.h"
#include "schedule/timing.h"

#include <algorithm>

namespace stoa::player {

namespace {
// QTimer takes int milliseconds.
constexpr std::int64_t kMaxTimerMs = 24LL * 3600 * 1000;
// A synchronised video shown this much after its slot began is sought to
// where the slot stands (less is a frame of 25 fps content: not worth a
// flushing seek, which itself costs a few frames).
constexpr std::int64_t kSeekAfterMs = 40;
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
// The next item starts loading this long after a switch, not at it: a
// video's preload (its pipeline's start on this thread, the decoder's start
// and first frame on two cores shared with the renderer) landing on the
// frames right after a switch made them ~1.5x slower than the ones before
// it; the incoming video's own start is there already. layout_bench,
// docs/benchmarks.md. At least kPreloadMarginMs of a timed item's duration
// stays for the load (an item of a second or less loads the next at once,
// as before: a short item's next one must not come late for this).
constexpr std::int64_t kPreloadAfterSwitchMs = 500;
constexpr std::int64_t kPreloadMarginMs = 1000;

// What marks an item bad: its asset, page, text or stream.
std::string contentKey(const schedule::PlaylistItem &item)
{
    if (item.asset)
        return item.asset->ref();
    if (item.text)
        return "text:" + item.text->text.toStdString();
    return item.url.value_or(item.stream.value_or(QString())).toStdString();
}
} // namespace

RegionPlayer::RegionPlayer(RegionHost &host, RegionPlace place, QObject *parent)
    : QObject(parent), m_host(host), m_place(std::move(place))
{
    for (int i = 0; i < 2; ++i) {
        m_slots[i] = std::make_unique<MediaSlot>(i, m_host.config().loadTimeout);
        connect(m_slots[i].get(), &MediaSlot::loadTimedOut, this, [this, i](int generation) {
            slotFailed(i, generation,
                       QStringLiteral("not ready within %1 ms").arg(qint64(m_host.config().loadTimeout.count())));
        });
    }
    for (QTimer *t : {&m_itemTimer, &m_fadeTimer, &m_slotTimer, &m_seekTimer}) {
        t->setSingleShot(true);
        t->setTimerType(Qt::PreciseTimer);
    }
    connect(&m_itemTimer, &QTimer::timeout, this, &RegionPlayer::onItemTimer);
    connect(&m_slotTimer, &QTimer::timeout, this, &RegionPlayer::onSlotTimer);
    m_preloadTimer.setSingleShot(true);
    connect(&m_preloadTimer, &QTimer::timeout, this, [this] {
        prepareNext();
        trySwitch();
    });
    connect(&m_seekTimer, &QTimer::timeout, this, [this] {
        if (m_seek && !m_seek->landed) {
            m_seek->gaveUp = true;
            qCWarning(lcPlayer, "a synchronised video's seek to %lld ms did not land within %lld ms: shown as it is",
                      static_cast<long long>(m_seek->targetMs), static_cast<long long>(kSeekWaitMs));
        }
        trySwitch();
    });
    connect(&m_fadeTimer, &QTimer::timeout, this, [this] {
        if (m_fadingOut >= 0)
            slot(m_fadingOut).release();
        m_fadingOut = -1;
        prepareNext();
        armSlotTimer();
        trySwitch();
    });
    m_retryTimer.setSingleShot(true);
    m_retryTimer.setTimerType(Qt::PreciseTimer); // a coarse timer may fire before the retry time
    connect(&m_retryTimer, &QTimer::timeout, this, [this] {
        if (m_current >= 0 || !m_host.manifest())
            return;
        qCInfo(lcPlayer, "nothing on screen%s%s: trying the failed items again", m_place.layout ? " in region " : "",
               m_place.region.c_str());
        m_switchDue = true;
        trySwitch();
        armRetry(); // still empty (they failed again): the next retry time
    });
}

// Playback clear()s a region before dropping it (its play is logged then);
// at shutdown nothing is logged, as for the full screen.
RegionPlayer::~RegionPlayer() = default;

const PlannedItem *RegionPlayer::current() const
{
    if (m_current < 0 || !m_slots[m_current]->item())
        return nullptr;
    return &*m_slots[m_current]->item();
}

void RegionPlayer::begin(std::vector<std::string> playlists)
{
    m_playlists = std::move(playlists);
    m_switchDue = true;
    prepareNext();
    trySwitch();
}

void RegionPlayer::boundary(std::vector<std::string> playlists)
{
    if (playlists == m_playlists)
        return;
    // An item whose planned end has come (a turn of tied contents ending
    // with it, v1.1 §12) completed; one cut short was interrupted.
    if (m_current >= 0 && !m_switchDue && !m_outcome.completed) {
        if (m_currentEndMono && m_host.monoNow() >= *m_currentEndMono)
            m_outcome = {true, std::nullopt};
        else
            m_outcome = {false, "schedule changed"};
    }
    // Already showing an item planned for them (its switch came a moment
    // before the boundary's timer): it stays.
    if (const PlannedItem *cur = current(); cur && !m_switchDue && !playlists.empty() && cur->playlists == playlists) {
        m_playlists = std::move(playlists);
        m_outcome = {};
        return;
    }
    m_playlists = std::move(playlists);
    if (m_playlists.empty()) {
        empty();
        return;
    }
    m_switchDue = true;
    m_itemTimer.stop();
    if (m_fadingOut >= 0) {
        slot(m_fadingOut).release();
        m_fadingOut = -1;
        m_fadeTimer.stop();
    }
    MediaSlot &hidden = slot(hiddenIndex());
    if (hidden.item() && hidden.item()->playlists != m_playlists)
        hidden.release();
    prepareNext();
    trySwitch();
}

void RegionPlayer::manifestAdopted(std::vector<std::string> playlists)
{
    m_playlists = std::move(playlists);
    m_picker.reset();
    // The hidden slot holds an item of the previous manifest: plan again. The
    // item on screen finishes first (the switch is at the next item boundary).
    if (m_fadingOut < 0) {
        MediaSlot &hidden = slot(hiddenIndex());
        if (hidden.state() != MediaSlot::State::Empty)
            hidden.release();
    }
    if (m_current < 0)
        m_switchDue = true;
    prepareNext();
    armSlotTimer();
    trySwitch();
}

void RegionPlayer::clear()
{
    m_staged = false;
    m_playlists.clear();
    empty();
}

void RegionPlayer::webWarm()
{
    for (auto &s : m_slots)
        if (s->item() && s->item()->kind == ItemKind::Web)
            s->startLoadTimer();
}

void RegionPlayer::onItemTimer()
{
    m_outcome = {true, std::nullopt};
    endItem();
}

void RegionPlayer::endItem()
{
    emit itemOver();
    if (m_switchDue)
        return; // Playback ended the turn: a boundary or clear() took over
    m_switchDue = true;
    trySwitch();
}

void RegionPlayer::stage(std::vector<std::string> playlists, std::optional<std::int64_t> showMono)
{
    m_playlists = std::move(playlists);
    m_staged = true;
    m_stagedFor = showMono;
    m_switchDue = true;
    prepareNext();
    reportPrepared();
}

void RegionPlayer::go()
{
    if (!m_staged)
        return;
    m_staged = false;
    trySwitch();
}

bool RegionPlayer::prepared() const
{
    return m_staged && m_slots[std::size_t(hiddenIndex())]->state() != MediaSlot::State::Loading;
}

void RegionPlayer::reportPrepared()
{
    if (prepared())
        emit preparedChanged();
}

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
    m_slotTimer.start(int(std::clamp<std::int64_t>(wait, 0, kMaxTimerMs)));
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

void RegionPlayer::trySwitch()
{
    if (!m_switchDue || m_fadingOut >= 0 || m_staged)
        return;
    MediaSlot &hidden = slot(hiddenIndex());
    // A bad item still loading is dropped; a ready one has proven it loads
    // (a one-item playlist's next copy while its twin failed on screen).
    if (hidden.item() && hidden.state() != MediaSlot::State::Ready &&
        m_host.badItems().isBad(hidden.item()->key, m_host.monoNow()))
        hidden.release();
    if (hidden.state() == MediaSlot::State::Empty)
        prepareNext();
    switch (hidden.state()) {
    case MediaSlot::State::Ready:
        // v1.1 §13: not before its slot (a video on screen ended early, a
        // failure): the slot timer switches at the instant. With nothing
        // on screen it comes at once (never dark).
        if (m_current >= 0 && hidden.item()->sync &&
            hidden.item()->sync->slotStartMs > m_host.trustedNow().utc.toMSecsSinceEpoch()) {
            armSlotTimer();
            return;
        }
        if (!positionHidden(hidden))
            return;
        switchTo(hidden.index());
        return;
    case MediaSlot::State::Empty:
        // Nothing else playable (or nothing scheduled): what is on screen
        // and fine stays; an empty region only when there is no such thing.
        if (!holdCurrent())
            empty();
        return;
    case MediaSlot::State::Loading: // slotReady / slotFailed / the load timer continue
    case MediaSlot::State::Shown:
        return;
    }
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
        m_seekTimer.start(int(std::min(showAt - nowMs, kMaxTimerMs)));
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

void RegionPlayer::switchTo(int incoming)
{
    // Sought while hidden (positionHidden()): in step from its first picture.
    const bool sought = m_seek && m_seek->slot == incoming && m_seek->generation == slot(incoming).generation() &&
                        m_seek->landed;
    m_seek.reset();
    m_seekTimer.stop();
    MediaSlot &in = slot(incoming);
    const int outgoing = m_current;
    // How late the switch came after the outgoing item's planned end (0 when
    // the next item was ready in time: the gapless case).
    const std::int64_t plannedEnd = outgoing >= 0 && m_currentEndMono ? *m_currentEndMono : -1; // -1: untimed
    closeCurrent();
    // Incoming on top first, outgoing released after: both happen before the
    // next frame, so no frame shows neither.
    in.show(++m_z);
    m_current = incoming;
    const PlannedItem &item = *in.item();
    m_currentStartedUtc = m_host.trustedUtcNow();
    m_currentStartedMono = m_host.monoNow();
    m_currentEndMono.reset();
    m_itemTimer.stop();
    if (item.sync) {
        // It ends at its slot's end, by the slot timer of the next item
        // (armed when that one is planned), not by a timer of its own.
        const std::int64_t nowMs = m_host.trustedNow().utc.toMSecsSinceEpoch();
        m_currentEndMono = m_currentStartedMono + std::max<std::int64_t>(0, item.sync->slotEndMs - nowMs);
        const std::int64_t into = nowMs - item.sync->slotStartMs;
        if (m_slotMissed && into > 0)
            qCWarning(lcPlayer, "%s came %lld ms after its slot began (not ready at the instant)", item.key.c_str(),
                      static_cast<long long>(into));
        // Not sought in time while hidden (the seek was given up): where
        // the other devices are, now (a jump from the picture it shows).
        if (item.kind == ItemKind::Video && !sought && into >= kSeekAfterMs)
            in.seekTo(into);
    } else if (item.durationMs) {
        m_currentEndMono = m_currentStartedMono + *item.durationMs;
        m_itemTimer.start(int(std::clamp<std::int64_t>(*item.durationMs, 0, kMaxTimerMs)));
    }
    m_slotMissed = false;
    m_outcome = {};
    m_switchDue = false;
    m_currentFailed = false;
    m_holding = false;
    m_retryTimer.stop();
    if (outgoing >= 0) {
        if (item.fadeMs > 0) {
            m_fadingOut = outgoing;
            m_fadeTimer.start(item.fadeMs);
        } else {
            slot(outgoing).release();
        }
    }
    qCDebug(lcPlayer, "showing %s (%s #%zu) in slot %d%s%s", item.key.c_str(), item.playlist.c_str(), item.index,
            incoming, m_place.layout ? " of region " : "", m_place.region.c_str());
    const std::int64_t late = plannedEnd >= 0 ? std::max<std::int64_t>(0, m_host.monoNow() - plannedEnd) : -1;
    m_host.regionSwitched(item, late);
    // The next item a moment later (kPreloadAfterSwitchMs), when the frames
    // of this switch are out: anything that needs it sooner (this item
    // ending or failing, a boundary, a new manifest) prepares it itself
    // (trySwitch(), prepareNext()). A synchronised item's next slot is
    // planned now: the slot timer and a hidden seek are armed from it.
    m_preloadTimer.stop();
    const std::int64_t preloadIn =
        item.durationMs ? std::clamp<std::int64_t>(*item.durationMs - kPreloadMarginMs, 0, kPreloadAfterSwitchMs)
                        : kPreloadAfterSwitchMs;
    if (item.sync || m_fadingOut >= 0 || preloadIn == 0)
        prepareNext();
    else
        m_preloadTimer.start(int(preloadIn));
    armSlotTimer(); // the next slot's start; or, while fading or nothing is planned, this one's end
}

void RegionPlayer::closeCurrent()
{
    if (m_current < 0 || !slot(m_current).item())
        return;
    const std::int64_t shownMs = m_host.monoNow() - m_currentStartedMono;
    // It played well after a fresh load: its failures are forgotten. Not
    // while held: a held item's own reload failed, and it waits its turn.
    if (m_outcome.completed && !m_holding)
        m_host.badItems().forget(slot(m_current).item()->key);
    m_host.recorder().record(*slot(m_current).item(), m_currentStartedUtc, shownMs, m_outcome.completed,
                              m_outcome.completed ? std::nullopt : m_outcome.reason);
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
    m_itemTimer.start(int(std::clamp<std::int64_t>(turn, 0, kMaxTimerMs)));
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
        m_retryTimer.start(int(std::clamp<std::int64_t>(*first - now + 1, 1, kMaxTimerMs)));
}

void RegionPlayer::empty()
{
    closeCurrent();
    m_fadeTimer.stop();
    m_preloadTimer.stop();
    m_slotTimer.stop();
    m_seekTimer.stop();
    m_seek.reset();
    m_fadingOut = -1;
    m_itemTimer.stop();
    for (auto &s : m_slots)
        if (s->state() != MediaSlot::State::Empty)
            s->release();
    m_current = -1;
    m_switchDue = true;
    m_currentFailed = false;
    m_holding = false;
    m_currentEndMono.reset();
    armRetry();
    m_host.regionEmptied();
}

void RegionPlayer::failItem(const PlannedItem &item, const std::string &reason, const char *outcome)
{
    m_host.badItems().markBad(item.key, m_host.monoNow());
    m_host.recorder().record(item, m_host.trustedUtcNow(), 0, false, reason);
    qCWarning(lcPlayer, "skipping %s (%s #%zu): %s", item.key.c_str(), item.playlist.c_str(), item.index,
              reason.c_str());
    m_host.regionItemFailed(item, QString::fromStdString(reason), outcome);
}

void RegionPlayer::slotReady(int index, int generation)
{
    if (index < 0 || index > 1 || slot(index).generation() != generation)
        return;
    slot(index).markReady();
    if (index == hiddenIndex())
        trySwitch();
    reportPrepared();
}

void RegionPlayer::slotFailed(int index, int generation, const QString &reason)
{
    if (index < 0 || index > 1 || slot(index).generation() != generation || !slot(index).item())
        return;
    MediaSlot &failed = slot(index);
    const PlannedItem item = *failed.item();
    if (index == m_fadingOut)
        return; // on its way out anyway
    if (index == m_current) {
        if (m_currentFailed)
            return; // already counted (a stall, then the pipeline's error)
        // On screen: its last frame stays until the next item is ready.
        m_host.badItems().markBad(item.key, m_host.monoNow());
        m_currentFailed = true;
        m_outcome = {false, reason.toStdString()};
        qCWarning(lcPlayer, "%s failed on screen: %s", item.key.c_str(), qPrintable(reason));
        m_host.regionItemFailed(item, reason, nullptr);
        m_itemTimer.stop();
        m_switchDue = true;
        trySwitch();
        return;
    }
    failed.release();
    failItem(item, reason.toStdString(), "failed");
    prepareNext();
    trySwitch();
    reportPrepared();
}

void RegionPlayer::slotEnded(int index, int generation)
{
    // Sought, hidden, past its end (a video shorter than the slot, joined
    // after it ended): no sought frame will come; shown as it is, now.
    if (m_seek && m_seek->slot == index && m_seek->generation == generation && !m_seek->landed &&
        index == hiddenIndex() && slot(index).generation() == generation) {
        m_seek->gaveUp = true;
        m_seekTimer.stop();
        trySwitch();
        return;
    }
    if (index != m_current || slot(index).generation() != generation || m_switchDue)
        return;
    m_outcome = {true, std::nullopt};
    m_itemTimer.stop();
    endItem();
}

} // namespace stoa::player
