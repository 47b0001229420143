#include "cache/recovery.h"

#include "cache/durable.h"
#include "cache/logging.h"
#include "cache/sha256.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <fcntl.h>
#include <map>
#include <set>
#include <vector>
#include <sys/file.h>
#include <unistd.h>

namespace stoa::cache {

namespace fs = std::filesystem;

std::string RecoveryReport::summary() const
{
    std::string s = "recovery";
    if (databaseRebuilt)
        s += ": DATABASE REBUILT (corrupt copy at " + (databaseMovedTo.empty() ? "-" : databaseMovedTo) + ")";
    s += ": temps removed " + std::to_string(tempsRemoved) + ", partials kept " + std::to_string(partialsKept) +
         ", orphan blobs indexed " + std::to_string(orphansIndexed) + ", rows without file dropped " +
         std::to_string(rowsDropped) + ", bad blobs removed " + std::to_string(badBlobsRemoved) +
         ", active manifest " + (activeVersion ? std::to_string(activeVersion) : std::string("none")) +
         (manifestRestored ? " (restored from mirror)" : "") +
         (activeAssetsMissing ? ", " + std::to_string(activeAssetsMissing) + " of its assets missing" : "") +
         ", rollback floor " + std::to_string(floor);
    char buf[32];
    std::snprintf(buf, sizeof buf, ", %.3f s", seconds);
    return s + buf;
}

namespace {

// Deletes `path` unless another process holds a lock on it (a live writer).
bool removeIfUnlocked(const fs::path &path)
{
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (fd.valid() && ::flock(fd.get(), LOCK_EX | LOCK_NB) != 0)
        return false;
    return ::unlink(path.c_str()) == 0;
}

Result<std::set<std::string>> pinnedHexes(Database &db)
{
    auto st = db.prepare("SELECT DISTINCT hex FROM pins");
    if (!st)
        return std::unexpected(st.error());
    std::set<std::string> out;
    if (auto ok = st->each([&](Statement &row) { out.insert(row.columnText(0)); }); !ok)
        return std::unexpected(ok.error());
    return out;
}

Result<void> cleanTemps(Database &db, BlobStore &blobs, RecoveryReport &report)
{
    auto pinned = pinnedHexes(db);
    if (!pinned)
        return std::unexpected(pinned.error());
    // Of several partials for one blob (declared with different sizes by
    // different manifests), only the one with the most bytes is worth keeping.
    std::map<std::string, fs::path> best;
    std::map<std::string, std::uint64_t> bestBytes;
    std::vector<fs::path> drop;
    std::error_code ec;
    for (const auto &entry : fs::directory_iterator(blobs.tmpDir(), ec)) {
        const auto partial = BlobStore::parsePartialName(entry.path());
        std::error_code sec;
        const auto size = entry.file_size(sec);
        bool keep = false;
        if (partial && pinned->contains(partial->hex) && !sec && size <= partial->expectedSize) {
            auto present = blobs.contains(partial->hex);
            if (!present)
                return std::unexpected(present.error());
            keep = !*present;
        }
        if (!keep) {
            drop.push_back(entry.path());
            continue;
        }
        auto it = best.find(partial->hex);
        if (it == best.end()) {
            best.emplace(partial->hex, entry.path());
            bestBytes[partial->hex] = size;
        } else if (size > bestBytes[partial->hex]) {
            drop.push_back(it->second);
            it->second = entry.path();
            bestBytes[partial->hex] = size;
        } else {
            drop.push_back(entry.path());
        }
    }
    for (const auto &path : drop) {
        if (removeIfUnlocked(path))
            ++report.tempsRemoved;
        else
            ++report.partialsKept; // a live writer in another process holds it
    }
    report.partialsKept += static_cast<int>(best.size());
    return {};
}

Result<void> reconcileBlobs(Database &db, BlobStore &blobs, RecoveryReport &report)
{
    std::map<std::string, std::uint64_t> rows;
    {
        auto all = blobs.list();
        if (!all)
            return std::unexpected(all.error());
        for (const auto &b : *all)
            rows.emplace(b.hex, b.size);
    }
    auto tx = Transaction::begin(db);
    if (!tx)
        return std::unexpected(tx.error());
    std::set<std::string> seen;
    std::error_code ec;
    for (const auto &shard : fs::directory_iterator(blobs.blobsRoot(), ec)) {
        const std::string shardName = shard.path().filename().string();
        std::error_code dec;
        if (!shard.is_directory(dec)) {
            if (::unlink(shard.path().c_str()) == 0)
                ++report.badBlobsRemoved;
            continue;
        }
        for (const auto &entry : fs::directory_iterator(shard.path(), dec)) {
            const std::string name = entry.path().filename().string();
            std::error_code sec;
            const bool regular = entry.is_regular_file(sec);
            if (!regular || !isSha256Hex(name) || name.substr(0, 2) != shardName) {
                fs::remove_all(entry.path(), sec);
                ++report.badBlobsRemoved;
                qCWarning(lcCache, "recovery: removed stray %s", entry.path().c_str());
                continue;
            }
            const std::uint64_t size = entry.file_size(sec);
            const auto row = rows.find(name);
            if (row == rows.end()) {
                if (auto ok = blobs.index(BlobInfo{name, size}, false); !ok)
                    return ok;
                ++report.orphansIndexed;
            } else if (row->second != size) {
                qCWarning(lcCache, "recovery: blob %s is %llu bytes, index says %llu: removed", name.c_str(),
                          static_cast<unsigned long long>(size), static_cast<unsigned long long>(row->second));
                if (auto ok = blobs.remove(name); !ok)
                    return ok;
                ++report.badBlobsRemoved;
                continue;
            }
            seen.insert(name);
        }
    }
    for (const auto &[hex, size] : rows) {
        if (seen.contains(hex))
            continue;
        auto st = db.prepare("DELETE FROM blobs WHERE hex = ?");
        if (!st)
            return std::unexpected(st.error());
        if (auto ok = st->bind(1, hex).run(); !ok)
            return ok;
        ++report.rowsDropped;
    }
    return tx->commit();
}

Result<void> reconcileManifests(BlobStore &blobs, ManifestStore &manifests, RecoveryReport &report)
{
    auto active = manifests.get(Slot::Active);
    auto floor = manifests.floorRecord();
    if (!active || !floor)
        return std::unexpected(!active ? active.error() : floor.error());
    auto mirrored = ManifestStore::readMirror(blobs.dataDir());
    if (!mirrored) {
        qCWarning(lcCache, "recovery: %s", mirrored.error().message.c_str());
        mirrored = std::optional<StoredManifest>();
    }
    auto mirroredFloor = ManifestStore::readMirroredFloor(blobs.dataDir());
    if (!mirroredFloor) {
        qCWarning(lcCache, "recovery: %s", mirroredFloor.error().message.c_str());
        mirroredFloor = FloorRecord{};
    }

    const std::int64_t dbVersion = *active ? (*active)->version : 0;
    const std::int64_t mirrorVersion = *mirrored ? (*mirrored)->version : 0;
    // Versions and the floor only grow between floor resets (v1.1 §11), so
    // the later of the two states is the one with the later reset, then the
    // higher floor; within a reset's epoch the version no longer tells,
    // since the reset put the floor below the manifest still on screen.
    const std::int64_t dbEpoch = floor->resetKeysVersion.value_or(-1);
    const std::int64_t mirrorEpoch = mirroredFloor->resetKeysVersion.value_or(-1);
    bool mirrorAhead = false;
    bool dbAhead = false;
    FloorRecord merged = *mirroredFloor;
    if (mirrorEpoch != dbEpoch) {
        mirrorAhead = mirrorEpoch > dbEpoch;
        dbAhead = !mirrorAhead;
    } else if (dbEpoch < 0) {
        // No reset ever: merge as the maximum of both, and the floor is never
        // below the manifest (that also stands in for a lost floor file).
        mirrorAhead = mirrorVersion > dbVersion || mirroredFloor->floor > floor->floor;
        dbAhead = !mirrorAhead && (dbVersion > mirrorVersion || floor->floor > mirroredFloor->floor);
        merged.floor = std::max({mirroredFloor->floor, floor->floor, std::max(mirrorVersion, dbVersion)});
    } else {
        mirrorAhead = mirroredFloor->floor > floor->floor ||
                      (mirroredFloor->floor == floor->floor && mirrorVersion > dbVersion);
        dbAhead = !mirrorAhead && (floor->floor > mirroredFloor->floor || dbVersion != mirrorVersion);
    }
    if (mirrorAhead) {
        // The database forgot something the mirror remembers: put it back.
        const bool fromMirror = mirrored->has_value() && (mirrorEpoch >= 0 || mirrorVersion > dbVersion);
        if (auto ok = manifests.restore(fromMirror ? *mirrored : *active, merged); !ok)
            return ok;
        report.manifestRestored = fromMirror && mirrorVersion != dbVersion;
    } else if (dbAhead) {
        if (auto ok = manifests.writeMirror(); !ok)
            return ok;
    }

    active = manifests.get(Slot::Active);
    floor = manifests.floorRecord();
    if (!active || !floor)
        return std::unexpected(!active ? active.error() : floor.error());
    report.floor = floor->floor;
    if (*active) {
        report.activeVersion = (*active)->version;
        for (const auto &hex : (*active)->assets) {
            auto present = blobs.contains(hex);
            if (!present)
                return std::unexpected(present.error());
            if (!*present)
                ++report.activeAssetsMissing;
        }
    }
    return {};
}

} // namespace

Result<RecoveryReport> recover(Database &db, BlobStore &blobs, ManifestStore &manifests)
{
    const auto start = std::chrono::steady_clock::now();
    RecoveryReport report;
    if (auto ok = cleanTemps(db, blobs, report); !ok)
        return std::unexpected(ok.error());
    if (auto ok = reconcileBlobs(db, blobs, report); !ok)
        return std::unexpected(ok.error());
    if (auto ok = reconcileManifests(blobs, manifests, report); !ok)
        return std::unexpected(ok.error());
    report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return report;
}

} // namespace stoa::cache
