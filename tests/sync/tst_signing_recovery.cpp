// tests/sync/tst_signing_recovery.cpp — a stolen signing key, as an operator lives it.
//
//  - fastForwardRecovery (v1.1 §11), all real processes: `stoa keygen`,
//    `stoa keys`, `stoa publish`; stoa-syncd and stoa-player on one store,
//    served by the FaultServer (which records every heartbeat). A stolen
//    signing key publishes version 2^62 and the device adopts it; the
//    operator's next ordinary manifest is refused (the freeze); a keys
//    document signed by the stolen key that tries to reset the floor is
//    refused with a logged reason naming the key; the root's keys document
//    revokes the key and resets the floor: the attacker's manifest keeps
//    playing, reported `signer_revoked` in the heartbeat and the player's
//    /status; the reset survives a SIGKILL and a deleted state.db; the
//    operator's next ordinary manifest is adopted; and after another
//    rebuilt database the same keys document, adopted again, does not
//    lower the floor a second time (a replayed older manifest is refused).
//  - stagedManifestOfARevokedKeyNeverActivates: the attacker's manifest,
//    staged while its blob cannot be fetched, is dropped when its key is
//    revoked, so the reset is not undone when the blob arrives.
//  - futureIssuedAtMovesTheFloorADayAtMost: a device in service adopts a
//    manifest issued a year ahead; stoa-syncd's saved time floor moves a
//    day at most (none with NTP).
// Waits are conditions with deadlines (the server's log, the processes'
// output, /status answers).
#include "agent_harness.h"
#include "daemon.h"
#include "process_probe.h"
#include "program_run.h"
#include "raw_http_client.h"
#include "test_files.h"
#include "wait_until.h"

#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTest>

using namespace stoa;
using namespace stoa::testing;

namespace {

constexpr std::int64_t kHuge = std::int64_t(1) << 62;
const std::string kStatusPath = "/v1/devices/dev-1/status";

// The real `stoa` command, run to its end in `dir`, its two channels in one
// (tests/harness/program_run.h).
ProgramRun stoaCommand(const QString &dir, const QStringList &args)
{
    return runProgram(STOA_BIN, args, RunOptions().timeout(60000).in(dir).systemEnvironment().merged());
}

// The end of a log, for a failure message (QTest cuts long ones short).
const char *tail(const QByteArray &log)
{
    static QByteArray kept;
    kept = log.right(900);
    return kept.constData();
}

QJsonObject newestHeartbeat(const std::vector<RecordedRequest> &log)
{
    for (auto it = log.rbegin(); it != log.rend(); ++it)
        if (it->method == "POST" && it->path == kStatusPath)
            return QJsonDocument::fromJson(QByteArray::fromStdString(it->body)).object();
    return {};
}

// The §5 "manifest" block of a heartbeat or /status: version and v1.1's signer_revoked.
bool shows(const QJsonObject &o, std::int64_t version, bool revoked)
{
    const QJsonObject m = o.value("manifest").toObject();
    return m.value("version").toInteger() == version && m.value("signer_revoked").isBool() &&
           m.value("signer_revoked").toBool() == revoked;
}

QString lastError(const QJsonObject &heartbeat)
{
    return heartbeat.value("sync").toObject().value("last_error").toString();
}

// A schedule source: one playlist of the given media (stoa never decodes media).
void writeSource(const QString &dir, const QList<QPair<QString, QByteArray>> &media)
{
    QDir().mkpath(dir);
    QByteArray ini = "timezone = Europe/Oslo\ndefault = main\n\n[playlist main]\n";
    for (const auto &[name, bytes] : media) {
        QFile f(dir + "/" + name);
        if (!f.open(QIODevice::WriteOnly) || f.write(bytes) != bytes.size())
            qFatal("cannot write %s", qPrintable(name));
        ini += name.toUtf8() + " 5s\n";
    }
    QFile f(dir + "/schedule.ini");
    if (!f.open(QIODevice::WriteOnly) || f.write(ini) != ini.size())
        qFatal("cannot write schedule.ini");
}

void removeDatabase(const QString &dataDir)
{
    for (const char *f : {"state.db", "state.db-wal", "state.db-shm"})
        QFile::remove(dataDir + "/" + f);
}

} // namespace

class SigningRecovery : public QObject {
    Q_OBJECT
private slots:
    void fastForwardRecovery();
    void stagedManifestOfARevokedKeyNeverActivates();
    void futureIssuedAtMovesTheFloorADayAtMost();
};

