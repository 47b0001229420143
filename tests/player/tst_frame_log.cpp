// tests/player/tst_frame_log.cpp — the frame log (player/frame_log.h) that
// bench/frames_bench reads. Under Xvfb (run-xvfb.sh), real frames.
//
//  - inProcess: Playback + Shell on a real store, image -> video -> image;
//    the log has a header, only well-formed lines, non-decreasing
//    timestamps, one switch line per Playback::switched with the item's
//    kind and key, and after every switch a sync and then a frame (the
//    frame that shows the item); the video drives frames while it plays.
//  - realProcess: stoa-player --frame-log FILE --exit-after: main.cpp's
//    wiring writes the file at exit, switches and frames in it.
//  - unwritablePath: write() reports the path and the reason.
//  - option: --frame-log is parsed, and needs a value.
#include "player_harness.h"
#include "player/frame_log.h"
#include "player/options.h"

#include <QRegularExpression>
#include <QSignalSpy>

#include <algorithm>

using namespace stoa;
using namespace stoa::player;
using namespace stoa::player::testing;

namespace {

struct Line {
    qint64 us = 0;
    QString what;  // sync, frame, switch
    QString kind;  // switch: image/video/idle
    QString key;
};

// Parses the log; a malformed line fails the calling test through `error`.
std::vector<Line> parse(const QString &path, QString &error)
{
    static const QRegularExpression re(QStringLiteral("^(\\d+) (sync|frame|switch (image|video|idle) (\\S+))$"));
    const QList<QByteArray> lines = readAll(path).split('\n');
    std::vector<Line> out;
    if (lines.isEmpty() || !lines.first().startsWith("# stoa-player frame log v1")) {
        error = "no header";
        return out;
    }
    for (qsizetype i = 1; i < lines.size(); ++i) {
        if (lines[i].isEmpty())
            continue;
        const auto m = re.match(QString::fromUtf8(lines[i]));
        if (!m.hasMatch()) {
            error = QStringLiteral("line %1 malformed: %2").arg(i + 1).arg(QString::fromUtf8(lines[i]));
            return out;
        }
        out.push_back({m.captured(1).toLongLong(), m.captured(2).section(' ', 0, 0), m.captured(3), m.captured(4)});
    }
    return out;
}

bool nonDecreasing(const std::vector<Line> &lines)
{
    return std::is_sorted(lines.begin(), lines.end(), [](const Line &a, const Line &b) { return a.us < b.us; });
}

} // namespace

class FrameLogTest : public QObject {
    Q_OBJECT
private slots:
    void inProcess()
    {
        PlayerHarness h;
        const Media red = h.content->solid(Qt::red);
        const Media green = h.content->video("green", 1.0);
        const Media blue = h.content->solid(Qt::blue);
        h.content->activate(h.content->manifest(
            1, {{"main", playlist({item(red, 400), item(green), item(blue, 400)})}}, "main"));

        QVERIFY(h.show());
        const QString path = QDir(h.m_dir.path()).filePath("frames.log");
        FrameLog log(path);
        log.attach(h.shell->window(), *h.playback);
        QSignalSpy switched(h.playback.get(), &Playback::switched);
        const qint64 before = FrameLog::nowUs();
        h.playback->start();
        // red, green, blue, red: four switches, then one more frame for the last.
        QTRY_VERIFY_WITH_TIMEOUT(h.playback->transitions() >= 4, 20000);
        const std::size_t framesAtLast = log.frames();
        QTRY_VERIFY_WITH_TIMEOUT(log.frames() > framesAtLast, 5000);
        const qsizetype switchesEmitted = switched.count(); // write() runs no events: no switch in between
        QVERIFY(log.write());

        QString error;
        const std::vector<Line> lines = parse(path, error);
        QVERIFY2(error.isEmpty(), qPrintable(error));
        QVERIFY(nonDecreasing(lines));
        QVERIFY(lines.front().us >= before);
        std::vector<Line> switches;
        for (const Line &l : lines)
            if (l.what == "switch")
                switches.push_back(l);
        QCOMPARE(qsizetype(switches.size()), qsizetype(log.switches()));
        QVERIFY(switches.size() >= 4);
        QCOMPARE(qsizetype(switches.size()), switchesEmitted);
        const std::vector<std::pair<QString, QString>> expected{
            {"image", red.name}, {"video", green.name}, {"image", blue.name}, {"image", red.name}};
        for (std::size_t i = 0; i < expected.size(); ++i) {
            QCOMPARE(switches[i].kind, expected[i].first);
            QCOMPARE(switches[i].key, expected[i].second);
        }
        // After each of the four switches: a sync, then a frame (the item presented).
        for (std::size_t i = 0; i < 4; ++i) {
            const auto at = std::find_if(lines.begin(), lines.end(), [&](const Line &l) {
                return l.what == "switch" && l.us == switches[i].us && l.key == switches[i].key;
            });
            const auto sync = std::find_if(at, lines.end(), [](const Line &l) { return l.what == "sync"; });
            QVERIFY2(sync != lines.end(), qPrintable(QStringLiteral("no sync after switch %1").arg(i)));
            QVERIFY2(std::find_if(sync, lines.end(), [](const Line &l) { return l.what == "frame"; }) != lines.end(),
                     qPrintable(QStringLiteral("no frame after switch %1").arg(i)));
        }
        // The 1 s video at 25 fps drives frames while it is on screen (not one per second).
        const auto videoFrames = std::count_if(lines.begin(), lines.end(), [&](const Line &l) {
            return l.what == "frame" && l.us > switches[1].us && l.us < switches[2].us;
        });
        QVERIFY2(videoFrames >= 10, qPrintable(QStringLiteral("%1 frames during the video").arg(videoFrames)));
    }

