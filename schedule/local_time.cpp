// schedule/local_time.cpp — see local_time.h.
#include "schedule/local_time.h"

#include "schedule/daily_window.h" // kNever

#include <QDateTime>

#include <algorithm>
#include <utility>

namespace stoa::schedule {
namespace {

// A bound on transitions fetched per timeline: real zones have two a year, so
// this covers centuries and only stops a pathological zone from looping.
constexpr std::size_t kMaxSegments = 4096;

struct Transition {
    std::int64_t atUtc = kNever;
    std::int64_t offsetAfterMs = 0;
};

// The first transition strictly after `afterUtc`, or atUtc == kNever.
Transition nextTransition(const QTimeZone &zone, std::int64_t afterUtc)
{
    const QTimeZone::OffsetData t = zone.nextTransition(utcOf(afterUtc));
    if (!t.atUtc.isValid())
        return {};
    std::int64_t at = t.atUtc.toMSecsSinceEpoch();
    if (at <= afterUtc) // defensive: never let the walk stand still
        return nextTransition(zone, afterUtc + 1);
    return {at, std::int64_t{t.offsetFromUtc} * 1000};
}

} // namespace

LocalTimeline::LocalTimeline(QTimeZone zone, std::int64_t nowUtcMs)
    : zone_(std::move(zone)), nowUtc_(nowUtcMs)
{
    const std::int64_t offsetNow = std::int64_t{zone_.offsetFromUtc(utcOf(nowUtc_))} * 1000;
    const Transition next = nextTransition(zone_, nowUtc_);
    segments_.push_back({nowUtc_, next.atUtc, offsetNow});
    scheduleNow_ = nowUtc_ + offsetNow;

    // Are we in the second pass of a fall-back overlap? Then schedule time
    // stands at the end of the overlap (running maximum of local time).
    const QTimeZone::OffsetData prev = zone_.previousTransition(utcOf(nowUtc_ + 1));
    if (prev.atUtc.isValid()) {
        const std::int64_t at = prev.atUtc.toMSecsSinceEpoch();
        const std::int64_t before = std::int64_t{zone_.offsetFromUtc(utcOf(at - 1))} * 1000;
        const std::int64_t after = std::int64_t{prev.offsetFromUtc} * 1000;
        if (before > after && nowUtc_ < at + (before - after))
            scheduleNow_ = at + before - 1;
    }
}

void LocalTimeline::extendTo(std::int64_t localMs)
{
    while (segments_.size() < kMaxSegments) {
        const Segment &last = segments_.back();
        if (last.endUtc == kNever || last.endUtc + last.offsetMs > localMs)
            return;
        const std::int64_t start = last.endUtc;
        const std::int64_t offset = std::int64_t{zone_.offsetFromUtc(utcOf(start))} * 1000;
        const Transition next = nextTransition(zone_, start);
        segments_.push_back({start, next.atUtc, offset});
    }
}

std::int64_t LocalTimeline::skipGap(std::int64_t localMs)
{
    extendTo(localMs);
    for (std::size_t k = 0; k + 1 < segments_.size(); ++k) {
        const Segment &a = segments_[k];
        const Segment &b = segments_[k + 1];
        const std::int64_t gapStart = a.endUtc + a.offsetMs;
        const std::int64_t gapEnd = b.startUtc + b.offsetMs;
        if (localMs < gapStart)
            break;
        if (gapEnd > gapStart && localMs < gapEnd)
            return gapEnd;
    }
    return localMs;
}

std::int64_t LocalTimeline::toUtc(std::int64_t localMs)
{
    extendTo(localMs);
    for (const Segment &s : segments_) {
        const std::int64_t candidate = localMs - s.offsetMs;
        if (s.endUtc == kNever || candidate < s.endUtc)
            return std::max(s.startUtc, candidate);
    }
    // Only reached when kMaxSegments stopped the walk: answer with the last
    // known offset, which is right for any zone that stopped changing.
    return localMs - segments_.back().offsetMs;
}

QDateTime utcOf(std::int64_t ms)
{
    return QDateTime::fromMSecsSinceEpoch(ms, Qt::UTC);
}

} // namespace stoa::schedule
