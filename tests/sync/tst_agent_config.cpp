// sync/config: the agent's settings from /etc/stoa/stoa.conf and flags.
#include "test_files.h"

#include "sync/config.h"

#include <QTemporaryDir>
#include <QTest>

using namespace stoa::sync;

class TestAgentConfig : public QObject {
    Q_OBJECT

    QTemporaryDir m_dir;

    QString writeConf(const QByteArray &text)
    {
        const QString path = m_dir.filePath("stoa.conf");
        stoa::testing::writeFile(path, text);
        return path;
    }

private slots:
    void fileValuesAndFlagsThatWin()
    {
        const QString conf = writeConf("# comment\nserver = https://a.example\n"
                                       "backoff_base_s = 2.5  # trailing comment\nquota = 2G\n"
                                       "download_window = 22:00-06:00\nparallel_downloads = 4\n");
        auto c = loadAgentConfig({"stoa-syncd", "--config", conf, "--server", "file:///media/usb",
                                  "--set", "backoff_cap_s=60", "--device-id", "pi-1"});
        QVERIFY2(c, c ? "" : c.error().message.c_str());
        QCOMPARE(c->server, std::string("file:///media/usb")); // the flag wins
        QCOMPARE(c->backoff.base.count(), 2500);
        QCOMPARE(c->backoff.cap.count(), 60000);
        QCOMPARE(c->quotaBytes, std::uint64_t(2) << 30);
        QCOMPARE(c->parallelDownloads, 4);
        QCOMPARE(c->deviceId, std::string("pi-1"));
        QVERIFY(c->downloadWindow);
        QCOMPARE(c->downloadWindow->first, 22 * 60);
        QCOMPARE(c->downloadWindow->second, 6 * 60);
    }

    void errorsNameTheLineAndKey_data()
    {
        QTest::addColumn<QByteArray>("text");
        QTest::addColumn<QString>("message");
        QTest::newRow("typo") << QByteArray("server = x\nsever = y\n") << "stoa.conf:2: unknown key 'sever'";
        QTest::newRow("no equals") << QByteArray("server x\n") << "stoa.conf:1: expected 'key = value'";
        QTest::newRow("bad number") << QByteArray("server = x\nbackoff_base_s = soon\n")
                                    << "stoa.conf:2: bad value for 'backoff_base_s'";
        QTest::newRow("bad window") << QByteArray("server = x\ndownload_window = 25:00-02:00\n")
                                    << "stoa.conf:2: bad value for 'download_window'";
        QTest::newRow("player key, bad value") << QByteArray("server = x\nrotation = 45\n")
                                               << "stoa.conf:2: bad value for 'rotation'";
        QTest::newRow("bad listen") << QByteArray("server = x\nsyncd_listen = 127.0.0.1\n")
                                    << "stoa.conf:2: bad value for 'syncd_listen'";
        QTest::newRow("port out of range") << QByteArray("server = x\nplayer_listen = 127.0.0.1:70000\n")
                                           << "stoa.conf:2: bad value for 'player_listen'";
        QTest::newRow("one listen for both is ambiguous") << QByteArray("server = x\nlisten = 127.0.0.1:9\n")
                                                          << "stoa.conf:2: unknown key 'listen'";
        QTest::newRow("bad display power") << QByteArray("server = x\ndisplay_power = hdmi\n")
                                           << "stoa.conf:2: bad value for 'display_power'";
        QTest::newRow("bad video engine") << QByteArray("server = x\nvideo_engine = vlc\n")
                                          << "stoa.conf:2: bad value for 'video_engine'";
        // The agent's own size parser (strtoull) took "-1" as 2^64-1 and
        // fade_ms = 1K as 1024 ms; settings/ has one parser, and refuses both.
        QTest::newRow("negative quota") << QByteArray("server = x\nquota = -1\n")
                                        << "stoa.conf:2: bad value for 'quota': '-1'";
        QTest::newRow("fade_ms takes no size suffix") << QByteArray("server = x\nfade_ms = 1K\n")
                                                      << "stoa.conf:2: bad value for 'fade_ms': '1K'";
        QTest::newRow("cap below base") << QByteArray("server = x\nbackoff_base_s = 10\nbackoff_cap_s = 1\n")
                                        << "backoff_cap_s is below backoff_base_s";
        QTest::newRow("no server") << QByteArray("quota = 1G\n") << "no server configured";
    }

