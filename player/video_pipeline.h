// player/video_pipeline.h — one video item played by a GStreamer pipeline
// the player builds itself, drawn by Qt Multimedia's VideoOutput.
//
// Why not Qt's MediaPlayer (the `qt` engine, removed since): in Qt 6.4.2
// its GStreamer back-end builds and tears down the pipeline synchronously on
// the GUI thread (50-190 ms per video here), which holds back the render
// loop exactly at a switch, and it cannot play the same file in two players
// at once ("Internal data stream error."), so a one-video playlist cannot
// loop through the second slot. Here the GUI thread only creates a playbin
// (a few elements, no I/O) and sets states, which GStreamer completes on its
// own streaming threads; teardown runs on GStreamer's thread pool,
// kTeardownDelayMs after the item goes (after the switch's frames) and at
// the streaming threads' lower priority, and gives the freed heap back
// (malloc_trim) when it is done. Frames come out of an appsink as I420/NV12
// and are copied into QVideoFrames; the prerolled frame, which GStreamer
// renders again as the first sample once the pipeline plays (at a switch's
// very moment), is handed over once, not copied and uploaded twice.
// decodebin picks the decoder, so on a Pi the V4L2 hardware decoder is used
// as with Qt's back-end.
//
// Used from qml/MediaSlot.qml:
//   VideoPipeline { sink: output.videoSink; source: ...; playing: ...; muted: ... }
// The pipeline starts (to PAUSED: it prerolls, and its first frame reaches
// the sink) once both `source` and `sink` are set; `playing` moves it
// between PAUSED and PLAYING. failed() and ended() are emitted at most once
// in total (whichever comes first), and one of them always comes: a pipeline
// that shows no frame within `startTimeoutMs` of starting fails by itself.
// (GStreamer 1.22's decodebin drops an error its demuxer posts while it is
// still bringing the demuxer up: a cut mp4 header then gives no error, no
// frame and no end; tests/player/tst_video_pipeline.cpp hit it.)
//
// Live streams (v1.1 §14, `live: true`): rtsp:// (rtspsrc) and HLS
// (hlsdemux) through the same playbin. A live source produces nothing in
// PAUSED, so a live pipeline goes straight to PLAYING whatever `playing`
// says (a hidden stream plays muted: its first frame makes it Ready, and
// it stays at the live edge, not where it stood when it was loaded);
// seek() does nothing; EOS is a failure ("the stream ended"), not an end:
// a live stream has no end of its own. rtspsrc is tuned for a screen, not
// a recorder: 200 ms jitter buffer (its 2 s default delays the first
// picture by as much) and TCP after 2 s without UDP packets (so a
// firewalled camera still starts within the 5 s the spec allows).
//
// Threads: frames and bus messages arrive on GStreamer's streaming threads
// and are handed to the GUI thread through `Bridge` (below); the sink is
// only ever touched on the GUI thread, where its lifetime is known. (Not
// from the streaming thread, though Qt 6.4.2's QVideoSink::setVideoFrame
// takes a mutex and VideoOutput takes the frame on a direct connection, as
// Qt's own GStreamer back-end uses it: VideoOutput still asks the GUI
// thread for the repaint (a queued call per frame), so the GUI thread's
// event loop stays on the way, and a sink QML destroys gives a streaming
// thread no warning: VideoOutput's members go before any signal.)
// Every streaming thread of the pipeline (source, demuxer, queues, the
// decoder with the threads it starts, the frame copy) runs at the main
// (GUI) thread's nice plus kStreamingThreadNice: a lower priority than the
// GUI and render threads, which keep the process's own. When the
// CPU is short, a decoder's burst (a preload's start and preroll, a large
// frame) waits for the frame being drawn instead of delaying it, and the
// decoder drops the frames it is late for (the sink's QoS) rather than the
// whole screen losing one. Audio output (the audio sink's ring-buffer
// thread and playsink's "aqueue" in front of it) keeps its priority: a
// late audio buffer is a click. Each pipeline logs, when it goes (debug),
// how many frames reached the sink, how many its decoder dropped late and
// how many a newer frame replaced before the GUI thread took them.
#pragma once

#include <QObject>
#include <QPointer>
#include <QQmlParserStatus>
#include <QTimer>
#include <QUrl>
#include <QVideoFrame>
#include <QVideoSink>

#include <memory>

typedef struct _GstElement GstElement;

