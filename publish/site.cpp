// publish/site.cpp — see site.h.
#include "publish/site.h"

#include "schedule/digest.h"
#include "schedule/envelope.h"
#include "schedule/manifest_parse.h"
#include "schedule/payload_fields.h"
#include "schedule/strict_json.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QLoggingCategory>
#include <QTemporaryFile>

#include <cstdio>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

Q_LOGGING_CATEGORY(lcSite, "stoa.publish.site")

namespace stoa::publish {

namespace {
constexpr qint64 kChunk = 1 << 20;
constexpr char kTempPrefix[] = ".tmp-";

QString v1(const QString &site) { return QDir(site).filePath(QStringLiteral("v1")); }

QFileDevice::Permissions worldReadable()
{
    return QFileDevice::ReadOwner | QFileDevice::WriteOwner | QFileDevice::ReadGroup | QFileDevice::ReadOther;
}

std::expected<void, Error> makeDir(const QString &dir)
{
    if (!QDir().mkpath(dir)) return std::unexpected(ioError(QStringLiteral("cannot create directory %1").arg(dir)));
    return {};
}

// A temporary file next to `finalPath`, kept on disk until renamed or dropped.
std::expected<std::unique_ptr<QTemporaryFile>, Error> openTemp(const QString &finalPath)
{
    const QFileInfo info(finalPath);
    if (auto ok = makeDir(info.absolutePath()); !ok) return std::unexpected(ok.error());
    auto tmp = std::make_unique<QTemporaryFile>(info.absoluteDir().filePath(QLatin1String(kTempPrefix) + QStringLiteral("XXXXXX")));
    tmp->setAutoRemove(true);
    if (!tmp->open())
        return std::unexpected(ioError(QStringLiteral("cannot create a file in %1: %2").arg(info.absolutePath(), tmp->errorString())));
    return tmp;
}

// Web servers derive ETag and Last-Modified from the size and the mtime in
// whole seconds (nginx: "<mtime hex>-<size hex>"). A file replaced within the
// same second by one of the same size would keep its validators, and devices
// would be told 304 for the new document. So a replacement's mtime is moved
// past the old one's second.
void moveMtimePast(int fd, const QString &finalPath)
{
    struct stat old {};
    if (::stat(QFile::encodeName(finalPath).constData(), &old) != 0)
        return; // nothing replaced
    struct timespec now {};
    ::clock_gettime(CLOCK_REALTIME, &now);
    if (now.tv_sec > old.st_mtim.tv_sec)
        return;
    const struct timespec times[2] = {{0, UTIME_OMIT}, {old.st_mtim.tv_sec + 1, 0}};
    ::futimens(fd, times);
}

// flush + fsync + 0644 + rename(2) over finalPath.
std::expected<void, Error> commitTemp(QTemporaryFile &tmp, const QString &finalPath)
{
    if (!tmp.flush())
        return std::unexpected(ioError(QStringLiteral("cannot write %1: %2").arg(finalPath, tmp.errorString())));
    moveMtimePast(tmp.handle(), finalPath);
    if (::fsync(tmp.handle()) != 0)
        return std::unexpected(ioError(QStringLiteral("cannot write %1: %2").arg(finalPath, tmp.errorString())));
    if (!tmp.setPermissions(worldReadable()))
        return std::unexpected(ioError(QStringLiteral("cannot set permissions on %1").arg(tmp.fileName())));
    const QString tmpName = tmp.fileName();
    tmp.close();
    if (std::rename(QFile::encodeName(tmpName).constData(), QFile::encodeName(finalPath).constData()) != 0)
        return std::unexpected(ioError(QStringLiteral("cannot rename %1 to %2").arg(tmpName, finalPath)));
    tmp.setAutoRemove(false); // it is finalPath now
    return {};
}
} // namespace

QString siteManifestPath(const QString &site) { return v1(site) + QStringLiteral("/manifest.json"); }
QString siteDeviceManifestPath(const QString &site, const QString &deviceId)
{
    return v1(site) + QStringLiteral("/devices/") + deviceId + QStringLiteral("/manifest.json");
}
QString siteKeysPath(const QString &site) { return v1(site) + QStringLiteral("/keys.json"); }
QString siteBlobsDir(const QString &site) { return v1(site) + QStringLiteral("/blobs/sha256"); }
QString siteBlobPath(const QString &site, const schedule::Digest &digest)
{
    return siteBlobsDir(site) + u'/' + QString::fromStdString(digest.hex());
}

QStringList siteManifestPaths(const QString &site)
{
    QStringList paths;
    if (QFileInfo::exists(siteManifestPath(site))) paths << siteManifestPath(site);
    const QDir devices(v1(site) + QStringLiteral("/devices"));
    for (const QString &id : devices.entryList(QDir::Dirs | QDir::NoDotAndDotDot, QDir::Name)) {
        const QString p = siteDeviceManifestPath(site, id);
        if (QFileInfo::exists(p)) paths << p;
    }
    return paths;
}

std::expected<QByteArray, Error> readEnvelopeFile(const QString &path)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        return std::unexpected(ioError(QStringLiteral("cannot read %1: %2").arg(path, f.errorString())));
    QByteArray bytes = f.read(schedule::kMaxEnvelopeBytes + 1);
    if (bytes.size() > schedule::kMaxEnvelopeBytes)
        return std::unexpected(invalid(QStringLiteral("%1 is larger than the 4 MiB envelope limit").arg(path)));
    return bytes;
}

