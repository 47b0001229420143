// Publishing through the hub: media, schedules, commands, the keys document
// and the §10 wake-up, over real HTTP, against the backend
// STOA_HUB_TEST_BACKEND names. Every manifest the hub writes is checked the
// way a device checks it: signature by the hub's key, then parseManifest.
#include "hub_harness.h"

#include "publish/keys_document.h"
#include "publish/site.h"
#include "schedule/digest.h"
#include "schedule/envelope.h"
#include "schedule/manifest_parse.h"

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTest>

#include <future>

using namespace stoa;
using namespace stoa::hub;
using namespace stoa::hub::test;

namespace {

// A 1×1 PNG.
const std::string kPng = std::string(
    "\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89\0\0\0\rIDATx\x9c"
    "c\xf8\xcf\xc0\xf0\x1f\0\x05\0\x01\xff\x89\x99=\x1d\0\0\0\0IEND\xae B`\x82",
    70);

const std::string kFleet = "timezone = UTC\ndefault = main\n\n[playlist main]\nlogo.png 8s\n";

QJsonObject object(const HttpResult &r) { return QJsonDocument::fromJson(QByteArray::fromStdString(r.body)).object(); }

} // namespace

class PublishTest : public QObject {
    Q_OBJECT
    Backends backends;
    std::unique_ptr<HubHarness> h;
    std::string editor;

    void startHub(HubOptions options = {})
    {
        h = std::make_unique<HubHarness>();
        const auto e = h->start(backends, options);
        QVERIFY2(e.empty(), e.c_str());
        editor = h->add(TokenKind::Operator, "eve", Role::Editor);
    }

    schedule::PublicKey hubKey()
    {
        const auto r = h->client(h->viewer)->get("/api/v1/signing-key");
        auto keys = schedule::loadPublicKeysPem(object(r).value("public_key_pem").toString().toLatin1());
        if (!keys || keys->empty())
            qFatal("no signing key from the hub");
        return keys->front();
    }

    // The manifest a device gets at `path`, verified with the hub's key.
    std::optional<schedule::Manifest> fetchManifest(const std::string &deviceToken, const std::string &path)
    {
        const auto r = h->client(deviceToken)->get(path);
        if (r.status != 200)
            return std::nullopt;
        const std::array<schedule::PublicKey, 1> trusted{hubKey()};
        auto verified = schedule::verifyEnvelope(QByteArray::fromStdString(r.body), schedule::kManifestPayloadType, trusted);
        if (!verified)
            qFatal("manifest at %s does not verify: %s", path.c_str(), qPrintable(verified.error().reason));
        auto m = schedule::parseManifest(verified->payload);
        if (!m)
            qFatal("manifest at %s does not parse: %s", path.c_str(), qPrintable(m.error().reason));
        return *m;
    }

    void publishFleet()
    {
        auto ed = h->client(editor);
        QCOMPARE(ed->put("/api/v1/media/logo.png", kPng, "image/png").status, 200L);
        const auto r = ed->put("/api/v1/schedules/fleet", kFleet, "text/plain");
        QVERIFY2(r.status == 200, r.body.c_str());
    }

private slots:
    void initTestCase()
    {
        if (auto why = backends.init())
            QFAIL(why->c_str());
    }
    void init() { startHub(); }
    void cleanup() { h.reset(); }

