// schedule/manifest_parse.cpp — see manifest_parse.h. Each reader names the
// JSON path of the offending field in its reason, e.g.
// `playlists.lobby.items[2]: needs exactly one of "asset" or "url"`, so an
// operator can find the mistake in the document they published.
#include "schedule/manifest_parse.h"

#include "schedule/identifiers.h"

#include "schedule/encoding.h"
#include "schedule/envelope.h"
#include "schedule/payload_fields.h"
#include "schedule/strict_json.h"

#include <QJsonArray>
#include <QJsonObject>
#include <QTimeZone>
#include <QUrl>

#include <algorithm>
#include <set>

namespace stoa::schedule {
namespace {

using Fail = std::unexpected<Rejection>;

Fail bad(const QString &path, const QString &what)
{
    return Fail(Rejection{RejectCode::MalformedPayload,
                          QStringLiteral("malformed manifest: %1: %2").arg(path, what)});
}

std::optional<AssetRef> assetRef(const QString &name)
{
    static constexpr QLatin1StringView prefix("sha256:");
    if (!name.startsWith(prefix)) return std::nullopt;
    const QByteArray hex = name.sliced(prefix.size()).toLatin1();
    if (!isLowerHex64(hex)) return std::nullopt;
    return AssetRef{hex.toStdString()};
}

// An integer field in [min, max]; absent fields are the caller's business.
std::expected<std::int64_t, Rejection> integerIn(const QJsonValue &v, const QString &path, std::int64_t min,
                                                 std::int64_t max)
{
    const auto i = jsonInteger(v);
    if (!i) return bad(path, QStringLiteral("must be an integer"));
    if (*i < min || *i > max) return bad(path, QStringLiteral("%1 is outside %2..%3").arg(*i).arg(min).arg(max));
    return *i;
}

std::expected<QDateTime, Rejection> timeField(const QJsonObject &o, const char *key)
{
    const QJsonValue v = o.value(QLatin1String(key));
    if (v.isUndefined()) return bad(QLatin1String(key), QStringLiteral("is required"));
    const auto t = v.isString() ? parseRfc3339(v.toString()) : std::nullopt;
    if (!t) return bad(QLatin1String(key), QStringLiteral("must be an RFC 3339 time such as 2026-11-23T10:00:00Z"));
    return *t;
}

std::expected<int, Rejection> timeOfDay(const QJsonValue &v, const QString &path)
{
    const auto m = v.isString() ? parseTimeOfDay(v.toString()) : std::nullopt;
    if (!m) return bad(path, QStringLiteral("must be a time of day \"HH:MM\" from 00:00 to 23:59"));
    return *m;
}

std::expected<void, Rejection> readAssets(const QJsonValue &v, Manifest &m)
{
    if (v.isUndefined()) return {};
    if (!v.isObject()) return bad(QStringLiteral("assets"), QStringLiteral("must be an object"));
    const QJsonObject assets = v.toObject();
    for (auto it = assets.begin(); it != assets.end(); ++it) {
        const QString path = QStringLiteral("assets.") + it.key();
        const auto ref = assetRef(it.key());
        if (!ref) return bad(path, QStringLiteral("asset names are \"sha256:\" and 64 lowercase hex digits"));
        if (!it.value().isObject()) return bad(path, QStringLiteral("must be an object"));
        const QJsonObject a = it.value().toObject();
        Asset asset;
        const QJsonValue size = a.value(QLatin1String("size"));
        if (size.isUndefined()) return bad(path + QStringLiteral(".size"), QStringLiteral("is required"));
        auto s = integerIn(size, path + QStringLiteral(".size"), 1, std::numeric_limits<std::int64_t>::max());
        if (!s) return Fail(s.error());
        asset.size = std::uint64_t(*s);
        const QJsonValue type = a.value(QLatin1String("media_type"));
        if (!type.isString() || type.toString().isEmpty())
            return bad(path + QStringLiteral(".media_type"), QStringLiteral("must be a non-empty string"));
        asset.mediaType = type.toString().toStdString();
        m.assets.emplace(*ref, std::move(asset));
    }
    return {};
}

std::expected<PlaylistItem, Rejection> readItem(const QJsonValue &v, const QString &path)
{
    if (!v.isObject()) return bad(path, QStringLiteral("must be an object"));
    const QJsonObject o = v.toObject();
    PlaylistItem item;
    const QJsonValue asset = o.value(QLatin1String("asset"));
    const QJsonValue url = o.value(QLatin1String("url"));
    if (asset.isUndefined() == url.isUndefined())
        return bad(path, QStringLiteral("needs exactly one of \"asset\" or \"url\""));
    if (!asset.isUndefined()) {
        const auto ref = asset.isString() ? assetRef(asset.toString()) : std::nullopt;
        if (!ref) return bad(path + QStringLiteral(".asset"), QStringLiteral("must be \"sha256:\" and 64 lowercase hex digits"));
        item.asset = *ref;
    } else {
        const QUrl parsed(url.isString() ? url.toString() : QString(), QUrl::StrictMode);
        const QString scheme = parsed.scheme();
        if (!url.isString() || !parsed.isValid() || parsed.host().isEmpty()
            || (scheme != QLatin1String("http") && scheme != QLatin1String("https")))
            return bad(path + QStringLiteral(".url"), QStringLiteral("must be an absolute http or https URL"));
        item.url = url.toString();
    }
    const QJsonValue duration = o.value(QLatin1String("duration_ms"));
    if (!duration.isUndefined()) {
        auto d = integerIn(duration, path + QStringLiteral(".duration_ms"), 1, std::numeric_limits<std::int64_t>::max());
        if (!d) return Fail(d.error());
        item.durationMs = *d;
    }
    const QJsonValue fit = o.value(QLatin1String("fit"));
    if (!fit.isUndefined()) {
        const QString f = fit.toString();
        if (f == QLatin1String("contain")) item.fit = Fit::Contain;
        else if (f == QLatin1String("cover")) item.fit = Fit::Cover;
        else if (f == QLatin1String("stretch")) item.fit = Fit::Stretch;
        else return bad(path + QStringLiteral(".fit"), QStringLiteral("must be \"contain\", \"cover\" or \"stretch\""));
    }
    const QJsonValue fade = o.value(QLatin1String("fade_ms"));
    if (fade.isDouble() && fade.toDouble() >= 0 && fade.toDouble() <= 10000)
        item.fadeMs = int(fade.toDouble());
    return item;
}

std::expected<void, Rejection> readPlaylists(const QJsonValue &v, Manifest &m)
{
    if (v.isUndefined()) return {};
    if (!v.isObject()) return bad(QStringLiteral("playlists"), QStringLiteral("must be an object"));
    const QJsonObject lists = v.toObject();
    for (auto it = lists.begin(); it != lists.end(); ++it) {
        const QString path = QStringLiteral("playlists.") + it.key();
        if (it.key().isEmpty()) return bad(QStringLiteral("playlists"), QStringLiteral("a playlist name is empty"));
        const QJsonValue items = it.value().toObject().value(QLatin1String("items"));
        if (!it.value().isObject() || !items.isArray())
            return bad(path, QStringLiteral("must be an object with an \"items\" array"));
        Playlist playlist;
        const QJsonArray array = items.toArray();
        for (qsizetype i = 0; i < array.size(); ++i) {
            auto item = readItem(array.at(i), path + QStringLiteral(".items[%1]").arg(i));
            if (!item) return Fail(item.error());
            playlist.items.push_back(std::move(*item));
        }
        m.playlists.emplace(it.key().toStdString(), std::move(playlist));
    }
    return {};
}

std::expected<ScheduleEntry, Rejection> readEntry(const QJsonValue &v, const QString &path)
{
    if (!v.isObject()) return bad(path, QStringLiteral("must be an object"));
    const QJsonObject o = v.toObject();
    ScheduleEntry e;
    const QJsonValue playlist = o.value(QLatin1String("playlist"));
    if (!playlist.isString()) return bad(path + QStringLiteral(".playlist"), QStringLiteral("must be a string"));
    e.playlist = playlist.toString().toStdString();
    if (const QJsonValue p = o.value(QLatin1String("priority")); !p.isUndefined()) {
        auto prio = integerIn(p, path + QStringLiteral(".priority"), std::numeric_limits<int>::min(),
                              std::numeric_limits<int>::max());
        if (!prio) return Fail(prio.error());
        e.priority = int(*prio);
    }
    if (const QJsonValue days = o.value(QLatin1String("days")); !days.isUndefined()) {
        static constexpr const char *names[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
        if (!days.isArray()) return bad(path + QStringLiteral(".days"), QStringLiteral("must be an array"));
        for (const QJsonValue d : days.toArray()) {
            const auto *found = std::find_if(std::begin(names), std::end(names),
                                             [&](const char *n) { return d.toString() == QLatin1String(n); });
            if (!d.isString() || found == std::end(names))
                return bad(path + QStringLiteral(".days"), QStringLiteral("days are \"mon\" … \"sun\""));
            const auto day = Weekday(int(found - std::begin(names)) + 1);
            if (std::find(e.days.begin(), e.days.end(), day) == e.days.end()) e.days.push_back(day);
        }
        std::sort(e.days.begin(), e.days.end());
    }
    for (const auto &[key, target] : {std::pair{"from", &e.fromMinute}, std::pair{"until", &e.untilMinute}}) {
        const QJsonValue t = o.value(QLatin1String(key));
        if (t.isUndefined()) continue;
        auto minute = timeOfDay(t, path + QLatin1Char('.') + QLatin1String(key));
        if (!minute) return Fail(minute.error());
        *target = *minute;
    }
    for (const auto &[key, target] : {std::pair{"start_date", &e.startDate}, std::pair{"end_date", &e.endDate}}) {
        const QJsonValue d = o.value(QLatin1String(key));
        if (d.isUndefined()) continue;
        const auto date = d.isString() ? parseIsoDate(d.toString()) : std::nullopt;
        if (!date) return bad(path + QLatin1Char('.') + QLatin1String(key), QStringLiteral("must be a date \"YYYY-MM-DD\""));
        *target = *date;
    }
    if (e.startDate && e.endDate && *e.endDate < *e.startDate)
        return bad(path, QStringLiteral("end_date is before start_date"));
    return e;
}

std::expected<void, Rejection> readSettings(const QJsonValue &v, Settings &s)
{
    if (v.isUndefined()) return {};
    if (!v.isObject()) return bad(QStringLiteral("settings"), QStringLiteral("must be an object"));
    const QJsonObject o = v.toObject();
    // Upper bounds keep later arithmetic (ms conversions, jitter) in range.
    constexpr std::int64_t kWeekS = 7 * 24 * 3600;
    if (const QJsonValue x = o.value(QLatin1String("sync_interval_s")); !x.isUndefined()) {
        auto n = integerIn(x, QStringLiteral("settings.sync_interval_s"), 5, kWeekS);
        if (!n) return Fail(n.error());
        s.syncIntervalS = int(*n);
    }
    if (const QJsonValue x = o.value(QLatin1String("status_interval_s")); !x.isUndefined()) {
        auto n = integerIn(x, QStringLiteral("settings.status_interval_s"), 10, kWeekS);
        if (!n) return Fail(n.error());
        s.statusIntervalS = int(*n);
    }
    if (const QJsonValue x = o.value(QLatin1String("rotation")); !x.isUndefined()) {
        const auto r = jsonInteger(x);
        if (!r || (*r != 0 && *r != 90 && *r != 180 && *r != 270))
            return bad(QStringLiteral("settings.rotation"), QStringLiteral("must be 0, 90, 180 or 270"));
        s.rotation = int(*r);
    }
    return {};
}

std::expected<void, Rejection> readCommands(const QJsonValue &v, Manifest &m)
{
    if (v.isUndefined()) return {};
    if (!v.isArray()) return bad(QStringLiteral("commands"), QStringLiteral("must be an array"));
    std::set<std::string> ids;
    const QJsonArray array = v.toArray();
    for (qsizetype i = 0; i < array.size(); ++i) {
        const QString path = QStringLiteral("commands[%1]").arg(i);
        const QJsonObject c = array.at(i).toObject();
        const QJsonValue id = c.value(QLatin1String("id"));
        const QJsonValue type = c.value(QLatin1String("type"));
        if (!array.at(i).isObject() || !id.isString() || id.toString().isEmpty() || !type.isString())
            return bad(path, QStringLiteral("needs a non-empty string \"id\" and a string \"type\""));
        Command command{id.toString().toStdString(), type.toString().toStdString()};
        if (!ids.insert(command.id).second)
            return bad(path, QStringLiteral("duplicate command id \"%1\"").arg(id.toString()));
        m.commands.push_back(std::move(command));
    }
    return {};
}

} // namespace

std::expected<void, Rejection> checkReferences(const Manifest &manifest)
{
    for (const auto &[name, playlist] : manifest.playlists) {
        for (std::size_t i = 0; i < playlist.items.size(); ++i) {
            const PlaylistItem &item = playlist.items[i];
            const QString path = QStringLiteral("playlists.%1.items[%2]").arg(QString::fromStdString(name)).arg(i);
            if (item.asset.has_value() == item.url.has_value())
                return bad(path, QStringLiteral("needs exactly one of \"asset\" or \"url\""));
            if (item.asset && !manifest.assets.contains(*item.asset))
                return bad(path + QStringLiteral(".asset"),
                           QStringLiteral("sha256:%1 is not declared in \"assets\"").arg(QString::fromStdString(item.asset->hex)));
        }
    }
    for (std::size_t i = 0; i < manifest.schedule.size(); ++i) {
        const std::string &name = manifest.schedule[i].playlist;
        if (!manifest.playlists.contains(name))
            return bad(QStringLiteral("schedule[%1].playlist").arg(i),
                       QStringLiteral("playlist \"%1\" does not exist").arg(QString::fromStdString(name)));
    }
    if (manifest.defaultPlaylist && !manifest.playlists.contains(*manifest.defaultPlaylist))
        return bad(QStringLiteral("default_playlist"),
                   QStringLiteral("playlist \"%1\" does not exist").arg(QString::fromStdString(*manifest.defaultPlaylist)));
    return {};
}

std::expected<Manifest, Rejection> parseManifest(QByteArrayView json)
{
    auto object = parseStrictJsonObject(json);
    if (!object)
        return Fail(Rejection{RejectCode::MalformedPayload, QStringLiteral("malformed manifest: ") + object.error()});
    const QJsonObject &o = *object;
    Manifest m;

    const QJsonValue schema = o.value(QLatin1String("schema"));
    if (schema.isUndefined()) return bad(QStringLiteral("schema"), QStringLiteral("is required"));
    if (jsonInteger(schema) != std::optional<std::int64_t>(1))
        return bad(QStringLiteral("schema"), QStringLiteral("only schema 1 is supported"));

    const QJsonValue version = o.value(QLatin1String("version"));
    if (version.isUndefined()) return bad(QStringLiteral("version"), QStringLiteral("is required"));
    auto v = integerIn(version, QStringLiteral("version"), 0, std::numeric_limits<std::int64_t>::max());
    if (!v) return Fail(v.error());
    m.version = *v;

    auto issued = timeField(o, "issued_at");
    if (!issued) return Fail(issued.error());
    m.issuedAt = *issued;
    auto expires = timeField(o, "expires_at");
    if (!expires) return Fail(expires.error());
    m.expiresAt = *expires;

    const QJsonValue devices = o.value(QLatin1String("devices"));
    if (!devices.isArray() || devices.toArray().isEmpty())
        return bad(QStringLiteral("devices"), QStringLiteral("must be a non-empty array (\"*\" or device ids)"));
    for (const QJsonValue d : devices.toArray()) {
        const QString id = d.toString();
        if (!d.isString() || (id != QLatin1String("*") && !isDeviceId(id)))
            return bad(QStringLiteral("devices"), QStringLiteral("entries are \"*\" or 1-64 characters of [A-Za-z0-9._-]"));
        m.devices.push_back(id.toStdString());
    }

    const QJsonValue tz = o.value(QLatin1String("timezone"));
    if (!tz.isString() || !isIanaTimeZone(tz.toString().toUtf8()))
        return bad(QStringLiteral("timezone"), QStringLiteral("must be an IANA time zone known to this device, e.g. \"Europe/Oslo\""));
    m.timezone = tz.toString();

    if (auto r = readAssets(o.value(QLatin1String("assets")), m); !r) return Fail(r.error());
    if (auto r = readPlaylists(o.value(QLatin1String("playlists")), m); !r) return Fail(r.error());

    if (const QJsonValue schedule = o.value(QLatin1String("schedule")); !schedule.isUndefined()) {
        if (!schedule.isArray()) return bad(QStringLiteral("schedule"), QStringLiteral("must be an array"));
        const QJsonArray entries = schedule.toArray();
        for (qsizetype i = 0; i < entries.size(); ++i) {
            auto e = readEntry(entries.at(i), QStringLiteral("schedule[%1]").arg(i));
            if (!e) return Fail(e.error());
            m.schedule.push_back(std::move(*e));
        }
    }
    if (const QJsonValue d = o.value(QLatin1String("default_playlist")); !d.isUndefined() && !d.isNull()) {
        if (!d.isString()) return bad(QStringLiteral("default_playlist"), QStringLiteral("must be a string"));
        m.defaultPlaylist = d.toString().toStdString();
    }
    if (const QJsonValue d = o.value(QLatin1String("display")); !d.isUndefined()) {
        if (!d.isObject()) return bad(QStringLiteral("display"), QStringLiteral("must be an object"));
        auto on = timeOfDay(d.toObject().value(QLatin1String("on")), QStringLiteral("display.on"));
        if (!on) return Fail(on.error());
        auto off = timeOfDay(d.toObject().value(QLatin1String("off")), QStringLiteral("display.off"));
        if (!off) return Fail(off.error());
        m.display = DisplayWindow{*on, *off};
    }
    if (auto r = readSettings(o.value(QLatin1String("settings")), m.settings); !r) return Fail(r.error());
    if (auto r = readCommands(o.value(QLatin1String("commands")), m); !r) return Fail(r.error());
    if (auto r = checkReferences(m); !r) return Fail(r.error());
    return m;
}

std::expected<StoredManifestContent, Rejection> readStoredManifest(QByteArrayView envelope)
{
    auto parsed = parseEnvelope(envelope);
    if (!parsed)
        return std::unexpected(Rejection{parsed.error().code, QStringLiteral("envelope does not parse: ") + parsed.error().reason});
    auto manifest = parseManifest(parsed->payload);
    if (!manifest)
        return std::unexpected(Rejection{manifest.error().code, QStringLiteral("manifest does not parse: ") + manifest.error().reason});
    StoredManifestContent content{std::move(*manifest), {}};
    for (const auto &sig : parsed->signatures)
        content.signerKeyIds.push_back(sig.keyId);
    return content;
}

} // namespace stoa::schedule