    void realProcess()
    {
        QTemporaryDir dir;
        cache::StoreOptions so;
        so.dataDir = dir.filePath("store").toStdString();
        auto store = cache::Store::open(so);
        QVERIFY(store.has_value());
        QDir().mkpath(dir.filePath("media"));
        ContentBuilder content(**store, dir.filePath("media"));
        const Media red = content.solid(Qt::red);
        const Media blue = content.solid(Qt::blue);
        content.activate(content.manifest(1, {{"main", playlist({item(red, 300), item(blue, 300)})}}, "main"));
        const QString path = dir.filePath("frames.log");
        QProcess p;
        p.setProcessChannelMode(QProcess::MergedChannels);
        p.start(STOA_PLAYER, {"--windowed", "--data-dir", dir.filePath("store"), "--device-id", "test",
                              "--config", "/dev/null", "--no-auto-diagnostics", "--listen", "127.0.0.1:0",
                              "--exit-after", "2500", "--frame-log", path});
        QVERIFY(p.waitForFinished(60000));
        QVERIFY2(p.exitStatus() == QProcess::NormalExit && p.exitCode() == 0, p.readAll().constData());
        QString error;
        const std::vector<Line> lines = parse(path, error);
        QVERIFY2(error.isEmpty(), qPrintable(error));
        QVERIFY(nonDecreasing(lines));
        const auto count = [&](const QString &what) {
            return std::count_if(lines.begin(), lines.end(), [&](const Line &l) { return l.what == what; });
        };
        QVERIFY(count("frame") >= 3);
        QVERIFY(count("switch") >= 3); // red, blue, red ... in 2.5 s of 0.3 s items
        const auto firstSwitch =
            std::find_if(lines.begin(), lines.end(), [](const Line &l) { return l.what == "switch"; });
        QCOMPARE(firstSwitch->key, red.name);
        QVERIFY(std::find_if(firstSwitch, lines.end(), [](const Line &l) { return l.what == "frame"; }) != lines.end());
    }

    void unwritablePath()
    {
        FrameLog log(QStringLiteral("/nonexistent-dir/frames.log"));
        const auto written = log.write();
        QVERIFY(!written);
        QVERIFY2(written.error().starts_with("/nonexistent-dir/frames.log: "), written.error().c_str());
    }

    void option()
    {
        auto o = parsePlayerOptions({"stoa-player", "--config", "/dev/null", "--frame-log", "/tmp/f.log"});
        QVERIFY(o.has_value());
        QCOMPARE(o->frameLogFile, std::string("/tmp/f.log"));
        auto none = parsePlayerOptions({"stoa-player", "--config", "/dev/null"});
        QVERIFY(none.has_value());
        QVERIFY(none->frameLogFile.empty());
        QVERIFY(!parsePlayerOptions({"stoa-player", "--config", "/dev/null", "--frame-log"}).has_value());
        QVERIFY(QByteArray(playerUsage()).contains("--frame-log FILE"));
    }
};

QTEST_MAIN(FrameLogTest)
#include "tst_frame_log.moc"
