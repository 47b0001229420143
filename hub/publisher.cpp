#include "hub/publisher.h"

#include "hub/logging.h"
#include "publish/media_type.h"
#include "publish/publish.h"
#include "publish/schedule_source.h"
#include "publish/site.h"
#include "schedule/envelope.h"
#include "schedule/identifiers.h"
#include "schedule/trust_store.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRandomGenerator>

#include <sys/stat.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <set>

namespace stoa::hub {
namespace {

using publish::Error;

std::int64_t nowMs()
{
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::optional<QByteArray> readAll(const QString &path)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        return std::nullopt;
    return f.readAll();
}

QByteArrayView bytesOf(const std::string &s) { return QByteArrayView(s.data(), static_cast<qsizetype>(s.size())); }

std::vector<PendingCommand> readCommands(const QString &path)
{
    std::vector<PendingCommand> out;
    const auto bytes = readAll(path);
    if (!bytes)
        return out;
    for (const auto &v : QJsonDocument::fromJson(*bytes).array()) {
        const auto o = v.toObject();
        out.push_back({o.value("id").toString().toStdString(), o.value("type").toString().toStdString(),
                       static_cast<std::int64_t>(o.value("created_at_ms").toDouble())});
    }
    return out;
}

QByteArray commandsJson(const std::vector<PendingCommand> &commands)
{
    QJsonArray a;
    for (const auto &c : commands)
        a.append(QJsonObject{{"id", QString::fromStdString(c.id)},
                             {"type", QString::fromStdString(c.type)},
                             {"created_at_ms", static_cast<qint64>(c.createdAtMs)}});
    return QJsonDocument(a).toJson(QJsonDocument::Compact);
}

std::string stampOf(const QString &path)
{
    struct stat st{};
    if (::stat(path.toLocal8Bit().constData(), &st) != 0)
        return "-";
    return std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec) + "/" + std::to_string(st.st_size);
}

} // namespace

std::optional<std::string> Publisher::sourceFile(const std::string &target)
{
    if (target == "fleet")
        return std::string("sources/fleet.ini");
    for (const char *kind : {"devices/", "groups/"}) {
        const std::string prefix(kind);
        if (target.starts_with(prefix) && schedule::isDeviceId(std::string_view(target).substr(prefix.size())))
            return "sources/" + target + ".ini";
    }
    return std::nullopt;
}

bool Publisher::validMediaName(const std::string &name)
{
    // A leading '.' would collide with writeFileAtomically's temporaries.
    return schedule::isProtocolName(name, 128) && name.front() != '.';
}

Publisher::Publisher(Options options, schedule::PrivateKey key)
    : options_(std::move(options)), key_(std::move(key)), digests_(options_.dataDir + "/digests")
{
}

std::string Publisher::path(const std::string &relative) const { return options_.dataDir + "/" + relative; }

std::expected<std::unique_ptr<Publisher>, Error> Publisher::open(Options options)
{
    for (const char *sub : {"library", "digests", "sources/devices", "sources/groups", "sources/commands", "keys", "site/v1"})
        if (!QDir().mkpath(QString::fromStdString(options.dataDir + "/" + sub)))
            return std::unexpected(publish::ioError(QString("cannot create %1/%2").arg(QString::fromStdString(options.dataDir), sub)));
    const QString keyPath = QString::fromStdString(options.dataDir + "/keys/signing.pem");
    if (!QFileInfo::exists(keyPath)) {
        auto key = schedule::PrivateKey::generate();
        if (!key)
            return std::unexpected(publish::ioError("cannot generate a signing key: " + key.error().reason));
        if (auto w = schedule::writeKeyPairPem(*key, keyPath, QString::fromStdString(options.dataDir + "/keys/signing.pub")); !w)
            return std::unexpected(publish::ioError("cannot write the signing key: " + w.error().reason));
        qCInfo(lcHub).noquote() << "created the hub's signing key" << QString::fromStdString(key->publicKey().keyId())
                                << "in" << keyPath;
    }
    auto key = schedule::loadPrivateKeyPemFile(keyPath);
    if (!key)
        return std::unexpected(publish::ioError("cannot load the signing key " + keyPath + ": " + key.error().reason));
    std::unique_ptr<Publisher> p(new Publisher(std::move(options), std::move(*key)));
    std::lock_guard lock(p->mutex_);
    p->reloadVersionsLocked();
    return p;
}

