// tests/sync/tst_state_rebuild_player.cpp — state that outlives its database
// (issue 15), with BOTH real processes: stoa-syncd and stoa-player
// (offscreen) on one data directory, served by the loopback FaultServer.
//
// The store starts with a time floor an hour ahead (as either process saves
// one). The manifest has three short images, a `screenshot` command (the
// player takes it, the agent uploads it: PUT …/screenshot) and a `reboot`
// command (the agent's reboot_command appends a line to a file). The backend
// refuses plays (503), so the player's own plays stay unsent. Once the
// screenshot was uploaded and the reboot ran, both processes are SIGKILLed,
// state.db is corrupted (its first pages overwritten) or deleted, and both
// are started again on it. Then:
//  - no command runs twice: no heartbeat after the restart lists a pending
//    command, the screenshot is not uploaded again and the reboot file keeps
//    one line (concluded only after the restarted agent reported the manifest
//    in a heartbeat, the restarted player's plays reached the backend and
//    further heartbeats were seen); the rebuilt database has both ids;
//  - the floor holds: the saved floor, every heartbeat's and the player's
//    /status sent_at are not below the floor saved before the kill;
//  - every play the real player logged before the kill reaches the backend
//    once it accepts (at least once: duplicates allowed);
//  - the player plays again (/status, and new plays reach the backend);
//  - a control: the next manifest's screenshot and reboot each run once, so
//    "not again" is not "nothing runs any more".
// Without the mirror (<data>/state/ deleted with state.db) the first check
// fails: the handover and the reboot happen again.
// Waits are conditions with deadlines (the server log, files, /status).
#include "agent_harness.h"
#include "daemon.h"
#include "process_probe.h"
#include "raw_http_client.h"
#include "solid_png.h"
#include "wait_until.h"

#include "cache/state_mirror.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTest>

#include <sqlite3.h>

using namespace stoa;
using namespace stoa::testing;