void SigningRecovery::fastForwardRecovery()
{
    QTemporaryDir tmp;
    QVERIFY(tmp.isValid());
    const QString work = tmp.path();
    const QString site = work + "/site", data = work + "/data";
    auto stoa = [&](const QStringList &args) {
        const ProgramRun r = stoaCommand(work, args);
        if (r.exitCode != 0)
            qWarning("stoa %s: %s", qPrintable(args.join(' ')), r.describe().constData());
        return r;
    };
    for (const char *name : {"root", "s1", "s2"})
        QCOMPARE(stoa({"keygen", "--out", name}).exitCode, 0);
    const std::string s1Id = schedule::loadPublicKeysPemFile(work + "/s1.pub")->front().keyId();

    // The operator's fleet: root offline, s1 signing, manifest v1.
    QCOMPARE(stoa({"keys", "--root-key", "root.key", "--add", "s1.pub", "--out", site}).exitCode, 0);
    writeSource(work + "/src-op1", {{"lobby.png", randomBytes(3000, 1)}});
    QCOMPARE(stoa({"publish", "--key", "s1.key", "--source", "src-op1", "--out", site}).exitCode, 0);

    FaultServer server;
    server.setDocumentRoot(site.toStdString());
    server.setResponse("POST", kStatusPath, 204);
    server.setResponse("POST", "/v1/devices/dev-1/plays", 204);
    QFile(work + "/empty.conf").open(QIODevice::WriteOnly);
    Daemon syncd(STOA_SYNCD, {"--config", work + "/empty.conf", "--data-dir", data, "--server",
                              QString::fromStdString(server.baseUrl()), "--trusted-keys", work + "/root.pub",
                              "--device-id", "dev-1", "--set", "backoff_base_s=0.1", "--set", "backoff_cap_s=0.5",
                              "--set", "sync_interval_s=0.3", "--set", "status_interval_s=0.3", "--set", "min_free=0"},
                 work + "/syncd.log");
    Daemon player(STOA_PLAYER, {"--windowed", "--listen", "127.0.0.1:0", "--config", work + "/empty.conf", "--data-dir",
                                data, "--device-id", "dev-1", "--no-auto-diagnostics"},
                  work + "/player.log", playerEnvironment());
    auto heartbeat = [&](const std::function<bool(const QJsonObject &)> &pred) {
        return server.waitFor([&](const std::vector<RecordedRequest> &log) { return pred(newestHeartbeat(log)); }, 30s);
    };
    auto lastHeartbeat = [&] { return QJsonDocument(newestHeartbeat(server.requests())).toJson(QJsonDocument::Compact); };
    std::uint16_t playerPort = 0;
    auto startPlayer = [&] {
        return player.start() && player.waitForLog("serving http://", 30s) &&
               (playerPort = player.servingPort()) != 0;
    };
    // The player's GET /status, until `pred` holds for it.
    auto status = [&](const std::function<bool(const QJsonObject &)> &pred) {
        return waitUntil([&] {
            const auto r = endpoints::testing::get(playerPort, "/status");
            return r.status == 200 && pred(QJsonDocument::fromJson(QByteArray::fromStdString(r.body)).object());
        }, 30s);
    };
    auto storeReport = [&] { return stoa({"status", "--data-dir", data}).out; };

    QVERIFY(syncd.start());
    QVERIFY2(startPlayer(), tail(player.log()));
    QVERIFY2(heartbeat([](const QJsonObject &o) { return shows(o, 1, false); }), lastHeartbeat().constData());
    QVERIFY(status([](const QJsonObject &o) { return shows(o, 1, false); }));

    // 1. The stolen key publishes version 2^62 on a compromised server.
    writeSource(work + "/src-evil", {{"evil.png", randomBytes(3000, 666)}});
    QCOMPARE(stoa({"publish", "--key", "s1.key", "--source", "src-evil", "--out", work + "/evil", "--version",
                   QString::number(kHuge)}).exitCode, 0);
    for (const QFileInfo &blob : QDir(work + "/evil/v1/blobs/sha256").entryInfoList(QDir::Files))
        QVERIFY(QFile::copy(blob.filePath(), site + "/v1/blobs/sha256/" + blob.fileName()));
    const int evil = server.addFault(
        Fault::replaceBody(readFile(work + "/evil/v1/manifest.json").toStdString()).onPath("/v1/manifest.json"));
    QVERIFY2(heartbeat([](const QJsonObject &o) { return shows(o, kHuge, false); }), lastHeartbeat().constData());
    QVERIFY(status([](const QJsonObject &o) { return shows(o, kHuge, false); }));

    // 2. The freeze: the server cleaned, the operator's next manifest is refused.
    server.removeFault(evil);
    QCOMPARE(stoa({"publish", "--key", "s1.key", "--source", "src-op1", "--out", site}).exitCode, 0);
    QVERIFY2(heartbeat([](const QJsonObject &o) {
                 return shows(o, kHuge, false) &&
                        lastError(o).contains("version 2 is not newer than adopted " + QString::number(kHuge));
             }), lastHeartbeat().constData());

    // 3. A keys document signed by the stolen key (not by root) that tries
    //    the same reset is refused, and the log says why and by which key.
    QCOMPARE(stoa({"keys", "--root-key", "s1.key", "--replace", "--add", "s2.pub", "--manifest-version-floor", "0",
                   "--out", work + "/forged"}).exitCode, 0);
    const int forged = server.addFault(
        Fault::replaceBody(readFile(work + "/forged/v1/keys.json").toStdString()).onPath("/v1/keys.json"));
    QVERIFY2(syncd.waitForLog("keys.json rejected: keys document is not signed by a root key", 30s), tail(syncd.log()));
    QVERIFY2(syncd.log().contains(QByteArray("it is signed by signing key ") + s1Id.c_str()), tail(syncd.log()));
    QVERIFY2(heartbeat([](const QJsonObject &o) {
                 return shows(o, kHuge, false) && lastError(o).startsWith("keys.json rejected: ");
             }), lastHeartbeat().constData());
    QString report = storeReport();
    QVERIFY2(report.contains(QRegularExpression("rollback floor +" + QString::number(kHuge) + "\n")), qPrintable(report));

    // 4. The root's keys document: s1 revoked, s2 in, floor reset to 2 (the
    //    last version the operator published). The attacker's manifest keeps
    //    playing and is reported as signed by a revoked key.
    server.removeFault(forged);
    const ProgramRun rotated = stoa({"keys", "--root-key", "root.key", "--add", "s2.pub", "--revoke", "s1.pub",
                                  "--manifest-version-floor", "2", "--out", site});
    QCOMPARE(rotated.exitCode, 0);
    QVERIFY2(rotated.out.contains("manifest version floor 2"), tail(rotated.out.toLocal8Bit()));
    QVERIFY2(heartbeat([](const QJsonObject &o) { return shows(o, kHuge, true); }), lastHeartbeat().constData());
    QVERIFY(status([](const QJsonObject &o) { return shows(o, kHuge, true); }));
    QVERIFY2(syncd.log().contains("keys document version 2: manifest version floor 2 (was " +
                                  QByteArray::number(qint64(kHuge)) + ")"), tail(syncd.log()));
    const QString resetFloor = "rollback floor      2 (last reset by keys document version 2)";
    report = storeReport();
    QVERIFY2(report.contains(resetFloor), qPrintable(report));

    // 5. The reset is persistent: SIGKILL and restart, then SIGKILL, delete
    //    state.db (both processes down) and restart.
    syncd.kill();
    server.clearLog();
    QVERIFY(syncd.start());
    QVERIFY2(heartbeat([](const QJsonObject &o) { return shows(o, kHuge, true); }), lastHeartbeat().constData());
    report = storeReport();
    QVERIFY2(report.contains(resetFloor), qPrintable(report));
    syncd.kill();
    player.kill();
    removeDatabase(data);
    server.clearLog();
    QVERIFY(syncd.start());
    QVERIFY2(startPlayer(), tail(player.log()));
    // The keys document outlives state.db (its mirror under state/, issue 15):
    // recovery puts version 2 back, so nothing is adopted again. Whichever
    // process opens the store first recovers it (under ASan the player may).
    const QByteArray putBack = "recovery: keys.envelope put back from state/";
    QVERIFY2(waitUntil([&] { return syncd.log().contains(putBack) || player.log().contains(putBack); }, 30s),
             tail(syncd.log() + player.log()));
    QVERIFY(!syncd.log().contains("adopted keys document version 2"));
    QVERIFY2(heartbeat([](const QJsonObject &o) { return shows(o, kHuge, true); }), lastHeartbeat().constData());
    report = storeReport();
    QVERIFY2(report.contains(resetFloor), qPrintable(report));

    // 6. The operator's next manifest, an ordinary version signed by s2: adopted.
    writeSource(work + "/src-op3", {{"lunch.png", randomBytes(3000, 3)}});
    QCOMPARE(stoa({"publish", "--key", "s2.key", "--source", "src-op3", "--out", site}).exitCode, 0);
    const QByteArray v3 = readFile(site + "/v1/manifest.json");
    QVERIFY2(heartbeat([](const QJsonObject &o) { return shows(o, 3, false) && lastError(o).isEmpty(); }),
             lastHeartbeat().constData());
    QVERIFY(status([](const QJsonObject &o) { return shows(o, 3, false); }));

    // 7. After another rebuild, keys document 2 is adopted again (its copy
    //    went with the database) but resets nothing: v4 stays the floor and
    //    a replay of v3 is refused.
    QCOMPARE(stoa({"publish", "--key", "s2.key", "--source", "src-op1", "--out", site}).exitCode, 0);
    QVERIFY2(heartbeat([](const QJsonObject &o) { return shows(o, 4, false); }), lastHeartbeat().constData());
    syncd.kill();
    player.kill();
    removeDatabase(data);
    server.clearLog();
    server.addFault(Fault::replaceBody(v3.toStdString()).onPath("/v1/manifest.json"));
    QVERIFY(syncd.start());
    QVERIFY2(syncd.waitForLog("recovery: keys.envelope put back from state/", 30s), tail(syncd.log()));
    QVERIFY2(heartbeat([](const QJsonObject &o) {
                 return shows(o, 4, false) && lastError(o).contains("version 3 is not newer than adopted 4");
             }), lastHeartbeat().constData());
    QVERIFY(!syncd.log().contains("manifest version floor 2 (was"));
    QVERIFY(syncd.terminate());
}

