// bench/state_mirror_bench.cpp — what the state mirror (issue 15) costs per
// play recorded, per acknowledgement and per command id, next to today's
// path without it, in the same run on the same file system.
//
// Usage: state_mirror_bench [dir] [plays]   (dir: a fresh temporary one)
// "baseline" is PlayLog/CommandLog on the store's own connection without a
// StateMirror (the code path before the mirror); "mirrored" is the Store's
// own PlayLog/CommandLog (database commit + spool append, fdatasync).
#include "cache/store.h"
#include "tests/cache/store_fixtures.h" // playRecord

#include <QTemporaryDir>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>

using namespace stoa::cache;
using stoa::testing::playRecord;
using Clock = std::chrono::steady_clock;

namespace {

double usPer(int n, const std::function<void(int)> &op)
{
    const auto t0 = Clock::now();
    for (int i = 0; i < n; ++i)
        op(i);
    return std::chrono::duration<double, std::micro>(Clock::now() - t0).count() / n;
}

void check(bool ok, const char *what)
{
    if (!ok) {
        std::fprintf(stderr, "state_mirror_bench: %s failed\n", what);
        std::exit(1);
    }
}

} // namespace

int main(int argc, char **argv)
{
    QTemporaryDir tmp;
    const std::string dir = argc > 1 ? argv[1] : tmp.path().toStdString();
    const int n = argc > 2 ? std::atoi(argv[2]) : 500;
    StoreOptions o;
    o.dataDir = dir + "/data";
    auto store = Store::open(o);
    check(bool(store), "open");
    Store &s = **store;
    PlayLog plain(s.db(), o.maxPlayRecords, nullptr);
    CommandLog plainCommands(s.db(), nullptr);

    // Interleaved rounds so a busy disk weighs on both columns alike.
    double base = 0, mirrored = 0, baseCmd = 0, mirroredCmd = 0, baseAck = 0, mirroredAck = 0;
    const int rounds = 5, per = n / rounds;
    for (int r = 0; r < rounds; ++r) {
        const std::string tag = std::to_string(r) + "-";
        base += usPer(per, [&](int i) { check(bool(plain.append(playRecord("b" + tag + std::to_string(i)))), "append"); });
        mirrored += usPer(per, [&](int i) { check(bool(s.plays().append(playRecord("m" + tag + std::to_string(i)))), "append"); });
        baseCmd += usPer(per, [&](int i) { check(bool(plainCommands.markExecuted("b" + tag + std::to_string(i), "reboot", "ok")), "mark"); });
        mirroredCmd += usPer(per, [&](int i) { check(bool(s.commands().markExecuted("m" + tag + std::to_string(i), "reboot", "ok")), "mark"); });
        // Acknowledge in uploads of 50 (the agent's default batch is 500).
        auto seqs = [&] { return s.plays().batch(50); };
        baseAck += usPer(per / 50, [&](int) { auto b = seqs(); check(b && plain.acknowledge(b->back().seq).has_value(), "ack"); });
        for (int i = 0; i < per; ++i)
            check(bool(s.plays().append(playRecord("a" + tag + std::to_string(i)))), "append");
        mirroredAck += usPer(per / 50, [&](int) { auto b = seqs(); check(b && s.plays().acknowledge(b->back().seq).has_value(), "ack"); });
    }
    std::printf("state_mirror_bench: %d operations each, %s\n", per * rounds, o.dataDir.c_str());
    std::printf("%-34s %12s %12s %8s\n", "operation", "baseline us", "mirrored us", "ratio");
    auto row = [&](const char *what, double b, double m) {
        std::printf("%-34s %12.0f %12.0f %7.2fx\n", what, b / rounds, m / rounds, m / b);
    };
    row("record a play (commit + spool)", base, mirrored);
    row("record a command id", baseCmd, mirroredCmd);
    row("acknowledge 50 plays", baseAck, mirroredAck);
    std::printf("spool after the run: %lld bytes\n", static_cast<long long>(s.mirror().spoolBytes()));
    return 0;
}
