#include "sync/backoff.h"

#include <QLocale>
#include <QString>

#include <algorithm>
#include <charconv>

namespace stoa::sync {

Millis Backoff::ceiling() const
{
    // base·2^n without overflow: stop doubling once past the cap.
    std::int64_t c = m_policy.base.count();
    for (int i = 0; i < m_failures && c < m_policy.cap.count(); ++i)
        c *= 2;
    return Millis(std::min<std::int64_t>(c, m_policy.cap.count()));
}

Millis Backoff::failure(Rng &rng, std::optional<Millis> retryAfter)
{
    const Millis ceil = ceiling();
    ++m_failures;
    std::uniform_int_distribution<std::int64_t> full(0, ceil.count());
    Millis wait(full(rng));
    if (retryAfter) {
        const Millis told = std::min(*retryAfter, m_policy.cap);
        std::uniform_int_distribution<std::int64_t> spread(0, told.count() / 10);
        wait = std::max(wait, told + Millis(spread(rng)));
    }
    return wait;
}

Millis Pacer::initialDelay(Backoff::Rng &rng) const
{
    std::uniform_int_distribution<std::int64_t> d(0, m_backoff.policy().base.count());
    return Millis(d(rng));
}

Millis Pacer::afterSuccess(Backoff::Rng &rng)
{
    m_backoff.success();
    return jittered(m_interval, kSteadyJitter, rng);
}

Millis Pacer::afterFailure(Backoff::Rng &rng, std::optional<Millis> retryAfter)
{
    return m_backoff.failure(rng, retryAfter);
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
    if (ec == std::errc() && ptr == value.data() + value.size())
        return seconds < 0 ? std::nullopt : std::optional(Millis(seconds * 1000));
    // HTTP-date (RFC 9110 IMF-fixdate), e.g. "Wed, 25 Nov 2026 10:00:00 GMT".
    const QString text = QString::fromLatin1(value.data(), qsizetype(value.size()));
    QDateTime when = QLocale::c().toDateTime(text, "ddd, dd MMM yyyy HH:mm:ss 'GMT'");
    if (!when.isValid())
        return std::nullopt;
    when.setTimeSpec(Qt::UTC);
    return Millis(std::max<std::int64_t>(0, nowUtc.msecsTo(when)));
}

} // namespace stoa::sync
