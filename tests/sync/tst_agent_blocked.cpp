// tests/sync/tst_agent_blocked.cpp — a device that cannot take new content says so (issue 15).
//
// In-process agent against the FaultServer over loopback, with its heartbeat
// answered 204 and its metrics in a registry. v1 plays; v2 adds a blob the
// device cannot have, for each reason in turn:
//  - blob_corrupt: the server flips bytes of it;
//  - blob_unreachable: the server answers 404 for it;
//  - blob_too_large: the server sends more bytes than the manifest declares;
//  - no_space: the store's quota cannot hold it (cured by a manifest that
//    fits), and a store on a real 2 MiB tmpfs (root only; cured by growing
//    the file system) where the agent meets "disk cannot fit N more bytes";
//  - download_window_closed: the trusted clock is outside download_window
//    (cured by moving the wall clock into it).
// Each time the reason must appear in the three places the device speaks
// from — the status in the store (what the player's /status and diagnostics
// screen read), the heartbeat's sync.staged_blocked and the
// stoa_sync_staged_blocked{reason} gauge — with the staged version, a
// sentence and a since time; and all three must clear once the cause is gone.
#include "agent_harness.h"
#include "process_probe.h"

#include "cache/sync_status.h"
#include "endpoints/metrics.h"
#include "sync/agent_metrics.h"

#include <QJsonDocument>
#include <QJsonObject>
#include <QTest>

#include <atomic>

using namespace stoa;
using namespace stoa::testing;
using stoa::endpoints::testing::metricSample;

namespace {

const std::string kStatus = "/v1/devices/dev-1/status";

enum class Cause { Corrupt, Unreachable, TooLarge };

// What the device says about its staged manifest, from each place at once.
struct Said {
    std::optional<cache::SyncStatus::StagedBlock> store; // kv sync.status
    std::int64_t storeStagedVersion = 0;
    QJsonValue heartbeat;                                // the last heartbeat's sync.staged_blocked
    std::string metrics;                                 // registry.render()
};

// How many reasons stoa_sync_staged_blocked holds at 1; -1 when a reason's
// series is missing (every reason must always be there).
int blockedSeries(const std::string &metrics)
{
    int n = 0;
    for (const sync::Blocker b : sync::kBlockers) {
        const double v =
            metricSample(metrics, QString("stoa_sync_staged_blocked{reason=\"%1\"}").arg(sync::blockerCode(b)));
        if (v < 0)
            return -1;
        n += v == 1 ? 1 : 0;
    }
    return n;
}

// The shape every report must have, whatever the reason.
std::string reportProblem(const Said &s, std::int64_t version, const std::string &code, const std::string &words)
{
    const QJsonObject hb = s.heartbeat.toObject();
    const QDateTime since = QDateTime::fromString(hb.value("since").toString(), Qt::ISODate);
    const QDateTime now = QDateTime::currentDateTimeUtc();
    if (!hb.value("since").toString().endsWith('Z') || !since.isValid() || since > now.addSecs(1) ||
        since < now.addSecs(-120))
        return "since is not a recent RFC 3339 UTC time: " + hb.value("since").toString().toStdString();
    const QString message = hb.value("message").toString();
    if (!message.contains(QString::fromStdString(words), Qt::CaseInsensitive))
        return "message without \"" + words + "\": " + message.toStdString();
    if (!s.store || s.store->message != message.toStdString())
        return "the store and the heartbeat disagree";
    if (s.store->sinceMs / 1000 != since.toSecsSinceEpoch())
        return "the store's since is not the heartbeat's";
    if (std::llabs(std::int64_t(metricSample(s.metrics, "stoa_sync_staged_blocked_since_timestamp_seconds")) -
                   since.toSecsSinceEpoch()) > 1)
        return "the since gauge is not the heartbeat's since";
    if (metricSample(s.metrics, "stoa_sync_staged_manifest_version") != double(version))
        return "stoa_sync_staged_manifest_version is not the staged version";
    if (blockedSeries(s.metrics) != 1)
        return "not exactly one reason at 1";
    if (hb.value("reason").toString().toStdString() != code)
        return "reason " + hb.value("reason").toString().toStdString();
    return {};
}

// A rig with a heartbeat endpoint and metrics, and a way to read all three.
class Device {
public:
    Device(const TestSite &site, FaultServer &server, RigOptions opts = {}, QString dataDir = {})
        : m_server(server), m_metrics(m_registry),
          m_rig(dataDir.isEmpty() ? site.path("data") : dataDir, server.baseUrl(), site.rootPub(), opts)
    {
        server.setResponse("POST", kStatus, 204);
        sync::AgentObservers obs;
        obs.metrics = &m_metrics;
        if (m_rig.error().empty())
            m_rig.agent().setObservers(obs);
    }

