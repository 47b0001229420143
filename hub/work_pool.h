// hub/work_pool.h — a small bounded pool of worker threads for the HTTP
// routes that read the database (/metrics, the operator API, the login),
// so a slow or hung database stalls a worker, never one of libmicrohttpd's
// threads, which also answer /healthz and the devices (issue 18).
//
// Job: run submitted jobs on `threads` threads, in order of submission,
// with at most `queueLimit` jobs waiting.
// Invariants:
//  - the queue is bounded: submit() refuses (returns false) when
//    `queueLimit` jobs already wait, or once stop() began; the caller then
//    answers 503 + Retry-After at once, so memory never grows with load;
//  - every accepted job runs exactly once, also at shutdown: stop() lets the
//    threads finish the queue before joining them, so every suspended
//    connection a job holds is answered (a job that waits on a hung
//    database makes stop() wait with it, as the ingest writers do);
//  - jobs never run on the submitting thread.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace stoa::hub {

class WorkPool {
public:
    struct Options {
        // As many as libmicrohttpd ran these routes on before (2): the
        // PostgreSQL pool has 4 connections, and the ingest writers need theirs.
        unsigned threads = 2;
        std::size_t queueLimit = 64; // waiting jobs; a job holds a suspended connection and its request
    };
    struct Stats {
        std::size_t queued = 0;    // waiting for a thread
        std::size_t running = 0;   // on a thread now
        std::uint64_t refused = 0; // submit() said no (full or stopping)
    };

    explicit WorkPool(Options options);
    ~WorkPool(); // stop()
    WorkPool(const WorkPool &) = delete;
    WorkPool &operator=(const WorkPool &) = delete;

    void start();
    // Refuses new jobs, runs the accepted ones, joins the threads.
    void stop();
    // false: the queue is full or the pool is not running; `job` was not taken.
    bool submit(std::function<void()> job);
    Stats stats() const;
    const Options &options() const { return options_; }

private:
    void run();

    const Options options_;
    mutable std::mutex mutex_; // guards everything below
    std::condition_variable wake_;
    std::deque<std::function<void()>> queue_;
    std::vector<std::thread> threads_;
    std::size_t running_ = 0;
    std::uint64_t refused_ = 0;
    bool accepting_ = false;
};

} // namespace stoa::hub
