// player/play_recorder.cpp — play records and now playing, handed to the
// store writer (see play_recorder.h).
#include "player/play_recorder.h"

#include <QJsonDocument>
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

void PlayRecorder::nowPlaying(const PlayerView &view)
{
    m_writer.nowPlaying(QJsonDocument(nowPlayingObject(view)).toJson(QJsonDocument::Compact).toStdString(),
                        view.syncState);
}

} // namespace stoa::player
