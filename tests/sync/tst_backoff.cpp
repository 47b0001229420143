// tests/sync/tst_backoff.cpp — the agent's retry timing (sync/backoff.h).
//
// Bounds are checked on every draw; "spread" is checked over 1000 draws with
// generous margins (min below 10 %, max above 90 % of the range), which a
// correct uniform draw misses with probability far below 1e-40, while a
// constant or a narrowed draw fails them. Expected ceilings are computed
// here from the policy, independently of Backoff::ceiling().
//
// Issue 18: a Pacer's full-jitter ceiling is tied to its steady interval
// (2 intervals, within [base, cap]), so a fleet is back within 2 intervals
// of an outage's end. pacerCeiling*, retryAfterOutlivesTheIntervalCeiling
// and fleetReturnsWithinTwoIntervals fail under the policy before it
// (ceiling = cap = 15 min); fleetReturnsWithinTwoIntervals also runs that
// policy (capIntervals = 0) to show the simulation tells them apart.
#include "sync/backoff.h"

#include <QTest>

#include <algorithm>
#include <climits>
#include <ctime>
#include <queue>
#include <vector>

using namespace stoa::sync;
using namespace std::chrono_literals;

namespace {

const BackoffPolicy kPolicy{5s, 15min};
const QDateTime kNow(QDate(2026, 11, 25), QTime(10, 0, 0), QTimeZone::utc());

Millis expectedCeiling(int n)
{
    double c = double(kPolicy.base.count());
    for (int i = 0; i < n; ++i)
        c *= 2;
    return Millis(std::int64_t(std::min(c, double(kPolicy.cap.count()))));
}

// A fleet of `devices` Pacers in virtual time: steady state with random
// phases, every request failing during [t0, t1), answered after. Figures in
// 10 s windows (1,000 devices at 60 s make ~167 requests per window, so a
// window's count is within a few percent of its expectation).
struct FleetFigures {
    double steadyPerWindow = 0; // mean over the steady windows
    int recoveryPeak = 0;       // busiest window from t1 on
    Millis back99{-1};          // after t1, until 99 % had a successful request
};

FleetFigures runFleet(BackoffPolicy policy, Millis interval, int devices, std::uint64_t seed)
{
    constexpr std::int64_t kWindow = 10'000;
    const std::int64_t t0 = 20 * 60'000, t1 = t0 + 30 * 60'000, end = t1 + 20 * 60'000;
    Backoff::Rng rng(seed);
    std::vector<Pacer> pacers(std::size_t(devices), Pacer(interval, policy));
    using Event = std::pair<std::int64_t, int>;
    std::priority_queue<Event, std::vector<Event>, std::greater<>> queue;
    for (int d = 0; d < devices; ++d)
        queue.emplace(std::uniform_int_distribution<std::int64_t>(0, interval.count() - 1)(rng), d);
    std::vector<int> perWindow(std::size_t(end / kWindow) + 1, 0);
    std::vector<std::int64_t> back;
    std::vector<bool> synced(std::size_t(devices), false);
    while (queue.top().first < end) {
        const auto [t, d] = queue.top();
        queue.pop();
        ++perWindow[std::size_t(t / kWindow)];
        const bool ok = t < t0 || t >= t1;
        if (ok && t >= t1 && !synced[std::size_t(d)]) {
            synced[std::size_t(d)] = true;
            back.push_back(t - t1);
        }
        Pacer &p = pacers[std::size_t(d)];
        queue.emplace(t + std::max<std::int64_t>(1, (ok ? p.afterSuccess(rng) : p.afterFailure(rng)).count()), d);
    }
    FleetFigures f;
    // Steady windows: after the first interval (phases settled), before t0.
    const std::size_t s0 = std::size_t(interval.count() / kWindow) + 1, s1 = std::size_t(t0 / kWindow);
    std::int64_t steady = 0;
    for (std::size_t w = s0; w < s1; ++w)
        steady += perWindow[w];
    f.steadyPerWindow = double(steady) / double(s1 - s0);
    f.recoveryPeak = *std::max_element(perWindow.begin() + t1 / kWindow, perWindow.end());
    std::sort(back.begin(), back.end());
    const std::size_t need = (std::size_t(devices) * 99 + 99) / 100;
    if (back.size() >= need)
        f.back99 = Millis(back[need - 1]);
    return f;
}

struct Draws {
    Millis min = Millis::max();
    Millis max = Millis::min();
    void add(Millis m)
    {
        min = std::min(min, m);
        max = std::max(max, m);
    }
};

} // namespace

