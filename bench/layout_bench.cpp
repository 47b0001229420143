// bench/layout_bench.cpp — what a layout costs (issue 20, v1.1 §12): RSS and
// CPU of the real stoa-player for one region against three regions, printed
// side by side from the same run, and the frames lost at each region's
// switches (target 0).
//
// Two scenes, each a fresh store and a fresh stoa-player process (xcb, on
// the display this bench runs under; one after the other, never together):
//   1 region:  a layout of one full-screen region alternating two 1080p
//              H.264 25 fps videos (kVideoS each, played to their end);
//   3 regions: the same 1080p videos in a region of 2/3 of the width, two
//              720p videos alternating beside it (1/3, kSideVideoS each, so
//              the two regions switch at different moments), and a
//              scrolling ticker band below both (white on black, one pass
//              per kTickerMs, an XAnimator on the render thread).
// The videos are played at their rectangle by the scene graph (the 1080p
// one is scaled down in the 3-region scene: decode costs the same).
// Per scene, after kWarmS of warm-up, over --seconds:
//  - CPU: the player's utime+stime over the span (/proc/PID/stat), as % of
//    one core (GStreamer's decoder threads and the render thread included);
//  - RSS: sampled every second (/proc/PID/status VmRSS): median and peak;
//  - frames lost at switches, per region: the player's --frame-log
//    (player/frame_log.h) names the region of each switch under a layout.
//    Intervals between presented frames within +-250 ms of a region's
//    switch are counted against that region; an interval over 1.5 x the
//    scene's steady median (intervals further than 250 ms from any switch)
//    loses floor(interval / median) - 1 frames (bench/frames_bench.cpp's
//    rule). In the 3-region scene the ticker keeps the render loop drawing
//    every frame, so every interval counts; in the 1-region scene the video
//    drives the frames. This is the shared render loop stalling at that
//    region's switch (the picture as a whole held back): a region's own
//    pipeline delivering a frame late while others keep the loop going is
//    not seen here (player_layout_test checks no region goes dark). The
//    baseline beside it: the same rule over the intervals away from every
//    switch, as frames lost per second, against the rate within the
//    switches' windows (a starved machine loses frames everywhere); and
//    each switch -> the next scene sync (frames_bench's figure): how long
//    the GUI thread stayed busy after it (the new picture waits for it);
//    and, per switch, the frame interval ending with its first frame and
//    the longest of the 3 after it over the median of the 6 before it
//    (medians over the switches; 1.0: the switch costs nothing): the
//    moment's own pace as the baseline, where the losses' rule measures
//    against the whole span's median, which a loaded machine moves;
//  - video frames per item, per video region: what each item's pipeline
//    handed to the screen's sink, dropped late (its decoder's QoS) and
//    had replaced by a newer frame before the GUI thread took it (the
//    player's debug line as a pipeline goes; video_pipeline.h), medians
//    over the items that showed more than their first frame, against the
//    video's own count (25 fps). The render loop's frames above do not see
//    a video region skipping frames while the ticker keeps the loop busy.
// Under Xvfb there is no vsync and Mesa's llvmpipe renders on the CPU: the
// CPU figures include rendering that a Pi's GPU does, and the decode is
// software (avdec_h264) as on a Pi 5. Xvfb's own CPU is not counted.
//
//   xvfb-run -a -s "-screen 0 1920x1080x24" build/bench/layout_bench [--seconds N=40] [--keep DIR]
//            [--scenes one|three|both]   (both by default; a scene not run prints zeros)
// Needs ffmpeg.
#include "tests/player/player_harness.h"
#include "process_probe.h"
#include "player/frame_log.h"

#include <QElapsedTimer>
#include <QGuiApplication>
#include <QJsonArray>
#include <QRegularExpression>
#include <QTextStream>
#include <QTest>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <unistd.h>

using namespace stoa;
using namespace stoa::player::testing;

using stoa::endpoints::testing::cpuTicks;

