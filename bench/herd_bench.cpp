// bench/herd_bench.cpp — does a fleet come back from a backend outage as a
// herd, and how soon does it come back?
//
// Drives the agent's real retry timing (stoa::sync::Pacer) in virtual time
// for a fleet polling its manifest, through a backend outage, and counts
// requests per virtual second. Policies, all on the same fleet:
//  - pacer: sync::Pacer as shipped (full jitter up to 2 steady intervals,
//    issue 18);
//  - pacer, cap only: sync::Pacer with capIntervals = 0, full jitter up to
//    the 15-minute cap (the policy before issue 18);
//  - naive: retry every `base` on failure, poll every `interval` when in sync;
//  - exp-nojitter: retry after min(cap, base·2^n), poll every `interval`.
// With --variants, the ideas evaluated for issue 18 as well (not shipped):
// the full-jitter ceiling at 1, 1.5 or 3 intervals, and "rejoin": the first
// poll after a success that ends a run of failures drawn uniformly over one
// whole interval ([0, I] or [I/2, 3I/2]) instead of I ± 10 %.
// Every device starts in steady state with a random phase (same seed for all
// policies, so they start from the same fleet). The backend fails every
// request in [t0, t0 + outage) and answers every request after — or, with
// --capacity F, at most F × the steady mean per second after recovery, the
// rest 503 with `Retry-After: --retry-after-s` (a hub that sheds).
// Two scenarios:
//  A. the devices keep running through the outage;
//  B. the whole fleet restarts at t0 as well (power returning to a site, a
//     fleet-wide update): boots spread over 1 s, phases are lost; a device's
//     first attempt is at boot + Pacer::initialDelay (the policies without
//     jitter: at boot).
//
// Figures per policy: mean and peak requests/s in the 20 minutes before the
// outage (steady state), peak during the outage, peak in the hour after
// recovery, peak-after / steady-mean (target <= 2.0), and how long after
// recovery until 50 %, 90 %, 99 % (target <= 2 intervals) and all devices had
// a successful poll again.
//
// Usage: herd_bench [--devices N=10000] [--outage-min M=30] [--after-min A=60]
//                   [--interval-s S=60] [--base-s B=5] [--cap-s C=900] [--seed X=42]
//                   [--capacity F=0 (unlimited)] [--retry-after-s R=5] [--variants 0|1]
#include "sync/backoff.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <optional>
#include <queue>
#include <random>
#include <string>
#include <vector>

using stoa::sync::BackoffPolicy;
using stoa::sync::Millis;
using stoa::sync::Pacer;

