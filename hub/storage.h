// hub/storage.h — what the hub keeps, behind one interface with two
// backends: SQLite (the embedded default, sqlite_storage.h) and PostgreSQL
// (several hub replicas, postgres_storage.h). tests/hub runs one suite
// against both.
//
// Job: devices and their hashed tokens, operators and their hashed tokens,
// the latest status of every device and a bounded history of it, when each
// device was online (stretches, kept by age, not count), proof-of-
// play records de-duplicated by (device, id), screenshot records (the bytes
// are on disk, content-addressed, screenshots.h), and the summary the
// operator API lists.
// Invariants:
//  - a call that returned success is durable: ingest() commits before it
//    returns, so a 2xx answered after it survives SIGKILL of the hub;
//  - ingest() is all-or-nothing for the whole batch it is given;
//  - a play record with a (device, id) already stored is ignored, never
//    stored twice, and not an error (devices send at least once);
//  - tokens are stored as their hash only (credentials.h); nothing here sees
//    a token in clear;
//  - every method may be called from any thread; an implementation
//    serialises what it must;
//  - text handed to ingest() is valid UTF-8 without NUL bytes (the hub
//    checks request bodies before queueing them): PostgreSQL refuses
//    anything else, and one bad record would fail a whole group commit;
//  - statuses are stored at least once: an Unavailable answer may come
//    after the commit (the connection was lost), and the device then sends
//    the heartbeat again; plays are exactly-once by their id;
//  - records for an id with no device row are stored (no foreign keys):
//    the hub only ingests for authenticated devices.
//  - the audit log is append-only: entries are never changed, and retention
//    does not remove them (who changed what stays answerable);
//    their ids increase in the order they were added.
// Errors are values: StorageError says which kind, with a message for logs.
#pragma once

#include <atomic>
#include <cstdint>
#include <expected>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace stoa::hub {

struct StorageError {
    enum class Code {
        Unavailable, // cannot reach or open the database
        Conflict,    // the name or id exists already
        NotFound,    // no such device or operator
        Invalid,     // the caller's input breaks a rule (message says which)
        Failed,      // the database answered with an error
    };
    Code code = Code::Failed;
    std::string message;
};

template <class T>
using StorageResult = std::expected<T, StorageError>;

enum class Role { Admin, Editor, Viewer };
const char *roleName(Role role);
std::optional<Role> roleFromName(const std::string &name);

struct Operator {
    std::string name;
    Role role = Role::Viewer;
};

// One heartbeat as received (spec §5): the body is kept verbatim.
struct StatusReport {
    std::string deviceId;
    std::int64_t receivedAtMs = 0;         // hub's clock, ms since the epoch
    std::optional<std::int64_t> manifestVersion; // manifest.version, when given
    std::string body;                      // the JSON document
};

// One proof-of-play record (spec §6): the line is kept verbatim.
struct PlayRecord {
    std::string deviceId;
    std::string id;                        // the record's "id", unique per device
    std::int64_t receivedAtMs = 0;
    std::string line;                      // the JSON object
};

// A screenshot stored on disk under its SHA-256.
struct ScreenshotRecord {
    std::string deviceId;
    std::string sha256Hex;
    std::int64_t bytes = 0;
    std::int64_t receivedAtMs = 0;
};

// What one ingest() call commits, in one transaction.
struct IngestBatch {
    std::vector<StatusReport> statuses;
    std::vector<PlayRecord> plays;
    std::vector<ScreenshotRecord> screenshots;
    bool empty() const { return statuses.empty() && plays.empty() && screenshots.empty(); }
};

struct IngestCounts {
    std::int64_t playsStored = 0;     // new records
    std::int64_t playsDuplicate = 0;  // ids already stored, ignored
};

// A device's credentials as of `version` (credentialsSince()).
struct DeviceCredential {
    std::string deviceId;
    std::string tokenHash;  // empty: none
    bool revoked = false;
    std::int64_t version = 0;
};

