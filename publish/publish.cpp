// publish/publish.cpp — see publish.h.
#include "publish/publish.h"

#include "schedule/envelope.h"
#include "schedule/manifest_parse.h"
#include "schedule/payload_fields.h"
#include "publish/media_type.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLoggingCategory>
#include <QTimeZone>

#include <algorithm>
#include <array>
#include <optional>
#include <set>

Q_LOGGING_CATEGORY(lcPublish, "stoa.publish.publish")

namespace stoa::publish {

using schedule::Fit;

namespace {

QString rfc3339(const QDateTime &t) { return t.toUTC().toString(Qt::ISODate); }

// A sync epoch keeps its milliseconds (§13 slots are counted from it).
QString rfc3339Ms(const QDateTime &t)
{
    return t.toUTC().toString(t.time().msec() != 0 ? Qt::ISODateWithMs : Qt::ISODate);
}

QJsonObject rectJson(const schedule::FractionRect &r)
{
    return QJsonObject{{QStringLiteral("x"), r.x}, {QStringLiteral("y"), r.y}, {QStringLiteral("w"), r.w}, {QStringLiteral("h"), r.h}};
}

QString fitName(Fit fit)
{
    switch (fit) {
    case Fit::Contain: return QStringLiteral("contain");
    case Fit::Cover: return QStringLiteral("cover");
    case Fit::Stretch: return QStringLiteral("stretch");
    }
    return QStringLiteral("contain");
}

QJsonObject itemJson(const SourceItem &item, const std::map<QString, SourceAsset> &assets, std::int64_t imageDurationMs)
{
    QJsonObject o;
    std::optional<std::int64_t> duration = item.durationMs;
    if (item.text) {
        o.insert(QStringLiteral("text"), item.text->text);
        if (item.text->scroll) o.insert(QStringLiteral("scroll"), true);
        o.insert(QStringLiteral("color"), schedule::rgbText(item.text->color));
        if (item.text->background) o.insert(QStringLiteral("background"), schedule::rgbText(*item.text->background));
        if (!duration) duration = imageDurationMs;
    } else if (!item.stream.isEmpty()) {
        o.insert(QStringLiteral("stream"), item.stream);
    } else if (!item.url.isEmpty()) {
        o.insert(QStringLiteral("url"), item.url);
    } else {
        const SourceAsset &a = assets.at(item.file);
        o.insert(QStringLiteral("asset"), QString::fromStdString(a.digest.sha256.ref()));
        if (!duration && a.image) duration = imageDurationMs;
    }
    if (duration) o.insert(QStringLiteral("duration_ms"), static_cast<qint64>(*duration));
    if (item.fit) o.insert(QStringLiteral("fit"), fitName(*item.fit));
    if (item.crop) o.insert(QStringLiteral("crop"), rectJson(*item.crop));
    return o;
}

QJsonObject layoutJson(const SourceLayout &layout)
{
    QJsonArray regions;
    for (const SourceRegion &r : layout.regions) {
        QJsonObject o = rectJson(r.rect);
        o.insert(QStringLiteral("id"), r.id);
        o.insert(QStringLiteral("playlist"), r.playlist);
        if (r.z != 0) o.insert(QStringLiteral("z"), r.z);
        regions.append(o);
    }
    return QJsonObject{{QStringLiteral("regions"), regions}};
}

QJsonObject windowJson(const SourceWindow &w)
{
    static constexpr std::array<const char *, 7> kDays{"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
    QJsonObject o;
    if (w.layout.isEmpty()) o.insert(QStringLiteral("playlist"), w.playlist);
    else o.insert(QStringLiteral("layout"), w.layout);
    if (w.priority != 0) o.insert(QStringLiteral("priority"), w.priority);
    if (!w.days.empty()) {
        QJsonArray days;
        for (auto d : w.days) days.append(QLatin1String(kDays[static_cast<std::size_t>(d) - 1]));
        o.insert(QStringLiteral("days"), days);
    }
    if (w.fromMinute) o.insert(QStringLiteral("from"), schedule::timeOfDayText(*w.fromMinute));
    if (w.untilMinute) o.insert(QStringLiteral("until"), schedule::timeOfDayText(*w.untilMinute));
    if (w.startDate) o.insert(QStringLiteral("start_date"), w.startDate->toString(Qt::ISODate));
    if (w.endDate) o.insert(QStringLiteral("end_date"), w.endDate->toString(Qt::ISODate));
    return o;
}

// Where the schedule file is, and the directory media names are relative to.
std::expected<std::pair<QString, QString>, Error> locateSource(const QString &source)
{
    const QFileInfo info(source);
    if (info.isDir()) {
        const QString file = QDir(source).filePath(QLatin1String(kSourceFileName));
        if (!QFileInfo(file).isFile())
            return std::unexpected(ioError(QStringLiteral("%1 has no %2 (see docs/stoa-command.md for the format)")
                                               .arg(source, QLatin1String(kSourceFileName))));
        return std::pair{file, info.absoluteFilePath()};
    }
    if (!info.isFile()) return std::unexpected(ioError(QStringLiteral("source %1 does not exist").arg(source)));
    return std::pair{info.absoluteFilePath(), info.absolutePath()};
}

// The checks a device would make, plus expiry after issue, on our own output.
std::expected<void, Error> validatePayload(const QByteArray &payload, const QString &label)
{
    auto manifest = schedule::parseManifest(payload);
    if (!manifest)
        return std::unexpected(invalid(QStringLiteral("internal: the generated %1 would be rejected by devices: %2")
                                           .arg(label, manifest.error().reason)));
    if (auto refs = schedule::checkReferences(*manifest); !refs)
        return std::unexpected(invalid(QStringLiteral("internal: the generated %1 would be rejected by devices: %2")
                                           .arg(label, refs.error().reason)));
    if (manifest->expiresAt <= manifest->issuedAt)
        return std::unexpected(invalid(QStringLiteral("%1 would expire before it is issued").arg(label)));
    return {};
}

} // namespace

std::expected<std::map<QString, SourceAsset>, Error> collectAssets(const SourceSchedule &source, const QString &sourceDir,
                                                                   const DigestSource &digestOf)
{
    std::map<QString, SourceAsset> assets;
    const QDir dir(sourceDir);
    for (const SourcePlaylist &p : source.playlists) {
        for (const SourceItem &item : p.items) {
            if (item.file.isEmpty() || assets.contains(item.file)) continue;
            const QString at = QStringLiteral("%1:%2: ").arg(source.fileName).arg(item.line);
            const auto type = mediaTypeForFile(item.file);
            if (!type)
                return std::unexpected(invalid(at + QStringLiteral("\"%1\": unknown media type (known extensions: %2)")
                                                        .arg(item.file, knownMediaExtensions())));
            const QString path = dir.absoluteFilePath(item.file);
            if (!QFileInfo(path).isFile())
                return std::unexpected(ioError(at + QStringLiteral("media file \"%1\" not found (looked for %2)").arg(item.file, path)));
            auto digest = digestOf ? digestOf(path) : digestFile(path);
            if (!digest) return std::unexpected(ioError(at + digest.error().message));
            if (digest->size == 0)
                return std::unexpected(invalid(at + QStringLiteral("media file \"%1\" is empty").arg(item.file)));
            assets.emplace(item.file, SourceAsset{path, *digest, type->mime, type->kind == MediaKind::Image});
        }
    }
    return assets;
}

QByteArray buildManifestPayload(const SourceSchedule &source, const std::map<QString, SourceAsset> &assets,
                                const QStringList &devices, std::int64_t version,
                                const QDateTime &issuedAt, const QDateTime &expiresAt)
{
    QJsonObject m;
    m.insert(QStringLiteral("schema"), 1);
    m.insert(QStringLiteral("version"), static_cast<qint64>(version));
    m.insert(QStringLiteral("issued_at"), rfc3339(issuedAt));
    m.insert(QStringLiteral("expires_at"), rfc3339(expiresAt));
    m.insert(QStringLiteral("devices"), QJsonArray::fromStringList(devices));
    m.insert(QStringLiteral("timezone"), source.timezone);

    QJsonObject assetsJson;
    for (const auto &[name, a] : assets) {
        QJsonObject o;
        o.insert(QStringLiteral("size"), static_cast<qint64>(a.digest.size));
        o.insert(QStringLiteral("media_type"), a.mediaType);
        assetsJson.insert(QString::fromStdString(a.digest.sha256.ref()), o);
    }
    m.insert(QStringLiteral("assets"), assetsJson);

    QJsonObject playlists;
    for (const SourcePlaylist &p : source.playlists) {
        QJsonArray items;
        for (const SourceItem &item : p.items) items.append(itemJson(item, assets, source.imageDurationMs));
        QJsonObject playlist{{QStringLiteral("items"), items}};
        if (p.sync) playlist.insert(QStringLiteral("sync"), QJsonObject{{QStringLiteral("epoch"), rfc3339Ms(*p.sync)}});
        playlists.insert(p.name, playlist);
    }
    m.insert(QStringLiteral("playlists"), playlists);
    if (!source.layouts.empty()) {
        QJsonObject layouts;
        for (const SourceLayout &l : source.layouts) layouts.insert(l.name, layoutJson(l));
        m.insert(QStringLiteral("layouts"), layouts);
    }

    QJsonArray scheduleJson;
    for (const SourceWindow &w : source.windows) scheduleJson.append(windowJson(w));
    m.insert(QStringLiteral("schedule"), scheduleJson);
    if (source.defaultPlaylist) m.insert(QStringLiteral("default_playlist"), *source.defaultPlaylist);
    if (source.defaultLayout) m.insert(QStringLiteral("default_layout"), *source.defaultLayout);
    if (source.display)
        m.insert(QStringLiteral("display"), QJsonObject{{QStringLiteral("on"), schedule::timeOfDayText(source.display->onMinute)},
                                                        {QStringLiteral("off"), schedule::timeOfDayText(source.display->offMinute)}});
    QJsonObject settings;
    if (source.settings.syncIntervalS) settings.insert(QStringLiteral("sync_interval_s"), *source.settings.syncIntervalS);
    if (source.settings.statusIntervalS) settings.insert(QStringLiteral("status_interval_s"), *source.settings.statusIntervalS);
    if (source.settings.rotation) settings.insert(QStringLiteral("rotation"), *source.settings.rotation);
    if (!settings.isEmpty()) m.insert(QStringLiteral("settings"), settings);
    if (!source.commands.empty()) {
        QJsonArray commands;
        for (const auto &c : source.commands)
            commands.append(QJsonObject{{QStringLiteral("id"), QString::fromStdString(c.id)},
                                        {QStringLiteral("type"), QString::fromStdString(c.type)}});
        m.insert(QStringLiteral("commands"), commands);
    }
    return QJsonDocument(m).toJson(QJsonDocument::Indented);
}

std::expected<PublishResult, Error> publishManifests(const std::vector<ManifestTarget> &targets,
                                                    const ManifestOptions &options, const schedule::PrivateKey &key)
{
    if (options.expiresInMs <= 0) return std::unexpected(usage(QStringLiteral("--expires-in must be positive")));
    if (targets.empty()) return std::unexpected(usage(QStringLiteral("nothing to publish")));
    for (const auto &t : targets)
        for (const QString &id : t.devices)
            if (id != QLatin1String("*") && !isValidDeviceId(id))
                return std::unexpected(usage(QStringLiteral("--device \"%1\" is not a device id (1-64 of A-Z a-z 0-9 . _ -)").arg(id)));

    // Every medium of every source, hashed once per source directory.
    std::vector<std::map<QString, SourceAsset>> assets;
    for (const auto &t : targets) {
        auto a = collectAssets(*t.source, t.sourceDir, options.digests);
        if (!a) return std::unexpected(a.error());
        assets.push_back(std::move(*a));
    }

    auto existing = highestManifestVersion(options.site);
    if (!existing) return std::unexpected(existing.error());
    PublishResult result;
    result.version = std::max<std::int64_t>({existing->value_or(0) + 1, options.minVersion.value_or(1), 1});
    const QDateTime now = options.now.isValid() ? options.now : QDateTime::currentDateTimeUtc();
    result.issuedAt = QDateTime::fromSecsSinceEpoch(now.toSecsSinceEpoch(), Qt::UTC);
    result.expiresAt = result.issuedAt.addMSecs(options.expiresInMs);
    result.keyId = key.publicKey().keyId();

    // Sign and check everything before writing anything.
    std::vector<std::pair<QString, QByteArray>> documents; // path, envelope
    for (std::size_t i = 0; i < targets.size(); ++i) {
        const auto &t = targets[i];
        const QStringList devices = t.devices.isEmpty() ? QStringList{QStringLiteral("*")} : t.devices;
        const QByteArray payload = buildManifestPayload(*t.source, assets[i], devices, result.version, result.issuedAt,
                                                        result.expiresAt);
        if (auto ok = validatePayload(payload, t.path); !ok) return std::unexpected(ok.error());
        const std::array<schedule::PrivateKey, 1> keys{key};
        auto envelope = schedule::signEnvelope(schedule::kManifestPayloadType, payload, keys);
        if (!envelope) return std::unexpected(invalid(QStringLiteral("signing failed: %1").arg(envelope.error().reason)));
        if (envelope->size() > schedule::kMaxEnvelopeBytes)
            return std::unexpected(invalid(QStringLiteral("%1 would be %2 bytes, over the 4 MiB limit devices accept")
                                               .arg(t.path).arg(envelope->size())));
        const std::array<schedule::PublicKey, 1> self{key.publicKey()};
        if (auto check = schedule::verifyEnvelope(*envelope, schedule::kManifestPayloadType, self); !check)
            return std::unexpected(invalid(QStringLiteral("internal: own signature does not verify: %1").arg(check.error().reason)));
        documents.emplace_back(t.path, *envelope);
    }

    // Blobs first, manifests last: a reader never sees a manifest whose blobs are missing.
    std::set<schedule::Digest> stored;
    for (const auto &perSource : assets) {
        for (const auto &[name, asset] : perSource) {
            if (!stored.insert(asset.digest.sha256).second) continue;
            auto wrote = storeBlob(options.site, asset.path, asset.digest);
            if (!wrote) return std::unexpected(wrote.error());
            ++(*wrote ? result.blobsWritten : result.blobsReused);
        }
    }
    // Each file is replaced atomically; several files cannot be. When one
    // write fails, the ones already written are put back as they were, so a
    // failed publication leaves the site at the previous version.
    std::vector<std::pair<QString, std::optional<QByteArray>>> previous;
    for (const auto &[path, envelope] : documents) {
        QFile old(path);
        previous.emplace_back(path, old.open(QIODevice::ReadOnly) ? std::optional<QByteArray>(old.readAll()) : std::nullopt);
    }
    for (std::size_t i = 0; i < documents.size(); ++i) {
        const auto &[path, envelope] = documents[i];
        if (auto ok = writeFileAtomically(path, envelope); !ok) {
            for (std::size_t j = 0; j < i; ++j) {
                const auto &[done, before] = previous[j];
                if (before) (void)writeFileAtomically(done, *before);
                else QFile::remove(done);
            }
            return std::unexpected(ok.error());
        }
        result.manifests << path;
    }
    qCInfo(lcPublish) << "published version" << result.version << "to" << options.site;

    if (options.prune) {
        auto keep = referencedBlobs(options.site);
        if (!keep) return std::unexpected(keep.error());
        auto removed = pruneBlobs(options.site, *keep);
        if (!removed) return std::unexpected(removed.error());
        result.pruned = *removed;
    }
    return result;
}

std::expected<PublishResult, Error> publishSite(const PublishOptions &options, const schedule::PrivateKey &key)
{
    for (const QString &id : options.devices)
        if (!isValidDeviceId(id))
            return std::unexpected(usage(QStringLiteral("--device \"%1\" is not a device id (1-64 of A-Z a-z 0-9 . _ -)").arg(id)));

    auto located = locateSource(options.source);
    if (!located) return std::unexpected(located.error());
    const auto &[sourceFile, sourceDir] = *located;
    QFile f(sourceFile);
    if (!f.open(QIODevice::ReadOnly))
        return std::unexpected(ioError(QStringLiteral("cannot read %1: %2").arg(sourceFile, f.errorString())));
    auto source = parseScheduleSource(f.readAll(), QFileInfo(sourceFile).fileName());
    if (!source) return std::unexpected(source.error());

    std::vector<ManifestTarget> targets;
    if (options.devices.isEmpty()) {
        QStringList devices;
        for (const QString &d : source->devices) devices << d;
        targets.push_back({&*source, sourceDir, devices, siteManifestPath(options.site)});
    } else {
        for (const QString &id : options.devices)
            targets.push_back({&*source, sourceDir, QStringList{id}, siteDeviceManifestPath(options.site, id)});
    }
    return publishManifests(targets, {options.site, options.expiresInMs, options.minVersion, options.prune, options.now, {}}, key);
}

} // namespace stoa::publish
