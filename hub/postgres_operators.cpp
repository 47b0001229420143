// hub/postgres_operators.cpp — operators on PostgreSQL: the audit log,
// operators and their tokens, passwords and login sessions.
#include "hub/postgres_storage_impl.h"

namespace stoa::hub {

using namespace pg;

StorageResult<std::int64_t> PostgresStorage::addAudit(const AuditEntry &entry)
{
    return pool_->run(false, [&](Session &s) -> StorageResult<std::int64_t> {
        auto r = s.exec("adding to the audit log",
                        "INSERT INTO audit (at_ms, operator, action, target, detail) "
                        "VALUES ($1::bigint, $2, $3, $4, $5) RETURNING id",
                        Params().add(entry.atMs).add(entry.operatorName).add(entry.action).add(entry.target).add(entry.detail));
        if (!r)
            return std::unexpected(r.error());
        return integer(r->get(), 0, 0);
    });
}

StorageResult<std::vector<AuditEntry>> PostgresStorage::audit(std::int64_t beforeId, int limit)
{
    return pool_->run(true, [&](Session &s) -> StorageResult<std::vector<AuditEntry>> {
        Params p;
        addLimit(p.add(beforeId), limit);
        auto r = s.exec("reading the audit log",
                        "SELECT id, at_ms, operator, action, target, detail FROM audit "
                        "WHERE $1::bigint <= 0 OR id < $1::bigint ORDER BY id DESC LIMIT $2::bigint",
                        p);
        if (!r)
            return std::unexpected(r.error());
        const PGresult *res = r->get();
        std::vector<AuditEntry> out;
        out.reserve(static_cast<std::size_t>(PQntuples(res)));
        for (int i = 0; i < PQntuples(res); ++i)
            out.push_back({integer(res, i, 0), integer(res, i, 1), text(res, i, 2), text(res, i, 3), text(res, i, 4),
                           text(res, i, 5)});
        return out;
    });
}

StorageResult<void> PostgresStorage::addOperator(const std::string &name, Role role, const std::string &tokenHash,
                                                 std::int64_t nowMs)
{
    return pool_->run(false, [&](Session &s) -> StorageResult<void> {
        auto r = s.exec("adding an operator",
                        "INSERT INTO operators (name, role, token_hash, created_at_ms) VALUES ($1, $2, $3, $4::bigint)",
                        Params().add(name).add(std::string(roleName(role))).add(tokenHash).add(nowMs));
        if (!r && r.error().code == Code::Conflict)
            r.error().message =
                "operator " + name + " exists already (or its token hash is taken): " + r.error().message;
        if (!r)
            return std::unexpected(r.error());
        return {};
    });
}

StorageResult<std::optional<Operator>> PostgresStorage::operatorForToken(const std::string &tokenHash)
{
    return pool_->run(true, [&](Session &s) -> StorageResult<std::optional<Operator>> {
        auto r = s.exec("looking up an operator token", "SELECT name, role FROM operators WHERE token_hash = $1",
                        Params().add(tokenHash));
        if (!r)
            return std::unexpected(r.error());
        const PGresult *res = r->get();
        if (PQntuples(res) == 0)
            return std::nullopt;
        const auto role = roleFromName(text(res, 0, 1));
        if (!role)
            return fail(Code::Failed, "operator " + text(res, 0, 0) + " has an unknown role " + text(res, 0, 1));
        return Operator{text(res, 0, 0), *role};
    });
}

StorageResult<void> PostgresStorage::setOperatorPassword(const std::string &name, const std::string &passwordHash)
{
    return pool_->run(false, [&](Session &s) -> StorageResult<void> {
        auto r = s.exec("setting a password", "UPDATE operators SET password_hash = $2 WHERE name = $1",
                        Params().add(name).add(passwordHash));
        if (!r)
            return std::unexpected(r.error());
        if (affected(r->get()) == 0)
            return fail(Code::NotFound, "no operator " + name);
        return {};
    });
}

StorageResult<std::optional<std::pair<Operator, std::string>>> PostgresStorage::operatorPassword(const std::string &name)
{
    return pool_->run(true, [&](Session &s) -> StorageResult<std::optional<std::pair<Operator, std::string>>> {
        auto r = s.exec("reading a password", "SELECT name, role, password_hash FROM operators WHERE name = $1",
                        Params().add(name));
        if (!r)
            return std::unexpected(r.error());
        const PGresult *res = r->get();
        if (PQntuples(res) == 0)
            return std::nullopt;
        const auto role = roleFromName(text(res, 0, 1));
        if (!role)
            return fail(Code::Failed, "operator " + text(res, 0, 0) + " has an unknown role " + text(res, 0, 1));
        return std::pair{Operator{text(res, 0, 0), *role}, text(res, 0, 2)};
    });
}

StorageResult<void> PostgresStorage::addSession(const std::string &tokenHash, const std::string &name, std::int64_t expiresAtMs)
{
    return pool_->run(false, [&](Session &s) -> StorageResult<void> {
        // Expired sessions go whenever a new one comes: the table stays small.
        if (auto r = s.exec("adding a session", "DELETE FROM sessions WHERE expires_at_ms < $1::bigint",
                            Params().add(expiresAtMs - std::int64_t{30} * 86400 * 1000));
            !r)
            return std::unexpected(r.error());
        auto r = s.exec("adding a session", "INSERT INTO sessions (token_hash, name, expires_at_ms) VALUES ($1, $2, $3::bigint)",
                        Params().add(tokenHash).add(name).add(expiresAtMs));
        if (!r)
            return std::unexpected(r.error());
        return {};
    });
}

StorageResult<std::optional<Operator>> PostgresStorage::sessionOperator(const std::string &tokenHash, std::int64_t nowMs)
{
    return pool_->run(true, [&](Session &s) -> StorageResult<std::optional<Operator>> {
        auto r = s.exec("looking up a session",
                        "SELECT o.name, o.role FROM sessions s JOIN operators o ON o.name = s.name "
                        "WHERE s.token_hash = $1 AND s.expires_at_ms > $2::bigint",
                        Params().add(tokenHash).add(nowMs));
        if (!r)
            return std::unexpected(r.error());
        const PGresult *res = r->get();
        if (PQntuples(res) == 0)
            return std::nullopt;
        const auto role = roleFromName(text(res, 0, 1));
        if (!role)
            return fail(Code::Failed, "operator " + text(res, 0, 0) + " has an unknown role " + text(res, 0, 1));
        return Operator{text(res, 0, 0), *role};
    });
}

StorageResult<void> PostgresStorage::removeSession(const std::string &tokenHash)
{
    return pool_->run(false, [&](Session &s) -> StorageResult<void> {
        auto r = s.exec("ending a session", "DELETE FROM sessions WHERE token_hash = $1", Params().add(tokenHash));
        if (!r)
            return std::unexpected(r.error());
        return {};
    });
}

} // namespace stoa::hub
