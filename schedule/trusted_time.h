// schedule/trusted_time.h — trusted "now" for a device without a real-time clock (spec §7).
//
// Job: keep the time floor (a lower bound on the true time), raise it from
// trusted sources, and answer "what time is it" as
//     trusted now = max(system clock, floor + monotonic time elapsed since the floor was taken)
// reporting trusted=false when the system clock is behind that advanced floor.
//
// Invariants:
//  - the floor only ever rises (raiseFloor ignores lower values);
//  - the advanced floor grows exactly with the monotonic clock, so trusted
//    now never goes backwards, whatever the system clock does;
//  - no I/O: the caller loads the persisted floor, passes it in, and saves
//    floorToPersist() when persistDue() (at least every kPersistIntervalMs of
//    monotonic time, sooner after a jump) and at shutdown, then calls
//    markPersisted();
//  - both clocks are injected, so tests drive them; durations use the
//    monotonic clock only.
#pragma once

#include <QDateTime>
#include <QString>

#include <cstdint>
#include <functional>
#include <optional>

namespace stoa::schedule {

enum class TimeSource {
    Ntp,    // the system clock, NTP-synchronised
    System, // the system clock, not known to be synchronised, not behind the floor
    Floor,  // the system clock is behind the floor: floor advanced by the monotonic clock
};

// "ntp", "system", "floor": the status heartbeat's clock.source values.
QString timeSourceName(TimeSource source);

struct TrustedNow {
    QDateTime utc;        // trusted now, UTC
    bool trusted = false; // false: the system clock is behind the floor
    TimeSource source = TimeSource::Floor;
};

struct Clocks {
    std::function<std::int64_t()> systemUtcMs;  // wall clock, ms since the Unix epoch, UTC
    std::function<std::int64_t()> monotonicMs;  // never goes backwards; any origin
    std::function<bool()> systemSynchronised;   // is the wall clock NTP-synchronised now?

    // The real ones: QDateTime::currentMSecsSinceEpoch and
    // std::chrono::steady_clock. Whether the wall clock is NTP-synchronised
    // comes from the platform layer (platform/rpi/time_sync.h: adjtimex),
    // which the processes' mains pass in; without it the system clock never
    // counts as NTP time (the floor and signed issued_at times still rule).
    static Clocks system(std::function<bool()> synchronised = {});
};

class TrustedClock {
public:
    // Persist at least this often (monotonic time), per spec §7.
    static constexpr std::int64_t kPersistIntervalMs = 10 * 60 * 1000;
    // The system clock counts as behind the floor only beyond this much, so
    // that rate differences between the wall and the monotonic clock (NTP
    // slewing, up to 500 ppm) do not make `trusted` flicker.
    static constexpr std::int64_t kBehindToleranceMs = 2000;
    // A raise larger than this (an issued_at or the first NTP sync after an
    // offline boot) makes persistDue() true at once, not 10 minutes later.
    static constexpr std::int64_t kJumpMs = 60 * 1000;

    // persistedFloorUtcMs: the floor saved by a previous run, if any.
    TrustedClock(Clocks clocks, std::optional<std::int64_t> persistedFloorUtcMs);

    // Trusted now. Raises the floor from the system clock first when that
    // clock is NTP-synchronised.
    TrustedNow now();

    // How far one signed document's issued_at may move the floor ahead of
    // trusted now (docs/protocol.md, "Time floor"). The floor never comes
    // down and advances with the monotonic clock, so a lead it takes on is
    // kept for good (only power-off time shrinks it): an issued_at in the
    // future (a publisher's clock a year or a time zone ahead, a stolen
    // signing key) would hold the device's time ahead for ever.
    //  - NTP-synchronised clock: none. The clock is the better witness, and
    //    an honest document is never ahead of it (beyond the publisher's
    //    skew, which is not worth a permanent error).
    //  - otherwise: a day. Without NTP, issued_at is how a device switched
    //    off overnight (the usual timer-switch install, up to ~16 h) catches
    //    up; a cap below that lag would let the lag grow night after night.
    //    A day also stays below any sensible manifest lifetime (the
    //    publisher's default is 30 days), so a wrong document never makes
    //    fresh manifests look expired.
    //  - no floor yet (never NTP, never a signed time: a first boot): no
    //    cap, there is no trusted time to measure a lead from.
    static constexpr std::int64_t kMaxSignedLeadMs = 24 * 60 * 60 * 1000;

    // Raise the floor to utcMs (taken now) if that is above the advanced floor.
    void raiseFloor(std::int64_t utcMs);
    // The issued_at of an adopted signed document (manifest, keys): raises
    // the floor to it, but not past trusted now while the clock is
    // NTP-synchronised, nor more than kMaxSignedLeadMs past it otherwise
    // (once there is a floor at all).
    void observeSignedIssuedAt(const QDateTime &issuedAt);

    // The value to save: the advanced floor now; nullopt when there is no
    // floor yet (nothing trusted ever seen).
    std::optional<std::int64_t> floorToPersist() const;
    // Whether the caller should save floorToPersist() now.
    bool persistDue() const;
    // Monotonic ms until persistDue() becomes true (0 if it is); for a timer.
    std::int64_t msUntilPersistDue() const;
    // The caller saved floorToPersist().
    void markPersisted();

private:
    std::optional<std::int64_t> advancedFloor(std::int64_t monotonic) const;

    Clocks clocks_;
    std::optional<std::int64_t> floorUtcMs_; // the floor's value when it was taken
    std::int64_t floorMonotonicMs_ = 0;      // monotonic time it was taken at
    std::int64_t lastPersistMonotonicMs_ = 0;
    bool jumpedSincePersist_ = false;        // a raise by more than kJumpMs is unsaved
};

} // namespace stoa::schedule
