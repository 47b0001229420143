// hub/ingest.h — the bounded queue between device requests and storage.
//
// Job: turn many small writes (a heartbeat, a plays batch) into few
// transactions: a writer thread takes everything queued, commits it as
// one batch (group commit: one fsync for hundreds of requests), then
// answers each submitter. With `writers` > 1 (PostgreSQL, where batches
// can commit side by side) a second batch is built and sent while the
// first one commits, instead of waiting for its round trips; a device's
// requests always go to the same writer (by its id), so two batches in
// flight never touch the same device rows and never wait on each other's
// row locks, and a device's records commit in the order they came.
// With a storage that can commit before it syncs (DeferredSyncIngest:
// SQLite, whose fsync of the WAL was the writer's idle half), the writer
// commits a batch and hands it to the syncer thread, which makes every
// batch committed so far durable with one sync and then answers them,
// while the writer already commits the next batch (at most one batch
// syncing and one committed behind it: the rest waits to make the next
// batch bigger).
// Invariants:
//  - bounded: submit() refuses (returns false, the caller answers 503 +
//    Retry-After) once `maxPendingRequests` or `maxPendingBytes` is reached,
//    or once the oldest request waiting for its writer has waited
//    `maxQueueDelayMs` (a database slower than the traffic: what is accepted
//    is answered in time, the rest is told to come back, instead of every
//    device waiting until it times out),
//    so a traffic spike costs refusals, never unbounded memory — the seed
//    outage's "memory spike, then domino" cannot start here;
//  - a submitter's callback runs exactly once, on the writer thread (the
//    syncer thread with a DeferredSyncIngest), after its data was committed
//    and made durable (ok) or either failed (error): a 2xx sent from the
//    callback means stored; a request's bytes stay counted until then;
//  - stop() commits what was accepted, answers every callback, and joins.
#pragma once

#include "hub/storage.h"

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace stoa::hub {

// A storage whose ingest can be split in two: commit (visible, durable
// against a crash of the process) and sync (durable against a power cut).
// The queue finds it by dynamic_cast on the Storage it is given.
class DeferredSyncIngest {
public:
    virtual ~DeferredSyncIngest() = default;
    // Storage::ingest() without its sync.
    virtual StorageResult<IngestCounts> ingestCommitted(const IngestBatch &batch) = 0;
    // Every ingestCommitted() that returned before this call is durable
    // once it returns ok.
    virtual StorageResult<void> syncCommitted() = 0;
};

struct IngestOptions {
    std::size_t maxPendingRequests = 20000;
    std::size_t maxPendingBytes = std::size_t{64} << 20;
    std::size_t maxBatchRequests = 4000; // per transaction
    unsigned writers = 1;                // threads committing batches (Hub::open: 0 = by backend)
    std::int64_t maxQueueDelayMs = 2000; // refuse while the oldest waiting request is older
};

struct IngestStats {
    std::size_t pendingRequests = 0;
    std::size_t pendingBytes = 0;
    std::uint64_t committedBatches = 0;
    std::uint64_t failedBatches = 0;
    std::uint64_t refused = 0;
};

class IngestQueue {
public:
    using Done = std::function<void(const StorageResult<IngestCounts> &)>;

    IngestQueue(Storage &storage, IngestOptions options);
    ~IngestQueue(); // stop()
    IngestQueue(const IngestQueue &) = delete;
    IngestQueue &operator=(const IngestQueue &) = delete;

    // `bytes` is what the request weighs in memory (its body). False: full,
    // or stopped; `done` is then not called.
    bool submit(IngestBatch batch, std::size_t bytes, Done done);
    IngestStats stats() const;
    void stop();

private:
    struct Item {
        IngestBatch batch;
        std::size_t bytes = 0;
        Done done;
        std::chrono::steady_clock::time_point queued;
    };
    // Committed by a writer, waiting for the syncer (DeferredSyncIngest).
    struct Committed {
        std::vector<Item> items;
        std::size_t bytes = 0;
        StorageResult<IngestCounts> result;
    };
    void run(std::size_t shard);
    void runSyncer();
    // Answers `items` with `result` and releases their bytes.
    void finish(std::vector<Item> &items, std::size_t bytes, const StorageResult<IngestCounts> &result);

    Storage &storage_;
    DeferredSyncIngest *const deferred_; // null: ingest() commits durably
    const IngestOptions options_;
    mutable std::mutex mutex_;     // guards the members below
    // One queue per writer; the bounds are over all of them.
    struct Shard {
        std::condition_variable wake;
        std::deque<Item> queue;
    };
    std::vector<Shard> shards_;
    std::size_t pendingRequests_ = 0;
    std::size_t pendingBytes_ = 0;
    bool stopping_ = false;
    IngestStats stats_;
    std::condition_variable syncWake_;  // with mutex_: committed_ or writersDone_
    std::vector<Committed> committed_;  // in commit order
    std::size_t unsynced_ = 0;          // committed, not yet answered
    std::condition_variable syncDone_;  // with mutex_: unsynced_ fell
    bool writersDone_ = false;
    std::thread syncer_;               // with deferred_ only
    std::vector<std::thread> writers_; // last: start once the rest is built
};

} // namespace stoa::hub
