// hub/sqlite_devices.cpp — devices on SQLite: adding, tokens, revoking, the
// credential versions hubs follow (credentialsSince()), group and tags, and
// the list the operator API shows. Writes take the writer; reads a reader.
#include "hub/sqlite_storage_impl.h"

#include <algorithm>

namespace stoa::hub {

using namespace sqlite;

namespace {

std::vector<std::string> splitTags(const std::string &joined)
{
    std::vector<std::string> out;
    std::size_t pos = 0;
    while (pos < joined.size()) {
        const auto comma = joined.find(',', pos);
        const auto end = comma == std::string::npos ? joined.size() : comma;
        if (end > pos)
            out.push_back(joined.substr(pos, end - pos));
        pos = end + 1;
    }
    return out;
}

} // namespace

StorageResult<void> SqliteStorage::addDevice(const std::string &id, const std::string &tokenHash, std::int64_t nowMs)
{
    std::lock_guard lock(d->writeMutex);
    Stmt s(*d->writer, "INSERT INTO devices(id, token_hash, created_at_ms, cred_version) VALUES(?1, ?2, ?3, (SELECT coalesce(max(cred_version), 0) + 1 FROM devices))");
    if (!s)
        return dbFail(*d->writer, "adding a device");
    s.bind(1, id).bind(2, tokenHash).bind(3, nowMs);
    if (s.step() != SQLITE_DONE) {
        auto e = dbFail(*d->writer, "adding a device");
        if (e.error().code == StorageError::Code::Conflict)
            e.error().message = "device " + id + " exists already";
        return e;
    }
    return {};
}

StorageResult<void> SqliteStorage::setDeviceToken(const std::string &id, const std::string &tokenHash)
{
    std::lock_guard lock(d->writeMutex);
    Stmt s(*d->writer, "UPDATE devices SET token_hash = ?2, revoked = 0, cred_version = (SELECT coalesce(max(cred_version), 0) + 1 FROM devices) WHERE id = ?1");
    if (!s)
        return dbFail(*d->writer, "setting a device token");
    s.bind(1, id).bind(2, tokenHash);
    if (s.step() != SQLITE_DONE)
        return dbFail(*d->writer, "setting a device token");
    if (sqlite3_changes(*d->writer) == 0)
        return fail(StorageError::Code::NotFound, "no device " + id);
    return {};
}

StorageResult<void> SqliteStorage::revokeDevice(const std::string &id)
{
    std::lock_guard lock(d->writeMutex);
    Stmt s(*d->writer, "UPDATE devices SET revoked = 1, cred_version = (SELECT coalesce(max(cred_version), 0) + 1 FROM devices) WHERE id = ?1");
    if (!s)
        return dbFail(*d->writer, "revoking a device");
    s.bind(1, id);
    if (s.step() != SQLITE_DONE)
        return dbFail(*d->writer, "revoking a device");
    if (sqlite3_changes(*d->writer) == 0)
        return fail(StorageError::Code::NotFound, "no device " + id);
    return {};
}

StorageResult<std::optional<std::string>> SqliteStorage::deviceForToken(const std::string &tokenHash)
{
    auto lease = d->reader();
    if (!lease)
        return std::unexpected(lease.error());
    Stmt s(lease->db(), "SELECT id FROM devices WHERE token_hash = ?1 AND revoked = 0");
    if (!s)
        return dbFail(lease->db(), "looking up a device token");
    s.bind(1, tokenHash);
    const int rc = s.step();
    if (rc == SQLITE_ROW)
        return s.text(0);
    if (rc == SQLITE_DONE)
        return std::nullopt;
    return dbFail(lease->db(), "looking up a device token");
}

StorageResult<bool> SqliteStorage::deviceExists(const std::string &id)
{
    auto lease = d->reader();
    if (!lease)
        return std::unexpected(lease.error());
    Stmt s(lease->db(), "SELECT 1 FROM devices WHERE id = ?1");
    if (!s)
        return dbFail(lease->db(), "looking up a device");
    s.bind(1, id);
    const int rc = s.step();
    if (rc == SQLITE_ROW || rc == SQLITE_DONE)
        return rc == SQLITE_ROW;
    return dbFail(lease->db(), "looking up a device");
}

StorageResult<std::vector<DeviceCredential>> SqliteStorage::credentialsSince(std::int64_t afterVersion)
{
    auto lease = d->reader();
    if (!lease)
        return std::unexpected(lease.error());
    Stmt s(lease->db(), "SELECT id, coalesce(token_hash, ''), revoked, cred_version FROM devices "
                        "WHERE cred_version > ?1 ORDER BY cred_version");
    if (!s)
        return dbFail(lease->db(), "reading credentials");
    s.bind(1, afterVersion);
    std::vector<DeviceCredential> out;
    int rc;
    while ((rc = s.step()) == SQLITE_ROW)
        out.push_back({s.text(0), s.text(1), s.integer(2) != 0, s.integer(3)});
    if (rc != SQLITE_DONE)
        return dbFail(lease->db(), "reading credentials");
    return out;
}

StorageResult<void> SqliteStorage::setDeviceGroup(const std::string &id, const std::optional<std::string> &group)
{
    std::lock_guard lock(d->writeMutex);
    Stmt s(*d->writer, "UPDATE devices SET grp = ?2 WHERE id = ?1");
    if (!s)
        return dbFail(*d->writer, "setting a group");
    s.bind(1, id);
    if (group)
        s.bind(2, *group);
    if (s.step() != SQLITE_DONE)
        return dbFail(*d->writer, "setting a group");
    if (sqlite3_changes(*d->writer) == 0)
        return fail(StorageError::Code::NotFound, "no device " + id);
    return {};
}

StorageResult<void> SqliteStorage::setDeviceTags(const std::string &id, const std::vector<std::string> &tags)
{
    std::vector<std::string> sorted = tags;
    std::sort(sorted.begin(), sorted.end());
    sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
    std::string joined;
    for (const auto &t : sorted)
        joined += (joined.empty() ? "" : ",") + t;
    std::lock_guard lock(d->writeMutex);
    Stmt s(*d->writer, "UPDATE devices SET tags = ?2 WHERE id = ?1");
    if (!s)
        return dbFail(*d->writer, "setting tags");
    s.bind(1, id).bind(2, joined);
    if (s.step() != SQLITE_DONE)
        return dbFail(*d->writer, "setting tags");
    if (sqlite3_changes(*d->writer) == 0)
        return fail(StorageError::Code::NotFound, "no device " + id);
    return {};
}

StorageResult<std::vector<DeviceSummary>> SqliteStorage::devices()
{
    auto lease = d->reader();
    if (!lease)
        return std::unexpected(lease.error());
    Stmt s(lease->db(), "SELECT id, revoked, last_seen_at_ms, manifest_version, plays, last_screenshot_at_ms, grp, tags "
                        "FROM devices ORDER BY id");
    if (!s)
        return dbFail(lease->db(), "listing devices");
    std::vector<DeviceSummary> out;
    int rc;
    while ((rc = s.step()) == SQLITE_ROW) {
        DeviceSummary dev{s.text(0), s.integer(1) != 0, s.optInteger(2), s.optInteger(3), s.integer(4), s.optInteger(5), {}, {}};
        if (sqlite3_column_type(s.raw(), 6) != SQLITE_NULL)
            dev.group = s.text(6);
        dev.tags = splitTags(s.text(7));
        out.push_back(std::move(dev));
    }
    if (rc != SQLITE_DONE)
        return dbFail(lease->db(), "listing devices");
    return out;
}

StorageResult<std::int64_t> SqliteStorage::deviceCount()
{
    auto lease = d->reader();
    if (!lease)
        return std::unexpected(lease.error());
    Stmt s(lease->db(), "SELECT count(*) FROM devices");
    if (!s || s.step() != SQLITE_ROW)
        return dbFail(lease->db(), "counting devices");
    return s.integer(0);
}

} // namespace stoa::hub
