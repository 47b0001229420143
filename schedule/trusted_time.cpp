// schedule/trusted_time.cpp — see trusted_time.h.
#include "schedule/trusted_time.h"

#include <QLoggingCategory>

#include <algorithm>
#include <chrono>
#include <utility>

namespace stoa::schedule {
namespace {

Q_LOGGING_CATEGORY(lcTime, "stoa.schedule.time")

} // namespace

QString timeSourceName(TimeSource source)
{
    switch (source) {
    case TimeSource::Ntp:
        return QStringLiteral("ntp");
    case TimeSource::System:
        return QStringLiteral("system");
    case TimeSource::Floor:
        return QStringLiteral("floor");
    }
    return QStringLiteral("floor");
}

Clocks Clocks::system(std::function<bool()> synchronised)
{
    if (!synchronised)
        synchronised = [] { return false; };
    return Clocks{
        [] { return std::int64_t{QDateTime::currentMSecsSinceEpoch()}; },
        [] {
            return std::int64_t{std::chrono::duration_cast<std::chrono::milliseconds>(
                std::chrono::steady_clock::now().time_since_epoch()).count()};
        },
        std::move(synchronised),
    };
}

TrustedClock::TrustedClock(Clocks clocks, std::optional<std::int64_t> persistedFloorUtcMs)
    : clocks_(std::move(clocks)), floorUtcMs_(persistedFloorUtcMs)
{
    floorMonotonicMs_ = clocks_.monotonicMs();
    lastPersistMonotonicMs_ = floorMonotonicMs_; // what we were given is what is saved
}

std::optional<std::int64_t> TrustedClock::advancedFloor(std::int64_t monotonic) const
{
    if (!floorUtcMs_)
        return std::nullopt;
    return *floorUtcMs_ + std::max<std::int64_t>(0, monotonic - floorMonotonicMs_);
}

TrustedNow TrustedClock::now()
{
    const std::int64_t system = clocks_.systemUtcMs();
    const bool synchronised = clocks_.systemSynchronised();
    if (synchronised)
        raiseFloor(system);

    const std::optional<std::int64_t> floor = advancedFloor(clocks_.monotonicMs());
    const bool behind = floor && system < *floor - kBehindToleranceMs;
    TrustedNow result;
    result.utc = QDateTime::fromMSecsSinceEpoch(floor ? std::max(system, *floor) : system, Qt::UTC);
    result.trusted = !behind;
    result.source = behind ? TimeSource::Floor
                           : (synchronised ? TimeSource::Ntp : TimeSource::System);
    return result;
}

void TrustedClock::raiseFloor(std::int64_t utcMs)
{
    const std::int64_t monotonic = clocks_.monotonicMs();
    const std::optional<std::int64_t> current = advancedFloor(monotonic);
    if (current && utcMs <= *current)
        return;
    if (!current || utcMs - *current > kJumpMs) {
        jumpedSincePersist_ = true;
        qCInfo(lcTime) << "time floor raised to"
                       << QDateTime::fromMSecsSinceEpoch(utcMs, Qt::UTC).toString(Qt::ISODateWithMs);
    }
    floorUtcMs_ = utcMs;
    floorMonotonicMs_ = monotonic;
}

void TrustedClock::observeSignedIssuedAt(const QDateTime &issuedAt)
{
    if (!issuedAt.isValid())
        return;
    const std::int64_t claimed = issuedAt.toMSecsSinceEpoch();
    const bool synchronised = clocks_.systemSynchronised();
    const std::int64_t trusted = now().utc.toMSecsSinceEpoch(); // with NTP, this takes the floor to the clock
    if (!floorUtcMs_) {
        // Never trusted any time (first boot, no NTP): the clock of a board
        // without a real-time clock may be decades off, so there is nothing
        // to measure a lead against, and the document is the best witness.
        raiseFloor(claimed);
        return;
    }
    const std::int64_t cap = trusted + (synchronised ? 0 : kMaxSignedLeadMs);
    if (claimed > cap)
        qCWarning(lcTime).noquote() << "signed issued_at" << issuedAt.toUTC().toString(Qt::ISODate) << "is ahead of"
                                    << (synchronised ? "the NTP-synchronised clock" : "trusted time by more than a day")
                                    << "- the time floor moves only to"
                                    << QDateTime::fromMSecsSinceEpoch(cap, Qt::UTC).toString(Qt::ISODate);
    raiseFloor(std::min(claimed, cap));
}

std::optional<std::int64_t> TrustedClock::floorToPersist() const
{
    return advancedFloor(clocks_.monotonicMs());
}

bool TrustedClock::persistDue() const
{
    return msUntilPersistDue() == 0;
}

std::int64_t TrustedClock::msUntilPersistDue() const
{
    if (!floorUtcMs_)
        return kPersistIntervalMs; // nothing to save yet; look again later
    if (jumpedSincePersist_)
        return 0;
    const std::int64_t elapsed = clocks_.monotonicMs() - lastPersistMonotonicMs_;
    return std::max<std::int64_t>(0, kPersistIntervalMs - elapsed);
}

void TrustedClock::markPersisted()
{
    lastPersistMonotonicMs_ = clocks_.monotonicMs();
    jumpedSincePersist_ = false;
}

} // namespace stoa::schedule
