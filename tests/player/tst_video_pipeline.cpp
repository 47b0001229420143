// tests/player/tst_video_pipeline.cpp — VideoPipeline (player/video_pipeline.h)
// on real files made with the ffmpeg command line, its frames going to a
// plain QVideoSink (no window: offscreen).
//
// What is asserted: the paused pipeline prerolls one frame of the video's
// size and colour (read back from the frame's Y/U/V planes) and goes no
// further; playing delivers the video's frames in order and ends once; two
// pipelines play the same file at once; broken or missing files fail with a
// reason and never end; a deleted pipeline sends nothing more and clears
// the sink it drew on; a sink deleted first is not touched; a frame that
// came before the sink was set is handed over when it is; the pipeline's
// streaming threads (a decoder's own threads among them) run
// kStreamingThreadNice steps nicer than the GUI thread, which keeps its own.
//
// Waits are on signals or on the sink's frames (QTRY_*, QSignalSpy::wait)
// with generous deadlines (a shared 2-core machine). The only fixed waits
// are for absences (nothing happens while paused / after deletion) and for
// a frame held without any sink, which is not observable from outside; each
// says so where it is.
#include "player/video_pipeline.h"

#include <QColor>
#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QProcess>
#include <QRandomGenerator>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>
#include <QVideoFrame>
#include <QVideoSink>

#include <cerrno>
#include <memory>
#include <optional>

#include <sys/resource.h>
#include <unistd.h>

using namespace stoa::player;

namespace {

constexpr int kStartMs = 30000; // preroll or failure of a small file, on a loaded machine
constexpr int kEndMs = 30000;   // a 1 s video played to its end
constexpr int kFaultMs = 10000; // failed() for a broken or missing file

// Average Y, U, V of a frame (8-bit, as stored).
struct Yuv {
    double y = 0, u = 0, v = 0;
};

// BT.601 limited range, as ffmpeg converts its lavfi colours to yuv420p.
Yuv expectedYuv(const QColor &c)
{
    const double r = c.redF(), g = c.greenF(), b = c.blueF();
    return {16 + 65.481 * r + 128.553 * g + 24.966 * b, 128 - 37.797 * r - 74.203 * g + 112.0 * b,
            128 + 112.0 * r - 93.786 * g - 18.214 * b};
}

// Reads the planes of an I420 or NV12 frame (what VideoPipeline delivers).
std::optional<Yuv> averageYuv(QVideoFrame frame)
{
    const auto format = frame.pixelFormat();
    if (format != QVideoFrameFormat::Format_YUV420P && format != QVideoFrameFormat::Format_NV12)
        return std::nullopt;
    if (!frame.map(QVideoFrame::ReadOnly))
        return std::nullopt;
    const int w = frame.width(), h = frame.height(), cw = w / 2, ch = h / 2;
    double y = 0, u = 0, v = 0;
    for (int row = 0; row < h; ++row)
        for (int col = 0; col < w; ++col)
            y += frame.bits(0)[row * frame.bytesPerLine(0) + col];
    for (int row = 0; row < ch; ++row) {
        for (int col = 0; col < cw; ++col) {
            if (format == QVideoFrameFormat::Format_YUV420P) {
                u += frame.bits(1)[row * frame.bytesPerLine(1) + col];
                v += frame.bits(2)[row * frame.bytesPerLine(2) + col];
            } else {
                u += frame.bits(1)[row * frame.bytesPerLine(1) + 2 * col];
                v += frame.bits(1)[row * frame.bytesPerLine(1) + 2 * col + 1];
            }
        }
    }
    frame.unmap();
    return Yuv{y / (w * h), u / (cw * ch), v / (cw * ch)};
}

// Everything a sink was given: valid frames (count, start times, the first
// one kept) and clears (empty frames).
struct SinkLog {
    explicit SinkLog(QVideoSink *sink)
    {
        connection = QObject::connect(sink, &QVideoSink::videoFrameChanged, sink, [this](const QVideoFrame &f) {
            if (!f.isValid()) {
                ++cleared;
                return;
            }
            if (!first.isValid())
                first = f;
            ++valid;
            startTimes.append(f.startTime());
        });
    }
    ~SinkLog() { QObject::disconnect(connection); }
    SinkLog(const SinkLog &) = delete;
    SinkLog &operator=(const SinkLog &) = delete;

