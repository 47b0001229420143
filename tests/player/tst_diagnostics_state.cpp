// tests/player/tst_diagnostics_state.cpp — the diagnostics data, without a window (offscreen).
//
//  - gathering from a REAL store (a signed manifest activated as the agent
//    would) and a REAL agent state: stoa-syncd run against a loopback port
//    nobody listens on, until its status shows the failure;
//  - an empty store with no agent state: no crash, "no agent state yet";
//  - staged download progress from the staged manifest and the agent's count;
//  - a staged manifest the agent says is held back (issue 15): on the
//    screen (staged row, error list, headline) and in the player's /status
//    document, and gone once the agent no longer says so;
//  - a layout in force (issue 20): the "Now playing" row names it, one row
//    per region in manifest order says what it shows; the /status
//    document's now_playing carries layout and regions, and neither key
//    under a full-screen playlist; the heartbeat a real stoa-syncd POSTs
//    to a loopback server carries them as the player wrote them (kv
//    player.now_playing);
//  - wording tables (bytes, durations, plain error words), network
//    interfaces (loopback excluded, sysfs link state), the new options.
#include "agent_run.h"
#include "loopback_http_server.h"
#include "player_harness.h"

#include "player/device_state.h"
#include "player/diagnostics_text.h"
#include "player/local_endpoints.h"
#include "player/network_info.h"
#include "player/options.h"

#include <QJsonArray>
#include <QJsonDocument>

using namespace stoa;
using namespace stoa::player;
using namespace stoa::player::testing;

namespace {

std::unique_ptr<cache::Store> openStore(const QString &dir)
{
    cache::StoreOptions o;
    o.dataDir = dir.toStdString();
    auto s = cache::Store::open(o);
    if (!s)
        qFatal("store: %s", s.error().message.c_str());
    return std::move(*s);
}

GatherInputs inputsNow(const std::string &deviceId)
{
    GatherInputs in;
    in.deviceId = deviceId;
    schedule::TrustedClock clock(schedule::Clocks::system(), std::nullopt);
    in.now = clock.now();
    in.systemUtcMs = QDateTime::currentMSecsSinceEpoch();
    in.processUptimeMs = 1500;
    return in;
}

// The harness's store (ContentStore) with one image of `colour` playing
// from manifest `version` (playlist "main", shown for 1 s).
struct PlayingStore : ContentStore {
    PlayingStore(int version, const QColor &colour) : a(content->solid(colour))
    {
        content->activate(content->manifest(version, {{"main", playlist({item(a, 1000)})}}, "main"));
    }
    QString storePath() const { return m_dir.filePath("store"); }

    Media a;
};

// A store with v3 active and v4 staged, v4 declaring a second asset of 1000
// bytes the store does not have.
struct StagedStore : PlayingStore {
    StagedStore() : PlayingStore(3, QColor(1, 2, 3))
    {
        QJsonObject v4 = content->manifest(4, {{"main", playlist({item(a, 1000)})}}, "main");
        QJsonObject assets = v4["assets"].toObject();
        assets["sha256:" + QString(64, 'a')] = QJsonObject{{"size", 1000}, {"media_type", "image/png"}};
        v4["assets"] = assets;
        auto key = schedule::PrivateKey::generate();
        if (!key)
            qFatal("no key");
        std::vector<schedule::PrivateKey> keys{*key};
        auto env = schedule::signEnvelope(schedule::kManifestPayloadType,
                                          QJsonDocument(v4).toJson(QJsonDocument::Compact), keys);
        if (!env || !store->manifests().stage({4, env->toStdString(), {a.digest, *schedule::Digest::fromHex(std::string(64, 'a'))}}))
            qFatal("cannot stage v4");
    }
};

// The agent's status for that staged v4 (as DownloadChannel::step writes it).
cache::SyncStatus stagedStatus()
{
    cache::SyncStatus status;
    status.server = "http://example.invalid";
    status.state = "downloading";
    status.activeVersion = 3;
    status.stagedVersion = 4;
    status.stagedBlobsMissing = 1;
    status.stagedBytesMissing = 1000;
    return status;
}

bool writeStatus(cache::Store &store, const cache::SyncStatus &status)
{
    return bool(store.kv().set(cache::kSyncStatusKey, QJsonDocument(status.toJson()).toJson().toStdString()));
}

const DiagRow *findRow(const DiagnosticsText &t, const QString &key)
{
    for (const auto *side : {&t.left, &t.right})
        for (const auto &sec : *side)
            for (const auto &r : sec.rows)
                if (r.key == key)
                    return &r;
    return nullptr;
}

} // namespace

