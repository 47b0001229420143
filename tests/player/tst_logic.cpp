// tests/player/tst_logic.cpp — the player's logic without a screen:
// round-robin over tied playlists, options and the config file.
#include "player/bad_items.h"
#include "player/item_picker.h"
#include "player/options.h"
#include "player/web_warm_up.h"

#include <QSignalSpy>
#include <QTemporaryDir>
#include <QRegularExpression>
#include <QTest>

#include <set>

using namespace stoa;
using namespace stoa::player;

namespace {

schedule::Manifest manifestWith(std::map<std::string, int> playlists)
{
    schedule::Manifest m;
    int n = 0;
    for (const auto &[name, count] : playlists)
        for (int i = 0; i < count; ++i) {
            schedule::PlaylistItem item;
            item.asset = schedule::Digest::fromHex(std::string(63, 'a') + char('a' + (n++ % 6)));
            m.playlists[name].items.push_back(item);
        }
    return m;
}

QString trace(ItemPicker &picker, const schedule::Manifest &m, const std::vector<std::string> &set, int picks,
              const std::set<std::pair<std::string, std::size_t>> &bad = {})
{
    QStringList out;
    for (int i = 0; i < picks; ++i) {
        const auto p = picker.next(m, set, [&](const std::string &pl, std::size_t idx) { return !bad.contains({pl, idx}); });
        out << (p ? QString::fromStdString(p->playlist) + QString::number(p->index) : QStringLiteral("-"));
    }
    return out.join(' ');
}

} // namespace

class LogicTest : public QObject {
    Q_OBJECT
private slots:
    void picker_data();
    void picker();
    void pickerStartsAfreshForANewSet();
    void badItemsRetryDoubling();
    void webWarmUpFollowsTheManifests();
    void options_data();
    void options();
    void configFile();
    void unreadableConfigStartsWithDefaults();
};

// A failed item is passed over until its retry time: base, doubled per
// further failure, capped; a good play or a new manifest forgets it.
void LogicTest::badItemsRetryDoubling()
{
    using std::chrono::milliseconds;
    BadItems bad(milliseconds(1000), milliseconds(5000));
    QVERIFY(!bad.isBad("a", 0));
    QCOMPARE(bad.firstRetryMs(0), std::nullopt);
    bad.markBad("a", 0);
    QVERIFY(bad.isBad("a", 999));
    QVERIFY(!bad.isBad("a", 1000));
    QVERIFY(!bad.isBad("b", 500));
    bad.markBad("a", 1000); // second failure: 2 s
    QVERIFY(bad.isBad("a", 2999));
    QVERIFY(!bad.isBad("a", 3000));
    bad.markBad("a", 3000); // third: 4 s
    QCOMPARE(bad.firstRetryMs(3000), std::optional<std::int64_t>(7000));
    QCOMPARE(bad.firstRetryMs(7000), std::nullopt); // its time has come: nothing is waiting
    bad.markBad("a", 7000); // fourth: 8 s, capped at 5 s
    QCOMPARE(bad.firstRetryMs(7000), std::optional<std::int64_t>(12000));
    bad.markBad("b", 7000);
    QCOMPARE(bad.firstRetryMs(7000), std::optional<std::int64_t>(8000));
    QCOMPARE(bad.firstRetryMs(8000), std::optional<std::int64_t>(12000)); // b's passed: a's next
    QCOMPARE(bad.size(), std::size_t(2));
    bad.forget("a");
    QVERIFY(!bad.isBad("a", 7001));
    bad.markBad("a", 7000); // forgotten: the first failure again, 1 s
    QVERIFY(!bad.isBad("a", 8000));
    bad.clear();
    QCOMPARE(bad.size(), std::size_t(0));
    QVERIFY(!bad.isBad("b", 7001));
}

