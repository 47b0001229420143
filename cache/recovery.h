// cache/recovery.h — bringing the data directory back to a consistent state.
//
// Runs at every Store::open(), before anything else reads the store.
// What it does, in order:
//  1. tmp/: deletes anonymous import temps and partials nobody needs any more
//     (no active/staged manifest pins them, the blob already exists, they are
//     longer than declared, or another partial of the same blob has more
//     bytes); keeps the rest for resuming. Files another process holds a
//     lock on (a live download) are left alone.
//  2. blobs/ vs the index, both ways: rows without a file are dropped, files
//     without a row are indexed (unverified: the scrubber hashes them first),
//     files whose size differs from their row are deleted, stray names removed.
//  3. manifests: if the database lost its active manifest or its floor (it was
//     rebuilt, or restored from an old copy), the mirror in manifests/ puts
//     them back; if the database is ahead of the mirror, the mirror is rewritten.
//  4. remembered state (state_mirror.h), the same both ways: the time floor
//     becomes the higher of the two; a keys document the database lost comes
//     back; command ids become the union of both; spooled plays the database
//     does not have (it was rebuilt, or the player spooled them in its
//     fallback) are put back, and the spool is rewritten from the database
//     when it has dead lines or lacks a record. Steps 4's commands and plays
//     run in one database transaction under the mirror's lock, so a record
//     acknowledged meanwhile by the other process is not put back.
// Moving a corrupt database aside happens in Store::open(), which owns the file.
#pragma once

#include "cache/blobs.h"
#include "cache/database.h"
#include "cache/manifests.h"
#include "cache/playlog.h"
#include "cache/state_mirror.h"

#include <cstdint>
#include <string>

namespace stoa::cache {

struct RecoveryReport {
    bool databaseRebuilt = false;      // state.db was corrupt or missing its tables' data
    std::string databaseMovedTo;       // where the corrupt file went, if any
    int tempsRemoved = 0;              // anonymous temps and unneeded partials deleted
    int partialsKept = 0;              // resumable partials kept
    int orphansIndexed = 0;            // blob files that had no row
    int rowsDropped = 0;               // rows whose file was missing
    int badBlobsRemoved = 0;           // size mismatch or a stray name under blobs/
    bool manifestRestored = false;     // active manifest put back from the mirror
    std::int64_t activeVersion = 0;    // after recovery; 0: none
    int activeAssetsMissing = 0;       // the active manifest needs these, the sync agent re-fetches
    std::int64_t floor = 0;            // rollback floor after recovery
    int valuesRestored = 0;            // mirrored kv values (time floor, keys document) put back
    int commandsRestored = 0;          // command ids put back from state/commands
    int playsRestored = 0;             // unsent plays put back from state/plays.spool
    double seconds = 0;

    std::string summary() const;
};

// `db`, `blobs`, `manifests` and `plays` are already open on the same data
// directory; `mirror` is its state/ mirror.
Result<RecoveryReport> recover(Database &db, BlobStore &blobs, ManifestStore &manifests, StateMirror &mirror,
                               PlayLog &plays);
// Step 4 alone (the player's fallback store, Store::adopt).
Result<void> reconcileState(Database &db, StateMirror &mirror, PlayLog &plays, RecoveryReport &report);

} // namespace stoa::cache