class DiagnosticsState : public QObject {
    Q_OBJECT
private slots:
    void gatherFromRealStoreAndAgent();
    void emptyStoreWithoutAgent();
    void stagedProgress();
    void stagedHeldBack();
    void layoutRegions();
    void heartbeatCarriesRegions();
    void formatting_data();
    void formatting();
    void plainWords_data();
    void plainWords();
    void networkInterfaces();
    void options();
    void startupProblemsAreShown();
};

void DiagnosticsState::gatherFromRealStoreAndAgent()
{
    const PlayingStore c(7, QColor(255, 0, 0));

    DeadServerAgent agent(c.storePath(), c.m_dir.path(), "diag-01");
    QVERIFY(agent.start());
    QVERIFY2(agent.waitForFailures(*c.store, 2), agent.output().constData());

    // The last trusted time, as the agent persists it (spec §7): an hour ago.
    const std::int64_t floorMs = QDateTime::currentMSecsSinceEpoch() - 3600 * 1000;
    QVERIFY(c.store->kv().setInt("time_floor_ms", floorMs));
    GatherInputs in = inputsNow("diag-01");
    in.quotaBytes = 1u << 30;
    in.player.idle = false;
    in.player.playlist = "main";
    in.player.asset = c.a.name.toStdString();
    in.player.kind = "image";
    in.player.badItems = {{"sha256:00ff", "asset missing from the store"}};
    // The sensors; a disk figure from them is not the store's and must not win.
    in.health = [] {
        schedule::DeviceHealth h;
        h.cpuTempC = 51.5;
        h.throttled = false;
        h.underVoltage = false;
        h.problemSinceBoot = true;
        h.conditions = {"under-voltage-occurred"};
        h.diskFreeBytes = 1;
        h.diskTotalBytes = 1;
        return h;
    };
    const DeviceState s = gatherDeviceState(*c.store, in);

    // The agent's state, as it wrote it.
    QVERIFY(s.sync.has_value());
    QCOMPARE(QString::fromStdString(s.sync->server), agent.server);
    QVERIFY(s.sync->consecutiveFailures >= 2);
    QVERIFY2(!s.sync->lastError.empty(), s.sync->lastResult.c_str());
    QVERIFY(s.sync->lastAttemptAtMs > 0);
    QVERIFY(s.sync->nextAttemptAtMs >= s.sync->lastAttemptAtMs);
    QVERIFY(s.sync->backoffSeconds > 0);
    QCOMPARE(s.sync->state, std::string("backing_off"));
    // No server in the player's config: the agent's counts as configured.
    QVERIFY(s.serverConfigured);
    QCOMPARE(QString::fromStdString(s.server), agent.server);

    // The store.
    QVERIFY(s.active.has_value());
    QCOMPARE(s.active->version, 7);
    QCOMPARE(*s.active->issuedAt, QDateTime::fromString("2020-01-01T00:00:00Z", Qt::ISODate));
    QCOMPARE(*s.active->expiresAt, QDateTime::fromString("2099-01-01T00:00:00Z", Qt::ISODate));
    QVERIFY(!s.active->stale);
    QCOMPARE(s.active->signerKeyIds.size(), std::size_t(1));
    QCOMPARE(s.active->signerKeyIds[0].size(), std::size_t(64));
    QCOMPARE(s.active->assetCount, std::size_t(1));
    QCOMPARE(s.active->assetBytes, std::uint64_t(c.a.size));
    QVERIFY(!s.staged);
    QCOMPARE(s.rollbackFloor.value_or(-1), 7);
    QVERIFY(s.cache.known);
    QCOMPARE(s.cache.blobCount, std::uint64_t(1));
    QCOMPARE(s.cache.bytesUsed, std::uint64_t(c.a.size));
    QCOMPARE(s.cache.quotaBytes, std::uint64_t(1u << 30));
    QVERIFY(s.health.diskFreeBytes && *s.health.diskFreeBytes > 1 && s.health.diskTotalBytes >= s.health.diskFreeBytes);
    QVERIFY(s.storeErrors.empty());
    // The clock: the offset is measured from the persisted floor.
    QCOMPARE(s.clock.floorUtcMs.value_or(0), floorMs);
    QCOMPARE(*s.clock.sinceFloorMs, s.clock.trustedNowUtc.toMSecsSinceEpoch() - floorMs);
    QVERIFY(*s.clock.sinceFloorMs >= 3600 * 1000);
    QVERIFY(!s.clock.source.empty());
    QCOMPARE(s.processUptimeS, 1);
    QVERIFY(s.systemUptimeS > 0);
    QCOMPARE(s.deviceId, std::string("diag-01"));
    QCOMPARE(s.softwareVersion, std::string(STOA_VERSION));
    QCOMPARE(s.health.cpuTempC.value_or(0), 51.5);
    // /status (§5 health): the one reading, each field under its spec name.
    const QJsonObject health = schedule::statusReportObject(statusReportOf(s)).value("health").toObject();
    QCOMPARE(health.value("cpu_temp_c").toDouble(), 51.5);
    QCOMPARE(health.value("throttled"), QJsonValue(false));
    QCOMPARE(health.value("disk_free_bytes").toInteger(), qint64(*s.health.diskFreeBytes));

    // In words.
    const DiagnosticsText t = describeDeviceState(s);
    const DiagRow *attempt = findRow(t, "last_attempt");
    QVERIFY(attempt);
    QCOMPARE(attempt->level, QString("bad"));
    QVERIFY2(attempt->value.contains("cannot reach the server"), qPrintable(attempt->value));
    const DiagRow *next = findRow(t, "next_attempt");
    QVERIFY(next && next->value.contains("backing off") && next->value.contains("failure(s) in a row"));
    QVERIFY(findRow(t, "active_manifest")->value.startsWith("v7, issued 2020-01-01 00:00:00 UTC"));
    QVERIFY(findRow(t, "cache")->value.contains("of 1.00 GiB quota"));
    QVERIFY(findRow(t, "cpu")->value.startsWith("51.5 °C · not throttled · throttled or under-voltage since boot"));
    QVERIFY(findRow(t, "server")->value == agent.server);
    QVERIFY2(findRow(t, "clock_floor")->value.contains("(now +1 h 0 min)"), qPrintable(findRow(t, "clock_floor")->value));
    QVERIFY(!t.errors.isEmpty());
    QVERIFY2(t.errors[0].startsWith("Sync failing"), qPrintable(t.errors.join('\n')));
    QVERIFY(t.errors.join('\n').contains("Skipped sha256:00ff: asset missing from the store"));
    QCOMPARE(t.headlineLevel, QString("warn"));
    QCOMPARE(t.headline, QString("Playing v7, but cannot sync"));
    agent.stop();
}

