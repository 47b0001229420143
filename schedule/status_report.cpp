// schedule/status_report.cpp — see status_report.h.
#include "schedule/status_report.h"

#include <QJsonArray>
#include <QJsonDocument>

namespace stoa::schedule {

namespace {
QJsonValue orNull(const QDateTime &t) { return t.isValid() ? QJsonValue(rfc3339Utc(t)) : QJsonValue(); }
QJsonValue orNull(const std::string &s) { return s.empty() ? QJsonValue() : QJsonValue(QString::fromStdString(s)); }
// §5 health: exactly its three keys, whatever else the reading holds.
QJsonObject healthObject(const DeviceHealth &h)
{
    return QJsonObject{{"cpu_temp_c", h.cpuTempC ? QJsonValue(*h.cpuTempC) : QJsonValue()},
                       {"throttled", h.throttled ? QJsonValue(*h.throttled) : QJsonValue()},
                       {"disk_free_bytes", h.diskFreeBytes ? QJsonValue(qint64(*h.diskFreeBytes)) : QJsonValue()}};
}
QJsonObject stagedBlockedObject(const StatusReport::StagedBlocked &b)
{
    return QJsonObject{{"version", qint64(b.version)},
                       {"reason", QString::fromStdString(b.reason)},
                       {"message", QString::fromStdString(b.message)},
                       {"since", orNull(b.since)}};
}
} // namespace

QString rfc3339Utc(const QDateTime &t) { return t.toUTC().toString("yyyy-MM-dd'T'HH:mm:ss'Z'"); }

QJsonObject statusReportObject(const StatusReport &in)
{
    QJsonObject nowPlaying{{"playlist", QJsonValue()}, {"asset", QJsonValue()}, {"url", QJsonValue()}};
    for (auto it = in.nowPlaying.begin(); it != in.nowPlaying.end(); ++it)
        nowPlaying.insert(it.key(), it.value());
    QJsonArray pending;
    for (const auto &id : in.pendingCommands)
        pending.append(QString::fromStdString(id));
    QJsonObject sync{{"last_success_at", orNull(in.lastSuccessAt)},
                     {"last_error", orNull(in.lastError)},
                     {"consecutive_failures", in.consecutiveFailures},
                     {"staged_blocked", in.stagedBlocked ? QJsonValue(stagedBlockedObject(*in.stagedBlocked))
                                                         : QJsonValue()}};
    if (!in.syncState.empty())
        sync.insert("state", QString::fromStdString(in.syncState));
    return QJsonObject{
        {"device_id", QString::fromStdString(in.deviceId)},
        {"software_version", QString::fromStdString(in.softwareVersion)},
        {"sent_at", rfc3339Utc(in.sentAt)},
        {"uptime_s", qint64(in.uptimeS)},
        {"manifest", in.manifestVersion ? QJsonValue(QJsonObject{{"version", qint64(*in.manifestVersion)},
                                                                  {"expires_at", orNull(in.manifestExpiresAt)},
                                                                  {"stale", in.stale},
                                                                  {"signer_revoked", in.signerRevoked
                                                                                         ? QJsonValue(*in.signerRevoked)
                                                                                         : QJsonValue()}})
                                        : QJsonValue()},
        {"now_playing", nowPlaying},
        {"sync", sync},
        {"cache", QJsonObject{{"bytes_used", qint64(in.bytesUsed)},
                              {"bytes_limit", qint64(in.bytesLimit)},
                              {"assets", qint64(in.assets)}}},
        {"clock", QJsonObject{{"trusted", in.clockTrusted}, {"source", QString::fromStdString(in.clockSource)}}},
        {"health", healthObject(in.health)},
        {"pending_commands", pending},
    };
}

QByteArray statusReportJson(const StatusReport &in)
{
    return QJsonDocument(statusReportObject(in)).toJson(QJsonDocument::Compact);
}

} // namespace stoa::schedule
