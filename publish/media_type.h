// publish/media_type.h — media type of an asset, from its file name.
//
// Job: the one table mapping file extensions (case-insensitive) to the
// media_type written into the manifest, and whether that is an image (which
// needs a duration) or a video (which plays to its end by default).
// Invariant: an unknown extension has no media type; publish refuses it
// rather than guessing.
#pragma once

#include <QString>

#include <optional>

namespace stoa::publish {

enum class MediaKind { Image, Video };

struct MediaType {
    QString mime;   // e.g. "image/jpeg"
    MediaKind kind;
};

std::optional<MediaType> mediaTypeForFile(const QString &fileName);

// "jpg, jpeg, png, ..." for error messages and help text.
QString knownMediaExtensions();

} // namespace stoa::publish
