// hub/health_probe.h — the hub's health verdict, computed off the request
// threads (issue 18, "Health checks, replicas, and the spike").
//
// Job: a thread of its own checks the database (a ping) and the data
// directory every `interval`, and publishes the result; /healthz, the
// status page and the `stoa_hub_healthy` gauge read that result, so they
// answer within microseconds whatever the database does. The HAProxy in
// front (packaging/hub/haproxy-stoa-hub.cfg) checks every 500 ms to 2 s:
// a hub whose database hangs must say so, not hang with it.
// Invariants:
//  - current() never blocks on the database or the filesystem: it takes one
//    mutex the probe thread holds only to publish a result;
//  - healthy only if the last finished round passed every check, finished
//    less than interval + deadline ago, and no round has been running for
//    longer than `deadline`: a ping that never returns turns the verdict
//    to unhealthy `deadline` after it started (the round's start time
//    says so), not never; it turns healthy again by itself when a round
//    passes, with no request needed;
//  - a check's problem text is kept apart per part: the status page shows
//    fixed words only (databaseUp, dataDirProblem), /healthz the message;
//  - start() returns after the first round finished, or after `deadline`,
//    so a hub answers its first /healthz from a real result.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace stoa::hub {

struct HealthVerdict {
    std::string why;            // empty: healthy; else the first problem (/healthz's 503 body)
    bool databaseUp = false;
    std::string dataDirProblem; // empty: fine; else a fixed word ("full", "read-only", "not reachable", "not answering")
    std::int64_t ageMs = -1;    // since the last round finished; -1: none yet
    bool healthy() const { return why.empty(); }
};

class HealthProbe {
public:
    struct Options {
        std::chrono::milliseconds interval{500};  // between the end of one round and the next
        std::chrono::milliseconds deadline{1500}; // a round running longer is a failure
    };
    // Each check returns nullopt when fine, else its problem: the database's
    // a message, the data directory's a fixed word (shown publicly).
    using Check = std::function<std::optional<std::string>()>;

    // `dataDirLabel`: how /healthz names the directory ("data directory /var/lib/stoa-hub").
    HealthProbe(Check database, Check dataDir, std::string dataDirLabel, Options options);
    ~HealthProbe(); // stop()
    HealthProbe(const HealthProbe &) = delete;
    HealthProbe &operator=(const HealthProbe &) = delete;

    void start();
    // Waits for a round in progress (its checks cannot be abandoned: they
    // use the storage the caller is about to destroy).
    void stop();
    HealthVerdict current() const;
    std::uint64_t rounds() const; // finished so far (tests)
    const Options &options() const { return options_; }

private:
    enum class Stage { Idle, Database, DataDir };
    void run();

    const Check database_, dataDir_;
    const std::string dataDirLabel_;
    const Options options_;

    mutable std::mutex mutex_; // guards everything below; never held during a check
    std::condition_variable wake_;
    std::thread thread_;
    bool stop_ = false;
    Stage stage_ = Stage::Idle;
    std::chrono::steady_clock::time_point roundStart_, roundEnd_;
    std::optional<std::string> dbProblem_{"not probed yet"}, dirProblem_;
    std::uint64_t rounds_ = 0;
    std::int64_t lastTookMs_ = 0;
    mutable std::uint64_t hungLogged_ = ~std::uint64_t{0}; // the round whose hang current() logged
};

} // namespace stoa::hub
