// tests/schedule/tst_display.cpp — display on/off windows (spec §3 `display`).
//
// Expected values are worked out by hand (Oslo CET = UTC+1, CEST = UTC+2).
#include "manifest_text.h"
#include "schedule/engine.h"

#include <QTest>

using namespace stoa::schedule;
using namespace stoa::schedule::testing;

class TestDisplay : public QObject {
    Q_OBJECT
private slots:
    void display_data();
    void display();
};

void TestDisplay::display_data()
{
    QTest::addColumn<QString>("zone");
    QTest::addColumn<QString>("window"); // "on-off", "" = no display window
    QTest::addColumn<QString>("now");
    QTest::addColumn<bool>("on");
    QTest::addColumn<QString>("next"); // "" = never

    const QString oslo = QStringLiteral("Europe/Oslo");
    QTest::newRow("no window: always on") << oslo << "" << "2026-11-23T03:00:00Z" << true << "";
    QTest::newRow("before on") << oslo << "07:00-22:00" << "2026-11-23T05:00:00Z" << false << "2026-11-23T06:00:00Z";
    QTest::newRow("exactly at on") << oslo << "07:00-22:00" << "2026-11-23T06:00:00Z" << true << "2026-11-23T21:00:00Z";
    QTest::newRow("1 ms before off") << oslo << "07:00-22:00" << "2026-11-23T20:59:59.999Z" << true << "2026-11-23T21:00:00Z";
    QTest::newRow("exactly at off") << oslo << "07:00-22:00" << "2026-11-23T21:00:00Z" << false << "2026-11-24T06:00:00Z";
    QTest::newRow("wrapping window, after midnight") << oslo << "22:00-06:00" << "2026-11-23T23:30:00Z" << true << "2026-11-24T05:00:00Z";
    QTest::newRow("wrapping window, daytime") << oslo << "22:00-06:00" << "2026-11-24T12:00:00Z" << false << "2026-11-24T21:00:00Z";
    QTest::newRow("on == off: always on") << oslo << "07:00-07:00" << "2026-11-23T05:00:00Z" << true << "";
    QTest::newRow("summer offset") << oslo << "07:00-22:00" << "2026-06-15T04:00:00Z" << false << "2026-06-15T05:00:00Z";
    QTest::newRow("on time inside the DST gap") << oslo << "02:30-23:00" << "2026-03-29T00:00:00Z" << false << "2026-03-29T01:00:00Z";
    QTest::newRow("off time at first occurrence") << oslo << "20:00-02:30" << "2026-10-24T23:00:00Z" << true << "2026-10-25T00:30:00Z";
    QTest::newRow("repeated hour stays off") << oslo << "20:00-02:30" << "2026-10-25T01:45:00Z" << false << "2026-10-25T19:00:00Z";
    QTest::newRow("New York spring forward") << QStringLiteral("America/New_York") << "02:30-23:00"
        << "2026-03-08T06:00:00Z" << false << "2026-03-08T07:00:00Z";
}

void TestDisplay::display()
{
    QFETCH(QString, zone);
    QFETCH(QString, window);
    QFETCH(QString, now);
    QFETCH(bool, on);
    QFETCH(QString, next);

    Manifest m = manifestOf(zone, {}, {});
    if (!window.isEmpty()) {
        const QStringList parts = window.split(QLatin1Char('-'));
        m.display = DisplayWindow{*minuteOf(parts[0]), *minuteOf(parts[1])};
    }
    const DisplayPower p = resolveDisplay(m, utc(now));
    QCOMPARE(p.on, on);
    if (next.isEmpty()) {
        QVERIFY(!p.nextChange);
    } else {
        QVERIFY(p.nextChange.has_value());
        QCOMPARE(p.nextChange->toUTC(), utc(next));
    }
}

QTEST_GUILESS_MAIN(TestDisplay)
#include "tst_display.moc"
