// tests/endpoints/tst_server.cpp — LocalServer over real loopback sockets:
// /healthz following a Liveness, /metrics following state, the rejection
// rules, slowloris and flood clients, listen addresses, stop(); a page
// held slow on the worker (Runs::OnWorker) never delays /healthz.
#include "endpoints/liveness.h"
#include "endpoints/metrics.h"
#include "endpoints/server.h"

#include "raw_http_client.h"
#include "process_probe.h"

#include <QFile>
#include <QRegularExpression>
#include <QTest>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>

using namespace stoa::endpoints;
using namespace stoa::endpoints::testing;

Q_DECLARE_METATYPE(ErrorCode)

namespace {

// A client that sends a request head one byte every 100 ms and never
// finishes it; records when and how the server ended the connection.
class SlowClient {
public:
    explicit SlowClient(std::uint16_t port)
    {
        fd_ = connectTo(port);
        connectedAt_ = Clock::now();
        thread_ = std::thread([this] { run(); });
    }
    ~SlowClient()
    {
        quit_ = true;
        thread_.join();
        if (fd_ >= 0)
            ::close(fd_);
    }
    bool connected() const { return fd_ >= 0; }
    int bytesSent() const { return sent_; }
    bool closed() const { return closed_; }
    std::string reply() const
    {
        std::lock_guard lock(m_);
        return reply_;
    }
    std::chrono::milliseconds openFor() const
    {
        return std::chrono::duration_cast<std::chrono::milliseconds>(closedAt_ - connectedAt_);
    }

private:
    void run()
    {
        const std::string head = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ";
        for (std::size_t i = 0; !quit_ && fd_ >= 0; ++i) {
            const char byte = i < head.size() ? head[i] : 'a';
            if (::send(fd_, &byte, 1, MSG_NOSIGNAL) != 1)
                break; // the server closed
            ++sent_;
            pollfd p{fd_, POLLIN, 0};
            if (::poll(&p, 1, 100) > 0) { // the server answered or closed: read it all
                char buf[1024];
                ssize_t n;
                while ((n = ::recv(fd_, buf, sizeof buf, 0)) > 0) {
                    std::lock_guard lock(m_);
                    reply_.append(buf, std::size_t(n));
                }
                break;
            }
        }
        closedAt_ = Clock::now();
        closed_ = true;
    }

    int fd_ = -1;
    Clock::time_point connectedAt_, closedAt_;
    std::atomic<bool> quit_{false}, closed_{false};
    std::atomic<int> sent_{0};
    mutable std::mutex m_;
    std::string reply_;
    std::thread thread_;
};

} // namespace

class TestServer : public QObject {
    Q_OBJECT

private slots:
    void healthzFollowsLiveness();
    void metricsFollowState();
    void rejections_data();
    void rejections();
    void headHasNoBody();
    void handlerErrors();
    void slowlorisIsCutOffWhileOthersAreServed();
    void slowPageDoesNotDelayHealthz();
    void floodIsRefusedAndServerRecovers();
    void badListenAddresses_data();
    void badListenAddresses();
    void bindFailures();
    void portZeroAndIpv6();
    void stopClosesConnectionsAndRestarts();
};

