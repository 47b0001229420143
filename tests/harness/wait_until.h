// tests/harness/wait_until.h — waiting on a condition with a deadline, for
// tests that watch real processes (stoa-syncd, stoa-player) through files,
// databases and HTTP: poll, never sleep a fixed time and hope.
//
// Invariant: the condition is checked at least once, and once more at or
// after the deadline before giving up. waitUntil's thread sleeps between
// checks and runs no event loop, so nothing else the test owns (QProcess
// signals, timers) runs while it waits; waitProcessingEvents runs the
// thread's event loop between checks, for conditions those objects make
// true (a QProcess's output read, a QTcpServer's request answered).
#pragma once

#include <QDeadlineTimer>
#include <QTest>

#include <chrono>
#include <functional>
#include <thread>

namespace stoa::testing {

// True as soon as `condition` holds; false when `timeout` passed first.
// `every`: the pause between checks (each check may read a database or
// make an HTTP request).
inline bool waitUntil(const std::function<bool()> &condition, std::chrono::milliseconds timeout,
                      std::chrono::milliseconds every = std::chrono::milliseconds(50))
{
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!condition()) {
        if (std::chrono::steady_clock::now() >= deadline)
            return false;
        std::this_thread::sleep_for(every);
    }
    return true;
}

// True as soon as `condition` holds; false when `timeoutMs` passed first.
// Events are processed for `everyMs` between checks.
inline bool waitProcessingEvents(const std::function<bool()> &condition, int timeoutMs, int everyMs = 25)
{
    QDeadlineTimer deadline(timeoutMs);
    while (!condition()) {
        if (deadline.hasExpired())
            return false;
        QTest::qWait(everyMs);
    }
    return true;
}

} // namespace stoa::testing
