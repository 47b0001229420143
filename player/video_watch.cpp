// player/video_watch.cpp — first frame and stall detection (see video_watch.h).
#include "player/video_watch.h"

#include <QVideoFrame>

namespace stoa::player {

VideoWatch::VideoWatch(QObject *parent) : QObject(parent)
{
    m_clock.start();
    m_stall.setSingleShot(true);
    m_stall.setInterval(5000);
    connect(&m_stall, &QTimer::timeout, this, [this] {
        if (m_active && m_frames > 0)
            emit stalled();
    });
}

void VideoWatch::setSink(QVideoSink *sink)
{
    if (sink == m_sink)
        return;
    disconnect(m_connection);
    m_sink = sink;
    m_frames = 0;
    m_stall.stop();
    // Nothing keeps the frame beyond this call. An empty frame is a sink
    // being cleared (a slot's lasting VideoOutput between two items), not a
    // frame of the video.
    if (sink)
        m_connection = connect(sink, &QVideoSink::videoFrameChanged, this, [this](const QVideoFrame &frame) {
            if (frame.isValid())
                onFrame();
        });
    emit sinkChanged();
}

void VideoWatch::setActive(bool active)
{
    if (active == m_active)
        return;
    m_active = active;
    armStall();
    emit activeChanged();
}

void VideoWatch::setStallMs(int ms)
{
    if (ms == m_stall.interval())
        return;
    m_stall.setInterval(ms);
    armStall();
    emit stallMsChanged();
}

void VideoWatch::onFrame()
{
    ++m_frames;
    m_lastFrameMs = m_clock.elapsed();
    if (m_frames == 1)
        emit firstFrame();
    if (m_active)
        m_stall.start();
}

void VideoWatch::armStall()
{
    if (m_active && m_frames > 0)
        m_stall.start();
    else
        m_stall.stop();
}

} // namespace stoa::player