class TestBackoff : public QObject {
    Q_OBJECT

private slots:
    void initTestCase()
    {
        // A zone with DST, so a parser that goes through local time shows it.
        qputenv("TZ", "Europe/Oslo");
        tzset();
    }

    void fullJitter_data()
    {
        QTest::addColumn<int>("n");
        for (int n = 0; n <= 20; ++n)
            QTest::addRow("n=%d", n) << n;
    }
    void fullJitter()
    {
        QFETCH(int, n);
        const Millis ceiling = expectedCeiling(n);
        QCOMPARE(Backoff(kPolicy, n).ceiling(), ceiling);
        Backoff::Rng rng(1000 + n);
        Draws d;
        for (int i = 0; i < 1000; ++i) {
            Backoff b(kPolicy, n); // n failures in a row so far: this is failure n
            const Millis w = b.failure(rng);
            QVERIFY(w >= 0ms);
            QVERIFY2(w <= ceiling, qPrintable(QString::number(w.count())));
            QCOMPARE(b.consecutiveFailures(), n + 1);
            d.add(w);
        }
        QVERIFY2(d.min < ceiling / 10, qPrintable(QString::number(d.min.count())));
        QVERIFY2(d.max > ceiling * 9 / 10, qPrintable(QString::number(d.max.count())));
    }

    void ceilingGrowsThenStaysAtCap()
    {
        Backoff b(kPolicy);
        Backoff::Rng rng(7);
        Millis previous = 0ms;
        for (int i = 0; i < 200; ++i) {
            const Millis c = b.ceiling();
            QCOMPARE(c, expectedCeiling(i));
            QVERIFY(c >= previous);
            QVERIFY(b.failure(rng) <= kPolicy.cap);
            previous = c;
        }
        QCOMPARE(b.ceiling(), kPolicy.cap);
        // No overflow however long the outage.
        QCOMPARE(Backoff(kPolicy, INT_MAX).ceiling(), kPolicy.cap);
        Backoff longest(kPolicy, INT_MAX - 1);
        QVERIFY(longest.failure(rng) <= kPolicy.cap);
    }

    void successResets()
    {
        Backoff::Rng rng(3);
        Backoff b(kPolicy);
        for (int i = 0; i < 6; ++i)
            b.failure(rng);
        QCOMPARE(b.consecutiveFailures(), 6);
        QCOMPARE(b.ceiling(), expectedCeiling(6));
        b.success();
        QCOMPARE(b.consecutiveFailures(), 0);
        QCOMPARE(b.ceiling(), kPolicy.base);

        Pacer p(60s, kPolicy);
        for (int i = 0; i < 6; ++i)
            p.afterFailure(rng);
        QCOMPARE(p.backoff().consecutiveFailures(), 6);
        p.afterSuccess(rng);
        QCOMPARE(p.backoff().consecutiveFailures(), 0);
        // The next failure draws from the first ceiling again.
        for (int i = 0; i < 200; ++i) {
            Pacer fresh = p;
            QVERIFY(fresh.afterFailure(rng) <= kPolicy.base);
        }
    }

    void parseRetryAfter_data()
    {
        QTest::addColumn<QString>("value");
        QTest::addColumn<qint64>("expectedMs"); // -1: nothing
        QTest::newRow("seconds") << "120" << 120000LL;
        QTest::newRow("zero") << "0" << 0LL;
        QTest::newRow("padded") << "  7 \r" << 7000LL;
        QTest::newRow("date ahead") << "Wed, 25 Nov 2026 10:01:30 GMT" << 90000LL;
        QTest::newRow("date far ahead") << "Thu, 26 Nov 2026 10:00:00 GMT" << 86400000LL;
        QTest::newRow("date now") << "Wed, 25 Nov 2026 10:00:00 GMT" << 0LL;
        QTest::newRow("date past") << "Tue, 24 Nov 2026 09:00:00 GMT" << 0LL;
        QTest::newRow("date long past") << "Sun, 06 Nov 1994 08:49:37 GMT" << 0LL;
        // Local-time gaps must not matter: the date is UTC, and 29 Mar 2026
        // 02:30 does not exist in Europe/Oslo (initTestCase sets TZ).
        QTest::newRow("date in a DST gap") << "Sun, 29 Mar 2026 02:30:00 GMT" << 0LL;
        QTest::newRow("empty") << "" << -1LL;
        QTest::newRow("blank") << "   " << -1LL;
        QTest::newRow("garbage") << "soon" << -1LL;
        QTest::newRow("negative") << "-5" << -1LL;
        QTest::newRow("plus") << "+5" << -1LL;
        QTest::newRow("fraction") << "1.5" << -1LL;
        QTest::newRow("trailing junk") << "12abc" << -1LL;
        QTest::newRow("bad day") << "Wed, 32 Nov 2026 10:00:00 GMT" << -1LL;
        QTest::newRow("not GMT") << "Wed, 25 Nov 2026 10:01:30 CET" << -1LL;
    }
    void parseRetryAfter()
    {
        QFETCH(QString, value);
        QFETCH(qint64, expectedMs);
        const std::string text = value.toStdString();
        const auto got = stoa::sync::parseRetryAfter(text, kNow);
        if (expectedMs < 0) {
            QVERIFY2(!got, qPrintable(QString::number(got ? got->count() : 0)));
        } else {
            QVERIFY(got);
            QCOMPARE(qint64(got->count()), expectedMs);
        }
    }