    AgentRig &rig() { return m_rig; }

    // Publishes `media` and steps until it plays. Empty when it does.
    std::string adopt(TestSite &site, const std::vector<Media> &media, std::int64_t &version)
    {
        auto v = site.publish(media);
        if (!v)
            return v.error();
        version = v->version;
        return m_rig.stepUntil([&] { return m_rig.activeVersion() == version; }, 15s)
                   ? std::string()
                   : "v" + std::to_string(version) + " not adopted";
    }

    // Publishes `media` and steps until every place reports `code` for it,
    // the report well-formed with `words` in its message. Empty when so.
    std::string heldBack(TestSite &site, const std::vector<Media> &media, const std::string &code,
                         const std::string &words, std::int64_t &version)
    {
        auto v = site.publish(media);
        if (!v)
            return v.error();
        version = v->version;
        if (auto stuck = waitBlocked(code, version, 20s); !stuck.empty())
            return stuck;
        return reportProblem(said(), version, code, words);
    }

    Said said()
    {
        Said s;
        if (const auto st = cache::readSyncStatus(m_rig.store().kv())) {
            s.store = st->stagedBlocked;
            s.storeStagedVersion = st->stagedVersion;
        }
        const auto beats = m_server.requestsTo(kStatus);
        if (!beats.empty())
            s.heartbeat = QJsonDocument::fromJson(QByteArray::fromStdString(beats.back().body))
                              .object()
                              .value("sync")
                              .toObject()
                              .value("staged_blocked");
        s.metrics = m_registry.render();
        return s;
    }

    // Steps until all three places report `code` for `version`, with a heartbeat
    // sent after the store said so. Empty when they did; else what they said.
    std::string waitBlocked(const std::string &code, std::int64_t version, std::chrono::milliseconds timeout)
    {
        Said s;
        std::size_t beatsWhenStored = 0;
        const bool ok = m_rig.stepUntil(
            [&] {
                s = said();
                const bool stored = s.store && s.store->reason == code && s.storeStagedVersion == version;
                if (!stored) {
                    beatsWhenStored = m_server.requestsTo(kStatus).size();
                    return false;
                }
                const QJsonObject hb = s.heartbeat.toObject();
                return m_server.requestsTo(kStatus).size() > beatsWhenStored &&
                       hb.value("reason").toString().toStdString() == code &&
                       hb.value("version").toInteger() == version &&
                       metricSample(s.metrics, QString("stoa_sync_staged_blocked{reason=\"%1\"}").arg(code.c_str())) ==
                           1;
            },
            timeout);
        return ok ? std::string() : describe(s);
    }

    // Steps until `version` is active and every place says nothing holds anything back.
    std::string waitCleared(std::int64_t version, std::chrono::milliseconds timeout)
    {
        Said s;
        std::size_t beatsWhenActive = 0;
        const bool ok = m_rig.stepUntil(
            [&] {
                s = said();
                if (m_rig.activeVersion() != version || s.store) {
                    beatsWhenActive = m_server.requestsTo(kStatus).size();
                    return false;
                }
                return m_server.requestsTo(kStatus).size() > beatsWhenActive && s.heartbeat.isNull() &&
                       blockedSeries(s.metrics) == 0 &&
                       metricSample(s.metrics, "stoa_sync_staged_blocked_since_timestamp_seconds") == 0;
            },
            timeout);
        return ok ? std::string() : "active v" + std::to_string(m_rig.activeVersion()) + "; " + describe(s);
    }

private:
    static std::string describe(const Said &s)
    {
        return "store: " + (s.store ? s.store->reason + " (" + s.store->message + ")" : std::string("none")) +
               "; heartbeat: " + QJsonDocument(QJsonObject{{"b", s.heartbeat}}).toJson(QJsonDocument::Compact).toStdString() +
               "; metrics blocked series at 1: " + std::to_string(blockedSeries(s.metrics));
    }

