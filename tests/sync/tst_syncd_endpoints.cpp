// tests/sync/tst_syncd_endpoints.cpp — the real stoa-syncd process as systemd
// and Prometheus see it (issue 6: endpoints in both processes; issue 7: the
// watchdog).
//
//  - endpointsFollowTheAgent: stoa-syncd with --listen 127.0.0.1:0 against the
//    FaultServer serving a published site. /healthz says ok; /metrics (checked
//    by promtool) shows the manifest adopted (active version, blob and
//    manifest requests ok, downloaded bytes); then the server answers 500 and
//    the metrics move: manifest errors grow, consecutive failures and the
//    backoff become non-zero.
//  - notifiesSystemd: NOTIFY_SOCKET points at a datagram socket of the test;
//    with WATCHDOG_USEC set the process sends READY=1, a STATUS= line,
//    WATCHDOG=1 keep-alives while its loop runs, and STOPPING=1 on SIGTERM.
//  - checkConfig: --check-config says ok, or names the line and key.
//  - cannotTakeContentSaysSo (issue 15; root: a tmpfs): the store on a 2 MiB
//    file system, v2 needing 3 MiB: the heartbeat's sync.staged_blocked and
//    /metrics (promtool-clean) say no_space with the disk's own words; the
//    file system grown under the process: v2 activates, both clear.
// Every wait is a condition polled with a deadline.
#include "agent_harness.h"
#include "daemon.h"
#include "process_probe.h"
#include "program_run.h"
#include "wait_until.h"

#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QRegularExpression>
#include <QTest>

#include <curl/curl.h>

using namespace stoa;
using stoa::testing::waitProcessingEvents;
using namespace stoa::testing;
using stoa::endpoints::testing::metricSample;
using stoa::endpoints::testing::NotifySocket;
using stoa::endpoints::testing::promtoolAccepts;
using stoa::endpoints::testing::servingPort;

namespace {

struct Got {
    long status = 0;
    std::string body;
};

Got httpGet(const std::string &url)
{
    Got g;
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url.c_str());
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 5L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, +[](char *p, size_t s, size_t n, void *ud) {
        static_cast<std::string *>(ud)->append(p, s * n);
        return s * n;
    });
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &g.body);
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &g.status);
    curl_easy_cleanup(c);
    return g;
}

// stoa-syncd for `site` against `server`, with fast back-off and polls,
// started at once: a tests/harness Daemon, its output in the site's
// syncd.log (a file, never a pipe).
class Syncd : public Daemon {
public:
    Syncd(const TestSite &site, const std::string &server,
          QProcessEnvironment env = QProcessEnvironment::systemEnvironment(), const QString &dataDir = {},
          const QStringList &extra = {})
        : Daemon(STOA_SYNCD, arguments(site, server, dataDir, extra), site.path("syncd.log"), std::move(env))
    {
        QFile(site.path("empty.conf")).open(QIODevice::WriteOnly);
        start(); // a failure shows as no port (port() stays 0) with the log
    }
    // The port it logged ("serving http://127.0.0.1:PORT"), 0 until then.
    int port() const { return servingPort(); }

private:
    static QStringList arguments(const TestSite &site, const std::string &server, const QString &dataDir,
                                 const QStringList &extra)
    {
        return QStringList{"--config", site.path("empty.conf"), "--data-dir",
                           dataDir.isEmpty() ? site.path("data") : dataDir,
                           "--server", QString::fromStdString(server), "--trusted-keys", site.rootPub(),
                           "--device-id", "dev-1", "--listen", "127.0.0.1:0",
                           "--set", "backoff_base_s=0.1", "--set", "backoff_cap_s=0.5",
                           "--set", "sync_interval_s=0.3", "--set", "min_free=0"}
               + extra;
    }
};

} // namespace