    void parseRetryAfterHugeSeconds()
    {
        // Absurd but well-formed: must not overflow (UBSan would abort), and
        // must stay "very long" so the cap, not wrap-around, decides.
        const auto got = stoa::sync::parseRetryAfter("9999999999999999", kNow);
        QVERIFY(got);
        QVERIFY(*got >= kPolicy.cap);
        Backoff b(kPolicy);
        Backoff::Rng rng(5);
        QCOMPARE(b.failure(rng, got), kPolicy.cap);
    }

    void retryAfterIsNeverUndercut_data()
    {
        QTest::addColumn<int>("failures");
        QTest::addColumn<qint64>("retryAfterMs");
        for (int failures : {0, 3, 10})
            for (qint64 ra : {0LL, 1000LL, 30000LL, 120000LL, 600000LL, 899000LL})
                QTest::addRow("n=%d ra=%llds", failures, ra / 1000) << failures << ra;
    }
    void retryAfterIsNeverUndercut()
    {
        QFETCH(int, failures);
        QFETCH(qint64, retryAfterMs);
        const Millis told(retryAfterMs);
        const Millis ceiling = expectedCeiling(failures);
        Backoff::Rng rng(99);
        Draws d;
        for (int i = 0; i < 1000; ++i) {
            Backoff b(kPolicy, failures);
            const Millis w = b.failure(rng, told);
            QVERIFY2(w >= told, qPrintable(QString::number(w.count())));
            QVERIFY(w <= kPolicy.cap);
            QVERIFY(w <= std::max(ceiling, told + told / 10));
            QCOMPARE(b.consecutiveFailures(), failures + 1);
            d.add(w);
        }
        // When the server's delay dominates, the fleet still spreads over up to 10 % more.
        if (told > ceiling && told / 10 > 0ms && told + told / 10 <= kPolicy.cap) {
            QVERIFY(d.min < told + told / 100);
            QVERIFY(d.max > told + told * 9 / 100);
        }
    }

    void retryAfterIsCapped_data()
    {
        QTest::addColumn<qint64>("retryAfterMs");
        QTest::newRow("at cap") << qint64(kPolicy.cap.count());
        QTest::newRow("just under cap") << qint64(kPolicy.cap.count()) - 1000;
        QTest::newRow("an hour") << 3600000LL;
        QTest::newRow("a year") << 365LL * 86400000;
    }
    void retryAfterIsCapped()
    {
        QFETCH(qint64, retryAfterMs);
        Backoff::Rng rng(11);
        for (int failures : {0, 5, 30}) {
            for (int i = 0; i < 500; ++i) {
                Backoff b(kPolicy, failures);
                const Millis w = b.failure(rng, Millis(retryAfterMs));
                QVERIFY2(w <= kPolicy.cap, qPrintable(QString::number(w.count())));
                QVERIFY(w >= std::min(Millis(retryAfterMs), kPolicy.cap));
            }
        }
    }

    void steadyJitter_data()
    {
        QTest::addColumn<qint64>("intervalMs");
        QTest::newRow("5 s (spec minimum)") << 5000LL;
        QTest::newRow("60 s (spec default)") << 60000LL;
        QTest::newRow("300 s") << 300000LL;
    }
    void steadyJitter()
    {
        QFETCH(qint64, intervalMs);
        const Millis interval(intervalMs);
        const Millis lo(intervalMs * 9 / 10), hi(intervalMs * 11 / 10);
        Pacer p(interval, kPolicy);
        QCOMPARE(p.steadyInterval(), interval);
        Backoff::Rng rng(42);
        Draws d;
        for (int i = 0; i < 1000; ++i) {
            const Millis w = p.afterSuccess(rng);
            QVERIFY2(w >= lo && w <= hi, qPrintable(QString::number(w.count())));
            d.add(w);
        }
        const Millis width = hi - lo;
        QVERIFY(d.min < lo + width / 10);
        QVERIFY(d.max > hi - width / 10);
        // The free function, with another fraction.
        for (int i = 0; i < 1000; ++i) {
            const Millis w = jittered(interval, 0.5, rng);
            QVERIFY(w >= interval / 2 && w <= interval * 3 / 2);
        }
    }