namespace {

constexpr double kVideoS = 3.0;       // the 1080p videos
constexpr double kSideVideoS = 2.2;   // the 720p videos
constexpr int kTickerMs = 12000;
constexpr int kWarmS = 8;
constexpr std::int64_t kWindowUs = 250'000;

QJsonObject region(const QString &id, double x, double y, double w, double h, const QString &playlist)
{
    return QJsonObject{{"id", id}, {"x", x}, {"y", y}, {"w", w}, {"h", h}, {"playlist", playlist}};
}

// A store whose manifest shows the scene `regions` (1 or 3). Returns the
// region of each video (by its digest's hex).
std::map<QString, QString> makeStore(const QString &dir, int regions)
{
    cache::StoreOptions so;
    so.dataDir = dir.toStdString();
    auto store = cache::Store::open(so);
    if (!store)
        qFatal("store: %s", store.error().message.c_str());
    QDir().mkpath(dir + "-media");
    ContentBuilder content(**store, dir + "-media");
    const Media teal = content.video("teal", kVideoS, {1920, 1080}), navy = content.video("navy", kVideoS, {1920, 1080});
    const auto hex = [](const Media &m) { return m.name.section(':', 1); };
    std::map<QString, QString> videos{{hex(teal), "main"}, {hex(navy), "main"}};
    QJsonObject playlists{{"mains", playlist({item(teal), item(navy)})}};
    QJsonArray layout;
    if (regions == 1) {
        layout.append(region("main", 0, 0, 1, 1, "mains"));
    } else {
        const Media olive = content.video("olive", kSideVideoS, {1280, 720});
        const Media maroon = content.video("maroon", kSideVideoS, {1280, 720});
        videos[hex(olive)] = videos[hex(maroon)] = "side";
        playlists["sides"] = playlist({item(olive), item(maroon)});
        playlists["news"] = playlist({QJsonObject{
            {"text", "Stoa layout benchmark | three regions, two of them video | signed content, verified | "},
            {"duration_ms", kTickerMs}, {"color", "#ffffff"}, {"background", "#000000"}, {"scroll", true}}});
        layout.append(region("main", 0, 0, 2.0 / 3, 0.8, "mains"));
        layout.append(region("side", 2.0 / 3, 0, 1.0 / 3, 0.8, "sides"));
        layout.append(region("ticker", 0, 0.8, 1, 0.2, "news"));
    }
    QJsonObject m = content.manifest(1, playlists, QString());
    m["layouts"] = QJsonObject{{"scene", QJsonObject{{"regions", layout}}}};
    m["default_layout"] = "scene";
    content.activate(m);
    return videos;
}

double median(std::vector<double> v)
{
    if (v.empty())
        return 0;
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

struct RegionTally {
    int switches = 0;
    long lost = 0;
    double worstMs = 0;
};

// Per video region: each item's frames to the sink, dropped late, replaced.
struct VideoTally {
    std::vector<double> delivered, droppedLate, replaced;
};

struct Scene {
    double cpuPercent = 0;
    qint64 rssMedianKb = 0, rssPeakKb = 0;
    double steadyMs = 0;
    // The same rule away from switches (> 250 ms from any): the machine's
    // own losses, per second of those spans, beside the switches' own.
    long lostAway = 0;
    double awayS = 0;
    long lostAtSwitches = 0;
    double atSwitchesS = 0;
    std::vector<double> switchToSyncMs; // a switch -> the next scene sync: the GUI thread busy after it
    // Per switch: the frame interval ending with its first frame, and the
    // longest of the 3 after it, over the median of the 6 intervals before
    // it (1.0: the switch costs the picture nothing). Relative to the
    // moment's own pace, so less at the mercy of the machine's load than
    // the losses (whose median is the whole span's).
    std::vector<double> firstAfterSwitch, nextAfterSwitch;
    std::map<QString, RegionTally> regions;
    std::map<QString, VideoTally> videos;
    qint64 shown = 0, skipped = 0;
    QString load; // /proc/loadavg's 1-minute figure at the end of the span
    bool ok = false;
};

// Reads the frame log: frames, and switches with their region (from `fromUs` on).
void analyse(const QString &path, std::int64_t fromUs, Scene &scene)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly | QIODevice::Text))
        return;
    std::vector<std::int64_t> frames, syncs;
    std::vector<std::pair<std::int64_t, QString>> switches;
    QTextStream in(&f);
    while (!in.atEnd()) {
        const QStringList parts = in.readLine().split(' ');
        if (parts.size() < 2 || parts[0].startsWith('#'))
            continue;
        const std::int64_t us = parts[0].toLongLong();
        if (parts[1] == "frame")
            frames.push_back(us);
        else if (parts[1] == "sync")
            syncs.push_back(us);
        else if (parts[1] == "switch" && parts.size() >= 5 && us >= fromUs && parts[2] != "idle")
            switches.emplace_back(us, parts.last()); // the region: last (a text item's key has spaces)
    }
    // Frame intervals after the warm-up, each once: steady (further than
    // 250 ms from any switch) or reaching into some switch's window (for the
    // rate at switches).
    std::vector<double> steady, atSwitches;
    for (std::size_t i = 1; i < frames.size(); ++i) {
        if (frames[i - 1] < fromUs)
            continue;
        const bool near = std::any_of(switches.begin(), switches.end(), [&](const auto &s) {
            return frames[i] >= s.first - kWindowUs && frames[i - 1] <= s.first + kWindowUs;
        });
        (near ? atSwitches : steady).push_back(double(frames[i] - frames[i - 1]) / 1000.0);
    }
    scene.steadyMs = median(steady);
    const auto lost = [&](double iv) {
        return scene.steadyMs > 0 && iv > 1.5 * scene.steadyMs ? long(std::floor(iv / scene.steadyMs)) - 1 : 0L;
    };
    for (double iv : steady) {
        scene.awayS += iv / 1000.0;
        scene.lostAway += lost(iv);
    }
    for (double iv : atSwitches) {
        scene.atSwitchesS += iv / 1000.0;
        scene.lostAtSwitches += lost(iv);
    }
    for (const auto &[at, id] : switches) {
        if (const auto sync = std::upper_bound(syncs.begin(), syncs.end(), at); sync != syncs.end())
            scene.switchToSyncMs.push_back(double(*sync - at) / 1000.0);
        const std::size_t first = std::size_t(std::upper_bound(frames.begin(), frames.end(), at) - frames.begin());
        if (first >= 7 && first + 3 < frames.size()) {
            std::vector<double> before;
            for (std::size_t i = first - 6; i < first; ++i)
                before.push_back(double(frames[i] - frames[i - 1]));
            const double pace = median(before);
            double next = 0;
            for (std::size_t i = first + 1; i <= first + 3; ++i)
                next = std::max(next, double(frames[i] - frames[i - 1]));
            if (pace > 0) {
                scene.firstAfterSwitch.push_back(double(frames[first] - frames[first - 1]) / pace);
                scene.nextAfterSwitch.push_back(next / pace);
            }
        }
        RegionTally &t = scene.regions[id];
        ++t.switches;
        for (std::size_t i = 1; i < frames.size(); ++i) {
            if (frames[i] < at - kWindowUs || frames[i - 1] > at + kWindowUs)
                continue;
            const double iv = double(frames[i] - frames[i - 1]) / 1000.0;
            t.worstMs = std::max(t.worstMs, iv);
            if (scene.steadyMs > 0 && iv > 1.5 * scene.steadyMs)
                t.lost += long(std::floor(iv / scene.steadyMs)) - 1;
        }
    }
}

