// Video thumbnails (hub/thumbnails.h) through a real hub over HTTP: videos
// made with ffmpeg now (H.264 in MP4 and VP8 in WebM, one solid colour)
// get a JPEG frame whose pixels are that colour; a corrupt video gets no
// thumbnail, a 404 saying why, and a logged error; an image has none (it
// is its own); the files of a video gone from the library are pruned.
// Storage-agnostic: SQLite only.
#include "hub_harness.h"
#include "program_run.h"

#include "hub/thumbnails.h"

#include <QDeadlineTimer>
#include <QDir>
#include <QImage>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QMutex>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTest>

using namespace stoa;
using namespace stoa::hub;
using namespace stoa::hub::test;

namespace {

QMutex logMutex;
QStringList warnings; // the hub's warnings while the test runs
QtMessageHandler previous = nullptr;

void capture(QtMsgType type, const QMessageLogContext &context, const QString &message)
{
    if (type == QtWarningMsg || type == QtCriticalMsg) {
        QMutexLocker lock(&logMutex);
        warnings << message;
    }
    previous(type, context, message);
}

// The thumbnail once made (200), or the last answer (a 404, or 202 past the deadline).
HttpResult thumbnail(HttpClient &c, const std::string &name)
{
    const QDeadlineTimer deadline(60000);
    HttpResult r;
    do {
        r = c.get("/api/v1/media/" + name + "/thumbnail");
        if (r.status != 202)
            return r;
        QTest::qWait(50);
    } while (!deadline.hasExpired());
    return r;
}

} // namespace

class ThumbnailsTest : public QObject {
    Q_OBJECT
    Backends backends;
    std::unique_ptr<HubHarness> h;
    std::string editor;
    QTemporaryDir media;

    std::string video(const QString &name, const QStringList &codec)
    {
        const QString out = media.filePath(name);
        const auto ff = stoa::testing::runProgram(
            "ffmpeg", QStringList{"-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                                  "color=c=0x2060c0:s=320x240:d=4:r=10"} + codec + QStringList{out},
            stoa::testing::RunOptions().timeout(60000));
        if (!ff.ok())
            qFatal("ffmpeg failed: %s", ff.describe().constData());
        QFile f(out);
        f.open(QIODevice::ReadOnly);
        return f.readAll().toStdString();
    }

private slots:
    void initTestCase()
    {
        if (QStandardPaths::findExecutable("ffmpeg").isEmpty())
            QSKIP("ffmpeg is not installed (setup.sh installs it)");
        if (auto why = backends.init())
            QFAIL(why->c_str());
        previous = qInstallMessageHandler(capture);
        h = std::make_unique<HubHarness>();
        const auto e = h->start(backends);
        QVERIFY2(e.empty(), e.c_str());
        editor = h->add(TokenKind::Operator, "eve", Role::Editor);
    }
    void cleanupTestCase()
    {
        h.reset();
        qInstallMessageHandler(previous);
    }

    void videosGetAFrameOfTheirColour_data()
    {
        QTest::addColumn<QString>("name");
        QTest::addColumn<QStringList>("codec");
        QTest::newRow("h264 mp4") << "blue.mp4" << QStringList{"-c:v", "libx264", "-pix_fmt", "yuv420p"};
        QTest::newRow("vp8 webm") << "blue.webm" << QStringList{"-c:v", "libvpx", "-b:v", "200k"};
    }
    void videosGetAFrameOfTheirColour()
    {
        QFETCH(QString, name);
        QFETCH(QStringList, codec);
        auto ed = h->client(editor);
        const auto put = ed->put("/api/v1/media/" + name.toStdString(), video(name, codec), "video/mp4");
        QVERIFY2(put.status == 200, put.body.c_str());
        const auto r = thumbnail(*ed, name.toStdString());
        QVERIFY2(r.status == 200, r.body.c_str());
        QCOMPARE(r.header("content-type"), std::string("image/jpeg"));
        QImage image;
        QVERIFY(image.loadFromData(QByteArray::fromStdString(r.body), "JPEG"));
        QCOMPARE(image.width(), 320);
        QCOMPARE(image.height(), 240);
        for (const QPoint p : {QPoint(160, 120), QPoint(10, 10), QPoint(300, 220)}) {
            const QColor c = image.pixelColor(p);
            QVERIFY2(qAbs(c.red() - 0x20) <= 16 && qAbs(c.green() - 0x60) <= 16 && qAbs(c.blue() - 0xc0) <= 16,
                     qPrintable(QString("pixel at %1,%2 is %3, not about #2060c0").arg(p.x()).arg(p.y()).arg(c.name())));
        }
        // Cached by the video's digest: an If-None-Match is 304.
        QCOMPARE(ed->get("/api/v1/media/" + name.toStdString() + "/thumbnail", {"If-None-Match: " + r.header("etag")}).status, 304L);
    }

    void aCorruptVideoKeepsItsIconAndIsLogged()
    {
        auto ed = h->client(editor);
        std::string junk(200000, '\0');
        for (std::size_t i = 0; i < junk.size(); ++i)
            junk[i] = static_cast<char>((i * 7919) % 251);
        QCOMPARE(ed->put("/api/v1/media/broken.mp4", junk, "video/mp4").status, 200L);
        const auto r = thumbnail(*ed, "broken.mp4");
        QCOMPARE(r.status, 404L);
        const auto o = QJsonDocument::fromJson(QByteArray::fromStdString(r.body)).object();
        QCOMPARE(o.value("state").toString(), QString("failed"));
        QVERIFY2(o.value("error").toString().contains("cannot make a thumbnail of broken.mp4"), r.body.c_str());
        QMutexLocker lock(&logMutex);
        QVERIFY2(warnings.filter("thumbnails: cannot decode").filter("broken.mp4").size() == 1, qPrintable(warnings.join('\n')));
        lock.unlock();
        // An image is its own thumbnail; an unknown medium is 404.
        QCOMPARE(ed->get("/api/v1/media/none.mp4/thumbnail").status, 404L);
        QCOMPARE(ed->get("/api/v1/media/broken.mp4/thumbnail").status, 404L); // not tried again
        lock.relock();
        QCOMPARE(warnings.filter("thumbnails: cannot decode").size(), 1);
    }

    // What the retention pass does: files of videos gone from the library
    // go, the library's stay (run on the hub's own directory).
    void pruneFollowsTheLibrary()
    {
        auto ed = h->client(editor);
        QCOMPARE(ed->request("DELETE", "/api/v1/media/blue.webm", "", {}).status, 204L);
        std::set<std::string> keep;
        for (const auto &m : QJsonDocument::fromJson(QByteArray::fromStdString(ed->get("/api/v1/media").body)).array())
            keep.insert(m.toObject().value("sha256").toString().toStdString());
        QCOMPARE(keep.size(), std::size_t{2}); // blue.mp4, broken.mp4
        const QDir dir(h->dir.path() + "/thumbnails");
        QCOMPARE(dir.entryList(QDir::Files).size(), 3); // two JPEGs, one failure record
        Thumbnails t(Thumbnails::Options{.dir = dir.path().toStdString()});
        QCOMPARE(t.prune(keep), 0); // younger than the grace period
        QCOMPARE(t.prune(keep, 0), 1);
        const QStringList left = dir.entryList(QDir::Files);
        QCOMPARE(left.size(), 2);
        for (const QString &f : left)
            QVERIFY2(keep.contains(f.section('.', 0, 0).toStdString()), qPrintable(f));
    }
};

QTEST_GUILESS_MAIN(ThumbnailsTest)
#include "tst_thumbnails.moc"
