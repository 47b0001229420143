// tests/schedule/tst_trusted_time.cpp — the time floor and trusted now (spec §7).
//
// Both clocks are fakes the test moves by hand; expected instants are the
// arithmetic of trusted now = max(system, floor + monotonic since the floor).
#include "schedule/trusted_time.h"

#include <QTest>

using namespace stoa::schedule;

namespace {

constexpr qint64 kMinute = 60'000;
constexpr qint64 kHour = 60 * kMinute;
// 2026-11-23T10:00:00Z
constexpr qint64 kT = 1'795'428'000'000;

struct FakeClocks {
    std::int64_t system = 0;
    std::int64_t monotonic = 5'000; // arbitrary origin
    bool synchronised = false;

    Clocks clocks()
    {
        return Clocks{[this] { return system; }, [this] { return monotonic; },
                      [this] { return synchronised; }};
    }
};

} // namespace

class TestTrustedTime : public QObject {
    Q_OBJECT
private slots:
    void sanityOfConstant();
    void trustedNow_data();
    void trustedNow();
    void clockJumpsBackThenForward();
    void ntpRaisesFloor();
    void issuedAtRaisesFloorOnlyUpwards();
    void futureIssuedAtMovesTheFloorADayAtMost();
    void persistCadence();
    void noFloorNothingToPersist();
};

void TestTrustedTime::sanityOfConstant()
{
    QCOMPARE(QDateTime::fromMSecsSinceEpoch(kT, Qt::UTC),
             QDateTime(QDate(2026, 11, 23), QTime(10, 0), Qt::UTC));
}

void TestTrustedTime::trustedNow_data()
{
    QTest::addColumn<qint64>("floor");      // -1: none persisted
    QTest::addColumn<qint64>("system");
    QTest::addColumn<bool>("synchronised");
    QTest::addColumn<qint64>("elapsed");    // monotonic ms after construction
    QTest::addColumn<qint64>("expected");
    QTest::addColumn<bool>("trusted");
    QTest::addColumn<QString>("source");

    QTest::newRow("no floor, free-running clock") << qint64(-1) << kT << false << qint64(0) << kT << true << "system";
    QTest::newRow("no floor, NTP") << qint64(-1) << kT << true << qint64(0) << kT << true << "ntp";
    QTest::newRow("boot with 1970 clock: floor") << kT << qint64(0) << false << qint64(0) << kT << false << "floor";
    QTest::newRow("floor advances with the monotonic clock") << kT << qint64(90'000) << false << qint64(90'000)
        << kT + 90'000 << false << "floor";
    QTest::newRow("system ahead of floor wins") << kT << kT + kHour << false << qint64(0) << kT + kHour << true << "system";
    QTest::newRow("system 1 s behind: within tolerance") << kT << kT + 9'000 << false << qint64(10'000)
        << kT + 10'000 << true << "system";
    QTest::newRow("system 3 s behind: behind the floor") << kT << kT + 7'000 << false << qint64(10'000)
        << kT + 10'000 << false << "floor";
    QTest::newRow("NTP but behind the floor: still untrusted") << kT << kT - kHour << true << qint64(0)
        << kT << false << "floor";
}

void TestTrustedTime::trustedNow()
{
    QFETCH(qint64, floor);
    QFETCH(qint64, system);
    QFETCH(bool, synchronised);
    QFETCH(qint64, elapsed);
    QFETCH(qint64, expected);
    QFETCH(bool, trusted);
    QFETCH(QString, source);

    FakeClocks fake;
    TrustedClock clock(fake.clocks(), floor < 0 ? std::nullopt : std::optional<std::int64_t>(floor));
    fake.monotonic += elapsed;
    fake.system = system;
    fake.synchronised = synchronised;
    const TrustedNow n = clock.now();
    QCOMPARE(n.utc.toMSecsSinceEpoch(), expected);
    QCOMPARE(n.utc.timeSpec(), Qt::UTC);
    QCOMPARE(n.trusted, trusted);
    QCOMPARE(timeSourceName(n.source), source);
}

