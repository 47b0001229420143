// Layouts (protocol v1.1 §12) through the hub's operator API, over real
// HTTP, against the backend STOA_HUB_TEST_BACKEND names: a layout put by
// name becomes part of the stored schedule and of the signed manifest a
// device fetches (verified with the hub's key, parsed by the device's
// parser); what breaks the §12 rules, an empty layout or a removal of
// something in use is refused with a message that says why, and leaves the
// site as it was; entries naming a layout, text items and default-layout
// travel through the editor's JSON, the preview and the week view.
#include "hub_harness.h"

#include "schedule/envelope.h"
#include "schedule/manifest_parse.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTest>

using namespace stoa;
using namespace stoa::hub;
using namespace stoa::hub::test;

namespace {

// A 1×1 PNG.
const std::string kPng = std::string(
    "\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89\0\0\0\rIDATx\x9c"
    "c\xf8\xcf\xc0\xf0\x1f\0\x05\0\x01\xff\x89\x99=\x1d\0\0\0\0IEND\xae B`\x82",
    70);

const std::string kSchedule = "timezone = UTC\ndefault = main\n\n[playlist main]\nlogo.png 8s\n\n"
                              "[playlist news]\ntext \"Doors close at 22:00\" 10s scroll color=#ffff00 background=#000080\n";

const std::string kMenu = R"({"regions": [
  {"id": "main", "playlist": "main", "x": 0, "y": 0, "w": 0.75, "h": 0.9},
  {"id": "ticker", "playlist": "news", "x": 0, "y": 0.9, "w": 1, "h": 0.1, "z": 1}]})";

QJsonObject object(const HttpResult &r) { return QJsonDocument::fromJson(QByteArray::fromStdString(r.body)).object(); }
QString error(const HttpResult &r) { return object(r).value("error").toString(); }

} // namespace

class LayoutsTest : public QObject {
    Q_OBJECT
    Backends backends;
    std::unique_ptr<HubHarness> h;
    std::string editor;

    // The fleet manifest pi-1 gets, verified with the hub's key and parsed
    // by the device's parser.
    std::optional<schedule::Manifest> deviceManifest()
    {
        const auto keyAnswer = h->client(h->viewer)->get("/api/v1/signing-key");
        auto keys = schedule::loadPublicKeysPem(object(keyAnswer).value("public_key_pem").toString().toLatin1());
        const auto r = h->client(h->dev1)->get("/v1/manifest.json");
        if (!keys || keys->empty() || r.status != 200)
            return std::nullopt;
        const std::array<schedule::PublicKey, 1> trusted{keys->front()};
        auto verified = schedule::verifyEnvelope(QByteArray::fromStdString(r.body), schedule::kManifestPayloadType, trusted);
        if (!verified)
            qFatal("the manifest does not verify: %s", qPrintable(verified.error().reason));
        auto m = schedule::parseManifest(verified->payload);
        if (!m)
            qFatal("the manifest does not parse: %s", qPrintable(m.error().reason));
        return *m;
    }

    std::int64_t version() { return object(h->client(h->viewer)->get("/api/v1/publication")).value("version").toInteger(); }

    void publishBase()
    {
        auto ed = h->client(editor);
        QCOMPARE(ed->put("/api/v1/media/logo.png", kPng, "image/png").status, 200L);
        const auto r = ed->put("/api/v1/schedules/fleet", kSchedule, "text/plain");
        QVERIFY2(r.status == 200, r.body.c_str());
    }

private slots:
    void initTestCase()
    {
        if (auto why = backends.init())
            QFAIL(why->c_str());
    }
    void init()
    {
        h = std::make_unique<HubHarness>();
        const auto e = h->start(backends, {});
        QVERIFY2(e.empty(), e.c_str());
        editor = h->add(TokenKind::Operator, "eve", Role::Editor);
    }
    void cleanup() { h.reset(); }

