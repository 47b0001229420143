// publish/site.h — the static site tree of protocol-v1 §1, on a local disk.
//
// Job: where each document and blob lives under SITE, how they are written
// and what is already there:
//   SITE/v1/manifest.json                   fleet manifest (DSSE envelope)
//   SITE/v1/devices/{id}/manifest.json      per-device manifests
//   SITE/v1/keys.json                       signing-keys document
//   SITE/v1/blobs/sha256/{64 lowercase hex} asset bytes, named by their SHA-256
// Invariants:
//  - every file is written to a temporary name in its final directory,
//    flushed to disk, made world-readable (0644) and then renamed into place,
//    so a web server or a device reading the tree never sees half a file;
//  - a blob file's name is the SHA-256 of its bytes: storeBlob() hashes while
//    copying and refuses to rename when the source changed under it;
//  - existing blobs of the right size are never rewritten (they are immutable
//    and may be in use by devices right now).
#pragma once

#include "publish/error.h"
#include "schedule/digest.h"

#include <QByteArray>
#include <QByteArrayView>
#include <QString>
#include <QStringList>

#include <cstdint>
#include <expected>
#include <optional>
#include <set>
#include <string>

namespace stoa::publish {

QString siteManifestPath(const QString &site);
QString siteDeviceManifestPath(const QString &site, const QString &deviceId);
QString siteKeysPath(const QString &site);
QString siteBlobsDir(const QString &site);
QString siteBlobPath(const QString &site, const schedule::Digest &digest);

// Every manifest envelope file present: the fleet one first, then devices/*
// in name order.
QStringList siteManifestPaths(const QString &site);

// The whole file, refusing files over the envelope limit (4 MiB).
std::expected<QByteArray, Error> readEnvelopeFile(const QString &path);

// The payload's "version" of an envelope file, WITHOUT checking signatures:
// used to number the next document of our own site. Fails (rather than
// guessing 0) when the file is unreadable or not a `payloadType` envelope.
std::expected<std::int64_t, Error> unverifiedVersion(const QString &path, QByteArrayView payloadType);

// Highest version among siteManifestPaths(); nullopt when there is none.
std::expected<std::optional<std::int64_t>, Error> highestManifestVersion(const QString &site);

// Atomic replace (see invariants); creates missing directories.
std::expected<void, Error> writeFileAtomically(const QString &path, QByteArrayView bytes);

struct FileDigest {
    schedule::Digest sha256; // of the file's bytes
    std::uint64_t size = 0;
    bool operator==(const FileDigest &) const = default;
};

// SHA-256 and size of a file, streamed.
std::expected<FileDigest, Error> digestFile(const QString &path);

// Puts `sourceFile` (whose digest is `expected`) at siteBlobPath(). Returns
// true when it wrote the blob, false when an existing blob was reused.
std::expected<bool, Error> storeBlob(const QString &site, const QString &sourceFile, const FileDigest &expected);

// Asset digests referenced by every manifest in the site (signatures unchecked;
// a manifest that does not parse makes this fail, as pruning would then be a
// guess).
std::expected<std::set<schedule::Digest>, Error> referencedBlobs(const QString &site);

// Removes blob files (and stale temporaries) not in `keep`; returns the
// removed file names. A file whose name is not a digest is not a blob and
// is left alone.
std::expected<QStringList, Error> pruneBlobs(const QString &site, const std::set<schedule::Digest> &keep);

} // namespace stoa::publish
