// tests/player/tst_playback.cpp — the player on screen (under Xvfb, run-xvfb.sh).
//
// Real store, real signed manifests, real media of distinct solid colours;
// the window is grabbed and its pixels say what is on screen. Timing bounds
// are behavioural (an item of 400 ms must not switch at 50 ms or at 2 s),
// generous enough for a loaded machine.
#include "player_harness.h"

#include <QElapsedTimer>
#include <QQuickItem>
#include <QSignalSpy>

#include <set>

using namespace stoa;
using namespace stoa::player;
using namespace stoa::player::testing;

namespace {

const QColor kRed(255, 0, 0), kGreen(0, 255, 0), kBlue(0, 0, 255);
// The skip path for web items (config.web = false): "not built in" wins when it is not.
const std::string kWebSkipped = kWebBuiltIn ? kWebTurnedOff : kWebNotBuiltIn;


} // namespace

class PlaybackTest : public QObject {
    Q_OBJECT
private slots:
    void imagesPlayInOrderOnTime();
    void scheduleBoundarySwitchesAtItsInstant();
    void newManifestIsPickedUp();
    void faultsAreSkippedAndReported();
    void videosPlayWithoutGaps();
    void singleVideoLoops();
    void idleScreenWhenNothingPlayable();
    void lastGoodItemHeldWhenTheRestFails();
    void idleScreenRetriesFailedItems();
    void idleScreenWithoutManifest();
    void commands();
    void fitModes_data();
    void fitModes();
    void imageFormats_data();
    void bigPhotoIsDecodedAtScreenSize();
    void imageFormats();
    void rotation_data();
    void rotation();
    void fadeKeepsOutgoingVisible();
};

void PlaybackTest::imageFormats_data()
{
    QTest::addColumn<QByteArray>("format");
    QTest::addColumn<QColor>("colour");
    QTest::addRow("PNG") << QByteArray("PNG") << QColor(kRed);
    QTest::addRow("JPEG") << QByteArray("JPEG") << QColor(kGreen);
    QTest::addRow("WebP") << QByteArray("WEBP") << QColor(kBlue);
}

// The image kinds: JPEG, PNG, WebP, each between two items of
// another colour so a format that does not decode cannot pass by leftovers.
void PlaybackTest::imageFormats()
{
    QFETCH(QByteArray, format);
    QFETCH(QColor, colour);
    PlayerHarness h;
    QImage img(320, 180, QImage::Format_RGB32);
    img.fill(colour);
    const Media m = h.content->image(img, format.constData());
    const Media other = h.content->solid(QColor(255, 255, 0));
    h.content->activate(h.content->manifest(1, {{"main", playlist({item(other, 300), item(m, 300)})}}, "main"));
    QVERIFY(h.start());
    QTRY_VERIFY_WITH_TIMEOUT(near(h.pixel(), QColor(255, 255, 0)), 5000);
    QTRY_VERIFY_WITH_TIMEOUT(near(h.pixel(), colour), 3000);
    const auto incomplete = h.firstIncompletePlay();
    QVERIFY2(!incomplete, incomplete.value_or("").c_str());
}

