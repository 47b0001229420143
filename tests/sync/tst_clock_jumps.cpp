// tests/sync/tst_clock_jumps.cpp — the wall clock jumps under both running processes (issue 15, "Clocks").
//
// Spec §7: durations, timeouts and backoff use the monotonic clock only;
// trusted time is max(system clock, floor), the floor never comes down, and
// a system clock behind the floor is not trusted. Proven with the real
// stoa-syncd and stoa-player (offscreen) on one store, served by the
// FaultServer (which logs every request), both started under libfaketime
// (Debian `faketime`) with a timestamp file the test rewrites while they run
// and the monotonic clock left real:
//
//  1. baseline (offset +0): the default playlist "base" plays;
//  2. the wall clock an hour forward (+1h): the player shows the window
//     "ahead" (it starts 30 min after the test began) within seconds, not
//     when its old timer ends; the manifest polls and heartbeats keep their
//     pace: no catch-up burst (at most what the interval allows in the
//     window), no stall (no gap over the interval's jitter plus slack);
//  3. a day backward from there (-23h): the clock is behind the floor, so
//     both processes say clock.trusted = false, source "floor", and schedule
//     by the floor: the window "past" (where the wall clock now reads) never
//     plays; "base" plays again (or "ahead" stays, when the system clock is
//     NTP-synchronised and so raised the floor to +1h in step 2); the polls
//     and heartbeats keep their pace; the persisted floor never comes down,
//     also after both processes stopped (they save it at shutdown).
//
// Without libfaketime the test FAILS (setup.sh installs `faketime`): a
// skipped clock test would let a wall-clock timer back in unseen.
// Waits are conditions with deadlines; pace checks read the server's log of
// arrival times (steady clock), never a timing of the test's own.
#include "agent_harness.h"
#include "daemon.h"
#include "process_probe.h"
#include "raw_http_client.h"
#include "wait_until.h"

#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTest>

#include <sqlite3.h>

#include <cmath>

using namespace stoa;
using namespace stoa::testing;

