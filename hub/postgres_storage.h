// hub/postgres_storage.h — the PostgreSQL storage backend, through libpq, for
// several hub replicas sharing one database.
//
// Job: Storage (storage.h) on PostgreSQL: a small pool of connections shared
// by every thread, the schema and its migrations, and the ingest of a whole
// batch in one transaction and one round trip.
// Invariants:
//  - a connection is used by one call at a time; at most `maxConnections`
//    exist; a call waits (bounded) for a free one rather than opening more,
//    so N replicas cost the server at most N × maxConnections backends;
//  - a connection that went bad is reset before it is used again; a call
//    that cannot reach the server answers Unavailable. A call is retried
//    once on a fresh connection only when it certainly did not take effect
//    (or only reads), so a write is never applied twice;
//  - ingest() runs as one implicit transaction (pipeline of two statements
//    and a Sync): it returns success only after the server committed, with
//    the server's synchronous_commit (default on: flushed to WAL);
//  - concurrent batches lock the devices rows they touch in id order before
//    writing, so two replicas ingesting for the same devices serialise
//    instead of deadlocking (a deadlock or serialisation failure that still
//    happens is retried, the transaction having been rolled back);
//  - the schema version lives in hub_schema; migrate() holds a transaction-
//    scoped advisory lock, so replicas starting together migrate once, and
//    refuses a database newer than this program.
// Identifiers (device ids, play ids, operator names) are COLLATE "C": order
// and equality are bytewise, as in the SQLite backend, whatever the
// database's locale.
// The members are defined by concern in hub/postgres_*.cpp
// (postgres_storage_impl.h says which file holds what).
#pragma once

#include "hub/storage.h"

#include <memory>
#include <string>

namespace stoa::hub {

class PostgresStorage final : public Storage {
public:
    // `conninfoOrUrl`: a libpq connection string or a postgresql:// URL,
    // passed to libpq as given (its parameters override the defaults this
    // backend sets: connect_timeout, keepalives, application_name; not
    // client_encoding, which is always UTF8).
    // Connects once to check the server answers (Unavailable otherwise);
    // does not migrate.
    static StorageResult<std::unique_ptr<PostgresStorage>> open(const std::string &conninfoOrUrl,
                                                               int maxConnections = 4);
    ~PostgresStorage() override;
    PostgresStorage(const PostgresStorage &) = delete;
    PostgresStorage &operator=(const PostgresStorage &) = delete;

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
    StorageResult<std::vector<std::string>> trimScreenshots(const std::string &deviceId, int keep) override;
    StorageResult<std::int64_t> applyRetention(const Retention &retention, std::int64_t nowMs) override;

    class Pool; // the connections; defined in postgres_storage_impl.h

private:
    explicit PostgresStorage(std::unique_ptr<Pool> pool);
    std::unique_ptr<Pool> pool_;
};

} // namespace stoa::hub
