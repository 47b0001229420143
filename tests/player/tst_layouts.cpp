// tests/player/tst_layouts.cpp — v1.1 §12 layouts and text items on screen
// (under Xvfb, run-xvfb.sh).
//
// Real store, real signed manifests, solid-colour images and text items;
// the window is grabbed and each region's rectangle is checked at its place
// by its colour. The proof-of-play records are read back from the store.
// What each region shows is read back from the player's own /status (its
// LocalEndpoints on a loopback port), from kv player.now_playing (what the
// agent's heartbeat carries) and from the diagnostics screen's rows.
#include "player_harness.h"
#include "raw_http_client.h"

#include "player/diagnostics_text.h"
#include "player/local_endpoints.h"

#include <QDeadlineTimer>
#include <QJsonArray>
#include <QJsonObject>

#include <functional>
#include <future>
#include <map>
#include <set>

using namespace stoa;
using namespace stoa::player;
using namespace stoa::player::testing;

namespace {

const QColor kRed(255, 0, 0), kGreen(0, 255, 0), kBlue(0, 0, 255), kYellow(255, 255, 0), kMagenta(255, 0, 255);

QJsonObject region(const QString &id, double x, double y, double w, double h, const QString &playlist, int z = 0)
{
    QJsonObject o{{"id", id}, {"x", x}, {"y", y}, {"w", w}, {"h", h}, {"playlist", playlist}};
    if (z != 0)
        o["z"] = z;
    return o;
}

QJsonObject textItem(const QString &text, int durationMs, const QString &color, const QString &background,
                     bool scroll = false)
{
    QJsonObject o{{"text", text}, {"duration_ms", durationMs}, {"color", color}};
    if (!background.isEmpty())
        o["background"] = background;
    if (scroll)
        o["scroll"] = true;
    return o;
}

// Pixels of `img` within fractions `r` near `colour`.
int countNear(const QImage &img, const QRectF &r, const QColor &colour, int tolerance = 40)
{
    int n = 0;
    const int x0 = int(r.x() * img.width()), x1 = int((r.x() + r.width()) * img.width());
    const int y0 = int(r.y() * img.height()), y1 = int((r.y() + r.height()) * img.height());
    for (int y = y0; y < y1; ++y)
        for (int x = x0; x < x1; ++x)
            n += near(img.pixelColor(x, y), colour, tolerance) ? 1 : 0;
    return n;
}

// The leftmost column (fraction of the width) holding a pixel near `colour`; -1: none.
double leftmost(const QImage &img, const QColor &colour)
{
    for (int x = 0; x < img.width(); ++x)
        for (int y = 0; y < img.height(); y += 2)
            if (near(img.pixelColor(x, y), colour, 60))
                return double(x) / img.width();
    return -1;
}

// The layout of the three-region tests: "left" alternates red and magenta,
// "right" is green, "ticker" a static text (white on blue), "badge" a
// yellow square over left and right with z 1 but listed first, "dead" a
// region over "left" with z 2 whose only item cannot play (a stream from a
// closed port: skipped at once, v1.1 §14).
// Images are stretched: each fills its rectangle (contain would letterbox).
QJsonObject layoutManifest(ContentBuilder &c, const Media &red, const Media &magenta, const Media &green,
                           const Media &yellow)
{
    QJsonObject playlists{
        {"lefts", playlist({item(red, 700, "stretch"), item(magenta, 700, "stretch")})},
        {"rights", playlist({item(green, 2000, "stretch")})},
        {"news", playlist({textItem(QStringLiteral("Doors close at 22:00"), 2000, "#ffffff", "#0000ff")})},
        {"badges", playlist({item(yellow, 2000, "stretch")})},
        {"cams", playlist({QJsonObject{{"stream", "rtsp://127.0.0.1:9/none"}, {"duration_ms", 2000}}})},
    };
    QJsonObject m = c.manifest(1, playlists, QString());
    m["layouts"] = QJsonObject{{"menu", QJsonObject{{"regions", QJsonArray{
        region("badge", 0.4, 0.3, 0.2, 0.2, "badges", 1),
        region("left", 0, 0, 0.5, 0.8, "lefts"),
        region("right", 0.5, 0, 0.5, 0.8, "rights"),
        region("ticker", 0, 0.8, 1, 0.2, "news"),
        region("dead", 0, 0, 0.2, 0.2, "cams", 2),
    }}}}};
    m["default_layout"] = "menu";
    return m;
}

// Counts moments when a region that has shown something shows neither slot.
struct RegionDarkWatch {
    int darkMoments = 0;
    void watch(RegionPlayer *r)
    {
        for (MediaSlot *s : {r->slotA(), r->slotB()})
            QObject::connect(s, &MediaSlot::shownChanged, s, [this, r] {
                if (!r->slotA()->shown() && !r->slotB()->shown())
                    ++darkMoments;
            });
    }
};

// GET /status from the in-process player: the server waits for the GUI
// thread to build the document, so the request runs on another thread while
// this one keeps turning the event loop.
QJsonObject statusOf(std::uint16_t port)
{
    auto reply = std::async(std::launch::async, [port] { return endpoints::testing::get(port, "/status"); });
    while (reply.wait_for(std::chrono::milliseconds(0)) != std::future_status::ready)
        QTest::qWait(10);
    return QJsonDocument::fromJson(QByteArray::fromStdString(reply.get().body)).object();
}

// Reads /status until its now_playing (left in `np`, the last one read)
// satisfies `pred`; false when `timeoutMs` passed first. Not QTRY_*: that
// evaluates its condition again after it held, and now playing moves on.
bool nowPlayingUntil(std::uint16_t port, QJsonObject &np, const std::function<bool(const QJsonObject &)> &pred,
                     int timeoutMs)
{
    QDeadlineTimer deadline(timeoutMs);
    for (;;) {
        np = statusOf(port).value("now_playing").toObject();
        if (pred(np))
            return true;
        if (deadline.hasExpired())
            return false;
        QTest::qWait(20);
    }
}

// The ids of now_playing.regions, in order.
std::vector<QString> regionIds(const QJsonObject &np)
{
    std::vector<QString> ids;
    for (const auto &r : np.value("regions").toArray())
        ids.push_back(r.toObject().value("id").toString());
    return ids;
}

QJsonObject regionOf(const QJsonObject &np, const QString &id)
{
    for (const auto &r : np.value("regions").toArray())
        if (r.toObject().value("id").toString() == id)
            return r.toObject();
    return {};
}

} // namespace

