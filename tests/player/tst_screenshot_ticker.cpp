// tests/player/tst_screenshot_ticker.cpp — the player's screenshot shows a
// scrolling ticker's text, as the screen does (issue 20).
// Under Xvfb (run-xvfb.sh), real frames.
//
// The real player (Playback + Shell) plays a layout: a green region above a
// ticker band (white text on dark red) whose XAnimator moves it on the
// render thread. The screen is read from the X server
// (QScreen::grabWindow(0): what Xvfb shows, as x11grab would), the player's
// screenshot through Shell::grab(), the grabber the `screenshot` command and
// --screenshot use (shell.cpp hands it to CommandRunner). Once the screen
// shows the ticker's text, each of kRounds screenshots (taken right after a
// screen grab) must show text ink in the band too, at least half the
// screen's amount (the text covers most of the band, so the amount barely
// changes between the two grabs). Rows: the ticker's first pass (its
// animator never stopped) and a later pass of a short ticker whose item
// repeated (the animator ran to its end, stopped and started again).
//
// Why: player_demo_test's --screenshot at 30 s showed the ticker's band
// without text. Seen here (2026-12-07): screen and screenshot agree within
// 0.01 of ink in every round of both rows; stoa-player --demo's screenshot
// has the text at 6, 20 and 30 s and none at 36 s, when the X screen
// (x11grab at 35.6 s) showed only the text's tail leaving: under Xvfb the
// animator steps 1/60 s a frame and frames come faster than 60 Hz, so the
// 40 s pass is over before its 40 s (here ~1.16x, more on a quiet machine)
// and the band is empty on the screen too until the next pass. A grab
// missing the text while the screen has it fails this test (ink 0 against
// 0.03-0.11).
#include "player_harness.h"

#include <algorithm>

#include <QDeadlineTimer>
#include <QGuiApplication>
#include <QScreen>

using namespace stoa;
using namespace stoa::player;
using namespace stoa::player::testing;

namespace {

constexpr int kRounds = 5;
const QColor kBand(0x80, 0x00, 0x00);
const QRectF kTickerRegion(0, 0.8, 1, 0.2);

QRect pixels(const QRectF &r, QSize size)
{
    return QRect(int(r.x() * size.width()), int(r.y() * size.height()), int(r.width() * size.width()),
                 int(r.height() * size.height()));
}

// Shares of the band's pixels that are its background and white-ish ink.
struct Band {
    double background = 0;
    double ink = 0;
};

Band band(const QImage &img)
{
    const QRect r = pixels(kTickerRegion, img.size()).adjusted(0, 2, 0, -2);
    int bg = 0, ink = 0, n = 0;
    for (int y = r.top(); y <= r.bottom(); y += 2)
        for (int x = r.left(); x <= r.right(); x += 2) {
            const QColor c = img.pixelColor(x, y);
            ++n;
            if (near(c, kBand, 40))
                ++bg;
            else if (c.red() > 190 && c.green() > 190 && c.blue() > 190)
                ++ink;
        }
    return {double(bg) / n, double(ink) / n};
}

QImage screen()
{
    return QGuiApplication::primaryScreen()->grabWindow(0).toImage().convertToFormat(QImage::Format_RGB32);
}

QJsonObject tickerLayout(ContentBuilder &c, const Media &green, int tickerMs)
{
    const QString text = QStringLiteral("STOA TICKER: the screenshot shows what the screen shows, "
                                        "text and all, while it scrolls right to left across the band +++ ");
    QJsonObject playlists{
        {"tops", playlist({item(green, 60000, "stretch")})},
        {"news", playlist({QJsonObject{{"text", text + text}, {"duration_ms", tickerMs}, {"color", "#ffffff"},
                                       {"background", kBand.name()}, {"scroll", true}}})},
    };
    QJsonObject m = c.manifest(1, playlists, QString());
    m["layouts"] = QJsonObject{{"board", QJsonObject{{"regions", QJsonArray{
        QJsonObject{{"id", "top"}, {"x", 0}, {"y", 0}, {"w", 1}, {"h", 0.8}, {"playlist", "tops"}},
        QJsonObject{{"id", "ticker"}, {"x", kTickerRegion.x()}, {"y", kTickerRegion.y()},
                    {"w", kTickerRegion.width()}, {"h", kTickerRegion.height()}, {"playlist", "news"}},
    }}}}};
    m["default_layout"] = "board";
    return m;
}

} // namespace

