// tests/sync/tst_e2e_nginx.cpp — end to end with real programs: `stoa publish`
// writes a site, nginx (or a file:// directory) serves it, the real
// `stoa-syncd` keeps a store in line with it; the test reads the store the way
// the player does (its own Store on the same data directory).
//
// What it shows, per backend (data rows "nginx" and "file"):
//  - v1 and then v2 are adopted, every pinned blob holds exactly the published
//    media bytes, and blobs shared by v1 and v2 are fetched once;
//  - during an outage (nginx stopped; for file://, a damaged manifest) the
//    active manifest and every blob file stay byte-identical, the agent keeps
//    running, and its status shows consecutive failures growing with a
//    backoff in (0, cap];
//  - once the backend is back, v3 is adopted and the failure count resets;
//  - (nginx) after adoption the manifest polls are conditional: nginx answers
//    304 to requests carrying If-None-Match;
//  - SIGTERM stops the agent cleanly (exit code 0).
// All waits poll with a deadline; nothing sleeps for a fixed time.
#include "cache/store.h"
#include "nginx_server.h"
#include "daemon.h"
#include "program_run.h"
#include "test_files.h"

#include <QCryptographicHash>
#include <QDateTime>
#include <QDir>
#include <QDirIterator>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QRandomGenerator>
#include <QTemporaryDir>
#include <QTest>

#include <functional>
#include <map>
#include <memory>

using stoa::testing::AccessRecord;
using stoa::testing::NginxServer;
using stoa::testing::readFile;  // tests/harness/test_files.h
using stoa::testing::writeFile; // (ends the test binary when it cannot write: qFatal)

namespace {

constexpr int kWaitMs = 30000;       // generous: CI runs this under ASan
constexpr double kBackoffBaseS = 0.2; // passed to the agent below
constexpr double kBackoffCapS = 2.0;
const QString kDevice = QStringLiteral("e2e-device-1");

QString sha256Hex(const QByteArray &bytes)
{
    return QString::fromLatin1(QCryptographicHash::hash(bytes, QCryptographicHash::Sha256).toHex());
}

// The `stoa` command, its two channels in one (tests/harness/program_run.h).
stoa::testing::ProgramRun runStoa(const QStringList &args)
{
    return stoa::testing::runProgram(QStringLiteral(STOA_BIN), args,
                                     stoa::testing::RunOptions().timeout(120000).systemEnvironment().merged());
}

using stoa::testing::Daemon; // the agent process; its log goes to a file, shown when a test fails

// Where the site is served from, and how an outage is made and ended.
class Backend {
public:
    virtual ~Backend() = default;
    virtual QString url() const = 0;
    virtual void breakIt() = 0; // the agent can no longer get a good manifest
    virtual void repair() = 0;
    virtual QString failureHint() const { return {}; }
};

class NginxBackend : public Backend {
public:
    NginxBackend(const QString &work, const QString &site) : server(work, site) {}
    QString url() const override { return server.baseUrl(); }
    void breakIt() override
    {
        auto ok = server.stop();
        QVERIFY2(ok, qPrintable(ok ? QString() : ok.error()));
    }
    void repair() override
    {
        const quint16 before = server.port();
        auto ok = server.start();
        QVERIFY2(ok, qPrintable(ok ? QString() : ok.error()));
        QCOMPARE(server.port(), before); // devices keep their configured URL
    }
    QString failureHint() const override { return "nginx error log:\n" + server.errorLogTail(); }
    NginxServer server;
};

// A USB stick: the outage is a manifest damaged on the medium (cut short, as
// by a copy that did not finish); the repair puts the good bytes back.
class FileBackend : public Backend {
public:
    explicit FileBackend(QString site) : m_site(std::move(site)) {}
    QString url() const override { return "file://" + m_site; }
    void breakIt() override
    {
        const QString path = m_site + "/v1/manifest.json";
        m_saved = readFile(path);
        QVERIFY(!m_saved.isEmpty());
        writeFile(path, m_saved.left(m_saved.size() / 2));
    }
    void repair() override { writeFile(m_site + "/v1/manifest.json", m_saved); }

private:
    QString m_site;
    QByteArray m_saved;
};

// The store's active manifest plus every blob file's bytes: what must not
// change while the backend is away.
struct StoreSnapshot {
    std::int64_t version = 0;
    std::string envelope;
    std::map<QString, QByteArray> blobs; // relative path -> content hash
    bool operator==(const StoreSnapshot &) const = default;
};

} // namespace

class E2eNginx : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();
    void flow_data();
    void flow();
    void sameSecondRepublish();
    void httpsWithPrivateCa();

