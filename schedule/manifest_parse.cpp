// schedule/manifest_parse.cpp — see manifest_parse.h. Each reader names the
// JSON path of the offending field in its reason, e.g.
// `playlists.lobby.items[2]: needs exactly one of "asset", "url", "text" or
// "stream"`, so an operator can find the mistake in the document they
// published.
#include "schedule/manifest_parse.h"

#include "schedule/identifiers.h"

#include "schedule/envelope.h"
#include "schedule/payload_fields.h"
#include "schedule/strict_json.h"

#include <QJsonArray>
#include <QJsonObject>
#include <QTimeZone>

#include <algorithm>
#include <cmath>
#include <set>

namespace stoa::schedule {
namespace {

using Fail = std::unexpected<Rejection>;

Fail bad(const QString &path, const QString &what)
{
    return Fail(Rejection{RejectCode::MalformedPayload,
                          QStringLiteral("malformed manifest: %1: %2").arg(path, what)});
}

// The one place an asset reference of the manifest becomes a Digest.
std::optional<Digest> assetRef(const QString &name) { return Digest::fromRef(name.toStdString()); }

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

const QString kOneKind = QStringLiteral("needs exactly one of \"asset\", \"url\", \"text\" or \"stream\"");

// A v1.1 rectangle object {x, y, w, h} of fractions (§12 regions, §13 crop).
std::expected<FractionRect, Rejection> readRect(const QJsonObject &o, const QString &path)
{
    FractionRect rect;
    for (const auto &[key, target] : {std::pair{"x", &rect.x}, std::pair{"y", &rect.y}, std::pair{"w", &rect.w},
                                      std::pair{"h", &rect.h}}) {
        const QJsonValue v = o.value(QLatin1String(key));
        if (!v.isDouble() || !std::isfinite(v.toDouble()))
            return bad(path + QLatin1Char('.') + QLatin1String(key), QStringLiteral("must be a number (a fraction from 0 to 1)"));
        *target = v.toDouble();
    }
    if (const auto problem = rectProblem(rect)) return bad(path, *problem);
    return rect;
}

std::expected<Rgb, Rejection> readColour(const QJsonValue &v, const QString &path)
{
    const auto colour = v.isString() ? parseRgb(v.toString()) : std::nullopt;
    if (!colour) return bad(path, QStringLiteral("must be a colour \"#rrggbb\""));
    return *colour;
}

std::expected<TextItem, Rejection> readText(const QJsonObject &o, const QString &path)
{
    TextItem text;
    const QJsonValue t = o.value(QLatin1String("text"));
    if (!t.isString() || t.toString().isEmpty()) return bad(path + QStringLiteral(".text"), QStringLiteral("must be a non-empty string"));
    text.text = t.toString();
    if (const QJsonValue scroll = o.value(QLatin1String("scroll")); !scroll.isUndefined()) {
        if (!scroll.isBool()) return bad(path + QStringLiteral(".scroll"), QStringLiteral("must be true or false"));
        text.scroll = scroll.toBool();
    }
    if (const QJsonValue colour = o.value(QLatin1String("color")); !colour.isUndefined()) {
        auto c = readColour(colour, path + QStringLiteral(".color"));
        if (!c) return Fail(c.error());
        text.color = *c;
    }
    if (const QJsonValue colour = o.value(QLatin1String("background")); !colour.isUndefined()) {
        auto c = readColour(colour, path + QStringLiteral(".background"));
        if (!c) return Fail(c.error());
        text.background = *c;
    }
    return text;
}

std::expected<PlaylistItem, Rejection> readItem(const QJsonValue &v, const QString &path)
{
    if (!v.isObject()) return bad(path, QStringLiteral("must be an object"));
    const QJsonObject o = v.toObject();
    PlaylistItem item;
    const QJsonValue asset = o.value(QLatin1String("asset"));
    const QJsonValue url = o.value(QLatin1String("url"));
    const QJsonValue stream = o.value(QLatin1String("stream"));
    const int kinds = int(!asset.isUndefined()) + int(!url.isUndefined()) + int(o.contains(QLatin1String("text"))) +
                      int(!stream.isUndefined());
    if (kinds != 1) return bad(path, kOneKind);
    if (!asset.isUndefined()) {
        const auto ref = asset.isString() ? assetRef(asset.toString()) : std::nullopt;
        if (!ref) return bad(path + QStringLiteral(".asset"), QStringLiteral("must be \"sha256:\" and 64 lowercase hex digits"));
        item.asset = *ref;
    } else if (!url.isUndefined()) {
        if (!url.isString() || !isWebPageUrl(url.toString()))
            return bad(path + QStringLiteral(".url"), QStringLiteral("must be an absolute http or https URL"));
        item.url = url.toString();
    } else if (!stream.isUndefined()) {
        if (!stream.isString() || !isStreamUrl(stream.toString()))
            return bad(path + QStringLiteral(".stream"),
                       QStringLiteral("must be an rtsp:// URL or an http(s) URL of an HLS playlist (…/index.m3u8)"));
        item.stream = stream.toString();
    } else {
        auto text = readText(o, path);
        if (!text) return Fail(text.error());
        item.text = std::move(*text);
    }
    const QJsonValue duration = o.value(QLatin1String("duration_ms"));
    if (!duration.isUndefined()) {
        auto d = integerIn(duration, path + QStringLiteral(".duration_ms"), 1, std::numeric_limits<std::int64_t>::max());
        if (!d) return Fail(d.error());
        item.durationMs = *d;
    } else if (item.stream) {
        return bad(path + QStringLiteral(".duration_ms"), QStringLiteral("is required for a stream item"));
    }
    const QJsonValue fit = o.value(QLatin1String("fit"));
    if (!fit.isUndefined()) {
        const QString f = fit.toString();
        if (f == QLatin1String("contain")) item.fit = Fit::Contain;
        else if (f == QLatin1String("cover")) item.fit = Fit::Cover;
        else if (f == QLatin1String("stretch")) item.fit = Fit::Stretch;
        else return bad(path + QStringLiteral(".fit"), QStringLiteral("must be \"contain\", \"cover\" or \"stretch\""));
    }
    if (const QJsonValue crop = o.value(QLatin1String("crop")); !crop.isUndefined()) {
        if (!crop.isObject()) return bad(path + QStringLiteral(".crop"), QStringLiteral("must be an object {x, y, w, h}"));
        auto rect = readRect(crop.toObject(), path + QStringLiteral(".crop"));
        if (!rect) return Fail(rect.error());
        item.crop = *rect;
    }
    const QJsonValue fade = o.value(QLatin1String("fade_ms"));
    if (fade.isDouble() && fade.toDouble() >= 0 && fade.toDouble() <= 10000)
        item.fadeMs = int(fade.toDouble());
    return item;
}

// v1.1 §13: `sync` needs every item timed, and a cycle that int64
// milliseconds can hold (sync_slot.h does its arithmetic in them).
std::expected<PlaylistSync, Rejection> readSync(const QJsonValue &v, const Playlist &playlist, const QString &path)
{
    const QString where = path + QStringLiteral(".sync");
    if (!v.isObject()) return bad(where, QStringLiteral("must be an object {\"epoch\": \"<RFC 3339 time>\"}"));
    const QJsonValue epoch = v.toObject().value(QLatin1String("epoch"));
    const auto t = epoch.isString() ? parseRfc3339(epoch.toString()) : std::nullopt;
    if (!t) return bad(where + QStringLiteral(".epoch"), QStringLiteral("must be an RFC 3339 time such as 2026-11-01T00:00:00Z"));
    if (playlist.items.empty()) return bad(path + QStringLiteral(".items"), QStringLiteral("a synchronised playlist needs at least one item"));
    std::int64_t cycle = 0;
    for (std::size_t i = 0; i < playlist.items.size(); ++i) {
        const auto &d = playlist.items[i].durationMs;
        const QString item = path + QStringLiteral(".items[%1].duration_ms").arg(i);
        if (!d) return bad(item, QStringLiteral("is required in a synchronised playlist (it has \"sync\")"));
        if (*d > std::numeric_limits<std::int64_t>::max() - cycle)
            return bad(item, QStringLiteral("the durations of a synchronised playlist add up to more than int64 milliseconds"));
        cycle += *d;
    }
    return PlaylistSync{*t};
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
        if (const QJsonValue sync = it.value().toObject().value(QLatin1String("sync")); !sync.isUndefined()) {
            auto s = readSync(sync, playlist, path);
            if (!s) return Fail(s.error());
            playlist.sync = *s;
        }
        m.playlists.emplace(it.key().toStdString(), std::move(playlist));
    }
    return {};
}

std::expected<Region, Rejection> readRegion(const QJsonValue &v, const QString &path)
{
    if (!v.isObject()) return bad(path, QStringLiteral("must be an object"));
    const QJsonObject o = v.toObject();
    Region region;
    const QJsonValue id = o.value(QLatin1String("id"));
    if (!id.isString() || id.toString().isEmpty()) return bad(path + QStringLiteral(".id"), QStringLiteral("must be a non-empty string"));
    region.id = id.toString().toStdString();
    auto rect = readRect(o, path);
    if (!rect) return Fail(rect.error());
    region.rect = *rect;
    if (const QJsonValue z = o.value(QLatin1String("z")); !z.isUndefined()) {
        auto n = integerIn(z, path + QStringLiteral(".z"), std::numeric_limits<int>::min(), std::numeric_limits<int>::max());
        if (!n) return Fail(n.error());
        region.z = int(*n);
    }
    const QJsonValue playlist = o.value(QLatin1String("playlist"));
    if (!playlist.isString()) return bad(path + QStringLiteral(".playlist"), QStringLiteral("must be a string"));
    region.playlist = playlist.toString().toStdString();
    return region;
}

std::expected<void, Rejection> readLayouts(const QJsonValue &v, Manifest &m)
{
    if (v.isUndefined()) return {};
    if (!v.isObject()) return bad(QStringLiteral("layouts"), QStringLiteral("must be an object"));
    const QJsonObject layouts = v.toObject();
    for (auto it = layouts.begin(); it != layouts.end(); ++it) {
        const QString path = QStringLiteral("layouts.") + it.key();
        if (it.key().isEmpty()) return bad(QStringLiteral("layouts"), QStringLiteral("a layout name is empty"));
        const QJsonValue regions = it.value().toObject().value(QLatin1String("regions"));
        if (!it.value().isObject() || !regions.isArray() || regions.toArray().isEmpty())
            return bad(path, QStringLiteral("must be an object with a non-empty \"regions\" array"));
        Layout layout;
        const QJsonArray array = regions.toArray();
        for (qsizetype i = 0; i < array.size(); ++i) {
            const QString where = path + QStringLiteral(".regions[%1]").arg(i);
            auto region = readRegion(array.at(i), where);
            if (!region) return Fail(region.error());
            const auto same = std::find_if(layout.regions.begin(), layout.regions.end(),
                                           [&](const Region &r) { return r.id == region->id; });
            if (same != layout.regions.end())
                return bad(where + QStringLiteral(".id"), QStringLiteral("region id \"%1\" is repeated (regions[%2])")
                                                              .arg(QString::fromStdString(region->id))
                                                              .arg(same - layout.regions.begin()));
            layout.regions.push_back(std::move(*region));
        }
        m.layouts.emplace(it.key().toStdString(), std::move(layout));
    }
    return {};
}

std::expected<ScheduleEntry, Rejection> readEntry(const QJsonValue &v, const QString &path)
{
    if (!v.isObject()) return bad(path, QStringLiteral("must be an object"));
    const QJsonObject o = v.toObject();
    ScheduleEntry e;
    const QJsonValue playlist = o.value(QLatin1String("playlist"));
    const QJsonValue layout = o.value(QLatin1String("layout"));
    if (playlist.isUndefined() == layout.isUndefined())
        return bad(path, QStringLiteral("needs exactly one of \"playlist\" or \"layout\""));
    if (!layout.isUndefined()) {
        if (!layout.isString() || layout.toString().isEmpty())
            return bad(path + QStringLiteral(".layout"), QStringLiteral("must be a non-empty string"));
        e.layout = layout.toString().toStdString();
    } else {
        if (!playlist.isString()) return bad(path + QStringLiteral(".playlist"), QStringLiteral("must be a string"));
        e.playlist = playlist.toString().toStdString();
    }
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
    const auto missing = [](const char *kind, const std::string &name) {
        return QStringLiteral("%1 \"%2\" does not exist").arg(QLatin1String(kind), QString::fromStdString(name));
    };
    for (const auto &[name, playlist] : manifest.playlists) {
        for (std::size_t i = 0; i < playlist.items.size(); ++i) {
            const PlaylistItem &item = playlist.items[i];
            const QString path = QStringLiteral("playlists.%1.items[%2]").arg(QString::fromStdString(name)).arg(i);
            if (int(item.asset.has_value()) + int(item.url.has_value()) + int(item.text.has_value()) + int(item.stream.has_value()) != 1)
                return bad(path, kOneKind);
            if (item.asset && !manifest.assets.contains(*item.asset))
                return bad(path + QStringLiteral(".asset"),
                           QStringLiteral("%1 is not declared in \"assets\"").arg(QString::fromStdString(item.asset->ref())));
        }
    }
    for (const auto &[name, layout] : manifest.layouts) {
        for (std::size_t i = 0; i < layout.regions.size(); ++i) {
            if (!manifest.playlists.contains(layout.regions[i].playlist))
                return bad(QStringLiteral("layouts.%1.regions[%2].playlist").arg(QString::fromStdString(name)).arg(i),
                           missing("playlist", layout.regions[i].playlist));
        }
    }
    for (std::size_t i = 0; i < manifest.schedule.size(); ++i) {
        const ScheduleEntry &e = manifest.schedule[i];
        if (e.playlist.empty() == e.layout.empty())
            return bad(QStringLiteral("schedule[%1]").arg(i), QStringLiteral("needs exactly one of \"playlist\" or \"layout\""));
        if (!e.layout.empty() && !manifest.layouts.contains(e.layout))
            return bad(QStringLiteral("schedule[%1].layout").arg(i), missing("layout", e.layout));
        if (e.layout.empty() && !manifest.playlists.contains(e.playlist))
            return bad(QStringLiteral("schedule[%1].playlist").arg(i), missing("playlist", e.playlist));
    }
    if (manifest.defaultPlaylist && !manifest.playlists.contains(*manifest.defaultPlaylist))
        return bad(QStringLiteral("default_playlist"), missing("playlist", *manifest.defaultPlaylist));
    if (manifest.defaultLayout && !manifest.layouts.contains(*manifest.defaultLayout))
        return bad(QStringLiteral("default_layout"), missing("layout", *manifest.defaultLayout));
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
    if (auto r = readLayouts(o.value(QLatin1String("layouts")), m); !r) return Fail(r.error());

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
    if (const QJsonValue d = o.value(QLatin1String("default_layout")); !d.isUndefined() && !d.isNull()) {
        if (!d.isString()) return bad(QStringLiteral("default_layout"), QStringLiteral("must be a string"));
        m.defaultLayout = d.toString().toStdString();
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

std::optional<Manifest> readStoredManifestModel(const std::string &envelope)
{
    auto stored = readStoredManifest(QByteArrayView(envelope.data(), qsizetype(envelope.size())));
    return stored ? std::optional(std::move(stored->manifest)) : std::nullopt;
}

} // namespace stoa::schedule
