// player/play_recorder.cpp — play records and now playing, handed to the
// store writer (see play_recorder.h).
#include "player/play_recorder.h"

#include <QJsonDocument>
#include <QJsonObject>
#include <QUuid>

namespace stoa::player {

PlayRecorder::PlayRecorder(cache::Store &store, std::string deviceId)
    : m_deviceId(std::move(deviceId)),
      m_writer(StoreWriter::Options{.dataDir = store.dataDir(), .maxPlayRecords = store.maxPlayRecords()})
{
}

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
    if (m_writer.play(std::move(r)))
        ++m_recorded;
}

void PlayRecorder::nowPlaying(const PlannedItem *item, std::string syncState)
{
    QJsonObject o{{"playlist", QJsonValue::Null}, {"asset", QJsonValue::Null}, {"url", QJsonValue::Null}};
    if (item) {
        o["playlist"] = QString::fromStdString(item->playlist);
        if (item->asset)
            o["asset"] = QString::fromStdString(*item->asset);
        if (item->url)
            o["url"] = *item->url;
    }
    m_writer.nowPlaying(QJsonDocument(o).toJson(QJsonDocument::Compact).toStdString(), std::move(syncState));
}

} // namespace stoa::player