private:
    // Writes the source (schedule.ini naming `media`) and publishes it.
    void publish(const QStringList &media, int expectVersion);
    std::int64_t activeVersion();
    QJsonObject syncStatus();
    StoreSnapshot snapshot();
    void verifyActiveMatches(const QStringList &media);
    bool waitForActive(std::int64_t version, int timeoutMs = kWaitMs);
    void makeMedia();
    // source/, site/ and data/ in `tmp` (opened up for nginx's workers), and the media.
    void useWorkDir(const QTemporaryDir &tmp);
    void openStore();
    QStringList agentArgs(const QString &url) const;

    QTemporaryDir m_keys;
    QString m_source, m_site, m_data;
    std::unique_ptr<stoa::cache::Store> m_store;
};

void E2eNginx::initTestCase()
{
    QVERIFY(m_keys.isValid());
    const auto r = runStoa({"keygen", "--out", m_keys.filePath("root")});
    QVERIFY2(r.exitCode == 0, r.describe().constData());
}

void E2eNginx::publish(const QStringList &media, int expectVersion)
{
    QString ini = "timezone = Europe/Oslo\ndefault = loop\n\n[playlist loop]\n";
    for (const QString &m : media)
        ini += m + " 5s\n";
    writeFile(m_source + "/schedule.ini", ini.toUtf8());
    const auto r = runStoa({"publish", "--key", m_keys.filePath("root.key"), "--source", m_source, "--out", m_site});
    QVERIFY2(r.exitCode == 0, r.describe().constData());
    QVERIFY2(r.out.contains(QStringLiteral("published version %1,").arg(expectVersion)), qPrintable(r.out));
    NginxServer::openUpTree(m_site);
}

std::int64_t E2eNginx::activeVersion()
{
    auto m = m_store->manifests().get(stoa::cache::Slot::Active);
    return m && *m ? (*m)->version : 0;
}

QJsonObject E2eNginx::syncStatus()
{
    auto v = m_store->kv().get("sync.status");
    if (!v || !*v)
        return {};
    return QJsonDocument::fromJson(QByteArray::fromStdString(**v)).object();
}

StoreSnapshot E2eNginx::snapshot()
{
    StoreSnapshot s;
    if (auto m = m_store->manifests().get(stoa::cache::Slot::Active); m && *m) {
        s.version = (*m)->version;
        s.envelope = (*m)->envelope;
    }
    const QString root = QString::fromStdString(m_store->blobs().blobsRoot().string());
    QDirIterator it(root, QDir::Files, QDirIterator::Subdirectories);
    while (it.hasNext()) {
        const QString p = it.next();
        s.blobs[QDir(root).relativeFilePath(p)] = sha256Hex(readFile(p)).toLatin1();
    }
    return s;
}

// The active manifest pins exactly the published media, and each blob file
// holds those bytes.
void E2eNginx::verifyActiveMatches(const QStringList &media)
{
    auto m = m_store->manifests().get(stoa::cache::Slot::Active);
    QVERIFY(m && *m);
    QStringList pinned;
    for (const auto &digest : (*m)->assets)
        pinned << QString::fromStdString(digest.hex());
    QStringList expected;
    for (const QString &name : media)
        expected << sha256Hex(readFile(m_source + "/" + name));
    pinned.sort();
    expected.sort();
    QCOMPARE(pinned, expected);
    for (const QString &hex : expected) {
        auto path = m_store->blobs().find(*stoa::schedule::Digest::fromHex(hex.toStdString()));
        QVERIFY2(path && *path, qPrintable("blob not in the store: " + hex));
        QCOMPARE(sha256Hex(readFile(QString::fromStdString((*path)->string()))), hex);
    }
}

bool E2eNginx::waitForActive(std::int64_t version, int timeoutMs)
{
    return QTest::qWaitFor([&] { return activeVersion() == version; }, timeoutMs);
}

// Distinct random media, same size for b and c (see sameSecondRepublish).
void E2eNginx::useWorkDir(const QTemporaryDir &tmp)
{
    NginxServer::openUpTree(tmp.path()); // nginx's workers run as www-data
    m_source = tmp.filePath("source");
    m_site = tmp.filePath("site");
    m_data = tmp.filePath("data");
    makeMedia();
}

void E2eNginx::makeMedia()
{
    auto *rng = QRandomGenerator::global();
    const std::map<QString, int> sizes = {{"a.png", 300000}, {"b.png", 200000}, {"c.png", 200000}, {"d.png", 100000}};
    for (const auto &[name, size] : sizes) {
        QByteArray bytes(size, Qt::Uninitialized);
        rng->fillRange(reinterpret_cast<quint32 *>(bytes.data()), size / 4);
        writeFile(m_source + "/" + name, bytes);
    }
}

