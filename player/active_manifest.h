// player/active_manifest.h — the store's active (or staged) manifest, for playing.
//
// The envelope in the store's slot was verified by whoever stored it (the
// sync agent, the demo); the player reads it again with the one reader of
// stored manifests (schedule::readStoredManifest), not verifying it again.
// Stoa's item extension `fade_ms` comes with the model (PlaylistItem::fadeMs).
#pragma once

#include "cache/store.h"
#include "schedule/manifest.h"

#include <expected>
#include <optional>
#include <string>

namespace stoa::player {

// nullopt: the store has no manifest in that slot (a fresh device: no active one).
// The staged slot is read only to look ahead (the web warm-up); it is never played.
std::expected<std::optional<schedule::Manifest>, std::string> loadStoredManifest(cache::Store &store, cache::Slot slot);

} // namespace stoa::player
