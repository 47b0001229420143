// sync/wake_listener.h — the device side of the wake-up long poll
// (protocol v1.1 §10).
//
// Job: keep at most one `GET S/v1/devices/{id}/wake?after=CURSOR` open, on
// its own thread and its own connection, and tell the agent when what it
// reads changed, so a publication is on screen in seconds while the
// ordinary poll (sync_interval_s) stays as slow as the operator set it.
// Invariants:
//  - a wake-up carries no authority: it only makes the agent poll now; what
//    it then adopts is checked as always;
//  - errors back off like any channel (full jitter with its ceiling at two
//    60 s holds, Retry-After honoured up to the cap; sync/backoff.h);
//    404/405/501 mean "not supported": asked again at most hourly;
//  - never a hot loop: two requests are at least `minGap` apart, whatever
//    the server answers;
//  - a file:// base has no wake-up (start() does nothing);
//  - stop() ends the request in flight at once and joins.
#pragma once

#include "sync/backoff.h"
#include "sync/http.h"

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace stoa::sync {

struct WakeListenerOptions {
    std::string server;              // the base URL S
    std::string deviceId;
    HttpOptions http;                // same headers as the agent's requests
    BackoffPolicy backoff;
    Millis minGap{1000};
    Millis unsupportedWait{60 * 60 * 1000};
    long holdTimeoutS = 90;          // above the server's 60 s hold
};

struct WakeListenerStats {
    std::uint64_t wakes = 0;         // changes reported
    std::uint64_t failures = 0;
    bool supported = true;           // false after a 404/405/501
};

class WakeListener {
public:
    WakeListener(WakeListenerOptions options, std::function<void()> onChange, std::uint64_t seed);
    ~WakeListener(); // stop()
    WakeListener(const WakeListener &) = delete;
    WakeListener &operator=(const WakeListener &) = delete;

    void start();
    void stop();
    WakeListenerStats stats() const;

private:
    void run();
    bool pause(Millis wait); // false: stopping

    const WakeListenerOptions m_options;
    const std::function<void()> m_onChange;
    HttpClient m_http;
    Backoff m_backoff;
    Backoff::Rng m_rng;
    mutable std::mutex m_mutex;      // guards m_stats, m_stopping
    std::condition_variable m_cv;
    WakeListenerStats m_stats;
    bool m_stopping = false;
    std::thread m_thread;
};

} // namespace stoa::sync
