// player/video_pipeline.cpp — a video item's own GStreamer pipeline (see video_pipeline.h).
#include "player/video_pipeline.h"

#include "player/logging.h"

#include <gst/app/gstappsink.h>
#include <gst/gst.h>
#include <gst/video/video.h>

#include <QCoreApplication>
#include <QMetaObject>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <functional>
#include <mutex>
#include <utility>

#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <sys/resource.h>
#include <unistd.h>

namespace stoa::player {

namespace {

// playbin's GstPlayFlags (gst-plugins-base, playback/gstplay-enum.h; not in
// a public header): video, audio, software volume (mute/volume work without
// a hardware mixer), deinterlacing. No subtitles, no visualisations.
constexpr guint kPlayFlagVideo = 0x1;
constexpr guint kPlayFlagAudio = 0x2;
constexpr guint kPlayFlagSoftVolume = 0x10;
constexpr guint kPlayFlagDeinterlace = 0x200;

// The formats VideoOutput draws without a conversion of its own; a decoder
// giving anything else (rare) goes through videoconvert, which otherwise
// passes buffers through untouched.
constexpr const char *kFrameCaps = "video/x-raw,format=(string){I420,NV12}";

// rtspsrc for a screen (video_pipeline.h): jitter buffer in ms, and how
// long without UDP packets before it tries TCP (µs).
constexpr guint kRtspLatencyMs = 200;
constexpr guint64 kRtspUdpTimeoutUs = 2'000'000;
// A frame starting this much before a seek's target holds it (10 fps and up).
constexpr qint64 kSoughtSlackUs = 100'000;

// playbin's source-setup (GStreamer's thread): tunes rtspsrc for a live picture.
void onSourceSetup(GstElement *, GstElement *source, gpointer)
{
    GstElementFactory *factory = gst_element_get_factory(source);
    if (factory && std::strcmp(GST_OBJECT_NAME(factory), "rtspsrc") == 0)
        g_object_set(source, "latency", kRtspLatencyMs, "timeout", kRtspUdpTimeoutUs, nullptr);
}

// Whether a streaming thread started for `owner` feeds the audio output:
// the audio sink's own ring-buffer thread, or playsink's queue in front of
// the audio sink (gst-plugins-base names it "aqueue"; its video twin is
// "vqueue").
bool feedsAudioOutput(GstElement *owner)
{
    if (!owner)
        return false;
    const gchar *klass = gst_element_get_metadata(owner, GST_ELEMENT_METADATA_KLASS);
    if (klass && std::strstr(klass, "Sink") && std::strstr(klass, "Audio"))
        return true;
    return g_str_has_prefix(GST_OBJECT_NAME(owner), "aqueue");
}

// Called on a streaming thread as it starts (its STREAM_STATUS ENTER
// message is posted from the thread itself): lowers that thread, and the
// threads it starts later (a decoder's), to kStreamingThreadNice above the
// main thread's nice. Linux keeps nice per thread, so PRIO_PROCESS with a
// thread id touches only that thread (the process id: the main thread).
// Measured from the main thread, not this one: a thread started by an
// already lowered one inherits its nice and is not lowered twice.
void lowerThisThread()
{
    const auto tid = id_t(::gettid());
    errno = 0; // getpriority() may return -1 as a value: errno tells
    const int mainNice = getpriority(PRIO_PROCESS, id_t(::getpid()));
    if (errno != 0)
        return;
    const int now = getpriority(PRIO_PROCESS, tid);
    if (errno != 0)
        return;
    const int target = std::min(19, mainNice + kStreamingThreadNice);
    if (now >= target)
        return;
    if (setpriority(PRIO_PROCESS, tid, target) != 0)
        qCInfo(lcPlayer, "cannot lower a video streaming thread to nice %d: %s", target, std::strerror(errno));
}

// Takes `pipeline` (its reference) to NULL and drops it, kTeardownDelayMs
// from now. Never on the GUI thread: going to NULL joins the streaming
// threads (a decoder finishing its frame). On a GStreamer pool thread,
// lowered as the streaming threads are
// (lowerThisThread); then gives the freed heap back (malloc_trim: the
// decoder's buffers and context are freed by then). Until then the
// pipeline stands still: its appsink refuses frames (the bridge has no
// owner), which stops its streaming threads at their next frame.
// A pending teardown still runs when the application goes first (the
// holder's destructor), so no pipeline is left behind.
void tearDownLater(GstElement *pipeline)
{
    struct Holder {
        explicit Holder(GstElement *p) : pipeline(p) {}
        Holder(const Holder &) = delete;
        Holder &operator=(const Holder &) = delete;
        GstElement *pipeline;
        ~Holder()
        {
            // The call holds its own reference.
            gst_element_call_async(
                pipeline,
                [](GstElement *element, gpointer) {
                    lowerThisThread();
                    gst_element_set_state(element, GST_STATE_NULL);
#if defined(__GLIBC__)
                    malloc_trim(0);
#endif
                },
                nullptr, nullptr);
            gst_object_unref(pipeline);
        }
    };
    auto holder = std::make_shared<Holder>(pipeline);
    QCoreApplication *app = QCoreApplication::instance();
    if (!app)
        return; // the holder goes now
    QTimer::singleShot(kTeardownDelayMs, app, [holder = std::move(holder)]() mutable { holder.reset(); });
}

QVideoFrame toVideoFrame(GstSample *sample)
{
    GstCaps *caps = gst_sample_get_caps(sample);
    GstBuffer *buffer = gst_sample_get_buffer(sample);
    GstVideoInfo info;
    if (!caps || !buffer || !gst_video_info_from_caps(&info, caps))
        return {};
    QVideoFrameFormat::PixelFormat pixelFormat;
    switch (GST_VIDEO_INFO_FORMAT(&info)) {
    case GST_VIDEO_FORMAT_I420: pixelFormat = QVideoFrameFormat::Format_YUV420P; break;
    case GST_VIDEO_FORMAT_NV12: pixelFormat = QVideoFrameFormat::Format_NV12; break;
    default: return {};
    }
    QVideoFrameFormat format(QSize(GST_VIDEO_INFO_WIDTH(&info), GST_VIDEO_INFO_HEIGHT(&info)), pixelFormat);
    format.setColorSpace(info.colorimetry.matrix == GST_VIDEO_COLOR_MATRIX_BT709 ? QVideoFrameFormat::ColorSpace_BT709
                                                                                 : QVideoFrameFormat::ColorSpace_BT601);
    format.setColorRange(info.colorimetry.range == GST_VIDEO_COLOR_RANGE_0_255 ? QVideoFrameFormat::ColorRange_Full
                                                                               : QVideoFrameFormat::ColorRange_Video);
    GstVideoFrame source;
    if (!gst_video_frame_map(&source, &info, buffer, GST_MAP_READ))
        return {};
    QVideoFrame frame(format);
    bool ok = frame.map(QVideoFrame::WriteOnly) && frame.planeCount() == int(GST_VIDEO_FRAME_N_PLANES(&source));
    for (int p = 0; ok && p < frame.planeCount(); ++p) {
        const int sourceStride = GST_VIDEO_FRAME_PLANE_STRIDE(&source, p);
        const int stride = frame.bytesPerLine(p);
        // Plane p holds component p's rows for both I420 and NV12 (NV12's
        // plane 1 interleaves U and V at the chroma height).
        const int rows = std::min(GST_VIDEO_FRAME_COMP_HEIGHT(&source, p), stride > 0 ? frame.mappedBytes(p) / stride : 0);
        const int rowBytes = std::min(sourceStride, stride);
        const auto *from = static_cast<const uchar *>(GST_VIDEO_FRAME_PLANE_DATA(&source, p));
        uchar *to = frame.bits(p);
        for (int row = 0; row < rows; ++row)
            std::memcpy(to + qsizetype(row) * stride, from + qsizetype(row) * sourceStride, size_t(rowBytes));
    }
    if (frame.isMapped())
        frame.unmap();
    gst_video_frame_unmap(&source);
    if (!ok)
        return {};
    if (GST_BUFFER_PTS_IS_VALID(buffer))
        frame.setStartTime(qint64(GST_BUFFER_PTS(buffer) / 1000));
    return frame;
}

} // namespace

// What the streaming threads share with the GUI thread. They never touch the
// VideoPipeline itself: they post to it while `owner` is set, under `mutex`,
// and the destructor clears `owner` under the same mutex first; events
// already posted to a deleted QObject are discarded by Qt.
struct VideoPipeline::Bridge {
    std::mutex mutex;
    // --- The following fields are protected by mutex.
    VideoPipeline *owner = nullptr; // null once the owner is being destroyed
    QVideoFrame pending;            // newest frame not yet taken by the GUI thread
    bool framePosted = false;       // a deliverFrame() call is queued; newer frames replace `pending`
    qint64 replaced = 0;            // frames replaced in `pending` before the GUI thread took them
    // The last preroll buffer (identity only, never dereferenced) and its
    // timestamp, until the next sample: onFrame skips its second coming.
    const GstBuffer *preroll = nullptr;
    GstClockTime prerollPts = GST_CLOCK_TIME_NONE;
    // --- Not under the mutex.
    std::atomic<qint64> droppedLate{0}; // QOS messages: frames dropped for lateness