const schedule::PublicKey &Publisher::signingKey() const { return key_.publicKey(); }

std::expected<MediaInfo, Error> Publisher::putMedia(const std::string &name, const std::string &bytes)
{
    if (!validMediaName(name))
        return std::unexpected(publish::usage("a media name is 1-128 characters of [A-Za-z0-9._-], not starting with '.'"));
    // Refused here, not only when a schedule names it: a file no schedule
    // can use would sit in the library looking usable.
    if (!publish::mediaTypeForFile(QString::fromStdString(name)))
        return std::unexpected(publish::usage(QString("%1 is not a supported media type (known: %2)")
                                                  .arg(QString::fromStdString(name), publish::knownMediaExtensions())));
    if (bytes.empty())
        return std::unexpected(publish::usage(QString("%1 is empty").arg(QString::fromStdString(name))));
    std::lock_guard lock(mutex_);
    const QString file = QString::fromStdString(path("library/" + name));
    if (auto w = publish::writeFileAtomically(file, bytesOf(bytes)); !w)
        return std::unexpected(w.error());
    auto digest = publish::digestFile(file);
    if (!digest)
        return std::unexpected(digest.error());
    digests_.store(file, *digest);
    // A schedule that names it plays the new bytes from the next version on.
    bool used = false;
    for (const char *dirName : {"sources", "sources/devices", "sources/groups"}) {
        const QDir dir(QString::fromStdString(path(dirName)));
        for (const QString &source : dir.entryList({"*.ini"}, QDir::Files)) {
            const auto text = readAll(dir.filePath(source));
            auto parsed = text ? publish::parseScheduleSource(*text, source) : std::unexpected(publish::ioError(""));
            if (!parsed)
                continue;
            for (const auto &pl : parsed->playlists)
                for (const auto &item : pl.items)
                    used = used || item.file == QString::fromStdString(name);
        }
    }
    if (used) {
        if (auto r = republishLocked(nowMs()); !r)
            return std::unexpected(r.error());
    }
    return MediaInfo{name, digest->sha256, static_cast<std::int64_t>(digest->size)};
}

std::expected<std::vector<MediaInfo>, Error> Publisher::media() const
{
    std::lock_guard lock(mutex_);
    std::vector<MediaInfo> out;
    const QDir dir(QString::fromStdString(path("library")));
    for (const QString &name : dir.entryList(QDir::Files, QDir::Name)) {
        if (name.startsWith('.'))
            continue; // a temporary of writeFileAtomically
        auto digest = digests_.digest(dir.filePath(name));
        if (!digest)
            return std::unexpected(digest.error());
        out.push_back({name.toStdString(), digest->sha256, static_cast<std::int64_t>(digest->size)});
    }
    return out;
}

std::map<std::string, std::vector<MediaUse>> Publisher::mediaUses() const
{
    std::lock_guard lock(mutex_);
    return mediaUsesLocked();
}

std::map<std::string, std::vector<MediaUse>> Publisher::mediaUsesLocked() const
{
    std::map<std::string, std::vector<MediaUse>> out;
    for (const char *kind : {"", "groups/", "devices/"}) {
        const QDir dir(QString::fromStdString(path(*kind ? std::string("sources/") + kind : std::string("sources"))));
        for (const QString &source : dir.entryList({"*.ini"}, QDir::Files, QDir::Name)) {
            const std::string target = *kind ? kind + source.chopped(4).toStdString() : std::string("fleet");
            if (!*kind && source != "fleet.ini")
                continue;
            const auto text = readAll(dir.filePath(source));
            auto parsed = text ? publish::parseScheduleSource(*text, source) : std::unexpected(publish::ioError(""));
            if (!parsed)
                continue; // stored sources parsed when stored; a broken one names nothing
            for (const auto &pl : parsed->playlists) {
                std::set<QString> seen; // one use per playlist, however often it repeats the medium
                for (const auto &item : pl.items)
                    if (!item.file.isEmpty() && seen.insert(item.file).second)
                        out[item.file.toStdString()].push_back({target, pl.name.toStdString()});
            }
        }
    }
    return out;
}

