// tests/sync/tst_state_rebuild.cpp — state that outlives its database
// (issue 15), with the real stoa-syncd process and a loopback backend.
//
// The agent adopts a manifest carrying a `reboot` command (its
// reboot_command appends a line to a file: one line per run), the device
// trusts a time floor, plays are recorded (through the store API the
// player's PlayRecorder uses) while the backend refuses them. Then the agent
// is SIGKILLed, state.db is corrupted (bytes overwritten) or deleted, and the
// agent restarts on it:
//  - the reboot does not run again: the command row in the rebuilt database
//    is the restored one, and when the next manifest's command has run the
//    file has exactly two lines;
//  - the time floor is not lowered;
//  - every unsent play reaches the backend once it accepts them.
// Waits are conditions with deadlines (the server log, files, the store).
#include "agent_harness.h"
#include "wait_until.h"

#include <QProcess>
#include <QTest>

using namespace stoa;
using namespace stoa::testing;

namespace {

const std::string kPlays = "/v1/devices/dev-1/plays";
const std::string kStatus = "/v1/devices/dev-1/status";

int lineCount(const QString &file)
{
    QFile f(file);
    if (!f.open(QIODevice::ReadOnly))
        return 0;
    return int(f.readAll().count('\n'));
}

cache::PlayRecord play(int i)
{
    cache::PlayRecord p;
    p.id = "dev-1-play-" + std::to_string(i);
    p.asset = "sha256:" + std::string(64, 'b');
    p.playlist = "main";
    p.startedAt = "2026-11-25T10:00:0" + std::to_string(i % 10) + ".000Z";
    p.durationMs = 5000;
    p.completed = true;
    return p;
}

std::unique_ptr<cache::Store> openStore(const QString &dataDir)
{
    cache::StoreOptions o;
    o.dataDir = dataDir.toStdString();
    o.limits.minFreeBytes = 0;
    auto s = cache::Store::open(o);
    if (!s)
        qFatal("open store: %s", s.error().message.c_str());
    return std::move(*s);
}

} // namespace

class StateRebuild : public QObject {
    Q_OBJECT
private slots:
    void rememberedStateSurvivesARebuild_data()
    {
        QTest::addColumn<bool>("corrupt");
        QTest::newRow("corrupt") << true;
        QTest::newRow("deleted") << false;
    }
    void rememberedStateSurvivesARebuild();
};

void StateRebuild::rememberedStateSurvivesARebuild()
{
    QFETCH(bool, corrupt);
    TestSite site;
    QVERIFY2(site.error().empty(), site.error().c_str());
    const std::vector<Media> media{{"a.png", randomBytes(30000, 1)}};
    QVERIFY(site.publish(media, PublishExtras::version(10).reboots({"cmd-reboot-1"})));
    FaultServer server;
    server.setDocumentRoot(site.site().toStdString());
    server.setResponse("POST", kStatus, 204);
    server.setResponse("POST", kPlays, 503); // nothing acknowledged yet

    const QString data = site.path("data");
    const QString rebootLog = site.path("reboots.log");
    QFile(site.path("empty.conf")).open(QIODevice::WriteOnly);
    const QStringList args{"--config", site.path("empty.conf"), "--data-dir", data,
                           "--server", QString::fromStdString(server.baseUrl()), "--trusted-keys", site.rootPub(),
                           "--device-id", "dev-1", "--set", "backoff_base_s=0.1", "--set", "backoff_cap_s=0.5",
                           "--set", "sync_interval_s=0.3", "--set", "status_interval_s=0.3",
                           "--set", "min_free=0", "--set", "reboot_command=echo reboot >> '" + rebootLog + "'"};
    QProcess agent;
    agent.setProcessChannelMode(QProcess::MergedChannels);
    agent.start(STOA_SYNCD, args);
    QVERIFY(agent.waitForStarted(10000));

    // Runs once; the store holds the id.
    QVERIFY2(waitUntil([&] { return lineCount(rebootLog) == 1; }, 60s), agent.readAll().constData());
    // The device trusts a floor an hour ahead (the player saves it as the
    // agent does); within the manifests' lifetime, so they stay adoptable.
    const std::int64_t floor = QDateTime::currentMSecsSinceEpoch() + 3600LL * 1000;
    {
        auto store = openStore(data);
        QVERIFY(store->kv().raise("time_floor_ms", floor));
        for (int i = 0; i < 7; ++i)
            QVERIFY(store->plays().append(play(i)));
    }
    QVERIFY(server.waitForRequests(kPlays, 1, 30s)); // refused: still unsent
    agent.kill();
    QVERIFY(agent.waitForFinished(10000));

    const std::filesystem::path db = std::filesystem::path(data.toStdString()) / "state.db";
    if (corrupt) {
        QFile f(QString::fromStdString(db.string()));
        QVERIFY(f.open(QIODevice::ReadWrite));
        QVERIFY(f.write(randomBytes(8192, 9)) == 8192); // the header and first pages
        f.close();
        for (const char *s : {"-wal", "-shm"})
            std::filesystem::remove(db.string() + s);
    } else {
        for (const char *s : {"", "-wal", "-shm"})
            std::filesystem::remove(db.string() + s);
    }

    server.clearLog();
    server.setResponse("POST", kPlays, 204);
    agent.start(STOA_SYNCD, args);
    QVERIFY(agent.waitForStarted(10000));

    // Every unsent play arrives (at least once).
    std::set<std::string> arrived;
    const bool allSent = waitUntil([&] {
        for (const auto &r : server.requestsTo(kPlays))
            if (r.status == 204)
                for (int i = 0; i < 7; ++i)
                    if (r.body.find(play(i).id) != std::string::npos)
                        arrived.insert(play(i).id);
        return arrived.size() == 7;
    }, 60s);
    QVERIFY2(allSent, (std::to_string(arrived.size()) + " of 7 plays sent; " + agent.readAll().toStdString()).c_str());

    // The next manifest's command runs; the first one did not run again.
    QVERIFY(site.publish(media, PublishExtras::version(20).reboots({"cmd-reboot-2"})));
    QVERIFY2(waitUntil([&] { return lineCount(rebootLog) >= 2; }, 60s), agent.readAll().constData());
    {
        auto store = openStore(data);
        QVERIFY(*store->commands().wasExecuted("cmd-reboot-1"));
        auto row = store->db().queryText("SELECT result FROM commands WHERE id = 'cmd-reboot-1'");
        QVERIFY(row && *row);
        QVERIFY2((*row)->find("restored") != std::string::npos, (*row)->c_str());
        auto kept = store->kv().getInt("time_floor_ms");
        QVERIFY(kept && *kept);
        QVERIFY2(**kept >= floor, qPrintable(QString::number(**kept) + " < " + QString::number(floor)));
    }
    QCOMPARE(lineCount(rebootLog), 2);
    agent.terminate();
    QVERIFY(agent.waitForFinished(20000));
    QCOMPARE(lineCount(rebootLog), 2);
}

QTEST_GUILESS_MAIN(StateRebuild)
#include "tst_state_rebuild.moc"
