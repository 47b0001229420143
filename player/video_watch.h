// player/video_watch.h — watches one video's sink from C++: first frame and stalls.
//
// Why C++: a QML handler on QVideoSink::videoFrameChanged receives every
// frame as a JavaScript value; each one pins a decoded frame (about 3 MB at
// 1080p) until the JS garbage collector runs, which it rarely does since the
// wrapper looks small: RSS grew ~50 MB/s while a 1080p video played. Here the
// per-frame work is a counter, a timestamp and a timer restart; no
// QVideoFrame is ever kept.
//
// Used from qml/MediaSlot.qml as `VideoWatch { sink: output.videoSink; ... }`.
// Empty frames (a sink being cleared) do not count as frames.
// Invariants: firstFrame() is emitted once per watch (the first frame after
// `sink` is set); stalled() only while `active` and after the first frame,
// when no frame came for `stallMs`; a new sink starts over.
#pragma once

#include <QElapsedTimer>
#include <QObject>
#include <QPointer>
#include <QTimer>
#include <QVideoSink>

namespace stoa::player {

class VideoWatch : public QObject {
    Q_OBJECT
    Q_PROPERTY(QVideoSink *sink READ sink WRITE setSink NOTIFY sinkChanged)
    Q_PROPERTY(bool active READ active WRITE setActive NOTIFY activeChanged)
    Q_PROPERTY(int stallMs READ stallMs WRITE setStallMs NOTIFY stallMsChanged)
public:
    explicit VideoWatch(QObject *parent = nullptr);

    QVideoSink *sink() const { return m_sink; }
    void setSink(QVideoSink *sink);
    // True while the video is meant to advance (shown, playing, not at its end).
    bool active() const { return m_active; }
    void setActive(bool active);
    int stallMs() const { return m_stall.interval(); }
    void setStallMs(int ms);

    // Frames seen since the sink was set, and when the last one came (ms on
    // a monotonic clock started with this watch; -1 before the first).
    qint64 frames() const { return m_frames; }
    qint64 lastFrameMs() const { return m_frames > 0 ? m_lastFrameMs : -1; }

signals:
    void sinkChanged();
    void activeChanged();
    void stallMsChanged();
    void firstFrame();
    void stalled();

private:
    void onFrame();
    void armStall();

    QPointer<QVideoSink> m_sink;
    QMetaObject::Connection m_connection;
    bool m_active = false;
    qint64 m_frames = 0;
    qint64 m_lastFrameMs = 0;
    QElapsedTimer m_clock;
    QTimer m_stall;
};

} // namespace stoa::player
