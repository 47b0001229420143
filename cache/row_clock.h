// cache/row_clock.h — the time the store stamps on its rows.
//
// Rows say when something happened on this device (a blob indexed, a
// manifest pinned, a command executed or restored from the mirror) as Unix
// milliseconds of the system clock. One reading of that clock for them all.
#pragma once

#include <chrono>
#include <cstdint>

namespace stoa::cache {

inline std::int64_t rowClockMs()
{
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

} // namespace stoa::cache