// WebWarmUp without a web engine (offscreen, no QML): wanted while the
// active manifest has pages, never when disabled; its deadline makes it
// warm (and says so) when the page never reports; a warm-up dropped before
// it painted misses no deadline. The staged slot's part runs in
// tst_web.cpp (stagedPagesWarmUpTheEngine), with a real engine.
void LogicTest::webWarmUpFollowsTheManifests()
{
    using std::chrono::milliseconds;
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    cache::StoreOptions options;
    options.dataDir = dir.path().toStdString();
    auto store = cache::Store::open(options);
    QVERIFY2(store.has_value(), store ? "" : store.error().message.c_str());
    schedule::Manifest images = manifestWith({{"a", 2}});
    schedule::Manifest pages = images;
    schedule::PlaylistItem page;
    page.url = QStringLiteral("https://example.com/menu");
    pages.playlists["a"].items.push_back(page);
    QVERIFY(!hasWebItems(images));
    QVERIFY(hasWebItems(pages));

    WebWarmUp off(false, milliseconds(50));
    off.update(&pages, **store);
    QVERIFY(!off.wanted());
    QVERIFY(off.warm()); // page timers run from the load, as before the warm-up
    QVERIFY(!off.started());

    WebWarmUp on(true, milliseconds(200));
    QSignalSpy wanted(&on, &WebWarmUp::wantedChanged), warmed(&on, &WebWarmUp::warmed);
    on.update(&images, **store);
    QVERIFY(!on.wanted());
    QVERIFY(!on.started());
    QCOMPARE(wanted.count(), 0);
    on.update(&pages, **store);
    QVERIFY(on.wanted());
    QVERIFY(on.pageWanted());
    QVERIFY(on.started());
    QVERIFY(!on.warm());
    // Dropped before it painted: the deadline is off (three deadlines pass).
    on.update(&images, **store);
    QVERIFY(!on.wanted());
    QCOMPARE(wanted.count(), 2);
    QTest::qWait(600);
    QVERIFY(!on.warm());
    QCOMPARE(warmed.count(), 0);
    // Wanted again and never painted: warm at the deadline, logged.
    on.update(&pages, **store);
    QTest::ignoreMessage(QtWarningMsg, QRegularExpression("warm-up page did not paint within 200 ms"));
    QTRY_VERIFY_WITH_TIMEOUT(on.warm(), 5000);
    QCOMPARE(warmed.count(), 1);
    // Painted later, or again: warm once.
    on.done(true, {});
    QCOMPARE(warmed.count(), 1);
    // No pages any more: the page goes and the engine counts as cold again;
    // pages again: a new warm-up, the page timers wait for it.
    on.update(&images, **store);
    QVERIFY(!on.wanted());
    QVERIFY(!on.warm());
    on.update(&pages, **store);
    QVERIFY(on.wanted());
    QVERIFY(!on.warm());
    on.done(true, {});
    QVERIFY(on.warm());
    QCOMPARE(warmed.count(), 2);

    WebWarmUp painted(true, milliseconds(60000));
    QSignalSpy paintedWarm(&painted, &WebWarmUp::warmed);
    QSignalSpy pageChanges(&painted, &WebWarmUp::pageWantedChanged);
    painted.update(&pages, **store);
    QVERIFY(painted.pageWanted());
    painted.done(true, {});
    QVERIFY(painted.warm());
    QVERIFY(painted.wanted());
    QVERIFY(!painted.pageWanted()); // warm: the page goes, pages stay wanted
    QCOMPARE(pageChanges.count(), 2);
    QCOMPARE(paintedWarm.count(), 1);
    WebWarmUp failed(true, milliseconds(60000));
    failed.update(&pages, **store);
    QTest::ignoreMessage(QtWarningMsg, QRegularExpression("warm-up page failed: no renderer"));
    failed.done(false, QStringLiteral("no renderer"));
    QVERIFY(failed.warm()); // the pages' timers run; they fail on their own
}

void LogicTest::picker_data()
{
    QTest::addColumn<QStringList>("set");
    QTest::addColumn<QStringList>("bad"); // "a1"
    QTest::addColumn<QString>("expected");
    QTest::addRow("one playlist wraps") << QStringList{"a"} << QStringList{} << "a0 a1 a2 a0 a1";
    QTest::addRow("tied playlists take turns") << QStringList{"a", "b"} << QStringList{} << "a0 b0 a1 b1 a2 b0 a0";
    QTest::addRow("bad items passed over") << QStringList{"a"} << QStringList{"a1"} << "a0 a2 a0 a2 a0";
    QTest::addRow("an all-bad playlist gives its turn") << QStringList{"a", "b"} << QStringList{"b0", "b1"}
                                                       << "a0 a1 a2 a0 a1 a2 a0";
    QTest::addRow("nothing usable") << QStringList{"b"} << QStringList{"b0", "b1"} << "- - - - -";
    QTest::addRow("no playlists") << QStringList{} << QStringList{} << "- - - - -";
}