std::expected<void, Error> Publisher::removeMedia(const std::string &name)
{
    if (!validMediaName(name))
        return std::unexpected(publish::usage("a media name is 1-128 characters of [A-Za-z0-9._-], not starting with '.'"));
    // Under the lock putSchedule takes: no schedule can start naming the
    // file between the check and the removal.
    std::lock_guard lock(mutex_);
    const QString file = QString::fromStdString(path("library/" + name));
    if (!QFileInfo::exists(file))
        return std::unexpected(publish::usage(QString("no medium %1").arg(QString::fromStdString(name))));
    const auto uses = mediaUsesLocked();
    if (const auto it = uses.find(name); it != uses.end()) {
        QStringList where;
        for (const auto &u : it->second)
            where << QString("playlist \"%1\" of the %2 schedule")
                         .arg(QString::fromStdString(u.playlist), QString::fromStdString(u.target));
        return std::unexpected(publish::invalid(QString("%1 is in use: %2; take it out of those playlists and publish first")
                                                    .arg(QString::fromStdString(name), where.join("; "))));
    }
    // Blobs in the site stay: devices still on an older manifest may need them.
    if (!QFile::remove(file))
        return std::unexpected(publish::ioError(QString("cannot remove %1").arg(file)));
    digests_.forget(name);
    return {};
}

std::expected<MediaInfo, Error> Publisher::adoptMedia(const std::string &name, const std::string &file,
                                                     const publish::FileDigest &digest)
{
    if (!validMediaName(name) || !publish::mediaTypeForFile(QString::fromStdString(name)))
        return std::unexpected(publish::usage(QString("%1 is not a media name devices can play").arg(QString::fromStdString(name))));
    std::lock_guard lock(mutex_);
    const QString target = QString::fromStdString(path("library/" + name));
    if (::rename(file.c_str(), target.toLocal8Bit().constData()) != 0)
        return std::unexpected(publish::ioError(QString("cannot move %1 to %2: %3")
                                                    .arg(QString::fromStdString(file), target, QString::fromLocal8Bit(std::strerror(errno)))));
    digests_.store(target, digest);
    if (mediaUsesLocked().contains(name)) {
        if (auto r = republishLocked(nowMs()); !r)
            return std::unexpected(r.error());
    }
    return MediaInfo{name, digest.sha256, static_cast<std::int64_t>(digest.size)};
}

std::optional<std::string> Publisher::mediaFile(const std::string &name) const
{
    if (!validMediaName(name))
        return std::nullopt;
    const std::string file = path("library/" + name);
    if (!QFileInfo(QString::fromStdString(file)).isFile())
        return std::nullopt;
    return file;
}

std::vector<std::string> Publisher::scheduleTargets() const
{
    std::vector<std::string> out;
    std::lock_guard lock(mutex_);
    if (QFileInfo::exists(QString::fromStdString(path("sources/fleet.ini"))))
        out.push_back("fleet");
    for (const char *kind : {"groups", "devices"}) {
        const QDir dir(QString::fromStdString(path(std::string("sources/") + kind)));
        for (const QString &f : dir.entryList({"*.ini"}, QDir::Files, QDir::Name))
            out.push_back(std::string(kind) + "/" + f.chopped(4).toStdString());
    }
    return out;
}

std::int64_t Publisher::currentVersion() const
{
    std::lock_guard lock(mutex_);
    std::int64_t v = fleetVersion_;
    for (const auto &[id, version] : deviceVersions_)
        v = std::max(v, version);
    return v;
}

std::optional<std::string> Publisher::schedule(const std::string &target) const
{
    const auto file = sourceFile(target);
    if (!file)
        return std::nullopt;
    std::lock_guard lock(mutex_);
    const auto text = readAll(QString::fromStdString(path(*file)));
    return text ? std::optional<std::string>(text->toStdString()) : std::nullopt;
}

