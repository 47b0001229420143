// The hub serving HTTPS itself, with a private CA: the device's own
// transport (sync::HttpClient with ca_file) reaches it, a client without the
// CA is refused, and a certificate reload (SIGHUP in `serve`) gives new
// connections the new certificate while held requests finish on the old.
#include "hub_harness.h"
#include "test_pki.h"

#include "sync/http.h"

#include <QDir>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QScopeGuard>
#include <QTest>

#include <atomic>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

using namespace stoa;
using namespace stoa::hub;
using namespace stoa::hub::test;

class TlsTest : public QObject {
    Q_OBJECT
    Backends backends;
    QTemporaryDir pkiDir;
    Pki first, second;

    // A hub serving `cert`'s certificate with `key`'s key.
    static HubOptions tls(const Pki &cert, const Pki &key)
    {
        HubOptions options;
        options.http.tlsCertPem = readText(cert.cert);
        options.http.tlsKeyPem = readText(key.key);
        return options;
    }

    sync::TransferResult deviceGet(const std::string &url, const QString &caFile, const std::string &token)
    {
        sync::HttpOptions o;
        o.caFile = caFile.toStdString();
        o.bearerToken = token;
        o.userAgent = "stoa/test (pi-1)";
        sync::HttpClient client(o);
        sync::Request r;
        r.url = url;
        r.totalTimeoutS = 30;
        return client.perform(r);
    }

private slots:
    void initTestCase()
    {
        if (auto why = backends.init())
            QFAIL(why->c_str());
        first = makePki(pkiDir.path(), "first");
        second = makePki(pkiDir.path(), "second");
    }

    void deviceReachesTheHubOverHttps()
    {
        HubHarness h;
        const auto e = h.start(backends, tls(first, first));
        QVERIFY2(e.empty(), e.c_str());
        const std::string base = "https://127.0.0.1:" + std::to_string(h.hub->port());

        // The device's transport, trusting the private CA (its ca_file).
        const auto ok = deviceGet(base + "/healthz", first.ca, {});
        QVERIFY2(ok.has_value(), ok ? "" : ok.error().message.c_str());
        QCOMPARE(ok->status, 200L);
        sync::HttpOptions o;
        o.caFile = first.ca.toStdString();
        o.bearerToken = h.dev1;
        sync::HttpClient device(o);
        sync::Request status;
        status.url = base + "/v1/devices/pi-1/status";
        status.method = "POST";
        status.contentType = "application/json";
        status.body = R"({"device_id":"pi-1","manifest":{"version":3}})";
        const auto posted = device.perform(status);
        QVERIFY(posted.has_value());
        QCOMPARE(posted->status, 204L);
        QCOMPARE((*h.hub->storage().latestStatus("pi-1"))->manifestVersion, std::optional<std::int64_t>(3));

        // Without the CA (the system store only), or trusting another CA: refused.
        const auto untrusted = deviceGet(base + "/healthz", {}, {});
        QVERIFY(!untrusted.has_value());
        QCOMPARE(untrusted.error().kind, sync::TransferError::Tls);
        QVERIFY(!deviceGet(base + "/healthz", second.ca, {}).has_value());
        // Plain HTTP on the TLS port gets no answer.
        QVERIFY(!deviceGet("http://127.0.0.1:" + std::to_string(h.hub->port()) + "/healthz", {}, {}).has_value()
                || deviceGet("http://127.0.0.1:" + std::to_string(h.hub->port()) + "/healthz", {}, {})->status != 200);
    }

