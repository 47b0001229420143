// player/local_endpoints.cpp — see local_endpoints.h.
#include "player/local_endpoints.h"

#include "endpoints/process_metrics.h"
#include "player/logging.h"
#include "player/playback.h"

#include <QJsonObject>
#include <QQuickWindow>

#include <chrono>

namespace stoa::player {

namespace {

constexpr int kTickMs = 250;
constexpr int kTicksPerGaugeRefresh = 4;   // 1 s
constexpr int kTicksPerFrameRequest = 20;  // 5 s
constexpr auto kStatusWait = std::chrono::seconds(2);

} // namespace

schedule::StatusReport statusReportOf(const DeviceState &s)
{
    schedule::StatusReport r;
    r.deviceId = s.deviceId;
    r.softwareVersion = s.softwareVersion;
    r.sentAt = s.clock.trustedNowUtc;
    r.uptimeS = s.systemUptimeS >= 0 ? s.systemUptimeS : std::max<std::int64_t>(0, s.processUptimeS);
    if (s.active) {
        r.manifestVersion = s.active->version;
        r.manifestExpiresAt = s.active->expiresAt.value_or(QDateTime());
        r.stale = s.active->stale;
        // Only the agent holds the key set; its word counts for the version it describes.
        if (s.sync && s.sync->activeVersion == s.active->version)
            r.signerRevoked = s.sync->activeSignerRevoked;
    }
    r.nowPlaying = nowPlayingObject(s.player); // the same object as kv player.now_playing
    if (s.sync) {
        if (s.sync->lastSuccessAtMs)
            r.lastSuccessAt = QDateTime::fromMSecsSinceEpoch(s.sync->lastSuccessAtMs, Qt::UTC);
        r.lastError = s.sync->lastError;
        r.consecutiveFailures = s.sync->consecutiveFailures;
        if (const auto &b = s.sync->stagedBlocked)
            r.stagedBlocked = schedule::StatusReport::StagedBlocked{
                s.sync->stagedVersion, b->reason, b->message, QDateTime::fromMSecsSinceEpoch(b->sinceMs, Qt::UTC)};
    }
    r.bytesUsed = s.cache.bytesUsed;
    r.bytesLimit = s.cache.quotaBytes;
    r.assets = s.cache.blobCount;
    r.clockTrusted = s.clock.trusted;
    r.clockSource = s.clock.source;
    r.health = s.health;
    r.pendingCommands = s.pendingCommands;
    r.syncState = s.player.syncState;
    return r;
}

LocalEndpoints::LocalEndpoints(Playback &playback, QQuickWindow *window, Gather gather, QObject *parent)
    : QObject(parent), m_playback(playback), m_window(window), m_gather(std::move(gather)),
      m_server({}, &m_metrics)
{
    (void)endpoints::addProcessMetrics(m_metrics);
    m_items = endpoints::orDetached(m_metrics.counterFamily("stoa_playback_items_total",
                                           "Items by kind and fate: played (shown), skipped (not playable), "
                                           "failed (decode error, no start, stall)",
                                           {"kind", "outcome"}));
    m_transitions = endpoints::orDetached(m_metrics.counter("stoa_playback_transitions_total", "Switches to a new item"));
    m_transitionSeconds =
        endpoints::orDetached(m_metrics.histogram("stoa_playback_transition_seconds",
                                 "Delay from an item's planned end to the next item on screen (0: gapless)",
                                 {0.001, 0.005, 0.017, 0.034, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5}));
    m_manifestVersion = endpoints::orDetached(m_metrics.gauge("stoa_playback_manifest_version", "Version of the manifest being played; 0: none"));
    m_stale = endpoints::orDetached(m_metrics.gauge("stoa_playback_manifest_stale", "1 while the manifest played has expired by trusted time"));
    m_idle = endpoints::orDetached(m_metrics.gauge("stoa_playback_idle", "1 while the idle screen shows (nothing playable)"));
    m_clockTrusted = endpoints::orDetached(m_metrics.gauge("stoa_clock_trusted", "1 while the system clock is trusted (spec 7)"));

    connect(&m_playback, &Playback::itemOutcome, this, [this](const QString &kind, const QString &outcome) {
        m_items.labels({kind.toStdString(), outcome.toStdString()}).inc();
    });
    connect(&m_playback, &Playback::transitioned, this, [this](double late) {
        m_transitions.inc();
        m_transitionSeconds.observe(late);
    });
    if (m_window) // render thread: one atomic store, no queueing
        connect(m_window, &QQuickWindow::frameSwapped, this, [this] { m_liveness.tick(); }, Qt::DirectConnection);
    m_tick.setInterval(kTickMs);
    connect(&m_tick, &QTimer::timeout, this, &LocalEndpoints::onTick);
}

LocalEndpoints::~LocalEndpoints()
{
    {
        // This (the GUI) thread will not refresh any more: a /status waiting
        // for it would hold up stop() for its whole 2 s.
        std::lock_guard lock(m_statusMutex);
        m_closing = true;
        m_statusFresh.notify_all();
    }
    m_server.stop();
}

std::expected<void, std::string> LocalEndpoints::start(const std::string &listen)
{
    m_liveness.tick();
    m_tick.start();
    refreshGauges();
    refreshStatus();
    m_server.routeHealth(m_liveness);
    m_server.routeMetrics(m_metrics);
    m_server.route("/status", [this](const endpoints::Request &) { return serveStatus(); }, endpoints::Runs::OnWorker);
    if (auto started = m_server.start(listen); !started)
        return std::unexpected(started.error().message);
    return {};
}

void LocalEndpoints::onTick()
{
    m_liveness.tick(); // the playback tick: the GUI thread's loop turns
    ++m_ticks;
    if (m_ticks % kTicksPerGaugeRefresh == 0)
        refreshGauges();
    if (m_window && m_ticks % kTicksPerFrameRequest == 0)
        m_window->update();
    bool wanted = false;
    {
        std::lock_guard lock(m_statusMutex);
        wanted = m_statusWanted;
    }
    if (wanted)
        refreshStatus();
}

void LocalEndpoints::refreshGauges()
{
    m_manifestVersion.set(double(m_playback.manifestVersion().value_or(0)));
    const auto expires = m_playback.manifestExpiresAt();
    const auto now = m_playback.clock().now();
    m_stale.set(expires && *expires <= now.utc ? 1 : 0);
    m_idle.set(m_playback.idle() ? 1 : 0);
    m_clockTrusted.set(now.trusted ? 1 : 0);
}

void LocalEndpoints::refreshStatus()
{
    const QByteArray doc = schedule::statusReportJson(statusReportOf(m_gather()));
    std::lock_guard lock(m_statusMutex);
    m_status = doc;
    ++m_statusGeneration;
    m_statusWanted = false;
    m_statusFresh.notify_all();
}

endpoints::Response LocalEndpoints::serveStatus()
{
    std::unique_lock lock(m_statusMutex);
    const std::uint64_t seen = m_statusGeneration;
    m_statusWanted = true;
    m_statusFresh.wait_for(lock, kStatusWait, [&] { return m_statusGeneration != seen || m_closing; });
    endpoints::Response r;
    if (m_status.isEmpty()) {
        r.status = 503;
        r.body = "no status yet\n";
        return r;
    }
    r.status = 200;
    r.contentType = "application/json";
    r.body = m_status.toStdString();
    return r;
}

} // namespace stoa::player
