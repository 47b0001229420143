// sync/heartbeat_channel.cpp — see heartbeat_channel.h.
#include "sync/heartbeat_channel.h"

#include "cache/space.h"
#include "schedule/status_report.h"

#include <QCoreApplication>
#include <QJsonDocument>

namespace stoa::sync {

SteadyTime HeartbeatChannel::start(SteadyTime started)
{
    m_started = started;
    m_upload.due = started + m_upload.initialDelay();
    return m_upload.due;
}

void HeartbeatChannel::step(SteadyTime now)
{
    if (now < m_upload.due)
        return;
    if (!m_upload.supported()) {
        m_upload.due = now + Millis(24 * 3600 * 1000);
        return;
    }
    const auto trusted = m_clock.now();
    schedule::StatusReport in;
    in.deviceId = m_deviceId;
    in.softwareVersion = QCoreApplication::applicationVersion().toStdString();
    in.sentAt = trusted.utc;
    in.uptimeS = std::chrono::duration_cast<std::chrono::seconds>(now - m_started).count();
    if (m_manifests.active) {
        in.manifestVersion = m_manifests.active->version;
        in.manifestExpiresAt = m_manifests.active->expiresAt;
        in.stale = m_manifests.active->expiresAt <= trusted.utc;
        in.signerRevoked = m_status.activeSignerRevoked;
    }
    if (auto np = m_store.kv().get("player.now_playing"); np && *np)
        in.nowPlaying = QJsonDocument::fromJson(QByteArray::fromStdString(**np)).object();
    // v1.1 §13: what the player says of its synchronised playlist (absent: none plays).
    if (auto st = m_store.kv().get("player.sync_state"); st && *st)
        in.syncState = **st;
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
    }
    if (m_health)
        in.health = *m_health;
    // Free disk is the store's, read now (apart from usage(): the disk can be
    // read while SQLite cannot); unknown (null) when statvfs fails.
    in.health.diskFreeBytes.reset();
    in.health.diskTotalBytes.reset();
    if (auto disk = cache::diskSpace(m_store.dataDir())) {
        in.health.diskFreeBytes = disk->freeBytes;
        in.health.diskTotalBytes = disk->totalBytes;
    }
    in.clockTrusted = trusted.trusted;
    in.clockSource = schedule::timeSourceName(trusted.source).toStdString();
    if (auto pending = m_store.commands().handovers("pending"))
        for (const auto &h : *pending)
            in.pendingCommands.push_back(h.id);

    m_upload.send(now, "POST", "application/json", schedule::statusReportJson(in).toStdString());
    m_status.heartbeat = m_upload.result;
}

} // namespace stoa::sync