// "decoded at screen size so a 8000 px photo does not cost 250 MB": the
// image the slot holds is about the window's size, and the process did
// not grow by the photo's full decode (8000 x 6000 x 4 bytes = 183 MB).
void PlaybackTest::bigPhotoIsDecodedAtScreenSize()
{
    PlayerHarness h;
    QTemporaryDir dir;
    const QString path = dir.filePath("big.jpg");
    QProcess ffmpeg; // out of process: the test itself never holds the big image
    ffmpeg.start("ffmpeg", {"-v", "error", "-y", "-f", "lavfi", "-i", "color=c=0x00ff00:s=8000x6000", "-frames:v",
                            "1", "-q:v", "5", path});
    QVERIFY(ffmpeg.waitForFinished(60000) && ffmpeg.exitCode() == 0);
    QFile file(path);
    QVERIFY(file.open(QIODevice::ReadOnly));
    const Media big = h.content->bytes(file.readAll(), QStringLiteral("image/jpeg"));
    const Media small = h.content->solid(kBlue);
    h.content->activate(h.content->manifest(1, {{"main", playlist({item(small, 60000), item(big, 60000)})}}, "main"));
    QVERIFY(h.start());
    QTRY_VERIFY_WITH_TIMEOUT(near(h.pixel(), kBlue), 5000);
    const qint64 before = rssKb();
    // The big photo is loading into the hidden slot: wait until it is ready.
    QTRY_VERIFY_WITH_TIMEOUT(h.playback->slotA()->state() == MediaSlot::State::Ready ||
                                 h.playback->slotB()->state() == MediaSlot::State::Ready,
                             10000);
    const qint64 after = rssKb();
    const QSize window = h.shell->window()->size();
    int checked = 0;
    for (QQuickItem *image : h.shell->window()->findChildren<QQuickItem *>("slotImage")) {
        if (image->property("status").toInt() != 1) // Image.Ready
            continue;
        const QSize decoded(int(image->implicitWidth()), int(image->implicitHeight()));
        // sourceSize scales the photo to cover the window (4:3 on 16:9: the
        // window's width and more height), never to its own 8000 x 6000.
        QVERIFY2(qint64(decoded.width()) * decoded.height() <= 2LL * window.width() * window.height(),
                 qPrintable(QStringLiteral("decoded at %1x%2 for a %3x%4 window")
                                .arg(decoded.width()).arg(decoded.height()).arg(window.width()).arg(window.height())));
        ++checked;
    }
    QVERIFY2(checked == 2, qPrintable(QStringLiteral("%1 decoded slot images").arg(checked))); // the small one on screen, the big one ready beneath
    QVERIFY2(after - before < 64 * 1024, qPrintable(QStringLiteral("grew %1 kB").arg(after - before)));
}

void PlaybackTest::imagesPlayInOrderOnTime()
{
    PlayerHarness h;
    const Media r = h.content->solid(kRed), g = h.content->solid(kGreen), b = h.content->solid(kBlue);
    h.content->activate(h.content->manifest(1, {{"main", playlist({item(r, 400), item(g, 400), item(b, 400)})}}, "main"));
    QVERIFY(h.start());
    SwitchLog log(*h.playback);
    DarkWatch dark(*h.playback);
    QTRY_VERIFY_WITH_TIMEOUT(near(h.pixel(), kRed), 5000);
    QTRY_VERIFY_WITH_TIMEOUT(near(h.pixel(), kGreen), 2000);
    QTRY_VERIFY_WITH_TIMEOUT(near(h.pixel(), kBlue), 2000);
    QTRY_VERIFY_WITH_TIMEOUT(log.entries.size() >= 6, 5000);

    const std::vector<std::string> order{r.name.toStdString(), g.name.toStdString(), b.name.toStdString()};
    const auto keys = log.keys();
    const auto first = std::find(keys.begin(), keys.end(), order[0]);
    QVERIFY(first != keys.end());
    for (auto it = first; it != keys.end(); ++it)
        QCOMPARE(*it, order[std::size_t(it - first) % 3]);
    for (std::size_t i = 2; i < log.entries.size(); ++i) {
        const qint64 gap = log.entries[i].second - log.entries[i - 1].second;
        QVERIFY2(gap >= 350 && gap <= 1000, qPrintable(QStringLiteral("switch after %1 ms").arg(gap)));
    }
    QCOMPARE(dark.darkMoments, 0);

    // Proof of play: §6 fields.
    const auto plays = h.plays();
    QVERIFY(plays.size() >= 4);
    std::set<std::string> ids;
    for (const auto &p : plays) {
        ids.insert(p.id);
        QCOMPARE(p.playlist, std::string("main"));
        QVERIFY(p.asset && p.asset->starts_with("sha256:"));
        QVERIFY(p.completed);
        QVERIFY(!p.reason);
        QVERIFY2(p.durationMs >= 380 && p.durationMs <= 1000, qPrintable(QString::number(p.durationMs)));
        const QDateTime t = QDateTime::fromString(QString::fromStdString(p.startedAt), Qt::ISODateWithMs);
        QVERIFY(t.isValid());
        QVERIFY(p.startedAt.ends_with("Z"));
    }
    QCOMPARE(ids.size(), plays.size());
    auto np = h.store->kv().get(kNowPlayingKey);
    QVERIFY(np && *np);
    QVERIFY(QString::fromStdString(**np).contains("\"playlist\":\"main\""));
}

