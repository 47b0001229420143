// bench/herd_bench.cpp — does a fleet come back from a backend outage as a herd?
//
// Drives the agent's real retry timing (stoa::sync::Pacer) in virtual time
// for a fleet polling its manifest, through a backend outage, and counts
// requests per virtual second. Side by side, two policies without jitter:
//  - naive: retry every `base` on failure, poll every `interval` when in sync;
//  - exp-nojitter: retry after min(cap, base·2^n), poll every `interval`.
// Every device starts in steady state with a random phase (same seed for all
// policies, so they start from the same fleet). The backend fails every
// request in [t0, t0 + outage) and answers every request after.
// Two scenarios:
//  A. the devices keep running through the outage;
//  B. the whole fleet restarts at t0 as well (power returning to a site, a
//     fleet-wide update): boots spread over 1 s, phases are lost; a device's
//     first attempt is at boot + Pacer::initialDelay (the policies without
//     jitter: at boot).
//
// Figures per policy: mean and peak requests/s in the 20 minutes before the
// outage (steady state), peak during the outage, peak in the hour after
// recovery, peak-after / steady-mean, and how long after recovery until 99 %
// (and all) devices had a successful poll again.
//
// Usage: herd_bench [--devices N=10000] [--outage-min M=30] [--after-min A=60]
//                   [--interval-s S=60] [--base-s B=5] [--cap-s C=900] [--seed X=42]
#include "sync/backoff.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
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
};

enum class Policy { FullJitter, Naive, ExpNoJitter };

const char *name(Policy p)
{
    switch (p) {
    case Policy::FullJitter:
        return "full jitter (sync::Pacer)";
    case Policy::Naive:
        return "naive fixed retry";
    case Policy::ExpNoJitter:
        return "exponential, no jitter";
    }
    return "";
}

struct Figures {
    double steadyMean = 0;
    int steadyPeak = 0;
    int outagePeak = 0;
    int recoveryPeak = 0;
    double sync99 = -1; // seconds after recovery; -1: not reached in the window
    double syncAll = -1;
    std::int64_t requests = 0;
};

// One device's timing under a policy without jitter.
struct Plain {
    int failures = 0;
};

Figures simulate(Policy policy, bool restart, const Options &o)
{
    const std::int64_t warm = 30LL * 60 * 1000; // steady state before the outage
    const std::int64_t t0 = warm;
    const std::int64_t t1 = t0 + std::int64_t(o.outageMin) * 60 * 1000;
    const std::int64_t end = t1 + std::int64_t(o.afterMin) * 60 * 1000;
    const Millis interval(std::int64_t(o.intervalS) * 1000);
    const BackoffPolicy bp{Millis(std::int64_t(o.baseS) * 1000), Millis(std::int64_t(o.capS) * 1000)};

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
                queue.emplace(policy == Policy::FullJitter ? up + pacers[std::size_t(d)].initialDelay(rng, true).count() : up,
                              d);
            }
        }
        const auto [t, d] = queue.top();
        queue.pop();
        ++perSecond[std::size_t(t / 1000)];
        ++f.requests;
        const bool ok = t < t0 || t >= t1;
        if (ok && t >= t1 && !synced[std::size_t(d)]) {
            synced[std::size_t(d)] = true;
            backInSync.push_back(t - t1);
        }
        Millis wait{};
        switch (policy) {
        case Policy::FullJitter:
            wait = ok ? pacers[std::size_t(d)].afterSuccess(rng) : pacers[std::size_t(d)].afterFailure(rng);
            break;
        case Policy::Naive:
            wait = ok ? interval : bp.base;
            break;
        case Policy::ExpNoJitter: {
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
    const std::size_t need99 = (std::size_t(o.devices) * 99 + 99) / 100;
    if (backInSync.size() >= need99)
        f.sync99 = double(backInSync[need99 - 1]) / 1000.0;
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
        else
            return false;
    }
    return o.devices > 0 && o.outageMin > 0 && o.afterMin > 0 && o.intervalS > 0 && o.baseS > 0 &&
           o.capS >= o.baseS;
}

std::string seconds(double s)
{
    if (s < 0)
        return "not reached";
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.0f s", s);
    return buf;
}

} // namespace

int main(int argc, char **argv)
{
    Options o;
    if (!parseArgs(argc, argv, o)) {
        std::fprintf(stderr,
                     "usage: herd_bench [--devices N] [--outage-min M] [--after-min A] [--interval-s S]\n"
                     "                  [--base-s B] [--cap-s C] [--seed X]\n");
        return 2;
    }
    std::printf("herd_bench: %d devices polling every %d s; backoff base %d s, cap %d s;\n"
                "backend fails every request for %d min after 30 min of steady state; "
                "%d min observed after recovery; seed %llu\n",
                o.devices, o.intervalS, o.baseS, o.capS, o.outageMin, o.afterMin,
                static_cast<unsigned long long>(o.seed));
    for (bool restart : {false, true}) {
        std::printf("\n%s\n", restart ? "B. the whole fleet restarts when the outage begins"
                                        : "A. devices keep running through the outage");
        std::printf("%-27s %9s %9s %9s %10s %10s %12s %12s %10s\n", "policy", "steady", "steady", "outage",
                    "recovery", "recovery/", "99% in sync", "all in sync", "requests");
        std::printf("%-27s %9s %9s %9s %10s %10s %12s %12s %10s\n", "", "mean/s", "peak/s", "peak/s", "peak/s",
                    "steady", "after", "after", "total");
        for (Policy p : {Policy::FullJitter, Policy::Naive, Policy::ExpNoJitter}) {
            const Figures f = simulate(p, restart, o);
            std::printf("%-27s %9.1f %9d %9d %10d %10.2f %12s %12s %10lld\n", name(p), f.steadyMean, f.steadyPeak,
                        f.outagePeak, f.recoveryPeak, double(f.recoveryPeak) / f.steadyMean,
                        seconds(f.sync99).c_str(), seconds(f.syncAll).c_str(), static_cast<long long>(f.requests));
        }
    }
    return 0;
}