std::expected<Publication, Error> Publisher::putSchedule(const std::string &target, const std::string &text)
{
    const auto relative = sourceFile(target);
    if (!relative)
        return std::unexpected(publish::usage(QString("not a schedule target: %1").arg(QString::fromStdString(target))));
    const std::string file = target == "fleet" ? "fleet.ini" : target + ".ini";
    auto parsed = publish::parseScheduleSource(bytesOf(text), QString::fromStdString(file));
    if (!parsed)
        return std::unexpected(parsed.error());
    std::lock_guard lock(mutex_);
    // Every medium must be in the library now (collectAssets says which line).
    if (auto assets = publish::collectAssets(*parsed, QString::fromStdString(path("library")), digests_.source()); !assets)
        return std::unexpected(publish::invalid(assets.error().message + " (upload it to the media library first)"));
    const QString dest = QString::fromStdString(path(*relative));
    const auto previous = readAll(dest);
    if (auto w = publish::writeFileAtomically(dest, bytesOf(text)); !w)
        return std::unexpected(w.error());
    auto published = republishLocked(nowMs());
    if (!published) {
        // All-or-nothing: the stored source goes back to what was published.
        if (previous)
            (void)publish::writeFileAtomically(dest, *previous);
        else
            QFile::remove(dest);
    }
    return published;
}

std::expected<Publication, Error> Publisher::removeSchedule(const std::string &target)
{
    const auto relative = sourceFile(target);
    if (!relative || target == "fleet")
        return std::unexpected(publish::usage(QString("not a device or group schedule: %1").arg(QString::fromStdString(target))));
    std::lock_guard lock(mutex_);
    const QString dest = QString::fromStdString(path(*relative));
    if (!QFileInfo::exists(dest))
        return std::unexpected(publish::usage(QString("%1 has no schedule").arg(QString::fromStdString(target))));
    const auto previous = readAll(dest);
    QFile::remove(dest);
    auto published = republishLocked(nowMs());
    if (!published && previous)
        (void)publish::writeFileAtomically(dest, *previous);
    return published;
}

std::expected<std::pair<PendingCommand, Publication>, Error> Publisher::addCommand(const std::string &deviceId,
                                                                                   const std::string &type)
{
    if (schedule::commandType(type) == schedule::CommandType::Unknown)
        return std::unexpected(publish::usage(QString("unknown command type \"%1\" (screenshot, restart_player, reboot, "
                                                      "clear_cache, display_on, display_off)")
                                                  .arg(QString::fromStdString(type))));
    std::lock_guard lock(mutex_);
    if (!QFileInfo::exists(QString::fromStdString(path("sources/fleet.ini")))
        && !QFileInfo::exists(QString::fromStdString(path("sources/devices/" + deviceId + ".ini")))
        && !QDir(QString::fromStdString(path("sources/groups"))).entryList({"*.ini"}, QDir::Files).size())
        return std::unexpected(publish::usage("publish a schedule first: a command travels in the device's manifest"));
    const QString file = QString::fromStdString(path("sources/commands/" + deviceId + ".json"));
    auto commands = readCommands(file);
    const auto now = nowMs();
    PendingCommand command{"hub-" + std::to_string(now) + "-" + std::to_string(QRandomGenerator::system()->bounded(1000000)),
                           type, now};
    commands.push_back(command);
    const auto previous = readAll(file);
    if (auto w = publish::writeFileAtomically(file, commandsJson(commands)); !w)
        return std::unexpected(w.error());
    auto published = republishLocked(now);
    if (!published) {
        if (previous)
            (void)publish::writeFileAtomically(file, *previous);
        else
            QFile::remove(file);
        return std::unexpected(published.error());
    }
    return std::pair{command, *published};
}

std::expected<Publication, Error> Publisher::republish()
{
    std::lock_guard lock(mutex_);
    return republishLocked(nowMs());
}

std::vector<PendingCommand> Publisher::commands(const std::string &deviceId) const
{
    std::lock_guard lock(mutex_);
    return readCommands(QString::fromStdString(path("sources/commands/" + deviceId + ".json")));
}

