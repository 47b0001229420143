// tests/hub/tst_devices.cpp — real devices against a real hub (issue 16,
// "Tests that must exist"). Every program is the real one, as a child
// process: `stoa-hub serve` over the backend STOA_HUB_TEST_BACKEND names
// (SQLite, or a database on the PostgreSQL server this binary starts), and a
// device made of `stoa-syncd` and `stoa-player` sharing one data directory
// and one config file. CTest runs this binary under a private Xvfb
// (tests/player/run-xvfb.sh), so the player renders real frames and its
// screenshot is a real grab; without a display the player runs offscreen.
//
// What is published goes through the hub's operator API only (media, the
// fleet schedule, a device command), and the device trusts exactly the
// hub's signing key (GET /api/v1/signing-key) as its root key: the small
// deployment of spec §4, where no keys document exists (keys.json is 404).
//
//  - enrolAndRun (sync_interval_s = status_interval_s = 1): a device
//    enrolled through the API (POST /api/v1/devices, its token in
//    token_file) adopts the published manifest and the player shows its
//    image (player /status: now_playing.asset, manifest.version); the hub
//    lists it `online` at that manifest_version; its plays arrive (`plays`
//    > 0, GET …/plays lists the image); a screenshot command ends with
//    `last_screenshot_at` set and one JPEG under the hub's DATA/screenshots
//    that shows the image's colour, and the hub lists the device at the
//    version of the manifest that carried the command. (The command is sent
//    just after one of the device's polls: see the race noted there.)
//    Both device processes exit 0 on SIGTERM.
//  - wakeUpPutsAPublicationOnScreen: sync_interval_s = 300, so only the §10
//    wake-up explains a quick adoption. Once version N is on screen and the
//    device's wake-up request is held (the hub's stoa_hub_wake_waiting ≥ 1),
//    a new fleet schedule (another image) is published; the new image must
//    be on screen within 5 s of the publication's acknowledgement (the time
//    is printed), and the agent's log must say the wake-up caused it.
//  - wakeUpOutlastsTheLowSpeedLimit: with low_speed_time_s = 2 the held
//    wake-up request must stay held (no wake-up failure in the agent's log
//    within 6 s), and a publication still reaches the screen within 5 s
//    (sync/wake_listener.cpp exempts the held request from the low-speed
//    limit; before that, the request was cut every low_speed_time_s).
//  - nginxServesTheHubsSite: nginx (tests/sync/nginx_server.h) serves the
//    hub's DATA/site as a static site, and the device's `server` is nginx.
//    Only the GET side of the protocol can work that way: nginx has nothing
//    behind POST /status, POST /plays or GET /wake (a static server answers
//    404/405, which spec §1 and §10 define as "not supported"), so the
//    device reports nothing to the hub and has no wake-up, and adoption
//    comes from its ordinary poll (sync_interval_s = 1). Proxying those
//    paths to the hub (docs/operations.md) is a deployment choice the
//    shared NginxServer does not configure; this case checks what a plain
//    static mirror of the hub's site gives: manifests and blobs from nginx,
//    two versions adopted and shown, the telemetry and wake-up refused by
//    nginx and treated as unsupported, and the hub seeing no heartbeat.
//
// A failure prints the logs of every process (hub, agent, player, nginx) and
// keeps the test's directory (so does STOA_E2E_KEEP=1).
// Waits are polls against deadlines, never fixed sleeps.
#include "backends.h"
#include "device_processes.h"
#include "http_client.h"
#include "nginx_server.h"
#include "process_probe.h"
#include "solid_png.h"

#include <QColor>
#include <QDir>
#include <QElapsedTimer>
#include <QImage>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRegularExpression>
#include <QScopeGuard>
#include <QTemporaryDir>
#include <QTest>

#include <memory>

using namespace stoa::hub::test;
using stoa::testing::AccessRecord;
using stoa::testing::NginxServer;
using stoa::testing::waitProcessingEvents;
using stoa::endpoints::testing::sampleValue;

