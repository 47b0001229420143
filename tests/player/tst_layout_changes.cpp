// tests/player/tst_layout_changes.cpp — v1.1 §12 changes of what is on
// screen (under Xvfb, run-xvfb.sh): a layout <-> full-screen playlist change
// and a layout A -> layout B change at a schedule boundary, and a layout
// tied with a playlist taking turns (issue 20).
//
// Real store, real signed manifests, solid-colour images and videos
// (ffmpeg; a video is staged ahead and comes on paused on its first frame
// like an image, so both are held to the same check). What the viewer
// sees is checked two ways: the window's pixels at each rectangle by colour,
// and, for every frame the window renders, what covers the screen then
// (QQuickWindow::afterAnimating: on the GUI thread, after everything of that
// frame was changed and before the scene is handed to the renderer). A frame
// in which the full screen shows nothing and some region of the layout on
// screen shows nothing is a dark (or empty) frame: the idle screen or a hole.
#include "player_harness.h"

#include <QJsonArray>
#include <QJsonObject>
#include <QQuickWindow>

using namespace stoa;
using namespace stoa::player;
using namespace stoa::player::testing;

namespace {

const QColor kRed(255, 0, 0), kGreen(0, 255, 0), kBlue(0, 0, 255), kYellow(255, 255, 0), kMagenta(255, 0, 255);

QJsonObject region(const QString &id, double x, double y, double w, double h, const QString &playlist)
{
    return QJsonObject{{"id", id}, {"x", x}, {"y", y}, {"w", w}, {"h", h}, {"playlist", playlist}};
}

QJsonObject layout(const QJsonArray &regions)
{
    return QJsonObject{{"regions", regions}};
}

// What covers the screen at every rendered frame, as spans of one state:
// "full <key>" (the full screen's item), "layout <name>" (every region of
// the layout on screen shows something), "" (neither: a dark frame).
struct ScreenLog {
    struct Span {
        std::string what;
        qint64 fromMs = 0; // monotonic, since the log began
    };
    std::vector<Span> spans;
    int darkFrames = 0; // after the first covered frame
    int frames = 0;
    QElapsedTimer clock;
    PlayerHarness &h;

    explicit ScreenLog(PlayerHarness &harness) : h(harness)
    {
        clock.start();
        auto *window = qobject_cast<QQuickWindow *>(h.shell->window());
        QObject::connect(window, &QQuickWindow::afterAnimating, window, [this] { sample(); }, Qt::DirectConnection);
    }
    std::string now() const
    {
        Playback &p = *h.playback;
        if (p.fullScreen()->showing())
            return "full " + (p.fullScreen()->current() ? p.fullScreen()->current()->key : std::string("?"));
        const auto regions = p.layoutRegions();
        bool all = !regions.empty();
        for (RegionPlayer *r : regions)
            all = all && r->showing();
        return all && p.layout() ? "layout " + *p.layout() : std::string();
    }
    void sample()
    {
        ++frames;
        const std::string what = now();
        if (what.empty() && !spans.empty())
            ++darkFrames;
        if (what.empty() && spans.empty())
            return;
        if (spans.empty() || spans.back().what != what)
            spans.push_back({what, clock.elapsed()});
    }
    QString describe() const
    {
        QStringList out;
        for (const auto &s : spans)
            out << QStringLiteral("%1@%2").arg(QString::fromStdString(s.what.empty() ? "DARK" : s.what)).arg(s.fromMs);
        return out.join(QStringLiteral(" "));
    }
};

// The boundary of the schedule tests: an entry from 10:00 (all day after).
const QDateTime kBoundary = QDateTime::fromString("2026-11-23T10:00:00Z", Qt::ISODate);

} // namespace

class LayoutChangesTest : public QObject {
    Q_OBJECT
private slots:
    void layoutToFullScreenAtBoundary();
    void fullScreenToLayoutAtBoundary();
    void layoutToLayoutAtBoundary();
    void tiedLayoutAndPlaylistTakeTurns();
    void tiedVideoTurnLastsToItsEnd();
};

