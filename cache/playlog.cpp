#include "cache/playlog.h"

#include "cache/kv.h"
#include "cache/logging.h"
#include "cache/state_mirror.h"

#include <sqlite3.h>

#include <algorithm>
#include <optional>

namespace stoa::cache {

namespace {
constexpr const char *kDroppedKey = "plays_dropped";
// Dead lines (acknowledged or dropped ids) appended to the spool since its
// last compaction; lost with a rebuilt database, which compacts anyway.
constexpr const char *kSpoolDeadKey = "plays_spool.dead";
constexpr std::int64_t kSpoolCompactFloor = 1024;

Result<bool> insert(Database &db, const PlayRecord &r)
{
    auto ins = db.prepare("INSERT INTO plays(id, asset, url, playlist, started_at, duration_ms, completed, reason, layout, region) "
                          "VALUES(?,?,?,?,?,?,?,?,?,?) ON CONFLICT(id) DO NOTHING");
    if (!ins)
        return std::unexpected(ins.error());
    ins->bind(1, r.id).bind(2, r.asset).bind(3, r.url).bind(4, r.playlist).bind(5, r.startedAt);
    ins->bind(6, r.durationMs).bind(7, std::int64_t{r.completed ? 1 : 0}).bind(8, r.reason);
    ins->bind(9, r.layout).bind(10, r.region);
    if (auto ok = ins->run(); !ok)
        return std::unexpected(ok.error());
    return sqlite3_changes(db.handle()) > 0;
}

// The ids of records with seq in the statement's result, in order.
Result<std::vector<std::string>> ids(Database &db, const char *sql, std::int64_t arg)
{
    auto st = db.prepare(sql);
    if (!st)
        return std::unexpected(st.error());
    st->bind(1, arg);
    std::vector<std::string> out;
    if (auto ok = st->each([&](Statement &row) { out.push_back(row.columnText(0)); }); !ok)
        return std::unexpected(ok.error());
    return out;
}
} // namespace

Result<std::int64_t> PlayLog::enforceCap()
{
    auto over = m_db.prepare("SELECT COUNT(*) - ? FROM plays");
    if (!over)
        return std::unexpected(over.error());
    if (auto s = over->bind(1, m_max).step(); !s)
        return std::unexpected(s.error());
    const std::int64_t excess = over->columnInt(0);
    over->reset();
    if (excess <= 0)
        return 0;
    if (m_mirror) {
        auto gone = ids(m_db, "SELECT id FROM plays ORDER BY seq LIMIT ?", excess);
        if (!gone)
            return std::unexpected(gone.error());
        if (auto ok = m_mirror->spoolAck(*gone); !ok)
            qCWarning(lcCache, "play spool: cannot note %lld dropped records: %s", static_cast<long long>(excess),
                      ok.error().message.c_str());
        else if (auto n = KeyValue(m_db).add(kSpoolDeadKey, excess); !n)
            return std::unexpected(n.error());
    }
    auto drop = m_db.prepare("DELETE FROM plays WHERE seq IN (SELECT seq FROM plays ORDER BY seq LIMIT ?)");
    if (!drop)
        return std::unexpected(drop.error());
    if (auto ok = drop->bind(1, excess).run(); !ok)
        return std::unexpected(ok.error());
    if (auto ok = KeyValue(m_db).add(kDroppedKey, excess); !ok)
        return std::unexpected(ok.error());
    qCWarning(lcCache, "play log full (%lld records): dropped the %lld oldest", static_cast<long long>(m_max),
              static_cast<long long>(excess));
    return excess;
}

Result<std::int64_t> PlayLog::append(const PlayRecord &r)
{
    auto tx = Transaction::begin(m_db);
    if (!tx)
        return std::unexpected(tx.error());
    auto fresh = insert(m_db, r);
    if (!fresh)
        return std::unexpected(fresh.error());
    std::int64_t seq = sqlite3_last_insert_rowid(m_db.handle());
    if (!*fresh) { // the id was logged before: report that record
        auto existing = m_db.prepare("SELECT seq FROM plays WHERE id = ?");
        if (!existing)
            return std::unexpected(existing.error());
        auto s = existing->bind(1, r.id).step();
        if (!s)
            return std::unexpected(s.error());
        seq = existing->columnInt(0);
    } else if (m_mirror) {
        // Before the commit: a committed record is always in the spool too.
        if (auto ok = m_mirror->spoolPlay(r); !ok)
            qCWarning(lcCache, "play spool: record %s is only in state.db: %s", r.id.c_str(),
                      ok.error().message.c_str());
    }
    if (auto ok = enforceCap(); !ok)
        return std::unexpected(ok.error());
    if (auto ok = tx->commit(); !ok)
        return std::unexpected(ok.error());
    return seq;
}

Result<std::int64_t> PlayLog::restore(const std::vector<PlayRecord> &records)
{
    if (records.empty())
        return 0;
    std::optional<Transaction> tx; // recovery calls this inside its own
    if (sqlite3_get_autocommit(m_db.handle())) {
        auto begun = Transaction::begin(m_db);
        if (!begun)
            return std::unexpected(begun.error());
        tx.emplace(std::move(*begun));
    }
    std::int64_t added = 0;
    for (const auto &r : records) {
        auto fresh = insert(m_db, r);
        if (!fresh)
            return std::unexpected(fresh.error());
        added += *fresh ? 1 : 0;
    }
    if (auto ok = enforceCap(); !ok)
        return std::unexpected(ok.error());
    if (tx)
        if (auto ok = tx->commit(); !ok)
            return std::unexpected(ok.error());
    return added;
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
    if (!m_mirror) {
        auto st = m_db.prepare("DELETE FROM plays WHERE seq <= ?");
        if (!st)
            return std::unexpected(st.error());
        return st->bind(1, upToSeq).run();
    }
    {
        auto tx = Transaction::begin(m_db);
        if (!tx)
            return std::unexpected(tx.error());
        auto gone = ids(m_db, "SELECT id FROM plays WHERE seq <= ? ORDER BY seq", upToSeq);
        if (!gone)
            return std::unexpected(gone.error());
        // A failed ack line only means these may be sent again after a
        // rebuild (the server de-duplicates by id): never a reason to keep them.
        if (auto ok = m_mirror->spoolAck(*gone); !ok)
            qCWarning(lcCache, "play spool: cannot note %zu acknowledged records: %s", gone->size(),
                      ok.error().message.c_str());
        else if (auto n = KeyValue(m_db).add(kSpoolDeadKey, std::int64_t(gone->size()) + 1); !n)
            return std::unexpected(n.error());
        auto st = m_db.prepare("DELETE FROM plays WHERE seq <= ?");
        if (!st)
            return std::unexpected(st.error());
        if (auto ok = st->bind(1, upToSeq).run(); !ok)
            return ok;
        if (auto ok = tx->commit(); !ok)
            return ok;
    }
    compactSpoolIfDue();
    return {};
}

void PlayLog::compactSpoolIfDue()
{
    // Outside the database transaction: the player's next record waits on
    // the spool's lock only, not on the database too. And no database write
    // while the spool's lock is held: every other writer takes the database
    // first and the spool's lock inside (append, acknowledge, recovery), so
    // a write here would wait on a writer waiting on us — up to the busy
    // timeout (10 s), after which the reset below failed and every later
    // acknowledgement compacted the whole spool again (issue 15).
    auto dead = KeyValue(m_db).getInt(kSpoolDeadKey);
    auto live = count();
    if (!dead || !live || dead->value_or(0) <= std::max(*live, kSpoolCompactFloor))
        return;
    {
        auto held = m_mirror->lock();
        if (!held)
            return;
        auto spool = m_mirror->readSpool();
        if (!spool) {
            qCWarning(lcCache, "play spool: cannot read it to compact: %s", spool.error().message.c_str());
            return;
        }
        if (auto ok = m_mirror->rewriteSpool(spool->live); !ok) {
            qCWarning(lcCache, "play spool: cannot compact: %s", ok.error().message.c_str());
            return;
        }
    }
    // Dead lines an acknowledgement of another connection added in between
    // are forgotten: they only wait for the next compaction.
    if (auto ok = KeyValue(m_db).setInt(kSpoolDeadKey, 0); !ok)
        qCWarning(lcCache, "play spool: compacted, but cannot reset its count: %s", ok.error().message.c_str());
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
