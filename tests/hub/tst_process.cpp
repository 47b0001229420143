// The real `stoa-hub` executable as a child process, the way other people's
// harnesses drive it: its command line (hub/cli.h, a contract), and what a
// 2xx promises when the process dies under load — SIGKILL loses no
// acknowledged record, SIGTERM exits 0 having stored every acknowledged
// one — against the backend STOA_HUB_TEST_BACKEND names (backends.h).
//
// Waits are polls against deadlines, never fixed sleeps.
#include "backends.h"
#include "http_client.h"
#include "served_hub.h"
#include "process_probe.h"

#include <QDateTime>
#include <QDeadlineTimer>
#include <QElapsedTimer>
#include <QFile>
#include <QHash>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QRandomGenerator>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QTest>

#include <signal.h>
#include <sys/types.h>

#include <atomic>
#include <cstdio>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <unordered_map>

using namespace stoa::hub;
using namespace stoa::hub::test;

namespace {

constexpr int kCliTimeoutMs = 30000;
constexpr int kLoadTimeoutMs = 30000;     // to reach the acknowledged count
constexpr int kDevices = 20;
constexpr int kClientThreads = 8;
constexpr int kRecordsPerBatch = 8;
constexpr int kKillRounds = 6;            // SIGKILL, restart, load again, SIGKILL, …, restart
constexpr std::int64_t kAckedBeforeKillMin = 2000; // each round kills at a random count in [min, max)
constexpr std::int64_t kAckedBeforeKillMax = 6000;
constexpr std::int64_t kAckedBeforeTerm = 4000;

using CliRun = ProgramRun;

CliRun runCli(const QStringList &args) { return runProgram(kHubBin, args, RunOptions().timeout(kCliTimeoutMs)); }

struct Device {
    std::string id;
    std::string token;
};

// One play record as the load sends it: the same id, the same line.
std::string playLine(const std::string &id)
{
    return R"({"id":")" + id + R"(","asset":"sha256:)" + std::string(64, 'a')
           + R"(","started_at":"2026-12-06T10:00:00Z","duration_ms":8000})" + "\n";
}

std::string heartbeat(const std::string &id, std::int64_t version)
{
    return R"({"device_id":")" + id + R"(","software_version":"0.1.0","sent_at":")"
           + QDateTime::currentDateTimeUtc().toString(Qt::ISODate).toStdString()
           + R"(","uptime_s":5,"manifest":{"version":)" + std::to_string(version) + R"(,"stale":false}})";
}

// What clients saw: per device, the play ids by outcome, and the heartbeat
// counters (manifest.version) sent and acknowledged.
struct Observed {
    std::map<std::string, std::set<std::string>> acked;      // 2xx
    std::map<std::string, std::set<std::string>> refused;    // answered, not 2xx: nothing may be kept
    std::map<std::string, std::set<std::string>> unanswered; // no answer: kept or not
    std::map<std::string, std::int64_t> lastSentVersion;
    std::map<std::string, std::int64_t> lastAckedVersion;
    std::map<long, std::int64_t> answers; // HTTP status (0: none) → requests
    std::map<std::string, std::int64_t> errors; // curl's message → requests without an answer

    void merge(const Observed &o)
    {
        for (const auto &[d, ids] : o.acked)
            acked[d].insert(ids.begin(), ids.end());
        for (const auto &[d, ids] : o.refused)
            refused[d].insert(ids.begin(), ids.end());
        for (const auto &[d, ids] : o.unanswered)
            unanswered[d].insert(ids.begin(), ids.end());
        for (const auto &[d, v] : o.lastSentVersion)
            lastSentVersion[d] = std::max(lastSentVersion[d], v);
        for (const auto &[d, v] : o.lastAckedVersion)
            lastAckedVersion[d] = std::max(lastAckedVersion[d], v);
        for (const auto &[s, n] : o.answers)
            answers[s] += n;
        for (const auto &[e, n] : o.errors)
            errors[e] += n;
    }
    static std::int64_t total(const std::map<std::string, std::set<std::string>> &m)
    {
        std::int64_t n = 0;
        for (const auto &[d, ids] : m)
            n += static_cast<std::int64_t>(ids.size());
        return n;
    }
    QString answersText() const
    {
        QStringList parts;
        for (const auto &[s, n] : answers)
            parts << QStringLiteral("%1: %2").arg(s == 0 ? QStringLiteral("none") : QString::number(s)).arg(n);
        for (const auto &[e, n] : errors)
            parts << QStringLiteral("\"%1\": %2").arg(QString::fromStdString(e)).arg(n);
        return parts.join(", ");
    }
};

