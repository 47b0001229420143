// tests/player/tst_crop.cpp — v1.1 §13 `crop` on screen (issue 20), under
// Xvfb: a 400x200 picture of four coloured quadrants (red | green over
// blue | yellow), one quadrant cropped, full screen (1280x720):
//  - stretch: the green quadrant fills the whole window; no other colour;
//  - contain: the green quadrant (2:1) fitted into 16:9: green across the
//    middle, bars above and below that show none of the rest of the picture;
//  - cover: the blue quadrant covers the window.
// Fails without the crop (the whole picture: red, blue and yellow show).
#include "player_harness.h"

using namespace stoa;
using namespace stoa::player;
using namespace stoa::player::testing;

namespace {
const QColor kRed(255, 0, 0), kGreen(0, 255, 0), kBlue(0, 0, 255), kYellow(255, 255, 0);

QImage quadrants()
{
    QImage img(400, 200, QImage::Format_RGB32);
    for (int y = 0; y < 200; ++y)
        for (int x = 0; x < 400; ++x)
            img.setPixelColor(x, y, y < 100 ? (x < 200 ? kRed : kGreen) : (x < 200 ? kBlue : kYellow));
    return img;
}

QJsonObject croppedItem(const Media &m, const QString &fit, QRectF crop)
{
    QJsonObject o = item(m, 60000, fit);
    o["crop"] = QJsonObject{{"x", crop.x()}, {"y", crop.y()}, {"w", crop.width()}, {"h", crop.height()}};
    return o;
}

int countNear(const QImage &img, const QColor &c)
{
    int n = 0;
    for (int y = 0; y < img.height(); y += 4)
        for (int x = 0; x < img.width(); x += 4)
            n += near(img.pixelColor(x, y), c, 60) ? 1 : 0;
    return n;
}
} // namespace

class CropTest : public QObject {
    Q_OBJECT
private slots:
    void stretch();
    void contain();
    void cover();
};

void CropTest::stretch()
{
    PlayerHarness h;
    const Media pic = h.content->image(quadrants());
    h.content->activate(h.content->manifest(1, {{"main", playlist({croppedItem(pic, "stretch", {0.5, 0, 0.5, 0.5})})}}, "main"));
    QVERIFY(h.start());
    QTRY_VERIFY_WITH_TIMEOUT(near(h.pixel(0.5, 0.5), kGreen), 5000);
    for (const auto &[x, y] : {std::pair{0.01, 0.01}, {0.99, 0.01}, {0.01, 0.99}, {0.99, 0.99}})
        QVERIFY2(near(h.pixel(x, y), kGreen), qPrintable(h.pixel(x, y).name()));
    const QImage img = h.grab();
    QCOMPARE(countNear(img, kRed) + countNear(img, kBlue) + countNear(img, kYellow), 0);
}

void CropTest::contain()
{
    PlayerHarness h;
    const Media pic = h.content->image(quadrants());
    h.content->activate(h.content->manifest(1, {{"main", playlist({croppedItem(pic, "contain", {0.5, 0, 0.5, 0.5})})}}, "main"));
    QVERIFY(h.start());
    QTRY_VERIFY_WITH_TIMEOUT(near(h.pixel(0.5, 0.5), kGreen), 5000);
    // 2:1 in 1280x720: 1280x640, 40 px bars above and below.
    QVERIFY(near(h.pixel(0.01, 0.5), kGreen));
    QVERIFY(near(h.pixel(0.99, 0.5), kGreen));
    QVERIFY(near(h.pixel(0.5, 40.0 / 720 + 0.01), kGreen));
    const QColor bar = h.pixel(0.5, 0.02);
    QVERIFY2(!near(bar, kGreen) && !near(bar, kRed) && !near(bar, kBlue) && !near(bar, kYellow), qPrintable(bar.name()));
    const QImage img = h.grab();
    QCOMPARE(countNear(img, kRed) + countNear(img, kBlue) + countNear(img, kYellow), 0);
}

void CropTest::cover()
{
    PlayerHarness h;
    const Media pic = h.content->image(quadrants());
    h.content->activate(h.content->manifest(1, {{"main", playlist({croppedItem(pic, "cover", {0, 0.5, 0.5, 0.5})})}}, "main"));
    QVERIFY(h.start());
    QTRY_VERIFY_WITH_TIMEOUT(near(h.pixel(0.5, 0.5), kBlue), 5000);
    const QImage img = h.grab();
    QCOMPARE(countNear(img, kRed) + countNear(img, kGreen) + countNear(img, kYellow), 0);
    QVERIFY(near(h.pixel(0.01, 0.01), kBlue) && near(h.pixel(0.99, 0.99), kBlue));
}

QTEST_MAIN(CropTest)
#include "tst_crop.moc"
