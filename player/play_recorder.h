// player/play_recorder.h — proof of play (spec §6) and "now playing" into the store.
//
// Every item that was on screen, and every item that was skipped, becomes one
// PlayRecord in the store's play log, which the sync agent uploads. The
// record's id is unique (device id + a random UUID); started_at is trusted
// UTC time (RFC 3339 with milliseconds, "Z"); a skipped item has
// duration_ms 0, completed false and a reason; an item of a layout's region
// carries the layout and the region id (v1.1 §12), a full-screen one neither.
//
// "Now playing" (kv key player.now_playing, JSON {playlist, asset, url},
// plus layout and regions under a layout: docs/protocol.md) is what the
// agent's heartbeat reports as it is (spec §5 now_playing), and beside it
// player.sync_state (v1.1 §13 sync.state, absent while no synchronised
// playlist plays). The blob of the
// next item is marked used (eviction is least recently used first).
//
// Called on the GUI thread at every switch, so it never writes itself: the
// records go to a StoreWriter (store_writer.h), which writes them in order
// on its own thread and connection — an fsync on an SD card must not freeze
// the new item's first frames (issue 15). Its header says what is kept when
// the process dies, and what happens when the disk does not keep up.
//
// Store errors are logged and counted, never thrown or fatal: losing a
// record must not stop the screen.
#pragma once

#include "cache/store.h"
#include "player/device_state.h"
#include "player/planned_item.h"
#include "player/store_writer.h"

#include <QDateTime>

#include <chrono>
#include <optional>
#include <string>

namespace stoa::player {

class PlayRecorder {
public:
    // `store`: the player's store (its data directory and play log cap; the
    // writer opens its own connection).
    PlayRecorder(cache::Store &store, std::string deviceId);

    void record(const PlannedItem &item, const QDateTime &startedUtc, std::int64_t durationMs, bool completed,
                const std::optional<std::string> &reason);
    // What is on screen now (Playback::view()): kv player.now_playing is
    // nowPlayingObject(view) (device_state.h: the v1 fields, and the layout
    // and its regions while one is in force); view.syncState is v1.1 §13's
    // "synchronised" / "unsynchronised", empty while no synchronised
    // playlist plays (kv player.sync_state, the heartbeat's sync.state).
    void nowPlaying(const PlayerView &view);
    // The blob `hex` is about to play: the eviction order's last used
    // (cache/blobs.h touch()), a write like the others.
    void blobUsed(schedule::Digest digest) { m_writer.blobUsed(std::move(digest)); }

    // Waits until what was recorded so far is written, at most `deadline`
    // (tests; the destructor does it with the writer's shutdown deadline).
    bool flush(std::chrono::milliseconds deadline) { return m_writer.drain(deadline); }

    // Records accepted (queued for the writer).
    std::int64_t recorded() const { return m_recorded; }
    const StoreWriter &writer() const { return m_writer; }

private:
    std::string m_deviceId;
    std::int64_t m_recorded = 0;
    StoreWriter m_writer; // last: its destructor drains while the rest is alive
};

} // namespace stoa::player
