// schedule/engine.cpp — see engine.h.
//
// How the next change is found without per-entry time-zone work: `now` is
// converted to local schedule time once (LocalTimeline); each entry becomes a
// DailyWindow in local minutes; a sweep walks the boundaries forward in local
// time. Only entries at or above the current top priority can change the
// answer, so only those are followed step by step; lower ones are brought up
// to date lazily when the top empties. Boundaries inside a spring-forward gap
// are folded onto the gap's end. The one boundary that changes the answer is
// converted back to UTC at the end.
#include "schedule/engine.h"

#include "schedule/daily_window.h"
#include "schedule/local_time.h"

#include <QLoggingCategory>
#include <QTimeZone>

#include <algorithm>
#include <cstdint>
#include <string_view>
#include <unordered_set>

namespace stoa::schedule {
namespace {

Q_LOGGING_CATEGORY(lcEngine, "stoa.schedule.engine")

constexpr std::int64_t kMsPerMinute = 60'000;
// Local minute index (julianDay * 1440 + minute) of 1970-01-01T00:00 local.
constexpr std::int64_t kEpochMinute = std::int64_t{2440588} * kMinutesPerDay;

std::int64_t minuteOfLocalMs(std::int64_t localMs)
{
    return floorDiv(localMs, kMsPerMinute) + kEpochMinute;
}

std::int64_t localMsOfMinute(std::int64_t minute)
{
    return (minute - kEpochMinute) * kMsPerMinute;
}

QTimeZone zoneOf(const Manifest &manifest)
{
    QTimeZone zone(manifest.timezone.toUtf8());
    if (!zone.isValid()) {
        // The parser rejects unknown zones; this only guards hand-built manifests.
        qCWarning(lcEngine) << "unknown time zone" << manifest.timezone << "- scheduling in UTC";
        return QTimeZone(QByteArrayLiteral("UTC"));
    }
    return zone;
}

// The first local minute >= m that exists after a spring-forward gap.
std::int64_t skipGapMinute(LocalTimeline &timeline, std::int64_t m)
{
    const std::int64_t ms = timeline.skipGap(localMsOfMinute(m));
    return minuteOfLocalMs(ms + kMsPerMinute - 1); // ceil: gaps end on whole minutes anyway
}

// Incremental state of every entry during one resolve.
//   active[i] holds from some earlier swept minute up to edge[i] (exclusive);
//   edge[i] <= the current minute means "stale, recompute before use".
class Sweep {
public:
    explicit Sweep(const std::vector<ScheduleEntry> &entries, std::int64_t start)
        : entries_(entries), here_(LocalMinute::of(start))
    {
        const std::size_t n = entries.size();
        windows_.reserve(n);
        priority_.reserve(n);
        active_.resize(n);
        edge_.assign(n, start); // edges are computed lazily, only where they matter
        std::optional<int> top;
        for (std::size_t i = 0; i < n; ++i) {
            windows_.push_back(DailyWindow::fromEntry(entries[i]));
            priority_.push_back(entries[i].priority);
            active_[i] = windows_[i].isOpenAt(here_);
            if (active_[i] && (!top || priority_[i] > *top))
                top = priority_[i];
        }
        setTop(top);
    }

    std::int64_t minute() const { return here_.minute; }

    // The current answer, from the fresh entries at the top priority.
    NowPlaying answer(const std::optional<ContentRef> &defaultContent) const
    {
        NowPlaying a;
        if (!top_) {
            if (defaultContent) {
                a.source = PlaySource::Default;
                add(a, defaultContent->kind, defaultContent->name);
            }
            return a;
        }
        a.source = PlaySource::Schedule;
        // Hundreds of entries may tie: dedupe through sets, not a list scan.
        std::unordered_set<std::string_view> seenPlaylists;
        std::unordered_set<std::string_view> seenLayouts;
        for (const std::size_t i : relevant_) {
            if (!active_[i] || priority_[i] != *top_)
                continue;
            const ScheduleEntry &e = entries_[i];
            const bool layout = !e.layout.empty();
            const std::string &name = layout ? e.layout : e.playlist;
            if ((layout ? seenLayouts : seenPlaylists).insert(name).second)
                add(a, layout ? ContentKind::Layout : ContentKind::Playlist, name);
        }
        return a;
    }

    // The next local minute at which an entry that can affect the answer
    // changes state; kNever if none ever does.
    std::int64_t nextBoundary()
    {
        std::int64_t next = kNever;
        for (const std::size_t i : relevant_) {
            refresh(i);
            next = std::min(next, edge_[i]);
        }
        return next;
    }

