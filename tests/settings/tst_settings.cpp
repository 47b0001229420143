// tests/settings/tst_settings.cpp — settings/: the key table, every value
// type and every error, strict against lenient, on real files; and
// docs/configuration.md, which must show exactly the table.
#include "test_files.h"

#include "settings/stoa_conf.h"

#include <QFile>
#include <QRegularExpression>
#include <QSet>
#include <QTemporaryDir>
#include <QTest>

using namespace stoa::settings;
using namespace std::chrono_literals;

class TestSettings : public QObject {
    Q_OBJECT

    QTemporaryDir m_dir;

    QString write(const QByteArray &text)
    {
        const QString path = m_dir.filePath("stoa.conf");
        stoa::testing::writeFile(path, text);
        return path;
    }

    static QString joined(const std::vector<SettingsError> &problems)
    {
        QStringList all;
        for (const auto &p : problems)
            all << QString::fromStdString(p.text());
        return all.join(QStringLiteral(" | "));
    }

private slots:
    void everyDefaultParsesAsItsOwnType()
    {
        for (const Key &k : keys()) {
            Settings s;
            const auto ok = assign(k, k.defaultText, s);
            QVERIFY2(ok, (std::string(k.name) + ": " + (ok ? "" : ok.error())).c_str());
        }
        const Settings &d = defaults();
        QCOMPARE(d.dataDir, std::string("/var/lib/stoa"));
        QCOMPARE(d.minFree, std::uint64_t(64) << 20);
        QCOMPARE(d.receiveBuffer, std::uint64_t(256) << 10);
        QCOMPARE(d.backoffCap, 900s);
        QCOMPARE(d.displayPower, DisplayPower::None);
        QCOMPARE(d.videoEngine, VideoEngine::Pipeline);
        QVERIFY(d.web);
        QVERIFY(!d.downloadWindow);
    }

    void keysAreUniqueAndDescribed()
    {
        QSet<QString> seen;
        for (const Key &k : keys()) {
            const QString name = QString::fromUtf8(k.name.data(), qsizetype(k.name.size()));
            QVERIFY2(!seen.contains(name), qPrintable(name));
            seen.insert(name);
            QVERIFY2(!k.description.empty() && k.description.find('\n') == std::string_view::npos, qPrintable(name));
            QCOMPARE(findKey(k.name), &k);
        }
        QCOMPARE(findKey("sever"), nullptr);
    }

    // A real file with one good value of every type.
    void everyTypeFromAFile()
    {
        Settings s = defaults();
        const auto problems = readFile(write("# a comment\n\n"
                                             "server = https://hub.example/s  # trailing comment\n" // URL
                                             "data_dir = /srv/stoa\n"                              // path
                                             "device_id = lobby-1\n"                               // string
                                             "syncd_listen = [::1]:9642\n"                         // address
                                             "web = off\n"                                         // bool
                                             "parallel_downloads = 16\n"                           // int, at its max
                                             "rotation = 270\n"                                    // int with step
                                             "quota = 2g\nmin_free = 256M\nreceive_buffer = 64M\n" // sizes
                                             "backoff_base_s = 2.5\n"                              // seconds
                                             "fade_ms = 400\n"                                     // milliseconds
                                             "download_window = 22:00-06:00\n"                     // window
                                             "display_power = vcgencmd\nvideo_engine = qt\n"),     // enums
                                       s, Mode::Strict, IfMissing::Error);
        QVERIFY2(problems.empty(), qPrintable(joined(problems)));
        QCOMPARE(s.server, std::string("https://hub.example/s"));
        QCOMPARE(s.dataDir, std::string("/srv/stoa"));
        QCOMPARE(s.deviceId, std::string("lobby-1"));
        QCOMPARE(s.syncdListen, std::string("[::1]:9642"));
        QVERIFY(!s.web);
        QCOMPARE(s.parallelDownloads, 16);
        QCOMPARE(s.rotation, 270);
        QCOMPARE(s.quota, std::uint64_t(2) << 30);
        QCOMPARE(s.minFree, std::uint64_t(256) << 20);
        QCOMPARE(s.receiveBuffer, std::uint64_t(64) << 20);
        QCOMPARE(s.backoffBase, 2500ms);
        QCOMPARE(s.fadeMs, 400ms);
        QVERIFY(s.downloadWindow);
        QCOMPARE(s.downloadWindow->first, 22 * 60);
        QCOMPARE(s.downloadWindow->second, 6 * 60);
        QCOMPARE(s.displayPower, DisplayPower::Vcgencmd);
        QCOMPARE(s.videoEngine, VideoEngine::RetiredQt);
        QCOMPARE(s.playerListen, defaults().playerListen); // untouched keys keep the defaults
    }

