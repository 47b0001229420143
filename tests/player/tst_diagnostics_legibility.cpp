// tests/player/tst_diagnostics_legibility.cpp — the diagnostics screen read from three metres (issue 15).
//
// For each screen — 1280x720, 1920x1080, 3840x2160, portrait 1080x1920 as
// the player makes it (a 1920x1080 output with `rotation = 90`: the stage
// turns inside the window, Main.qml) and a native portrait 1080x1920 output —
// the real player (store, Playback, Shell, QML) shows the screen with
// worst-case content: a 64-character device id, a long server URL, the
// agent's status with long errors, a staged manifest held back
// (staged_blocked, no space), a skipped item, a refused config line, hot and
// under-voltage sensors, a display line; every row filled. Each page of the
// screen is grabbed and, FROM THE PICTURE:
//  - every text field's capitals are measured: the item's rectangle (item
//    geometry) only says where to look; per painted line, the rows whose
//    pixels differ from the panel give the top of the letters and the
//    baseline (the lowest row as dense as a third of the line's densest);
//    the tallest line's top-to-baseline height is the field's letter height.
//    It must reach the bound times the capital height of the font in use
//    (QFontMetricsF::capHeight / em, 0.73 for DejaVu Sans): the bound is a
//    text size, 1/22 of the screen's short side for main lines (device id,
//    headline, section titles) and 1/30 for the rest (the issue's "≈ 48 px
//    at 1080p" and "23 px today" are text sizes; Diagnostics.qml says why
//    the short side);
//  - no two fields' boxes, nor their painted pixel boxes, overlap;
//  - nothing is cut: every field lies inside the panel, no painted pixel
//    inside the panel lies outside a field (text spilling from its box), no
//    pixel outside the panel differs from the content beneath (text spilling
//    from the panel), no field is elided (`truncated`);
//  - across the pages every field is shown exactly once, and left alone
//    the pages turn by themselves.
// Violations are collected and reported together (what fails before the fix
// is the whole list). STOA_DIAG_SCREENSHOT_DIR=DIR saves the pages
// (diagnostics-<w>x<h>.png, -page<n>.png; docs/player.md says how).
// The Xvfb screen must hold 3840x2160: CMakeLists sets STOA_XVFB_SCREEN.
#include "player_harness.h"

#include "cache/sync_status.h"
#include "player/qr_image.h"

#include <QFontMetricsF>
#include <QGuiApplication>
#include <QQuickItem>
#include <QScreen>
#include <QSignalSpy>

#include <map>
#include <set>

using namespace stoa;
using namespace stoa::player;
using namespace stoa::player::testing;

