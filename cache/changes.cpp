#include "cache/changes.h"

#include "cache/kv.h"
#include "cache/logging.h"
#include "cache/store.h"

namespace stoa::cache {

Result<std::unique_ptr<ChangeWatcher>> ChangeWatcher::open(const std::filesystem::path &dataDir,
                                                           std::chrono::milliseconds interval)
{
    std::optional<Database> db;
    if (!Store::fallbackActive(dataDir)) {
        auto opened = Database::open(dataDir / "state.db");
        if (!opened)
            return std::unexpected(opened.error());
        db.emplace(std::move(*opened));
    }
    std::unique_ptr<ChangeWatcher> w(new ChangeWatcher(std::move(db), dataDir, interval));
    w->poll(); // establish the baseline without emitting
    return w;
}

ChangeWatcher::ChangeWatcher(std::optional<Database> db, std::filesystem::path dataDir,
                             std::chrono::milliseconds interval)
    : m_db(std::move(db)), m_dataDir(std::move(dataDir))
{
    m_timer.setInterval(interval);
    connect(&m_timer, &QTimer::timeout, this, [this] { poll(); });
    m_timer.start();
}

bool ChangeWatcher::poll()
{
    if (!m_db) {
        if (Store::fallbackActive(m_dataDir))
            return false;
        auto opened = Database::open(m_dataDir / "state.db");
        if (!opened) {
            qCWarning(lcCache, "change watch: %s", opened.error().message.c_str());
            return false;
        }
        m_db.emplace(std::move(*opened));
        auto v = m_db->dataVersion();
        m_dataVersion = v ? *v : -1;
        auto gen = KeyValue(*m_db).getInt("active_generation");
        m_generation = gen && *gen ? **gen : 0;
        emit changed();
        emit activeManifestChanged(m_generation);
        return true;
    }
    auto v = m_db->dataVersion();
    if (!v) {
        qCWarning(lcCache, "change watch: %s", v.error().message.c_str());
        return false;
    }
    const bool first = m_dataVersion < 0;
    if (*v == m_dataVersion)
        return false;
    m_dataVersion = *v;
    auto gen = KeyValue(*m_db).getInt("active_generation");
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