void PlaybackTest::scheduleBoundarySwitchesAtItsInstant()
{
    PlayerHarness h;
    const Media r = h.content->solid(kRed), g = h.content->solid(kGreen);
    const QJsonArray schedule{QJsonObject{{"playlist", "morning"}, {"from", "10:00"}, {"until", "11:00"}}};
    h.content->activate(h.content->manifest(1, {{"lobby", playlist({item(r, 10000)})},
                                                 {"morning", playlist({item(g, 10000)})}},
                                            "lobby", schedule));
    const QDateTime boundary = QDateTime::fromString("2026-11-23T10:00:00Z", Qt::ISODate);
    QVERIFY(h.start(boundary.addMSecs(-1500)));
    QDateTime shownAt;
    QObject::connect(h.playback.get(), &Playback::switched, h.playback.get(), [&] {
        if (h.playback->current() && h.playback->current()->key == g.name.toStdString() && !shownAt.isValid())
            shownAt = h.playback->clock().now().utc;
    });
    QTRY_VERIFY_WITH_TIMEOUT(near(h.pixel(), kRed), 3000);
    QVERIFY(!shownAt.isValid());
    QTRY_VERIFY_WITH_TIMEOUT(shownAt.isValid(), 4000);
    const qint64 late = boundary.msecsTo(shownAt);
    QVERIFY2(late >= 0 && late < 250, qPrintable(QStringLiteral("switched %1 ms after the boundary").arg(late)));
    QTRY_VERIFY_WITH_TIMEOUT(near(h.pixel(), kGreen), 1000);
    const auto plays = h.plays();
    QVERIFY(!plays.empty());
    QCOMPARE(plays.front().asset.value_or(""), r.name.toStdString());
    QVERIFY(!plays.front().completed);
    QCOMPARE(plays.front().reason.value_or(""), std::string("schedule changed"));
}

void PlaybackTest::newManifestIsPickedUp()
{
    PlayerHarness h;
    const Media r = h.content->solid(kRed), b = h.content->solid(kBlue);
    h.content->activate(h.content->manifest(1, {{"main", playlist({item(r, 500), item(b, 500)})}}, "main"));
    QVERIFY(h.start());
    QTRY_VERIFY_WITH_TIMEOUT(!h.playback->idle(), 5000);
    const Media g = h.content->solid(kGreen);
    QElapsedTimer since;
    since.start();
    h.content->activate(h.content->manifest(2, {{"main", playlist({item(g, 500)})}}, "main"));
    QTRY_VERIFY_WITH_TIMEOUT(h.playback->current() && h.playback->current()->key == g.name.toStdString(), 2000);
    QVERIFY2(since.elapsed() <= 2000, qPrintable(QString::number(since.elapsed())));
    QCOMPARE(h.playback->current()->manifestVersion, 2);
    QTRY_VERIFY_WITH_TIMEOUT(near(h.pixel(), kGreen), 1000);
}

