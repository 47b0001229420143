// cache/scrub.h — slow background re-hashing of stored blobs.
//
// SD cards rot. The scrubber walks the blobs in verify order (never-hashed
// first, then least recently hashed), re-hashes each at a bounded rate so
// playback never stutters for it, and removes a blob whose bytes no longer
// match its name (the sync agent then fetches it again).
//
// Threading: a Scrubber owns its own Database connection and may run on its
// own thread (start()/stop()); scrubNext() is also callable directly. Only
// the counters are shared between threads, and they are atomics.
#pragma once

#include "cache/blobs.h"
#include "cache/database.h"
#include "cache/error.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <stop_token>
#include <thread>

namespace stoa::cache {

struct ScrubOutcome {
    schedule::Digest digest;
    bool ok = false; // false: the blob was corrupt and has been removed
};

class Scrubber {
public:
    struct Options {
        std::uint64_t bytesPerSecond = 8u << 20; // 0: unlimited
        std::chrono::milliseconds idleWait{std::chrono::minutes(10)}; // after a full pass or an empty store
    };

    static Result<std::unique_ptr<Scrubber>> open(const std::filesystem::path &dataDir, Options options);
    ~Scrubber();

    // Hashes the next blob; nullopt when the store has no blobs. Call it
    // directly or run the thread, not both.
    Result<std::optional<ScrubOutcome>> scrubNext();

    void start();
    void stop();

    std::uint64_t blobsChecked() const { return m_checked.load(); }
    std::uint64_t failures() const { return m_failures.load(); }
    std::uint64_t bytesHashed() const { return m_bytes.load(); }

private:
    Scrubber(std::filesystem::path dataDir, Options options, Database db);
    // Waits until `d` passed or stop was requested; false when stopping.
    bool waitFor(std::chrono::steady_clock::duration d);
    Result<bool> hashMatches(const schedule::Digest &digest, const std::filesystem::path &path);
    void run(std::stop_token stop);

    Options m_options;
    Database m_db;       // the scrubber's own connection; used only by the scrubbing thread
    BlobStore m_blobs;   // over m_db
    std::atomic<std::uint64_t> m_checked{0};
    std::atomic<std::uint64_t> m_failures{0};
    std::atomic<std::uint64_t> m_bytes{0};
    std::chrono::steady_clock::time_point m_paceStart; // rate limiting: bytes since this instant
    std::uint64_t m_paceBytes = 0;
    std::stop_token m_stop; // the thread's token; empty when scrubNext() is called directly

    // --- The following fields are protected by m_mutex.
    std::mutex m_mutex;
    std::condition_variable_any m_wake;
    std::jthread m_thread;
};

} // namespace stoa::cache