void SigningRecovery::stagedManifestOfARevokedKeyNeverActivates()
{
    QTemporaryDir tmp;
    QVERIFY(tmp.isValid());
    const QString work = tmp.path();
    const QString site = work + "/site";
    auto stoa = [&](const QStringList &args) {
        const ProgramRun r = stoaCommand(work, args);
        if (r.exitCode != 0)
            qWarning("stoa %s: %s", qPrintable(args.join(' ')), r.describe().constData());
        return r.exitCode;
    };
    for (const char *name : {"root", "s1", "s2"})
        QCOMPARE(stoa({"keygen", "--out", name}), 0);
    QCOMPARE(stoa({"keys", "--root-key", "root.key", "--add", "s1.pub", "--out", site}), 0);
    writeSource(work + "/src-op", {{"lobby.png", randomBytes(3000, 1)}});
    QCOMPARE(stoa({"publish", "--key", "s1.key", "--source", "src-op", "--out", site}), 0);

    FaultServer server;
    server.setDocumentRoot(site.toStdString());
    AgentRig rig(work + "/data", server.baseUrl(), work + "/root.pub");
    QVERIFY2(rig.error().empty(), rig.error().c_str());
    QVERIFY(rig.stepUntil([&] { return rig.activeVersion() == 1; }, 20s));

    // The attacker's manifest names a blob the device cannot fetch yet.
    const QByteArray evilBytes = randomBytes(3000, 666);
    writeSource(work + "/src-evil", {{"evil.png", evilBytes}});
    QCOMPARE(stoa({"publish", "--key", "s1.key", "--source", "src-evil", "--out", work + "/evil", "--version",
                   QString::number(kHuge)}), 0);
    const std::string evilBlob = blobPath(sha256Hex(evilBytes));
    QVERIFY(QFile::copy(work + "/evil" + QString::fromStdString(evilBlob), site + QString::fromStdString(evilBlob)));
    const int unreachable = server.addFault(Fault::statusCode(503).onPath(evilBlob));
    server.addFault(Fault::replaceBody(readFile(work + "/evil/v1/manifest.json").toStdString()).onPath("/v1/manifest.json"));
    auto neverEvil = [&] { return rig.activeVersion() != kHuge; };
    QVERIFY(rig.stepUntil([&] { return rig.stagedVersion() == kHuge && !server.requestsTo(evilBlob).empty(); }, 20s,
                          neverEvil));

    // The root revokes s1 and resets the floor while the attacker's manifest
    // is still served: the staged one goes, and so it cannot activate when
    // its blob becomes reachable.
    QCOMPARE(stoa({"keys", "--root-key", "root.key", "--add", "s2.pub", "--revoke", "s1.pub",
                   "--manifest-version-floor", "1", "--out", site}), 0);
    QVERIFY2(rig.stepUntil([&] { return rig.stagedVersion() == 0; }, 20s, neverEvil),
             qPrintable(QString("staged %1").arg(rig.stagedVersion())));
    QCOMPARE(*rig.store().manifests().rollbackFloor(), std::int64_t(1));
    QVERIFY(rig.agent().status().activeSignerRevoked); // v1, on screen, is signed by s1 too
    // Reachable now, and still served: it would activate had it stayed staged.
    server.removeFault(unreachable);
    const std::size_t polls = server.requestsTo("/v1/manifest.json").size();
    QVERIFY(rig.stepUntil([&] { return server.requestsTo("/v1/manifest.json").size() >= polls + 3; }, 20s, neverEvil));
    server.clearFaults();
    writeSource(work + "/src-op2", {{"menu.png", randomBytes(3000, 2)}});
    QCOMPARE(stoa({"publish", "--key", "s2.key", "--source", "src-op2", "--out", site}), 0);
    QVERIFY(rig.stepUntil([&] { return rig.activeVersion() == 2; }, 20s, neverEvil));
    QVERIFY(!rig.agent().status().activeSignerRevoked);
}

