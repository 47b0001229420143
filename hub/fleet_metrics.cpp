// hub/fleet_metrics.cpp — see fleet_metrics.h.
#include "hub/fleet_metrics.h"

#include "hub/logging.h"

#include "publish/site.h"
#include "schedule/envelope.h"
#include "schedule/payload_fields.h"

#include <QDir>
#include <QJsonDocument>
#include <QJsonObject>

#include <sys/stat.h>

#include <algorithm>
#include <set>

namespace stoa::hub {

using endpoints::Gauge;
using endpoints::GaugeFamily;

struct FleetMetrics::Families {
    Gauge databaseUp;
    GaugeFamily groupDevices;
    GaugeFamily lastHeartbeat;
    GaugeFamily manifestVersion, manifestStale, manifestExpiry;
    GaugeFamily syncFailures, syncLastSuccess;
    GaugeFamily diskFree, cpuTemp, throttled;
    Gauge publicationVersion, publicationTime, publicationTargets, publicationAdopted;
};

namespace {

// Sets every child of `family` named in `values` and removes the others, so
// a series ends when what it describes goes away.
void replaceAll(const GaugeFamily &family, const std::map<std::vector<std::string>, double> &values)
{
    for (const auto &[labels, v] : values)
        family.labels(labels).set(v);
    for (const auto &labels : family.children())
        if (!values.contains(labels))
            family.remove(labels);
}

void clear(const GaugeFamily &family)
{
    for (const auto &labels : family.children())
        family.remove(labels);
}

std::optional<double> number(const QJsonValue &v)
{
    return v.isDouble() ? std::optional<double>(v.toDouble()) : std::nullopt;
}

std::optional<bool> boolean(const QJsonValue &v) { return v.isBool() ? std::optional<bool>(v.toBool()) : std::nullopt; }

std::optional<double> epochSeconds(const QJsonValue &v)
{
    if (!v.isString())
        return std::nullopt;
    const auto t = schedule::parseRfc3339(v.toString());
    return t ? std::optional<double>(static_cast<double>(t->toMSecsSinceEpoch()) / 1000.0) : std::nullopt;
}

} // namespace

std::expected<std::unique_ptr<FleetMetrics>, std::string> FleetMetrics::create(endpoints::MetricsRegistry &registry,
                                                                                Storage &storage, Options options)
{
    auto f = std::make_unique<Families>();
    std::string error;
    auto gauge = [&](Gauge &out, const char *name, const char *help) {
        auto g = registry.gauge(name, help);
        if (!g && error.empty())
            error = g.error().message;
        if (g)
            out = *g;
    };
    auto family = [&](GaugeFamily &out, const char *name, const char *help, std::vector<std::string> labels) {
        auto g = registry.gaugeFamily(name, help, std::move(labels));
        if (!g && error.empty())
            error = g.error().message;
        if (g)
            out = *g;
    };
    auto device = [&](GaugeFamily &out, const char *name, const char *help) { family(out, name, help, {"device"}); };
    gauge(f->databaseUp, "stoa_hub_database_up", "1 while the database answers a ping");
    family(f->groupDevices, "stoa_hub_group_devices",
           "Devices of each group (not revoked) by state: online, stale, offline, never", {"group", "state"});
    device(f->lastHeartbeat, "stoa_hub_device_last_heartbeat_timestamp_seconds",
           "When the device's latest heartbeat was received (hub clock, Unix time); devices that sent one");
    device(f->manifestVersion, "stoa_hub_device_manifest_version",
           "manifest.version of the latest heartbeat; online devices only");
    device(f->manifestStale, "stoa_hub_device_manifest_stale",
           "1 while the device says its manifest has expired (manifest.stale); online devices only");
    device(f->manifestExpiry, "stoa_hub_device_manifest_expiry_timestamp_seconds",
           "manifest.expires_at of the latest heartbeat (Unix time); online devices only");
    device(f->syncFailures, "stoa_hub_device_sync_consecutive_failures",
           "Manifest polls failed in a row (sync.consecutive_failures); online devices only");
    device(f->syncLastSuccess, "stoa_hub_device_sync_last_success_timestamp_seconds",
           "sync.last_success_at of the latest heartbeat (Unix time); online devices only");
    device(f->diskFree, "stoa_hub_device_disk_free_bytes",
           "health.disk_free_bytes of the latest heartbeat; online devices that report it");
    device(f->cpuTemp, "stoa_hub_device_cpu_temperature_celsius",
           "health.cpu_temp_c of the latest heartbeat; online devices that report it");
    device(f->throttled, "stoa_hub_device_throttled",
           "1 while health.throttled of the latest heartbeat is true; online devices that report it");
    gauge(f->publicationVersion, "stoa_hub_publication_version",
          "Version of the newest manifest in the site (0: nothing published)");
    gauge(f->publicationTime, "stoa_hub_publication_timestamp_seconds",
          "When the newest manifest was written (its file's mtime, Unix time; 0: nothing published)");
    gauge(f->publicationTargets, "stoa_hub_publication_target_devices",
          "Online devices the newest publication is for");
    gauge(f->publicationAdopted, "stoa_hub_publication_adopted_devices",
          "Of those, devices whose latest heartbeat reports that version or a newer one");
    if (!error.empty())
        return std::unexpected(error);
    return std::unique_ptr<FleetMetrics>(new FleetMetrics(storage, std::move(options), std::move(f)));
}

FleetMetrics::FleetMetrics(Storage &storage, Options options, std::unique_ptr<Families> families)
    : storage_(storage), options_(std::move(options)), f_(std::move(families))
{
}

FleetMetrics::~FleetMetrics() = default;

FleetMetrics::Heartbeat FleetMetrics::parseHeartbeat(const std::string &body, std::int64_t receivedAtMs)
{
    Heartbeat h;
    h.receivedAtMs = receivedAtMs;
    const auto doc = QJsonDocument::fromJson(QByteArray::fromRawData(body.data(), static_cast<qsizetype>(body.size())));
    if (!doc.isObject())
        return h;
    const QJsonObject root = doc.object();
    const QJsonObject manifest = root.value("manifest").toObject();
    h.manifestExpiresAtS = epochSeconds(manifest.value("expires_at"));
    h.manifestStale = boolean(manifest.value("stale"));
    const QJsonObject sync = root.value("sync").toObject();
    h.syncFailures = number(sync.value("consecutive_failures"));
    h.syncLastSuccessS = epochSeconds(sync.value("last_success_at"));
    const QJsonObject health = root.value("health").toObject();
    h.diskFreeBytes = number(health.value("disk_free_bytes"));
    h.cpuTempC = number(health.value("cpu_temp_c"));
    h.throttled = boolean(health.value("throttled"));
    return h;
}

void FleetMetrics::readHeartbeats(const std::vector<const DeviceSummary *> &online)
{
    // Devices whose cached heartbeat is older than the one stored, the
    // oldest cache first: under the per-scrape budget every device still
    // gets its turn within a few scrapes.
    std::vector<std::pair<std::int64_t, const DeviceSummary *>> due;
    for (const auto *dev : online) {
        const auto it = heartbeats_.find(dev->id);
        const std::int64_t cached = it == heartbeats_.end() ? -1 : it->second.receivedAtMs;
        if (cached != *dev->lastSeenAtMs)
            due.emplace_back(cached, dev);
    }
    std::sort(due.begin(), due.end(), [](const auto &a, const auto &b) { return a.first < b.first; });
    if (due.size() > options_.statusReadsPerScrape)
        due.resize(options_.statusReadsPerScrape);
    for (const auto &[cached, dev] : due) {
        auto status = storage_.latestStatus(dev->id);
        if (!status) {
            qCWarning(lcHub).noquote() << "metrics: latest status of" << dev->id.c_str() << ":"
                                       << status.error().message.c_str();
            continue; // its previous values stay until the next scrape
        }
        if (!*status)
            continue;
        heartbeats_[dev->id] = parseHeartbeat((*status)->body, (*status)->receivedAtMs);
    }
}

FleetMetrics::Publication FleetMetrics::scanSite()
{
    // Every publication writes one version to all its manifests: the fleet
    // one (when there is a fleet schedule) and each per-device one. The
    // newest version among them is the publication; its files' mtime is
    // when it was made. A file is parsed again only when its mtime or size
    // changed (a stat per manifest per scrape).
    Publication p;
    const QString site = QString::fromStdString(options_.siteDir);
    std::set<std::string> seen;
    auto visit = [&](const QString &path, const std::string &deviceId) {
        struct stat st{};
        if (::stat(path.toLocal8Bit().constData(), &st) != 0)
            return;
        const std::string key = path.toStdString();
        seen.insert(key);
        const std::int64_t mtimeNs = std::int64_t{st.st_mtim.tv_sec} * 1000000000 + st.st_mtim.tv_nsec;
        auto &file = siteFiles_[key];
        if (file.mtimeNs != mtimeNs || file.size != st.st_size) {
            const auto v = publish::unverifiedVersion(path, schedule::kManifestPayloadType);
            file = SiteFile{mtimeNs, static_cast<std::int64_t>(st.st_size), v ? *v : 0};
        }
        if (file.version <= 0)
            return;
        if (deviceId.empty())
            p.fleetManifest = true;
        else
            p.deviceManifests.push_back(deviceId);
        const double writtenS = static_cast<double>(mtimeNs) / 1e9;
        if (file.version > p.version) {
            p.version = file.version;
            p.publishedAtS = writtenS;
        } else if (file.version == p.version) {
            p.publishedAtS = std::max(p.publishedAtS, writtenS);
        }
    };
    visit(publish::siteManifestPath(site), {});
    const QDir devices(site + "/v1/devices");
    for (const QString &d : devices.entryList(QDir::Dirs | QDir::NoDotAndDotDot))
        visit(publish::siteDeviceManifestPath(site, d), d.toStdString());
    std::erase_if(siteFiles_, [&](const auto &entry) { return !seen.contains(entry.first); });
    return p;
}

void FleetMetrics::collect(const std::vector<DeviceSummary> &devices, std::int64_t nowMs)
{
    std::lock_guard lock(mutex_);
    f_->databaseUp.set(storage_.ping() ? 1 : 0);

    std::vector<const DeviceSummary *> online;
    std::map<std::vector<std::string>, double> groups, lastHeartbeat;
    std::set<std::string> present;
    for (const auto &dev : devices) {
        if (dev.revoked)
            continue;
        present.insert(dev.id);
        const char *state = "never";
        if (dev.lastSeenAtMs) {
            const std::int64_t age = nowMs - *dev.lastSeenAtMs;
            state = age <= options_.onlineMs ? "online" : age <= options_.staleMs ? "stale" : "offline";
            lastHeartbeat[{dev.id}] = static_cast<double>(*dev.lastSeenAtMs) / 1000.0;
            if (age <= options_.onlineMs)
                online.push_back(&dev);
        }
        if (dev.group) {
            // Every state of a group is present (0 included), so a share is
            // a plain division in PromQL.
            for (const char *s : {"online", "stale", "offline", "never"})
                groups.try_emplace({*dev.group, s}, 0.0);
            groups[{*dev.group, state}] += 1;
        }
    }
    std::erase_if(heartbeats_, [&](const auto &entry) { return !present.contains(entry.first); });
    readHeartbeats(online);

    std::map<std::vector<std::string>, double> version, stale, expiry, failures, lastSuccess, disk, temp, throttled;
    for (const auto *dev : online) {
        if (dev->manifestVersion)
            version[{dev->id}] = static_cast<double>(*dev->manifestVersion);
        const auto it = heartbeats_.find(dev->id);
        if (it == heartbeats_.end())
            continue; // not read yet (over the budget): no series rather than a guess
        const Heartbeat &h = it->second;
        const std::vector<std::string> key{dev->id};
        if (h.manifestStale) stale[key] = *h.manifestStale ? 1 : 0;
        if (h.manifestExpiresAtS) expiry[key] = *h.manifestExpiresAtS;
        if (h.syncFailures) failures[key] = *h.syncFailures;
        if (h.syncLastSuccessS) lastSuccess[key] = *h.syncLastSuccessS;
        if (h.diskFreeBytes) disk[key] = *h.diskFreeBytes;
        if (h.cpuTempC) temp[key] = *h.cpuTempC;
        if (h.throttled) throttled[key] = *h.throttled ? 1 : 0;
    }
    replaceAll(f_->groupDevices, groups);
    replaceAll(f_->lastHeartbeat, lastHeartbeat);
    replaceAll(f_->manifestVersion, version);
    replaceAll(f_->manifestStale, stale);
    replaceAll(f_->manifestExpiry, expiry);
    replaceAll(f_->syncFailures, failures);
    replaceAll(f_->syncLastSuccess, lastSuccess);
    replaceAll(f_->diskFree, disk);
    replaceAll(f_->cpuTemp, temp);
    replaceAll(f_->throttled, throttled);

    // Adoption: of the online devices the newest publication is for (all of
    // them when there is a fleet manifest, else those with their own), how
    // many report its version. Offline devices are left out: they are the
    // offline alert's, and a dead screen must not hold this one up forever.
    const Publication pub = scanSite();
    const std::set<std::string> own(pub.deviceManifests.begin(), pub.deviceManifests.end());
    double targets = 0, adopted = 0;
    if (pub.version > 0) {
        for (const auto *dev : online) {
            if (!pub.fleetManifest && !own.contains(dev->id))
                continue;
            targets += 1;
            if (dev->manifestVersion && *dev->manifestVersion >= pub.version)
                adopted += 1;
        }
    }
    f_->publicationVersion.set(static_cast<double>(pub.version));
    f_->publicationTime.set(pub.publishedAtS);
    f_->publicationTargets.set(targets);
    f_->publicationAdopted.set(adopted);
}

void FleetMetrics::collectFailed()
{
    std::lock_guard lock(mutex_);
    f_->databaseUp.set(storage_.ping() ? 1 : 0);
    for (const GaugeFamily *family : {&f_->groupDevices, &f_->lastHeartbeat, &f_->manifestVersion, &f_->manifestStale,
                                      &f_->manifestExpiry, &f_->syncFailures, &f_->syncLastSuccess, &f_->diskFree,
                                      &f_->cpuTemp, &f_->throttled})
        clear(*family);
    f_->publicationTargets.set(0);
    f_->publicationAdopted.set(0);
}

} // namespace stoa::hub
