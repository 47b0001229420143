#include "sync/backoff.h"

#include <QLocale>
#include <QString>

#include <algorithm>
#include <charconv>
#include <limits>

namespace stoa::sync {

Millis Backoff::ceiling(Millis drawCap) const
{
    const std::int64_t top = std::clamp(drawCap, std::min(m_policy.base, m_policy.cap), m_policy.cap).count();
    // base·2^n without overflow: stop doubling once past the cap.
    std::int64_t c = m_policy.base.count();
    for (int i = 0; i < m_failures && c < top; ++i)
        c *= 2;
    return Millis(std::min<std::int64_t>(c, top));
}

Millis Backoff::failure(Rng &rng, std::optional<Millis> retryAfter, Millis drawCap)
{
    const Millis ceil = ceiling(drawCap);
    ++m_failures;
    std::uniform_int_distribution<std::int64_t> full(0, ceil.count());
    Millis wait(full(rng));
    if (retryAfter) {
        // Never earlier than told, but the cap bounds the total: the spec
        // caps Retry-After "by the device's maximum backoff", spread included.
        const Millis told = std::clamp(*retryAfter, Millis(0), m_policy.cap);
        std::uniform_int_distribution<std::int64_t> spread(0, told.count() / 10);
        wait = std::min(std::max(wait, told + Millis(spread(rng))), m_policy.cap);
    }
    return wait;
}

Millis Pacer::initialDelay(Backoff::Rng &rng, bool haveContent) const
{
    const Millis spread = haveContent ? m_interval : m_backoff.policy().base;
    std::uniform_int_distribution<std::int64_t> d(0, spread.count());
    return Millis(d(rng));
}

Millis Pacer::afterSuccess(Backoff::Rng &rng)
{
    m_backoff.success();
    return jittered(m_interval, kSteadyJitter, rng);
}

Millis intervalCap(const BackoffPolicy &p, Millis interval)
{
    if (interval <= Millis(0) || p.capIntervals <= 0)
        return p.cap;
    // In double: a factor times an interval of days must not overflow.
    const double tied = double(interval.count()) * p.capIntervals;
    if (tied >= double(p.cap.count()))
        return p.cap;
    return std::clamp(Millis(static_cast<std::int64_t>(tied)), std::min(p.base, p.cap), p.cap);
}

Millis Pacer::afterFailure(Backoff::Rng &rng, std::optional<Millis> retryAfter)
{
    return m_backoff.failure(rng, retryAfter, drawCap());
}

Millis jittered(Millis interval, double fraction, Backoff::Rng &rng)
{
    std::uniform_real_distribution<double> factor(1.0 - fraction, 1.0 + fraction);
    return Millis(static_cast<std::int64_t>(double(interval.count()) * factor(rng)));
}

std::optional<Millis> parseRetryAfter(std::string_view value, const QDateTime &nowUtc)
{
    while (!value.empty() && value.front() == ' ')
        value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\r'))
        value.remove_suffix(1);
    if (value.empty())
        return std::nullopt;
    std::int64_t seconds = 0;
    auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
    if (ec == std::errc() && ptr == value.data() + value.size()) {
        if (seconds < 0)
            return std::nullopt;
        // Absurd values stay huge (the cap decides) instead of overflowing.
        constexpr std::int64_t maxSeconds = std::numeric_limits<std::int64_t>::max() / 1000;
        return Millis(std::min(seconds, maxSeconds) * 1000);
    }
    // HTTP-date (RFC 9110 IMF-fixdate), e.g. "Wed, 25 Nov 2026 10:00:00 GMT".
    // Date and time are parsed apart and joined as UTC: parsed as one local
    // date-time, a time in a local DST gap would be invalid or shifted.
    const QString text = QString::fromLatin1(value.data(), qsizetype(value.size()));
    static constexpr qsizetype kFixdateLength = 29; // "ddd, dd MMM yyyy HH:mm:ss GMT"
    if (text.size() != kFixdateLength || !text.endsWith(QLatin1String(" GMT")))
        return std::nullopt;
    const QDate date = QLocale::c().toDate(text.left(16), QStringLiteral("ddd, dd MMM yyyy"));
    const QTime time = QLocale::c().toTime(text.mid(17, 8), QStringLiteral("HH:mm:ss"));
    if (!date.isValid() || !time.isValid())
        return std::nullopt;
    const QDateTime when(date, time, QTimeZone::utc());
    return Millis(std::max<std::int64_t>(0, nowUtc.msecsTo(when)));
}

} // namespace stoa::sync
