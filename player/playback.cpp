// player/playback.cpp — the playback core (see playback.h for the rules).
#include "player/playback.h"

#include "player/logging.h"
#include "schedule/engine.h"

#include <algorithm>

namespace stoa::player {

namespace {

// QTimer takes int milliseconds; a change further away is re-resolved then.
constexpr std::int64_t kMaxTimerMs = 24LL * 3600 * 1000;
constexpr const char *kTimeFloorKey = "time_floor_ms";

std::optional<std::int64_t> persistedFloor(cache::Store &store)
{
    // Both processes persist the floor (spec §7) with KeyValue::raise, so
    // neither lowers what the other saved; a player with no agent keeps it too.
    auto floor = store.kv().getInt(kTimeFloorKey);
    return floor ? *floor : std::nullopt;
}

std::string contentKey(const schedule::PlaylistItem &item)
{
    if (item.asset)
        return "sha256:" + item.asset->hex;
    if (item.text)
        return "text:" + item.text->text.toStdString();
    return item.url.value_or(item.stream.value_or(QString())).toStdString();
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
    for (int i = 0; i < 2; ++i) {
        m_slots[i] = std::make_unique<MediaSlot>(i, m_config.loadTimeout);
        connect(m_slots[i].get(), &MediaSlot::loadTimedOut, this, [this, i](int generation) {
            slotFailed(i, generation,
                       QStringLiteral("not ready within %1 ms").arg(qint64(m_config.loadTimeout.count())));
        });
    }
    for (QTimer *t : {&m_scheduleTimer, &m_itemTimer, &m_fadeTimer}) {
        t->setSingleShot(true);
        t->setTimerType(Qt::PreciseTimer);
    }
    connect(&m_scheduleTimer, &QTimer::timeout, this, &Playback::onScheduleTimer);
    connect(&m_itemTimer, &QTimer::timeout, this, &Playback::onItemTimer);
    connect(&m_fadeTimer, &QTimer::timeout, this, [this] {
        if (m_fadingOut >= 0)
            slot(m_fadingOut).release();
        m_fadingOut = -1;
        prepareNext();
        trySwitch();
    });
    m_statusLine = QStringLiteral("starting");
    // Pages loaded while Chromium started: their 5 s start now.
    connect(&m_webWarmUp, &WebWarmUp::warmed, this, [this] {
        for (auto &s : m_slots)
            if (s->item() && s->item()->kind == ItemKind::Web)
                s->startLoadTimer();
    });
    m_retryTimer.setSingleShot(true);
    m_retryTimer.setTimerType(Qt::PreciseTimer); // a coarse timer may fire before the retry time
    connect(&m_retryTimer, &QTimer::timeout, this, [this] {
        if (m_current >= 0 || !m_manifest)
            return;
        qCInfo(lcPlayer, "idle screen: trying the failed items again");
        m_switchDue = true;
        trySwitch();
        armRetry(); // still idle (they failed again): the next retry time
    });
    m_floorTimer.setSingleShot(true);
    connect(&m_floorTimer, &QTimer::timeout, this, [this] { persistTimeFloor(false); });
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

bool Playback::start()
{
    persistTimeFloor(false);
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
        goIdle();
    }
    return ok;
}

const PlannedItem *Playback::current() const
{
    if (m_current < 0 || !m_slots[m_current]->item())
        return nullptr;
    return &*m_slots[m_current]->item();
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
    m_picker.reset();
    const auto &m = *m_manifest;
    m_clock.observeSignedIssuedAt(m.issuedAt);
    persistTimeFloor(false); // a jump makes it due at once
    setRotation(m.settings.rotation.value_or(m_config.rotation));
    qCInfo(lcPlayer, "manifest version %lld: %zu playlists, %zu assets", static_cast<long long>(m.version),
           m.playlists.size(), m.assets.size());
    updateWebWarmUp(); // before planning: a page planned now waits for a warm engine
    resolveAndArm();
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
    trySwitch();
    if (m_current < 0)
        setStatus(idleReason());
    emit manifestChanged();
}

void Playback::resolveAndArm()
{
    m_scheduleTimer.stop();
    m_nextChangeMono.reset();
    if (!m_manifest) {
        m_playlists.clear();
        return;
    }
    const QDateTime now = m_clock.now().utc;
    const auto np = schedule::resolveNowPlaying(*m_manifest, now);
    m_playlists = np.playlists;
    if (np.contents.size() != np.playlists.size())
        qCWarning(lcPlayer, "layouts are not shown yet (issue 20): playing only the %zu of %zu in force that are playlists",
                  np.playlists.size(), np.contents.size());
    if (np.nextChange) {
        const std::int64_t delay = std::clamp<std::int64_t>(now.msecsTo(*np.nextChange), 0, kMaxTimerMs);
        m_nextChangeMono = monoNow() + delay;
        m_scheduleTimer.start(int(delay));
    }
}

void Playback::onScheduleTimer()
{
    const auto before = m_playlists;
    resolveAndArm();
    if (m_playlists == before)
        return;
    qCInfo(lcPlayer, "schedule boundary: now [%s]", qPrintable(joined(m_playlists)));
    if (m_playlists.empty()) {
        goIdle();
        return;
    }
    if (m_current >= 0 && !m_switchDue)
        m_outcome = {false, "schedule changed"};
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

void Playback::onItemTimer()
{
    m_outcome = {true, std::nullopt};
    m_switchDue = true;
    trySwitch();
}

PlannedItem Playback::plan(const Pick &pick, const std::vector<std::string> &set, std::optional<std::string> &unplayable)
{
    const auto &m = *m_manifest;
    const schedule::PlaylistItem &source = m.playlists.at(pick.playlist).items.at(pick.index);
    PlannedItem item;
    item.playlist = pick.playlist;
    item.index = pick.index;
    item.fit = source.fit;
    item.playlists = set;
    item.manifestVersion = m.version;
    item.key = contentKey(source);
    item.fadeMs = source.fadeMs.value_or(m_config.fadeMs);
    if (source.text || source.stream) {
        // v1.1 §12 text and §14 stream items are not rendered yet (issue 20):
        // passed over like any item this player cannot play.
        item.durationMs = source.durationMs.value_or(m_config.defaultImageMs);
        unplayable = source.text ? "text items are not played yet" : "stream items are not played yet";
        return item;
    }
    if (source.url) {
        item.kind = ItemKind::Web;
        item.url = *source.url;
        item.source = QUrl(*source.url);
        // Spec §3 requires duration_ms for web pages and gives a default for
        // images only; a page without one gets the image default (docs/web.md).
        item.durationMs = source.durationMs.value_or(m_config.defaultImageMs);
        if (!kWebBuiltIn)
            unplayable = kWebNotBuiltIn;
        else if (!m_config.web)
            unplayable = kWebTurnedOff;
        return item;
    }
    item.asset = "sha256:" + source.asset->hex;
    const auto asset = m.assets.find(*source.asset);
    const std::string mediaType = asset != m.assets.end() ? asset->second.mediaType : std::string();
    if (mediaType.starts_with("image/")) {
        item.kind = ItemKind::Image;
        item.durationMs = source.durationMs.value_or(m_config.defaultImageMs);
    } else if (mediaType.starts_with("video/")) {
        item.kind = ItemKind::Video;
        item.durationMs = source.durationMs;
    } else {
        unplayable = "unsupported media type '" + mediaType + "'";
        return item;
    }
    auto path = m_store.blobs().find(source.asset->hex);
    if (!path)
        unplayable = "store error: " + path.error().message;
    else if (!*path)
        unplayable = "asset missing from the store";
    else
        item.source = QUrl::fromLocalFile(QString::fromStdString((*path)->string()));
    return item;
}

void Playback::prepareNext()
{
    if (!m_manifest || m_fadingOut >= 0)
        return;
    MediaSlot &hidden = slot(hiddenIndex());
    if (hidden.state() != MediaSlot::State::Empty)
        return;
    // The playlists in force when the next item comes on: a boundary before
    // the current item's end decides, and the item is shown at the boundary.
    std::vector<std::string> set = m_playlists;
    if (m_current >= 0 && !m_switchDue && m_nextChangeMono && m_currentEndMono &&
        *m_nextChangeMono <= *m_currentEndMono) {
        const QDateTime at = m_clock.now().utc.addMSecs(*m_nextChangeMono - monoNow());
        set = schedule::resolveNowPlaying(*m_manifest, at).playlists;
    }
    std::size_t budget = 1;
    for (const auto &name : set)
        if (const auto it = m_manifest->playlists.find(name); it != m_manifest->playlists.end())
            budget += it->second.items.size();
    const auto &m = *m_manifest;
    const auto usable = [&](const std::string &playlist, std::size_t index) {
        return !m_bad.isBad(contentKey(m.playlists.at(playlist).items.at(index)), monoNow());
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
        if (item.asset)
            if (auto touched = m_store.blobs().touch(item.asset->substr(7)); !touched)
                qCDebug(lcPlayer, "cannot touch %s: %s", item.key.c_str(), touched.error().message.c_str());
        // A page's 5 s are the page's: while Chromium starts, its timer waits.
        const bool timed = item.kind != ItemKind::Web || m_webWarmUp.warm();
        hidden.load(std::move(item), timed);
        return;
    }
}

void Playback::trySwitch()
{
    if (!m_switchDue || m_fadingOut >= 0)
        return;
    MediaSlot &hidden = slot(hiddenIndex());
    // A bad item still loading is dropped; a ready one has proven it loads
    // (a one-item playlist's next copy while its twin failed on screen).
    if (hidden.item() && hidden.state() != MediaSlot::State::Ready && m_bad.isBad(hidden.item()->key, monoNow()))
        hidden.release();
    if (hidden.state() == MediaSlot::State::Empty)
        prepareNext();
    switch (hidden.state()) {
    case MediaSlot::State::Ready:
        switchTo(hidden.index());
        return;
    case MediaSlot::State::Empty:
        // Nothing else playable (or nothing scheduled): what is on screen
        // and fine stays; the idle screen only when there is no such thing.
        if (!holdCurrent())
            goIdle();
        return;
    case MediaSlot::State::Loading: // slotReady / slotFailed / the load timer continue
    case MediaSlot::State::Shown:
        return;
    }
}

void Playback::switchTo(int incoming)
{
    MediaSlot &in = slot(incoming);
    const int outgoing = m_current;
    const bool wasIdle = outgoing < 0;
    // How late the switch came after the outgoing item's planned end (0 when
    // the next item was ready in time: the gapless case).
    const std::int64_t plannedEnd = outgoing >= 0 && m_currentEndMono ? *m_currentEndMono : -1; // -1: untimed
    closeCurrent();
    // Incoming on top first, outgoing released after: both happen before the
    // next frame, so no frame shows neither.
    in.show(++m_z);
    m_current = incoming;
    const PlannedItem &item = *in.item();
    m_currentStartedUtc = m_clock.now().utc;
    m_currentStartedMono = monoNow();
    m_currentEndMono.reset();
    m_itemTimer.stop();
    if (item.durationMs) {
        m_currentEndMono = m_currentStartedMono + *item.durationMs;
        m_itemTimer.start(int(std::clamp<std::int64_t>(*item.durationMs, 0, kMaxTimerMs)));
    }
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
    ++m_transitions;
    qCDebug(lcPlayer, "showing %s (%s #%zu) in slot %d", item.key.c_str(), item.playlist.c_str(), item.index,
            incoming);
    m_recorder.nowPlaying(&item);
    setStatus(QStringLiteral("playing %1 (manifest v%2)")
                  .arg(QString::fromStdString(item.playlist))
                  .arg(item.manifestVersion));
    if (wasIdle)
        emit idleChanged();
    emit itemOutcome(kindName(item.kind), QStringLiteral("played"));
    if (plannedEnd >= 0)
        emit transitioned(double(std::max<std::int64_t>(0, monoNow() - plannedEnd)) / 1000.0);
    emit switched();
    prepareNext();
}

void Playback::closeCurrent()
{
    if (m_current < 0 || !slot(m_current).item())
        return;
    const std::int64_t shownMs = monoNow() - m_currentStartedMono;
    // It played well after a fresh load: its failures are forgotten. Not
    // while held: a held item's own reload failed, and it waits its turn.
    if (m_outcome.completed && !m_holding)
        m_bad.forget(slot(m_current).item()->key);
    m_recorder.record(*slot(m_current).item(), m_currentStartedUtc, shownMs, m_outcome.completed,
                      m_outcome.completed ? std::nullopt : m_outcome.reason);
}

bool Playback::holdCurrent()
{
    if (m_current < 0 || m_currentFailed || !slot(m_current).item() || !m_manifest)
        return false;
    const PlannedItem &item = *slot(m_current).item();
    // Only content the schedule still wants: a boundary or a new manifest
    // that dropped it is not overruled by a retry.
    bool inForce = false;
    for (const auto &name : m_playlists)
        if (const auto it = m_manifest->playlists.find(name); it != m_manifest->playlists.end())
            for (const auto &entry : it->second.items)
                inForce = inForce || contentKey(entry) == item.key;
    if (!inForce)
        return false;
    if (!m_holding) {
        m_holding = true;
        qCWarning(lcPlayer, "nothing else playable (%zu item(s) failed): keeping %s on screen, retrying them",
                  m_bad.size(), item.key.c_str());
    }
    // The turn that ended is a play of its own; the next one starts now.
    closeCurrent();
    const std::int64_t now = monoNow();
    m_currentStartedUtc = m_clock.now().utc;
    m_currentStartedMono = now;
    m_outcome = {};
    m_switchDue = false;
    // A turn of its own duration; a video held on its last frame waits for
    // the first retry (and at least a second).
    std::int64_t turn = m_config.defaultImageMs;
    if (item.durationMs) {
        turn = *item.durationMs;
    } else if (const auto first = m_bad.firstRetryMs(now)) {
        turn = std::max<std::int64_t>(1000, *first - now);
    }
    m_currentEndMono = now + turn;
    m_itemTimer.start(int(std::clamp<std::int64_t>(turn, 0, kMaxTimerMs)));
    m_recorder.nowPlaying(&item);
    emit itemOutcome(kindName(item.kind), QStringLiteral("played"));
    return true;
}

void Playback::updateWebWarmUp()
{
    m_webWarmUp.update(m_manifest ? &*m_manifest : nullptr, m_store);
}

void Playback::armRetry()
{
    m_retryTimer.stop();
    if (m_current >= 0 || !m_manifest || m_playlists.empty())
        return;
    const std::int64_t now = monoNow();
    if (const auto first = m_bad.firstRetryMs(now))
        m_retryTimer.start(int(std::clamp<std::int64_t>(*first - now + 1, 1, kMaxTimerMs)));
}

void Playback::goIdle()
{
    const bool wasIdle = m_current < 0;
    closeCurrent();
    m_fadeTimer.stop();
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
    m_recorder.nowPlaying(nullptr);
    armRetry();
    setStatus(idleReason());
    if (!wasIdle) {
        qCInfo(lcPlayer, "idle screen: %s", qPrintable(m_statusLine));
        emit idleChanged();
    }
    emit switched();
}

void Playback::failItem(const PlannedItem &item, const std::string &reason, const char *outcome)
{
    m_bad.markBad(item.key, monoNow());
    m_recorder.record(item, m_clock.now().utc, 0, false, reason);
    qCWarning(lcPlayer, "skipping %s (%s #%zu): %s", item.key.c_str(), item.playlist.c_str(), item.index,
              reason.c_str());
    emit itemFailed(QString::fromStdString(item.key), QString::fromStdString(reason));
    emit itemOutcome(kindName(item.kind), QString::fromLatin1(outcome));
}

void Playback::slotReady(int index, int generation)
{
    if (index < 0 || index > 1 || slot(index).generation() != generation)
        return;
    slot(index).markReady();
    if (index == hiddenIndex())
        trySwitch();
}

void Playback::slotFailed(int index, int generation, const QString &reason)
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
        m_bad.markBad(item.key, monoNow());
        m_currentFailed = true;
        m_outcome = {false, reason.toStdString()};
        qCWarning(lcPlayer, "%s failed on screen: %s", item.key.c_str(), qPrintable(reason));
        emit itemFailed(QString::fromStdString(item.key), reason);
        m_itemTimer.stop();
        m_switchDue = true;
        trySwitch();
        return;
    }
    failed.release();
    failItem(item, reason.toStdString(), "failed");
    prepareNext();
    trySwitch();
}

void Playback::slotEnded(int index, int generation)
{
    if (index != m_current || slot(index).generation() != generation || m_switchDue)
        return;
    m_outcome = {true, std::nullopt};
    m_itemTimer.stop();
    m_switchDue = true;
    trySwitch();
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
    if (m_playlists.empty())
        return QStringLiteral("nothing scheduled now (manifest v%1)").arg(version);
    return QStringLiteral("nothing playable: %1 item(s) failed (manifest v%2)").arg(m_bad.size()).arg(version);
}

} // namespace stoa::player