class LayoutTest : public QObject {
    Q_OBJECT
private slots:
    void threeRegionsAtTheirPlaces();
    void layoutTurnsWithTheScreen();
    void staticTextShows();
    void tickerMovesRightToLeft();
    void playsCarryLayoutAndRegion();
    void nowPlayingNamesEachRegion();
    void nextItemLoadsAfterTheSwitch();
};

void LayoutTest::threeRegionsAtTheirPlaces()
{
    PlayerHarness h;
    const Media red = h.content->solid(kRed), magenta = h.content->solid(kMagenta);
    const Media green = h.content->solid(kGreen), yellow = h.content->solid(kYellow);
    h.content->activate(layoutManifest(*h.content, red, magenta, green, yellow));
    QVERIFY(h.start());
    QTRY_COMPARE_WITH_TIMEOUT(h.playback->layoutRegions().size(), std::size_t(5), 5000);
    RegionDarkWatch dark;
    for (RegionPlayer *r : h.playback->layoutRegions())
        dark.watch(r);

    // Each rectangle at its place, by its colour: left, right, the text's
    // background beside its glyphs, the badge on top of left and right (z 1
    // though listed first), the dead region transparent over left (z 2).
    QTRY_VERIFY_WITH_TIMEOUT(near(h.pixel(0.25, 0.6), kRed) || near(h.pixel(0.25, 0.6), kMagenta), 5000);
    QTRY_VERIFY_WITH_TIMEOUT(near(h.pixel(0.8, 0.6), kGreen), 3000);
    QTRY_VERIFY_WITH_TIMEOUT(near(h.pixel(0.02, 0.95), kBlue), 3000);
    QTRY_VERIFY_WITH_TIMEOUT(near(h.pixel(0.45, 0.4), kYellow) && near(h.pixel(0.55, 0.4), kYellow), 3000);
    QVERIFY(!h.playback->idle());
    // The unplayable region shows nothing: what lies beneath (left) shows through.
    const QColor underDead = h.pixel(0.1, 0.1);
    QVERIFY2(near(underDead, kRed) || near(underDead, kMagenta), qPrintable(underDead.name()));
    // Edges: just inside each rectangle is its own colour, not a neighbour's.
    QTRY_VERIFY_WITH_TIMEOUT(near(h.pixel(0.49, 0.05), kRed) || near(h.pixel(0.49, 0.05), kMagenta), 2000);
    QVERIFY(near(h.pixel(0.51, 0.05), kGreen));
    QVERIFY(near(h.pixel(0.51, 0.78), kGreen));
    QVERIFY(near(h.pixel(0.51, 0.83), kBlue));

    // The left region switches on its own while the others stay.
    QTRY_VERIFY_WITH_TIMEOUT(near(h.pixel(0.25, 0.6), kRed), 3000);
    QTRY_VERIFY_WITH_TIMEOUT(near(h.pixel(0.25, 0.6), kMagenta), 3000);
    QTRY_VERIFY_WITH_TIMEOUT(near(h.pixel(0.25, 0.6), kRed), 3000);
    QVERIFY(near(h.pixel(0.8, 0.6), kGreen));
    QVERIFY(near(h.pixel(0.02, 0.95), kBlue));
    QCOMPARE(dark.darkMoments, 0);
    // The stream was skipped and reported; nothing else failed.
    bool streamSkipped = false;
    for (const auto &p : h.plays()) {
        if (!p.completed && p.url == std::optional<std::string>("rtsp://127.0.0.1:9/none") && p.reason)
            streamSkipped = true;
        else
            QVERIFY2(p.completed || p.reason == std::optional<std::string>("interrupted"),
                     p.reason.value_or("?").c_str());
    }
    QVERIFY(streamSkipped);
}

