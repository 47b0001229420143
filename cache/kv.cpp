#include "cache/kv.h"

namespace stoa::cache {

namespace {
// The row `sql` (with `key` bound to ?1) returns, if any.
Result<std::optional<Statement>> lookup(Database &db, const char *sql, const std::string &key)
{
    auto st = db.prepare(sql);
    if (!st)
        return std::unexpected(st.error());
    auto s = st->bind(1, key).step();
    if (!s)
        return std::unexpected(s.error());
    if (*s != Statement::Step::Row)
        return std::optional<Statement>();
    return std::optional(std::move(*st));
}
} // namespace

Result<std::optional<std::string>> KeyValue::get(const std::string &key)
{
    auto row = lookup(m_db, "SELECT value FROM kv WHERE key = ?", key);
    if (!row)
        return std::unexpected(row.error());
    if (!*row)
        return std::optional<std::string>();
    return std::optional((*row)->columnBlob(0));
}

Result<void> KeyValue::set(const std::string &key, const std::string &value)
{
    auto st = m_db.prepare("INSERT INTO kv(key, value) VALUES(?, ?) "
                           "ON CONFLICT(key) DO UPDATE SET value = excluded.value");
    if (!st)
        return std::unexpected(st.error());
    if (auto ok = st->bind(1, key).bindBlob(2, std::as_bytes(std::span(value.data(), value.size()))).run(); !ok)
        return ok;
    if (m_mirror && isMirroredValueKey(key))
        return m_mirror->setValue(key, value);
    return {};
}

Result<std::optional<std::int64_t>> KeyValue::getInt(const std::string &key)
{
    auto row = lookup(m_db, "SELECT value FROM kv WHERE key = ? AND typeof(value) = 'integer'", key);
    if (!row)
        return std::unexpected(row.error());
    if (!*row)
        return std::optional<std::int64_t>();
    return std::optional((*row)->columnInt(0));
}

Result<void> KeyValue::setInt(const std::string &key, std::int64_t value)
{
    auto st = m_db.prepare("INSERT INTO kv(key, value) VALUES(?, ?) "
                           "ON CONFLICT(key) DO UPDATE SET value = excluded.value");
    if (!st)
        return std::unexpected(st.error());
    if (auto ok = st->bind(1, key).bind(2, value).run(); !ok)
        return ok;
    if (m_mirror && isMirroredMaxKey(key))
        return m_mirror->raiseInt(key, value);
    return {};
}

Result<std::int64_t> KeyValue::add(const std::string &key, std::int64_t delta)
{
    auto st = m_db.prepare("INSERT INTO kv(key, value) VALUES(?1, ?2) "
                           "ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + ?2 RETURNING value");
    if (!st)
        return std::unexpected(st.error());
    auto s = st->bind(1, key).bind(2, delta).step();
    if (!s)
        return std::unexpected(s.error());
    const std::int64_t v = st->columnInt(0);
    st->reset();
    return v;
}

Result<std::int64_t> KeyValue::raise(const std::string &key, std::int64_t candidate)
{
    auto st = m_db.prepare("INSERT INTO kv(key, value) VALUES(?1, ?2) "
                           "ON CONFLICT(key) DO UPDATE SET value = max(CAST(value AS INTEGER), ?2) RETURNING value");
    if (!st)
        return std::unexpected(st.error());
    auto s = st->bind(1, key).bind(2, candidate).step();
    if (!s)
        return std::unexpected(s.error());
    const std::int64_t v = st->columnInt(0);
    st->reset();
    if (m_mirror && isMirroredMaxKey(key))
        if (auto ok = m_mirror->raiseInt(key, v); !ok)
            return std::unexpected(ok.error());
    return v;
}

Result<void> KeyValue::remove(const std::string &key)
{
    auto st = m_db.prepare("DELETE FROM kv WHERE key = ?");
    if (!st)
        return std::unexpected(st.error());
    return st->bind(1, key).run();
}

} // namespace stoa::cache
