// platform/rpi/root_files.cpp — see root_files.h.
#include "platform/rpi/root_files.h"

#include <QFile>

namespace stoa::platform {

QString underRoot(const QString &root, const QString &absolutePath)
{
    QString base = root.isEmpty() ? kDefaultRoot : root;
    while (base.size() > 1 && base.endsWith(QLatin1Char('/')))
        base.chop(1);
    QStringView rel(absolutePath);
    while (rel.startsWith(QLatin1Char('/')))
        rel = rel.mid(1);
    if (base == QLatin1String("/"))
        return QLatin1Char('/') + rel.toString();
    return base + QLatin1Char('/') + rel.toString();
}

std::optional<QByteArray> readRootFile(const QString &root, const QString &absolutePath, qint64 maxBytes)
{
    QFile file(underRoot(root, absolutePath));
    if (!file.open(QIODevice::ReadOnly))
        return std::nullopt;
    // Kernel files report a fake size: read until EOF, bounded.
    QByteArray bytes;
    while (bytes.size() < maxBytes) {
        const QByteArray chunk = file.read(maxBytes - bytes.size());
        if (chunk.isEmpty())
            break;
        bytes += chunk;
    }
    if (file.error() != QFile::NoError)
        return std::nullopt;
    return bytes;
}

} // namespace stoa::platform