void PlaybackTest::faultsAreSkippedAndReported()
{
    PlayerHarness h;
    QByteArray garbage(4096, '\0');
    for (int i = 0; i < garbage.size(); ++i)
        garbage[i] = char((i * 7919) % 251);
    const Media corrupt = h.content->bytes(garbage, "image/png");
    const Media g = h.content->solid(kGreen);
    const Media whole = h.content->video("red", 2);
    const QByteArray wholeBytes = h.content->fileOf(whole);
    const Media truncated = h.content->bytes(wholeBytes.left(wholeBytes.size() / 3), "video/mp4");
    const Media missing = h.content->solid(QColor(255, 255, 0));
    const Media b = h.content->solid(kBlue);
    QJsonArray items{item(corrupt, 300), item(g, 300), item(truncated), item(missing, 300),
                     QJsonObject{{"url", "https://example.invalid/menu"}, {"duration_ms", 300}}, item(b, 300)};
    QJsonObject payload = h.content->manifest(1, {{"main", playlist(items)}}, "main");
    QJsonObject assets = payload["assets"].toObject();
    assets.remove(whole.name);
    payload["assets"] = assets;
    h.content->activate(payload);
    QVERIFY(h.store->blobs().remove(missing.digest).has_value());

    PlaybackConfig config;
    config.web = false; // the skip path
    QVERIFY(h.start(std::nullopt, config));
    SwitchLog log(*h.playback);
    PixelSampler sampler(h, 40);
    const auto shownTimes = [&](const Media &m) {
        const auto keys = log.keys();
        return std::count(keys.begin(), keys.end(), m.name.toStdString());
    };
    QTRY_VERIFY_WITH_TIMEOUT(shownTimes(b) >= 2, 20000);
    sampler.timer.stop();
    for (const auto &k : log.keys())
        QVERIFY2(k == g.name.toStdString() || k == b.name.toStdString() || k == truncated.name.toStdString(), k.c_str());
    bool sawContent = false;
    for (const QColor &c : sampler.samples) {
        sawContent = sawContent || !near(c, kIdleColour, 10);
        if (sawContent)
            QVERIFY2(!near(c, Qt::black, 10) && !near(c, QColor(255, 255, 0)), qPrintable(c.name()));
    }

    std::map<std::string, cache::PlayRecord> failures;
    for (const auto &p : h.plays())
        if (!p.completed)
            failures[p.asset ? *p.asset : p.url.value_or("")] = p;
    QVERIFY(failures.contains(corrupt.name.toStdString()));
    QVERIFY(failures[corrupt.name.toStdString()].reason.value_or("").find("decode") != std::string::npos);
    QVERIFY(failures.contains(missing.name.toStdString()));
    QCOMPARE(failures[missing.name.toStdString()].reason.value_or(""), std::string("asset missing from the store"));
    QVERIFY(failures.contains("https://example.invalid/menu"));
    QCOMPARE(failures["https://example.invalid/menu"].reason.value_or(""), kWebSkipped);
    QCOMPARE(failures["https://example.invalid/menu"].asset, std::nullopt);
    QVERIFY(failures.contains(truncated.name.toStdString()));
    QVERIFY(!failures[truncated.name.toStdString()].reason.value_or("").empty());
    // Bad until its retry time (a minute by default, longer than this test):
    // each failure is reported once.
    int corruptRecords = 0;
    for (const auto &p : h.plays())
        corruptRecords += p.asset == corrupt.name.toStdString();
    QCOMPARE(corruptRecords, 1);
}