// The pipelines' last words (video_pipeline.cpp's destructor): "video
// pipeline for <url ending in the digest's hex> done: N frames to the sink,
// D dropped late, R replaced". Items that showed no more than their first
// frame (preloads dropped at exit) are left out.
void countVideoFrames(const QByteArray &log, const std::map<QString, QString> &videos, Scene &scene)
{
    static const QRegularExpression line(QStringLiteral(
        R"(video pipeline for \S*/([0-9a-f]{64}) done: (\d+) frames to the sink, (\d+) dropped late, (\d+) replaced)"));
    for (auto it = line.globalMatch(QString::fromUtf8(log)); it.hasNext();) {
        const auto m = it.next();
        const auto region = videos.find(m.captured(1));
        if (region == videos.end() || m.captured(2).toInt() <= 1)
            continue;
        VideoTally &t = scene.videos[region->second];
        t.delivered.push_back(m.captured(2).toDouble());
        t.droppedLate.push_back(m.captured(3).toDouble());
        t.replaced.push_back(m.captured(4).toDouble());
    }
}

Scene runScene(const QString &dataDir, const QString &logPath, int seconds, QByteArray &log)
{
    Scene scene;
    QProcess p;
    p.setProcessChannelMode(QProcess::MergedChannels);
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert("QT_QPA_PLATFORM", "xcb");
    env.insert("QT_LOGGING_RULES", "stoa.player.debug=true"); // "showing ..." per switch
    p.setProcessEnvironment(env);
    const int totalMs = (kWarmS + seconds + 2) * 1000;
    p.start(QStringLiteral(STOA_PLAYER_BIN), {"--data-dir", dataDir, "--device-id", "bench", "--config", "/dev/null",
                                             "--no-auto-diagnostics", "--exit-after", QString::number(totalMs),
                                             "--frame-log", logPath});
    if (!p.waitForStarted(10000))
        return scene;
    const qint64 pid = p.processId();
    QTest::qWait(kWarmS * 1000);
    const std::int64_t fromUs = stoa::player::FrameLog::nowUs();
    const qint64 t0 = cpuTicks(pid);
    QElapsedTimer wall;
    wall.start();
    std::vector<double> rss;
    for (int s = 1; s <= seconds && p.state() == QProcess::Running; ++s) {
        QTest::qWait(int(s * 1000 - wall.elapsed()));
        log += p.readAll();
        rss.push_back(double(rssKb(QString::number(pid))));
    }
    const qint64 t1 = cpuTicks(pid);
    QFile loadavg(QStringLiteral("/proc/loadavg"));
    if (loadavg.open(QIODevice::ReadOnly))
        scene.load = QString::fromLatin1(loadavg.readAll().split(' ').value(0));
    scene.cpuPercent = double(t1 - t0) / double(sysconf(_SC_CLK_TCK)) / (double(wall.elapsed()) / 1000.0) * 100.0;
    scene.rssMedianKb = qint64(median(rss));
    scene.rssPeakKb = rss.empty() ? 0 : qint64(*std::max_element(rss.begin(), rss.end()));
    p.waitForFinished(totalMs + 20000);
    log += p.readAll();
    scene.ok = p.exitStatus() == QProcess::NormalExit && p.exitCode() == 0 && t0 >= 0 && t1 >= 0;
    scene.shown = log.count("showing sha256:");
    scene.skipped = log.count("skipping");
    analyse(logPath, fromUs, scene);
    return scene;
}

} // namespace