namespace {

constexpr int kWaitMs = 45000;         // a device's start, a first adoption, a screenshot round trip
constexpr qint64 kWakeToScreenMs = 5000; // publication acknowledged → on screen, with the wake-up
const QString kDeviceId = QStringLiteral("pi-lobby");

QJsonObject object(const std::string &body) { return QJsonDocument::fromJson(QByteArray::fromStdString(body)).object(); }
QJsonArray array(const std::string &body) { return QJsonDocument::fromJson(QByteArray::fromStdString(body)).array(); }

// A fleet schedule playing one image in a loop. Items are short: a new
// manifest switches in at the next item boundary (docs/player.md).
std::string loopOf(const QString &media)
{
    return "timezone = UTC\ndefault = main\n\n[playlist main]\n" + media.toStdString() + " 2s\n";
}

std::unique_ptr<HttpClient> clientOf(const std::string &base, const std::string &token = {})
{
    auto c = std::make_unique<HttpClient>(base);
    c->setToken(token);
    return c;
}

// One deployment: a hub, a device, maybe nginx, all under one directory.
// Members in this order: the processes go (killed) before the directory.
struct Deployment {
    QTemporaryDir tmp;
    std::unique_ptr<HubProcess> hub;
    std::unique_ptr<NginxServer> nginx;
    std::unique_ptr<Device> device;
    std::string deviceToken;
    QByteArray rootPem;

    QString path(const QString &rel) const { return tmp.filePath(rel); }

    QString logs() const
    {
        QString out;
        if (hub)
            out += hub->serve.report() + "\n";
        if (device)
            out += device->logs() + "\n";
        if (nginx)
            out += "----- nginx error log:\n" + nginx->errorLogTail() + "\n";
        return out;
    }
};

// At the end of a test function: on failure, every process's log; on
// failure or with STOA_E2E_KEEP set, the directory is kept (logs, stores,
// the hub's data) and named.
auto onExit(Deployment &d)
{
    return qScopeGuard([&d] {
        const bool failed = QTest::currentTestFailed();
        if (failed)
            qWarning().noquote() << "\n" << d.logs();
        if (failed || qEnvironmentVariableIsSet("STOA_E2E_KEEP")) {
            d.tmp.setAutoRemove(false);
            qInfo("kept %s", qPrintable(d.tmp.path()));
        }
    });
}

} // namespace

class DevicesTest : public QObject {
    Q_OBJECT
    Backends backends;

    // The hub serving, the device enrolled through the API, the root key
    // fetched; media uploaded. Check QTest::currentTestFailed() after.
    void startHub(Deployment &d, const std::vector<std::pair<QString, QColor>> &media)
    {
        QVERIFY(d.tmp.isValid());
        d.hub = std::make_unique<HubProcess>(d.path("hub"), backends.freshUrl());
        const QString e = d.hub->start();
        QVERIFY2(e.isEmpty(), qPrintable(e));

        // Enrol: the admin issues the device's token.
        const auto added = clientOf(d.hub->base, d.hub->admin)->post("/api/v1/devices",
                                                                     R"({"id":")" + kDeviceId.toStdString() + R"("})");
        QVERIFY2(added.status == 201, added.body.c_str());
        d.deviceToken = object(added.body).value("token").toString().toStdString();
        QVERIFY(!d.deviceToken.empty());

        // The device's root key is the hub's signing key; no keys document.
        const auto key = clientOf(d.hub->base, d.hub->editor)->get("/api/v1/signing-key");
        QVERIFY2(key.status == 200, key.body.c_str());
        d.rootPem = object(key.body).value("public_key_pem").toString().toLatin1();
        QVERIFY2(d.rootPem.startsWith("-----BEGIN PUBLIC KEY-----"), d.rootPem.constData());
        QCOMPARE(clientOf(d.hub->base, d.deviceToken)->get("/v1/keys.json").status, 404L);

        auto editor = clientOf(d.hub->base, d.hub->editor);
        for (const auto &[name, colour] : media) {
            const QByteArray png = stoa::testing::solidPng(colour, {640, 360}); // a small screen's size
            const auto r = editor->put("/api/v1/media/" + name.toStdString(), png.toStdString(), "image/png");
            QVERIFY2(r.status == 200, r.body.c_str());
        }
    }