    void errors_data()
    {
        QTest::addColumn<QByteArray>("text");
        QTest::addColumn<QString>("message");   // the whole text of the one problem
        QTest::addColumn<QString>("expected");  // part of what a good value looks like; empty: none
        auto row = [](const char *name, const char *text, const char *message, const char *expected) {
            QTest::newRow(name) << QByteArray(text) << QString::fromUtf8(message) << QString::fromUtf8(expected);
        };
        row("unknown key", "server = x\nsever = y\n", "stoa.conf:2: unknown key 'sever'", "");
        row("one listen for both is ambiguous", "listen = 127.0.0.1:9\n", "stoa.conf:1: unknown key 'listen'", "");
        row("no equals", "server x\n", "stoa.conf:1: expected 'key = value'", "");
        row("no key", "= x\n", "stoa.conf:1: expected 'key = value'", "");
        row("url with a space", "server = http://a b\n", "stoa.conf:1: bad value for 'server': 'http://a b'", "URL");
        row("empty path where a default exists", "data_dir =\n", "stoa.conf:1: bad value for 'data_dir': ''", "non-empty path");
        row("address without port", "syncd_listen = 127.0.0.1\n", "stoa.conf:1: bad value for 'syncd_listen': '127.0.0.1'", "ADDR:PORT");
        row("port out of range", "player_listen = 127.0.0.1:70000\n", "stoa.conf:1: bad value for 'player_listen': '127.0.0.1:70000'", "ADDR:PORT");
        row("bool", "web = yes\n", "stoa.conf:1: bad value for 'web': 'yes'", "on or off");
        row("int not a number", "parallel_downloads = many\n", "stoa.conf:1: bad value for 'parallel_downloads': 'many'", "whole number");
        row("int above range", "parallel_downloads = 17\n", "stoa.conf:1: bad value for 'parallel_downloads': '17'", "integer, 1–16");
        row("int below range", "plays_batch = 0\n", "stoa.conf:1: bad value for 'plays_batch': '0'", "at least 1");
        row("int off its step", "rotation = 45\n", "stoa.conf:1: bad value for 'rotation': '45'", "one of: 0 90 180 270");
        row("int with a size suffix", "max_play_records = 100K\n", "stoa.conf:1: bad value for 'max_play_records': '100K'", "whole number");
        row("size junk", "quota = lots\n", "stoa.conf:1: bad value for 'quota': 'lots'", "K, M or G");
        // The agent's old strtoull took "-1" and wrapped it to 2^64-1: no quota at all.
        row("negative size", "quota = -1\n", "stoa.conf:1: bad value for 'quota': '-1'", "K, M or G");
        row("size overflow", "quota = 99999999999G\n", "stoa.conf:1: bad value for 'quota': '99999999999G'", "too large");
        row("size above range", "receive_buffer = 65M\n", "stoa.conf:1: bad value for 'receive_buffer': '65M'", "0–64M");
        row("seconds junk", "backoff_base_s = soon\n", "stoa.conf:1: bad value for 'backoff_base_s': 'soon'", "seconds");
        row("seconds negative", "sync_interval_s = -1\n", "stoa.conf:1: bad value for 'sync_interval_s': '-1'", "seconds");
        row("seconds below range", "backoff_base_s = 0\n", "stoa.conf:1: bad value for 'backoff_base_s': '0'", "seconds");
        // The agent's old parser read fade_ms as a size: "1K" was 1024 ms.
        row("milliseconds with a size suffix", "fade_ms = 1K\n", "stoa.conf:1: bad value for 'fade_ms': '1K'", "no suffix");
        row("milliseconds fractional", "fade_ms = 2.5\n", "stoa.conf:1: bad value for 'fade_ms': '2.5'", "no suffix");
        row("milliseconds negative", "fade_ms = -5\n", "stoa.conf:1: bad value for 'fade_ms': '-5'", "no suffix");
        row("milliseconds above range", "fade_ms = 10001\n", "stoa.conf:1: bad value for 'fade_ms': '10001'", "0–10000");
        row("window hour 25", "download_window = 25:00-02:00\n", "stoa.conf:1: bad value for 'download_window': '25:00-02:00'", "HH:MM-HH:MM");
        row("enum display_power", "display_power = hdmi\n", "stoa.conf:1: bad value for 'display_power': 'hdmi'", "drm vcgencmd cec none");
        row("enum is case-sensitive", "display_power = CEC\n", "stoa.conf:1: bad value for 'display_power': 'CEC'", "drm");
        row("enum video_engine", "video_engine = vlc\n", "stoa.conf:1: bad value for 'video_engine': 'vlc'", "pipeline qt");
    }

