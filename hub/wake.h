// hub/wake.h — the wake-up long poll of protocol v1.1 §10.
//
// Job: hold `GET /v1/devices/{id}/wake?after=CURSOR` until what the device
// reads changes (200 with the new cursor), or the hold time passes (204).
// A held request is a suspended connection (http_server.h): it costs no
// thread, only an entry here.
// Invariants:
//  - a waiter is answered exactly once: on a change, at its deadline, or
//    at stop() (204);
//  - a change is seen within a second: notify() after a local publication,
//    and a ticker that re-reads the site (another replica published);
//  - bounded: past `maxWaiters` a request is answered 503 + Retry-After at
//    once, so a fleet's long polls cannot grow the hub's memory without end.
#pragma once

#include "hub/http_server.h"
#include "hub/publisher.h"

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>

namespace stoa::hub {

class WakeWaiters {
public:
    using Answer = std::function<void(HttpResponse)>;

    WakeWaiters(Publisher &publisher, std::chrono::milliseconds hold, std::size_t maxWaiters);
    ~WakeWaiters(); // stop()
    WakeWaiters(const WakeWaiters &) = delete;
    WakeWaiters &operator=(const WakeWaiters &) = delete;

    // `after` empty: answered at once with the current cursor.
    void wait(const std::string &deviceId, const std::string &after, Answer answer);
    void notify();
    std::size_t waiting() const;
    void stop();

private:
    struct Waiter {
        std::string deviceId;
        std::string after;
        std::chrono::steady_clock::time_point deadline;
        Answer answer;
    };
    void run();
    void checkAll(bool refresh);
    static HttpResponse changed(const std::string &cursor);

    Publisher &publisher_;
    const std::chrono::milliseconds hold_;
    const std::size_t maxWaiters_;
    mutable std::mutex mutex_;   // guards the members below
    std::condition_variable wake_;
    std::multimap<std::string, Waiter> waiters_; // by device id
    std::uint64_t seenGeneration_ = 0;
    bool notified_ = false;
    bool stopping_ = false;
    std::thread ticker_;         // last
};

} // namespace stoa::hub