// The test holds the store open the whole time, as the player does.
void E2eNginx::openStore()
{
    stoa::cache::StoreOptions options;
    options.dataDir = m_data.toStdString();
    auto store = stoa::cache::Store::open(options);
    QVERIFY2(store, store ? "" : store.error().message.c_str());
    m_store = std::move(*store);
}

QStringList E2eNginx::agentArgs(const QString &url) const
{
    return {"--config", "/dev/null", "--server", url, "--data-dir", m_data,
            "--trusted-keys", m_keys.filePath("root.pub"), "--device-id", kDevice,
            "--set", "sync_interval_s=0.3",
            "--set", QStringLiteral("backoff_base_s=%1").arg(kBackoffBaseS),
            "--set", QStringLiteral("backoff_cap_s=%1").arg(kBackoffCapS),
            "--set", "status_interval_s=3600"};
}

void E2eNginx::flow_data()
{
    QTest::addColumn<bool>("useNginx");
    QTest::newRow("nginx") << true;
    QTest::newRow("file") << false;
}

void E2eNginx::flow()
{
    QFETCH(bool, useNginx);
    if (useNginx && NginxServer::findBinary().isEmpty())
        QSKIP("nginx is not installed (Debian package: nginx)");

    QTemporaryDir tmp;
    QVERIFY(tmp.isValid());
    // A failed run keeps its directory (site, store, nginx and agent logs).
    auto keepOnFailure = qScopeGuard([&] {
        if (QTest::currentTestFailed() || qEnvironmentVariableIsSet("STOA_E2E_KEEP")) {
            tmp.setAutoRemove(false);
            qInfo("kept %s", qPrintable(tmp.path()));
        }
    });
    useWorkDir(tmp);
    publish({"a.png", "b.png"}, 1);
    std::unique_ptr<Backend> backend;
    NginxServer *nginx = nullptr;
    if (useNginx) {
        auto nb = std::make_unique<NginxBackend>(tmp.filePath("nginx"), m_site);
        nginx = &nb->server;
        auto ok = nginx->start();
        QVERIFY2(ok, qPrintable(ok ? QString() : ok.error()));
        backend = std::move(nb);
    } else {
        backend = std::make_unique<FileBackend>(m_site);
    }

    openStore();
    auto closeStore = qScopeGuard([&] { m_store.reset(); });

    Daemon syncd(QStringLiteral(STOA_SYNCD), agentArgs(backend->url()), tmp.filePath("syncd.log"));
    QVERIFY(syncd.start());
    auto explain = [&] {
        return "agent log:\n" + QString::fromLocal8Bit(syncd.log().right(4000)) + "\n" + backend->failureHint();
    };

    // --- v1 adopted, bytes exact.
    QVERIFY2(waitForActive(1), qPrintable(explain()));
    verifyActiveMatches({"a.png", "b.png"});

    if (nginx) {
        // Conditional polls: after adoption, the fleet manifest is asked for
        // with If-None-Match and nginx answers 304.
        auto notModified = [&] {
            int n = 0;
            for (const AccessRecord &r : nginx->accessLog())
                n += r.uri == "/v1/manifest.json" && r.status == 304;
            return n;
        };
        QVERIFY2(QTest::qWaitFor([&] { return notModified() >= 3; }, kWaitMs), qPrintable(explain()));
        int fullFetches = 0;
        for (const AccessRecord &r : nginx->accessLog()) {
            if (r.uri != "/v1/manifest.json")
                continue;
            if (r.status == 304)
                QVERIFY2(!r.ifNoneMatch.isEmpty(), "a 304 without If-None-Match");
            if (r.status == 200)
                ++fullFetches;
        }
        QCOMPARE(fullFetches, 1); // v1, once
    }

    // --- v2 adopted; the blobs it shares with v1 are not fetched again.
    // (Three items: its manifest's size differs from v1's, so nginx's ETag
    // differs even when both are published within one second; that case is
    // sameSecondRepublish below.)
    publish({"a.png", "b.png", "c.png"}, 2);
    QVERIFY2(waitForActive(2), qPrintable(explain()));
    verifyActiveMatches({"a.png", "b.png", "c.png"});
    if (nginx) {
        std::map<QString, int> blobGets;
        for (const AccessRecord &r : nginx->accessLog())
            if (r.uri.startsWith("/v1/blobs/sha256/"))
                ++blobGets[r.uri.mid(17)];
        for (const QString name : {"a.png", "b.png", "c.png"})
            QCOMPARE(blobGets[sha256Hex(readFile(m_source + "/" + name))], 1);
        QCOMPARE(int(blobGets.size()), 3);
    }

    // --- Outage: nothing in the store changes; the agent backs off.
    const StoreSnapshot before = snapshot();
    QCOMPARE(before.version, std::int64_t(2));
    QVERIFY(!before.blobs.empty());
    backend->breakIt();
    // failures -> backoff_s seen in the status; failure n (1-based) draws its
    // wait from [0, min(cap, base * 2^(n-1))] (full jitter, sync/backoff.h).
    std::map<int, double> backoffs;
    QStringList oddStates;
    const bool backedOff = QTest::qWaitFor(
        [&] {
            const QJsonObject st = syncStatus();
            const int failures = st.value("consecutive_failures").toInt();
            if (failures > 0 && !backoffs.contains(failures)) {
                backoffs[failures] = st.value("backoff_s").toDouble();
                if (st.value("state").toString() != "backing_off" || st.value("last_error").toString().isEmpty())
                    oddStates << QString::fromUtf8(QJsonDocument(st).toJson(QJsonDocument::Compact));
            }
            return failures >= 3;
        },
        kWaitMs);
    QVERIFY2(backedOff, qPrintable(explain()));
    QVERIFY2(oddStates.isEmpty(), qPrintable(oddStates.join('\n')));
    double longest = 0;
    for (const auto &[n, b] : backoffs) {
        const double ceiling = std::min(kBackoffCapS, kBackoffBaseS * double(1 << std::min(n - 1, 20)));
        QVERIFY2(b >= 0 && b <= ceiling + 1e-9,
                 qPrintable(QStringLiteral("failure %1: backoff_s %2, ceiling %3").arg(n).arg(b).arg(ceiling)));
        longest = std::max(longest, b);
    }
    QVERIFY2(longest > 0, "the agent retried at once after every failure");
    QVERIFY(syncd.running());
    QCOMPARE(activeVersion(), std::int64_t(2));
    QVERIFY(snapshot() == before);

    // --- Back: failures reset, v3 adopted.
    backend->repair();
    QVERIFY2(QTest::qWaitFor([&] { return syncStatus().value("consecutive_failures").toInt() == 0; }, kWaitMs),
             qPrintable(explain()));
    QVERIFY(snapshot() == before);
    publish({"c.png", "d.png"}, 3);
    QVERIFY2(waitForActive(3), qPrintable(explain()));
    verifyActiveMatches({"c.png", "d.png"});
    QCOMPARE(syncStatus().value("state").toString(), QStringLiteral("in_sync"));

    QVERIFY2(syncd.terminate(), syncd.tail());
}