    void layoutBecomesPartOfTheSignedManifest()
    {
        publishBase();
        auto ed = h->client(editor);
        // Before any layout: none listed, a missing one is 404.
        QCOMPARE(object(ed->get("/api/v1/schedules/fleet/layouts")).value("layouts").toArray().size(), 0);
        QCOMPARE(ed->get("/api/v1/schedules/fleet/layouts/menu").status, 404L);

        const auto put = ed->put("/api/v1/schedules/fleet/layouts/menu", kMenu, "application/json");
        QVERIFY2(put.status == 200, put.body.c_str());
        const auto published = object(put).value("version").toInteger();
        QCOMPARE(published, version());

        // Stored in the schedule's text, readable by name and in the list.
        const auto menu = object(ed->get("/api/v1/schedules/fleet/layouts/menu"));
        QCOMPARE(menu.value("regions").toArray().size(), 2);
        QCOMPARE(menu.value("regions")[1].toObject().value("w").toDouble(), 1.0);
        QCOMPARE(menu.value("regions")[1].toObject().value("z").toInt(), 1);
        QCOMPARE(menu.value("used_by").toArray().size(), 0);
        QVERIFY(QString::fromStdString(ed->get("/api/v1/schedules/fleet").body).contains("[layout menu]"));

        // An entry names the layout, and it is the default on 1.1 devices.
        std::string text = ed->get("/api/v1/schedules/fleet").body;
        text = "default-layout = menu\n" + text + "\n[window lunch]\nlayout = menu\ntime = 11:00-14:00\npriority = 5\n";
        const auto preview = ed->post("/api/v1/schedules/fleet/preview", text, "text/plain");
        QVERIFY2(preview.status == 200, preview.body.c_str());
        QCOMPARE(object(preview).value("settings_changed").toBool(), true);
        QVERIFY2(object(preview).value("entries_added")[0].toString().startsWith("lunch: shows layout menu"), preview.body.c_str());
        const auto withEntry = ed->put("/api/v1/schedules/fleet", text, "text/plain");
        QVERIFY2(withEntry.status == 200, withEntry.body.c_str());

        const auto m = deviceManifest();
        QVERIFY(m);
        QCOMPARE(m->version, version());
        QVERIFY(m->layouts.count("menu"));
        const auto &regions = m->layouts.at("menu").regions;
        QCOMPARE(regions.size(), std::size_t{2});
        QCOMPARE(regions[0].id, std::string("main"));
        QCOMPARE(regions[0].rect, (schedule::FractionRect{0, 0, 0.75, 0.9}));
        QCOMPARE(regions[1].playlist, std::string("news"));
        QCOMPARE(regions[1].rect, (schedule::FractionRect{0, 0.9, 1, 0.1}));
        QCOMPARE(regions[1].z, 1);
        QCOMPARE(m->defaultLayout, std::optional<std::string>("menu"));
        QVERIFY(std::any_of(m->schedule.begin(), m->schedule.end(), [](const auto &e) { return e.layout == "menu"; }));

        // The editor's JSON carries the layout, the entry, the default and the text item.
        const auto json = object(ed->get("/api/v1/schedules/fleet?format=json"));
        QCOMPARE(json.value("default_layout").toString(), QString("menu"));
        QCOMPARE(json.value("layouts")[0].toObject().value("name").toString(), QString("menu"));
        QCOMPARE(json.value("windows")[0].toObject().value("layout").toString(), QString("menu"));
        QVERIFY(json.value("windows")[0].toObject().value("playlist").isNull());
        const auto ticker = json.value("playlists")[1].toObject().value("items")[0].toObject();
        QCOMPARE(ticker.value("text").toString(), QString("Doors close at 22:00"));
        QCOMPARE(ticker.value("scroll").toBool(), true);
        QCOMPARE(ticker.value("color").toString(), QString("#ffff00"));
        QCOMPARE(ticker.value("background").toString(), QString("#000080"));
        QCOMPARE(ticker.value("duration_ms").toInt(), 10000);

        // The week view, from the devices' engine: the layout at lunch, and
        // as the default the rest of the day.
        const auto week = object(ed->get("/api/v1/schedules/fleet/week?start=2026-03-02&days=1"));
        const auto hours = week.value("days")[0].toObject().value("hours").toArray();
        QCOMPARE(hours.size(), 24);
        QCOMPARE(hours[12].toObject().value("layouts").toVariant().toStringList(), QStringList{"menu"});
        QCOMPARE(hours[12].toObject().value("sources").toVariant().toStringList(), QStringList{"schedule"});
        QCOMPARE(hours[3].toObject().value("sources").toVariant().toStringList(), QStringList{"default"});

        // Changing the rectangle is a new version; the audit log names it.
        const auto moved = ed->put("/api/v1/schedules/fleet/layouts/menu",
                                   R"({"regions": [{"id": "main", "playlist": "main", "x": 0.25, "y": 0, "w": 0.75, "h": 1}]})",
                                   "application/json");
        QVERIFY2(moved.status == 200, moved.body.c_str());
        QCOMPARE(deviceManifest()->layouts.at("menu").regions.size(), std::size_t{1});
        QCOMPARE(deviceManifest()->layouts.at("menu").regions[0].rect, (schedule::FractionRect{0.25, 0, 0.75, 1}));
        const auto audit = object(ed->get("/api/v1/audit?limit=1")).value("entries")[0].toObject();
        QCOMPARE(audit.value("action").toString(), QString("layout.put"));
        QCOMPARE(audit.value("target").toString(), QString("fleet/layouts/menu"));
    }