namespace {

// The layouts of the boundary tests: "halves" (red left, green right) and
// "thirds" (blue top, yellow bottom left, magenta bottom right); the
// full-screen playlist "promo" plays `promo`, "lobby" yellow. Items last
// longer than the test. `magenta` and `promo` may be videos: a video comes
// on paused on its first frame, prerolled while staged.
QJsonObject boundaryManifest(ContentBuilder &c, const Media &red, const Media &green, const Media &blue,
                             const Media &yellow, const Media &magenta, const Media &promo,
                             const QJsonObject &entry, const QString &defaultLayout, const QString &defaultPlaylist)
{
    QJsonObject playlists{
        {"reds", playlist({item(red, 20000, "stretch")})},     {"greens", playlist({item(green, 20000, "stretch")})},
        {"blues", playlist({item(blue, 20000, "stretch")})},   {"yellows", playlist({item(yellow, 20000, "stretch")})},
        {"magentas", playlist({item(magenta, 20000, "stretch")})}, {"promo", playlist({item(promo, 20000, "stretch")})},
        {"lobby", playlist({item(yellow, 20000, "stretch")})},
    };
    QJsonObject m = c.manifest(1, playlists, defaultPlaylist, QJsonArray{entry});
    m["layouts"] = QJsonObject{
        {"halves", layout({region("left", 0, 0, 0.5, 1, "reds"), region("right", 0.5, 0, 0.5, 1, "greens")})},
        {"thirds", layout({region("top", 0, 0, 1, 0.5, "blues"), region("bl", 0, 0.5, 0.5, 0.5, "yellows"),
                           region("br", 0.5, 0.5, 0.5, 0.5, "magentas")})},
    };
    if (!defaultLayout.isEmpty())
        m["default_layout"] = defaultLayout;
    return m;
}

} // namespace

// Starts 2.5 s before the boundary and waits until after it: the switch
// must come at the boundary (within 250 ms) with no dark frame.
#define RUN_TO_BOUNDARY(h, log, expectAfter)                                                                          \
    do {                                                                                                              \
        QDateTime shownAt;                                                                                            \
        QObject::connect(h.playback.get(), &Playback::switched, h.playback.get(), [&] {                              \
            if (!shownAt.isValid() && log.now() == (expectAfter))                                                     \
                shownAt = h.playback->clock().now().utc;                                                              \
        });                                                                                                           \
        QTRY_VERIFY_WITH_TIMEOUT(shownAt.isValid(), 6000);                                                            \
        const qint64 late = kBoundary.msecsTo(shownAt);                                                               \
        QVERIFY2(late >= 0 && late < 250, qPrintable(QStringLiteral("switched %1 ms after the boundary").arg(late))); \
    } while (0)

void LayoutChangesTest::layoutToFullScreenAtBoundary()
{
    PlayerHarness h;
    const Media red = h.content->solid(kRed), green = h.content->solid(kGreen), blue = h.content->solid(kBlue);
    const Media yellow = h.content->solid(kYellow), magenta = h.content->solid(kMagenta);
    const Media blueVideo = h.content->video(QStringLiteral("blue"), 8);
    h.content->activate(boundaryManifest(*h.content, red, green, blue, yellow, magenta, blueVideo,
                                         QJsonObject{{"playlist", "promo"}, {"from", "10:00"}}, "halves", QString()));
    QVERIFY(h.show(kBoundary.addMSecs(-2500)));
    ScreenLog log(h);
    h.playback->start();
    QTRY_VERIFY_WITH_TIMEOUT(near(h.pixel(0.25, 0.5), kRed) && near(h.pixel(0.75, 0.5), kGreen), 3000);
    QCOMPARE(log.now(), std::string("layout halves"));
    RUN_TO_BOUNDARY(h, log, "full " + blueVideo.name.toStdString());
    QTRY_VERIFY_WITH_TIMEOUT(near(h.pixel(0.25, 0.5), kBlue) && near(h.pixel(0.75, 0.5), kBlue), 1000);
    QTRY_COMPARE_WITH_TIMEOUT(h.playback->layoutRegions().size(), std::size_t(0), 1000);
    QVERIFY2(log.darkFrames == 0, qPrintable(QStringLiteral("%1 dark frames of %2: %3")
                                                 .arg(log.darkFrames).arg(log.frames).arg(log.describe())));
    // A grab renders on its own: the window's next frame may come just after.
    QTRY_VERIFY_WITH_TIMEOUT(log.spans.size() >= 2, 2000);
    QVERIFY2(log.spans.size() == 2, qPrintable(log.describe())); // before, after: nothing between
}

