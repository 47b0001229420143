// cache/space.h — the byte quota, the free-disk floor, and the one reading
// of the data directory's free space.
//
// Job: before bytes are written, make room for them (evicting least recently
// used, unpinned blobs) or refuse with ErrorCode::NoSpace and a message that
// says which limit and by how much. Partial downloads count at the size they
// will have when complete, so parallel downloads cannot together overshoot.
//
// diskSpace() is the device's only free-disk reading: the space policy, the
// store's usage, the heartbeat's and /status's health.disk_free_bytes, the
// agent's stoa_device_disk_free_bytes and the diagnostics screen all take it
// from here (the hub, which never links cache, checks its own directory).
#pragma once

#include "cache/blobs.h"
#include "cache/error.h"

#include <cstdint>
#include <filesystem>
#include <string>

namespace stoa::cache {

struct SpaceLimits {
    std::uint64_t quotaBytes = 0;   // 0: no quota, only the disk floor applies
    std::uint64_t minFreeBytes = 0; // free space on the file system to leave alone
};

struct Usage {
    std::uint64_t blobBytes = 0;     // sum of indexed blob sizes
    std::uint64_t blobCount = 0;
    std::uint64_t pinnedBytes = 0;   // needed by the active or staged manifest
    std::uint64_t partialBytes = 0;  // expected final size of partial downloads
    std::uint64_t quotaBytes = 0;    // 0: unlimited
    std::uint64_t diskFreeBytes = 0; // available to us on the data file system
    std::uint64_t diskTotalBytes = 0;
};

class SpacePolicy {
public:
    // `blobs` must outlive the policy.
    SpacePolicy(BlobStore &blobs, SpaceLimits limits) : m_blobs(blobs), m_limits(limits) {}

    const SpaceLimits &limits() const { return m_limits; }
    Result<Usage> usage();

    // Makes room for `bytes` more bytes that the partial file `ownPartial`
    // (empty path: none) will receive. Evicts if needed.
    Result<void> reserve(std::uint64_t bytes, const std::filesystem::path &ownPartial = {});

private:
    struct Need {
        std::uint64_t overQuota = 0;
        std::uint64_t underFloor = 0;
    };
    Result<Need> shortfall(std::uint64_t bytes, const std::filesystem::path &ownPartial);

    BlobStore &m_blobs;
    SpaceLimits m_limits;
};

// The file system holding a path, as statvfs tells it.
struct DiskSpace {
    std::uint64_t freeBytes = 0;  // available to unprivileged users (f_bavail × f_frsize): what the store may fill
    std::uint64_t totalBytes = 0; // the file system's size (f_blocks × f_frsize)
};

// Free and total bytes of the file system holding `path`; an error naming
// the path when statvfs fails (it does not exist, no permission).
Result<DiskSpace> diskSpace(const std::filesystem::path &path);

} // namespace stoa::cache