// Client threads posting heartbeats and plays batches as fast as the hub
// answers, each with its own keep-alive connection; a device belongs to one
// thread, so its heartbeats are sequential and their counter grows. A thread
// whose request got no answer stops (its hub is gone): what it sent last is
// in flight or after the end, not thousands of refused connections.
// With `killAt`, the thread whose 2xx brings the acknowledged records to
// that count sends SIGKILL to `pid` the moment it reads that answer, while
// the other threads' requests are in flight: a hub that answered before its
// commit was durable loses that very batch.
class Load {
public:
    Load(std::string base, const std::vector<Device> &devices, std::string tag, const Observed &before,
         std::int64_t killAt = 0, qint64 pid = 0)
        : base_(std::move(base)), devices_(devices), tag_(std::move(tag)), before_(before), killAt_(killAt),
          pid_(static_cast<pid_t>(pid))
    {
        for (int t = 0; t < kClientThreads; ++t)
            threads_.emplace_back([this, t] { run(t); });
    }
    ~Load() { stop(); }
    Load(const Load &) = delete;
    Load &operator=(const Load &) = delete;

    std::int64_t ackedRecords() const { return acked_.load(); }
    int inFlight() const { return inFlight_.load(); }
    bool killed() const { return killed_.load(); }
    int inFlightAtKill() const { return inFlightAtKill_.load(); }
    std::int64_t ackedAtKill() const { return ackedAtKill_.load(); }

    // Tells the threads to stop after the request they are in.
    void requestStop() { stop_ = true; }
    // Stops and joins the threads; what they saw.
    const Observed &stop()
    {
        stop_ = true;
        for (auto &t : threads_)
            if (t.joinable())
                t.join();
        return seen_;
    }

private:
    void run(int thread)
    {
        HttpClient client(base_);
        Observed local;
        std::vector<const Device *> mine;
        for (std::size_t i = 0; i < devices_.size(); ++i)
            if (static_cast<int>(i % kClientThreads) == thread)
                mine.push_back(&devices_[i]);
        std::map<std::string, std::int64_t> version;
        for (const auto *d : mine) {
            const auto it = before_.lastSentVersion.find(d->id);
            version[d->id] = it == before_.lastSentVersion.end() ? 0 : it->second;
        }
        const std::string prefix = tag_ + "-t" + std::to_string(thread) + "-";
        std::uint64_t seq = 0;
        auto post = [&](const std::string &path, const std::string &body, const char *type) {
            ++inFlight_;
            auto r = client.post(path, body, type);
            --inFlight_;
            ++local.answers[r.status];
            if (r.status == 0)
                ++local.errors[r.error];
            return r;
        };
        for (std::size_t k = 0; !stop_.load(); ++k) {
            const Device &d = *mine[k % mine.size()];
            client.setToken(d.token);

            const std::int64_t v = ++version[d.id];
            local.lastSentVersion[d.id] = v;
            const auto hb = post("/v1/devices/" + d.id + "/status", heartbeat(d.id, v), "application/json");
            if (hb.status == 204)
                local.lastAckedVersion[d.id] = v;
            if (hb.status == 0 || stop_.load())
                break;

            std::string body;
            std::vector<std::string> ids;
            for (int i = 0; i < kRecordsPerBatch; ++i) {
                ids.push_back(prefix + std::to_string(seq++));
                body += playLine(ids.back());
            }
            const auto pl = post("/v1/devices/" + d.id + "/plays", body, "application/x-ndjson");
            auto &into = pl.status >= 200 && pl.status < 300 ? local.acked[d.id]
                         : pl.status != 0                     ? local.refused[d.id]
                                                              : local.unanswered[d.id];
            into.insert(ids.begin(), ids.end());
            if (pl.status >= 200 && pl.status < 300) {
                const auto total = acked_ += static_cast<std::int64_t>(ids.size());
                if (killAt_ > 0 && total >= killAt_ && !killed_.exchange(true)) {
                    inFlightAtKill_ = inFlight_.load();
                    ackedAtKill_ = total;
                    ::kill(pid_, SIGKILL);
                }
            }
            if (pl.status == 0)
                break;
        }
        std::lock_guard lock(mutex_);
        seen_.merge(local);
    }

    const std::string base_;
    const std::vector<Device> devices_;
    const std::string tag_;
    const Observed before_;
    const std::int64_t killAt_;
    const pid_t pid_;
    std::atomic<bool> stop_{false};
    std::atomic<bool> killed_{false};
    std::atomic<int> inFlightAtKill_{0};
    std::atomic<std::int64_t> ackedAtKill_{0};
    std::atomic<std::int64_t> acked_{0};
    std::atomic<int> inFlight_{0};
    std::mutex mutex_; // guards seen_
    Observed seen_;
    std::vector<std::thread> threads_;
};