namespace {

struct Options {
    int devices = 10000;
    int outageMin = 30;
    int afterMin = 60;
    int intervalS = 60;
    int baseS = 5;
    int capS = 900;
    std::uint64_t seed = 42;
    double capacity = 0; // after recovery, answers per second as a multiple of the steady mean; 0: unlimited
    int retryAfterS = 5; // in the 503s of a shedding backend
    bool variants = false;
};

enum class Kind { Pacer, Naive, ExpNoJitter };
// The first poll after a success that ends a run of failures.
enum class Rejoin { Steady, Within, Around }; // I ± 10 % (shipped), U[0, I], U[I/2, 3I/2]

struct Policy {
    const char *name;
    Kind kind = Kind::Pacer;
    double capIntervals = BackoffPolicy{}.capIntervals;
    Rejoin rejoin = Rejoin::Steady;
};

struct Figures {
    double steadyMean = 0;
    int steadyPeak = 0;
    int outagePeak = 0;
    int recoveryPeak = 0;
    double sync50 = -1, sync90 = -1, sync99 = -1; // seconds after recovery; -1: not reached in the window
    double syncAll = -1;
    std::int64_t requests = 0;
    std::int64_t shed = 0; // 503s of a backend at capacity
};

// One device's timing under a policy without jitter.
struct Plain {
    int failures = 0;
};

Figures simulate(const Policy &policy, bool restart, const Options &o)
{
    const std::int64_t warm = 30LL * 60 * 1000; // steady state before the outage
    const std::int64_t t0 = warm;
    const std::int64_t t1 = t0 + std::int64_t(o.outageMin) * 60 * 1000;
    const std::int64_t end = t1 + std::int64_t(o.afterMin) * 60 * 1000;
    const Millis interval(std::int64_t(o.intervalS) * 1000);
    BackoffPolicy bp{Millis(std::int64_t(o.baseS) * 1000), Millis(std::int64_t(o.capS) * 1000)};
    bp.capIntervals = policy.capIntervals;
    const bool jitter = policy.kind == Kind::Pacer;
    // The steady mean of a fleet polling every `interval`: the capacity's unit.
    const double steadyRate = double(o.devices) * 1000.0 / double(interval.count());
    const int capacity = o.capacity > 0 ? std::max(1, int(o.capacity * steadyRate)) : 0;

    // The same fleet (phases) for every policy; the policy's own draws come after.
    std::mt19937_64 phases(o.seed);
    stoa::sync::Backoff::Rng rng(o.seed ^ 0x9e3779b97f4a7c15ULL);

    std::vector<Pacer> pacers(std::size_t(o.devices), Pacer(interval, bp));
    std::vector<Plain> plain(std::size_t(o.devices));
    using Event = std::pair<std::int64_t, int>; // (time ms, device)
    std::priority_queue<Event, std::vector<Event>, std::greater<>> queue;
    std::uniform_int_distribution<std::int64_t> phase(0, interval.count() - 1);
    for (int d = 0; d < o.devices; ++d)
        queue.emplace(phase(phases), d);

    std::vector<int> perSecond(std::size_t(end / 1000) + 1, 0);
    std::vector<int> servedPerSecond(perSecond.size(), 0);
    std::vector<std::int64_t> backInSync; // first success after recovery, per device
    std::vector<bool> synced(std::size_t(o.devices), false);
    Figures f;

    bool restarted = false;
    std::uniform_int_distribution<std::int64_t> boot(0, 999);
    while (!queue.empty() && queue.top().first < end) {
        if (restart && !restarted && queue.top().first >= t0) {
            restarted = true;
            queue = {};
            for (int d = 0; d < o.devices; ++d) {
                pacers[std::size_t(d)] = Pacer(interval, bp);
                plain[std::size_t(d)] = Plain{};
                const std::int64_t up = t0 + boot(phases);
                queue.emplace(jitter ? up + pacers[std::size_t(d)].initialDelay(rng, true).count() : up, d);
            }
        }
        const auto [t, d] = queue.top();
        queue.pop();
        const std::size_t second = std::size_t(t / 1000);
        ++perSecond[second];
        ++f.requests;
        bool ok = t < t0 || t >= t1;
        std::optional<Millis> retryAfter;
        if (ok && t >= t1 && capacity > 0) {
            if (servedPerSecond[second] >= capacity) {
                ok = false;
                retryAfter = Millis(std::int64_t(o.retryAfterS) * 1000);
                ++f.shed;
            } else {
                ++servedPerSecond[second];
            }
        }
        if (ok && t >= t1 && !synced[std::size_t(d)]) {
            synced[std::size_t(d)] = true;
            backInSync.push_back(t - t1);
        }
        Millis wait{};
        switch (policy.kind) {
        case Kind::Pacer: {
            Pacer &p = pacers[std::size_t(d)];
            if (!ok) {
                wait = p.afterFailure(rng, retryAfter);
                break;
            }
            const bool rejoining = p.backoff().consecutiveFailures() > 0;
            wait = p.afterSuccess(rng);
            if (rejoining && policy.rejoin != Rejoin::Steady) {
                // A whole interval's width makes the phase uniform again,
                // whenever the device came back.
                const std::int64_t from = policy.rejoin == Rejoin::Within ? 0 : interval.count() / 2;
                wait = Millis(std::uniform_int_distribution<std::int64_t>(from, from + interval.count())(rng));
            }
            break;
        }
        case Kind::Naive:
            wait = ok ? interval : bp.base;
            break;
        case Kind::ExpNoJitter: {
            Plain &p = plain[std::size_t(d)];
            if (ok) {
                p.failures = 0;
                wait = interval;
            } else {
                wait = stoa::sync::Backoff(bp, p.failures).ceiling();
                ++p.failures;
            }
            break;
        }
        }
        queue.emplace(t + std::max<std::int64_t>(1, wait.count()), d);
    }

    const auto window = [&](std::int64_t fromMs, std::int64_t toMs) {
        return std::pair(perSecond.begin() + fromMs / 1000, perSecond.begin() + toMs / 1000);
    };
    const auto [s0, s1] = window(t0 - 20LL * 60 * 1000, t0);
    std::int64_t steadyTotal = 0;
    for (auto it = s0; it != s1; ++it)
        steadyTotal += *it;
    f.steadyMean = double(steadyTotal) / double(s1 - s0);
    f.steadyPeak = *std::max_element(s0, s1);
    const auto [o0, o1] = window(t0, t1);
    f.outagePeak = *std::max_element(o0, o1);
    const auto [r0, r1] = window(t1, end);
    f.recoveryPeak = *std::max_element(r0, r1);

    std::sort(backInSync.begin(), backInSync.end());
    const auto quantile = [&](int percent) {
        const std::size_t need = (std::size_t(o.devices) * std::size_t(percent) + 99) / 100;
        return backInSync.size() >= need ? double(backInSync[need - 1]) / 1000.0 : -1.0;
    };
    f.sync50 = quantile(50);
    f.sync90 = quantile(90);
    f.sync99 = quantile(99);
    if (backInSync.size() == std::size_t(o.devices))
        f.syncAll = double(backInSync.back()) / 1000.0;
    return f;
}

bool parseArgs(int argc, char **argv, Options &o)
{
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (i + 1 >= argc)
            return false;
        const char *v = argv[++i];
        if (a == "--devices")
            o.devices = std::atoi(v);
        else if (a == "--outage-min")
            o.outageMin = std::atoi(v);
        else if (a == "--after-min")
            o.afterMin = std::atoi(v);
        else if (a == "--interval-s")
            o.intervalS = std::atoi(v);
        else if (a == "--base-s")
            o.baseS = std::atoi(v);
        else if (a == "--cap-s")
            o.capS = std::atoi(v);
        else if (a == "--seed")
            o.seed = std::strtoull(v, nullptr, 10);
        else if (a == "--capacity")
            o.capacity = std::atof(v);
        else if (a == "--retry-after-s")
            o.retryAfterS = std::atoi(v);
        else if (a == "--variants")
            o.variants = std::atoi(v) != 0;
        else
            return false;
    }
    return o.devices > 0 && o.outageMin > 0 && o.afterMin > 0 && o.intervalS > 0 && o.baseS > 0 &&
           o.capS >= o.baseS && o.capacity >= 0 && o.retryAfterS >= 0;
}

