// settings/values.cpp — see values.h.
#include "settings/values.h"

#include <QRegularExpression>
#include <QString>

#include <charconv>
#include <cmath>
#include <limits>
#include <optional>

namespace stoa::settings {

namespace {

bool allDigits(std::string_view s)
{
    return !s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos;
}

std::optional<std::uint64_t> unsignedOf(std::string_view digits)
{
    std::uint64_t n = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
    if (ec != std::errc() || end != digits.data() + digits.size())
        return std::nullopt;
    return n;
}

} // namespace

std::expected<std::uint64_t, Expected> parseSize(std::string_view text)
{
    const Expected what = "a size in bytes: digits with an optional K, M or G";
    std::uint64_t mult = 1;
    if (!text.empty()) {
        switch (text.back()) {
        case 'K': case 'k': mult = std::uint64_t(1) << 10; break;
        case 'M': case 'm': mult = std::uint64_t(1) << 20; break;
        case 'G': case 'g': mult = std::uint64_t(1) << 30; break;
        default: break;
        }
    }
    if (mult != 1)
        text.remove_suffix(1);
    if (!allDigits(text)) // no sign: strtoull's "-1" would wrap to 2^64-1
        return std::unexpected(what);
    const auto n = unsignedOf(text);
    if (!n || *n > std::numeric_limits<std::uint64_t>::max() / mult)
        return std::unexpected(what + " (too large)");
    return *n * mult;
}

std::expected<std::int64_t, Expected> parseInt(std::string_view text)
{
    std::int64_t n = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size())
        return std::unexpected(Expected("a whole number"));
    return n;
}

std::expected<std::chrono::milliseconds, Expected> parseSeconds(std::string_view text)
{
    const Expected what = "seconds (e.g. 60 or 2.5)";
    const std::string s(text);
    char *end = nullptr;
    const double v = std::strtod(s.c_str(), &end);
    if (s.empty() || *end != '\0' || !(v >= 0) || v > 1e7)
        return std::unexpected(what);
    return std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(v * 1000)));
}

std::expected<std::chrono::milliseconds, Expected> parseMillis(std::string_view text)
{
    const auto n = allDigits(text) ? unsignedOf(text) : std::nullopt;
    if (!n || *n > std::uint64_t(std::numeric_limits<std::int64_t>::max()))
        return std::unexpected(Expected("whole milliseconds: digits, no suffix"));
    return std::chrono::milliseconds(static_cast<std::int64_t>(*n));
}

std::expected<bool, Expected> parseOnOff(std::string_view text)
{
    if (text == "on" || text == "off")
        return text == "on";
    return std::unexpected(Expected("on or off"));
}

std::expected<std::pair<int, int>, Expected> parseWindow(std::string_view text)
{
    static const QRegularExpression re("^([01]\\d|2[0-3]):([0-5]\\d)-([01]\\d|2[0-3]):([0-5]\\d)$");
    const auto m = re.match(QString::fromUtf8(text.data(), static_cast<qsizetype>(text.size())));
    if (!m.hasMatch())
        return std::unexpected(Expected("HH:MM-HH:MM (00:00 to 23:59)"));
    return std::pair{m.captured(1).toInt() * 60 + m.captured(2).toInt(),
                     m.captured(3).toInt() * 60 + m.captured(4).toInt()};
}

std::expected<void, Expected> checkAddress(std::string_view text)
{
    static const QRegularExpression re(R"(^(\[[0-9A-Fa-f:.]+\]|[0-9.]+|localhost):(\d{1,5})$)");
    const auto m = re.match(QString::fromUtf8(text.data(), static_cast<qsizetype>(text.size())));
    if (!m.hasMatch() || m.captured(2).toInt() > 65535)
        return std::unexpected(Expected("ADDR:PORT, e.g. 127.0.0.1:9641 or [::1]:9641"));
    return {};
}

} // namespace stoa::settings
