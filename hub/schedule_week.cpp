// hub/schedule_week.cpp — a week (1-14 days) of what a group or device
// plays, hour by hour in the schedule's time zone, for the console's
// calendar: computed by the devices' own schedule engine
// (schedule/engine.h) on the manifest the publisher would build.
// Invariant: the week view never re-implements the schedule rules: it asks
// resolveNowPlaying() at each instant the answer changes.
#include "hub/content_api.h"
#include "publish/publish.h"
#include "publish/schedule_source.h"
#include "schedule/engine.h"
#include "schedule/manifest_parse.h"

#include <QJsonArray>
#include <QJsonObject>
#include <QTimeZone>

#include <algorithm>
#include <set>
#include <vector>

namespace stoa::hub::content {
namespace {

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

} // namespace

HttpResponse scheduleWeek(Hub::Impl &impl, const HttpRequest &request, const Route &route)
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

} // namespace stoa::hub::content
