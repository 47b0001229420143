// tests/player/tst_soak.cpp — 5,000 transitions with accelerated durations
// (20 ms images): the player's memory must not grow with the number of
// items played. RSS (VmRSS) is read after the 500th transition, when caches
// and the scene graph have settled, and after the 5,000th; the growth
// between them must stay under 5 MB. STOA_SOAK_TRANSITIONS overrides 5000.
#include "fixtures.h"

#include <QGuiApplication>

#include <cstdio>

using namespace stoa;
using namespace stoa::player;
using namespace stoa::player::testing;

namespace {

qint64 rssKb()
{
    QFile f(QStringLiteral("/proc/self/status"));
    if (!f.open(QIODevice::ReadOnly))
        return -1;
    for (const QByteArray &line : f.readAll().split('\n'))
        if (line.startsWith("VmRSS:"))
            return line.mid(6).trimmed().split(' ').first().toLongLong();
    return -1;
}

} // namespace

class SoakTest : public QObject {
    Q_OBJECT
private slots:
    void memoryIsFlatOverTransitions();
};

void SoakTest::memoryIsFlatOverTransitions()
{
    const qint64 total = qEnvironmentVariableIsSet("STOA_SOAK_TRANSITIONS")
                             ? qEnvironmentVariableIntValue("STOA_SOAK_TRANSITIONS") : 5000;
    const qint64 settle = total / 10;
    PlayerHarness h;
    const Media a = h.content->solid(QColor(200, 40, 40), {1920, 1080});
    const Media b = h.content->solid(QColor(40, 40, 200), {1920, 1080});
    h.content->activate(h.content->manifest(1, {{"main", playlist({item(a, 20), item(b, 20)})}}, "main"));
    QVERIFY(h.start());
    qint64 rssSettled = -1;
    QTRY_VERIFY_WITH_TIMEOUT(h.playback->transitions() >= settle, int(settle * 1000));
    rssSettled = rssKb();
    QTRY_VERIFY_WITH_TIMEOUT(h.playback->transitions() >= total, int(total * 1000));
    const qint64 rssEnd = rssKb();
    std::printf("soak: %lld transitions; VmRSS %lld kB after %lld, %lld kB after %lld: growth %lld kB\n",
                static_cast<long long>(h.playback->transitions()), static_cast<long long>(rssSettled),
                static_cast<long long>(settle), static_cast<long long>(rssEnd), static_cast<long long>(total),
                static_cast<long long>(rssEnd - rssSettled));
    QVERIFY(rssSettled > 0 && rssEnd > 0);
    QVERIFY2(rssEnd - rssSettled < 5 * 1024, "RSS grew by 5 MB or more");
    // Every transition was logged as a completed play.
    auto count = h.store->plays().count();
    QVERIFY(count && *count >= total - 1);
}

int main(int argc, char **argv)
{
    // QtTest aborts a test function after 5 minutes; a soak on a loaded
    // machine may need longer (CTest's TIMEOUT still bounds the run).
    if (!qEnvironmentVariableIsSet("QTEST_FUNCTION_TIMEOUT"))
        qputenv("QTEST_FUNCTION_TIMEOUT", "1800000");
    QGuiApplication app(argc, argv);
    SoakTest test;
    QTEST_SET_MAIN_SOURCE_PATH
    return QTest::qExec(&test, argc, argv);
}
#include "tst_soak.moc"
