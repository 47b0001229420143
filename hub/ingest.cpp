#include "hub/ingest.h"

#include "hub/logging.h"

namespace stoa::hub {

IngestQueue::IngestQueue(Storage &storage, IngestOptions options)
    : storage_(storage), options_(options), writer_([this] { run(); })
{
}

IngestQueue::~IngestQueue() { stop(); }

bool IngestQueue::submit(IngestBatch batch, std::size_t bytes, Done done)
{
    {
        std::lock_guard lock(mutex_);
        if (stopping_ || queue_.size() >= options_.maxPendingRequests
            || pendingBytes_ + bytes > options_.maxPendingBytes) {
            ++stats_.refused;
            return false;
        }
        queue_.push_back({std::move(batch), bytes, std::move(done)});
        pendingBytes_ += bytes;
    }
    wake_.notify_one();
    return true;
}

IngestStats IngestQueue::stats() const
{
    std::lock_guard lock(mutex_);
    IngestStats s = stats_;
    s.pendingRequests = queue_.size();
    s.pendingBytes = pendingBytes_;
    return s;
}

void IngestQueue::stop()
{
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_one();
    if (writer_.joinable())
        writer_.join();
}

void IngestQueue::run()
{
    for (;;) {
        std::vector<Item> taken;
        {
            std::unique_lock lock(mutex_);
            wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
            if (queue_.empty())
                return; // stopping, and everything accepted was answered
            while (!queue_.empty() && taken.size() < options_.maxBatchRequests) {
                taken.push_back(std::move(queue_.front()));
                queue_.pop_front();
            }
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
