// tests/platform/tst_service_notifier.cpp — the REAL SystemdNotifier (libsystemd
// sd_notify) talking to a datagram socket this test binds as $NOTIFY_SOCKET,
// and the watchdog feeder driving it end to end.
//
// No sleeps: datagrams are awaited with poll() up to a deadline.
#include "platform/rpi/service_notifier.h"
#include "platform/rpi/watchdog_feeder.h"

#include <QTemporaryDir>
#include <QTest>

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <optional>
#include <string>

using namespace stoa::platform;
using namespace std::chrono_literals;

namespace {

// A bound AF_UNIX datagram socket standing in for systemd's notify socket.
class NotifySocket {
public:
    explicit NotifySocket(const QString &path) : m_path(path.toStdString())
    {
        m_fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        if (m_path.size() >= sizeof(addr.sun_path))
            return;
        std::memcpy(addr.sun_path, m_path.c_str(), m_path.size() + 1);
        m_bound = ::bind(m_fd, reinterpret_cast<sockaddr *>(&addr), sizeof(addr)) == 0;
    }
    ~NotifySocket()
    {
        if (m_fd >= 0)
            ::close(m_fd);
    }
    bool bound() const { return m_bound; }

    // The next datagram, or nullopt when none arrives within `wait`.
    std::optional<std::string> next(std::chrono::milliseconds wait = 5000ms)
    {
        const auto deadline = std::chrono::steady_clock::now() + wait;
        for (;;) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - std::chrono::steady_clock::now());
            pollfd p{m_fd, POLLIN, 0};
            const int r = ::poll(&p, 1, static_cast<int>(std::max<long long>(0, left.count())));
            if (r > 0) {
                char buf[4096];
                const ssize_t n = ::recv(m_fd, buf, sizeof buf, 0);
                if (n >= 0)
                    return std::string(buf, static_cast<size_t>(n));
            }
            if (r == 0 || std::chrono::steady_clock::now() >= deadline)
                return std::nullopt;
        }
    }

    // Datagrams already waiting, without blocking.
    int drain()
    {
        int n = 0;
        while (next(0ms))
            ++n;
        return n;
    }

private:
    std::string m_path;
    int m_fd = -1;
    bool m_bound = false;
};

// Sent, not "no manager" and not an error.
bool sent(const std::expected<bool, std::string> &r) { return r.has_value() && *r; }

} // namespace

class TestServiceNotifier : public QObject {
    Q_OBJECT
private slots:
    void init();
    void cleanup();
    void sendsEachAssignment();
    void statusIsOneLine_data();
    void statusIsOneLine();
    void noNotifySocketIsNotAnError();
    void unreachableSocketIsAnError();
    void watchdogInterval_data();
    void watchdogInterval();
    void feederFeedsTheRealSocketOnlyWhileLive();

private:
    std::optional<QTemporaryDir> m_dir;
    std::optional<NotifySocket> m_socket;
};

void TestServiceNotifier::init()
{
    m_dir.emplace();
    QVERIFY(m_dir->isValid());
    const QString path = m_dir->filePath(QStringLiteral("notify"));
    m_socket.emplace(path);
    QVERIFY2(m_socket->bound(), qPrintable(path));
    qputenv("NOTIFY_SOCKET", path.toUtf8());
    qunsetenv("WATCHDOG_USEC");
    qunsetenv("WATCHDOG_PID");
}

void TestServiceNotifier::cleanup()
{
    qunsetenv("NOTIFY_SOCKET");
    qunsetenv("WATCHDOG_USEC");
    qunsetenv("WATCHDOG_PID");
    m_socket.reset();
    m_dir.reset();
}

void TestServiceNotifier::sendsEachAssignment()
{
    SystemdNotifier n;
    QVERIFY(sent(n.ready()));
    QCOMPARE(m_socket->next(), std::optional<std::string>("READY=1"));
    QVERIFY(sent(n.watchdog()));
    QCOMPARE(m_socket->next(), std::optional<std::string>("WATCHDOG=1"));
    QVERIFY(sent(n.status("playing lobby")));
    QCOMPARE(m_socket->next(), std::optional<std::string>("STATUS=playing lobby"));
    QVERIFY(sent(n.stopping()));
    QCOMPARE(m_socket->next(), std::optional<std::string>("STOPPING=1"));
    // The environment stays: a second round still reaches the socket.
    QVERIFY(n.watchdog().value());
    QCOMPARE(m_socket->next(), std::optional<std::string>("WATCHDOG=1"));
}

void TestServiceNotifier::statusIsOneLine_data()
{
    QTest::addColumn<QString>("text");
    QTest::addColumn<QString>("datagram");
    QTest::newRow("plain") << "ok" << "STATUS=ok";
    QTest::newRow("newline cannot inject WATCHDOG=1") << "stalled\nWATCHDOG=1" << "STATUS=stalled WATCHDOG=1";
    QTest::newRow("carriage return") << "a\r\nb" << "STATUS=a  b";
    QTest::newRow("empty") << "" << "STATUS=";
}

