// platform/rpi/watchdog_feeder.h — keep systemd's watchdog fed while, and only
// while, the process's main loop is live.
//
// Choice: the feeder runs on its own thread and asks a liveness probe before
// every keep-alive. A timer on the watched (GUI) thread would stop by itself
// when that thread hangs, but "the GUI thread's event loop turns" is not
// "frames are rendered": Qt Quick renders on a separate render thread, and
// the agent's work may hang in a worker while its event loop spins. The probe
// states what live means for each process (the player: a frame or a playback
// tick in the last 10 s, spec §8, the same rule as /healthz), so systemd and
// /healthz agree; a hung render loop stops the ticks, the feeder stops
// feeding, and systemd kills and restarts the process after WatchdogSec=.
//
// Invariants:
//  - WATCHDOG=1 is sent only right after the probe said "live", at half
//    the watchdog interval, so one missed beat never costs a restart;
//  - a probe that throws counts as "not live" (no exception leaves the thread);
//  - when liveness returns, feeding resumes (if systemd has not acted yet);
//  - the probe runs on the feeder thread: it must be thread-safe
//    (endpoints::Liveness, what the player and the agent pass, is: one atomic);
//  - stop() (and the destructor) join the thread; nothing is sent after;
//  - start(), stop() and running() are called from one (the owning) thread.
#pragma once

#include "platform/rpi/service_notifier.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>

namespace stoa::platform {

class WatchdogFeeder {
public:
    using Probe = std::function<bool()>;

    // Neither is owned; both must outlive the feeder.
    WatchdogFeeder(ServiceNotifier &notifier, Probe isLive);
    ~WatchdogFeeder();
    WatchdogFeeder(const WatchdogFeeder &) = delete;
    WatchdogFeeder &operator=(const WatchdogFeeder &) = delete;

    // Starts the thread with the given watchdog interval, or the notifier's
    // (WATCHDOG_USEC) when none is given. False, and no thread, when the
    // watchdog is off. Calling start() while running restarts it.
    bool start(std::optional<std::chrono::microseconds> interval = std::nullopt);
    void stop();
    bool running() const;

    // One beat: ask the probe, feed if live. What the thread does every
    // interval/2; callable directly (tests, or a caller with its own timer).
    // Returns whether it fed.
    bool beat();

    std::uint64_t feeds() const { return m_feeds.load(); }  // WATCHDOG=1 sent
    std::uint64_t skips() const { return m_skips.load(); }  // beats not fed: not live
    bool stalled() const { return m_stalled.load(); }       // the last beat found the loop not live

private:
    void run(std::chrono::microseconds period);

    ServiceNotifier &m_notifier;
    Probe m_isLive;
    std::atomic<std::uint64_t> m_feeds{0};
    std::atomic<std::uint64_t> m_skips{0};
    std::atomic<bool> m_stalled{false};

    mutable std::mutex m_mutex;
    std::condition_variable m_wake;
    bool m_stopRequested = false; // guarded by m_mutex
    std::thread m_thread;
};

} // namespace stoa::platform
