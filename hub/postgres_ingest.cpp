// hub/postgres_ingest.cpp — the writes devices cause on PostgreSQL: ingest()
// of a batch as one pipeline and one implicit transaction (the devices rows
// locked in id order, then statuses, plays, screenshots and the online
// stretches), trimming a device's screenshots, and retention under its
// advisory lock.
#include "hub/postgres_storage_impl.h"

#include <algorithm>
#include <limits>

namespace stoa::hub {
namespace {

// Locks the devices rows a batch touches, in id order: LockRows sits above
// the ordered scan, so two batches sharing devices queue on the first shared
// one instead of each holding what the other needs.
const char *const kLockDevices = R"sql(
SELECT count(*) FROM (
  SELECT 1 FROM devices WHERE id = ANY ($1::text[]) ORDER BY id FOR NO KEY UPDATE
) AS locked)sql";

// The online stretches of a batch's heartbeats (storage.h OnlineStretch):
// one statement per batch, in the batch's pipeline and so in its implicit
// transaction, after kLockDevices: batches of two writers or two replicas
// that share a device queue on its devices row, so no two extend the same
// device's stretches at once (no read-modify-write race), and the UPDATE
// (greatest/least) is atomic on its row anyway.
const char *const kExtendOnline = "SELECT stoa_extend_online($1::text[], $2::bigint[], $3::bigint)";

// The whole batch in one statement. Statuses keep batch order (ordinality)
// so seq, and with it "newest first" among equal received_at_ms, follows it.
// One UPDATE per device row: PostgreSQL applies only one modification of a
// row per statement, so statuses, stored plays and screenshots are folded
// into one row per device first. The latest status replaces the device's
// when it is at least as recent (a later-received tie wins, as in SQLite).
const char *const kIngest = R"sql(
WITH st AS (
  SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::text[]) WITH ORDINALITY
    AS t(device_id, received_at_ms, manifest_version, body, ord)
), st_ins AS (
  INSERT INTO statuses (device_id, received_at_ms, manifest_version, body)
  SELECT device_id, received_at_ms, manifest_version, body FROM st ORDER BY ord
  RETURNING seq, device_id, received_at_ms, manifest_version
), pl_ins AS (
  INSERT INTO plays (device_id, id, received_at_ms, line)
  SELECT * FROM unnest($5::text[], $6::text[], $7::bigint[], $8::text[])
  ON CONFLICT DO NOTHING
  RETURNING device_id
), sc_ins AS (
  INSERT INTO screenshots (device_id, sha256, bytes, received_at_ms)
  SELECT * FROM unnest($9::text[], $10::text[], $11::bigint[], $12::bigint[])
  RETURNING device_id, received_at_ms
), latest AS (
  SELECT DISTINCT ON (device_id) device_id, received_at_ms, manifest_version, seq
  FROM st_ins ORDER BY device_id, received_at_ms DESC, seq DESC
), touched AS (
  SELECT device_id, received_at_ms AS seen, manifest_version, seq, 0 AS stored, NULL::bigint AS shot
  FROM latest
  UNION ALL SELECT device_id, NULL, NULL, NULL, 1, NULL FROM pl_ins
  UNION ALL SELECT device_id, NULL, NULL, NULL, 0, received_at_ms FROM sc_ins
), agg AS (
  SELECT device_id, max(seen) AS seen, max(manifest_version) AS manifest_version, max(seq) AS seq,
         sum(stored) AS stored, max(shot) AS shot
  FROM touched GROUP BY device_id
), upd AS (
  UPDATE devices d SET
    last_seen_at_ms = CASE WHEN a.seen IS NOT NULL AND (d.last_seen_at_ms IS NULL OR a.seen >= d.last_seen_at_ms)
                           THEN a.seen ELSE d.last_seen_at_ms END,
    manifest_version = CASE WHEN a.seen IS NOT NULL AND (d.last_seen_at_ms IS NULL OR a.seen >= d.last_seen_at_ms)
                            THEN a.manifest_version ELSE d.manifest_version END,
    last_status_seq = CASE WHEN a.seen IS NOT NULL AND (d.last_seen_at_ms IS NULL OR a.seen >= d.last_seen_at_ms)
                           THEN a.seq ELSE d.last_status_seq END,
    plays = d.plays + a.stored,
    last_screenshot_at_ms = greatest(d.last_screenshot_at_ms, a.shot)
  FROM agg a WHERE d.id = a.device_id
)
SELECT count(*) FROM pl_ins)sql";

