// hub/sqlite_storage.h — the embedded storage backend: one SQLite file (WAL).
//
// Job: Storage (storage.h) on SQLite, needing nothing but a directory.
// Invariants:
//  - one writer connection, serialised by a mutex; readers use their own
//    connections (WAL lets them read while a batch commits), so a token
//    lookup never waits for an ingest's fsync;
//  - synchronous=FULL: a committed batch survives a power cut as well as a
//    SIGKILL; the ingest queue (ingest.h) batches requests so the fsync is
//    paid once per batch, not per request. ingestCommitted() alone commits
//    without the fsync (durable against a SIGKILL, visible to readers) and
//    syncCommitted() makes every such commit before it durable, off the
//    writer's lock: the queue answers after both, and commits the next
//    batch while the WAL syncs;
//  - the schema version is PRAGMA user_version; migrate() refuses a newer one.
// The members are defined by concern in hub/sqlite_*.cpp (sqlite_storage_impl.h
// says which file holds what).
#pragma once

#include "hub/ingest.h"
#include "hub/storage.h"

#include <memory>
#include <string>

namespace stoa::hub {

class SqliteStorage final : public Storage, public DeferredSyncIngest {
public:
    // Opens (creating if needed) the database file at `path`.
    static StorageResult<std::unique_ptr<SqliteStorage>> open(const std::string &path);
    ~SqliteStorage() override;

    StorageResult<void> migrate() override;
    StorageResult<void> ping() override;
    StorageResult<void> addDevice(const std::string &id, const std::string &tokenHash, std::int64_t nowMs) override;
    StorageResult<void> setDeviceToken(const std::string &id, const std::string &tokenHash) override;
    StorageResult<void> revokeDevice(const std::string &id) override;
    StorageResult<std::optional<std::string>> deviceForToken(const std::string &tokenHash) override;
    StorageResult<bool> deviceExists(const std::string &id) override;
    StorageResult<std::vector<DeviceCredential>> credentialsSince(std::int64_t afterVersion) override;
    StorageResult<void> setDeviceGroup(const std::string &id, const std::optional<std::string> &group) override;
    StorageResult<void> setDeviceTags(const std::string &id, const std::vector<std::string> &tags) override;
    StorageResult<std::vector<DeviceSummary>> devices() override;
    StorageResult<std::int64_t> deviceCount() override;
    StorageResult<std::optional<StatusReport>> latestStatus(const std::string &id) override;
    StorageResult<std::vector<StatusReport>> statusHistory(const std::string &id, int limit) override;
    StorageResult<OnlineRecord> onlineStretches(const std::string &id, std::int64_t sinceMs) override;
    StorageResult<std::vector<PlayRecord>> plays(const std::string &id, int limit) override;
    StorageResult<std::vector<PlayRecord>> playsReceivedBetween(std::int64_t fromMs, std::int64_t untilMs,
                                                                int limit) override;
    StorageResult<std::int64_t> addAudit(const AuditEntry &entry) override;
    StorageResult<std::vector<AuditEntry>> audit(std::int64_t beforeId, int limit) override;
    StorageResult<void> addOperator(const std::string &name, Role role, const std::string &tokenHash,
                                    std::int64_t nowMs) override;
    StorageResult<std::optional<Operator>> operatorForToken(const std::string &tokenHash) override;
    StorageResult<void> setOperatorPassword(const std::string &name, const std::string &passwordHash) override;
    StorageResult<std::optional<std::pair<Operator, std::string>>> operatorPassword(const std::string &name) override;
    StorageResult<void> addSession(const std::string &tokenHash, const std::string &name, std::int64_t expiresAtMs) override;
    StorageResult<std::optional<Operator>> sessionOperator(const std::string &tokenHash, std::int64_t nowMs) override;
    StorageResult<void> removeSession(const std::string &tokenHash) override;
    StorageResult<IngestCounts> ingest(const IngestBatch &batch) override;
    StorageResult<IngestCounts> ingestCommitted(const IngestBatch &batch) override;
    StorageResult<void> syncCommitted() override;
    StorageResult<std::vector<std::string>> trimScreenshots(const std::string &deviceId, int keep) override;
    StorageResult<std::int64_t> applyRetention(const Retention &retention, std::int64_t nowMs) override;

    struct Impl;

private:
    explicit SqliteStorage(std::unique_ptr<Impl> impl);
    // `durable`: with the commit's fsync (ingest()), or without (ingestCommitted()).
    StorageResult<IngestCounts> ingest(const IngestBatch &batch, bool durable);
    std::unique_ptr<Impl> d;
};

} // namespace stoa::hub
