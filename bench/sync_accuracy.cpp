// bench/sync_accuracy.cpp — how far apart two devices switch a v1.1 §13
// synchronised playlist (issue 20), beside the same two devices playing the
// same playlist without `sync` (the baseline: each switches on its own
// item timers, from whenever it started).
//
// Per scenario: a fresh store (four colour images, 1 s slots; copied for the
// second device), player A started, player B started in the middle of a
// slot, each the real stoa-player under its own Xvfb (tests/player/
// sync_players.h), one host clock. From both frame logs: every switch of B
// after its first, paired with A's switch to the same item nearest in time;
// the offset is the difference of the first presented frames. Printed:
// count, p50, p99 and max of |B - A| in ms. One frame period at 25 fps is
// 40 ms (the spec's bound, asserted by tests/player/tst_sync_players.cpp).
//
//   build/…/bench/sync_accuracy [--switches N=200] [--keep DIR]
// Needs xvfb-run; does not need a display of its own.
#include "tests/player/sync_players.h"

#include <QCoreApplication>
#include <QTemporaryDir>

#include <chrono>
#include <cstdio>
#include <thread>

using namespace stoa::player::testing;

namespace {

struct Figures {
    std::size_t count = 0;
    double p50 = 0, p99 = 0, max = 0;
};

Figures figures(std::vector<double> offsets)
{
    Figures f;
    for (double &d : offsets)
        d = std::abs(d);
    std::sort(offsets.begin(), offsets.end());
    f.count = offsets.size();
    if (offsets.empty())
        return f;
    const auto at = [&](double q) { return offsets[std::min(offsets.size() - 1, std::size_t(q * double(offsets.size())))]; };
    f.p50 = at(0.5);
    f.p99 = at(0.99);
    f.max = offsets.back();
    return f;
}

std::optional<Figures> run(const QString &dir, bool synced, int switches)
{
    const QDir w(dir);
    (void)makeSyncStore(w.filePath("a"), w.filePath("media"), synced);
    copyStore(w.filePath("a"), w.filePath("b"));
    const int bRunMs = (switches + 8) * kSyncSlotMs;
    XvfbPlayer a(w.filePath("a"), w.filePath("a.frames"), w.filePath("a.log"), bRunMs + 25000);
    if (!a.started())
        return std::nullopt;
    // A is up (its endpoint serves), then B starts mid-slot.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (a.port() == 0 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    while (std::abs(QDateTime::currentMSecsSinceEpoch() % kSyncSlotMs - 500) >= 50)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    XvfbPlayer b(w.filePath("b"), w.filePath("b.frames"), w.filePath("b.log"), bRunMs);
    if (!b.started() || !b.finished(bRunMs + 60000) || !a.finished(60000)) {
        std::fprintf(stderr, "a player failed:\n%s\n%s\n", a.tail().constData(), b.tail().constData());
        return std::nullopt;
    }
    return figures(pairedOffsetsMs(presentedSwitches(w.filePath("a.frames")), presentedSwitches(w.filePath("b.frames"))));
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    int switches = 200;
    QString keep;
    const QStringList args = app.arguments();
    for (qsizetype i = 1; i + 1 < args.size(); ++i) {
        if (args[i] == "--switches")
            switches = args[++i].toInt();
        else if (args[i] == "--keep")
            keep = args[++i];
    }
    std::printf("sync accuracy: two stoa-player processes, 4 images x %d ms slots, B started mid-slot, "
                "%d switches\n", kSyncSlotMs, switches);
    std::printf("%-28s %6s %9s %9s %9s\n", "scenario", "pairs", "p50 ms", "p99 ms", "max ms");
    int rc = 0;
    for (const bool synced : {false, true}) {
        QTemporaryDir tmp;
        const QString dir = keep.isEmpty() ? tmp.path() : QDir(keep).filePath(synced ? "synced" : "unsynced");
        QDir().mkpath(dir);
        const auto f = run(dir, synced, switches);
        const char *name = synced ? "sync (v1.1 §13)" : "baseline: same, no sync";
        if (!f) {
            std::printf("%-28s failed\n", name);
            rc = 1;
            continue;
        }
        std::printf("%-28s %6zu %9.1f %9.1f %9.1f\n", name, f->count, f->p50, f->p99, f->max);
        std::fflush(stdout);
    }
    return rc;
}