    // Move to minute m (> minute()), bringing every entry that can matter up to date.
    void advanceTo(std::int64_t m)
    {
        here_ = LocalMinute::of(m);
        std::optional<int> top = topAmong(relevant_);
        if (!top && top_) {
            // The top emptied: lower entries, frozen so far, matter again.
            top = topAmong(allIndices());
        }
        setTop(top);
    }

private:
    static void add(NowPlaying &a, ContentKind kind, const std::string &name)
    {
        a.contents.push_back(ContentRef{kind, name});
        if (kind == ContentKind::Playlist)
            a.playlists.push_back(name);
    }

    void refresh(std::size_t i)
    {
        if (edge_[i] > here_.minute)
            return;
        active_[i] = windows_[i].isOpenAt(here_);
        edge_[i] = windows_[i].nextChangeAfter(here_);
    }

    const std::vector<std::size_t> &allIndices()
    {
        if (all_.size() != entries_.size()) {
            all_.resize(entries_.size());
            for (std::size_t i = 0; i < all_.size(); ++i)
                all_[i] = i;
        }
        return all_;
    }

    // Highest priority among active entries of `indices` (refreshed first).
    std::optional<int> topAmong(const std::vector<std::size_t> &indices)
    {
        std::optional<int> top;
        for (const std::size_t i : indices) {
            refresh(i);
            if (active_[i] && (!top || priority_[i] > *top))
                top = priority_[i];
        }
        return top;
    }

    // Entries below the top priority cannot change the answer until the
    // top empties; follow only the others.
    void setTop(std::optional<int> top)
    {
        const bool rebuild = relevant_.empty() || top != top_;
        top_ = top;
        if (!rebuild)
            return;
        relevant_.clear();
        for (std::size_t i = 0; i < entries_.size(); ++i) {
            if (!top_ || priority_[i] >= *top_)
                relevant_.push_back(i);
        }
    }

    const std::vector<ScheduleEntry> &entries_;
    LocalMinute here_; // the swept minute
    std::vector<DailyWindow> windows_;
    std::vector<int> priority_; // copied out of the entries: hot loops stay in cache
    std::vector<char> active_; // char, not vector<bool>: hot loop
    std::vector<std::int64_t> edge_;
    std::vector<std::size_t> all_;
    std::vector<std::size_t> relevant_; // ascending = schedule order
    std::optional<int> top_;            // nullopt: nothing active
};

bool sameAnswer(const NowPlaying &a, const NowPlaying &b)
{
    return a.source == b.source && a.contents == b.contents;
}

} // namespace

NowPlaying resolveNowPlaying(const Manifest &manifest, const QDateTime &nowUtc)
{
    LocalTimeline timeline(zoneOf(manifest), nowUtc.toMSecsSinceEpoch());
    Sweep sweep(manifest.schedule, minuteOfLocalMs(timeline.scheduleNowLocalMs()));
    const std::optional<ContentRef> defaultContent = manifest.defaultContent();
    NowPlaying result = sweep.answer(defaultContent);

    for (int step = 0; step < kMaxSweepSteps; ++step) {
        const std::int64_t boundary = sweep.nextBoundary();
        if (boundary == kNever)
            return result; // nothing that matters ever changes again
        sweep.advanceTo(skipGapMinute(timeline, boundary));
        if (!sameAnswer(sweep.answer(defaultContent), result)) {
            result.nextChange = utcOf(timeline.toUtc(localMsOfMinute(sweep.minute())));
            return result;
        }
    }
    qCDebug(lcEngine) << "next change not found within" << kMaxSweepSteps << "boundaries";
    result.exact = false;
    result.nextChange = utcOf(timeline.toUtc(localMsOfMinute(sweep.minute())));
    return result;
}

DisplayPower resolveDisplay(const Manifest &manifest, const QDateTime &nowUtc)
{
    DisplayPower result;
    if (!manifest.display)
        return result;
    const DailyWindow window = DailyWindow::fromDisplay(*manifest.display);
    LocalTimeline timeline(zoneOf(manifest), nowUtc.toMSecsSinceEpoch());
    std::int64_t minute = minuteOfLocalMs(timeline.scheduleNowLocalMs());
    result.on = window.isOpenAt(minute);
    // A few rounds at most: only a window that lies inside a DST gap is skipped.
    for (int step = 0; step < kMaxSweepSteps; ++step) {
        const std::int64_t boundary = window.nextChangeAfter(minute);
        if (boundary == kNever)
            return result;
        minute = skipGapMinute(timeline, boundary);
        if (window.isOpenAt(minute) != result.on) {
            result.nextChange = utcOf(timeline.toUtc(localMsOfMinute(minute)));
            return result;
        }
    }
    return result;
}

} // namespace stoa::schedule
