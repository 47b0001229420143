// tests/schedule/manifest_text.h — schedule entries from a compact text, for test tables.
//
// "breakfast p10 mon,tue 06:00-10:30 2026-11-01..2026-12-31" is the entry of
// spec §3's example; "@menu p10 …" names the v1.1 §12 layout "menu" instead
// of a playlist. Tokens after the name, each optional, any order:
//   pN            priority N
//   mon,tue,...   days
//   HH:MM-HH:MM   from-until; either side may be empty ("18:00-", "-09:00")
//   D1..D2        start_date..end_date (ISO dates); either side may be empty
// Malformed text aborts the test binary: a table typo must not pass silently.
#pragma once

#include "schedule/manifest.h"

#include <QDate>
#include <QDateTime>
#include <QStringList>
#include <QTime>
#include <QTimeZone>

namespace stoa::schedule::testing {

inline std::optional<int> minuteOf(const QString &hhmm)
{
    if (hhmm.isEmpty())
        return std::nullopt;
    const QTime t = QTime::fromString(hhmm, QStringLiteral("HH:mm"));
    if (!t.isValid())
        qFatal("bad time of day in test table: %s", qPrintable(hhmm));
    return t.hour() * 60 + t.minute();
}

inline std::optional<QDate> dateOf(const QString &iso)
{
    if (iso.isEmpty())
        return std::nullopt;
    const QDate d = QDate::fromString(iso, Qt::ISODate);
    if (!d.isValid())
        qFatal("bad date in test table: %s", qPrintable(iso));
    return d;
}

inline Weekday weekdayOf(const QString &name)
{
    static const QStringList names{"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
    const qsizetype i = names.indexOf(name);
    if (i < 0)
        qFatal("bad weekday in test table: %s", qPrintable(name));
    return static_cast<Weekday>(i + 1);
}

inline ScheduleEntry entryOf(const QString &text)
{
    const QStringList tokens = text.split(QLatin1Char(' '), Qt::SkipEmptyParts);
    if (tokens.isEmpty())
        qFatal("empty schedule entry in test table");
    ScheduleEntry e;
    if (tokens.front().startsWith(QLatin1Char('@')))
        e.layout = tokens.front().mid(1).toStdString();
    else
        e.playlist = tokens.front().toStdString();
    for (qsizetype i = 1; i < tokens.size(); ++i) {
        const QString &t = tokens[i];
        if (t.size() > 1 && t[0] == QLatin1Char('p') && (t[1].isDigit() || t[1] == QLatin1Char('-'))) {
            e.priority = t.mid(1).toInt();
        } else if (t.contains(QLatin1String(".."))) {
            const QStringList range = t.split(QLatin1String(".."));
            e.startDate = dateOf(range[0]);
            e.endDate = dateOf(range[1]);
        } else if (t.contains(QLatin1Char(':'))) {
            const QStringList window = t.split(QLatin1Char('-'));
            if (window.size() != 2)
                qFatal("bad window in test table: %s", qPrintable(t));
            e.fromMinute = minuteOf(window[0]);
            e.untilMinute = minuteOf(window[1]);
        } else {
            for (const QString &d : t.split(QLatin1Char(',')))
                e.days.push_back(weekdayOf(d));
        }
    }
    return e;
}

// Adds what `ref` names: an empty playlist, or a layout of one full-screen
// region playing the empty playlist "<layout>.main".
inline void addContent(Manifest &m, const ContentRef &ref)
{
    if (ref.kind == ContentKind::Playlist) {
        m.playlists[ref.name] = Playlist{};
        return;
    }
    const std::string region = ref.name + ".main";
    m.playlists[region] = Playlist{};
    m.layouts[ref.name] = Layout{{Region{"main", FractionRect{}, 0, region}}};
}

// `defaultContent`: "" none, "lobby" a default playlist, "@menu" a default layout.
inline Manifest manifestOf(const QString &timezone, const QStringList &entries,
                           const QString &defaultContent)
{
    Manifest m;
    m.timezone = timezone;
    for (const QString &text : entries) {
        m.schedule.push_back(entryOf(text));
        addContent(m, m.schedule.back().content());
    }
    if (defaultContent.startsWith(QLatin1Char('@'))) {
        m.defaultLayout = defaultContent.mid(1).toStdString();
        addContent(m, {ContentKind::Layout, *m.defaultLayout});
    } else if (!defaultContent.isEmpty()) {
        m.defaultPlaylist = defaultContent.toStdString();
        addContent(m, {ContentKind::Playlist, *m.defaultPlaylist});
    }
    return m;
}

// "2026-11-23T09:30:00Z" (or with .zzz) as a UTC QDateTime; "" is invalid.
inline QDateTime utc(const QString &iso)
{
    if (iso.isEmpty())
        return {};
    QDateTime t = QDateTime::fromString(iso, Qt::ISODateWithMs);
    if (!t.isValid())
        qFatal("bad instant in test table: %s", qPrintable(iso));
    return t.toUTC();
}

} // namespace stoa::schedule::testing
