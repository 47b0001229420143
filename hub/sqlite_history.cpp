// hub/sqlite_history.cpp — what devices sent, as read back from SQLite: the
// latest status and the history of statuses, online stretches, play
// records (per device, and across devices for the proof-of-play report).
// Reads only, each on a leased reader connection.
#include "hub/sqlite_storage_impl.h"

namespace stoa::hub {

using namespace sqlite;

StorageResult<std::optional<StatusReport>> SqliteStorage::latestStatus(const std::string &id)
{
    auto lease = d->reader();
    if (!lease)
        return std::unexpected(lease.error());
    Stmt s(lease->db(), "SELECT s.received_at_ms, s.manifest_version, s.body FROM devices d "
                        "JOIN statuses s ON s.rowid = d.last_status_rowid WHERE d.id = ?1");
    if (!s)
        return dbFail(lease->db(), "reading a status");
    s.bind(1, id);
    const int rc = s.step();
    if (rc == SQLITE_DONE)
        return std::nullopt;
    if (rc != SQLITE_ROW)
        return dbFail(lease->db(), "reading a status");
    return StatusReport{id, s.integer(0), s.optInteger(1), s.text(2)};
}

StorageResult<std::vector<StatusReport>> SqliteStorage::statusHistory(const std::string &id, int limit)
{
    auto lease = d->reader();
    if (!lease)
        return std::unexpected(lease.error());
    Stmt s(lease->db(), "SELECT received_at_ms, manifest_version, body FROM statuses WHERE device_id = ?1 "
                        "ORDER BY received_at_ms DESC, rowid DESC LIMIT ?2");
    if (!s)
        return dbFail(lease->db(), "reading status history");
    s.bind(1, id).bind(2, std::int64_t{limit});
    std::vector<StatusReport> out;
    int rc;
    while ((rc = s.step()) == SQLITE_ROW)
        out.push_back({id, s.integer(0), s.optInteger(1), s.text(2)});
    if (rc != SQLITE_DONE)
        return dbFail(lease->db(), "reading status history");
    return out;
}

StorageResult<OnlineRecord> SqliteStorage::onlineStretches(const std::string &id, std::int64_t sinceMs)
{
    auto lease = d->reader();
    if (!lease)
        return std::unexpected(lease.error());
    Stmt first(lease->db(), "SELECT min(from_ms) FROM online_stretches WHERE device_id = ?1");
    // The device's open stretch ends at its last heartbeat (kSchemaV7 in
    // sqlite_schema.cpp).
    Stmt s(lease->db(), "SELECT s.from_ms, max(s.to_ms, coalesce(d.last_seen_at_ms, s.to_ms)) AS to_end "
                        "FROM online_stretches AS s LEFT JOIN devices AS d ON d.id = ?1 AND d.online_stretch = s.rowid "
                        "WHERE s.device_id = ?1 AND to_end >= ?2 ORDER BY s.from_ms, to_end");
    if (!first || !s)
        return dbFail(lease->db(), "reading online stretches");
    OnlineRecord out;
    first.bind(1, id);
    if (first.step() != SQLITE_ROW)
        return dbFail(lease->db(), "reading online stretches");
    out.recordedFromMs = first.optInteger(0);
    first.reset();
    s.bind(1, id).bind(2, sinceMs);
    int rc;
    while ((rc = s.step()) == SQLITE_ROW)
        out.stretches.push_back(OnlineStretch{s.integer(0), s.integer(1)});
    if (rc != SQLITE_DONE)
        return dbFail(lease->db(), "reading online stretches");
    return out;
}

StorageResult<std::vector<PlayRecord>> SqliteStorage::plays(const std::string &id, int limit)
{
    auto lease = d->reader();
    if (!lease)
        return std::unexpected(lease.error());
    Stmt s(lease->db(), "SELECT id, received_at_ms, line FROM plays WHERE device_id = ?1 "
                        "ORDER BY received_at_ms, id LIMIT ?2");
    if (!s)
        return dbFail(lease->db(), "reading plays");
    s.bind(1, id).bind(2, std::int64_t{limit});
    std::vector<PlayRecord> out;
    int rc;
    while ((rc = s.step()) == SQLITE_ROW)
        out.push_back({id, s.text(0), s.integer(1), s.text(2)});
    if (rc != SQLITE_DONE)
        return dbFail(lease->db(), "reading plays");
    return out;
}

StorageResult<std::vector<PlayRecord>> SqliteStorage::playsReceivedBetween(std::int64_t fromMs, std::int64_t untilMs,
                                                                          int limit)
{
    auto lease = d->reader();
    if (!lease)
        return std::unexpected(lease.error());
    Stmt s(lease->db(), "SELECT device_id, id, received_at_ms, line FROM plays "
                        "WHERE received_at_ms >= ?1 AND received_at_ms < ?2 "
                        "ORDER BY received_at_ms, device_id, id LIMIT ?3");
    if (!s)
        return dbFail(lease->db(), "reading plays");
    s.bind(1, fromMs).bind(2, untilMs).bind(3, std::int64_t{limit});
    std::vector<PlayRecord> out;
    int rc;
    while ((rc = s.step()) == SQLITE_ROW)
        out.push_back({s.text(0), s.text(1), s.integer(2), s.text(3)});
    if (rc != SQLITE_DONE)
        return dbFail(lease->db(), "reading plays");
    return out;
}

} // namespace stoa::hub
