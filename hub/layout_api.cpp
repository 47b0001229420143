// hub/layout_api.cpp — one layout (v1.1 §12) or playlist of a stored
// schedule, by name (docs/hub-api.md, "Layouts"): list and read them, and
// the new schedule text a layout PUT or DELETE, or a playlist DELETE, makes.
// Invariants: the hub's content is the schedule text (publisher.h); these
// routes edit one section of it and hand the whole text to putSchedule(),
// whose parser holds the §12 rules (bounds, unique ids, every region's
// playlist defined), so a layout stored here is exactly one `stoa publish`
// would take; removing something an entry, the default or a layout region
// still names is refused with the names of those users (409), before any
// text is written.
#include "hub/hub_impl.h"
#include "hub/schedule_json.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QStringList>

#include <algorithm>

namespace stoa::hub {
namespace {

std::string label(const std::string &target) { return target == "fleet" ? "fleet.ini" : target + ".ini"; }

std::expected<publish::SourceSchedule, HttpResponse> parsedSchedule(const std::string &target, const std::string &text)
{
    auto parsed = publish::parseScheduleSource(QByteArrayView(text.data(), static_cast<qsizetype>(text.size())), q(label(target)));
    if (!parsed)
        return std::unexpected(errorJson(500, "the stored schedule does not parse: " + parsed.error().message.toStdString()));
    return std::move(*parsed);
}

// Who names `name`, in words; empty when nothing does.
QStringList usersOf(const publish::SourceSchedule &s, bool layout, const QString &name)
{
    QStringList users;
    for (const auto &w : s.windows)
        if ((layout ? w.layout : w.playlist) == name)
            users << QString("entry %1").arg(w.name);
    if ((layout ? s.defaultLayout : s.defaultPlaylist) == name)
        users << (layout ? QString("default-layout") : QString("default"));
    if (!layout)
        for (const auto &l : s.layouts)
            for (const auto &r : l.regions)
                if (r.playlist == name)
                    users << QString("layout %1 region %2").arg(l.name, r.id);
    return users;
}

} // namespace

HttpResponse layoutRead(Hub::Impl &impl, const Route &route)
{
    const auto text = impl.publisher->schedule(route.name);
    if (!text)
        return errorJson(404, "no schedule for " + route.name);
    auto parsed = parsedSchedule(route.name, *text);
    if (!parsed)
        return parsed.error();
    QJsonObject answer;
    if (route.kind == Route::Kind::ApiLayoutGet) {
        const auto it = std::find_if(parsed->layouts.begin(), parsed->layouts.end(),
                                     [&](const publish::SourceLayout &l) { return l.name == q(route.part); });
        if (it == parsed->layouts.end())
            return errorJson(404, "no layout " + route.part + " in the schedule of " + route.name);
        answer = layoutJson(*it);
        QJsonArray usedBy;
        for (const auto &u : usersOf(*parsed, true, it->name))
            usedBy.append(u);
        answer.insert("used_by", usedBy);
    } else {
        QJsonArray layouts;
        for (const auto &l : parsed->layouts)
            layouts.append(layoutJson(l));
        answer = QJsonObject{{"target", q(route.name)},
                             {"default_layout", parsed->defaultLayout ? QJsonValue(*parsed->defaultLayout) : QJsonValue()},
                             {"layouts", layouts}};
    }
    return jsonOf(200, answer);
}

std::expected<std::string, HttpResponse> editedSchedule(Hub::Impl &impl, const HttpRequest &request, const Route &route)
{
    const auto text = impl.publisher->schedule(route.name);
    if (!text)
        return std::unexpected(errorJson(404, "no schedule for " + route.name + ": publish one with its playlists first"));
    auto parsed = parsedSchedule(route.name, *text);
    if (!parsed)
        return std::unexpected(parsed.error());
    const QString name = q(route.part);
    const bool layout = route.kind != Route::Kind::ApiPlaylistDelete;
    const bool exists = layout ? std::any_of(parsed->layouts.begin(), parsed->layouts.end(),
                                             [&](const publish::SourceLayout &l) { return l.name == name; })
                               : std::any_of(parsed->playlists.begin(), parsed->playlists.end(),
                                             [&](const publish::SourcePlaylist &p) { return p.name == name; });
    QString section;
    if (route.kind == Route::Kind::ApiLayoutPut) {
        QJsonParseError error{};
        const auto doc = QJsonDocument::fromJson(QByteArray::fromStdString(request.body), &error);
        if (error.error != QJsonParseError::NoError || !doc.isObject())
            return std::unexpected(errorJson(400, "the body must be a JSON object {\"regions\": [...]}"));
        auto s = layoutSection(name, doc.object());
        if (!s)
            return std::unexpected(errorJson(400, "layout " + route.part + ": " + s.error()));
        section = *s;
    } else {
        const char *what = layout ? "layout" : "playlist";
        if (!exists)
            return std::unexpected(errorJson(404, std::string("no ") + what + " " + route.part + " in the schedule of " + route.name));
        if (const auto users = usersOf(*parsed, layout, name); !users.isEmpty())
            return std::unexpected(errorJson(409, std::string(what) + " " + route.part + " is used by "
                                                      + users.join(", ").toStdString() + ": change or remove "
                                                      + (users.size() == 1 ? "it" : "them") + " first"));
    }
    return withSection(q(*text), *parsed, layout ? "layout" : "playlist", name, section).toStdString();
}

} // namespace stoa::hub