const std::set<std::string> &idsOf(const std::map<std::string, std::set<std::string>> &byDevice, const std::string &id)
{
    static const std::set<std::string> none;
    const auto it = byDevice.find(id);
    return it == byDevice.end() ? none : it->second;
}

QJsonArray jsonArray(const HttpResult &r) { return QJsonDocument::fromJson(QByteArray::fromStdString(r.body)).array(); }

} // namespace

class ProcessTest : public QObject {
    Q_OBJECT
    Backends backends;

    // An admin operator through the CLI, before the hub serves.
    std::string addAdmin(const QString &dataDir, const std::string &database)
    {
        const auto r = runCli(withDatabase({"operator", "add", "ada", "--role", "admin"}, dataDir, database));
        if (r.exitCode != 0)
            qWarning("operator add: %s", r.describe().constData());
        return r.exitCode == 0 ? r.lastLine().toStdString() : std::string();
    }

    // kDevices devices through the admin API; empty on failure.
    static std::vector<Device> enrol(const std::string &base, const std::string &admin)
    {
        HttpClient op(base);
        op.setToken(admin);
        std::vector<Device> devices;
        for (int i = 0; i < kDevices; ++i) {
            const std::string id = "pi-" + std::to_string(i);
            const auto r = op.post("/api/v1/devices", R"({"id":")" + id + R"("})");
            const auto token = QJsonDocument::fromJson(QByteArray::fromStdString(r.body)).object().value("token").toString();
            if (r.status != 201 || token.isEmpty()) {
                qWarning("enrolling %s: %ld %s", id.c_str(), r.status, r.body.c_str());
                return {};
            }
            devices.push_back({id, token.toStdString()});
        }
        return devices;
    }

    // Waits until the load has `count` acknowledged records (or the hub
    // died, or the deadline passed); whether it got there.
    static bool awaitAcked(ServedHub &hub, const Load &load, std::int64_t count)
    {
        const QDeadlineTimer deadline(kLoadTimeoutMs);
        while (load.ackedRecords() < count && hub.running() && !deadline.hasExpired())
            hub.process().waitForFinished(2); // the poll's pace; returns at once if the hub exits
        return load.ackedRecords() >= count;
    }