    void fleetScheduleBecomesASignedManifest()
    {
        auto ed = h->client(editor);
        // A schedule naming a medium the library lacks is refused, with its line.
        const auto missing = ed->put("/api/v1/schedules/fleet", kFleet, "text/plain");
        QCOMPARE(missing.status, 400L);
        QVERIFY2(object(missing).value("error").toString().contains("logo.png"), missing.body.c_str());
        QCOMPARE(h->client(h->dev1)->get("/v1/manifest.json").status, 404L);

        const auto media = ed->put("/api/v1/media/logo.png", kPng, "image/png");
        QCOMPARE(media.status, 200L);
        const std::string hex = object(media).value("sha256").toString().toStdString();
        QCOMPARE(hex, schedule::sha256(QByteArray::fromStdString(kPng)).hex());

        const auto published = ed->put("/api/v1/schedules/fleet", kFleet, "text/plain");
        QCOMPARE(published.status, 200L);
        const auto version = object(published).value("version").toInteger();
        QVERIFY(version >= 1);

        const auto m = fetchManifest(h->dev1, "/v1/manifest.json");
        QVERIFY(m);
        QCOMPARE(m->version, version);
        QCOMPARE(m->devices, std::vector<std::string>{"*"});
        // The blob it names is served, byte for byte.
        const auto blob = h->client(h->dev1)->get("/v1/blobs/sha256/" + hex);
        QCOMPARE(blob.status, 200L);
        QCOMPARE(blob.body, kPng);
        QCOMPARE(h->client(h->viewer)->get("/api/v1/schedules/fleet").body, kFleet);

        // A syntax error is refused with its line, and the site stays.
        const auto bad = ed->put("/api/v1/schedules/fleet", "timezone = UTC\n[playlist main]\nlogo.png 8 parsecs\n", "text/plain");
        QCOMPARE(bad.status, 400L);
        QVERIFY2(object(bad).value("error").toString().contains(":3:"), bad.body.c_str());
        QCOMPARE(fetchManifest(h->dev1, "/v1/manifest.json")->version, version);
        QCOMPARE(h->client(h->viewer)->get("/api/v1/schedules/fleet").body, kFleet);
    }

    void onlyEditorsChangeContent()
    {
        QCOMPARE(h->client(h->viewer)->put("/api/v1/media/logo.png", kPng, "image/png").status, 403L);
        QCOMPARE(h->client(h->viewer)->put("/api/v1/schedules/fleet", kFleet, "text/plain").status, 403L);
        QCOMPARE(h->client(h->dev1)->put("/api/v1/media/logo.png", kPng, "image/png").status, 401L);
        QCOMPARE(h->client(editor)->put("/api/v1/keys", "{}", "application/json").status, 403L);
        QCOMPARE(h->client(editor)->put("/api/v1/media/.hidden", kPng, "image/png").status, 400L);
        const auto list = h->client(h->viewer)->get("/api/v1/media");
        QCOMPARE(list.status, 200L);
        QCOMPARE(list.body, std::string("[]\n"));
    }

    void deviceScheduleAndCommands()
    {
        publishFleet();
        auto ed = h->client(editor);
        const std::string own = "timezone = UTC\ndefault = mine\n\n[playlist mine]\nlogo.png 20s\n";
        const auto put = ed->put("/api/v1/schedules/devices/pi-1", own, "text/plain");
        QCOMPARE(put.status, 200L);
        const auto v1 = object(put).value("version").toInteger();
        const auto mine = fetchManifest(h->dev1, "/v1/devices/pi-1/manifest.json");
        QVERIFY(mine);
        QCOMPARE(mine->version, v1);
        QCOMPARE(mine->devices, std::vector<std::string>{"pi-1"});
        // The fleet manifest moved to the same version; pi-2 has none of its own.
        QCOMPARE(fetchManifest(h->dev2, "/v1/manifest.json")->version, v1);
        QCOMPARE(h->client(h->dev2)->get("/v1/devices/pi-2/manifest.json").status, 404L);
        QCOMPARE(ed->put("/api/v1/schedules/devices/pi-9", own, "text/plain").status, 404L);

        // A command for pi-2 gives it a manifest of its own: the fleet content plus the command.
        const auto cmd = ed->post("/api/v1/devices/pi-2/commands", R"({"type":"screenshot"})");
        QCOMPARE(cmd.status, 202L);
        const auto id = object(cmd).value("id").toString().toStdString();
        const auto withCommand = fetchManifest(h->dev2, "/v1/devices/pi-2/manifest.json");
        QVERIFY(withCommand);
        QCOMPARE(withCommand->commands.size(), std::size_t{1});
        QCOMPARE(withCommand->commands[0].id, id);
        QCOMPARE(withCommand->commands[0].type, std::string("screenshot"));
        QCOMPARE(withCommand->devices, std::vector<std::string>{"pi-2"});
        QVERIFY(withCommand->version > v1);
        QCOMPARE(QJsonDocument::fromJson(QByteArray::fromStdString(h->client(h->viewer)->get("/api/v1/devices/pi-2/commands").body))
                     .array().size(),
                 1);
        QCOMPARE(ed->post("/api/v1/devices/pi-2/commands", R"({"type":"format_disk"})").status, 400L);
        QCOMPARE(ed->post("/api/v1/devices/pi-9/commands", R"({"type":"reboot"})").status, 404L);

        // pi-1's own schedule goes: its manifest goes, and the fleet one is above it.
        const auto removed = ed->request("DELETE", "/api/v1/schedules/devices/pi-1", {}, {});
        QCOMPARE(removed.status, 200L);
        QCOMPARE(h->client(h->dev1)->get("/v1/devices/pi-1/manifest.json").status, 404L);
        QVERIFY(fetchManifest(h->dev1, "/v1/manifest.json")->version > withCommand->version);
        QCOMPARE(ed->request("DELETE", "/api/v1/schedules/devices/pi-1", {}, {}).status, 400L);
    }

