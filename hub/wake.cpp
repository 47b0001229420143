#include "hub/wake.h"

#include <vector>

namespace stoa::hub {

WakeWaiters::WakeWaiters(Publisher &publisher, std::chrono::milliseconds hold, std::size_t maxWaiters)
    : publisher_(publisher), hold_(hold), maxWaiters_(maxWaiters), seenGeneration_(publisher.generation()),
      ticker_([this] { run(); })
{
}

WakeWaiters::~WakeWaiters() { stop(); }

HttpResponse WakeWaiters::changed(const std::string &cursor)
{
    return HttpResponse::json(200, "{\"cursor\":\"" + cursor + "\"}\n");
}

void WakeWaiters::wait(const std::string &deviceId, const std::string &after, Answer answer)
{
    const std::string cursor = publisher_.cursorFor(deviceId);
    if (after.empty() || after != cursor) {
        answer(changed(cursor));
        return;
    }
    std::unique_lock lock(mutex_);
    if (stopping_ || waiters_.size() >= maxWaiters_) {
        lock.unlock();
        auto busy = HttpResponse::json(503, "{\"error\":\"too many wake-up requests held; ask again later\"}\n");
        busy.headers.emplace_back("Retry-After", "30");
        answer(std::move(busy));
        return;
    }
    // §10: a device keeps at most one open. An older one of the same device
    // is a request its client gave up on (its connection may be gone): 204.
    std::vector<Waiter> replaced;
    for (auto [it, end] = waiters_.equal_range(deviceId); it != end;) {
        replaced.push_back(std::move(it->second));
        it = waiters_.erase(it);
    }
    waiters_.emplace(deviceId, Waiter{deviceId, after, std::chrono::steady_clock::now() + hold_, std::move(answer)});
    lock.unlock();
    for (auto &w : replaced) {
        HttpResponse r;
        r.status = 204;
        w.answer(std::move(r));
    }
}

void WakeWaiters::notify()
{
    {
        std::lock_guard lock(mutex_);
        notified_ = true;
    }
    wake_.notify_one();
}

std::size_t WakeWaiters::waiting() const
{
    std::lock_guard lock(mutex_);
    return waiters_.size();
}

void WakeWaiters::stop()
{
    std::vector<Waiter> left;
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
        for (auto &[id, w] : waiters_)
            left.push_back(std::move(w));
        waiters_.clear();
    }
    wake_.notify_one();
    if (ticker_.joinable())
        ticker_.join();
    for (auto &w : left) {
        HttpResponse r;
        r.status = 204;
        w.answer(std::move(r));
    }
}

void WakeWaiters::checkAll(bool refresh)
{
    if (refresh)
        publisher_.refresh();
    const auto now = std::chrono::steady_clock::now();
    std::vector<std::pair<Waiter, std::string>> due; // waiter, cursor ("" : hold time over)
    {
        std::lock_guard lock(mutex_);
        const bool changedSite = publisher_.generation() != seenGeneration_;
        seenGeneration_ = publisher_.generation();
        std::map<std::string, std::string> cursors;
        for (auto it = waiters_.begin(); it != waiters_.end();) {
            std::string cursor;
            if (changedSite) {
                auto c = cursors.find(it->first);
                if (c == cursors.end())
                    c = cursors.emplace(it->first, publisher_.cursorFor(it->first)).first;
                cursor = c->second;
            }
            if ((!cursor.empty() && cursor != it->second.after) || it->second.deadline <= now) {
                due.emplace_back(std::move(it->second), cursor != it->second.after ? cursor : std::string());
                it = waiters_.erase(it);
            } else {
                ++it;
            }
        }
    }
    for (auto &[w, cursor] : due) {
        if (!cursor.empty()) {
            w.answer(changed(cursor));
        } else {
            HttpResponse r;
            r.status = 204;
            w.answer(std::move(r));
        }
    }
}

void WakeWaiters::run()
{
    int ticks = 0;
    std::unique_lock lock(mutex_);
    while (!stopping_) {
        wake_.wait_for(lock, std::chrono::milliseconds(250), [this] { return stopping_ || notified_; });
        if (stopping_)
            break;
        const bool local = notified_;
        notified_ = false;
        lock.unlock();
        // A local publication already bumped the generation; otherwise look
        // at the disk (another replica) about once a second.
        checkAll(!local && (++ticks % 4 == 0));
        lock.lock();
    }
}

} // namespace stoa::hub