void LayoutTest::layoutTurnsWithTheScreen()
{
    // Rotation 180: the rectangles are of the rotated screen, so "left"
    // (red/magenta) is on the window's right and the ticker at its top.
    PlayerHarness h;
    const Media red = h.content->solid(kRed), magenta = h.content->solid(kMagenta);
    const Media green = h.content->solid(kGreen), yellow = h.content->solid(kYellow);
    QJsonObject m = layoutManifest(*h.content, red, magenta, green, yellow);
    m["settings"] = QJsonObject{{"rotation", 180}};
    h.content->activate(m);
    QVERIFY(h.start());
    QTRY_VERIFY_WITH_TIMEOUT(near(h.pixel(0.75, 0.4), kRed) || near(h.pixel(0.75, 0.4), kMagenta), 5000);
    QTRY_VERIFY_WITH_TIMEOUT(near(h.pixel(0.2, 0.4), kGreen), 3000);
    QTRY_VERIFY_WITH_TIMEOUT(near(h.pixel(0.98, 0.05), kBlue), 3000);
}

void LayoutTest::staticTextShows()
{
    PlayerHarness h;
    // Any UTF-8: Latin, a check mark, Hebrew.
    h.content->activate(h.content->manifest(
        1, {{"main", playlist({textItem(QStringLiteral("Stoa \u2713 \u05e9\u05dc\u05d5\u05dd"), 3000, "#ffff00", "#0000ff")})}},
        "main"));
    QVERIFY(h.start());
    QTRY_VERIFY_WITH_TIMEOUT(!h.playback->idle(), 5000);
    QTRY_VERIFY_WITH_TIMEOUT(near(h.pixel(0.02, 0.02), kBlue, 10), 3000);
    // Its glyphs are drawn in its colour, centred and scaled up to fill the
    // screen's width: yellow in the middle band, on both halves.
    const QImage img = h.grab();
    const int left = countNear(img, QRectF(0.05, 0.2, 0.45, 0.6), kYellow, 60);
    const int right = countNear(img, QRectF(0.5, 0.2, 0.45, 0.6), kYellow, 60);
    QVERIFY2(left > 500 && right > 500, qPrintable(QStringLiteral("%1 %2").arg(left).arg(right)));
    // Nothing yellow near the top and bottom edges: centred, within its margins.
    QCOMPARE(countNear(img, QRectF(0, 0, 1, 0.02), kYellow, 60), 0);
    QCOMPARE(countNear(img, QRectF(0, 0.98, 1, 0.02), kYellow, 60), 0);
    QCOMPARE(h.playback->current()->kind, ItemKind::Text);
}

