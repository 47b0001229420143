// tests/player/tst_diagnostics_screen.cpp — the diagnostics screen on screen (under Xvfb, run-xvfb.sh).
//
//  - it renders above playback: its texts (found by objectName) carry the
//    real store's and the real agent's state (stoa-syncd against a dead
//    port), the QR code is square with whole-pixel modules, and the playing
//    colour is still visible around the panel while Playback keeps playing;
//  - the gestures through the window's real event path: F1 and `d` toggle,
//    a corner press held for the real 3 s opens it, a shorter one or one in
//    the centre does not, a manually opened screen closes after its idle
//    timeout (shortened), --diagnostics opens it at start and pins it, it
//    opens by itself without a manifest and closes when content arrives;
//  - with `hub_console_url` set, the QR code on screen is, module for
//    module, the code of this device's page on the hub's console
//    (CONSOLE/#/device/ID); unset, the device id as before;
//  - screenshot(): the screen at 1920x1080 with the demo content and an
//    agent failing to reach its server; STOA_DIAG_SCREENSHOT=FILE saves it
//    (docs/diagnostics.png, docs/player.md says how).
#include "agent_run.h"
#include "player_harness.h"

#include "player/demo_store.h"
#include "player/diagnostics.h"
#include "player/options.h"
#include "player/qr_image.h"

#include <QElapsedTimer>
#include <QQuickItem>

using namespace stoa;
using namespace stoa::player;
using namespace stoa::player::testing;

namespace {

const QColor kRed(255, 0, 0);

// Like PlayerHarness::start, with a diagnostics configuration.
bool startWith(PlayerHarness &h, DiagnosticsConfig config, const std::string &deviceId = "test-screen")
{
    PlaybackConfig pc;
    pc.deviceId = deviceId;
    h.playback = std::make_unique<Playback>(*h.store, playerClocks(std::nullopt), pc);
    h.shell = std::make_unique<Shell>(*h.store, *h.playback, std::move(config));
    if (!h.shell->load())
        return false;
    h.shell->show(false);
    if (!QTest::qWaitForWindowExposed(h.shell->window()))
        return false;
    h.playback->start();
    h.shell->diagnostics().start();
    return true;
}

// A field's plain content: `value` (a row's `text` is its styled label and value).
QString itemText(PlayerHarness &h, const QString &name)
{
    QQuickItem *item = findItem(h.shell->window()->contentItem(), name);
    if (!item)
        return QString();
    const QVariant value = item->property("value");
    return value.isValid() ? value.toString() : item->property("text").toString();
}

bool isOpen(PlayerHarness &h)
{
    return h.shell->diagnostics().isOpen();
}

void redContent(PlayerHarness &h)
{
    const Media r = h.content->solid(kRed);
    h.content->activate(h.content->manifest(1, {{"main", playlist({item(r, 60000)})}}, "main"));
}

} // namespace

class DiagnosticsScreen : public QObject {
    Q_OBJECT
private slots:
    void rendersAbovePlayback();
    void keysToggle_data();
    void keysToggle();
    void cornerLongPressOpens();
    void shortOrCentrePressDoesNot();
    void idleTimeoutCloses();
    void flagOpensAtStartAndStays();
    void autoOpensWithoutManifest();
    void qrLinksTheDevicePage();
    void screenshot();
};

