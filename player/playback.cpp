// player/playback.cpp — the playback core (see playback.h for the rules).
#include "player/playback.h"

#include "player/logging.h"
#include "schedule/engine.h"
#include "schedule/timing.h"

#include <algorithm>
#include <cstdlib>
#include <utility>

namespace stoa::player {

namespace {

// QTimer takes int milliseconds; a change further away is re-resolved then.
constexpr std::int64_t kMaxTimerMs = 24LL * 3600 * 1000;
constexpr const char *kTimeFloorKey = "time_floor_ms";
// How often trusted time is compared with the monotonic clock, and by how
// much it may drift from it before that counts as a jump. NTP slews at most
// 500 ppm (0.5 ms a second); a tick late under load moves both clocks alike.
constexpr int kJumpCheckMs = 1000;
constexpr std::int64_t kJumpToleranceMs = 1000;
// How long after a switch the next change is staged at the earliest (armStage).
constexpr std::int64_t kStageSettleMs = 250;

std::optional<std::int64_t> persistedFloor(cache::Store &store)
{
    // Both processes persist the floor (spec §7) with KeyValue::raise, so
    // neither lowers what the other saved; a player with no agent keeps it too.
    auto floor = store.kv().getInt(kTimeFloorKey);
    return floor ? *floor : std::nullopt;
}

QString joined(const std::vector<std::string> &names)
{
    QStringList list;
    for (const auto &n : names)
        list << QString::fromStdString(n);
    return list.join(QStringLiteral(", "));
}

} // namespace

Playback::Playback(cache::Store &store, schedule::Clocks clocks, PlaybackConfig config, QObject *parent)
    : QObject(parent), m_store(store), m_clocks(clocks), m_config(std::move(config)),
      m_clock(clocks, persistedFloor(store)), m_recorder(store, m_config.deviceId),
      m_bad(m_config.badRetry, m_config.badRetryMax),
      m_webWarmUp(kWebBuiltIn && m_config.web && m_config.webWarmUp, m_config.webWarmUpTimeout),
      m_rotation(m_config.rotation)
{
    m_fullScreen = std::make_unique<RegionPlayer>(static_cast<RegionHost &>(*this), RegionPlace{});
    m_scheduleTimer.setSingleShot(true);
    m_scheduleTimer.setTimerType(Qt::PreciseTimer);
    connect(&m_scheduleTimer, &QTimer::timeout, this, &Playback::onScheduleTimer);
    m_statusLine = QStringLiteral("starting");
    // Pages loaded while Chromium started: their 5 s start now.
    connect(&m_webWarmUp, &WebWarmUp::warmed, this, [this] {
        for (RegionPlayer *r : allRegions())
            r->webWarm();
    });
    connect(m_fullScreen.get(), &RegionPlayer::itemOver, this, &Playback::fullScreenItemOver);
    connect(m_fullScreen.get(), &RegionPlayer::preparedChanged, this, &Playback::commitIfReady);
    for (QTimer *t : {&m_turnTimer, &m_stageTimer}) {
        t->setSingleShot(true);
        t->setTimerType(Qt::PreciseTimer);
    }
    connect(&m_turnTimer, &QTimer::timeout, this, &Playback::advanceTurn);
    connect(&m_stageTimer, &QTimer::timeout, this, [this] {
        if (m_nextChangeMono && changesRegions(m_upcoming))
            stage(m_upcoming, false);
    });
    m_floorTimer.setSingleShot(true);
    connect(&m_floorTimer, &QTimer::timeout, this, [this] { persistTimeFloor(false); });
    m_jumpTimer.setInterval(kJumpCheckMs);
    connect(&m_jumpTimer, &QTimer::timeout, this, &Playback::checkTimeJump);
}

Playback::~Playback()
{
    persistTimeFloor(true); // spec §7: also at shutdown
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
    m_floorTimer.start(int(std::clamp<std::int64_t>(m_clock.msUntilPersistDue(), 1000, kMaxTimerMs)));
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

void Playback::publishNowPlaying()
{
    m_recorder.nowPlaying(view());
}

bool Playback::start()
{
    persistTimeFloor(false);
    checkTimeJump(); // the first sample
    m_jumpTimer.start();
    auto watcher = cache::ChangeWatcher::open(m_store.dataDir(), m_config.watchInterval);
    bool ok = true;
    if (watcher) {
        m_watcher = std::move(*watcher);
        connect(m_watcher.get(), &cache::ChangeWatcher::activeManifestChanged, this, &Playback::checkForManifest);
        connect(m_watcher.get(), &cache::ChangeWatcher::changed, this, &Playback::storeChanged);
        // A staged manifest with pages starts the warm-up before it is adopted.
        connect(m_watcher.get(), &cache::ChangeWatcher::changed, this, [this] {
            if (!m_webWarmUp.wanted())
                updateWebWarmUp();
        });
    } else {
        qCCritical(lcPlayer, "cannot watch the store for new manifests: %s", watcher.error().message.c_str());
        ok = false;
    }
    checkForManifest();
    if (!m_manifest) {
        updateWebWarmUp();
        m_fullScreen->clear();
    }
    return ok;
}

const PlannedItem *Playback::current() const
{
    if (const PlannedItem *item = m_fullScreen->current())
        return item;
    for (const auto &r : m_layout)
        if (const PlannedItem *item = r->current())
            return item;
    return nullptr;
}

PlayerView Playback::view() const
{
    PlayerView v;
    v.idle = m_idle;
    v.statusLine = m_statusLine.toStdString();
    v.playingVersion = manifestVersion();
    v.transitions = m_transitions;
    v.rotation = m_rotation;
    v.syncState = syncState().toStdString();
    if (const PlannedItem *item = current()) {
        v.playlist = item->playlist;
        v.asset = item->asset;
        if (item->url)
            v.url = item->url->toStdString();
        v.kind = kindName(item->kind).toStdString();
    }
    if (m_layout.empty())
        return v;
    v.layout = m_layout.front()->place().layout; // the layout whose regions are on screen
    for (const auto &r : m_layout) {
        RegionView rv;
        rv.id = r->place().region;
        if (const PlannedItem *item = r->current()) {
            rv.playlist = item->playlist;
            rv.asset = item->asset;
            if (item->url)
                rv.url = item->url->toStdString();
            rv.kind = kindName(item->kind).toStdString();
        } else if (!r->playlists().empty()) {
            rv.playlist = r->playlists().front(); // in force, nothing of it on screen (yet)
        }
        v.regions.push_back(std::move(rv));
    }
    return v;
}

QList<QObject *> Playback::regions() const
{
    // The staged ones too: QML makes their items ahead, hidden until shown.
    QList<QObject *> all;
    for (const auto &r : m_layout)
        all << r.get();
    if (m_pending)
        for (const auto &r : m_pending->regions)
            all << r.get();
    return all;
}

std::vector<RegionPlayer *> Playback::allRegions() const
{
    std::vector<RegionPlayer *> out{m_fullScreen.get()};
    for (const auto &r : m_layout)
        out.push_back(r.get());
    if (m_pending)
        for (const auto &r : m_pending->regions)
            out.push_back(r.get());
    return out;
}

std::vector<RegionPlayer *> Playback::layoutRegions() const
{
    std::vector<RegionPlayer *> out;
    for (const auto &r : m_layout)
        out.push_back(r.get());
    return out;
}

void Playback::checkForManifest()
{
    auto generation = m_store.manifests().generation();
    if (!generation) {
        qCWarning(lcPlayer, "cannot read the activation generation: %s", generation.error().message.c_str());
        return;
    }
    if (*generation == m_manifestGeneration)
        return;
    m_manifestGeneration = *generation;
    auto loaded = loadStoredManifest(m_store, cache::Slot::Active);
    if (!loaded) {
        qCCritical(lcPlayer, "%s; keeping what plays", loaded.error().c_str());
        return;
    }
    if (!*loaded)
        return;
    if (m_manifest && m_manifest->version == (*loaded)->version)
        return;
    adopt(std::move(*loaded));
}

void Playback::adopt(std::optional<schedule::Manifest> manifest)
{
    // What was staged was planned from the manifest before; turns start afresh.
    dropPending();
    m_contents.clear();
    m_manifest = std::move(manifest);
    m_bad.clear();
    const auto &m = *m_manifest;
    m_clock.observeSignedIssuedAt(m.issuedAt);
    persistTimeFloor(false); // a jump makes it due at once
    setRotation(m.settings.rotation.value_or(m_config.rotation));
    qCInfo(lcPlayer, "manifest version %lld: %zu playlists, %zu layouts, %zu assets", static_cast<long long>(m.version),
           m.playlists.size(), m.layouts.size(), m.assets.size());
    updateWebWarmUp(); // before planning: a page planned now waits for a warm engine
    resolveAndArm();
    apply(true);
    if (m_idle)
        setStatus(idleReason());
    emit manifestChanged();
}

Playback::InForce Playback::inForce(const schedule::NowPlaying &np) const
{
    if (!np.contents.empty() && np.contents.front().kind == schedule::ContentKind::Layout)
        return {np.contents.front().name, {}};
    return {std::nullopt, np.playlists};
}

bool Playback::takesTurns(const std::vector<schedule::ContentRef> &contents)
{
    return contents.size() > 1 && std::ranges::any_of(contents, [](const schedule::ContentRef &c) {
               return c.kind == schedule::ContentKind::Layout;
           });
}

Playback::InForce Playback::turnInForce(const std::vector<schedule::ContentRef> &contents, std::size_t i)
{
    if (i >= contents.size())
        return {};
    if (contents[i].kind == schedule::ContentKind::Layout)
        return {contents[i].name, {}};
    // The full screen goes round every tied playlist (its picker keeps their
    // places): each playlist turn is its next item.
    InForce out;
    for (const auto &c : contents)
        if (c.kind == schedule::ContentKind::Playlist)
            out.playlists.push_back(c.name);
    return out;
}

std::size_t Playback::nextTurn(const std::vector<schedule::ContentRef> &contents, std::size_t i) const
{
    const std::size_t n = contents.size();
    if (n == 0 || !m_manifest)
        return 0;
    const std::size_t from = i >= n ? n - 1 : i;
    for (std::size_t k = 1; k <= n; ++k) {
        const std::size_t j = (from + k) % n;
        // v1.1 §12: a layout whose every region is empty gives its turn away.
        if (contents[j].kind == schedule::ContentKind::Playlist ||
            schedule::layoutTurnMs(*m_manifest, contents[j].name) > 0)
            return j;
    }
    return i >= n ? 0 : i;
}

Playback::InForce Playback::firstInForce(const schedule::NowPlaying &np) const
{
    if (!takesTurns(np.contents))
        return inForce(np);
    return turnInForce(np.contents, nextTurn(np.contents, std::size_t(-1)));
}

void Playback::resolveAndArm()
{
    m_scheduleTimer.stop();
    m_scheduleChangeMono.reset();
    if (!m_manifest) {
        m_inForce = {};
        m_contents.clear();
        m_turnEndMono.reset();
        armTurn();
        return;
    }
    const QDateTime now = m_clock.now().utc;
    // A new sample: a floor raised by an adopted manifest's issued_at is
    // resolved here already, not a jump to report.
    m_trustedSample = std::pair(now.toMSecsSinceEpoch(), monoNow());
    const auto np = schedule::resolveNowPlaying(*m_manifest, now);
    if (np.contents != m_contents || m_contents.empty()) {
        // Other contents start afresh with the first turn.
        m_contents = np.contents;
        m_turn = nextTurn(m_contents, std::size_t(-1));
        m_turnEndMono.reset();
        m_givenAway = 0;
        if (turnsTaken()) {
            m_inForce = turnInForce(m_contents, m_turn);
            if (m_inForce.layout)
                m_turnEndMono = monoNow() + schedule::layoutTurnMs(*m_manifest, *m_inForce.layout);
        } else {
            m_inForce = inForce(np);
        }
    }
    if (np.nextChange) {
        const std::int64_t delay = std::clamp<std::int64_t>(now.msecsTo(*np.nextChange), 0, kMaxTimerMs);
        m_scheduleChangeMono = monoNow() + delay;
        m_scheduleTimer.start(int(delay));
    }
    armTurn();
}

void Playback::armTurn()
{
    m_turnTimer.stop();
    m_nextChangeMono = m_scheduleChangeMono;
    m_upcoming = m_inForce;
    if (m_scheduleChangeMono && m_manifest) {
        const QDateTime at = m_clock.now().utc.addMSecs(*m_scheduleChangeMono - monoNow());
        const auto np = schedule::resolveNowPlaying(*m_manifest, at);
        if (np.contents != m_contents)
            m_upcoming = firstInForce(np);
    }
    if (turnsTaken() && m_turnEndMono && (!m_scheduleChangeMono || *m_turnEndMono < *m_scheduleChangeMono)) {
        m_nextChangeMono = m_turnEndMono;
        m_upcoming = turnInForce(m_contents, nextTurn(m_contents, m_turn));
        // A layout's turn ends by this timer; a playlist's with its item (itemOver).
        if (m_inForce.layout)
            m_turnTimer.start(int(std::clamp<std::int64_t>(*m_turnEndMono - monoNow(), 0, kMaxTimerMs)));
    }
    armStage();
}

void Playback::advanceTurn()
{
    if (!turnsTaken() || !m_manifest)
        return;
    const InForce before = m_inForce;
    m_turn = nextTurn(m_contents, m_turn);
    m_inForce = turnInForce(m_contents, m_turn);
    m_turnEndMono.reset();
    if (m_inForce.layout)
        m_turnEndMono = monoNow() + schedule::layoutTurnMs(*m_manifest, *m_inForce.layout);
    armTurn();
    if (m_inForce == before)
        return;
    if (m_inForce.layout)
        qCInfo(lcPlayer, "turn: now layout %s for %lld ms", m_inForce.layout->c_str(),
               static_cast<long long>(*m_turnEndMono - monoNow()));
    else
        qCInfo(lcPlayer, "turn: now [%s], one item", qPrintable(joined(m_inForce.playlists)));
    apply(false);
}

void Playback::fullScreenItemOver()
{
    // A playlist's turn is one item: it is over with it.
    if (turnsTaken() && !m_inForce.layout)
        advanceTurn();
}

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
    m_stageTimer.start(int(std::clamp<std::int64_t>(delay, 0, kMaxTimerMs)));
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

void Playback::onScheduleTimer()
{
    const InForce before = m_inForce;
    resolveAndArm();
    if (m_inForce == before)
        return;
    if (m_inForce.layout)
        qCInfo(lcPlayer, "schedule boundary: now layout %s", m_inForce.layout->c_str());
    else
        qCInfo(lcPlayer, "schedule boundary: now [%s]", qPrintable(joined(m_inForce.playlists)));
    apply(false);
}

void Playback::regionSwitched(const PlannedItem &item, std::int64_t lateMs)
{
    ++m_transitions;
    m_givenAway = 0;
    if (turnsTaken() && !item.layout && !m_inForce.layout) {
        // A playlist's turn on the full screen: when a layout's turn comes
        // after it, it ends with this item, and the layout is staged for then
        // (before this returns: the full screen plans its next item from it).
        m_turnEndMono.reset();
        const std::size_t next = nextTurn(m_contents, m_turn);
        if (m_contents[next].kind == schedule::ContentKind::Layout) {
            // Exactly the item's planned end: the full screen plans nothing after it.
            if (item.durationMs)
                m_turnEndMono = m_fullScreen->currentEndMono();
            else // a video to its end: staged soon (armStage's settle time), as its end is unknown
                QTimer::singleShot(int(kStageSettleMs), this, [this, what = turnInForce(m_contents, next)] {
                    if (turnsTaken() && !m_inForce.layout && !m_pending && !m_turnEndMono)
                        stage(what, false);
                });
        }
        armTurn();
    }
    publishNowPlaying();
    setStatus(item.layout ? QStringLiteral("playing layout %1 (manifest v%2)")
                                .arg(QString::fromStdString(*item.layout))
                                .arg(item.manifestVersion)
                          : QStringLiteral("playing %1 (manifest v%2)")
                                .arg(QString::fromStdString(item.playlist))
                                .arg(item.manifestVersion));
    updateIdle();
    emit itemOutcome(kindName(item.kind), QStringLiteral("played"));
    if (lateMs >= 0)
        emit transitioned(double(lateMs) / 1000.0);
    emit switched();
}

void Playback::regionHeld(const PlannedItem &item)
{
    publishNowPlaying();
    emit itemOutcome(kindName(item.kind), QStringLiteral("played"));
}

void Playback::regionItemFailed(const PlannedItem &item, const QString &reason, const char *outcome)
{
    emit itemFailed(QString::fromStdString(item.key), reason);
    if (outcome)
        emit itemOutcome(kindName(item.kind), QString::fromLatin1(outcome));
}

void Playback::regionEmptied()
{
    // v1.1 §12: tied playlists with nothing playable give their turn away
    // (at most a round of turns in a row: then nothing can show).
    if (turnsTaken() && !m_inForce.layout && !m_pending && !m_fullScreen->showing() &&
        !m_fullScreen->playlists().empty() && m_givenAway < int(m_contents.size())) {
        ++m_givenAway;
        QTimer::singleShot(0, this, [this] {
            if (turnsTaken() && !m_inForce.layout && !m_pending && !m_fullScreen->showing())
                advanceTurn();
        });
    }
    publishNowPlaying();
    updateIdle();
    if (m_idle)
        setStatus(idleReason());
    emit switched();
}

void Playback::updateIdle()
{
    bool idle = !m_fullScreen->showing();
    for (const auto &r : m_layout)
        idle = idle && !r->showing();
    if (idle == m_idle)
        return;
    m_idle = idle;
    if (idle)
        qCInfo(lcPlayer, "idle screen: %s", qPrintable(idleReason()));
    emit idleChanged();
}

void Playback::updateWebWarmUp()
{
    m_webWarmUp.update(m_manifest ? &*m_manifest : nullptr, m_store);
}

void Playback::setStatus(const QString &line)
{
    if (line == m_statusLine)
        return;
    m_statusLine = line;
    emit statusLineChanged();
}

void Playback::setRotation(int degrees)
{
    if (degrees == m_rotation)
        return;
    m_rotation = degrees;
    emit rotationChanged();
}

QString Playback::idleReason() const
{
    if (!m_manifest)
        return QStringLiteral("waiting for content: no manifest in the store yet");
    const qint64 version = m_manifest->version;
    if (!m_inForce.layout && m_inForce.playlists.empty())
        return QStringLiteral("nothing scheduled now (manifest v%1)").arg(version);
    return QStringLiteral("nothing playable: %1 item(s) failed (manifest v%2)").arg(m_bad.size()).arg(version);
}

} // namespace stoa::player