    void groupsGetTheirSchedule()
    {
        publishFleet();
        auto ed = h->client(editor);
        const std::string lobby = "timezone = UTC\ndefault = lobby\n\n[playlist lobby]\nlogo.png 30s\n";
        QCOMPARE(ed->put("/api/v1/schedules/groups/lobby", lobby, "text/plain").status, 200L);
        // No member yet: nobody gets it.
        QCOMPARE(h->client(h->dev1)->get("/v1/devices/pi-1/manifest.json").status, 404L);

        const auto moved = ed->request("PUT", "/api/v1/devices/pi-1/group", R"({"group":"lobby"})", {"Content-Type: application/json"});
        QCOMPARE(moved.status, 200L);
        const auto mine = fetchManifest(h->dev1, "/v1/devices/pi-1/manifest.json");
        QVERIFY(mine);
        QVERIFY(mine->playlists.count("lobby") == 1);
        QCOMPARE(mine->devices, std::vector<std::string>{"pi-1"});
        QCOMPARE(h->client(h->dev2)->get("/v1/devices/pi-2/manifest.json").status, 404L);
        // Filters and the listing show it.
        const auto listed = QJsonDocument::fromJson(QByteArray::fromStdString(h->client(h->viewer)->get("/api/v1/devices?group=lobby").body)).array();
        QCOMPARE(listed.size(), 1);
        QCOMPARE(listed[0].toObject().value("group").toString(), QString("lobby"));
        QCOMPARE(ed->request("PUT", "/api/v1/devices/pi-2/tags", R"({"tags":["east","floor-2"]})", {"Content-Type: application/json"}).status, 204L);
        const auto east = QJsonDocument::fromJson(QByteArray::fromStdString(h->client(h->viewer)->get("/api/v1/devices?tag=east").body)).array();
        QCOMPARE(east.size(), 1);
        QCOMPARE(east[0].toObject().value("id").toString(), QString("pi-2"));
        QCOMPARE(ed->request("PUT", "/api/v1/devices/pi-2/tags", R"({"tags":["bad tag"]})", {"Content-Type: application/json"}).status, 400L);
        QCOMPARE(h->client(h->viewer)->request("PUT", "/api/v1/devices/pi-2/tags", R"({"tags":[]})", {"Content-Type: application/json"}).status, 403L);

        // Out of the group: back to the fleet manifest, above the group's version.
        QCOMPARE(ed->request("PUT", "/api/v1/devices/pi-1/group", R"({"group":null})", {"Content-Type: application/json"}).status, 200L);
        QCOMPARE(h->client(h->dev1)->get("/v1/devices/pi-1/manifest.json").status, 404L);
        QVERIFY(fetchManifest(h->dev1, "/v1/manifest.json")->version > mine->version);
        QCOMPARE(ed->request("DELETE", "/api/v1/schedules/groups/lobby", {}, {}).status, 200L);
        QCOMPARE(h->client(h->viewer)->get("/api/v1/schedules/groups/lobby").status, 404L);
    }

