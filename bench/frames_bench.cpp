// bench/frames_bench.cpp — frames lost at transitions (issue 5, target 0),
// measured on the real stoa-player with --frame-log under a private Xvfb.
//
// Content (generated): solid-colour PNG and JPEG images (1.5 s each) and
// solid-colour H.264 videos (2 s, 25 fps, played to their end). Two
// scenarios, each a fresh store and a fresh player process:
//   mixed: image, video, image, image, video, video, wrapping: each cycle
//          has image->video twice, video->image twice, image->image and
//          video->video once;
//   loop:  one video alone, so each end is video->same video (the loop of a
//          single-item playlist, through the two slots).
// Videos play through the player's own GStreamer pipelines (video_pipeline.h;
// Qt's MediaPlayer, the `qt` engine measured beside it before, was removed:
// docs/benchmarks.md keeps its figures). The baseline printed beside the
// losses is the same run's steady frame interval while a video plays.
//
// What is computed from the frame log (player/frame_log.h), per switch S:
//  - latency: S (the switch decided, Playback::switched) -> the first frame
//    presented after the first scene sync that follows S — the first frame
//    that can show the new item;
//  - intervals between presented frames within +-250 ms of S, counted only
//    where the scene asked for frames at a steady rate, i.e. while a video
//    plays: before S when the outgoing item is a video, the interval across
//    S when the outgoing item is a video (its last frame -> the new item's
//    first), after the new item's first frame when the incoming item is a
//    video. Qt Quick renders only on change: a still image asks for no
//    frames, so a long interval across an image is not a loss (its switch
//    counts by its latency only);
//  - steady median: the median interval while videos play, more than
//    250 ms from any switch (the video's frame period, ~40 ms);
//  - lost frames: for each counted interval > 1.5 x the steady median,
//    floor(interval / median) - 1;
//  - switch -> next scene sync, by the kind of item preloaded at the switch:
//    how long the GUI thread stayed busy after deciding it (the threaded
//    render loop cannot sync the new frame meanwhile).
// Failed or skipped items are listed (they are not frame losses). With
// --keep DIR the stores, frame logs and the player's own logs stay there.
// Under Xvfb there is no vsync: a "frame" is a render-loop pass, so this
// shows stalls of the render loop or of the video pipeline at the switch (a
// synchronous decode, a sink reconfigured, a pipeline resuming from pause),
// not tearing and not the Pi's real scan-out. See docs/benchmarks.md.
//
//   build-fr/bench/frames_bench [--transitions N=40] [--loops N=12]
//       [--size 1280x720] [--keep DIR]
// Needs xvfb-run and ffmpeg; does not need a display of its own.
#include "tests/player/player_harness.h"

#include <QCoreApplication>
#include <QGuiApplication>
#include <QTextStream>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <optional>

using namespace stoa;
using namespace stoa::player::testing;

namespace {

constexpr std::int64_t kWindowUs = 250'000;
constexpr int kImageMs = 1500;
constexpr double kVideoS = 2.0;

struct Event {
    std::int64_t us = 0;
    enum Kind { Sync, Frame, Switch } kind = Frame;
    QString itemKind; // switch: image/video/idle
    QString key;
};

std::optional<std::vector<Event>> readLog(const QString &path)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly | QIODevice::Text))
        return std::nullopt;
    std::vector<Event> events;
    QTextStream in(&f);
    while (!in.atEnd()) {
        const QString line = in.readLine();
        if (line.startsWith('#') || line.isEmpty())
            continue;
        const QStringList parts = line.split(' ');
        Event e;
        e.us = parts.value(0).toLongLong();
        const QString what = parts.value(1);
        if (what == "sync")
            e.kind = Event::Sync;
        else if (what == "frame")
            e.kind = Event::Frame;
        else if (what == "switch") {
            e.kind = Event::Switch;
            e.itemKind = parts.value(2);
            e.key = parts.value(3);
        } else
            continue;
        events.push_back(e);
    }
    return events;
}

struct Transition {
    QString type;                 // "image->video", ..., "loop"
    double latencyMs = -1;        // switch -> first frame that can show it (-1: none)
    std::vector<double> counted;  // intervals (ms) where a video drove the frames
};

struct RunResult {
    std::vector<Transition> transitions;
    std::vector<double> steady;   // intervals (ms) during video, away from switches
    // Switch -> the next scene sync (ms): how long the GUI thread stayed busy
    // after deciding the switch, keyed by the kind of the item Playback
    // preloads right then (the one after the incoming item).
    std::map<QString, std::vector<double>> syncDelayByPreload;
    int idleSwitches = 0;
};