void LogicTest::picker()
{
    QFETCH(QStringList, set);
    QFETCH(QStringList, bad);
    QFETCH(QString, expected);
    const auto m = manifestWith({{"a", 3}, {"b", 2}});
    std::vector<std::string> names;
    for (const auto &s : set)
        names.push_back(s.toStdString());
    std::set<std::pair<std::string, std::size_t>> badSet;
    for (const auto &b : bad)
        badSet.insert({b.left(1).toStdString(), std::size_t(b.mid(1).toInt())});
    ItemPicker picker;
    QCOMPARE(trace(picker, m, names, int(expected.split(' ').size()), badSet), expected);
}

void LogicTest::pickerStartsAfreshForANewSet()
{
    const auto m = manifestWith({{"a", 3}, {"b", 2}});
    ItemPicker picker;
    QCOMPARE(trace(picker, m, {"a"}, 2), QStringLiteral("a0 a1"));
    QCOMPARE(trace(picker, m, {"b"}, 1), QStringLiteral("b0"));
    QCOMPARE(trace(picker, m, {"a"}, 1), QStringLiteral("a0"));
}

void LogicTest::options_data()
{
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<QString>("error"); // substring; empty: parses
    QTest::addColumn<QString>("dataDir");
    QTest::addColumn<int>("rotation");
    QTest::addRow("defaults") << QStringList{} << "" << "/var/lib/stoa" << 0;
    QTest::addRow("spec flags") << QStringList{"--data-dir", "/d", "--trusted-keys", "/k.pub", "--device-id", "pi-1",
                                               "--listen", "127.0.0.1:0", "--demo"}
                                << "" << "/d" << 0;
    QTest::addRow("rotation") << QStringList{"--rotation", "270"} << "" << "/var/lib/stoa" << 270;
    QTest::addRow("bad rotation") << QStringList{"--rotation", "45"} << "bad value for --rotation" << "" << 0;
    QTest::addRow("unknown option") << QStringList{"--sever", "x"} << "unknown option --sever" << "" << 0;
    QTest::addRow("missing value") << QStringList{"--data-dir"} << "needs a value" << "" << 0;
    QTest::addRow("fake now") << QStringList{"--fake-now", "2026-11-23T09:59:58Z"} << "" << "/var/lib/stoa" << 0;
    QTest::addRow("fake now without zone") << QStringList{"--fake-now", "2026-11-23T09:59:58"} << "RFC 3339" << "" << 0;
}

void LogicTest::options()
{
    QFETCH(QStringList, args);
    QFETCH(QString, error);
    QFETCH(QString, dataDir);
    QFETCH(int, rotation);
    // Never read the machine's /etc/stoa/stoa.conf in a test.
    if (!args.contains("--config")) {
        QTemporaryDir dir;
        const QString empty = dir.filePath("empty.conf");
        QFile(empty).open(QIODevice::WriteOnly);
        args = QStringList{"stoa-player", "--config", empty} + args;
        const auto parsed = parsePlayerOptions(args);
        QVERIFY2(error.isEmpty() == parsed.has_value(), parsed ? "parsed" : parsed.error().message.c_str());
        if (!parsed) {
            QVERIFY2(QString::fromStdString(parsed.error().message).contains(error), parsed.error().message.c_str());
            return;
        }
        QCOMPARE(QString::fromStdString(parsed->dataDir), dataDir);
        QCOMPARE(parsed->rotation, rotation);
        return;
    }
    QFAIL("every row runs with its own empty config");
}

void LogicTest::unreadableConfigStartsWithDefaults()
{
    // The screen must come up (idle/diagnostics) even when the file is gone.
    const auto parsed = parsePlayerOptions({"stoa-player", "--config", "/nonexistent/stoa.conf", "--rotation", "90"});
    QVERIFY(parsed);
    QVERIFY2(QString::fromStdString(parsed->configError).contains("/nonexistent/stoa.conf: cannot read"),
             parsed->configError.c_str());
    QCOMPARE(parsed->dataDir, std::string("/var/lib/stoa"));
    QCOMPARE(parsed->rotation, 90); // flags still apply
}