// Two publishes within one second, the device fetching the first in between.
// Both manifests have the same size (same item count, same media sizes), so
// nginx gives them the same ETag ("<mtime seconds>-<size>") and the same
// Last-Modified: the device's conditional poll gets 304 for the second one
// and stays on v1 until something else changes the file. The agent cannot
// tell; the publisher must make the new file's validators differ.
void E2eNginx::sameSecondRepublish()
{
    if (NginxServer::findBinary().isEmpty())
        QSKIP("nginx is not installed (Debian package: nginx)");
    QTemporaryDir tmp;
    QVERIFY(tmp.isValid());
    useWorkDir(tmp);
    QVERIFY(QDir().mkpath(m_site + "/v1"));
    NginxServer nginx(tmp.filePath("nginx"), m_site);
    auto ok = nginx.start();
    QVERIFY2(ok, qPrintable(ok ? QString() : ok.error()));
    openStore();
    auto closeStore = qScopeGuard([&] { m_store.reset(); });
    Daemon syncd(QStringLiteral(STOA_SYNCD), agentArgs(nginx.baseUrl()), tmp.filePath("syncd.log"));
    QVERIFY(syncd.start());
    // The agent polls the empty site until the manifest appears.
    auto manifestGets = [&] {
        int n = 0;
        for (const AccessRecord &r : nginx.accessLog())
            n += r.uri == "/v1/manifest.json";
        return n;
    };
    QVERIFY(QTest::qWaitFor([&] { return manifestGets() >= 2; }, kWaitMs));

    // Start right after a second boundary so both publishes fit in it.
    QVERIFY(QTest::qWaitFor([] { return QDateTime::currentMSecsSinceEpoch() % 1000 < 50; }, 2000));
    publish({"a.png", "b.png"}, 1);
    const QString manifest = m_site + "/v1/manifest.json";
    const QFileInfo v1(manifest);
    const qint64 v1Second = v1.lastModified().toSecsSinceEpoch();
    auto fetchedV1 = [&] {
        for (const AccessRecord &r : nginx.accessLog())
            if (r.uri == "/v1/manifest.json" && r.status == 200)
                return true;
        return false;
    };
    QVERIFY(QTest::qWaitFor(fetchedV1, kWaitMs));
    publish({"a.png", "c.png"}, 2);
    const QFileInfo v2(manifest);
    if (QDateTime::currentSecsSinceEpoch() != v1Second || v2.size() != v1.size())
        QSKIP("could not publish twice within one second with equal sizes on this machine");
    // Same size, same wall-clock second: publish must still give the new
    // file different validators (its mtime moved past the old one's second).
    QVERIFY(v2.lastModified().toSecsSinceEpoch() > v1Second);
    QVERIFY(waitForActive(1));

    // Ten polls' worth of time: v2 should have been adopted long before.
    QVERIFY(waitForActive(2, 3000));
    QVERIFY2(syncd.terminate(), syncd.tail());
}

