#include "sync/agent.h"

#include "schedule/acceptance.h"
#include "schedule/envelope.h"
#include "schedule/manifest_parse.h"
#include "sync/logging.h"

#include <QDateTime>
#include <QJsonDocument>

namespace stoa::sync {

namespace {

constexpr const char *kKeysEnvelopeKey = "keys.envelope";
constexpr const char *kTimeFloorKey = "time_floor_ms";
// Blobs per download round: bounds how long one step can keep the loop
// from its other channels (heartbeat, stop requests).
constexpr int kBlobsPerRoundFactor = 4;

// A manifest we verified before storing it: parse without re-verifying.
std::optional<schedule::Manifest> parseStored(const std::string &envelope)
{
    auto stored = schedule::readStoredManifest(QByteArrayView(envelope.data(), qsizetype(envelope.size())));
    return stored ? std::optional(std::move(stored->manifest)) : std::nullopt;
}

std::int64_t wallMs() { return QDateTime::currentMSecsSinceEpoch(); }

QString hhmm(int minutes) { return QTime(minutes / 60, minutes % 60).toString(QStringLiteral("HH:mm")); }

} // namespace

// Local time by the trusted clock (spec §7), like the schedule: a device
// whose system clock is behind must not download in the wrong hours.
bool Agent::downloadWindowOpen() const
{
    if (!m_config.downloadWindow)
        return true;
    const QTime t = m_clock.now().utc.toLocalTime().time();
    const int m = t.hour() * 60 + t.minute();
    const auto [from, until] = *m_config.downloadWindow;
    return from <= until ? (m >= from && m < until) : (m >= from || m < until);
}

Agent::Agent(AgentConfig config, std::string deviceId, cache::Store &store, HttpClient &http,
             schedule::TrustStore trust, schedule::TrustedClock &clock, std::uint64_t seed)
    : m_config(std::move(config)), m_deviceId(std::move(deviceId)), m_store(store), m_http(http),
      m_trust(std::move(trust)), m_clock(clock), m_rng(seed), m_fetcher(http, store.kv()),
      m_downloads(http, store, m_config.backoff, m_rng), m_started(std::chrono::steady_clock::now()),
      m_manifest{Pacer(m_config.syncInterval, m_config.backoff), m_started, {}},
      m_heartbeat{Pacer(m_config.statusInterval, m_config.backoff), m_started, {}},
      m_plays{Pacer(m_config.statusInterval, m_config.backoff), m_started, {}},
      m_screenshots{Pacer(m_config.statusInterval, m_config.backoff), m_started, {}}
{
    m_status.server = m_config.server;
    if (auto keys = m_store.kv().get(kKeysEnvelopeKey); keys && *keys) {
        if (auto doc = m_trust.restoreKeysEnvelope(QByteArray::fromStdString(**keys)); !doc)
            qCWarning(lcSync, "stored keys document no longer verifies (%s); using root keys only",
                      qPrintable(doc.error().reason));
    }
    loadManifestsFromStore();
    refreshSignerRevoked();
    // A fleet powered on together must not ask in the same second.
    m_manifest.due = m_started + m_manifest.pacer.initialDelay(m_rng, m_active.has_value());
    m_heartbeat.due = m_started + m_heartbeat.pacer.initialDelay(m_rng, true);
    m_plays.due = m_heartbeat.due;
    m_screenshots.due = m_heartbeat.due;
}

// --- The main loop: one screen.

SteadyTime Agent::step(SteadyTime now)
{
    if (m_wakeUp.exchange(false) && m_manifest.pacer.backoff().consecutiveFailures() == 0)
        m_manifest.due = std::min(m_manifest.due, now);
    handleObservers(now);
    handleManifest(now);
    handleDownloads(now);
    handleActivation();
    handleCommands();
    handleHeartbeat(now);
    handlePlays(now);
    handleScreenshots(now);
    handleTimeFloor();
    publishStatus();

    SteadyTime next = std::min({m_manifest.due, m_heartbeat.due, m_plays.due, m_screenshots.due});
    if (!m_staged && m_active)
        next = std::min(next, m_repairDue);
    if (m_staged || m_repairing) {
        if (auto due = m_downloads.nextDue())
            next = std::min(next, *due);
        if (m_status.stagedBlobsMissing > 0 && !m_downloads.nextDue()) {
            // Blobs still to fetch that are not backing off: go on — unless
            // the download window is closed, then look again in a minute
            // (going on at once would spin until the window opens).
            next = downloadWindowOpen() ? now : std::min(next, now + std::chrono::minutes(1));
        }
    }
    const auto persistIn = std::chrono::milliseconds(m_clock.msUntilPersistDue());
    return std::min(next, now + persistIn);
}

void Agent::run()
{
    // Idle waits are cut to a few seconds so the liveness ticks (/healthz,
    // the systemd watchdog) keep coming while nothing is due.
    constexpr auto kMaxIdle = std::chrono::seconds(2);
    while (!m_stop.load()) {
        const SteadyTime next = step(std::chrono::steady_clock::now());
        std::unique_lock lock(m_waitMutex);
        m_wake.wait_until(lock, std::min(next, std::chrono::steady_clock::now() + kMaxIdle),
                          [&] { return m_stop.load() || m_wakeUp.load(); });
    }
    if (auto floor = m_clock.floorToPersist())
        (void)m_store.kv().raise(kTimeFloorKey, *floor);
    qCInfo(lcSync, "agent stopped");
}

void Agent::wakeUp()
{
    m_wakeUp.store(true);
    std::lock_guard lock(m_waitMutex);
    m_wake.notify_all();
}

void Agent::stop()
{
    m_stop.store(true);
    m_http.abort(); // a long download (rate cap, slow server) must not hold up shutdown
    std::lock_guard lock(m_waitMutex);
    m_wake.notify_all();
}

// --- Manifest channel

void Agent::loadManifestsFromStore()
{
    auto active = m_store.manifests().get(cache::Slot::Active);
    auto staged = m_store.manifests().get(cache::Slot::Staged);
    m_active.reset();
    m_staged.reset();
    if (active && *active) {
        m_active = parseStored((*active)->envelope);
        m_status.activeVersion = (*active)->version;
    }
    if (staged && *staged) {
        m_staged = parseStored((*staged)->envelope);
        m_status.stagedVersion = m_staged ? (*staged)->version : 0;
    }
}

Millis Agent::syncInterval() const
{
    if (m_active && m_active->settings.syncIntervalS)
        return Millis(std::int64_t(*m_active->settings.syncIntervalS) * 1000);
    return m_config.syncInterval;
}

Millis Agent::statusInterval() const
{
    if (m_active && m_active->settings.statusIntervalS)
        return Millis(std::int64_t(*m_active->settings.statusIntervalS) * 1000);
    return m_config.statusInterval;
}

void Agent::manifestDone(SteadyTime now, bool ok, const std::string &result, std::optional<Millis> retryAfter)
{
    if (m_obs.metrics)
        m_obs.metrics->request("manifest", AgentMetrics::manifestOutcome(ok, result));
    m_manifest.pacer.setSteadyInterval(syncInterval());
    const Millis wait = ok ? m_manifest.pacer.afterSuccess(m_rng) : m_manifest.pacer.afterFailure(m_rng, retryAfter);
    // From the answer, not from the poll's start: a slow keys.json must not
    // eat into a Retry-After or the backoff.
    m_manifest.due = std::max(now, std::chrono::steady_clock::now()) + wait;
    m_status.lastResult = result;
    m_status.consecutiveFailures = m_manifest.pacer.backoff().consecutiveFailures();
    m_status.backoffSeconds = ok ? 0.0 : double(wait.count()) / 1000.0;
    m_status.nextAttemptAtMs = wallMs() + wait.count();
    if (ok) {
        m_status.lastSuccessAtMs = wallMs();
        m_status.lastError.clear();
    } else {
        m_status.lastError = result;
        qCWarning(lcSync, "manifest poll failed: %s; next attempt in %.1f s (failure %d in a row)", result.c_str(),
                  double(wait.count()) / 1000.0, m_status.consecutiveFailures);
    }
}

bool Agent::pollKeys(const QDateTime &trustedNow, std::string &error, std::optional<Millis> &retryAfter)
{
    auto keys = m_fetcher.fetch(m_config.server + "/v1/keys.json", DocumentFetcher::Optional::Yes);
    if (!keys) {
        error = "keys.json: " + keys.error().message;
        retryAfter = keys.error().retryAfter;
        return false;
    }
    if (keys->state != Fetched::New)
        return true; // unchanged, or absent: manifests are signed by root keys
    auto checked = m_trust.checkKeysEnvelope(keys->bytes, trustedNow);
    if (!checked && checked.error().code != schedule::RejectCode::NotNewer) {
        error = "keys.json rejected: " + checked.error().reason.toStdString();
        return false;
    }
    if (checked) {
        // Floor first, then the document: a crash in between leaves the reset
        // done and recorded under this keys version, and the document is
        // simply adopted again. The other way round, the document would be
        // in force and, no longer newer, would never reset the floor.
        if (checked->manifestVersionFloor) {
            auto reset = m_store.manifests().resetFloor(*checked->manifestVersionFloor, checked->version);
            if (!reset) {
                error = "cannot reset the manifest version floor: " + reset.error().message;
                return false;
            }
            if (reset->applied)
                qCInfo(lcSync, "keys document version %lld: manifest version floor %lld (was %lld); a manifest above "
                               "it may replace the one on screen",
                       static_cast<long long>(checked->version), static_cast<long long>(reset->after),
                       static_cast<long long>(reset->before));
        }
        if (auto ok = m_store.kv().set(kKeysEnvelopeKey, keys->bytes.toStdString()); !ok) {
            error = "cannot store keys document: " + ok.error().message;
            return false;
        }
        auto adopted = m_trust.adoptKeysEnvelope(keys->bytes, trustedNow);
        if (!adopted) { // checked a moment ago with the same time: cannot happen
            error = "keys.json rejected: " + adopted.error().reason.toStdString();
            return false;
        }
        qCInfo(lcSync, "adopted keys document version %lld (%zu signing keys)", static_cast<long long>(adopted->version),
               adopted->keys.size());
        keySetChanged();
    }
    m_fetcher.remember(*keys);
    return true;
}

void Agent::keySetChanged()
{
    dropStagedIfRevoked();
    refreshSignerRevoked();
}

bool Agent::dropStagedIfRevoked()
{
    // A manifest staged under an older key set but signed by a key since
    // revoked must never activate: after a floor reset, the stolen key's
    // huge version would be back above every manifest the operator can sign.
    if (!m_staged)
        return false;
    auto staged = m_store.manifests().get(cache::Slot::Staged);
    if (!staged || !*staged || m_trust.signersStillTrusted(QByteArray::fromStdString((*staged)->envelope)))
        return false;
    if (auto ok = m_store.manifests().dropStaged(); !ok) {
        qCWarning(lcSync, "cannot drop the staged manifest signed by a revoked key: %s", ok.error().message.c_str());
        return true; // still there: it must not activate, and the next step tries again
    }
    qCWarning(lcSync, "staged manifest version %lld dropped: its signing key was revoked",
              static_cast<long long>((*staged)->version));
    m_staged.reset();
    m_status.stagedVersion = 0;
    m_downloads.retain({});
    return true;
}

void Agent::refreshSignerRevoked()
{
    const bool was = m_status.activeSignerRevoked;
    auto active = m_store.manifests().get(cache::Slot::Active);
    m_status.activeSignerRevoked =
        active && *active && !m_trust.signersStillTrusted(QByteArray::fromStdString((*active)->envelope));
    if (m_status.activeSignerRevoked && !was)
        qCWarning(lcSync, "the signing key of the manifest on screen (version %lld) is no longer in the key set; it "
                          "keeps playing until a newer manifest is adopted",
                  static_cast<long long>((*active)->version));
}

void Agent::handleManifest(SteadyTime now)
{
    if (now < m_manifest.due)
        return;
    m_status.lastAttemptAtMs = wallMs();
    const QDateTime trustedNow = m_clock.now().utc;
    std::string error;
    std::optional<Millis> retryAfter;
    if (!pollKeys(trustedNow, error, retryAfter))
        return manifestDone(now, false, error, retryAfter);
    const auto &doc = m_trust.keysDocument();
    m_status.keys = doc ? "keys document v" + std::to_string(doc->version) + " (" + std::to_string(doc->keys.size()) +
                              " signing keys)"
                        : "root keys only";

    auto fetched = m_fetcher.fetch(m_config.server + "/v1/devices/" + m_deviceId + "/manifest.json",
                                   DocumentFetcher::Optional::Yes);
    if (fetched && fetched->state == Fetched::Absent)
        fetched = m_fetcher.fetch(m_config.server + "/v1/manifest.json");
    if (!fetched)
        return manifestDone(now, false, fetched.error().message, fetched.error().retryAfter);
    if (fetched->state == Fetched::Absent) {
        m_status.state = m_active ? m_status.state : "no_manifest";
        return manifestDone(now, true, "no manifest published");
    }
    if (fetched->state == Fetched::Unchanged)
        return manifestDone(now, true, "unchanged");

    const std::string bytes = fetched->bytes.toStdString();
    auto active = m_store.manifests().get(cache::Slot::Active);
    auto staged = m_store.manifests().get(cache::Slot::Staged);
    if ((active && *active && (*active)->envelope == bytes) || (staged && *staged && (*staged)->envelope == bytes)) {
        m_fetcher.remember(*fetched);
        return manifestDone(now, true, "unchanged");
    }
    auto floor = m_store.manifests().rollbackFloor();
    schedule::AcceptanceContext ctx;
    if (floor && (*floor > 0 || m_active))
        ctx.adoptedVersion = *floor;
    ctx.trustedNow = trustedNow;
    ctx.deviceId = QString::fromStdString(m_deviceId);
    auto accepted = schedule::acceptManifestEnvelope(fetched->bytes, m_trust, ctx);
    if (!accepted)
        return manifestDone(now, false, "manifest rejected: " + accepted.error().reason.toStdString());

    cache::StoredManifest stored;
    stored.version = accepted->manifest.version;
    stored.envelope = bytes;
    for (const auto &[ref, asset] : accepted->manifest.assets)
        stored.assets.push_back(ref.hex);
    if (auto ok = m_store.manifests().stage(stored); !ok)
        return manifestDone(now, false, "cannot stage manifest: " + ok.error().message);
    m_fetcher.remember(*fetched);
    m_staged = std::move(accepted->manifest);
    m_status.stagedVersion = stored.version;
    qCInfo(lcSync, "staged manifest version %lld (%zu assets)", static_cast<long long>(stored.version),
           stored.assets.size());
    manifestDone(now, true, "staged version " + std::to_string(stored.version));
}

// --- Downloads and activation

void Agent::handleDownloads(SteadyTime now)
{
    const bool windowClosed = downloadRound(now);
    refreshStagedBlocked(windowClosed);
}

bool Agent::downloadRound(SteadyTime now)
{
    m_status.stagedBlobsMissing = 0;
    m_status.stagedBytesMissing = 0;
    // With nothing staged, the active manifest's blobs are checked now and
    // then: one the scrubber removed (rotten bytes) or that vanished is
    // fetched again, so the player gets it back without a new manifest.
    const schedule::Manifest *target = m_staged ? &*m_staged : nullptr;
    if (!target && m_active && now >= m_repairDue) {
        target = &*m_active;
        m_repairDue = now + m_config.repairInterval;
    } else if (!target && m_repairing) {
        target = &*m_active;
    }
    if (!target)
        return false;
    std::vector<BlobWant> missing;
    for (const auto &[ref, asset] : target->assets) {
        auto present = m_store.blobs().contains(ref.hex);
        if (present && *present)
            continue;
        missing.push_back({ref.hex, asset.size});
        m_status.stagedBytesMissing += asset.size;
    }
    m_status.stagedBlobsMissing = int(missing.size());
    m_downloads.retain(missing);
    m_repairing = !m_staged && !missing.empty();
    if (m_repairing)
        qCInfo(lcSync, "%zu blob(s) of the active manifest are missing: fetching them again", missing.size());
    if (missing.empty())
        return false;
    m_status.state = "downloading";
    if (!downloadWindowOpen())
        return true;
    if (missing.size() > std::size_t(m_config.parallelDownloads * kBlobsPerRoundFactor))
        missing.resize(std::size_t(m_config.parallelDownloads * kBlobsPerRoundFactor));
    const DownloadRound round = m_downloads.run(m_config.server, missing, m_config.parallelDownloads, now);
    if (m_obs.metrics) {
        for (int i = 0; i < round.completed; ++i)
            m_obs.metrics->request("blob", "ok");
        for (int i = 0; i < round.failed; ++i)
            m_obs.metrics->request("blob", "error");
    }
    m_status.bytesDownloaded = m_downloads.totalBytes();
    m_status.downloadError = m_downloads.lastError();
    if (round.completed > 0) {
        m_status.stagedBlobsMissing -= round.completed;
        m_status.stagedBytesMissing = 0;
        for (const auto &[ref, asset] : target->assets)
            if (auto present = m_store.blobs().contains(ref.hex); present && !*present)
                m_status.stagedBytesMissing += asset.size;
    }
    return false;
}

void Agent::refreshStagedBlocked(bool windowClosed)
{
    std::optional<cache::SyncStatus::StagedBlock> block;
    if (m_staged && m_status.stagedBlobsMissing > 0) {
        if (windowClosed) {
            const auto [from, until] = *m_config.downloadWindow;
            const bool same = m_status.stagedBlocked &&
                              m_status.stagedBlocked->reason == blockerCode(Blocker::DownloadWindowClosed);
            block = cache::SyncStatus::StagedBlock{
                blockerCode(Blocker::DownloadWindowClosed),
                "Downloads wait for the download window, " + hhmm(from).toStdString() + "-" +
                    hhmm(until).toStdString() + " local time.",
                same ? m_status.stagedBlocked->sinceMs : wallMs()};
        } else if (auto problem = m_downloads.longestFailing()) {
            block = cache::SyncStatus::StagedBlock{blockerCode(problem->blocker), problem->message, problem->sinceMs};
        }
    }
    if (block && (!m_status.stagedBlocked || m_status.stagedBlocked->reason != block->reason))
        qCWarning(lcSync, "staged manifest version %lld cannot be activated (%s): %s",
                  static_cast<long long>(m_status.stagedVersion), block->reason.c_str(), block->message.c_str());
    else if (!block && m_status.stagedBlocked && m_staged)
        qCInfo(lcSync, "staged manifest version %lld: no longer held back (%s is gone)",
               static_cast<long long>(m_status.stagedVersion), m_status.stagedBlocked->reason.c_str());
    m_status.stagedBlocked = std::move(block);
}

void Agent::handleActivation()
{
    if (!m_staged || m_status.stagedBlobsMissing > 0 || dropStagedIfRevoked())
        return;
    auto ok = m_store.manifests().activateStaged();
    if (!ok) {
        // An asset vanished meanwhile (evicted, scrubbed): downloads fetch it again.
        qCWarning(lcSync, "cannot activate staged manifest yet: %s", ok.error().message.c_str());
        return;
    }
    m_clock.observeSignedIssuedAt(m_staged->issuedAt);
    m_active = std::move(m_staged);
    m_staged.reset();
    m_status.activeVersion = m_active->version;
    m_status.stagedVersion = 0;
    m_status.state = "in_sync";
    m_downloads.retain({});
    refreshSignerRevoked();
    qCInfo(lcSync, "manifest version %lld is active", static_cast<long long>(m_active->version));
}

void Agent::handleTimeFloor()
{
    if (!m_clock.persistDue())
        return;
    if (auto floor = m_clock.floorToPersist()) {
        if (auto ok = m_store.kv().raise(kTimeFloorKey, *floor); !ok) {
            qCWarning(lcSync, "cannot save the time floor: %s", ok.error().message.c_str());
            return;
        }
    }
    m_clock.markPersisted();
}

void Agent::handleObservers(SteadyTime now)
{
    if (m_obs.liveness)
        m_obs.liveness->tick();
    if (m_obs.health && (!m_healthAt || now - *m_healthAt >= m_obs.healthEvery)) {
        m_health = m_obs.health();
        m_healthAt = now;
    }
    if (m_obs.metrics) {
        m_obs.metrics->status(m_status);
        m_obs.metrics->sample(m_store, m_health, now);
    }
}

void Agent::publishStatus()
{
    if (!m_staged) // activated, replaced or dropped: nothing is held back any more
        m_status.stagedBlocked.reset();
    if (m_status.state == "starting" || (m_status.state == "downloading" && !m_staged))
        m_status.state = m_active ? "in_sync" : "no_manifest";
    if (m_status.consecutiveFailures > 0)
        m_status.state = "backing_off";
    else if (m_status.state == "backing_off")
        m_status.state = m_staged ? "downloading" : (m_active ? "in_sync" : "no_manifest");
    if (m_status == m_published)
        return;
    const QByteArray json = QJsonDocument(m_status.toJson()).toJson(QJsonDocument::Compact);
    if (auto ok = m_store.kv().set(cache::kSyncStatusKey, json.toStdString()); ok)
        m_published = m_status;
}

} // namespace stoa::sync
