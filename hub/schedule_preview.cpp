// hub/schedule_preview.cpp — a schedule as the console's editor sees it:
// what a change would do before it is made (the entries, assets, playlists
// and layouts that come and go, and the devices that would play it), and a
// stored schedule's text as JSON (scheduleAsJson(), hub_impl.h).
// Invariant: a preview parses and checks a schedule exactly as putSchedule
// does (publish/schedule_source.h, every medium in the library by its
// stored digest), so a preview that passes is a change that publishes.
#include "hub/content_api.h"
#include "hub/schedule_json.h"
#include "publish/publish.h"
#include "publish/schedule_source.h"
#include "schedule/payload_fields.h"

#include <QJsonArray>
#include <QJsonObject>

#include <map>
#include <set>

namespace stoa::hub {
namespace content {
namespace {

QJsonValue optDate(const std::optional<QDate> &d) { return d ? QJsonValue(d->toString(Qt::ISODate)) : QJsonValue(); }

// A window as one comparable line: a preview lists the lines that come and go.
QString windowLine(const publish::SourceWindow &w)
{
    QStringList days;
    for (const auto d : w.days)
        days << weekdayName(d);
    const QString time = !w.fromMinute && !w.untilMinute ? QString("all day")
                                                         : QString("%1-%2").arg(w.fromMinute ? schedule::timeOfDayText(*w.fromMinute) : QString("00:00"),
                                                                                w.untilMinute ? schedule::timeOfDayText(*w.untilMinute) : QString("24:00"));
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

} // namespace

HttpResponse schedulePreview(Hub::Impl &impl, const HttpRequest &request, const Route &route, const Principal &who)
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

} // namespace content

using namespace content;

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
                                   {"from", w.fromMinute ? QJsonValue(schedule::timeOfDayText(*w.fromMinute)) : QJsonValue()},
                                   {"until", w.untilMinute ? QJsonValue(schedule::timeOfDayText(*w.untilMinute)) : QJsonValue()},
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

} // namespace stoa::hub
