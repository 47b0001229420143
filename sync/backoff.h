// sync/backoff.h — when to try again: the agent's answer to "the backend is down".
//
// Job: exponential backoff with full jitter, Retry-After, and a jittered
// steady interval, so ten thousand screens coming back after an outage spread
// their requests instead of arriving as one spike.
//
//  - failure n (n = 0 for the first in a row) waits uniform[0, min(cap, base·2^n)]
//    ("full jitter");
//  - a server's Retry-After is honoured: never earlier than it says, plus up
//    to 10 % more so a fleet told the same instant does not come back in
//    lockstep; the whole wait stays within `cap` (spec §1);
//  - success resets the count; the steady interval gets ±10 % jitter.
//
// Pure: no clock, no I/O. Randomness comes from the caller's generator so
// tests and the herd benchmark drive it deterministically. All durations are
// meant for the monotonic clock.
#pragma once

#include <QDateTime>
#include <QTimeZone>

#include <chrono>
#include <cstdint>
#include <optional>
#include <random>
#include <string_view>

namespace stoa::sync {

using Millis = std::chrono::milliseconds;

struct BackoffPolicy {
    Millis base{5000};                // ceiling of the first retry
    Millis cap{15 * 60 * 1000};       // ceiling of any retry, Retry-After included
};

class Backoff {
public:
    using Rng = std::mt19937_64;

    explicit Backoff(BackoffPolicy policy = {}, int failures = 0) : m_policy(policy), m_failures(failures) {}

    // Counts a failure and returns how long to wait before the next attempt.
    Millis failure(Rng &rng, std::optional<Millis> retryAfter = std::nullopt);
    void success() { m_failures = 0; }

    int consecutiveFailures() const { return m_failures; }
    // The upper bound of the wait the next failure would draw from.
    Millis ceiling() const;
    const BackoffPolicy &policy() const { return m_policy; }

private:
    BackoffPolicy m_policy;
    int m_failures = 0; // consecutive failures since the last success
};

// One channel's timing (the manifest poll, a blob, the heartbeat): the
// steady interval after a success, backoff after failures. The agent keeps
// one Pacer per channel so they back off independently; the herd benchmark
// drives the same class in virtual time.
class Pacer {
public:
    static constexpr double kSteadyJitter = 0.10; // ±10 % on the steady interval

    Pacer(Millis steadyInterval, BackoffPolicy policy, int failures = 0)
        : m_interval(steadyInterval), m_backoff(policy, failures) {}

    // Before the very first attempt (process start), so a fleet powered on
    // together (a site-wide power cut, a fleet-wide update) does not ask in
    // the same second: uniform in [0, steady interval] when the device has
    // content to play anyway; in [0, base] when it has nothing yet (a fresh
    // install: the installer is waiting for the first sync).
    Millis initialDelay(Backoff::Rng &rng, bool haveContent) const;
    Millis afterSuccess(Backoff::Rng &rng);
    Millis afterFailure(Backoff::Rng &rng, std::optional<Millis> retryAfter = std::nullopt);

    void setSteadyInterval(Millis interval) { m_interval = interval; }
    Millis steadyInterval() const { return m_interval; }
    const Backoff &backoff() const { return m_backoff; }

private:
    Millis m_interval;
    Backoff m_backoff;
};

// `interval` scaled by a uniform factor in [1 - fraction, 1 + fraction].
Millis jittered(Millis interval, double fraction, Backoff::Rng &rng);

// A Retry-After header value: delta-seconds or an HTTP-date (relative to
// `nowUtc`). Nothing for garbage; a date in the past is zero.
std::optional<Millis> parseRetryAfter(std::string_view value, const QDateTime &nowUtc);

} // namespace stoa::sync
