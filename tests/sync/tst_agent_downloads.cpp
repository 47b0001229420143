// tests/sync/tst_agent_downloads.cpp — blob downloads: resume, isolation, pacing, file://.
//
// In-process agent against the FaultServer (or a file:// site):
//  - a 20 MB blob cut at 60 % is resumed with a Range request for the rest,
//    so about 20 MB cross the wire, not 32; the result verifies, v2 activates;
//  - one blob that 404s forever does not hold back the others, backs off on
//    its own, keeps the manifest from activating until it is fixed;
//  - a blob whose bytes are always wrong is retried with backoff, never in a
//    tight loop, and never resumed from its bad bytes;
//  - a Retry-After on a blob is counted from the answer, even when that
//    answer came late in a download round;
//  - a file:// base (a USB stick) works like a server, publish after publish.
#include "agent_harness.h"

#include "cache/blob_writer.h"
#include "cache/scrub.h"

#include <QTest>

using namespace stoa;
using namespace stoa::testing;

namespace {

constexpr double kTolMs = 250;

double ceilingMs(const RigOptions &o, int failureIndex)
{
    double c = double(o.base.count());
    for (int i = 0; i < failureIndex && c < double(o.cap.count()); ++i)
        c *= 2;
    return std::min(c, double(o.cap.count()));
}

// Body bytes the server sent for `rs`: whole files, ranges, cut-off answers.
std::uint64_t servedBytes(const std::vector<RecordedRequest> &rs, std::uint64_t size, std::uint64_t cutAt)
{
    std::uint64_t total = 0;
    for (const auto &r : rs) {
        if (r.fault == FaultKind::Truncate || r.fault == FaultKind::Reset)
            total += cutAt;
        else if (r.status == 200)
            total += size;
        else if (r.status == 206)
            total += size - std::stoull(r.header("range").substr(6));
    }
    return total;
}

} // namespace

class AgentDownloads : public QObject {
    Q_OBJECT
private slots:
    void resumesCutBlob_data();
    void resumesCutBlob();
    void failingBlobIsIsolated();
    void wrongBytesAreNotRetriedInATightLoop();
    void retryAfterCountsFromTheAnswer();
    void fileBase();
    void closedDownloadWindowDoesNotSpin();
    void busyPartialDoesNotSpin();
    void completePartialIsNotFetchedAgain();
    void scrubbedActiveBlobIsFetchedAgain();
};

void AgentDownloads::resumesCutBlob_data()
{
    QTest::addColumn<bool>("reset");
    QTest::newRow("truncated (FIN)") << false;
    QTest::newRow("reset (RST)") << true;
}

void AgentDownloads::resumesCutBlob()
{
    QFETCH(bool, reset);
    constexpr std::uint64_t kSize = 20u << 20;
    constexpr std::uint64_t kCut = kSize * 60 / 100; // 12582912
    TestSite site;
    QVERIFY2(site.error().empty(), site.error().c_str());
    const Media a{"a.png", randomBytes(4096, 1)};
    const Media big{"big.mp4", randomBytes(kSize, 2)};
    auto v1 = site.publish({a});
    QVERIFY2(v1, v1 ? "" : v1.error().c_str());

    FaultServer server;
    server.setDocumentRoot(site.site().toStdString());
    AgentRig rig(site.path("data"), server.baseUrl(), site.rootPub());
    QVERIFY2(rig.error().empty(), rig.error().c_str());
    QVERIFY(rig.stepUntil([&] { return rig.activeVersion() == v1->version; }, 15s));

    const std::string path = blobPath(big.hex());
    server.addFault((reset ? Fault::reset(kCut) : Fault::truncate(kCut)).onPath(path).times(1));
    const std::uint64_t before = rig.agent().status().bytesDownloaded;
    auto v2 = site.publish({a, big});
    QVERIFY2(v2, v2 ? "" : v2.error().c_str());
    VisibleBlobs seen;
    std::string problem;
    QVERIFY(rig.stepUntil([&] { return rig.activeVersion() == v2->version; }, 90s, [&] {
        problem = rig.activeVersion() == v1->version || rig.activeVersion() == v2->version
                      ? blobsProblem(rig.store().dataDir(), seen)
                      : "unexpected active version";
        return problem.empty();
    }));
    QVERIFY2(problem.empty(), problem.c_str());
    QCOMPARE(storeProblem(rig.store(), seen, true), std::string());
    QVERIFY(seen.verified.contains(big.hex()));

    const auto tries = server.requestsTo(path);
    QVERIFY2(tries.size() >= 2, qPrintable(QString::number(tries.size())));
    QVERIFY(tries[0].header("range").empty());
    QCOMPARE(tries[0].fault, std::optional(reset ? FaultKind::Reset : FaultKind::Truncate));
    const std::string range = tries[1].header("range");
    QCOMPARE(tries[1].status, 206);
    if (!reset) {
        QCOMPARE(range, std::string("bytes=12582912-"));
    } else {
        // An RST may destroy bytes already in flight: the resume point is
        // where the client's verified-so-far partial ends, at most the cut.
        QVERIFY2(range.rfind("bytes=", 0) == 0 && range.back() == '-', range.c_str());
        const std::uint64_t from = std::stoull(range.substr(6));
        QVERIFY2(from > 0 && from <= kCut, range.c_str());
    }
    QCOMPARE(tries.size(), std::size_t(2));
    const std::uint64_t served = servedBytes(tries, kSize, kCut);
    QVERIFY2(served <= kSize + kCut / 10, qPrintable(QString::number(served)));
    // What the agent took in for it: each byte once, the cut-off part included.
    QCOMPARE(rig.agent().status().bytesDownloaded - before, kSize);
}

