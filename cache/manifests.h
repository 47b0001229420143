// cache/manifests.h — adopted manifests: active, staged, and the rollback floor.
//
// The store does not parse manifests (that is schedule/'s job); it keeps the
// raw signed envelope, its version and the asset names it needs (the pins),
// exactly as the caller verified them.
//
// Invariants:
//  - stage()/activate() refuse a version not above the rollback floor;
//  - the floor only grows (it is the max of every version activated), except
//    through resetFloor(): a root-signed keys document's
//    manifest_version_floor (v1.1 §11) lowers it, at most once per
//    keys-document version, and the reset is recorded with that version;
//  - a manifest becomes active only if every asset it pins is indexed, in the
//    same transaction that swaps it in (all-or-nothing activation);
//  - after every activation and every reset the active manifest, the floor
//    and the reset record are mirrored to <data>/manifests/ as files written
//    atomically, so a lost or corrupt state.db never leaves the device
//    without its last good manifest, never lowers the floor, and never
//    undoes a reset (nor lets the same document reset it twice).
#pragma once

#include "cache/database.h"
#include "cache/error.h"
#include "schedule/digest.h"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace stoa::cache {

struct StoredManifest {
    std::int64_t version = 0;
    std::string envelope;            // raw envelope bytes as fetched and verified
    std::vector<schedule::Digest> assets; // every blob the manifest needs (its pins)
};

enum class Slot { Active, Staged };

// The rollback floor and the newest keys document whose manifest version
// floor (v1.1 §11) was applied to it; as kept in state.db and in the mirror.
struct FloorRecord {
    std::int64_t floor = 0;
    std::optional<std::int64_t> resetKeysVersion; // none: no reset ever
};

// What resetFloor() did.
struct FloorReset {
    bool applied = false;    // false: this keys version (or a newer one) was applied before
    std::int64_t before = 0; // the floor before and after
    std::int64_t after = 0;
};

class ManifestStore {
public:
    // `db` must outlive the ManifestStore.
    ManifestStore(std::filesystem::path dataDir, Database &db);

    Result<std::optional<StoredManifest>> get(Slot slot);
    // Replaces the staged manifest and its pins.
    Result<void> stage(const StoredManifest &m);
    Result<void> dropStaged();
    // Staged becomes active (fails if any pinned asset is missing).
    Result<void> activateStaged();
    // Makes `m` active directly (its assets must already be present).
    Result<void> activate(const StoredManifest &m);

    Result<std::int64_t> rollbackFloor();
    // v1.1 §11: the floor becomes min(floor, `floor`), unless a keys document
    // of version `keysVersion` or newer was applied already — a device that
    // lost its copy of the keys document and adopts it again must not lower
    // the floor below manifests adopted since (a replay of those would be
    // a rollback). Mirrored before it returns.
    Result<FloorReset> resetFloor(std::int64_t floor, std::int64_t keysVersion);
    Result<FloorRecord> floorRecord();
    // Counts activations; the player compares it to notice a new active manifest.
    Result<std::int64_t> generation();

    // --- Durable mirror, used by recovery.
    std::filesystem::path mirrorDir() const { return m_dataDir / "manifests"; }
    Result<void> writeMirror();
    static Result<std::optional<StoredManifest>> readMirror(const std::filesystem::path &dataDir);
    static Result<FloorRecord> readMirroredFloor(const std::filesystem::path &dataDir);
    // Puts a recovered manifest (if any) back as active and sets the floor
    // record exactly as given, without the "above the floor" rule: recovery
    // decides both from the database and the mirror (recovery.cpp).
    Result<void> restore(const std::optional<StoredManifest> &m, const FloorRecord &floor);

private:
    Result<void> putSlot(Slot slot, const StoredManifest &m);
    Result<void> raiseFloor(std::int64_t version);
    Result<void> checkAboveFloor(std::int64_t version);
    Result<void> checkAssetsPresent(const std::vector<schedule::Digest> &assets);

    std::filesystem::path m_dataDir;
    Database &m_db;
};

} // namespace stoa::cache
