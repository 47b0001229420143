// tests/schedule/tst_layouts.cpp — the manifest rules of protocol v1.1 §12
// (layouts, text items), §13 (sync, crop) and §14 (streams): the spec's own
// examples are accepted and map onto manifest.h, and each malformed variant
// (one field broken at a time) rejects the manifest whole with a reason
// naming the field.
#include "signed_documents.h"

#include "schedule/acceptance.h"
#include "schedule/manifest_parse.h"
#include "schedule/payload_fields.h"

#include <QJsonArray>
#include <QObject>
#include <QTest>

using namespace stoa::schedule;
using namespace stoa::schedule::testing;

namespace {

// The `layouts` example of v1.1 §12, as the spec prints it.
constexpr char kSpecLayouts[] = R"({
"layouts": {
  "menu": { "regions": [
    { "id": "main",   "x": 0,    "y": 0,    "w": 0.75, "h": 0.9, "playlist": "lobby" },
    { "id": "side",   "x": 0.75, "y": 0,    "w": 0.25, "h": 0.9, "playlist": "promo" },
    { "id": "ticker", "x": 0,    "y": 0.9,  "w": 1,    "h": 0.1, "playlist": "news", "z": 1 }
  ] }
}
})";

// The text item of v1.1 §12, as the spec prints it.
constexpr char kSpecText[] = R"({ "text": "Doors close at 22:00",
"duration_ms": 10000, "scroll": true, "color": "#ffffff", "background":
"#000000" })";

QJsonObject fromText(const char *json)
{
    return QJsonDocument::fromJson(json).object();
}

// validManifest() (every §3 field) plus every v1.1 §12-14 addition: the
// spec's layout and text item, a layout schedule entry, both defaults, a
// synchronised playlist with crops and a playlist of streams.
QJsonObject v11Manifest()
{
    QJsonObject o = validManifest();
    QJsonObject playlists = o["playlists"].toObject();
    playlists["promo"] = QJsonObject{{"items", QJsonArray{QJsonObject{{"asset", kImage}, {"duration_ms", 8000}}}}};
    playlists["news"] = QJsonObject{{"items", QJsonArray{fromText(kSpecText)}}};
    playlists["wall"] = QJsonObject{
        {"sync", QJsonObject{{"epoch", "2026-11-01T00:00:00Z"}}},
        {"items", QJsonArray{QJsonObject{{"asset", kVideo}, {"duration_ms", 6000},
                                         {"crop", QJsonObject{{"x", 0.5}, {"y", 0}, {"w", 0.5}, {"h", 0.5}}}},
                             QJsonObject{{"asset", kImage}, {"duration_ms", 4000}, {"fit", "cover"}}}}};
    playlists["cams"] = QJsonObject{{"items", QJsonArray{
        QJsonObject{{"stream", "rtsp://camera.local:8554/lobby"}, {"duration_ms", 30000}},
        QJsonObject{{"stream", "https://cdn.example.com/live/index.m3u8"}, {"duration_ms", 60000}}}}};
    o["playlists"] = playlists;
    o["layouts"] = fromText(kSpecLayouts)["layouts"];
    QJsonArray schedule = o["schedule"].toArray();
    schedule.append(QJsonObject{{"layout", "menu"}, {"priority", 5}, {"from", "11:00"}, {"until", "14:00"}});
    o["schedule"] = schedule;
    o["default_layout"] = "menu";
    return o;
}

QByteArray v11With(const QList<QVariant> &path, const QJsonValue &leaf)
{
    return toJson(edited(v11Manifest(), path, leaf).toObject());
}

QJsonObject rect(double x, double y, double w, double h)
{
    return QJsonObject{{"x", x}, {"y", y}, {"w", w}, {"h", h}};
}

} // namespace