void LayoutTest::tickerMovesRightToLeft()
{
    PlayerHarness h;
    h.content->activate(h.content->manifest(
        1, {{"main", playlist({textItem(QStringLiteral("tick tock"), 4000, "#ffff00", "#000080", true)})}}, "main"));
    QVERIFY(h.start());
    QTRY_VERIFY_WITH_TIMEOUT(!h.playback->idle(), 5000);
    // It enters from the right, then moves left.
    double first = -1;
    QTRY_VERIFY_WITH_TIMEOUT((first = leftmost(h.grab(), kYellow)) > 0.3, 3000);
    double later = -1;
    QTRY_VERIFY_WITH_TIMEOUT((later = leftmost(h.grab(), kYellow)) >= 0 && later < first - 0.1, 3000);
}

void LayoutTest::playsCarryLayoutAndRegion()
{
    PlayerHarness h;
    const Media red = h.content->solid(kRed), magenta = h.content->solid(kMagenta);
    const Media green = h.content->solid(kGreen), yellow = h.content->solid(kYellow);
    h.content->activate(layoutManifest(*h.content, red, magenta, green, yellow));
    QVERIFY(h.start());
    // Two completed plays in "left", one of "right" (2 s).
    const auto completedIn = [&](const std::string &region) {
        int n = 0;
        for (const auto &p : h.plays())
            n += p.completed && p.region == region ? 1 : 0;
        return n;
    };
    QTRY_VERIFY_WITH_TIMEOUT(completedIn("left") >= 2 && completedIn("right") >= 1 && completedIn("ticker") >= 1,
                             10000);
    std::map<std::string, std::set<std::string>> playlistsByRegion;
    for (const auto &p : h.plays()) {
        QCOMPARE(p.layout, std::optional<std::string>("menu"));
        QVERIFY(p.region);
        playlistsByRegion[*p.region].insert(p.playlist);
    }
    QCOMPARE(playlistsByRegion["left"], (std::set<std::string>{"lefts"}));
    QCOMPARE(playlistsByRegion["right"], (std::set<std::string>{"rights"}));
    QCOMPARE(playlistsByRegion["ticker"], (std::set<std::string>{"news"}));
    QCOMPARE(playlistsByRegion["dead"], (std::set<std::string>{"cams"})); // the skipped stream, reported in its region

    // A full-screen playlist: no layout, no region.
    h.content->activate(h.content->manifest(2, {{"main", playlist({item(green, 300)})}}, "main"));
    h.playback->checkForManifest();
    QTRY_COMPARE_WITH_TIMEOUT(h.playback->layoutRegions().size(), std::size_t(0), 3000);
    const auto mainPlays = [&] {
        std::vector<cache::PlayRecord> out;
        for (const auto &p : h.plays())
            if (p.playlist == "main")
                out.push_back(p);
        return out;
    };
    QTRY_VERIFY_WITH_TIMEOUT(mainPlays().size() >= 2, 5000);
    for (const auto &p : mainPlays()) {
        QVERIFY(p.completed);
        QVERIFY(!p.layout);
        QVERIFY(!p.region);
    }
}

