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
//  - ties at the top priority share the screen; playlists are listed in
//    schedule order, each once.
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
    Default,  // no entry active; default_playlist plays
    Idle,     // no entry active and no default_playlist: the idle screen
};

struct NowPlaying {
    PlaySource source = PlaySource::Idle;
    // What shares the screen, in schedule order of the first active entry at
    // the top priority naming each playlist; no duplicates. One name for a
    // single winner or the default playlist, empty when idle.
    std::vector<std::string> playlists;
    // First instant (UTC) at which source or playlists differ; nullopt when
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