class TestLayouts : public QObject {
    Q_OBJECT

private slots:
    void specExampleMapsOntoModel()
    {
        auto m = parseManifest(toJson(v11Manifest()));
        QVERIFY2(m.has_value(), m ? "" : qPrintable(m.error().reason));

        QCOMPARE(m->layouts.size(), std::size_t(1));
        const Layout &menu = m->layouts.at("menu");
        QCOMPARE(menu.regions.size(), std::size_t(3));
        QCOMPARE(menu.regions[0].id, std::string("main"));
        QCOMPARE(menu.regions[0].rect, (FractionRect{0, 0, 0.75, 0.9}));
        QCOMPARE(menu.regions[0].playlist, std::string("lobby"));
        QCOMPARE(menu.regions[0].z, 0);
        QCOMPARE(menu.regions[1].rect, (FractionRect{0.75, 0, 0.25, 0.9}));
        QCOMPARE(menu.regions[1].playlist, std::string("promo"));
        QCOMPARE(menu.regions[2].id, std::string("ticker"));
        QCOMPARE(menu.regions[2].rect, (FractionRect{0, 0.9, 1, 0.1}));
        QCOMPARE(menu.regions[2].z, 1);

        const PlaylistItem &ticker = m->playlists.at("news").items.at(0);
        QVERIFY(ticker.kind() == ItemKind::Text);
        QCOMPARE(ticker.text->text, QStringLiteral("Doors close at 22:00"));
        QVERIFY(ticker.text->scroll);
        QCOMPARE(ticker.text->color, (Rgb{255, 255, 255}));
        QCOMPARE(ticker.text->background, std::optional<Rgb>(Rgb{0, 0, 0}));
        QCOMPARE(ticker.durationMs, std::optional<std::int64_t>(10000));

        const Playlist &wall = m->playlists.at("wall");
        QVERIFY(wall.sync.has_value());
        QCOMPARE(wall.sync->epoch, at("2026-11-01T00:00:00Z"));
        QCOMPARE(wall.items[0].crop, std::optional<FractionRect>(FractionRect{0.5, 0, 0.5, 0.5}));
        QVERIFY(!wall.items[1].crop);
        QVERIFY(!m->playlists.at("lobby").sync);

        const auto &cams = m->playlists.at("cams").items;
        QVERIFY(cams[0].kind() == ItemKind::Stream);
        QCOMPARE(*cams[0].stream, QStringLiteral("rtsp://camera.local:8554/lobby"));
        QCOMPARE(*cams[1].stream, QStringLiteral("https://cdn.example.com/live/index.m3u8"));
        QCOMPARE(cams[1].durationMs, std::optional<std::int64_t>(60000));

        QCOMPARE(m->schedule.size(), std::size_t(2));
        QVERIFY(m->schedule[0].content() == (ContentRef{ContentKind::Playlist, "breakfast"}));
        QVERIFY(m->schedule[1].content() == (ContentRef{ContentKind::Layout, "menu"}));
        QCOMPARE(m->schedule[1].playlist, std::string());

        // Both defaults are kept; the layout is the one in force here.
        QCOMPARE(m->defaultPlaylist, std::optional<std::string>("lobby"));
        QCOMPARE(m->defaultLayout, std::optional<std::string>("menu"));
        QVERIFY(m->defaultContent() == (ContentRef{ContentKind::Layout, "menu"}));
        // v1 items keep their kinds.
        QVERIFY(m->playlists.at("lobby").items[0].kind() == ItemKind::Asset);
        QVERIFY(m->playlists.at("lobby").items[2].kind() == ItemKind::Url);
    }

    // The whole device chain (signature, parse, acceptance) adopts it.
    void specExampleIsAccepted()
    {
        const PrivateKey root = newKey();
        const TrustStore trust{{root.publicKey()}};
        const AcceptanceContext context{41, at("2027-01-01T00:00:00Z"), QStringLiteral("pi-lobby-01")};
        auto r = acceptManifestEnvelope(signedManifest(v11Manifest(), {root}), trust, context);
        QVERIFY2(r.has_value(), r ? "" : qPrintable(r.error().reason));
        QCOMPARE(r->manifest.layouts.at("menu").regions.size(), std::size_t(3));
    }

    // v1.1 §12: "if both are given, default_layout wins on a 1.1 device; a
    // 1.0 device uses default_playlist": a manifest with both is acceptable,
    // and the v1 rules (default_playlist must exist) still hold for it.
    void bothDefaultsAreAccepted()
    {
        const PrivateKey root = newKey();
        const TrustStore trust{{root.publicKey()}};
        const AcceptanceContext context{41, at("2027-01-01T00:00:00Z"), QStringLiteral("pi-lobby-01")};
        QJsonObject both = validManifest();
        both["layouts"] = QJsonObject{{"half", QJsonObject{{"regions", QJsonArray{
            QJsonObject{{"id", "left"}, {"x", 0}, {"y", 0}, {"w", 0.5}, {"h", 1}, {"playlist", "lobby"}}}}}}};
        both["default_layout"] = "half";
        QCOMPARE(both["default_playlist"].toString(), QStringLiteral("lobby"));
        auto r = acceptManifestEnvelope(signedManifest(both, {root}), trust, context);
        QVERIFY2(r.has_value(), r ? "" : qPrintable(r.error().reason));
        QCOMPARE(r->manifest.defaultPlaylist, std::optional<std::string>("lobby"));
        QVERIFY(r->manifest.defaultContent() == (ContentRef{ContentKind::Layout, "half"}));
        // Without the layout, the playlist is the default again.
        both.remove("default_layout");
        auto v1 = parseManifest(toJson(both));
        QVERIFY(v1.has_value());
        QVERIFY(v1->defaultContent() == (ContentRef{ContentKind::Playlist, "lobby"}));
    }

