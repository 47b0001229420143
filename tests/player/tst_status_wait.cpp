// tests/player/tst_status_wait.cpp — the player's /status held slow never
// delays /healthz (issue 15: "a load balancer or systemd health check must
// never wait on a slow page").
//
// Offscreen: a real store, Playback and LocalEndpoints (the class main.cpp
// uses) whose gather hook — the GUI thread building the §5 document — is
// held until a prober thread lets it go. While /status waits for that
// document, the prober asks /healthz and /metrics: each must answer within
// 500 ms (before the fix they waited for /status's whole 2 s). Then the
// document is let go and /status answers with it.
#include "player_harness.h"
#include "raw_http_client.h"

#include "player/device_state.h"
#include "player/local_endpoints.h"
#include "player/playback.h"

#include <QJsonDocument>
#include <QJsonObject>
#include <QTest>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

using namespace stoa;
using namespace stoa::player;
using namespace stoa::player::testing;
using stoa::endpoints::testing::get;
using stoa::endpoints::testing::Reply;
using stoa::endpoints::testing::roundTrip;

namespace {

// The GUI thread's gather, held on request until let go (or 20 s, so a
// broken build fails instead of hanging).
class HeldGather {
public:
    void holdNext()
    {
        std::lock_guard lock(m_mutex);
        m_hold = true;
    }
    // On the GUI thread, inside gather.
    void maybeWait()
    {
        std::unique_lock lock(m_mutex);
        if (!m_hold)
            return;
        m_hold = false;
        m_held = true;
        m_changed.notify_all();
        m_changed.wait_for(lock, std::chrono::seconds(20), [&] { return m_letGo; });
        m_held = false;
    }
    bool waitUntilHeld(std::chrono::milliseconds timeout)
    {
        std::unique_lock lock(m_mutex);
        return m_changed.wait_for(lock, timeout, [&] { return m_held; });
    }
    void letGo()
    {
        std::lock_guard lock(m_mutex);
        m_letGo = true;
        m_changed.notify_all();
    }

private:
    std::mutex m_mutex;
    std::condition_variable m_changed;
    bool m_hold = false, m_held = false, m_letGo = false;
};

} // namespace

class StatusWait : public QObject {
    Q_OBJECT
private slots:
    void healthzIsNotHeldBySlowStatus();
};

void StatusWait::healthzIsNotHeldBySlowStatus()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    cache::StoreOptions so;
    so.dataDir = QDir(dir.path()).filePath("store").toStdString();
    auto store = cache::Store::open(so);
    QVERIFY2(store, store ? "" : store.error().message.c_str());
    QDir(dir.path()).mkpath("media");
    ContentBuilder content(**store, QDir(dir.path()).filePath("media"));
    content.activate(content.manifest(1, {}, {}));
    PlaybackConfig config;
    config.deviceId = "slow-status";
    Playback playback(**store, playerClocks(std::nullopt), config);
    playback.start();

    HeldGather held;
    LocalEndpoints endpoints(playback, nullptr, [&] {
        held.maybeWait();
        GatherInputs in;
        in.deviceId = config.deviceId;
        in.now = playback.clock().now();
        return gatherDeviceState(**store, in);
    });
    const auto started = endpoints.start("127.0.0.1:0");
    QVERIFY2(started, started ? "" : started.error().c_str());
    const std::uint16_t port = endpoints.port();
    QCOMPARE(get(port, "/status").status, 200);

    // The prober: /status (held), then /healthz and /metrics while it is.
    held.holdNext();
    Reply status;
    std::vector<std::pair<std::string, long long>> probes; // path, ms (-1: not answered 200)
    bool sawHold = false;
    std::atomic<bool> done{false};
    std::thread statusClient([&] {
        status = roundTrip(port, "GET /status HTTP/1.1\r\nHost: x\r\n\r\n", std::chrono::seconds(30));
    });
    std::thread prober([&] {
        sawHold = held.waitUntilHeld(std::chrono::seconds(10));
        for (int i = 0; sawHold && i < 10; ++i) {
            for (const char *path : {"/healthz", "/metrics"}) {
                const auto start = std::chrono::steady_clock::now();
                const Reply r = get(port, path);
                const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                    std::chrono::steady_clock::now() - start)
                                    .count();
                probes.emplace_back(path, r.status == 200 ? ms : -1);
            }
        }
        held.letGo();
        done = true;
    });
    // This thread is the GUI thread: its loop must turn for the hook to run.
    const bool finished = QTest::qWaitFor([&] { return done.load(); }, 30000);
    held.letGo();
    prober.join();
    statusClient.join();
    QVERIFY(finished);
    QVERIFY2(sawHold, "the gather hook was never entered: /status did not ask for a document");
    QCOMPARE(probes.size(), std::size_t(20));
    for (const auto &[path, ms] : probes)
        QVERIFY2(ms >= 0 && ms < 500, qPrintable(QString("%1 took %2 ms").arg(path.c_str()).arg(ms)));
    QCOMPARE(status.status, 200);
    const QJsonObject doc = QJsonDocument::fromJson(QByteArray::fromStdString(status.body)).object();
    QCOMPARE(doc.value("device_id").toString(), QString("slow-status"));
    QCOMPARE(doc.value("manifest").toObject().value("version").toInt(), 1);
}

QTEST_MAIN(StatusWait)
#include "tst_status_wait.moc"
