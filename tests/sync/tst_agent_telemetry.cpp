// tests/sync/tst_agent_telemetry.cpp — what the agent sends: heartbeat, plays, screenshots.
//
// In-process agent against the FaultServer:
//  - heartbeat POSTs carry the §5 shape (fields and JSON types checked) and
//    come at the status interval with ±10 % jitter; now_playing is the
//    player's kv player.now_playing as written, a layout's "layout" and
//    "regions" (docs/protocol.md) included;
//  - a static server (404/405/501) is not asked again before
//    unsupported_retry, and that is no backoff;
//  - play records are posted as NDJSON batches in order, kept and re-sent
//    after a 500 (with backoff), deleted only after a 2xx;
//  - a screenshot command is handed to the player once; the file the player
//    leaves is PUT and removed; after a restart nothing is handed over again.
#include "agent_harness.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTest>

using namespace stoa;
using namespace stoa::testing;

namespace {

constexpr double kTolMs = 250;
const std::string kStatus = "/v1/devices/dev-1/status";
const std::string kPlays = "/v1/devices/dev-1/plays";
const std::string kShot = "/v1/devices/dev-1/screenshot";

bool isRfc3339Utc(const QJsonValue &v)
{
    return v.isString() && v.toString().endsWith('Z') && QDateTime::fromString(v.toString(), Qt::ISODate).isValid();
}

// The §5 heartbeat shape; empty when fine, else what is wrong.
QString heartbeatProblem(const QByteArray &body, std::int64_t version, std::uint64_t assets)
{
    QJsonParseError err{};
    const QJsonDocument doc = QJsonDocument::fromJson(body, &err);
    if (!doc.isObject())
        return "not a JSON object: " + err.errorString();
    const QJsonObject o = doc.object();
    auto need = [&](bool ok, const char *what) { return ok ? QString() : QString("bad %1 in %2").arg(what, body); };
    for (const QString &p : {
             need(o["device_id"].toString() == "dev-1", "device_id"),
             need(o["software_version"].isString(), "software_version"),
             need(isRfc3339Utc(o["sent_at"]), "sent_at"),
             need(o["uptime_s"].isDouble() && o["uptime_s"].toDouble() >= 0, "uptime_s"),
             need(o["manifest"].isObject() && o["manifest"]["version"].toInteger() == version, "manifest.version"),
             need(isRfc3339Utc(o["manifest"]["expires_at"]), "manifest.expires_at"),
             need(o["manifest"]["stale"].isBool() && !o["manifest"]["stale"].toBool(), "manifest.stale"),
             need(o["now_playing"].isObject() && o["now_playing"].toObject().contains("playlist") &&
                      o["now_playing"].toObject().contains("asset") && o["now_playing"].toObject().contains("url"),
                  "now_playing"),
             need(o["sync"].isObject() && isRfc3339Utc(o["sync"]["last_success_at"]), "sync.last_success_at"),
             need(o["sync"]["last_error"].isNull(), "sync.last_error"),
             need(o["sync"]["consecutive_failures"].isDouble() && o["sync"]["consecutive_failures"].toInt() == 0,
                  "sync.consecutive_failures"),
             need(o["cache"].isObject() && o["cache"]["bytes_used"].isDouble() &&
                      o["cache"]["bytes_used"].toInteger() > 0, "cache.bytes_used"),
             need(o["cache"]["bytes_limit"].isDouble(), "cache.bytes_limit"),
             need(o["cache"]["assets"].toInteger() == qint64(assets), "cache.assets"),
             need(o["clock"].isObject() && o["clock"]["trusted"].isBool(), "clock.trusted"),
             need(QStringList{"ntp", "system", "floor"}.contains(o["clock"]["source"].toString()), "clock.source"),
             need(o["health"].isObject(), "health"),
             need(o["pending_commands"].isArray(), "pending_commands"),
         })
        if (!p.isEmpty())
            return p;
    return {};
}

double ceilingMs(const RigOptions &o, int failureIndex)
{
    double c = double(o.base.count());
    for (int i = 0; i < failureIndex && c < double(o.cap.count()); ++i)
        c *= 2;
    return std::min(c, double(o.cap.count()));
}

cache::PlayRecord play(int i)
{
    cache::PlayRecord r;
    r.id = "play-" + std::to_string(i);
    r.asset = "sha256:" + std::string(64, 'a');
    r.playlist = "main";
    r.startedAt = "2026-11-23T10:00:0" + std::to_string(i % 10) + "Z";
    r.durationMs = 5000;
    r.completed = i % 2 == 0;
    return r;
}

} // namespace

