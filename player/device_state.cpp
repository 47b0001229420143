// player/device_state.cpp — gathering a DeviceState (see device_state.h).
#include "player/device_state.h"

#include "cache/store.h"
#include "player/network_info.h"
#include "schedule/envelope.h"
#include "schedule/manifest_parse.h"

#include <QFile>
#include <QJsonArray>
#include <QUrl>

#include <ctime>
#include <unistd.h>

namespace stoa::player {

namespace {

ManifestInfo describeStored(const cache::StoredManifest &stored, const QDateTime &nowUtc)
{
    ManifestInfo info;
    info.version = stored.version;
    info.assetCount = stored.assets.size();
    auto content = schedule::readStoredManifest(QByteArrayView(stored.envelope.data(), qsizetype(stored.envelope.size())));
    if (!content) {
        info.parseError = "the stored " + content.error().reason.toStdString();
        return info;
    }
    info.signerKeyIds = content->signerKeyIds;
    const schedule::Manifest *manifest = &content->manifest;
    info.issuedAt = manifest->issuedAt;
    info.expiresAt = manifest->expiresAt;
    info.stale = manifest->expiresAt.isValid() && manifest->expiresAt <= nowUtc;
    info.assetCount = manifest->assets.size();
    for (const auto &[ref, asset] : manifest->assets)
        info.assetBytes += std::uint64_t(asset.size);
    return info;
}

std::optional<ManifestInfo> readSlot(cache::Store &store, cache::Slot slot, const QDateTime &nowUtc,
                                     std::vector<std::string> &errors)
{
    auto stored = store.manifests().get(slot);
    if (!stored) {
        // Not one chain of + on temporaries: GCC 12 at -O2 sees a false
        // -Warray-bounds in that (with the tree's precompiled header).
        std::string error = slot == cache::Slot::Active ? "cannot read the active manifest: "
                                                        : "cannot read the staged manifest: ";
        errors.push_back(error + stored.error().message);
        return std::nullopt;
    }
    if (!*stored)
        return std::nullopt;
    return describeStored(**stored, nowUtc);
}

// A URL may carry user:password@; the screen and /status must not.
std::string withoutCredentials(const std::string &url)
{
    QUrl u(QString::fromStdString(url));
    if (!u.isValid() || u.userInfo().isEmpty())
        return url;
    u.setUserInfo(QString());
    return u.toString().toStdString();
}

QJsonValue orNull(const std::optional<std::string> &s)
{
    return s ? QJsonValue(QString::fromStdString(*s)) : QJsonValue();
}

QJsonValue orNull(const std::string &s)
{
    return s.empty() ? QJsonValue() : QJsonValue(QString::fromStdString(s));
}

} // namespace

QJsonObject nowPlayingObject(const PlayerView &p)
{
    QJsonObject o{{"playlist", orNull(p.playlist)}, {"asset", orNull(p.asset)}, {"url", orNull(p.url)}};
    if (!p.layout)
        return o; // full screen: the v1 shape exactly
    QJsonArray regions;
    for (const RegionView &r : p.regions)
        regions.append(QJsonObject{{"id", QString::fromStdString(r.id)},
                                   {"playlist", orNull(r.playlist)},
                                   {"asset", orNull(r.asset)},
                                   {"url", orNull(r.url)}});
    o.insert("layout", QString::fromStdString(*p.layout));
    o.insert("regions", regions);
    return o;
}

qint64 msSinceProcessStart()
{
    QFile stat(QStringLiteral("/proc/self/stat"));
    if (!stat.open(QIODevice::ReadOnly))
        return -1;
    const QByteArray line = stat.readAll();
    // Field 22 (starttime, clock ticks since boot) comes after the ")" closing the command name.
    const QList<QByteArray> fields = line.mid(line.lastIndexOf(')') + 2).split(' ');
    if (fields.size() < 20)
        return -1;
    const double startS = fields[19].toDouble() / double(sysconf(_SC_CLK_TCK));
    timespec boot{};
    clock_gettime(CLOCK_BOOTTIME, &boot);
    const double nowS = double(boot.tv_sec) + double(boot.tv_nsec) / 1e9;
    return qint64((nowS - startS) * 1000.0);
}

std::int64_t systemUptimeSeconds()
{
    QFile f(QStringLiteral("/proc/uptime"));
    if (!f.open(QIODevice::ReadOnly))
        return -1;
    bool ok = false;
    const double s = f.readAll().split(' ').value(0).toDouble(&ok);
    return ok ? std::int64_t(s) : -1;
}

DeviceState gatherDeviceState(cache::Store &store, const GatherInputs &in)
{
    DeviceState s;
    const QDateTime now = in.now.utc;
    s.deviceId = in.deviceId;
    s.softwareVersion = STOA_VERSION;
    s.processUptimeS = in.processUptimeMs >= 0 ? in.processUptimeMs / 1000 : -1;
    s.systemUptimeS = systemUptimeSeconds();
    s.dataDir = store.dataDir().string();
    s.interfaces = networkInterfaces(in.sysClassNet);
    s.player = in.player;
    s.startupProblems = in.startupProblems;
    if (in.display)
        s.display = in.display();

    // The agent's status: absent until it first published one.
    s.sync = cache::readSyncStatus(store.kv());
    s.server = !in.configuredServer.empty() ? withoutCredentials(in.configuredServer)
                                            : (s.sync ? s.sync->server : std::string());
    s.serverConfigured = !s.server.empty();

    s.active = readSlot(store, cache::Slot::Active, now, s.storeErrors);
    s.staged = readSlot(store, cache::Slot::Staged, now, s.storeErrors);
    if (auto floor = store.manifests().rollbackFloor())
        s.rollbackFloor = *floor;
    else
        s.storeErrors.push_back("cannot read the rollback floor: " + floor.error().message);
    if (s.staged && s.staged->assetBytes > 0 && s.sync && s.sync->stagedVersion == s.staged->version) {
        const double missing = double(std::min<std::uint64_t>(s.sync->stagedBytesMissing, s.staged->assetBytes));
        s.stagedProgress = 1.0 - missing / double(s.staged->assetBytes);
    }

    if (auto pending = store.commands().handovers("pending")) {
        for (const auto &h : *pending)
            s.pendingCommands.push_back(h.id);
    } else {
        s.storeErrors.push_back("cannot read the commands waiting for the player: " + pending.error().message);
    }

    if (auto usage = store.space().usage()) {
        s.cache.known = true;
        s.cache.bytesUsed = usage->blobBytes;
        s.cache.blobCount = usage->blobCount;
        s.cache.pinnedBytes = usage->pinnedBytes;
        s.cache.partialBytes = usage->partialBytes;
        s.cache.quotaBytes = in.quotaBytes ? in.quotaBytes : usage->quotaBytes;
    } else {
        s.cache.quotaBytes = in.quotaBytes;
        s.storeErrors.push_back("cannot read the cache usage: " + usage.error().message);
    }

    // The sensors, then free disk from the store (whatever the provider said).
    if (in.health)
        s.health = in.health();
    s.health.diskFreeBytes.reset();
    s.health.diskTotalBytes.reset();
    if (auto disk = cache::diskSpace(store.dataDir())) {
        s.health.diskFreeBytes = disk->freeBytes;
        s.health.diskTotalBytes = disk->totalBytes;
    } else {
        s.storeErrors.push_back("cannot read the free disk space: " + disk.error().message);
    }

    s.clock.trustedNowUtc = now;
    s.clock.trusted = in.now.trusted;
    s.clock.source = schedule::timeSourceName(in.now.source).toStdString();
    s.clock.systemUtcMs = in.systemUtcMs;
    s.clock.systemBehindMs = now.toMSecsSinceEpoch() - in.systemUtcMs;
    if (auto floor = store.kv().getInt("time_floor_ms")) {
        s.clock.floorUtcMs = *floor;
        if (*floor)
            s.clock.sinceFloorMs = now.toMSecsSinceEpoch() - **floor;
    } else {
        s.storeErrors.push_back("cannot read the time floor: " + floor.error().message);
    }

    return s;
}

} // namespace stoa::player
