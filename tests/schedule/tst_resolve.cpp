// tests/schedule/tst_resolve.cpp — "what plays now" and its next change (spec §3).
//
// Every expected value below was worked out by hand from the rules in
// docs/schedule.md (local offsets: Oslo CET = UTC+1, CEST = UTC+2; New York
// EST = UTC-5, EDT = UTC-4), never by asking the engine.
#include "manifest_text.h"
#include "schedule/daily_window.h"
#include "schedule/engine.h"

#include <QTest>

using namespace stoa::schedule;
using namespace stoa::schedule::testing;

namespace {

QString sourceName(PlaySource s)
{
    switch (s) {
    case PlaySource::Schedule:
        return QStringLiteral("schedule");
    case PlaySource::Default:
        return QStringLiteral("default");
    case PlaySource::Idle:
        return QStringLiteral("idle");
    }
    return {};
}

QStringList namesOf(const std::vector<std::string> &v)
{
    QStringList out;
    for (const std::string &s : v)
        out << QString::fromStdString(s);
    return out;
}

// "lobby" for a playlist, "@menu" for a layout: manifest_text.h's notation.
QStringList contentNames(const std::vector<ContentRef> &v)
{
    QStringList out;
    for (const ContentRef &c : v)
        out << (c.kind == ContentKind::Layout ? QStringLiteral("@") : QString()) + QString::fromStdString(c.name);
    return out;
}

const QString kOslo = QStringLiteral("Europe/Oslo");
const QString kNewYork = QStringLiteral("America/New_York");

} // namespace

class TestResolve : public QObject {
    Q_OBJECT
private slots:
    void resolve_data();
    void resolve();
    void weekdayIndexMatchesQt();
    void skipsBoundariesThatChangeNothing();
    void layouts_data();
    void layouts();
    void defaultLayoutWinsOverDefaultPlaylist();
};

