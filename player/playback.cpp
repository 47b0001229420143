// player/playback.cpp — the playback core: starting, adopting manifests,
// what the screen shows (view, idle screen, status) and the regions'
// reports (see playback.h for the rules). What is in force and when it
// changes is playback_schedule.cpp's; the gapless change of the regions on
// screen playback_staging.cpp's; trusted time playback_time.cpp's.
#include "player/playback.h"

#include "player/logging.h"

#include <utility>

namespace stoa::player {

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