void PlaybackTest::videosPlayWithoutGaps()
{
    PlayerHarness h;
    const Media r = h.content->video("red", 1), g = h.content->video("lime", 1);
    const Media img = h.content->solid(kBlue);
    h.content->activate(h.content->manifest(1, {{"main", playlist({item(r), item(g), item(img, 500)})}}, "main"));
    QVERIFY(h.start());
    SwitchLog log(*h.playback);
    DarkWatch dark(*h.playback);
    QTRY_VERIFY_WITH_TIMEOUT(!h.playback->idle(), 8000);
    PixelSampler sampler(h, 25);
    QTRY_VERIFY_WITH_TIMEOUT(log.entries.size() >= 7, 20000);
    sampler.timer.stop();
    QCOMPARE(dark.darkMoments, 0);
    const auto keys = log.keys();
    for (std::size_t i = 0; i + 2 < keys.size(); i += 3) {
        QCOMPARE(keys[i], r.name.toStdString());
        QCOMPARE(keys[i + 1], g.name.toStdString());
        QCOMPARE(keys[i + 2], img.name.toStdString());
    }
    int red = 0, green = 0, blue = 0;
    for (const QColor &c : sampler.samples) {
        QVERIFY2(!near(c, Qt::black, 12) && !near(c, kIdleColour, 6), qPrintable("dark frame " + c.name()));
        red += near(c, kRed, 60);
        green += near(c, kGreen, 60);
        blue += near(c, kBlue, 60);
    }
    QVERIFY(red > 0 && green > 0 && blue > 0);
    const auto incomplete = h.firstIncompletePlay();
    QVERIFY2(!incomplete, incomplete.value_or("").c_str());
}

void PlaybackTest::singleVideoLoops()
{
    PlayerHarness h;
    const Media r = h.content->video("red", 1);
    h.content->activate(h.content->manifest(1, {{"main", playlist({item(r)})}}, "main"));
    QVERIFY(h.start());
    DarkWatch dark(*h.playback);
    QTRY_VERIFY_WITH_TIMEOUT(!h.playback->idle(), 8000);
    PixelSampler sampler(h, 25);
    const auto start = h.playback->transitions();
    QTRY_VERIFY_WITH_TIMEOUT(h.playback->transitions() >= start + 3, 15000);
    sampler.timer.stop();
    QCOMPARE(dark.darkMoments, 0);
    for (const QColor &c : sampler.samples)
        QVERIFY2(near(c, kRed, 60), qPrintable(c.name()));
}

void PlaybackTest::idleScreenWhenNothingPlayable()
{
    PlayerHarness h;
    h.content->activate(h.content->manifest(
        1, {{"web", playlist({QJsonObject{{"url", "https://example.invalid/"}, {"duration_ms", 1000}}})}}, "web"));
    PlaybackConfig config;
    config.web = false; // the skip path
    QVERIFY(h.start(std::nullopt, config));
    QVERIFY(h.playback->idle());
    QVERIFY2(h.playback->statusLine().contains("nothing playable"), qPrintable(h.playback->statusLine()));
    QTRY_VERIFY_WITH_TIMEOUT(near(h.pixel(0.05, 0.05), kIdleColour, 6), 3000);
    const auto plays = h.plays();
    QCOMPARE(plays.size(), std::size_t(1));
    QCOMPARE(plays[0].reason.value_or(""), kWebSkipped);
}

// Idle because the only item failed (its blob missing at start): the idle
// screen does not stay until the next manifest. The item is tried again at
// its retry time, reported again while it still fails (backing off), and
// plays once its blob is back.
void PlaybackTest::idleScreenRetriesFailedItems()
{
    PlayerHarness h;
    const Media g = h.content->solid(kGreen);
    const QByteArray bytes = h.content->fileOf(g);
    h.content->activate(h.content->manifest(1, {{"main", playlist({item(g, 1000)})}}, "main"));
    QVERIFY(h.store->blobs().remove(g.digest).has_value()); // gone after activation (a card error)
    PlaybackConfig config;
    config.badRetry = std::chrono::milliseconds(500);
    QVERIFY(h.start(std::nullopt, config));
    QVERIFY(h.playback->idle());
    const auto failures = [&] {
        int n = 0;
        for (const auto &p : h.plays())
            n += !p.completed && p.reason == std::string("asset missing from the store");
        return n;
    };
    QCOMPARE(failures(), 1);
    // Retried at 0.5 s, then 1 s later: still missing, reported each time.
    QTRY_VERIFY_WITH_TIMEOUT(failures() >= 3, 10000);
    QVERIFY(h.playback->idle());
    QCOMPARE(h.content->bytes(bytes, "image/png").digest, g.digest); // back in the store
    // The next retry (at most 2 s away now) plays it.
    QTRY_VERIFY_WITH_TIMEOUT(!h.playback->idle(), 10000);
    QTRY_VERIFY_WITH_TIMEOUT(near(h.pixel(), kGreen), 5000);
}