// A status row goes once it is older than the cutoff ($1) or beyond its
// device's newest $2, but a device's newest row stays whatever its age, as
// in the SQLite backend (which reads the latest status from it) and
// tst_storage's retentionBoundsHistory.
const char *const kTrimStatuses = R"sql(
DELETE FROM statuses s USING (
  SELECT seq FROM (
    SELECT seq, received_at_ms,
           row_number() OVER (PARTITION BY device_id ORDER BY received_at_ms DESC, seq DESC) AS n
    FROM statuses
  ) AS ranked
  WHERE (n > $2::bigint OR received_at_ms < $1::bigint) AND n > 1
) AS doomed
WHERE s.seq = doomed.seq)sql";

} // namespace

using namespace pg;

StorageResult<IngestCounts> PostgresStorage::ingest(const IngestBatch &batch)
{
    IngestCounts counts;
    if (batch.empty())
        return counts;

    std::vector<std::string_view> ids;
    ids.reserve(batch.statuses.size() + batch.plays.size() + batch.screenshots.size());
    for (const auto &st : batch.statuses)
        ids.push_back(st.deviceId);
    for (const auto &p : batch.plays)
        ids.push_back(p.deviceId);
    for (const auto &sh : batch.screenshots)
        ids.push_back(sh.deviceId);
    std::ranges::sort(ids);
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    Params lock;
    lock.add(textArray(ids, [](std::string_view id) { return id; }));

    const auto &st = batch.statuses;
    const auto &pl = batch.plays;
    const auto &sh = batch.screenshots;
    Params rows;
    rows.add(textArray(st, [](const StatusReport &s) -> std::string_view { return s.deviceId; }))
        .add(intArray(st, [](const StatusReport &s) -> std::optional<std::int64_t> { return s.receivedAtMs; }))
        .add(intArray(st, [](const StatusReport &s) { return s.manifestVersion; }))
        .add(textArray(st, [](const StatusReport &s) -> std::string_view { return s.body; }))
        .add(textArray(pl, [](const PlayRecord &p) -> std::string_view { return p.deviceId; }))
        .add(textArray(pl, [](const PlayRecord &p) -> std::string_view { return p.id; }))
        .add(intArray(pl, [](const PlayRecord &p) -> std::optional<std::int64_t> { return p.receivedAtMs; }))
        .add(textArray(pl, [](const PlayRecord &p) -> std::string_view { return p.line; }))
        .add(textArray(sh, [](const ScreenshotRecord &s) -> std::string_view { return s.deviceId; }))
        .add(textArray(sh, [](const ScreenshotRecord &s) -> std::string_view { return s.sha256Hex; }))
        .add(intArray(sh, [](const ScreenshotRecord &s) -> std::optional<std::int64_t> { return s.bytes; }))
        .add(intArray(sh, [](const ScreenshotRecord &s) -> std::optional<std::int64_t> { return s.receivedAtMs; }));

    Params online;
    online.add(textArray(st, [](const StatusReport &s) -> std::string_view { return s.deviceId; }))
        .add(intArray(st, [](const StatusReport &s) -> std::optional<std::int64_t> { return s.receivedAtMs; }))
        .add(onlineWindowMs());

    return pool_->run(false, [&](Session &s) -> StorageResult<IngestCounts> {
        auto r = st.empty() ? s.pipeline("ingesting a batch", {{kLockDevices, &lock}, {kIngest, &rows}})
                            : s.pipeline("ingesting a batch", {{kLockDevices, &lock}, {kIngest, &rows}, {kExtendOnline, &online}});
        if (!r)
            return std::unexpected(r.error());
        const PGresult *res = (*r)[1].get();
        if (!res || PQntuples(res) != 1)
            return fail(Code::Failed, "ingesting a batch: no count in the answer");
        IngestCounts c;
        c.playsStored = integer(res, 0, 0);
        c.playsDuplicate = static_cast<std::int64_t>(batch.plays.size()) - c.playsStored;
        return c;
    });
}