void DiagnosticsState::emptyStoreWithoutAgent()
{
    QTemporaryDir dir;
    auto store = openStore(dir.filePath("store"));
    const DeviceState s = gatherDeviceState(*store, inputsNow("fresh"));
    QVERIFY(!s.sync);
    QVERIFY(!s.active);
    QVERIFY(!s.serverConfigured);
    QVERIFY(!s.health.cpuTempC && !s.health.throttled);
    QVERIFY(s.health.diskFreeBytes); // the store's, sensors or not
    const QJsonObject health = schedule::statusReportObject(statusReportOf(s)).value("health").toObject();
    QVERIFY(health.value("cpu_temp_c").isNull() && health.value("throttled").isNull());
    QCOMPARE(health.value("disk_free_bytes").toInteger(), qint64(*s.health.diskFreeBytes));
    const DiagnosticsText t = describeDeviceState(s);
    QCOMPARE(findRow(t, "sync_state")->value, QString("no agent state yet"));
    QCOMPARE(findRow(t, "active_manifest")->value, QString("none yet"));
    QCOMPARE(findRow(t, "server")->value, QString("none configured"));
    QVERIFY(findRow(t, "cpu")->value.startsWith("n/a"));
    QCOMPARE(t.headline, QString("Not set up: no server configured"));
    QVERIFY(t.errors.join('\n').contains("No server configured"));
    QVERIFY(t.errors.join('\n').contains("No content yet"));
}

