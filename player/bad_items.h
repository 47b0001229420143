// player/bad_items.h — content that failed to play, and when to try it again.
//
// Job: remember, per content key (PlannedItem::key), how often an item
// failed and until when it is passed over: `base` after the first failure,
// doubled per further failure up to `max` (docs/player.md "Never dark"). So
// a page that failed once because the network blinked is back within a
// minute, and an item that keeps failing is reported ever more rarely.
// Invariants: an item is bad only until its retry time; forget() (a good
// play) and clear() (a new manifest) drop the count. Time is the caller's
// monotonic ms, so tests drive it.
#pragma once

#include "schedule/manifest.h"

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace stoa::player {

// What marks an item bad (PlannedItem::key): its asset, page, text or stream.
std::string contentKey(const schedule::PlaylistItem &item);

class BadItems {
public:
    BadItems(std::chrono::milliseconds base, std::chrono::milliseconds max) : m_base(base), m_max(max) {}

    // Passed over now (failed, and its retry time not reached).
    bool isBad(const std::string &key, std::int64_t nowMs) const;
    // One more failure at `nowMs`: the retry time moves out.
    void markBad(const std::string &key, std::int64_t nowMs);
    // It played: its failures are forgotten.
    void forget(const std::string &key) { m_items.erase(key); }
    void clear() { m_items.clear(); }
    // Items that failed (whether or not their retry time passed).
    std::size_t size() const { return m_items.size(); }
    // The earliest retry time still ahead of `nowMs`, if any (an item whose
    // time has passed is not waiting any more: it is retried when picked).
    std::optional<std::int64_t> firstRetryMs(std::int64_t nowMs) const;

private:
    struct Entry {
        int failures = 0;
        std::int64_t retryAtMs = 0; // passed over until then
    };
    std::chrono::milliseconds m_base;
    std::chrono::milliseconds m_max;
    std::map<std::string, Entry> m_items; // by content key
};

} // namespace stoa::player
