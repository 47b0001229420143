// hub/content_api.cpp — the operator routes the console's content pages read
// (docs/hub-api.md, "Content"): a medium's bytes (thumbnails), what a
// schedule change would do before it is made (preview), a week of what a
// group or device plays, computed by the devices' own schedule engine
// (schedule/engine.h) on the manifest the publisher would build, the
// publication's version (the adoption bar), the proof-of-play report (JSON
// and CSV) and the audit log.
// Invariants: nothing here changes content (the changes are publish_api.cpp's,
// on the worker); a preview parses and checks a schedule exactly as
// putSchedule does, so a preview that passes is a change that publishes;
// the week view never re-implements the schedule rules: it asks
// resolveNowPlaying() at each instant the answer changes; media digests come
// from the library's store (media_digests.h), so neither reads a medium's
// bytes (multi-GB videos) on an HTTP thread; text from devices
// and operators goes into JSON or CSV as data (CSV cells that a spreadsheet
// would run as a formula are prefixed with ').
#include "hub/hub_impl.h"
#include "hub/logging.h"
#include "hub/schedule_json.h"
#include "publish/media_type.h"
#include "publish/publish.h"
#include "publish/schedule_source.h"
#include "schedule/engine.h"
#include "schedule/identifiers.h"
#include "schedule/manifest_parse.h"
#include "schedule/payload_fields.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTimeZone>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <set>

