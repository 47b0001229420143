// bench/resolve_bench.cpp — cost of resolveNowPlaying / resolveDisplay on a big manifest.
//
// Builds a deterministic, realistic-looking manifest (10,000 schedule entries
// over 1,000 playlists in Europe/Oslo: mixed weekdays, day and evening
// windows, some wrapping midnight, date ranges, a few high priorities), then
// times one resolve at each of N random instants over 2026 (plus the DST
// transitions) and prints mean / p50 / p99 / max in microseconds.
// Two scenarios: mixed priorities (a few takeovers above routine content)
// and flat priorities (0-2: many entries tie and share the screen).
// Usage: resolve_bench [entries=10000] [playlists=1000] [instants=1000] [seed=42]
#include "schedule/engine.h"

#include <QDate>
#include <QDateTime>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <random>
#include <string>
#include <vector>

using namespace stoa::schedule;

namespace {

Manifest buildManifest(int entries, int playlists, bool flat, std::mt19937 &rng)
{
    Manifest m;
    m.timezone = QStringLiteral("Europe/Oslo");
    for (int p = 0; p < playlists; ++p)
        m.playlists["pl" + std::to_string(p)] = Playlist{};
    m.defaultPlaylist = "pl0";
    m.display = DisplayWindow{6 * 60, 23 * 60};

    auto pick = [&rng](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
    const QDate yearStart(2026, 1, 1);
    for (int i = 0; i < entries; ++i) {
        ScheduleEntry e;
        e.playlist = "pl" + std::to_string(pick(0, playlists - 1));
        // Most entries are routine (0-5); a few campaigns and takeovers sit above.
        const int pr = pick(0, 99);
        e.priority = flat ? pick(0, 2) : pr < 70 ? pick(0, 5) : pr < 95 ? pick(6, 20) : pick(21, 100);

        const int d = pick(0, 9);
        if (d < 3) {
            // every day
        } else if (d < 6) {
            e.days = {Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu, Weekday::Fri};
        } else if (d < 8) {
            e.days = {Weekday::Sat, Weekday::Sun};
        } else {
            for (int w = 1; w <= 7; ++w)
                if (pick(0, 2) == 0)
                    e.days.push_back(static_cast<Weekday>(w));
            if (e.days.empty())
                e.days.push_back(static_cast<Weekday>(pick(1, 7)));
        }

        const int t = pick(0, 9);
        if (t < 2) {
            // all day
        } else if (t < 7) { // daytime slot, quarter-hour aligned
            const int from = pick(24, 80) * 15;
            e.fromMinute = from;
            e.untilMinute = std::min(from + pick(2, 32) * 15, 1439);
        } else if (t < 9) { // evening wrapping past midnight
            e.fromMinute = pick(76, 92) * 15;
            e.untilMinute = pick(0, 16) * 15;
        } else if (pick(0, 1) == 0) {
            e.fromMinute = pick(0, 95) * 15;
        } else {
            e.untilMinute = pick(1, 95) * 15;
        }

        const int r = pick(0, 9);
        if (r < 5) {
            // no dates
        } else if (r < 8) { // a campaign of 1-90 days
            const QDate start = yearStart.addDays(pick(0, 364));
            e.startDate = start;
            e.endDate = start.addDays(pick(0, 89));
        } else if (r < 9) {
            e.startDate = yearStart.addDays(pick(0, 364));
        } else {
            e.endDate = yearStart.addDays(pick(0, 364));
        }
        m.schedule.push_back(std::move(e));
    }
    return m;
}

struct Stats {
    double mean, p50, p99, max;
};

Stats statsOf(std::vector<double> us)
{
    std::sort(us.begin(), us.end());
    double sum = 0;
    for (const double v : us)
        sum += v;
    auto at = [&us](double q) { return us[std::min(us.size() - 1, static_cast<std::size_t>(q * us.size()))]; };
    return {sum / us.size(), at(0.50), at(0.99), us.back()};
}

void print(const char *what, const Stats &s)
{
    std::printf("%-28s mean %8.1f us  p50 %8.1f us  p99 %8.1f us  max %8.1f us\n",
                what, s.mean, s.p50, s.p99, s.max);
}

int runScenario(int entries, int playlists, int instants, unsigned seed, bool flat)
{
    std::mt19937 rng(seed);
    const Manifest m = buildManifest(entries, playlists, flat, rng);

    const std::int64_t yearStart = QDateTime(QDate(2026, 1, 1), QTime(0, 0), Qt::UTC).toMSecsSinceEpoch();
    const std::int64_t yearMs = std::int64_t{365} * 24 * 3600 * 1000;
    std::vector<QDateTime> nows;
    for (int i = 0; i < instants; ++i)
        nows.push_back(QDateTime::fromMSecsSinceEpoch(
            yearStart + std::uniform_int_distribution<std::int64_t>(0, yearMs - 1)(rng), Qt::UTC));
    // Around both Oslo transitions of 2026 (01:00Z on 29 March and 25 October).
    for (const char *iso : {"2026-03-29T00:59:00Z", "2026-03-29T01:00:00Z", "2026-10-25T00:30:00Z",
                            "2026-10-25T01:30:00Z"})
        nows.push_back(QDateTime::fromString(QString::fromLatin1(iso), Qt::ISODate));

    // Warm up (time-zone data, caches) outside the measurement.
    volatile std::size_t sink = resolveNowPlaying(m, nows.front()).playlists.size();

    using Clock = std::chrono::steady_clock;
    std::vector<double> resolveUs, displayUs;
    std::map<PlaySource, int> sources;
    int inexact = 0, never = 0;
    double horizonHours = 0;
    for (const QDateTime &now : nows) {
        const auto t0 = Clock::now();
        const NowPlaying r = resolveNowPlaying(m, now);
        const auto t1 = Clock::now();
        const DisplayPower d = resolveDisplay(m, now);
        const auto t2 = Clock::now();
        resolveUs.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
        displayUs.push_back(std::chrono::duration<double, std::micro>(t2 - t1).count());
        sink = sink + r.playlists.size() + (d.on ? 1 : 0);
        ++sources[r.source];
        inexact += r.exact ? 0 : 1;
        if (r.nextChange)
            horizonHours += now.msecsTo(*r.nextChange) / 3.6e6;
        else
            ++never;
    }

    std::printf("resolve_bench: %d entries, %d playlists, %zu instants (seed %u), Europe/Oslo, %s\n",
                entries, playlists, nows.size(), seed,
                flat ? "flat priorities 0-2 (big ties)" : "mixed priorities 0-100");
    print("resolveNowPlaying", statsOf(resolveUs));
    print("resolveDisplay", statsOf(displayUs));
    std::printf("answers: schedule %d, default %d, idle %d; next change found exactly in %zu of %zu"
                " (never: %d); mean time to next change %.2f h\n",
                sources[PlaySource::Schedule], sources[PlaySource::Default], sources[PlaySource::Idle],
                nows.size() - inexact, nows.size(), never,
                horizonHours / std::max<std::size_t>(1, nows.size() - never));
    return sink == 0xdeadbeef ? 1 : 0;
}

} // namespace

int main(int argc, char **argv)
{
    const int entries = argc > 1 ? std::atoi(argv[1]) : 10'000;
    const int playlists = argc > 2 ? std::atoi(argv[2]) : 1'000;
    const int instants = argc > 3 ? std::atoi(argv[3]) : 1'000;
    const unsigned seed = argc > 4 ? static_cast<unsigned>(std::atoi(argv[4])) : 42u;
    if (entries < 0 || playlists < 1 || instants < 1) {
        std::fprintf(stderr, "usage: resolve_bench [entries] [playlists] [instants] [seed]\n");
        return 2;
    }

    int rc = 0;
    rc |= runScenario(entries, playlists, instants, seed, false);
    rc |= runScenario(entries, playlists, instants, seed, true);
    return rc;
}
