// player/playback.cpp — the playback core (see playback.h for the rules).
#include "player/playback.h"

#include "player/logging.h"
#include "schedule/engine.h"

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
        m_fullScreen->webWarm();
        for (auto &r : m_layout)
            r->webWarm();
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
    QList<QObject *> all;
    for (const auto &r : m_layout)
        all << r.get();
    return all;
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

void Playback::resolveAndArm()
{
    m_scheduleTimer.stop();
    m_nextChangeMono.reset();
    if (!m_manifest) {
        m_inForce = {};
        return;
    }
    const QDateTime now = m_clock.now().utc;
    // A new sample: a floor raised by an adopted manifest's issued_at is
    // resolved here already, not a jump to report.
    m_trustedSample = std::pair(now.toMSecsSinceEpoch(), monoNow());
    const auto np = schedule::resolveNowPlaying(*m_manifest, now);
    const InForce was = m_inForce;
    m_inForce = inForce(np);
    const std::size_t shown = m_inForce.layout ? 1 : m_inForce.playlists.size();
    if (shown != np.contents.size() && m_inForce != was)
        qCWarning(lcPlayer, "tied layouts and playlists do not take turns yet (issue 20): showing %s of the %zu in force",
                  m_inForce.layout ? ("layout " + *m_inForce.layout).c_str() : "the playlists", np.contents.size());
    if (np.nextChange) {
        const std::int64_t delay = std::clamp<std::int64_t>(now.msecsTo(*np.nextChange), 0, kMaxTimerMs);
        m_nextChangeMono = monoNow() + delay;
        m_scheduleTimer.start(int(delay));
    }
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
    const QDateTime at = m_clock.now().utc.addMSecs(mono - monoNow());
    return playlistsOf(place, inForce(schedule::resolveNowPlaying(*m_manifest, at)));
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
    // The layout's regions: kept while the same layout stays with the same
    // rectangles (a new manifest reloads their hidden slots), else rebuilt.
    const std::vector<RegionPlace> places = placesOf(m_inForce.layout);
    std::vector<RegionPlace> current;
    for (const auto &r : m_layout)
        current.push_back(r->place());
    if (places != current) {
        // The new regions are made before the old ones go; what the old ones
        // showed is logged as interrupted. They are deleted later, after the
        // Repeater's delegates for them (queued by regionsChanged), so no
        // binding reads a deleted slot.
        std::vector<std::unique_ptr<RegionPlayer>> old = std::move(m_layout);
        m_layout.clear();
        for (const auto &place : places)
            m_layout.push_back(std::make_unique<RegionPlayer>(static_cast<RegionHost &>(*this), place));
        if (!places.empty())
            qCInfo(lcPlayer, "layout %s: %zu regions", m_inForce.layout->c_str(), places.size());
        for (auto &r : old)
            r->clear();
        emit regionsChanged();
        for (auto &r : old)
            r.release()->deleteLater();
        for (auto &r : m_layout)
            r->begin(playlistsOf(r->place(), m_inForce));
    } else if (adopted) {
        for (auto &r : m_layout)
            r->manifestAdopted(playlistsOf(r->place(), m_inForce));
    }
    if (adopted)
        m_fullScreen->manifestAdopted(m_inForce.playlists);
    else
        m_fullScreen->boundary(m_inForce.playlists);
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