namespace stoa::player {

// How much nicer than the main thread a pipeline's streaming threads run
// (see above): 5 gives the render thread three times their share of a
// contended core. Relative, so a player started at nice -5 (a unit's
// Nice=) keeps its decoders at 0, level with the rest of the system.
// A thread already lower is left as it is; capped at 19.
inline constexpr int kStreamingThreadNice = 5;

// A pipeline whose item went is torn down this long after (see above):
// after the switch's own frames (bench/layout_bench counts +-250 ms around
// a switch) and before the next item's load (RegionPlayer loads it 500 ms
// after a switch), so neither lands on the frames of the switch.
inline constexpr int kTeardownDelayMs = 300;

class VideoPipeline : public QObject, public QQmlParserStatus {
    Q_OBJECT
    Q_INTERFACES(QQmlParserStatus)
    Q_PROPERTY(QUrl source READ source WRITE setSource NOTIFY sourceChanged)
    Q_PROPERTY(QVideoSink *sink READ sink WRITE setSink NOTIFY sinkChanged)
    Q_PROPERTY(bool playing READ playing WRITE setPlaying NOTIFY playingChanged)
    Q_PROPERTY(bool muted READ muted WRITE setMuted NOTIFY mutedChanged)
    Q_PROPERTY(int startTimeoutMs READ startTimeoutMs WRITE setStartTimeoutMs NOTIFY startTimeoutMsChanged)
    // A live stream (set before the source; see above).
    Q_PROPERTY(bool live READ live WRITE setLive NOTIFY liveChanged)
public:
    explicit VideoPipeline(QObject *parent = nullptr);
    // Hands the pipeline to GStreamer's thread pool for its way to NULL,
    // kTeardownDelayMs later (its appsink refuses frames meanwhile, which
    // stops its streaming threads); no signal or frame from it reaches
    // anything after this.
    ~VideoPipeline() override;

    QUrl source() const { return m_source; }
    void setSource(const QUrl &source); // once; a second source is ignored (one item per pipeline)
    QVideoSink *sink() const { return m_sink; }
    void setSink(QVideoSink *sink);
    bool playing() const { return m_playing; }
    void setPlaying(bool playing);
    bool muted() const { return m_muted; }
    void setMuted(bool muted);
    int startTimeoutMs() const { return m_startDeadline.interval(); }
    void setStartTimeoutMs(int ms); // default 10000; the player's slots time out first (5 s)
    bool live() const { return m_live; }
    void setLive(bool live); // before the pipeline starts; later changes are ignored

    // Plays on from `ms` into the video (a flushing, accurate seek; v1.1 §13
    // a synchronised slot joined mid-way). Before the first frame the seek
    // waits for it (GStreamer seeks a prerolled pipeline); after an end or
    // a failure it does nothing. sought() comes once the frame at `ms` is
    // in the sink (a paused pipeline holds it there: sought while hidden,
    // it is the first picture shown); a refused seek never gives it.
    Q_INVOKABLE void seek(qint64 ms);

    // Frames handed to the sink so far (the preroll frame included).
    qint64 framesDelivered() const { return m_delivered; }

    void classBegin() override {}
    void componentComplete() override;

    // Shared with the streaming threads; defined in the .cpp.
    struct Bridge;

signals:
    void sourceChanged();
    void sinkChanged();
    void playingChanged();
    void mutedChanged();
    void startTimeoutMsChanged();
    void liveChanged();
    void failed(const QString &reason);
    void ended();
    void sought();

private:
    void start();
    void applyState();
    void deliverFrame();
    void present(const QVideoFrame &frame); // to m_sink (set), counted and remembered
    void onError(const QString &reason);
    void onEnd();

    // --- GUI thread only.
    QUrl m_source;
    QPointer<QVideoSink> m_sink;
    bool m_playing = false;
    bool m_muted = false;
    bool m_live = false;
    bool m_complete = false; // QML set every initial property (componentComplete)
    bool m_finished = false; // failed() or ended() was emitted
    qint64 m_delivered = 0;
    qint64 m_pendingSeekMs = -1; // seek() before the first frame: done at it
    qint64 m_seekTargetUs = -1;  // a seek issued, its frame not in the sink yet (sought() then)
    QTimer m_startDeadline; // runs from start() to the first frame
    // A frame that came before the sink was set (the preroll frame, usually):
    // delivered when the sink arrives. Invariant: null while m_sink is set.
    QVideoFrame m_held;
    // The last frame handed to the sink (shared with it, no copy): the
    // destructor clears the sink only while it still shows this one.
    QVideoFrame m_lastDelivered;
    // Owned (one reference); null until start(), and after a failed build.
    GstElement *m_pipeline = nullptr;
    std::shared_ptr<Bridge> m_bridge;
};

} // namespace stoa::player