// Every other item fails (both blobs gone from the store): the item on
// screen stays, each further turn a completed play of its own, the failures
// are reported and retried at their retry time; the idle screen never
// comes. Blobs back: the retries play them and the loop goes on.
void PlaybackTest::lastGoodItemHeldWhenTheRestFails()
{
    PlayerHarness h;
    const Media r = h.content->solid(kRed), b = h.content->solid(kBlue);
    const QByteArray redBytes = h.content->fileOf(r), blueBytes = h.content->fileOf(b);
    h.content->activate(h.content->manifest(1, {{"main", playlist({item(r, 400), item(b, 400)})}}, "main"));
    PlaybackConfig config;
    config.badRetry = std::chrono::milliseconds(1500);
    QVERIFY(h.start(std::nullopt, config));
    SwitchLog log(*h.playback);
    QTRY_VERIFY_WITH_TIMEOUT(log.entries.size() >= 3, 10000);
    DarkWatch dark(*h.playback);
    QSignalSpy idleChanges(h.playback.get(), &Playback::idleChanged);
    std::map<std::string, int> failures;
    connect(h.playback.get(), &Playback::itemFailed, this,
            [&](const QString &key, const QString &) { ++failures[key.toStdString()]; });
    const auto completedPlays = [&](const std::string &key) {
        int n = 0;
        for (const auto &p : h.plays())
            n += p.asset == key && p.completed;
        return n;
    };

    QVERIFY(h.store->blobs().remove(r.digest).has_value());
    QVERIFY(h.store->blobs().remove(b.digest).has_value());
    // The item preloaded before the removal may still come on; then nothing can.
    QTRY_VERIFY_WITH_TIMEOUT(failures[r.name.toStdString()] >= 1 && failures[b.name.toStdString()] >= 1, 5000);
    QVERIFY(h.playback->current());
    const std::string held = h.playback->current()->key;
    const QColor heldColour = held == r.name.toStdString() ? kRed : kBlue;
    const auto transitions = h.playback->transitions();
    const int heldPlays = completedPlays(held);
    PixelSampler sampler(h, 30);
    QTRY_VERIFY_WITH_TIMEOUT(completedPlays(held) >= heldPlays + 3, 5000); // three more turns of 400 ms
    QTRY_VERIFY_WITH_TIMEOUT(failures[r.name.toStdString()] >= 2 && failures[b.name.toStdString()] >= 2, 10000); // retried
    QCOMPARE(h.playback->transitions(), transitions); // held in place: no switch
    QVERIFY(!h.playback->idle());
    sampler.timer.stop();
    QVERIFY(sampler.samples.size() > 10);
    for (const QColor &c : sampler.samples)
        QVERIFY2(near(c, heldColour, 30), qPrintable("the held item changed: " + c.name()));
    for (const auto &p : h.plays())
        QVERIFY2(p.completed || p.reason == std::string("asset missing from the store"), p.reason.value_or("").c_str());

    // Back in the store: the next retry plays them again, in turn.
    QCOMPARE(h.content->bytes(redBytes, "image/png").digest, r.digest);
    QCOMPARE(h.content->bytes(blueBytes, "image/png").digest, b.digest);
    QTRY_VERIFY_WITH_TIMEOUT(h.playback->transitions() >= transitions + 4, 20000);
    QCOMPARE(dark.darkMoments, 0);
    QCOMPARE(idleChanges.count(), 0);
    const auto keys = log.keys();
    QVERIFY(std::count(keys.end() - 4, keys.end(), r.name.toStdString()) == 2);
    QVERIFY(std::count(keys.end() - 4, keys.end(), b.name.toStdString()) == 2);
}

