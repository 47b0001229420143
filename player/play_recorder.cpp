// player/play_recorder.cpp — play log and now-playing writes (see play_recorder.h).
#include "player/play_recorder.h"

#include "player/logging.h"

#include <QJsonDocument>
#include <QJsonObject>
#include <QUuid>

namespace stoa::player {

void PlayRecorder::record(const PlannedItem &item, const QDateTime &startedUtc, std::int64_t durationMs,
                          bool completed, const std::optional<std::string> &reason)
{
    cache::PlayRecord r;
    r.id = m_deviceId + "-" + QUuid::createUuid().toString(QUuid::WithoutBraces).toStdString();
    r.asset = item.asset;
    if (item.url)
        r.url = item.url->toStdString();
    r.playlist = item.playlist;
    r.startedAt = startedUtc.toUTC().toString(Qt::ISODateWithMs).toStdString();
    r.durationMs = durationMs;
    r.completed = completed;
    r.reason = reason;
    r.layout = item.layout;
    r.region = item.region;
    if (auto ok = m_store.plays().append(r); !ok) {
        qCWarning(lcPlayer, "cannot record a play of %s: %s", item.key.c_str(), ok.error().message.c_str());
        return;
    }
    ++m_recorded;
}

void PlayRecorder::nowPlaying(const PlannedItem *item)
{
    QJsonObject o{{"playlist", QJsonValue::Null}, {"asset", QJsonValue::Null}, {"url", QJsonValue::Null}};
    if (item) {
        o["playlist"] = QString::fromStdString(item->playlist);
        if (item->asset)
            o["asset"] = QString::fromStdString(*item->asset);
        if (item->url)
            o["url"] = *item->url;
    }
    const std::string json = QJsonDocument(o).toJson(QJsonDocument::Compact).toStdString();
    if (auto ok = m_store.kv().set(kNowPlayingKey, json); !ok)
        qCWarning(lcPlayer, "cannot write now-playing: %s", ok.error().message.c_str());
}

} // namespace stoa::player