    void badLayoutsAreRefusedAndChangeNothing()
    {
        publishBase();
        auto ed = h->client(editor);
        const auto before = version();
        const std::string text = ed->get("/api/v1/schedules/fleet").body;
        struct Case {
            const char *body;
            const char *says;
        };
        const Case cases[] = {
            {R"({"regions": [{"id": "a", "playlist": "main", "x": 0.5, "y": 0, "w": 0.75, "h": 1}]})", "x + w = 1.25 is over 1"},
            {R"({"regions": [{"id": "a", "playlist": "main", "x": 0, "y": 0, "w": 0, "h": 1}]})", "w must be greater than 0"},
            {R"({"regions": []})", "has no regions"},
            {R"({"regions": [{"id": "a", "playlist": "nothing", "x": 0, "y": 0, "w": 1, "h": 1}]})", "playlist \"nothing\" is not defined"},
            {R"({"regions": [{"id": "a", "playlist": "main", "x": 0, "y": 0, "w": 1, "h": 1},
                             {"id": "a", "playlist": "news", "x": 0, "y": 0, "w": 1, "h": 1}]})", "region \"a\" is already defined"},
            {R"({"regions": [{"id": "a b", "playlist": "main", "x": 0, "y": 0, "w": 1, "h": 1}]})", "\"id\" must be a name"},
            {R"({"regions": [{"id": "a", "playlist": "main\n[playlist x]", "x": 0, "y": 0, "w": 1, "h": 1}]})", "\"playlist\" must be a name"},
            {R"({"regions": [{"id": "a", "playlist": "main", "x": "0", "y": 0, "w": 1, "h": 1}]})", "\"x\" must be a number"},
            {R"({"regions": [{"id": "a", "playlist": "main", "x": 0, "y": 0, "w": 1, "h": 1, "z": 1.5}]})", "\"z\" must be a whole number"},
            {"not json", "must be a JSON object"},
        };
        for (const auto &c : cases) {
            const auto r = ed->put("/api/v1/schedules/fleet/layouts/menu", c.body, "application/json");
            QVERIFY2(r.status == 400, (std::string(c.body) + " -> " + std::to_string(r.status) + " " + r.body).c_str());
            QVERIFY2(error(r).contains(c.says), (std::string(c.says) + " not in " + r.body).c_str());
        }
        QCOMPARE(version(), before);
        QCOMPARE(ed->get("/api/v1/schedules/fleet").body, text);
        QVERIFY(deviceManifest()->layouts.empty());

        // Viewers may read, not change; a name that is not one is no route.
        QCOMPARE(h->client(h->viewer)->put("/api/v1/schedules/fleet/layouts/menu", kMenu, "application/json").status, 403L);
        QCOMPARE(h->client(h->viewer)->get("/api/v1/schedules/fleet/layouts").status, 200L);
        QCOMPARE(ed->put("/api/v1/schedules/fleet/layouts/a%20b", kMenu, "application/json").status, 404L);
        // A device without a schedule of its own, or an unknown device.
        QCOMPARE(ed->put("/api/v1/schedules/devices/pi-1/layouts/menu", kMenu, "application/json").status, 404L);
        QCOMPARE(ed->put("/api/v1/schedules/devices/nobody/layouts/menu", kMenu, "application/json").status, 404L);
        QCOMPARE(version(), before);
    }

    void removingWhatIsUsedIsRefusedWithTheReason()
    {
        publishBase();
        auto ed = h->client(editor);
        QCOMPARE(ed->put("/api/v1/schedules/fleet/layouts/menu", kMenu, "application/json").status, 200L);
        const std::string text = ed->get("/api/v1/schedules/fleet").body + "\n[window lunch]\nlayout = menu\ntime = 11:00-14:00\n";
        QCOMPARE(ed->put("/api/v1/schedules/fleet", text, "text/plain").status, 200L);
        const auto before = version();

        // A playlist a layout region plays: 409, naming the region.
        const auto pl = ed->request("DELETE", "/api/v1/schedules/fleet/playlists/news", {}, {});
        QCOMPARE(pl.status, 409L);
        QVERIFY2(error(pl).contains("layout menu region ticker"), pl.body.c_str());
        // The same through the whole text: the parser's refusal, with its line.
        std::string without = text;
        without.erase(without.find("[playlist news]"), without.find("[layout menu]") - without.find("[playlist news]"));
        const auto whole = ed->put("/api/v1/schedules/fleet", without, "text/plain");
        QCOMPARE(whole.status, 400L);
        QVERIFY2(error(whole).contains("playlist \"news\" is not defined"), whole.body.c_str());
        // A layout an entry shows: 409, naming the entry.
        const auto lay = ed->request("DELETE", "/api/v1/schedules/fleet/layouts/menu", {}, {});
        QCOMPARE(lay.status, 409L);
        QVERIFY2(error(lay).contains("entry lunch"), lay.body.c_str());
        QCOMPARE(version(), before);
        QCOMPARE(ed->get("/api/v1/schedules/fleet").body, text);

        // Once the entry is gone the layout goes, then its playlist; each
        // removal is a new version and leaves the rest of the text alone.
        QCOMPARE(ed->put("/api/v1/schedules/fleet", text.substr(0, text.find("\n[window lunch]") + 1), "text/plain").status, 200L);
        const auto gone = ed->request("DELETE", "/api/v1/schedules/fleet/layouts/menu", {}, {});
        QVERIFY2(gone.status == 200, gone.body.c_str());
        QCOMPARE(ed->get("/api/v1/schedules/fleet/layouts/menu").status, 404L);
        const auto news = ed->request("DELETE", "/api/v1/schedules/fleet/playlists/news", {}, {});
        QVERIFY2(news.status == 200, news.body.c_str());
        QCOMPARE(QString::fromStdString(ed->get("/api/v1/schedules/fleet").body), QString::fromStdString(kSchedule.substr(0, kSchedule.find("\n\n[playlist news]") + 1)));
        QVERIFY(version() > before);
        QCOMPARE(ed->request("DELETE", "/api/v1/schedules/fleet/playlists/news", {}, {}).status, 404L);
        // The default playlist cannot go.
        const auto main = ed->request("DELETE", "/api/v1/schedules/fleet/playlists/main", {}, {});
        QCOMPARE(main.status, 409L);
        QVERIFY2(error(main).contains("default"), main.body.c_str());
    }
};

QTEST_GUILESS_MAIN(LayoutsTest)
#include "tst_layouts.moc"
