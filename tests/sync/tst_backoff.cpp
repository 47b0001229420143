// tests/sync/tst_backoff.cpp — the agent's retry timing (sync/backoff.h).
//
// Bounds are checked on every draw; "spread" is checked over 1000 draws with
// generous margins (min below 10 %, max above 90 % of the range), which a
// correct uniform draw misses with probability far below 1e-40, while a
// constant or a narrowed draw fails them. Expected ceilings are computed
// here from the policy, independently of Backoff::ceiling().
#include "sync/backoff.h"

#include <QTest>

#include <algorithm>
#include <climits>
#include <ctime>

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
