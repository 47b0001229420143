#include "cache/playlog.h"

#include "cache/kv.h"
#include "cache/logging.h"

#include <sqlite3.h>

namespace stoa::cache {

namespace {
constexpr const char *kDroppedKey = "plays_dropped";
}

Result<std::int64_t> PlayLog::append(const PlayRecord &r)
{
    auto tx = Transaction::begin(m_db);
    if (!tx)
        return std::unexpected(tx.error());
    auto ins = m_db.prepare("INSERT INTO plays(id, asset, url, playlist, started_at, duration_ms, completed, reason, layout, region) "
                            "VALUES(?,?,?,?,?,?,?,?,?,?) ON CONFLICT(id) DO NOTHING");
    if (!ins)
        return std::unexpected(ins.error());
    ins->bind(1, r.id).bind(2, r.asset).bind(3, r.url).bind(4, r.playlist).bind(5, r.startedAt);
    ins->bind(6, r.durationMs).bind(7, std::int64_t{r.completed ? 1 : 0}).bind(8, r.reason);
    ins->bind(9, r.layout).bind(10, r.region);
    if (auto ok = ins->run(); !ok)
        return std::unexpected(ok.error());
    std::int64_t seq = sqlite3_last_insert_rowid(m_db.handle());
    if (sqlite3_changes(m_db.handle()) == 0) { // the id was logged before: report that record
        auto existing = m_db.prepare("SELECT seq FROM plays WHERE id = ?");
        if (!existing)
            return std::unexpected(existing.error());
        auto s = existing->bind(1, r.id).step();
        if (!s)
            return std::unexpected(s.error());
        seq = existing->columnInt(0);
    }

    auto over = m_db.prepare("SELECT COUNT(*) - ? FROM plays");
    if (!over)
        return std::unexpected(over.error());
    if (auto s = over->bind(1, m_max).step(); !s)
        return std::unexpected(s.error());
    const std::int64_t excess = over->columnInt(0);
    over->reset();
    if (excess > 0) {
        auto drop = m_db.prepare("DELETE FROM plays WHERE seq IN (SELECT seq FROM plays ORDER BY seq LIMIT ?)");
        if (!drop)
            return std::unexpected(drop.error());
        if (auto ok = drop->bind(1, excess).run(); !ok)
            return std::unexpected(ok.error());
        if (auto ok = KeyValue(m_db).add(kDroppedKey, excess); !ok)
            return std::unexpected(ok.error());
        qCWarning(lcCache, "play log full (%lld records): dropped the %lld oldest", static_cast<long long>(m_max),
                  static_cast<long long>(excess));
    }
    if (auto ok = tx->commit(); !ok)
        return std::unexpected(ok.error());
    return seq;
}

Result<std::vector<PlayRecord>> PlayLog::batch(int limit)
{
    auto st = m_db.prepare("SELECT seq, id, asset, url, playlist, started_at, duration_ms, completed, reason, layout, region "
                           "FROM plays ORDER BY seq LIMIT ?");
    if (!st)
        return std::unexpected(st.error());
    st->bind(1, std::int64_t{limit});
    std::vector<PlayRecord> out;
    auto ok = st->each([&](Statement &row) {
        PlayRecord r;
        r.seq = row.columnInt(0);
        r.id = row.columnText(1);
        if (!row.columnIsNull(2))
            r.asset = row.columnText(2);
        if (!row.columnIsNull(3))
            r.url = row.columnText(3);
        r.playlist = row.columnText(4);
        r.startedAt = row.columnText(5);
        r.durationMs = row.columnInt(6);
        r.completed = row.columnInt(7) != 0;
        if (!row.columnIsNull(8))
            r.reason = row.columnText(8);
        if (!row.columnIsNull(9))
            r.layout = row.columnText(9);
        if (!row.columnIsNull(10))
            r.region = row.columnText(10);
        out.push_back(std::move(r));
    });
    if (!ok)
        return std::unexpected(ok.error());
    return out;
}

Result<void> PlayLog::acknowledge(std::int64_t upToSeq)
{
    auto st = m_db.prepare("DELETE FROM plays WHERE seq <= ?");
    if (!st)
        return std::unexpected(st.error());
    return st->bind(1, upToSeq).run();
}

Result<std::int64_t> PlayLog::count() { return m_db.queryInt("SELECT COUNT(*) FROM plays"); }

Result<std::int64_t> PlayLog::dropped()
{
    auto v = KeyValue(m_db).getInt(kDroppedKey);
    if (!v)
        return std::unexpected(v.error());
    return v->value_or(0);
}

} // namespace stoa::cache