std::expected<std::int64_t, Error> unverifiedVersion(const QString &path, QByteArrayView payloadType)
{
    auto bytes = readEnvelopeFile(path);
    if (!bytes) return std::unexpected(bytes.error());
    auto envelope = schedule::parseEnvelope(*bytes);
    if (!envelope)
        return std::unexpected(invalid(QStringLiteral("existing %1 is not a valid envelope (%2); move it away or fix it")
                                           .arg(path, envelope.error().reason)));
    if (envelope->payloadType != payloadType)
        return std::unexpected(invalid(QStringLiteral("existing %1 has payload type \"%2\"").arg(path, QString::fromUtf8(envelope->payloadType))));
    auto object = schedule::parseStrictJsonObject(envelope->payload);
    const auto version = object ? schedule::jsonInteger(object->value(QLatin1String("version"))) : std::nullopt;
    if (!version)
        return std::unexpected(invalid(QStringLiteral("existing %1 has no readable \"version\"; move it away or fix it").arg(path)));
    return *version;
}

std::expected<std::optional<std::int64_t>, Error> highestManifestVersion(const QString &site)
{
    std::optional<std::int64_t> highest;
    for (const QString &path : siteManifestPaths(site)) {
        auto v = unverifiedVersion(path, schedule::kManifestPayloadType);
        if (!v) return std::unexpected(v.error());
        if (!highest || *v > *highest) highest = *v;
    }
    return highest;
}

std::expected<void, Error> writeFileAtomically(const QString &path, QByteArrayView bytes)
{
    auto tmp = openTemp(path);
    if (!tmp) return std::unexpected(tmp.error());
    if ((*tmp)->write(bytes.data(), bytes.size()) != bytes.size())
        return std::unexpected(ioError(QStringLiteral("cannot write %1: %2").arg(path, (*tmp)->errorString())));
    return commitTemp(**tmp, path);
}

namespace {
// Reads `in` (named `name` in messages) to its end in kChunk pieces, hashing
// each and handing it to `also` (an error there stops the read): the digest
// and size of the bytes read, whatever the file says its size is.
template <class Also>
std::expected<FileDigest, Error> hashWhileReading(QFile &in, const QString &name, Also also)
{
    schedule::Sha256 hash;
    std::uint64_t size = 0;
    while (!in.atEnd()) {
        const QByteArray chunk = in.read(kChunk);
        if (chunk.isEmpty() && in.error() != QFileDevice::NoError)
            return std::unexpected(ioError(QStringLiteral("cannot read %1: %2").arg(name, in.errorString())));
        if (std::expected<void, Error> ok = also(chunk); !ok) return std::unexpected(ok.error());
        hash.update(chunk);
        size += static_cast<std::uint64_t>(chunk.size());
    }
    return FileDigest{hash.finish(), size};
}
} // namespace

std::expected<FileDigest, Error> digestFile(const QString &path)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        return std::unexpected(ioError(QStringLiteral("cannot read %1: %2").arg(path, f.errorString())));
    return hashWhileReading(f, path, [](const QByteArray &) { return std::expected<void, Error>(); });
}

std::expected<bool, Error> storeBlob(const QString &site, const QString &sourceFile, const FileDigest &expected)
{
    const QString target = siteBlobPath(site, expected.sha256);
    const QFileInfo existing(target);
    if (existing.exists() && static_cast<std::uint64_t>(existing.size()) == expected.size) {
        qCDebug(lcSite) << "reusing blob" << target;
        return false;
    }
    QFile in(sourceFile);
    if (!in.open(QIODevice::ReadOnly))
        return std::unexpected(ioError(QStringLiteral("cannot read %1: %2").arg(sourceFile, in.errorString())));
    auto tmp = openTemp(target);
    if (!tmp) return std::unexpected(tmp.error());
    auto copied = hashWhileReading(in, sourceFile, [&](const QByteArray &chunk) -> std::expected<void, Error> {
        if ((*tmp)->write(chunk) != chunk.size())
            return std::unexpected(ioError(QStringLiteral("cannot write %1: %2").arg(target, (*tmp)->errorString())));
        return {};
    });
    if (!copied) return std::unexpected(copied.error());
    if (*copied != expected)
        return std::unexpected(ioError(QStringLiteral("%1 changed while it was being published; run again").arg(sourceFile)));
    if (auto ok = commitTemp(**tmp, target); !ok) return std::unexpected(ok.error());
    qCDebug(lcSite) << "wrote blob" << target << copied->size << "bytes";
    return true;
}

std::expected<std::set<schedule::Digest>, Error> referencedBlobs(const QString &site)
{
    std::set<schedule::Digest> keep;
    for (const QString &path : siteManifestPaths(site)) {
        auto bytes = readEnvelopeFile(path);
        if (!bytes) return std::unexpected(bytes.error());
        auto envelope = schedule::parseEnvelope(*bytes);
        auto manifest = envelope ? schedule::parseManifest(envelope->payload)
                                 : std::unexpected(envelope.error());
        if (!manifest)
            return std::unexpected(invalid(QStringLiteral("cannot tell which blobs %1 needs (%2); not pruning")
                                               .arg(path, manifest.error().reason)));
        for (const auto &[digest, asset] : manifest->assets) keep.insert(digest);
    }
    return keep;
}

std::expected<QStringList, Error> pruneBlobs(const QString &site, const std::set<schedule::Digest> &keep)
{
    QStringList removed;
    const QDir dir(siteBlobsDir(site));
    for (const QString &name : dir.entryList(QDir::Files | QDir::Hidden, QDir::Name)) {
        const auto blob = schedule::Digest::fromHex(name.toStdString());
        const bool staleTemp = name.startsWith(QLatin1String(kTempPrefix));
        if ((!blob && !staleTemp) || (blob && keep.contains(*blob))) continue;
        if (!QFile::remove(dir.filePath(name)))
            return std::unexpected(ioError(QStringLiteral("cannot remove %1").arg(dir.filePath(name))));
        removed << name;
    }
    return removed;
}

} // namespace stoa::publish