    void acceptedVariants_data()
    {
        QTest::addColumn<QByteArray>("json");
        QTest::newRow("default_layout null") << v11With({"default_layout"}, QJsonValue::Null);
        QTest::newRow("no default_playlist, a default_layout") << v11With({"default_playlist"}, kRemove);
        QTest::newRow("region touching both edges")
            << v11With({"layouts", "menu", "regions", 0}, QJsonObject{{"id", "main"}, {"x", 0}, {"y", 0}, {"w", 1}, {"h", 1}, {"playlist", "lobby"}});
        QTest::newRow("0.7 + 0.3 is 1, not out of bounds")
            << v11With({"layouts", "menu", "regions", 1}, QJsonObject{{"id", "side"}, {"x", 0.7}, {"y", 0.1}, {"w", 0.3}, {"h", 0.9}, {"playlist", "promo"}});
        QTest::newRow("overlapping regions (z orders them)")
            << v11With({"layouts", "menu", "regions", 1, "x"}, 0.5);
        QTest::newRow("negative z") << v11With({"layouts", "menu", "regions", 2, "z"}, -3);
        QTest::newRow("uppercase colour") << v11With({"playlists", "news", "items", 0, "color"}, "#FFAA00");
        QTest::newRow("text without colours, scroll or duration")
            << v11With({"playlists", "news", "items", 0}, QJsonObject{{"text", "مرحبا 👋"}});
        QTest::newRow("scroll false") << v11With({"playlists", "news", "items", 0, "scroll"}, false);
        QTest::newRow("rtsps stream") << v11With({"playlists", "cams", "items", 0, "stream"}, "rtsps://cam.example.com/s1");
        QTest::newRow("HLS with a query") << v11With({"playlists", "cams", "items", 1, "stream"}, "http://tv.local/hls/INDEX.M3U8?token=a1");
        QTest::newRow("crop of the whole picture") << v11With({"playlists", "wall", "items", 0, "crop"}, rect(0, 0, 1, 1));
        QTest::newRow("crop on an unsynchronised item") << v11With({"playlists", "lobby", "items", 1, "crop"}, rect(0, 0.5, 0.5, 0.5));
        QTest::newRow("sync epoch with an offset") << v11With({"playlists", "wall", "sync", "epoch"}, "2026-11-01T01:00:00+01:00");
        QTest::newRow("a region playing a sync playlist") << v11With({"layouts", "menu", "regions", 0, "playlist"}, "wall");
        QTest::newRow("a layout and a playlist of one name")
            << v11With({"layouts", "lobby"}, QJsonObject{{"regions", QJsonArray{QJsonObject{{"id", "a"}, {"x", 0}, {"y", 0}, {"w", 1}, {"h", 1}, {"playlist", "lobby"}}}}});
    }
    void acceptedVariants()
    {
        QFETCH(QByteArray, json);
        auto m = parseManifest(json);
        QVERIFY2(m.has_value(), m ? "" : qPrintable(m.error().reason));
    }

