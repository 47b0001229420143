#include "cache/commands.h"

#include "cache/row_clock.h"
#include "cache/state_mirror.h"

#include <sqlite3.h>

#include <optional>


namespace stoa::cache {

Result<bool> CommandLog::wasExecuted(const std::string &id)
{
    auto st = m_db.prepare("SELECT 1 FROM commands WHERE id = ?");
    if (!st)
        return std::unexpected(st.error());
    auto s = st->bind(1, id).step();
    if (!s)
        return std::unexpected(s.error());
    return *s == Statement::Step::Row;
}

Result<bool> CommandLog::markExecuted(const std::string &id, const std::string &type, const std::string &result)
{
    // Our own transaction unless the caller has one (handToPlayer): the
    // mirror append must happen before the id's commit, never after.
    std::optional<Transaction> own;
    if (m_mirror && sqlite3_get_autocommit(m_db.handle())) {
        auto tx = Transaction::begin(m_db);
        if (!tx)
            return std::unexpected(tx.error());
        own.emplace(std::move(*tx));
    }
    auto st = m_db.prepare("INSERT INTO commands(id, type, executed_at, result) VALUES(?,?,?,?) "
                           "ON CONFLICT(id) DO NOTHING");
    if (!st)
        return std::unexpected(st.error());
    const std::int64_t now = rowClockMs();
    if (auto ok = st->bind(1, id).bind(2, type).bind(3, now).bind(4, result).run(); !ok)
        return std::unexpected(ok.error());
    const bool fresh = sqlite3_changes(m_db.handle()) > 0;
    if (fresh && m_mirror)
        if (auto ok = m_mirror->appendCommands({id}); !ok)
            return std::unexpected(Error{ok.error().code, "cannot mirror command id " + id + ": " + ok.error().message});
    if (own)
        if (auto ok = own->commit(); !ok)
            return std::unexpected(ok.error());
    return fresh;
}

Result<bool> CommandLog::handToPlayer(const std::string &id, const std::string &type)
{
    auto tx = Transaction::begin(m_db);
    if (!tx)
        return std::unexpected(tx.error());
    auto fresh = markExecuted(id, type, "handed to the player");
    if (!fresh || !*fresh)
        return fresh;
    auto st = m_db.prepare("INSERT INTO handover(id, type, state, created_at) VALUES(?, ?, 'pending', ?)");
    if (!st)
        return std::unexpected(st.error());
    const std::int64_t now = rowClockMs();
    if (auto ok = st->bind(1, id).bind(2, type).bind(3, now).run(); !ok)
        return std::unexpected(ok.error());
    if (auto ok = tx->commit(); !ok)
        return std::unexpected(ok.error());
    return true;
}

Result<std::vector<CommandLog::Handover>> CommandLog::handovers(const std::string &state)
{
    auto st = m_db.prepare("SELECT id, type, state, result FROM handover WHERE state = ? ORDER BY created_at, id");
    if (!st)
        return std::unexpected(st.error());
    std::vector<Handover> out;
    st->bind(1, state);
    if (auto ok = st->each([&](Statement &row) {
            out.push_back({row.columnText(0), row.columnText(1), row.columnText(2), row.columnText(3)});
        });
        !ok)
        return std::unexpected(ok.error());
    return out;
}

Result<void> CommandLog::finishHandover(const std::string &id, bool ok, const std::string &result)
{
    auto st = m_db.prepare("UPDATE handover SET state = ?, result = ? WHERE id = ?");
    if (!st)
        return std::unexpected(st.error());
    return st->bind(1, std::string_view(ok ? "done" : "failed")).bind(2, result).bind(3, id).run();
}

Result<void> CommandLog::removeHandover(const std::string &id)
{
    auto st = m_db.prepare("DELETE FROM handover WHERE id = ?");
    if (!st)
        return std::unexpected(st.error());
    return st->bind(1, id).run();
}

} // namespace stoa::cache
