// hub/status_board.h — the hub's public status page (GET /status-page):
// which parts are up, and the last incidents, readable without signing in.
//
// Job: sample the parts (the database, the data directory, ingest,
// publishing, notifications) every few seconds on a thread of its own,
// remember when each changed state, and render a small static HTML page
// (no script, no outside resources, every text escaped).
// Invariants:
//  - the page says only what an unauthenticated reader may know: part
//    states, since when, and incident times; never a device, an operator,
//    a path or an error message from the database;
//  - an incident is a part leaving "up" (down or degraded) and ends when it
//    is up again; the newest 20 are kept, in memory: the page covers the
//    time since this hub started (each replica shows its own);
//  - rendering never waits for a probe: it reads the last sample.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace stoa::hub {

enum class PartState { Up, Degraded, Down, Off };
const char *partStateName(PartState state); // "up", "degraded", "down", "off"

struct PartSample {
    std::string name;   // "Database", "Ingest", …: fixed words, shown as is (escaped)
    PartState state = PartState::Up;
    std::string detail; // a fixed phrase ("shedding load"), never raw error text
};

class StatusBoard {
public:
    using Probe = std::function<std::vector<PartSample>()>;

    StatusBoard(std::string hubName, Probe probe, std::chrono::milliseconds interval);
    ~StatusBoard(); // stop()
    StatusBoard(const StatusBoard &) = delete;
    StatusBoard &operator=(const StatusBoard &) = delete;

    void start();
    void stop();
    // One sample now, on the caller's thread (start() and tests).
    void sampleNow();

    std::string html() const;

    struct Incident {
        std::string part;
        PartState state = PartState::Down;
        std::int64_t startedMs = 0;
        std::int64_t endedMs = 0; // 0: ongoing
    };
    std::vector<Incident> incidents() const; // newest first

private:
    void record(const std::vector<PartSample> &parts, std::int64_t nowMs);

    const std::string hubName_;
    const Probe probe_;
    const std::chrono::milliseconds interval_;
    const std::int64_t startedMs_;

    mutable std::mutex mutex_; // guards everything below
    std::vector<PartSample> parts_;
    std::vector<std::int64_t> since_; // per part of parts_, when its state began
    std::int64_t sampledMs_ = 0;
    std::deque<Incident> incidents_;
    std::condition_variable wake_;
    bool stopping_ = false;
    std::thread thread_;
};

} // namespace stoa::hub