namespace {
// openssl (the Debian CLI) as a real process; false with its output (and
// why, when it did not finish) on failure.
bool openssl(const QStringList &args, QString &output)
{
    const auto r = stoa::testing::runProgram(QStringLiteral("openssl"), args, stoa::testing::RunOptions().merged());
    output = r.out + r.why;
    return r.ok();
}
} // namespace

// TLS for real: nginx serves the site over HTTPS with a certificate from a
// private CA. Without the CA the agent refuses the server (a TLS failure that
// backs off, nothing adopted); with `ca_file` naming the CA it adopts the
// manifest. (The system's CAs stay trusted beside it, through CAPATH: not
// testable here without a public server.)
void E2eNginx::httpsWithPrivateCa()
{
    if (NginxServer::findBinary().isEmpty())
        QSKIP("nginx is not installed (Debian package: nginx)");
    QTemporaryDir tmp;
    QVERIFY(tmp.isValid());
    useWorkDir(tmp);
    publish({"a.png", "d.png"}, 1);

    const QString ca = tmp.filePath("ca"), srv = tmp.filePath("server");
    QString out;
    QVERIFY2(openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
                      "-subj", "/CN=Stoa test CA", "-keyout", ca + ".key", "-out", ca + ".pem"}, out), qPrintable(out));
    QVERIFY2(openssl({"req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=127.0.0.1",
                      "-keyout", srv + ".key", "-out", srv + ".csr"}, out), qPrintable(out));
    writeFile(srv + ".ext", "subjectAltName=IP:127.0.0.1\n");
    QVERIFY2(openssl({"x509", "-req", "-in", srv + ".csr", "-CA", ca + ".pem", "-CAkey", ca + ".key",
                      "-CAcreateserial", "-days", "2", "-extfile", srv + ".ext", "-out", srv + ".pem"}, out),
             qPrintable(out));

    NginxServer nginx(tmp.filePath("nginx"), m_site);
    nginx.useTls(srv + ".pem", srv + ".key");
    auto started = nginx.start();
    QVERIFY2(started, qPrintable(started ? QString() : started.error() + nginx.errorLogTail()));
    QVERIFY(nginx.baseUrl().startsWith("https://"));
    openStore();
    auto closeStore = qScopeGuard([&] { m_store.reset(); });

    {   // System CAs only: the private CA's certificate is refused.
        Daemon syncd(QStringLiteral(STOA_SYNCD), agentArgs(nginx.baseUrl()), tmp.filePath("syncd-noca.log"));
        QVERIFY(syncd.start());
        QVERIFY2(QTest::qWaitFor([&] { return syncStatus().value("consecutive_failures").toInt() >= 2; }, kWaitMs),
                 syncd.tail());
        const QString error = syncStatus().value("last_error").toString();
        QVERIFY2(error.contains("TLS", Qt::CaseInsensitive) || error.contains("certificate", Qt::CaseInsensitive),
                 qPrintable(error));
        QCOMPARE(activeVersion(), std::int64_t(0));
        QVERIFY2(syncd.terminate(), syncd.tail());
    }
    {   // ca_file names the private CA: adopted over HTTPS.
        Daemon syncd(QStringLiteral(STOA_SYNCD), agentArgs(nginx.baseUrl()) + QStringList{"--set", "ca_file=" + ca + ".pem"},
                     tmp.filePath("syncd-ca.log"));
        QVERIFY(syncd.start());
        QVERIFY2(waitForActive(1), syncd.tail());
        verifyActiveMatches({"a.png", "d.png"});
        QVERIFY2(syncd.terminate(), syncd.tail());
    }
}

QTEST_GUILESS_MAIN(E2eNginx)
#include "tst_e2e_nginx.moc"
