// cache/space.cpp — see space.h.
#include "cache/space.h"

#include "cache/logging.h"

#include <algorithm>
#include <cerrno>
#include <sys/statvfs.h>

namespace stoa::cache {

Result<DiskSpace> diskSpace(const std::filesystem::path &path)
{
    struct statvfs st {};
    if (::statvfs(path.c_str(), &st) != 0)
        return std::unexpected(osError("statvfs " + path.string(), errno));
    return DiskSpace{static_cast<std::uint64_t>(st.f_bavail) * st.f_frsize,
                     static_cast<std::uint64_t>(st.f_blocks) * st.f_frsize};
}

Result<Usage> SpacePolicy::usage()
{
    Usage u;
    auto bytes = m_blobs.indexedBytes();
    auto count = m_blobs.indexedCount();
    auto pinned = m_blobs.pinnedBytes();
    if (!bytes || !count || !pinned)
        return std::unexpected(!bytes ? bytes.error() : !count ? count.error() : pinned.error());
    u.blobBytes = *bytes;
    u.blobCount = *count;
    u.pinnedBytes = *pinned;
    for (const auto &p : m_blobs.partials())
        u.partialBytes += p.expectedSize;
    u.quotaBytes = m_limits.quotaBytes;
    auto disk = diskSpace(m_blobs.dataDir());
    if (!disk)
        return std::unexpected(disk.error());
    u.diskFreeBytes = disk->freeBytes;
    u.diskTotalBytes = disk->totalBytes;
    return u;
}

Result<SpacePolicy::Need> SpacePolicy::shortfall(std::uint64_t bytes, const std::filesystem::path &ownPartial)
{
    auto used = m_blobs.indexedBytes();
    if (!used)
        return std::unexpected(used.error());
    std::uint64_t othersPromised = 0;  // what other partials will still grow by
    std::uint64_t othersExpected = 0;  // their final size, for the quota
    for (const auto &p : m_blobs.partials()) {
        if (p.path == ownPartial)
            continue;
        othersExpected += p.expectedSize;
        othersPromised += p.expectedSize > p.currentSize ? p.expectedSize - p.currentSize : 0;
    }
    auto disk = diskSpace(m_blobs.dataDir());
    if (!disk)
        return std::unexpected(disk.error());

    Need need;
    if (m_limits.quotaBytes > 0) {
        const std::uint64_t total = *used + othersExpected + bytes;
        if (total > m_limits.quotaBytes)
            need.overQuota = total - m_limits.quotaBytes;
    }
    const std::uint64_t wanted = m_limits.minFreeBytes + othersPromised + bytes;
    if (disk->freeBytes < wanted)
        need.underFloor = wanted - disk->freeBytes;
    return need;
}

Result<void> SpacePolicy::reserve(std::uint64_t bytes, const std::filesystem::path &ownPartial)
{
    auto need = shortfall(bytes, ownPartial);
    if (!need)
        return std::unexpected(need.error());
    const std::uint64_t toFree = std::max(need->overQuota, need->underFloor);
    if (toFree == 0)
        return {};
    auto freed = m_blobs.evict(toFree);
    if (!freed)
        return std::unexpected(freed.error());
    // Re-measure: freed blob bytes on disk may differ from their sizes (blocks).
    need = shortfall(bytes, ownPartial);
    if (!need)
        return std::unexpected(need.error());
    if (need->overQuota > 0)
        return fail(ErrorCode::NoSpace, "quota of " + std::to_string(m_limits.quotaBytes) + " bytes cannot fit " +
                                            std::to_string(bytes) + " more bytes: " + std::to_string(need->overQuota) +
                                            " bytes short after evicting everything unpinned");
    if (need->underFloor > 0)
        return fail(ErrorCode::NoSpace, "disk cannot fit " + std::to_string(bytes) + " more bytes and keep " +
                                            std::to_string(m_limits.minFreeBytes) + " bytes free: " +
                                            std::to_string(need->underFloor) + " bytes short");
    if (*freed > 0)
        qCInfo(lcCache, "made room for %llu bytes by evicting %llu bytes", static_cast<unsigned long long>(bytes),
               static_cast<unsigned long long>(*freed));
    return {};
}

} // namespace stoa::cache