void LayoutTest::nowPlayingNamesEachRegion()
{
    // Three regions: "left" switching red/magenta every 700 ms, "right"
    // green, "ticker" a text (no asset, no URL).
    PlayerHarness h;
    const Media red = h.content->solid(kRed), magenta = h.content->solid(kMagenta), green = h.content->solid(kGreen);
    QJsonObject m = h.content->manifest(
        1,
        {{"lefts", playlist({item(red, 700, "stretch"), item(magenta, 700, "stretch")})},
         {"rights", playlist({item(green, 5000, "stretch")})},
         {"news", playlist({textItem(QStringLiteral("Doors close at 22:00"), 5000, "#ffffff", "#0000ff")})}},
        QString());
    m["layouts"] = QJsonObject{{"menu", QJsonObject{{"regions", QJsonArray{
        region("left", 0, 0, 0.5, 0.8, "lefts"),
        region("right", 0.5, 0, 0.5, 0.8, "rights"),
        region("ticker", 0, 0.8, 1, 0.2, "news"),
    }}}}};
    m["default_layout"] = "menu";
    h.content->activate(m);
    QVERIFY(h.start());
    LocalEndpoints local(*h.playback, h.shell->window(), [&h] { return h.shell->diagnostics().gather(); });
    const auto listening = local.start("127.0.0.1:0");
    QVERIFY2(listening, listening ? "" : listening.error().c_str());

    // /status: the layout, its regions in manifest order, each one's item.
    QJsonObject np;
    QVERIFY2(nowPlayingUntil(local.port(), np, [](const QJsonObject &o) {
                 return regionOf(o, "left").value("asset").isString() && regionOf(o, "right").value("asset").isString() &&
                        regionOf(o, "ticker").value("playlist").toString() == "news";
             }, 10000),
             qPrintable(QJsonDocument(np).toJson()));
    QCOMPARE(np.value("layout").toString(), QString("menu"));
    QCOMPARE(regionIds(np), (std::vector<QString>{"left", "right", "ticker"}));
    const QString leftFirst = regionOf(np, "left").value("asset").toString();
    QVERIFY2(leftFirst == red.name || leftFirst == magenta.name, qPrintable(leftFirst));
    QCOMPARE(regionOf(np, "left").value("playlist").toString(), QString("lefts"));
    QCOMPARE(regionOf(np, "right").value("asset").toString(), green.name);
    QCOMPARE(regionOf(np, "right").value("playlist").toString(), QString("rights"));
    QVERIFY(regionOf(np, "right").value("url").isNull());
    QVERIFY(regionOf(np, "ticker").value("asset").isNull());
    QVERIFY(regionOf(np, "ticker").value("url").isNull());
    // §5's fields, for v1 readers: the first region's item.
    QCOMPARE(np.value("playlist").toString(), QString("lefts"));
    QVERIFY(np.value("asset").toString() == red.name || np.value("asset").toString() == magenta.name);

    // A region switches: /status follows it, the others stay.
    const QString other = leftFirst == red.name ? magenta.name : red.name;
    const auto leftShows = [](const QString &asset) {
        return [asset](const QJsonObject &o) { return regionOf(o, "left").value("asset").toString() == asset; };
    };
    QVERIFY2(nowPlayingUntil(local.port(), np, leftShows(other), 5000), qPrintable(QJsonDocument(np).toJson()));
    QCOMPARE(regionOf(np, "right").value("asset").toString(), green.name);
    QCOMPARE(np.value("asset").toString(), other); // §5's fields follow the first region
    QVERIFY2(nowPlayingUntil(local.port(), np, leftShows(leftFirst), 5000), qPrintable(QJsonDocument(np).toJson()));

    // kv player.now_playing (what the agent's heartbeat carries) says the same.
    QVERIFY(h.playback->playRecorder().flush(std::chrono::seconds(30)));
    const auto kv = h.store->kv().get(kNowPlayingKey);
    QVERIFY(kv && *kv);
    const QJsonObject stored = QJsonDocument::fromJson(QByteArray::fromStdString(**kv)).object();
    QCOMPARE(stored.value("layout").toString(), QString("menu"));
    QCOMPARE(regionIds(stored), (std::vector<QString>{"left", "right", "ticker"}));
    QCOMPARE(regionOf(stored, "right").value("asset").toString(), green.name);

    // The diagnostics screen: the layout, then one row per region.
    const DiagnosticsText text = describeDeviceState(h.shell->diagnostics().gather());
    std::map<QString, QString> rows;
    for (const auto &sec : text.right)
        for (const auto &row : sec.rows)
            rows[row.key] = row.value;
    QCOMPARE(rows["now_playing"], QString("layout menu, 3 region(s)"));
    QVERIFY2(rows["region_left"].startsWith("lefts: image sha256:"), qPrintable(rows["region_left"]));
    QVERIFY2(rows["region_right"] == "rights: image " + green.name.left(19) + QStringLiteral("…"),
             qPrintable(rows["region_right"]));
    QCOMPARE(rows["region_ticker"], QString("news: text"));

    // Full screen again: §5's shape exactly, no layout, no regions.
    h.content->activate(h.content->manifest(2, {{"main", playlist({item(green, 300)})}}, "main"));
    h.playback->checkForManifest();
    QVERIFY2(nowPlayingUntil(local.port(), np, [](const QJsonObject &o) { return o.value("playlist").toString() == "main"; },
                             5000),
             qPrintable(QJsonDocument(np).toJson()));
    QVERIFY2(!np.contains("layout") && !np.contains("regions"), qPrintable(QJsonDocument(np).toJson()));
    QCOMPARE(np.value("asset").toString(), green.name);
}