double median(std::vector<double> v)
{
    if (v.empty())
        return 0;
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

RunResult analyse(const std::vector<Event> &events)
{
    std::vector<std::int64_t> frames, syncs;
    std::vector<const Event *> switches;
    for (const Event &e : events) {
        if (e.kind == Event::Frame)
            frames.push_back(e.us);
        else if (e.kind == Event::Sync)
            syncs.push_back(e.us);
        else
            switches.push_back(&e);
    }
    RunResult r;
    // The first frame that can show a switch at `s`: the first swap after the first sync after s.
    const auto firstFrameAfter = [&](std::int64_t s) -> std::optional<std::int64_t> {
        const auto sync = std::upper_bound(syncs.begin(), syncs.end(), s);
        if (sync == syncs.end())
            return std::nullopt;
        const auto frame = std::upper_bound(frames.begin(), frames.end(), *sync);
        return frame == frames.end() ? std::nullopt : std::optional(*frame);
    };
    // Steady state: consecutive frames both inside a video item's time on
    // screen (from its first frame to the next switch) and > 250 ms from any switch.
    for (std::size_t i = 0; i < switches.size(); ++i) {
        if (switches[i]->itemKind != "video")
            continue;
        const auto start = firstFrameAfter(switches[i]->us);
        const std::int64_t end = i + 1 < switches.size() ? switches[i + 1]->us : events.back().us;
        if (!start)
            continue;
        for (std::size_t f = 1; f < frames.size(); ++f)
            if (frames[f - 1] >= *start + kWindowUs && frames[f] <= end - kWindowUs)
                r.steady.push_back(double(frames[f] - frames[f - 1]) / 1000.0);
    }
    for (std::size_t i = 1; i < switches.size(); ++i) { // the first switch is idle -> content
        const Event &in = *switches[i];
        const Event &out = *switches[i - 1];
        if (in.itemKind == "idle" || out.itemKind == "idle") {
            ++r.idleSwitches;
            continue;
        }
        Transition t;
        t.type = out.key == in.key && in.itemKind == "video" ? QStringLiteral("loop")
                                                              : out.itemKind + "->" + in.itemKind;
        const std::int64_t s = in.us;
        const auto first = firstFrameAfter(s);
        if (const auto sync = std::upper_bound(syncs.begin(), syncs.end(), s); sync != syncs.end() &&
                                                                                i + 1 < switches.size())
            r.syncDelayByPreload[switches[i + 1]->itemKind].push_back(double(*sync - s) / 1000.0);
        if (first)
            t.latencyMs = double(*first - s) / 1000.0;
        const bool outVideo = out.itemKind == "video", inVideo = in.itemKind == "video";
        for (std::size_t f = 1; f < frames.size(); ++f) {
            const std::int64_t a = frames[f - 1], b = frames[f];
            if (b < s - kWindowUs || a > s + kWindowUs)
                continue;
            const bool before = b <= s || (first && b < *first); // old content on both ends
            const bool across = first && b == *first;
            const bool after = first && a >= *first;
            if ((before && outVideo) || (across && outVideo) || (after && inVideo))
                t.counted.push_back(double(b - a) / 1000.0);
        }
        r.transitions.push_back(std::move(t));
    }
    return r;
}

struct Tally {
    int transitions = 0;
    long lost = 0;
    double worstGapMs = 0;
    std::vector<double> latencies;
    int noFrame = 0;
};

int lostIn(double intervalMs, double medianMs)
{
    return medianMs > 0 && intervalMs > 1.5 * medianMs ? int(std::floor(intervalMs / medianMs)) - 1 : 0;
}

// Runs the player on `dataDir` for `ms` under a private Xvfb; the frame log goes to `logPath`.
bool runPlayer(const QString &dataDir, int ms, const QString &logPath, QSize screen, QByteArray &stderrOut)
{
    QProcess p;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert("QT_QPA_PLATFORM", "xcb");
    env.insert("QSG_INFO", "1"); // the render loop in use, in the player's log
    p.setProcessEnvironment(env);
    p.setProcessChannelMode(QProcess::MergedChannels);
    p.start("xvfb-run", {"-a", "-s", QStringLiteral("-screen 0 %1x%2x24").arg(screen.width()).arg(screen.height()),
                         QStringLiteral(STOA_PLAYER_BIN), "--data-dir", dataDir, "--device-id", "bench", "--config",
                         "/dev/null", "--no-auto-diagnostics", "--exit-after", QString::number(ms), "--frame-log",
                         logPath});
    const bool finished = p.waitForFinished(ms + 60000);
    stderrOut = p.readAll();
    if (!finished) {
        p.kill();
        p.waitForFinished(5000);
    }
    return finished && p.exitStatus() == QProcess::NormalExit && p.exitCode() == 0;
}

QString makeStore(const QString &dir, const QString &scenario, QSize size)
{
    cache::StoreOptions so;
    so.dataDir = dir.toStdString();
    auto store = cache::Store::open(so);
    if (!store)
        qFatal("store: %s", store.error().message.c_str());
    QDir().mkpath(dir + "-media");
    ContentBuilder content(**store, dir + "-media");
    if (scenario == "loop") {
        const Media v = content.video("teal", kVideoS, size);
        content.activate(content.manifest(1, {{"main", playlist({item(v)})}}, "main"));
        return dir;
    }
    // Distinct colours; one JPEG among the PNGs (the other decoder).
    QImage jpeg(size, QImage::Format_RGB32);
    jpeg.fill(QColor("orange"));
    const QString jpegPath = dir + "-media/orange.jpg";
    if (!jpeg.save(jpegPath, "JPEG", 90))
        qFatal("cannot write %s", qPrintable(jpegPath));
    const Media red = content.solid(Qt::red, size);
    const Media orange = content.bytes(readAll(jpegPath), "image/jpeg");
    const Media blue = content.solid(Qt::blue, size);
    const Media green = content.video("green", kVideoS, size);
    const Media magenta = content.video("magenta", kVideoS, size);
    const Media yellow = content.video("yellow", kVideoS, size);
    // red->green (i->v), green->orange (v->i), orange->blue (i->i),
    // blue->magenta (i->v), magenta->yellow (v->v), yellow->red (v->i).
    content.activate(content.manifest(1,
                                      {{"main", playlist({item(red, kImageMs), item(green), item(orange, kImageMs),
                                                          item(blue, kImageMs), item(magenta), item(yellow)})}},
                                      "main"));
    return dir;
}

} // namespace