    void malformed_data()
    {
        QTest::addColumn<QByteArray>("json");
        QTest::addColumn<QString>("mentions"); // what the operator-facing reason must contain

        const QList<QVariant> main{"layouts", "menu", "regions", 0};
        auto region = [&](const QString &key, const QJsonValue &v) { return v11With(main + QList<QVariant>{key}, v); };
        const QList<QVariant> ticker{"playlists", "news", "items", 0};
        auto text = [&](const QString &key, const QJsonValue &v) { return v11With(ticker + QList<QVariant>{key}, v); };
        const QList<QVariant> wallVideo{"playlists", "wall", "items", 0};

        // §12: references, ids, rectangles.
        QTest::newRow("region playlist missing") << region("playlist", "dinner")
            << "layouts.menu.regions[0].playlist: playlist \"dinner\" does not exist";
        QTest::newRow("region playlist absent") << region("playlist", kRemove) << "layouts.menu.regions[0].playlist: must be a string";
        QTest::newRow("entry layout missing") << v11With({"schedule", 1, "layout"}, "dinner")
            << "schedule[1].layout: layout \"dinner\" does not exist";
        QTest::newRow("default_layout missing") << v11With({"default_layout"}, "dinner")
            << "default_layout: layout \"dinner\" does not exist";
        QTest::newRow("default_layout naming a playlist") << v11With({"default_layout"}, "lobby")
            << "default_layout: layout \"lobby\" does not exist";
        QTest::newRow("default_layout number") << v11With({"default_layout"}, 3) << "default_layout: must be a string";
        QTest::newRow("entry with playlist and layout") << v11With({"schedule", 1, "playlist"}, "lobby")
            << "schedule[1]: needs exactly one of \"playlist\" or \"layout\"";
        QTest::newRow("entry with neither") << v11With({"schedule", 1, "layout"}, kRemove)
            << "schedule[1]: needs exactly one of \"playlist\" or \"layout\"";
        QTest::newRow("entry layout empty") << v11With({"schedule", 1, "layout"}, "") << "schedule[1].layout";
        QTest::newRow("region id repeated") << v11With({"layouts", "menu", "regions", 1, "id"}, "main")
            << "layouts.menu.regions[1].id: region id \"main\" is repeated";
        QTest::newRow("region id empty") << region("id", "") << "layouts.menu.regions[0].id";
        QTest::newRow("region id missing") << region("id", kRemove) << "layouts.menu.regions[0].id";
        QTest::newRow("x + w over 1") << v11With({"layouts", "menu", "regions", 1, "w"}, 0.3)
            << "layouts.menu.regions[1]: x + w = 1.05 is over 1 (out of bounds)";
        QTest::newRow("y + h over 1") << v11With({"layouts", "menu", "regions", 2, "y"}, 0.95)
            << "layouts.menu.regions[2]: y + h = 1.05 is over 1";
        QTest::newRow("x below 0") << region("x", -0.1) << "layouts.menu.regions[0]: x -0.1 is below 0";
        QTest::newRow("y below 0") << region("y", -0.5) << "layouts.menu.regions[0]: y -0.5 is below 0";
        QTest::newRow("w zero") << region("w", 0) << "layouts.menu.regions[0]: w must be greater than 0";
        QTest::newRow("h negative") << region("h", -0.2) << "layouts.menu.regions[0]: h must be greater than 0";
        QTest::newRow("x beyond the screen") << region("x", 1.5) << "x + w";
        QTest::newRow("w a string") << region("w", "0.5") << "layouts.menu.regions[0].w: must be a number";
        QTest::newRow("h missing") << region("h", kRemove) << "layouts.menu.regions[0].h: must be a number";
        QTest::newRow("z fraction") << region("z", 1.5) << "layouts.menu.regions[0].z";
        QTest::newRow("x missing") << region("x", kRemove) << "layouts.menu.regions[0].x: must be a number";
        QTest::newRow("regions empty") << v11With({"layouts", "menu", "regions"}, QJsonArray{})
            << "layouts.menu: must be an object with a non-empty \"regions\" array";
        QTest::newRow("regions missing") << v11With({"layouts", "menu", "regions"}, kRemove) << "layouts.menu";
        QTest::newRow("region a string") << v11With({"layouts", "menu", "regions", 0}, "main")
            << "layouts.menu.regions[0]: must be an object";
        QTest::newRow("layouts an array") << v11With({"layouts"}, QJsonArray{}) << "layouts: must be an object";
        QTest::newRow("layout name empty")
            << v11With({"layouts", ""}, fromText(kSpecLayouts)["layouts"].toObject()["menu"]) << "a layout name is empty";

        // §12 items: exactly one kind; text fields.
        QTest::newRow("item with no kind") << v11With({"playlists", "news", "items", 0}, QJsonObject{{"duration_ms", 5000}})
            << "playlists.news.items[0]: needs exactly one of \"asset\", \"url\", \"text\" or \"stream\"";
        QTest::newRow("text and asset") << text("asset", kImage) << "playlists.news.items[0]: needs exactly one of";
        QTest::newRow("text and url") << text("url", "https://example.com/") << "needs exactly one of";
        QTest::newRow("stream and url") << v11With({"playlists", "cams", "items", 0, "url"}, "https://example.com/")
            << "playlists.cams.items[0]: needs exactly one of";
        QTest::newRow("asset and stream") << v11With({"playlists", "lobby", "items", 1, "stream"}, "rtsp://cam/1")
            << "playlists.lobby.items[1]: needs exactly one of";
        QTest::newRow("text empty") << text("text", "") << "playlists.news.items[0].text: must be a non-empty string";
        QTest::newRow("text a number") << text("text", 22) << "playlists.news.items[0].text";
        QTest::newRow("text null") << text("text", QJsonValue::Null) << "playlists.news.items[0].text";
        QTest::newRow("scroll a string") << text("scroll", "yes") << "playlists.news.items[0].scroll: must be true or false";
        QTest::newRow("colour short form") << text("color", "#fff") << "playlists.news.items[0].color: must be a colour \"#rrggbb\"";
        QTest::newRow("colour name") << text("color", "white") << "playlists.news.items[0].color";
        QTest::newRow("colour not hex") << text("color", "#12345g") << "playlists.news.items[0].color";
        QTest::newRow("colour with alpha") << text("color", "#ffffff80") << "playlists.news.items[0].color";
        QTest::newRow("colour with a sign") << text("color", "#+12345") << "playlists.news.items[0].color";
        QTest::newRow("background without #") << text("background", "000000") << "playlists.news.items[0].background";
        QTest::newRow("background a number") << text("background", 0) << "playlists.news.items[0].background";

        // §14 streams.
        QTest::newRow("stream ftp") << v11With({"playlists", "cams", "items", 0, "stream"}, "ftp://cam/1")
            << "playlists.cams.items[0].stream: must be an rtsp:// URL or an http(s) URL of an HLS playlist";
        QTest::newRow("stream an mp4 over http") << v11With({"playlists", "cams", "items", 1, "stream"}, "https://cdn.example.com/a.mp4")
            << "playlists.cams.items[1].stream";
        QTest::newRow("stream without host") << v11With({"playlists", "cams", "items", 0, "stream"}, "rtsp:///x")
            << "playlists.cams.items[0].stream";
        QTest::newRow("stream a number") << v11With({"playlists", "cams", "items", 0, "stream"}, 5) << "playlists.cams.items[0].stream";
        QTest::newRow("stream without duration") << v11With({"playlists", "cams", "items", 1, "duration_ms"}, kRemove)
            << "playlists.cams.items[1].duration_ms: is required for a stream item";

        // §13 sync and crop.
        QTest::newRow("sync item without duration") << v11With(wallVideo + QList<QVariant>{"duration_ms"}, kRemove)
            << "playlists.wall.items[0].duration_ms: is required in a synchronised playlist";
        QTest::newRow("sync image without duration") << v11With({"playlists", "wall", "items", 1, "duration_ms"}, kRemove)
            << "playlists.wall.items[1].duration_ms: is required in a synchronised playlist";
        QTest::newRow("sync playlist empty") << v11With({"playlists", "wall", "items"}, QJsonArray{})
            << "playlists.wall.items: a synchronised playlist needs at least one item";
        QTest::newRow("sync epoch missing") << v11With({"playlists", "wall", "sync", "epoch"}, kRemove)
            << "playlists.wall.sync.epoch: must be an RFC 3339 time";
        QTest::newRow("sync epoch without offset") << v11With({"playlists", "wall", "sync", "epoch"}, "2026-11-01T00:00:00")
            << "playlists.wall.sync.epoch";
        QTest::newRow("sync not an object") << v11With({"playlists", "wall", "sync"}, true) << "playlists.wall.sync: must be an object";
        const QJsonObject huge = edited(v11Manifest(), wallVideo + QList<QVariant>{"duration_ms"}, 5e18).toObject();
        QTest::newRow("sync cycle overflows")
            << toJson(edited(huge, {"playlists", "wall", "items", 1, "duration_ms"}, 5e18).toObject())
            << "playlists.wall.items[1].duration_ms: the durations of a synchronised playlist add up to more than";
        QTest::newRow("crop out of bounds") << v11With(wallVideo + QList<QVariant>{"crop"}, rect(0.5, 0.5, 0.6, 0.5))
            << "playlists.wall.items[0].crop: x + w = 1.1 is over 1 (out of bounds)";
        QTest::newRow("crop below 0") << v11With(wallVideo + QList<QVariant>{"crop"}, rect(0, -0.25, 0.5, 0.5))
            << "playlists.wall.items[0].crop: y -0.25 is below 0";
        QTest::newRow("crop w zero") << v11With(wallVideo + QList<QVariant>{"crop"}, rect(0, 0, 0, 0.5))
            << "playlists.wall.items[0].crop: w must be greater than 0";
        QTest::newRow("crop h missing") << v11With(wallVideo + QList<QVariant>{"crop", "h"}, kRemove)
            << "playlists.wall.items[0].crop.h: must be a number";
        QTest::newRow("crop an array") << v11With(wallVideo + QList<QVariant>{"crop"}, QJsonArray{0, 0, 1, 1})
            << "playlists.wall.items[0].crop: must be an object";
    }
    void malformed()
    {
        QFETCH(QByteArray, json);
        QFETCH(QString, mentions);
        auto m = parseManifest(json);
        QCOMPARE(outcome(m), QStringLiteral("MalformedPayload"));
        QVERIFY2(m.error().reason.startsWith(QStringLiteral("malformed manifest: ")), qPrintable(m.error().reason));
        QVERIFY2(m.error().reason.contains(mentions), qPrintable(m.error().reason));
    }

