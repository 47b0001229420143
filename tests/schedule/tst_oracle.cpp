// tests/schedule/tst_oracle.cpp — the engine against a slow, independent reading of spec §3.
//
// The oracle walks UTC minute by minute, converts each to local time with
// QDateTime::toTimeZone (no shared code with the engine), keeps the running
// maximum of local time (first-occurrence rule), evaluates every entry with
// QDate arithmetic, and reports the first minute the answer differs. Random
// small manifests in Oslo and New York, instants around the DST transitions
// and ordinary days. Tables elsewhere pin the rules by hand; this test pins
// the sweep's bookkeeping (lazy refresh, priority fall-through, ties).
#include "schedule/engine.h"

#include <QTest>
#include <QTimeZone>

#include <random>

using namespace stoa::schedule;

namespace {

struct Local {
    QDate date;
    int minute = 0; // of the day
    bool operator<(const Local &o) const
    {
        return date < o.date || (date == o.date && minute < o.minute);
    }
};

bool dayQualifies(const ScheduleEntry &e, QDate d)
{
    if (e.startDate && d < *e.startDate)
        return false;
    if (e.endDate && d > *e.endDate)
        return false;
    if (e.days.empty())
        return true;
    for (const Weekday w : e.days)
        if (static_cast<int>(w) == d.dayOfWeek())
            return true;
    return false;
}

bool entryActive(const ScheduleEntry &e, const Local &t)
{
    const int start = e.fromMinute.value_or(0);
    int end = e.untilMinute.value_or(1440);
    if (end <= start)
        end += 1440; // wraps; equal means 24 hours
    if (dayQualifies(e, t.date) && start <= t.minute && t.minute < end)
        return true;
    return dayQualifies(e, t.date.addDays(-1)) && start <= t.minute + 1440 && t.minute + 1440 < end;
}

std::pair<PlaySource, std::vector<std::string>> oracleAnswer(const Manifest &m, const Local &t)
{
    std::optional<int> top;
    for (const ScheduleEntry &e : m.schedule)
        if (entryActive(e, t) && (!top || e.priority > *top))
            top = e.priority;
    std::vector<std::string> names;
    if (!top) {
        if (m.defaultPlaylist)
            return {PlaySource::Default, {*m.defaultPlaylist}};
        return {PlaySource::Idle, {}};
    }
    for (const ScheduleEntry &e : m.schedule)
        if (e.priority == *top && entryActive(e, t)
            && std::find(names.begin(), names.end(), e.playlist) == names.end())
            names.push_back(e.playlist);
    return {PlaySource::Schedule, names};
}

Local localOf(const QDateTime &utc, const QTimeZone &zone)
{
    const QDateTime l = utc.toTimeZone(zone);
    return {l.date(), l.time().hour() * 60 + l.time().minute()};
}

Manifest randomManifest(std::mt19937 &rng, const QString &zone, QDate around)
{
    auto pick = [&rng](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
    Manifest m;
    m.timezone = zone;
    if (pick(0, 3) != 0)
        m.defaultPlaylist = "default";
    const int n = pick(0, 12);
    for (int i = 0; i < n; ++i) {
        ScheduleEntry e;
        e.playlist = "p" + std::to_string(pick(0, 5));
        e.priority = pick(0, 5);
        if (pick(0, 1))
            for (int w = 1; w <= 7; ++w)
                if (pick(0, 1))
                    e.days.push_back(static_cast<Weekday>(w));
        // Times on a 30-minute grid, mostly windows of 30 min - 8 h (some
        // wrapping midnight), a few open-ended or all-day ones.
        const int shape = pick(0, 9);
        if (shape < 8) {
            e.fromMinute = pick(0, 47) * 30;
            e.untilMinute = (*e.fromMinute + pick(1, 16) * 30) % 1440;
        } else if (shape == 8) {
            e.fromMinute = pick(0, 47) * 30;
        } else if (pick(0, 1)) {
            e.untilMinute = pick(0, 47) * 30;
        }
        if (pick(0, 2) == 0)
            e.startDate = around.addDays(pick(-3, 3));
        if (pick(0, 2) == 0)
            e.endDate = around.addDays(pick(-3, 4));
        m.schedule.push_back(e);
    }
    return m;
}

} // namespace

class TestOracle : public QObject {
    Q_OBJECT
private slots:
    void matchesOracle_data();
    void matchesOracle();
};

void TestOracle::matchesOracle_data()
{
    QTest::addColumn<QString>("zone");
    QTest::addColumn<QString>("around"); // a UTC instant; random nows within +-2 days
    QTest::addColumn<int>("seed");
    for (int seed = 1; seed <= 25; ++seed) {
        QTest::addRow("oslo spring %d", seed) << "Europe/Oslo" << "2026-03-29T01:00:00Z" << seed;
        QTest::addRow("oslo autumn %d", seed) << "Europe/Oslo" << "2026-10-25T01:00:00Z" << seed;
        QTest::addRow("new york autumn %d", seed) << "America/New_York" << "2026-11-01T06:00:00Z" << seed;
        QTest::addRow("oslo plain week %d", seed) << "Europe/Oslo" << "2026-06-10T12:00:00Z" << seed;
    }
}

void TestOracle::matchesOracle()
{
    QFETCH(QString, zone);
    QFETCH(QString, around);
    QFETCH(int, seed);
    std::mt19937 rng(static_cast<unsigned>(seed));
    const QTimeZone tz(zone.toUtf8());
    const QDateTime centre = QDateTime::fromString(around, Qt::ISODate).toUTC();
    const Manifest m = randomManifest(rng, zone, centre.toTimeZone(tz).date());
    constexpr int kHorizonMinutes = 6 * 1440;

    for (int round = 0; round < 10; ++round) {
        // Minute-aligned nows (every boundary is on a whole UTC minute in these
        // zones): some right around the centre (inside a repeated hour or at a
        // gap), the rest within two days of it.
        const int offset = round < 4 ? std::uniform_int_distribution<int>(-60, 90)(rng)
                                     : std::uniform_int_distribution<int>(-2880, 2880)(rng);
        const QDateTime now = centre.addSecs(60 * offset);
        // Running maximum of local time, primed over the previous hours so an
        // instant in a repeated hour knows it is the second pass.
        Local held = localOf(now.addSecs(-4 * 3600), tz);
        for (int k = -240; k <= 0; ++k)
            held = std::max(held, localOf(now.addSecs(60 * k), tz));
        const auto expected = oracleAnswer(m, held);

        std::optional<QDateTime> expectedNext;
        for (int k = 1; k <= kHorizonMinutes && !expectedNext; ++k) {
            const QDateTime u = now.addSecs(60 * k);
            held = std::max(held, localOf(u, tz));
            if (oracleAnswer(m, held) != expected)
                expectedNext = u;
        }

        const NowPlaying r = resolveNowPlaying(m, now);
        const QString where = now.toString(Qt::ISODate);
        QVERIFY2(r.source == expected.first, qPrintable(where));
        QVERIFY2(r.playlists == expected.second, qPrintable(where));
        QVERIFY2(r.exact, qPrintable(where));
        if (expectedNext) {
            QVERIFY2(r.nextChange.has_value(), qPrintable(where));
            QCOMPARE(r.nextChange->toUTC(), *expectedNext);
        } else {
            // Nothing within the horizon: the engine must not claim a change inside it.
            QVERIFY2(!r.nextChange || *r.nextChange > now.addSecs(60 * kHorizonMinutes), qPrintable(where));
        }
    }
}

QTEST_GUILESS_MAIN(TestOracle)
#include "tst_oracle.moc"
