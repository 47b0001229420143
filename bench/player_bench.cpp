// bench/player_bench.cpp — stoa-player figures, measured on the real binary.
//
//  1. start-up: process start -> first content frame, warm store (the
//     player logs "first content frame N ms after process start"; the
//     figure is also taken from outside, QProcess start -> that line);
//  2. CPU while a still image is shown: utime+stime of the player over 5 s
//     (no busy render loop: target under 2 % of one core);
//  3. RSS while 1080p video plays (one video looping; an image + video
//     playlist), sampled every second for --rss-seconds (default 60): peak,
//     steady and the drift after a 10 s warm-up.
// Needs a display: run under Xvfb, e.g.
//   xvfb-run -a -s "-screen 0 1920x1080x24" build-h/bench/player_bench [--only startup|cpu|rss] [--rss-seconds N]
#include "tests/player/player_harness.h"
#include "process_probe.h"

#include <QElapsedTimer>
#include <QGuiApplication>
#include <QRegularExpression>
#include <QTest>

#include <algorithm>
#include <cstdio>
#include <unistd.h>

using namespace stoa;
using namespace stoa::player::testing;

using stoa::endpoints::testing::cpuTicks;

namespace {

struct Run {
    std::unique_ptr<QProcess> process;
    QByteArray log;
};

std::unique_ptr<QProcess> launch(const QString &dataDir, int exitAfterMs)
{
    auto p = std::make_unique<QProcess>();
    p->setProcessChannelMode(QProcess::SeparateChannels);
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert("QT_QPA_PLATFORM", "xcb");
    env.insert("QT_LOGGING_RULES", "stoa.player.debug=true"); // "showing ..." per transition
    p->setProcessEnvironment(env);
    p->start(QStringLiteral(STOA_PLAYER_BIN), {"--data-dir", dataDir, "--device-id", "bench",
                                              "--config", "/dev/null", "--no-auto-diagnostics",
                                              "--exit-after", QString::number(exitAfterMs)});
    return p;
}

// Waits for the first-frame log line; returns (player's own figure, outside figure) in ms.
std::pair<qint64, qint64> waitFirstFrame(QProcess &p, const QElapsedTimer &since, QByteArray &log)
{
    static const QRegularExpression re("first content frame (\\d+) ms");
    while (p.state() != QProcess::NotRunning || p.bytesAvailable()) {
        p.waitForReadyRead(50);
        log += p.readAllStandardError();
        if (const auto m = re.match(QString::fromUtf8(log)); m.hasMatch())
            return {m.captured(1).toLongLong(), since.elapsed()};
        if (since.elapsed() > 20000)
            break;
    }
    return {-1, -1};
}

} // namespace

