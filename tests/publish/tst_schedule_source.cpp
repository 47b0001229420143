// tests/publish/tst_schedule_source.cpp — the publishing library directly:
// durations, the schedule source format (v1 and the v1.1 §12-14 additions:
// layouts, text items, streams, sync and crop), and that every example
// source in docs/examples/ turns into a manifest the device's parser accepts.
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
        QTest::newRow("unknown command") << QByteArray("timezone = UTC\n[command c1]\ntype = dance\n")
                                    << "schedule.ini:3: [command c1]: type = \"dance\": not a v1 command (screenshot, restart_player, reboot, "
                                       "clear_cache, display_on, display_off)";
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

    // v1.1 §12-14 in the source: parsed with their lines, then written into
    // a payload that the device's parser reads back to the same values.
    void layoutsTextStreamsSyncRoundTrip()
    {
        const QByteArray text = R"(timezone = Europe/Oslo
default = lobby
default-layout = menu
image-duration = 7s

[playlist lobby]
welcome.png 8s
clip.mp4

[playlist promo]
offer.jpg crop=0.25,0,75%,0.5 cover

[playlist news]
text "Doors close at 22:00 · مرحبا 👋" 12s scroll color=#FFCC00 background=#000000
text Welcome

[playlist wall]
sync = 2026-11-01T00:00:00.250Z
clip.mp4 6s crop=0,0,0.5,0.5
welcome.png

[playlist cams]
rtsp://camera.local:8554/lobby 30s
https://cdn.example.com/live/index.m3u8?t=1 1m

[layout menu]                  ; ID PLAYLIST X Y W H [z=N]
main   lobby 0    0   0.75 0.9
side   promo 75%  0   25%  0.9
ticker news  0    0.9 1    0.1  z=1

[window lunch]
layout = menu
time = 11:00-14:00
priority = 5

[window wall]
time = 20:00-23:00

[layout evening]
big cams 0 0 1 1

[window evening]
days = sat
)";
        auto s = parseScheduleSource(text, "schedule.ini");
        QVERIFY2(s, s ? "" : qPrintable(s.error().message));
        QCOMPARE(s->defaultLayout, std::optional<QString>("menu"));
        QCOMPARE(s->defaultPlaylist, std::optional<QString>("lobby"));
        QCOMPARE(s->layouts.size(), std::size_t(2));
        const SourceLayout &menu = s->layouts.at(0);
        QCOMPARE(menu.line, 26);
        QCOMPARE(menu.regions.size(), std::size_t(3));
        QCOMPARE(menu.regions[1].id, QStringLiteral("side"));
        QCOMPARE(menu.regions[1].rect, (stoa::schedule::FractionRect{0.75, 0, 0.25, 0.9}));
        QCOMPARE(menu.regions[1].line, 28);
        QCOMPARE(menu.regions[2].z, 1);
        const auto &news = s->playlists.at(2).items;
        QCOMPARE(news[0].text->text, QStringLiteral("Doors close at 22:00 · مرحبا 👋"));
        QVERIFY(news[0].text->scroll);
        QVERIFY(!news[1].text->scroll);
        QCOMPARE(news[1].line, 15);
        QCOMPARE(s->playlists.at(3).sync, std::optional<QDateTime>(QDateTime::fromString("2026-11-01T00:00:00.250Z", Qt::ISODateWithMs)));
        QCOMPARE(s->playlists.at(4).items[0].stream, QStringLiteral("rtsp://camera.local:8554/lobby"));
        QCOMPARE(s->windows.at(0).layout, QStringLiteral("menu"));
        QVERIFY(s->windows.at(0).playlist.isEmpty());
        // A window named like a playlist or a layout plays it.
        QCOMPARE(s->windows.at(1).playlist, QStringLiteral("wall"));
        QCOMPARE(s->windows.at(2).layout, QStringLiteral("evening"));

        QTemporaryDir media;
        for (const char *file : {"welcome.png", "clip.mp4", "offer.jpg"}) {
            QFile f(media.filePath(file));
            QVERIFY(f.open(QIODevice::WriteOnly));
            f.write(QByteArray("placeholder ") + file);
        }
        auto assets = collectAssets(*s, media.path());
        QVERIFY2(assets, assets ? "" : qPrintable(assets.error().message));
        const QDateTime now = QDateTime::fromString("2026-11-23T10:00:00Z", Qt::ISODate);
        const QByteArray payload = buildManifestPayload(*s, *assets, {"*"}, 1, now, now.addDays(30));
        auto m = stoa::schedule::parseManifest(payload);
        QVERIFY2(m, m ? "" : qPrintable(m.error().reason));
        using namespace stoa::schedule;
        QCOMPARE(m->defaultPlaylist, std::optional<std::string>("lobby"));
        QVERIFY(m->defaultContent() == (ContentRef{ContentKind::Layout, "menu"}));
        const Layout &layout = m->layouts.at("menu");
        QCOMPARE(layout.regions.size(), std::size_t(3));
        QCOMPARE(layout.regions[0].id, std::string("main"));
        QCOMPARE(layout.regions[0].playlist, std::string("lobby"));
        QCOMPARE(layout.regions[0].rect, (FractionRect{0, 0, 0.75, 0.9}));
        QCOMPARE(layout.regions[1].rect, (FractionRect{0.75, 0, 0.25, 0.9}));
        QCOMPARE(layout.regions[2].rect, (FractionRect{0, 0.9, 1, 0.1}));
        QCOMPARE(layout.regions[2].z, 1);
        QCOMPARE(layout.regions[0].z, 0);

        const auto &ticker = m->playlists.at("news").items;
        QCOMPARE(ticker[0].text->text, QStringLiteral("Doors close at 22:00 · مرحبا 👋"));
        QVERIFY(ticker[0].text->scroll);
        QCOMPARE(ticker[0].text->color, (Rgb{0xff, 0xcc, 0x00}));
        QCOMPARE(ticker[0].text->background, std::optional<Rgb>(Rgb{0, 0, 0}));
        QCOMPARE(ticker[0].durationMs, std::optional<std::int64_t>(12000));
        QCOMPARE(ticker[1].text->color, (Rgb{255, 255, 255}));
        QVERIFY(!ticker[1].text->background);
        QCOMPARE(ticker[1].durationMs, std::optional<std::int64_t>(7000)); // image-duration

        const Playlist &wall = m->playlists.at("wall");
        QCOMPARE(wall.sync->epoch, QDateTime::fromString("2026-11-01T00:00:00.250Z", Qt::ISODateWithMs));
        QCOMPARE(wall.items[0].crop, std::optional<FractionRect>(FractionRect{0, 0, 0.5, 0.5}));
        QCOMPARE(wall.items[0].durationMs, std::optional<std::int64_t>(6000));
        QCOMPARE(wall.items[1].durationMs, std::optional<std::int64_t>(7000)); // an image in a sync playlist: image-duration
        QCOMPARE(m->playlists.at("promo").items[0].crop, std::optional<FractionRect>(FractionRect{0.25, 0, 0.75, 0.5}));
        QVERIFY(m->playlists.at("promo").items[0].fit == Fit::Cover);
        QVERIFY(!m->playlists.at("lobby").items[1].durationMs); // a video still plays to its end

        const auto &cams = m->playlists.at("cams").items;
        QCOMPARE(*cams[0].stream, QStringLiteral("rtsp://camera.local:8554/lobby"));
        QCOMPARE(*cams[1].stream, QStringLiteral("https://cdn.example.com/live/index.m3u8?t=1"));
        QCOMPARE(cams[1].durationMs, std::optional<std::int64_t>(60000));

        QCOMPARE(m->schedule.size(), std::size_t(3));
        QVERIFY(m->schedule[0].content() == (ContentRef{ContentKind::Layout, "menu"}));
        QCOMPARE(m->schedule[0].priority, 5);
        QVERIFY(m->schedule[1].content() == (ContentRef{ContentKind::Playlist, "wall"}));
        QVERIFY(m->schedule[2].content() == (ContentRef{ContentKind::Layout, "evening"}));
    }

    void v11ErrorsNameTheLine_data()
    {
        QTest::addColumn<QByteArray>("text");
        QTest::addColumn<QString>("message");
        const QByteArray head = "timezone = UTC\n[playlist p]\na.png\n"; // lines 1-3
        QTest::newRow("region out of bounds") << head + "[layout l]\nmain p 0.5 0 0.6 1\n"
            << "schedule.ini:5: [layout l]: region \"main\": x + w = 1.1 is over 1 (out of bounds)";
        QTest::newRow("region w zero") << head + "[layout l]\nmain p 0 0 0 1\n"
            << "schedule.ini:5: [layout l]: region \"main\": w must be greater than 0";
        QTest::newRow("region below 0") << head + "[layout l]\nmain p 0 -10% 1 1\n"
            << "schedule.ini:5: [layout l]: region \"main\": y -0.1 is below 0";
        QTest::newRow("region not numbers") << head + "[layout l]\nmain p left 0 1 1\n"
            << "schedule.ini:5: [layout l]: region \"main\": X Y W H must be numbers";
        QTest::newRow("region too few words") << head + "[layout l]\nmain p 0 0 1\n"
            << "schedule.ini:5: [layout l]: \"main p 0 0 1\": a region is ID PLAYLIST X Y W H";
        QTest::newRow("region bad z") << head + "[layout l]\nmain p 0 0 1 1 top\n"
            << "schedule.ini:5: [layout l]: region \"main\": \"top\": expected z=N";
        QTest::newRow("region id repeated") << head + "[layout l]\nmain p 0 0 1 0.5\nmain p 0 0.5 1 0.5\n"
            << "schedule.ini:6: [layout l]: region \"main\" is already defined on line 5";
        QTest::newRow("region playlist undefined") << head + "[layout l]\nmain p 0 0 1 0.5\nside q 0 0.5 1 0.5\n"
            << "schedule.ini:6: [layout l]: region \"side\": playlist \"q\" is not defined";
        QTest::newRow("layout without regions") << head + "\n[layout l]\n"
            << "schedule.ini:5: [layout l] has no regions";
        QTest::newRow("layout defined twice") << head + "[layout l]\nmain p 0 0 1 1\n[layout l]\n"
            << "schedule.ini:6: layout \"l\" is already defined on line 4";
        QTest::newRow("window layout undefined") << head + "[window w]\nlayout = nope\n"
            << "schedule.ini:4: [window w]: layout \"nope\" is not defined";
        QTest::newRow("window playlist and layout") << head + "[layout l]\nmain p 0 0 1 1\n[window w]\nplaylist = p\nlayout = l\n"
            << "schedule.ini:8: [window w]: a window plays either a playlist or a layout, not both";
        QTest::newRow("window name is both") << head + "[layout p]\nmain p 0 0 1 1\n[window p]\n"
            << "schedule.ini:6: [window p]: a playlist and a layout are both called \"p\"";
        QTest::newRow("window names nothing") << head + "[window w]\ndays = mon\n"
            << "schedule.ini:4: [window w]: playlist \"w\" is not defined";
        QTest::newRow("default-layout undefined") << QByteArray("timezone = UTC\ndefault-layout = menu\n[playlist p]\na.png\n")
            << "schedule.ini:2: default-layout = \"menu\": no [layout menu] is defined";
        QTest::newRow("default-layout naming a playlist") << QByteArray("timezone = UTC\ndefault-layout = p\n[playlist p]\na.png\n")
            << "schedule.ini:2: default-layout = \"p\": no [layout p] is defined";
        QTest::newRow("text without words") << head + "text\n"
            << "schedule.ini:4: [playlist p]: text needs the words to show";
        QTest::newRow("scroll on a picture") << head + "b.png scroll\n"
            << "schedule.ini:4: [playlist p]: \"b.png\": \"scroll\" applies to text items only";
        QTest::newRow("colour on a picture") << head + "b.png color=#ffffff\n"
            << "schedule.ini:4: [playlist p]: \"b.png\": \"color=#ffffff\" applies to text items only";
        QTest::newRow("bad colour") << head + "text hello color=#fff\n"
            << "schedule.ini:4: [playlist p]: text \"hello\": \"color=#fff\": expected a colour #rrggbb";
        QTest::newRow("bad background") << head + "text hello background=black\n"
            << "schedule.ini:4: [playlist p]: text \"hello\": \"background=black\"";
        QTest::newRow("fit on text") << head + "text hello cover\n"
            << "schedule.ini:4: [playlist p]: text \"hello\": a fit applies to pictures";
        QTest::newRow("crop on text") << head + "text hello crop=0,0,1,1\n"
            << "schedule.ini:4: [playlist p]: text \"hello\": crop applies to pictures";
        QTest::newRow("crop three numbers") << head + "b.png crop=0,0,1\n"
            << "schedule.ini:4: [playlist p]: \"b.png\": \"crop=0,0,1\": expected crop=X,Y,W,H";
        QTest::newRow("crop out of bounds") << head + "b.png crop=0.5,0.5,0.5,0.6\n"
            << "schedule.ini:4: [playlist p]: \"b.png\": \"crop=0.5,0.5,0.5,0.6\": y + h = 1.1 is over 1";
        QTest::newRow("stream without duration") << head + "rtsp://cam.local/1\n"
            << "schedule.ini:4: [playlist p]: live stream \"rtsp://cam.local/1\" needs a duration";
        QTest::newRow("HLS without duration") << head + "https://x.example/live.m3u8\n"
            << "schedule.ini:4: [playlist p]: live stream \"https://x.example/live.m3u8\" needs a duration";
        QTest::newRow("rtsp without host") << head + "rtsp:///1 30s\n"
            << "schedule.ini:4: [playlist p]: \"rtsp:///1\" is not a valid rtsp:// URL";
        QTest::newRow("rtmp") << head + "rtmp://cam/1 30s\n"
            << "schedule.ini:4: [playlist p]: \"rtmp://cam/1\": only http:// and https:// URLs";
        QTest::newRow("sync epoch bad") << head + "sync = 2026-11-01\n"
            << "schedule.ini:4: [playlist p]: sync = \"2026-11-01\": expected the epoch as an RFC 3339 time";
        QTest::newRow("sync twice") << head + "sync = 2026-11-01T00:00:00Z\nsync=2026-11-02T00:00:00Z\n"
            << "schedule.ini:5: [playlist p]: sync is set twice";
        QTest::newRow("sync video without duration") << head + "b.mp4\nc.png\nsync = 2026-11-01T00:00:00Z\n"
            << "schedule.ini:4: [playlist p]: \"b.mp4\" needs a duration: the playlist is synchronised";
        QTest::newRow("sync outside a playlist") << QByteArray("timezone = UTC\nsync = 2026-11-01T00:00:00Z\n")
            << "schedule.ini:2: unknown key \"sync\"";
    }

    void v11ErrorsNameTheLine()
    {
        QFETCH(QByteArray, text);
        QFETCH(QString, message);
        auto s = parseScheduleSource(text, "schedule.ini");
        QVERIFY2(!s, "parsed, but should not have");
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