    void setSteadyIntervalApplies()
    {
        Pacer p(60s, kPolicy);
        p.setSteadyInterval(300s);
        Backoff::Rng rng(8);
        for (int i = 0; i < 100; ++i) {
            const Millis w = p.afterSuccess(rng);
            QVERIFY(w >= 270s && w <= 330s);
        }
    }

    void initialDelay()
    {
        const Pacer p(60s, kPolicy);
        Backoff::Rng rng(17);
        Draws fresh, playing;
        for (int i = 0; i < 1000; ++i) {
            const Millis w = p.initialDelay(rng, false); // nothing to play yet: soon
            QVERIFY(w >= 0ms && w <= kPolicy.base);
            fresh.add(w);
            const Millis v = p.initialDelay(rng, true); // content on screen: spread over the interval
            QVERIFY(v >= 0ms && v <= 60s);
            playing.add(v);
        }
        QVERIFY(fresh.min < kPolicy.base / 10);
        QVERIFY(fresh.max > kPolicy.base * 9 / 10);
        QVERIFY(playing.min < 6s);
        QVERIFY(playing.max > 54s);
        QCOMPARE(p.backoff().consecutiveFailures(), 0); // a const look, no state
    }

    // The full-jitter ceiling stops at 2 steady intervals, within [base, cap].
    void pacerCeilingIsTiedToTheInterval_data()
    {
        QTest::addColumn<qint64>("intervalMs");
        QTest::addColumn<qint64>("ceilingMs");
        QTest::newRow("60 s (spec default): 2 min") << 60000LL << 120000LL;
        QTest::newRow("5 s (spec minimum): 10 s") << 5000LL << 10000LL;
        QTest::newRow("300 s: 10 min") << 300000LL << 600000LL;
        QTest::newRow("450 s: exactly the cap") << 450000LL << qint64(kPolicy.cap.count());
        QTest::newRow("1 h: the cap") << 3600000LL << qint64(kPolicy.cap.count());
        QTest::newRow("1 s: never below base") << 1000LL << qint64(kPolicy.base.count());
        QTest::newRow("no interval (a blob): the cap") << 0LL << qint64(kPolicy.cap.count());
    }
    void pacerCeilingIsTiedToTheInterval()
    {
        QFETCH(qint64, intervalMs);
        QFETCH(qint64, ceilingMs);
        const Millis ceiling(ceilingMs);
        Pacer p(Millis(intervalMs), kPolicy);
        QCOMPARE(p.drawCap(), std::clamp(ceiling, kPolicy.base, kPolicy.cap));
        Backoff::Rng rng(500 + std::uint64_t(intervalMs));
        // The ceiling doubles from base as before, up to the tied cap.
        for (int n = 0; n < 40; ++n) {
            QCOMPARE(p.ceiling(), std::min(expectedCeiling(n), ceiling));
            QVERIFY(p.afterFailure(rng) <= ceiling);
        }
        // Still full jitter at the top: spread over all of [0, ceiling].
        Draws d;
        for (int i = 0; i < 1000; ++i) {
            Pacer q(Millis(intervalMs), kPolicy, 40);
            const Millis w = q.afterFailure(rng);
            QVERIFY2(w >= 0ms && w <= ceiling, qPrintable(QString::number(w.count())));
            d.add(w);
        }
        QVERIFY2(d.min < ceiling / 10, qPrintable(QString::number(d.min.count())));
        QVERIFY2(d.max > ceiling * 9 / 10, qPrintable(QString::number(d.max.count())));
    }

    // The same rule for a channel without a Pacer (the wake-up listener).
    void intervalCapFreeFunction()
    {
        QCOMPARE(intervalCap(kPolicy, 60s), 120s);
        QCOMPARE(intervalCap(kPolicy, 0ms), kPolicy.cap);
        QCOMPARE(intervalCap(kPolicy, 1s), kPolicy.base);
        QCOMPARE(intervalCap(kPolicy, 1h), kPolicy.cap);
        QCOMPARE(Backoff(kPolicy, 30).ceiling(intervalCap(kPolicy, 60s)), 120s);
        QCOMPARE(Backoff(kPolicy, 1).ceiling(intervalCap(kPolicy, 60s)), 10s);
    }

