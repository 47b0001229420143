// schedule/engine.h — what plays now, and whether the screen is on (spec §3).
//
// Job: two pure functions of (manifest, trusted UTC now). Each returns the
// current answer and the next UTC instant at which that answer changes, so
// the player arms one timer instead of polling. No state, no I/O, no clock
// reads: the caller passes trusted time (trusted_time.h).
//
// Rules as implemented (details and examples in docs/schedule.md):
//  - an entry's window belongs to the local day it starts on: a Fri 22:00-02:00
//    window is open Sat 00:00-02:00 because it started on Friday, whatever
//    Saturday's date range or weekday rules say;
//  - from == until is a full 24 hours starting at `from`;
//  - daylight saving: local time runs forward only; a boundary at a local
//    time that is skipped happens at the transition, a boundary at a local
//    time that happens twice happens at its first occurrence (local_time.h);
//  - ties at the top priority share the screen; what they show (playlists
//    and v1.1 §12 layouts) is listed in schedule order, each once;
//  - with no entry active, default_layout wins over default_playlist (v1.1
//    §12: a 1.1 device), else default_playlist, else the idle screen.
//  How tied contents take turns (a playlist one item, a layout the longest
//  cycle of its regions) is timing.h's.
//
// Invariants: the answer holds on [now, nextChange); at nextChange it is
// different (unless `exact` is false, see below). Cost is O(entries) per call
// plus O(1) QTimeZone calls per DST transition crossed by the search.
#pragma once

#include "schedule/manifest.h"

#include <QDateTime>

#include <optional>
#include <string>
#include <vector>

namespace stoa::schedule {

enum class PlaySource {
    Schedule, // one or more schedule entries are active
    Default,  // no entry active; default_layout or default_playlist plays
    Idle,     // no entry active and no default: the idle screen
};

struct NowPlaying {
    PlaySource source = PlaySource::Idle;
    // What shares the screen, playlists and layouts alike, in schedule order
    // of the first active entry at the top priority naming each; no
    // duplicates. One element for a single winner or the default, empty when
    // idle.
    std::vector<ContentRef> contents;
    // The playlist elements of `contents`, by name and in the same order:
    // for callers that play whole-screen playlists only (they show nothing
    // of a layout).
    std::vector<std::string> playlists;
    // First instant (UTC) at which source or contents differ; nullopt when
    // the answer never changes again.
    std::optional<QDateTime> nextChange;
    // false when the search for the next change gave up (more than
    // kMaxSweepSteps boundaries that did not change the answer): nextChange
    // is then an instant at which the answer is still the same and the caller
    // should simply resolve again.
    bool exact = true;
};

struct DisplayPower {
    bool on = true; // no display window in the manifest: always on
    // First instant (UTC) at which `on` flips; nullopt: never.
    std::optional<QDateTime> nextChange;
};

// Boundaries examined per resolve before settling for a non-exact answer.
inline constexpr int kMaxSweepSteps = 512;

// What plays at trusted UTC instant `nowUtc` under `manifest` (spec §3).
NowPlaying resolveNowPlaying(const Manifest &manifest, const QDateTime &nowUtc);

// Whether the screen is powered at `nowUtc` (spec §3 `display`).
DisplayPower resolveDisplay(const Manifest &manifest, const QDateTime &nowUtc);

} // namespace stoa::schedule