// A device as the operator API lists it.
struct DeviceSummary {
    std::string id;
    bool revoked = false;
    std::optional<std::int64_t> lastSeenAtMs;      // last heartbeat received
    std::optional<std::int64_t> manifestVersion;   // from the last heartbeat
    std::int64_t plays = 0;                        // records ever stored (retention keeps the count)
    std::optional<std::int64_t> lastScreenshotAtMs;
    std::optional<std::string> group;              // at most one; publishing targets it
    std::vector<std::string> tags;                 // sorted, unique; for filtering
};

// One change an operator made (the console's audit log, docs/hub-api.md).
struct AuditEntry {
    std::int64_t id = 0;       // assigned by addAudit(), increasing
    std::int64_t atMs = 0;     // hub's clock
    std::string operatorName;
    std::string action;        // e.g. "schedule.publish", "media.delete"
    std::string target;        // e.g. "groups/lobby", a media name, a device id
    std::string detail;        // one line for people ("version 7: …")
};

// A time a device was online, by the fleet's rule (online for the window
// after each heartbeat received): the first and the last heartbeat of a run
// of heartbeats each within the window of the one before. The timeline
// shows [fromMs, toMs + window]. Kept apart from the heartbeats (whose
// history is bounded by count, ~33 h) so the 7- and 30-day timelines have
// a record; stretches may overlap (a reader merges them).
struct OnlineStretch {
    std::int64_t fromMs = 0; // hub's clock
    std::int64_t toMs = 0;
};

// What onlineStretches() answers.
struct OnlineRecord {
    // The start of the oldest stretch kept for the device (retention keeps
    // one older than its cutoff, so the record's start survives it);
    // nullopt: none ever. Before it the hub has no record.
    std::optional<std::int64_t> recordedFromMs;
    std::vector<OnlineStretch> stretches; // ending at or after the asked time, by fromMs
};

// How much history is kept. applyRetention() deletes status rows, play
// rows and screenshot rows received before now - maxAgeMs, and status rows
// beyond the newest statusesPerDevice of each device; but each device's
// newest status row stays, whatever its age (latestStatus() and the
// history keep it). DeviceSummary::plays counts every record ever stored,
// so retention never lowers it. Online stretches that ended before
// now - stretchesMaxAgeMs go, but each device's newest of those stays (it
// says that the record reaches back past the cutoff: the timelines, at most
// 30 days, then never show kept time as "no record").
struct Retention {
    std::int64_t maxAgeMs = std::int64_t{30} * 86400 * 1000;
    std::int64_t statusesPerDevice = 2000;
    std::int64_t stretchesMaxAgeMs = std::int64_t{35} * 86400 * 1000;
};

class Storage {
public:
    virtual ~Storage() = default;

    // Creates or upgrades the schema to the current version. Idempotent;
    // refuses a database whose schema is newer than this program knows.
    virtual StorageResult<void> migrate() = 0;
    // A cheap round trip: /healthz is 200 only while this succeeds.
    virtual StorageResult<void> ping() = 0;

    // Devices. Ids follow spec §1 (1–64 of [A-Za-z0-9._-]); the caller checks.
    virtual StorageResult<void> addDevice(const std::string &id, const std::string &tokenHash,
                                          std::int64_t nowMs) = 0;                        // Conflict
    virtual StorageResult<void> setDeviceToken(const std::string &id, const std::string &tokenHash) = 0; // NotFound; un-revokes
    virtual StorageResult<void> revokeDevice(const std::string &id) = 0;                  // NotFound
    // The id of the device whose token hashes to `tokenHash`; nullopt when
    // none, or when that device is revoked.
    virtual StorageResult<std::optional<std::string>> deviceForToken(const std::string &tokenHash) = 0;
    virtual StorageResult<bool> deviceExists(const std::string &id) = 0;
    // Every change of a device's credentials (added, new token, revoked)
    // takes the next version, and versions become visible in order: the
    // devices whose credentials changed after `afterVersion`, by version.
    // -1: every device. How a hub follows tokens without asking per request
    // (device_tokens.h).
    virtual StorageResult<std::vector<DeviceCredential>> credentialsSince(std::int64_t afterVersion) = 0;
    // Group and tags: names of 1-64 of [A-Za-z0-9._-] (the caller checks).
    virtual StorageResult<void> setDeviceGroup(const std::string &id, const std::optional<std::string> &group) = 0; // NotFound
    virtual StorageResult<void> setDeviceTags(const std::string &id, const std::vector<std::string> &tags) = 0;     // NotFound
    virtual StorageResult<std::vector<DeviceSummary>> devices() = 0;                      // by id
    virtual StorageResult<std::int64_t> deviceCount() = 0;