class SyncdEndpoints : public QObject {
    Q_OBJECT
private slots:
    void endpointsFollowTheAgent()
    {
        TestSite site;
        QVERIFY2(site.error().empty(), site.error().c_str());
        auto v1 = site.publish({{"a.png", randomBytes(300000, 1)}, {"b.mp4", randomBytes(500000, 2)}});
        QVERIFY2(v1, v1 ? "" : v1.error().c_str());
        FaultServer server;
        server.setDocumentRoot(site.site().toStdString());
        Syncd syncd(site, server.baseUrl());
        QVERIFY2(waitProcessingEvents([&] { return syncd.port() > 0; }, 20000), syncd.log().constData());
        const std::string base = "http://127.0.0.1:" + std::to_string(syncd.port());

        const Got health = httpGet(base + "/healthz");
        QCOMPARE(health.status, 200L);
        QCOMPARE(health.body, std::string("ok\n"));

        std::string metrics;
        QVERIFY2(waitProcessingEvents([&] {
                     metrics = httpGet(base + "/metrics").body;
                     return metricSample(metrics, "stoa_sync_active_manifest_version") == 1;
                 }, 30000),
                 metrics.c_str());
        QCOMPARE(metricSample(metrics, R"(stoa_sync_requests_total{channel="blob",outcome="ok"})"), 2.0);
        QVERIFY(metricSample(metrics, R"(stoa_sync_requests_total{channel="manifest",outcome="ok"})") >= 1);
        QCOMPARE(metricSample(metrics, "stoa_sync_downloaded_bytes_total"), 800000.0);
        QCOMPARE(metricSample(metrics, "stoa_sync_consecutive_failures"), 0.0);
        QVERIFY(metricSample(metrics, "stoa_process_resident_memory_bytes") > 1e6);

        // promtool, when installed, must accept exactly what we serve.
        QString why;
        QVERIFY2(promtoolAccepts(metrics, why), qPrintable(why));

        // The backend breaks: the metrics follow.
        server.addFault(Fault::statusCode(500).onPrefix("/v1/"));
        QVERIFY2(waitProcessingEvents([&] {
                     metrics = httpGet(base + "/metrics").body;
                     return metricSample(metrics, "stoa_sync_consecutive_failures") >= 2;
                 }, 30000),
                 metrics.c_str());
        QVERIFY(metricSample(metrics, R"(stoa_sync_requests_total{channel="manifest",outcome="error"})") >= 2);
        QVERIFY(metricSample(metrics, "stoa_sync_backoff_seconds") > 0);
        QCOMPARE(metricSample(metrics, "stoa_sync_active_manifest_version"), 1.0); // what plays is untouched
        QCOMPARE(httpGet(base + "/healthz").status, 200L); // failing requests are not a dead loop
        QVERIFY(syncd.terminate());
    }

    void notifiesSystemd()
    {
        TestSite site;
        QVERIFY2(site.error().empty(), site.error().c_str());
        NotifySocket notify(site.path("notify.sock"));
        QVERIFY(notify.ok());
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert("NOTIFY_SOCKET", site.path("notify.sock"));
        env.insert("WATCHDOG_USEC", "400000"); // 0.4 s: keep-alives every 0.2 s
        env.insert("JOURNAL_STREAM", "8:12345"); // stderr "is" the journal: priority prefixes
        FaultServer server;
        server.addFault(Fault::statusCode(500)); // polls fail and back off: warnings to log
        Syncd syncd(site, server.baseUrl(), env);
        QVERIFY2(waitProcessingEvents([&] { return notify.count("READY=1") == 1; }, 20000),
                 qPrintable(notify.messages().join(" | ")));
        QVERIFY2(waitProcessingEvents([&] { return notify.count("WATCHDOG=1") >= 5; }, 20000),
                 qPrintable(notify.messages().join(" | ")));
        QVERIFY(notify.anyStartsWith("STATUS="));
        QVERIFY(syncd.terminate());
        QVERIFY2(notify.count("STOPPING=1") == 1, qPrintable(notify.messages().join(" | ")));
        // One event per line, each with the priority journald reads.
        const QList<QByteArray> lines = syncd.log().trimmed().split('\n');
        QVERIFY(lines.size() >= 3);
        for (const QByteArray &line : lines)
            QVERIFY2(QRegularExpression(R"(^<[2-7]>(debug|info|warning|error|fatal) [\w.]+: )")
                         .match(QString::fromUtf8(line))
                         .hasMatch(),
                     line.constData());
        QVERIFY(syncd.log().contains("<6>info stoa.sync: stoa-syncd " STOA_VERSION));
        QVERIFY(syncd.log().contains("<4>warning stoa.sync: manifest poll failed"));
    }