    FaultServer &m_server;
    endpoints::MetricsRegistry m_registry;
    sync::AgentMetrics m_metrics;
    AgentRig m_rig;
};

} // namespace

class AgentBlocked : public QObject {
    Q_OBJECT
private slots:
    void blobFailure_data();
    void blobFailure();
    void quotaTooSmall();
    void diskTooSmall();
    void downloadWindowClosed();
};

void AgentBlocked::blobFailure_data()
{
    QTest::addColumn<int>("causeIndex");
    QTest::addColumn<QString>("code");
    QTest::addColumn<QString>("words");
    QTest::newRow("bytes do not match") << int(Cause::Corrupt) << "blob_corrupt" << "fail verification";
    QTest::newRow("404") << int(Cause::Unreachable) << "blob_unreachable" << "HTTP 404";
    QTest::newRow("larger than declared") << int(Cause::TooLarge) << "blob_too_large" << "more";
}

void AgentBlocked::blobFailure()
{
    QFETCH(int, causeIndex);
    QFETCH(QString, code);
    QFETCH(QString, words);
    TestSite site;
    QVERIFY2(site.error().empty(), site.error().c_str());
    const Media a{"a.png", randomBytes(4096, 1)};
    const Media b{"b.png", randomBytes(64 * 1024, 2)};
    FaultServer server;
    server.setDocumentRoot(site.site().toStdString());
    Device device(site, server);
    QVERIFY2(device.rig().error().empty(), device.rig().error().c_str());
    std::int64_t v1 = 0, v2 = 0;
    std::string failed = device.adopt(site, {a}, v1);
    QVERIFY2(failed.empty(), failed.c_str());
    QCOMPARE(blockedSeries(device.said().metrics), 0);

    const std::string path = blobPath(b.hex());
    switch (Cause(causeIndex)) {
    case Cause::Corrupt:
        server.addFault(Fault::flipBytes(100, 4).onPath(path));
        break;
    case Cause::Unreachable:
        server.addFault(Fault::statusCode(404).onPath(path));
        break;
    case Cause::TooLarge:
        server.addFault(Fault::overlong(1000).onPath(path));
        break;
    }
    failed = device.heldBack(site, {a, b}, code.toStdString(), words.toStdString(), v2);
    QVERIFY2(failed.empty(), failed.c_str());
    QCOMPARE(device.rig().activeVersion(), v1); // what plays is untouched
    // The manifest poll itself is fine: the old report said nothing was wrong.
    QCOMPARE(device.rig().agent().status().consecutiveFailures, 0);

    server.clearFaults();
    failed = device.waitCleared(v2, 20s);
    QVERIFY2(failed.empty(), failed.c_str());
}

// The quota cannot hold v2's blob. An operator's cure is content that fits:
// v3 replaces the staged v2, and the report goes with it.
void AgentBlocked::quotaTooSmall()
{
    TestSite site;
    QVERIFY2(site.error().empty(), site.error().c_str());
    const Media a{"a.png", randomBytes(4096, 1)};
    const Media big{"big.png", randomBytes(256 * 1024, 2)};
    const Media c{"c.png", randomBytes(8192, 3)};
    FaultServer server;
    server.setDocumentRoot(site.site().toStdString());
    RigOptions opts;
    opts.quotaBytes = 64 * 1024;
    Device device(site, server, opts);
    QVERIFY2(device.rig().error().empty(), device.rig().error().c_str());
    std::int64_t v1 = 0, v2 = 0, v3 = 0;
    std::string failed = device.adopt(site, {a}, v1);
    QVERIFY2(failed.empty(), failed.c_str());

    failed = device.heldBack(site, {a, big}, "no_space", "quota of 65536 bytes cannot fit", v2);
    QVERIFY2(failed.empty(), failed.c_str());
    QVERIFY(server.requestsTo(blobPath(big.hex())).empty()); // refused before a byte was asked for

    failed = device.adopt(site, {a, c}, v3);
    QVERIFY2(failed.empty(), failed.c_str());
    failed = device.waitCleared(v3, 20s);
    QVERIFY2(failed.empty(), failed.c_str());
}