class AgentTelemetry : public QObject {
    Q_OBJECT
private slots:
    void heartbeat();
    void unsupportedIsAskedRarely_data();
    void unsupportedIsAskedRarely();
    void plays();
    void screenshotCommand();
    void wallClockBehind();
};

void AgentTelemetry::heartbeat()
{
    TestSite site;
    QVERIFY2(site.error().empty(), site.error().c_str());
    auto v1 = site.publish({{"a.png", randomBytes(4096, 1)}, {"b.png", randomBytes(4096, 2)}});
    QVERIFY2(v1, v1 ? "" : v1.error().c_str());
    FaultServer server;
    server.setDocumentRoot(site.site().toStdString());
    server.setResponse("POST", kStatus, 204);
    RigOptions opts;
    AgentRig rig(site.path("data"), server.baseUrl(), site.rootPub(), opts);
    QVERIFY2(rig.error().empty(), rig.error().c_str());
    // The sensors as the platform reads them (one schedule::DeviceHealth, no
    // adapter); a disk figure from them is not the store's and must not win.
    sync::AgentObservers observers;
    observers.health = [] {
        schedule::DeviceHealth h;
        h.cpuTempC = 61.5;
        h.throttled = true;
        h.underVoltage = true;
        h.readOnly = false;
        h.diskFreeBytes = 7;
        return h;
    };
    rig.agent().setObservers(observers);
    QVERIFY(rig.stepUntil([&] { return rig.activeVersion() == v1->version; }, 15s));
    server.clearLog();
    QVERIFY(rig.stepUntil([&] { return server.requestsTo(kStatus).size() >= 7; }, 15s));

    const auto posts = server.requestsTo(kStatus);
    for (const auto &p : posts) {
        QCOMPARE(p.method, std::string("POST"));
        QCOMPARE(p.header("content-type"), std::string("application/json"));
        QVERIFY(p.header("user-agent").find("dev-1") != std::string::npos);
        const QString problem = heartbeatProblem(QByteArray::fromStdString(p.body), v1->version, 2);
        QVERIFY2(problem.isEmpty(), qPrintable(problem));
        // §5 health: each sensor field under its spec name; free disk the store's (cache::diskSpace).
        const QJsonObject health =
            QJsonDocument::fromJson(QByteArray::fromStdString(p.body)).object().value("health").toObject();
        QCOMPARE(health.value("cpu_temp_c").toDouble(), 61.5);
        QCOMPARE(health.value("throttled"), QJsonValue(true));
        QVERIFY2(health.value("disk_free_bytes").toInteger() > 4096, p.body.c_str());
        QCOMPARE(health.size(), 3);
    }
    const auto gaps = gapsMs(posts);
    const double interval = double(opts.statusInterval.count());
    for (double g : gaps) {
        QVERIFY2(g >= 0.9 * interval - 15, describe(gaps).c_str());
        QVERIFY2(g <= 1.1 * interval + kTolMs, describe(gaps).c_str());
    }
    const auto [lo, hi] = std::minmax_element(gaps.begin(), gaps.end());
    QVERIFY2(*hi - *lo > 5, ("no jitter: " + describe(gaps)).c_str());

    // v1.1 §13: no synchronised playlist, no sync.state; once the player
    // says it plays one unsynchronised (kv player.sync_state), the next
    // heartbeat says so.
    auto syncState = [](const std::string &body) {
        return QJsonDocument::fromJson(QByteArray::fromStdString(body)).object().value("sync").toObject().value("state");
    };
    for (const auto &p : posts)
        QVERIFY2(syncState(p.body).isUndefined(), p.body.c_str());
    QVERIFY(rig.store().kv().set("player.sync_state", "unsynchronised"));
    server.clearLog();
    QVERIFY(rig.stepUntil([&] {
        const auto now = server.requestsTo(kStatus);
        return !now.empty() && syncState(now.back().body).toString() == QLatin1String("unsynchronised");
    }, 15s));

    // Issue 20: under a layout the player adds "layout" and "regions" to
    // now playing (player/device_state.h nowPlayingObject); the heartbeat
    // carries them as written, nothing dropped or reordered.
    const QJsonObject layoutNowPlaying{
        {"playlist", "lefts"}, {"asset", "sha256:" + QString(64, 'a')}, {"url", QJsonValue()}, {"layout", "menu"},
        {"regions", QJsonArray{
            QJsonObject{{"id", "left"}, {"playlist", "lefts"}, {"asset", "sha256:" + QString(64, 'a')}, {"url", QJsonValue()}},
            QJsonObject{{"id", "right"}, {"playlist", "pages"}, {"asset", QJsonValue()}, {"url", "https://example.com/"}},
            QJsonObject{{"id", "ticker"}, {"playlist", "news"}, {"asset", QJsonValue()}, {"url", QJsonValue()}},
        }}};
    QVERIFY(rig.store().kv().set("player.now_playing",
                                 QJsonDocument(layoutNowPlaying).toJson(QJsonDocument::Compact).toStdString()));
    server.clearLog();
    auto nowPlaying = [](const std::string &body) {
        return QJsonDocument::fromJson(QByteArray::fromStdString(body)).object().value("now_playing").toObject();
    };
    QVERIFY(rig.stepUntil([&] {
        const auto now = server.requestsTo(kStatus);
        return !now.empty() && nowPlaying(now.back().body).contains("layout");
    }, 15s));
    const std::string body = server.requestsTo(kStatus).back().body;
    QCOMPARE(nowPlaying(body), layoutNowPlaying);
    QVERIFY2(heartbeatProblem(QByteArray::fromStdString(body), v1->version, 2).isEmpty(), body.c_str());
}

