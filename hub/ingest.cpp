#include "hub/ingest.h"

#include "hub/logging.h"

#include <algorithm>

namespace stoa::hub {
namespace {

// Batches committed and not yet synced, per queue (DeferredSyncIngest).
constexpr std::size_t kMaxUnsynced = 2;

} // namespace

IngestQueue::IngestQueue(Storage &storage, IngestOptions options)
    : storage_(storage), deferred_(dynamic_cast<DeferredSyncIngest *>(&storage)), options_(options),
      shards_(std::max(1u, options.writers))
{
    if (deferred_)
        syncer_ = std::thread([this] { runSyncer(); });
    for (std::size_t i = 0; i < shards_.size(); ++i)
        writers_.emplace_back([this, i] { run(i); });
}

IngestQueue::~IngestQueue() { stop(); }

bool IngestQueue::submit(IngestBatch batch, std::size_t bytes, Done done)
{
    // A request is one device's (the hub never mixes devices in one).
    const std::string *device = !batch.statuses.empty() ? &batch.statuses.front().deviceId
                                : !batch.plays.empty()  ? &batch.plays.front().deviceId
                                : !batch.screenshots.empty() ? &batch.screenshots.front().deviceId
                                                             : nullptr;
    const std::size_t shard = device ? std::hash<std::string>{}(*device) % shards_.size() : 0;
    const auto now = std::chrono::steady_clock::now();
    {
        std::lock_guard lock(mutex_);
        const auto &queue = shards_[shard].queue;
        const bool late = !queue.empty()
                          && now - queue.front().queued >= std::chrono::milliseconds(options_.maxQueueDelayMs);
        if (stopping_ || late || pendingRequests_ >= options_.maxPendingRequests
            || pendingBytes_ + bytes > options_.maxPendingBytes) {
            ++stats_.refused;
            return false;
        }
        shards_[shard].queue.push_back({std::move(batch), bytes, std::move(done), now});
        ++pendingRequests_;
        pendingBytes_ += bytes;
    }
    shards_[shard].wake.notify_one();
    return true;
}

IngestStats IngestQueue::stats() const
{
    std::lock_guard lock(mutex_);
    IngestStats s = stats_;
    s.pendingRequests = pendingRequests_;
    s.pendingBytes = pendingBytes_;
    return s;
}

void IngestQueue::stop()
{
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    for (auto &shard : shards_)
        shard.wake.notify_all();
    for (auto &writer : writers_)
        if (writer.joinable())
            writer.join();
    {
        std::lock_guard lock(mutex_);
        writersDone_ = true;
    }
    syncWake_.notify_all();
    if (syncer_.joinable())
        syncer_.join();
}

void IngestQueue::finish(std::vector<Item> &items, std::size_t bytes, const StorageResult<IngestCounts> &result)
{
    {
        std::lock_guard lock(mutex_);
        pendingBytes_ -= bytes;
        ++(result ? stats_.committedBatches : stats_.failedBatches);
    }
    if (!result)
        qCWarning(lcHub).noquote() << "ingest: a batch of" << items.size()
                                   << "request(s) was not stored:" << result.error().message.c_str();
    for (auto &item : items)
        item.done(result);
}

void IngestQueue::runSyncer()
{
    for (;;) {
        std::vector<Committed> batches;
        {
            std::unique_lock lock(mutex_);
            syncWake_.wait(lock, [&] { return writersDone_ || !committed_.empty(); });
            if (committed_.empty())
                return; // the writers are done and everything was answered
            batches.swap(committed_);
        }
        // One sync for every batch committed while the previous one ran.
        const auto synced = deferred_->syncCommitted();
        for (auto &batch : batches) {
            if (batch.result && !synced)
                batch.result = std::unexpected(synced.error());
            finish(batch.items, batch.bytes, batch.result);
        }
        {
            std::lock_guard lock(mutex_);
            unsynced_ -= batches.size();
        }
        syncDone_.notify_all();
    }
}

void IngestQueue::run(std::size_t index)
{
    Shard &shard = shards_[index];
    for (;;) {
        std::vector<Item> taken;
        {
            std::unique_lock lock(mutex_);
            // Double buffering: one batch syncing, one committing. Past
            // that the requests wait in the queue and make the next batch
            // bigger (a commit costs about the same whatever its size).
            syncDone_.wait(lock, [&] { return unsynced_ < kMaxUnsynced; });
            shard.wake.wait(lock, [&] { return stopping_ || !shard.queue.empty(); });
            if (shard.queue.empty())
                return; // stopping, and everything accepted was answered
            while (!shard.queue.empty() && taken.size() < options_.maxBatchRequests) {
                taken.push_back(std::move(shard.queue.front()));
                shard.queue.pop_front();
            }
            pendingRequests_ -= taken.size();
        }
        // Merged into one transaction; the bytes stay counted until the
        // commit, so the bound holds while a batch is being written.
        IngestBatch merged;
        std::size_t bytes = 0;
        for (auto &item : taken) {
            bytes += item.bytes;
            auto move = [](auto &to, auto &from) {
                to.insert(to.end(), std::make_move_iterator(from.begin()), std::make_move_iterator(from.end()));
            };
            move(merged.statuses, item.batch.statuses);
            move(merged.plays, item.batch.plays);
            move(merged.screenshots, item.batch.screenshots);
        }
        if (!deferred_) {
            finish(taken, bytes, storage_.ingest(merged));
            continue;
        }
        auto result = deferred_->ingestCommitted(merged);
        {
            std::lock_guard lock(mutex_);
            committed_.push_back({std::move(taken), bytes, std::move(result)});
            ++unsynced_;
        }
        syncWake_.notify_one();
    }
}

} // namespace stoa::hub
