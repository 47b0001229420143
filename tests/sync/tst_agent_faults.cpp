// tests/sync/tst_agent_faults.cpp — the sync agent against a misbehaving server.
//
// Every row: publish v1 with the real publisher, let an in-process agent
// adopt it from the FaultServer, then inject one fault on the manifest or on
// the new blob of v2, publish v2, and step the agent through several failed
// attempts. Throughout: v1 stays active, no rejected manifest is staged, no
// blob file that does not hash to its name ever appears, SQLite's
// integrity_check is ok. The server's request log shows the attempts
// following the backoff (full-jitter ceilings, Retry-After never undercut,
// steady polling for answers that are not failures). Once the fault is
// removed v2 activates. backoffGrowsAndResets looks at the backoff curve
// itself: it grows, it is jittered, and a success resets it to the base.
#include "agent_harness.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

#include <QJsonDocument>
#include <QJsonObject>
#include <QTest>

#include <cmath>

using namespace stoa;
using namespace stoa::testing;

namespace {

enum class Target { Manifest, Blob };
enum class Case {
    Status500, Status503Seconds, Status503Date, Status404, Status304, Reset, Truncate, Overlong,
    OverlongChunked, FlipBytes, Captive, BadSignature, Older, Expired, OtherDevice, Drip, Hang,
};
// What the attempts' timing must look like.
enum class Timing {
    Backoff,    // full jitter: gap i <= min(cap, base * 2^i)
    RetryAfter, // every gap >= the Retry-After, and within the cap
    DateOnce,   // one Retry-After HTTP-date, then plain backoff
    Steady,     // not a failure: the steady sync interval, ±10 %
    Slow,       // each attempt lasts until the low-speed limit aborts it
};

constexpr std::int64_t kV1 = 10; // first published version (room for an "older" one below)
// Scheduling slack on an interval: the poll's other requests, the step loop,
// a loaded CI machine under ASan.
constexpr double kTolMs = 250;
const std::string kManifestPath = "/v1/manifest.json";

// `envelope` with one payload byte changed and the signatures kept.
QByteArray tampered(const QByteArray &envelope)
{
    QJsonObject o = QJsonDocument::fromJson(envelope).object();
    QByteArray payload = QByteArray::fromBase64(o.value("payload").toString().toLatin1());
    payload.replace("Europe/Oslo", "Europe/Rome");
    o.insert("payload", QString::fromLatin1(payload.toBase64()));
    return QJsonDocument(o).toJson(QJsonDocument::Compact);
}

double ceilingMs(const RigOptions &o, int failureIndex)
{
    double c = double(o.base.count());
    for (int i = 0; i < failureIndex && c < double(o.cap.count()); ++i)
        c *= 2;
    return std::min(c, double(o.cap.count()));
}

} // namespace

class AgentFaults : public QObject {
    Q_OBJECT
private slots:
    void faults_data();
    void faults();
    void backoffGrowsAndResets();
    void forbiddenOptionalDocumentsAreAbsent();
    void tlsAndDnsFailuresBackOff();
};

void AgentFaults::faults_data()
{
    QTest::addColumn<int>("target");
    QTest::addColumn<int>("kase");
    auto row = [](const char *name, Target t, Case c) { QTest::newRow(name) << int(t) << int(c); };
    row("manifest 500", Target::Manifest, Case::Status500);
    row("manifest 503 Retry-After seconds", Target::Manifest, Case::Status503Seconds);
    row("manifest 503 Retry-After HTTP-date", Target::Manifest, Case::Status503Date);
    row("manifest 404 (nothing published: keep v1)", Target::Manifest, Case::Status404);
    row("manifest 304 without validators (stale proxy)", Target::Manifest, Case::Status304);
    row("manifest reset mid-body", Target::Manifest, Case::Reset);
    row("manifest truncated", Target::Manifest, Case::Truncate);
    row("manifest captive portal", Target::Manifest, Case::Captive);
    row("manifest bad signature", Target::Manifest, Case::BadSignature);
    row("manifest older version", Target::Manifest, Case::Older);
    row("manifest expired", Target::Manifest, Case::Expired);
    row("manifest for another device", Target::Manifest, Case::OtherDevice);
    row("manifest drip", Target::Manifest, Case::Drip);
    row("manifest hang", Target::Manifest, Case::Hang);
    row("blob 500", Target::Blob, Case::Status500);
    row("blob 503 Retry-After seconds", Target::Blob, Case::Status503Seconds);
    row("blob 404", Target::Blob, Case::Status404);
    row("blob reset mid-body", Target::Blob, Case::Reset);
    row("blob truncated", Target::Blob, Case::Truncate);
    row("blob longer than declared", Target::Blob, Case::Overlong);
    row("blob longer than declared, chunked", Target::Blob, Case::OverlongChunked);
    row("blob wrong bytes", Target::Blob, Case::FlipBytes);
    row("blob captive portal", Target::Blob, Case::Captive);
    row("blob drip", Target::Blob, Case::Drip);
    row("blob hang", Target::Blob, Case::Hang);
}