    // A new interval (the manifest's sync_interval_s) moves the ceiling with it.
    void pacerCeilingFollowsSetSteadyInterval()
    {
        Pacer p(60s, kPolicy, 30);
        QCOMPARE(p.ceiling(), 120s);
        p.setSteadyInterval(300s);
        QCOMPARE(p.ceiling(), 600s);
        p.setSteadyInterval(5s);
        QCOMPARE(p.ceiling(), 10s);
    }

    // capIntervals = 0 is the policy before issue 18 (the benchmarks compare
    // with it), and another factor is honoured.
    void pacerCapIntervalsSetting()
    {
        BackoffPolicy before = kPolicy;
        before.capIntervals = 0;
        QCOMPARE(Pacer(60s, before, 30).ceiling(), kPolicy.cap);
        BackoffPolicy three = kPolicy;
        three.capIntervals = 3;
        QCOMPARE(Pacer(60s, three, 30).ceiling(), 180s);
        BackoffPolicy huge = kPolicy;
        huge.capIntervals = 1e12; // no overflow: the cap decides
        QCOMPARE(Pacer(24h, huge, 30).ceiling(), kPolicy.cap);
    }

    // Retry-After is capped by the device's maximum backoff (spec §1), not
    // by the interval ceiling: a shedding server may ask for longer.
    void retryAfterOutlivesTheIntervalCeiling()
    {
        Backoff::Rng rng(77);
        Draws d;
        for (int i = 0; i < 1000; ++i) {
            Pacer p(60s, kPolicy, 30);
            const Millis w = p.afterFailure(rng, 300s);
            QVERIFY2(w >= 300s && w <= 330s, qPrintable(QString::number(w.count())));
            d.add(w);
        }
        QVERIFY(d.max > 327s); // the 10 % spread is still there
        // Beyond the device's maximum backoff: the maximum backoff.
        Pacer p(60s, kPolicy, 30);
        QCOMPARE(p.afterFailure(rng, 2h), kPolicy.cap);
        // A short Retry-After is a floor under the tied draw.
        for (int i = 0; i < 1000; ++i) {
            Pacer q(60s, kPolicy, 30);
            const Millis w = q.afterFailure(rng, 5s);
            QVERIFY(w >= 5s && w <= 120s);
        }
    }

    // Issue 18's target on a fleet: after a 30-minute outage, 99 % of the
    // devices have had a successful poll within 2 intervals, and no 10 s
    // window after recovery carries more than 2 x the steady mean. The
    // policy before (ceiling at the 15-minute cap) is run too: it keeps the
    // peak but takes over 10 minutes.
    void fleetReturnsWithinTwoIntervals()
    {
        for (std::uint64_t seed : {1ULL, 2ULL, 3ULL}) {
            const FleetFigures now = runFleet(kPolicy, 60s, 1000, seed);
            const QString figures = QStringLiteral("seed %1: steady %2/10 s, recovery peak %3, 99 % after %4 ms")
                                        .arg(seed).arg(now.steadyPerWindow).arg(now.recoveryPeak)
                                        .arg(now.back99.count());
            QVERIFY2(now.back99 >= 0ms && now.back99 <= 120s, qPrintable(figures));
            QVERIFY2(double(now.recoveryPeak) <= 2.0 * now.steadyPerWindow, qPrintable(figures));
            // Not a herd either way, but no faster than the draw allows:
            // 99 % of a uniform residual over [0, 120 s] is past 90 s.
            QVERIFY2(now.back99 > 90s, qPrintable(figures));

            BackoffPolicy before = kPolicy;
            before.capIntervals = 0;
            const FleetFigures old = runFleet(before, 60s, 1000, seed);
            QVERIFY2(old.back99 > 600s, qPrintable(QString::number(old.back99.count())));
            QVERIFY(double(old.recoveryPeak) <= 2.0 * old.steadyPerWindow);
        }
    }

    void deterministicWithSeed()
    {
        auto run = [](std::uint64_t seed) {
            Backoff::Rng rng(seed);
            Pacer p(60s, kPolicy);
            std::vector<Millis> out{p.initialDelay(rng, false)};
            for (int i = 0; i < 50; ++i) {
                const bool fail = (i / 7) % 2 == 0; // runs of failures and successes
                out.push_back(fail ? p.afterFailure(rng, i % 5 == 0 ? std::optional(Millis(20000)) : std::nullopt)
                                   : p.afterSuccess(rng));
            }
            return out;
        };
        QCOMPARE(run(2026), run(2026));
        QVERIFY(run(2026) != run(2027));
    }
};

QTEST_GUILESS_MAIN(TestBackoff)
#include "tst_backoff.moc"
