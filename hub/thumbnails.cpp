// hub/thumbnails.cpp — a video's frame as a JPEG, with GStreamer (thumbnails.h).
// The pipeline is playbin (video only) into a bin of videoconvert,
// videoscale to the width at square pixels, jpegenc and an appsink: the
// prerolled buffer is the JPEG. A video longer than 3 s is sought to 1 s
// first (a first frame is often black).
#include "hub/thumbnails.h"

#include "hub/logging.h"
#include "publish/site.h"

#include <QByteArrayView>
#include <QDateTime>
#include <QDir>
#include <QFileInfo>
#include <QUrl>

#include <gst/app/gstappsink.h>
#include <gst/gst.h>

#include <expected>
#include <fstream>
#include <mutex>

namespace stoa::hub {
namespace {

std::once_flag gstOnce;
bool gstReady = false;

// The error a pipeline posted, if any.
std::string busError(GstElement *pipeline)
{
    GstBus *bus = gst_element_get_bus(pipeline);
    std::string why;
    while (GstMessage *m = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR)) {
        GError *err = nullptr;
        gchar *debug = nullptr;
        gst_message_parse_error(m, &err, &debug);
        if (why.empty() && err)
            why = err->message;
        if (err)
            g_error_free(err);
        g_free(debug);
        gst_message_unref(m);
    }
    gst_object_unref(bus);
    return why;
}

// The prerolled sample's bytes, or why there is none.
std::expected<std::string, std::string> preroll(GstElement *pipeline, GstAppSink *sink, std::chrono::steady_clock::time_point deadline)
{
    // In slices, so an error on the bus (an undecodable file) ends the
    // wait at once instead of at the deadline.
    GstSample *sample = nullptr;
    while (!sample) {
        if (std::string why = busError(pipeline); !why.empty())
            return std::unexpected(why);
        if (gst_app_sink_is_eos(sink))
            return std::unexpected(std::string("the file has no video frame"));
        if (std::chrono::steady_clock::now() >= deadline)
            return std::unexpected(std::string("no frame within the time limit"));
        sample = gst_app_sink_try_pull_preroll(sink, 50 * GST_MSECOND);
    }
    std::string out;
    if (GstBuffer *buffer = gst_sample_get_buffer(sample)) {
        GstMapInfo map;
        if (gst_buffer_map(buffer, &map, GST_MAP_READ)) {
            out.assign(reinterpret_cast<const char *>(map.data), map.size);
            gst_buffer_unmap(buffer, &map);
        }
    }
    gst_sample_unref(sample);
    if (out.empty())
        return std::unexpected(std::string("an empty frame"));
    return out;
}

std::expected<std::string, std::string> grab(const std::string &path, int width, std::chrono::milliseconds timeout)
{
    std::call_once(gstOnce, [] {
        GError *err = nullptr;
        gstReady = gst_init_check(nullptr, nullptr, &err);
        if (!gstReady) {
            qCWarning(lcHub).noquote() << "thumbnails: GStreamer does not start:" << (err ? err->message : "unknown error")
                                       << "(videos keep their icon)";
            if (err)
                g_error_free(err);
        }
    });
    if (!gstReady)
        return std::unexpected(std::string("GStreamer is not available"));
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    GError *err = nullptr;
    const std::string desc = "videoconvert ! videoscale ! video/x-raw,width=" + std::to_string(width)
                             + ",pixel-aspect-ratio=1/1 ! jpegenc quality=85 ! appsink name=sink sync=false max-buffers=1";
    GstElement *bin = gst_parse_bin_from_description(desc.c_str(), TRUE, &err);
    if (!bin) {
        std::string why = err ? err->message : "cannot build the pipeline";
        if (err)
            g_error_free(err);
        return std::unexpected("the thumbnail pipeline: " + why);
    }
    GstElement *pipeline = gst_element_factory_make("playbin", nullptr);
    GstElement *audio = gst_element_factory_make("fakesink", nullptr);
    if (!pipeline || !audio) {
        gst_object_unref(bin);
        if (pipeline)
            gst_object_unref(pipeline);
        if (audio)
            gst_object_unref(audio);
        return std::unexpected(std::string("GStreamer's playbin or fakesink is missing (gstreamer1.0-plugins-base)"));
    }
    GstElement *sinkElement = gst_bin_get_by_name(GST_BIN(bin), "sink");
    const QByteArray uri = QUrl::fromLocalFile(QFileInfo(QString::fromStdString(path)).absoluteFilePath()).toEncoded();
    g_object_set(pipeline, "uri", uri.constData(), "video-sink", bin, "audio-sink", audio, "flags", 0x1 /* video only */, nullptr);

    std::expected<std::string, std::string> out = std::unexpected(std::string());
    if (gst_element_set_state(pipeline, GST_STATE_PAUSED) == GST_STATE_CHANGE_FAILURE) {
        const std::string why = busError(pipeline);
        out = std::unexpected(why.empty() ? std::string("the file does not open as a video") : why);
    } else {
        out = preroll(pipeline, GST_APP_SINK(sinkElement), deadline);
        gint64 duration = 0;
        if (out && gst_element_query_duration(pipeline, GST_FORMAT_TIME, &duration) && duration > 3 * GST_SECOND
            && gst_element_seek_simple(pipeline, GST_FORMAT_TIME, GstSeekFlags(GST_SEEK_FLAG_FLUSH | GST_SEEK_FLAG_KEY_UNIT),
                                       GST_SECOND)) {
            if (auto later = preroll(pipeline, GST_APP_SINK(sinkElement), deadline))
                out = std::move(later); // else keep the first frame
        }
    }
    gst_element_set_state(pipeline, GST_STATE_NULL);
    gst_object_unref(sinkElement);
    gst_object_unref(pipeline);
    return out;
}

} // namespace

