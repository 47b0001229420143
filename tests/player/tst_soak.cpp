// tests/player/tst_soak.cpp — thousands of transitions with accelerated
// durations: the player's memory must not grow with the number of items
// played, images and videos alike.
//
// The playlist alternates two 1080p images (20 ms each) and a short H.264
// video (640x360, 0.4 s, cut at 60 ms), so every third item opens and drops
// a video pipeline (player/video_pipeline.h). RSS (VmRSS) is taken after a tenth of the run (the
// 500th of 5,000 transitions: caches, the scene graph and the media
// back-end have settled) and at the end, each time as the lowest reading
// over 30 transitions; the growth must stay under 5 MB.
// Finished items' players must be gone: at most the two slots' players live.
//
// STOA_SOAK_TRANSITIONS sets the count (default 5000). CTest runs fewer
// (tests/player/CMakeLists.txt); docs/player.md says which and why.
#include "player_harness.h"

#include <QGuiApplication>

#include "player/video_pipeline.h"

#include <cstdio>
#include <limits>

using namespace stoa;
using namespace stoa::player;
using namespace stoa::player::testing;

class SoakTest : public QObject {
    Q_OBJECT
private slots:
    void memoryIsFlatOverTransitions();
};

void SoakTest::memoryIsFlatOverTransitions()
{
    const qint64 total = qEnvironmentVariableIsSet("STOA_SOAK_TRANSITIONS")
                             ? qEnvironmentVariableIntValue("STOA_SOAK_TRANSITIONS") : 5000;
    // The measure: from the 500th of 5,000 transitions (a tenth) to
    // the end. Shorter runs (CTest's) settle for longer, or they measure the
    // warm-up: STOA_SOAK_SETTLE overrides.
    const qint64 settle = qEnvironmentVariableIsSet("STOA_SOAK_SETTLE")
                              ? qEnvironmentVariableIntValue("STOA_SOAK_SETTLE") : total / 10;
    PlayerHarness h;
    const Media a = h.content->solid(QColor(200, 40, 40), {1920, 1080});
    const Media b = h.content->solid(QColor(40, 40, 200), {1920, 1080});
    const Media v = h.content->video("lime", 0.4, {640, 360});
    // STOA_SOAK_VIDEO=0: images only, to tell the video path's share of any
    // growth from the rest (scene, image decoding, the store's play log).
    const bool withVideo = qEnvironmentVariable("STOA_SOAK_VIDEO", "1") != "0";
    h.content->activate(h.content->manifest(
        1, {{"main", withVideo ? playlist({item(a, 20), item(v, 60), item(b, 20)}) : playlist({item(a, 20), item(b, 20)})}},
        "main"));
    QVERIFY(h.start());
    QElapsedTimer clock;
    clock.start();
    // RSS swings by several MB within one round of the playlist (a video
    // pipeline alive or not), so one reading at each end is noise: take the
    // lowest reading over kWindow transitions at each end, the same phase of
    // the playlist's cycle every time.
    constexpr qint64 kWindow = 30;
    auto lowestOverWindow = [&](qint64 until) {
        // Generous per-transition bound: a video transition opens a pipeline.
        return lowestOverTransitions(*h.playback, until, [] { return trimmedRssKb(); }, 10000);
    };
    QTRY_VERIFY_WITH_TIMEOUT(h.playback->transitions() >= settle - kWindow, int(settle * 1000));
    const qint64 rssSettled = lowestOverWindow(settle);
    const qint64 settledAtMs = clock.elapsed();
    qint64 peak = rssSettled;
    QTimer sampler;
    QObject::connect(&sampler, &QTimer::timeout, &sampler, [&] { peak = std::max(peak, rssKb()); });
    sampler.start(1000);
    QTRY_VERIFY_WITH_TIMEOUT(h.playback->transitions() >= total - kWindow, int(total * 1000));
    const qint64 rssEnd = lowestOverWindow(total);
    sampler.stop();
    // The per-item video objects.
    const qint64 players = h.shell->window()->findChildren<VideoPipeline *>().size();
    std::printf("soak: %lld transitions in %.1f s; VmRSS %lld kB after %lld, %lld kB after %lld (peak %lld kB): "
                "growth %lld kB; live media players %lld\n",
                static_cast<long long>(h.playback->transitions()), double(clock.elapsed()) / 1000.0,
                static_cast<long long>(rssSettled), static_cast<long long>(settle), static_cast<long long>(rssEnd),
                static_cast<long long>(total), static_cast<long long>(peak),
                static_cast<long long>(rssEnd - rssSettled), static_cast<long long>(players));
    std::printf("soak: %.1f ms per transition after settling\n",
                double(clock.elapsed() - settledAtMs) / double(std::max<qint64>(1, total - settle)));
    QVERIFY(rssSettled > 0 && rssEnd > 0);
    QVERIFY2(players <= 2, "players of finished items are still alive");
    QVERIFY2(rssEnd - rssSettled < 5 * 1024, "RSS grew by 5 MB or more");
    // Every transition was logged as a completed play; nothing was skipped.
    const auto plays = h.plays();
    QVERIFY(qint64(plays.size()) >= total - 1);
    const auto incomplete = h.firstIncompletePlay();
    QVERIFY2(!incomplete, incomplete.value_or("").c_str());
}

int main(int argc, char **argv)
{
    // QtTest aborts a test function after 5 minutes; the full 5,000 takes
    // longer (CTest's TIMEOUT still bounds the run).
    if (!qEnvironmentVariableIsSet("QTEST_FUNCTION_TIMEOUT"))
        qputenv("QTEST_FUNCTION_TIMEOUT", "3600000");
    QGuiApplication app(argc, argv);
    SoakTest test;
    QTEST_SET_MAIN_SOURCE_PATH
    return QTest::qExec(&test, argc, argv);
}
#include "tst_soak.moc"
