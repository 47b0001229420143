// schedule/timing.h — how long things last on screen: items, one pass of a
// playlist, a layout's turn (v1.1 §12), and the slot of a synchronised
// playlist at a trusted instant (v1.1 §13).
//
// Job: the arithmetic the player needs to share the screen between tied
// entries and to switch synchronised playlists in step with other devices,
// as pure functions of the manifest (and of trusted time for §13). No clock
// reads, no I/O: the caller passes trusted time (trusted_time.h) and, where
// only it can know (a video played to its end), the played length.
//
// Invariants: all durations are int64 milliseconds and never negative; sums
// saturate instead of overflowing; syncSlotAt() answers the same slot on
// every device given the same manifest and the same instant (it uses integer
// arithmetic only), and its `nextBoundaryMs` is strictly after `nowMs`.
#pragma once

#include "schedule/manifest.h"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace stoa::schedule {

// The length the manifest fixes for an item: duration_ms when given, else
// kDefaultItemMs for an image, a text or a web page; nullopt for an asset
// that is not an image (a video plays to its end: only the player knows how
// long that is). Stream items always carry duration_ms.
std::optional<std::int64_t> itemLengthMs(const Manifest &manifest, const PlaylistItem &item);

// The played length of an item whose length the manifest leaves open (see
// itemLengthMs), when the caller knows it (the player: the video's duration
// once probed); nullopt when it does not.
using OpenItemLength = std::function<std::optional<std::int64_t>(const PlaylistItem &)>;

// One pass through a playlist: the sum of its items' lengths. An item the
// manifest leaves open counts `openLength(item)`, or kDefaultItemMs when that
// is unknown (or no function is given), so the answer is always a number
// (docs/protocol.md). 0 for an empty or unknown playlist.
std::int64_t playlistCycleMs(const Manifest &manifest, const std::string &playlist,
                             const OpenItemLength &openLength = {});

// v1.1 §12: how long a layout's turn lasts when it shares the screen with
// tied entries: the longest playlistCycleMs() among its regions (0 for an
// unknown layout). A playlist's turn is one item, as in v1.
std::int64_t layoutTurnMs(const Manifest &manifest, const std::string &layout,
                          const OpenItemLength &openLength = {});

// v1.1 §13: where a synchronised playlist stands at a trusted instant.
// Instants are UTC milliseconds since 1970-01-01T00:00:00Z.
struct SyncSlot {
    std::size_t index = 0;           // the item whose slot holds the instant
    std::int64_t offsetMs = 0;       // how far into that slot: [0, its duration_ms)
    std::int64_t slotStartMs = 0;    // when the slot began (a video starts there; joining mid-slot, seek to offsetMs)
    std::int64_t nextBoundaryMs = 0; // when it ends and the next item's slot begins: the switch instant
};

// The slot of `playlist` (which must carry `sync`) at trusted instant
// `nowMs`: the item whose slot contains (now - epoch) mod C, C being the sum
// of the durations. Before the epoch the cycle runs backwards the same way
// (the mathematical modulo), so devices agree at any instant. nullopt when
// the playlist has no `sync`, no items, an item without duration_ms, or the
// instant is so far from the epoch that int64 milliseconds overflow.
std::optional<SyncSlot> syncSlotAt(const Playlist &playlist, std::int64_t nowMs);

} // namespace stoa::schedule