    // Through the operator API of a hub restarted on the same data: every
    // acknowledged play id is stored, none twice, none that was refused,
    // none never sent; each device's `plays` count is its stored rows; its
    // latest heartbeat is at least the last acknowledged one.
    static void verifyStored(const std::string &base, const std::string &admin, const std::vector<Device> &devices,
                             const Observed &seen, const char *what, std::int64_t *storedUnacknowledged = nullptr)
    {
        HttpClient op(base);
        op.setToken(admin);
        const auto listed = op.get("/api/v1/devices");
        QCOMPARE(listed.status, 200L);
        QHash<QString, QJsonObject> summary;
        for (const auto &v : jsonArray(listed))
            summary.insert(v.toObject().value("id").toString(), v.toObject());
        QCOMPARE(summary.size(), static_cast<qsizetype>(devices.size()));

        std::int64_t stored = 0, storedUnacked = 0;
        QStringList missing, twice, refusedButStored, neverSent, countWrong, heartbeatWrong;
        for (const auto &d : devices) {
            const QString id = QString::fromStdString(d.id);
            const auto r = op.get("/api/v1/devices/" + d.id + "/plays?limit=100000");
            QVERIFY2(r.status == 200, r.body.c_str());
            const auto plays = jsonArray(r);
            QVERIFY(plays.size() < 100000); // the listing is whole
            std::unordered_map<std::string, int> times;
            for (const auto &p : plays)
                ++times[p.toObject().value("id").toString().toStdString()];
            stored += plays.size();
            const auto &acked = idsOf(seen.acked, d.id);
            const auto &refused = idsOf(seen.refused, d.id);
            const auto &unanswered = idsOf(seen.unanswered, d.id);
            for (const auto &p : acked)
                if (!times.contains(p))
                    missing << id + "/" + QString::fromStdString(p);
            for (const auto &[play, n] : times) {
                const QString name = id + "/" + QString::fromStdString(play);
                if (n > 1)
                    twice << QStringLiteral("%1 (%2 times)").arg(name).arg(n);
                if (refused.count(play))
                    refusedButStored << name;
                else if (unanswered.count(play))
                    ++storedUnacked;
                else if (!acked.count(play))
                    neverSent << name;
            }
            const auto s = summary.value(id);
            if (s.value("plays").toInteger(-1) != plays.size())
                countWrong << QStringLiteral("%1: plays %2, %3 rows").arg(id).arg(s.value("plays").toInteger(-1)).arg(plays.size());
            if (const auto last = seen.lastAckedVersion.find(d.id); last != seen.lastAckedVersion.end()) {
                const auto version = s.value("manifest_version").toInteger(-1);
                const auto sent = seen.lastSentVersion.at(d.id);
                if (version < last->second || version > sent || s.value("last_seen_at").isNull()
                    || s.value("state").toString() != "online" || !s.value("last_screenshot_at").isNull())
                    heartbeatWrong << QStringLiteral("%1: manifest_version %2, last acknowledged %3, last sent %4, %5")
                                          .arg(id).arg(version).arg(last->second).arg(sent)
                                          .arg(QString::fromUtf8(QJsonDocument(s).toJson(QJsonDocument::Compact)));
            }
        }
        if (storedUnacknowledged)
            *storedUnacknowledged = storedUnacked;
        qInfo("%s: acknowledged %lld, stored %lld, unacknowledged-but-stored %lld (of %lld unanswered), "
              "refused %lld; requests: %s",
              what, static_cast<long long>(Observed::total(seen.acked)), static_cast<long long>(stored),
              static_cast<long long>(storedUnacked), static_cast<long long>(Observed::total(seen.unanswered)),
              static_cast<long long>(Observed::total(seen.refused)), qPrintable(seen.answersText()));
        auto first = [](const char *problem, const QStringList &l) {
            return QStringLiteral("%1 %2: %3").arg(l.size()).arg(QLatin1String(problem), l.mid(0, 10).join(", "));
        };
        QVERIFY2(missing.isEmpty(), qPrintable(first("acknowledged play(s) lost", missing)));
        QVERIFY2(twice.isEmpty(), qPrintable(first("play(s) stored twice", twice)));
        QVERIFY2(refusedButStored.isEmpty(), qPrintable(first("play(s) answered non-2xx yet stored", refusedButStored)));
        QVERIFY2(neverSent.isEmpty(), qPrintable(first("play(s) stored that were never sent", neverSent)));
        QVERIFY2(countWrong.isEmpty(), qPrintable(first("device(s) whose plays count is not their rows", countWrong)));
        QVERIFY2(heartbeatWrong.isEmpty(), qPrintable(first("device(s) whose latest heartbeat is not the last acknowledged or later", heartbeatWrong)));
        QCOMPARE(stored, Observed::total(seen.acked) + storedUnacked);
    }

    // As a device does (it sends at least once): every record that got no
    // 2xx again, and each device's first acknowledged batch again; all are
    // acknowledged now, the ones already stored ignored.
    static void resend(const std::string &base, const std::vector<Device> &devices, Observed &seen)
    {
        HttpClient client(base);
        std::int64_t requests = 0, records = 0;
        for (const auto &d : devices) {
            client.setToken(d.token);
            std::vector<std::string> ids(seen.unanswered[d.id].begin(), seen.unanswered[d.id].end());
            ids.insert(ids.end(), seen.refused[d.id].begin(), seen.refused[d.id].end());
            const auto &acked = seen.acked[d.id];
            for (auto it = acked.begin(); it != acked.end() && std::distance(acked.begin(), it) < kRecordsPerBatch; ++it)
                ids.push_back(*it);
            for (std::size_t i = 0; i < ids.size(); i += kRecordsPerBatch) {
                std::string body;
                for (std::size_t j = i; j < std::min(ids.size(), i + kRecordsPerBatch); ++j)
                    body += playLine(ids[j]);
                const auto r = client.post("/v1/devices/" + d.id + "/plays", body, "application/x-ndjson");
                QVERIFY2(r.status == 204, qPrintable(QStringLiteral("sending again: %1 %2 %3")
                                                         .arg(r.status).arg(r.body.c_str(), r.error.c_str())));
                ++requests;
            }
            records += static_cast<std::int64_t>(ids.size());
            seen.acked[d.id].insert(ids.begin(), ids.end());
            seen.unanswered[d.id].clear();
            seen.refused[d.id].clear();
        }
        qInfo("sent %lld records again in %lld requests", static_cast<long long>(records), static_cast<long long>(requests));
    }

private slots:
    void initTestCase()
    {
        QVERIFY2(QFile::exists(kHubBin), qPrintable("no stoa-hub at " + kHubBin));
        curl_global_init(CURL_GLOBAL_ALL); // before any client thread
        if (auto why = backends.init())
            QFAIL(why->c_str()); // CI installs the server: its absence is a failure, not a skip
        qInfo("backend: %s", Backends::postgres() ? "postgres" : "sqlite");
    }