void LayoutChangesTest::fullScreenToLayoutAtBoundary()
{
    PlayerHarness h;
    const Media red = h.content->solid(kRed), green = h.content->solid(kGreen), blue = h.content->solid(kBlue);
    const Media yellow = h.content->solid(kYellow), magenta = h.content->solid(kMagenta);
    h.content->activate(boundaryManifest(*h.content, red, green, blue, yellow, magenta, blue,
                                         QJsonObject{{"layout", "halves"}, {"from", "10:00"}}, QString(), "lobby"));
    QVERIFY(h.show(kBoundary.addMSecs(-2500)));
    ScreenLog log(h);
    h.playback->start();
    QTRY_VERIFY_WITH_TIMEOUT(near(h.pixel(0.25, 0.5), kYellow) && near(h.pixel(0.75, 0.5), kYellow), 3000);
    RUN_TO_BOUNDARY(h, log, "layout halves");
    QTRY_VERIFY_WITH_TIMEOUT(near(h.pixel(0.25, 0.5), kRed) && near(h.pixel(0.75, 0.5), kGreen), 1000);
    QVERIFY(!h.playback->fullScreen()->showing());
    QVERIFY2(log.darkFrames == 0, qPrintable(QStringLiteral("%1 dark frames of %2: %3")
                                                 .arg(log.darkFrames).arg(log.frames).arg(log.describe())));
    // A grab renders on its own: the window's next frame may come just after.
    QTRY_VERIFY_WITH_TIMEOUT(log.spans.size() >= 2, 2000);
    QVERIFY2(log.spans.size() == 2, qPrintable(log.describe())); // before, after: nothing between
}

void LayoutChangesTest::layoutToLayoutAtBoundary()
{
    PlayerHarness h;
    const Media red = h.content->solid(kRed), green = h.content->solid(kGreen), blue = h.content->solid(kBlue);
    const Media yellow = h.content->solid(kYellow), magenta = h.content->solid(kMagenta);
    const Media magentaVideo = h.content->video(QStringLiteral("magenta"), 8);
    h.content->activate(boundaryManifest(*h.content, red, green, blue, yellow, magentaVideo, blue,
                                         QJsonObject{{"layout", "thirds"}, {"from", "10:00"}}, "halves", QString()));
    QVERIFY(h.show(kBoundary.addMSecs(-2500)));
    ScreenLog log(h);
    h.playback->start();
    QTRY_VERIFY_WITH_TIMEOUT(near(h.pixel(0.25, 0.5), kRed) && near(h.pixel(0.75, 0.5), kGreen), 3000);
    RUN_TO_BOUNDARY(h, log, "layout thirds");
    QTRY_VERIFY_WITH_TIMEOUT(near(h.pixel(0.5, 0.25), kBlue) && near(h.pixel(0.25, 0.75), kYellow) &&
                                 near(h.pixel(0.75, 0.75), kMagenta),
                             1000);
    QCOMPARE(h.playback->layoutRegions().size(), std::size_t(3));
    QVERIFY2(log.darkFrames == 0, qPrintable(QStringLiteral("%1 dark frames of %2: %3")
                                                 .arg(log.darkFrames).arg(log.frames).arg(log.describe())));
    // A grab renders on its own: the window's next frame may come just after.
    QTRY_VERIFY_WITH_TIMEOUT(log.spans.size() >= 2, 2000);
    QVERIFY2(log.spans.size() == 2, qPrintable(log.describe())); // before, after: nothing between
    // The old layout's items were ended by the schedule, each logged once.
    int interrupted = 0;
    for (const auto &p : h.plays())
        interrupted += p.layout == std::optional<std::string>("halves") && !p.completed ? 1 : 0;
    QCOMPARE(interrupted, 2);
}

