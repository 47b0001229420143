// sync/manifest_slots.h — the store's active and staged manifests, parsed.
//
// Job: what several agent channels read about the manifests without going
// to SQLite and the envelope parser each time: the active manifest (what
// plays, its settings and commands) and the staged one (what is being
// downloaded). The Agent owns one; channels get it by reference.
//
// Invariants:
//  - `active` and `staged` match the store's active and staged slots (or are
//    empty when those are, or when a stored envelope no longer parses);
//  - only the ManifestChannel stages (writes `staged`), only the
//    ActivationChannel moves staged to active or drops it; every other
//    channel only reads.
#pragma once

#include "cache/store.h"
#include "cache/sync_status.h"
#include "schedule/manifest.h"
#include "sync/backoff.h"

#include <optional>

namespace stoa::sync {

struct ManifestSlots {
    std::optional<schedule::Manifest> active; // writer: ActivationChannel (and load())
    std::optional<schedule::Manifest> staged; // writers: ManifestChannel (stage), ActivationChannel (activate, drop)

    // Reads both slots from the store (at start) and the versions into `status`.
    void load(cache::Store &store, cache::SyncStatus &status);
    // The active manifest's settings (§4) override stoa.conf's intervals.
    Millis syncInterval(Millis configured) const;
    Millis statusInterval(Millis configured) const;
};

} // namespace stoa::sync