class ScreenshotTickerTest : public QObject {
    Q_OBJECT
private slots:
    void screenshotShowsTickerText_data();
    void screenshotShowsTickerText();
};

// The ticker's first pass (longer than the test: its XAnimator has never
// stopped), and a later pass of a short ticker whose item repeated (the
// animator ran to its end, stopped and started again).
void ScreenshotTickerTest::screenshotShowsTickerText_data()
{
    QTest::addColumn<int>("tickerMs");
    QTest::addColumn<int>("passesBefore");
    QTest::addRow("first pass") << 30000 << 0;
    QTest::addRow("later pass") << 5000 << 1;
}

void ScreenshotTickerTest::screenshotShowsTickerText()
{
    QFETCH(int, tickerMs);
    QFETCH(int, passesBefore);
    PlayerHarness h;
    const Media green = h.content->solid(QColor(0, 160, 0));
    h.content->activate(tickerLayout(*h.content, green, tickerMs));
    QVERIFY(h.start());
    QCOMPARE(h.shell->window()->size(), QGuiApplication::primaryScreen()->size());
    const auto tickerPlays = [&] {
        int n = 0;
        for (const cache::PlayRecord &p : h.plays())
            n += p.region == "ticker" ? 1 : 0;
        return n;
    };
    QTRY_VERIFY_WITH_TIMEOUT(tickerPlays() >= passesBefore, passesBefore * tickerMs * 3 + 5000);

    // The screen first: the band with text on it (the ticker entered).
    Band live;
    QTRY_VERIFY2_WITH_TIMEOUT((live = band(screen())).background > 0.3 && live.ink > 0.03,
                              qPrintable(QStringLiteral("screen band: background %1, ink %2")
                                             .arg(live.background).arg(live.ink)),
                              30000); // a deadline, not a wait: slow frames move the text slowly (load 18: 0.019 ink after 15 s)
    // Each screenshot is bracketed by two screen grabs and held to the lesser
    // of their ink: the short ticker's pass can end between grabs (seen in
    // CI, stop 29: the screen 0.003 with the text's tail leaving, the
    // screenshot a moment later 0). A round counts only where both screen
    // grabs show the text (ink >= kTextInk); kRounds such rounds must pass.
    constexpr double kTextInk = 0.03;
    int counted = 0;
    QDeadlineTimer deadline(30000);
    for (int i = 0; counted < kRounds; ++i) {
        QVERIFY2(!deadline.hasExpired(), qPrintable(QStringLiteral("only %1 of %2 rounds with text on the "
                                                                   "screen in 30 s")
                                                        .arg(counted).arg(kRounds)));
        const Band before = band(screen());
        const Band shot = band(h.shell->grab().convertToFormat(QImage::Format_RGB32));
        const Band after = band(screen());
        const double screenInk = std::min(before.ink, after.ink);
        qInfo("round %d: screen background %.3f ink %.3f..%.3f; screenshot background %.3f ink %.3f", i,
              before.background, before.ink, after.ink, shot.background, shot.ink);
        QVERIFY2(shot.background > 0.3, "the screenshot has no ticker band");
        if (screenInk < kTextInk) {
            QTest::qWait(100); // the text is entering or leaving: no comparison this round
            continue;
        }
        ++counted;
        QVERIFY2(shot.ink > 0.5 * screenInk,
                 qPrintable(QStringLiteral("round %1: the screenshot's band holds ink %2, the screen's %3..%4")
                                .arg(i).arg(shot.ink).arg(before.ink).arg(after.ink)));
        QTest::qWait(300); // spreads the rounds over the pass; nothing waits to settle
    }
}

QTEST_MAIN(ScreenshotTickerTest)
#include "tst_screenshot_ticker.moc"
