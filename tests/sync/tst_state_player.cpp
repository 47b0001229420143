// tests/sync/tst_state_player.cpp — the real stoa-player while the agent
// holds a rebuild (issue 15, "State that outlives its database": the player
// must not wait on the agent's database rebuild).
//
// The test makes a store (real SQLite, real blobs, a signed manifest as the
// agent leaves it: tests/player/player_harness.h), closes it, and takes
// <data>/store.lock exclusively (flock LOCK_EX), as stoa-syncd does while it
// recovers or rebuilds state.db. Then it starts the real stoa-player
// (offscreen) and, with the lock still held:
//  - /healthz answers 200 and /status reports the mirrored manifest
//    (version 1) playing one of its assets, within a deadline;
//  - the player says it plays from the mirror, and its plays go to
//    state/plays.spool, not into state.db (the agent's while it rebuilds).
// The lock is released; then:
//  - the player attaches the real store (its log says so);
//  - every play spooled during the fallback, and plays after it, reach
//    state.db (read with SQLite);
//  - SIGTERM: it exits 0 and every play it spooled is in state.db.
// Before commit 0de4183 the player opened its store with a blocking LOCK_SH
// and served nothing until the lock was released: the first check fails.
#include "raw_http_client.h"
#include "process_probe.h"
#include "player_harness.h"
#include "wait_until.h"

#include "cache/database.h"
#include "cache/state_mirror.h"

#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTest>

#include <chrono>
#include <fcntl.h>
#include <set>
#include <sys/file.h>
#include <thread>
#include <unistd.h>

using namespace stoa;
using namespace stoa::player::testing;
using stoa::testing::waitUntil;
using namespace std::chrono_literals;
using endpoints::testing::get;

namespace {

// The play ids in state.db's play log.
std::set<std::string> playsInDatabase(const std::filesystem::path &dataDir)
{
    std::set<std::string> out;
    auto db = cache::Database::open(dataDir / "state.db");
    if (!db)
        return out;
    auto st = db->prepare("SELECT id FROM plays");
    if (st)
        (void)st->each([&](cache::Statement &row) { out.insert(row.columnText(0)); });
    return out;
}

// The play ids in state/plays.spool not acknowledged.
std::set<std::string> playsInSpool(const std::filesystem::path &dataDir)
{
    std::set<std::string> out;
    auto spool = cache::StateMirror(dataDir).readSpool();
    if (spool)
        for (const auto &r : spool->live)
            out.insert(r.id);
    return out;
}

bool contains(const std::set<std::string> &all, const std::set<std::string> &some)
{
    return std::ranges::includes(all, some);
}

} // namespace

class StatePlayerTest : public QObject {
    Q_OBJECT
private slots:
    void playsFromTheMirrorWhileTheRebuildIsHeld();
};

