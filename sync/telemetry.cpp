#include "sync/telemetry.h"

#include <QJsonArray>
#include <QJsonDocument>

namespace stoa::sync {

namespace {
QJsonValue orNull(const QDateTime &t) { return t.isValid() ? QJsonValue(rfc3339(t)) : QJsonValue(); }
QJsonValue orNull(const std::string &s) { return s.empty() ? QJsonValue() : QJsonValue(QString::fromStdString(s)); }
} // namespace

QString rfc3339(const QDateTime &utc) { return utc.toUTC().toString("yyyy-MM-dd'T'HH:mm:ss'Z'"); }

QByteArray heartbeatJson(const HeartbeatInputs &in)
{
    QJsonObject nowPlaying{{"playlist", QJsonValue()}, {"asset", QJsonValue()}, {"url", QJsonValue()}};
    for (auto it = in.nowPlaying.begin(); it != in.nowPlaying.end(); ++it)
        nowPlaying.insert(it.key(), it.value());
    QJsonArray pending;
    for (const auto &id : in.pendingCommands)
        pending.append(QString::fromStdString(id));
    const QJsonObject body{
        {"device_id", QString::fromStdString(in.deviceId)},
        {"software_version", QString::fromStdString(in.softwareVersion)},
        {"sent_at", rfc3339(in.sentAt)},
        {"uptime_s", qint64(in.uptimeS)},
        {"manifest", in.manifestVersion ? QJsonValue(QJsonObject{{"version", qint64(*in.manifestVersion)},
                                                                  {"expires_at", orNull(in.manifestExpiresAt)},
                                                                  {"stale", in.stale}})
                                        : QJsonValue()},
        {"now_playing", nowPlaying},
        {"sync", QJsonObject{{"last_success_at", orNull(in.lastSuccessAt)},
                             {"last_error", orNull(in.lastError)},
                             {"consecutive_failures", in.consecutiveFailures}}},
        {"cache", QJsonObject{{"bytes_used", qint64(in.bytesUsed)},
                              {"bytes_limit", qint64(in.bytesLimit)},
                              {"assets", qint64(in.assets)}}},
        {"clock", QJsonObject{{"trusted", in.clockTrusted}, {"source", QString::fromStdString(in.clockSource)}}},
        {"health", QJsonObject{{"cpu_temp_c", in.cpuTempC ? QJsonValue(*in.cpuTempC) : QJsonValue()},
                               {"throttled", in.throttled ? QJsonValue(*in.throttled) : QJsonValue()},
                               {"disk_free_bytes", in.diskFreeBytes ? QJsonValue(qint64(*in.diskFreeBytes))
                                                                    : QJsonValue()}}},
        {"pending_commands", pending},
    };
    return QJsonDocument(body).toJson(QJsonDocument::Compact);
}

QByteArray playsNdjson(const std::vector<cache::PlayRecord> &records)
{
    QByteArray out;
    for (const auto &r : records) {
        QJsonObject o{
            {"id", QString::fromStdString(r.id)},
            {"asset", r.asset ? QJsonValue(QString::fromStdString(*r.asset)) : QJsonValue()},
            {"url", r.url ? QJsonValue(QString::fromStdString(*r.url)) : QJsonValue()},
            {"playlist", QString::fromStdString(r.playlist)},
            {"started_at", QString::fromStdString(r.startedAt)},
            {"duration_ms", qint64(r.durationMs)},
            {"completed", r.completed},
        };
        if (r.reason)
            o.insert("reason", QString::fromStdString(*r.reason));
        out += QJsonDocument(o).toJson(QJsonDocument::Compact);
        out += '\n';
    }
    return out;
}

} // namespace stoa::sync