    void post(std::function<void(VideoPipeline *)> call)
    {
        std::lock_guard lock(mutex);
        if (owner)
            QMetaObject::invokeMethod(
                owner, [o = owner, call = std::move(call)] { call(o); }, Qt::QueuedConnection);
    }

    static GstFlowReturn onFrame(GstAppSink *appsink, gpointer data, bool preroll)
    {
        Bridge &bridge = **static_cast<std::shared_ptr<Bridge> *>(data);
        GstSample *sample = preroll ? gst_app_sink_pull_preroll(appsink) : gst_app_sink_pull_sample(appsink);
        if (!sample)
            return GST_FLOW_OK; // flushing or at the end: nothing to show
        // A prerolled buffer comes again as the first sample once the
        // pipeline plays (basesink renders what it prerolled): the frame in
        // the sink already, and at a switch's very moment. Not copied again.
        if (const GstBuffer *buffer = gst_sample_get_buffer(sample)) {
            std::lock_guard lock(bridge.mutex);
            const bool again = !preroll && buffer == bridge.preroll && GST_BUFFER_PTS(buffer) == bridge.prerollPts;
            bridge.preroll = preroll ? buffer : nullptr;
            bridge.prerollPts = GST_BUFFER_PTS(buffer);
            if (again) {
                gst_sample_unref(sample);
                return bridge.owner ? GST_FLOW_OK : GST_FLOW_FLUSHING;
            }
        }
        QVideoFrame frame = toVideoFrame(sample);
        gst_sample_unref(sample);
        if (!frame.isValid())
            return GST_FLOW_OK;
        std::lock_guard lock(bridge.mutex);
        if (!bridge.owner)
            return GST_FLOW_FLUSHING;
        if (bridge.pending.isValid())
            ++bridge.replaced;
        bridge.pending = std::move(frame);
        if (!bridge.framePosted) {
            bridge.framePosted = true;
            QMetaObject::invokeMethod(
                bridge.owner, [o = bridge.owner] { o->deliverFrame(); }, Qt::QueuedConnection);
        }
        return GST_FLOW_OK;
    }
    static GstFlowReturn onPreroll(GstAppSink *appsink, gpointer data) { return onFrame(appsink, data, true); }
    static GstFlowReturn onSample(GstAppSink *appsink, gpointer data) { return onFrame(appsink, data, false); }

