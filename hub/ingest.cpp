#include "hub/ingest.h"

#include "hub/logging.h"

#include <algorithm>

namespace stoa::hub {

IngestQueue::IngestQueue(Storage &storage, IngestOptions options)
    : storage_(storage), options_(options), shards_(std::max(1u, options.writers))
{
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
}

void IngestQueue::run(std::size_t index)
{
    Shard &shard = shards_[index];
    for (;;) {
        std::vector<Item> taken;
        {
            std::unique_lock lock(mutex_);
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
        const auto result = storage_.ingest(merged);
        {
            std::lock_guard lock(mutex_);
            pendingBytes_ -= bytes;
            ++(result ? stats_.committedBatches : stats_.failedBatches);
        }
        if (!result)
            qCWarning(lcHub).noquote() << "ingest: a batch of" << taken.size()
                                       << "request(s) was not stored:" << result.error().message.c_str();
        for (auto &item : taken)
            item.done(result);
    }
}

} // namespace stoa::hub
