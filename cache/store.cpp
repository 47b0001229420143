#include "cache/store.h"

#include "cache/logging.h"

#include <QDateTime>

#include <cerrno>
#include <fcntl.h>
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

} // namespace

Store::Store(StoreOptions options, UniqueFd lock, Database db)
    : m_options(std::move(options)), m_lock(std::move(lock)), m_db(std::move(db)),
      m_blobs(m_options.dataDir, m_db), m_space(m_blobs, m_options.limits), m_manifests(m_options.dataDir, m_db),
      m_kv(m_db), m_plays(m_db, m_options.maxPlayRecords), m_commands(m_db)
{
}

Store::~Store() = default;

Result<std::unique_ptr<Store>> Store::open(const StoreOptions &options)
{
    const fs::path &dir = options.dataDir;
    for (const fs::path &sub : {dir, dir / "blobs" / "sha256", dir / "tmp", dir / "manifests"})
        if (auto ok = ensureDirectory(sub); !ok)
            return std::unexpected(ok.error());

    const fs::path lockPath = dir / "store.lock";
    UniqueFd lock(::open(lockPath.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
    if (!lock.valid())
        return std::unexpected(osError("open " + lockPath.string(), errno));
    const bool exclusive = ::flock(lock.get(), LOCK_EX | LOCK_NB) == 0;
    if (!exclusive && ::flock(lock.get(), LOCK_SH) != 0)
        return std::unexpected(osError("lock " + lockPath.string(), errno));

    RecoveryReport report;
    auto db = openDatabase(dir, exclusive, report);
    if (!db)
        return std::unexpected(db.error());

    std::unique_ptr<Store> store(new Store(options, std::move(lock), std::move(*db)));
    auto recovered = recover(store->m_db, store->m_blobs, store->m_manifests);
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