void SigningRecovery::futureIssuedAtMovesTheFloorADayAtMost()
{
    TestSite site;
    QVERIFY2(site.error().empty(), site.error().c_str());
    auto v1 = site.publish({{"a.png", randomBytes(2000, 5)}});
    QVERIFY2(v1, v1 ? "" : v1.error().c_str());
    FaultServer server;
    server.setDocumentRoot(site.site().toStdString());
    QFile(site.path("empty.conf")).open(QIODevice::WriteOnly);
    Daemon syncd(STOA_SYNCD, {"--config", site.path("empty.conf"), "--data-dir", site.path("data"), "--server",
                              QString::fromStdString(server.baseUrl()), "--trusted-keys", site.rootPub(),
                              "--device-id", "dev-1", "--set", "sync_interval_s=0.3", "--set", "min_free=0"},
                 site.path("syncd.log"));
    // A device in service: it has a floor (v1's issued_at, or NTP time).
    QVERIFY(syncd.start());
    QVERIFY2(syncd.waitForLog("manifest version 1 is active", 30s), tail(syncd.log()));

    // A publisher whose clock is a year ahead.
    const QDateTime yearAhead = QDateTime::currentDateTimeUtc().addDays(365);
    auto v2 = site.publish({{"b.png", randomBytes(2000, 6)}},
                           PublishExtras::version(2).issuedAt(yearAhead, std::int64_t(400) * 86400 * 1000));
    QVERIFY2(v2, v2 ? "" : v2.error().c_str());
    QVERIFY2(syncd.waitForLog("manifest version 2 is active", 30s), tail(syncd.log()));
    QVERIFY(syncd.terminate()); // saves the floor at shutdown
    const std::int64_t stopped = QDateTime::currentMSecsSinceEpoch();

    cache::StoreOptions o;
    o.dataDir = site.path("data").toStdString();
    o.limits.minFreeBytes = 0;
    auto store = cache::Store::open(o);
    QVERIFY(store);
    auto floor = (*store)->kv().getInt("time_floor_ms");
    QVERIFY(floor && *floor);
    const auto lead = std::chrono::milliseconds(**floor - stopped);
    qInfo("saved time floor: %s (%.2f h ahead of the wall clock; the manifest claims %s)",
          qPrintable(QDateTime::fromMSecsSinceEpoch(**floor, Qt::UTC).toString(Qt::ISODate)),
          double(lead.count()) / 3.6e6, qPrintable(yearAhead.toString(Qt::ISODate)));
    // A day ahead without NTP, none with it; never the year.
    QVERIFY2(lead <= std::chrono::hours(24), qPrintable(QString::number(lead.count())));
    QVERIFY2(syncd.log().contains("the time floor moves only to"), tail(syncd.log()));
}

QTEST_GUILESS_MAIN(SigningRecovery)
#include "tst_signing_recovery.moc"