    void aFailedWriteLeavesTheSiteAsItWas()
    {
        publishFleet();
        auto ed = h->client(editor);
        const std::string own = "timezone = UTC\ndefault = mine\n\n[playlist mine]\nlogo.png 20s\n";
        QCOMPARE(ed->put("/api/v1/schedules/devices/pi-2", own, "text/plain").status, 200L);
        const QString site = h->dir.filePath("site/v1");
        auto bytes = [](const QString &path) {
            QFile f(path);
            return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray("(missing)");
        };
        const QByteArray fleetBefore = bytes(site + "/manifest.json");
        // pi-2's manifest cannot be replaced (a directory is in its way);
        // pi-1's (written before it, for the command) must be put back.
        QVERIFY(QFile::remove(site + "/devices/pi-2/manifest.json"));
        QVERIFY(QDir().mkpath(site + "/devices/pi-2/manifest.json/blocked"));
        const auto r = ed->post("/api/v1/devices/pi-1/commands", R"({"type":"screenshot"})");
        QVERIFY2(r.status >= 400, r.body.c_str());
        QCOMPARE(bytes(site + "/manifest.json"), fleetBefore);
        QVERIFY(!QFile::exists(site + "/devices/pi-1/manifest.json"));
        QCOMPARE(h->client(h->viewer)->get("/api/v1/devices/pi-1/commands").body, std::string("[]\n"));
    }

    void replacedMediaIsRepublished()
    {
        publishFleet();
        const auto before = fetchManifest(h->dev1, "/v1/manifest.json");
        std::string other = kPng;
        other.back() = '\x83'; // other bytes, same name
        QCOMPARE(h->client(editor)->put("/api/v1/media/logo.png", other, "image/png").status, 200L);
        const auto after = fetchManifest(h->dev1, "/v1/manifest.json");
        QVERIFY(after->version > before->version);
        QVERIFY(after->playlists.at("main").items.front().asset != before->playlists.at("main").items.front().asset);
    }

    void mediaInUseCannotBeDeleted()
    {
        auto ed = h->client(editor);
        // A type no device plays is refused at upload, not later.
        const auto txt = ed->put("/api/v1/media/notes.txt", "text", "text/plain");
        QCOMPARE(txt.status, 400L);
        QVERIFY2(txt.body.find("not a supported media type") != std::string::npos, txt.body.c_str());
        publishFleet();
        QCOMPARE(ed->put("/api/v1/media/spare.png", kPng, "image/png").status, 200L);
        const auto list = QJsonDocument::fromJson(QByteArray::fromStdString(ed->get("/api/v1/media").body)).array();
        QCOMPARE(list.size(), 2);
        QCOMPARE(list[0].toObject().value("name").toString(), QString("logo.png"));
        QCOMPARE(list[0].toObject().value("type").toString(), QString("image/png"));
        QCOMPARE(list[0].toObject().value("used_by").toArray().size(), 1);
        QCOMPARE(list[0].toObject().value("used_by")[0].toObject().value("schedule").toString(), QString("fleet"));
        QCOMPARE(list[1].toObject().value("used_by").toArray().size(), 0);
        const auto refused = ed->request("DELETE", "/api/v1/media/logo.png", {}, {});
        QCOMPARE(refused.status, 409L);
        QVERIFY2(refused.body.find("in use") != std::string::npos, refused.body.c_str());
        QCOMPARE(ed->get("/api/v1/media/logo.png").body, kPng); // still there, bytes as uploaded
        QCOMPARE(h->client(h->viewer)->request("DELETE", "/api/v1/media/spare.png", {}, {}).status, 403L);
        QCOMPARE(ed->request("DELETE", "/api/v1/media/spare.png", {}, {}).status, 204L);
        QCOMPARE(ed->request("DELETE", "/api/v1/media/spare.png", {}, {}).status, 404L);
        QCOMPARE(ed->get("/api/v1/media/spare.png").status, 404L);
    }