// The case: the store's file system is smaller than the content. The
// cure is more room (here: the tmpfs grown under the running agent).
void AgentBlocked::diskTooSmall()
{
    TestSite site;
    QVERIFY2(site.error().empty(), site.error().c_str());
    SmallFileSystem fs(site.path("small"), "2m");
    if (!fs.mounted())
        QSKIP("mounting a small tmpfs needs root");
    const Media a{"a.png", randomBytes(4096, 1)};
    const Media big{"big.png", randomBytes(3 * 1024 * 1024, 2)};
    FaultServer server;
    server.setDocumentRoot(site.site().toStdString());
    Device device(site, server, {}, site.path("small/data"));
    QVERIFY2(device.rig().error().empty(), device.rig().error().c_str());
    std::int64_t v1 = 0, v2 = 0;
    std::string failed = device.adopt(site, {a}, v1);
    QVERIFY2(failed.empty(), failed.c_str());

    failed = device.heldBack(site, {a, big}, "no_space", "disk cannot fit " + std::to_string(big.bytes.size()), v2);
    QVERIFY2(failed.empty(), failed.c_str());

    QVERIFY(fs.grow("16m"));
    failed = device.waitCleared(v2, 30s);
    QVERIFY2(failed.empty(), failed.c_str());
    VisibleBlobs seen;
    QCOMPARE(storeProblem(device.rig().store(), seen, true), std::string());
}

// download_window is local time by the trusted clock; the wall clock is the
// test's, moved into the window to open it.
void AgentBlocked::downloadWindowClosed()
{
    TestSite site;
    QVERIFY2(site.error().empty(), site.error().c_str());
    const Media a{"a.png", randomBytes(4096, 1)};
    FaultServer server;
    server.setDocumentRoot(site.site().toStdString());
    auto shiftMs = std::make_shared<std::atomic<std::int64_t>>(0);
    schedule::Clocks clocks = schedule::Clocks::system();
    clocks.systemUtcMs = [shiftMs] { return QDateTime::currentMSecsSinceEpoch() + shiftMs->load(); };
    const QTime t = QTime::currentTime();
    const int from = (t.hour() * 60 + t.minute() + 120) % 1440, until = (from + 60) % 1440;
    RigOptions opts;
    opts.clocks = clocks;
    opts.downloadWindow = std::pair{from, until};
    Device device(site, server, opts);
    QVERIFY2(device.rig().error().empty(), device.rig().error().c_str());

    auto hhmm = [](int m) { return QTime(m / 60, m % 60).toString("HH:mm").toStdString(); };
    std::int64_t v1 = 0;
    std::string failed =
        device.heldBack(site, {a}, "download_window_closed", "download window, " + hhmm(from) + "-" + hhmm(until), v1);
    QVERIFY2(failed.empty(), failed.c_str());
    QVERIFY(server.requestsTo(blobPath(a.hex())).empty());
    // The since time stays put while the window stays closed.
    const auto since = device.said().store->sinceMs;
    const auto beats = server.requestsTo(kStatus).size();
    QVERIFY(device.rig().stepUntil([&] { return server.requestsTo(kStatus).size() >= beats + 2; }, 10s));
    QCOMPARE(device.said().store->sinceMs, since);

    shiftMs->store(150 * 60 * 1000); // the wall clock moves into the window
    failed = device.waitCleared(v1, 20s);
    QVERIFY2(failed.empty(), failed.c_str());
}

QTEST_GUILESS_MAIN(AgentBlocked)
#include "tst_agent_blocked.moc"