// A region loads its next item a moment after a switch, not at it
// (RegionPlayer's kPreloadAfterSwitchMs: the load's work stays off the
// switch's frames; layout_bench). Right after each switch of a video region
// and a region of 1.5 s images (kPreloadMarginMs leaves them 1 s to load)
// the other slot is still empty (it was loading the next item at once
// before); each next item still comes in its turn, and
// every sample of both rectangles shows one of its region's colours: no
// dark or empty region frame at any switch.
void LayoutTest::nextItemLoadsAfterTheSwitch()
{
    PlayerHarness h;
    const Media red = h.content->video(QStringLiteral("red"), 1.2);
    const Media magenta = h.content->video(QStringLiteral("magenta"), 1.2);
    const Media green = h.content->solid(kGreen), blue = h.content->solid(kBlue);
    QJsonObject m = h.content->manifest(
        1,
        {{"videos", playlist({item(red, -1, "stretch"), item(magenta, -1, "stretch")})},
         {"images", playlist({item(green, 1500, "stretch"), item(blue, 1500, "stretch")})}},
        QString());
    m["layouts"] = QJsonObject{{"pair", QJsonObject{{"regions", QJsonArray{
        region("left", 0, 0, 0.5, 1, "videos"),
        region("right", 0.5, 0, 0.5, 1, "images"),
    }}}}};
    m["default_layout"] = "pair";
    h.content->activate(m);
    QVERIFY(h.start());
    QTRY_COMPARE_WITH_TIMEOUT(h.playback->layoutRegions().size(), std::size_t(2), 5000);
    RegionDarkWatch dark;
    // Per region: the other slot's state once the switch that showed a slot returned.
    std::map<QString, std::vector<MediaSlot::State>> otherAtSwitch;
    for (RegionPlayer *r : h.playback->layoutRegions()) {
        dark.watch(r);
        for (MediaSlot *s : {r->slotA(), r->slotB()})
            QObject::connect(s, &MediaSlot::shownChanged, s, [&otherAtSwitch, r, s] {
                if (!s->shown())
                    return;
                QTimer::singleShot(0, s, [&otherAtSwitch, r, s] {
                    MediaSlot *other = s == r->slotA() ? r->slotB() : r->slotA();
                    otherAtSwitch[r->regionId()].push_back(other->state());
                });
            });
    }
    std::vector<QColor> left, right;
    QTimer sampler;
    QObject::connect(&sampler, &QTimer::timeout, &sampler, [&] {
        const QImage img = h.grab();
        left.push_back(img.pixelColor(int(0.25 * (img.width() - 1)), img.height() / 2));
        right.push_back(img.pixelColor(int(0.75 * (img.width() - 1)), img.height() / 2));
    });
    QTRY_VERIFY_WITH_TIMEOUT(!h.playback->idle(), 5000);
    sampler.start(20);
    QTRY_VERIFY_WITH_TIMEOUT(otherAtSwitch["left"].size() >= 4 && otherAtSwitch["right"].size() >= 4, 30000);
    sampler.stop();
    for (const auto &[id, states] : otherAtSwitch)
        for (std::size_t i = 0; i < states.size(); ++i)
            QVERIFY2(states[i] == MediaSlot::State::Empty,
                     qPrintable(QStringLiteral("%1, switch %2: the other slot in state %3 right after it")
                                    .arg(id).arg(i).arg(int(states[i]))));
    const auto only = [](const std::vector<QColor> &samples, const QColor &a, const QColor &b) {
        int seenA = 0, seenB = 0, other = 0;
        for (const QColor &c : samples)
            (near(c, a) ? seenA : near(c, b) ? seenB : other) += 1;
        return QStringLiteral("%1 %2 %3").arg(seenA > 0).arg(seenB > 0).arg(other);
    };
    QCOMPARE(only(left, kRed, kMagenta), QStringLiteral("1 1 0"));
    QCOMPARE(only(right, kGreen, kBlue), QStringLiteral("1 1 0"));
    QCOMPARE(dark.darkMoments, 0);
    QCOMPARE(h.firstIncompletePlay(), std::nullopt);
}

QTEST_MAIN(LayoutTest)
#include "tst_layouts.moc"
