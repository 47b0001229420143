// platform/rpi/time_sync.cpp — see time_sync.h.
#include "platform/rpi/time_sync.h"

#include <sys/timex.h>

#include <cerrno>
#include <system_error>

namespace stoa::platform {

TimeSyncState decodeTimex(int clockState, int status, std::int64_t maxErrorUs, std::int64_t estErrorUs)
{
    TimeSyncState s;
    s.clockState = clockState;
    s.status = status;
    s.maxErrorUs = maxErrorUs;
    s.estErrorUs = estErrorUs;
    s.synchronized = clockState != TIME_ERROR && (status & STA_UNSYNC) == 0 && maxErrorUs >= 0 &&
                     maxErrorUs < kMaxErrorLimitUs;
    return s;
}

std::expected<TimeSyncState, std::string> AdjtimexTimeSync::state()
{
    timex tx{}; // modes == 0: read only
    const int r = ::adjtimex(&tx);
    if (r == -1)
        return std::unexpected("adjtimex failed: " + std::error_code(errno, std::generic_category()).message());
    return decodeTimex(r, tx.status, tx.maxerror, tx.esterror);
}

} // namespace stoa::platform
