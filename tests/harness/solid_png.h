// tests/harness/solid_png.h — an image of one colour as the bytes of a PNG:
// media a test publishes or uploads, which the real player shows and a
// screenshot or a pixel check recognises by its colour. The test target
// links Qt6::Gui.
#pragma once

#include <QBuffer>
#include <QByteArray>
#include <QColor>
#include <QImage>
#include <QSize>

namespace stoa::testing {

inline QByteArray solidPng(const QColor &colour, QSize size)
{
    QImage image(size, QImage::Format_RGB32);
    image.fill(colour);
    QByteArray bytes;
    QBuffer buffer(&bytes);
    buffer.open(QIODevice::WriteOnly);
    image.save(&buffer, "PNG");
    return bytes;
}

} // namespace stoa::testing
