// cache/manifests.h — adopted manifests: active, staged, and the rollback floor.
//
// The store does not parse manifests (that is schedule/'s job); it keeps the
// raw signed envelope, its version and the asset names it needs (the pins),
// exactly as the caller verified them.
//
// Invariants:
//  - stage()/activate() refuse a version not above the rollback floor;
//  - the floor only grows; it is max(every version ever activated);
//  - a manifest becomes active only if every asset it pins is indexed, in the
//    same transaction that swaps it in (all-or-nothing activation);
//  - after every activation the active manifest and the floor are mirrored to
//    <data>/manifests/ as files written atomically, so a lost or corrupt
//    state.db never leaves the device without its last good manifest nor
//    lowers the floor.
#pragma once

#include "cache/database.h"
#include "cache/error.h"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace stoa::cache {

struct StoredManifest {
    std::int64_t version = 0;
    std::string envelope;            // raw envelope bytes as fetched and verified
    std::vector<std::string> assets; // hex names of every blob the manifest needs
};

enum class Slot { Active, Staged };

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
    // Counts activations; the player compares it to notice a new active manifest.
    Result<std::int64_t> generation();

    // --- Durable mirror, used by recovery.
    std::filesystem::path mirrorDir() const { return m_dataDir / "manifests"; }
    Result<void> writeMirror();
    static Result<std::optional<StoredManifest>> readMirror(const std::filesystem::path &dataDir);
    static Result<std::int64_t> readMirroredFloor(const std::filesystem::path &dataDir);
    // Puts a recovered manifest back as active and raises the floor, without
    // the "above the floor" rule (it was adopted before).
    Result<void> restore(const StoredManifest &m, std::int64_t floor);

private:
    Result<void> putSlot(Slot slot, const StoredManifest &m);
    Result<void> raiseFloor(std::int64_t version);
    Result<void> checkAboveFloor(std::int64_t version);
    Result<void> checkAssetsPresent(const std::vector<std::string> &assets);

    std::filesystem::path m_dataDir;
    Database &m_db;
};

} // namespace stoa::cache