    // Each error, strict and lenient alike: one problem, its line, the
    // value kept at its default.
    void errors()
    {
        QFETCH(QByteArray, text);
        QFETCH(QString, message);
        QFETCH(QString, expected);
        for (Mode mode : {Mode::Strict, Mode::Lenient}) {
            Settings s = defaults();
            const auto problems = readFile(write(text), s, mode, IfMissing::Error);
            QCOMPARE(problems.size(), std::size_t(1));
            QVERIFY2(QString::fromStdString(problems[0].text()).endsWith(message), problems[0].text().c_str());
            QVERIFY2(QString::fromStdString(problems[0].expected).contains(expected), problems[0].expected.c_str());
            QCOMPARE(s.quota, defaults().quota);
            QCOMPARE(s.fadeMs, defaults().fadeMs);
            QCOMPARE(s.displayPower, defaults().displayPower);
            QCOMPARE(s.rotation, defaults().rotation);
        }
    }

    void strictStopsLenientCollects()
    {
        const QString path = write("rotation = 90\nquota = -1\nfade_ms = 300\nnot a line\nsever = x\nweb = off\n");
        Settings strict = defaults();
        auto problems = readFile(path, strict, Mode::Strict, IfMissing::Error);
        QCOMPARE(problems.size(), std::size_t(1));
        QVERIFY(problems[0].text().ends_with("stoa.conf:2: bad value for 'quota': '-1'"));
        QCOMPARE(problems[0].line, 2);
        QCOMPARE(problems[0].key, std::string("quota"));
        QCOMPARE(strict.fadeMs, 0ms); // nothing after the first problem is read

        Settings lenient = defaults();
        problems = readFile(path, lenient, Mode::Lenient, IfMissing::Error);
        QCOMPARE(problems.size(), std::size_t(3));
        QVERIFY(problems[1].text().ends_with("stoa.conf:4: expected 'key = value'"));
        QVERIFY(problems[2].text().ends_with("stoa.conf:5: unknown key 'sever'"));
        QCOMPARE(lenient.rotation, 90);   // above the bad line
        QCOMPARE(lenient.fadeMs, 300ms);  // and below it: a bad line costs no good one
        QVERIFY(!lenient.web);
        QCOMPARE(lenient.quota, std::uint64_t(0));
    }

    void laterLineWins()
    {
        Settings s = defaults();
        QVERIFY(readFile(write("rotation = 90\nrotation = 180\n"), s, Mode::Strict, IfMissing::Error).empty());
        QCOMPARE(s.rotation, 180);
    }

    void missingFile()
    {
        Settings s = defaults();
        QVERIFY(readFile(m_dir.filePath("absent.conf"), s, Mode::Strict, IfMissing::Skip).empty());
        const auto problems = readFile(m_dir.filePath("absent.conf"), s, Mode::Lenient, IfMissing::Error);
        QCOMPARE(problems.size(), std::size_t(1));
        QVERIFY2(problems[0].text().find("absent.conf: cannot read") != std::string::npos, problems[0].text().c_str());
    }

    // One file serves both processes: each one's keys are known to the reader.
    void theOtherProcessKeysAreKnown()
    {
        std::string all;
        for (const Key &k : keys())
            all += std::string(k.name) + " = " + std::string(k.defaultText) + "\n";
        Settings s = defaults();
        const auto problems = readFile(write(QByteArray::fromStdString(all)), s, Mode::Strict, IfMissing::Error);
        QVERIFY2(problems.empty(), qPrintable(joined(problems)));
    }

