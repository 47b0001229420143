// schedule/payload_fields.cpp — see payload_fields.h. Parsed by hand rather
// than with QDateTime::fromString(Qt::ISODate), which accepts times without
// an offset (as local time) and other forms the protocol does not allow.
#include "schedule/payload_fields.h"

#include <QTimeZone>

#include <cmath>

namespace stoa::schedule {
namespace {

// Reads `count` ASCII digits at text[pos]; advances pos.
std::optional<int> digits(const QString &text, qsizetype &pos, int count)
{
    if (pos + count > text.size()) return std::nullopt;
    int v = 0;
    for (int i = 0; i < count; ++i) {
        const QChar c = text[pos + i];
        if (c < QLatin1Char('0') || c > QLatin1Char('9')) return std::nullopt;
        v = v * 10 + (c.unicode() - '0');
    }
    pos += count;
    return v;
}

bool expect(const QString &text, qsizetype &pos, char c)
{
    if (pos >= text.size() || text[pos] != QLatin1Char(c)) return false;
    ++pos;
    return true;
}

std::optional<QDate> dateAt(const QString &text, qsizetype &pos)
{
    const auto y = digits(text, pos, 4);
    if (!y || !expect(text, pos, '-')) return std::nullopt;
    const auto m = digits(text, pos, 2);
    if (!m || !expect(text, pos, '-')) return std::nullopt;
    const auto d = digits(text, pos, 2);
    if (!d) return std::nullopt;
    const QDate date(*y, *m, *d);
    if (!date.isValid()) return std::nullopt;
    return date;
}

} // namespace

std::optional<std::int64_t> jsonInteger(const QJsonValue &value)
{
    if (!value.isDouble()) return std::nullopt;
    // toInteger() returns its default for non-whole or out-of-range numbers;
    // two different defaults tell that case apart from a real value.
    const qint64 a = value.toInteger(0);
    const qint64 b = value.toInteger(1);
    if (a != b) return std::nullopt;
    return a;
}

std::optional<QDateTime> parseRfc3339(const QString &text)
{
    qsizetype pos = 0;
    const auto date = dateAt(text, pos);
    if (!date) return std::nullopt;
    if (pos >= text.size() || (text[pos] != QLatin1Char('T') && text[pos] != QLatin1Char('t'))) return std::nullopt;
    ++pos;
    const auto h = digits(text, pos, 2);
    if (!h || !expect(text, pos, ':')) return std::nullopt;
    const auto mi = digits(text, pos, 2);
    if (!mi || !expect(text, pos, ':')) return std::nullopt;
    const auto s = digits(text, pos, 2);
    if (!s) return std::nullopt;
    int ms = 0;
    if (pos < text.size() && text[pos] == QLatin1Char('.')) {
        ++pos;
        int n = 0;
        while (pos < text.size() && text[pos] >= QLatin1Char('0') && text[pos] <= QLatin1Char('9')) {
            if (n < 3) ms = ms * 10 + (text[pos].unicode() - '0');
            ++n;
            ++pos;
        }
        if (n == 0) return std::nullopt;
        for (int i = n; i < 3; ++i) ms *= 10;
    }
    const QTime time(*h, *mi, *s, ms);
    if (!time.isValid()) return std::nullopt; // also refuses leap second 60
    int offsetS = 0;
    if (pos < text.size() && (text[pos] == QLatin1Char('Z') || text[pos] == QLatin1Char('z'))) {
        ++pos;
    } else if (pos < text.size() && (text[pos] == QLatin1Char('+') || text[pos] == QLatin1Char('-'))) {
        const int sign = text[pos] == QLatin1Char('-') ? -1 : 1;
        ++pos;
        const auto oh = digits(text, pos, 2);
        if (!oh || !expect(text, pos, ':')) return std::nullopt;
        const auto om = digits(text, pos, 2);
        if (!om || *oh > 23 || *om > 59) return std::nullopt;
        offsetS = sign * (*oh * 3600 + *om * 60);
    } else {
        return std::nullopt; // an offset is mandatory
    }
    if (pos != text.size()) return std::nullopt;
    // QTimeZone(int) is the Qt 6.4 spelling; offsets beyond +-14 h make an
    // invalid zone and so an invalid, refused date-time.
    const QDateTime result = QDateTime(*date, time, QTimeZone(offsetS)).toUTC();
    if (!result.isValid()) return std::nullopt;
    return result;
}

std::optional<QDate> parseIsoDate(const QString &text)
{
    qsizetype pos = 0;
    auto date = dateAt(text, pos);
    if (!date || pos != text.size()) return std::nullopt;
    return date;
}

std::optional<int> parseTimeOfDay(const QString &text)
{
    qsizetype pos = 0;
    const auto h = digits(text, pos, 2);
    if (!h || !expect(text, pos, ':')) return std::nullopt;
    const auto m = digits(text, pos, 2);
    if (!m || pos != text.size() || *h > 23 || *m > 59) return std::nullopt;
    return *h * 60 + *m;
}

QString timeOfDayText(int minute)
{
    return QStringLiteral("%1:%2").arg(minute / 60, 2, 10, QLatin1Char('0')).arg(minute % 60, 2, 10, QLatin1Char('0'));
}

std::optional<Rgb> parseRgb(const QString &text)
{
    if (text.size() != 7 || text[0] != QLatin1Char('#')) return std::nullopt;
    std::uint32_t value = 0;
    for (qsizetype i = 1; i < text.size(); ++i) {
        const char16_t c = text[i].unicode();
        const int digit = (c >= u'0' && c <= u'9') ? c - u'0'
                        : (c >= u'a' && c <= u'f') ? c - u'a' + 10
                        : (c >= u'A' && c <= u'F') ? c - u'A' + 10
                                                   : -1;
        if (digit < 0) return std::nullopt;
        value = value << 4 | std::uint32_t(digit);
    }
    return Rgb{std::uint8_t(value >> 16), std::uint8_t(value >> 8), std::uint8_t(value)};
}

QString rgbText(Rgb colour)
{
    return QStringLiteral("#%1").arg((uint(colour.r) << 16) | (uint(colour.g) << 8) | colour.b, 6, 16, QLatin1Char('0'));
}

std::optional<QString> rectProblem(const FractionRect &rect)
{
    // Fractions written in decimal do not add up exactly in binary (0.7 + 0.3
    // is 0.99999999999999989); a sum within this of 1 counts as 1.
    constexpr double kTolerance = 1e-9;
    const std::pair<const char *, double> sides[] = {{"x", rect.x}, {"y", rect.y}, {"w", rect.w}, {"h", rect.h}};
    for (const auto &[name, value] : sides)
        if (!std::isfinite(value)) return QStringLiteral("%1 must be a finite number").arg(QLatin1String(name));
    if (rect.x < 0) return QStringLiteral("x %1 is below 0").arg(rect.x);
    if (rect.y < 0) return QStringLiteral("y %1 is below 0").arg(rect.y);
    if (rect.w <= 0) return QStringLiteral("w must be greater than 0");
    if (rect.h <= 0) return QStringLiteral("h must be greater than 0");
    if (rect.x + rect.w > 1 + kTolerance) return QStringLiteral("x + w = %1 is over 1 (out of bounds)").arg(rect.x + rect.w);
    if (rect.y + rect.h > 1 + kTolerance) return QStringLiteral("y + h = %1 is over 1 (out of bounds)").arg(rect.y + rect.h);
    return std::nullopt;
}

} // namespace stoa::schedule