Thumbnails::Thumbnails(Options options) : options_(std::move(options)) {}

Thumbnails::~Thumbnails()
{
    {
        std::lock_guard lock(mutex_);
        stop_ = true;
    }
    wake_.notify_all();
    if (worker_.joinable())
        worker_.join();
}

std::string Thumbnails::file(const std::string &hex, const char *ext) const { return options_.dir + "/" + hex + ext; }

Thumbnails::Lookup Thumbnails::get(const std::string &hex, const std::string &path)
{
    if (QFileInfo::exists(QString::fromStdString(file(hex, ".jpg"))))
        return {State::Ready, file(hex, ".jpg"), {}};
    std::ifstream failed(file(hex, ".failed"));
    if (failed) {
        std::string why;
        std::getline(failed, why);
        return {State::Failed, {}, why};
    }
    request(hex, path);
    return {State::Pending, {}, {}};
}

void Thumbnails::request(const std::string &hex, const std::string &path)
{
    std::lock_guard lock(mutex_);
    if (stop_ || queued_.contains(hex) || queue_.size() >= options_.queueMax)
        return;
    queued_.insert(hex);
    queue_.emplace_back(hex, path);
    if (!worker_.joinable())
        worker_ = std::thread([this] { run(); });
    wake_.notify_one();
}

int Thumbnails::prune(const std::set<std::string> &keep, std::int64_t graceMs)
{
    int removed = 0;
    const QDir dir(QString::fromStdString(options_.dir));
    const QDateTime now = QDateTime::currentDateTimeUtc();
    for (const QFileInfo &f : dir.entryInfoList({"*.jpg", "*.failed"}, QDir::Files)) {
        const std::string hex = f.completeBaseName().toStdString();
        if (hex.size() != 64 || keep.contains(hex) || f.lastModified().msecsTo(now) < graceMs)
            continue;
        {
            std::lock_guard lock(mutex_);
            if (queued_.contains(hex))
                continue;
        }
        if (QFile::remove(f.filePath()))
            ++removed;
    }
    if (removed)
        qCInfo(lcHub) << "thumbnails: removed" << removed << "file(s) of videos no longer in the library";
    return removed;
}

void Thumbnails::run()
{
    std::unique_lock lock(mutex_);
    for (;;) {
        wake_.wait(lock, [this] { return stop_ || !queue_.empty(); });
        if (stop_)
            return;
        const auto [hex, path] = queue_.front();
        queue_.pop_front();
        lock.unlock();
        if (!QFileInfo::exists(QString::fromStdString(file(hex, ".jpg")))) {
            const auto started = std::chrono::steady_clock::now();
            auto jpeg = grab(path, options_.width, options_.timeout);
            const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count();
            if (jpeg) {
                if (auto w = publish::writeFileAtomically(QString::fromStdString(file(hex, ".jpg")),
                                                          QByteArrayView(jpeg->data(), static_cast<qsizetype>(jpeg->size())));
                    !w)
                    qCWarning(lcHub).noquote() << "thumbnails: cannot store the thumbnail of" << path.c_str() << ":" << w.error().message;
                else
                    qCInfo(lcHub).noquote() << "thumbnails: made" << file(hex, ".jpg").c_str() << "of" << path.c_str() << "in" << ms << "ms";
            } else {
                qCWarning(lcHub).noquote() << "thumbnails: cannot decode" << path.c_str() << ":" << jpeg.error().c_str()
                                           << "(after" << ms << "ms; the console shows an icon for it)";
                const std::string line = jpeg.error() + "\n";
                (void)publish::writeFileAtomically(QString::fromStdString(file(hex, ".failed")),
                                                   QByteArrayView(line.data(), static_cast<qsizetype>(line.size())));
            }
        }
        lock.lock();
        queued_.erase(hex);
    }
}

} // namespace stoa::hub