void TestServiceNotifier::statusIsOneLine()
{
    QFETCH(QString, text);
    QFETCH(QString, datagram);
    SystemdNotifier n;
    QVERIFY(n.status(text.toStdString()).value());
    const auto got = m_socket->next();
    QVERIFY(got);
    QCOMPARE(QString::fromStdString(*got), datagram);
    QCOMPARE(m_socket->drain(), 0); // one datagram, not two
}

void TestServiceNotifier::noNotifySocketIsNotAnError()
{
    qunsetenv("NOTIFY_SOCKET");
    SystemdNotifier n;
    const auto r = n.ready();
    QVERIFY(r.has_value());
    QCOMPARE(*r, false);
    QCOMPARE(m_socket->drain(), 0);
}

void TestServiceNotifier::unreachableSocketIsAnError()
{
    qputenv("NOTIFY_SOCKET", m_dir->filePath(QStringLiteral("nobody-listens")).toUtf8());
    SystemdNotifier n;
    const auto r = n.watchdog();
    QVERIFY(!r.has_value());
    QVERIFY2(QString::fromStdString(r.error()).contains("sd_notify(WATCHDOG)"), r.error().c_str());
}

void TestServiceNotifier::watchdogInterval_data()
{
    QTest::addColumn<QByteArray>("usec");  // null: unset
    QTest::addColumn<QByteArray>("pid");   // null: unset; "self": this process
    QTest::addColumn<qint64>("expectedUs"); // -1: off
    QTest::newRow("unset") << QByteArray() << QByteArray() << qint64(-1);
    QTest::newRow("30 s for us") << QByteArray("30000000") << QByteArray("self") << qint64(30'000'000);
    QTest::newRow("no pid given: for us") << QByteArray("2000000") << QByteArray() << qint64(2'000'000);
    QTest::newRow("for another process") << QByteArray("30000000") << QByteArray("1") << qint64(-1);
    QTest::newRow("malformed") << QByteArray("soon") << QByteArray("self") << qint64(-1);
    QTest::newRow("zero") << QByteArray("0") << QByteArray("self") << qint64(-1);
}

void TestServiceNotifier::watchdogInterval()
{
    QFETCH(QByteArray, usec);
    QFETCH(QByteArray, pid);
    QFETCH(qint64, expectedUs);
    if (!usec.isNull())
        qputenv("WATCHDOG_USEC", usec);
    if (!pid.isNull())
        qputenv("WATCHDOG_PID", pid == "self" ? QByteArray::number(::getpid()) : pid);
    SystemdNotifier n;
    const auto interval = n.watchdogInterval();
    if (expectedUs < 0) {
        QVERIFY(!interval);
    } else {
        QVERIFY(interval);
        QCOMPARE(interval->count(), expectedUs);
    }
    // Asking does not consume the variables.
    QCOMPARE(qgetenv("WATCHDOG_USEC"), usec);
}

void TestServiceNotifier::feederFeedsTheRealSocketOnlyWhileLive()
{
    // WatchdogSec=200ms as systemd would pass it: the feeder beats every 100 ms.
    qputenv("WATCHDOG_USEC", "200000");
    qputenv("WATCHDOG_PID", QByteArray::number(::getpid()));
    SystemdNotifier notifier;
    std::atomic<bool> liveFlag{true};
    WatchdogFeeder feeder(notifier, [&liveFlag] { return liveFlag.load(); });
    QVERIFY(feeder.start());

    QCOMPARE(m_socket->next(), std::optional<std::string>("WATCHDOG=1"));
    QCOMPARE(m_socket->next(), std::optional<std::string>("WATCHDOG=1"));

    // The loop hangs: one STATUS saying so, then silence while skips pile up.
    liveFlag = false;
    std::optional<std::string> got;
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while ((got = m_socket->next()) && *got == "WATCHDOG=1" && std::chrono::steady_clock::now() < deadline) {
    }
    QVERIFY(got);
    QVERIFY2(got->starts_with("STATUS=main loop not live"), got->c_str());
    const auto skipsAtStall = feeder.skips();
    QTRY_VERIFY_WITH_TIMEOUT(feeder.skips() >= skipsAtStall + 3, 10000);
    QCOMPARE(m_socket->drain(), 0);

    // Alive again: feeding resumes.
    liveFlag = true;
    QCOMPARE(m_socket->next(), std::optional<std::string>("WATCHDOG=1"));
    feeder.stop();
    m_socket->drain();
    const auto feeds = feeder.feeds();
    QVERIFY(!feeder.running());
    QVERIFY(!m_socket->next(300ms)); // nothing after stop
    QCOMPARE(feeder.feeds(), feeds);
}

QTEST_GUILESS_MAIN(TestServiceNotifier)
#include "tst_service_notifier.moc"