void AgentFaults::faults()
{
    QFETCH(int, target);
    QFETCH(int, kase);
    const bool onManifest = Target(target) == Target::Manifest;

    TestSite site;
    QVERIFY2(site.error().empty(), site.error().c_str());
    const Media a{"a.png", randomBytes(4096, 1)};
    const Media b{"b.png", randomBytes(4096, 2)};
    const Media c{"c.png", randomBytes(256 * 1024, 3)};
    const std::string hexC = c.hex();
    auto v1 = site.publish({a, b}, PublishExtras::version(kV1));
    QVERIFY2(v1, v1 ? "" : v1.error().c_str());
    QCOMPARE(v1->version, kV1);

    FaultServer server;
    server.setDocumentRoot(site.site().toStdString());
    RigOptions opts;
    opts.cap = sync::Millis(3000);
    AgentRig rig(site.path("data"), server.baseUrl(), site.rootPub(), opts);
    QVERIFY2(rig.error().empty(), rig.error().c_str());
    QVERIFY(rig.stepUntil([&] { return rig.activeVersion() == kV1; }, 15s));

    // --- The fault.
    const std::string path = onManifest ? kManifestPath : blobPath(hexC);
    std::vector<Fault> faults;
    Timing timing = Timing::Backoff;
    int attempts = 5;
    double toldMs = 0;
    SteadyClock::time_point notBefore{};
    auto envelope = [&](PublishExtras extras) {
        auto e = site.scratchEnvelope({a, c}, extras);
        if (!e)
            qWarning("%s", e.error().c_str());
        return e.value_or(QByteArray());
    };
    switch (Case(kase)) {
    case Case::Status500: faults = {Fault::statusCode(500)}; break;
    case Case::Status503Seconds:
        faults = {Fault::retryAfter(503, "1")};
        timing = Timing::RetryAfter;
        toldMs = 1000;
        attempts = 4;
        break;
    case Case::Status503Date: {
        const auto sys = std::chrono::system_clock::now();
        const auto when = std::chrono::floor<std::chrono::seconds>(sys + 2s);
        notBefore = SteadyClock::now() + std::chrono::duration_cast<SteadyClock::duration>(when - sys);
        faults = {Fault::retryAfter(503, FaultServer::httpDate(when)).times(1), Fault::statusCode(503)};
        timing = Timing::DateOnce;
        toldMs = 2000;
        break;
    }
    case Case::Status404:
        faults = {Fault::statusCode(404)};
        timing = onManifest ? Timing::Steady : Timing::Backoff;
        break;
    case Case::Status304: faults = {Fault::statusCode(304)}; timing = Timing::Steady; break;
    case Case::Reset: faults = {Fault::reset(onManifest ? 200 : 16 * 1024)}; break;
    case Case::Truncate: faults = {Fault::truncate(onManifest ? 200 : 16 * 1024)}; break;
    case Case::Overlong: faults = {Fault::overlong(100)}; break;
    case Case::OverlongChunked: faults = {Fault::overlong(100, Framing::Chunked)}; break;
    case Case::FlipBytes: faults = {Fault::flipBytes(1000, 8)}; break;
    case Case::Captive: faults = {Fault::captivePortal()}; break;
    case Case::BadSignature: faults = {Fault::replaceBody(tampered(envelope(PublishExtras::version(kV1 + 5))).toStdString())}; break;
    case Case::Older: faults = {Fault::replaceBody(envelope(PublishExtras::version(kV1 - 5)).toStdString())}; break;
    case Case::Expired:
        faults = {Fault::replaceBody(envelope(PublishExtras::version(kV1 + 5).issuedAt(QDateTime::currentDateTimeUtc().addDays(-3),
                                                                                  86400 * 1000))
                                         .toStdString())};
        break;
    case Case::OtherDevice:
        faults = {Fault::replaceBody(envelope(PublishExtras::version(kV1 + 5).forDevices({"someone-else"})).toStdString())};
        break;
    case Case::Drip: faults = {Fault::drip(1s)}; timing = Timing::Slow; attempts = 3; break;
    case Case::Hang: faults = {Fault::hang()}; timing = Timing::Slow; attempts = 3; break;
    }
    for (const auto &f : faults)
        QVERIFY(!f.body.empty() || f.kind != FaultKind::ReplaceBody);

    server.clearLog();
    for (auto f : faults)
        server.addFault(f.onPath(path).onMethod("GET"));
    auto v2 = site.publish({a, c});
    QVERIFY2(v2, v2 ? "" : v2.error().c_str());
    const std::int64_t kV2 = v2->version;

    // --- Failed attempts; nothing bad may become visible meanwhile.
    auto faulted = [&] {
        return only(server.requests(), [&](const RecordedRequest &r) { return r.path == path && r.fault; });
    };
    VisibleBlobs seen;
    std::string problem;
    auto invariants = [&] {
        if (rig.activeVersion() != kV1)
            problem = "active version changed to " + std::to_string(rig.activeVersion());
        else if (onManifest && rig.stagedVersion() != 0)
            problem = "a manifest was staged from a faulty answer: v" + std::to_string(rig.stagedVersion());
        else if (!onManifest && rig.stagedVersion() != 0 && rig.stagedVersion() != kV2)
            problem = "unexpected staged version " + std::to_string(rig.stagedVersion());
        else if (rig.hasBlob(hexC))
            problem = "the faulty blob became visible";
        else
            problem = blobsProblem(rig.store().dataDir(), seen);
        return problem.empty();
    };
    const bool sawAttempts =
        rig.stepUntil([&] { return faulted().size() >= std::size_t(attempts); }, 40s, invariants);
    QVERIFY2(problem.empty(), problem.c_str());
    QVERIFY2(sawAttempts, qPrintable(QString("only %1 faulty answers in time").arg(faulted().size())));
    QCOMPARE(storeProblem(rig.store(), seen, true), std::string());
    if (onManifest) // a rejected manifest's blobs are never asked for
        QVERIFY(server.requestsTo(blobPath(hexC)).empty());
    if (timing == Timing::Steady)
        QCOMPARE(rig.agent().status().consecutiveFailures, 0);
    else if (onManifest)
        QVERIFY(rig.agent().status().consecutiveFailures >= attempts - 1);

    // --- Timing, from the server's side.
    const auto log = server.requests();
    const auto tries = faulted();
    const auto gaps = gapsMs(tries);
    // When attempt i+1 began: a manifest poll starts with keys.json.
    auto nextStart = [&](std::size_t i) {
        if (!onManifest)
            return tries[i + 1].arrived;
        for (const auto &r : log)
            if (r.path == "/v1/keys.json" && r.arrived > tries[i].arrived)
                return r.arrived;
        return tries[i + 1].arrived;
    };
    const double cap = double(opts.cap.count());
    for (std::size_t i = 0; i + 1 < tries.size(); ++i) {
        const double g = gaps[i];
        const QString where = QString("gap %1 of %2").arg(i).arg(QString::fromStdString(describe(gaps)));
        switch (timing) {
        case Timing::Backoff:
            QVERIFY2(g <= ceilingMs(opts, int(i)) + kTolMs, qPrintable(where));
            break;
        case Timing::RetryAfter:
            QVERIFY2(ms(nextStart(i) - tries[i].arrived) >= toldMs, qPrintable("Retry-After undercut: " + where));
            QVERIFY2(g <= std::min(cap, std::max(ceilingMs(opts, int(i)), toldMs * 1.1)) + kTolMs, qPrintable(where));
            break;
        case Timing::DateOnce:
            if (i == 0)
                QVERIFY2(nextStart(0) >= notBefore - 10ms, qPrintable("Retry-After date undercut: " + where));
            QVERIFY2(g <= std::max(ceilingMs(opts, int(i)), i == 0 ? toldMs * 1.1 : 0) + kTolMs, qPrintable(where));
            break;
        case Timing::Steady:
            QVERIFY2(g >= 0.9 * double(opts.syncInterval.count()) - 15, qPrintable(where));
            QVERIFY2(g <= 1.1 * double(opts.syncInterval.count()) + kTolMs, qPrintable(where));
            break;
        case Timing::Slow:
            // The low-speed limit (1 s) ends an attempt within about 2 s.
            QVERIFY2(g <= ceilingMs(opts, int(i)) + 2500 + kTolMs, qPrintable(where));
            break;
        }
    }
    if (timing == Timing::Backoff) { // jittered: the draws differ
        std::vector<double> norm;
        for (std::size_t i = 0; i < gaps.size(); ++i)
            norm.push_back(gaps[i] / ceilingMs(opts, int(i)));
        QVERIFY2(*std::max_element(norm.begin(), norm.end()) - *std::min_element(norm.begin(), norm.end()) > 0.05,
                 describe(gaps).c_str());
    }

    // --- The fault goes away: v2 is adopted.
    server.clearFaults();
    const bool adopted = rig.stepUntil([&] { return rig.activeVersion() == kV2; }, 20s);
    QVERIFY2(adopted, qPrintable(QString("v2 not adopted; staged %1").arg(rig.stagedVersion())));
    QVERIFY(rig.hasBlob(hexC));
    QCOMPARE(storeProblem(rig.store(), seen, true), std::string());
    QVERIFY(seen.verified.contains(hexC));
}

