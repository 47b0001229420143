// platform/rpi/time_sync.h — is the system clock NTP-synchronised? (spec §7)
//
// The kernel keeps the answer whatever the NTP client is (systemd-timesyncd,
// chrony, ntpd): adjtimex(2) with modes 0 reads it without changing anything.
// It feeds schedule::Clocks::systemSynchronised, which lets the trusted
// clock raise its time floor from the system clock.
//
// Invariants: synchronised only when the kernel says so on every count: the
// clock state is not TIME_ERROR, STA_UNSYNC is clear and the maximum error
// is below the kernel's 16 s limit (it sets STA_UNSYNC itself at that limit;
// checking both does not trust one bit alone); reading never changes the
// clock; a failing adjtimex is an error, which callers treat as "not synced".
#pragma once

#include <cstdint>
#include <expected>
#include <string>

namespace stoa::platform {

struct TimeSyncState {
    bool synchronized = false;    // the decision, per the invariants above
    int clockState = 0;           // adjtimex's return: TIME_OK, TIME_INS, ..., TIME_ERROR
    int status = 0;               // timex.status (STA_* bits)
    std::int64_t maxErrorUs = 0;  // timex.maxerror: the kernel's bound on the clock's error, µs
    std::int64_t estErrorUs = 0;  // timex.esterror: the estimated error, µs
};

// The kernel's maxerror ceiling (NTP_PHASE_LIMIT), µs.
inline constexpr std::int64_t kMaxErrorLimitUs = 16'000'000;

// Pure: the decision from adjtimex's return and fields (the table tests use it).
TimeSyncState decodeTimex(int clockState, int status, std::int64_t maxErrorUs, std::int64_t estErrorUs);

class TimeSyncSource {
public:
    virtual ~TimeSyncSource() = default;
    virtual std::expected<TimeSyncState, std::string> state() = 0;
    // false on error: an unknown state is not a synchronised one.
    bool synchronized()
    {
        const auto s = state();
        return s && s->synchronized;
    }
};

class AdjtimexTimeSync final : public TimeSyncSource {
public:
    std::expected<TimeSyncState, std::string> state() override;
};

} // namespace stoa::platform