void LogicTest::configFile()
{
    QTemporaryDir dir;
    const QString path = dir.filePath("stoa.conf");
    QFile f(path);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write("# shared with stoa-syncd\nserver = https://example.com\ndata_dir = /srv/stoa\n"
            "device_id = lobby-1  # trailing comment\nrotation = 90\nquota = 8G\nvideo_engine = qt\n");
    f.close();
    auto parsed = parsePlayerOptions({"stoa-player", "--config", path, "--device-id", "flag-wins"});
    QVERIFY2(parsed, parsed ? "" : parsed.error().message.c_str());
    QCOMPARE(parsed->videoEngine, stoa::settings::VideoEngine::RetiredQt); // `qt` is still read (an older stoa.conf), and plays as pipeline
    QCOMPARE(parsePlayerOptions({"stoa-player", "--config", path, "--video-engine", "pipeline"})->videoEngine,
             stoa::settings::VideoEngine::Pipeline); // the flag wins
    QCOMPARE(parsed->quotaBytes, std::uint64_t(8) << 30);
    QVERIFY(!parsePlayerOptions({"stoa-player", "--config", path, "--video-engine", "vlc"}));
    QCOMPARE(parsed->dataDir, std::string("/srv/stoa"));
    QCOMPARE(parsed->deviceId, std::string("flag-wins"));
    QCOMPARE(parsed->rotation, 90);

    QVERIFY(f.open(QIODevice::WriteOnly | QIODevice::Truncate));
    f.write("data_dir = /x\nrotation = sideways\nplayer_listen = 127.0.0.1:9641\nno equals here\n"
            "display_power = hdmi\ndisplay_power = cec\nvideo_engine = mplayer\n"
            // The agent's size parser once took both; now one parser refuses them, in both processes.
            "quota = -1\nfade_ms = 1K\nfade_ms = 250\n");
    f.close();
    parsed = parsePlayerOptions({"stoa-player", "--config", path});
    QVERIFY(parsed); // a bad file never keeps the screen dark
    QVERIFY2(parsed->configError.find("stoa.conf:2: bad value for 'rotation': 'sideways'") != std::string::npos,
             parsed->configError.c_str());
    QVERIFY2(parsed->configError.find("stoa.conf:4: expected 'key = value'") != std::string::npos,
             parsed->configError.c_str());
    QVERIFY2(parsed->configError.find("stoa.conf:5: bad value for 'display_power'") != std::string::npos,
             parsed->configError.c_str());
    QVERIFY2(parsed->configError.find("stoa.conf:7: bad value for 'video_engine'") != std::string::npos,
             parsed->configError.c_str());
    QVERIFY2(parsed->configError.find("stoa.conf:8: bad value for 'quota': '-1'") != std::string::npos,
             parsed->configError.c_str());
    QVERIFY2(parsed->configError.find("stoa.conf:9: bad value for 'fade_ms': '1K'") != std::string::npos,
             parsed->configError.c_str());
    QCOMPARE(parsed->quotaBytes, std::uint64_t(0));        // not 2^64-1
    QCOMPARE(parsed->fadeMs, 250);                         // the good line after the bad one
    QCOMPARE(parsed->videoEngine, stoa::settings::VideoEngine::Pipeline); // the default stays
    QCOMPARE(parsed->dataDir, std::string("/x"));          // good lines still count
    QCOMPARE(parsed->rotation, 0);                         // the bad one keeps its default
    QCOMPARE(parsed->listen, std::string("127.0.0.1:9641"));
    QCOMPARE(parsed->displayPower, stoa::settings::DisplayPower::Cec);

    QVERIFY(f.open(QIODevice::WriteOnly | QIODevice::Truncate));
    f.write("data_dir = /y\n");
    f.close();
    parsed = parsePlayerOptions({"stoa-player", "--config", path});
    QVERIFY(parsed);
    QVERIFY(parsed->configError.empty());
}

QTEST_GUILESS_MAIN(LogicTest)
#include "tst_logic.moc"
