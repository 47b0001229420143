// player/play_recorder.h — proof of play (spec §6) and "now playing" into the store.
//
// Every item that was on screen, and every item that was skipped, becomes one
// PlayRecord in the store's play log, which the sync agent uploads. The
// record's id is unique (device id + a random UUID); started_at is trusted
// UTC time (RFC 3339 with milliseconds, "Z"); a skipped item has
// duration_ms 0, completed false and a reason; an item of a layout's region
// carries the layout and the region id (v1.1 §12), a full-screen one neither.
//
// "Now playing" (kv key player.now_playing, JSON {playlist, asset, url}) is
// what the agent's heartbeat reports (spec §5 now_playing).
//
// Store errors are logged, never thrown or fatal: losing a record must not
// stop the screen.
#pragma once

#include "cache/store.h"
#include "player/planned_item.h"

#include <QDateTime>

#include <optional>
#include <string>

namespace stoa::player {

inline constexpr char kNowPlayingKey[] = "player.now_playing";

class PlayRecorder {
public:
    PlayRecorder(cache::Store &store, std::string deviceId) : m_store(store), m_deviceId(std::move(deviceId)) {}

    void record(const PlannedItem &item, const QDateTime &startedUtc, std::int64_t durationMs, bool completed,
                const std::optional<std::string> &reason);
    // The item now on screen; nullptr: the idle screen.
    void nowPlaying(const PlannedItem *item);

    std::int64_t recorded() const { return m_recorded; }

private:
    cache::Store &m_store;
    std::string m_deviceId;
    std::int64_t m_recorded = 0;
};

} // namespace stoa::player
