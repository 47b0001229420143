// tests/publish/tst_schedule_source.cpp — the publishing library directly:
// durations, the schedule source format, and that every example source in
// docs/examples/ turns into a manifest the device's parser accepts.
#include "schedule/manifest_parse.h"
#include "publish/duration.h"
#include "publish/media_type.h"
#include "publish/publish.h"
#include "publish/schedule_source.h"

#include <QDir>
#include <QFile>
#include <QTemporaryDir>
#include <QTest>

using namespace stoa::publish;
using stoa::schedule::Weekday;

Q_DECLARE_METATYPE(std::vector<Weekday>)

class TestScheduleSource : public QObject {
    Q_OBJECT

private slots:
    void durations_data()
    {
        QTest::addColumn<QString>("text");
        QTest::addColumn<qint64>("ms"); // -1: refused
        QTest::newRow("seconds") << "8s" << qint64{8000};
        QTest::newRow("millis") << "1500ms" << qint64{1500};
        QTest::newRow("minutes") << "2m" << qint64{120000};
        QTest::newRow("compound") << "1m30s" << qint64{90000};
        QTest::newRow("days") << "30d" << qint64{30} * 86400000;
        QTest::newRow("hours") << "12h" << qint64{12} * 3600000;
        QTest::newRow("padded") << " 8s " << qint64{8000};
        QTest::newRow("bare number") << "8" << qint64{-1};
        QTest::newRow("unknown unit") << "8x" << qint64{-1};
        QTest::newRow("negative") << "-8s" << qint64{-1};
        QTest::newRow("zero") << "0s" << qint64{-1};
        QTest::newRow("empty") << "" << qint64{-1};
        QTest::newRow("overflow") << "99999999999999999999d" << qint64{-1};
        QTest::newRow("huge days") << "9999999999999d" << qint64{-1};
    }

    void durations()
    {
        QFETCH(QString, text);
        QFETCH(qint64, ms);
        const auto parsed = parseDuration(text);
        QCOMPARE(parsed.has_value(), ms >= 0);
        if (parsed) {
            QCOMPARE(*parsed, ms);
            QCOMPARE(parseDuration(formatDuration(*parsed)), parsed); // printing round-trips
        }
    }

    void days_data()
    {
        QTest::addColumn<QString>("days");
        QTest::addColumn<std::vector<Weekday>>("expected");
        using enum Weekday;
        QTest::newRow("range") << "mon-fri" << std::vector{Mon, Tue, Wed, Thu, Fri};
        QTest::newRow("list") << "mon, wed,fri" << std::vector{Mon, Wed, Fri};
        QTest::newRow("wrapping range") << "fri-mon" << std::vector{Mon, Fri, Sat, Sun};
        QTest::newRow("weekends") << "weekends" << std::vector{Sat, Sun};
        QTest::newRow("full names") << "Monday Tuesday" << std::vector{Mon, Tue};
        QTest::newRow("daily") << "daily" << std::vector<Weekday>{};
        QTest::newRow("all seven is every day") << "weekdays weekends" << std::vector<Weekday>{};
    }

    void days()
    {
        QFETCH(QString, days);
        QFETCH(std::vector<Weekday>, expected);
        const QByteArray text = "timezone = UTC\n[playlist p]\na.png\n[window w]\nplaylist = p\ndays = " + days.toUtf8() + "\n";
        auto source = parseScheduleSource(text, "schedule.ini");
        QVERIFY2(source, source ? "" : qPrintable(source.error().message));
        QCOMPARE(source->windows.at(0).days, expected);
    }