    void cleanupTestCase() { curl_global_cleanup(); }

    void cliContract()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString data = dir.path();
        const std::string db = backends.freshUrl();
        static const QRegularExpression deviceToken(QStringLiteral("^stoa_dev_[A-Za-z0-9_-]{43}$"));
        static const QRegularExpression operatorToken(QStringLiteral("^stoa_op_[A-Za-z0-9_-]{43}$"));

        // Help and usage errors need no data directory.
        const auto help = runCli({"--help"});
        QVERIFY2(help.exitCode == 0, help.describe());
        QVERIFY2(help.out.contains("stoa-hub serve --data-dir"), help.describe());
        const auto unknown = runCli({"frobnicate"});
        QVERIFY2(unknown.exitCode == 2, unknown.describe());
        QVERIFY2(unknown.err.contains("frobnicate"), unknown.describe());
        const auto none = runCli({});
        QVERIFY2(none.exitCode == 2, none.describe());

        const auto admin = runCli(withDatabase({"operator", "add", "ada", "--role", "admin"}, data, db));
        QVERIFY2(admin.exitCode == 0, admin.describe());
        QVERIFY2(operatorToken.match(admin.lastLine()).hasMatch(), admin.describe());
        const auto viewer = runCli(withDatabase({"operator", "add", "vic", "--role", "viewer"}, data, db));
        QVERIFY2(viewer.exitCode == 0, viewer.describe());
        QVERIFY2(operatorToken.match(viewer.lastLine()).hasMatch(), viewer.describe());
        QVERIFY(viewer.lastLine() != admin.lastLine());
        const auto badRole = runCli(withDatabase({"operator", "add", "bob", "--role", "root"}, data, db));
        QVERIFY2(badRole.exitCode == 2, badRole.describe());
        QVERIFY2(!badRole.err.isEmpty() && !badRole.out.contains("stoa_op_"), badRole.describe());
        const auto sameOperator = runCli(withDatabase({"operator", "add", "ada", "--role", "viewer"}, data, db));
        QVERIFY2(sameOperator.exitCode == 1, sameOperator.describe());

        const auto added = runCli(withDatabase({"device", "add", "pi-1"}, data, db));
        QVERIFY2(added.exitCode == 0, added.describe());
        QVERIFY2(deviceToken.match(added.lastLine()).hasMatch(), added.describe());
        const std::string token = added.lastLine().toStdString();
        const auto again = runCli(withDatabase({"device", "add", "pi-1"}, data, db));
        QVERIFY2(again.exitCode == 1, again.describe());
        QVERIFY2(!again.err.trimmed().isEmpty(), again.describe());
        QVERIFY2(!again.out.contains("stoa_dev_"), again.describe());
        const auto badId = runCli(withDatabase({"device", "add", "bad id!"}, data, db));
        QVERIFY2(badId.exitCode == 2, badId.describe());
        QVERIFY2(!badId.err.isEmpty(), badId.describe());
        const auto tooLong = runCli(withDatabase({"device", "add", QString(65, 'a')}, data, db));
        QVERIFY2(tooLong.exitCode == 2, tooLong.describe());
        const auto noDir = runCli({"device", "add", "pi-2"});
        QVERIFY2(noDir.exitCode == 2, noDir.describe());
        const auto revokeNobody = runCli(withDatabase({"device", "revoke", "pi-9"}, data, db));
        QVERIFY2(revokeNobody.exitCode == 1, revokeNobody.describe());
        const auto badListen = runCli(withDatabase({"serve", "--listen", "127.0.0.1"}, data, db));
        QVERIFY2(badListen.exitCode == 2, badListen.describe());

        ServedHub hub(data, db, dir.filePath("hub.log"));
        const auto started = hub.start();
        QVERIFY2(started.isEmpty(), qPrintable(started));

        HttpClient dev(hub.base());
        dev.setToken(token);
        const auto posted = dev.post("/v1/devices/pi-1/status", heartbeat("pi-1", 7));
        QVERIFY2(posted.status == 204, posted.body.c_str());

