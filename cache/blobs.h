// cache/blobs.h — the content-addressed blob store and its index.
//
// On disk: <data>/blobs/sha256/<2 hex>/<64 hex>, one file per asset, named by
// the SHA-256 of its bytes. Partial downloads live in
// <data>/tmp/<64 hex>.<expected size>.part so they can be resumed and so
// the space accounting knows how big they will become.
//
// Invariants:
//  - a file appears under blobs/ only by rename() from tmp/ after its size and
//    hash were checked and it was fsynced (see BlobWriter); so every visible
//    blob hashes to its name unless the medium itself rotted (the scrubber's job);
//  - the blobs table may briefly lag the directory (rename happens before the
//    row is inserted, eviction deletes the row before the file): recovery
//    reconciles both ways;
//  - a blob pinned by any owner (the active or staged manifest) is never evicted.
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

struct BlobInfo {
    schedule::Digest digest; // the blob's name: the SHA-256 of its bytes
    std::uint64_t size = 0;
};

// Where partial files are and what they will become, parsed from their names.
struct PartialFile {
    std::filesystem::path path;
    schedule::Digest digest; // what the bytes will hash to once complete
    std::uint64_t expectedSize = 0;
    std::uint64_t currentSize = 0;
};

class BlobStore {
public:
    // `db` must outlive the BlobStore; the BlobStore does not own it.
    BlobStore(std::filesystem::path dataDir, Database &db);

    const std::filesystem::path &dataDir() const { return m_dataDir; }
    std::filesystem::path blobsRoot() const { return m_dataDir / "blobs" / "sha256"; }
    std::filesystem::path tmpDir() const { return m_dataDir / "tmp"; }
    std::filesystem::path pathFor(const schedule::Digest &digest) const;
    std::filesystem::path partialPathFor(const schedule::Digest &digest, std::uint64_t size) const;
    // nullopt unless the name is <64 hex>.<decimal size>.part with a valid digest.
    static std::optional<PartialFile> parsePartialName(const std::filesystem::path &path);

    // True when the blob is indexed and its file exists.
    Result<bool> contains(const schedule::Digest &digest);
    // The file to open for playback, if the blob is present.
    Result<std::optional<std::filesystem::path>> find(const schedule::Digest &digest);
    // Marks the blob as most recently used (LRU order is a counter, not a clock).
    Result<void> touch(const schedule::Digest &digest);
    // Every indexed blob; a row whose name is not a digest (a damaged
    // state.db) is logged and left out (recovery drops it).
    Result<std::vector<BlobInfo>> list();

    // Records a blob whose file is already in place (after rename).
    Result<void> index(const BlobInfo &blob, bool verified);
    // Removes row and file. Used for corrupt blobs; ignores pins.
    Result<void> remove(const schedule::Digest &digest);

    // Removes least recently used, unpinned blobs until at least `bytes` are
    // freed or nothing evictable is left. Returns the bytes freed.
    Result<std::uint64_t> evict(std::uint64_t bytes);

    Result<std::uint64_t> indexedBytes();
    Result<std::uint64_t> indexedCount();
    Result<std::uint64_t> pinnedBytes();
    std::vector<PartialFile> partials() const;

private:
    std::filesystem::path m_dataDir;
    Database &m_db;
};

} // namespace stoa::cache