void PlaybackTest::idleScreenWithoutManifest()
{
    PlayerHarness h;
    QVERIFY(h.start());
    QVERIFY(h.playback->idle());
    QVERIFY2(h.playback->statusLine().contains("no manifest"), qPrintable(h.playback->statusLine()));
    QTRY_VERIFY_WITH_TIMEOUT(near(h.pixel(0.05, 0.05), kIdleColour, 6), 3000);
    // Content arriving later is played.
    const Media g = h.content->solid(kGreen);
    h.content->activate(h.content->manifest(1, {{"main", playlist({item(g, 1000)})}}, "main"));
    QTRY_VERIFY_WITH_TIMEOUT(near(h.pixel(), kGreen), 3000);
}

void PlaybackTest::commands()
{
    PlayerHarness h;
    const Media g = h.content->solid(kGreen);
    h.content->activate(h.content->manifest(1, {{"main", playlist({item(g, 5000)})}}, "main"));
    QVERIFY(h.start());
    QTRY_VERIFY_WITH_TIMEOUT(near(h.pixel(), kGreen), 5000);
    auto &log = h.store->commands();
    QVERIFY(*log.handToPlayer("shot-1", "screenshot"));
    QVERIFY(*log.handToPlayer("off-1", "display_off"));
    QVERIFY(*log.handToPlayer("restart-1", "restart_player"));
    QSignalSpy restart(&h.shell->commands(), &CommandRunner::restartRequested);
    QCOMPARE(h.shell->commands().check(), 3);
    QCOMPARE(restart.size(), 1);
    QCOMPARE(restart[0][0].toInt(), kRestartExitCode);
    const QImage shot(QDir(h.dataDir()).filePath("screenshots/shot-1.jpg"));
    QVERIFY(!shot.isNull());
    QVERIFY(near(shot.pixelColor(shot.width() / 2, shot.height() / 2), kGreen));
    std::set<std::string> done, failed;
    const auto doneList = log.handovers("done"), failedList = log.handovers("failed");
    QVERIFY(doneList && failedList);
    for (const auto &x : *doneList)
        done.insert(x.id);
    for (const auto &x : *failedList)
        failed.insert(x.id);
    QCOMPARE(done, (std::set<std::string>{"shot-1", "restart-1"}));
    QCOMPARE(failed, (std::set<std::string>{"off-1"}));
    QCOMPARE(log.handovers("pending")->size(), std::size_t(0));
    QCOMPARE(h.shell->commands().check(), 0); // at most once
}

// 640x720 source: top 180 px green, below that left half red, right half blue.
static QImage fitProbe()
{
    QImage img(640, 720, QImage::Format_RGB32);
    img.fill(kRed);
    for (int y = 0; y < 720; ++y)
        for (int x = 0; x < 640; ++x)
            if (y < 180)
                img.setPixelColor(x, y, kGreen);
            else if (x >= 320)
                img.setPixelColor(x, y, kBlue);
    return img;
}

void PlaybackTest::fitModes_data()
{
    QTest::addColumn<QString>("fit");
    QTest::addColumn<QPointF>("at");
    QTest::addColumn<QColor>("expected");
    QTest::addRow("contain: bars beside") << "contain" << QPointF(0.1, 0.5) << kIdleColour;
    QTest::addRow("contain: whole height") << "contain" << QPointF(0.4, 0.1) << kGreen;
    QTest::addRow("cover: no bars") << "cover" << QPointF(0.1, 0.5) << kRed;
    QTest::addRow("cover: top cropped") << "cover" << QPointF(0.4, 0.1) << kRed;
    QTest::addRow("stretch: no bars") << "stretch" << QPointF(0.1, 0.5) << kRed;
    QTest::addRow("stretch: whole height") << "stretch" << QPointF(0.4, 0.1) << kGreen;
}