    static std::string sha256Of(Deployment &d, const QString &media)
    {
        const auto list = array(clientOf(d.hub->base, d.hub->editor)->get("/api/v1/media").body);
        for (const auto &m : list)
            if (m.toObject().value("name").toString() == media)
                return m.toObject().value("sha256").toString().toStdString();
        return {};
    }

    // PUT the fleet schedule; its version, 0 on failure (with a message).
    static std::int64_t publishFleet(Deployment &d, const std::string &schedule)
    {
        const auto r = clientOf(d.hub->base, d.hub->editor)->put("/api/v1/schedules/fleet", schedule, "text/plain");
        if (r.status != 200) {
            qWarning("PUT /api/v1/schedules/fleet: %ld %s", r.status, r.body.c_str());
            return 0;
        }
        return object(r.body).value("version").toInteger();
    }

    static DeviceOptions deviceOptions(const Deployment &d, const QString &server, const QString &syncInterval,
                                const QString &statusInterval)
    {
        DeviceOptions o;
        o.deviceId = kDeviceId;
        o.server = server;
        o.token = QByteArray::fromStdString(d.deviceToken);
        o.rootPem = d.rootPem;
        o.syncInterval = syncInterval;
        o.statusInterval = statusInterval;
        return o;
    }

    // The player's /status, as of now ({} when it does not answer).
    static QJsonObject playerStatus(const Device &device)
    {
        const auto r = clientOf("http://127.0.0.1:" + std::to_string(device.playerPort()))->get("/status");
        return r.status == 200 ? object(r.body) : QJsonObject();
    }

    // The player shows `hex` from manifest `version`.
    static bool showing(const Device &device, const std::string &hex, std::int64_t version)
    {
        const QJsonObject s = playerStatus(device);
        return s.value("now_playing").toObject().value("asset").toString().toStdString() == "sha256:" + hex
               && s.value("manifest").toObject().value("version").toInteger() == version;
    }

    static QByteArray describeStatus(const Device &device)
    {
        return "player /status: " + QJsonDocument(playerStatus(device)).toJson(QJsonDocument::Compact);
    }

    // Manifest polls the agent made, from its /metrics.
    static double manifestPolls(const Device &device)
    {
        const auto body = clientOf("http://127.0.0.1:" + std::to_string(device.syncdPort()))->get("/metrics").body;
        double n = 0;
        for (const auto &line : QString::fromStdString(body).split('\n'))
            if (line.startsWith("stoa_sync_requests_total{") && line.contains(R"(channel="manifest")"))
                n += line.section(' ', -1).toDouble();
        return n;
    }

    // GET /api/v1/devices, this device's entry.
    static QJsonObject listed(const Deployment &d)
    {
        for (const auto &v : array(clientOf(d.hub->base, d.hub->editor)->get("/api/v1/devices").body))
            if (v.toObject().value("id").toString() == kDeviceId)
                return v.toObject();
        return {};
    }

private slots:
    void initTestCase()
    {
        for (const char *bin : {STOA_HUB_BIN, STOA_SYNCD, STOA_PLAYER})
            QVERIFY2(QFile::exists(QString::fromUtf8(bin)), bin);
        if (auto why = backends.init())
            QFAIL(why->c_str());
        if (qEnvironmentVariable("DISPLAY").isEmpty())
            qInfo("no DISPLAY: the player runs offscreen (CTest runs this under run-xvfb.sh)");
    }