    QMetaObject::Connection connection;
    int valid = 0;
    int cleared = 0;
    QList<qint64> startTimes; // µs, in the order the sink got them
    QVideoFrame first;
};

// A pipeline set up as MediaSlot.qml does (properties, then componentComplete).
std::unique_ptr<VideoPipeline> makePipeline(const QString &path, QVideoSink *sink, bool playing = false,
                                            bool muted = true)
{
    auto p = std::make_unique<VideoPipeline>();
    p->classBegin();
    p->setSink(sink);
    p->setMuted(muted);
    p->setPlaying(playing);
    p->setSource(QUrl::fromLocalFile(path));
    p->componentComplete();
    return p;
}

// This process's threads that GStreamer's tasks started (named
// "<element>:<pad>", e.g. "qtdemux0:sink", "multiqueue0:src"; a thread
// they start, such as libavcodec's decoder threads, inherits the name), by
// name, with their nice values (/proc/self/task/TID/stat, field 19). A
// thread that ends while this reads is left out.
QList<QPair<QString, int>> streamingThreads()
{
    QList<QPair<QString, int>> threads;
    const QStringList tids = QDir(QStringLiteral("/proc/self/task")).entryList(QDir::Dirs | QDir::NoDotAndDotDot);
    for (const QString &tid : tids) {
        QFile comm(QStringLiteral("/proc/self/task/%1/comm").arg(tid));
        QFile stat(QStringLiteral("/proc/self/task/%1/stat").arg(tid));
        if (!comm.open(QIODevice::ReadOnly) || !stat.open(QIODevice::ReadOnly))
            continue;
        const QString name = QString::fromUtf8(comm.readAll()).trimmed();
        const QByteArray line = stat.readAll();
        // After "(comm) ": field 3 (state) first, so nice (19) is index 16.
        const QList<QByteArray> fields = line.mid(line.lastIndexOf(')') + 2).split(' ');
        if (name.contains(':') && fields.size() > 16)
            threads.append({name, fields[16].toInt()});
    }
    return threads;
}

int guiThreadNice()
{
    errno = 0;
    const int nice = getpriority(PRIO_PROCESS, id_t(::gettid()));
    return errno == 0 ? nice : 0;
}

QString describe(const Yuv &got, const Yuv &want)
{
    return QStringLiteral("Y/U/V got %1/%2/%3, want %4/%5/%6")
        .arg(got.y, 0, 'f', 1)
        .arg(got.u, 0, 'f', 1)
        .arg(got.v, 0, 'f', 1)
        .arg(want.y, 0, 'f', 1)
        .arg(want.u, 0, 'f', 1)
        .arg(want.v, 0, 'f', 1);
}

QString times(const QList<qint64> &startTimes)
{
    QStringList out;
    for (qint64 t : startTimes)
        out << QString::number(t / 1000);
    return QStringLiteral("frames at (ms): ") + out.join(' ');
}

bool near(const Yuv &got, const Yuv &want)
{
    constexpr double kTolerance = 6; // x264 rounding; distinct colours differ by 40+
    return std::abs(got.y - want.y) <= kTolerance && std::abs(got.u - want.u) <= kTolerance &&
           std::abs(got.v - want.v) <= kTolerance;
}

} // namespace

class VideoPipelineTest : public QObject {
    Q_OBJECT

    QTemporaryDir m_dir;
    int m_counter = 0;