void AgentDownloads::failingBlobIsIsolated()
{
    TestSite site;
    QVERIFY2(site.error().empty(), site.error().c_str());
    const Media a{"a.png", randomBytes(4096, 1)};
    const Media b{"b.png", randomBytes(64 * 1024, 2)};
    const Media c{"c.png", randomBytes(64 * 1024, 3)};
    const Media d{"d.png", randomBytes(64 * 1024, 4)};
    auto v1 = site.publish({a});
    QVERIFY2(v1, v1 ? "" : v1.error().c_str());
    FaultServer server;
    server.setDocumentRoot(site.site().toStdString());
    RigOptions opts;
    opts.base = sync::Millis(20);
    opts.cap = sync::Millis(2000);
    AgentRig rig(site.path("data"), server.baseUrl(), site.rootPub(), opts);
    QVERIFY2(rig.error().empty(), rig.error().c_str());
    QVERIFY(rig.stepUntil([&] { return rig.activeVersion() == v1->version; }, 15s));

    const std::string bad = blobPath(c.hex());
    server.addFault(Fault::statusCode(404).onPath(bad));
    auto v2 = site.publish({a, b, c, d});
    QVERIFY2(v2, v2 ? "" : v2.error().c_str());
    constexpr std::size_t kAttempts = 8;
    QVERIFY(rig.stepUntil([&] { return server.requestsTo(bad).size() >= kAttempts; }, 30s,
                          [&] { return rig.activeVersion() == v1->version; }));
    QCOMPARE(rig.activeVersion(), v1->version);
    QCOMPARE(rig.stagedVersion(), v2->version);
    QVERIFY(rig.hasBlob(b.hex()));
    QVERIFY(rig.hasBlob(d.hex()));
    QVERIFY(!rig.hasBlob(c.hex()));
    // The others were fetched once each, not dragged along with c's retries.
    QCOMPARE(server.requestsTo(blobPath(b.hex())).size(), std::size_t(1));
    QCOMPARE(server.requestsTo(blobPath(d.hex())).size(), std::size_t(1));

    const auto gaps = gapsMs(server.requestsTo(bad));
    for (std::size_t i = 0; i < gaps.size(); ++i)
        QVERIFY2(gaps[i] <= ceilingMs(opts, int(i)) + kTolMs, describe(gaps).c_str());
    const double early = (gaps[0] + gaps[1] + gaps[2]) / 3;
    const double late = (gaps[4] + gaps[5] + gaps[6]) / 3;
    QVERIFY2(late > early, describe(gaps).c_str());

    server.clearFaults();
    QVERIFY(rig.stepUntil([&] { return rig.activeVersion() == v2->version; }, 15s));
    VisibleBlobs seen;
    QCOMPARE(storeProblem(rig.store(), seen, true), std::string());
    QCOMPARE(seen.verified.size(), std::size_t(4));
}

