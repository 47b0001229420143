// publish/duration.cpp — see duration.h.
#include "publish/duration.h"

#include <array>
#include <limits>
#include <utility>

namespace stoa::publish {

namespace {
constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();

std::optional<std::int64_t> unitMs(const QString &unit)
{
    if (unit == QLatin1String("ms")) return 1;
    if (unit == QLatin1String("s")) return 1000;
    if (unit == QLatin1String("m")) return 60 * 1000;
    if (unit == QLatin1String("h")) return 3600 * 1000;
    if (unit == QLatin1String("d")) return std::int64_t{86400} * 1000;
    return std::nullopt;
}
} // namespace

std::optional<std::int64_t> parseDuration(const QString &text)
{
    const QString t = text.trimmed();
    if (t.isEmpty()) return std::nullopt;
    std::int64_t total = 0;
    qsizetype i = 0;
    while (i < t.size()) {
        std::int64_t number = 0;
        const qsizetype digitsStart = i;
        while (i < t.size() && t[i] >= u'0' && t[i] <= u'9') {
            const int digit = t[i].unicode() - u'0';
            if (number > (kMax - digit) / 10) return std::nullopt;
            number = number * 10 + digit;
            ++i;
        }
        if (i == digitsStart) return std::nullopt;
        const qsizetype unitStart = i;
        while (i < t.size() && t[i].isLetter()) ++i;
        const auto factor = unitMs(t.mid(unitStart, i - unitStart));
        if (!factor) return std::nullopt;
        if (number > 0 && *factor > kMax / number) return std::nullopt;
        const std::int64_t part = number * *factor;
        if (part > kMax - total) return std::nullopt;
        total += part;
    }
    if (total <= 0) return std::nullopt;
    return total;
}

QString formatDuration(std::int64_t ms)
{
    if (ms <= 0) return QStringLiteral("0s");
    static constexpr std::array<std::pair<std::int64_t, const char *>, 5> units{{
        {std::int64_t{86400} * 1000, "d"}, {3600 * 1000, "h"}, {60 * 1000, "m"}, {1000, "s"}, {1, "ms"}}};
    QString out;
    for (const auto &[factor, name] : units) {
        if (ms >= factor) {
            out += QString::number(ms / factor) + QLatin1String(name);
            ms %= factor;
        }
    }
    return out;
}

} // namespace stoa::publish