        HttpClient op(hub.base());
        op.setToken(viewer.lastLine().toStdString());
        const auto listed = op.get("/api/v1/devices");
        QCOMPARE(listed.status, 200L);
        const auto devices = jsonArray(listed);
        QCOMPARE(devices.size(), 1);
        const auto pi1 = devices.first().toObject();
        QCOMPARE(pi1.value("id").toString(), QString("pi-1"));
        QCOMPARE(pi1.value("state").toString(), QString("online"));
        QCOMPARE(pi1.value("manifest_version").toInt(), 7);
        QCOMPARE(pi1.value("plays").toInt(-1), 0);
        QVERIFY(pi1.value("last_screenshot_at").isNull());
        const auto seenAt = QDateTime::fromString(pi1.value("last_seen_at").toString(), Qt::ISODate);
        QVERIFY2(seenAt.isValid(), qPrintable(pi1.value("last_seen_at").toString()));
        QVERIFY(qAbs(seenAt.secsTo(QDateTime::currentDateTimeUtc())) < 60);

        // Added while the hub serves: known at once.
        const auto second = runCli(withDatabase({"device", "add", "pi-2"}, data, db));
        QVERIFY2(second.exitCode == 0, second.describe());
        HttpClient dev2(hub.base());
        dev2.setToken(second.lastLine().toStdString());
        QCOMPARE(dev2.post("/v1/devices/pi-2/status", heartbeat("pi-2", 1)).status, 204L);
        QCOMPARE(jsonArray(op.get("/api/v1/devices")).size(), 2);
        // A device token is no operator token, nor the reverse.
        QCOMPARE(HttpClient(hub.base()).get("/api/v1/devices").status, 401L);
        dev.setToken(viewer.lastLine().toStdString());
        QCOMPARE(dev.post("/v1/devices/pi-1/status", heartbeat("pi-1", 8)).status, 401L);
        dev.setToken(token);