    void reloadSwapsTheCertificate()
    {
        HubHarness h;
        HubOptions options = tls(first, first);
        options.wakeHoldMs = 20000;
        const auto e = h.start(backends, options);
        QVERIFY2(e.empty(), e.c_str());
        const std::string base = "https://127.0.0.1:" + std::to_string(h.hub->port());

        // A wake-up held across the reload is still answered, on the old connection.
        const auto cursor = deviceGet(base + "/v1/devices/pi-1/wake", first.ca, h.dev1);
        QVERIFY(cursor.has_value());
        const auto now = QJsonDocument::fromJson(QByteArray::fromStdString(cursor->body)).object().value("cursor").toString().toStdString();
        auto held = std::async(std::launch::async, [&] { return deviceGet(base + "/v1/devices/pi-1/wake?after=" + now, first.ca, h.dev1); });
        QTRY_VERIFY_WITH_TIMEOUT(deviceGet(base + "/metrics", first.ca, {})->body.find("stoa_hub_wake_waiting 1") != std::string::npos, 10000);

        // A mismatched pair is refused and the old one keeps serving.
        const auto bad = h.hub->reloadTls(readText(second.cert), readText(first.key));
        QVERIFY(bad.has_value());
        QVERIFY2(bad->find("does not belong") != std::string::npos, bad->c_str());
        QCOMPARE(deviceGet(base + "/healthz", first.ca, {})->status, 200L);

        QVERIFY(!h.hub->reloadTls(readText(second.cert), readText(second.key)).has_value());
        const auto fresh = deviceGet(base + "/healthz", second.ca, {});
        QVERIFY2(fresh.has_value(), fresh ? "" : fresh.error().message.c_str());
        QCOMPARE(fresh->status, 200L);
        QVERIFY(!deviceGet(base + "/healthz", first.ca, {}).has_value());

        // Publish something: the held wake-up (old daemon) is answered.
        const std::string png = std::string("\x89PNG\r\n\x1a\n", 8) + "not really a png";
        HttpClient editor(base);
        editor.setCaFile(second.ca.toStdString());
        editor.setToken(h.admin);
        QCOMPARE(editor.put("/api/v1/media/a.png", png, "image/png").status, 200L);
        QCOMPARE(editor.put("/api/v1/schedules/fleet", "timezone = UTC\n[playlist main]\na.png 5s\n", "text/plain").status, 200L);
        QVERIFY(held.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
        const auto answered = held.get();
        QVERIFY2(answered.has_value(), answered ? "" : answered.error().message.c_str());
        QCOMPARE(answered->status, 200L);
    }

    // Reloads while devices keep connecting: the hub outlives every one (an
    // epoll daemon's quiesce raced its event loop into an abort, about one
    // reload in 200 under load) and no request fails meanwhile.
    void reloadsUnderLoadNeverAbort()
    {
        HubHarness h;
        const auto e = h.start(backends, tls(first, first));
        QVERIFY2(e.empty(), e.c_str());
        const std::string url = "https://127.0.0.1:" + std::to_string(h.hub->port()) + "/healthz";
        // Either certificate is trusted: the clients do not care which one answers.
        const QString bothCas = pkiDir.filePath("both-ca.pem");
        {
            QFile f(bothCas);
            QVERIFY(f.open(QIODevice::WriteOnly));
            f.write(QByteArray::fromStdString(readText(first.ca) + readText(second.ca)));
        }
        std::atomic<bool> stop{false};
        std::atomic<int> ok{0}, failed{0};
        std::string firstFailure;
        std::mutex failureMutex;
        std::vector<std::thread> clients;
        const auto joinClients = qScopeGuard([&] {
            stop.store(true);
            for (auto &t : clients)
                t.join();
        });
        for (int c = 0; c < 4; ++c)
            clients.emplace_back([&] {
                while (!stop.load()) {
                    const auto r = deviceGet(url, bothCas, {});
                    if (r && r->status == 200) {
                        ++ok;
                        continue;
                    }
                    ++failed;
                    std::lock_guard lock(failureMutex);
                    if (firstFailure.empty())
                        firstFailure = r ? "status " + std::to_string(r->status) : r.error().message;
                }
            });
        const std::string pairs[2][2] = {{readText(first.cert), readText(first.key)},
                                         {readText(second.cert), readText(second.key)}};
        constexpr int kReloads = 150;
        for (int i = 0; i < kReloads; ++i) {
            // Requests in flight at every reload: wait for the next answers.
            const int before = ok.load();
            QTRY_VERIFY_WITH_TIMEOUT(ok.load() >= before + 2, 20000);
            const auto &pair = pairs[(i + 1) % 2];
            const auto r = h.hub->reloadTls(pair[0], pair[1]);
            QVERIFY2(!r, r ? r->c_str() : "");
        }
        stop.store(true);
        for (auto &t : clients)
            t.join();
        clients.clear();
        qInfo("%d reloads, %d requests answered, %d failed", kReloads, ok.load(), failed.load());
        QVERIFY2(failed.load() == 0, firstFailure.c_str());
    }

    void startRefusesABadPair()
    {
        HubHarness h;
        const auto e = h.start(backends, tls(first, second));
        QVERIFY2(e.find("does not belong") != std::string::npos, e.c_str());
    }
};

QTEST_GUILESS_MAIN(TlsTest)
#include "tst_tls.moc"
