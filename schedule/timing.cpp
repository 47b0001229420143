// schedule/timing.cpp — see timing.h.
#include "schedule/timing.h"

#include <algorithm>
#include <limits>

namespace stoa::schedule {
namespace {

constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();

// Both operands are >= 0: only the upper end can overflow.
std::int64_t saturatingAdd(std::int64_t a, std::int64_t b)
{
    return b > kMax - a ? kMax : a + b;
}

} // namespace

std::optional<std::int64_t> itemLengthMs(const Manifest &manifest, const PlaylistItem &item)
{
    if (item.durationMs)
        return *item.durationMs;
    switch (item.kind()) {
    case ItemKind::Url:
    case ItemKind::Text:
        return kDefaultItemMs;
    case ItemKind::Stream: // the parser requires duration_ms; a hand-built one has no known end
        return std::nullopt;
    case ItemKind::Asset:
        break;
    }
    const auto asset = item.asset ? manifest.assets.find(*item.asset) : manifest.assets.end();
    if (asset != manifest.assets.end() && asset->second.mediaType.starts_with("image/"))
        return kDefaultItemMs;
    return std::nullopt;
}

std::int64_t playlistCycleMs(const Manifest &manifest, const std::string &playlist, const OpenItemLength &openLength)
{
    const auto it = manifest.playlists.find(playlist);
    if (it == manifest.playlists.end())
        return 0;
    std::int64_t cycle = 0;
    for (const PlaylistItem &item : it->second.items) {
        std::optional<std::int64_t> length = itemLengthMs(manifest, item);
        if (!length && openLength)
            length = openLength(item);
        cycle = saturatingAdd(cycle, std::max<std::int64_t>(0, length.value_or(kDefaultItemMs)));
    }
    return cycle;
}

std::int64_t layoutTurnMs(const Manifest &manifest, const std::string &layout, const OpenItemLength &openLength)
{
    const auto it = manifest.layouts.find(layout);
    if (it == manifest.layouts.end())
        return 0;
    std::int64_t longest = 0;
    for (const Region &region : it->second.regions)
        longest = std::max(longest, playlistCycleMs(manifest, region.playlist, openLength));
    return longest;
}

std::optional<SyncSlot> syncSlotAt(const Playlist &playlist, std::int64_t nowMs)
{
    if (!playlist.sync || !playlist.sync->epoch.isValid() || playlist.items.empty())
        return std::nullopt;
    std::int64_t cycle = 0;
    for (const PlaylistItem &item : playlist.items) {
        if (!item.durationMs || *item.durationMs <= 0 || *item.durationMs > kMax - cycle)
            return std::nullopt;
        cycle += *item.durationMs;
    }
    std::int64_t sinceEpoch = 0;
    if (__builtin_sub_overflow(nowMs, playlist.sync->epoch.toMSecsSinceEpoch(), &sinceEpoch))
        return std::nullopt;
    // The mathematical modulo: before the epoch, -1 ms is the last ms of a cycle.
    std::int64_t position = sinceEpoch % cycle;
    if (position < 0)
        position += cycle;

    SyncSlot slot;
    std::int64_t start = 0; // the slot's start within the cycle
    for (; slot.index < playlist.items.size(); ++slot.index) {
        const std::int64_t duration = *playlist.items[slot.index].durationMs;
        if (position < start + duration)
            break;
        start += duration;
    }
    slot.offsetMs = position - start;
    const std::int64_t duration = *playlist.items[slot.index].durationMs;
    if (__builtin_sub_overflow(nowMs, slot.offsetMs, &slot.slotStartMs) ||
        __builtin_add_overflow(slot.slotStartMs, duration, &slot.nextBoundaryMs))
        return std::nullopt;
    return slot;
}

} // namespace stoa::schedule