    void errorsNameTheLineAndKey()
    {
        QFETCH(QByteArray, text);
        QFETCH(QString, message);
        auto c = loadAgentConfig({"stoa-syncd", "--config", writeConf(text)});
        QVERIFY(!c);
        QVERIFY2(QString::fromStdString(c.error().message).contains(message), c.error().message.c_str());
    }

    void playerKeysAreAcceptedInTheSharedFile()
    {
        auto c = loadAgentConfig({"stoa-syncd", "--config", writeConf("server = x\nrotation = 90\nfade_ms = 400\n"
                                                                     "player_listen = 127.0.0.1:9641\n"
                                                                     "display_power = cec\nvideo_engine = qt\n"
                                                                     "web = off\n")});
        QVERIFY2(c, c ? "" : c.error().message.c_str());
        QCOMPARE(c->listen, std::string("127.0.0.1:0")); // the player's address is not ours
    }

    void ownListenAddressFromFileAndFlag()
    {
        auto c = loadAgentConfig({"stoa-syncd", "--config", writeConf("server = x\nsyncd_listen = [::1]:9642\n")});
        QVERIFY2(c, c ? "" : c.error().message.c_str());
        QCOMPARE(c->listen, std::string("[::1]:9642"));
        c = loadAgentConfig({"stoa-syncd", "--config", writeConf("server = x\nsyncd_listen = [::1]:9642\n"),
                             "--listen", "0.0.0.0:9700"});
        QVERIFY2(c, c ? "" : c.error().message.c_str());
        QCOMPARE(c->listen, std::string("0.0.0.0:9700")); // the flag wins
    }

    void setGoesThroughTheTable()
    {
        const QString conf = writeConf("server = x\n");
        auto c = loadAgentConfig({"stoa-syncd", "--config", conf, "--set", "quota=-1"});
        QVERIFY(!c);
        QCOMPARE(c.error().message, std::string("bad value for 'quota': '-1'"));
        c = loadAgentConfig({"stoa-syncd", "--config", conf, "--set", "sever=y"});
        QVERIFY(!c);
        QCOMPARE(c.error().message, std::string("unknown config key 'sever'"));
        c = loadAgentConfig({"stoa-syncd", "--config", conf, "--set", "rotation=90", "--set", "plays_batch=20000"});
        QVERIFY2(c, c ? "" : c.error().message.c_str()); // a player key is known; plays_batch is capped
        QCOMPARE(c->playsBatch, 10000);
    }

    void defaultsAreTheTables()
    {
        auto c = loadAgentConfig({"stoa-syncd", "--config", writeConf("server = x\n")});
        QVERIFY2(c, c ? "" : c.error().message.c_str());
        const AgentConfig byHand;
        QCOMPARE(c->minFreeBytes, std::uint64_t(64) << 20);
        QCOMPARE(byHand.minFreeBytes, c->minFreeBytes);
        QCOMPARE(byHand.backoff.cap.count(), 900000);
        QCOMPARE(c->backoff.cap, byHand.backoff.cap);
        QCOMPARE(c->receiveBufferBytes, byHand.receiveBufferBytes);
        QCOMPARE(c->listen, byHand.listen);
    }

    void unknownFlagIsAnError()
    {
        auto c = loadAgentConfig({"stoa-syncd", "--config", writeConf("server = x\n"), "--sever", "y"});
        QVERIFY(!c);
        QVERIFY(QString::fromStdString(c.error().message).contains("unknown option --sever"));
    }

    void missingExplicitConfigIsAnError()
    {
        auto c = loadAgentConfig({"stoa-syncd", "--config", m_dir.filePath("absent.conf"), "--server", "x"});
        QVERIFY(!c);
    }
};

QTEST_GUILESS_MAIN(TestAgentConfig)
#include "tst_agent_config.moc"