void TestServer::healthzFollowsLiveness()
{
    Liveness liveness(std::chrono::milliseconds(300), "test-loop");
    LocalServer server;
    QVERIFY(server.routeHealth(liveness));
    QVERIFY(server.start("127.0.0.1:0"));

    auto r = get(server.port(), "/healthz");
    QCOMPARE(r.status, 503); // never ticked
    QCOMPARE(QString::fromStdString(r.body), QString("no test-loop tick yet\n"));

    // A loop ticking every 20 ms: healthy on every probe.
    std::atomic<bool> ticking{true};
    std::thread loop([&] {
        while (ticking) {
            liveness.tick();
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
    });
    QTRY_COMPARE_WITH_TIMEOUT(get(server.port(), "/healthz").status, 200, 5000);
    for (int i = 0; i < 10; ++i) {
        r = get(server.port(), "/healthz");
        QCOMPARE(r.status, 200);
        QCOMPARE(QString::fromStdString(r.body), QString("ok\n"));
        QCOMPARE(QString::fromStdString(r.headers["content-type"]), QString("text/plain; charset=utf-8"));
    }
    ticking = false;
    loop.join();

    // The loop stopped: unhealthy once the window passes, with the reason.
    QTRY_COMPARE_WITH_TIMEOUT(get(server.port(), "/healthz").status, 503, 5000);
    r = get(server.port(), "/healthz");
    QVERIFY2(QRegularExpression("^no test-loop tick for \\d+\\.\\d s\\n$")
                 .match(QString::fromStdString(r.body)).hasMatch(),
             r.body.c_str());

    liveness.tick();
    QCOMPARE(get(server.port(), "/healthz").status, 200);
    QCOMPARE(get(server.port(), "/healthz?verbose=1").status, 200); // query ignored
}

void TestServer::metricsFollowState()
{
    MetricsRegistry registry;
    auto played = registry.counterFamily("stoa_playback_items_total", "Items played.", {"kind"});
    auto used = registry.gauge("stoa_store_used_bytes", "Bytes used by the store.");
    QVERIFY(played && used);
    std::atomic<std::int64_t> storeBytes{4096};
    registry.addCollector([&storeBytes, g = *used] { g.set(double(storeBytes.load())); });

    LocalServer server({}, &registry);
    QVERIFY(server.routeMetrics(registry));
    QVERIFY(server.start("127.0.0.1:0"));

    auto r = get(server.port(), "/metrics");
    QCOMPARE(r.status, 200);
    QCOMPARE(QString::fromStdString(r.headers["content-type"]),
             QString("text/plain; version=0.0.4; charset=utf-8"));
    QCOMPARE(sampleValue(r.body, "stoa_store_used_bytes"), std::optional<double>(4096));
    QVERIFY(!sampleValue(r.body, "stoa_playback_items_total{kind=\"video\"}"));

    played->labels({"video"}).inc(2);
    storeBytes = 8'000'000'000;
    r = get(server.port(), "/metrics");
    QCOMPARE(sampleValue(r.body, "stoa_playback_items_total{kind=\"video\"}"), std::optional<double>(2));
    QCOMPARE(sampleValue(r.body, "stoa_store_used_bytes"), std::optional<double>(8e9));
    // The server counts itself: the first /metrics request is in the second answer.
    const auto served = sampleValue(r.body, "stoa_endpoint_requests_total{path=\"/metrics\",code=\"200\"}");
    QCOMPARE(served, std::optional<double>(1));
    get(server.port(), "/nope");
    r = get(server.port(), "/metrics");
    QCOMPARE(sampleValue(r.body, "stoa_endpoint_requests_total{path=\"/metrics\",code=\"200\"}"),
             std::optional<double>(2));
    QCOMPARE(sampleValue(r.body, "stoa_endpoint_requests_total{path=\"other\",code=\"404\"}"),
             std::optional<double>(1));

    QString why; // promtool's complaint; accepted when it is not installed
    QVERIFY2(stoa::endpoints::testing::promtoolAccepts(r.body, why), qPrintable(why));
}

void TestServer::rejections_data()
{
    QTest::addColumn<QByteArray>("request");
    QTest::addColumn<int>("status");
    const QByteArray big(20000, 'a');
    QTest::newRow("garbage with line ends") << QByteArray("\x01\x02garbage\xff\r\n\r\n") << 400;
    QTest::newRow("binary, no line end") << QByteArray("\x16\x03\x01\x00\xa5\x01\x00", 7) << 400;
    QTest::newRow("words") << QByteArray("hello there\r\n\r\n") << 400;
    QTest::newRow("huge request line") << QByteArray("GET /" + big + " HTTP/1.1\r\n\r\n") << 413;
    QTest::newRow("huge header") << QByteArray("GET /healthz HTTP/1.1\r\nX-Big: " + big + "\r\n\r\n") << 413;
    QTest::newRow("body") << QByteArray("POST /healthz HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello") << 413;
    QTest::newRow("POST") << QByteArray("POST /healthz HTTP/1.1\r\nContent-Length: 0\r\n\r\n") << 405;
    QTest::newRow("DELETE") << QByteArray("DELETE /metrics HTTP/1.1\r\n\r\n") << 405;
    QTest::newRow("unknown path") << QByteArray("GET /admin HTTP/1.1\r\n\r\n") << 404;
    QTest::newRow("path prefix is not a match") << QByteArray("GET /healthz/x HTTP/1.1\r\n\r\n") << 404;
    QTest::newRow("HTTP/2") << QByteArray("GET /healthz HTTP/2.0\r\n\r\n") << 505;
    QTest::newRow("GET with query") << QByteArray("GET /healthz?a=b HTTP/1.1\r\n\r\n") << 200;
}

void TestServer::rejections()
{
    QFETCH(QByteArray, request);
    QFETCH(int, status);
    Liveness liveness;
    liveness.tick();
    ServerLimits limits;
    limits.headTimeout = std::chrono::seconds(60); // every answer below comes from parsing, not a timeout
    LocalServer server(limits);
    server.routeHealth(liveness);
    QVERIFY(server.start("127.0.0.1:0"));

    auto r = roundTrip(server.port(), request.toStdString());
    QVERIFY2(r.status == status, r.raw.c_str());
    QCOMPARE(QString::fromStdString(r.headers["connection"]), QString("close"));
    QCOMPARE(r.body.size(), std::size_t(std::stoul(r.headers["content-length"])));
    if (status == 405)
        QCOMPARE(QString::fromStdString(r.headers["allow"]), QString("GET, HEAD"));
    QCOMPARE(get(server.port(), "/healthz").status, 200); // and the server serves on
}

void TestServer::headHasNoBody()
{
    Liveness liveness;
    liveness.tick();
    MetricsRegistry registry;
    QVERIFY(registry.gauge("stoa_x_bytes", "x"));
    LocalServer server;
    server.routeHealth(liveness);
    server.routeMetrics(registry);
    QVERIFY(server.start("127.0.0.1:0"));
    for (const char *path : {"/healthz", "/metrics"}) {
        auto full = get(server.port(), path);
        auto head = get(server.port(), path, "HEAD");
        QCOMPARE(head.status, 200);
        QVERIFY2(head.body.empty(), head.raw.c_str());
        QVERIFY(!full.body.empty());
        QCOMPARE(head.headers["content-length"], std::to_string(full.body.size()));
    }
}

void TestServer::handlerErrors()
{
    LocalServer server;
    QVERIFY(server.route("/boom", [](const Request &) -> Response { throw std::runtime_error("kaput"); }));
    QVERIFY(server.route("/echo", [](const Request &q) { return Response{200, "text/plain", q.query, {}}; }));
    QVERIFY(!server.route("no-slash", [](const Request &) { return Response{}; }));
    QVERIFY(server.start("127.0.0.1:0"));
    QVERIFY(!server.route("/late", [](const Request &) { return Response{}; })); // fixed while running

    QTest::ignoreMessage(QtWarningMsg, QRegularExpression("handler for /boom threw: kaput"));
    QCOMPARE(get(server.port(), "/boom").status, 500);
    const auto echo = get(server.port(), "/echo?a=1");
    QCOMPARE(echo.status, 200);
    QCOMPARE(QString::fromStdString(echo.body), QString("a=1"));
    QCOMPARE(get(server.port(), "/late").status, 404);
    QVERIFY(!server.start("127.0.0.1:0")); // already running
}

void TestServer::slowlorisIsCutOffWhileOthersAreServed()
{
    Liveness liveness;
    liveness.tick();
    ServerLimits limits;
    limits.headTimeout = std::chrono::milliseconds(2000);
    LocalServer server(limits);
    server.routeHealth(liveness);
    QVERIFY(server.start("127.0.0.1:0"));

    std::vector<std::unique_ptr<SlowClient>> slow;
    for (int i = 0; i < 5; ++i) {
        slow.push_back(std::make_unique<SlowClient>(server.port()));
        QVERIFY(slow.back()->connected());
    }
    QTRY_VERIFY_WITH_TIMEOUT(slow.back()->bytesSent() >= 3, 5000);

    // Meanwhile, everyone else is answered at once.
    for (int i = 0; i < 20; ++i) {
        liveness.tick();
        QCOMPARE(get(server.port(), "/healthz").status, 200);
    }
    for (const auto &s : slow)
        QVERIFY2(!s->closed(), "a slow client was dropped before the deadline");

    // At the deadline each slow client gets 408 and is closed, unfinished.
    for (const auto &s : slow) {
        QTRY_VERIFY_WITH_TIMEOUT(s->closed(), 10000);
        QVERIFY2(s->openFor() >= limits.headTimeout - std::chrono::milliseconds(50),
                 qPrintable(QString("closed after %1 ms").arg(s->openFor().count())));
        QVERIFY2(parseReply(s->reply()).status == 408, s->reply().c_str());
    }
    QCOMPARE(get(server.port(), "/healthz").status, 200);
}

// A /status whose handler is held (it waits for the test, as the player's
// waits for its GUI thread): /healthz answers at once meanwhile, a request
// over maxWaiting is refused at once, and the held one is answered when let go.
void TestServer::slowPageDoesNotDelayHealthz()
{
    Liveness liveness;
    liveness.tick();
    ServerLimits limits;
    limits.maxWaiting = 1;
    LocalServer server(limits);
    server.routeHealth(liveness);
    std::mutex m;
    std::condition_variable cv;
    int entered = 0;
    bool release = false;
    QVERIFY(server.route(
        "/status",
        [&](const Request &) {
            std::unique_lock lock(m);
            ++entered;
            cv.notify_all();
            cv.wait_for(lock, std::chrono::seconds(30), [&] { return release; });
            return Response{200, "application/json", "{\"held\":true}", {}};
        },
        Runs::OnWorker));
    QVERIFY(server.start("127.0.0.1:0"));
    const std::uint16_t port = server.port();

    Reply held;
    std::thread client([&] {
        held = roundTrip(port, "GET /status HTTP/1.1\r\nHost: x\r\n\r\n", std::chrono::seconds(40));
    });
    const std::function<void()> letGo = [&] {
        std::lock_guard lock(m);
        release = true;
        cv.notify_all();
    };
    struct Joiner { // a failed check must not leave the client thread running
        std::thread &t;
        const std::function<void()> &letGo;
        ~Joiner()
        {
            letGo();
            if (t.joinable())
                t.join();
        }
    } joiner{client, letGo};
    {
        std::unique_lock lock(m);
        QVERIFY(cv.wait_for(lock, std::chrono::seconds(10), [&] { return entered == 1; }));
    }

    for (int i = 0; i < 20; ++i) {
        liveness.tick();
        const auto start = Clock::now();
        const Reply health = get(port, "/healthz");
        const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
        QCOMPARE(health.status, 200);
        QVERIFY2(took < std::chrono::milliseconds(500), qPrintable(QString("/healthz took %1 ms").arg(took.count())));
    }
    const auto start = Clock::now();
    const Reply refused = get(port, "/status");
    QCOMPARE(refused.status, 503);
    QCOMPARE(refused.headers.at("retry-after"), std::string("1"));
    QVERIFY(Clock::now() - start < std::chrono::milliseconds(500));

    letGo();
    client.join();
    QCOMPARE(held.status, 200);
    QCOMPARE(held.body, std::string("{\"held\":true}"));
    QCOMPARE(get(port, "/status").status, 200); // the slot is free again
}

void TestServer::floodIsRefusedAndServerRecovers()
{
    Liveness liveness;
    liveness.tick();
    MetricsRegistry registry;
    ServerLimits limits;
    limits.maxConnections = 8;
    limits.headTimeout = std::chrono::seconds(30); // held connections stay held
    LocalServer server(limits, &registry);
    server.routeHealth(liveness);
    server.routeMetrics(registry);
    QVERIFY(server.start("127.0.0.1:0"));

    constexpr int kFlood = 40;
    std::vector<int> fds;
    for (int i = 0; i < kFlood; ++i) {
        const int fd = connectTo(server.port());
        QVERIFY(fd >= 0);
        fds.push_back(fd);
    }
    // All beyond the limit are answered (503) or closed; wait until they are.
    int ended = 0;
    const auto deadline = Clock::now() + std::chrono::seconds(10);
    std::vector<bool> done(fds.size(), false);
    std::string someReply;
    while (ended < kFlood - limits.maxConnections && Clock::now() < deadline) {
        std::vector<pollfd> p;
        for (int fd : fds)
            p.push_back({fd, POLLIN, 0});
        ::poll(p.data(), p.size(), 100);
        for (std::size_t i = 0; i < p.size(); ++i) {
            if (!done[i] && p[i].revents) {
                done[i] = true;
                ++ended;
                if (auto raw = readToEof(fds[i], std::chrono::milliseconds(1000)); raw && !raw->empty())
                    someReply = *raw;
            }
        }
    }
    QCOMPARE(ended, kFlood - limits.maxConnections);
    QVERIFY2(parseReply(someReply).status == 503, someReply.c_str()); // told, not just dropped
    QVERIFY(server.isRunning());

    for (int fd : fds)
        ::close(fd);
    // Slots free again: served normally.
    QTRY_COMPARE_WITH_TIMEOUT(get(server.port(), "/healthz").status, 200, 5000);
    const auto m = get(server.port(), "/metrics");
    QVERIFY2(sampleValue(m.body, "stoa_endpoint_connections_refused_total").value_or(0)
                 >= kFlood - limits.maxConnections,
             m.body.c_str());
}

void TestServer::badListenAddresses_data()
{
    QTest::addColumn<QString>("address");
    QTest::newRow("empty") << "";
    QTest::newRow("no port") << "127.0.0.1";
    QTest::newRow("empty port") << "127.0.0.1:";
    QTest::newRow("port too big") << "127.0.0.1:65536";
    QTest::newRow("port not a number") << "127.0.0.1:http";
    QTest::newRow("negative port") << "127.0.0.1:-1";
    QTest::newRow("bad octet") << "256.0.0.1:9100";
    QTest::newRow("host name") << "example.com:9100";
    QTest::newRow("IPv6 without brackets") << "::1:9100";
    QTest::newRow("IPv6 no colon") << "[::1]9100";
    QTest::newRow("IPv6 unclosed") << "[::1:9100";
    QTest::newRow("IPv6 bad") << "[zz::1]:9100";
    QTest::newRow("IPv4 in brackets") << "[127.0.0.1]:9100";
}

void TestServer::badListenAddresses()
{
    QFETCH(QString, address);
    const auto parsed = parseListenAddress(address.toStdString());
    QVERIFY(!parsed);
    QCOMPARE(parsed.error().code, ErrorCode::BadAddress);
    QVERIFY2(parsed.error().message.find(address.toStdString()) != std::string::npos,
             parsed.error().message.c_str());
    LocalServer server;
    const auto started = server.start(address.toStdString());
    QVERIFY(!started);
    QCOMPARE(started.error().code, ErrorCode::BadAddress);
    QVERIFY(!server.isRunning());
    QCOMPARE(server.port(), std::uint16_t(0));
}

void TestServer::bindFailures()
{
    LocalServer first;
    QVERIFY(first.start("127.0.0.1:0"));
    LocalServer second;
    const auto inUse = second.start("127.0.0.1:" + std::to_string(first.port()));
    QVERIFY(!inUse);
    QCOMPARE(inUse.error().code, ErrorCode::Bind);
    QVERIFY2(inUse.error().message.find("in use") != std::string::npos, inUse.error().message.c_str());

    const auto notHere = second.start("192.0.2.1:0"); // TEST-NET-1: not an address of this host
    QVERIFY(!notHere);
    QCOMPARE(notHere.error().code, ErrorCode::Bind);
}

void TestServer::portZeroAndIpv6()
{
    const auto localhost = parseListenAddress("localhost:9100");
    QVERIFY(localhost);
    QCOMPARE(QString::fromStdString(localhost->toString()), QString("127.0.0.1:9100"));

    Liveness liveness;
    liveness.tick();
    LocalServer server;
    server.routeHealth(liveness);
    QVERIFY(server.start("127.0.0.1:0"));
    QVERIFY(server.port() != 0);
    QCOMPARE(QString::fromStdString(server.address()),
             QString("127.0.0.1:%1").arg(server.port()));
    QCOMPARE(get(server.port(), "/healthz").status, 200);

    LocalServer all;
    all.routeHealth(liveness);
    QVERIFY(all.start("0.0.0.0:0")); // binding beyond loopback is possible
    QCOMPARE(get(all.port(), "/healthz").status, 200);

    LocalServer v6;
    v6.routeHealth(liveness);
    const auto started = v6.start("[::1]:0");
    if (!started)
        QSKIP(qPrintable(QString("no IPv6 loopback here: %1").arg(started.error().message.c_str())));
    QCOMPARE(QString::fromStdString(v6.address()), QString("[::1]:%1").arg(v6.port()));
    QCOMPARE(roundTrip(v6.port(), "GET /healthz HTTP/1.1\r\n\r\n", std::chrono::milliseconds(5000), true).status,
             200);
}

void TestServer::stopClosesConnectionsAndRestarts()
{
    Liveness liveness;
    liveness.tick();
    LocalServer server;
    server.routeHealth(liveness);
    QVERIFY(server.start("127.0.0.1:0"));
    const auto port = server.port();
    const int idle = connectTo(port); // holds a connection, sends nothing
    QVERIFY(idle >= 0);
    QCOMPARE(get(port, "/healthz").status, 200); // the idle one was accepted by now

    server.stop();
    QVERIFY(!server.isRunning());
    QCOMPARE(server.port(), std::uint16_t(0));
    const auto rest = readToEof(idle, std::chrono::milliseconds(5000));
    QVERIFY(rest.has_value()); // closed by stop(), not left hanging
    ::close(idle);
    QCOMPARE(connectTo(port), -1); // nothing listens any more

    server.stop(); // idempotent
    QVERIFY(server.start("127.0.0.1:0"));
    QCOMPARE(get(server.port(), "/healthz").status, 200);
}

QTEST_GUILESS_MAIN(TestServer)
#include "tst_server.moc"
