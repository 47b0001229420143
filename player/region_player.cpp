// player/region_player.cpp — one region's life and its switches: what
// Playback tells it (begin, boundary, a new manifest, staging), the gapless
// switch between its two slots, and the slots' reports from QML (see
// region_player.h). What comes next is region_planning.cpp's; playing a
// synchronised playlist in step (v1.1 §13) region_sync.cpp's.
#include "player/region_player.h"

#include "player/logging.h"
#include "player/timer_ms.h"

#include <algorithm>

namespace stoa::player {

namespace {
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
    connect(&m_seekTimer, &QTimer::timeout, this, &RegionPlayer::onSeekTimer);
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
        m_itemTimer.start(timerMs(*item.durationMs));
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