// The manifest channel's backoff curve, with a base small against the cap so
// growth is unmistakable: gaps stay under their ceilings, grow, are
// jittered; a success resets the count, and the next failures start again
// at the base ceiling. Steady polls in between are conditional (304).
void AgentFaults::backoffGrowsAndResets()
{
    TestSite site;
    QVERIFY2(site.error().empty(), site.error().c_str());
    auto v1 = site.publish({{"a.png", randomBytes(2048, 7)}});
    QVERIFY2(v1, v1 ? "" : v1.error().c_str());
    FaultServer server;
    server.setDocumentRoot(site.site().toStdString());
    RigOptions opts;
    opts.base = sync::Millis(20);
    opts.cap = sync::Millis(2000);
    AgentRig rig(site.path("data"), server.baseUrl(), site.rootPub(), opts);
    QVERIFY2(rig.error().empty(), rig.error().c_str());
    QVERIFY(rig.stepUntil([&] { return rig.activeVersion() == v1->version; }, 15s));

    // In sync: the next polls ask conditionally and get 304.
    server.clearLog();
    QVERIFY(rig.stepUntil([&] { return server.requestsTo(kManifestPath).size() >= 2; }, 5s));
    for (const auto &r : server.requestsTo(kManifestPath)) {
        QVERIFY(!r.header("if-none-match").empty() || !r.header("if-modified-since").empty());
        QCOMPARE(r.status, 304);
    }

    constexpr int kFailures = 8;
    server.clearLog();
    server.addFault(Fault::statusCode(500).onPath(kManifestPath).times(kFailures));
    auto manifestLog = [&] { return server.requestsTo(kManifestPath); };
    // Until a success after the failures.
    QVERIFY(rig.stepUntil([&] { return manifestLog().size() > std::size_t(kFailures); }, 20s));
    QVERIFY(rig.stepUntil([&] { return rig.agent().status().consecutiveFailures == 0; }, 5s));
    const auto first = manifestLog();
    std::vector<RecordedRequest> failed(first.begin(), first.begin() + kFailures);
    const auto gaps = gapsMs(failed);
    for (std::size_t i = 0; i < gaps.size(); ++i)
        QVERIFY2(gaps[i] <= ceilingMs(opts, int(i)) + kTolMs, qPrintable(QString("gap %1 of %2").arg(i).arg(
                                                                   QString::fromStdString(describe(gaps)))));
    const double early = (gaps[0] + gaps[1] + gaps[2]) / 3;
    const double late = (gaps[4] + gaps[5] + gaps[6]) / 3;
    QVERIFY2(late > early, describe(gaps).c_str());
    std::vector<double> norm;
    for (std::size_t i = 0; i < gaps.size(); ++i)
        norm.push_back(gaps[i] / ceilingMs(opts, int(i)));
    QVERIFY2(*std::max_element(norm.begin(), norm.end()) - *std::min_element(norm.begin(), norm.end()) > 0.1,
             describe(gaps).c_str());
    QVERIFY(first[kFailures].status == 200 || first[kFailures].status == 304);

    // Failing again after that success: back at the base ceiling.
    server.clearLog();
    server.addFault(Fault::statusCode(500).onPath(kManifestPath));
    QVERIFY(rig.stepUntil([&] { return manifestLog().size() >= 4; }, 10s));
    auto again = only(manifestLog(), [](const RecordedRequest &r) { return r.fault.has_value(); });
    const auto after = gapsMs(again);
    QVERIFY(after.size() >= 2);
    QVERIFY2(after[0] <= ceilingMs(opts, 0) + kTolMs, describe(after).c_str());
    QVERIFY2(after[1] <= ceilingMs(opts, 1) + kTolMs, describe(after).c_str());
    QCOMPARE(rig.activeVersion(), v1->version);
}

