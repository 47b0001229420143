// tests/platform/tst_watchdog_feeder.cpp — the watchdog feeder's policy with a
// fake notifier: feeds while the watched loop ticks, stops when it stops,
// resumes when it comes back. The "main loop" is this test's event loop
// ticking an endpoints::Liveness from a QTimer, as the player's does.
//
// No sleeps: QTRY_* poll conditions up to a deadline.
#include "platform/rpi/watchdog_feeder.h"

#include "endpoints/liveness.h"

#include "fakes.h"

#include <QTest>
#include <QTimer>

#include <stdexcept>

using namespace stoa::platform;
using namespace stoa::platform::testing;
using namespace std::chrono_literals;

class TestWatchdogFeeder : public QObject {
    Q_OBJECT
private slots:
    void beatFeedsOnlyWhenLive();
    void stallIsReportedOnce();
    void throwingProbeIsNotLive();
    void offWatchdogStartsNothing();
    void threadFollowsTheTickingLoop();
};

void TestWatchdogFeeder::beatFeedsOnlyWhenLive()
{
    FakeServiceNotifier notifier;
    bool live = true;
    WatchdogFeeder feeder(notifier, [&live] { return live; });
    QVERIFY(feeder.beat());
    QVERIFY(feeder.beat());
    QCOMPARE(notifier.count("WATCHDOG=1"), 2);
    live = false;
    QVERIFY(!feeder.beat());
    QVERIFY(feeder.stalled());
    QCOMPARE(notifier.count("WATCHDOG=1"), 2);
    live = true;
    QVERIFY(feeder.beat());
    QVERIFY(!feeder.stalled());
    QCOMPARE(notifier.count("WATCHDOG=1"), 3);
    QCOMPARE(feeder.feeds(), 3u);
    QCOMPARE(feeder.skips(), 1u);
}

void TestWatchdogFeeder::stallIsReportedOnce()
{
    FakeServiceNotifier notifier;
    bool live = false;
    WatchdogFeeder feeder(notifier, [&live] { return live; });
    for (int i = 0; i < 5; ++i)
        QVERIFY(!feeder.beat());
    QCOMPARE(notifier.countPrefix("STATUS=main loop not live"), 1);
    live = true;
    QVERIFY(feeder.beat());
    live = false;
    QVERIFY(!feeder.beat());
    QCOMPARE(notifier.countPrefix("STATUS=main loop not live"), 2); // a new stall is a new report
    QCOMPARE(notifier.count("WATCHDOG=1"), 1);
}

void TestWatchdogFeeder::throwingProbeIsNotLive()
{
    FakeServiceNotifier notifier;
    WatchdogFeeder feeder(notifier, []() -> bool { throw std::runtime_error("probe broke"); });
    QVERIFY(!feeder.beat());
    QCOMPARE(notifier.count("WATCHDOG=1"), 0);
    WatchdogFeeder noProbe(notifier, {});
    QVERIFY(!noProbe.beat());
}

void TestWatchdogFeeder::offWatchdogStartsNothing()
{
    FakeServiceNotifier notifier(std::nullopt); // no WatchdogSec=
    WatchdogFeeder feeder(notifier, [] { return true; });
    QVERIFY(!feeder.start());
    QVERIFY(!feeder.running());
    QVERIFY(notifier.messages().empty());
}

void TestWatchdogFeeder::threadFollowsTheTickingLoop()
{
    // WatchdogSec=80ms: beats every 40 ms; live = a tick within 300 ms.
    FakeServiceNotifier notifier(80ms);
    stoa::endpoints::Liveness tick(300ms);
    WatchdogFeeder feeder(notifier, [&tick] { return tick.isLive(); });
    QTimer loop; // the watched main loop's heartbeat
    loop.setInterval(5);
    connect(&loop, &QTimer::timeout, [&tick] { tick.tick(); });
    tick.tick();
    loop.start();
    QVERIFY(feeder.start());
    QVERIFY(feeder.running());

    QTRY_VERIFY_WITH_TIMEOUT(notifier.count("WATCHDOG=1") >= 5, 10000);

    // The loop hangs (its timer no longer fires): feeding stops.
    loop.stop();
    QTRY_VERIFY_WITH_TIMEOUT(!tick.isLive(), 10000);
    // From here every probe says "not live". Beats run one after another, so
    // two more skips mean a beat that asked before this point has finished.
    const auto skipsAtSilence = feeder.skips();
    QTRY_VERIFY_WITH_TIMEOUT(feeder.skips() >= skipsAtSilence + 2, 10000);
    QVERIFY(feeder.stalled());
    const int fedBeforeStall = notifier.count("WATCHDOG=1");
    const auto skipsAtStall = feeder.skips();
    QTRY_VERIFY_WITH_TIMEOUT(feeder.skips() >= skipsAtStall + 5, 10000);
    QCOMPARE(notifier.count("WATCHDOG=1"), fedBeforeStall);

    // It comes back: feeding resumes.
    loop.start();
    QTRY_VERIFY_WITH_TIMEOUT(notifier.count("WATCHDOG=1") >= fedBeforeStall + 3, 10000);
    QVERIFY(!feeder.stalled());

    feeder.stop();
    QVERIFY(!feeder.running());
    // stop() joined the thread: nothing can be sent any more (the
    // notifier test checks the same on a real socket).
}

QTEST_GUILESS_MAIN(TestWatchdogFeeder)
#include "tst_watchdog_feeder.moc"