void TestResolve::resolve_data()
{
    QTest::addColumn<QString>("zone");
    QTest::addColumn<QStringList>("entries");
    QTest::addColumn<QString>("defaultPlaylist");
    QTest::addColumn<QString>("now");
    QTest::addColumn<QString>("source");
    QTest::addColumn<QStringList>("playlists");
    QTest::addColumn<QString>("next"); // "" = never changes

    const QStringList breakfast{"breakfast p10 mon,tue,wed,thu,fri 06:00-10:30 2026-11-01..2026-12-31"};
    // 2026-11-23 is a Monday; 2026-11-21 a Saturday.
    QTest::newRow("weekday, inside window") << kOslo << breakfast << "lobby"
        << "2026-11-23T07:00:00Z" << "schedule" << QStringList{"breakfast"} << "2026-11-23T09:30:00Z";
    QTest::newRow("weekday, active exactly at from") << kOslo << breakfast << "lobby"
        << "2026-11-23T05:00:00Z" << "schedule" << QStringList{"breakfast"} << "2026-11-23T09:30:00Z";
    QTest::newRow("weekday, 1 ms before from") << kOslo << breakfast << "lobby"
        << "2026-11-23T04:59:59.999Z" << "default" << QStringList{"lobby"} << "2026-11-23T05:00:00Z";
    QTest::newRow("weekday, 1 ms before until") << kOslo << breakfast << "lobby"
        << "2026-11-23T09:29:59.999Z" << "schedule" << QStringList{"breakfast"} << "2026-11-23T09:30:00Z";
    QTest::newRow("weekday, inactive exactly at until") << kOslo << breakfast << "lobby"
        << "2026-11-23T09:30:00Z" << "default" << QStringList{"lobby"} << "2026-11-24T05:00:00Z";
    QTest::newRow("weekend skipped to monday") << kOslo << breakfast << "lobby"
        << "2026-11-21T07:00:00Z" << "default" << QStringList{"lobby"} << "2026-11-23T05:00:00Z";
    QTest::newRow("friday after window: next is monday") << kOslo << breakfast << "lobby"
        << "2026-11-20T12:00:00Z" << "default" << QStringList{"lobby"} << "2026-11-23T05:00:00Z";
    QTest::newRow("last day of range, then never") << kOslo << breakfast << "lobby"
        << "2026-12-31T09:00:00Z" << "schedule" << QStringList{"breakfast"} << "2026-12-31T09:30:00Z";
    QTest::newRow("after last day: never changes") << kOslo << breakfast << "lobby"
        << "2026-12-31T10:00:00Z" << "default" << QStringList{"lobby"} << "";
    QTest::newRow("before first day") << kOslo << breakfast << "lobby"
        << "2026-10-30T12:00:00Z" << "default" << QStringList{"lobby"} << "2026-11-02T05:00:00Z";

    // A Friday 22:00-02:00 window belongs to Friday.
    const QStringList late{"late p5 fri 22:00-02:00"};
    QTest::newRow("wrap: friday evening") << kOslo << late << "lobby"
        << "2026-11-20T22:00:00Z" << "schedule" << QStringList{"late"} << "2026-11-21T01:00:00Z";
    QTest::newRow("wrap: saturday 01:00 belongs to friday") << kOslo << late << "lobby"
        << "2026-11-21T00:00:00Z" << "schedule" << QStringList{"late"} << "2026-11-21T01:00:00Z";
    QTest::newRow("wrap: saturday evening not in days") << kOslo << late << "lobby"
        << "2026-11-21T21:30:00Z" << "default" << QStringList{"lobby"} << "2026-11-27T21:00:00Z";
    QTest::newRow("wrap: friday 01:00 is thursday's tail, not in days") << kOslo << late << "lobby"
        << "2026-11-20T00:00:00Z" << "default" << QStringList{"lobby"} << "2026-11-20T21:00:00Z";
    QTest::newRow("wrap: tail past end_date still plays") << kOslo
        << QStringList{"late p5 22:00-02:00 ..2026-11-20"} << "lobby"
        << "2026-11-21T00:00:00Z" << "schedule" << QStringList{"late"} << "2026-11-21T01:00:00Z";
    QTest::newRow("wrap: after the last tail, never") << kOslo
        << QStringList{"late p5 22:00-02:00 ..2026-11-20"} << "lobby"
        << "2026-11-21T02:00:00Z" << "default" << QStringList{"lobby"} << "";
    QTest::newRow("wrap: tail before start_date does not play") << kOslo
        << QStringList{"late p5 22:00-02:00 2026-11-21.."} << "lobby"
        << "2026-11-21T00:00:00Z" << "default" << QStringList{"lobby"} << "2026-11-21T21:00:00Z";

    // Date ranges are inclusive, in local dates.
    const QStringList xmas{"xmas p1 2026-12-24..2026-12-26"};
    QTest::newRow("date range: last minute of end date") << kOslo << xmas << "lobby"
        << "2026-12-26T22:59:00Z" << "schedule" << QStringList{"xmas"} << "2026-12-26T23:00:00Z";
    QTest::newRow("date range: day after end date") << kOslo << xmas << "lobby"
        << "2026-12-26T23:00:00Z" << "default" << QStringList{"lobby"} << "";
    QTest::newRow("date range: before start, local midnight is 23:00Z") << kOslo << xmas << "lobby"
        << "2026-12-23T11:00:00Z" << "default" << QStringList{"lobby"} << "2026-12-23T23:00:00Z";
    QTest::newRow("all-day days run together") << kOslo
        << QStringList{"wk p0 mon,tue,wed"} << "lobby"
        << "2026-11-23T11:00:00Z" << "schedule" << QStringList{"wk"} << "2026-11-25T23:00:00Z";

    // Open-ended windows and from == until.
    QTest::newRow("from only runs to midnight") << kOslo << QStringList{"eve p0 18:00-"} << "lobby"
        << "2026-11-23T22:59:00Z" << "schedule" << QStringList{"eve"} << "2026-11-23T23:00:00Z";
    QTest::newRow("until only starts at midnight") << kOslo << QStringList{"morning p0 -09:00"} << "lobby"
        << "2026-11-23T22:00:00Z" << "default" << QStringList{"lobby"} << "2026-11-23T23:00:00Z";
    QTest::newRow("from == until: 24 h from `from`, tail") << kOslo
        << QStringList{"day p0 mon 08:00-08:00"} << "lobby"
        << "2026-11-24T06:59:00Z" << "schedule" << QStringList{"day"} << "2026-11-24T07:00:00Z";
    QTest::newRow("from == until: not before `from`") << kOslo
        << QStringList{"day p0 mon 08:00-08:00"} << "lobby"
        << "2026-11-23T06:59:00Z" << "default" << QStringList{"lobby"} << "2026-11-23T07:00:00Z";

    // Priorities, ties, default and idle.
    QTest::newRow("lower priority before the higher starts") << kOslo
        << QStringList{"a p1 08:00-18:00", "b p5 12:00-13:00"} << "lobby"
        << "2026-11-23T10:00:00Z" << "schedule" << QStringList{"a"} << "2026-11-23T11:00:00Z";
    QTest::newRow("higher priority wins") << kOslo
        << QStringList{"a p1 08:00-18:00", "b p5 12:00-13:00"} << "lobby"
        << "2026-11-23T11:30:00Z" << "schedule" << QStringList{"b"} << "2026-11-23T12:00:00Z";
    QTest::newRow("tie in schedule order") << kOslo
        << QStringList{"b p5 12:00-13:00", "a p5 08:00-18:00", "c p1"} << "lobby"
        << "2026-11-23T11:30:00Z" << "schedule" << QStringList{"b", "a"} << "2026-11-23T12:00:00Z";
    QTest::newRow("tie lists each playlist once") << kOslo
        << QStringList{"x p5 08:00-18:00", "y p5", "x p5 10:00-12:00"} << "lobby"
        << "2026-11-23T10:00:00Z" << "schedule" << QStringList{"x", "y"} << "2026-11-23T17:00:00Z";
    QTest::newRow("lower entries' boundaries are skipped") << kOslo
        << QStringList{"top p9 2026-11-01..2026-11-30", "low p1 09:00-10:00"} << "lobby"
        << "2026-11-23T11:00:00Z" << "schedule" << QStringList{"top"} << "2026-11-30T23:00:00Z";
    QTest::newRow("falls through to lower priority when top ends") << kOslo
        << QStringList{"top p9 08:00-12:00", "low p1 10:00-14:00"} << "lobby"
        << "2026-11-23T08:00:00Z" << "schedule" << QStringList{"top"} << "2026-11-23T11:00:00Z";
    QTest::newRow("no entry, no default: idle") << kOslo
        << QStringList{"a p0 mon 09:00-10:00"} << ""
        << "2026-11-21T11:00:00Z" << "idle" << QStringList{} << "2026-11-23T08:00:00Z";
    QTest::newRow("empty schedule, default forever") << kOslo << QStringList{} << "lobby"
        << "2026-11-21T11:00:00Z" << "default" << QStringList{"lobby"} << "";
    QTest::newRow("empty schedule, idle forever") << kOslo << QStringList{} << ""
        << "2026-11-21T11:00:00Z" << "idle" << QStringList{} << "";

    // Oslo spring forward, 2026-03-29 01:00Z: 02:00 CET -> 03:00 CEST.
    QTest::newRow("DST gap: from 02:30 happens at 03:00 CEST") << kOslo
        << QStringList{"night p0 02:30-04:00"} << "lobby"
        << "2026-03-29T00:30:00Z" << "default" << QStringList{"lobby"} << "2026-03-29T01:00:00Z";
    QTest::newRow("DST gap: active from the transition") << kOslo
        << QStringList{"night p0 02:30-04:00"} << "lobby"
        << "2026-03-29T01:00:00Z" << "schedule" << QStringList{"night"} << "2026-03-29T02:00:00Z";
    QTest::newRow("DST gap: window inside the gap never plays") << kOslo
        << QStringList{"ghost p0 02:10-02:50"} << "lobby"
        << "2026-03-29T00:30:00Z" << "default" << QStringList{"lobby"} << "2026-03-30T00:10:00Z";
    QTest::newRow("DST gap: until 02:30 ends at the transition") << kOslo
        << QStringList{"early p0 01:00-02:30"} << "lobby"
        << "2026-03-29T00:30:00Z" << "schedule" << QStringList{"early"} << "2026-03-29T01:00:00Z";
    QTest::newRow("DST gap: window spanning it is an hour shorter") << kOslo
        << QStringList{"span p0 01:00-05:00"} << "lobby"
        << "2026-03-29T00:30:00Z" << "schedule" << QStringList{"span"} << "2026-03-29T03:00:00Z";
    QTest::newRow("DST gap: wrapped saturday window ends at the transition") << kOslo
        << QStringList{"sat p0 sat 23:00-02:30"} << "lobby"
        << "2026-03-28T22:30:00Z" << "schedule" << QStringList{"sat"} << "2026-03-29T01:00:00Z";

    // Oslo fall back, 2026-10-25 01:00Z: 03:00 CEST -> 02:00 CET (02:00-03:00 twice).
    QTest::newRow("DST overlap: from 02:30 at its first occurrence") << kOslo
        << QStringList{"rep p0 02:30-04:00"} << "lobby"
        << "2026-10-25T00:00:00Z" << "default" << QStringList{"lobby"} << "2026-10-25T00:30:00Z";
    QTest::newRow("DST overlap: from 02:30, approaching the day before") << kOslo
        << QStringList{"rep p0 02:30-04:00"} << "lobby"
        << "2026-10-24T23:00:00Z" << "default" << QStringList{"lobby"} << "2026-10-25T00:30:00Z";
    QTest::newRow("DST overlap: second pass keeps the window open") << kOslo
        << QStringList{"rep p0 02:30-04:00"} << "lobby"
        << "2026-10-25T01:15:00Z" << "schedule" << QStringList{"rep"} << "2026-10-25T03:00:00Z";
    QTest::newRow("DST overlap: window in the repeated hour, first pass") << kOslo
        << QStringList{"once p0 02:00-02:30"} << "lobby"
        << "2026-10-25T00:10:00Z" << "schedule" << QStringList{"once"} << "2026-10-25T00:30:00Z";
    QTest::newRow("DST overlap: it does not play again in the second pass") << kOslo
        << QStringList{"once p0 02:00-02:30"} << "lobby"
        << "2026-10-25T01:10:00Z" << "default" << QStringList{"lobby"} << "2026-10-26T01:00:00Z";
    QTest::newRow("DST overlap: exactly at the transition") << kOslo
        << QStringList{"once p0 02:00-02:30"} << "lobby"
        << "2026-10-25T01:00:00Z" << "default" << QStringList{"lobby"} << "2026-10-26T01:00:00Z";
    QTest::newRow("DST overlap: until 03:00 is reached at 03:00 CET") << kOslo
        << QStringList{"x p0 01:00-03:00"} << "lobby"
        << "2026-10-25T00:30:00Z" << "schedule" << QStringList{"x"} << "2026-10-25T02:00:00Z";
    QTest::newRow("DST overlap: from 03:00 waits for 03:00 CET") << kOslo
        << QStringList{"after p0 03:00-05:00"} << "lobby"
        << "2026-10-25T01:30:00Z" << "default" << QStringList{"lobby"} << "2026-10-25T02:00:00Z";

    // New York: 2026-03-08 07:00Z 02:00 EST -> 03:00 EDT; 2026-11-01 06:00Z 02:00 EDT -> 01:00 EST.
    QTest::newRow("NY gap: from 02:30 happens at 03:00 EDT") << kNewYork
        << QStringList{"ny p0 02:30-04:00"} << "lobby"
        << "2026-03-08T06:30:00Z" << "default" << QStringList{"lobby"} << "2026-03-08T07:00:00Z";
    QTest::newRow("NY gap: then ends at 04:00 EDT") << kNewYork
        << QStringList{"ny p0 02:30-04:00"} << "lobby"
        << "2026-03-08T07:00:00Z" << "schedule" << QStringList{"ny"} << "2026-03-08T08:00:00Z";
    QTest::newRow("NY overlap: 01:30 first occurrence (EDT)") << kNewYork
        << QStringList{"nyrep p0 01:30-03:00"} << "lobby"
        << "2026-11-01T05:00:00Z" << "default" << QStringList{"lobby"} << "2026-11-01T05:30:00Z";
    QTest::newRow("NY overlap: second pass stays open until 03:00 EST") << kNewYork
        << QStringList{"nyrep p0 01:30-03:00"} << "lobby"
        << "2026-11-01T06:10:00Z" << "schedule" << QStringList{"nyrep"} << "2026-11-01T08:00:00Z";
    QTest::newRow("NY overlap: saturday wrap ends at 02:00 EST") << kNewYork
        << QStringList{"nywrap p0 sat 22:00-02:00"} << "lobby"
        << "2026-11-01T03:00:00Z" << "schedule" << QStringList{"nywrap"} << "2026-11-01T07:00:00Z";
    QTest::newRow("NY: saturday wrap starts 22:00 EDT") << kNewYork
        << QStringList{"nywrap p0 sat 22:00-02:00"} << "lobby"
        << "2026-10-31T12:00:00Z" << "default" << QStringList{"lobby"} << "2026-11-01T02:00:00Z";
}

