// schedule/local_time.h — the manifest's local wall clock, seen forward from "now".
//
// Job: map between trusted UTC instants and local wall-clock time of one IANA
// zone, with the schedule's rules for daylight-saving transitions:
//  - local time runs forward only. Across a fall-back overlap (02:00-03:00
//    happens twice) "schedule time" is the running maximum of local time:
//    every local instant is reached once, at its FIRST occurrence, and during
//    the repeated hour schedule time stands at the end of the overlap (just
//    before 03:00) until the wall clock comes round to 03:00 again;
//  - a local time inside a spring-forward gap (02:30 when 02:00 jumps to
//    03:00) is reached at the first instant local time is >= it, i.e. the
//    transition instant (03:00 new time).
//
// Local time is counted as "local ms": milliseconds of wall-clock time since
// 1970-01-01T00:00 local (UTC ms + UTC offset).
//
// Invariants: segments_ are contiguous from nowUtc onwards, each with one UTC
// offset; they are fetched from QTimeZone lazily, only as far as asked. Only
// O(1) QTimeZone calls per transition crossed, never per schedule entry.
#pragma once

#include <QDateTime>
#include <QTimeZone>

#include <cstdint>
#include <vector>

namespace stoa::schedule {

class LocalTimeline {
public:
    LocalTimeline(QTimeZone zone, std::int64_t nowUtcMs);

    std::int64_t nowUtcMs() const { return nowUtc_; }
    // Schedule time at now in local ms: local wall-clock time, except during
    // the second pass of a fall-back overlap (then the overlap's end - 1 ms).
    std::int64_t scheduleNowLocalMs() const { return scheduleNow_; }
    // If localMs falls in a spring-forward gap that lies after now, the end
    // of that gap (the first local time that exists); else localMs itself.
    std::int64_t skipGap(std::int64_t localMs);
    // The first UTC instant >= now at which schedule time reaches localMs.
    // Precondition: localMs > scheduleNowLocalMs().
    std::int64_t toUtc(std::int64_t localMs);

private:
    struct Segment {
        std::int64_t startUtc;  // inclusive (the first one starts at now)
        std::int64_t endUtc;    // exclusive: the next transition, or kNever
        std::int64_t offsetMs;  // UTC offset in force throughout
    };
    // Fetch segments until the last one reaches local time localMs (or has no end).
    void extendTo(std::int64_t localMs);

    QTimeZone zone_;
    std::int64_t nowUtc_;
    std::int64_t scheduleNow_;
    std::vector<Segment> segments_;
};

// A UTC instant (ms since the epoch) as a QDateTime in UTC, as QTimeZone and
// the engine's answers take it.
QDateTime utcOf(std::int64_t ms);

} // namespace stoa::schedule
