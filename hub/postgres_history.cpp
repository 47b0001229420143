// hub/postgres_history.cpp — what devices sent, as read back from
// PostgreSQL: the latest status and the history of statuses, online
// stretches, play records (per device, and across devices for the
// proof-of-play report). Reads only: retried once on a fresh connection.
#include "hub/postgres_storage_impl.h"

namespace stoa::hub {

using namespace pg;

StorageResult<std::optional<StatusReport>> PostgresStorage::latestStatus(const std::string &id)
{
    return pool_->run(true, [&](Session &s) -> StorageResult<std::optional<StatusReport>> {
        auto r = s.exec("reading a status",
                        "SELECT s.received_at_ms, s.manifest_version, s.body FROM devices d "
                        "JOIN statuses s ON s.seq = d.last_status_seq WHERE d.id = $1",
                        Params().add(id));
        if (!r)
            return std::unexpected(r.error());
        const PGresult *res = r->get();
        if (PQntuples(res) == 0)
            return std::nullopt;
        return StatusReport{id, integer(res, 0, 0), optInteger(res, 0, 1), text(res, 0, 2)};
    });
}

StorageResult<std::vector<StatusReport>> PostgresStorage::statusHistory(const std::string &id, int limit)
{
    return pool_->run(true, [&](Session &s) -> StorageResult<std::vector<StatusReport>> {
        Params p;
        addLimit(p.add(id), limit);
        auto r = s.exec("reading status history",
                        "SELECT received_at_ms, manifest_version, body FROM statuses WHERE device_id = $1 "
                        "ORDER BY received_at_ms DESC, seq DESC LIMIT $2::bigint",
                        p);
        if (!r)
            return std::unexpected(r.error());
        const PGresult *res = r->get();
        std::vector<StatusReport> out;
        out.reserve(static_cast<std::size_t>(PQntuples(res)));
        for (int i = 0; i < PQntuples(res); ++i)
            out.push_back({id, integer(res, i, 0), optInteger(res, i, 1), text(res, i, 2)});
        return out;
    });
}

StorageResult<OnlineRecord> PostgresStorage::onlineStretches(const std::string &id, std::int64_t sinceMs)
{
    return pool_->run(true, [&](Session &s) -> StorageResult<OnlineRecord> {
        auto r = s.exec("reading online stretches",
                        "SELECT from_ms, to_ms, (SELECT min(from_ms) FROM online_stretches WHERE device_id = $1) "
                        "FROM (SELECT 1) AS one LEFT JOIN online_stretches ON device_id = $1 AND to_ms >= $2::bigint "
                        "ORDER BY from_ms, to_ms",
                        Params().add(id).add(sinceMs));
        if (!r)
            return std::unexpected(r.error());
        const PGresult *res = r->get();
        OnlineRecord out;
        for (int i = 0; i < PQntuples(res); ++i) {
            if (i == 0 && !PQgetisnull(res, 0, 2))
                out.recordedFromMs = integer(res, 0, 2);
            if (!PQgetisnull(res, i, 0))
                out.stretches.push_back(OnlineStretch{integer(res, i, 0), integer(res, i, 1)});
        }
        return out;
    });
}

StorageResult<std::vector<PlayRecord>> PostgresStorage::plays(const std::string &id, int limit)
{
    return pool_->run(true, [&](Session &s) -> StorageResult<std::vector<PlayRecord>> {
        Params p;
        addLimit(p.add(id), limit);
        auto r = s.exec("reading plays",
                        "SELECT id, received_at_ms, line FROM plays WHERE device_id = $1 "
                        "ORDER BY received_at_ms, id LIMIT $2::bigint",
                        p);
        if (!r)
            return std::unexpected(r.error());
        const PGresult *res = r->get();
        std::vector<PlayRecord> out;
        out.reserve(static_cast<std::size_t>(PQntuples(res)));
        for (int i = 0; i < PQntuples(res); ++i)
            out.push_back({id, text(res, i, 0), integer(res, i, 1), text(res, i, 2)});
        return out;
    });
}

StorageResult<std::vector<PlayRecord>> PostgresStorage::playsReceivedBetween(std::int64_t fromMs, std::int64_t untilMs,
                                                                            int limit)
{
    return pool_->run(true, [&](Session &s) -> StorageResult<std::vector<PlayRecord>> {
        Params p;
        addLimit(p.add(fromMs).add(untilMs), limit);
        auto r = s.exec("reading plays",
                        "SELECT device_id, id, received_at_ms, line FROM plays "
                        "WHERE received_at_ms >= $1::bigint AND received_at_ms < $2::bigint "
                        "ORDER BY received_at_ms, device_id, id LIMIT $3::bigint",
                        p);
        if (!r)
            return std::unexpected(r.error());
        const PGresult *res = r->get();
        std::vector<PlayRecord> out;
        out.reserve(static_cast<std::size_t>(PQntuples(res)));
        for (int i = 0; i < PQntuples(res); ++i)
            out.push_back({text(res, i, 0), text(res, i, 1), integer(res, i, 2), text(res, i, 3)});
        return out;
    });
}

} // namespace stoa::hub