int main(int argc, char **argv)
{
    QGuiApplication app(argc, argv);
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    if (qEnvironmentVariableIsEmpty("DISPLAY")) {
        std::fprintf(stderr, "layout_bench needs a display: xvfb-run -a -s \"-screen 0 1920x1080x24\" %s\n", argv[0]);
        return 2;
    }
    int seconds = 40;
    QString keep;
    bool run[2] = {true, true}; // --scenes: 1 region, 3 regions
    const QStringList args = app.arguments();
    bool usage = args.size() % 2 == 0;
    for (qsizetype i = 1; !usage && i + 1 < args.size(); i += 2) {
        if (args[i] == "--seconds")
            seconds = std::max(10, args[i + 1].toInt());
        else if (args[i] == "--keep")
            keep = args[i + 1];
        else if (args[i] == "--scenes" && (args[i + 1] == "one" || args[i + 1] == "three" || args[i + 1] == "both")) {
            run[0] = args[i + 1] != "three";
            run[1] = args[i + 1] != "one";
        } else
            usage = true;
    }
    if (usage) {
        std::fprintf(stderr, "usage: layout_bench [--seconds N] [--keep DIR] [--scenes one|three|both]\n");
        return 2;
    }
    QTemporaryDir tmp;
    const QString work = keep.isEmpty() ? tmp.path() : keep;
    QDir().mkpath(work);
    std::printf("layout_bench: stoa-player on %s (xcb), %d s measured after %d s warm-up per scene; "
                "1080p videos %.1f s, 720p videos %.1f s, H.264 25 fps, ticker pass %d ms\n",
                qgetenv("DISPLAY").constData(), seconds, kWarmS, kVideoS, kSideVideoS, kTickerMs);

    Scene scenes[2];
    const char *names[2] = {"1 region", "3 regions"};
    for (int i = 0; i < 2; ++i) {
        if (!run[i])
            continue;
        const QString dir = QDir(work).filePath(i == 0 ? "one" : "three");
        const auto videos = makeStore(dir, i == 0 ? 1 : 3);
        QByteArray log;
        scenes[i] = runScene(dir, QDir(work).filePath(i == 0 ? "frames-one.log" : "frames-three.log"), seconds, log);
        countVideoFrames(log, videos, scenes[i]);
        QFile saved(QDir(work).filePath(i == 0 ? "player-one.txt" : "player-three.txt"));
        if (saved.open(QIODevice::WriteOnly))
            saved.write(log);
        if (!scenes[i].ok) {
            std::fprintf(stderr, "the %s player run failed; it said:\n%s\n", names[i], log.right(4000).constData());
            return 4;
        }
    }

    std::printf("\n  %-34s %14s %14s\n", "", names[0], names[1]);
    std::printf("  %-34s %14.1f %14.1f\n", "CPU, % of one core", scenes[0].cpuPercent, scenes[1].cpuPercent);
    std::printf("  %-34s %14lld %14lld\n", "RSS median, kB", static_cast<long long>(scenes[0].rssMedianKb),
                static_cast<long long>(scenes[1].rssMedianKb));
    std::printf("  %-34s %14lld %14lld\n", "RSS peak, kB", static_cast<long long>(scenes[0].rssPeakKb),
                static_cast<long long>(scenes[1].rssPeakKb));
    std::printf("  %-34s %14.1f %14.1f\n", "steady frame interval, ms (median)", scenes[0].steadyMs,
                scenes[1].steadyMs);
    const auto rate = [](long lost, double s) { return s > 0 ? double(lost) / s : 0.0; };
    std::printf("  %-34s %14.2f %14.2f\n", "frames lost /s near switches", rate(scenes[0].lostAtSwitches, scenes[0].atSwitchesS),
                rate(scenes[1].lostAtSwitches, scenes[1].atSwitchesS));
    std::printf("  %-34s %14.2f %14.2f\n", "frames lost /s away (baseline)", rate(scenes[0].lostAway, scenes[0].awayS),
                rate(scenes[1].lostAway, scenes[1].awayS));
    const auto syncs = [](const Scene &sc) {
        return sc.switchToSyncMs.empty()
                   ? QStringLiteral("-")
                   : QStringLiteral("%1 / %2").arg(median(sc.switchToSyncMs), 0, 'f', 0)
                         .arg(*std::max_element(sc.switchToSyncMs.begin(), sc.switchToSyncMs.end()), 0, 'f', 0);
    };
    std::printf("  %-34s %14s %14s\n", "switch -> next sync ms, med / max", qPrintable(syncs(scenes[0])),
                qPrintable(syncs(scenes[1])));
    const auto ratios = [](const Scene &sc) {
        return sc.firstAfterSwitch.empty() ? QStringLiteral("-")
                                           : QStringLiteral("%1 / %2").arg(median(sc.firstAfterSwitch), 0, 'f', 2)
                                                 .arg(median(sc.nextAfterSwitch), 0, 'f', 2);
    };
    std::printf("  %-34s %14s %14s\n", "after a switch / 6 before, 1st / 3", qPrintable(ratios(scenes[0])),
                qPrintable(ratios(scenes[1])));
    std::printf("  %-34s %14s %14s\n", "machine load (1 min) at the end", qPrintable(scenes[0].load),
                qPrintable(scenes[1].load));
    std::printf("  %-34s %14s %14s\n", "items shown / skipped (whole run)",
                qPrintable(QStringLiteral("%1 / %2").arg(scenes[0].shown).arg(scenes[0].skipped)),
                qPrintable(QStringLiteral("%1 / %2").arg(scenes[1].shown).arg(scenes[1].skipped)));
    std::printf("\n  frames lost at switches, per region (target 0):\n");
    for (int i = 0; i < 2; ++i)
        for (const auto &[id, t] : scenes[i].regions)
            std::printf("  %-10s %-8s %3d switches, %3ld frames lost, longest interval at a switch %.1f ms\n",
                        names[i], qPrintable(id), t.switches, t.lost, t.worstMs);
    std::printf("\n  video frames per item (medians; to the sink of the video's / dropped late / replaced):\n");
    for (int i = 0; i < 2; ++i)
        for (const auto &[id, t] : scenes[i].videos)
            std::printf("  %-10s %-8s %3zu items, %5.1f of %3.0f / %4.1f / %4.1f\n", names[i], qPrintable(id),
                        t.delivered.size(), median(t.delivered), std::round((id == "main" ? kVideoS : kSideVideoS) * 25),
                        median(t.droppedLate), median(t.replaced));
    if (!keep.isEmpty())
        std::printf("\nstores, frame logs and player logs kept in %s\n", qPrintable(work));
    return 0;
}
