// sync/backoff.h — when to try again: the agent's answer to "the backend is down".
//
// Job: exponential backoff with full jitter, Retry-After, and a jittered
// steady interval, so ten thousand screens coming back after an outage spread
// their requests instead of arriving as one spike — and come back within two
// steady intervals instead of within the 15-minute cap (issue 18).
//
//  - failure n (n = 0 for the first in a row) waits uniform[0, min(C, base·2^n)]
//    ("full jitter"). For a Pacer (a channel with a steady interval I) the
//    ceiling C is min(cap, max(base, 2·I)): at C = 2·I a failing device asks
//    once per I on average, no more than when in sync, so an outage costs
//    the backend its steady load, and after recovery 99 % of a fleet has
//    asked again within 0.9·C = 1.8·I (docs/backoff.md);
//  - a server's Retry-After is honoured: never earlier than it says, plus up
//    to 10 % more so a fleet told the same instant does not come back in
//    lockstep; the whole wait stays within `cap`, the device's maximum
//    backoff (spec §1) — not within 2·I: a shedding server may keep devices
//    away for longer than the device would stay away by itself;
//  - success resets the count; the steady interval gets ±10 % jitter (spec
//    §3), also for the first poll after a run of failures.
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
    Millis cap{15 * 60 * 1000};       // the device's maximum backoff: ceiling of any retry, Retry-After included
    // A Pacer's full-jitter ceiling stops at this many steady intervals
    // (never below base, never above cap). 0: at cap only — the policy
    // before issue 18, kept so the herd benchmarks can show both.
    double capIntervals = 2.0;
};

// The full-jitter ceiling of a channel with a steady interval:
// min(cap, max(base, capIntervals · interval)); cap without an interval
// (zero) or with capIntervals = 0. Pacer::drawCap, and the wake-up listener
// (§10: its held request is the channel's steady interval, 60 s).
Millis intervalCap(const BackoffPolicy &policy, Millis interval);

class Backoff {
public:
    using Rng = std::mt19937_64;

    explicit Backoff(BackoffPolicy policy = {}, int failures = 0) : m_policy(policy), m_failures(failures) {}

    // Counts a failure and returns how long to wait before the next attempt.
    Millis failure(Rng &rng, std::optional<Millis> retryAfter = std::nullopt) { return failure(rng, retryAfter, m_policy.cap); }
    // The same with the full-jitter draw stopping at `drawCap` (clamped to
    // [base, cap]); Retry-After is still honoured up to `cap`.
    Millis failure(Rng &rng, std::optional<Millis> retryAfter, Millis drawCap);
    void success() { m_failures = 0; }

    int consecutiveFailures() const { return m_failures; }
    // The upper bound of the wait the next failure would draw from.
    Millis ceiling() const { return ceiling(m_policy.cap); }
    Millis ceiling(Millis drawCap) const;
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
    // Where this channel's full-jitter ceiling stops: intervalCap() of its
    // steady interval; just cap without one (a blob's Pacer has none).
    Millis drawCap() const { return intervalCap(m_backoff.policy(), m_interval); }
    // The upper bound of the wait the next failure would draw from (without Retry-After).
    Millis ceiling() const { return m_backoff.ceiling(drawCap()); }

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