void StatePlayerTest::playsFromTheMirrorWhileTheRebuildIsHeld()
{
    QTemporaryDir work;
    QVERIFY(work.isValid());
    work.setAutoRemove(!qEnvironmentVariableIsSet("STOA_KEEP_WORK")); // the player log, to look at a failure
    const std::filesystem::path data = QDir(work.path()).filePath("data").toStdString();
    std::set<QString> assets;
    {
        cache::StoreOptions so;
        so.dataDir = data;
        auto store = cache::Store::open(so);
        QVERIFY2(store, store ? "" : store.error().message.c_str());
        QDir(work.path()).mkpath("media");
        ContentBuilder content(**store, QDir(work.path()).filePath("media"));
        const Media a = content.solid(Qt::red);
        const Media b = content.solid(Qt::green);
        const Media c = content.solid(Qt::blue);
        assets = {a.name, b.name, c.name};
        content.activate(content.manifest(1, {{"main", playlist({item(a, 700), item(b, 700), item(c, 700)})}}, "main"));
    } // closed: the lock file is free

    // The agent's rebuild, held.
    const std::string lockPath = (data / "store.lock").string();
    int lockFd = ::open(lockPath.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    QVERIFY(lockFd >= 0);
    QCOMPARE(::flock(lockFd, LOCK_EX | LOCK_NB), 0);
    auto release = qScopeGuard([&] {
        if (lockFd >= 0)
            ::close(lockFd);
    });

    QProcess player;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert("QT_QPA_PLATFORM", "offscreen");
    // Under ASan: the player's media stack keeps allocations until exit (as in tests/player).
    env.insert("ASAN_OPTIONS", "detect_leaks=0:abort_on_error=1");
    player.setProcessEnvironment(env);
    player.setProcessChannelMode(QProcess::MergedChannels);
    const QString logFile = QDir(work.path()).filePath("player.log");
    player.setStandardOutputFile(logFile);
    player.start(STOA_PLAYER, {"--windowed", "--listen", "127.0.0.1:0", "--config", "/dev/null", "--data-dir",
                               QString::fromStdString(data.string()), "--device-id", "dev-1", "--no-auto-diagnostics"});
    QVERIFY(player.waitForStarted(10000));
    auto stop = qScopeGuard([&] {
        if (player.state() != QProcess::NotRunning) {
            player.kill();
            player.waitForFinished(10000);
        }
    });
    QByteArray log;
    auto tail = [&] {
        log = readAll(logFile).right(2000);
        return log.constData();
    };

    // 1. Serving and playing the mirrored manifest while the lock is held.
    std::uint16_t port = 0;
    QVERIFY2(waitUntil([&] { return (port = std::uint16_t(endpoints::testing::servingPort(readAll(logFile)))) != 0; },
                       30s),
             tail());
    QVERIFY2(waitUntil([&] { return get(port, "/healthz").status == 200; }, 10s), tail());
    QJsonObject status;
    QVERIFY2(waitUntil([&] {
                 status = QJsonDocument::fromJson(QByteArray::fromStdString(get(port, "/status").body)).object();
                 return status.value("manifest").toObject().value("version").toInt() == 1 &&
                        assets.contains(status.value("now_playing").toObject().value("asset").toString());
             }, 20s),
             qPrintable(QJsonDocument(status).toJson() + tail()));
    QVERIFY2(readAll(logFile).contains("playing from the mirror"), tail());

    // Plays of the fallback: spooled, not in state.db.
    std::set<std::string> fallbackPlays;
    QVERIFY2(waitUntil([&] { return (fallbackPlays = playsInSpool(data)).size() >= 2; }, 20s), tail());
    QVERIFY(playsInDatabase(data).empty());
    QCOMPARE(::flock(lockFd, LOCK_EX | LOCK_NB), 0); // still ours: nothing took it meanwhile

    // 2. The rebuild is done.
    ::close(std::exchange(lockFd, -1));
    QVERIFY2(waitUntil([&] { return readAll(logFile).contains("attached: the agent's recovery is done"); }, 20s),
             tail());
    QVERIFY2(waitUntil([&] { return contains(playsInDatabase(data), fallbackPlays); }, 20s), tail());
    const std::size_t atAttach = playsInDatabase(data).size();
    QVERIFY2(waitUntil([&] { return playsInDatabase(data).size() >= atAttach + 2; }, 20s), tail());
    QCOMPARE(get(port, "/healthz").status, 200);

    // 3. SIGTERM: a clean stop, everything it spooled in state.db.
    player.terminate();
    QVERIFY(player.waitForFinished(30000));
    QVERIFY2(player.exitStatus() == QProcess::NormalExit && player.exitCode() == 0, tail());
    const auto spooled = playsInSpool(data);
    const auto stored = playsInDatabase(data);
    QVERIFY2(contains(stored, spooled),
             qPrintable(QStringLiteral("%1 plays spooled, %2 in state.db").arg(spooled.size()).arg(stored.size())));
    QVERIFY(stored.size() >= atAttach + 2);
    qInfo("%zu plays during the held rebuild, %zu in state.db at the end", fallbackPlays.size(), stored.size());
}

QTEST_MAIN(StatePlayerTest)
#include "tst_state_player.moc"
