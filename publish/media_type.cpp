// publish/media_type.cpp — see media_type.h.
#include "publish/media_type.h"

#include <QFileInfo>
#include <QStringList>

#include <array>

namespace stoa::publish {

namespace {
struct Entry {
    const char *extension;
    const char *mime;
    MediaKind kind;
};

constexpr std::array<Entry, 13> kTable{{
    {"jpg", "image/jpeg", MediaKind::Image},
    {"jpeg", "image/jpeg", MediaKind::Image},
    {"png", "image/png", MediaKind::Image},
    {"webp", "image/webp", MediaKind::Image},
    {"gif", "image/gif", MediaKind::Image},
    {"bmp", "image/bmp", MediaKind::Image},
    {"svg", "image/svg+xml", MediaKind::Image},
    {"mp4", "video/mp4", MediaKind::Video},
    {"m4v", "video/mp4", MediaKind::Video},
    {"webm", "video/webm", MediaKind::Video},
    {"mkv", "video/x-matroska", MediaKind::Video},
    {"mov", "video/quicktime", MediaKind::Video},
    {"ogv", "video/ogg", MediaKind::Video},
}};
} // namespace

std::optional<MediaType> mediaTypeForFile(const QString &fileName)
{
    const QString suffix = QFileInfo(fileName).suffix().toLower();
    for (const Entry &e : kTable)
        if (suffix == QLatin1String(e.extension)) return MediaType{QString::fromLatin1(e.mime), e.kind};
    return std::nullopt;
}

QString knownMediaExtensions()
{
    QStringList names;
    for (const Entry &e : kTable) names << QString::fromLatin1(e.extension);
    return names.join(QLatin1String(", "));
}

} // namespace stoa::publish
