// tools/demo_content.cpp — `stoa-demo-content OUTDIR`: the demo's content, made at build time.
//
// Job: write into OUTDIR what a newcomer sees in `./setup.sh demo`:
//  - four slides (PNG) with real text, drawn by QPainter: what Stoa is, that
//    this content is signed and was verified, "press F1 for diagnostics",
//    how to publish your own;
//  - a 6 s looping VP8/WebM video, frames drawn by QPainter and encoded by
//    GStreamer's C API (appsrc ! videoconvert ! vp8enc ! webmmux): VP8 is in
//    gstreamer1.0-plugins-good, which the player decodes it with too, so no
//    ffmpeg and no patent-encumbered encoder at build time;
//  - schedule.ini, a template (demo_content.h): one layout with the slides,
//    the video, a clock and a ticker.
// Then it publishes that source once, with the publishing code of `stoa
// publish`, into a temporary site with a throw-away key, so a demo that
// would not publish (or whose manifest the device's parser refuses) fails
// the build, not a newcomer's first run. That site and key are deleted: the
// content is signed again at run time (tools/demo.cpp says why).
// Invariants: the video loops without a jump (every animation is periodic
// over the clip); OUTDIR holds exactly the files listed in tools/stoa.cmake.
#include "publish/publish.h"
#include "tools/demo_content.h"

#include <QColor>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QFont>
#include <QGuiApplication>
#include <QImage>
#include <QLinearGradient>
#include <QLoggingCategory>
#include <QPainter>
#include <QPainterPath>
#include <QTemporaryDir>

#include <gst/app/gstappsrc.h>
#include <gst/gst.h>

#include <cmath>
#include <cstdio>
#include <numbers>

Q_LOGGING_CATEGORY(lcDemoContent, "stoa.tools.demo_content")

