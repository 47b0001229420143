// tests/sync/tst_agent_kill.cpp — the real stoa-syncd process: SIGKILL mid-download, bandwidth cap.
//
//  - sigkillDuringDownloads: stoa-syncd downloads a manifest of several
//    MB-sized blobs from the FaultServer under a bandwidth cap and is
//    SIGKILLed at random moments while blobs are in flight, up to 20 times.
//    After every kill the store is consistent (integrity_check ok, every
//    visible blob hashes to its name, nothing but "none" or the manifest
//    active); restarts resume (Range requests appear); finally the manifest
//    activates and SIGTERM stops the process cleanly.
//  - bandwidthCap: with max_download_rate set, N bytes take at least N/rate.
// Waits are conditions with deadlines (the server log, files appearing);
// only the moment of each kill is random.
#include "agent_harness.h"
#include "daemon.h"
#include "wait_until.h"

#include <QTest>

#include <random>

using namespace stoa;
using namespace stoa::testing;

namespace {

// stoa-syncd for `site` against `server`: a tests/harness Daemon (its output
// in the site's syncd.log, never a pipe that fills while the test waits;
// start() again after kill() is a restart).
class Syncd : public Daemon {
public:
    Syncd(const TestSite &site, const std::string &server, const QStringList &extra)
        : Daemon(STOA_SYNCD, arguments(site, server, extra), site.path("syncd.log"))
    {
        QFile(site.path("empty.conf")).open(QIODevice::WriteOnly);
    }

private:
    static QStringList arguments(const TestSite &site, const std::string &server, const QStringList &extra)
    {
        return QStringList{"--config", site.path("empty.conf"), "--data-dir", site.path("data"),
                           "--server", QString::fromStdString(server), "--trusted-keys", site.rootPub(),
                           "--device-id", "dev-1", "--set", "backoff_base_s=0.1", "--set", "backoff_cap_s=1",
                           "--set", "sync_interval_s=0.3", "--set", "status_interval_s=60",
                           "--set", "low_speed_time_s=2", "--set", "min_free=0"}
               + extra;
    }
};

// Opens the store as the restarted agent would (recovery included) and
// checks it; empty when consistent. `active` gets the active version.
std::string checkStore(const QString &dataDir, VisibleBlobs &seen, std::int64_t &active)
{
    cache::StoreOptions o;
    o.dataDir = dataDir.toStdString();
    o.limits.minFreeBytes = 0;
    auto store = cache::Store::open(o);
    if (!store)
        return "cannot open the store: " + store.error().message;
    auto m = (*store)->manifests().get(cache::Slot::Active);
    if (!m)
        return "active manifest: " + m.error().message;
    active = *m ? (**m).version : 0;
    return storeProblem(**store, seen, true);
}

std::filesystem::path visiblePath(const QString &dataDir, const std::string &hex)
{
    return std::filesystem::path(dataDir.toStdString()) / "blobs" / "sha256" / hex.substr(0, 2) / hex;
}

} // namespace

class AgentKill : public QObject {
    Q_OBJECT
private slots:
    void sigkillDuringDownloads();
    void bandwidthCap();
    void sigtermStopsADownloadPromptly();
};

void AgentKill::sigkillDuringDownloads()
{
    TestSite site;
    QVERIFY2(site.error().empty(), site.error().c_str());
    std::vector<Media> media;
    for (int i = 0; i < 4; ++i)
        media.push_back({QString("m%1.mp4").arg(i), randomBytes(2u << 20, 100 + i)});
    auto v1 = site.publish(media);
    QVERIFY2(v1, v1 ? "" : v1.error().c_str());
    FaultServer server;
    server.setDocumentRoot(site.site().toStdString());
    Syncd syncd(site, server.baseUrl(), {"--set", "max_download_rate=2M"});
    const QString data = site.path("data");

    auto blobRequests = [&] {
        return only(server.requests(), [](const RecordedRequest &r) { return r.path.rfind("/v1/blobs/", 0) == 0; });
    };
    std::mt19937 rng(std::random_device{}());
    std::uniform_int_distribution<int> delayMs(0, 400);
    VisibleBlobs seen;
    std::int64_t active = 0;
    int kills = 0;
    for (; kills < 20 && active == 0; ++kills) {
        const std::size_t before = blobRequests().size();
        QVERIFY(syncd.start());
        // Kill while blobs are in flight: after this run's first blob request.
        const bool downloading =
            waitUntil([&] { return blobRequests().size() > before || !syncd.running(); }, 20s, 10ms);
        QVERIFY2(downloading && syncd.running(), syncd.tail());
        std::this_thread::sleep_for(std::chrono::milliseconds(delayMs(rng)));
        syncd.kill();
        const std::string problem = checkStore(data, seen, active);
        QVERIFY2(problem.empty(), qPrintable(QString("after kill %1: %2").arg(kills + 1).arg(problem.c_str())));
        QVERIFY(active == 0 || active == v1->version);
    }
    qInfo("%d kills; %zu blob requests so far", kills, blobRequests().size());
    QVERIFY(kills >= 3);

    // Restarts resumed: some blob was asked for from the middle.
    const auto ranged = only(blobRequests(), [](const RecordedRequest &r) { return !r.header("range").empty(); });
    QVERIFY2(!ranged.empty(), "no Range request after the kills");
    for (const auto &r : ranged)
        QVERIFY2(r.status == 206, qPrintable(QString("%1 %2 -> %3").arg(r.path.c_str(), r.header("range").c_str()).arg(r.status)));

    // Finally left alone: it activates.
    QVERIFY(syncd.start());
    QVERIFY2(waitUntil([&] {
                 return std::all_of(media.begin(), media.end(), [&](const Media &m) {
                     return std::filesystem::exists(visiblePath(data, m.hex()));
                 });
             }, 60s),
             syncd.tail());
    QVERIFY(syncd.terminate());
    QCOMPARE(checkStore(data, seen, active), std::string());
    QCOMPARE(active, v1->version);
    for (const auto &m : media)
        QVERIFY(seen.verified.contains(m.hex()));
    // Progress survives every kill: per blob, each request resumes at or
    // after where the previous one did.
    for (const auto &m : media) {
        std::uint64_t last = 0;
        for (const auto &r : server.requestsTo(blobPath(m.hex()))) {
            const std::string range = r.header("range");
            const std::uint64_t from = range.empty() ? 0 : std::stoull(range.substr(6));
            QVERIFY2(from >= last, qPrintable(QString("%1 after %2").arg(from).arg(last)));
            last = from;
        }
    }
}

