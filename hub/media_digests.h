// hub/media_digests.h — the media library's SHA-256 digests, taken once.
//
// Job: a medium is hashed when it enters the library (an upload's
// completion, PUT /api/v1/media) and its digest kept in DATA/digests/NAME,
// so the media list, schedule previews and week views read 64 hex
// characters instead of re-reading multi-GB videos on an HTTP thread.
// Invariants:
//  - a stored digest is used only while the file's size, inode and mtime
//    are those it was taken of: a file replaced (by rename) or changed
//    outside the hub is hashed again and its record rewritten;
//  - records are written atomically (publish::writeFileAtomically): a
//    reader sees a whole record or none; a missing, torn or foreign record
//    only costs a hash;
//  - names are the library's (Publisher::validMediaName): no '/', no
//    leading '.'.
#pragma once

#include "publish/publish.h"
#include "publish/site.h"

#include <QString>

#include <expected>
#include <string>

namespace stoa::hub {

class MediaDigests {
public:
    explicit MediaDigests(std::string dir) : dir_(std::move(dir)) {} // DATA/digests

    // The digest of the library file `path` (its record is named by the
    // file's name): the stored one while it still describes the file, else
    // hashed now and stored.
    std::expected<publish::FileDigest, publish::Error> digest(const QString &path) const;
    // Records `digest`, taken of `path` as the file is now.
    void store(const QString &path, const publish::FileDigest &digest) const;
    void forget(const std::string &name) const;
    // digest() for publish::collectAssets.
    publish::DigestSource source() const
    {
        return [this](const QString &path) { return digest(path); };
    }

private:
    std::string dir_;
};

} // namespace stoa::hub