    void weekViewFollowsTheEngineAcrossDst()
    {
        auto ed = h->client(editor);
        QCOMPARE(ed->put("/api/v1/media/logo.png", kPng, "image/png").status, 200L);
        const std::string text = "timezone = Europe/Oslo\ndefault = idle\n\n[playlist idle]\nlogo.png 5s\n\n"
                                 "[playlist night]\nlogo.png 6s\n\n[window night]\ntime = 01:30-03:00\n";
        QCOMPARE(ed->put("/api/v1/schedules/fleet", text, "text/plain").status, 200L);
        // Sunday 25 October 2026: 03:00 CEST becomes 02:00 CET, a 25-hour day.
        const auto r = ed->get("/api/v1/schedules/fleet/week?start=2026-10-25&days=1");
        QCOMPARE(r.status, 200L);
        const auto hours = object(r).value("days")[0].toObject().value("hours").toArray();
        QCOMPARE(hours.size(), 25);
        QStringList locals;
        for (const auto &hr : hours)
            locals << hr.toObject().value("local").toString();
        QCOMPARE(locals.mid(0, 5), (QStringList{"00:00", "01:00", "02:00", "02:00", "03:00"}));
        auto playlists = [&](int i) { return hours[i].toObject().value("playlists").toVariant().toStringList(); };
        QCOMPARE(playlists(0), QStringList{"idle"});
        QCOMPARE(playlists(1), (QStringList{"idle", "night"})); // 01:30 starts within the hour
        QCOMPARE(hours[1].toObject().value("changes").toInt(), 1);
        QCOMPARE(playlists(2), QStringList{"night"});           // 02:00 CEST
        QCOMPARE(playlists(3), QStringList{"night"});           // 02:00 CET: an hour longer (the engine's rule)
        QCOMPARE(playlists(4), QStringList{"idle"});
        QCOMPARE(hours[2].toObject().value("at").toString(), QString("2026-10-25T00:00:00Z"));
        QCOMPARE(hours[3].toObject().value("at").toString(), QString("2026-10-25T01:00:00Z"));
        // A group without its own schedule plays the fleet's; a bad start is 400.
        QCOMPARE(object(ed->get("/api/v1/schedules/groups/none/week")).value("source").toString(), QString("fleet"));
        QCOMPARE(ed->get("/api/v1/schedules/fleet/week?start=yesterday").status, 400L);
    }

    void previewChangesNothing()
    {
        publishFleet();
        auto ed = h->client(editor);
        const auto before = ed->get("/api/v1/publication");
        const std::string changed = kFleet + "\n[window late]\nplaylist = main\ntime = 20:00-22:00\npriority = 5\n";
        const auto r = ed->post("/api/v1/schedules/fleet/preview", changed, "text/plain");
        QVERIFY2(r.status == 200, r.body.c_str());
        QCOMPARE(object(r).value("entries_added").toArray().size(), 1);
        QVERIFY(object(r).value("entries_added")[0].toString().startsWith("late: plays main"));
        QCOMPARE(object(r).value("unchanged").toBool(), false);
        QCOMPARE(ed->get("/api/v1/publication").body, before.body);
        QCOMPARE(ed->get("/api/v1/schedules/fleet").body, kFleet);
        QCOMPARE(object(ed->post("/api/v1/schedules/fleet/preview", kFleet, "text/plain")).value("unchanged").toBool(), true);
        QCOMPARE(ed->post("/api/v1/schedules/fleet/preview", "timezone = Nowhere/Else\n", "text/plain").status, 400L);
        QCOMPARE(h->client(h->viewer)->post("/api/v1/schedules/fleet/preview", kFleet, "text/plain").status, 403L);
    }

    void keysDocumentMustListTheHubKey()
    {
        const auto root = *schedule::PrivateKey::generate();
        const auto stranger = *schedule::PrivateKey::generate();
        auto makeKeys = [&](const schedule::PublicKey &listed, std::int64_t version) {
            QTemporaryDir offline; // where `stoa keys` runs, away from the hub
            publish::KeysOptions o;
            o.site = offline.path();
            o.add = {listed};
            o.replace = true;
            o.minVersion = version;
            auto w = publish::writeKeysDocument(o, root);
            if (!w)
                qFatal("writeKeysDocument: %s", qPrintable(w.error().message));
            QFile f(publish::siteKeysPath(offline.path()));
            f.open(QIODevice::ReadOnly);
            return f.readAll().toStdString();
        };
        auto admin = h->client(h->admin);
        const auto wrong = admin->put("/api/v1/keys", makeKeys(stranger.publicKey(), 1), "application/json");
        QCOMPARE(wrong.status, 400L);
        QVERIFY2(object(wrong).value("error").toString().contains("signing key"), wrong.body.c_str());
        QCOMPARE(admin->put("/api/v1/keys", "not an envelope", "application/json").status, 400L);

        const auto good = makeKeys(hubKey(), 2);
        const auto ok = admin->put("/api/v1/keys", good, "application/json");
        QCOMPARE(ok.status, 200L);
        QCOMPARE(object(ok).value("version").toInt(), 2);
        QCOMPARE(h->client(h->dev1)->get("/v1/keys.json").body, good);
        // Not newer: refused.
        QCOMPARE(admin->put("/api/v1/keys", makeKeys(hubKey(), 2), "application/json").status, 400L);

        // With roots configured, a document signed by another root is refused.
        h.reset();
        HubOptions options;
        options.roots = {stranger.publicKey()};
        startHub(options);
        QCOMPARE(h->client(h->admin)->put("/api/v1/keys", makeKeys(hubKey(), 3), "application/json").status, 400L);
    }