void TestResolve::resolve()
{
    QFETCH(QString, zone);
    QFETCH(QStringList, entries);
    QFETCH(QString, defaultPlaylist);
    QFETCH(QString, now);
    QFETCH(QString, source);
    QFETCH(QStringList, playlists);
    QFETCH(QString, next);

    const Manifest m = manifestOf(zone, entries, defaultPlaylist);
    const NowPlaying r = resolveNowPlaying(m, utc(now));
    QCOMPARE(sourceName(r.source), source);
    QCOMPARE(namesOf(r.playlists), playlists);
    QVERIFY(r.exact);
    if (next.isEmpty()) {
        QVERIFY2(!r.nextChange, qPrintable(r.nextChange ? r.nextChange->toString(Qt::ISODate) : QString()));
    } else {
        QVERIFY(r.nextChange.has_value());
        QCOMPARE(r.nextChange->toUTC(), utc(next));
    }
}

void TestResolve::weekdayIndexMatchesQt()
{
    // The engine computes weekdays from julian days without QDate.
    for (QDate d(2026, 1, 1); d < QDate(2027, 1, 8); d = d.addDays(1))
        QCOMPARE(weekdayIndex(d.toJulianDay()) + 1, d.dayOfWeek());
}

void TestResolve::skipsBoundariesThatChangeNothing()
{
    // Many same-playlist entries start and stop under an all-day one: no
    // boundary before the all-day entry's end date changes the answer.
    QStringList entries{"x p5 ..2026-11-27"};
    for (int h = 0; h < 20; ++h)
        entries << QStringLiteral("x p5 %1:00-%1:30").arg(h, 2, 10, QLatin1Char('0'));
    const Manifest m = manifestOf(kOslo, entries, QStringLiteral("lobby"));
    const NowPlaying r = resolveNowPlaying(m, utc(QStringLiteral("2026-11-23T12:00:00Z")));
    QCOMPARE(namesOf(r.playlists), QStringList{"x"});
    QVERIFY(r.exact);
    QVERIFY(r.nextChange.has_value());
    // Fri 27 ends at local midnight (23:00Z) — but 00:00-00:30 of the 28th is
    // still "x" (the 00:00 entry), so the change is at 00:30 local = 23:30Z.
    QCOMPARE(r.nextChange->toUTC(), utc(QStringLiteral("2026-11-27T23:30:00Z")));
}