namespace {

const std::string kManifestPath = "/v1/manifest.json";
const std::string kStatus = "/v1/devices/dev-1/status";
const std::string kPlays = "/v1/devices/dev-1/plays";
const std::string kShot = "/v1/devices/dev-1/screenshot";

int lineCount(const QString &file)
{
    QFile f(file);
    if (!f.open(QIODevice::ReadOnly))
        return 0;
    return int(f.readAll().count('\n'));
}

// The first column of `sql` over state.db, opened read-only (the test never
// writes what the processes share); empty when it cannot be read.
std::vector<std::string> column(const QString &dataDir, const char *sql)
{
    std::vector<std::string> out;
    sqlite3 *db = nullptr;
    const QByteArray uri = ("file:" + dataDir + "/state.db?mode=ro").toUtf8();
    if (sqlite3_open_v2(uri.constData(), &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, nullptr) == SQLITE_OK) {
        sqlite3_busy_timeout(db, 5000);
        sqlite3_stmt *st = nullptr;
        if (sqlite3_prepare_v2(db, sql, -1, &st, nullptr) == SQLITE_OK)
            while (sqlite3_step(st) == SQLITE_ROW) {
                const unsigned char *t = sqlite3_column_text(st, 0);
                out.emplace_back(t ? reinterpret_cast<const char *>(t) : "");
            }
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return out;
}

std::int64_t savedFloor(const QString &dataDir)
{
    const auto v = column(dataDir, "SELECT CAST(value AS INTEGER) FROM kv WHERE key = 'time_floor_ms'");
    return v.empty() ? 0 : std::stoll(v.front());
}

// The play ids the player logged: state.db's play log and the spool.
std::set<std::string> loggedPlays(const QString &dataDir)
{
    std::set<std::string> out;
    for (auto &id : column(dataDir, "SELECT id FROM plays"))
        out.insert(std::move(id));
    if (auto spool = cache::StateMirror(dataDir.toStdString()).readSpool())
        for (const auto &r : spool->live)
            out.insert(r.id);
    return out;
}

// The play ids of `body` (a plays POST: NDJSON, spec §6).
std::set<std::string> playIds(const std::string &body)
{
    std::set<std::string> out;
    for (const QByteArray &line : QByteArray::fromStdString(body).split('\n'))
        if (const QString id = QJsonDocument::fromJson(line).object().value("id").toString(); !id.isEmpty())
            out.insert(id.toStdString());
    return out;
}

QDateTime parsedTime(const QJsonValue &v) { return QDateTime::fromString(v.toString(), Qt::ISODateWithMs); }

} // namespace

class StateRebuildPlayer : public QObject {
    Q_OBJECT
private slots:
    void bothProcessesAfterARebuild_data()
    {
        QTest::addColumn<bool>("corrupt");
        QTest::newRow("corrupt") << true;
        QTest::newRow("deleted") << false;
    }
    void bothProcessesAfterARebuild();
};

void StateRebuildPlayer::bothProcessesAfterARebuild()
{
    QFETCH(bool, corrupt);
    TestSite site;
    QVERIFY2(site.error().empty(), site.error().c_str());
    const QSize size(160, 90);
    const std::vector<Media> media{{"a.png", solidPng(Qt::red, size)}, {"b.png", solidPng(Qt::green, size)},
                                   {"c.png", solidPng(Qt::blue, size)}};
    std::set<QString> assets;
    for (const auto &m : media)
        assets.insert(QString::fromStdString("sha256:" + m.hex()));
    auto v1 = site.publish(media, PublishExtras::version(10).screenshots({"shot-1"}).reboots({"reboot-1"}).itemsLast(1));
    QVERIFY2(v1, v1 ? "" : v1.error().c_str());

    const QString data = site.path("data");
    const QString rebootLog = site.path("reboots.log");
    // The device trusts a floor an hour ahead (saved as either process saves
    // it); within the manifests' lifetime, so they stay adoptable.
    const std::int64_t floor = QDateTime::currentMSecsSinceEpoch() + 3600LL * 1000;
    {
        cache::StoreOptions o;
        o.dataDir = data.toStdString();
        o.limits.minFreeBytes = 0;
        auto store = cache::Store::open(o);
        QVERIFY2(store, store ? "" : store.error().message.c_str());
        QVERIFY((*store)->kv().raise("time_floor_ms", floor));
    } // closed: the processes start on it

    FaultServer server;
    server.setDocumentRoot(site.site().toStdString());
    server.setResponse("POST", kStatus, 204);
    server.setResponse("POST", kPlays, 503); // nothing acknowledged before the kill
    server.setResponse("PUT", kShot, 204);

    QFile(site.path("empty.conf")).open(QIODevice::WriteOnly);
    const QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    Daemon syncd(STOA_SYNCD,
                 {"--config", site.path("empty.conf"), "--data-dir", data, "--server",
                  QString::fromStdString(server.baseUrl()), "--trusted-keys", site.rootPub(), "--device-id", "dev-1",
                  "--set", "backoff_base_s=0.1", "--set", "backoff_cap_s=0.5", "--set", "sync_interval_s=0.3",
                  "--set", "status_interval_s=0.3", "--set", "min_free=0", "--set",
                  "reboot_command=echo reboot >> '" + rebootLog + "'"},
                 {}, env);
    // Log files named at each start: one per run.
    Daemon player(STOA_PLAYER,
                  {"--windowed", "--listen", "127.0.0.1:0", "--config", site.path("empty.conf"), "--data-dir", data,
                   "--device-id", "dev-1", "--no-auto-diagnostics"},
                  {}, playerEnvironment(env));

    // The player's /status on the port its current log names.
    std::uint16_t port = 0;
    auto status = [&] {
        const auto reply = endpoints::testing::get(port, "/status");
        return reply.status == 200 ? QJsonDocument::fromJson(QByteArray::fromStdString(reply.body)).object()
                                   : QJsonObject();
    };
    auto playsAnAsset = [&] {
        return assets.contains(status().value("now_playing").toObject().value("asset").toString());
    };
    auto uploads = [&] {
        return only(server.requestsTo(kShot), [](const RecordedRequest &r) { return r.method == "PUT"; }).size();
    };

    // 1. Both run: the screenshot is taken and uploaded once, the reboot
    //    runs once, the player's plays are refused.
    QVERIFY(syncd.start(site.path("syncd-1.log")));
    QVERIFY(player.start(site.path("player-1.log")));
    QVERIFY2(waitUntil([&] { return (port = player.servingPort()) != 0; },
                       60s),
             player.tail());
    QVERIFY2(waitUntil(playsAnAsset, 60s), player.tail());
    QVERIFY2(waitUntil([&] { return uploads() >= 1; }, 60s), qPrintable(player.tail() + QByteArray("\n") + syncd.tail()));
    QVERIFY2(waitUntil([&] { return lineCount(rebootLog) >= 1; }, 30s), syncd.tail());
    QVERIFY2(player.log().contains("command shot-1 (screenshot): done"), player.tail());
    // Some of the real player's plays were offered and refused.
    std::set<std::string> refused;
    QVERIFY2(waitUntil([&] {
                 for (const auto &r : server.requestsTo(kPlays))
                     if (r.status == 503)
                         refused.merge(playIds(r.body));
                 return refused.size() >= 3;
             }, 60s),
             qPrintable(QString::number(refused.size()) + " plays refused\n" + syncd.tail()));

    // 2. Both SIGKILLed; what they logged is read before the database goes.
    QVERIFY(player.kill());
    QVERIFY(syncd.kill());
    QCOMPARE(uploads(), std::size_t(1));
    QCOMPARE(lineCount(rebootLog), 1);
    const std::set<std::string> before = loggedPlays(data);
    QVERIFY2(std::ranges::includes(before, refused), qPrintable(QString::number(before.size()) + " plays logged"));
    const std::int64_t floorBefore = savedFloor(data);
    QVERIFY2(floorBefore >= floor, qPrintable(QString::number(floorBefore) + " < " + QString::number(floor)));
    qInfo("before the kill: %zu plays logged (all unsent), floor %lld", before.size(), (long long)floorBefore);

    const std::filesystem::path db = std::filesystem::path(data.toStdString()) / "state.db";
    if (corrupt) {
        QFile f(QString::fromStdString(db.string()));
        QVERIFY(f.open(QIODevice::ReadWrite));
        QVERIFY(f.write(randomBytes(8192, 9)) == 8192); // the header and first pages
        f.close();
    }
    for (const char *s : {"-wal", "-shm"})
        std::filesystem::remove(db.string() + s);
    if (!corrupt)
        std::filesystem::remove(db);

    // 3. Both start again; the backend now accepts plays.
    server.setResponse("POST", kPlays, 204);
    const auto restart = SteadyClock::now();
    QVERIFY(syncd.start(site.path("syncd-2.log")));
    QVERIFY(player.start(site.path("player-2.log")));
    port = 0;
    QVERIFY2(waitUntil([&] { return (port = player.servingPort()) != 0; },
                       60s),
             player.tail());
    // Whichever opened the store first recovered it.
    QVERIFY2(waitUntil([&] { return (syncd.log() + player.log()).contains("rollback floor"); }, 60s),
             qPrintable(syncd.tail() + QByteArray("\n") + player.tail()));
    for (const QByteArray &line : (syncd.log() + player.log()).split('\n'))
        if (line.contains("rollback floor"))
            qInfo("%s", line.constData());
    if (corrupt)
        QVERIFY2((syncd.log() + player.log()).contains("DATABASE REBUILT"), syncd.tail());

    auto heartbeatsSince = [&] {
        std::vector<QJsonObject> out;
        for (const auto &r : server.requestsTo(kStatus))
            if (r.arrived >= restart)
                out.push_back(QJsonDocument::fromJson(QByteArray::fromStdString(r.body)).object());
        return out;
    };
    // The restarted agent has the manifest active (so its command step has
    // looked at the commands): a heartbeat says so, after a manifest poll.
    QVERIFY2(waitUntil([&] {
                 bool polled = false;
                 for (const auto &r : server.requests())
                     if (r.arrived >= restart && r.path == kManifestPath)
                         polled = true;
                 if (!polled)
                     return false;
                 for (const auto &hb : heartbeatsSince())
                     if (hb.value("manifest").toObject().value("version").toInteger() == v1->version)
                         return true;
                 return false;
             }, 60s),
             syncd.tail());

    // Every play logged before the kill arrives (at least once), and the
    // player plays again: its /status, and plays made after the restart.
    std::set<std::string> arrived;
    QVERIFY2(waitUntil([&] {
                 for (const auto &r : server.requestsTo(kPlays))
                     if (r.status == 204)
                         arrived.merge(playIds(r.body));
                 return std::ranges::includes(arrived, before) &&
                        std::ranges::any_of(arrived, [&](const std::string &id) { return !before.contains(id); });
             }, 90s),
             qPrintable(QStringLiteral("%1 of %2 plays from before the kill arrived\n")
                            .arg(std::ranges::count_if(before, [&](const std::string &id) { return arrived.contains(id); }))
                            .arg(before.size()) +
                        syncd.tail()));
    QVERIFY2(waitUntil(playsAnAsset, 30s), player.tail());
    // A few more heartbeats after all that, then "not again" is concluded.
    const std::size_t beats = heartbeatsSince().size();
    QVERIFY2(waitUntil([&] { return heartbeatsSince().size() >= beats + 3; }, 30s), syncd.tail());

    // 4. No command ran twice.
    for (const auto &hb : heartbeatsSince())
        QVERIFY2(hb.value("pending_commands").toArray().isEmpty(), QJsonDocument(hb).toJson().constData());
    QCOMPARE(lineCount(rebootLog), 1);
    QCOMPARE(uploads(), std::size_t(1));
    QVERIFY2(!player.log().contains("command shot-1"), player.tail());
    QVERIFY2(!syncd.log().contains("command shot-1"), syncd.tail());
    QVERIFY2(!syncd.log().contains("command reboot-1: rebooting"), syncd.tail());
    {
        const auto ids = column(data, "SELECT id FROM commands ORDER BY id");
        QCOMPARE(ids, (std::vector<std::string>{"reboot-1", "shot-1"}));
        QVERIFY(column(data, "SELECT id FROM handover").empty());
    }

    // 5. The floor held: saved, in every heartbeat and in the player's
    //    /status (sent_at has whole seconds: the floor's second).
    QVERIFY2(savedFloor(data) >= floorBefore, qPrintable(QString::number(savedFloor(data))));
    const std::int64_t floorSecond = floorBefore / 1000 * 1000;
    for (const auto &hb : heartbeatsSince())
        QVERIFY2(parsedTime(hb.value("sent_at")).toMSecsSinceEpoch() >= floorSecond,
                 QJsonDocument(hb).toJson().constData());
    {
        const QJsonObject s = status();
        QVERIFY2(parsedTime(s.value("sent_at")).toMSecsSinceEpoch() >= floorSecond,
                 QJsonDocument(s).toJson().constData());
    }

    // 6. Control: the next manifest's commands each run once.
    auto v2 = site.publish(media, PublishExtras::version(20).screenshots({"shot-2"}).reboots({"reboot-2"}).itemsLast(1));
    QVERIFY2(v2, v2 ? "" : v2.error().c_str());
    // shot-2 taken and every handed-over screenshot uploaded (a shot-1
    // handed over again would be ahead of it: created earlier, sent first).
    QVERIFY2(waitUntil([&] {
                 return player.log().contains("command shot-2 (screenshot): done") &&
                        column(data, "SELECT id FROM commands WHERE id = 'shot-2'").size() == 1 &&
                        column(data, "SELECT count(*) FROM handover") == std::vector<std::string>{"0"} &&
                        uploads() >= 2 && lineCount(rebootLog) >= 2;
             }, 60s),
             qPrintable(player.tail() + QByteArray("\n") + syncd.tail()));

    QVERIFY2(player.terminate(), player.tail());
    QVERIFY2(syncd.terminate(), syncd.tail());
    QCOMPARE(uploads(), std::size_t(2));
    QCOMPARE(lineCount(rebootLog), 2);
    QVERIFY(savedFloor(data) >= floorBefore);
    qInfo("after the restart: %zu plays arrived (%zu from before the kill), 2 screenshots, 2 reboots", arrived.size(),
          before.size());
}

QTEST_GUILESS_MAIN(StateRebuildPlayer)
#include "tst_state_rebuild_player.moc"
