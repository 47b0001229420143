// hub/work_pool.cpp — WorkPool (work_pool.h): the worker threads and their
// bounded queue.
#include "hub/work_pool.h"

namespace stoa::hub {

WorkPool::WorkPool(Options options) : options_(options) {}

WorkPool::~WorkPool() { stop(); }

void WorkPool::start()
{
    std::lock_guard lock(mutex_);
    if (accepting_ || !threads_.empty())
        return;
    accepting_ = true;
    const unsigned n = options_.threads ? options_.threads : 1;
    for (unsigned i = 0; i < n; ++i)
        threads_.emplace_back([this] { run(); });
}

void WorkPool::stop()
{
    std::vector<std::thread> threads;
    {
        std::lock_guard lock(mutex_);
        accepting_ = false;
        threads.swap(threads_);
    }
    wake_.notify_all();
    for (auto &t : threads)
        t.join();
}

bool WorkPool::submit(std::function<void()> job)
{
    {
        std::lock_guard lock(mutex_);
        if (!accepting_ || queue_.size() >= options_.queueLimit) {
            ++refused_;
            return false;
        }
        queue_.push_back(std::move(job));
    }
    wake_.notify_one();
    return true;
}

WorkPool::Stats WorkPool::stats() const
{
    std::lock_guard lock(mutex_);
    return {queue_.size(), running_, refused_};
}

void WorkPool::run()
{
    std::unique_lock lock(mutex_);
    for (;;) {
        wake_.wait(lock, [this] { return !accepting_ || !queue_.empty(); });
        if (queue_.empty())
            return; // stopping, and every accepted job ran
        auto job = std::move(queue_.front());
        queue_.pop_front();
        ++running_;
        lock.unlock();
        job();
        job = nullptr; // its captures (a suspended connection's answer) go before the lock is taken
        lock.lock();
        --running_;
    }
}

} // namespace stoa::hub
