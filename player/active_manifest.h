// player/active_manifest.h — the store's active (or staged) manifest, parsed for playing.
//
// The envelope in the store's active slot was verified by whoever stored it
// (the sync agent, the demo); the player only parses it again
// (parseEnvelope -> payload -> parseManifest). It also reads the player's
// one extension field, an item's optional "fade_ms" (a cross-fade into that
// item, 0-10000 ms; docs/player.md), which schedule::Manifest does not carry.
#pragma once

#include "cache/store.h"
#include "schedule/manifest.h"

#include <expected>
#include <map>
#include <optional>
#include <string>
#include <utility>

namespace stoa::player {

struct ActiveManifest {
    schedule::Manifest manifest;
    // (playlist, item index) -> fade_ms, only for items that name one.
    std::map<std::pair<std::string, std::size_t>, int> fadeMs;
};

// nullopt: the store has no manifest in that slot (a fresh device: no active one).
// The staged slot is read only to look ahead (the web warm-up); it is never played.
std::expected<std::optional<ActiveManifest>, std::string> loadStoredManifest(cache::Store &store, cache::Slot slot);
std::expected<ActiveManifest, std::string> parseStoredManifest(const cache::StoredManifest &stored);

} // namespace stoa::player