int main(int argc, char **argv)
{
    QGuiApplication app(argc, argv);
    std::setvbuf(stdout, nullptr, _IOLBF, 0); // figures appear as they are measured
    if (qEnvironmentVariableIsEmpty("DISPLAY")) {
        std::fprintf(stderr, "player_bench needs a display: xvfb-run -a -s \"-screen 0 1920x1080x24\" %s\n", argv[0]);
        return 2;
    }
    // [--only startup|cpu|rss] [--rss-seconds N]
    QString only;
    int rssSeconds = 60;
    const QStringList args = app.arguments();
    for (qsizetype i = 1; i + 1 < args.size(); ++i) {
        if (args[i] == "--only")
            only = args[i + 1];
        else if (args[i] == "--rss-seconds")
            rssSeconds = std::max(10, args[i + 1].toInt());
    }
    const auto wanted = [&](const char *part) { return only.isEmpty() || only == QLatin1String(part); };

    QTemporaryDir work;
    const QString still = QDir(work.path()).filePath("still");
    const QString mixed = QDir(work.path()).filePath("mixed");
    const QString looping = QDir(work.path()).filePath("video");
    for (const QString &dir : {still, mixed, looping}) {
        cache::StoreOptions so;
        so.dataDir = dir.toStdString();
        auto store = cache::Store::open(so);
        if (!store)
            return 3;
        QDir().mkpath(dir + "-media");
        ContentBuilder content(**store, dir + "-media");
        if (dir == looping) {
            const Media video = content.video("teal", 4, {1920, 1080});
            content.activate(content.manifest(1, {{"main", playlist({item(video)})}}, "main"));
            continue;
        }
        QImage photo(1920, 1080, QImage::Format_RGB32);
        for (int y = 0; y < 1080; ++y)
            for (int x = 0; x < 1920; ++x)
                photo.setPixel(x, y, qRgb(x % 256, y % 256, (x + y) % 256));
        const Media image = content.image(photo);
        if (dir == still) {
            content.activate(content.manifest(1, {{"main", playlist({item(image, 600000)})}}, "main"));
        } else {
            const Media video = content.video("teal", 4, {1920, 1080});
            content.activate(content.manifest(1, {{"main", playlist({item(image, 3000), item(video)})}}, "main"));
        }
    }

    // 1. Start-up to first content frame (warm store, warm page cache after the first run).
    if (wanted("startup")) {
        std::vector<qint64> own, outside;
        for (int i = 0; i < 6; ++i) {
            QElapsedTimer since;
            since.start();
            auto p = launch(still, 1500);
            QByteArray log;
            const auto [mine, theirs] = waitFirstFrame(*p, since, log);
            p->waitForFinished(10000);
            if (mine < 0) {
                std::fprintf(stderr, "no first frame; player said:\n%s\n", log.constData());
                return 4;
            }
            if (i > 0) { // the first run warms the page cache
                own.push_back(mine);
                outside.push_back(theirs);
            }
        }
        std::sort(own.begin(), own.end());
        std::sort(outside.begin(), outside.end());
        std::printf("start-up to first content frame (warm store, %zu runs): median %lld ms (player's log), "
                    "%lld ms (QProcess start to log line); min %lld, max %lld ms\n",
                    own.size(), static_cast<long long>(own[own.size() / 2]),
                    static_cast<long long>(outside[outside.size() / 2]), static_cast<long long>(own.front()),
                    static_cast<long long>(own.back()));
    }

    // 2. CPU while one still image is on screen.
    if (wanted("cpu")) {
        QElapsedTimer since;
        since.start();
        auto p = launch(still, 12000);
        QByteArray log;
        waitFirstFrame(*p, since, log);
        QTest::qWait(2000);
        const qint64 pid = p->processId();
        const qint64 t0 = cpuTicks(pid);
        QElapsedTimer wall;
        wall.start();
        QTest::qWait(5000);
        const qint64 t1 = cpuTicks(pid);
        const double seconds = double(wall.elapsed()) / 1000.0;
        const double cpu = double(t1 - t0) / double(sysconf(_SC_CLK_TCK)) / seconds * 100.0;
        std::printf("CPU while showing a still image: %.2f %% of one core over %.1f s (%lld ticks)\n", cpu, seconds,
                    static_cast<long long>(t1 - t0));
        std::printf("RSS with one 1080p still image: %lld kB\n", static_cast<long long>(rssKb(QString::number(pid))));
        p->waitForFinished(15000);
    }

    // 3. RSS while 1080p video plays: a one-video playlist looping (video ->
    //    video through the two slots) and an image + video playlist. Sampled
    //    every second; "steady" is the last sample, "drift" the change from
    //    the 10 s sample (warm-up over) to the last.
    if (wanted("rss")) {
        const std::pair<const char *, QString> runs[] = {
            {"1080p video (4 s) looping", looping},
            {"1080p image (3 s) + 1080p video (4 s)", mixed},
        };
        for (const auto &[label, dir] : runs) {
            QElapsedTimer since;
            since.start();
            auto p = launch(dir, (rssSeconds + 3) * 1000);
            QByteArray log;
            waitFirstFrame(*p, since, log);
            const qint64 pid = p->processId();
            qint64 peak = 0, last = 0, atWarm = -1;
            QElapsedTimer t;
            t.start();
            std::printf("RSS, %s, kB per second:", label);
            for (int second = 1; second <= rssSeconds && p->state() == QProcess::Running; ++second) {
                QTest::qWait(int(second * 1000 - t.elapsed()));
                log += p->readAllStandardError();
                last = rssKb(QString::number(pid));
                peak = std::max(peak, last);
                if (second == 10)
                    atWarm = last;
                std::printf(" %lld", static_cast<long long>(last));
            }
            std::printf("\nRSS, %s, over %d s: peak %lld kB, steady (at %d s) %lld kB, drift from 10 s to %d s: "
                        "%+lld kB\n", label, rssSeconds, static_cast<long long>(peak), rssSeconds,
                        static_cast<long long>(last), rssSeconds, static_cast<long long>(last - atWarm));
            p->waitForFinished(15000);
            log += p->readAllStandardError();
            std::printf("  (%lld items shown, %lld skipped)\n", static_cast<long long>(log.count("showing sha256:")),
                        static_cast<long long>(log.count("skipping")));
            if (log.count("showing sha256:") < 3)
                std::fprintf(stderr, "few items shown; player said:\n%s\n", log.constData());
        }
    }
    return 0;
}