void LayoutChangesTest::tiedLayoutAndPlaylistTakeTurns()
{
    // Three entries tied all day, in this order: layout "menu" (its longest
    // region cycle 1500 ms: the turn), layout "blank" (its only region's
    // playlist is empty: a turn of 0, given away), playlist "promo" (one
    // item a turn: blue, then yellow, 800 ms each).
    PlayerHarness h;
    const Media red = h.content->solid(kRed), green = h.content->solid(kGreen), blue = h.content->solid(kBlue);
    const Media yellow = h.content->solid(kYellow), magenta = h.content->solid(kMagenta);
    QJsonObject playlists{
        {"lefts", playlist({item(red, 600, "stretch"), item(magenta, 600, "stretch")})},
        {"rights", playlist({item(green, 1500, "stretch")})},
        {"promo", playlist({item(blue, 800, "stretch"), item(yellow, 800, "stretch")})},
        {"nothing", playlist({})},
    };
    const QJsonArray schedule{QJsonObject{{"layout", "menu"}}, QJsonObject{{"layout", "blank"}},
                              QJsonObject{{"playlist", "promo"}}};
    QJsonObject m = h.content->manifest(1, playlists, QString(), schedule);
    m["layouts"] = QJsonObject{
        {"menu", layout({region("left", 0, 0, 0.5, 1, "lefts"), region("right", 0.5, 0, 0.5, 1, "rights")})},
        {"blank", layout({region("all", 0, 0, 1, 1, "nothing")})},
    };
    h.content->activate(m);
    QVERIFY(h.show(QDateTime::fromString("2026-11-23T12:00:00Z", Qt::ISODate)));
    ScreenLog log(h);
    h.playback->start();
    // L B L Y L: five turns, then one more change to end the last.
    QTRY_VERIFY_WITH_TIMEOUT(log.spans.size() >= 6, 15000);
    const std::string L = "layout menu", B = "full " + blue.name.toStdString(), Y = "full " + yellow.name.toStdString();
    const std::vector<std::string> expected{L, B, L, Y, L, B};
    for (std::size_t i = 0; i < expected.size(); ++i)
        QVERIFY2(log.spans[i].what == expected[i], qPrintable(log.describe()));
    // Turn lengths: the layout's 1500 ms, a playlist's one item (800 ms);
    // a frame period or two of rendering either way, and timer slack.
    for (std::size_t i = 0; i + 1 < expected.size(); ++i) {
        const qint64 length = log.spans[i + 1].fromMs - log.spans[i].fromMs;
        const qint64 want = expected[i] == L ? 1500 : 800;
        QVERIFY2(std::abs(length - want) <= 150,
                 qPrintable(QStringLiteral("turn %1 (%2) lasted %3 ms, not %4: %5")
                                .arg(i).arg(QString::fromStdString(expected[i])).arg(length).arg(want)
                                .arg(log.describe())));
    }
    QVERIFY2(log.darkFrames == 0, qPrintable(QStringLiteral("%1 dark frames of %2: %3")
                                                 .arg(log.darkFrames).arg(log.frames).arg(log.describe())));
    // The promo's items ended with their turns: completed, not interrupted.
    for (const auto &p : h.plays())
        if (p.playlist == "promo")
            QVERIFY2(p.completed, p.reason.value_or("?").c_str());
}

void LayoutChangesTest::tiedVideoTurnLastsToItsEnd()
{
    // A playlist whose item is a video without duration_ms: its turn is the
    // video, to its end (1.2 s), however long that is; the layout after it
    // was staged while it played.
    PlayerHarness h;
    const Media red = h.content->solid(kRed), green = h.content->solid(kGreen);
    const Media clip = h.content->video(QStringLiteral("blue"), 1.2);
    QJsonObject playlists{
        {"lefts", playlist({item(red, 1000, "stretch")})},
        {"rights", playlist({item(green, 1000, "stretch")})},
        {"clips", playlist({item(clip, -1, "stretch")})},
    };
    QJsonObject m = h.content->manifest(1, playlists, QString(),
                                        QJsonArray{QJsonObject{{"layout", "menu"}}, QJsonObject{{"playlist", "clips"}}});
    m["layouts"] = QJsonObject{
        {"menu", layout({region("left", 0, 0, 0.5, 1, "lefts"), region("right", 0.5, 0, 0.5, 1, "rights")})},
    };
    h.content->activate(m);
    QVERIFY(h.show(QDateTime::fromString("2026-11-23T12:00:00Z", Qt::ISODate)));
    ScreenLog log(h);
    h.playback->start();
    QTRY_VERIFY_WITH_TIMEOUT(log.spans.size() >= 5, 15000);
    const std::string L = "layout menu", V = "full " + clip.name.toStdString();
    const std::vector<std::string> expected{L, V, L, V, L};
    for (std::size_t i = 0; i < expected.size(); ++i)
        QVERIFY2(log.spans[i].what == expected[i], qPrintable(log.describe()));
    for (std::size_t i = 0; i + 1 < expected.size(); ++i) {
        const qint64 length = log.spans[i + 1].fromMs - log.spans[i].fromMs;
        const qint64 want = expected[i] == L ? 1000 : 1200;
        QVERIFY2(std::abs(length - want) <= 250,
                 qPrintable(QStringLiteral("turn %1 lasted %2 ms, not %3: %4")
                                .arg(i).arg(length).arg(want).arg(log.describe())));
    }
    QVERIFY2(log.darkFrames == 0, qPrintable(QStringLiteral("%1 dark frames of %2: %3")
                                                 .arg(log.darkFrames).arg(log.frames).arg(log.describe())));
    for (const auto &p : h.plays())
        if (p.playlist == "clips")
            QVERIFY2(p.completed, p.reason.value_or("?").c_str());
}

QTEST_MAIN(LayoutChangesTest)
#include "tst_layout_changes.moc"
