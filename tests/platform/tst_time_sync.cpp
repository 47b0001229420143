// tests/platform/tst_time_sync.cpp — NTP state: the decision table from
// adjtimex fields, and the real adjtimex on this host (whose state a test
// cannot set: it must answer, plausibly and consistently with the table).
#include "platform/rpi/time_sync.h"

#include "fakes.h"

#include <QTest>

#include <sys/timex.h>

using namespace stoa::platform;

class TestTimeSync : public QObject {
    Q_OBJECT
private slots:
    void decode_data();
    void decode();
    void realAdjtimex();
    void fakeUnknownIsNotSynced();
};

void TestTimeSync::decode_data()
{
    QTest::addColumn<int>("clockState");
    QTest::addColumn<int>("status");
    QTest::addColumn<qint64>("maxErrorUs");
    QTest::addColumn<bool>("synced");
    QTest::newRow("timesyncd synced") << TIME_OK << STA_PLL << qint64(16'500) << true;
    QTest::newRow("chrony synced, nanosecond mode") << TIME_OK << (STA_PLL | STA_NANO) << qint64(3'000) << true;
    QTest::newRow("leap second pending still synced") << TIME_INS << (STA_PLL | STA_INS) << qint64(10'000) << true;
    QTest::newRow("boot without network") << TIME_ERROR << STA_UNSYNC << qint64(16'000'000) << false;
    QTest::newRow("unsync bit alone") << TIME_OK << (STA_PLL | STA_UNSYNC) << qint64(10'000) << false;
    QTest::newRow("error state alone") << TIME_ERROR << STA_PLL << qint64(10'000) << false;
    QTest::newRow("maxerror at the kernel limit") << TIME_OK << STA_PLL << qint64(16'000'000) << false;
    QTest::newRow("maxerror just below") << TIME_OK << STA_PLL << qint64(15'999'999) << true;
    QTest::newRow("negative maxerror is nonsense") << TIME_OK << STA_PLL << qint64(-1) << false;
}

void TestTimeSync::decode()
{
    QFETCH(int, clockState);
    QFETCH(int, status);
    QFETCH(qint64, maxErrorUs);
    QFETCH(bool, synced);
    const TimeSyncState s = decodeTimex(clockState, status, maxErrorUs, 1234);
    QCOMPARE(s.synchronized, synced);
    QCOMPARE(s.clockState, clockState);
    QCOMPARE(s.status, status);
    QCOMPARE(s.maxErrorUs, maxErrorUs);
    QCOMPARE(s.estErrorUs, qint64(1234));
}

void TestTimeSync::realAdjtimex()
{
    AdjtimexTimeSync source;
    const auto s = source.state();
    QVERIFY2(s, s ? "" : s.error().c_str());
    QVERIFY2(s->clockState >= TIME_OK && s->clockState <= TIME_ERROR, qPrintable(QString::number(s->clockState)));
    QVERIFY(s->maxErrorUs >= 0);
    QVERIFY(s->maxErrorUs <= kMaxErrorLimitUs);
    // The decision is the table's, applied to what the kernel said.
    QCOMPARE(s->synchronized, decodeTimex(s->clockState, s->status, s->maxErrorUs, s->estErrorUs).synchronized);
    QCOMPARE(source.synchronized(), s->synchronized);
    qInfo("this host: state %d, status 0x%x, maxerror %lld us: %s", s->clockState, s->status,
          static_cast<long long>(s->maxErrorUs), s->synchronized ? "synchronised" : "not synchronised");
}

void TestTimeSync::fakeUnknownIsNotSynced()
{
    testing::FakeTimeSync fake;
    fake.synced = true;
    QVERIFY(fake.synchronized());
    fake.error = "adjtimex failed: Operation not permitted";
    QVERIFY(!fake.synchronized()); // unknown is not synchronised
}

QTEST_GUILESS_MAIN(TestTimeSync)
#include "tst_time_sync.moc"