namespace stoa::hub {
namespace {

constexpr std::int64_t kDayMs = std::int64_t{86400} * 1000;

HttpResponse jsonOf(int status, const QJsonValue &v)
{
    const QByteArray text = v.isArray() ? QJsonDocument(v.toArray()).toJson(QJsonDocument::Compact)
                                        : QJsonDocument(v.toObject()).toJson(QJsonDocument::Compact);
    return HttpResponse::json(status, text.toStdString() + "\n");
}

QString q(const std::string &s) { return QString::fromStdString(s); }

std::string param(const HttpRequest &request, const char *name)
{
    const auto it = request.query.find(name);
    return it == request.query.end() ? std::string() : it->second;
}

const char *weekdayName(schedule::Weekday d)
{
    static const char *const names[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
    return names[static_cast<int>(d) - 1];
}

QString hhmm(int minute) { return QString("%1:%2").arg(minute / 60, 2, 10, QChar('0')).arg(minute % 60, 2, 10, QChar('0')); }

QJsonValue optDate(const std::optional<QDate> &d) { return d ? QJsonValue(d->toString(Qt::ISODate)) : QJsonValue(); }

// A window as one comparable line: a preview lists the lines that come and go.
QString windowLine(const publish::SourceWindow &w)
{
    QStringList days;
    for (const auto d : w.days)
        days << weekdayName(d);
    const QString time = !w.fromMinute && !w.untilMinute ? QString("all day")
                                                         : QString("%1-%2").arg(w.fromMinute ? hhmm(*w.fromMinute) : QString("00:00"),
                                                                                w.untilMinute ? hhmm(*w.untilMinute) : QString("24:00"));
    QString line = QString("%1: %2, %3, %4, priority %5")
                       .arg(w.name, w.layout.isEmpty() ? "plays " + w.playlist : "shows layout " + w.layout, days.isEmpty() ? QString("every day") : days.join(','), time)
                       .arg(w.priority);
    if (w.startDate || w.endDate)
        line += QString(", dates %1..%2").arg(w.startDate ? w.startDate->toString(Qt::ISODate) : QString(),
                                               w.endDate ? w.endDate->toString(Qt::ISODate) : QString());
    return line;
}

// An item in a line for people: its file, URL, stream or text.
QString what(const publish::SourceItem &i)
{
    if (i.text)
        return QString("text \"%1\"%2 %3/%4").arg(i.text->text, i.text->scroll ? " scroll" : "", schedule::rgbText(i.text->color),
                                                  i.text->background ? schedule::rgbText(*i.text->background) : QString("none"));
    return !i.file.isEmpty() ? i.file : !i.stream.isEmpty() ? i.stream : i.url;
}

QString itemsLine(const publish::SourcePlaylist &p)
{
    QStringList items;
    for (const auto &i : p.items)
        items << QString("%1 %2 %3").arg(what(i),
                                          i.durationMs ? QString::number(*i.durationMs) + "ms" : QString("-"),
                                          i.fit ? fitName(*i.fit) : "-");
    return items.join(" | ");
}

// The schedule a target plays: its own, else (a device) its group's, else
// the fleet's. `schedules`: the targets that have one.
std::optional<std::string> effectiveTarget(const std::string &device, const std::optional<std::string> &group,
                                           const std::set<std::string> &schedules)
{
    if (schedules.count("devices/" + device))
        return "devices/" + device;
    if (group && schedules.count("groups/" + *group))
        return "groups/" + *group;
    if (schedules.count("fleet"))
        return std::string("fleet");
    return std::nullopt;
}

HttpResponse invalidSchedule(const publish::Error &e) { return errorJson(400, e.message.toStdString()); }

// The manifest the publisher would build from `text`, parsed by the device's
// own parser: what the engine of a device receiving it would evaluate.
std::expected<schedule::Manifest, HttpResponse> manifestOf(const std::string &text, const std::string &label,
                                                           const std::string &library, const publish::DigestSource &digests)
{
    auto parsed = publish::parseScheduleSource(QByteArrayView(text.data(), static_cast<qsizetype>(text.size())), q(label));
    if (!parsed)
        return std::unexpected(invalidSchedule(parsed.error()));
    auto assets = publish::collectAssets(*parsed, q(library), digests);
    if (!assets)
        return std::unexpected(errorJson(400, assets.error().message.toStdString() + " (upload it to the media library first)"));
    const QDateTime now = QDateTime::currentDateTimeUtc();
    const QByteArray payload = publish::buildManifestPayload(*parsed, *assets, QStringList{"*"}, 1, now, now.addDays(3650));
    auto manifest = schedule::parseManifest(payload);
    if (!manifest)
        return std::unexpected(errorJson(500, "the built manifest does not parse: " + manifest.error().reason.toStdString()));
    return std::move(*manifest);
}

struct Segment {
    QDateTime from, until;
    schedule::NowPlaying answer;
};

const char *sourceName(schedule::PlaySource s)
{
    switch (s) {
    case schedule::PlaySource::Schedule: return "schedule";
    case schedule::PlaySource::Default: return "default";
    case schedule::PlaySource::Idle: break;
    }
    return "idle";
}

// The layouts on screen in an answer (NowPlaying::playlists has the rest).
QJsonArray layoutsOf(const schedule::NowPlaying &answer)
{
    QJsonArray out;
    for (const auto &c : answer.contents)
        if (c.kind == schedule::ContentKind::Layout)
            out.append(q(c.name));
    return out;
}

HttpResponse week(Hub::Impl &impl, const HttpRequest &request, const Route &route)
{
    const auto targets = impl.publisher->scheduleTargets();
    const std::set<std::string> schedules(targets.begin(), targets.end());
    std::optional<std::string> source;
    if (route.name == "fleet") {
        if (schedules.count("fleet"))
            source = "fleet";
    } else if (route.name.starts_with("groups/")) {
        source = schedules.count(route.name) ? std::optional(route.name)
                                             : schedules.count("fleet") ? std::optional<std::string>("fleet") : std::nullopt;
    } else {
        const std::string id = route.name.substr(8);
        std::optional<std::string> group;
        auto list = impl.storage->devices();
        if (!list)
            return errorJson(503, "database: " + list.error().message);
        for (const auto &d : *list)
            if (d.id == id)
                group = d.group;
        source = effectiveTarget(id, group, schedules);
    }
    if (!source)
        return errorJson(404, "no schedule plays for " + route.name + ": publish a fleet schedule first");
    const auto text = impl.publisher->schedule(*source);
    if (!text)
        return errorJson(404, "no schedule for " + *source);
    auto manifest = manifestOf(*text, *source + ".ini", impl.publisher->libraryDir(), impl.publisher->digestSource());
    if (!manifest)
        return manifest.error();
    const QTimeZone tz(manifest->timezone.toUtf8());
    if (!tz.isValid())
        return errorJson(500, "unknown time zone " + manifest->timezone.toStdString());

    // The week starts on the given local date (default: this week's Monday
    // in the schedule's time zone); 1-14 days.
    QDate start = QDate::fromString(q(param(request, "start")), Qt::ISODate);
    if (!param(request, "start").empty() && !start.isValid())
        return errorJson(400, "start must be a date, YYYY-MM-DD");
    if (!start.isValid()) {
        const QDate today = QDateTime::currentDateTimeUtc().toTimeZone(tz).date();
        start = today.addDays(1 - today.dayOfWeek());
    }
    int days = 7;
    if (const auto d = param(request, "days"); !d.empty()) {
        bool ok = false;
        days = q(d).toInt(&ok);
        if (!ok || days < 1 || days > 14)
            return errorJson(400, "days must be 1-14");
    }
    const QDateTime begin = start.startOfDay(tz).toUTC();
    const QDateTime end = start.addDays(days).startOfDay(tz).toUTC();

    // Every change of the answer over the range, straight from the engine.
    std::vector<Segment> segments;
    QDateTime t = begin;
    for (int guard = 0; t < end && guard < 100000; ++guard) {
        auto answer = schedule::resolveNowPlaying(*manifest, t);
        QDateTime next = answer.nextChange && *answer.nextChange < end ? *answer.nextChange : end;
        if (next <= t) // the engine promises a later instant; never loop on a broken one
            next = t.addSecs(60);
        if (!segments.empty() && segments.back().answer.source == answer.source
            && segments.back().answer.contents == answer.contents)
            segments.back().until = next; // a non-exact answer: the same again
        else
            segments.push_back({t, next, std::move(answer)});
        t = next;
    }

    QJsonArray segs;
    for (const auto &s : segments) {
        QJsonArray pls;
        for (const auto &p : s.answer.playlists)
            pls.append(q(p));
        segs.append(QJsonObject{{"from", s.from.toString(Qt::ISODate)}, {"until", s.until.toString(Qt::ISODate)},
                                {"source", sourceName(s.answer.source)}, {"playlists", pls}, {"layouts", layoutsOf(s.answer)}});
    }
    // Hour by hour, per local day: a day is 23, 24 or 25 hours long (DST),
    // each hour labelled with its local time and offset.
    QJsonArray dayList;
    std::size_t first = 0; // the first segment that may overlap the hour
    for (int d = 0; d < days; ++d) {
        const QDate date = start.addDays(d);
        const QDateTime dayStart = date.startOfDay(tz).toUTC();
        const QDateTime dayEnd = date.addDays(1).startOfDay(tz).toUTC();
        QJsonArray hours;
        for (QDateTime h = dayStart; h < dayEnd; h = h.addSecs(3600)) {
            const QDateTime hourEnd = std::min(h.addSecs(3600), dayEnd);
            while (first < segments.size() && segments[first].until <= h)
                ++first;
            QJsonArray playlists;
            QJsonArray sources;
            QJsonArray layouts;
            std::set<QString> seenLayouts;
            std::set<std::string> seenPl;
            std::set<std::string> seenSrc;
            int parts = 0;
            for (std::size_t i = first; i < segments.size() && segments[i].from < hourEnd; ++i) {
                ++parts;
                if (seenSrc.insert(sourceName(segments[i].answer.source)).second)
                    sources.append(sourceName(segments[i].answer.source));
                for (const auto &p : segments[i].answer.playlists)
                    if (seenPl.insert(p).second)
                        playlists.append(q(p));
                for (const QJsonValue l : layoutsOf(segments[i].answer))
                    if (seenLayouts.insert(l.toString()).second)
                        layouts.append(l);
            }
            const QDateTime local = h.toTimeZone(tz);
            hours.append(QJsonObject{{"at", h.toString(Qt::ISODate)},
                                     {"local", local.time().toString("HH:mm")},
                                     {"utc_offset_s", local.offsetFromUtc()},
                                     {"playlists", playlists},
                                     {"layouts", layouts},
                                     {"sources", sources},
                                     {"changes", parts - 1}});
        }
        dayList.append(QJsonObject{{"date", date.toString(Qt::ISODate)},
                                   {"weekday", weekdayName(static_cast<schedule::Weekday>(date.dayOfWeek()))},
                                   {"hours", hours}});
    }
    return jsonOf(200, QJsonObject{{"target", q(route.name)},
                                   {"source", q(*source)},
                                   {"timezone", manifest->timezone},
                                   {"start", start.toString(Qt::ISODate)},
                                   {"days", dayList},
                                   {"segments", segs}});
}

HttpResponse preview(Hub::Impl &impl, const HttpRequest &request, const Route &route, const Principal &who)
{
    if (who.op.role == Role::Viewer)
        return errorJson(403, "only an editor or admin may change content");
    if (route.name.starts_with("devices/") && !impl.storage->deviceExists(route.name.substr(8)).value_or(false))
        return errorJson(404, "no device " + route.name.substr(8)); // as PUT answers
    const std::string label = route.name == "fleet" ? "fleet.ini" : route.name + ".ini";
    auto parsedNext = publish::parseScheduleSource(QByteArrayView(request.body.data(), static_cast<qsizetype>(request.body.size())), q(label));
    if (!parsedNext)
        return invalidSchedule(parsedNext.error());
    const std::optional<publish::SourceSchedule> next = std::move(*parsedNext);
    // The same check putSchedule makes: every medium in the library (its
    // digest as stored at upload: a preview never re-reads the media).
    if (auto assets = publish::collectAssets(*next, q(impl.publisher->libraryDir()), impl.publisher->digestSource()); !assets)
        return errorJson(400, assets.error().message.toStdString() + " (upload it to the media library first)");
    std::optional<publish::SourceSchedule> current;
    if (const auto text = impl.publisher->schedule(route.name)) {
        if (auto parsed = publish::parseScheduleSource(QByteArrayView(text->data(), static_cast<qsizetype>(text->size())), q(label)))
            current = std::move(*parsed);
    }

    auto files = [](const std::optional<publish::SourceSchedule> &s) {
        std::set<QString> out;
        if (s)
            for (const auto &p : s->playlists)
                for (const auto &i : p.items)
                    if (!i.text) // a text is no asset
                        out.insert(what(i));
        return out;
    };
    auto lines = [](const std::optional<publish::SourceSchedule> &s) {
        std::set<QString> out;
        if (s)
            for (const auto &w : s->windows)
                out.insert(windowLine(w));
        return out;
    };
    auto playlists = [](const std::optional<publish::SourceSchedule> &s) {
        std::map<QString, QString> out;
        if (s)
            for (const auto &p : s->playlists)
                out[p.name] = itemsLine(p);
        return out;
    };
    auto minus = [](const std::set<QString> &a, const std::set<QString> &b) {
        QJsonArray out;
        for (const auto &x : a)
            if (!b.count(x))
                out.append(x);
        return out;
    };
    const auto oldFiles = files(current);
    const auto newFiles = files(next);
    const auto oldLines = lines(current);
    const auto newLines = lines(next);
    const auto oldPl = playlists(current);
    const auto newPl = playlists(next);
    QJsonArray playlistsChanged;
    for (const auto &[name, items] : newPl) {
        const auto it = oldPl.find(name);
        if (it == oldPl.end())
            playlistsChanged.append(QJsonObject{{"name", name}, {"change", QString("added")}});
        else if (it->second != items)
            playlistsChanged.append(QJsonObject{{"name", name}, {"change", QString("changed")}});
    }
    for (const auto &[name, items] : oldPl)
        if (!newPl.count(name))
            playlistsChanged.append(QJsonObject{{"name", name}, {"change", QString("removed")}});
    // A layout as one comparable line: its regions in order.
    auto layouts = [](const std::optional<publish::SourceSchedule> &s) {
        std::map<QString, QString> out;
        if (s)
            for (const auto &l : s->layouts) {
                QStringList regions;
                for (const auto &r : l.regions)
                    regions << QString("%1 %2 %3,%4 %5x%6 z%7").arg(r.id, r.playlist).arg(r.rect.x).arg(r.rect.y)
                                   .arg(r.rect.w).arg(r.rect.h).arg(r.z);
                out[l.name] = regions.join(" | ");
            }
        return out;
    };
    const auto oldLayouts = layouts(current);
    const auto newLayouts = layouts(next);
    QJsonArray layoutsChanged;
    for (const auto &[name, regions] : newLayouts) {
        const auto it = oldLayouts.find(name);
        if (it == oldLayouts.end() || it->second != regions)
            layoutsChanged.append(QJsonObject{{"name", name}, {"change", it == oldLayouts.end() ? "added" : "changed"}, {"regions", regions}});
    }
    for (const auto &[name, regions] : oldLayouts)
        if (!newLayouts.count(name))
            layoutsChanged.append(QJsonObject{{"name", name}, {"change", QString("removed")}, {"regions", regions}});
    const bool settingsChanged = !current || current->timezone != next->timezone || current->defaultPlaylist != next->defaultPlaylist
                                 || current->defaultLayout != next->defaultLayout;

    // The devices that play this schedule once it is stored.
    auto targets = impl.publisher->scheduleTargets();
    std::set<std::string> schedules(targets.begin(), targets.end());
    schedules.insert(route.name);
    auto list = impl.storage->devices();
    if (!list)
        return errorJson(503, "database: " + list.error().message);
    QJsonArray devices;
    int total = 0;
    for (const auto &d : *list) {
        if (d.revoked || effectiveTarget(d.id, d.group, schedules) != route.name)
            continue;
        if (++total <= 200)
            devices.append(q(d.id));
    }
    const QJsonArray entriesAdded = minus(newLines, oldLines);
    const QJsonArray entriesRemoved = minus(oldLines, newLines);
    const QJsonArray assetsAdded = minus(newFiles, oldFiles);
    const QJsonArray assetsRemoved = minus(oldFiles, newFiles);
    const bool unchanged = current && entriesAdded.isEmpty() && entriesRemoved.isEmpty() && assetsAdded.isEmpty()
                           && assetsRemoved.isEmpty() && playlistsChanged.isEmpty() && layoutsChanged.isEmpty() && !settingsChanged;
    return jsonOf(200, QJsonObject{{"target", q(route.name)},
                                   {"new", !current.has_value()},
                                   {"unchanged", unchanged},
                                   {"assets_added", assetsAdded},
                                   {"assets_removed", assetsRemoved},
                                   {"entries_added", entriesAdded},
                                   {"entries_removed", entriesRemoved},
                                   {"playlists_changed", playlistsChanged},
                                   {"layouts_changed", layoutsChanged},
                                   {"settings_changed", settingsChanged},
                                   {"devices", devices},
                                   {"devices_total", total},
                                   {"current_version", static_cast<qint64>(impl.publisher->currentVersion())}});
}

HttpResponse mediaBytes(Hub::Impl &impl, const HttpRequest &request, const Route &route)
{
    const auto file = impl.publisher->mediaFile(route.name);
    if (!file)
        return errorJson(404, "no medium " + route.name);
    const int fd = ::open(file->c_str(), O_RDONLY | O_CLOEXEC);
    struct stat st{};
    if (fd < 0 || ::fstat(fd, &st) != 0) {
        if (fd >= 0)
            ::close(fd);
        return errorJson(404, "no medium " + route.name);
    }
    // Size and mtime: a new upload under the same name changes both (the
    // file is replaced by rename), without hashing the file per request.
    const std::string etag = "\"" + std::to_string(st.st_size) + "-" + std::to_string(st.st_mtim.tv_sec) + "."
                             + std::to_string(st.st_mtim.tv_nsec) + "\"";
    HttpResponse r;
    r.headers.emplace_back("ETag", etag);
    r.headers.emplace_back("Cache-Control", "private, no-cache");
    if (const auto inm = request.headers.find("if-none-match"); inm != request.headers.end() && inm->second == etag) {
        ::close(fd);
        r.status = 304;
        r.contentType.clear();
        return r;
    }
    const auto type = publish::mediaTypeForFile(q(route.name));
    r.contentType = type ? type->mime.toStdString() : "application/octet-stream";
    r.fd = fd;
    r.fileLength = static_cast<std::uint64_t>(st.st_size);
    return r;
}

// A video's thumbnail (thumbnails.h): 200 the JPEG, 202 while it is being
// made, 404 for an image (its own bytes are its thumbnail) or a video the
// hub cannot decode (the reason; the console keeps its icon).
HttpResponse mediaThumbnail(Hub::Impl &impl, const HttpRequest &request, const Route &route)
{
    const auto file = impl.publisher->mediaFile(route.name);
    if (!file)
        return errorJson(404, "no medium " + route.name);
    const auto type = publish::mediaTypeForFile(q(route.name));
    if (!type || type->kind != publish::MediaKind::Video)
        return errorJson(404, route.name + " is an image: it is its own thumbnail (GET /api/v1/media/" + route.name + ")");
    const auto digest = impl.publisher->digestSource()(q(*file)); // stored at upload: no re-read
    if (!digest)
        return errorJson(404, "no medium " + route.name);
    const auto t = impl.thumbnails.get(digest->sha256.hex(), *file);
    if (t.state == Thumbnails::State::Pending) {
        auto r = jsonOf(202, QJsonObject{{"state", "pending"}});
        r.headers.emplace_back("Retry-After", "1");
        return r;
    }
    if (t.state == Thumbnails::State::Failed) {
        auto r = jsonOf(404, QJsonObject{{"error", q("the hub cannot make a thumbnail of " + route.name + ": " + t.reason)},
                                         {"state", "failed"}});
        return r;
    }
    const std::string etag = "\"" + digest->sha256.hex() + "\"";
    HttpResponse r;
    r.headers.emplace_back("ETag", etag);
    r.headers.emplace_back("Cache-Control", "private, no-cache");
    if (const auto inm = request.headers.find("if-none-match"); inm != request.headers.end() && inm->second == etag) {
        r.status = 304;
        r.contentType.clear();
        return r;
    }
    const int fd = ::open(t.file.c_str(), O_RDONLY | O_CLOEXEC);
    struct stat st{};
    if (fd < 0 || ::fstat(fd, &st) != 0) {
        if (fd >= 0)
            ::close(fd);
        return errorJson(404, "no thumbnail of " + route.name);
    }
    r.contentType = "image/jpeg";
    r.fd = fd;
    r.fileLength = static_cast<std::uint64_t>(st.st_size);
    return r;
}

// A CSV cell: quoted when it holds a separator, quote or line break; a
// leading = + - @ would be a formula in a spreadsheet, so it gets a '.
std::string csvCell(const QString &value)
{
    QString v = value;
    if (!v.isEmpty() && QString("=+-@\t\r").contains(v.front()))
        v.prepend('\'');
    if (v.contains(',') || v.contains('"') || v.contains('\n') || v.contains('\r')) {
        v.replace("\"", "\"\"");
        v = "\"" + v + "\"";
    }
    return v.toStdString();
}

HttpResponse playsReport(Hub::Impl &impl, const HttpRequest &request)
{
    // Whole UTC days, `until` inclusive; default: the last 7 days.
    const QDate today = QDateTime::currentDateTimeUtc().date();
    QDate from = param(request, "from").empty() ? today.addDays(-6) : QDate::fromString(q(param(request, "from")), Qt::ISODate);
    QDate until = param(request, "until").empty() ? today : QDate::fromString(q(param(request, "until")), Qt::ISODate);
    if (!from.isValid() || !until.isValid())
        return errorJson(400, "from and until must be dates, YYYY-MM-DD");
    if (until < from)
        return errorJson(400, "until is before from");
    if (from.daysTo(until) > 366)
        return errorJson(400, "at most 366 days at once");
    const std::string device = param(request, "device");
    if (!device.empty() && !schedule::isDeviceId(device))
        return errorJson(400, "device must be a device id");
    const std::string format = param(request, "format").empty() ? "json" : param(request, "format");
    if (format != "json" && format != "csv")
        return errorJson(400, "format must be json or csv");
    const std::int64_t fromMs = from.startOfDay(QTimeZone::utc()).toMSecsSinceEpoch();
    const std::int64_t untilMs = until.addDays(1).startOfDay(QTimeZone::utc()).toMSecsSinceEpoch();
    // A play is counted on the day it started; a device offline for a while
    // sends it later, so receipts up to 30 days (the retention) after the
    // range are read too.
    constexpr int kMaxRecords = 1'000'000;
    auto records = impl.storage->playsReceivedBetween(fromMs, untilMs + 30 * kDayMs, kMaxRecords);
    if (!records)
        return errorJson(503, "database: " + records.error().message);
    // Assets are digests on the wire; the library names them.
    std::map<QString, QStringList> names;
    if (auto media = impl.publisher->media())
        for (const auto &m : *media)
            names[q(m.sha256.ref())] << q(m.name);

    struct Sum {
        std::int64_t plays = 0;
        std::int64_t ms = 0;
    };
    std::map<std::pair<QString, QString>, Sum> byAssetDay;  // (date, asset)
    std::map<std::pair<QString, QString>, Sum> byDeviceDay; // (date, device)
    std::string csv = "device_id,id,started_at,date,asset,media,playlist,duration_ms,completed,reason,received_at\r\n";
    std::int64_t total = 0;
    for (const auto &r : *records) {
        if (!device.empty() && r.deviceId != device)
            continue;
        const auto o = QJsonDocument::fromJson(QByteArray::fromStdString(r.line)).object();
        const QDateTime started = QDateTime::fromString(o.value("started_at").toString(), Qt::ISODateWithMs);
        const std::int64_t at = started.isValid() ? started.toMSecsSinceEpoch() : r.receivedAtMs;
        if (at < fromMs || at >= untilMs)
            continue;
        ++total;
        const QString date = QDateTime::fromMSecsSinceEpoch(at, QTimeZone::utc()).date().toString(Qt::ISODate);
        const QString asset = o.value("asset").isString() ? o.value("asset").toString() : o.value("url").toString();
        const auto ms = static_cast<std::int64_t>(o.value("duration_ms").toDouble());
        auto &a = byAssetDay[{date, asset}];
        ++a.plays;
        a.ms += ms;
        auto &d = byDeviceDay[{date, q(r.deviceId)}];
        ++d.plays;
        d.ms += ms;
        if (format == "csv") {
            const auto n = names.find(asset);
            csv += csvCell(q(r.deviceId)) + "," + csvCell(o.value("id").toString()) + ","
                   + csvCell(QDateTime::fromMSecsSinceEpoch(at, QTimeZone::utc()).toString(Qt::ISODateWithMs)) + ","
                   + date.toStdString() + "," + csvCell(asset) + "," + csvCell(n == names.end() ? QString() : n->second.join(' '))
                   + "," + csvCell(o.value("playlist").toString()) + "," + std::to_string(ms) + ","
                   + (o.value("completed").toBool() ? "true" : "false") + "," + csvCell(o.value("reason").toString()) + ","
                   + rfc3339(r.receivedAtMs) + "\r\n";
        }
    }
    const bool truncated = records->size() >= static_cast<std::size_t>(kMaxRecords);
    if (format == "csv") {
        HttpResponse r;
        r.contentType = "text/csv; charset=utf-8";
        r.body = std::move(csv);
        r.headers.emplace_back("Content-Disposition", "attachment; filename=\"plays-" + from.toString(Qt::ISODate).toStdString()
                                                          + "-to-" + until.toString(Qt::ISODate).toStdString() + ".csv\"");
        if (truncated)
            r.headers.emplace_back("X-Stoa-Truncated", "true");
        return r;
    }
    QJsonArray assets;
    for (const auto &[key, sum] : byAssetDay) {
        const auto n = names.find(key.second);
        assets.append(QJsonObject{{"date", key.first}, {"asset", key.second},
                                  {"media", n == names.end() ? QJsonArray() : QJsonArray::fromStringList(n->second)},
                                  {"plays", static_cast<qint64>(sum.plays)}, {"duration_ms", static_cast<qint64>(sum.ms)}});
    }
    QJsonArray devices;
    for (const auto &[key, sum] : byDeviceDay)
        devices.append(QJsonObject{{"date", key.first}, {"device", key.second},
                                   {"plays", static_cast<qint64>(sum.plays)}, {"duration_ms", static_cast<qint64>(sum.ms)}});
    return jsonOf(200, QJsonObject{{"from", from.toString(Qt::ISODate)}, {"until", until.toString(Qt::ISODate)},
                                   {"plays", static_cast<qint64>(total)}, {"truncated", truncated},
                                   {"by_asset_day", assets}, {"by_device_day", devices}});
}

HttpResponse auditLog(Hub::Impl &impl, const HttpRequest &request)
{
    bool ok = true;
    const std::int64_t before = param(request, "before").empty() ? 0 : q(param(request, "before")).toLongLong(&ok);
    if (!ok || before < 0)
        return errorJson(400, "before must be an entry id");
    int limit = 100;
    if (!param(request, "limit").empty()) {
        limit = q(param(request, "limit")).toInt(&ok);
        if (!ok || limit < 1 || limit > 1000)
            return errorJson(400, "limit must be 1-1000");
    }
    auto list = impl.storage->audit(before, limit);
    if (!list)
        return errorJson(503, "database: " + list.error().message);
    QJsonArray out;
    for (const auto &e : *list)
        out.append(QJsonObject{{"id", static_cast<qint64>(e.id)}, {"at", q(rfc3339(e.atMs))},
                               {"operator", q(e.operatorName)}, {"action", q(e.action)},
                               {"target", q(e.target)}, {"detail", q(e.detail)}});
    return jsonOf(200, QJsonObject{{"entries", out},
                                   {"next_before", list->size() == static_cast<std::size_t>(limit)
                                                       ? QJsonValue(static_cast<qint64>(list->back().id)) : QJsonValue()}});
}

} // namespace

HttpResponse scheduleAsJson(const std::string &text, const std::string &target)
{
    const std::string label = target == "fleet" ? "fleet.ini" : target + ".ini";
    auto parsed = publish::parseScheduleSource(QByteArrayView(text.data(), static_cast<qsizetype>(text.size())), q(label));
    if (!parsed)
        return errorJson(500, "the stored schedule does not parse: " + parsed.error().message.toStdString());
    QJsonArray playlists;
    for (const auto &p : parsed->playlists) {
        QJsonArray items;
        for (const auto &i : p.items)
            items.append(itemJson(i));
        playlists.append(QJsonObject{{"name", p.name}, {"items", items},
                                     {"sync", p.sync ? QJsonValue(p.sync->toUTC().toString(Qt::ISODate)) : QJsonValue()}});
    }
    QJsonArray layouts;
    for (const auto &l : parsed->layouts)
        layouts.append(layoutJson(l));
    QJsonArray windows;
    for (const auto &w : parsed->windows) {
        QJsonArray days;
        for (const auto d : w.days)
            days.append(weekdayName(d));
        windows.append(QJsonObject{{"name", w.name}, {"playlist", w.playlist.isEmpty() ? QJsonValue() : QJsonValue(w.playlist)},
                                   {"layout", w.layout.isEmpty() ? QJsonValue() : QJsonValue(w.layout)},
                                   {"priority", w.priority}, {"days", days},
                                   {"from", w.fromMinute ? QJsonValue(hhmm(*w.fromMinute)) : QJsonValue()},
                                   {"until", w.untilMinute ? QJsonValue(hhmm(*w.untilMinute)) : QJsonValue()},
                                   {"start_date", optDate(w.startDate)}, {"end_date", optDate(w.endDate)}});
    }
    QJsonArray commands;
    for (const auto &c : parsed->commands)
        commands.append(QJsonObject{{"id", q(c.id)}, {"type", q(c.type)}});
    // Settings the console does not edit travel back verbatim: the lines
    // before the first section, without timezone and default.
    QStringList preamble;
    for (const QString &line : QString::fromStdString(text).split('\n')) {
        const QString t = line.trimmed();
        if (t.startsWith('['))
            break;
        const QString key = t.section('=', 0, 0).trimmed().toLower();
        if (t.contains('=') && (key == "timezone" || key == "default" || key == "default-layout"))
            continue;
        preamble << line;
    }
    return jsonOf(200, QJsonObject{{"target", q(target)},
                                   {"timezone", parsed->timezone},
                                   {"default", parsed->defaultPlaylist ? QJsonValue(*parsed->defaultPlaylist) : QJsonValue()},
                                   {"default_layout", parsed->defaultLayout ? QJsonValue(*parsed->defaultLayout) : QJsonValue()},
                                   {"preamble", preamble.join('\n').trimmed()},
                                   {"playlists", playlists},
                                   {"layouts", layouts},
                                   {"windows", windows},
                                   {"commands", commands}});
}

HttpResponse contentReport(Hub::Impl &impl, const HttpRequest &request, const Route &route, const Principal &who)
{
    switch (route.kind) {
    case Route::Kind::ApiMediaGet: return mediaBytes(impl, request, route);
    case Route::Kind::ApiMediaThumbnail: return mediaThumbnail(impl, request, route);
    case Route::Kind::ApiSchedulePreview: return preview(impl, request, route, who);
    case Route::Kind::ApiScheduleWeek: return week(impl, request, route);
    case Route::Kind::ApiPublication:
        return jsonOf(200, QJsonObject{{"version", static_cast<qint64>(impl.publisher->currentVersion())}});
    case Route::Kind::ApiPlaysReport: return playsReport(impl, request);
    case Route::Kind::ApiAudit: return auditLog(impl, request);
    default: return errorJson(404, "no such route: " + request.path);
    }
}

void recordAudit(Hub::Impl &impl, const std::string &who, const std::string &action, const std::string &target,
                 const std::string &detail)
{
    if (auto r = impl.storage->addAudit({0, Hub::Impl::nowMs(), who, action, target, detail}); !r)
        qCWarning(lcHub).noquote() << "audit log: cannot record" << action.c_str() << target.c_str() << "by" << who.c_str()
                                   << ":" << r.error().message.c_str();
}

} // namespace stoa::hub
