// platform/rpi/throttle.h — the firmware's under-voltage and throttling flags.
//
// The VideoCore firmware keeps one bit field ("get_throttled"): bits 0-3 say
// what holds now, bits 16-19 what has happened since boot. The kernel shows
// it as hex in <root>/sys/devices/platform/soc/soc:firmware/get_throttled
// ("50005"); `vcgencmd get_throttled` prints "throttled=0x50005".
//
// Invariants: decoding is total (unknown bits are kept in `raw`, ignored by
// the named flags); parsing accepts exactly those two spellings (with or
// without 0x, surrounding whitespace) and nothing else.
#pragma once

#include <QByteArrayView>
#include <QStringList>

#include <cstdint>
#include <optional>

namespace stoa::platform {

struct ThrottleFlags {
    std::uint32_t raw = 0;               // the firmware's bit field as read
    // Now (bits 0-3):
    bool underVoltage = false;           // bit 0: supply below ~4.63 V now
    bool frequencyCapped = false;        // bit 1: ARM frequency capped now
    bool throttled = false;              // bit 2: throttled now
    bool softTemperatureLimit = false;   // bit 3: soft temperature limit active now
    // Since boot (bits 16-19):
    bool underVoltageOccurred = false;
    bool frequencyCappedOccurred = false;
    bool throttledOccurred = false;
    bool softTemperatureLimitOccurred = false;

    // Any of the "now" conditions. Not §5 health.throttled, which is
    // throttled || frequencyCapped (health.cpp's applyThrottle).
    bool anyNow() const { return underVoltage || frequencyCapped || throttled || softTemperatureLimit; }
    // Any condition since boot (includes now: the firmware sets both).
    bool anySinceBoot() const
    {
        return anyNow() || underVoltageOccurred || frequencyCappedOccurred || throttledOccurred ||
               softTemperatureLimitOccurred;
    }
    // The set flags' names ("under-voltage", "under-voltage-occurred", ...), bit order.
    QStringList names() const;
};

ThrottleFlags decodeThrottled(std::uint32_t raw);

// "50005\n" (sysfs) or "throttled=0x50005\n" (vcgencmd); nullopt for anything else.
std::optional<std::uint32_t> parseThrottled(QByteArrayView text);

} // namespace stoa::platform