void AgentDownloads::wrongBytesAreNotRetriedInATightLoop()
{
    TestSite site;
    QVERIFY2(site.error().empty(), site.error().c_str());
    const Media a{"a.png", randomBytes(32 * 1024, 1)};
    FaultServer server;
    server.setDocumentRoot(site.site().toStdString());
    const std::string path = blobPath(a.hex());
    server.addFault(Fault::flipBytes(100, 4).onPath(path));
    auto v1 = site.publish({a});
    QVERIFY2(v1, v1 ? "" : v1.error().c_str());
    RigOptions opts; // base 100 ms, cap 1.6 s
    AgentRig rig(site.path("data"), server.baseUrl(), site.rootPub(), opts);
    QVERIFY2(rig.error().empty(), rig.error().c_str());

    QVERIFY(rig.stepUntil([&] { return !server.requestsTo(path).empty(); }, 10s));
    const auto start = SteadyClock::now();
    constexpr auto kWindow = 3s;
    VisibleBlobs seen;
    std::string problem;
    rig.stepUntil([] { return false; }, kWindow, [&] {
        problem = rig.hasBlob(a.hex()) ? "a corrupt blob became visible" : blobsProblem(rig.store().dataDir(), seen);
        return problem.empty();
    });
    QVERIFY2(problem.empty(), problem.c_str());
    const auto tries = only(server.requestsTo(path), [&](const RecordedRequest &r) {
        return r.arrived <= start + kWindow;
    });
    // Full jitter over ceilings 100, 200, 400, 800, 1600 ms: about 7 tries in
    // 3 s on average; a tight loop would make hundreds.
    QVERIFY2(tries.size() >= 3 && tries.size() <= 15, qPrintable(QString::number(tries.size())));
    const auto gaps = gapsMs(tries);
    for (std::size_t i = 0; i < gaps.size(); ++i)
        QVERIFY2(gaps[i] <= ceilingMs(opts, int(i)) + kTolMs, describe(gaps).c_str());
    for (const auto &r : tries) // wrong bytes are thrown away, never resumed from
        QVERIFY(r.header("range").empty());
    QCOMPARE(rig.activeVersion(), std::int64_t(0));
    QCOMPARE(storeProblem(rig.store(), seen, true), std::string());
}

// Two blobs fetched one at a time: the first is slow, the second answers
// 503 with Retry-After: 1 when the round is already old. The retry must
// still wait the full second from that answer.
void AgentDownloads::retryAfterCountsFromTheAnswer()
{
    TestSite site;
    QVERIFY2(site.error().empty(), site.error().c_str());
    // Make `slow` sort before `limited` (the agent fetches in asset order).
    Media slow{"slow.png", {}}, limited{"limited.png", randomBytes(8192, 99)};
    for (std::uint64_t seed = 1;; ++seed) {
        slow.bytes = randomBytes(8192, seed);
        if (slow.hex() < limited.hex())
            break;
    }
    FaultServer server;
    server.setDocumentRoot(site.site().toStdString());
    server.addFault(Fault::drip(100ms, 15).onPath(blobPath(slow.hex())).times(1));
    server.addFault(Fault::retryAfter(503, "1").onPath(blobPath(limited.hex())));
    auto v1 = site.publish({slow, limited});
    QVERIFY2(v1, v1 ? "" : v1.error().c_str());
    RigOptions opts;
    opts.parallel = 1;
    opts.lowSpeedTimeS = 5; // the drip is slow, not stalled
    opts.cap = sync::Millis(3000);
    AgentRig rig(site.path("data"), server.baseUrl(), site.rootPub(), opts);
    QVERIFY2(rig.error().empty(), rig.error().c_str());
    const std::string path = blobPath(limited.hex());
    QVERIFY(rig.stepUntil([&] { return server.requestsTo(path).size() >= 3; }, 20s));
    QVERIFY(rig.hasBlob(slow.hex()));
    const auto tries = server.requestsTo(path);
    QVERIFY(tries[0].arrived - server.requestsTo(blobPath(slow.hex()))[0].arrived >= 1s);
    const auto gaps = gapsMs(tries);
    for (double g : gaps)
        QVERIFY2(g >= 1000, ("Retry-After undercut: " + describe(gaps)).c_str());
    server.clearFaults();
    QVERIFY(rig.stepUntil([&] { return rig.activeVersion() == v1->version; }, 10s));
}

void AgentDownloads::fileBase()
{
    TestSite site;
    QVERIFY2(site.error().empty(), site.error().c_str());
    const Media a{"a.png", randomBytes(4096, 1)};
    const Media b{"b.png", randomBytes(300 * 1024, 2)};
    auto v1 = site.publish({a});
    QVERIFY2(v1, v1 ? "" : v1.error().c_str());
    AgentRig rig(site.path("data"), "file://" + site.site().toStdString(), site.rootPub());
    QVERIFY2(rig.error().empty(), rig.error().c_str());
    QVERIFY(rig.stepUntil([&] { return rig.activeVersion() == v1->version; }, 15s));
    QVERIFY(rig.hasBlob(a.hex()));

    auto v2 = site.publish({a, b});
    QVERIFY2(v2, v2 ? "" : v2.error().c_str());
    QVERIFY(v2->version > v1->version);
    QVERIFY(rig.stepUntil([&] { return rig.activeVersion() == v2->version; }, 15s));
    VisibleBlobs seen;
    QCOMPARE(storeProblem(rig.store(), seen, true), std::string());
    QVERIFY(seen.verified.contains(b.hex()));
    QCOMPARE(rig.agent().status().consecutiveFailures, 0);
}

