// publish/schedule_source_values.cpp — the words and values of the schedule
// source (schedule_source_impl.h): comments, quoted words, days, times of
// day, whole numbers and fractions of the screen. Pure functions of their
// text; a refusal says what was expected, its caller adds where.
#include "publish/schedule_source_impl.h"

#include "schedule/payload_fields.h"

#include <QRegularExpression>

#include <array>
#include <cmath>

namespace stoa::publish::source {


// Drops a comment: '#' or ';' at the start or after whitespace, outside quotes
// (so "https://x/#top" and "a;b" survive).
QString stripComment(const QString &line)
{
    bool quoted = false;
    for (qsizetype i = 0; i < line.size(); ++i) {
        const QChar c = line[i];
        if (c == u'"') quoted = !quoted;
        else if (!quoted && (c == u'#' || c == u';') && (i == 0 || line[i - 1].isSpace()))
            return line.left(i);
    }
    return line;
}

// Whitespace-separated words; "double quoted" words may hold spaces.
std::expected<QStringList, QString> splitWords(const QString &text)
{
    QStringList words;
    QString current;
    bool quoted = false, inWord = false;
    for (const QChar c : text) {
        if (c == u'"') {
            quoted = !quoted;
            inWord = true;
        } else if (c.isSpace() && !quoted) {
            if (inWord) words << current;
            current.clear();
            inWord = false;
        } else {
            current += c;
            inWord = true;
        }
    }
    if (quoted) return std::unexpected(QStringLiteral("unterminated \"quote\""));
    if (inWord) words << current;
    return words;
}

std::optional<Weekday> dayFromWord(const QString &word)
{
    static const std::array<const char *, 7> kFull{"monday", "tuesday", "wednesday", "thursday",
                                                   "friday", "saturday", "sunday"};
    const QString w = word.toLower();
    for (std::size_t i = 0; i < kFull.size(); ++i)
        if (w.size() >= 3 && QLatin1String(kFull[i]).startsWith(w)) return static_cast<Weekday>(i + 1);
    return std::nullopt;
}

// "mon-fri", "mon,wed,fri", "weekdays", "weekends", "daily", "sat sun", "fri-mon".
std::expected<std::vector<Weekday>, QString> parseDays(const QString &value)
{
    const QString v = value.toLower().trimmed();
    if (v == QLatin1String("daily") || v == QLatin1String("every day") || v == QLatin1String("all"))
        return std::vector<Weekday>{};
    bool seen[8] = {};
    const QStringList parts = v.split(QRegularExpression(QStringLiteral("[,\\s]+")), Qt::SkipEmptyParts);
    if (parts.isEmpty()) return std::unexpected(QStringLiteral("is empty"));
    for (const QString &part : parts) {
        if (part == QLatin1String("weekdays")) {
            for (int d = 1; d <= 5; ++d) seen[d] = true;
            continue;
        }
        if (part == QLatin1String("weekends") || part == QLatin1String("weekend")) {
            seen[6] = seen[7] = true;
            continue;
        }
        const QStringList range = part.split(u'-');
        if (range.size() > 2) return std::unexpected(QStringLiteral("\"%1\" is not a day or a range like mon-fri").arg(part));
        const auto first = dayFromWord(range.front());
        const auto last = dayFromWord(range.back());
        if (!first || !last)
            return std::unexpected(QStringLiteral("\"%1\" is not a day (mon, tue, wed, thu, fri, sat, sun, "
                                                  "weekdays, weekends, daily or a range like mon-fri)").arg(part));
        for (int d = static_cast<int>(*first);; d = d % 7 + 1) { // ranges may wrap: fri-mon
            seen[d] = true;
            if (d == static_cast<int>(*last)) break;
        }
    }
    std::vector<Weekday> days;
    for (int d = 1; d <= 7; ++d)
        if (seen[d]) days.push_back(static_cast<Weekday>(d));
    if (days.size() == 7) days.clear(); // every day: write no `days`
    return days;
}

// "06:00-10:30" (also "22:00 - 02:00") -> (from, until) minutes.
std::optional<std::pair<int, int>> parseTimeRange(const QString &value)
{
    const QStringList parts = QString(value).remove(u' ').split(u'-');
    if (parts.size() != 2) return std::nullopt;
    const auto from = schedule::parseTimeOfDay(parts[0]);
    const auto until = schedule::parseTimeOfDay(parts[1]);
    if (!from || !until) return std::nullopt;
    return std::pair{*from, *until};
}

std::optional<std::int64_t> parseInteger(const QString &value)
{
    bool ok = false;
    const qlonglong n = value.trimmed().toLongLong(&ok);
    if (!ok) return std::nullopt;
    return n;
}

// "0.75" or "75%": a fraction of the screen or picture (bounds are
// rectProblem()'s business).
std::optional<double> parseFraction(const QString &value)
{
    const bool percent = value.endsWith(u'%');
    bool ok = false;
    const double v = (percent ? value.chopped(1) : value).toDouble(&ok);
    if (!ok || !std::isfinite(v)) return std::nullopt;
    return percent ? v / 100 : v;
}

// "X,Y,W,H" (`crop=`), each a fraction.
std::optional<schedule::FractionRect> parseRectWords(const QStringList &parts)
{
    if (parts.size() != 4) return std::nullopt;
    std::array<double, 4> v{};
    for (std::size_t i = 0; i < v.size(); ++i) {
        const auto f = parseFraction(parts[static_cast<qsizetype>(i)]);
        if (!f) return std::nullopt;
        v[i] = *f;
    }
    return schedule::FractionRect{v[0], v[1], v[2], v[3]};
}

} // namespace stoa::publish::source