    // Malformed is malformed through the whole chain: rejected whole, the
    // reason reaching the caller.
    void malformedLayoutRejectedByAcceptance()
    {
        const PrivateKey root = newKey();
        const TrustStore trust{{root.publicKey()}};
        const AcceptanceContext context{41, at("2027-01-01T00:00:00Z"), QStringLiteral("pi-lobby-01")};
        const QJsonObject broken = edited(v11Manifest(), {"layouts", "menu", "regions", 1, "id"}, "main").toObject();
        auto r = acceptManifestEnvelope(signedManifest(broken, {root}), trust, context);
        QCOMPARE(outcome(r), QStringLiteral("MalformedPayload"));
        QVERIFY2(r.error().reason.contains("region id \"main\" is repeated"), qPrintable(r.error().reason));
    }

    // checkReferences() re-checks a Manifest built elsewhere (acceptance runs it).
    void referencesRecheckedOnBuiltManifest()
    {
        auto m = parseManifest(toJson(v11Manifest()));
        QVERIFY(m.has_value());
        QVERIFY(checkReferences(*m).has_value());
        const auto reasonOf = [](const Manifest &broken) {
            auto r = checkReferences(broken);
            return r ? QStringLiteral("accepted") : r.error().reason;
        };
        Manifest broken = *m;
        broken.layouts.at("menu").regions[1].playlist = "gone";
        QVERIFY(reasonOf(broken).contains("layouts.menu.regions[1].playlist: playlist \"gone\" does not exist"));
        broken = *m;
        broken.schedule[1].layout = "gone";
        QVERIFY(reasonOf(broken).contains("schedule[1].layout: layout \"gone\" does not exist"));
        broken = *m;
        broken.schedule[1].playlist = "lobby"; // and layout "menu": two
        QVERIFY(reasonOf(broken).contains("schedule[1]: needs exactly one of \"playlist\" or \"layout\""));
        broken = *m;
        broken.defaultLayout = "gone";
        QVERIFY(reasonOf(broken).contains("default_layout"));
        broken = *m;
        broken.playlists.at("news").items[0].stream = QStringLiteral("rtsp://cam/1"); // text and stream
        QVERIFY(reasonOf(broken).contains("playlists.news.items[0]: needs exactly one of"));
        broken = *m;
        broken.playlists.at("news").items[0].text.reset(); // no kind at all
        QVERIFY(reasonOf(broken).contains("playlists.news.items[0]: needs exactly one of"));
    }

    // The shared value readers the publisher's schedule source uses too.
    void colours()
    {
        QCOMPARE(parseRgb("#0a0B0c"), std::optional<Rgb>(Rgb{10, 11, 12}));
        QCOMPARE(parseRgb("#ffffff"), std::optional<Rgb>(Rgb{255, 255, 255}));
        for (const char *bad : {"", "#", "#fff", "ffffff", "#fffffff", "# ffffff", "#fffff ", "#-fffff", "#0xffff", "#ggGGgg"})
            QVERIFY2(!parseRgb(QString::fromLatin1(bad)), bad);
        QVERIFY(!parseRgb(QStringLiteral("#ff٣fff"))); // an Arabic-Indic digit is not a hex digit
        QCOMPARE(rgbText(Rgb{10, 11, 255}), QStringLiteral("#0a0bff"));
        QCOMPARE(parseRgb(rgbText(Rgb{1, 2, 3})), std::optional<Rgb>(Rgb{1, 2, 3}));
    }
};

QTEST_GUILESS_MAIN(TestLayouts)
#include "tst_layouts.moc"