std::expected<Publication, Error> Publisher::republishLocked(std::int64_t now)
{
    const QString site = QString::fromStdString(path("site"));
    const QString library = QString::fromStdString(path("library"));
    std::optional<publish::SourceSchedule> fleet;
    if (const auto text = readAll(QString::fromStdString(path("sources/fleet.ini")))) {
        auto parsed = publish::parseScheduleSource(*text, "fleet.ini");
        if (!parsed)
            return std::unexpected(parsed.error());
        fleet = std::move(*parsed);
    }

    // Devices with a manifest of their own: a schedule, or pending commands.
    std::map<std::string, publish::SourceSchedule> own;
    const QDir devicesDir(QString::fromStdString(path("sources/devices")));
    for (const QString &f : devicesDir.entryList({"*.ini"}, QDir::Files)) {
        const auto text = readAll(devicesDir.filePath(f));
        auto parsed = text ? publish::parseScheduleSource(*text, f) : std::unexpected(publish::ioError("cannot read " + f));
        if (!parsed)
            return std::unexpected(parsed.error());
        own.emplace(f.chopped(4).toStdString(), std::move(*parsed));
    }
    // Members of a group with a schedule of its own, unless they have theirs.
    std::map<std::string, publish::SourceSchedule> groups;
    const QDir groupsDir(QString::fromStdString(path("sources/groups")));
    for (const QString &f : groupsDir.entryList({"*.ini"}, QDir::Files)) {
        const auto text = readAll(groupsDir.filePath(f));
        auto parsed = text ? publish::parseScheduleSource(*text, "groups/" + f) : std::unexpected(publish::ioError("cannot read " + f));
        if (!parsed)
            return std::unexpected(parsed.error());
        groups.emplace(f.chopped(4).toStdString(), std::move(*parsed));
    }
    if (!groups.empty() && options_.membership) {
        for (const auto &[device, group] : options_.membership()) {
            const auto g = groups.find(group);
            if (g != groups.end() && own.count(device) == 0)
                own.emplace(device, g->second);
        }
    }
    const QDir commandsDir(QString::fromStdString(path("sources/commands")));
    for (const QString &f : commandsDir.entryList({"*.json"}, QDir::Files)) {
        const std::string id = f.chopped(5).toStdString();
        auto commands = readCommands(commandsDir.filePath(f));
        std::erase_if(commands, [&](const PendingCommand &c) { return c.createdAtMs + options_.commandLifetimeMs < now; });
        if (commands.empty()) {
            QFile::remove(commandsDir.filePath(f));
            continue;
        }
        auto it = own.find(id);
        if (it == own.end()) {
            if (!fleet) {
                qCWarning(lcHub).noquote() << "commands for" << id.c_str() << "wait: no schedule of its own, of its group or of the fleet to carry them";
                continue;
            }
            it = own.emplace(id, *fleet).first;
        }
        for (const auto &c : commands)
            it->second.commands.push_back({c.id, c.type});
    }

    // Per-device manifests are written before the fleet one: a device that
    // polls in between must not find its own manifest missing, adopt the
    // fleet's new version and then refuse its own at the same version.
    std::vector<publish::ManifestTarget> targets;
    for (auto &[id, source] : own) {
        targets.push_back({&source, library, QStringList{QString::fromStdString(id)},
                           publish::siteDeviceManifestPath(site, QString::fromStdString(id))});
    }
    if (fleet)
        targets.push_back({&*fleet, library, {}, publish::siteManifestPath(site)});
    Publication publication;
    if (targets.empty())
        return publication;
    // A fleet manifest is republished with every change: it carries the
    // version above any per-device manifest that goes away now.
    publish::ManifestOptions mo;
    mo.site = site;
    mo.expiresInMs = options_.manifestLifetimeMs;
    mo.digests = digests_.source(); // a republish reads no medium whose blob is in the site already
    auto result = publish::publishManifests(targets, mo, key_);
    if (!result)
        return std::unexpected(result.error());
    // Per-device manifests no longer wanted: the device falls back to the
    // fleet one, whose version is now higher.
    const QDir siteDevices(site + "/v1/devices");
    for (const QString &d : siteDevices.entryList(QDir::Dirs | QDir::NoDotAndDotDot)) {
        if (own.count(d.toStdString()) == 0)
            QFile::remove(siteDevices.filePath(d + "/manifest.json"));
    }
    publication.version = result->version;
    for (const QString &m : result->manifests)
        publication.manifests.push_back(m.toStdString());
    reloadVersionsLocked();
    generation_.fetch_add(1);
    qCInfo(lcHub).noquote() << "published version" << result->version << ":" << result->manifests.size() << "manifest(s),"
                            << result->blobsWritten << "new blob(s)";
    return publication;
}

