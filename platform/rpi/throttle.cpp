// platform/rpi/throttle.cpp — see throttle.h.
#include "platform/rpi/throttle.h"

#include <QByteArray>

namespace stoa::platform {

ThrottleFlags decodeThrottled(std::uint32_t raw)
{
    const auto bit = [raw](int n) { return (raw >> n & 1u) != 0; };
    ThrottleFlags f;
    f.raw = raw;
    f.underVoltage = bit(0);
    f.frequencyCapped = bit(1);
    f.throttled = bit(2);
    f.softTemperatureLimit = bit(3);
    f.underVoltageOccurred = bit(16);
    f.frequencyCappedOccurred = bit(17);
    f.throttledOccurred = bit(18);
    f.softTemperatureLimitOccurred = bit(19);
    return f;
}

QStringList ThrottleFlags::names() const
{
    QStringList out;
    const std::pair<bool, const char *> all[] = {
        {underVoltage, "under-voltage"},
        {frequencyCapped, "frequency-capped"},
        {throttled, "throttled"},
        {softTemperatureLimit, "soft-temperature-limit"},
        {underVoltageOccurred, "under-voltage-occurred"},
        {frequencyCappedOccurred, "frequency-capped-occurred"},
        {throttledOccurred, "throttled-occurred"},
        {softTemperatureLimitOccurred, "soft-temperature-limit-occurred"},
    };
    for (const auto &[set, name] : all)
        if (set)
            out << QString::fromLatin1(name);
    return out;
}

std::optional<std::uint32_t> parseThrottled(QByteArrayView text)
{
    QByteArrayView t = text.trimmed();
    if (t.startsWith("throttled="))
        t = t.sliced(10);
    if (t.startsWith("0x") || t.startsWith("0X"))
        t = t.sliced(2);
    if (t.isEmpty() || t.size() > 8)
        return std::nullopt;
    for (char c : t) {
        const bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
        if (!hex)
            return std::nullopt;
    }
    bool ok = false;
    const uint value = t.toByteArray().toUInt(&ok, 16);
    if (!ok)
        return std::nullopt;
    return value;
}

} // namespace stoa::platform