// Outside download_window a staged manifest's blobs wait — and the agent
// waits too: step() must not ask to run again at once, again and again.
void AgentDownloads::closedDownloadWindowDoesNotSpin()
{
    TestSite site;
    QVERIFY2(site.error().empty(), site.error().c_str());
    const Media a{"a.png", randomBytes(4096, 1)};
    auto v1 = site.publish({a});
    QVERIFY2(v1, v1 ? "" : v1.error().c_str());
    FaultServer server;
    server.setDocumentRoot(site.site().toStdString());
    const QTime t = QTime::currentTime();
    const int nowMin = t.hour() * 60 + t.minute();
    RigOptions opts;
    opts.downloadWindow = std::pair{(nowMin + 120) % 1440, (nowMin + 180) % 1440};
    AgentRig rig(site.path("data"), server.baseUrl(), site.rootPub(), opts);
    QVERIFY2(rig.error().empty(), rig.error().c_str());
    QVERIFY(rig.stepUntil([&] { return rig.stagedVersion() == v1->version; }, 10s));

    int steps = 0, immediate = 0;
    const auto end = SteadyClock::now() + 1500ms;
    while (SteadyClock::now() < end) {
        const auto now = SteadyClock::now();
        const auto next = rig.agent().step(now);
        ++steps;
        if (next <= now)
            ++immediate;
        std::this_thread::sleep_until(std::min({next, end, SteadyClock::now() + 20ms}));
    }
    QVERIFY2(immediate == 0, qPrintable(QString("%1 of %2 steps asked to run again at once").arg(immediate).arg(steps)));
    QVERIFY(server.requestsTo(blobPath(a.hex())).empty());
    QCOMPARE(rig.activeVersion(), std::int64_t(0));
}

// Another writer holds a blob's partial (a second process fetching or
// importing it): the agent leaves it alone without spinning, and fetches it
// once the other writer is gone.
void AgentDownloads::busyPartialDoesNotSpin()
{
    TestSite site;
    QVERIFY2(site.error().empty(), site.error().c_str());
    const Media a{"a.png", randomBytes(4096, 1)};
    auto v1 = site.publish({a});
    QVERIFY2(v1, v1 ? "" : v1.error().c_str());
    FaultServer server;
    server.setDocumentRoot(site.site().toStdString());
    AgentRig rig(site.path("data"), server.baseUrl(), site.rootPub());
    QVERIFY2(rig.error().empty(), rig.error().c_str());

    cache::StoreOptions so;
    so.dataDir = site.path("data").toStdString();
    so.limits.minFreeBytes = 0;
    auto other = cache::Store::open(so);
    QVERIFY(other);
    auto opened = cache::BlobWriter::open((*other)->blobs(), (*other)->space(), a.digest(), std::uint64_t(a.bytes.size()));
    QVERIFY(opened);
    std::optional<cache::BlobWriter> writer(std::move(*opened));

    QVERIFY(rig.stepUntil([&] { return rig.stagedVersion() == v1->version; }, 10s));
    int steps = 0, immediate = 0;
    const auto end = SteadyClock::now() + 1500ms;
    while (SteadyClock::now() < end) {
        const auto now = SteadyClock::now();
        const auto next = rig.agent().step(now);
        ++steps;
        if (next <= now)
            ++immediate;
        std::this_thread::sleep_until(std::min({next, end, SteadyClock::now() + 20ms}));
    }
    QVERIFY2(immediate <= steps / 10, qPrintable(QString("%1 of %2 steps asked to run again at once").arg(immediate).arg(steps)));
    QVERIFY(server.requestsTo(blobPath(a.hex())).empty());

    writer.reset(); // the other writer goes away
    QVERIFY(rig.stepUntil([&] { return rig.activeVersion() == v1->version; }, 10s));
}

