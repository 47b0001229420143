// player/qr_image.h — a QR code (libqrencode) as a crisp QImage, and its QML image provider.
//
// Job: encode text (the device id) with error correction M and draw it with
// whole pixels per module and the standard 4-module quiet zone, so a phone
// camera reads it from a ladder. QML asks for "image://stoa-qr/<text>" with
// a sourceSize; the provider returns the largest whole-pixel scale that fits.
//
// Invariants: modules are black on white, every module exactly `scale`
// pixels square; the image is square with side (modules + 8) * scale; empty
// text or an encoding failure gives a null image (QML then shows nothing).
#pragma once

#include <QImage>
#include <QQuickImageProvider>
#include <QString>

namespace stoa::player {

inline constexpr int kQrQuietZone = 4; // modules of white on each side (ISO/IEC 18004)

// The QR symbol's width in modules (without quiet zone); 0 when `text` cannot be encoded.
int qrModuleCount(const QString &text);

// `maxSide` <= 0: one pixel per module.
QImage qrImage(const QString &text, int maxSide);

class QrImageProvider : public QQuickImageProvider {
public:
    QrImageProvider() : QQuickImageProvider(QQuickImageProvider::Image) {}
    // `id` is the text, percent-encoded by QML's URL handling.
    QImage requestImage(const QString &id, QSize *size, const QSize &requestedSize) override;
};

} // namespace stoa::player