void DiagnosticsScreen::rendersAbovePlayback()
{
    PlayerHarness h;
    redContent(h);
    DeadServerAgent agent(h.dataDir(), h.m_dir.path(), "test-screen");
    QVERIFY(agent.start());
    QVERIFY2(agent.waitForFailures(*h.store, 1), agent.output().constData());
    QVERIFY(startWith(h, {}));
    QTRY_VERIFY_WITH_TIMEOUT(near(h.pixel(), kRed), 5000);
    QVERIFY(!isOpen(h));
    QVERIFY(!findItem(h.shell->window()->contentItem(), "diagnostics")->isVisible());

    h.shell->diagnostics().openManually();
    QVERIFY(isOpen(h));
    QCOMPARE(itemText(h, "diag_device_id"), QString("test-screen"));
    QCOMPARE(itemText(h, "diag_version"), QString("Stoa " STOA_VERSION));
    QCOMPARE(itemText(h, "diag_server"), agent.server);
    QTRY_VERIFY_WITH_TIMEOUT(itemText(h, "diag_last_attempt").contains("cannot reach the server"), 5000);
    QVERIFY(itemText(h, "diag_next_attempt").contains("backing off"));
    QVERIFY(itemText(h, "diag_active_manifest").startsWith("v1, issued"));
    QVERIFY(itemText(h, "diag_now_playing").startsWith("main: image sha256:"));
    QVERIFY(itemText(h, "diag_cpu").startsWith("n/a"));
    QVERIFY(itemText(h, "diag_error_0").contains("Sync failing"));
    QVERIFY(itemText(h, "diag_footer").contains("after 60 s without input"));

    // Live: the relative time of the last attempt moves while open (1 s refresh).
    const QString uptime = itemText(h, "diag_uptime");
    QTRY_VERIFY_WITH_TIMEOUT(itemText(h, "diag_uptime") != uptime, 5000);

    // The QR code: square, whole pixels per module, quiet zone white.
    auto *qr = findItem(h.shell->window()->contentItem(), "diag_qr");
    QVERIFY(qr);
    QTRY_COMPARE_WITH_TIMEOUT(qr->property("status").toInt(), 1 /* Image.Ready */, 5000);
    const int modules = qrModuleCount("test-screen");
    QVERIFY(modules >= 21);
    const int side = int(qr->implicitWidth());
    QCOMPARE(int(qr->implicitHeight()), side);
    QVERIFY(side >= 2 * (modules + 2 * kQrQuietZone));
    QCOMPARE(side % (modules + 2 * kQrQuietZone), 0);

    // On screen: the panel, the QR's finder pattern, and the content around it.
    QImage img;
    QTRY_VERIFY_WITH_TIMEOUT((img = h.grab(), !near(img.pixelColor(img.width() / 2, img.height() / 2), kRed)), 5000);
    QVERIFY(near(img.pixelColor(3, img.height() / 2), kRed));
    QVERIFY(near(img.pixelColor(img.width() - 4, img.height() / 2), kRed));
    QVERIFY(near(img.pixelColor(img.width() / 2, 3), kRed));
    const QPointF qrTopLeft = qr->mapToScene(QPointF(0, 0));
    const int scale = side / (modules + 2 * kQrQuietZone);
    const QPoint quiet = (qrTopLeft + QPointF(scale, scale)).toPoint();
    const QPoint finder = (qrTopLeft + QPointF((kQrQuietZone + 0.5) * scale, (kQrQuietZone + 0.5) * scale)).toPoint();
    QVERIFY(near(img.pixelColor(quiet), Qt::white, 10));
    QVERIFY(near(img.pixelColor(finder), Qt::black, 10));
    // Playback goes on beneath.
    QVERIFY(!h.playback->idle());
    QVERIFY(h.playback->current() && h.playback->current()->playlist == "main");
    agent.stop();
}

void DiagnosticsScreen::qrLinksTheDevicePage()
{
    // The link: the console's route for a device page, under its directory.
    const QString link("https://hub.example:8443/console/#/device/test-screen");
    QCOMPARE(qrText("https://hub.example:8443/console", "test-screen"), link);
    QCOMPARE(qrText("https://hub.example:8443/console/", "test-screen"), link);
    QCOMPARE(qrText("https://hub.example/console/index.html", "lobby-01"),
             QString("https://hub.example/console/index.html#/device/lobby-01"));
    QCOMPARE(qrText("", "test-screen"), QString("test-screen"));

    PlayerHarness h;
    redContent(h);
    DiagnosticsConfig config;
    config.consoleUrl = "https://hub.example:8443/console";
    QVERIFY(startWith(h, config));
    h.shell->diagnostics().openManually();
    auto *qr = findItem(h.shell->window()->contentItem(), "diag_qr");
    QVERIFY(qr);
    QTRY_COMPARE_WITH_TIMEOUT(qr->property("status").toInt(), 1 /* Image.Ready */, 5000);
    const int modules = qrModuleCount(link);
    QVERIFY(modules > qrModuleCount("test-screen")); // a longer text: a bigger symbol
    const int side = int(qr->implicitWidth());
    const int grid = modules + 2 * kQrQuietZone;
    QCOMPARE(side % grid, 0);
    const int scale = side / grid;
    QVERIFY(scale >= 2);

    // What is on screen, module by module, is the code of the link (the
    // encoder is deterministic: the same text gives the same modules).
    const QImage want = qrImage(link, side);
    QCOMPARE(want.width(), side);
    QImage img;
    QTRY_VERIFY_WITH_TIMEOUT((img = h.grab(), !near(img.pixelColor(img.width() / 2, img.height() / 2), kRed)), 5000);
    const QPointF topLeft = qr->mapToScene(QPointF(0, 0));
    int dark = 0;
    for (int r = 0; r < grid; ++r)
        for (int c = 0; c < grid; ++c) {
            const QPoint centre(c * scale + scale / 2, r * scale + scale / 2);
            const bool wantDark = want.pixelColor(centre).lightness() < 128;
            const bool isDark = img.pixelColor((topLeft + QPointF(centre)).toPoint()).lightness() < 128;
            dark += isDark;
            if (wantDark != isDark)
                QFAIL(qPrintable(QString("module %1,%2 differs from the code of %3").arg(r).arg(c).arg(link)));
        }
    QVERIFY(dark > modules); // not a blank square
}