std::expected<std::int64_t, Error> Publisher::putKeysDocument(const std::string &envelope)
{
    auto parsed = schedule::parseEnvelope(bytesOf(envelope));
    if (!parsed || parsed->payloadType != schedule::kKeysPayloadType)
        return std::unexpected(publish::invalid("not a keys document envelope (" + QString::fromUtf8(schedule::kKeysPayloadType) + ")"));
    QByteArray payload = parsed->payload;
    if (!options_.roots.empty()) {
        auto verified = schedule::verifyEnvelope(*parsed, options_.roots);
        if (!verified)
            return std::unexpected(publish::invalid("the keys document is not signed by a trusted root key: " + verified.error().reason));
        payload = verified->payload;
    }
    auto doc = schedule::parseKeysDocument(payload);
    if (!doc)
        return std::unexpected(publish::invalid("malformed keys document: " + doc.error().reason));
    bool listsUs = false;
    for (const auto &k : doc->keys)
        listsUs = listsUs || k.keyId() == key_.publicKey().keyId();
    if (!listsUs)
        return std::unexpected(publish::invalid(QString("the keys document does not list the hub's signing key %1: devices would "
                                                        "reject every manifest the hub signs")
                                                    .arg(QString::fromStdString(key_.publicKey().keyId()))));
    std::lock_guard lock(mutex_);
    if (doc->version <= keysVersion_)
        return std::unexpected(publish::usage(QString("keys document version %1 is not above the current %2").arg(doc->version).arg(keysVersion_)));
    if (auto w = publish::writeFileAtomically(publish::siteKeysPath(QString::fromStdString(path("site"))), bytesOf(envelope)); !w)
        return std::unexpected(w.error());
    reloadVersionsLocked();
    generation_.fetch_add(1);
    return doc->version;
}

void Publisher::reloadVersionsLocked()
{
    const QString site = QString::fromStdString(path("site"));
    auto version = [](const QString &file, const char *type) -> std::int64_t {
        if (!QFileInfo::exists(file))
            return 0;
        auto v = publish::unverifiedVersion(file, type);
        return v ? *v : 0;
    };
    fleetVersion_ = version(publish::siteManifestPath(site), schedule::kManifestPayloadType);
    keysVersion_ = version(publish::siteKeysPath(site), schedule::kKeysPayloadType);
    deviceVersions_.clear();
    const QDir devices(site + "/v1/devices");
    for (const QString &d : devices.entryList(QDir::Dirs | QDir::NoDotAndDotDot)) {
        const auto v = version(devices.filePath(d + "/manifest.json"), schedule::kManifestPayloadType);
        if (v > 0)
            deviceVersions_[d.toStdString()] = v;
    }
    siteStamp_ = stampOf(publish::siteManifestPath(site)) + "|" + stampOf(publish::siteKeysPath(site)) + "|"
                 + stampOf(site + "/v1/devices");
}

void Publisher::refresh()
{
    const QString site = QString::fromStdString(path("site"));
    const std::string stamp = stampOf(publish::siteManifestPath(site)) + "|" + stampOf(publish::siteKeysPath(site)) + "|"
                              + stampOf(site + "/v1/devices");
    std::lock_guard lock(mutex_);
    if (stamp == siteStamp_)
        return;
    reloadVersionsLocked();
    generation_.fetch_add(1);
}

std::string Publisher::cursorFor(const std::string &deviceId)
{
    std::lock_guard lock(mutex_);
    const auto it = deviceVersions_.find(deviceId);
    const std::int64_t manifest = it != deviceVersions_.end() ? std::max(it->second, fleetVersion_) : fleetVersion_;
    return "m" + std::to_string(manifest) + "k" + std::to_string(keysVersion_);
}

} // namespace stoa::hub