    void cannotTakeContentSaysSo()
    {
        TestSite site;
        QVERIFY2(site.error().empty(), site.error().c_str());
        SmallFileSystem small(site.path("small"), "2m");
        if (!small.mounted())
            QSKIP("mounting a small tmpfs needs root");
        const Media a{"a.png", randomBytes(4096, 1)};
        const Media big{"big.mp4", randomBytes(3 * 1024 * 1024, 2)};
        auto v1 = site.publish({a});
        QVERIFY2(v1, v1 ? "" : v1.error().c_str());
        FaultServer server;
        server.setDocumentRoot(site.site().toStdString());
        const std::string statusPath = "/v1/devices/dev-1/status";
        server.setResponse("POST", statusPath, 204);
        Syncd syncd(site, server.baseUrl(), QProcessEnvironment::systemEnvironment(), site.path("small/data"),
                    {"--set", "status_interval_s=0.3"});
        QVERIFY2(waitProcessingEvents([&] { return syncd.port() > 0; }, 20000), syncd.log().constData());
        const std::string base = "http://127.0.0.1:" + std::to_string(syncd.port());
        std::string metrics;
        QVERIFY2(waitProcessingEvents([&] {
                     metrics = httpGet(base + "/metrics").body;
                     return metricSample(metrics, "stoa_sync_active_manifest_version") == double(v1->version);
                 }, 30000),
                 metrics.c_str());
        QCOMPARE(metricSample(metrics, R"(stoa_sync_staged_blocked{reason="no_space"})"), 0.0);

        // The last heartbeat's sync.staged_blocked (undefined before the first).
        auto lastBlocked = [&] {
            const auto beats = server.requestsTo(statusPath);
            return beats.empty() ? QJsonValue(QJsonValue::Undefined)
                                 : QJsonDocument::fromJson(QByteArray::fromStdString(beats.back().body))
                                       .object()
                                       .value("sync")
                                       .toObject()
                                       .value("staged_blocked");
        };
        auto v2 = site.publish({a, big});
        QVERIFY2(v2, v2 ? "" : v2.error().c_str());
        QVERIFY2(waitProcessingEvents([&] {
                     metrics = httpGet(base + "/metrics").body;
                     const QJsonObject b = lastBlocked().toObject();
                     return metricSample(metrics, R"(stoa_sync_staged_blocked{reason="no_space"})") == 1 &&
                            b.value("reason") == "no_space" && b.value("version").toInteger() == v2->version;
                 }, 30000),
                 (metrics + QJsonDocument(lastBlocked().toObject()).toJson().toStdString()).c_str());
        const QJsonObject b = lastBlocked().toObject();
        QVERIFY2(b.value("message").toString().contains("disk cannot fit 3145728 more bytes"),
                 qPrintable(b.value("message").toString()));
        QVERIFY(QDateTime::fromString(b.value("since").toString(), Qt::ISODate).isValid());
        QVERIFY(metricSample(metrics, "stoa_sync_staged_blocked_since_timestamp_seconds") > 1e9);
        QCOMPARE(metricSample(metrics, "stoa_sync_consecutive_failures"), 0.0); // the poll itself is fine
        QCOMPARE(metricSample(metrics, "stoa_sync_active_manifest_version"), double(v1->version));
        QString why;
        QVERIFY2(promtoolAccepts(metrics, why), qPrintable(why));

        QVERIFY(small.grow("16m"));
        QVERIFY2(waitProcessingEvents([&] {
                     metrics = httpGet(base + "/metrics").body;
                     return metricSample(metrics, "stoa_sync_active_manifest_version") == double(v2->version) &&
                            metricSample(metrics, R"(stoa_sync_staged_blocked{reason="no_space"})") == 0 &&
                            metricSample(metrics, "stoa_sync_staged_blocked_since_timestamp_seconds") == 0;
                 }, 30000),
                 metrics.c_str());
        const std::size_t beats = server.requestsTo(statusPath).size();
        QVERIFY(waitProcessingEvents([&] { return server.requestsTo(statusPath).size() > beats; }, 10000));
        QVERIFY2(lastBlocked().isNull(), QJsonDocument(lastBlocked().toObject()).toJson().constData());
        QVERIFY(syncd.terminate());
    }

    void checkConfig()
    {
        TestSite site;
        QFile good(site.path("good.conf"));
        QVERIFY(good.open(QIODevice::WriteOnly));
        good.write("server = https://example.com\nsyncd_listen = 127.0.0.1:9642\n");
        good.close();
        const auto ok = runProgram(STOA_SYNCD, {"--config", site.path("good.conf"), "--check-config"},
                                   RunOptions().timeout(10000).systemEnvironment());
        QCOMPARE(ok.exitCode, 0);
        QVERIFY2(ok.out.contains("configuration ok"), ok.describe().constData());

        QFile bad(site.path("bad.conf"));
        QVERIFY(bad.open(QIODevice::WriteOnly));
        bad.write("server = https://example.com\nquota = lots\n");
        bad.close();
        const auto refused = runProgram(STOA_SYNCD, {"--config", site.path("bad.conf"), "--check-config"},
                                        RunOptions().timeout(10000).systemEnvironment());
        QCOMPARE(refused.exitCode, 2);
        QVERIFY2(refused.err.contains("bad.conf:2: bad value for 'quota'"), refused.describe().constData());
    }
};

QTEST_GUILESS_MAIN(SyncdEndpoints)
#include "tst_syncd_endpoints.moc"
