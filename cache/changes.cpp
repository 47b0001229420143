#include "cache/changes.h"

#include "cache/kv.h"
#include "cache/logging.h"

namespace stoa::cache {

Result<std::unique_ptr<ChangeWatcher>> ChangeWatcher::open(const std::filesystem::path &dataDir,
                                                           std::chrono::milliseconds interval)
{
    auto db = Database::open(dataDir / "state.db");
    if (!db)
        return std::unexpected(db.error());
    std::unique_ptr<ChangeWatcher> w(new ChangeWatcher(std::move(*db), interval));
    w->poll(); // establish the baseline without emitting
    return w;
}

ChangeWatcher::ChangeWatcher(Database db, std::chrono::milliseconds interval) : m_db(std::move(db))
{
    m_timer.setInterval(interval);
    connect(&m_timer, &QTimer::timeout, this, [this] { poll(); });
    m_timer.start();
}

bool ChangeWatcher::poll()
{
    auto v = m_db.dataVersion();
    if (!v) {
        qCWarning(lcCache, "change watch: %s", v.error().message.c_str());
        return false;
    }
    const bool first = m_dataVersion < 0;
    if (*v == m_dataVersion)
        return false;
    m_dataVersion = *v;
    auto gen = KeyValue(m_db).getInt("active_generation");
    const std::int64_t g = gen && *gen ? **gen : m_generation;
    const bool newManifest = g != m_generation;
    m_generation = g;
    if (first)
        return false;
    emit changed();
    if (newManifest)
        emit activeManifestChanged(g);
    return true;
}

} // namespace stoa::cache
