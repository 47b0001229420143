// player/store_writer.cpp — the player's store writes off the GUI thread
// (see store_writer.h for the guarantees).
#include "player/store_writer.h"

#include "cache/store.h"
#include "player/logging.h"

#include <algorithm>
#include <utility>

namespace stoa::player {

StoreWriter::StoreWriter(Options options)
    : m_options(std::move(options)), m_mirror(m_options.dataDir), m_thread([this] { run(); })
{
}

StoreWriter::~StoreWriter()
{
    const auto started = std::chrono::steady_clock::now();
    const bool drained = drain(m_options.shutdownDeadline);
    std::size_t left = 0;
    {
        std::lock_guard lock(m_mutex);
        left = m_queuedPlays;
        m_queue.clear();
        m_queuedPlays = 0;
        m_queuedUses = 0;
        m_stopping = true;
    }
    m_wake.notify_all();
    if (!drained)
        qCWarning(lcPlayer, "store writer: the disk did not take the queue within %lld ms: %zu play records lost",
                  static_cast<long long>(m_options.shutdownDeadline.count()), left);
    m_thread.join(); // the write in progress, if any, finishes
    qCInfo(lcPlayer, "store writer stopped after %lld ms: %lld written, %lld failed, %lld refused (queue full)",
           static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                      std::chrono::steady_clock::now() - started)
                                      .count()),
           static_cast<long long>(m_written.load()), static_cast<long long>(m_failures.load()),
           static_cast<long long>(m_droppedFull.load()));
}

bool StoreWriter::play(cache::PlayRecord record)
{
    {
        std::lock_guard lock(m_mutex);
        if (m_queuedPlays >= kMaxQueuedPlays) {
            if (m_droppedFull.fetch_add(1) % 1000 == 0)
                qCCritical(lcPlayer, "store writer: %zu play records wait for the disk: %s is lost (%lld so far)",
                           m_queuedPlays, record.id.c_str(), static_cast<long long>(m_droppedFull.load()));
            return false;
        }
        m_queue.emplace_back(std::move(record));
        ++m_queuedPlays;
    }
    m_wake.notify_one();
    return true;
}

void StoreWriter::nowPlaying(std::string json, std::string syncState)
{
    {
        std::lock_guard lock(m_mutex);
        if (!m_queue.empty() && std::holds_alternative<NowPlaying>(m_queue.back()))
            std::get<NowPlaying>(m_queue.back()) = {std::move(json), std::move(syncState)}; // only the last one matters
        else
            m_queue.emplace_back(NowPlaying{std::move(json), std::move(syncState)});
    }
    m_wake.notify_one();
}

void StoreWriter::blobUsed(schedule::Digest digest)
{
    {
        std::lock_guard lock(m_mutex);
        if (m_queuedUses >= kMaxQueuedPlays)
            return;
        m_queue.emplace_back(BlobUsed{std::move(digest)});
        ++m_queuedUses;
    }
    m_wake.notify_one();
}

bool StoreWriter::drain(std::chrono::milliseconds deadline)
{
    std::unique_lock lock(m_mutex);
    return m_idle.wait_for(lock, deadline, [this] { return m_queue.empty() && !m_busy; });
}

void StoreWriter::run()
{
    std::unique_lock lock(m_mutex);
    for (;;) {
        if (m_queue.empty()) {
            if (m_stopping)
                return;
            if (holdingForAttach()) {
                // Kept fallback writes go to state.db as soon as it is
                // attached, not at the next switch.
                m_wake.wait_for(lock, m_options.attachPoll);
                if (m_queue.empty() && !m_stopping) {
                    lock.unlock();
                    (void)attached();
                    lock.lock();
                }
            } else {
                m_wake.wait(lock, [this] { return m_stopping || !m_queue.empty(); });
            }
            continue;
        }
        Op op = std::move(m_queue.front());
        m_queue.pop_front();
        if (std::holds_alternative<cache::PlayRecord>(op))
            --m_queuedPlays;
        else if (std::holds_alternative<BlobUsed>(op))
            --m_queuedUses;
        m_busy = true;
        lock.unlock();
        perform(op);
        lock.lock();
        m_busy = false;
        if (m_queue.empty())
            m_idle.notify_all();
    }
}