void PlaybackTest::fitModes()
{
    QFETCH(QString, fit);
    QFETCH(QPointF, at);
    QFETCH(QColor, expected);
    PlayerHarness h;
    const Media probe = h.content->image(fitProbe());
    h.content->activate(h.content->manifest(1, {{"main", playlist({item(probe, 60000, fit)})}}, "main"));
    QVERIFY(h.start());
    QTRY_VERIFY_WITH_TIMEOUT(!h.playback->idle(), 5000);
    QTRY_VERIFY_WITH_TIMEOUT(near(h.pixel(at.x(), at.y()), expected, 12), 3000);
}

void PlaybackTest::rotation_data()
{
    QTest::addColumn<int>("degrees");
    QTest::addColumn<QPointF>("redAt");
    QTest::addColumn<QPointF>("blueAt");
    QTest::addRow("0") << 0 << QPointF(0.1, 0.5) << QPointF(0.9, 0.5);
    QTest::addRow("90") << 90 << QPointF(0.5, 0.1) << QPointF(0.5, 0.9);
    QTest::addRow("180") << 180 << QPointF(0.9, 0.5) << QPointF(0.1, 0.5);
    QTest::addRow("270") << 270 << QPointF(0.5, 0.9) << QPointF(0.5, 0.1);
}

void PlaybackTest::rotation()
{
    QFETCH(int, degrees);
    QFETCH(QPointF, redAt);
    QFETCH(QPointF, blueAt);
    PlayerHarness h;
    QImage img(400, 400, QImage::Format_RGB32);
    img.fill(kBlue);
    for (int y = 0; y < 400; ++y)
        for (int x = 0; x < 200; ++x)
            img.setPixelColor(x, y, kRed); // left half red
    const Media m = h.content->image(img);
    h.content->activate(h.content->manifest(1, {{"main", playlist({item(m, 60000, "stretch")})}}, "main", {},
                                            QJsonObject{{"rotation", degrees}}));
    QVERIFY(h.start());
    QTRY_VERIFY_WITH_TIMEOUT(!h.playback->idle(), 5000);
    QCOMPARE(h.playback->rotation(), degrees);
    QTRY_VERIFY_WITH_TIMEOUT(near(h.pixel(redAt.x(), redAt.y()), kRed, 12), 3000);
    QVERIFY(near(h.pixel(blueAt.x(), blueAt.y()), kBlue, 12));
}

void PlaybackTest::fadeKeepsOutgoingVisible()
{
    PlayerHarness h;
    const Media r = h.content->solid(kRed), g = h.content->solid(kGreen);
    QJsonObject faded = item(g, 800);
    faded["fade_ms"] = 400;
    h.content->activate(h.content->manifest(1, {{"main", playlist({item(r, 800), faded})}}, "main"));
    QVERIFY(h.start());
    QTRY_VERIFY_WITH_TIMEOUT(h.playback->current() && h.playback->current()->key == r.name.toStdString(), 5000);
    QTRY_VERIFY_WITH_TIMEOUT(h.playback->current()->key == g.name.toStdString(), 3000);
    // Right after the switch into the fading item both slots are on screen...
    QVERIFY(h.playback->slotA()->shown() && h.playback->slotB()->shown());
    QCOMPARE(h.playback->current()->fadeMs, 400);
    // ... and the outgoing one goes once the fade is over.
    QTRY_VERIFY_WITH_TIMEOUT(h.playback->slotA()->shown() != h.playback->slotB()->shown(), 2000);
    QTRY_VERIFY_WITH_TIMEOUT(near(h.pixel(), kGreen), 1000);
}

QTEST_MAIN(PlaybackTest)
#include "tst_playback.moc"