namespace {

using stoa::tools::DemoRect;

// Slides are drawn for the slides region of a 1920x1080 screen.
constexpr int kSlideW = 1200; // 0.625 * 1920
constexpr int kSlideH = 945;  // 0.875 * 1080
// The video fills its region of a 16:9 screen (0.375 x 0.5: 4:3) exactly.
constexpr int kVideoW = 800;
constexpr int kVideoH = 600;
constexpr int kVideoFps = 25;
constexpr int kVideoFrames = 6 * kVideoFps;

const QColor kInk(0xf4, 0xf1, 0xea);
const QColor kMuted(0xb9, 0xc3, 0xcf);
const QColor kAccent(0xe8, 0xa3, 0x3d);

QFont font(int pixelSize, int weight = QFont::Normal)
{
    QFont f(QStringLiteral("DejaVu Sans"));
    f.setStyleHint(QFont::SansSerif);
    f.setPixelSize(pixelSize);
    f.setWeight(QFont::Weight(weight));
    return f;
}

struct Slide {
    const char *file;
    QColor top, bottom; // background gradient
    const char *kicker; // small line above the title
    const char *title;
    const char *body;   // paragraphs separated by \n
};

const Slide kSlides[] = {
    {"1-stoa.png", QColor(0x14, 0x2b, 0x45), QColor(0x0b, 0x17, 0x26), "WELCOME",
     "This is Stoa",
     "Open digital signage for screens that must not go dark.\n"
     "Schedules, layouts, tickers and synchronised video walls, played without a "
     "black frame between items, from a local store that keeps playing offline for days."},
    {"2-signed.png", QColor(0x17, 0x3d, 0x2f), QColor(0x0b, 0x1f, 0x18), "TRUST",
     "Signed, and verified here",
     "Everything on this screen was published with stoa publish and signed with an "
     "Ed25519 key.\n"
     "This screen checked the signature and every file's SHA-256 before it played a "
     "single pixel. Content signed by anyone else is refused."},
    {"3-diagnostics.png", QColor(0x3d, 0x1f, 0x3a), QColor(0x1d, 0x0e, 0x1c), "ON THE SCREEN",
     "Press F1 for diagnostics",
     "Network, storage, the clock, what plays and why, with a QR code for the "
     "status page. Press F1 again (or d) to close it.\n"
     "On a touch screen: hold a corner for five seconds."},
    {"4-publish.png", QColor(0x40, 0x2a, 0x10), QColor(0x20, 0x14, 0x06), "YOUR TURN",
     "Publish your own",
     "stoa keygen, then write a schedule.ini beside your pictures and videos, and "
     "run stoa publish. Serve the site from any web server or a USB stick: every "
     "screen that trusts your key follows.\n"
     "This demo was made the same way, at build time."},
};

bool drawSlide(const Slide &s, const QString &path)
{
    QImage img(kSlideW, kSlideH, QImage::Format_RGB32);
    QPainter p(&img);
    p.setRenderHint(QPainter::Antialiasing);
    p.setRenderHint(QPainter::TextAntialiasing);
    QLinearGradient bg(0, 0, 0, kSlideH);
    bg.setColorAt(0, s.top);
    bg.setColorAt(1, s.bottom);
    p.fillRect(img.rect(), bg);
    const int margin = 80;
    p.fillRect(margin, 120, 96, 10, kAccent);

    p.setPen(kAccent);
    p.setFont(font(34, QFont::Bold));
    p.drawText(QRect(margin, 150, kSlideW - 2 * margin, 50), Qt::AlignLeft | Qt::AlignVCenter,
               QString::fromUtf8(s.kicker));
    p.setPen(kInk);
    p.setFont(font(84, QFont::Bold));
    QRect title;
    p.drawText(QRect(margin, 210, kSlideW - 2 * margin, 240), Qt::AlignLeft | Qt::AlignTop | Qt::TextWordWrap,
               QString::fromUtf8(s.title), &title);
    int y = title.bottom() + 50;
    const QStringList paragraphs = QString::fromUtf8(s.body).split(u'\n');
    for (int i = 0; i < paragraphs.size(); ++i) {
        p.setPen(i == 0 ? kInk : kMuted);
        p.setFont(font(i == 0 ? 44 : 38));
        QRect used;
        p.drawText(QRect(margin, y, kSlideW - 2 * margin, kSlideH - y - 60),
                   Qt::AlignLeft | Qt::AlignTop | Qt::TextWordWrap, paragraphs[i], &used);
        y = used.bottom() + 36;
    }
    if (y > kSlideH - 40) {
        qCCritical(lcDemoContent, "%s: the text does not fit the slide", s.file);
        return false;
    }
    p.end();
    return img.save(path, "PNG");
}

// One frame of the looping clip; t in [0, 1), periodic.
void drawVideoFrame(QImage &img, double t)
{
    constexpr double tau = 2 * std::numbers::pi;
    QPainter p(&img);
    p.setRenderHint(QPainter::Antialiasing);
    QLinearGradient bg(0, 0, kVideoW, kVideoH);
    bg.setColorAt(0, QColor::fromHsvF(std::fmod(0.55 + 0.1 * std::sin(tau * t), 1.0), 0.75, 0.55));
    bg.setColorAt(1, QColor::fromHsvF(std::fmod(0.85 + 0.1 * std::cos(tau * t), 1.0), 0.8, 0.35));
    p.fillRect(img.rect(), bg);
    // Six discs on an orbit, each a hue of its own: plenty of motion.
    const QPointF centre(kVideoW / 2.0, kVideoH / 2.0 - 40);
    for (int i = 0; i < 6; ++i) {
        const double a = tau * (t + i / 6.0);
        const double r = 170 + 40 * std::sin(tau * (2 * t + i / 3.0));
        const QPointF c = centre + QPointF(r * std::cos(a), 0.6 * r * std::sin(a));
        p.setPen(Qt::NoPen);
        p.setBrush(QColor::fromHsvF(i / 6.0, 0.7, 1.0, 0.9));
        p.drawEllipse(c, 46.0, 46.0);
    }
    p.setPen(kInk);
    p.setFont(font(64, QFont::Bold));
    p.drawText(QRect(0, int(centre.y()) - 50, kVideoW, 100), Qt::AlignCenter, QStringLiteral("Stoa"));
    p.setFont(font(30));
    p.drawText(QRect(0, kVideoH - 110, kVideoW, 50), Qt::AlignCenter, QStringLiteral("a video region: VP8, 25 fps, looping"));
    // A bar sweeping across the bottom edge: the clip's position.
    p.fillRect(QRectF(0, kVideoH - 14, kVideoW * t, 14), kAccent);
}

bool encodeVideo(const QString &path)
{
    GError *error = nullptr;
    const QByteArray description =
        QStringLiteral("appsrc name=src format=time is-live=false block=true "
                       "caps=video/x-raw,format=BGRx,width=%1,height=%2,framerate=%3/1 "
                       "! videoconvert ! vp8enc deadline=1 cpu-used=4 target-bitrate=600000 "
                       "keyframe-max-dist=50 threads=1 ! webmmux ! filesink name=sink")
            .arg(kVideoW).arg(kVideoH).arg(kVideoFps).toUtf8();
    GstElement *pipeline = gst_parse_launch(description.constData(), &error);
    if (!pipeline) {
        qCCritical(lcDemoContent, "GStreamer: %s (needs gstreamer1.0-plugins-base and -good)",
                   error ? error->message : "cannot build the pipeline");
        g_clear_error(&error);
        return false;
    }
    if (error) { // a partial pipeline: some element is missing
        qCCritical(lcDemoContent, "GStreamer: %s", error->message);
        g_clear_error(&error);
        gst_object_unref(pipeline);
        return false;
    }
    GstElement *sink = gst_bin_get_by_name(GST_BIN(pipeline), "sink");
    g_object_set(sink, "location", QFile::encodeName(path).constData(), nullptr);
    gst_object_unref(sink);
    GstElement *src = gst_bin_get_by_name(GST_BIN(pipeline), "src");
    gst_element_set_state(pipeline, GST_STATE_PLAYING);

    bool ok = true;
    QImage frame(kVideoW, kVideoH, QImage::Format_RGB32); // BGRx in memory on little-endian hosts
    for (int i = 0; i < kVideoFrames && ok; ++i) {
        drawVideoFrame(frame, double(i) / kVideoFrames);
        const gsize size = gsize(frame.sizeInBytes());
        GstBuffer *buffer = gst_buffer_new_allocate(nullptr, size, nullptr);
        gst_buffer_fill(buffer, 0, frame.constBits(), size);
        GST_BUFFER_PTS(buffer) = gst_util_uint64_scale(guint64(i), GST_SECOND, kVideoFps);
        GST_BUFFER_DURATION(buffer) = gst_util_uint64_scale(1, GST_SECOND, kVideoFps);
        ok = gst_app_src_push_buffer(GST_APP_SRC(src), buffer) == GST_FLOW_OK; // takes the buffer
    }
    gst_app_src_end_of_stream(GST_APP_SRC(src));
    gst_object_unref(src);

    GstBus *bus = gst_element_get_bus(pipeline);
    GstMessage *msg = gst_bus_timed_pop_filtered(bus, 120 * GST_SECOND,
                                                 GstMessageType(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
    if (!msg) {
        qCCritical(lcDemoContent, "GStreamer: the encoder did not finish within 120 s");
        ok = false;
    } else {
        if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR) {
            GError *err = nullptr;
            gst_message_parse_error(msg, &err, nullptr);
            qCCritical(lcDemoContent, "GStreamer: %s", err ? err->message : "error");
            g_clear_error(&err);
            ok = false;
        }
        gst_message_unref(msg);
    }
    gst_object_unref(bus);
    gst_element_set_state(pipeline, GST_STATE_NULL);
    gst_object_unref(pipeline);
    return ok && QFileInfo(path).size() > 0;
}

QString region(const char *id, const char *playlist, const DemoRect &r, int z = 0)
{
    QString line = QStringLiteral("%1 %2 %3 %4 %5 %6").arg(QLatin1String(id), -7).arg(QLatin1String(playlist), -7)
                       .arg(r.x).arg(r.y).arg(r.w).arg(r.h);
    if (z)
        line += QStringLiteral(" z=%1").arg(z);
    return line + u'\n';
}

QByteArray scheduleTemplate()
{
    QString s;
    s += QStringLiteral(
        "# The Stoa demo, made at build time by stoa-demo-content (tools/demo_content.cpp).\n"
        "# @-words are filled in when `stoa demo` or `stoa-player --demo` signs it.\n"
        "timezone = %1\n"
        "default-layout = demo     ; protocol 1.1 devices\n"
        "default = slides          ; 1.0 devices: the slides, full screen\n"
        "image-duration = 8s\n\n")
             .arg(QLatin1String(stoa::tools::kDemoZonePlaceholder));
    s += QStringLiteral("[playlist slides]\n");
    for (const Slide &slide : kSlides)
        s += QStringLiteral("%1 8s\n").arg(QLatin1String(slide.file));
    s += QStringLiteral("\n[playlist video]\nloop.webm cover\n\n");
    s += QStringLiteral(
        "[playlist ticker]\n"
        "text \"Stoa · open digital signage   ·   Everything you see was signed with the Ed25519 key "
        "%1 and verified by this screen before it played   ·   Press F1 for diagnostics   ·   "
        "Layouts, tickers, synchronised walls and live streams: docs/stoa-command.md   ·\" 40s scroll "
        "color=#ffffff background=#9b2c20\n\n")
             .arg(QLatin1String(stoa::tools::kDemoKeyIdPlaceholder));
    // The clock. A text item cannot tick, and a web page would need
    // QtWebEngine (optional) and a server. So the time is content like the
    // rest: a synchronised playlist (v1.1 §13) of 1,440 one-minute texts
    // whose epoch is the last local midnight; the player shows the slot of
    // trusted now, switching on the minute. (Unsynchronised, i.e. with an
    // untrusted clock, it would count from 00:00: docs/player.md "Demo".)
    s += QStringLiteral("[playlist clock]\nsync = %1\n").arg(QLatin1String(stoa::tools::kDemoClockEpochPlaceholder));
    for (int m = 0; m < 24 * 60; ++m)
        s += QStringLiteral("text \"%1:%2\" 1m color=#ffffff background=#1b2430\n")
                 .arg(m / 60, 2, 10, QChar(u'0')).arg(m % 60, 2, 10, QChar(u'0'));
    s += QStringLiteral("\n[layout demo]             ; ID PLAYLIST X Y W H [z=N]\n");
    s += region("slides", "slides", stoa::tools::kDemoSlidesRegion);
    s += region("video", "video", stoa::tools::kDemoVideoRegion);
    s += region("clock", "clock", stoa::tools::kDemoClockRegion);
    s += region("ticker", "ticker", stoa::tools::kDemoTickerRegion, 1);
    return s.toUtf8();
}

bool writeFile(const QString &path, const QByteArray &bytes)
{
    QFile f(path);
    return f.open(QIODevice::WriteOnly | QIODevice::Truncate) && f.write(bytes) == bytes.size() && f.flush();
}

// Publishes OUTDIR's content into a temporary site with a throw-away key:
// the checks of `stoa publish` (schedule, media types, the device's own
// manifest parser, the signature), at build time.
bool checkPublishes(const QDir &out, const QByteArray &schedule)
{
    QTemporaryDir tmp;
    if (!tmp.isValid())
        return false;
    QDir source(tmp.filePath(QStringLiteral("source")));
    if (!QDir().mkpath(source.path()))
        return false;
    for (const QString &name : out.entryList(QDir::Files))
        if (name != QLatin1String(stoa::publish::kSourceFileName) &&
            !QFile::copy(out.filePath(name), source.filePath(name)))
            return false;
    auto key = stoa::schedule::PrivateKey::generate();
    if (!key) {
        qCCritical(lcDemoContent, "%s", key.error().reason.toUtf8().constData());
        return false;
    }
    const QDateTime midnight(QDate(2026, 1, 1), QTime(0, 0), Qt::UTC);
    if (!writeFile(source.filePath(QLatin1String(stoa::publish::kSourceFileName)),
                   stoa::tools::fillDemoSchedule(schedule, "UTC", midnight,
                                                 QByteArray::fromStdString(key->publicKey().keyId()))))
        return false;
    stoa::publish::PublishOptions po;
    po.source = source.path();
    po.site = tmp.filePath(QStringLiteral("site"));
    auto published = stoa::publish::publishSite(po, *key);
    if (!published) {
        qCCritical(lcDemoContent, "the demo does not publish: %s", published.error().message.toUtf8().constData());
        return false;
    }
    return true;
}

} // namespace

// The sanitizer build (STOA_SANITIZE) runs this generator at build time
// too, where no test preset sets LSAN_OPTIONS: GLib and GStreamer keep
// their registry and pools until exit (16 KiB from g_malloc here), which
// LeakSanitizer reports against no code of ours and which would fail the
// build. The same libraries as tests/lsan.supp, built in; leaks with our
// frames are still reported. An unused function in the ordinary build.
extern "C" const char *__lsan_default_suppressions();
extern "C" const char *__lsan_default_suppressions()
{
    return "leak:libglib-2.0.so\nleak:libgobject-2.0.so\nleak:libgstreamer-1.0.so\n";
}

int main(int argc, char **argv)
{
    // Text needs fonts, and fonts need a QGuiApplication; never a display
    // (a builder's DISPLAY may be set, or dead).
    qputenv("QT_QPA_PLATFORM", "offscreen");
    QGuiApplication app(argc, argv);
    gst_init(&argc, &argv);
    if (argc != 2) {
        std::fprintf(stderr, "usage: stoa-demo-content OUTDIR\n");
        return 2;
    }
    QDir out(QString::fromLocal8Bit(argv[1]));
    if (!out.mkpath(QStringLiteral(".")))
        return 1;
    for (const Slide &slide : kSlides)
        if (!drawSlide(slide, out.filePath(QLatin1String(slide.file))))
            return 1;
    if (!encodeVideo(out.filePath(QStringLiteral("loop.webm"))))
        return 1;
    const QByteArray schedule = scheduleTemplate();
    if (!checkPublishes(out, schedule))
        return 1;
    // Last: the build's custom command depends on this file being newer than the rest.
    if (!writeFile(out.filePath(QLatin1String(stoa::publish::kSourceFileName)), schedule))
        return 1;
    return 0;
}
