// The device side of the §10 wake-up (sync/wake_listener.h) against the
// fault-injecting loopback server: changes reported once, no hot loop,
// unsupported servers asked rarely, errors backed off, a prompt stop.
#include "fault_server.h"

#include "sync/wake_listener.h"

#include <QElapsedTimer>
#include <QTest>

#include <atomic>

using namespace stoa;
using namespace stoa::testing;
using namespace std::chrono_literals;

namespace {

const std::string kPath = "/v1/devices/pi-1/wake";

sync::WakeListenerOptions optionsFor(const FaultServer &server)
{
    sync::WakeListenerOptions o;
    o.server = server.baseUrl() + "/";
    o.deviceId = "pi-1";
    o.minGap = sync::Millis(50);
    o.backoff.base = sync::Millis(200);
    o.backoff.cap = sync::Millis(2000);
    o.holdTimeoutS = 5;
    return o;
}

std::string cursorBody(const std::string &c) { return "{\"cursor\":\"" + c + "\"}"; }

} // namespace

class WakeListenerTest : public QObject {
    Q_OBJECT

private slots:
    void aChangeIsReportedOnce()
    {
        FaultServer server;
        server.setResponse("GET", kPath, 200, cursorBody("a"), {{"Content-Type", "application/json"}});
        std::atomic<int> changes{0};
        sync::WakeListener listener(optionsFor(server), [&] { ++changes; }, 1);
        listener.start();
        // The first call asks without a cursor; later ones carry it.
        QVERIFY(server.waitFor([](const auto &log) {
            return log.size() >= 3 && log[0].target == kPath && log[2].target == kPath + "?after=a";
        }, 10s));
        QCOMPARE(changes.load(), 0); // the same cursor again is no change

        server.setResponse("GET", kPath, 200, cursorBody("b"), {{"Content-Type", "application/json"}});
        QTRY_COMPARE_WITH_TIMEOUT(changes.load(), 1, 10000);
        QVERIFY(server.waitFor([](const auto &log) { return log.back().target == kPath + "?after=b"; }, 10s));
        QCOMPARE(changes.load(), 1);
        QCOMPARE(listener.stats().wakes, std::uint64_t{1});
        // The device's ordinary headers go with it.
        QVERIFY(server.requests().front().header("user-agent").find("stoa") != std::string::npos);
    }

    void instantAnswersDoNotMakeAHotLoop()
    {
        FaultServer server;
        server.setResponse("GET", kPath, 204);
        auto o = optionsFor(server);
        o.minGap = sync::Millis(200);
        sync::WakeListener listener(o, [] {}, 2);
        QElapsedTimer t;
        t.start();
        listener.start();
        QVERIFY(server.waitFor([](const auto &log) { return log.size() >= 6; }, 10s));
        const auto elapsed = t.elapsed();
        listener.stop();
        const auto log = server.requests();
        // Request i is sent at least i minGaps after the first. The server
        // stamps arrivals, and one request's arrival can be late on a busy
        // machine (which shortens the gap to the next one), so the check is
        // cumulative, with slack for the first request's own delay: a hot
        // loop (requests back to back) fails it by far.
        for (std::size_t i = 1; i < log.size(); ++i) {
            const auto since = std::chrono::duration_cast<std::chrono::milliseconds>(log[i].arrived - log[0].arrived);
            const auto least = std::chrono::milliseconds(200 * static_cast<long long>(i) - 150);
            QVERIFY2(since >= least, qPrintable(QString("request %1 came %2 ms after the first, under %3 ms")
                                                    .arg(i).arg(since.count()).arg(least.count())));
        }
        qInfo("%zu requests in %lld ms", log.size(), static_cast<long long>(elapsed));
    }

    void unsupportedIsAskedRarely()
    {
        FaultServer server; // unconfigured: 404
        auto o = optionsFor(server);
        sync::WakeListener listener(o, [] {}, 3);
        listener.start();
        QVERIFY(server.waitFor([](const auto &log) { return log.size() >= 1; }, 10s));
        QTRY_VERIFY_WITH_TIMEOUT(!listener.stats().supported, 5000);
        // Not again within the next second (it waits about an hour).
        QVERIFY(!server.waitFor([](const auto &log) { return log.size() >= 2; }, 1s));
    }

    void errorsBackOffAndHonourRetryAfter()
    {
        FaultServer server;
        server.setResponse("GET", kPath, 200, cursorBody("a"), {{"Content-Type", "application/json"}});
        server.addFault(Fault::retryAfter(503, "1").onPath(kPath).times(2));
        sync::WakeListener listener(optionsFor(server), [] {}, 4);
        listener.start();
        QVERIFY(server.waitFor([](const auto &log) { return log.size() >= 3; }, 15s));
        listener.stop();
        const auto log = server.requests();
        QCOMPARE(log[0].status, 503);
        QCOMPARE(log[1].status, 503);
        QCOMPARE(log[2].status, 200);
        // Retry-After: 1 was honoured (capped by the 2 s backoff cap).
        QVERIFY(log[1].arrived - log[0].arrived >= 900ms);
        QVERIFY(log[2].arrived - log[1].arrived >= 900ms);
        QCOMPARE(listener.stats().failures, std::uint64_t{2});
    }

    void stopEndsAHeldRequest()
    {
        FaultServer server;
        server.addFault(Fault::hang().onPath(kPath));
        auto o = optionsFor(server);
        o.holdTimeoutS = 90;
        sync::WakeListener listener(o, [] {}, 5);
        listener.start();
        QVERIFY(server.waitFor([](const auto &log) { return log.size() >= 1; }, 10s));
        QElapsedTimer t;
        t.start();
        listener.stop();
        QVERIFY2(t.elapsed() < 3000, qPrintable(QString("stop took %1 ms").arg(t.elapsed())));
    }

    void aHeldRequestIsNotCutForBeingSlow()
    {
        // The server holds the request without a byte, as §10 allows for
        // 60 s; the agent's low-speed limit must not apply to it.
        FaultServer server;
        server.addFault(Fault::hang().onPath(kPath));
        auto o = optionsFor(server);
        o.http.lowSpeedLimit = 256;
        o.http.lowSpeedTimeS = 1;
        o.holdTimeoutS = 30;
        sync::WakeListener listener(o, [] {}, 7);
        listener.start();
        QVERIFY(server.waitFor([](const auto &log) { return log.size() >= 1; }, 10s));
        QVERIFY(!server.waitFor([](const auto &log) { return log.size() >= 2; }, 3s));
        QCOMPARE(listener.stats().failures, std::uint64_t{0});
    }

    void fileBaseHasNoWakeUp()
    {
        sync::WakeListenerOptions o;
        o.server = "file:///srv/stoa";
        o.deviceId = "pi-1";
        std::atomic<int> changes{0};
        sync::WakeListener listener(o, [&] { ++changes; }, 6);
        listener.start();
        listener.stop();
        QCOMPARE(listener.stats().failures, std::uint64_t{0});
        QCOMPARE(changes.load(), 0);
    }
};

QTEST_GUILESS_MAIN(WakeListenerTest)
#include "tst_wake_listener.moc"