    // A video of one solid colour, H.264 in MP4 (as tests/player/player_harness.h
    // makes them), with a 440 Hz AAC track if `audio`.
    QString video(const QString &colour, double seconds, QSize size = {320, 180}, bool audio = false)
    {
        const QString path = m_dir.filePath(QStringLiteral("video-%1.mp4").arg(m_counter++));
        QStringList args{"-v", "error", "-y", "-f", "lavfi", "-i",
                         QStringLiteral("color=c=%1:s=%2x%3:d=%4:r=25")
                             .arg(colour)
                             .arg(size.width())
                             .arg(size.height())
                             .arg(seconds)};
        if (audio)
            args << "-f" << "lavfi" << "-i" << QStringLiteral("sine=frequency=440:duration=%1").arg(seconds) << "-c:a"
                 << "aac";
        args << "-c:v" << "libx264" << "-pix_fmt" << "yuv420p" << "-movflags" << "+faststart" << path;
        QProcess ffmpeg;
        ffmpeg.start(QStringLiteral("ffmpeg"), args);
        if (!ffmpeg.waitForFinished(60000) || ffmpeg.exitCode() != 0)
            qFatal("ffmpeg failed: %s", ffmpeg.readAllStandardError().constData());
        return path;
    }

    QString writeFile(const QString &name, const QByteArray &bytes)
    {
        const QString path = m_dir.filePath(name);
        QFile f(path);
        if (!f.open(QIODevice::WriteOnly) || f.write(bytes) != bytes.size())
            qFatal("cannot write %s", qPrintable(path));
        return path;
    }

private slots:
    void initTestCase() { QVERIFY(m_dir.isValid()); }

    // 1. Paused, the pipeline prerolls: the sink gets the video's first
    // frame, of its size and colour.
    void prerollsFirstFrame_data()
    {
        QTest::addColumn<QString>("colour");
        QTest::addColumn<QSize>("size");
        QTest::newRow("red 320x180") << "red" << QSize(320, 180);
        QTest::newRow("blue 160x96") << "blue" << QSize(160, 96);
    }
    void prerollsFirstFrame()
    {
        QFETCH(QString, colour);
        QFETCH(QSize, size);
        const QString path = video(colour, 1, size);
        QVideoSink sink;
        SinkLog log(&sink);
        auto pipeline = makePipeline(path, &sink);
        QSignalSpy failed(pipeline.get(), &VideoPipeline::failed);
        QTRY_VERIFY_WITH_TIMEOUT(log.valid >= 1, kStartMs);
        QCOMPARE(failed.count(), 0);
        QVERIFY(sink.videoFrame().isValid());
        QCOMPARE(log.first.size(), size);
        QVERIFY(pipeline->framesDelivered() >= 1);
        const auto got = averageYuv(log.first);
        QVERIFY2(got, qPrintable(QStringLiteral("unreadable frame format %1").arg(int(log.first.pixelFormat()))));
        const Yuv want = expectedYuv(QColor(colour));
        QVERIFY2(near(*got, want), qPrintable(describe(*got, want)));
    }

    // 2. While `playing` is false the pipeline stays on its first frame.
    void pausedStaysPaused()
    {
        const QString path = video("green", 1);
        QVideoSink sink;
        SinkLog log(&sink);
        auto pipeline = makePipeline(path, &sink);
        QSignalSpy ended(pipeline.get(), &VideoPipeline::ended);
        QSignalSpy failed(pipeline.get(), &VideoPipeline::failed);
        QTRY_VERIFY_WITH_TIMEOUT(log.valid >= 1, kStartMs);
        // An absence has no event to wait for: give a wrongly running pipeline
        // 1.5x the video's length to reach its end or push more frames.
        QTest::qWait(1500);
        QCOMPARE(ended.count(), 0);
        QCOMPARE(failed.count(), 0);
        QVERIFY2(log.valid <= 2, qPrintable(QString::number(log.valid)));
        QVERIFY(!pipeline->playing());
    }