void AgentKill::bandwidthCap()
{
    constexpr std::uint64_t kSize = 1536 * 1024;
    constexpr std::uint64_t kRate = 1024 * 1024;
    TestSite site;
    QVERIFY2(site.error().empty(), site.error().c_str());
    const Media big{"big.mp4", randomBytes(kSize, 9)};
    auto v1 = site.publish({big});
    QVERIFY2(v1, v1 ? "" : v1.error().c_str());
    FaultServer server;
    server.setDocumentRoot(site.site().toStdString());
    Syncd syncd(site, server.baseUrl(), {"--set", "max_download_rate=1M", "--set", "parallel_downloads=1"});
    QVERIFY(syncd.start());
    const std::string path = blobPath(big.hex());
    QVERIFY(server.waitForRequests(path, 1, 20s));
    const auto started = server.requestsTo(path)[0].arrived;
    QVERIFY2(waitUntil([&] { return std::filesystem::exists(visiblePath(site.path("data"), big.hex())); }, 30s),
             syncd.tail());
    const double elapsed = ms(SteadyClock::now() - started);
    QVERIFY(syncd.terminate());
    // A burst of one receive buffer aside, the cap bounds the speed.
    const double floorMs = double(kSize - 64 * 1024) / double(kRate) * 1000;
    qInfo("%llu bytes at max_download_rate=%llu took %.0f ms (at least %.0f)", static_cast<unsigned long long>(kSize),
          static_cast<unsigned long long>(kRate), elapsed, floorMs);
    QVERIFY2(elapsed >= floorMs, qPrintable(QString::number(elapsed)));
    QCOMPARE(server.requestsTo(path).size(), std::size_t(1));
}

// SIGTERM while a long, rate-capped download runs: the process exits
// cleanly (code 0, so the time floor is saved) without waiting for the
// transfer to end, and keeps what it got for the resume.
void AgentKill::sigtermStopsADownloadPromptly()
{
    constexpr std::uint64_t kSize = 4u << 20;
    TestSite site;
    QVERIFY2(site.error().empty(), site.error().c_str());
    const Media big{"big.mp4", randomBytes(kSize, 11)};
    auto v1 = site.publish({big});
    QVERIFY2(v1, v1 ? "" : v1.error().c_str());
    FaultServer server;
    server.setDocumentRoot(site.site().toStdString());
    // 4 MB at 256 KB/s: 16 s if nothing interrupts it.
    Syncd syncd(site, server.baseUrl(), {"--set", "max_download_rate=256K", "--set", "parallel_downloads=1"});
    QVERIFY(syncd.start());
    QVERIFY(server.waitForRequests(blobPath(big.hex()), 1, 20s));
    const QString tmp = site.path("data") + "/tmp";
    auto partialBytes = [&] {
        qint64 n = 0;
        for (const auto &fi : QDir(tmp).entryInfoList(QDir::Files))
            n += fi.size();
        return n;
    };
    QVERIFY(waitUntil([&] { return partialBytes() > 0; }, 10s));
    const auto asked = SteadyClock::now();
    QVERIFY2(syncd.terminate(), syncd.tail());
    const double took = ms(SteadyClock::now() - asked);
    qInfo("stopped %.0f ms after SIGTERM with %lld of %llu bytes in the partial", took,
          static_cast<long long>(partialBytes()), static_cast<unsigned long long>(kSize));
    QVERIFY2(took < 5000, qPrintable(QString::number(took)));
    QVERIFY(partialBytes() > 0 && partialBytes() < qint64(kSize));
}

QTEST_GUILESS_MAIN(AgentKill)
#include "tst_agent_kill.moc"
