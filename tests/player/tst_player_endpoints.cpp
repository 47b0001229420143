// tests/player/tst_player_endpoints.cpp — the real stoa-player process as
// systemd, Prometheus and an installer's laptop see it (issue 6 §8, issue 7).
//
//  - servesHealthMetricsAndStatus: stoa-player --demo with --listen
//    127.0.0.1:0 (under Xvfb, so frames are really swapped). /healthz is ok;
//    /status is spec §5's document (every key, the demo's manifest, what
//    plays); /metrics passes promtool and its played-items counter grows
//    while garbage, oversized and slow requests are thrown at the server —
//    playback does not notice them. systemd: READY=1, STATUS=, WATCHDOG=1.
//  - badConfigStillShowsTheScreen: a config file with a bad line: the player
//    starts anyway, logs the line and key, and /status answers.
// Waits are conditions with deadlines.
#include "raw_http_client.h"
#include "process_probe.h"
#include "wait_until.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QTest>

using namespace stoa::endpoints::testing;
using stoa::testing::waitProcessingEvents;

namespace {

class Player {
public:
    Player(const QStringList &args, QProcessEnvironment env = QProcessEnvironment::systemEnvironment())
    {
        m_process.setProcessEnvironment(env);
        m_process.setProcessChannelMode(QProcess::MergedChannels);
        m_process.start(STOA_PLAYER, QStringList{"--windowed", "--listen", "127.0.0.1:0"} + args);
    }
    ~Player()
    {
        if (m_process.state() != QProcess::NotRunning) {
            m_process.kill();
            m_process.waitForFinished(5000);
        }
    }
    QByteArray log() { return m_log += m_process.readAll(); }
    std::uint16_t port() { return std::uint16_t(servingPort(log())); }
    bool running() const { return m_process.state() == QProcess::Running; }
    bool terminate()
    {
        m_process.terminate();
        return m_process.waitForFinished(20000) && m_process.exitStatus() == QProcess::NormalExit;
    }

private:
    QProcess m_process;
    QByteArray m_log;
};

} // namespace

class PlayerEndpoints : public QObject {
    Q_OBJECT
private slots:
    void servesHealthMetricsAndStatus()
    {
        QTemporaryDir dir;
        NotifySocket notify(dir.filePath("notify.sock"));
        QVERIFY(notify.ok());
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert("NOTIFY_SOCKET", dir.filePath("notify.sock"));
        env.insert("WATCHDOG_USEC", "1000000");
        Player player({"--demo", "--config", "/dev/null", "--no-auto-diagnostics"}, env);
        QVERIFY2(waitProcessingEvents([&] { return player.port() != 0; }, 60000), player.log().constData());
        const std::uint16_t port = player.port();

        QVERIFY2(waitProcessingEvents([&] { return get(port, "/healthz").status == 200; }, 10000), player.log().constData());
        QCOMPARE(get(port, "/healthz").body, std::string("ok\n"));

        // /status: spec §5, every key, as of now.
        Reply status;
        QVERIFY(waitProcessingEvents([&] {
            status = get(port, "/status");
            const auto o = QJsonDocument::fromJson(QByteArray::fromStdString(status.body)).object();
            return status.status == 200 && !o.value("now_playing").toObject().value("playlist").isNull();
        }, 20000));
        QVERIFY2(status.headers["content-type"].find("application/json") == 0, status.headers["content-type"].c_str());
        const QJsonObject o = QJsonDocument::fromJson(QByteArray::fromStdString(status.body)).object();
        for (const char *key : {"device_id", "software_version", "sent_at", "uptime_s", "manifest", "now_playing",
                                "sync", "cache", "clock", "health", "pending_commands"})
            QVERIFY2(o.contains(key), key);
        QCOMPARE(o.value("device_id").toString(), QString("demo-screen"));
        QCOMPARE(o.value("software_version").toString(), QString(STOA_VERSION));
        QCOMPARE(o.value("manifest").toObject().value("version").toInt(), 1);
        QCOMPARE(o.value("manifest").toObject().value("stale").toBool(), false);
        QVERIFY(o.value("now_playing").toObject().value("asset").toString().startsWith("sha256:"));
        QVERIFY(o.value("cache").toObject().value("assets").toInt() >= 3);
        QVERIFY(o.value("clock").toObject().contains("trusted"));
        QVERIFY(o.value("health").toObject().contains("cpu_temp_c"));
        QVERIFY(o.value("pending_commands").isArray());
        QVERIFY(QDateTime::fromString(o.value("sent_at").toString(), Qt::ISODate).isValid());

        // /metrics: promtool accepts it, and it moves with playback (gauges
        // are refreshed every second).
        std::string metrics;
        QVERIFY2(waitProcessingEvents([&] {
                     metrics = get(port, "/metrics").body;
                     return metricSample(metrics, "stoa_playback_manifest_version") == 1 &&
                            metricSample(metrics, "stoa_playback_idle") == 0;
                 }, 10000),
                 metrics.c_str());
        QString why;
        QVERIFY2(promtoolAccepts(metrics, why), qPrintable(why));
        const QString played = R"(stoa_playback_items_total{kind="image",outcome="played"})";
        const double before = metricSample(metrics, played);
        QVERIFY(before >= 1);

        // Abuse while it plays: garbage, a huge head, a slow client.
        QCOMPARE(roundTrip(port, "\x16\x03\x01 not http\r\n\r\n").status, 400);
        QCOMPARE(roundTrip(port, "GET /metrics HTTP/1.1\r\nX: " + std::string(20000, 'a') + "\r\n\r\n").status, 413);
        const int slow = connectTo(port);
        QVERIFY(slow >= 0);
        QVERIFY(sendAll(slow, "GET /hea"));
        for (int i = 0; i < 200; ++i) // a burst of scrapes
            QCOMPARE(get(port, "/healthz").status, 200);
        // The demo's images change every few seconds: the counter keeps growing.
        QVERIFY2(waitProcessingEvents([&] { return metricSample(get(port, "/metrics").body, played) > before; }, 30000),
                 player.log().constData());
        ::close(slow);
        QVERIFY(player.running());

        QVERIFY(waitProcessingEvents([&] { return notify.count("READY=1") == 1 && notify.count("WATCHDOG=1") >= 3; }, 20000));
        QVERIFY(notify.anyStartsWith("STATUS="));
        QVERIFY(player.terminate());
        QVERIFY(notify.count("STOPPING=1") == 1);
    }

    void badConfigStillShowsTheScreen()
    {
        QTemporaryDir dir;
        QFile conf(dir.filePath("stoa.conf"));
        QVERIFY(conf.open(QIODevice::WriteOnly));
        conf.write("data_dir = " + dir.filePath("store").toUtf8() + "\nrotation = sideways\n");
        conf.close();
        Player player({"--config", dir.filePath("stoa.conf")});
        QVERIFY2(waitProcessingEvents([&] { return player.port() != 0; }, 30000), player.log().constData());
        QVERIFY(player.log().contains("stoa.conf:2: bad value for 'rotation': 'sideways'"));
        const Reply status = get(player.port(), "/status");
        QCOMPARE(status.status, 200);
        const QJsonObject o = QJsonDocument::fromJson(QByteArray::fromStdString(status.body)).object();
        QVERIFY(o.value("manifest").isNull()); // an empty store, the good line was used
        QVERIFY(QFile::exists(dir.filePath("store/state.db")));
        QVERIFY(player.running());
        QVERIFY(player.terminate());
    }
};

QTEST_GUILESS_MAIN(PlayerEndpoints)
#include "tst_player_endpoints.moc"