    void wakeUpAnswersWhenThePublicationChanges()
    {
        h.reset();
        HubOptions options;
        options.wakeHoldMs = 1500;
        startHub(options);
        publishFleet();
        auto dev = h->client(h->dev1);
        const auto first = dev->get("/v1/devices/pi-1/wake");
        QCOMPARE(first.status, 200L);
        const auto cursor = object(first).value("cursor").toString().toStdString();
        QVERIFY(!cursor.empty());
        // An old cursor is answered at once.
        QCOMPARE(dev->get("/v1/devices/pi-1/wake?after=m0k0").status, 200L);
        // Nothing changes: 204 after the hold time.
        QElapsedTimer t;
        t.start();
        QCOMPARE(dev->get("/v1/devices/pi-1/wake?after=" + cursor).status, 204L);
        QVERIFY(t.elapsed() >= 1000);
        // A second wake-up of the same device answers the first with 204
        // (§10: at most one open; the first's client has given up).
        {
            auto older = std::async(std::launch::async, [&] {
                HttpClient c(h->base);
                c.setToken(h->dev1);
                return c.get("/v1/devices/pi-1/wake?after=" + cursor).status;
            });
            QTRY_VERIFY_WITH_TIMEOUT(h->client()->get("/metrics").body.find("stoa_hub_wake_waiting 1") != std::string::npos, 10000);
            auto newer = std::async(std::launch::async, [&] {
                HttpClient c(h->base);
                c.setToken(h->dev1);
                return c.get("/v1/devices/pi-1/wake?after=" + cursor).status;
            });
            QVERIFY(older.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
            QCOMPARE(older.get(), 204L);
            QCOMPARE(newer.get(), 204L); // at its hold time
        }
        // Another device's wake-up is not this token's.
        QCOMPARE(dev->get("/v1/devices/pi-2/wake").status, 403L);

        // A publication answers a held wake-up within a second.
        h.reset();
        options.wakeHoldMs = 60000;
        startHub(options);
        publishFleet();
        const auto now = object(h->client(h->dev1)->get("/v1/devices/pi-1/wake")).value("cursor").toString().toStdString();
        auto held = std::async(std::launch::async, [&] {
            HttpClient c(h->base);
            c.setToken(h->dev1);
            QElapsedTimer waited;
            waited.start();
            auto r = c.get("/v1/devices/pi-1/wake?after=" + now);
            return std::pair{r, waited.elapsed()};
        });
        // Held, not answered: the hub counts it as waiting.
        QTRY_VERIFY_WITH_TIMEOUT(h->client()->get("/metrics").body.find("stoa_hub_wake_waiting 1") != std::string::npos, 10000);
        QElapsedTimer publishedAt;
        const auto cmd = h->client(editor)->post("/api/v1/devices/pi-1/commands", R"({"type":"screenshot"})");
        publishedAt.start();
        QCOMPARE(cmd.status, 202L);
        QVERIFY(held.wait_for(std::chrono::seconds(5)) == std::future_status::ready);
        const auto [r, waited] = held.get();
        QCOMPARE(r.status, 200L);
        QVERIFY(object(r).value("cursor").toString().toStdString() != now);
        qInfo("wake-up answered %lld ms after the publication was acknowledged", static_cast<long long>(publishedAt.elapsed()));
        QVERIFY(publishedAt.elapsed() < 1000);
    }
};

QTEST_GUILESS_MAIN(PublishTest)
#include "tst_publish.moc"