StorageResult<std::vector<std::string>> PostgresStorage::trimScreenshots(const std::string &deviceId, int keep)
{
    return pool_->run(false, [&](Session &s) -> StorageResult<std::vector<std::string>> {
        if (auto r = s.begin(); !r)
            return std::unexpected(r.error());
        auto dropped = s.exec("trimming screenshots",
                              "DELETE FROM screenshots WHERE device_id = $1 AND ctid NOT IN ("
                              "SELECT ctid FROM screenshots WHERE device_id = $1 "
                              "ORDER BY received_at_ms DESC LIMIT $2::bigint) RETURNING sha256",
                              Params().add(deviceId).add(std::int64_t{std::max(keep, 0)}));
        if (!dropped)
            return std::unexpected(dropped.error());
        std::string array = "{";
        for (int i = 0; i < PQntuples(dropped->get()); ++i)
            array += (i ? "," : "") + text(dropped->get(), i, 0); // lowercase hex: no quoting needed
        array += "}";
        // The same transaction sees its own deletion.
        auto unused = s.exec("trimming screenshots",
                             "SELECT DISTINCT h FROM unnest($1::text[]) AS h "
                             "WHERE NOT EXISTS (SELECT 1 FROM screenshots WHERE sha256 = h) ORDER BY h",
                             Params().add(array));
        if (!unused)
            return std::unexpected(unused.error());
        std::vector<std::string> out;
        for (int i = 0; i < PQntuples(unused->get()); ++i)
            out.push_back(text(unused->get(), i, 0));
        if (auto r = s.commit(); !r)
            return std::unexpected(r.error());
        return out;
    });
}

StorageResult<std::int64_t> PostgresStorage::applyRetention(const Retention &retention, std::int64_t nowMs)
{
    if (retention.maxAgeMs < 0 || retention.statusesPerDevice < 0)
        return fail(Code::Invalid, "retention: maxAgeMs and statusesPerDevice must not be negative");
    std::int64_t cutoff = 0;
    if (__builtin_sub_overflow(nowMs, retention.maxAgeMs, &cutoff))
        cutoff = std::numeric_limits<std::int64_t>::min();

    return pool_->run(false, [&](Session &s) -> StorageResult<std::int64_t> {
        if (auto r = s.begin(); !r)
            return std::unexpected(r.error());
        // Replicas running retention at once would scan and delete the same
        // rows; the second waits and then finds little to do.
        if (auto r = s.exec("locking retention", "SELECT pg_advisory_xact_lock($1::bigint)",
                            Params().add(kRetentionLock));
            !r)
            return std::unexpected(r.error());
        std::int64_t removed = 0;
        auto statuses =
            s.exec("trimming statuses", kTrimStatuses, Params().add(cutoff).add(retention.statusesPerDevice));
        if (!statuses)
            return std::unexpected(statuses.error());
        removed += affected(statuses->get());
        auto plays = s.exec("trimming plays", "DELETE FROM plays WHERE received_at_ms < $1::bigint",
                            Params().add(cutoff));
        if (!plays)
            return std::unexpected(plays.error());
        removed += affected(plays->get());
        auto shots = s.exec("trimming screenshots", "DELETE FROM screenshots WHERE received_at_ms < $1::bigint",
                            Params().add(cutoff));
        if (!shots)
            return std::unexpected(shots.error());
        removed += affected(shots->get());
        // Each device's newest stretch before the cutoff stays: the record
        // still reaches back that far (storage.h Retention).
        std::int64_t stretchCutoff = 0;
        if (__builtin_sub_overflow(nowMs, retention.stretchesMaxAgeMs, &stretchCutoff))
            stretchCutoff = std::numeric_limits<std::int64_t>::min();
        auto stretches = s.exec("trimming online stretches",
                                "DELETE FROM online_stretches AS s WHERE to_ms < $1::bigint AND EXISTS ("
                                "SELECT 1 FROM online_stretches n WHERE n.device_id = s.device_id "
                                "AND n.to_ms < $1::bigint "
                                "AND (n.to_ms > s.to_ms OR (n.to_ms = s.to_ms AND n.from_ms > s.from_ms)))",
                                Params().add(stretchCutoff));
        if (!stretches)
            return std::unexpected(stretches.error());
        removed += affected(stretches->get());
        if (auto r = s.commit(); !r)
            return std::unexpected(r.error());
        return removed;
    });
}

} // namespace stoa::hub
