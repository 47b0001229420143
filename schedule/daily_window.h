// schedule/daily_window.h — one recurring local-time window, as integer maths.
//
// Job: answer "is this window open at local minute M?" and "when does that
// next change after M?" for a schedule entry or the display window, in O(1)
// (no QDate / QTimeZone calls, no allocation), so the engine can sweep
// 10,000 entries per resolve.
//
// Local time here is a plain count of wall-clock minutes:
//   M = julianDay * 1440 + minuteOfDay
// of the manifest's time zone. Daylight-saving gaps and overlaps are not
// this file's business (local_time.h maps minutes to UTC instants).
//
// Invariants of a DailyWindow:
//  - fromMinute in [0, 1440), lengthMinutes in [1, 1440];
//  - the window of day d is [d*1440 + from, d*1440 + from + length): it
//    belongs to the day it starts on, so the after-midnight part of a
//    wrapped window follows the start day's date and weekday rules;
//  - a day qualifies when it lies in [firstDay, lastDay] and its weekday bit
//    is set in weekdayMask (bit 0 = Monday ... bit 6 = Sunday);
//  - two windows never overlap; they touch only when length == 1440.
#pragma once

#include "schedule/manifest.h"

#include <cstdint>
#include <limits>

namespace stoa::schedule {

inline constexpr std::int64_t kMinutesPerDay = 1440;
// "Never": no further change. Larger than any reachable minute.
inline constexpr std::int64_t kNever = std::numeric_limits<std::int64_t>::max();

// Monday = 0 ... Sunday = 6 for a julian day (julian day 0 was a Monday).
constexpr int weekdayIndex(std::int64_t julianDay);

// A local minute split into day and time of day once, so that testing it
// against thousands of windows costs no divisions.
struct LocalMinute {
    std::int64_t minute = 0; // julianDay * 1440 + minuteOfDay
    std::int64_t day = 0;    // julian day
    int minuteOfDay = 0;     // [0, 1440)
    int weekday = 0;         // Monday = 0 ... Sunday = 6

    static LocalMinute of(std::int64_t m);
};

struct DailyWindow {
    int fromMinute = 0;        // local start of each day's window, [0, 1440)
    int lengthMinutes = 1440;  // [1, 1440]; > 1440 - fromMinute means it wraps midnight
    std::uint8_t weekdayMask = 0x7f; // bit k set: weekday k (0 = Monday) qualifies
    std::int64_t firstDay = std::numeric_limits<std::int64_t>::min(); // julian day, inclusive
    std::int64_t lastDay = std::numeric_limits<std::int64_t>::max();  // julian day, inclusive

    // The window of a schedule entry (days, dates, from/until) per spec §3.
    // from == until is a full 24 hours starting at `from` (see docs/schedule.md).
    static DailyWindow fromEntry(const ScheduleEntry &entry);
    // The display window: every day, [on, off), wrapping like schedule times.
    static DailyWindow fromDisplay(const DisplayWindow &display);

    // Whether day `julianDay` carries a window.
    bool qualifies(std::int64_t julianDay) const;
    // Whether the window is open at local minute m.
    bool isOpenAt(std::int64_t m) const { return isOpenAt(LocalMinute::of(m)); }
    bool isOpenAt(const LocalMinute &m) const;
    // The first local minute > m at which isOpenAt changes value; kNever if none.
    std::int64_t nextChangeAfter(std::int64_t m) const { return nextChangeAfter(LocalMinute::of(m)); }
    std::int64_t nextChangeAfter(const LocalMinute &m) const;

private:
    bool qualifies(std::int64_t julianDay, int weekday) const
    {
        return julianDay >= firstDay && julianDay <= lastDay && ((weekdayMask >> weekday) & 1u) != 0;
    }
    // Whether m lies in the window of its own day / of the day before.
    bool inTodaysWindow(const LocalMinute &m) const
    {
        return m.minuteOfDay >= fromMinute && m.minuteOfDay < fromMinute + lengthMinutes
            && qualifies(m.day, m.weekday);
    }
    bool inYesterdaysTail(const LocalMinute &m) const
    {
        return m.minuteOfDay < fromMinute + lengthMinutes - kMinutesPerDay
            && qualifies(m.day - 1, m.weekday == 0 ? 6 : m.weekday - 1);
    }
    // The first qualifying julian day >= day, or kNever.
    std::int64_t firstQualifyingDayFrom(std::int64_t day) const;
    // The first non-qualifying julian day >= day, or kNever.
    std::int64_t firstNonQualifyingDayFrom(std::int64_t day) const;
};

constexpr int weekdayIndex(std::int64_t julianDay)
{
    const std::int64_t r = julianDay % 7;
    return static_cast<int>(r < 0 ? r + 7 : r);
}

// Floor division, for minute and day arithmetic on possibly negative values.
constexpr std::int64_t floorDiv(std::int64_t a, std::int64_t b)
{
    const std::int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

inline LocalMinute LocalMinute::of(std::int64_t m)
{
    LocalMinute l;
    l.minute = m;
    l.day = floorDiv(m, kMinutesPerDay);
    l.minuteOfDay = static_cast<int>(m - l.day * kMinutesPerDay);
    l.weekday = weekdayIndex(l.day);
    return l;
}

inline bool DailyWindow::isOpenAt(const LocalMinute &m) const
{
    return inTodaysWindow(m) || inYesterdaysTail(m);
}

} // namespace stoa::schedule