// v1.1 §12: layouts resolve as playlists do. 2026-11-23 is a Monday; Oslo is
// UTC+1 (CET) then, so local 08:00 is 07:00Z.
void TestResolve::layouts_data()
{
    QTest::addColumn<QStringList>("entries");
    QTest::addColumn<QString>("defaultContent");
    QTest::addColumn<QString>("now");
    QTest::addColumn<QString>("source");
    QTest::addColumn<QStringList>("contents");
    QTest::addColumn<QString>("next"); // "" = never changes

    QTest::newRow("a layout in its window")
        << QStringList{"@menu p5 08:00-12:00"} << "lobby" << "2026-11-23T08:30:00Z" << "schedule" << QStringList{"@menu"}
        << "2026-11-23T11:00:00Z";
    QTest::newRow("before the layout's window: the default playlist")
        << QStringList{"@menu p5 08:00-12:00"} << "lobby" << "2026-11-23T06:00:00Z" << "default" << QStringList{"lobby"}
        << "2026-11-23T07:00:00Z";
    QTest::newRow("a layout starts at its boundary instant")
        << QStringList{"@menu p5 08:00-12:00"} << "lobby" << "2026-11-23T07:00:00Z" << "schedule" << QStringList{"@menu"}
        << "2026-11-23T11:00:00Z";
    QTest::newRow("and ends at its until instant")
        << QStringList{"@menu p5 08:00-12:00"} << "lobby" << "2026-11-23T11:00:00Z" << "default" << QStringList{"lobby"}
        << "2026-11-24T07:00:00Z";
    QTest::newRow("a default layout")
        << QStringList{"breakfast p5 06:00-08:00"} << "@menu" << "2026-11-23T09:00:00Z" << "default" << QStringList{"@menu"}
        << "2026-11-24T05:00:00Z";
    QTest::newRow("tied layout and playlist share, in schedule order")
        << QStringList{"@menu p5 08:00-12:00", "promo p5 10:00-14:00"} << "lobby" << "2026-11-23T09:30:00Z" << "schedule"
        << QStringList{"@menu", "promo"} << "2026-11-23T11:00:00Z";
    QTest::newRow("schedule order decides, not the kind")
        << QStringList{"promo p5 10:00-14:00", "@menu p5 08:00-12:00"} << "lobby" << "2026-11-23T09:30:00Z" << "schedule"
        << QStringList{"promo", "@menu"} << "2026-11-23T11:00:00Z";
    QTest::newRow("a layout and a playlist of the same name are two contents")
        << QStringList{"x p5 08:00-12:00", "@x p5 08:00-12:00"} << "" << "2026-11-23T08:00:00Z" << "schedule"
        << QStringList{"x", "@x"} << "2026-11-23T11:00:00Z";
    QTest::newRow("playlist x then layout x is a change")
        << QStringList{"x p5 08:00-12:00", "@x p5 12:00-16:00"} << "" << "2026-11-23T09:00:00Z" << "schedule"
        << QStringList{"x"} << "2026-11-23T11:00:00Z";
    QTest::newRow("a higher-priority layout wins")
        << QStringList{"lobby p1", "@menu p9 08:00-12:00"} << "" << "2026-11-23T09:00:00Z" << "schedule"
        << QStringList{"@menu"} << "2026-11-23T11:00:00Z";
    QTest::newRow("a higher-priority playlist over a layout")
        << QStringList{"@menu p1", "news p9 10:00-11:00"} << "" << "2026-11-23T09:15:00Z" << "schedule"
        << QStringList{"news"} << "2026-11-23T10:00:00Z";
    QTest::newRow("one layout named by two entries is listed once and does not change")
        << QStringList{"@menu p5 08:00-12:00", "@menu p5 10:00-14:00"} << "" << "2026-11-23T09:30:00Z" << "schedule"
        << QStringList{"@menu"} << "2026-11-23T13:00:00Z";
}