int main(int argc, char **argv)
{
    qputenv("QT_QPA_PLATFORM", "offscreen"); // the bench itself only makes images
    QGuiApplication app(argc, argv);
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    int transitions = 40, loops = 12;
    QSize size(1280, 720);
    QString keep;
    const QStringList args = app.arguments();
    for (qsizetype i = 1; i + 1 < args.size(); i += 2) {
        if (args[i] == "--transitions")
            transitions = std::max(6, args[i + 1].toInt());
        else if (args[i] == "--loops")
            loops = std::max(0, args[i + 1].toInt());
        else if (args[i] == "--size") {
            const QStringList wh = args[i + 1].split('x');
            size = QSize(wh.value(0).toInt(), wh.value(1).toInt());
        } else if (args[i] == "--keep")
            keep = args[i + 1];
        else {
            std::fprintf(stderr, "usage: frames_bench [--transitions N] [--loops N] [--size WxH] "
                                 "[--keep DIR]\n");
            return 2;
        }
    }

    QTemporaryDir tmp;
    const QString work = keep.isEmpty() ? tmp.path() : keep;
    QDir().mkpath(work);
    std::printf("frames_bench: stoa-player under a private Xvfb %dx%dx24 (xcb, Mesa llvmpipe, no vsync); "
                "media %dx%d, images %.1f s (PNG, JPEG), videos %.0f s H.264 25 fps played to their end\n",
                size.width(), size.height(), size.width(), size.height(), kImageMs / 1000.0, kVideoS);
    std::printf("A 'frame' is a render-loop pass (no vsync here). Lost frames count stalls while a video drives "
                "the frames; still images ask for no frames, so their switches count by latency only.\n");
    const QString mixedDir = makeStore(QDir(work).filePath("mixed"), "mixed", size);
    const QString loopDir = makeStore(QDir(work).filePath("loop"), "loop", size);

    // mixed: 6 items per 10.5 s cycle; loop: one per 2 s. Plus ~2 s start-up.
    const int mixedMs = int(std::ceil(transitions / 6.0) * 10500) + 2500;
    const int loopMs = loops * int(kVideoS * 1000 + 100) + 2500;
    const std::vector<QString> order{"image->image", "image->video", "video->image", "video->video", "loop"};

    {
        std::map<QString, Tally> tallies;
        std::map<QString, std::vector<double>> syncDelay;
        std::vector<double> steady;
        int idle = 0;
        QString renderLoop;
        for (const auto &[scenario, dir, ms] : {std::tuple{QStringLiteral("mixed"), mixedDir, mixedMs},
                                                std::tuple{QStringLiteral("loop"), loopDir, loopMs}}) {
            if (scenario == "loop" && loops == 0)
                continue;
            const QString logPath = QDir(work).filePath(QStringLiteral("frames-%1.log").arg(scenario));
            QByteArray out;
            if (!runPlayer(dir, ms, logPath, size, out)) {
                std::fprintf(stderr, "player run failed (%s); it said:\n%s\n", qPrintable(scenario),
                             out.right(4000).constData());
                return 4;
            }
            QFile saved(QDir(work).filePath(QStringLiteral("player-%1.txt").arg(scenario)));
            if (saved.open(QIODevice::WriteOnly))
                saved.write(out); // the player's own log, beside its frame log
            if (const qsizetype at = out.indexOf("render loop"); at >= 0 && renderLoop.isEmpty())
                renderLoop = QString::fromUtf8(out.mid(out.lastIndexOf('\n', at) + 1, 200).split('\n').first());
            const auto events = readLog(logPath);
            if (!events || events->empty()) {
                std::fprintf(stderr, "no frame log at %s\n", qPrintable(logPath));
                return 4;
            }
            const RunResult r = analyse(*events);
            idle += r.idleSwitches;
            for (const auto &[kind, delays] : r.syncDelayByPreload)
                syncDelay[kind].insert(syncDelay[kind].end(), delays.begin(), delays.end());
            steady.insert(steady.end(), r.steady.begin(), r.steady.end());
            const double med = median(r.steady);
            for (const Transition &t : r.transitions) {
                Tally &tally = tallies[t.type];
                ++tally.transitions;
                if (t.latencyMs < 0)
                    ++tally.noFrame;
                else
                    tally.latencies.push_back(t.latencyMs);
                for (double iv : t.counted) {
                    tally.lost += lostIn(iv, med);
                    tally.worstGapMs = std::max(tally.worstGapMs, iv);
                }
            }
            // Failures are not frame losses but must not pass unseen: they end in the idle screen.
            const auto skipped = out.count("skipping");
            const auto failedOnScreen = out.count("failed on screen");
            if (skipped || failedOnScreen || r.idleSwitches) {
                std::printf("  (%s: %lld item(s) skipped, %lld failed on screen, %d switch(es) to or from the "
                            "idle screen)\n", qPrintable(scenario),
                            static_cast<long long>(skipped), static_cast<long long>(failedOnScreen), r.idleSwitches);
                for (const QByteArray &line : out.split('\n'))
                    if (line.contains("skipping") || line.contains("failed on screen"))
                        std::printf("    %s\n", line.constData());
            }
        }
        const double med = median(steady);
        std::printf("\nbaseline: steady median frame interval while video plays %.1f ms (%zu intervals)%s\n",
                    med, steady.size(),
                    renderLoop.isEmpty() ? "" : qPrintable(QStringLiteral("; ") + renderLoop.trimmed()));
        std::printf("  %-13s %5s %6s %14s %24s\n", "transition", "count", "lost", "worst gap ms",
                    "switch->frame ms med/max");
        for (const QString &type : order) {
            const auto it = tallies.find(type);
            if (it == tallies.end())
                continue;
            const Tally &t = it->second;
            const double latMax = t.latencies.empty() ? 0 : *std::max_element(t.latencies.begin(), t.latencies.end());
            std::printf("  %-13s %5d %6ld %14s %15.1f / %5.1f%s\n", qPrintable(type), t.transitions, t.lost,
                        t.worstGapMs > 0 ? qPrintable(QString::number(t.worstGapMs, 'f', 1)) : "(no video)",
                        median(t.latencies), latMax,
                        t.noFrame ? qPrintable(QStringLiteral("  (%1 without a frame)").arg(t.noFrame)) : "");
        }
        if (idle)
            std::printf("  %d switch(es) to/from the idle screen (an item failed)\n", idle);
        // Why a switch frame comes late: the GUI thread is busy right after
        // the switch (the render loop cannot sync), mostly preloading the next item.
        for (const auto &[kind, delays] : syncDelay) {
            if (kind == "idle" || delays.empty())
                continue;
            std::printf("  switch -> next scene sync when the item preloaded at the switch is %s %s: "
                        "median %.1f ms, max %.1f ms (%zu switches)\n",
                        kind == "image" ? "an" : "a", qPrintable(kind), median(delays),
                        *std::max_element(delays.begin(), delays.end()), delays.size());
        }
    }
    if (!keep.isEmpty())
        std::printf("\nframe logs kept in %s\n", qPrintable(work));
    return 0;
}