void DiagnosticsScreen::keysToggle_data()
{
    QTest::addColumn<int>("key");
    QTest::addRow("F1") << int(Qt::Key_F1);
    QTest::addRow("d") << int(Qt::Key_D);
}

void DiagnosticsScreen::keysToggle()
{
    QFETCH(int, key);
    PlayerHarness h;
    redContent(h);
    QVERIFY(startWith(h, {}));
    QVERIFY(!isOpen(h));
    QTest::keyClick(h.shell->window(), Qt::Key(key));
    QTRY_VERIFY_WITH_TIMEOUT(isOpen(h), 2000);
    QCOMPARE(h.shell->diagnostics().openReason(), QString("manual"));
    QTRY_VERIFY_WITH_TIMEOUT(findItem(h.shell->window()->contentItem(), "diagnosticsPanel")->isVisible(), 2000);
    QTest::keyClick(h.shell->window(), Qt::Key(key));
    QTRY_VERIFY_WITH_TIMEOUT(!isOpen(h), 2000);
    // Another key does nothing.
    QTest::keyClick(h.shell->window(), Qt::Key_X);
    QVERIFY(!isOpen(h));
}

void DiagnosticsScreen::cornerLongPressOpens()
{
    PlayerHarness h;
    redContent(h);
    QVERIFY(startWith(h, {})); // the real 3 s
    QWindow *w = h.shell->window();
    for (const QPoint corner : {QPoint(5, 5), QPoint(w->width() - 6, w->height() - 6)}) {
        const bool wasOpen = isOpen(h);
        QElapsedTimer held;
        held.start();
        QTest::mousePress(w, Qt::LeftButton, {}, corner);
        QTRY_VERIFY_WITH_TIMEOUT(isOpen(h) != wasOpen, 8000);
        const qint64 ms = held.elapsed();
        QTest::mouseRelease(w, Qt::LeftButton, {}, corner);
        QVERIFY2(ms >= 2900, qPrintable(QString("toggled after %1 ms").arg(ms)));
    }
    QVERIFY(!isOpen(h)); // the second press (another corner) closed it
}

void DiagnosticsScreen::shortOrCentrePressDoesNot()
{
    PlayerHarness h;
    redContent(h);
    DiagnosticsConfig config;
    config.longPress = std::chrono::milliseconds(400);
    QVERIFY(startWith(h, config));
    QWindow *w = h.shell->window();
    // Held in the centre three times as long as a long press: nothing.
    QTest::mousePress(w, Qt::LeftButton, {}, QPoint(w->width() / 2, w->height() / 2));
    QTest::qWait(1200);
    QTest::mouseRelease(w, Qt::LeftButton, {}, QPoint(w->width() / 2, w->height() / 2));
    QVERIFY(!isOpen(h));
    // Released early in a corner: nothing.
    QTest::mousePress(w, Qt::LeftButton, {}, QPoint(4, w->height() - 5));
    QTest::qWait(100);
    QTest::mouseRelease(w, Qt::LeftButton, {}, QPoint(4, w->height() - 5));
    QTest::qWait(1200);
    QVERIFY(!isOpen(h));
    // Dragged out of the corner before the time: nothing.
    QTest::mousePress(w, Qt::LeftButton, {}, QPoint(4, 4));
    QTest::mouseMove(w, QPoint(w->width() / 2, w->height() / 2));
    QTest::qWait(1200);
    QTest::mouseRelease(w, Qt::LeftButton, {}, QPoint(w->width() / 2, w->height() / 2));
    QVERIFY(!isOpen(h));
    // The same corner held long enough: open (the gesture path works here).
    QTest::mousePress(w, Qt::LeftButton, {}, QPoint(4, h.shell->window()->height() - 5));
    QTRY_VERIFY_WITH_TIMEOUT(isOpen(h), 3000);
    QTest::mouseRelease(w, Qt::LeftButton, {}, QPoint(4, h.shell->window()->height() - 5));
}