void AgentTelemetry::unsupportedIsAskedRarely_data()
{
    QTest::addColumn<int>("status");
    QTest::newRow("404") << 404;
    QTest::newRow("405") << 405;
    QTest::newRow("501") << 501;
}

void AgentTelemetry::unsupportedIsAskedRarely()
{
    QFETCH(int, status);
    TestSite site;
    QVERIFY2(site.error().empty(), site.error().c_str());
    auto v1 = site.publish({{"a.png", randomBytes(4096, 1)}});
    QVERIFY2(v1, v1 ? "" : v1.error().c_str());
    FaultServer server;
    server.setDocumentRoot(site.site().toStdString());
    if (status != 404) { // 404 is what a static server says to a POST anyway
        server.setResponse("POST", kStatus, status);
        server.setResponse("POST", kPlays, status);
    }
    RigOptions opts;
    opts.unsupportedRetry = sync::Millis(2000);
    AgentRig rig(site.path("data"), server.baseUrl(), site.rootPub(), opts);
    QVERIFY2(rig.error().empty(), rig.error().c_str());
    QVERIFY(rig.store().plays().append(play(1)));
    QVERIFY(rig.stepUntil([&] {
        return server.requestsTo(kStatus).size() >= 2 && server.requestsTo(kPlays).size() >= 2;
    }, 15s));
    for (const auto &path : {kStatus, kPlays}) {
        const auto gaps = gapsMs(server.requestsTo(path));
        QVERIFY2(gaps[0] >= 2000, (path + ": " + describe(gaps)).c_str());
        QVERIFY2(gaps[0] <= 2000 + kTolMs, (path + ": " + describe(gaps)).c_str());
    }
    QCOMPARE(rig.store().plays().count().value_or(-1), std::int64_t(1)); // kept: never acknowledged
    QCOMPARE(rig.agent().status().consecutiveFailures, 0);
}