    void flagsGoThroughTheSameChecks()
    {
        Settings s = defaults();
        QVERIFY(setValue(s, "quota", "1M"));
        QCOMPARE(s.quota, std::uint64_t(1) << 20);
        auto bad = setValue(s, "quota", "-1");
        QVERIFY(!bad);
        QCOMPARE(QString::fromStdString(bad.error().text()), QStringLiteral("bad value for 'quota': '-1'"));
        QCOMPARE(s.quota, std::uint64_t(1) << 20);
        bad = setValue(s, "sever", "x");
        QVERIFY(!bad);
        QCOMPARE(QString::fromStdString(bad.error().text()), QStringLiteral("unknown config key 'sever'"));
    }

    void keysTogether()
    {
        Settings s = defaults();
        QVERIFY(checkTogether(s));
        QVERIFY(setValue(s, "backoff_base_s", "10"));
        QVERIFY(setValue(s, "backoff_cap_s", "1"));
        const auto e = checkTogether(s);
        QVERIFY(!e);
        QCOMPARE(QString::fromStdString(e.error().text()), QStringLiteral("backoff_cap_s is below backoff_base_s"));
    }

    void enumNames()
    {
        for (std::string_view n : kDisplayPowerNames)
            QCOMPARE(nameOf(*displayPowerFromName(n)), n);
        for (std::string_view n : kVideoEngineNames)
            QCOMPARE(nameOf(*videoEngineFromName(n)), n);
        QVERIFY(!displayPowerFromName("hdmi"));
        QVERIFY(!videoEngineFromName(""));
    }

    void keyNamesByReader()
    {
        const QStringList agent = QString::fromStdString(keyNames(Reader::Agent)).split(u' ');
        const QStringList player = QString::fromStdString(keyNames(Reader::Player)).split(u' ');
        QVERIFY(agent.contains("quota") && player.contains("quota")); // both read it
        QVERIFY(agent.contains("backoff_cap_s") && !player.contains("backoff_cap_s"));
        QVERIFY(player.contains("fade_ms") && !agent.contains("fade_ms"));
        QCOMPARE(qsizetype(QString::fromStdString(keyNames(Reader::Both)).split(u' ').size()), qsizetype(keys().size()));
    }

    // docs/configuration.md holds the table between two markers, exactly as
    // markdownKeyTable() makes it; each key both ways, for a readable failure.
    void docTableIsTheCodeTable()
    {
        QFile doc(QStringLiteral(STOA_SOURCE_DIR "/docs/configuration.md"));
        QVERIFY2(doc.open(QIODevice::ReadOnly), qPrintable(doc.fileName()));
        const QString text = QString::fromUtf8(doc.readAll());
        const QString begin = QStringLiteral("<!-- key table: made by settings::markdownKeyTable(), checked by tests/settings -->\n");
        const QString end = QStringLiteral("<!-- end of key table -->");
        const auto from = text.indexOf(begin);
        const auto to = text.indexOf(end);
        QVERIFY2(from >= 0 && to > from, "docs/configuration.md: the key table markers are missing");
        const QString table = text.mid(from + begin.size(), to - from - begin.size());

        QSet<QString> inDoc;
        static const QRegularExpression row(QStringLiteral("^\\| `([a-z_0-9]+)` \\|"), QRegularExpression::MultilineOption);
        for (auto it = row.globalMatch(table); it.hasNext();)
            inDoc.insert(it.next().captured(1));
        QSet<QString> inCode;
        for (const Key &k : keys())
            inCode.insert(QString::fromUtf8(k.name.data(), qsizetype(k.name.size())));
        for (const QString &k : inCode)
            QVERIFY2(inDoc.contains(k), qPrintable("docs/configuration.md lacks the key " + k));
        for (const QString &k : inDoc)
            QVERIFY2(inCode.contains(k), qPrintable("docs/configuration.md names a key the code does not have: " + k));
        const QString made = QString::fromStdString(markdownKeyTable());
        if (table != made) {
            QFile out(m_dir.filePath("key-table.md"));
            QVERIFY(out.open(QIODevice::WriteOnly));
            out.write(made.toUtf8());
            qWarning("expected table:\n%s", qPrintable(made));
            QFAIL("docs/configuration.md's key table differs from settings::markdownKeyTable() (printed above)");
        }
    }
};

QTEST_GUILESS_MAIN(TestSettings)
#include "tst_settings.moc"