void StoreWriter::perform(Op &op)
{
    if (auto *r = std::get_if<cache::PlayRecord>(&op)) {
        writePlay(*r);
    } else if (auto *np = std::get_if<NowPlaying>(&op)) {
        writeNowPlaying(*np);
    } else if (attached()) {
        const schedule::Digest &digest = std::get<BlobUsed>(op).digest;
        if (auto ok = m_blobs->touch(digest); !ok)
            qCDebug(lcPlayer, "cannot touch %s: %s", digest.hex().c_str(), ok.error().message.c_str());
    }
}

bool StoreWriter::attached()
{
    if (m_plays)
        return true;
    if (cache::Store::fallbackActive(m_options.dataDir))
        return false;
    auto db = cache::Database::open(m_options.dataDir / "state.db");
    if (!db) {
        if (!std::exchange(m_openFailedLogged, true))
            qCWarning(lcPlayer, "store writer: cannot open state.db (plays go to the spool only meanwhile): %s",
                      db.error().message.c_str());
        return false;
    }
    m_db.emplace(std::move(*db));
    m_plays.emplace(*m_db, m_options.maxPlayRecords, &m_mirror);
    m_kv.emplace(*m_db);
    m_blobs.emplace(m_options.dataDir, *m_db);
    if (!m_keptPlays.empty()) {
        if (auto added = m_plays->restore(m_keptPlays); added) {
            qCInfo(lcPlayer, "store writer: %zu plays recorded during the fallback are in state.db (%lld new)",
                   m_keptPlays.size(), static_cast<long long>(*added));
            m_keptPlays.clear();
        } else {
            // They are in the spool: the next open of the store puts them back.
            ++m_failures;
            qCWarning(lcPlayer, "store writer: %zu plays of the fallback stay in the spool only: %s",
                      m_keptPlays.size(), added.error().message.c_str());
            m_keptPlays.clear();
        }
    }
    if (auto np = std::exchange(m_keptNowPlaying, std::nullopt))
        writeNowPlaying(*np);
    return true;
}

void StoreWriter::writePlay(const cache::PlayRecord &r)
{
    if (attached()) {
        auto ok = m_plays->append(r); // spool (fdatasync) inside the transaction, then the commit
        if (ok) {
            ++m_written;
            return;
        }
        ++m_failures;
        // A database that refused (busy past its timeout, full, damaged):
        // the spool alone still brings the play back at the next open.
        auto spooled = m_mirror.spoolPlay(r);
        qCWarning(lcPlayer, "cannot record a play of %s: %s%s", r.asset.value_or(r.url.value_or("?")).c_str(),
                  ok.error().message.c_str(), spooled ? " (it is in the spool)" : "; nor spool it: it is lost");
        return;
    }
    // The fallback: state.db is the agent's while it rebuilds.
    if (auto ok = m_mirror.spoolPlay(r); ok) {
        ++m_written;
    } else {
        ++m_failures;
        qCWarning(lcPlayer, "cannot spool a play of %s during the fallback (kept in memory until the store is "
                            "attached): %s",
                  r.asset.value_or(r.url.value_or("?")).c_str(), ok.error().message.c_str());
    }
    // Bounded as the play log: the oldest are in the spool anyway.
    if (m_keptPlays.size() >= std::size_t(std::max<std::int64_t>(1, m_options.maxPlayRecords)))
        m_keptPlays.erase(m_keptPlays.begin());
    m_keptPlays.push_back(r);
}

void StoreWriter::writeNowPlaying(const NowPlaying &np)
{
    if (!attached()) {
        m_keptNowPlaying = np;
        return;
    }
    auto ok = m_kv->set(kNowPlayingKey, np.json);
    if (ok)
        ok = np.syncState.empty() ? m_kv->remove(kSyncStateKey) : m_kv->set(kSyncStateKey, np.syncState);
    if (ok) {
        ++m_written;
    } else {
        ++m_failures;
        qCWarning(lcPlayer, "cannot write now-playing: %s", ok.error().message.c_str());
    }
}

} // namespace stoa::player