void AgentTelemetry::plays()
{
    TestSite site;
    QVERIFY2(site.error().empty(), site.error().c_str());
    auto v1 = site.publish({{"a.png", randomBytes(4096, 1)}});
    QVERIFY2(v1, v1 ? "" : v1.error().c_str());
    FaultServer server;
    server.setDocumentRoot(site.site().toStdString());
    server.setResponse("POST", kStatus, 204);
    server.setResponse("POST", kPlays, 204);
    const int fault = server.addFault(Fault::statusCode(500).onPath(kPlays));
    RigOptions opts;
    opts.playsBatch = 3;
    AgentRig rig(site.path("data"), server.baseUrl(), site.rootPub(), opts);
    QVERIFY2(rig.error().empty(), rig.error().c_str());
    std::vector<std::string> ids;
    for (int i = 0; i < 7; ++i) {
        QVERIFY(rig.store().plays().append(play(i)));
        ids.push_back(play(i).id);
    }

    // 500: nothing is dropped, the same first batch comes again, with backoff.
    QVERIFY(rig.stepUntil([&] { return server.requestsTo(kPlays).size() >= 4; }, 15s));
    QCOMPARE(rig.store().plays().count().value_or(-1), std::int64_t(7));
    const auto failed = server.requestsTo(kPlays);
    for (const auto &r : failed)
        QCOMPARE(r.body, failed[0].body);
    const auto gaps = gapsMs(failed);
    for (std::size_t i = 0; i < gaps.size(); ++i)
        QVERIFY2(gaps[i] <= ceilingMs(opts, int(i)) + kTolMs, describe(gaps).c_str());

    server.removeFault(fault);
    QVERIFY(rig.stepUntil([&] { return rig.store().plays().count().value_or(-1) == 0; }, 15s));
    std::vector<std::string> sent;
    for (const auto &r : server.requestsTo(kPlays)) {
        QCOMPARE(r.header("content-type"), std::string("application/x-ndjson"));
        if (r.status != 204)
            continue;
        const QList<QByteArray> lines = QByteArray::fromStdString(r.body).split('\n');
        QVERIFY(lines.back().isEmpty()); // every line ends with \n
        QVERIFY(lines.size() - 1 <= opts.playsBatch);
        for (qsizetype i = 0; i + 1 < lines.size(); ++i) {
            const QJsonObject o = QJsonDocument::fromJson(lines[i]).object();
            QVERIFY2(o["id"].isString() && o["playlist"].toString() == "main" && isRfc3339Utc(o["started_at"]) &&
                         o["duration_ms"].toInteger() == 5000 && o["completed"].isBool() &&
                         o["asset"].toString().startsWith("sha256:") && o["url"].isNull(),
                     lines[i].constData());
            sent.push_back(o["id"].toString().toStdString());
        }
    }
    QCOMPARE(sent, ids); // every record once after the 2xx answers, in order
}

void AgentTelemetry::screenshotCommand()
{
    TestSite site;
    QVERIFY2(site.error().empty(), site.error().c_str());
    auto v1 = site.publish({{"a.png", randomBytes(4096, 1)}}, PublishExtras().screenshots({"shot-1"}));
    QVERIFY2(v1, v1 ? "" : v1.error().c_str());
    FaultServer server;
    server.setDocumentRoot(site.site().toStdString());
    server.setResponse("POST", kStatus, 204);
    server.setResponse("PUT", kShot, 204);
    const QString data = site.path("data");
    std::optional<AgentRig> rig(std::in_place, data, server.baseUrl(), site.rootPub());
    QVERIFY2(rig->error().empty(), rig->error().c_str());
    QVERIFY(rig->stepUntil([&] { return rig->activeVersion() == v1->version; }, 15s));

    // Handed over, pending, and reported as pending in the heartbeat.
    using Handovers = std::vector<cache::CommandLog::Handover>;
    auto pending = [&] { return rig->store().commands().handovers("pending").value_or(Handovers{}); };
    auto done = [&] { return rig->store().commands().handovers("done").value_or(Handovers(1)); };
    QVERIFY(rig->stepUntil([&] { return pending().size() == 1; }, 5s));
    QCOMPARE(pending()[0].id, std::string("shot-1"));
    QCOMPARE(pending()[0].type, std::string("screenshot"));
    server.clearLog();
    QVERIFY(rig->stepUntil([&] { return !server.requestsTo(kStatus).empty(); }, 5s));
    const QJsonObject hb = QJsonDocument::fromJson(QByteArray::fromStdString(server.requestsTo(kStatus)[0].body)).object();
    QCOMPARE(hb["pending_commands"].toArray(), QJsonArray({"shot-1"}));
    QVERIFY(server.requestsTo(kShot).empty()); // nothing to send before the player is done

    // The player takes it.
    const QByteArray jpeg = "\xFF\xD8\xFF\xE0" + randomBytes(2000, 5) + "\xFF\xD9";
    const QString file = data + "/screenshots/shot-1.jpg";
    QVERIFY(QDir().mkpath(data + "/screenshots"));
    {
        QFile f(file);
        QVERIFY(f.open(QIODevice::WriteOnly));
        QCOMPARE(f.write(jpeg), jpeg.size());
    }
    QVERIFY(rig->store().commands().finishHandover("shot-1", true, "ok"));
    QVERIFY(rig->stepUntil([&] { return !server.requestsTo(kShot).empty() && !QFile::exists(file); }, 10s));
    const auto put = server.requestsTo(kShot);
    QCOMPARE(put.size(), std::size_t(1));
    QCOMPARE(put[0].method, std::string("PUT"));
    QCOMPARE(put[0].header("content-type"), std::string("image/jpeg"));
    QCOMPARE(QByteArray::fromStdString(put[0].body), jpeg);
    QVERIFY(done().empty());
    QVERIFY(rig->store().commands().wasExecuted("shot-1").value_or(false));

    // A restart: the same manifest, the command is not handed over again.
    rig.reset();
    rig.emplace(data, server.baseUrl(), site.rootPub());
    QVERIFY2(rig->error().empty(), rig->error().c_str());
    server.clearLog();
    QVERIFY(rig->stepUntil([&] { return server.requestsTo(kStatus).size() >= 3; }, 10s));
    QCOMPARE(rig->activeVersion(), v1->version);
    QVERIFY(pending().empty());
    QVERIFY(done().empty());
    QVERIFY(server.requestsTo(kShot).empty());
}

