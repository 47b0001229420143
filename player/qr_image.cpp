// player/qr_image.cpp — QR encoding and drawing (see qr_image.h).
#include "player/qr_image.h"

#include <QUrl>

#include <qrencode.h>

#include <algorithm>
#include <memory>

namespace stoa::player {

namespace {

struct QrDeleter {
    void operator()(QRcode *c) const { QRcode_free(c); }
};

std::unique_ptr<QRcode, QrDeleter> encode(const QString &text)
{
    if (text.isEmpty())
        return nullptr;
    const QByteArray utf8 = text.toUtf8();
    // 8-bit mode: device ids are case-sensitive ([A-Za-z0-9._-]).
    return std::unique_ptr<QRcode, QrDeleter>(QRcode_encodeString8bit(utf8.constData(), 0, QR_ECLEVEL_M));
}

} // namespace

int qrModuleCount(const QString &text)
{
    const auto code = encode(text);
    return code ? code->width : 0;
}

QImage qrImage(const QString &text, int maxSide)
{
    const auto code = encode(text);
    if (!code)
        return {};
    const int modules = code->width + 2 * kQrQuietZone;
    const int scale = std::max(1, maxSide > 0 ? maxSide / modules : 1);
    QImage img(modules * scale, modules * scale, QImage::Format_RGB32);
    img.fill(Qt::white);
    const QRgb black = qRgb(0, 0, 0);
    for (int y = 0; y < code->width; ++y)
        for (int x = 0; x < code->width; ++x) {
            // Bit 0 of each byte: the module is dark.
            if (!(code->data[y * code->width + x] & 1))
                continue;
            const int px = (x + kQrQuietZone) * scale, py = (y + kQrQuietZone) * scale;
            for (int dy = 0; dy < scale; ++dy) {
                auto *line = reinterpret_cast<QRgb *>(img.scanLine(py + dy));
                std::fill(line + px, line + px + scale, black);
            }
        }
    return img;
}

QImage QrImageProvider::requestImage(const QString &id, QSize *size, const QSize &requestedSize)
{
    const int side = std::min(requestedSize.width() > 0 ? requestedSize.width() : 0,
                              requestedSize.height() > 0 ? requestedSize.height() : requestedSize.width());
    QImage img = qrImage(QUrl::fromPercentEncoding(id.toUtf8()), side);
    if (size)
        *size = img.size();
    return img;
}

} // namespace stoa::player
