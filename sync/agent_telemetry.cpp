// The agent's outward channels (heartbeat, proof of play, screenshots) and
// the manifest's commands. Part of class Agent (agent.h).
#include "cache/space.h"
#include "sync/agent.h"
#include "sync/logging.h"
#include "schedule/status_report.h"
#include "sync/telemetry.h"

#include <QCoreApplication>
#include <QFile>
#include <QJsonDocument>
#include <QProcess>

namespace stoa::sync {

namespace {
// The metrics' channel label: the last path segment of a telemetry URL.
const char *channelName(const std::string &url)
{
    if (url.ends_with("/status"))
        return "status";
    if (url.ends_with("/plays"))
        return "plays";
    return "screenshot";
}
} // namespace

bool Agent::telemetryEnabled() const
{
    // A file:// base (a USB stick) supports the GETs only (§1).
    return m_config.server.rfind("file://", 0) != 0;
}

Agent::Sent Agent::send(Channel &c, SteadyTime now, Request request, Millis interval)
{
    request.maxBytes = 64 * 1024; // we only want the status line
    request.totalTimeoutS = 60;
    auto r = m_http.perform(request);
    now = std::max(now, std::chrono::steady_clock::now()); // waits count from the answer
    c.pacer.setSteadyInterval(interval);
    if (r && r->ok()) {
        if (m_obs.metrics)
            m_obs.metrics->request(channelName(request.url), "ok");
        c.due = now + c.pacer.afterSuccess(m_rng);
        c.result = "ok";
        return Sent::Ok;
    }
    if (r && (r->status == 404 || r->status == 405 || r->status == 501)) {
        // A static server: not an outage, so no backoff growth — just ask rarely.
        if (m_obs.metrics)
            m_obs.metrics->request(channelName(request.url), "unsupported");
        c.pacer.afterSuccess(m_rng);
        c.due = now + m_config.unsupportedRetry;
        c.result = "not supported by the server";
        return Sent::Unsupported;
    }
    const FetchFailure f = failureOf(r, request.url);
    if (m_obs.metrics)
        m_obs.metrics->request(channelName(request.url), "error");
    const Millis wait = c.pacer.afterFailure(m_rng, f.retryAfter);
    c.due = now + wait;
    c.result = f.message;
    qCWarning(lcSync, "%s failed: %s; retry in %.1f s", request.url.c_str(), f.message.c_str(),
              double(wait.count()) / 1000.0);
    return Sent::Failed;
}

void Agent::handleCommands()
{
    if (!m_active || m_commandsDoneForVersion == m_active->version)
        return;
    auto &log = m_store.commands();
    for (const auto &cmd : m_active->commands) {
        auto done = log.wasExecuted(cmd.id);
        if (!done)
            return; // the store is unhappy; try again next step
        if (*done)
            continue;
        const schedule::CommandType type = schedule::commandType(cmd.type);
        if (schedule::runsInPlayer(type)) {
            (void)log.handToPlayer(cmd.id, cmd.type);
            qCInfo(lcSync, "command %s (%s) handed to the player", cmd.id.c_str(), cmd.type.c_str());
        } else if (type == schedule::CommandType::ClearCache) {
            auto freed = m_store.blobs().evict(UINT64_MAX);
            (void)log.markExecuted(cmd.id, cmd.type,
                                   freed ? "freed " + std::to_string(*freed) + " bytes" : freed.error().message);
            qCInfo(lcSync, "command %s: clear_cache done", cmd.id.c_str());
        } else if (type == schedule::CommandType::Reboot) {
            // Recorded first: a reboot that comes back must not reboot again.
            if (m_config.rebootCommand.empty()) {
                (void)log.markExecuted(cmd.id, cmd.type, "not supported: no reboot_command configured");
                qCWarning(lcSync, "command %s: reboot requested but no reboot_command is configured", cmd.id.c_str());
            } else if (auto fresh = log.markExecuted(cmd.id, cmd.type, "started"); fresh && *fresh) {
                qCInfo(lcSync, "command %s: rebooting (%s)", cmd.id.c_str(), m_config.rebootCommand.c_str());
                QProcess::startDetached("/bin/sh", {"-c", QString::fromStdString(m_config.rebootCommand)});
            }
        } else {
            (void)log.markExecuted(cmd.id, cmd.type, "unknown command type, ignored");
            qCWarning(lcSync, "command %s has unknown type '%s': ignored", cmd.id.c_str(), cmd.type.c_str());
        }
    }
    m_commandsDoneForVersion = m_active->version;
}

void Agent::handleHeartbeat(SteadyTime now)
{
    if (now < m_heartbeat.due)
        return;
    if (!telemetryEnabled()) {
        m_heartbeat.due = now + Millis(24 * 3600 * 1000);
        return;
    }
    const auto trusted = m_clock.now();
    schedule::StatusReport in;
    in.deviceId = m_deviceId;
    in.softwareVersion = QCoreApplication::applicationVersion().toStdString();
    in.sentAt = trusted.utc;
    in.uptimeS = std::chrono::duration_cast<std::chrono::seconds>(now - m_started).count();
    if (m_active) {
        in.manifestVersion = m_active->version;
        in.manifestExpiresAt = m_active->expiresAt;
        in.stale = m_active->expiresAt <= trusted.utc;
        in.signerRevoked = m_status.activeSignerRevoked;
    }
    if (auto np = m_store.kv().get("player.now_playing"); np && *np)
        in.nowPlaying = QJsonDocument::fromJson(QByteArray::fromStdString(**np)).object();
    if (m_status.lastSuccessAtMs)
        in.lastSuccessAt = QDateTime::fromMSecsSinceEpoch(m_status.lastSuccessAtMs, Qt::UTC);
    in.lastError = m_status.lastError;
    in.consecutiveFailures = m_status.consecutiveFailures;
    if (const auto &b = m_status.stagedBlocked)
        in.stagedBlocked = schedule::StatusReport::StagedBlocked{
            m_status.stagedVersion, b->reason, b->message, QDateTime::fromMSecsSinceEpoch(b->sinceMs, Qt::UTC)};
    if (auto usage = m_store.space().usage()) {
        in.bytesUsed = usage->blobBytes;
        in.bytesLimit = usage->quotaBytes;
        in.assets = usage->blobCount;
        in.diskFreeBytes = usage->diskFreeBytes;
    }
    if (m_health) {
        in.cpuTempC = m_health->cpuTempC;
        in.throttled = m_health->throttled;
        if (m_health->diskFreeBytes)
            in.diskFreeBytes = m_health->diskFreeBytes;
    }
    in.clockTrusted = trusted.trusted;
    in.clockSource = schedule::timeSourceName(trusted.source).toStdString();
    if (auto pending = m_store.commands().handovers("pending"))
        for (const auto &h : *pending)
            in.pendingCommands.push_back(h.id);

    Request r;
    r.method = "POST";
    r.url = m_config.server + "/v1/devices/" + m_deviceId + "/status";
    r.contentType = "application/json";
    r.body = schedule::statusReportJson(in).toStdString();
    send(m_heartbeat, now, std::move(r), statusInterval());
    m_status.heartbeat = m_heartbeat.result;
}

void Agent::handlePlays(SteadyTime now)
{
    if (now < m_plays.due)
        return;
    auto batch = m_store.plays().batch(m_config.playsBatch);
    if (!telemetryEnabled() || !batch || batch->empty()) {
        m_plays.due = now + statusInterval();
        return;
    }
    Request r;
    r.method = "POST";
    r.url = m_config.server + "/v1/devices/" + m_deviceId + "/plays";
    r.contentType = "application/x-ndjson";
    r.body = playsNdjson(*batch).toStdString();
    if (send(m_plays, now, std::move(r), statusInterval()) == Sent::Ok) {
        if (auto ok = m_store.plays().acknowledge(batch->back().seq); !ok)
            qCWarning(lcSync, "cannot drop uploaded plays: %s", ok.error().message.c_str());
        if (int(batch->size()) == m_config.playsBatch)
            m_plays.due = now; // more waiting: send the next batch right away
    }
    m_status.plays = m_plays.result;
}

void Agent::handleScreenshots(SteadyTime now)
{
    if (now < m_screenshots.due)
        return;
    auto done = m_store.commands().handovers("done");
    std::vector<cache::CommandLog::Handover> shots;
    if (done)
        for (auto &h : *done)
            if (schedule::commandType(h.type) == schedule::CommandType::Screenshot)
                shots.push_back(h);
    if (shots.empty()) {
        m_screenshots.due = now + statusInterval();
        return;
    }
    const auto &h = shots.front();
    const QString file = QString::fromStdString((m_store.dataDir() / "screenshots" / (h.id + ".jpg")).string());
    QFile f(file);
    if (!telemetryEnabled() || !f.open(QIODevice::ReadOnly) || f.size() > (16 << 20)) {
        qCWarning(lcSync, "screenshot %s cannot be uploaded (no server support or file missing)", h.id.c_str());
        QFile::remove(file);
        (void)m_store.commands().removeHandover(h.id);
        return;
    }
    Request r;
    r.method = "PUT";
    r.url = m_config.server + "/v1/devices/" + m_deviceId + "/screenshot";
    r.contentType = "image/jpeg";
    r.body = f.readAll().toStdString();
    const Sent sent = send(m_screenshots, now, std::move(r), statusInterval());
    if (sent != Sent::Failed) {
        QFile::remove(file);
        (void)m_store.commands().removeHandover(h.id);
        if (shots.size() > 1)
            m_screenshots.due = now;
    }
}

} // namespace stoa::sync
