// hub/sqlite_operators.cpp — operators on SQLite: the audit log, operators
// and their tokens, passwords and login sessions.
#include "hub/sqlite_storage_impl.h"

namespace stoa::hub {

using namespace sqlite;

StorageResult<std::int64_t> SqliteStorage::addAudit(const AuditEntry &entry)
{
    std::lock_guard lock(d->writeMutex);
    Stmt s(*d->writer, "INSERT INTO audit (at_ms, operator, action, target, detail) VALUES (?1, ?2, ?3, ?4, ?5)");
    if (!s)
        return dbFail(*d->writer, "adding to the audit log");
    s.bind(1, entry.atMs).bind(2, entry.operatorName).bind(3, entry.action).bind(4, entry.target).bind(5, entry.detail);
    if (s.step() != SQLITE_DONE)
        return dbFail(*d->writer, "adding to the audit log");
    return std::int64_t{sqlite3_last_insert_rowid(*d->writer)};
}

StorageResult<std::vector<AuditEntry>> SqliteStorage::audit(std::int64_t beforeId, int limit)
{
    auto lease = d->reader();
    if (!lease)
        return std::unexpected(lease.error());
    Stmt s(lease->db(), "SELECT id, at_ms, operator, action, target, detail FROM audit "
                        "WHERE ?1 <= 0 OR id < ?1 ORDER BY id DESC LIMIT ?2");
    if (!s)
        return dbFail(lease->db(), "reading the audit log");
    s.bind(1, beforeId).bind(2, std::int64_t{limit});
    std::vector<AuditEntry> out;
    int rc;
    while ((rc = s.step()) == SQLITE_ROW)
        out.push_back({s.integer(0), s.integer(1), s.text(2), s.text(3), s.text(4), s.text(5)});
    if (rc != SQLITE_DONE)
        return dbFail(lease->db(), "reading the audit log");
    return out;
}

StorageResult<void> SqliteStorage::addOperator(const std::string &name, Role role, const std::string &tokenHash,
                                               std::int64_t nowMs)
{
    std::lock_guard lock(d->writeMutex);
    Stmt s(*d->writer, "INSERT INTO operators(name, role, token_hash, created_at_ms) VALUES(?1, ?2, ?3, ?4)");
    if (!s)
        return dbFail(*d->writer, "adding an operator");
    s.bind(1, name).bind(2, std::string(roleName(role))).bind(3, tokenHash).bind(4, nowMs);
    if (s.step() != SQLITE_DONE) {
        auto e = dbFail(*d->writer, "adding an operator");
        if (e.error().code == StorageError::Code::Conflict)
            e.error().message = "operator " + name + " exists already";
        return e;
    }
    return {};
}

StorageResult<std::optional<Operator>> SqliteStorage::operatorForToken(const std::string &tokenHash)
{
    auto lease = d->reader();
    if (!lease)
        return std::unexpected(lease.error());
    Stmt s(lease->db(), "SELECT name, role FROM operators WHERE token_hash = ?1");
    if (!s)
        return dbFail(lease->db(), "looking up an operator token");
    s.bind(1, tokenHash);
    const int rc = s.step();
    if (rc == SQLITE_DONE)
        return std::nullopt;
    if (rc != SQLITE_ROW)
        return dbFail(lease->db(), "looking up an operator token");
    const auto role = roleFromName(s.text(1));
    if (!role)
        return fail(StorageError::Code::Failed, "operator " + s.text(0) + " has an unknown role " + s.text(1));
    return Operator{s.text(0), *role};
}

StorageResult<void> SqliteStorage::setOperatorPassword(const std::string &name, const std::string &passwordHash)
{
    std::lock_guard lock(d->writeMutex);
    Stmt s(*d->writer, "UPDATE operators SET password_hash = ?2 WHERE name = ?1");
    if (!s)
        return dbFail(*d->writer, "setting a password");
    s.bind(1, name).bind(2, passwordHash);
    if (s.step() != SQLITE_DONE)
        return dbFail(*d->writer, "setting a password");
    if (sqlite3_changes(*d->writer) == 0)
        return fail(StorageError::Code::NotFound, "no operator " + name);
    return {};
}

StorageResult<std::optional<std::pair<Operator, std::string>>> SqliteStorage::operatorPassword(const std::string &name)
{
    auto lease = d->reader();
    if (!lease)
        return std::unexpected(lease.error());
    Stmt s(lease->db(), "SELECT name, role, password_hash FROM operators WHERE name = ?1");
    if (!s)
        return dbFail(lease->db(), "reading a password");
    s.bind(1, name);
    const int rc = s.step();
    if (rc == SQLITE_DONE)
        return std::nullopt;
    if (rc != SQLITE_ROW)
        return dbFail(lease->db(), "reading a password");
    const auto role = roleFromName(s.text(1));
    if (!role)
        return fail(StorageError::Code::Failed, "operator " + s.text(0) + " has an unknown role " + s.text(1));
    return std::pair{Operator{s.text(0), *role}, s.text(2)};
}

StorageResult<void> SqliteStorage::addSession(const std::string &tokenHash, const std::string &name, std::int64_t expiresAtMs)
{
    std::lock_guard lock(d->writeMutex);
    Stmt s(*d->writer, "INSERT INTO sessions(token_hash, name, expires_at_ms) VALUES(?1, ?2, ?3)");
    Stmt old(*d->writer, "DELETE FROM sessions WHERE expires_at_ms < ?1");
    if (!s || !old)
        return dbFail(*d->writer, "adding a session");
    // Expired sessions go whenever a new one comes: the table stays small.
    old.bind(1, expiresAtMs - std::int64_t{30} * 86400 * 1000);
    s.bind(1, tokenHash).bind(2, name).bind(3, expiresAtMs);
    if (old.step() != SQLITE_DONE || s.step() != SQLITE_DONE)
        return dbFail(*d->writer, "adding a session");
    return {};
}

StorageResult<std::optional<Operator>> SqliteStorage::sessionOperator(const std::string &tokenHash, std::int64_t nowMs)
{
    auto lease = d->reader();
    if (!lease)
        return std::unexpected(lease.error());
    Stmt s(lease->db(), "SELECT o.name, o.role FROM sessions s JOIN operators o ON o.name = s.name "
                        "WHERE s.token_hash = ?1 AND s.expires_at_ms > ?2");
    if (!s)
        return dbFail(lease->db(), "looking up a session");
    s.bind(1, tokenHash).bind(2, nowMs);
    const int rc = s.step();
    if (rc == SQLITE_DONE)
        return std::nullopt;
    if (rc != SQLITE_ROW)
        return dbFail(lease->db(), "looking up a session");
    const auto role = roleFromName(s.text(1));
    if (!role)
        return fail(StorageError::Code::Failed, "operator " + s.text(0) + " has an unknown role " + s.text(1));
    return Operator{s.text(0), *role};
}

StorageResult<void> SqliteStorage::removeSession(const std::string &tokenHash)
{
    std::lock_guard lock(d->writeMutex);
    Stmt s(*d->writer, "DELETE FROM sessions WHERE token_hash = ?1");
    if (!s)
        return dbFail(*d->writer, "ending a session");
    s.bind(1, tokenHash);
    if (s.step() != SQLITE_DONE)
        return dbFail(*d->writer, "ending a session");
    return {};
}

} // namespace stoa::hub