    void enrolAndRun()
    {
        Deployment d;
        auto report = onExit(d);
        startHub(d, {{"red.png", QColor(220, 30, 30)}});
        if (QTest::currentTestFailed())
            return;
        const std::string red = sha256Of(d, "red.png");
        QVERIFY(!red.empty());
        const std::int64_t version = publishFleet(d, loopOf("red.png"));
        QVERIFY(version > 0);

        d.device = std::make_unique<Device>(d.path("device"));
        QElapsedTimer sinceStart;
        sinceStart.start();
        const QString started = d.device->start(deviceOptions(d, QString::fromStdString(d.hub->base), "1", "1"));
        QVERIFY2(started.isEmpty(), qPrintable(started));

        // Adopted, and on screen.
        QVERIFY2(waitProcessingEvents([&] { return showing(*d.device, red, version); }, kWaitMs), describeStatus(*d.device));
        qInfo("device start → manifest v%lld on screen: %lld ms", static_cast<long long>(version),
              static_cast<long long>(sinceStart.elapsed()));

        // The hub: online, at the published version (its heartbeat says so).
        QJsonObject entry;
        QVERIFY2(waitProcessingEvents([&] {
                     entry = listed(d);
                     return entry.value("state").toString() == "online"
                            && entry.value("manifest_version").toInteger() == version;
                 }, kWaitMs),
                 QJsonDocument(entry).toJson(QJsonDocument::Compact).constData());
        QCOMPARE(entry.value("revoked").toBool(), false);

        // Proof of play arrives: the count, and the records naming the image.
        QJsonArray plays;
        QVERIFY2(waitProcessingEvents([&] {
                     entry = listed(d);
                     plays = array(clientOf(d.hub->base, d.hub->editor)
                                       ->get("/api/v1/devices/" + kDeviceId.toStdString() + "/plays").body);
                     return entry.value("plays").toInteger() > 0 && !plays.isEmpty();
                 }, kWaitMs),
                 QJsonDocument(entry).toJson(QJsonDocument::Compact).constData());
        bool namesRed = false;
        for (const auto &p : plays)
            namesRed = namesRed || p.toObject().value("asset").toString().toStdString() == "sha256:" + red;
        QVERIFY2(namesRed, QJsonDocument(plays).toJson(QJsonDocument::Compact).constData());

        // A screenshot command: the device runs it, the JPEG reaches the hub.
        // The command gives the device a manifest of its own, and the hub
        // writes the fleet manifest before it (hub/publisher.cpp, reported):
        // a poll falling between the two writes adopts the fleet manifest at
        // the command's version, and the command then waits for the next
        // publication. So the command goes out just after a poll, a whole
        // sync interval before the next one.
        QVERIFY(entry.value("last_screenshot_at").isNull());
        const double polls = manifestPolls(*d.device);
        QVERIFY2(waitProcessingEvents([&] { return manifestPolls(*d.device) > polls; }, kWaitMs, 10), "the agent stopped polling");
        QElapsedTimer sinceCommand;
        const auto cmd = clientOf(d.hub->base, d.hub->editor)
                             ->post("/api/v1/devices/" + kDeviceId.toStdString() + "/commands", R"({"type":"screenshot"})");
        sinceCommand.start();
        QVERIFY2(cmd.status == 202, cmd.body.c_str());
        QVERIFY2(waitProcessingEvents([&] {
                     entry = listed(d);
                     return !entry.value("last_screenshot_at").isNull();
                 }, kWaitMs),
                 QJsonDocument(entry).toJson(QJsonDocument::Compact).constData());
        QVERIFY2(!QString::fromLocal8Bit(d.device->syncd.log()).contains("is not newer than adopted"),
                 "the agent adopted the fleet manifest at the command's version (the hub's publication race)");
        qInfo("screenshot command acknowledged → screenshot at the hub: %lld ms",
              static_cast<long long>(sinceCommand.elapsed()));
        // The command came in a manifest of the device's own, one version up:
        // adopted, and reported to the hub.
        const std::int64_t withCommand = object(cmd.body).value("version").toInteger();
        QVERIFY(withCommand > version);
        QVERIFY2(waitProcessingEvents([&] { return listed(d).value("manifest_version").toInteger() == withCommand; }, kWaitMs),
                 QJsonDocument(listed(d)).toJson(QJsonDocument::Compact).constData());
        QVERIFY(QDateTime::fromString(entry.value("last_screenshot_at").toString(), Qt::ISODate).isValid());
        const QDir shots(d.hub->dataDir() + "/screenshots");
        const auto jpegs = shots.entryList({"*.jpg"}, QDir::Files);
        QCOMPARE(jpegs.size(), 1);
        const QByteArray jpeg = readFile(shots.filePath(jpegs.front()));
        QVERIFY2(jpeg.startsWith("\xFF\xD8\xFF"), qPrintable("not a JPEG: " + jpegs.front()));
        // What the screen showed: the red image (contain-fitted, centred).
        QImage grabbed;
        if (grabbed.loadFromData(jpeg, "JPEG")) {
            const QColor centre = grabbed.pixelColor(grabbed.width() / 2, grabbed.height() / 2);
            QVERIFY2(centre.red() > 180 && centre.green() < 80 && centre.blue() < 80,
                     qPrintable(QStringLiteral("centre of the %1x%2 screenshot is %3")
                                    .arg(grabbed.width()).arg(grabbed.height()).arg(centre.name())));
        } else {
            qInfo("no JPEG reader in this Qt: the screenshot's pixels are not checked");
        }

        // Both stop cleanly on SIGTERM.
        QVERIFY2(d.device->player.terminate(), d.device->player.tail());
        QVERIFY2(d.device->syncd.terminate(), d.device->syncd.tail());
    }