        // Revoked by another process while the hub serves: refused within
        // the hub's token refresh (1 s, device_tokens.h), and then for good.
        const auto revoked = runCli(withDatabase({"device", "revoke", "pi-1"}, data, db));
        QVERIFY2(revoked.exitCode == 0, revoked.describe());
        QElapsedTimer sinceRevoke;
        sinceRevoke.start();
        long refusedStatus = 0;
        // (Polled with a GET that changes nothing.)
        while ((refusedStatus = dev.get("/v1/devices/pi-1/manifest.json").status) != 401 && sinceRevoke.elapsed() < 10000)
            QVERIFY2(refusedStatus != 403, "a revoked device must get 401");
        QCOMPARE(refusedStatus, 401L);
        qInfo("revocation by another process took effect after %lld ms", static_cast<long long>(sinceRevoke.elapsed()));
        const auto refused = dev.post("/v1/devices/pi-1/status", heartbeat("pi-1", 9));
        QVERIFY2(refused.status == 401, refused.body.c_str());
        QCOMPARE(dev2.post("/v1/devices/pi-2/status", heartbeat("pi-2", 2)).status, 204L);
        const auto after = jsonArray(op.get("/api/v1/devices"));
        for (const auto &v : after)
            if (v.toObject().value("id").toString() == "pi-1")
                QCOMPARE(v.toObject().value("manifest_version").toInt(), 7);
    }

    // The subcommands over a running hub's API, as a script uses them.
    void apiSubcommands()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const std::string db = backends.freshUrl();
        const std::string admin = addAdmin(dir.path(), db);
        QVERIFY(!admin.empty());
        QTemporaryDir logs;
        ServedHub hub(dir.path(), db, logs.filePath("hub.log"));
        const auto started = hub.start();
        QVERIFY2(started.isEmpty(), qPrintable(started));
        const QString tokenFile = logs.filePath("token");
        {
            QFile f(tokenFile);
            QVERIFY(f.open(QIODevice::WriteOnly));
            f.write(QByteArray::fromStdString(admin + "\n"));
        }
        const QString url = QString::fromStdString(hub.base());
        auto api = [&](QStringList args) {
            args << "--hub" << url << "--token-file" << tokenFile;
            return runCli(args);
        };
        QCOMPARE(runCli(withDatabase({"device", "add", "pi-1"}, dir.path(), db)).exitCode, 0);

        const auto devices = api({"devices"});
        QVERIFY2(devices.exitCode == 0, devices.describe());
        const auto list = QJsonDocument::fromJson(devices.out.toUtf8()).array();
        QCOMPARE(list.size(), 1);
        QCOMPARE(list[0].toObject().value("id").toString(), QString("pi-1"));
        QCOMPARE(QJsonDocument::fromJson(api({"devices", "--state", "online"}).out.toUtf8()).array().size(), 0);

        const QString media = logs.filePath("logo.png");
        {
            QFile f(media);
            QVERIFY(f.open(QIODevice::WriteOnly));
            f.write("\x89PNG\r\n\x1a\nnot really");
        }
        const auto put = api({"media", "put", media});
        QVERIFY2(put.exitCode == 0, put.describe());
        QVERIFY2(put.out.contains("\"name\":\"logo.png\""), put.describe());
        const QString schedule = logs.filePath("fleet.ini");
        {
            QFile f(schedule);
            QVERIFY(f.open(QIODevice::WriteOnly));
            f.write("timezone = UTC\ndefault = main\n\n[playlist main]\nlogo.png 8s\n");
        }
        const auto published = api({"schedule", "put", "fleet", schedule});
        QVERIFY2(published.exitCode == 0, published.describe());
        QVERIFY2(published.out.contains("\"version\""), published.describe());
        QVERIFY2(api({"schedule", "get", "fleet"}).out.contains("logo.png 8s"), "schedule get");
        const auto command = api({"command", "pi-1", "screenshot"});
        QVERIFY2(command.exitCode == 0, command.describe());
        const auto who = api({"call", "GET", "/api/v1/whoami"});
        QVERIFY2(who.exitCode == 0 && who.out.contains("\"admin\""), who.describe());

        // Refusals exit 1 with the hub's message; an unknown type is one.
        const auto refused = api({"command", "pi-1", "format_disk"});
        QVERIFY2(refused.exitCode == 1 && refused.err.contains("HTTP 400"), refused.describe());
        // A wrong token: 1 (HTTP 401); no hub at all: 3; no token: 2.
        {
            QFile f(tokenFile);
            QVERIFY(f.open(QIODevice::WriteOnly));
            f.write("stoa_op_wrong");
        }
        const auto wrong = api({"devices"});
        QVERIFY2(wrong.exitCode == 1 && wrong.err.contains("401"), wrong.describe());
        const auto nowhere = runCli({"devices", "--hub", "http://127.0.0.1:1", "--token-file", tokenFile});
        QVERIFY2(nowhere.exitCode == 3, nowhere.describe());
        const auto noToken = runCli({"devices", "--hub", url});
        QVERIFY2(noToken.exitCode == 2, noToken.describe());
    }

    void sigkillLosesNoAcknowledgedRecord()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const std::string db = backends.freshUrl();
        const std::string admin = addAdmin(dir.path(), db);
        QVERIFY(!admin.empty());
        const QString log = dir.filePath("hub.log");

        std::vector<Device> devices;
        Observed seen;
        for (int round = 0; round < kKillRounds; ++round) {
            ServedHub hub(dir.path(), db, log);
            const auto started = hub.start();
            QVERIFY2(started.isEmpty(), qPrintable(started));
            if (devices.empty()) {
                devices = enrol(hub.base(), admin);
                QCOMPARE(static_cast<int>(devices.size()), kDevices);
            }
            const auto target = kAckedBeforeKillMin
                                + QRandomGenerator::global()->bounded(static_cast<qint64>(kAckedBeforeKillMax - kAckedBeforeKillMin));
            QElapsedTimer clock;
            clock.start();
            Load load(hub.base(), devices, "k" + std::to_string(round), seen, target, hub.pid());
            // A client thread kills the hub once `target` records are acknowledged.
            const bool died = hub.process().waitForFinished(kLoadTimeoutMs);
            const auto elapsed = clock.elapsed();
            load.requestStop();
            if (!died) {
                hub.process().kill();
                hub.process().waitForFinished(kStopTimeoutMs);
            }
            const auto &roundSeen = load.stop();
            seen.merge(roundSeen);
            qInfo("round %d: SIGKILL after %lld ms at %lld records acknowledged (target %lld), %d other request(s) "
                  "in flight; this round's requests: %s",
                  round + 1, static_cast<long long>(elapsed), static_cast<long long>(load.ackedAtKill()),
                  static_cast<long long>(target), load.inFlightAtKill(), qPrintable(roundSeen.answersText()));
            QVERIFY2(died && load.killed(),
                     qPrintable(QStringLiteral("%1 records acknowledged by the deadline (target %2); the hub %3:\n%4")
                                    .arg(load.ackedRecords())
                                    .arg(target)
                                    .arg(died ? "exited by itself" : "was still running")
                                    .arg(hub.outputTail())));
            QCOMPARE(hub.process().exitStatus(), QProcess::CrashExit);
        }

        ServedHub hub(dir.path(), db, log);
        const auto started = hub.start();
        QVERIFY2(started.isEmpty(), qPrintable(started));
        verifyStored(hub.base(), admin, devices, seen, "after SIGKILL");
        if (QTest::currentTestFailed())
            return;
        resend(hub.base(), devices, seen);
        if (QTest::currentTestFailed())
            return;
        verifyStored(hub.base(), admin, devices, seen, "after SIGKILL, everything unacknowledged sent again");
    }

    // Under systemd (Type=notify, WatchdogSec=): READY=1 once serving, the
    // watchdog fed while the hub answers HTTP, STOPPING=1 on SIGTERM.
    void notifiesSystemd()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        stoa::endpoints::testing::NotifySocket notify(dir.filePath("notify.sock"));
        ServedHub hub(dir.path(), backends.freshUrl(), dir.filePath("hub.log"));
        hub.addEnvironment("NOTIFY_SOCKET", dir.filePath("notify.sock"));
        hub.addEnvironment("WATCHDOG_USEC", "1000000"); // fed every 0.5 s
        const auto started = hub.start();
        QVERIFY2(started.isEmpty(), qPrintable(started));
        QTRY_COMPARE_WITH_TIMEOUT(notify.count("READY=1"), 1, 10000);
        QVERIFY(notify.anyStartsWith("STATUS=serving 127.0.0.1:"));
        QTRY_VERIFY_WITH_TIMEOUT(notify.count("WATCHDOG=1") >= 3, 15000);
        hub.process().terminate();
        QVERIFY(hub.process().waitForFinished(kStopTimeoutMs));
        QCOMPARE(hub.process().exitCode(), 0);
        QTRY_COMPARE_WITH_TIMEOUT(notify.count("STOPPING=1"), 1, 5000);
    }

    void sigtermStoresEveryAcknowledgedRecord()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const std::string db = backends.freshUrl();
        const std::string admin = addAdmin(dir.path(), db);
        QVERIFY(!admin.empty());
        const QString log = dir.filePath("hub.log");

        std::vector<Device> devices;
        Observed seen;
        {
            ServedHub hub(dir.path(), db, log);
            const auto started = hub.start();
            QVERIFY2(started.isEmpty(), qPrintable(started));
            devices = enrol(hub.base(), admin);
            QCOMPARE(static_cast<int>(devices.size()), kDevices);
            Load load(hub.base(), devices, "t", seen);
            const bool reached = awaitAcked(hub, load, kAckedBeforeTerm);
            const int inFlight = load.inFlight();
            const auto acked = load.ackedRecords();
            QElapsedTimer clock;
            clock.start();
            hub.process().terminate(); // SIGTERM
            const bool exited = hub.process().waitForFinished(kStopTimeoutMs);
            const auto took = clock.elapsed();
            seen.merge(load.stop());
            qInfo("SIGTERM with %lld records acknowledged, %d request(s) in flight: exited after %lld ms; requests: %s",
                  static_cast<long long>(acked), inFlight, static_cast<long long>(took), qPrintable(seen.answersText()));
            QVERIFY2(reached, qPrintable(QStringLiteral("only %1 records acknowledged before the deadline; the hub:\n%2")
                                             .arg(acked).arg(hub.outputTail())));
            const bool clean = hub.process().exitStatus() == QProcess::NormalExit && hub.process().exitCode() == 0;
            if (!exited || !clean) // QtTest cuts a failure message at 1 KiB: the hub's last words, whole
                std::fprintf(stderr, "--- the hub's output (last 60 lines) ---\n%s\n---\n", qPrintable(hub.outputTail(60)));
            QVERIFY2(exited, qPrintable("still running after SIGTERM:\n" + hub.outputTail()));
            QVERIFY2(clean,
                     qPrintable(QStringLiteral("exit status %1, code %2:\n")
                                    .arg(static_cast<int>(hub.process().exitStatus()))
                                    .arg(hub.process().exitCode())
                                + hub.outputTail()));
        }

        ServedHub hub(dir.path(), db, log);
        const auto started = hub.start();
        QVERIFY2(started.isEmpty(), qPrintable(started));
        std::int64_t lostAnswers = 0;
        verifyStored(hub.base(), admin, devices, seen, "after SIGTERM", &lostAnswers);
        // A graceful stop answers what it committed before it closes.
        QVERIFY2(lostAnswers == 0,
                 qPrintable(QStringLiteral("%1 record(s) were committed during the graceful stop but their 2xx never "
                                           "reached the client").arg(lostAnswers)));
        if (QTest::currentTestFailed())
            return;
        resend(hub.base(), devices, seen);
        if (QTest::currentTestFailed())
            return;
        verifyStored(hub.base(), admin, devices, seen, "after SIGTERM, everything unacknowledged sent again");
    }
};

QTEST_GUILESS_MAIN(ProcessTest)
#include "tst_process.moc"
