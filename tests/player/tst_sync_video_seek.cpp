// tests/player/tst_sync_video_seek.cpp — a player that joins a synchronised
// playlist mid-slot starts its video at the matching position (v1.1 §13:
// "a device that joins mid-slot starts it at the matching position";
// RegionPlayer::positionHidden seeks the hidden slot before showing it,
// VideoPipeline::seek / sought). Under Xvfb.
//
// The video tells its own time: ffmpeg (geq) draws frame number N of a
// 25 fps clip as 8 bits in 8 vertical bands of its top half (white = 1),
// its bottom half a constant grey (the mark that the video is on screen),
// one key frame a second so an accurate seek decodes at most 25 frames.
// Frame N is the picture of [N*40, N*40+40) ms into the video.
//
//  - joinsMidSlotAtMatchingPosition: the real player (Playback + Shell, the
//    system clock, trusted) starts ~kJoinMs into the one slot of a
//    synchronised playlist (epoch chosen so). From the first grab that shows
//    the video, kGrabs grabs (each as soon as the picture changed): the
//    frame's time is compared with trusted now - slot start, taken right
//    before and right after the grab: its distance from that interval
//    (minus one frame period: the frame shown was decoded up to 40 ms
//    earlier) must be within kBoundMs. The FIRST grab that shows the video
//    must be within it too (no frame 0 first, then a jump), and every grab
//    from kSettleMs after it. Without the seek the video starts at 0 ms,
//    kJoinMs (~3 s) away.
//  - checkCatchesMissingSeek: the same clip in an unsynchronised playlist
//    (nothing seeks), started at the same point of a would-be slot: the
//    same check must report it (its error near kJoinMs), so the first case
//    cannot pass with the seek skipped.
// Bound kBoundMs = 200 ms: the hidden slot is sought ahead of where the slot
// stands and shown at the instant of the sought frame, then plays on with
// the system clock; the picture lags the slot by the render loop's frame
// (and by how late the seek landed, if it did). Before the hidden seek
// (the seek came after the item was shown) the first grab held frame 0,
// ~3.5 s off, and the sought position came ~100 ms later; now seen: first
// grab 0 ms off, worst 1-16 ms over 4 runs (the hidden seek landed in
// 12-14 ms, load ~5).
#include "player_harness.h"

#include <QDateTime>
#include <QGuiApplication>

using namespace stoa;
using namespace stoa::player;
using namespace stoa::player::testing;