    void wakeUpPutsAPublicationOnScreen()
    {
        Deployment d;
        auto report = onExit(d);
        // Both media are in the library before the device starts: only the
        // schedule changes later.
        startHub(d, {{"red.png", QColor(220, 30, 30)}, {"blue.png", QColor(30, 30, 220)}});
        if (QTest::currentTestFailed())
            return;
        const std::string red = sha256Of(d, "red.png"), blue = sha256Of(d, "blue.png");
        QVERIFY(!red.empty() && !blue.empty() && red != blue);
        const std::int64_t first = publishFleet(d, loopOf("red.png"));
        QVERIFY(first > 0);

        d.device = std::make_unique<Device>(d.path("device"));
        // Ordinary polls 5 min apart: a quick adoption needs the wake-up.
        const QString started = d.device->start(deviceOptions(d, QString::fromStdString(d.hub->base), "300", "60"));
        QVERIFY2(started.isEmpty(), qPrintable(started));
        QVERIFY2(waitProcessingEvents([&] { return showing(*d.device, red, first); }, kWaitMs), describeStatus(*d.device));

        // The device's wake-up request is held by the hub.
        std::string metrics;
        QVERIFY2(waitProcessingEvents([&] {
                     metrics = clientOf(d.hub->base)->get("/metrics").body;
                     return sampleValue(metrics, "stoa_hub_wake_waiting").value_or(-1) >= 1;
                 }, kWaitMs),
                 metrics.c_str());

        const auto put = clientOf(d.hub->base, d.hub->editor)->put("/api/v1/schedules/fleet", loopOf("blue.png"), "text/plain");
        QElapsedTimer sinceAck;
        sinceAck.start();
        const qint64 ackedAtMs = QDateTime::currentMSecsSinceEpoch();
        QVERIFY2(put.status == 200, put.body.c_str());
        const std::int64_t second = object(put.body).value("version").toInteger();
        QVERIFY(second > first);

        // Measured to the end even when slow, so a failure says by how much.
        const bool shown = waitProcessingEvents([&] { return showing(*d.device, blue, second); }, 30000, 20);
        const qint64 tookMs = sinceAck.elapsed();
        // The agent's part: its log line's time stamp (same wall clock).
        const auto active = QRegularExpression(QStringLiteral(R"((\S+) info stoa\.cache: manifest version %1 is now active)").arg(second))
                                .match(QString::fromLocal8Bit(d.device->syncd.log()));
        const qint64 activeAtMs = active.hasMatch() ? QDateTime::fromString(active.captured(1), Qt::ISODateWithMs).toMSecsSinceEpoch() : 0;
        qInfo("publication acknowledged → v%lld active in the store %s, on screen (wake-up) %lld ms%s",
              static_cast<long long>(second),
              activeAtMs ? qPrintable(QStringLiteral("%1 ms").arg(activeAtMs - ackedAtMs)) : "(not logged)",
              static_cast<long long>(tookMs), shown ? "" : " (not shown within 30 s)");
        QVERIFY2(shown, describeStatus(*d.device));
        QVERIFY2(tookMs < kWakeToScreenMs, qPrintable(QStringLiteral("%1 ms, more than %2 ms").arg(tookMs).arg(kWakeToScreenMs)));
        QVERIFY2(QString::fromLocal8Bit(d.device->syncd.log()).contains("wake-up: the server says something changed"),
                 "the agent did not log the wake-up that should have caused the adoption");

        QVERIFY2(d.device->player.terminate(), d.device->player.tail());
        QVERIFY2(d.device->syncd.terminate(), d.device->syncd.tail());
    }