    // The latest heartbeat body of a device; nullopt before its first.
    virtual StorageResult<std::optional<StatusReport>> latestStatus(const std::string &id) = 0;
    // Heartbeats received, newest first, at most `limit`.
    virtual StorageResult<std::vector<StatusReport>> statusHistory(const std::string &id, int limit) = 0;
    // The device's online stretches ending at or after `sinceMs`, oldest
    // first, and where its record starts (OnlineRecord). ingest() keeps
    // them: a heartbeat within onlineWindowMs() of a stretch extends it,
    // another starts a new one.
    virtual StorageResult<OnlineRecord> onlineStretches(const std::string &id, std::int64_t sinceMs) = 0;
    // The fleet's online window (Hub options' onlineMs), set before the
    // first ingest(); the default is the hub's.
    void setOnlineWindow(std::int64_t ms) { onlineWindowMs_.store(ms, std::memory_order_relaxed); }
    std::int64_t onlineWindowMs() const { return onlineWindowMs_.load(std::memory_order_relaxed); }
    // Play records of a device, oldest first by receipt, at most `limit`.
    virtual StorageResult<std::vector<PlayRecord>> plays(const std::string &id, int limit) = 0;

    // Play records of every device received in [fromMs, untilMs), oldest
    // first by receipt, at most `limit` (the proof-of-play report).
    virtual StorageResult<std::vector<PlayRecord>> playsReceivedBetween(std::int64_t fromMs, std::int64_t untilMs,
                                                                        int limit) = 0;

    // The audit log: addAudit() returns the new entry's id; audit() lists
    // entries newest first, only ids below `beforeId` (0: from the newest),
    // at most `limit` (a page; the next page starts below the last id).
    virtual StorageResult<std::int64_t> addAudit(const AuditEntry &entry) = 0;
    virtual StorageResult<std::vector<AuditEntry>> audit(std::int64_t beforeId, int limit) = 0;

    // Operators.
    virtual StorageResult<void> addOperator(const std::string &name, Role role, const std::string &tokenHash,
                                            std::int64_t nowMs) = 0;                      // Conflict
    virtual StorageResult<std::optional<Operator>> operatorForToken(const std::string &tokenHash) = 0;
    // Passwords (a passwords.h hash; empty: none set) and login sessions.
    virtual StorageResult<void> setOperatorPassword(const std::string &name, const std::string &passwordHash) = 0; // NotFound
    // The operator and its password hash; nullopt: no such operator.
    virtual StorageResult<std::optional<std::pair<Operator, std::string>>> operatorPassword(const std::string &name) = 0;
    virtual StorageResult<void> addSession(const std::string &tokenHash, const std::string &name, std::int64_t expiresAtMs) = 0;
    // The session's operator while it has not expired at `nowMs`.
    virtual StorageResult<std::optional<Operator>> sessionOperator(const std::string &tokenHash, std::int64_t nowMs) = 0;
    virtual StorageResult<void> removeSession(const std::string &tokenHash) = 0;

    // Everything in `batch`, in one transaction, durable on return.
    virtual StorageResult<IngestCounts> ingest(const IngestBatch &batch) = 0;

    // Keeps the newest `keep` screenshot records of `deviceId` and deletes
    // the rest; returns the digests no record of any device names any more
    // (their files may go).
    virtual StorageResult<std::vector<std::string>> trimScreenshots(const std::string &deviceId, int keep) = 0;

    // Drops history older than the retention allows; returns rows removed.
    virtual StorageResult<std::int64_t> applyRetention(const Retention &retention, std::int64_t nowMs) = 0;

private:
    std::atomic<std::int64_t> onlineWindowMs_{3 * 60 * 1000};
};

} // namespace stoa::hub