    void fullSource()
    {
        const QByteArray text = R"(# comment
timezone = Europe/Oslo   ; trailing comment
devices = pi-1, pi-2
default = lobby
display = 22:00-06:00
image-duration = 7s
sync-interval = 5m
status-interval = 30s
rotation = 90

[playlist lobby]
"a b.png"
clip.mp4 20s stretch
https://example.com/x?a=b#frag 15s fit=cover

[window night]
playlist = lobby
from = 22:00
until = 02:00
priority = -3
dates = 2026-11-01..

[command shot-1]
type = screenshot
)";
        auto s = parseScheduleSource(text, "schedule.ini");
        QVERIFY2(s, s ? "" : qPrintable(s.error().message));
        QCOMPARE(s->timezone, QStringLiteral("Europe/Oslo"));
        QCOMPARE(s->devices, (std::vector<QString>{"pi-1", "pi-2"}));
        QCOMPARE(s->display->onMinute, 22 * 60);
        QCOMPARE(s->display->offMinute, 6 * 60);
        QCOMPARE(s->imageDurationMs, 7000);
        QCOMPARE(s->settings.syncIntervalS.value_or(0), 300);
        QCOMPARE(s->settings.statusIntervalS.value_or(0), 30);
        QCOMPARE(s->settings.rotation.value_or(0), 90);
        const auto &items = s->playlists.at(0).items;
        QCOMPARE(items.size(), std::size_t{3});
        QCOMPARE(items[0].file, QStringLiteral("a b.png"));
        QCOMPARE(items[1].durationMs.value_or(0), 20000);
        QCOMPARE(items[1].fit, std::optional{stoa::schedule::Fit::Stretch});
        QCOMPARE(items[2].url, QStringLiteral("https://example.com/x?a=b#frag"));
        QCOMPARE(items[2].fit, std::optional{stoa::schedule::Fit::Cover});
        QCOMPARE(items[2].line, 14);
        const SourceWindow &w = s->windows.at(0);
        QCOMPARE(w.fromMinute.value_or(-1), 22 * 60);
        QCOMPARE(w.untilMinute.value_or(-1), 2 * 60);
        QCOMPARE(w.priority, -3);
        QCOMPARE(w.startDate, std::optional{QDate(2026, 11, 1)});
        QVERIFY(!w.endDate);
        QCOMPARE(s->commands.at(0).type, std::string("screenshot"));
    }

    void errorsNameTheLine_data()
    {
        QTest::addColumn<QByteArray>("text");
        QTest::addColumn<QString>("message");
        QTest::newRow("duplicate key") << QByteArray("timezone = UTC\ntimezone = UTC\n") << "schedule.ini:2: key \"timezone\" is set twice";
        QTest::newRow("duplicate playlist") << QByteArray("timezone = UTC\n[playlist a]\nx.png\n[playlist a]\ny.png\n") << "schedule.ini:4: playlist \"a\" is already defined on line 2";
        QTest::newRow("empty playlist") << QByteArray("timezone = UTC\n\n[playlist a]\n") << "schedule.ini:3: [playlist a] has no items";
        QTest::newRow("time and from") << QByteArray("timezone = UTC\n[playlist a]\nx.png\n[window a]\ntime = 01:00-02:00\nfrom = 01:00\n") << "schedule.ini:6: [window a]: use either";
        QTest::newRow("24:00") << QByteArray("timezone = UTC\n[playlist a]\nx.png\n[window a]\nuntil = 24:00\n") << "schedule.ini:5: [window a]: until = \"24:00\"";
        QTest::newRow("dates reversed") << QByteArray("timezone = UTC\n[playlist a]\nx.png\n[window a]\ndates = 2026-12-01..2026-11-01\n") << "schedule.ini:5: [window a]: dates";
        QTest::newRow("bad rotation") << QByteArray("timezone = UTC\nrotation = 45\n") << "schedule.ini:2: rotation = \"45\"";
        QTest::newRow("sync too fast") << QByteArray("timezone = UTC\nsync-interval = 1s\n") << "schedule.ini:2: sync-interval";
        QTest::newRow("bad device") << QByteArray("timezone = UTC\ndevices = a/b\n") << "schedule.ini:2: devices: \"a/b\"";
        QTest::newRow("unknown section") << QByteArray("timezone = UTC\n[playlists a]\n") << "schedule.ini:2: unknown section kind \"playlists\"";
        QTest::newRow("unknown command") << QByteArray("timezone = UTC\n[command c1]\ntype = dance\n") << "schedule.ini:3: [command c1]: type = \"dance\"";
        QTest::newRow("default undefined") << QByteArray("timezone = UTC\ndefault = lobby\n") << "schedule.ini:2: default = \"lobby\"";
        QTest::newRow("unterminated quote") << QByteArray("timezone = UTC\n[playlist a]\n\"x.png 8s\n") << "schedule.ini:3: [playlist a]: unterminated";
        QTest::newRow("ftp url") << QByteArray("timezone = UTC\n[playlist a]\nftp://x/y 8s\n") << "schedule.ini:3: [playlist a]: \"ftp://x/y\"";
        QTest::newRow("two durations") << QByteArray("timezone = UTC\n[playlist a]\nx.png 8s 9s\n") << "schedule.ini:3: [playlist a]: \"x.png\": duration given twice";
    }

    void errorsNameTheLine()
    {
        QFETCH(QByteArray, text);
        QFETCH(QString, message);
        auto s = parseScheduleSource(text, "schedule.ini");
        QVERIFY(!s);
        QCOMPARE(s.error().kind, ErrorKind::Invalid);
        QVERIFY2(s.error().message.startsWith(message), qPrintable(s.error().message));
    }

    void mediaTypes_data()
    {
        QTest::addColumn<QString>("file");
        QTest::addColumn<QString>("mime");
        QTest::newRow("jpg") << "a.jpg" << "image/jpeg";
        QTest::newRow("JPEG upper") << "A.JPEG" << "image/jpeg";
        QTest::newRow("png") << "dir/a.png" << "image/png";
        QTest::newRow("webp") << "a.webp" << "image/webp";
        QTest::newRow("mp4") << "a.mp4" << "video/mp4";
        QTest::newRow("webm") << "a.webm" << "video/webm";
        QTest::newRow("mkv") << "a.mkv" << "video/x-matroska";
        QTest::newRow("mov") << "a.mov" << "video/quicktime";
        QTest::newRow("txt") << "a.txt" << "";
        QTest::newRow("no extension") << "README" << "";
    }

    void mediaTypes()
    {
        QFETCH(QString, file);
        QFETCH(QString, mime);
        const auto type = mediaTypeForFile(file);
        QCOMPARE(type ? type->mime : QString(), mime);
    }

    // Every example under docs/examples/ parses, and with placeholder media
    // yields a manifest that the device-side parser accepts.
    void examplesBuildValidManifests()
    {
        const QDir examples(QStringLiteral(STOA_EXAMPLES_DIR));
        const QStringList dirs = examples.entryList(QDir::Dirs | QDir::NoDotAndDotDot, QDir::Name);
        int checked = 0;
        for (const QString &name : dirs) {
            const QString file = examples.filePath(name + "/schedule.ini");
            if (!QFile::exists(file)) continue;
            QFile f(file);
            QVERIFY(f.open(QIODevice::ReadOnly));
            auto source = parseScheduleSource(f.readAll(), name + "/schedule.ini");
            QVERIFY2(source, source ? "" : qPrintable(source.error().message));
            QTemporaryDir media;
            for (const auto &p : source->playlists)
                for (const auto &item : p.items) {
                    if (item.file.isEmpty()) continue;
                    QFile m(media.filePath(item.file));
                    QVERIFY(m.open(QIODevice::WriteOnly));
                    m.write("placeholder " + item.file.toUtf8());
                }
            auto assets = collectAssets(*source, media.path());
            QVERIFY2(assets, assets ? "" : qPrintable(assets.error().message));
            const QDateTime now = QDateTime::currentDateTimeUtc();
            const QByteArray payload = buildManifestPayload(*source, *assets, {"*"}, 1, now, now.addDays(30));
            auto manifest = stoa::schedule::parseManifest(payload);
            QVERIFY2(manifest, manifest ? "" : qPrintable(name + ": " + manifest.error().reason));
            QVERIFY(stoa::schedule::checkReferences(*manifest));
            ++checked;
        }
        QVERIFY2(checked >= 2, "docs/examples/ should hold at least two example sources");
    }
};

QTEST_GUILESS_MAIN(TestScheduleSource)
#include "tst_schedule_source.moc"