namespace {

constexpr int kFrameMs = 40;
constexpr qint64 kSlotMs = 12000;  // one item: one slot
constexpr qint64 kJoinMs = 3000;   // how far into the slot the player starts (3-4 s)
constexpr qint64 kBoundMs = 200;
constexpr qint64 kSettleMs = 600;  // after the video first shows: the seek has landed
constexpr int kGrabs = 8;

// 14 s of 25 fps: longer than the slot (the slot ends it, not its end).
Media timedVideo(ContentBuilder &c, const QString &dir)
{
    const QString path = QDir(dir).filePath(QStringLiteral("timed.mp4"));
    QProcess ffmpeg;
    ffmpeg.start(QStringLiteral("ffmpeg"),
                 {"-v", "error", "-y", "-f", "lavfi", "-i",
                  "color=c=black:s=320x180:r=25:d=14,format=gray,"
                  "geq=lum='if(lt(Y,H/2),if(bitand(N,pow(2,floor(X*8/W))),255,0),160)'",
                  "-c:v", "libx264", "-g", "25", "-pix_fmt", "yuv420p", "-movflags", "+faststart", path});
    if (!ffmpeg.waitForFinished(60000) || ffmpeg.exitCode() != 0)
        qFatal("ffmpeg failed: %s", ffmpeg.readAllStandardError().constData());
    return c.bytes(readAll(path), QStringLiteral("video/mp4"));
}

// The frame number the picture shows; -1: not the video (its grey mark missing).
int frameOf(const QImage &img)
{
    const int w = img.width(), h = img.height();
    // The clip is 16:9 like the window: fit contain fills it.
    for (double fx : {0.2, 0.5, 0.8})
        if (std::abs(qGray(img.pixel(int(fx * w), int(0.75 * h))) - 160) > 30)
            return -1;
    int n = 0;
    for (int bit = 0; bit < 8; ++bit) {
        const int x = int((bit + 0.5) * w / 8);
        if (qGray(img.pixel(x, h / 4)) > 128)
            n |= 1 << bit;
    }
    return n;
}

// How far (ms) the shown frame is from the slot's position over the grab:
// 0 when frame N's time is within [before - kFrameMs, after].
qint64 errorMs(int frame, qint64 beforeIntoMs, qint64 afterIntoMs)
{
    const qint64 at = qint64(frame) * kFrameMs;
    if (at < beforeIntoMs - kFrameMs)
        return beforeIntoMs - kFrameMs - at;
    return at > afterIntoMs ? at - afterIntoMs : 0;
}

struct Run {
    qint64 worstMs = 0;  // over the checked grabs
    qint64 firstMs = -1; // the first grab showing the video
    int checked = 0;
    QString trace;
};

// Starts the player on `synced` or not, ~kJoinMs into the slot of an epoch
// chosen now, and reads kGrabs pictures after the video settled.
Run play(bool synced)
{
    PlayerHarness h;
    const Media clip = timedVideo(*h.content, h.m_dir.path());
    // Whole seconds: the epoch is written as RFC 3339 without fractions.
    const qint64 epochMs = (QDateTime::currentMSecsSinceEpoch() - kJoinMs) / 1000 * 1000;
    QJsonObject wall = playlist({item(clip, int(kSlotMs), "contain")});
    if (synced)
        wall["sync"] = QJsonObject{{"epoch", QDateTime::fromMSecsSinceEpoch(epochMs, Qt::UTC).toString(Qt::ISODate)}};
    h.content->activate(h.content->manifest(1, {{"wall", wall}}, "wall"));
    if (!h.start())
        qFatal("the player did not start");

    Run run;
    QElapsedTimer sinceShown;
    int last = -2;
    const auto into = [&] { return QDateTime::currentMSecsSinceEpoch() - epochMs; };
    QElapsedTimer deadline;
    deadline.start();
    while (run.checked < kGrabs && deadline.elapsed() < 20000) {
        const qint64 before = into();
        const QImage img = h.grab();
        const qint64 after = into();
        const int frame = frameOf(img);
        if (frame < 0 || frame == last) {
            QTest::qWait(5); // turns the event loop until the next picture
            continue;
        }
        last = frame;
        const qint64 err = errorMs(frame, before, after);
        run.trace += QStringLiteral(" [%1 ms: frame %2 (%3 ms) err %4]")
                         .arg(before).arg(frame).arg(frame * kFrameMs).arg(err);
        if (!sinceShown.isValid()) {
            sinceShown.start();
            run.firstMs = err;
        }
        if (sinceShown.elapsed() < kSettleMs)
            continue;
        run.worstMs = std::max(run.worstMs, err);
        ++run.checked;
        if (after >= kSlotMs - 500)
            break; // the slot's end is near: the next slot starts the video again
    }
    return run;
}

} // namespace

class SyncVideoSeekTest : public QObject {
    Q_OBJECT
private slots:
    void joinsMidSlotAtMatchingPosition();
    void checkCatchesMissingSeek();
};

void SyncVideoSeekTest::joinsMidSlotAtMatchingPosition()
{
    const Run run = play(true);
    qInfo("synchronised: first shown error %lld ms, worst %lld ms over %d grabs;%s", static_cast<long long>(run.firstMs),
          static_cast<long long>(run.worstMs), run.checked, qPrintable(run.trace));
    QVERIFY2(run.checked >= kGrabs / 2, qPrintable(run.trace));
    // The very first picture of the video is already where the slot stands
    // (the hidden slot is sought before it is shown; no frame 0 first).
    QVERIFY2(run.firstMs >= 0 && run.firstMs <= kBoundMs, qPrintable(run.trace));
    QVERIFY2(run.worstMs <= kBoundMs, qPrintable(run.trace));
}

void SyncVideoSeekTest::checkCatchesMissingSeek()
{
    const Run run = play(false);
    qInfo("unsynchronised (no seek): worst %lld ms over %d grabs;%s", static_cast<long long>(run.worstMs), run.checked,
          qPrintable(run.trace));
    QVERIFY2(run.checked >= kGrabs / 2, qPrintable(run.trace));
    QVERIFY2(run.worstMs > kJoinMs - 1000, qPrintable(run.trace));
}

QTEST_MAIN(SyncVideoSeekTest)
#include "tst_sync_video_seek.moc"
