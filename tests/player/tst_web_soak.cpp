// tests/player/tst_web_soak.cpp — many web items in a row: memory must not grow
// with the number of pages played.
//
// The playlist alternates a page from a loopback HTTP server (its own
// WebEngineView per item, created and dropped with the slot) and a solid
// image, 300 ms each. Memory is the player process's VmRSS plus the RSS of
// QtWebEngine's helper processes (its children: renderer, GPU, zygote),
// read as the lowest sum over a window of transitions at the 10 % mark and
// at the end (like tst_soak.cpp); the growth must stay under 5 MB, and every
// play must be logged completed.
//
// STOA_WEB_SOAK_TRANSITIONS sets the count (default 400; CTest runs 200).
#include "player_harness.h"
#include "loopback_http_server.h"
#include "player/web_setup.h"

#include <QGuiApplication>

#include <cstdio>
#include <limits>

using namespace stoa;
using namespace stoa::player;
using namespace stoa::player::testing;
using stoa::testing::LoopbackHttpServer;

class WebSoakTest : public QObject {
    Q_OBJECT
private slots:
    void memoryIsFlatOverPages();
};

void WebSoakTest::memoryIsFlatOverPages()
{
    const qint64 total = qEnvironmentVariableIsSet("STOA_WEB_SOAK_TRANSITIONS")
                             ? qEnvironmentVariableIntValue("STOA_WEB_SOAK_TRANSITIONS") : 400;
    const qint64 settle = total / 10;
    LoopbackHttpServer server;
    server.page("/page", QByteArrayLiteral("<!doctype html><html><body style=\"margin:0;background:#00ff00\">"
                                           "<h1>menu</h1></body></html>"));
    PlayerHarness h;
    const Media image = h.content->solid(QColor(200, 40, 40));
    const QString url = server.url("/page");
    h.content->activate(h.content->manifest(
        1, {{"main", playlist({QJsonObject{{"url", url}, {"duration_ms", 300}}, item(image, 300)})}}, "main"));
    QVERIFY(h.start());
    QElapsedTimer clock;
    clock.start();
    constexpr qint64 kWindow = 20;
    auto lowestOverWindow = [&](qint64 until) {
        return lowestOverTransitions(*h.playback, until, [] { return trimmedRssKb() - rssKb() + treeRssKb(); }, 15000);
    };
    QTRY_VERIFY_WITH_TIMEOUT(h.playback->transitions() >= settle - kWindow, int(settle * 5000));
    const qint64 settled = lowestOverWindow(settle);
    const qint64 ownSettled = rssKb();
    QTRY_VERIFY_WITH_TIMEOUT(h.playback->transitions() >= total - kWindow, int(total * 5000));
    const qint64 end = lowestOverWindow(total);
    const qint64 ownEnd = rssKb();
    std::printf("web soak: %lld transitions (%lld pages) in %.1f s; player + QtWebEngine RSS %lld kB after %lld, "
                "%lld kB after %lld: growth %lld kB (the player process alone %lld -> %lld kB)\n",
                static_cast<long long>(h.playback->transitions()), static_cast<long long>(total / 2),
                double(clock.elapsed()) / 1000.0, static_cast<long long>(settled), static_cast<long long>(settle),
                static_cast<long long>(end), static_cast<long long>(total), static_cast<long long>(end - settled),
                static_cast<long long>(ownSettled), static_cast<long long>(ownEnd));
    QVERIFY(settled > 0 && end > 0);
    QVERIFY2(end - settled < 5 * 1024, "RSS grew by 5 MB or more");
    const auto plays = h.plays();
    QVERIFY(qint64(plays.size()) >= total - 1);
    const auto incomplete = h.firstIncompletePlay();
    QVERIFY2(!incomplete, incomplete.value_or("").c_str());
}

int main(int argc, char **argv)
{
    if (!qEnvironmentVariableIsSet("QTEST_FUNCTION_TIMEOUT"))
        qputenv("QTEST_FUNCTION_TIMEOUT", "3600000");
    prepareWebEngine(); // before QGuiApplication, as in stoa-player
    QGuiApplication app(argc, argv);
    WebSoakTest test;
    QTEST_SET_MAIN_SOURCE_PATH
    return QTest::qExec(&test, argc, argv);
}

#include "tst_web_soak.moc"