void DiagnosticsScreen::idleTimeoutCloses()
{
    PlayerHarness h;
    redContent(h);
    DiagnosticsConfig config;
    config.idleTimeout = std::chrono::milliseconds(800);
    QVERIFY(startWith(h, config));
    QElapsedTimer t;
    QTest::keyClick(h.shell->window(), Qt::Key_F1);
    t.start();
    QVERIFY(isOpen(h));
    // Input keeps it open: a key (not a toggle) at ~500 ms restarts the timeout.
    QTest::qWait(500);
    QTest::keyClick(h.shell->window(), Qt::Key_Shift);
    QTRY_VERIFY_WITH_TIMEOUT(!isOpen(h), 5000);
    QVERIFY2(t.elapsed() >= 1250, qPrintable(QString("closed after %1 ms").arg(t.elapsed())));
}

void DiagnosticsScreen::flagOpensAtStartAndStays()
{
    auto options = parsePlayerOptions({"stoa-player", "--config", "/dev/null", "--diagnostics"});
    QVERIFY(options);
    PlayerHarness h;
    redContent(h);
    DiagnosticsConfig config;
    config.openAtStart = options->diagnostics;
    config.idleTimeout = std::chrono::milliseconds(200);
    QVERIFY(startWith(h, config));
    QVERIFY(isOpen(h));
    QCOMPARE(h.shell->diagnostics().openReason(), QString("flag"));
    QTest::qWait(1000); // five idle timeouts: pinned, still open
    QVERIFY(isOpen(h));
    QTest::keyClick(h.shell->window(), Qt::Key_D);
    QTRY_VERIFY_WITH_TIMEOUT(!isOpen(h), 2000);
}

void DiagnosticsScreen::autoOpensWithoutManifest()
{
    PlayerHarness h;
    DiagnosticsConfig config;
    config.autoOpen = true;
    config.configuredServer = "https://signage.example";
    config.idleTimeout = std::chrono::milliseconds(200);
    QVERIFY(startWith(h, config));
    QVERIFY(isOpen(h));
    QCOMPARE(h.shell->diagnostics().openReason(), QString("auto"));
    QCOMPARE(itemText(h, "diag_active_manifest"), QString("none yet"));
    QCOMPARE(itemText(h, "diag_headline"), QString("Waiting for content: no manifest yet"));
    QTest::qWait(600); // no idle timeout while the condition holds
    QVERIFY(isOpen(h));
    // Content arrives (another "process" commits): it closes by itself.
    redContent(h);
    h.playback->checkForManifest();
    QTRY_VERIFY_WITH_TIMEOUT(!isOpen(h), 5000);
    QTRY_VERIFY_WITH_TIMEOUT(near(h.pixel(), kRed), 5000);
}

void DiagnosticsScreen::screenshot()
{
    auto demo = makeDemoStore();
    QVERIFY2(demo, demo ? "" : demo.error().c_str());
    const QString dataDir = QString::fromStdString(demo->dataDir);
    QTemporaryDir work;
    cache::StoreOptions so;
    so.dataDir = demo->dataDir;
    auto store = cache::Store::open(so);
    QVERIFY(store);
    // The agent keeps failing while the screen shows (next attempt in the future).
    DeadServerAgent agent(dataDir, work.path(), "lobby-screen-01");
    QVERIFY(agent.start());
    QVERIFY2(agent.waitForFailures(**store, 3), agent.output().constData());
    PlaybackConfig pc;
    pc.deviceId = "lobby-screen-01";
    Playback playback(**store, playerClocks(std::nullopt), pc);
    DiagnosticsConfig config;
    config.quotaBytes = 8ull << 30;
    config.openAtStart = true;
    Shell shell(**store, playback, config);
    QVERIFY(shell.load());
    shell.show(true);
    shell.window()->resize(1920, 1080);
    QVERIFY(QTest::qWaitForWindowExposed(shell.window()));
    playback.start();
    shell.diagnostics().start();
    QTRY_VERIFY_WITH_TIMEOUT(!playback.idle(), 10000);
    // The next 1 s refresh shows the slide playing and the agent's failures.
    QTRY_VERIFY_WITH_TIMEOUT(!shell.diagnostics().state().player.idle, 5000);
    const auto &sync = shell.diagnostics().state().sync;
    QVERIFY(sync && sync->consecutiveFailures >= 3);
    QImage img;
    QTRY_VERIFY_WITH_TIMEOUT((img = shell.grab(), img.size() == QSize(1920, 1080)), 5000);
    if (const QByteArray out = qgetenv("STOA_DIAG_SCREENSHOT"); !out.isEmpty()) {
        QVERIFY(img.save(QString::fromLocal8Bit(out)));
        qInfo("saved %s", out.constData());
    }
}

QTEST_MAIN(DiagnosticsScreen)
#include "tst_diagnostics_screen.moc"