// Killed after the last byte but before the commit: the partial is whole.
// Resuming it would ask for "bytes=SIZE-" (416); it is committed as it is.
void AgentDownloads::completePartialIsNotFetchedAgain()
{
    TestSite site;
    QVERIFY2(site.error().empty(), site.error().c_str());
    const Media a{"a.png", randomBytes(64 * 1024, 1)};
    auto v1 = site.publish({a});
    QVERIFY2(v1, v1 ? "" : v1.error().c_str());
    FaultServer server;
    server.setDocumentRoot(site.site().toStdString());
    server.addFault(Fault::statusCode(404).onPath(blobPath(a.hex())));
    {
        AgentRig first(site.path("data"), server.baseUrl(), site.rootPub());
        QVERIFY2(first.error().empty(), first.error().c_str());
        QVERIFY(first.stepUntil([&] { return !server.requestsTo(blobPath(a.hex())).empty(); }, 10s));
        QCOMPARE(first.stagedVersion(), v1->version);
    }
    {
        cache::StoreOptions so;
        so.dataDir = site.path("data").toStdString();
        so.limits.minFreeBytes = 0;
        auto other = cache::Store::open(so);
        QVERIFY(other);
        auto w = cache::BlobWriter::open((*other)->blobs(), (*other)->space(), a.digest(), std::uint64_t(a.bytes.size()));
        QVERIFY(w);
        QVERIFY(w->write(std::as_bytes(std::span(a.bytes.constData(), std::size_t(a.bytes.size())))));
    } // no commit: the partial stays, as after a SIGKILL
    server.clearFaults();
    server.clearLog();
    AgentRig rig(site.path("data"), server.baseUrl(), site.rootPub());
    QVERIFY2(rig.error().empty(), rig.error().c_str());
    QVERIFY(rig.stepUntil([&] { return rig.activeVersion() == v1->version; }, 10s));
    QVERIFY(server.requestsTo(blobPath(a.hex())).empty());
    VisibleBlobs seen;
    QCOMPARE(storeProblem(rig.store(), seen, true), std::string());
    QVERIFY(seen.verified.contains(a.hex()));
}

// The SD card rots a byte of a blob the active manifest plays: the scrubber
// removes it, and the agent fetches it again without any new manifest.
void AgentDownloads::scrubbedActiveBlobIsFetchedAgain()
{
    TestSite site;
    QVERIFY2(site.error().empty(), site.error().c_str());
    const Media a{"a.png", randomBytes(4096, 11)};
    const Media b{"b.mp4", randomBytes(300000, 12)};
    auto v1 = site.publish({a, b});
    QVERIFY2(v1, v1 ? "" : v1.error().c_str());
    FaultServer server;
    server.setDocumentRoot(site.site().toStdString());
    AgentRig rig(site.path("data"), server.baseUrl(), site.rootPub());
    QVERIFY2(rig.error().empty(), rig.error().c_str());
    QVERIFY(rig.stepUntil([&] { return rig.activeVersion() == v1->version; }, 15s));
    QCOMPARE(server.requestsTo(blobPath(b.hex())).size(), std::size_t(1));

    // Rot: one byte of b's file flips; the scrubber finds and removes it.
    const auto file = rig.store().blobs().pathFor(b.digest());
    QFile f(QString::fromStdString(file.string()));
    QVERIFY2(f.open(QIODevice::ReadWrite), file.c_str());
    f.seek(1000);
    char c = 0;
    QVERIFY(f.getChar(&c));
    f.seek(1000);
    QVERIFY(f.putChar(char(c ^ 0x5a)));
    f.close();
    auto scrubber = cache::Scrubber::open(rig.store().dataDir(), {0, std::chrono::milliseconds(10)});
    QVERIFY2(scrubber, scrubber ? "" : scrubber.error().message.c_str());
    for (int i = 0; i < 4 && (*scrubber)->failures() == 0; ++i)
        QVERIFY((*scrubber)->scrubNext().has_value());
    QCOMPARE((*scrubber)->failures(), std::uint64_t(1));
    QVERIFY(!rig.hasBlob(b.hex()));

    QVERIFY(rig.stepUntil([&] { return rig.hasBlob(b.hex()); }, 15s));
    QCOMPARE(server.requestsTo(blobPath(b.hex())).size(), std::size_t(2));
    QCOMPARE(rig.activeVersion(), v1->version); // no new manifest was needed
    VisibleBlobs seen;
    QCOMPARE(storeProblem(rig.store(), seen, true), std::string());
    QVERIFY(seen.verified.contains(b.hex()));
}

QTEST_GUILESS_MAIN(AgentDownloads)
#include "tst_agent_downloads.moc"