namespace {

const QColor kContent(128, 128, 128); // what plays beneath the panel
// 64 characters, the longest a device id may be (protocol-v1.md).
const char *const kDeviceId = "lobby-screen-ground-floor-east-wing-main-entrance-left-side-0042";
const char *const kServer = "https://signage-hub.customer-network.example.internal:8443/stoa/fleet-eu";

void textItems(QQuickItem *root, std::vector<QQuickItem *> &out)
{
    if (root->inherits("QQuickText"))
        out.push_back(root);
    for (QQuickItem *child : root->childItems())
        textItems(child, out);
}

// The agent's status as stoa-syncd leaves it when it cannot reach its server
// and the staged manifest cannot fit on the disk: every field long.
cache::SyncStatus worstStatus(std::int64_t nowMs)
{
    cache::SyncStatus s;
    s.server = kServer;
    s.state = "backing_off";
    s.lastAttemptAtMs = nowMs - 12'000;
    s.lastError = "Failed to connect to signage-hub.customer-network.example.internal port 8443 after 3012 ms: "
                  "Couldn't connect to server";
    s.lastResult = s.lastError;
    s.lastSuccessAtMs = nowMs - (3 * 86400 + 4 * 3600) * 1000LL;
    s.consecutiveFailures = 117;
    s.backoffSeconds = 300;
    s.nextAttemptAtMs = nowMs + 245'000;
    s.activeVersion = 41;
    s.stagedVersion = 42;
    s.stagedBlobsMissing = 3;
    s.stagedBytesMissing = 125829120;
    s.bytesDownloaded = 7'516'192'768;
    s.downloadError = "sha256:4f2a9c1e0b7d: No space left on device (wrote 0 of 125829120 bytes)";
    s.stagedBlocked = cache::SyncStatus::StagedBlock{
        "no_space",
        "the disk cannot fit 125829120 more bytes (120.0 MiB) for the staged content; 96.0 MiB free after "
        "removing every asset no manifest needs",
        nowMs - (2 * 3600 + 17 * 60) * 1000LL};
    s.keys = "keys document v7 (3 signing keys, manifest version floor 40)";
    s.heartbeat = "HTTP 503 Service Unavailable from " + std::string(kServer) + "/v1/devices/status";
    s.plays = s.heartbeat;
    return s;
}

// A pixel of text (or anything painted) on the panel's colour.
bool ink(QRgb p, QRgb bg)
{
    return std::max({std::abs(qRed(p) - qRed(bg)), std::abs(qGreen(p) - qGreen(bg)), std::abs(qBlue(p) - qBlue(bg))}) > 40;
}

struct Field {
    QString name;
    QQuickItem *item = nullptr;
    QRect box;     // item geometry on the upright picture
    QRect painted; // ink inside `box`; null: nothing painted
    bool text = true;
    bool main = false;
    int letterPx = 0;     // tallest line, top of the letters to the baseline (measured)
    double capRatio = 0;  // capital height / em of the font in use
    double bound = 0;     // text size the field must reach
};

// Measures `f` on `img` (see the file comment).
void measure(Field &f, const QImage &img, QRgb bg)
{
    const QRect r = f.box & img.rect();
    int x0 = INT_MAX, y0 = INT_MAX, x1 = -1, y1 = -1;
    for (int y = r.top(); y <= r.bottom(); ++y)
        for (int x = r.left(); x <= r.right(); ++x)
            if (ink(img.pixel(x, y), bg)) {
                x0 = std::min(x0, x), y0 = std::min(y0, y), x1 = std::max(x1, x), y1 = std::max(y1, y);
            }
    if (x1 >= 0)
        f.painted = QRect(QPoint(x0, y0), QPoint(x1, y1));
    if (!f.text || !f.item || f.painted.isNull())
        return;
    // The item's lines only locate where each line is painted.
    const int lines = std::max(1, f.item->property("lineCount").toInt());
    const double lineH = double(r.height()) / lines;
    for (int l = 0; l < lines; ++l) {
        const int top = r.top() + int(std::floor(l * lineH));
        const int bottom = std::min(r.bottom(), r.top() + int(std::floor((l + 1) * lineH)) - 1);
        std::vector<int> count;
        for (int y = top; y <= bottom; ++y) {
            int c = 0;
            for (int x = r.left(); x <= r.right(); ++x)
                c += ink(img.pixel(x, y), bg);
            count.push_back(c);
        }
        int densest = 0;
        for (const int c : count)
            densest = std::max(densest, c);
        if (densest == 0)
            continue;
        const auto first = std::find_if(count.begin(), count.end(), [](int c) { return c > 0; });
        int baseline = int(count.size()) - 1;
        while (count[baseline] * 3 < densest)
            --baseline;
        f.letterPx = std::max(f.letterPx, baseline - int(first - count.begin()) + 1);
    }
}

} // namespace

class DiagnosticsLegibility : public QObject {
    Q_OBJECT
private slots:
    void sizes_data();
    void sizes();
};

void DiagnosticsLegibility::sizes_data()
{
    QTest::addColumn<QSize>("window");
    QTest::addColumn<int>("rotation");
    QTest::addColumn<QString>("shot");
    QTest::addRow("1280x720") << QSize(1280, 720) << 0 << "diagnostics-1280x720";
    QTest::addRow("1920x1080") << QSize(1920, 1080) << 0 << "diagnostics-1920x1080";
    QTest::addRow("3840x2160") << QSize(3840, 2160) << 0 << "diagnostics-3840x2160";
    // Portrait as the player supports it: a landscape output, the stage turned.
    QTest::addRow("1080x1920 (1920x1080 turned 90)") << QSize(1920, 1080) << 90 << "diagnostics-1080x1920";
    QTest::addRow("1080x1920 (turned 270)") << QSize(1920, 1080) << 270 << "";
    // And an output that is itself portrait.
    QTest::addRow("1080x1920 (native)") << QSize(1080, 1920) << 0 << "";
}

