#include "cache/recovery.h"

#include "cache/durable.h"
#include "cache/kv.h"
#include "cache/logging.h"
#include "cache/row_clock.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <iterator>
#include <limits>
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
         ", rollback floor " + std::to_string(floor) +
         (valuesRestored || commandsRestored || playsRestored
              ? ", restored from state/: " + std::to_string(valuesRestored) + " values, " +
                    std::to_string(commandsRestored) + " command ids, " + std::to_string(playsRestored) + " unsent plays"
              : std::string());
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

// A pin that is not a digest pins nothing a partial could become.
Result<std::set<schedule::Digest>> pinnedDigests(Database &db)
{
    auto st = db.prepare("SELECT DISTINCT hex FROM pins");
    if (!st)
        return std::unexpected(st.error());
    std::set<schedule::Digest> out;
    if (auto ok = st->each([&](Statement &row) {
            if (auto digest = schedule::Digest::fromHex(row.columnText(0)))
                out.insert(std::move(*digest));
        });
        !ok)
        return std::unexpected(ok.error());
    return out;
}

Result<void> cleanTemps(Database &db, BlobStore &blobs, RecoveryReport &report)
{
    auto pinned = pinnedDigests(db);
    if (!pinned)
        return std::unexpected(pinned.error());
    // Of several partials for one blob (declared with different sizes by
    // different manifests), only the one with the most bytes is worth keeping.
    std::map<schedule::Digest, fs::path> best;
    std::map<schedule::Digest, std::uint64_t> bestBytes;
    std::vector<fs::path> drop;
    std::error_code ec;
    for (const auto &entry : fs::directory_iterator(blobs.tmpDir(), ec)) {
        const auto partial = BlobStore::parsePartialName(entry.path());
        std::error_code sec;
        const auto size = entry.file_size(sec);
        bool keep = false;
        if (partial && pinned->contains(partial->digest) && !sec && size <= partial->expectedSize) {
            auto present = blobs.contains(partial->digest);
            if (!present)
                return std::unexpected(present.error());
            keep = !*present;
        }
        if (!keep) {
            drop.push_back(entry.path());
            continue;
        }
        auto it = best.find(partial->digest);
        if (it == best.end()) {
            best.emplace(partial->digest, entry.path());
            bestBytes[partial->digest] = size;
        } else if (size > bestBytes[partial->digest]) {
            drop.push_back(it->second);
            it->second = entry.path();
            bestBytes[partial->digest] = size;
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
    // The rows as state.db spells them (not through BlobStore::list(), which
    // leaves out a row that is not a digest): such a row has no file and is
    // dropped below like any other.
    std::map<std::string, std::uint64_t> rows;
    {
        auto st = db.prepare("SELECT hex, size FROM blobs");
        if (!st)
            return std::unexpected(st.error());
        if (auto ok = st->each([&](Statement &row) {
                rows.emplace(row.columnText(0), static_cast<std::uint64_t>(row.columnInt(1)));
            });
            !ok)
            return std::unexpected(ok.error());
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
            auto digest = schedule::Digest::fromHex(name);
            if (!regular || !digest || name.substr(0, 2) != shardName) {
                fs::remove_all(entry.path(), sec);
                ++report.badBlobsRemoved;
                qCWarning(lcCache, "recovery: removed stray %s", entry.path().c_str());
                continue;
            }
            const std::uint64_t size = entry.file_size(sec);
            const auto row = rows.find(name);
            if (row == rows.end()) {
                if (auto ok = blobs.index(BlobInfo{*digest, size}, false); !ok)
                    return ok;
                ++report.orphansIndexed;
            } else if (row->second != size) {
                qCWarning(lcCache, "recovery: blob %s is %llu bytes, index says %llu: removed", name.c_str(),
                          static_cast<unsigned long long>(size), static_cast<unsigned long long>(row->second));
                if (auto ok = blobs.remove(*digest); !ok)
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
        for (const auto &digest : (*active)->assets) {
            auto present = blobs.contains(digest);
            if (!present)
                return std::unexpected(present.error());
            if (!*present)
                ++report.activeAssetsMissing;
        }
    }
    return {};
}

Result<std::set<std::string>> column(Database &db, const char *sql)
{
    auto st = db.prepare(sql);
    if (!st)
        return std::unexpected(st.error());
    std::set<std::string> out;
    if (auto ok = st->each([&](Statement &row) { out.insert(row.columnText(0)); }); !ok)
        return std::unexpected(ok.error());
    return out;
}

Result<void> reconcileValues(Database &db, StateMirror &mirror, RecoveryReport &report)
{
    KeyValue kv(db); // no mirror: this decides which side to write
    for (const char *key : kMirroredMaxKeys) {
        auto m = mirror.readInt(key);
        if (!m) {
            qCWarning(lcCache, "recovery: %s", m.error().message.c_str());
            m = std::optional<std::int64_t>();
        }
        auto d = kv.getInt(key);
        if (!d)
            return std::unexpected(d.error());
        if (*m && (!*d || **m > **d)) {
            if (auto ok = kv.raise(key, **m); !ok)
                return std::unexpected(ok.error());
            ++report.valuesRestored;
            qCWarning(lcCache, "recovery: %s %lld put back from state/ (state.db had %s)", key,
                      static_cast<long long>(**m), *d ? std::to_string(**d).c_str() : "none");
        } else if (*d && (!*m || **d > **m)) {
            if (auto ok = mirror.raiseInt(key, **d); !ok)
                return ok;
        }
    }
    for (const char *key : kMirroredValueKeys) {
        auto m = mirror.readValue(key);
        if (!m)
            return std::unexpected(m.error());
        auto d = kv.get(key);
        if (!d)
            return std::unexpected(d.error());
        if (*m && !*d) {
            if (auto ok = kv.set(key, **m); !ok)
                return ok;
            ++report.valuesRestored;
            qCWarning(lcCache, "recovery: %s put back from state/", key);
        } else if (*d && *d != *m) {
            if (auto ok = mirror.setValue(key, **d); !ok)
                return ok;
        }
    }
    return {};
}

} // namespace

Result<void> reconcileState(Database &db, StateMirror &mirror, PlayLog &plays, RecoveryReport &report)
{
    if (auto ok = reconcileValues(db, mirror, report); !ok)
        return ok;
    // Database first, then the mirror's lock: the order every writer uses.
    auto tx = Transaction::begin(db);
    if (!tx)
        return std::unexpected(tx.error());
    auto held = mirror.lock();
    if (!held)
        return std::unexpected(held.error());

    auto mirroredIds = mirror.commandIds();
    auto dbIds = column(db, "SELECT id FROM commands");
    if (!mirroredIds || !dbIds)
        return std::unexpected(!mirroredIds ? mirroredIds.error() : dbIds.error());
    const std::int64_t now = rowClockMs();
    for (const auto &id : *mirroredIds) {
        if (dbIds->contains(id))
            continue;
        auto st = db.prepare("INSERT INTO commands(id, type, executed_at, result) VALUES(?, 'unknown', ?, "
                             "'restored from state/commands: state.db had lost it') ON CONFLICT(id) DO NOTHING");
        if (!st)
            return std::unexpected(st.error());
        if (auto ok = st->bind(1, id).bind(2, now).run(); !ok)
            return ok;
        ++report.commandsRestored;
    }
    std::vector<std::string> notMirrored;
    std::ranges::set_difference(*dbIds, *mirroredIds, std::back_inserter(notMirrored));
    if (auto ok = mirror.appendCommands(notMirrored); !ok)
        return ok;

    auto spool = mirror.readSpool();
    if (!spool)
        return std::unexpected(spool.error());
    auto dbPlays = column(db, "SELECT id FROM plays");
    if (!dbPlays)
        return std::unexpected(dbPlays.error());
    std::vector<PlayRecord> missing;
    std::set<std::string> spooled;
    for (const auto &r : spool->live) {
        spooled.insert(r.id);
        if (!dbPlays->contains(r.id))
            missing.push_back(r);
    }
    auto added = plays.restore(missing);
    if (!added)
        return std::unexpected(added.error());
    report.playsRestored = static_cast<int>(*added);
    const bool dbAhead = std::ranges::any_of(*dbPlays, [&](const std::string &id) { return !spooled.contains(id); });
    if (spool->deadLines > 0 || dbAhead || *added != static_cast<std::int64_t>(missing.size())) {
        auto all = plays.batch(std::numeric_limits<int>::max());
        if (!all)
            return std::unexpected(all.error());
        if (auto ok = mirror.rewriteSpool(*all); !ok)
            return ok;
        if (auto ok = KeyValue(db).setInt("plays_spool.dead", 0); !ok)
            return ok;
    }
    if (report.commandsRestored || report.playsRestored)
        qCWarning(lcCache, "recovery: put back from state/: %d command ids, %d unsent plays", report.commandsRestored,
                  report.playsRestored);
    return tx->commit();
}

Result<RecoveryReport> recover(Database &db, BlobStore &blobs, ManifestStore &manifests, StateMirror &mirror,
                               PlayLog &plays)
{
    const auto start = std::chrono::steady_clock::now();
    RecoveryReport report;
    if (auto ok = cleanTemps(db, blobs, report); !ok)
        return std::unexpected(ok.error());
    if (auto ok = reconcileBlobs(db, blobs, report); !ok)
        return std::unexpected(ok.error());
    if (auto ok = reconcileManifests(blobs, manifests, report); !ok)
        return std::unexpected(ok.error());
    if (auto ok = reconcileState(db, mirror, plays, report); !ok)
        return std::unexpected(ok.error());
    report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return report;
}

} // namespace stoa::cache