void TestTrustedTime::clockJumpsBackThenForward()
{
    FakeClocks fake;
    fake.system = kT;
    TrustedClock clock(fake.clocks(), kT);
    QCOMPARE(clock.now().utc.toMSecsSinceEpoch(), kT);

    // Someone sets the wall clock back a day, 10 s later.
    fake.monotonic += 10'000;
    fake.system = kT - 24 * kHour;
    TrustedNow n = clock.now();
    QCOMPARE(n.utc.toMSecsSinceEpoch(), kT + 10'000);
    QVERIFY(!n.trusted);
    QCOMPARE(n.source, TimeSource::Floor);

    // ... and forward past the floor again, 50 s later.
    fake.monotonic += 50'000;
    fake.system = kT + kHour;
    n = clock.now();
    QCOMPARE(n.utc.toMSecsSinceEpoch(), kT + kHour);
    QVERIFY(n.trusted);
    QCOMPARE(n.source, TimeSource::System);

    // A free-running (unsynchronised) clock does not raise the floor: back
    // behind, we are at floor + 60 s, not at the hour the clock claimed.
    fake.monotonic += 1'000;
    fake.system = 0;
    n = clock.now();
    QCOMPARE(n.utc.toMSecsSinceEpoch(), kT + 61'000);
    QVERIFY(!n.trusted);
}

void TestTrustedTime::ntpRaisesFloor()
{
    FakeClocks fake;
    fake.system = kT;
    TrustedClock clock(fake.clocks(), kT - kHour);
    QCOMPARE(*clock.floorToPersist(), kT - kHour);
    fake.synchronised = true;
    QCOMPARE(clock.now().source, TimeSource::Ntp);
    QCOMPARE(*clock.floorToPersist(), kT);

    // NTP lost and the clock reset to 1970: the floor carries on.
    fake.synchronised = false;
    fake.system = 0;
    fake.monotonic += 30'000;
    const TrustedNow n = clock.now();
    QCOMPARE(n.utc.toMSecsSinceEpoch(), kT + 30'000);
    QCOMPARE(*clock.floorToPersist(), kT + 30'000);
}

void TestTrustedTime::issuedAtRaisesFloorOnlyUpwards()
{
    FakeClocks fake;
    fake.system = kT;
    TrustedClock clock(fake.clocks(), kT - kHour);
    clock.observeSignedIssuedAt(QDateTime::fromMSecsSinceEpoch(kT + 5 * kMinute, Qt::UTC));
    QCOMPARE(*clock.floorToPersist(), kT + 5 * kMinute);
    TrustedNow n = clock.now();
    QCOMPARE(n.utc.toMSecsSinceEpoch(), kT + 5 * kMinute);
    QVERIFY(!n.trusted);

    // An older document does not lower it.
    clock.observeSignedIssuedAt(QDateTime::fromMSecsSinceEpoch(kT - 2 * kHour, Qt::UTC));
    QCOMPARE(*clock.floorToPersist(), kT + 5 * kMinute);
    clock.observeSignedIssuedAt(QDateTime());
    QCOMPARE(*clock.floorToPersist(), kT + 5 * kMinute);
}

// A signed issued_at in the future (a publisher's clock a year ahead, a
// stolen key) moves the floor a day at most, and not at all past an
// NTP-synchronised clock: the floor never comes down and advances with the
// monotonic clock, so whatever lead it takes on it keeps.
void TestTrustedTime::futureIssuedAtMovesTheFloorADayAtMost()
{
    constexpr std::int64_t kDay = 24 * kHour;
    QCOMPARE(TrustedClock::kMaxSignedLeadMs, kDay);
    const QDateTime yearAhead = QDateTime::fromMSecsSinceEpoch(kT + 365 * kDay, Qt::UTC);

    // Without NTP (an offline device, its clock from the floor).
    FakeClocks offline;
    offline.system = 0;
    TrustedClock lagging(offline.clocks(), kT);
    lagging.observeSignedIssuedAt(yearAhead);
    QCOMPARE(*lagging.floorToPersist(), kT + kDay);
    QVERIFY(lagging.persistDue());
    // Within the cap a document moves it all the way: a device switched
    // off overnight catches up with one document.
    TrustedClock overnight(offline.clocks(), kT);
    overnight.observeSignedIssuedAt(QDateTime::fromMSecsSinceEpoch(kT + 16 * kHour, Qt::UTC));
    QCOMPARE(*overnight.floorToPersist(), kT + 16 * kHour);
    // The lead is kept: ten minutes later the floor is a day and ten minutes on.
    offline.monotonic += 10 * kMinute;
    QCOMPARE(lagging.now().utc.toMSecsSinceEpoch(), kT + kDay + 10 * kMinute);

    // A first boot without NTP (no floor at all, a clock of 1970): the
    // first signed time is taken whole, there is no lead to measure.
    FakeClocks firstBoot;
    TrustedClock fresh(firstBoot.clocks(), std::nullopt);
    fresh.observeSignedIssuedAt(yearAhead);
    QCOMPARE(*fresh.floorToPersist(), kT + 365 * kDay);

    // With NTP the clock is the better witness: no lead at all, however
    // many such documents arrive (no ratchet a day at a time).
    FakeClocks ntp;
    ntp.system = kT;
    ntp.synchronised = true;
    TrustedClock synced(ntp.clocks(), kT - kHour);
    for (int i = 0; i < 3; ++i) {
        synced.observeSignedIssuedAt(yearAhead);
        ntp.monotonic += kMinute;
        ntp.system += kMinute;
    }
    const TrustedNow n = synced.now();
    QVERIFY(n.trusted);
    QCOMPARE(n.utc.toMSecsSinceEpoch(), kT + 3 * kMinute);
    QCOMPARE(*synced.floorToPersist(), kT + 3 * kMinute);
    // An honest document (behind the clock) changes nothing either.
    synced.observeSignedIssuedAt(QDateTime::fromMSecsSinceEpoch(kT, Qt::UTC));
    QCOMPARE(*synced.floorToPersist(), kT + 3 * kMinute);
}

void TestTrustedTime::persistCadence()
{
    FakeClocks fake;
    fake.system = kT;
    fake.synchronised = true;
    TrustedClock clock(fake.clocks(), kT);
    QVERIFY(!clock.persistDue()); // what we were given is saved already
    QCOMPARE(clock.msUntilPersistDue(), TrustedClock::kPersistIntervalMs);

    // NTP keeps nudging the floor up in small steps: no early save.
    for (int i = 0; i < 9; ++i) {
        fake.monotonic += kMinute;
        fake.system += kMinute + 100;
        clock.now();
        QVERIFY(!clock.persistDue());
    }
    fake.monotonic += kMinute - 1;
    QCOMPARE(clock.msUntilPersistDue(), qint64(1));
    QVERIFY(!clock.persistDue());
    fake.monotonic += 1;
    QVERIFY(clock.persistDue());
    clock.markPersisted();
    QVERIFY(!clock.persistDue());
    QCOMPARE(clock.msUntilPersistDue(), TrustedClock::kPersistIntervalMs);

    // A jump (adopted manifest issued an hour ahead, NTP lost meanwhile:
    // with NTP no document moves the floor past the clock) asks to save at once.
    fake.synchronised = false;
    clock.observeSignedIssuedAt(QDateTime::fromMSecsSinceEpoch(kT + 2 * kHour, Qt::UTC));
    QVERIFY(clock.persistDue());
    QCOMPARE(clock.msUntilPersistDue(), qint64(0));
    clock.markPersisted();
    QVERIFY(!clock.persistDue());
}

void TestTrustedTime::noFloorNothingToPersist()
{
    FakeClocks fake;
    fake.system = kT;
    TrustedClock clock(fake.clocks(), std::nullopt);
    clock.now();
    QVERIFY(!clock.floorToPersist());
    QVERIFY(!clock.persistDue());
    // First NTP sync: the first floor ever, saved at once.
    fake.synchronised = true;
    clock.now();
    QCOMPARE(*clock.floorToPersist(), kT);
    QVERIFY(clock.persistDue());
}

QTEST_GUILESS_MAIN(TestTrustedTime)
#include "tst_trusted_time.moc"