// A board that booted offline with its clock ten years behind: the agent
// adopts the manifest, reports the clock as untrusted (time from the floor,
// i.e. the manifest's issued_at advanced by the monotonic clock), and keeps
// its pace, which never looked at the wall clock.
void AgentTelemetry::wallClockBehind()
{
    TestSite site;
    QVERIFY2(site.error().empty(), site.error().c_str());
    auto v1 = site.publish({{"a.png", randomBytes(4096, 1)}});
    QVERIFY2(v1, v1 ? "" : v1.error().c_str());
    FaultServer server;
    server.setDocumentRoot(site.site().toStdString());
    server.setResponse("POST", kStatus, 204);
    constexpr std::int64_t kTenYearsMs = std::int64_t(3652) * 86400 * 1000;
    schedule::Clocks behind = schedule::Clocks::system();
    behind.systemUtcMs = [] { return QDateTime::currentMSecsSinceEpoch() - kTenYearsMs; };
    behind.systemSynchronised = [] { return false; };
    RigOptions opts;
    opts.clocks = behind;
    AgentRig rig(site.path("data"), server.baseUrl(), site.rootPub(), opts);
    QVERIFY2(rig.error().empty(), rig.error().c_str());
    QVERIFY(rig.stepUntil([&] { return rig.activeVersion() == v1->version; }, 15s));
    server.clearLog();
    QVERIFY(rig.stepUntil([&] { return server.requestsTo(kStatus).size() >= 4; }, 10s));
    const auto posts = server.requestsTo(kStatus);
    for (const auto &p : posts) {
        const QJsonObject o = QJsonDocument::fromJson(QByteArray::fromStdString(p.body)).object();
        QCOMPARE(o["clock"]["trusted"].toBool(true), false);
        QCOMPARE(o["clock"]["source"].toString(), QString("floor"));
        const QDateTime sentAt = QDateTime::fromString(o["sent_at"].toString(), Qt::ISODate);
        QVERIFY2(sentAt >= v1->issuedAt, qPrintable(o["sent_at"].toString()));
        QCOMPARE(o["manifest"]["stale"].toBool(true), false);
    }
    const auto gaps = gapsMs(posts);
    for (double g : gaps) {
        QVERIFY2(g >= 0.9 * double(opts.statusInterval.count()) - 15, describe(gaps).c_str());
        QVERIFY2(g <= 1.1 * double(opts.statusInterval.count()) + kTolMs, describe(gaps).c_str());
    }
}

QTEST_GUILESS_MAIN(AgentTelemetry)
#include "tst_agent_telemetry.moc"