// An object store that may not list its bucket answers 403 for a missing
// key: keys.json and the device's own manifest are optional, so 403 there
// means "absent"; the fleet manifest is not, so 403 there is a failure.
void AgentFaults::forbiddenOptionalDocumentsAreAbsent()
{
    TestSite site;
    QVERIFY2(site.error().empty(), site.error().c_str());
    auto v1 = site.publish({{"a.png", randomBytes(2048, 11)}});
    QVERIFY2(v1, v1 ? "" : v1.error().c_str());
    FaultServer server;
    server.setDocumentRoot(site.site().toStdString());
    server.addFault(Fault::statusCode(403).onPath("/v1/keys.json"));
    server.addFault(Fault::statusCode(403).onPrefix("/v1/devices/"));
    RigOptions opts;
    opts.base = sync::Millis(20);
    opts.cap = sync::Millis(500);
    AgentRig rig(site.path("data"), server.baseUrl(), site.rootPub(), opts);
    QVERIFY2(rig.error().empty(), rig.error().c_str());
    QVERIFY(rig.stepUntil([&] { return rig.activeVersion() == v1->version; }, 15s));
    QCOMPARE(rig.agent().status().consecutiveFailures, 0);

    const int fleet = server.addFault(Fault::statusCode(403).onPath(kManifestPath));
    QVERIFY(rig.stepUntil([&] { return rig.agent().status().consecutiveFailures >= 2; }, 10s));
    QCOMPARE(rig.activeVersion(), v1->version);
    server.removeFault(fleet);
    QVERIFY(rig.stepUntil([&] { return rig.agent().status().consecutiveFailures == 0; }, 10s));
}