    // The hub holds a wake-up request up to 60 s without sending a byte. The
    // agent cuts any transfer slower than low_speed_limit bytes/s for
    // low_speed_time_s (default 256 and 30 s; 2 s here, to see it in
    // seconds): the held request must not be one of them, or the device
    // reconnects every low_speed_time_s, counts a failure each time and backs
    // off ever longer (up to backoff_cap_s, 15 min by default), with no
    // wake-up held meanwhile; and each cut request stays held at the hub
    // (stoa_hub_wake_waiting counts it) until its hold ends.
    void wakeUpOutlastsTheLowSpeedLimit()
    {
        Deployment d;
        auto report = onExit(d);
        startHub(d, {{"red.png", QColor(220, 30, 30)}, {"blue.png", QColor(30, 30, 220)}});
        if (QTest::currentTestFailed())
            return;
        const std::string red = sha256Of(d, "red.png"), blue = sha256Of(d, "blue.png");
        const std::int64_t first = publishFleet(d, loopOf("red.png"));
        QVERIFY(first > 0);
        d.device = std::make_unique<Device>(d.path("device"));
        auto options = deviceOptions(d, QString::fromStdString(d.hub->base), "300", "60");
        options.extra << "low_speed_time_s = 2";
        const QString started = d.device->start(options);
        QVERIFY2(started.isEmpty(), qPrintable(started));
        QVERIFY2(waitProcessingEvents([&] { return showing(*d.device, red, first); }, kWaitMs), describeStatus(*d.device));
        QVERIFY(waitProcessingEvents([&] { return sampleValue(clientOf(d.hub->base)->get("/metrics").body, "stoa_hub_wake_waiting").value_or(-1) >= 1; },
                          kWaitMs));

        // Three low-speed periods: a cut request is logged as a wake-up failure.
        const bool cut = waitProcessingEvents([&] { return QString::fromLocal8Bit(d.device->syncd.log()).contains(QRegularExpression("wake-up: .*; again in")); },
                                   6000, 100);
        QVERIFY2(!cut, d.device->syncd.tail());

        // A publication still gets there through the wake-up.
        const auto put = clientOf(d.hub->base, d.hub->editor)->put("/api/v1/schedules/fleet", loopOf("blue.png"), "text/plain");
        QElapsedTimer sinceAck;
        sinceAck.start();
        QVERIFY2(put.status == 200, put.body.c_str());
        const std::int64_t second = object(put.body).value("version").toInteger();
        QVERIFY2(waitProcessingEvents([&] { return showing(*d.device, blue, second); }, kWakeToScreenMs, 20),
                 describeStatus(*d.device));
        qInfo("publication acknowledged → v%lld on screen (wake-up, low_speed_time_s = 2): %lld ms",
              static_cast<long long>(second), static_cast<long long>(sinceAck.elapsed()));

        QVERIFY2(d.device->player.terminate(), d.device->player.tail());
        QVERIFY2(d.device->syncd.terminate(), d.device->syncd.tail());
    }