namespace {

const std::string kManifestPath = "/v1/manifest.json";
const std::string kStatusPath = "/v1/devices/dev-1/status";
constexpr double kIntervalS = 1.0;           // sync_interval_s and status_interval_s of both channels
constexpr double kJitter = 0.1;              // docs/sync.md: ±10 %
constexpr auto kWindow = 8s;                 // the window a pace is measured over
// A cold, loaded 2-core machine may start a poll late; a stall from a
// wall-clock wait is an hour or a day.
constexpr double kGapSlackMs = 2500;

// libfaketime's preload library, wherever the Debian package put it for this
// architecture; empty when it is not installed.
QString libfaketimePath()
{
    QStringList candidates;
    for (const QFileInfo &dir : QDir("/usr/lib").entryInfoList(QDir::Dirs | QDir::NoDotAndDotDot))
        candidates << dir.filePath() + "/faketime/libfaketime.so.1";
    candidates << "/usr/lib/faketime/libfaketime.so.1" << "/usr/local/lib/faketime/libfaketime.so.1";
    for (const QString &c : candidates)
        if (QFileInfo(c).isFile())
            return c;
    return {};
}

// The environment that fakes the wall clock (CLOCK_REALTIME, gettimeofday,
// time) of a process by the offset in `rcFile`, re-read on every clock read,
// and leaves CLOCK_MONOTONIC (steady_clock, QElapsedTimer, QTimer) real.
QProcessEnvironment fakedClockEnv(const QString &lib, const QString &rcFile)
{
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert("LD_PRELOAD", lib);
    env.insert("FAKETIME_TIMESTAMP_FILE", rcFile);
    env.insert("FAKETIME_NO_CACHE", "1");
    env.insert("FAKETIME_DONT_FAKE_MONOTONIC", "1"); // libfaketime >= 0.9.9
    env.insert("DONT_FAKE_MONOTONIC", "1");          // older releases
    env.insert("FAKETIME_DONT_RESET", "1");          // child processes keep the same offset
    env.insert("NO_FAKE_STAT", "1");                 // file times stay the kernel's
    // The sanitizer build: its runtime need not come first once libfaketime is preloaded.
    env.insert("ASAN_OPTIONS", "detect_leaks=0:abort_on_error=1:verify_asan_link_order=0");
    return env;
}

bool writeOffset(const QString &rcFile, const char *offset)
{
    // Written beside and renamed over: a process reading mid-write must not
    // see an empty file (libfaketime would then take it as no offset).
    QFile f(rcFile + ".new");
    const QByteArray line = QByteArray(offset) + "\n";
    return f.open(QIODevice::WriteOnly) && f.write(line) == line.size() && f.flush() &&
           (f.close(), std::rename(qPrintable(rcFile + ".new"), qPrintable(rcFile)) == 0);
}

// kv "time_floor_ms" read straight from the store's database (read-only, so
// the test never writes what the processes share); 0 when not saved yet.
std::int64_t savedFloor(const QString &dataDir)
{
    sqlite3 *db = nullptr;
    std::int64_t v = 0;
    const QByteArray uri = ("file:" + dataDir + "/state.db?mode=ro").toUtf8();
    if (sqlite3_open_v2(uri.constData(), &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, nullptr) == SQLITE_OK) {
        sqlite3_busy_timeout(db, 5000);
        sqlite3_stmt *st = nullptr;
        if (sqlite3_prepare_v2(db, "SELECT CAST(value AS INTEGER) FROM kv WHERE key = 'time_floor_ms'", -1, &st,
                               nullptr) == SQLITE_OK &&
            sqlite3_step(st) == SQLITE_ROW)
            v = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return v;
}

QDateTime parsedTime(const QJsonValue &v) { return QDateTime::fromString(v.toString(), Qt::ISODateWithMs); }

// Requests to `path` (method `method`) arrived in [from, until).
std::vector<RecordedRequest> between(const FaultServer &server, const std::string &method, const std::string &path,
                                     SteadyClock::time_point from, SteadyClock::time_point until)
{
    return only(server.requestsTo(path), [&](const RecordedRequest &r) {
        return r.method == method && r.arrived >= from && r.arrived < until;
    });
}

} // namespace

class ClockJumps : public QObject {
    Q_OBJECT
private slots:
    void wallClockJumpsChangeNothingButTrustedTime();
};

void ClockJumps::wallClockJumpsChangeNothingButTrustedTime()
{
    const QString lib = libfaketimePath();
    if (lib.isEmpty())
        QFAIL("libfaketime.so.1 not found: install the Debian package `faketime` (./setup.sh installs it); "
              "this test proves the processes' waits ignore wall-clock jumps and must not be skipped");

    TestSite site;
    QVERIFY2(site.error().empty(), site.error().c_str());
    const QString work = site.path("");
    const QString data = site.path("data"), rc = site.path("faketime.rc");
    QVERIFY(writeOffset(rc, "+0"));
    const QProcessEnvironment env = fakedClockEnv(lib, rc);

    // The preload must really move the wall clock, or every check below
    // passes for nothing.
    {
        QVERIFY(writeOffset(rc, "+1d"));
        QProcess date;
        date.setProcessEnvironment(env);
        date.start("date", {"+%s"});
        QVERIFY(date.waitForFinished(10000));
        const qint64 faked = date.readAllStandardOutput().trimmed().toLongLong();
        const qint64 offset = faked - QDateTime::currentSecsSinceEpoch();
        QVERIFY2(std::abs(offset - 86400) < 60, qPrintable(QString("date under %1 is %2 s off").arg(lib).arg(offset)));
        QVERIFY(writeOffset(rc, "+0"));
    }

    // The schedule, in UTC. R: now (the real time, the processes' wall clock
    // at offset +0). "ahead": [R+30min, R+3h) on that day only; "past": the
    // same hours a day earlier, so the wall clock at -23h reads inside it.
    const QDateTime r = QDateTime::currentDateTimeUtc();
    const QDateTime from = r.addSecs(30 * 60), until = r.addSecs(3 * 3600);
    const QString hours = from.toString("HH:mm") + "-" + until.toString("HH:mm");
    const QString day = from.date().toString(Qt::ISODate), dayBefore = from.date().addDays(-1).toString(Qt::ISODate);
    QDir().mkpath(site.path("src"));
    QFile ini(site.path("src/schedule.ini"));
    QVERIFY(ini.open(QIODevice::WriteOnly));
    ini.write(QString("timezone = Etc/UTC\ndefault = base\n\n"
                      "[playlist base]\ntext \"base\" 2s\n\n"
                      "[playlist ahead]\ntext \"ahead\" 2s\n\n"
                      "[playlist past]\ntext \"past\" 2s\n\n"
                      "[window ahead]\ntime = %1\ndates = %2..%2\npriority = 10\n\n"
                      "[window past]\ntime = %1\ndates = %3..%3\npriority = 10\n")
                  .arg(hours, day, dayBefore)
                  .toUtf8());
    ini.close();
    publish::PublishOptions po;
    po.source = site.path("src");
    po.site = site.site();
    auto published = publish::publishSite(po, site.key());
    QVERIFY2(published, published ? "" : qPrintable(published.error().message));

    FaultServer server;
    server.setDocumentRoot(site.site().toStdString());
    server.setResponse("POST", kStatusPath, 204);
    server.setResponse("POST", "/v1/devices/dev-1/plays", 204);
    QFile(site.path("empty.conf")).open(QIODevice::WriteOnly);
    const QString interval = QString::number(kIntervalS);
    Daemon syncd(STOA_SYNCD,
                 {"--config", site.path("empty.conf"), "--data-dir", data, "--server",
                  QString::fromStdString(server.baseUrl()), "--trusted-keys", site.rootPub(), "--device-id", "dev-1",
                  "--set", "backoff_base_s=0.2", "--set", "backoff_cap_s=2", "--set", "sync_interval_s=" + interval,
                  "--set", "status_interval_s=" + interval, "--set", "min_free=0"},
                 work + "/syncd.log", env);
    Daemon player(STOA_PLAYER,
                  {"--windowed", "--listen", "127.0.0.1:0", "--config", site.path("empty.conf"), "--data-dir", data,
                   "--device-id", "dev-1", "--no-auto-diagnostics"},
                  work + "/player.log", playerEnvironment(env));

    QVERIFY(syncd.start());
    QVERIFY(waitUntil([&] { return QFileInfo(data + "/state.db").exists(); }, 30s)); // one creates the store
    QVERIFY(player.start());
    std::uint16_t port = 0;
    QVERIFY2(waitUntil([&] { return (port = player.servingPort()) != 0; },
                       60s),
             player.tail());
    auto status = [&] {
        const auto reply = endpoints::testing::get(port, "/status");
        return reply.status == 200 ? QJsonDocument::fromJson(QByteArray::fromStdString(reply.body)).object()
                                   : QJsonObject();
    };
    auto playing = [&] { return status().value("now_playing").toObject().value("playlist").toString(); };
    auto lastHeartbeat = [&] {
        const auto beats = server.requestsTo(kStatusPath);
        return beats.empty() ? QJsonObject()
                             : QJsonDocument::fromJson(QByteArray::fromStdString(beats.back().body)).object();
    };
    // "past" must never be on screen: it is where the untrusted wall clock reads.
    bool sawPast = false;
    auto playingIs = [&](const QString &want, std::chrono::milliseconds timeout) {
        return waitUntil([&] {
            const QString now = playing();
            sawPast = sawPast || now == "past";
            return now == want;
        }, timeout);
    };

    // Pace over [at, at + kWindow): manifest polls and heartbeats at the
    // configured interval, neither a burst nor a gap.
    auto checkPace = [&](SteadyClock::time_point at, const char *phase) -> bool {
        const auto end = at + kWindow;
        if (!waitUntil([&] { return SteadyClock::now() >= end; }, kWindow + 5s))
            return false;
        const double windowS = std::chrono::duration<double>(kWindow).count();
        // Most a channel may send in the window: one per shortest interval,
        // the one at its start, and one for a request logged late (a loaded
        // machine) next to a prompt one. A catch-up burst is hundreds.
        const auto most = std::size_t(std::floor(windowS / (kIntervalS * (1 - kJitter)))) + 2;
        for (const auto &[method, path, name] : {std::tuple{"GET", kManifestPath, "manifest polls"},
                                                 std::tuple{"POST", kStatusPath, "heartbeats"}}) {
            // One before the window too: the first gap spans the jump.
            auto rs = between(server, method, path, at - std::chrono::milliseconds(int(kIntervalS * 1100 + kGapSlackMs)),
                              end);
            const auto inWindow = between(server, method, path, at, end);
            auto gaps = gapsMs(rs);
            if (!rs.empty()) // a stall that began within the window: the silence until its end
                gaps.push_back(ms(end - rs.back().arrived));
            const double longest = gaps.empty() ? 1e9 : *std::max_element(gaps.begin(), gaps.end());
            qInfo("%s: %zu %s in %.0f s (at most %zu), gaps %s", phase, inWindow.size(), name, windowS, most,
                  describe(gaps).c_str());
            if (inWindow.size() > most) {
                qWarning("%s: %s burst: %zu in the window", phase, name, inWindow.size());
                return false;
            }
            if (inWindow.empty() || longest > kIntervalS * 1000 * (1 + kJitter) + kGapSlackMs) {
                qWarning("%s: %s stalled: longest gap %.0f ms", phase, name, longest);
                return false;
            }
        }
        return true;
    };

    // 1. Baseline: adopted, "base" plays, the pace is the configured one.
    QVERIFY2(waitUntil([&] { return status().value("manifest").toObject().value("version").toInteger() ==
                                    published->version; }, 60s),
             player.tail());
    QVERIFY2(playingIs("base", 30s), player.tail());
    QVERIFY2(checkPace(SteadyClock::now(), "baseline"), syncd.tail());
    QVERIFY(savedFloor(data) >= published->issuedAt.toMSecsSinceEpoch() - 1000);

    // 2. An hour forward.
    QVERIFY(writeOffset(rc, "+1h"));
    const auto forward = SteadyClock::now();
    QVERIFY2(playingIs("ahead", 10s), qPrintable(playing() + "\n" + player.tail()));
    QVERIFY2(player.log().contains("(the wall clock was set): the schedule is resolved again"), player.tail());
    const QJsonObject afterForward = status();
    const QString source = afterForward.value("clock").toObject().value("source").toString();
    QVERIFY2(source == "system" || source == "ntp", qPrintable(source));
    QVERIFY(afterForward.value("clock").toObject().value("trusted").toBool());
    QVERIFY2(parsedTime(afterForward.value("sent_at")) > r.addSecs(3500), qPrintable(afterForward.value("sent_at").toString()));
    QVERIFY2(checkPace(forward, "an hour forward"), syncd.tail());
    QVERIFY2(waitUntil([&] { return parsedTime(lastHeartbeat().value("sent_at")) > r.addSecs(3500); }, 10s),
             QJsonDocument(lastHeartbeat()).toJson().constData());
    const bool ntp = source == "ntp"; // then the forward clock raised the floor (spec §7)
    const std::int64_t floorBefore = savedFloor(data);
    QVERIFY(floorBefore > 0);

    // 3. A day backward from there: behind the floor, not trusted.
    QVERIFY(writeOffset(rc, "-23h"));
    const auto backward = SteadyClock::now();
    const QString expected = ntp ? "ahead" : "base";
    QVERIFY2(waitUntil([&] {
                 const QJsonObject s = status();
                 const QJsonObject c = s.value("clock").toObject();
                 sawPast = sawPast || s.value("now_playing").toObject().value("playlist").toString() == "past";
                 return c.value("trusted") == false && c.value("source") == "floor";
             }, 10s),
             QJsonDocument(status()).toJson().constData());
    QVERIFY2(playingIs(expected, 10s), qPrintable(playing() + "\n" + player.tail()));
    QVERIFY2(checkPace(backward, "a day backward"), syncd.tail());
    const QJsonObject afterBackward = status();
    QCOMPARE(afterBackward.value("now_playing").toObject().value("playlist").toString(), expected);
    QVERIFY2(parsedTime(afterBackward.value("sent_at")).toMSecsSinceEpoch() >= floorBefore,
             qPrintable(afterBackward.value("sent_at").toString()));
    QVERIFY2(waitUntil([&] {
                 const QJsonObject b = lastHeartbeat();
                 return b.value("clock").toObject().value("trusted") == false &&
                        b.value("clock").toObject().value("source") == "floor" &&
                        parsedTime(b.value("sent_at")).toMSecsSinceEpoch() >= floorBefore;
             }, 10s),
             QJsonDocument(lastHeartbeat()).toJson().constData());
    QVERIFY(!sawPast);
    QVERIFY2(savedFloor(data) >= floorBefore, qPrintable(QString::number(savedFloor(data))));

    // Both save the floor at shutdown: never below what it was, never the
    // wall clock's day-old reading.
    QVERIFY2(player.terminate(), player.tail());
    QVERIFY2(syncd.terminate(), syncd.tail());
    const std::int64_t floorAfter = savedFloor(data);
    QVERIFY2(floorAfter >= floorBefore, qPrintable(QString("%1 < %2").arg(floorAfter).arg(floorBefore)));
    QVERIFY(floorAfter >= r.toMSecsSinceEpoch());
}

QTEST_GUILESS_MAIN(ClockJumps)
#include "tst_clock_jumps.moc"