    // 3. Playing delivers the frames in order and ends once.
    void playsToTheEnd_data()
    {
        QTest::addColumn<bool>("playFromStart");
        QTest::newRow("played after preroll") << false;
        QTest::newRow("playing from the start") << true;
    }
    void playsToTheEnd()
    {
        QFETCH(bool, playFromStart);
        const QString path = video("yellow", 1);
        QVideoSink sink;
        SinkLog log(&sink);
        auto pipeline = makePipeline(path, &sink, playFromStart);
        QSignalSpy ended(pipeline.get(), &VideoPipeline::ended);
        QSignalSpy failed(pipeline.get(), &VideoPipeline::failed);
        if (!playFromStart) {
            QTRY_VERIFY_WITH_TIMEOUT(log.valid >= 1, kStartMs);
            pipeline->setPlaying(true);
        }
        QVERIFY(ended.wait(kEndMs));
        QCOMPARE(ended.count(), 1);
        QCOMPARE(failed.count(), 0);
        // 25 frames in 1 s; a few may be replaced by a newer one before the
        // GUI thread takes them (only the newest pending frame is kept).
        QVERIFY2(log.valid >= 20, qPrintable(QString::number(log.valid)));
        QCOMPARE(pipeline->framesDelivered(), qint64(log.valid));
        // Each frame once, in order: the prerolled frame, which GStreamer
        // renders again as the first played sample, is not handed over a
        // second time (a copy and an upload at the very moment of a switch).
        for (int i = 1; i < log.startTimes.size(); ++i)
            QVERIFY2(log.startTimes[i] > log.startTimes[i - 1],
                     qPrintable(QStringLiteral("frame %1 at %2 µs after %3 µs")
                                    .arg(i)
                                    .arg(log.startTimes[i])
                                    .arg(log.startTimes[i - 1])));
        // From the start of the video (frames that come faster than the GUI
        // thread takes them replace each other, the first ones included).
        QVERIFY2(log.startTimes.first() < 500'000, qPrintable(times(log.startTimes)));
        QVERIFY2(log.startTimes.last() >= 900'000, qPrintable(QString::number(log.startTimes.last()))); // the last frame is at 960 ms
        QVERIFY(sink.videoFrame().isValid()); // ended holds the last frame
        // A later event does not bring a second end.
        QVERIFY(!ended.wait(200));
        QCOMPARE(ended.count(), 1);
    }

    // 4. Two pipelines on the same file (a one-video playlist looping
    // through the second slot): both preroll and both play to their end.
    void twoPipelinesOnTheSameFile_data()
    {
        QTest::addColumn<bool>("together");
        QTest::newRow("played together") << true;
        QTest::newRow("second plays after the first ended") << false;
    }
    void twoPipelinesOnTheSameFile()
    {
        QFETCH(bool, together);
        const QString path = video("magenta", 1);
        QVideoSink sinkA, sinkB;
        SinkLog logA(&sinkA), logB(&sinkB);
        auto a = makePipeline(path, &sinkA);
        auto b = makePipeline(path, &sinkB);
        QSignalSpy endedA(a.get(), &VideoPipeline::ended), endedB(b.get(), &VideoPipeline::ended);
        QSignalSpy failedA(a.get(), &VideoPipeline::failed), failedB(b.get(), &VideoPipeline::failed);
        QTRY_VERIFY_WITH_TIMEOUT(logA.valid >= 1 && logB.valid >= 1, kStartMs);
        a->setPlaying(true);
        if (together)
            b->setPlaying(true);
        QTRY_VERIFY_WITH_TIMEOUT(endedA.count() == 1, kEndMs);
        if (!together) {
            QCOMPARE(endedB.count(), 0);
            b->setPlaying(true); // a still holds its last frame and the file
        }
        QTRY_VERIFY_WITH_TIMEOUT(endedB.count() == 1, kEndMs);
        QCOMPARE(failedA.count(), 0);
        QCOMPARE(failedB.count(), 0);
        QVERIFY2(logA.valid >= 20, qPrintable(QString::number(logA.valid)));
        QVERIFY2(logB.valid >= 20, qPrintable(QString::number(logB.valid)));
        const Yuv want = expectedYuv(QColor("magenta"));
        for (const auto *log : {&logA, &logB}) {
            const auto got = averageYuv(log->first);
            QVERIFY(got);
            QVERIFY2(near(*got, want), qPrintable(describe(*got, want)));
        }
    }

    // 5. Broken and missing files fail with a reason, never end, and send
    // no frame.
    void faultsFail_data()
    {
        QTest::addColumn<QString>("kind");
        QTest::addColumn<bool>("playing");
        for (const char *kind : {"random bytes", "truncated", "missing"}) {
            QTest::addRow("%s, paused", kind) << QString::fromLatin1(kind) << false;
            QTest::addRow("%s, playing", kind) << QString::fromLatin1(kind) << true;
        }
    }
    void faultsFail()
    {
        QFETCH(QString, kind);
        QFETCH(bool, playing);
        QString path;
        if (kind == "random bytes") {
            QByteArray bytes(64 * 1024, Qt::Uninitialized);
            QRandomGenerator::global()->fillRange(reinterpret_cast<quint32 *>(bytes.data()), bytes.size() / 4);
            path = writeFile(QStringLiteral("random-%1.mp4").arg(m_counter++), bytes);
        } else if (kind == "truncated") {
            QFile whole(video("red", 1));
            QVERIFY(whole.open(QIODevice::ReadOnly));
            const QByteArray bytes = whole.readAll();
            QVERIFY(bytes.size() > 1000);
            path = writeFile(QStringLiteral("truncated-%1.mp4").arg(m_counter++), bytes.left(bytes.size() / 2));
        } else {
            path = m_dir.filePath(QStringLiteral("missing-%1.mp4").arg(m_counter++));
            QVERIFY(!QFile::exists(path));
        }
        QVideoSink sink;
        SinkLog log(&sink);
        auto pipeline = makePipeline(path, &sink, playing);
        QSignalSpy ended(pipeline.get(), &VideoPipeline::ended);
        QSignalSpy failed(pipeline.get(), &VideoPipeline::failed);
        // GStreamer reports these within ~0.1 s; a cut mp4 header sometimes
        // gives no error at all (GStreamer 1.22's decodebin drops the
        // demuxer's error while bringing it up), and then the pipeline's own
        // start deadline fails it.
        pipeline->setStartTimeoutMs(3000);
        failed.wait(kFaultMs);
        QVERIFY2(!failed.isEmpty(), qPrintable(QStringLiteral("no failure; %1 frames, %2 ends").arg(log.valid).arg(ended.count())));
        const QString reason = failed.first().first().toString();
        QVERIFY(!reason.isEmpty());
        qInfo("%s: %s", qPrintable(kind), qPrintable(reason));
        // Further errors from the same pipeline (GStreamer posts several)
        // are not reported again.
        QVERIFY(!failed.wait(300));
        QCOMPARE(failed.count(), 1);
        QCOMPARE(ended.count(), 0);
        QCOMPARE(log.valid, 0);
        // Playing a failed pipeline does nothing more.
        pipeline->setPlaying(!playing);
        QVERIFY(!ended.wait(300));
        QCOMPARE(failed.count(), 1);
    }

    // 6a. A pipeline deleted while it plays (or prerolls) sends nothing more,
    // and clears the sink it drew on.
    void deletedPipelineGoesQuiet_data()
    {
        QTest::addColumn<QString>("when");
        QTest::newRow("while playing") << "playing";
        QTest::newRow("after preroll") << "prerolled";
        QTest::newRow("right after componentComplete") << "prerolling";
    }
    void deletedPipelineGoesQuiet()
    {
        QFETCH(QString, when);
        const QString path = video("cyan", 3);
        QVideoSink sink;
        SinkLog log(&sink);
        const qsizetype threadsBefore = streamingThreads().size();
        auto pipeline = makePipeline(path, &sink, when == "playing");
        QSignalSpy failed(pipeline.get(), &VideoPipeline::failed);
        if (when == "playing")
            QTRY_VERIFY_WITH_TIMEOUT(log.valid >= 5, kStartMs);
        else if (when == "prerolled")
            QTRY_VERIFY_WITH_TIMEOUT(log.valid >= 1, kStartMs);
        QCOMPARE(failed.count(), 0);
        const qint64 delivered = pipeline->framesDelivered();
        QCOMPARE(delivered, qint64(log.valid));
        const int clearsBefore = log.cleared;
        pipeline.reset();
        if (delivered > 0) {
            QVERIFY(!sink.videoFrame().isValid());
            QCOMPARE(log.cleared, clearsBefore + 1);
        }
        const int validAtDelete = log.valid;
        // An absence has no event to wait for: a pipeline left running would
        // send a frame every 40 ms (or its preroll frame within this time).
        QTest::qWait(1000);
        QCOMPARE(log.valid, validAtDelete);
        QVERIFY(!sink.videoFrame().isValid());
        // It is torn down, a moment later and off this thread
        // (kTeardownDelayMs): its streaming threads end.
        QTRY_VERIFY_WITH_TIMEOUT(streamingThreads().size() <= threadsBefore, 5000);
    }

    // 6c. A slot's next item already put its first frame into the slot's
    // lasting sink when the previous item's pipeline goes: that frame stays
    // (clearing it would leave the slot empty at its switch).
    void deletedPipelineLeavesTheNextOnesFrame()
    {
        const QString first = video("red", 1), next = video("blue", 1);
        QVideoSink sink;
        SinkLog log(&sink);
        // The old one played to its end (it sends nothing more), as a video
        // item does before its slot is reloaded.
        auto old = makePipeline(first, &sink, true);
        QSignalSpy oldEnded(old.get(), &VideoPipeline::ended);
        QVERIFY(oldEnded.wait(kEndMs));
        auto incoming = makePipeline(next, &sink);
        QTRY_VERIFY_WITH_TIMEOUT(incoming->framesDelivered() >= 1, kStartMs);
        const QVideoFrame nextFirst = sink.videoFrame();
        QVERIFY(nextFirst.isValid());
        const int clearsBefore = log.cleared;
        old.reset();
        QCOMPARE(log.cleared, clearsBefore);
        QVERIFY(sink.videoFrame() == nextFirst);
        const auto got = averageYuv(sink.videoFrame());
        QVERIFY(got);
        QVERIFY2(near(*got, expectedYuv(QColor("blue"))), qPrintable(describe(*got, expectedYuv(QColor("blue")))));
    }

    // 6b. The sink goes first (its VideoOutput destroyed) while the pipeline
    // plays: the pipeline must not touch it, then is deleted in turn.
    void sinkDeletedBeforePipeline()
    {
        const QString path = video("white", 1);
        auto sink = std::make_unique<QVideoSink>();
        SinkLog log(sink.get());
        auto pipeline = makePipeline(path, sink.get(), true);
        QSignalSpy ended(pipeline.get(), &VideoPipeline::ended);
        QSignalSpy failed(pipeline.get(), &VideoPipeline::failed);
        QTRY_VERIFY_WITH_TIMEOUT(log.valid >= 3, kStartMs);
        sink.reset();
        QVERIFY(!pipeline->sink());
        // The remaining frames come to a pipeline without a sink.
        QVERIFY(ended.wait(kEndMs));
        QCOMPARE(failed.count(), 0);
        pipeline.reset();
    }

    // 7. A video with an audio track plays to its end, muted or not (no
    // audio device is needed: GStreamer falls back to what it finds).
    void videoWithAudio_data()
    {
        QTest::addColumn<bool>("muted");
        QTest::newRow("muted") << true;
        QTest::newRow("not muted") << false;
    }
    void videoWithAudio()
    {
        QFETCH(bool, muted);
        const QString path = video("red", 1, {320, 180}, true);
        QVideoSink sink;
        SinkLog log(&sink);
        auto pipeline = makePipeline(path, &sink, false, muted);
        QCOMPARE(pipeline->muted(), muted);
        QSignalSpy ended(pipeline.get(), &VideoPipeline::ended);
        QSignalSpy failed(pipeline.get(), &VideoPipeline::failed);
        QTRY_VERIFY_WITH_TIMEOUT(log.valid >= 1 || failed.count() > 0, kStartMs);
        QVERIFY2(failed.isEmpty(), failed.isEmpty() ? "" : qPrintable(failed.first().first().toString()));
        pipeline->setPlaying(true);
        QTRY_VERIFY_WITH_TIMEOUT(ended.count() > 0 || failed.count() > 0, kEndMs);
        QVERIFY2(failed.isEmpty(), failed.isEmpty() ? "" : qPrintable(failed.first().first().toString()));
        QCOMPARE(ended.count(), 1);
        QVERIFY2(log.valid >= 20, qPrintable(QString::number(log.valid)));
    }

    // 8. A frame that came while no sink was set is handed over, at once,
    // when the sink is set.
    void sinkSetLater_data()
    {
        QTest::addColumn<bool>("played");
        QTest::newRow("preroll frame") << false;
        QTest::newRow("last frame after the end") << true;
    }
    void sinkSetLater()
    {
        QFETCH(bool, played);
        const QString path = video("blue", 1);
        auto pipeline = makePipeline(path, nullptr, played);
        QSignalSpy ended(pipeline.get(), &VideoPipeline::ended);
        QSignalSpy failed(pipeline.get(), &VideoPipeline::failed);
        if (played) {
            // Frames are handed over in order before the end (both queued to
            // the GUI thread), so the last one is held now.
            QVERIFY(ended.wait(kEndMs));
        } else {
            // A held frame is not observable before a sink is set: give the
            // preroll (about 0.1 s here) ample time.
            QTest::qWait(3000);
        }
        QCOMPARE(failed.count(), 0);
        QCOMPARE(pipeline->framesDelivered(), qint64(0));
        QVideoSink sink;
        SinkLog log(&sink);
        pipeline->setSink(&sink);
        // Delivered inside setSink, not by a later event.
        QCOMPARE(log.valid, 1);
        QCOMPARE(pipeline->framesDelivered(), qint64(1));
        QVERIFY(sink.videoFrame().isValid());
        QCOMPARE(log.first.size(), QSize(320, 180));
        const auto got = averageYuv(log.first);
        QVERIFY(got);
        const Yuv want = expectedYuv(QColor("blue"));
        QVERIFY2(near(*got, want), qPrintable(describe(*got, want)));
        if (played)
            QVERIFY2(log.first.startTime() >= 900'000, qPrintable(QString::number(log.first.startTime())));
        else
            QVERIFY2(log.first.startTime() < 100'000, qPrintable(QString::number(log.first.startTime())));
    }

    // 9. While a video plays, its pipeline's streaming threads (source,
    // demuxer, queues, decoder and the threads the decoder started) run
    // kStreamingThreadNice steps nicer than the GUI (main) thread, and the
    // GUI thread keeps its own priority: a decoder's burst waits for the
    // frame being drawn. Looked at twice: at the first frame (the threads
    // started for the preroll) and after frames played (none started later
    // escaped, none lowered twice).
    void streamingThreadsBelowTheGuiThread()
    {
        const int guiNice = guiThreadNice();
        if (guiNice >= 19 - kStreamingThreadNice)
            qInfo("this test runs at nice %d already: the check below cannot tell a lowered thread", guiNice);
        const int want = std::min(19, guiNice + kStreamingThreadNice);
        const QString path = video("green", 2, {640, 360});
        QVideoSink sink;
        SinkLog log(&sink);
        auto pipeline = makePipeline(path, &sink, true);
        QSignalSpy failed(pipeline.get(), &VideoPipeline::failed);
        for (const int frames : {1, 10}) {
            QTRY_VERIFY_WITH_TIMEOUT(log.valid >= frames || !failed.isEmpty(), kStartMs);
            QVERIFY(failed.isEmpty());
            const auto threads = streamingThreads();
            QStringList seen;
            for (const auto &[name, nice] : threads)
                seen << QStringLiteral("%1=%2").arg(name).arg(nice);
            // At least the demuxer's and the queue's (decoder's) threads.
            QVERIFY2(threads.size() >= 2, qPrintable(seen.join(' ')));
            for (const auto &[name, nice] : threads)
                QVERIFY2(nice == want, qPrintable(QStringLiteral("%1 at nice %2, want %3; all: %4")
                                                      .arg(name).arg(nice).arg(want).arg(seen.join(' '))));
            QCOMPARE(guiThreadNice(), guiNice);
        }
    }
};

QTEST_MAIN(VideoPipelineTest)
#include "tst_video_pipeline.moc"