void DiagnosticsLegibility::sizes()
{
    QFETCH(QSize, window);
    QFETCH(int, rotation);
    QFETCH(QString, shot);
    const QSize screen = QGuiApplication::primaryScreen()->size();
    if (screen.width() < window.width() || screen.height() < window.height())
        QFAIL(qPrintable(QString("the X screen is %1x%2: run under run-xvfb.sh with STOA_XVFB_SCREEN=3840x2160x24")
                             .arg(screen.width())
                             .arg(screen.height())));

    PlayerHarness h;
    const std::int64_t nowMs = QDateTime::currentMSecsSinceEpoch();
    // Active v41: an image that does not decode (skipped, reported) then the
    // grey; staged v42 also needs an asset the store does not have yet.
    const Media grey = h.content->solid(kContent);
    const Media broken = h.content->bytes("this is not a PNG", "image/png");
    const QJsonObject active =
        h.content->manifest(41, {{"main", playlist({item(broken, 2000), item(grey, 3600000, "stretch")})}}, "main");
    h.content->activate(active);
    QJsonObject staged = active;
    staged["version"] = 42;
    QJsonObject assets = staged["assets"].toObject();
    assets[QStringLiteral("sha256:") + QString(64, 'e')] = QJsonObject{{"size", 125829120}, {"media_type", "video/mp4"}};
    staged["assets"] = assets;
    h.content->stage(staged);
    QVERIFY(h.store->kv().set(cache::kSyncStatusKey,
                              QJsonDocument(worstStatus(nowMs).toJson()).toJson(QJsonDocument::Compact).toStdString()));

    PlaybackConfig pc;
    pc.deviceId = kDeviceId;
    pc.rotation = rotation;
    h.playback = std::make_unique<Playback>(*h.store, playerClocks(std::nullopt), pc);
    QSignalSpy skipped(h.playback.get(), &Playback::itemFailed);
    DiagnosticsConfig config;
    config.configuredServer = kServer;
    config.quotaBytes = 8ull << 30;
    config.health = [] {
        schedule::DeviceHealth r;
        r.cpuTempC = 84.7;
        r.throttled = true;
        r.underVoltage = true;
        r.problemSinceBoot = true;
        r.conditions = {"under-voltage-now", "throttled-now", "under-voltage-occurred"};
        return r;
    };
    config.startupProblems = {"stoa.conf:14: unknown key 'dispaly_power_method' (did you mean 'display_power_method'?)"};
    config.display = [] {
        return std::string("off until 2026-11-24 07:00:00 UTC (display window) · vcgencmd display_power=0, answered after 4.8 s");
    };
    config.refreshInterval = std::chrono::hours(1); // one snapshot: the pages show the same content
    config.idleTimeout = std::chrono::hours(1);
    h.shell = std::make_unique<Shell>(*h.store, *h.playback, config);
    QVERIFY(h.shell->load());
    h.shell->show(true);
    h.shell->window()->resize(window);
    QVERIFY(QTest::qWaitForWindowExposed(h.shell->window()));
    h.playback->start();
    h.shell->diagnostics().start();
    QTRY_VERIFY_WITH_TIMEOUT(skipped.count() > 0, 10000);
    QTRY_VERIFY_WITH_TIMEOUT(!h.playback->idle(), 10000);
    h.shell->diagnostics().openManually();
    QVERIFY(!h.shell->diagnostics().state().player.badItems.empty());
    QVERIFY(h.shell->diagnostics().text().errors.size() >= 6);

    QQuickItem *root = findItem(h.shell->window()->contentItem(), "diagnostics");
    QQuickItem *panel = findItem(root, "diagnosticsPanel");
    QQuickItem *qr = findItem(root, "diag_qr");
    QVERIFY(root && panel && qr);
    QTRY_COMPARE_WITH_TIMEOUT(qr->property("status").toInt(), 1 /* Image.Ready */, 5000);
    root->setProperty("cycling", false); // this test turns the pages
    const auto laidOut = [&] {
        const QVariant v = root->property("laidOut");
        return !v.isValid() || v.toBool();
    };
    QTRY_VERIFY_WITH_TIMEOUT(laidOut(), 5000);

    const QSize upright = rotation % 180 ? window.transposed() : window;
    QCOMPARE(QSize(int(root->width()), int(root->height())), upright);
    const double side = std::min(upright.width(), upright.height());
    const double mainBound = side / 22, smallBound = side / 30;
    const QVariant pc_ = root->property("pageCount");
    const int pages = pc_.isValid() ? pc_.toInt() : 1;
    QVERIFY(pages >= 1 && pages <= 4);

    QStringList problems;
    std::map<QString, int> shownOn; // field -> pages it was shown on
    double minMain = 1e9, minSmall = 1e9;
    for (int page = 0; page < pages; ++page) {
        if (pages > 1) {
            root->setProperty("page", page);
            QTRY_VERIFY_WITH_TIMEOUT(laidOut(), 5000);
        }
        QImage img;
        QTRY_VERIFY_WITH_TIMEOUT((img = h.grab(), img.size() == window), 5000);
        // Geometry is read now, with no event processed since the grab.
        img = img.transformed(QTransform().rotate(-rotation)).convertToFormat(QImage::Format_RGB32);
        QCOMPARE(img.size(), upright);
        const QString where = QString("page %1/%2: ").arg(page + 1).arg(pages);

        const QRect panelBox = panel->mapRectToItem(root, QRectF(0, 0, panel->width(), panel->height())).toRect();
        const int edge = int(std::ceil(std::max(panel->property("radius").toDouble(), 2.0))) + 2;
        const QRect interior = panelBox.adjusted(edge, edge, -edge, -edge);
        // The panel's colour: the commonest inside it.
        std::map<QRgb, int> histogram;
        for (int y = interior.top(); y <= interior.bottom(); y += 3)
            for (int x = interior.left(); x <= interior.right(); x += 3)
                ++histogram[img.pixel(x, y)];
        const QRgb bg = std::max_element(histogram.begin(), histogram.end(), [](auto &a, auto &b) { return a.second < b.second; })->first;
        // The picture is upright where the items say: the QR's top-left finder module is black.
        if (page == 0) {
            const QPointF q = qr->mapToItem(root, QPointF(0, 0));
            const double module = qr->width() / (qrModuleCount(QString::fromLatin1(kDeviceId)) + 2 * kQrQuietZone);
            const QPoint finder = (q + QPointF((kQrQuietZone + 0.5) * module, (kQrQuietZone + 0.5) * module)).toPoint();
            QVERIFY2(qGray(img.pixel(finder)) < 60, qPrintable(where + "the QR code is not where its item is"));
        }

        std::vector<Field> fields;
        std::vector<QQuickItem *> texts;
        textItems(root, texts);
        for (QQuickItem *t : texts) {
            if (!t->isVisible() || t->property("text").toString().isEmpty())
                continue;
            Field f;
            f.item = t;
            f.name = t->objectName().isEmpty() ? "(unnamed) " + t->property("text").toString().left(30) : t->objectName();
            f.box = t->mapRectToItem(root, QRectF(0, 0, t->width(), t->height())).toAlignedRect();
            f.main = f.name == "diag_device_id" || f.name == "diag_headline" || f.name.startsWith("diag_title_");
            const QFont font = t->property("font").value<QFont>();
            f.capRatio = QFontMetricsF(font).capHeight() / font.pixelSize();
            f.bound = f.main ? mainBound : smallBound;
            fields.push_back(f);
            ++shownOn[f.name];
            if (t->property("truncated").toBool())
                problems << where + f.name + " is elided";
        }
        if (qr->isVisible()) {
            Field f;
            f.name = "diag_qr (its white box)";
            f.item = qr->parentItem();
            f.box = f.item->mapRectToItem(root, QRectF(0, 0, f.item->width(), f.item->height())).toAlignedRect();
            f.text = false;
            fields.push_back(f);
        }
        for (Field &f : fields) {
            measure(f, img, bg);
            if (!interior.contains(f.box) || !img.rect().contains(f.box))
                problems << where + QString("%1 (%2,%3 %4x%5) is not inside the panel").arg(f.name).arg(f.box.x()).arg(f.box.y()).arg(f.box.width()).arg(f.box.height());
            if (!f.text)
                continue;
            if (f.painted.isNull()) {
                problems << where + f.name + " paints nothing";
                continue;
            }
            const double need = f.bound * f.capRatio;
            double &smallest = f.main ? minMain : minSmall;
            smallest = std::min(smallest, f.letterPx / f.capRatio);
            if (f.letterPx < need)
                problems << where + QString("%1: letters %2 px high, need %3 (text size %4 px, %5 of the short side; capitals %6 em)")
                                        .arg(f.name).arg(f.letterPx).arg(need, 0, 'f', 1).arg(f.bound, 0, 'f', 1)
                                        .arg(f.main ? "1/22" : "1/30").arg(f.capRatio, 0, 'f', 3);
        }
        for (std::size_t i = 0; i < fields.size(); ++i)
            for (std::size_t j = i + 1; j < fields.size(); ++j) {
                if (fields[i].box.intersects(fields[j].box))
                    problems << where + fields[i].name + " and " + fields[j].name + " overlap";
                else if (!fields[i].painted.isNull() && fields[i].painted.intersects(fields[j].painted))
                    problems << where + fields[i].name + " and " + fields[j].name + " are painted over each other";
            }
        // Inside the panel nothing is painted outside the fields...
        int stray = 0;
        QPoint firstStray;
        for (int y = interior.top(); y <= interior.bottom(); ++y)
            for (int x = interior.left(); x <= interior.right(); ++x) {
                if (!ink(img.pixel(x, y), bg))
                    continue;
                const bool claimed = std::any_of(fields.begin(), fields.end(),
                                                 [&](const Field &f) { return f.box.adjusted(-1, -1, 1, 1).contains(x, y); });
                if (!claimed && stray++ == 0)
                    firstStray = {x, y};
            }
        if (stray > 0)
            problems << where + QString("%1 painted pixel(s) inside the panel outside every field (first at %2,%3): text spilling from its box")
                                    .arg(stray).arg(firstStray.x()).arg(firstStray.y());
        // ... and outside it, only the content beneath.
        int spilled = 0;
        const QRect around = panelBox.adjusted(-2, -2, 2, 2);
        for (int y = 0; y < img.height(); ++y)
            for (int x = 0; x < img.width(); ++x)
                if (!around.contains(x, y) && ink(img.pixel(x, y), kContent.rgb()))
                    ++spilled;
        if (spilled > 0)
            problems << where + QString("%1 pixel(s) outside the panel differ from the content beneath").arg(spilled);

        if (const QByteArray dir = qgetenv("STOA_DIAG_SCREENSHOT_DIR"); !dir.isEmpty() && !shot.isEmpty()) {
            const QString file = QDir(QString::fromLocal8Bit(dir)).filePath(shot + (page ? QString("-page%1").arg(page + 1) : QString()) + ".png");
            QVERIFY(img.save(file));
            qInfo("saved %s", qPrintable(file));
        }
    }
    // Every field is shown, once (the footer on every page).
    std::vector<QQuickItem *> all;
    textItems(root, all);
    for (QQuickItem *t : all) {
        const QString name = t->objectName();
        if (name.isEmpty() || t->property("text").toString().isEmpty())
            continue;
        const int n = shownOn[name];
        if (name == "diag_footer" ? n != pages : n != 1)
            problems << QString("%1 is shown on %2 page(s)").arg(name).arg(n);
    }
    qInfo("%dx%d rotation %d: %d page(s); smallest text size measured: main %.1f px (bound %.1f), others %.1f px (bound %.1f)",
          window.width(), window.height(), rotation, pages, minMain, mainBound, minSmall, smallBound);
    for (const QString &p : problems)
        qWarning("%s", qPrintable(p)); // one by one: QtTest cuts long messages
    QVERIFY2(problems.isEmpty(), qPrintable(QString("%1 problem(s), listed above").arg(problems.size())));

    // Left alone, the pages turn by themselves and come back to the first.
    if (pages > 1) {
        root->setProperty("page", 0);
        root->setProperty("pageSeconds", 1);
        root->setProperty("cycling", true);
        QTRY_COMPARE_WITH_TIMEOUT(root->property("page").toInt(), 1, 5000);
        QTRY_COMPARE_WITH_TIMEOUT(root->property("page").toInt(), 0, 5000 * pages);
    }
}

QTEST_MAIN(DiagnosticsLegibility)
#include "tst_diagnostics_legibility.moc"