namespace {
// Accepts connections and answers each with a plain-text line, whatever the
// client sends: to a TLS client that is a broken handshake.
class NotTls {
public:
    NotTls()
    {
        m_fd = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof a;
        if (m_fd < 0 || ::bind(m_fd, reinterpret_cast<sockaddr *>(&a), sizeof a) != 0 || ::listen(m_fd, 16) != 0 ||
            ::getsockname(m_fd, reinterpret_cast<sockaddr *>(&a), &len) != 0)
            qFatal("NotTls: cannot listen");
        m_port = ntohs(a.sin_port);
        m_thread = std::thread([this] {
            for (;;) {
                const int c = ::accept(m_fd, nullptr, nullptr);
                if (c < 0)
                    return; // the listening socket was shut down
                const char reply[] = "HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n";
                (void)!::write(c, reply, sizeof reply - 1);
                ::close(c);
            }
        });
    }
    ~NotTls()
    {
        ::shutdown(m_fd, SHUT_RDWR);
        m_thread.join();
        ::close(m_fd);
    }
    int port() const { return m_port; }

private:
    int m_fd = -1;
    int m_port = 0;
    std::thread m_thread;
};
} // namespace

// A TLS failure (a server that does not speak TLS on an https:// URL) and a
// DNS failure (an .invalid name never resolves) are failures that back off,
// with an error that says which, never a tight loop.
void AgentFaults::tlsAndDnsFailuresBackOff()
{
    TestSite site;
    QVERIFY2(site.error().empty(), site.error().c_str());
    NotTls notTls;
    const std::string https = "https://127.0.0.1:" + std::to_string(notTls.port());
    for (const auto &[url, words] : {std::pair{https, std::string("TLS")},
                                     std::pair{std::string("http://stoa-backend.invalid"), std::string("name lookup")}}) {
        RigOptions opts;
        opts.base = sync::Millis(50);
        opts.cap = sync::Millis(400);
        AgentRig rig(site.path(QString("data-%1").arg(words.size())), url, site.rootPub(), opts);
        QVERIFY2(rig.error().empty(), rig.error().c_str());
        QVERIFY(rig.stepUntil([&] { return rig.agent().status().consecutiveFailures >= 3; }, 30s));
        const auto &st = rig.agent().status();
        QVERIFY2(st.lastError.find(words) != std::string::npos, st.lastError.c_str());
        QCOMPARE(st.state, std::string("backing_off"));
        QCOMPARE(rig.activeVersion(), std::int64_t(0));
    }
}

QTEST_GUILESS_MAIN(AgentFaults)
#include "tst_agent_faults.moc"
