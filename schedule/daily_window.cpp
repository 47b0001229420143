// schedule/daily_window.cpp — see daily_window.h.
#include "schedule/daily_window.h"

#include <algorithm>
#include <bit>

namespace stoa::schedule {
namespace {

// Window length for [from, until): until <= from wraps past midnight, and
// from == until is taken as a full day starting at `from` (the only reading
// under which "a window runs from `from` to the next `until`" holds for
// every pair; 00:00-00:00 is then simply "all day").
int windowLength(int from, int until)
{
    if (until > from)
        return until - from;
    return static_cast<int>(kMinutesPerDay) - from + until;
}

// Rotate a 7-bit weekday mask so that bit 0 is weekday `w`.
std::uint8_t rotateMask(std::uint8_t mask, int w)
{
    const unsigned m = mask & 0x7fu;
    return static_cast<std::uint8_t>(((m >> w) | (m << (7 - w))) & 0x7fu);
}

} // namespace

DailyWindow DailyWindow::fromEntry(const ScheduleEntry &entry)
{
    DailyWindow w;
    w.fromMinute = std::clamp(entry.fromMinute.value_or(0), 0, 1439);
    // An absent `until` is the end of the day (24:00), not 00:00.
    const int until = entry.untilMinute ? std::clamp(*entry.untilMinute, 0, 1439)
                                        : static_cast<int>(kMinutesPerDay);
    w.lengthMinutes = until == kMinutesPerDay ? static_cast<int>(kMinutesPerDay) - w.fromMinute
                                              : windowLength(w.fromMinute, until);
    if (!entry.days.empty()) {
        w.weekdayMask = 0;
        for (const Weekday d : entry.days)
            w.weekdayMask |= static_cast<std::uint8_t>(1u << (static_cast<int>(d) - 1));
    }
    if (entry.startDate && entry.startDate->isValid())
        w.firstDay = entry.startDate->toJulianDay();
    if (entry.endDate && entry.endDate->isValid())
        w.lastDay = entry.endDate->toJulianDay();
    return w;
}

DailyWindow DailyWindow::fromDisplay(const DisplayWindow &display)
{
    DailyWindow w;
    w.fromMinute = std::clamp(display.onMinute, 0, 1439);
    w.lengthMinutes = windowLength(w.fromMinute, std::clamp(display.offMinute, 0, 1439));
    return w;
}

bool DailyWindow::qualifies(std::int64_t julianDay) const
{
    return qualifies(julianDay, weekdayIndex(julianDay));
}

std::int64_t DailyWindow::firstQualifyingDayFrom(std::int64_t day) const
{
    day = std::max(day, firstDay);
    if (day > lastDay)
        return kNever;
    const std::uint8_t rot = rotateMask(weekdayMask, weekdayIndex(day));
    if (rot == 0)
        return kNever;
    const std::int64_t candidate = day + std::countr_zero(rot);
    return candidate > lastDay ? kNever : candidate;
}

std::int64_t DailyWindow::firstNonQualifyingDayFrom(std::int64_t day) const
{
    if (day < firstDay || day > lastDay)
        return day;
    const std::int64_t afterRange = lastDay == std::numeric_limits<std::int64_t>::max()
        ? kNever : lastDay + 1;
    const std::uint8_t rot = rotateMask(static_cast<std::uint8_t>(~weekdayMask & 0x7fu),
                                        weekdayIndex(day));
    if (rot == 0)
        return afterRange;
    return std::min(day + std::countr_zero(rot), afterRange);
}

std::int64_t DailyWindow::nextChangeAfter(const LocalMinute &m) const
{
    const std::int64_t day = m.day;
    const bool today = inTodaysWindow(m);
    if (today || inYesterdaysTail(m)) {
        const std::int64_t owner = today ? day : day - 1;
        if (lengthMinutes < kMinutesPerDay)
            return owner * kMinutesPerDay + fromMinute + lengthMinutes;
        // Full-day windows touch: the run lasts until the first day without one.
        const std::int64_t gapDay = firstNonQualifyingDayFrom(owner + 1);
        return gapDay == kNever ? kNever : gapDay * kMinutesPerDay + fromMinute;
    }
    // Closed: today's window has not started yet, or the next one is a later day's.
    const std::int64_t next = firstQualifyingDayFrom(m.minuteOfDay < fromMinute ? day : day + 1);
    return next == kNever ? kNever : next * kMinutesPerDay + fromMinute;
}

} // namespace stoa::schedule
