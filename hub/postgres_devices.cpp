// hub/postgres_devices.cpp — devices on PostgreSQL: adding, tokens,
// revoking (each under the credential lock, so versions become visible in
// order), the credential versions hubs follow (credentialsSince()), group
// and tags, and the list the operator API shows.
#include "hub/postgres_storage_impl.h"

#include <algorithm>

namespace stoa::hub {

using namespace pg;

namespace {

// One credential change in its own transaction, under kCredentialLock; the
// statement reads the next version as $1 (it is appended to `params`).
StorageResult<Result> changeCredentials(Session &s, const char *what, const char *sql, Params params)
{
    if (auto r = s.begin(); !r)
        return std::unexpected(r.error());
    if (auto r = s.exec(what, "SELECT pg_advisory_xact_lock($1::bigint)", Params().add(kCredentialLock)); !r)
        return std::unexpected(r.error());
    auto r = s.exec(what, sql, params);
    if (!r)
        return r;
    if (auto c = s.commit(); !c)
        return std::unexpected(c.error());
    return r;
}

constexpr const char *kNextCredVersion = "(SELECT coalesce(max(cred_version), 0) + 1 FROM devices)";

} // namespace

StorageResult<void> PostgresStorage::addDevice(const std::string &id, const std::string &tokenHash,
                                               std::int64_t nowMs)
{
    static const std::string sql = std::string("INSERT INTO devices (id, token_hash, created_at_ms, cred_version) "
                                               "VALUES ($1, $2, $3::bigint, ") + kNextCredVersion + ")";
    return pool_->run(false, [&](Session &s) -> StorageResult<void> {
        auto r = changeCredentials(s, "adding a device", sql.c_str(), Params().add(id).add(tokenHash).add(nowMs));
        if (!r && r.error().code == Code::Conflict)
            r.error().message = "device " + id + " exists already (or its token hash is taken): " + r.error().message;
        if (!r)
            return std::unexpected(r.error());
        return {};
    });
}

StorageResult<void> PostgresStorage::setDeviceToken(const std::string &id, const std::string &tokenHash)
{
    static const std::string sql = std::string("UPDATE devices SET token_hash = $2, revoked = false, cred_version = ")
                                   + kNextCredVersion + " WHERE id = $1";
    return pool_->run(false, [&](Session &s) -> StorageResult<void> {
        auto r = changeCredentials(s, "setting a device token", sql.c_str(), Params().add(id).add(tokenHash));
        if (!r)
            return std::unexpected(r.error());
        if (affected(r->get()) == 0)
            return fail(Code::NotFound, "no device " + id);
        return {};
    });
}

StorageResult<void> PostgresStorage::revokeDevice(const std::string &id)
{
    static const std::string sql = std::string("UPDATE devices SET revoked = true, cred_version = ") + kNextCredVersion
                                   + " WHERE id = $1";
    return pool_->run(false, [&](Session &s) -> StorageResult<void> {
        auto r = changeCredentials(s, "revoking a device", sql.c_str(), Params().add(id));
        if (!r)
            return std::unexpected(r.error());
        if (affected(r->get()) == 0)
            return fail(Code::NotFound, "no device " + id);
        return {};
    });
}

StorageResult<std::vector<DeviceCredential>> PostgresStorage::credentialsSince(std::int64_t afterVersion)
{
    return pool_->run(true, [&](Session &s) -> StorageResult<std::vector<DeviceCredential>> {
        auto r = s.exec("reading credentials",
                        "SELECT id, coalesce(token_hash, ''), revoked, cred_version FROM devices "
                        "WHERE cred_version > $1::bigint ORDER BY cred_version",
                        Params().add(afterVersion));
        if (!r)
            return std::unexpected(r.error());
        std::vector<DeviceCredential> out;
        const int rows = PQntuples(r->get());
        out.reserve(static_cast<std::size_t>(rows));
        for (int i = 0; i < rows; ++i)
            out.push_back({text(r->get(), i, 0), text(r->get(), i, 1), boolean(r->get(), i, 2), integer(r->get(), i, 3)});
        return out;
    });
}

StorageResult<std::optional<std::string>> PostgresStorage::deviceForToken(const std::string &tokenHash)
{
    return pool_->run(true, [&](Session &s) -> StorageResult<std::optional<std::string>> {
        auto r = s.exec("looking up a device token", "SELECT id FROM devices WHERE token_hash = $1 AND NOT revoked",
                        Params().add(tokenHash));
        if (!r)
            return std::unexpected(r.error());
        if (PQntuples(r->get()) == 0)
            return std::nullopt;
        return text(r->get(), 0, 0);
    });
}

StorageResult<bool> PostgresStorage::deviceExists(const std::string &id)
{
    return pool_->run(true, [&](Session &s) -> StorageResult<bool> {
        auto r = s.exec("looking up a device", "SELECT 1 FROM devices WHERE id = $1", Params().add(id));
        if (!r)
            return std::unexpected(r.error());
        return PQntuples(r->get()) > 0;
    });
}

StorageResult<void> PostgresStorage::setDeviceGroup(const std::string &id, const std::optional<std::string> &group)
{
    return pool_->run(false, [&](Session &s) -> StorageResult<void> {
        Params p;
        p.add(id);
        if (group)
            p.add(*group);
        else
            p.addNull();
        auto r = s.exec("setting a group", "UPDATE devices SET grp = $2 WHERE id = $1", p);
        if (!r)
            return std::unexpected(r.error());
        if (affected(r->get()) == 0)
            return fail(Code::NotFound, "no device " + id);
        return {};
    });
}

StorageResult<void> PostgresStorage::setDeviceTags(const std::string &id, const std::vector<std::string> &tags)
{
    // Tag names are [A-Za-z0-9._-] (the hub checks), so a text[] literal needs no quoting.
    std::vector<std::string> sorted = tags;
    std::sort(sorted.begin(), sorted.end());
    sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
    std::string array = "{";
    for (std::size_t i = 0; i < sorted.size(); ++i)
        array += (i ? "," : "") + sorted[i];
    array += "}";
    return pool_->run(false, [&](Session &s) -> StorageResult<void> {
        auto r = s.exec("setting tags", "UPDATE devices SET tags = $2::text[] WHERE id = $1", Params().add(id).add(array));
        if (!r)
            return std::unexpected(r.error());
        if (affected(r->get()) == 0)
            return fail(Code::NotFound, "no device " + id);
        return {};
    });
}

StorageResult<std::vector<DeviceSummary>> PostgresStorage::devices()
{
    return pool_->run(true, [](Session &s) -> StorageResult<std::vector<DeviceSummary>> {
        auto r = s.exec("listing devices",
                        "SELECT id, revoked, last_seen_at_ms, manifest_version, plays, last_screenshot_at_ms, grp, "
                        "array_to_string(tags, ',') FROM devices ORDER BY id");
        if (!r)
            return std::unexpected(r.error());
        const PGresult *res = r->get();
        std::vector<DeviceSummary> out;
        out.reserve(static_cast<std::size_t>(PQntuples(res)));
        for (int i = 0; i < PQntuples(res); ++i) {
            DeviceSummary d{text(res, i, 0), boolean(res, i, 1), optInteger(res, i, 2), optInteger(res, i, 3),
                            integer(res, i, 4), optInteger(res, i, 5), {}, {}};
            if (!PQgetisnull(res, i, 6))
                d.group = text(res, i, 6);
            const std::string tags = text(res, i, 7);
            for (std::size_t pos = 0; pos < tags.size();) {
                const auto comma = std::min(tags.find(',', pos), tags.size());
                if (comma > pos)
                    d.tags.push_back(tags.substr(pos, comma - pos));
                pos = comma + 1;
            }
            out.push_back(std::move(d));
        }
        return out;
    });
}

StorageResult<std::int64_t> PostgresStorage::deviceCount()
{
    return pool_->run(true, [](Session &s) -> StorageResult<std::int64_t> {
        auto r = s.exec("counting devices", "SELECT count(*) FROM devices");
        if (!r)
            return std::unexpected(r.error());
        return integer(r->get(), 0, 0);
    });
}

} // namespace stoa::hub
