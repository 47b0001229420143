// cache/play_record.h — one proof-of-play record (protocol §6, v1.1 §12),
// as the play log (playlog.h) and its spool (state_mirror.h) keep it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace stoa::cache {

struct PlayRecord {
    std::int64_t seq = 0;             // assigned by the store, increasing; 0 before append
    std::string id;                   // unique per record (the server de-duplicates by it)
    std::optional<std::string> asset; // "sha256:<hex>" or absent for web items
    std::optional<std::string> url;
    std::string playlist;
    std::string startedAt;            // RFC 3339 UTC
    std::int64_t durationMs = 0;
    bool completed = false;
    std::optional<std::string> reason; // why it did not complete (skipped, failed)
    std::optional<std::string> layout; // v1.1 §12: an item of a region: its layout ...
    std::optional<std::string> region; // ... and region id (both absent: the full screen)
};

} // namespace stoa::cache
