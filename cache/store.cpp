#include "cache/store.h"

#include "cache/logging.h"

#include <QDateTime>

#include <cerrno>
#include <cstdlib>
#include <fcntl.h>
#include <mutex>
#include <set>
#include <sys/file.h>
#include <unistd.h>

namespace stoa::cache {

namespace fs = std::filesystem;

namespace {

// Moves state.db and its WAL/SHM aside into corrupt/, returns the new name.
Result<std::string> moveAside(const fs::path &dataDir)
{
    const fs::path dir = dataDir / "corrupt";
    if (auto ok = ensureDirectory(dir); !ok)
        return std::unexpected(ok.error());
    const std::string stamp = QDateTime::currentDateTimeUtc().toString("yyyyMMdd'T'HHmmss'Z'").toStdString() +
                              "-" + std::to_string(::getpid());
    const fs::path target = dir / ("state.db." + stamp);
    for (const char *suffix : {"", "-wal", "-shm"}) {
        const fs::path from = dataDir / (std::string("state.db") + suffix);
        const fs::path to = fs::path(target.string() + suffix);
        if (::rename(from.c_str(), to.c_str()) != 0 && errno != ENOENT)
            return std::unexpected(osError("move " + from.string() + " aside", errno));
    }
    if (auto ok = fsyncDirectory(dataDir); !ok)
        return std::unexpected(ok.error());
    return target.string();
}

// Opens state.db; when `mayRebuild`, a corrupt one is moved aside and replaced.
Result<Database> openDatabase(const fs::path &dataDir, bool mayRebuild, RecoveryReport &report)
{
    const fs::path file = dataDir / "state.db";
    auto db = Database::open(file);
    std::string problem;
    if (!db) {
        if (db.error().code != ErrorCode::Corrupt)
            return db;
        problem = db.error().message;
    } else if (mayRebuild) {
        auto check = db->integrityCheck();
        if (check && *check == "ok")
            return db;
        problem = check ? "integrity_check: " + *check : check.error().message;
    } else {
        return db;
    }
    if (!mayRebuild)
        return fail(ErrorCode::Corrupt, "state.db is corrupt (" + problem +
                                            ") and another process has the store open; not rebuilding under it");
    qCCritical(lcCache, "state.db is corrupt (%s): moving it aside and rebuilding from disk", problem.c_str());
    db = std::unexpected(Error{}); // close our handle before moving the file
    auto moved = moveAside(dataDir);
    if (!moved)
        return std::unexpected(moved.error());
    report.databaseRebuilt = true;
    report.databaseMovedTo = *moved;
    return Database::open(file);
}

// Data directories on which a Store of this process is a fallback.
std::mutex g_fallbackMutex;
std::set<std::string> g_fallbackDirs;

std::string registryKey(const fs::path &dataDir)
{
    std::error_code ec;
    const fs::path canon = fs::weakly_canonical(dataDir, ec);
    return (ec ? dataDir : canon).string();
}

void setFallback(const fs::path &dataDir, bool on)
{
    std::lock_guard lock(g_fallbackMutex);
    if (on)
        g_fallbackDirs.insert(registryKey(dataDir));
    else
        g_fallbackDirs.erase(registryKey(dataDir));
}

// The fallback's private database: the blobs on disk (unverified, as
// recovery indexes orphans), the mirrored manifest and floor, the mirrored
// kv values. Reads only the real data directory, never writes it.
Result<void> fillFallback(Database &db, BlobStore &blobs, ManifestStore &manifests, StateMirror &mirror)
{
    {
        auto tx = Transaction::begin(db);
        if (!tx)
            return std::unexpected(tx.error());
        std::error_code ec;
        for (const auto &shard : fs::directory_iterator(blobs.blobsRoot(), ec)) {
            std::error_code dec;
            for (const auto &entry : fs::directory_iterator(shard.path(), dec)) {
                const std::string name = entry.path().filename().string();
                std::error_code sec;
                const auto size = entry.file_size(sec);
                auto digest = schedule::Digest::fromHex(name);
                if (sec || !entry.is_regular_file(sec) || !digest ||
                    name.substr(0, 2) != shard.path().filename().string())
                    continue;
                if (auto ok = blobs.index(BlobInfo{std::move(*digest), size}, false); !ok)
                    return ok;
            }
        }
        if (auto ok = tx->commit(); !ok)
            return ok;
    }
    auto active = ManifestStore::readMirror(blobs.dataDir());
    auto floor = ManifestStore::readMirroredFloor(blobs.dataDir());
    if (!active || !floor)
        qCWarning(lcCache, "fallback: %s", (!active ? active.error() : floor.error()).message.c_str());
    if (auto ok = manifests.restore(active ? *active : std::nullopt, floor ? *floor : FloorRecord{}); !ok)
        return ok;
    KeyValue kv(db);
    for (const char *key : kMirroredMaxKeys)
        if (auto v = mirror.readInt(key); v && *v)
            if (auto ok = kv.setInt(key, **v); !ok)
                return ok;
    for (const char *key : kMirroredValueKeys)
        if (auto v = mirror.readValue(key); v && *v)
            if (auto ok = kv.set(key, **v); !ok)
                return ok;
    // No real generation is negative: the store adopted later always reads
    // as a new activation, so the player re-reads what the agent has. Not
    // -1 either: that is what Playback holds before its first read, so the
    // mirrored manifest was never loaded and the player showed the idle
    // screen until the store was attached (tst_state_player, issue 15).
    return kv.setInt("active_generation", -2);
}

} // namespace

Store::Store(StoreOptions options, UniqueFd lock, Database db)
    : m_options(std::move(options)), m_lock(std::move(lock)), m_db(std::move(db)), m_mirror(m_options.dataDir),
      m_blobs(m_options.dataDir, m_db), m_space(m_blobs, m_options.limits), m_manifests(m_options.dataDir, m_db),
      m_kv(m_db, &m_mirror), m_plays(m_db, m_options.maxPlayRecords, &m_mirror), m_commands(m_db, &m_mirror)
{
}

Store::~Store()
{
    if (isFallback()) {
        setFallback(m_options.dataDir, false);
        std::error_code ec;
        fs::remove_all(m_fallbackDir, ec);
    }
}

bool Store::fallbackActive(const fs::path &dataDir)
{
    std::lock_guard lock(g_fallbackMutex);
    return g_fallbackDirs.contains(registryKey(dataDir));
}

Result<std::unique_ptr<Store>> Store::openFallback(const StoreOptions &options, UniqueFd lock)
{
    std::string pattern = (fs::temp_directory_path() / "stoa-fallback-XXXXXX").string();
    if (!::mkdtemp(pattern.data()))
        return std::unexpected(osError("mkdtemp " + pattern, errno));
    const fs::path dir = pattern;
    auto db = Database::open(dir / "state.db");
    if (!db) {
        std::error_code ec;
        fs::remove_all(dir, ec);
        return std::unexpected(db.error());
    }
    std::unique_ptr<Store> store(new Store(options, std::move(lock), std::move(*db)));
    store->m_fallbackDir = dir; // from here on the destructor removes it
    if (auto ok = fillFallback(store->m_db, store->m_blobs, store->m_manifests, store->m_mirror); !ok)
        return std::unexpected(ok.error());
    setFallback(options.dataDir, true);
    auto active = store->m_manifests.get(Slot::Active);
    qCWarning(lcCache, "store.lock is held exclusively (another process is recovering the store): playing from the "
                       "mirror meanwhile (active manifest %s, private database in %s)",
              active && *active ? std::to_string((*active)->version).c_str() : "none", dir.c_str());
    return store;
}

Result<void> Store::adopt(Store &&real)
{
    if (!isFallback())
        return fail(ErrorCode::InvalidArgument, "adopt: this store is not a fallback");
    m_lock = std::move(real.m_lock);
    m_db = std::move(real.m_db);
    m_report = real.m_report;
    setFallback(m_options.dataDir, false);
    std::error_code ec;
    fs::remove_all(m_fallbackDir, ec);
    m_fallbackDir.clear();
    // Plays spooled by this process after `real`'s recovery read the spool.
    RecoveryReport late;
    if (auto ok = reconcileState(m_db, m_mirror, m_plays, late); !ok)
        return ok;
    m_report.playsRestored += late.playsRestored;
    qCInfo(lcCache, "store attached after the fallback (%d plays recorded meanwhile put back)",
           m_report.playsRestored);
    return {};
}

Result<std::unique_ptr<Store>> Store::open(const StoreOptions &options)
{
    const fs::path &dir = options.dataDir;
    for (const fs::path &sub : {dir, dir / "blobs" / "sha256", dir / "tmp", dir / "manifests", dir / "state" / "kv"})
        if (auto ok = ensureDirectory(sub); !ok)
            return std::unexpected(ok.error());

    const fs::path lockPath = dir / "store.lock";
    UniqueFd lock(::open(lockPath.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
    if (!lock.valid())
        return std::unexpected(osError("open " + lockPath.string(), errno));
    const bool exclusive = ::flock(lock.get(), LOCK_EX | LOCK_NB) == 0;
    if (!exclusive && options.whenBusy == WhenBusy::Wait) {
        while (::flock(lock.get(), LOCK_SH) != 0)
            if (errno != EINTR)
                return std::unexpected(osError("lock " + lockPath.string(), errno));
    } else if (!exclusive && ::flock(lock.get(), LOCK_SH | LOCK_NB) != 0) {
        if (errno != EWOULDBLOCK)
            return std::unexpected(osError("lock " + lockPath.string(), errno));
        if (options.whenBusy == WhenBusy::Fail)
            return fail(ErrorCode::Busy, "store.lock is held exclusively: another process is recovering the store");
        return openFallback(options, std::move(lock));
    }

    RecoveryReport report;
    auto db = openDatabase(dir, exclusive, report);
    if (!db)
        return std::unexpected(db.error());

    std::unique_ptr<Store> store(new Store(options, std::move(lock), std::move(*db)));
    auto recovered = recover(store->m_db, store->m_blobs, store->m_manifests, store->m_mirror, store->m_plays);
    if (!recovered)
        return std::unexpected(recovered.error());
    recovered->databaseRebuilt = report.databaseRebuilt;
    recovered->databaseMovedTo = report.databaseMovedTo;
    store->m_report = *recovered;
    if (exclusive && ::flock(store->m_lock.get(), LOCK_SH) != 0)
        return std::unexpected(osError("downgrade lock " + lockPath.string(), errno));

    if (report.databaseRebuilt)
        qCCritical(lcCache, "%s", store->m_report.summary().c_str());
    else
        qCInfo(lcCache, "%s", store->m_report.summary().c_str());
    return store;
}

} // namespace stoa::cache
