#include "cache/commands.h"

#include <sqlite3.h>

#include <chrono>

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
    using namespace std::chrono;
    auto st = m_db.prepare("INSERT INTO commands(id, type, executed_at, result) VALUES(?,?,?,?) "
                           "ON CONFLICT(id) DO NOTHING");
    if (!st)
        return std::unexpected(st.error());
    const std::int64_t now = duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
    if (auto ok = st->bind(1, id).bind(2, type).bind(3, now).bind(4, result).run(); !ok)
        return std::unexpected(ok.error());
    return sqlite3_changes(m_db.handle()) > 0;
}

} // namespace stoa::cache
