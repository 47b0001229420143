// publish/publish.h — schedule source + media -> signed manifest(s) + blobs in a site.
//
// Job: everything `stoa publish` does, callable from tests. Reads the
// source (schedule_source.h), hashes the media it names, builds the §3
// manifest payload, checks it with the device's own parser
// (parseManifest + checkReferences) and the signature with the key's public
// half, then writes blobs first and manifests last (site.h), so a reader of
// the site never sees a manifest whose blobs are missing.
// Invariants:
//  - nothing is written unless every manifest to be written validated;
//  - version = max(highest manifest version in SITE + 1, minVersion, 1): one
//    counter for the fleet and every device manifest, so a device that moves
//    between its own manifest and the fleet one never sees a rollback;
//  - issued_at = now (whole seconds, UTC), expires_at = now + expiresIn.
#pragma once

#include "schedule/keys.h"
#include "publish/schedule_source.h"
#include "publish/site.h"
#include "publish/error.h"

#include <QByteArray>
#include <QDateTime>
#include <QString>
#include <QStringList>

#include <cstdint>
#include <expected>
#include <functional>
#include <map>
#include <optional>

namespace stoa::publish {

inline constexpr std::int64_t kDefaultManifestLifetimeMs = std::int64_t{30} * 86400 * 1000;

struct PublishOptions {
    QString source;        // directory holding schedule.ini, or the schedule file itself
    QString site;          // SITE root (v1/ goes below it)
    QStringList devices;   // per-device manifests for these ids; empty: the fleet manifest
    std::int64_t expiresInMs = kDefaultManifestLifetimeMs;
    std::optional<std::int64_t> minVersion; // --version
    bool prune = false;    // remove blobs no manifest in SITE references
    QDateTime now;         // issued_at; invalid: the current time
};

struct PublishResult {
    std::int64_t version = 0;
    QDateTime issuedAt;
    QDateTime expiresAt;
    QStringList manifests;   // paths written
    int blobsWritten = 0;    // new blob files
    int blobsReused = 0;     // already present, left untouched
    QStringList pruned;      // blob files removed by --prune
    std::string keyId;       // the signer
};

// A media file of the source, hashed.
struct SourceAsset {
    QString path;         // absolute path of the media file
    FileDigest digest;
    QString mediaType;    // e.g. "image/png"
    bool image = false;   // images get a duration when the source gives none
};

// Where a medium's digest comes from: digestFile (the default), or a store
// of digests taken once (the hub's library, hashed when uploaded).
using DigestSource = std::function<std::expected<FileDigest, Error>(const QString &path)>;

// Hashes every file the source names (relative to `sourceDir`); messages
// quote the source line of the first use of a missing or unknown file.
std::expected<std::map<QString, SourceAsset>, Error> collectAssets(const SourceSchedule &source,
                                                                       const QString &sourceDir,
                                                                       const DigestSource &digest = {});

// The §3 payload JSON for `devices`, not yet validated.
QByteArray buildManifestPayload(const SourceSchedule &source, const std::map<QString, SourceAsset> &assets,
                                const QStringList &devices, std::int64_t version,
                                const QDateTime &issuedAt, const QDateTime &expiresAt);

std::expected<PublishResult, Error> publishSite(const PublishOptions &options, const schedule::PrivateKey &key);

// One manifest of a publication: a parsed source (its media relative to
// `sourceDir`), the devices it names ("*" or empty: every device) and the
// site path it is written to.
struct ManifestTarget {
    const SourceSchedule *source = nullptr;
    QString sourceDir;
    QStringList devices;
    QString path;
};

struct ManifestOptions {
    QString site;
    std::int64_t expiresInMs = kDefaultManifestLifetimeMs;
    std::optional<std::int64_t> minVersion;
    bool prune = false;
    QDateTime now;
    // Where the media's digests come from (collectAssets); a new blob's
    // copy still checks the bytes against it (storeBlob).
    DigestSource digests;
};

// Several manifests at one new version, all-or-nothing as publishSite():
// every document is built, checked and signed before any file is written
// (the hub publishes the fleet manifest and per-device ones together).
std::expected<PublishResult, Error> publishManifests(const std::vector<ManifestTarget> &targets,
                                                    const ManifestOptions &options, const schedule::PrivateKey &key);

} // namespace stoa::publish