void DiagnosticsState::stagedProgress()
{
    StagedStore staged;
    const Media &a = staged.a;
    QVERIFY(writeStatus(*staged.store, stagedStatus()));

    const DeviceState s = gatherDeviceState(*staged.store, inputsNow("d"));
    QVERIFY(s.staged);
    QCOMPARE(s.staged->version, 4);
    QCOMPARE(s.staged->assetBytes, std::uint64_t(a.size + 1000));
    QVERIFY(s.stagedProgress);
    QCOMPARE(*s.stagedProgress, double(a.size) / double(a.size + 1000));
    const QString row = findRow(describeDeviceState(s), "staged_manifest")->value;
    QVERIFY2(row.startsWith(QString("v4: %1 % downloaded (1 asset(s), 1000 bytes missing)")
                                .arg(int(std::floor(*s.stagedProgress * 100)))),
             qPrintable(row));
}

void DiagnosticsState::stagedHeldBack()
{
    StagedStore staged;
    cache::Store *store = staged.store.get();
    GatherInputs in = inputsNow("d");
    in.configuredServer = "http://example.invalid";
    const std::int64_t nowMs = in.now.utc.toMSecsSinceEpoch();
    const std::string message = "No room in the store for blob aaaaaaaaaaaa…: disk cannot fit 1000 more bytes "
                                "and keep 0 bytes free: 500 bytes short";
    cache::SyncStatus status = stagedStatus();
    status.lastSuccessAtMs = nowMs - 1000;
    status.downloadError = "blob aaaaaaaaaaaa…: disk cannot fit 1000 more bytes and keep 0 bytes free: 500 bytes short";
    status.stagedBlocked = cache::SyncStatus::StagedBlock{"no_space", message, nowMs - 90'000};
    QVERIFY(writeStatus(*store, status));

    DeviceState s = gatherDeviceState(*store, in);
    DiagnosticsText t = describeDeviceState(s);
    const DiagRow *row = findRow(t, "staged_manifest");
    QVERIFY(row);
    QVERIFY2(row->value.contains(QString(" · HELD BACK since %1: %2")
                                     .arg(formatWhen(nowMs - 90'000, nowMs), QString::fromStdString(message))),
             qPrintable(row->value));
    QVERIFY2(row->value.contains("(1 min 30 s ago)"), qPrintable(row->value));
    QCOMPARE(row->level, QString("bad"));
    QCOMPARE(t.headline, QString("Playing v3; new content v4 is held back"));
    QCOMPARE(t.headlineLevel, QString("warn"));
    QVERIFY2(t.errors.value(0).startsWith("New content v4 cannot be taken, since "), qPrintable(t.errors.join('\n')));
    QVERIFY(t.errors.value(0).endsWith(QString::fromStdString(message)));
    QVERIFY(!t.errors.join('\n').contains("Download failed")); // the same cause, said once

    // The player's /status document, from the same state.
    QJsonObject sync = schedule::statusReportObject(statusReportOf(s)).value("sync").toObject();
    const QJsonObject b = sync.value("staged_blocked").toObject();
    QCOMPARE(b.value("version").toInteger(), 4);
    QCOMPARE(b.value("reason").toString(), QString("no_space"));
    QCOMPARE(b.value("message").toString(), QString::fromStdString(message));
    QCOMPARE(b.value("since").toString(),
             schedule::rfc3339Utc(QDateTime::fromMSecsSinceEpoch(nowMs - 90'000, Qt::UTC)));
    QCOMPARE(sync.value("consecutive_failures").toInt(), 0);

    // The agent no longer says so: nothing of it is left.
    status.stagedBlocked.reset();
    status.downloadError.clear();
    QVERIFY(writeStatus(*store, status));
    s = gatherDeviceState(*store, in);
    t = describeDeviceState(s);
    QVERIFY2(!findRow(t, "staged_manifest")->value.contains("HELD BACK"), qPrintable(findRow(t, "staged_manifest")->value));
    QCOMPARE(findRow(t, "staged_manifest")->level, QString());
    QVERIFY2(!t.headline.contains("held back"), qPrintable(t.headline));
    QVERIFY(!t.errors.join('\n').contains("cannot be taken"));
    sync = schedule::statusReportObject(statusReportOf(s)).value("sync").toObject();
    QVERIFY(sync.contains("staged_blocked"));
    QVERIFY(sync.value("staged_blocked").isNull());
}

void DiagnosticsState::layoutRegions()
{
    QTemporaryDir dir;
    auto store = openStore(dir.filePath("store"));
    const std::string a = "sha256:" + std::string(64, 'a'), b = "sha256:" + std::string(64, 'b');
    GatherInputs in = inputsNow("d");
    PlayerView &p = in.player;
    p.idle = false;
    p.playlist = "lobby";
    p.asset = a;
    p.kind = "image";
    p.layout = "menu";
    p.regions = {{"main", "lobby", a, std::nullopt, "image"},
                 {"side", "promo", std::nullopt, "https://example.com/promo", "web"},
                 {"ticker", "news", std::nullopt, std::nullopt, "text"},
                 {"cam", "cams", std::nullopt, std::nullopt, ""}};
    DeviceState s = gatherDeviceState(*store, in);
    DiagnosticsText t = describeDeviceState(s);
    QCOMPARE(findRow(t, "now_playing")->value, QString("layout menu, 4 region(s)"));
    QCOMPARE(findRow(t, "region_main")->value, QString("lobby: image sha256:aaaaaaaaaaaa…"));
    QCOMPARE(findRow(t, "region_main")->label, QString("Region main"));
    QCOMPARE(findRow(t, "region_side")->value, QString("promo: web https://example.com/promo"));
    QCOMPARE(findRow(t, "region_ticker")->value, QString("news: text"));
    QCOMPARE(findRow(t, "region_cam")->value, QString("cams: nothing on screen"));
    QCOMPARE(findRow(t, "region_cam")->level, QString("warn"));
    // In manifest order, right after "Now playing".
    QStringList keys;
    for (const auto &sec : t.right)
        for (const auto &r : sec.rows)
            keys << r.key;
    const qsizetype at = keys.indexOf("now_playing");
    QCOMPARE(keys.mid(at, 5), (QStringList{"now_playing", "region_main", "region_side", "region_ticker", "region_cam"}));

    // /status: §5's fields as they were, and the layout with every region.
    QJsonObject np = schedule::statusReportObject(statusReportOf(s)).value("now_playing").toObject();
    QCOMPARE(np.value("playlist").toString(), QString("lobby"));
    QCOMPARE(np.value("asset").toString(), QString::fromStdString(a));
    QVERIFY(np.value("url").isNull());
    QCOMPARE(np.value("layout").toString(), QString("menu"));
    const QJsonArray regions = np.value("regions").toArray();
    QCOMPARE(regions.size(), 4);
    QCOMPARE(regions[0].toObject(), (QJsonObject{{"id", "main"}, {"playlist", "lobby"},
                                                 {"asset", QString::fromStdString(a)}, {"url", QJsonValue()}}));
    QCOMPARE(regions[1].toObject(), (QJsonObject{{"id", "side"}, {"playlist", "promo"}, {"asset", QJsonValue()},
                                                 {"url", "https://example.com/promo"}}));
    QCOMPARE(regions[3].toObject(), (QJsonObject{{"id", "cam"}, {"playlist", "cams"}, {"asset", QJsonValue()},
                                                 {"url", QJsonValue()}}));
    // The kv value the heartbeat carries is the same object.
    QCOMPARE(nowPlayingObject(s.player), np);

    // Full screen: no region rows, and §5's three keys only.
    p.layout.reset();
    p.regions.clear();
    p.asset = b;
    s = gatherDeviceState(*store, in);
    t = describeDeviceState(s);
    QCOMPARE(findRow(t, "now_playing")->value, QString("lobby: image sha256:bbbbbbbbbbbb…"));
    QVERIFY(!findRow(t, "region_main"));
    np = schedule::statusReportObject(statusReportOf(s)).value("now_playing").toObject();
    QCOMPARE(np.keys(), (QStringList{"asset", "playlist", "url"}));
}

void DiagnosticsState::heartbeatCarriesRegions()
{
    // The player under a layout wrote now playing (the player's one writer,
    // nowPlayingObject); the real agent's next heartbeat carries it whole.
    const PlayingStore c(5, QColor(255, 0, 0));
    PlayerView p;
    p.playlist = "lefts";
    p.asset = c.a.name.toStdString();
    p.layout = "menu";
    p.regions = {{"left", "lefts", c.a.name.toStdString(), std::nullopt, "image"},
                 {"right", "pages", std::nullopt, "https://example.com/", "web"},
                 {"ticker", "news", std::nullopt, std::nullopt, ""}};
    const QJsonObject written = nowPlayingObject(p);
    QVERIFY(c.store->kv().set("player.now_playing", QJsonDocument(written).toJson(QJsonDocument::Compact).toStdString()));

    stoa::testing::LoopbackHttpServer receiver;
    receiver.acceptPosts("/v1/devices/hb-01/status");
    AgentRun agent(c.storePath(), c.m_dir.path(), "hb-01", receiver.url(), {"status_interval_s=0.5"});
    QVERIFY(agent.start());
    QTRY_VERIFY2_WITH_TIMEOUT(!receiver.posted().empty(), agent.output().constData(), 20000);
    const QJsonObject heartbeat = QJsonDocument::fromJson(receiver.posted().front()).object();
    QVERIFY(agent.stop());
    QCOMPARE(heartbeat.value("device_id").toString(), QString("hb-01"));
    const QJsonObject np = heartbeat.value("now_playing").toObject();
    QCOMPARE(np, written);
    QCOMPARE(np.value("layout").toString(), QString("menu"));
    QCOMPARE(np.value("regions").toArray().size(), 3);
    QCOMPARE(np.value("regions").toArray()[1].toObject().value("url").toString(), QString("https://example.com/"));
}

void DiagnosticsState::formatting_data()
{
    QTest::addColumn<QString>("got");
    QTest::addColumn<QString>("expected");
    QTest::addRow("bytes") << formatBytes(512) << "512 bytes";
    QTest::addRow("KiB") << formatBytes(1536) << "1.5 KiB";
    QTest::addRow("MiB") << formatBytes(12u << 20) << "12.0 MiB";
    QTest::addRow("GiB") << formatBytes(3ull << 30) << "3.00 GiB";
    QTest::addRow("seconds") << formatDuration(45) << "45 s";
    QTest::addRow("minutes") << formatDuration(125) << "2 min 5 s";
    QTest::addRow("hours") << formatDuration(2 * 3600 + 12 * 60) << "2 h 12 min";
    QTest::addRow("days") << formatDuration(4 * 86400 + 3 * 3600) << "4 d 3 h";
    QTest::addRow("never") << formatWhen(0, 1000) << "never";
    QTest::addRow("ago") << formatWhen(1764151200000, 1764151212000) << "2025-11-26 10:00:00 UTC (12 s ago)";
    QTest::addRow("in") << formatWhen(1764151204000, 1764151200000) << "2025-11-26 10:00:04 UTC (in 4 s)";
}

void DiagnosticsState::formatting()
{
    QFETCH(QString, got);
    QFETCH(QString, expected);
    QCOMPARE(got, expected);
}

void DiagnosticsState::plainWords_data()
{
    QTest::addColumn<QString>("raw");
    QTest::addColumn<QString>("words");
    QTest::addRow("refused") << "cannot connect: Failed to connect to 127.0.0.1 port 9: Couldn't connect to server"
                             << "cannot reach the server";
    QTest::addRow("dns") << "cannot connect: Could not resolve host: x.invalid" << "the server's name does not resolve (DNS)";
    QTest::addRow("tls") << "TLS handshake failed" << "secure connection (TLS) failed";
    QTest::addRow("unknown") << "something odd" << "something odd";
}

void DiagnosticsState::plainWords()
{
    QFETCH(QString, raw);
    QFETCH(QString, words);
    const QString plain = plainError(raw.toStdString());
    QVERIFY2(plain.startsWith(words), qPrintable(plain));
    QVERIFY2(plain.contains(raw), "the original text is kept");
}

void DiagnosticsState::networkInterfaces()
{
    // The real machine: loopback never listed; whatever has an IPv4 address is.
    for (const auto &i : player::networkInterfaces())
        QVERIFY2(i.name != "lo", "loopback is excluded");
    // A fake sysfs: an interface without address shows with its link state.
    QTemporaryDir sys;
    QDir(sys.path()).mkpath("eth9");
    QFile f(sys.filePath("eth9/operstate"));
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write("down\n");
    f.close();
    QDir(sys.path()).mkpath("lo");
    const auto list = player::networkInterfaces(sys.path().toStdString());
    const auto eth9 = std::find_if(list.begin(), list.end(), [](const auto &i) { return i.name == "eth9"; });
    QVERIFY(eth9 != list.end());
    QCOMPARE(eth9->operState, std::string("down"));
    QVERIFY(eth9->ipv4.empty());
    QVERIFY(std::none_of(list.begin(), list.end(), [](const auto &i) { return i.name == "lo"; }));
}

void DiagnosticsState::options()
{
    QTemporaryDir dir;
    QFile conf(dir.filePath("stoa.conf"));
    QVERIFY(conf.open(QIODevice::WriteOnly));
    conf.write("server = https://user:secret@signage.example/base\nquota = 2G\nbackoff_cap_s = 60\n"
               "hub_console_url = https://hub.example/console/\n");
    conf.close();
    auto o = parsePlayerOptions({"stoa-player", "--config", dir.filePath("stoa.conf"), "--diagnostics"});
    QVERIFY2(o, o ? "" : o.error().message.c_str());
    QCOMPARE(o->server, std::string("https://user:secret@signage.example/base"));
    QCOMPARE(o->quotaBytes, std::uint64_t(2) << 30);
    QCOMPARE(o->consoleUrl, std::string("https://hub.example/console/")); // the diagnostics QR code's link
    QVERIFY(o->diagnostics);
    QVERIFY(o->autoDiagnostics);
    auto off = parsePlayerOptions({"stoa-player", "--config", "/dev/null", "--no-auto-diagnostics"});
    QVERIFY(off && !off->autoDiagnostics && !off->diagnostics);
    // The player has no --server flag (it never talks to the server).
    QVERIFY(!parsePlayerOptions({"stoa-player", "--config", "/dev/null", "--server", "http://x"}));
    QFile bad(dir.filePath("bad.conf"));
    QVERIFY(bad.open(QIODevice::WriteOnly));
    bad.write("quota = lots\n");
    bad.close();
    // A bad file line is shown on the screen, not fatal (issue 7).
    const auto withBad = parsePlayerOptions({"stoa-player", "--config", dir.filePath("bad.conf")});
    QVERIFY(withBad);
    QVERIFY2(withBad->configError.find("bad.conf:1: bad value for 'quota'") != std::string::npos,
             withBad->configError.c_str());
    QCOMPARE(withBad->quotaBytes, std::uint64_t(0));

    // The screen never shows credentials from the config.
    QTemporaryDir storeDir;
    auto store = openStore(storeDir.filePath("store"));
    GatherInputs in = inputsNow("d");
    in.configuredServer = o->server;
    QCOMPARE(gatherDeviceState(*store, in).server, std::string("https://signage.example/base"));
}

void DiagnosticsState::startupProblemsAreShown()
{
    QTemporaryDir dir;
    auto store = openStore(dir.filePath("store"));
    GatherInputs in = inputsNow("d");
    in.startupProblems = {"stoa.conf:3: unknown key 'sever'"};
    const DeviceState s = gatherDeviceState(*store, in);
    QCOMPARE(s.startupProblems.size(), std::size_t(1));
    const DiagnosticsText t = describeDeviceState(s);
    bool shown = false;
    for (const QString &e : t.errors)
        shown = shown || (e.startsWith("Configuration: ") && e.contains("stoa.conf:3: unknown key 'sever'"));
    QVERIFY2(shown, qPrintable(t.errors.join(" | ")));

    // The display's power, as DisplayControl last set it, is a row of its own.
    in.display = [] { return std::string("failed: vcgencmd: /usr/bin/vcgencmd not found"); };
    const DiagnosticsText withDisplay = describeDeviceState(gatherDeviceState(*store, in));
    const DiagRow *row = findRow(withDisplay, "display");
    QVERIFY(row);
    QVERIFY(row->value.contains("vcgencmd not found"));
    QCOMPARE(row->level, QString("bad"));
    QVERIFY(!findRow(t, "display")); // not managed: no row
}

QTEST_GUILESS_MAIN(DiagnosticsState)
#include "tst_diagnostics_state.moc"