    void nginxServesTheHubsSite()
    {
        if (NginxServer::findBinary().isEmpty())
            QSKIP("nginx is not installed (Debian package: nginx)");
        Deployment d;
        auto report = onExit(d);
        startHub(d, {{"red.png", QColor(220, 30, 30)}, {"blue.png", QColor(30, 30, 220)}});
        if (QTest::currentTestFailed())
            return;
        const std::string red = sha256Of(d, "red.png"), blue = sha256Of(d, "blue.png");
        const std::int64_t first = publishFleet(d, loopOf("red.png"));
        QVERIFY(first > 0);

        // nginx serves the hub's site as it is on disk. Its workers run as an
        // unprivileged user when the test runs as root: the temporary
        // directories above the site are opened up (a+x), the site itself
        // is what the hub wrote (world-readable files: publish/site.cpp).
        const QString site = d.hub->dataDir() + "/site";
        NginxServer::openUpTree(site);
        d.nginx = std::make_unique<NginxServer>(d.path("nginx"), site);
        const auto served = d.nginx->start();
        QVERIFY2(served, qPrintable(served ? QString() : served.error()));

        d.device = std::make_unique<Device>(d.path("device"));
        const QString started = d.device->start(deviceOptions(d, d.nginx->baseUrl(), "1", "1"));
        QVERIFY2(started.isEmpty(), qPrintable(started));
        QVERIFY2(waitProcessingEvents([&] { return showing(*d.device, red, first); }, kWaitMs), describeStatus(*d.device));

        // A new publication reaches the device through nginx, by its poll.
        QElapsedTimer sinceAck;
        const std::int64_t second = publishFleet(d, loopOf("blue.png"));
        sinceAck.start();
        QVERIFY(second > first);
        QVERIFY2(waitProcessingEvents([&] { return showing(*d.device, blue, second); }, kWaitMs), describeStatus(*d.device));
        qInfo("publication acknowledged → v%lld on screen through nginx (1 s poll, no wake-up): %lld ms",
              static_cast<long long>(second), static_cast<long long>(sinceAck.elapsed()));

        // What nginx was asked: the GETs served from the hub's files; the
        // wake-up and the telemetry refused as a static server does.
        auto statusesOf = [&](const QString &method, const QString &uri) {
            QList<int> out;
            for (const AccessRecord &r : d.nginx->accessLog())
                if (r.method == method && r.uri == uri)
                    out << r.status;
            return out;
        };
        const QString devicePath = "/v1/devices/" + kDeviceId;
        QVERIFY2(waitProcessingEvents([&] { return !statusesOf("POST", devicePath + "/status").isEmpty(); }, kWaitMs),
                 "the agent sent no heartbeat to nginx");
        QVERIFY2(waitProcessingEvents([&] { return !statusesOf("POST", devicePath + "/plays").isEmpty(); }, kWaitMs),
                 "the agent sent no plays to nginx");
        QVERIFY(statusesOf("GET", "/v1/manifest.json").count(200) >= 2); // v1 and v2
        QCOMPARE(statusesOf("GET", "/v1/blobs/sha256/" + QString::fromStdString(red)), QList<int>{200});
        QCOMPARE(statusesOf("GET", "/v1/blobs/sha256/" + QString::fromStdString(blue)), QList<int>{200});
        for (int s : statusesOf("GET", devicePath + "/manifest.json"))
            QCOMPARE(s, 404); // no device manifest: the fleet one
        for (const QString channel : {"/status", "/plays"})
            for (int s : statusesOf("POST", devicePath + channel))
                QVERIFY2(s == 404 || s == 405, qPrintable(channel + ": " + QString::number(s)));
        const auto wakes = statusesOf("GET", devicePath + "/wake");
        QCOMPARE(wakes, QList<int>{404}); // asked once: not supported, again in an hour
        QVERIFY2(QString::fromLocal8Bit(d.device->syncd.log()).contains("wake-up: not supported by the server (404)"),
                 "the agent did not log the wake-up as unsupported");

        // The hub heard nothing from the device: its reports went to nginx.
        const QJsonObject entry = listed(d);
        QCOMPARE(entry.value("state").toString(), QStringLiteral("never"));
        QVERIFY(entry.value("manifest_version").isNull());
        QCOMPARE(entry.value("plays").toInteger(), 0);

        QVERIFY2(d.device->player.terminate(), d.device->player.tail());
        QVERIFY2(d.device->syncd.terminate(), d.device->syncd.tail());
    }
};

QTEST_GUILESS_MAIN(DevicesTest)
#include "tst_devices.moc"
