// bench/player_bench.cpp — stoa-player figures, measured on the real binary.
//
//  1. start-up: process start -> first content frame, warm store (the
//     player logs "first content frame N ms after process start"; the
//     figure is also taken from outside, QProcess start -> that line);
//  2. CPU while a still image is shown: utime+stime of the player over 5 s
//     (no busy render loop: target under 2 % of one core);
//  3. RSS on a 1080p image + 1080p video playlist over 20 s: peak and steady.
// Needs a display: run under Xvfb, e.g.
//   xvfb-run -a -s "-screen 0 1920x1080x24" build-g/bench/player_bench
#include "tests/player/fixtures.h"

#include <QCoreApplication>
#include <QElapsedTimer>
#include <QGuiApplication>
#include <QRegularExpression>
#include <QThread>

#include <algorithm>
#include <cstdio>
#include <unistd.h>

using namespace stoa;
using namespace stoa::player::testing;

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
    p->setProcessEnvironment(env);
    p->start(QStringLiteral(STOA_PLAYER_BIN), {"--data-dir", dataDir, "--device-id", "bench",
                                              "--config", "/dev/null", "--exit-after", QString::number(exitAfterMs)});
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

qint64 cpuTicks(qint64 pid)
{
    QFile f(QStringLiteral("/proc/%1/stat").arg(pid));
    if (!f.open(QIODevice::ReadOnly))
        return -1;
    const QByteArray line = f.readAll();
    const QList<QByteArray> fields = line.mid(line.lastIndexOf(')') + 2).split(' ');
    return fields.size() > 13 ? fields[11].toLongLong() + fields[12].toLongLong() : -1; // utime, stime
}

qint64 rssKb(qint64 pid)
{
    QFile f(QStringLiteral("/proc/%1/status").arg(pid));
    if (!f.open(QIODevice::ReadOnly))
        return -1;
    for (const QByteArray &line : f.readAll().split('\n'))
        if (line.startsWith("VmRSS:"))
            return line.mid(6).trimmed().split(' ').first().toLongLong();
    return -1;
}

void pump(int ms)
{
    QElapsedTimer t;
    t.start();
    while (t.elapsed() < ms)
        QCoreApplication::processEvents(QEventLoop::AllEvents, 20), QThread::msleep(10);
}

} // namespace

int main(int argc, char **argv)
{
    QGuiApplication app(argc, argv);
    if (qEnvironmentVariableIsEmpty("DISPLAY")) {
        std::fprintf(stderr, "player_bench needs a display: xvfb-run -a -s \"-screen 0 1920x1080x24\" %s\n", argv[0]);
        return 2;
    }
    QTemporaryDir work;
    const QString still = QDir(work.path()).filePath("still");
    const QString mixed = QDir(work.path()).filePath("mixed");
    {
        for (const QString &dir : {still, mixed}) {
            cache::StoreOptions so;
            so.dataDir = dir.toStdString();
            auto store = cache::Store::open(so);
            if (!store)
                return 3;
            QDir().mkpath(dir + "-media");
            ContentBuilder content(**store, dir + "-media");
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
    }

    // 1. Start-up to first content frame (warm store, warm page cache after the first run).
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

    // 2. CPU while one still image is on screen.
    {
        QElapsedTimer since;
        since.start();
        auto p = launch(still, 12000);
        QByteArray log;
        waitFirstFrame(*p, since, log);
        pump(2000);
        const qint64 pid = p->processId();
        const qint64 t0 = cpuTicks(pid);
        QElapsedTimer wall;
        wall.start();
        pump(5000);
        const qint64 t1 = cpuTicks(pid);
        const double seconds = double(wall.elapsed()) / 1000.0;
        const double cpu = double(t1 - t0) / double(sysconf(_SC_CLK_TCK)) / seconds * 100.0;
        std::printf("CPU while showing a still image: %.2f %% of one core over %.1f s (%lld ticks)\n", cpu, seconds,
                    static_cast<long long>(t1 - t0));
        std::printf("RSS with one 1080p still image: %lld kB\n", static_cast<long long>(rssKb(pid)));
        p->waitForFinished(15000);
    }

    // 3. RSS on a 1080p image + 1080p video playlist.
    {
        QElapsedTimer since;
        since.start();
        auto p = launch(mixed, 22000);
        QByteArray log;
        waitFirstFrame(*p, since, log);
        const qint64 pid = p->processId();
        qint64 peak = 0, last = 0;
        QElapsedTimer t;
        t.start();
        while (t.elapsed() < 20000 && p->state() == QProcess::Running) {
            pump(100);
            last = rssKb(pid);
            peak = std::max(peak, last);
            if (t.elapsed() / 100 % 40 == 0)
                std::printf("  RSS at %4.1f s: %lld kB\n", double(t.elapsed()) / 1000.0, static_cast<long long>(last));
        }
        std::printf("RSS on a 1080p image (3 s) + 1080p video (4 s) playlist over 20 s: peak %lld kB, "
                    "steady (at 20 s) %lld kB\n", static_cast<long long>(peak), static_cast<long long>(last));
        p->waitForFinished(15000);
    }
    return 0;
}