    static GstBusSyncReply onMessage(GstBus *, GstMessage *message, gpointer data)
    {
        Bridge &bridge = **static_cast<std::shared_ptr<Bridge> *>(data);
        switch (GST_MESSAGE_TYPE(message)) {
        case GST_MESSAGE_ERROR: {
            GError *error = nullptr;
            gchar *debug = nullptr;
            gst_message_parse_error(message, &error, &debug);
            const QString reason = QString::fromUtf8(error && error->message ? error->message : "video error");
            qCInfo(lcPlayer, "video pipeline error from %s: %s (%s)", GST_OBJECT_NAME(GST_MESSAGE_SRC(message)),
                   qPrintable(reason), debug ? debug : "");
            g_clear_error(&error);
            g_free(debug);
            bridge.post([reason](VideoPipeline *o) { o->onError(reason); });
            break;
        }
        case GST_MESSAGE_WARNING: {
            GError *error = nullptr;
            gchar *debug = nullptr;
            gst_message_parse_warning(message, &error, &debug);
            qCInfo(lcPlayer, "video pipeline warning from %s: %s", GST_OBJECT_NAME(GST_MESSAGE_SRC(message)),
                   error && error->message ? error->message : "");
            g_clear_error(&error);
            g_free(debug);
            break;
        }
        case GST_MESSAGE_EOS: // posted by the pipeline once every sink has reached the end
            bridge.post([](VideoPipeline *o) { o->onEnd(); });
            break;
        case GST_MESSAGE_STREAM_STATUS: { // on the streaming thread it is about
            GstStreamStatusType type;
            GstElement *owner = nullptr;
            gst_message_parse_stream_status(message, &type, &owner);
            if (type == GST_STREAM_STATUS_TYPE_ENTER && !feedsAudioOutput(owner))
                lowerThisThread();
            break;
        }
        case GST_MESSAGE_QOS: // a decoder (or sink) dropped a frame it was late for
            bridge.droppedLate.fetch_add(1, std::memory_order_relaxed);
            break;
        default:
            break;
        }
        // Nobody else reads this bus. A sync handler that drops a message
        // owns it (GstBusSyncHandler): without this unref every message,
        // and through its source the pipeline itself, leaked (~2.8 MB per
        // video item in the soak).
        gst_message_unref(message);
        return GST_BUS_DROP;
    }
};

namespace {

gpointer shareBridge(const std::shared_ptr<VideoPipeline::Bridge> &bridge)
{
    return new std::shared_ptr<VideoPipeline::Bridge>(bridge);
}

void releaseBridge(gpointer data)
{
    delete static_cast<std::shared_ptr<VideoPipeline::Bridge> *>(data);
}

} // namespace

VideoPipeline::VideoPipeline(QObject *parent) : QObject(parent)
{
    m_startDeadline.setSingleShot(true);
    m_startDeadline.setInterval(10000);
    connect(&m_startDeadline, &QTimer::timeout, this, [this] {
        qCWarning(lcPlayer, "video pipeline for %s: no frame and no error within %d ms", qPrintable(m_source.toString()),
                  m_startDeadline.interval());
        onError(QStringLiteral("no frame within %1 ms").arg(m_startDeadline.interval()));
    });
}

VideoPipeline::~VideoPipeline()
{
    if (m_bridge) {
        std::lock_guard lock(m_bridge->mutex);
        m_bridge->owner = nullptr;
        m_bridge->pending = {};
        // bench/layout_bench.cpp reads this line (video frames per item).
        qCDebug(lcPlayer, "video pipeline for %s done: %lld frames to the sink, %lld dropped late, %lld replaced",
                qPrintable(m_source.toString()), static_cast<long long>(m_delivered),
                static_cast<long long>(m_bridge->droppedLate.load(std::memory_order_relaxed)),
                static_cast<long long>(m_bridge->replaced));
    }
    // The slot's VideoOutput outlives this item: do not leave it our last
    // frame (a screen's worth of memory) when the next item is an image.
    // Only when the frame there is still ours: a slot's next pipeline may
    // already have put its first frame into the same sink.
    if (m_sink && m_delivered > 0 && m_sink->videoFrame() == m_lastDelivered)
        m_sink->setVideoFrame(QVideoFrame());
    if (m_pipeline)
        tearDownLater(std::exchange(m_pipeline, nullptr));
}

void VideoPipeline::setSource(const QUrl &source)
{
    if (source == m_source || m_pipeline)
        return;
    m_source = source;
    emit sourceChanged();
    start();
}

void VideoPipeline::setSink(QVideoSink *sink)
{
    if (sink == m_sink)
        return;
    m_sink = sink;
    if (m_sink && m_held.isValid())
        present(std::exchange(m_held, QVideoFrame()));
    emit sinkChanged();
}

void VideoPipeline::setPlaying(bool playing)
{
    if (playing == m_playing)
        return;
    m_playing = playing;
    applyState();
    emit playingChanged();
}

void VideoPipeline::setMuted(bool muted)
{
    if (muted == m_muted)
        return;
    m_muted = muted;
    if (m_pipeline)
        g_object_set(m_pipeline, "mute", gboolean(muted), nullptr);
    emit mutedChanged();
}

void VideoPipeline::setStartTimeoutMs(int ms)
{
    if (ms == m_startDeadline.interval())
        return;
    m_startDeadline.setInterval(ms); // restarts it when running
    emit startTimeoutMsChanged();
}

void VideoPipeline::setLive(bool live)
{
    if (live == m_live || m_pipeline)
        return;
    m_live = live;
    emit liveChanged();
}

void VideoPipeline::componentComplete()
{
    m_complete = true;
    start();
}

void VideoPipeline::start()
{
    if (!m_complete || m_pipeline || m_finished || !m_source.isValid())
        return;
    const auto fail = [this](const QString &reason) {
        qCWarning(lcPlayer, "cannot build a video pipeline: %s", qPrintable(reason));
        // Queued: the handler may destroy this object (the slot is released).
        QMetaObject::invokeMethod(this, [this, reason] { onError(reason); }, Qt::QueuedConnection);
    };
    GError *error = nullptr;
    if (!gst_init_check(nullptr, nullptr, &error)) {
        fail(QStringLiteral("GStreamer: %1").arg(QString::fromUtf8(error ? error->message : "cannot initialise")));
        g_clear_error(&error);
        return;
    }
    GstElement *playbin = gst_element_factory_make("playbin", nullptr);
    GstElement *videoBin = gst_parse_bin_from_description("videoconvert ! appsink name=frames", TRUE, &error);
    if (!playbin || !videoBin) {
        fail(QStringLiteral("GStreamer elements missing (playbin, videoconvert, appsink): %1")
                 .arg(QString::fromUtf8(error ? error->message : "no playbin")));
        g_clear_error(&error);
        if (playbin)
            gst_object_unref(playbin);
        if (videoBin)
            gst_object_unref(videoBin);
        return;
    }
    m_bridge = std::make_shared<Bridge>();
    m_bridge->owner = this;

    GstElement *appsink = gst_bin_get_by_name(GST_BIN(videoBin), "frames");
    GstCaps *caps = gst_caps_from_string(kFrameCaps);
    // sync: frames leave at their presentation time on the pipeline clock;
    // no last-sample copy kept; at most two decoded frames queued.
    g_object_set(appsink, "caps", caps, "sync", TRUE, "enable-last-sample", FALSE, "max-buffers", guint(2),
                 "qos", TRUE, nullptr);
    gst_caps_unref(caps);
    GstAppSinkCallbacks callbacks{};
    callbacks.new_preroll = &Bridge::onPreroll;
    callbacks.new_sample = &Bridge::onSample;
    gst_app_sink_set_callbacks(GST_APP_SINK(appsink), &callbacks, shareBridge(m_bridge), &releaseBridge);
    gst_object_unref(appsink);

    const QByteArray uri = m_source.toEncoded();
    g_object_set(playbin, "uri", uri.constData(), "video-sink", videoBin, "mute", gboolean(m_muted), "flags",
                 kPlayFlagVideo | kPlayFlagAudio | kPlayFlagSoftVolume | kPlayFlagDeinterlace, nullptr);
    if (m_live)
        g_signal_connect(playbin, "source-setup", G_CALLBACK(&onSourceSetup), nullptr);
    GstBus *bus = gst_element_get_bus(playbin);
    gst_bus_set_sync_handler(bus, &Bridge::onMessage, shareBridge(m_bridge), &releaseBridge);
    gst_object_unref(bus);

    m_pipeline = GST_ELEMENT(gst_object_ref_sink(playbin));
    qCDebug(lcPlayer, "video pipeline for %s%s", qPrintable(m_source.toString()), m_live ? " (live)" : "");
    m_startDeadline.start();
    applyState();
}

void VideoPipeline::applyState()
{
    if (!m_pipeline || m_finished)
        return;
    // PAUSED prerolls (the first frame reaches the sink); both changes finish
    // on the streaming threads, so this returns at once. A live source has
    // no preroll: it plays from the start, hidden or not.
    if (gst_element_set_state(m_pipeline, m_playing || m_live ? GST_STATE_PLAYING : GST_STATE_PAUSED) ==
        GST_STATE_CHANGE_FAILURE)
        qCInfo(lcPlayer, "video pipeline for %s refused a state change (its error follows)",
               qPrintable(m_source.toString()));
}

void VideoPipeline::deliverFrame()
{
    QVideoFrame frame;
    {
        std::lock_guard lock(m_bridge->mutex);
        frame = std::exchange(m_bridge->pending, QVideoFrame());
        m_bridge->framePosted = false;
    }
    if (!frame.isValid())
        return;
    m_startDeadline.stop();
    if (m_sink)
        present(frame);
    else
        m_held = frame;
    // The sought frame: an accurate seek gives the frame that holds the
    // target, which starts at most a frame period before it (100 ms: down
    // to 10 fps); a frame of before the flush (frame 0 of a prerolled
    // pipeline, queued) starts earlier. Without a timestamp, any frame.
    if (m_seekTargetUs >= 0 && m_sink &&
        (frame.startTime() < 0 || frame.startTime() >= m_seekTargetUs - kSoughtSlackUs)) {
        m_seekTargetUs = -1;
        emit sought();
    }
    if (m_pendingSeekMs >= 0)
        seek(std::exchange(m_pendingSeekMs, -1));
}

void VideoPipeline::seek(qint64 ms)
{
    if (!m_pipeline || m_finished || ms < 0 || m_live)
        return;
    if (m_delivered == 0 && !m_held.isValid()) {
        m_pendingSeekMs = ms; // not prerolled yet
        return;
    }
    // ACCURATE: from the frame at `ms`, not the keyframe before it (a
    // synchronised wall must show the same frame on every screen).
    if (gst_element_seek_simple(m_pipeline, GST_FORMAT_TIME,
                                GstSeekFlags(GST_SEEK_FLAG_FLUSH | GST_SEEK_FLAG_ACCURATE), gint64(ms) * GST_MSECOND))
        m_seekTargetUs = ms * 1000;
    else
        qCInfo(lcPlayer, "video pipeline for %s refused a seek to %lld ms", qPrintable(m_source.toString()),
               static_cast<long long>(ms));
}

void VideoPipeline::present(const QVideoFrame &frame)
{
    m_sink->setVideoFrame(frame);
    m_lastDelivered = frame;
    ++m_delivered;
}

void VideoPipeline::onError(const QString &reason)
{
    if (m_finished)
        return;
    m_finished = true;
    m_startDeadline.stop();
    emit failed(reason);
}

void VideoPipeline::onEnd()
{
    if (m_live) { // the source went away (an HLS list closed, the camera's session ended)
        onError(QStringLiteral("the stream ended"));
        return;
    }
    if (m_finished)
        return;
    m_finished = true;
    m_startDeadline.stop();
    emit ended();
}

} // namespace stoa::player