void TestResolve::layouts()
{
    QFETCH(QStringList, entries);
    QFETCH(QString, defaultContent);
    QFETCH(QString, now);
    QFETCH(QString, source);
    QFETCH(QStringList, contents);
    QFETCH(QString, next);

    const Manifest m = manifestOf(kOslo, entries, defaultContent);
    const NowPlaying r = resolveNowPlaying(m, utc(now));
    QCOMPARE(sourceName(r.source), source);
    QCOMPARE(contentNames(r.contents), contents);
    // `playlists` is the playlist part of `contents`, in its order.
    QStringList playlistsOnly;
    for (const QString &c : contents)
        if (!c.startsWith(QLatin1Char('@')))
            playlistsOnly << c;
    QCOMPARE(namesOf(r.playlists), playlistsOnly);
    QVERIFY(r.exact);
    if (next.isEmpty()) {
        QVERIFY(!r.nextChange);
    } else {
        QVERIFY(r.nextChange.has_value());
        QCOMPARE(r.nextChange->toUTC(), utc(next));
    }
}

// v1.1 §12: with both defaults given, default_layout plays on this device.
void TestResolve::defaultLayoutWinsOverDefaultPlaylist()
{
    Manifest m = manifestOf(kOslo, {}, QStringLiteral("@menu"));
    addContent(m, {ContentKind::Playlist, "lobby"});
    m.defaultPlaylist = "lobby";
    const NowPlaying both = resolveNowPlaying(m, utc(QStringLiteral("2026-11-23T12:00:00Z")));
    QCOMPARE(sourceName(both.source), QStringLiteral("default"));
    QCOMPARE(contentNames(both.contents), QStringList{"@menu"});
    QVERIFY(both.playlists.empty());
    QVERIFY(!both.nextChange);
    m.defaultLayout.reset();
    const NowPlaying playlistOnly = resolveNowPlaying(m, utc(QStringLiteral("2026-11-23T12:00:00Z")));
    QCOMPARE(contentNames(playlistOnly.contents), QStringList{"lobby"});
    QCOMPARE(namesOf(playlistOnly.playlists), QStringList{"lobby"});
}

QTEST_GUILESS_MAIN(TestResolve)
#include "tst_resolve.moc"