std::string seconds(double s)
{
    if (s < 0)
        return "-";
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.0f", s);
    return buf;
}

} // namespace

int main(int argc, char **argv)
{
    Options o;
    if (!parseArgs(argc, argv, o)) {
        std::fprintf(stderr,
                     "usage: herd_bench [--devices N] [--outage-min M] [--after-min A] [--interval-s S]\n"
                     "                  [--base-s B] [--cap-s C] [--seed X] [--capacity F] [--retry-after-s R]\n"
                     "                  [--variants 0|1]\n");
        return 2;
    }
    std::printf("herd_bench: %d devices polling every %d s; backoff base %d s, cap %d s;\n"
                "backend fails every request for %d min after 30 min of steady state; "
                "%d min observed after recovery; seed %llu\n",
                o.devices, o.intervalS, o.baseS, o.capS, o.outageMin, o.afterMin,
                static_cast<unsigned long long>(o.seed));
    if (o.capacity > 0)
        std::printf("after recovery the backend answers at most %.2f x the steady mean per second, "
                    "the rest 503 + Retry-After: %d\n",
                    o.capacity, o.retryAfterS);

    std::vector<Policy> policies{
        {"pacer: ceiling 2 intervals", Kind::Pacer, 2.0, Rejoin::Steady},
        {"pacer, before: ceiling cap", Kind::Pacer, 0.0, Rejoin::Steady},
        {"naive fixed retry", Kind::Naive, 0.0, Rejoin::Steady},
        {"exponential, no jitter", Kind::ExpNoJitter, 0.0, Rejoin::Steady},
    };
    if (o.variants) {
        policies.push_back({"ceiling 1 interval", Kind::Pacer, 1.0, Rejoin::Steady});
        policies.push_back({"ceiling 1.5 intervals", Kind::Pacer, 1.5, Rejoin::Steady});
        policies.push_back({"ceiling 3 intervals", Kind::Pacer, 3.0, Rejoin::Steady});
        policies.push_back({"2 int. + rejoin U[0,I]", Kind::Pacer, 2.0, Rejoin::Within});
        policies.push_back({"2 int. + rejoin U[I/2,3I/2]", Kind::Pacer, 2.0, Rejoin::Around});
        policies.push_back({"1 int. + rejoin U[I/2,3I/2]", Kind::Pacer, 1.0, Rejoin::Around});
        policies.push_back({"cap + rejoin U[I/2,3I/2]", Kind::Pacer, 0.0, Rejoin::Around});
    }
    for (bool restart : {false, true}) {
        std::printf("\n%s\n", restart ? "B. the whole fleet restarts when the outage begins"
                                        : "A. devices keep running through the outage");
        std::printf("%-28s %7s %7s %7s %8s %9s %6s %6s %6s %6s %9s %8s\n", "policy", "steady", "steady", "outage",
                    "recovery", "recovery/", "50%", "90%", "99%", "all", "requests", "shed");
        std::printf("%-28s %7s %7s %7s %8s %9s %6s %6s %6s %6s %9s %8s\n", "", "mean/s", "peak/s", "peak/s", "peak/s",
                    "steady", "in s", "in s", "in s", "in s", "total", "503s");
        for (const Policy &p : policies) {
            const Figures f = simulate(p, restart, o);
            std::printf("%-28s %7.1f %7d %7d %8d %9.2f %6s %6s %6s %6s %9lld %8lld\n", p.name, f.steadyMean,
                        f.steadyPeak, f.outagePeak, f.recoveryPeak, double(f.recoveryPeak) / f.steadyMean,
                        seconds(f.sync50).c_str(), seconds(f.sync90).c_str(), seconds(f.sync99).c_str(),
                        seconds(f.syncAll).c_str(), static_cast<long long>(f.requests),
                        static_cast<long long>(f.shed));
        }
    }
    std::printf("\nrecovery peak: the busiest second in the %d min after the backend is back; "
                "50%%..all: seconds after it until that share of the fleet had a successful poll\n",
                o.afterMin);
    return 0;
}
