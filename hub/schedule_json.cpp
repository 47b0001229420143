// hub/schedule_json.cpp — a schedule's items and layouts as JSON, and the
// section edits of the layout and playlist routes (schedule_json.h).
// Invariant: numbers go into the text with 12 significant digits, which the
// schedule parser reads back as the same fractions to well below a pixel.
#include "hub/schedule_json.h"

#include "schedule/identifiers.h"
#include "schedule/payload_fields.h"

#include <QJsonArray>
#include <QStringList>

#include <cmath>
#include <set>

namespace stoa::hub {
namespace {

QJsonValue orNull(const QString &s) { return s.isEmpty() ? QJsonValue() : QJsonValue(s); }

QJsonObject rectJson(const schedule::FractionRect &r)
{
    return QJsonObject{{"x", r.x}, {"y", r.y}, {"w", r.w}, {"h", r.h}};
}

QString number(double v) { return QString::number(v, 'g', 12); }

} // namespace

const char *fitName(schedule::Fit fit)
{
    switch (fit) {
    case schedule::Fit::Cover: return "cover";
    case schedule::Fit::Stretch: return "stretch";
    case schedule::Fit::Contain: break;
    }
    return "contain";
}

QJsonObject itemJson(const publish::SourceItem &i)
{
    QJsonObject o{{"file", orNull(i.file)},
                  {"url", orNull(i.url)},
                  {"stream", orNull(i.stream)},
                  {"text", i.text ? QJsonValue(i.text->text) : QJsonValue()},
                  {"duration_ms", i.durationMs ? QJsonValue(static_cast<qint64>(*i.durationMs)) : QJsonValue()},
                  {"fit", i.fit ? QJsonValue(fitName(*i.fit)) : QJsonValue()},
                  {"crop", i.crop ? QJsonValue(rectJson(*i.crop)) : QJsonValue()}};
    if (i.text) {
        o.insert("scroll", i.text->scroll);
        o.insert("color", schedule::rgbText(i.text->color));
        o.insert("background", i.text->background ? QJsonValue(schedule::rgbText(*i.text->background)) : QJsonValue());
    }
    return o;
}

QJsonObject layoutJson(const publish::SourceLayout &layout)
{
    QJsonArray regions;
    for (const auto &r : layout.regions) {
        QJsonObject o = rectJson(r.rect);
        o.insert("id", r.id);
        o.insert("playlist", r.playlist);
        o.insert("z", r.z);
        regions.append(o);
    }
    return QJsonObject{{"name", layout.name}, {"regions", regions}};
}

std::expected<QString, std::string> layoutSection(const QString &name, const QJsonObject &body)
{
    const QJsonValue regions = body.value("regions");
    if (!regions.isArray())
        return std::unexpected(std::string("the body must be {\"regions\": [{\"id\", \"playlist\", \"x\", \"y\", \"w\", \"h\", \"z\"}, …]}"));
    if (regions.toArray().isEmpty())
        return std::unexpected("layout " + name.toStdString() + " has no regions: give it at least one");
    QString out = QString("[layout %1]\n").arg(name);
    int index = 0;
    for (const QJsonValue v : regions.toArray()) {
        ++index;
        const QJsonObject r = v.toObject();
        const std::string label = "region " + std::to_string(index)
                                  + (r.value("id").isString() ? " (\"" + r.value("id").toString().toStdString() + "\")" : std::string());
        if (!v.isObject())
            return std::unexpected(label + ": must be an object");
        for (const char *key : {"id", "playlist"})
            if (!r.value(key).isString() || !schedule::isDeviceId(r.value(key).toString().toStdString()))
                return std::unexpected(label + ": \"" + key + "\" must be a name of 1-64 characters of [A-Za-z0-9._-]");
        QStringList rect;
        for (const char *key : {"x", "y", "w", "h"}) {
            if (!r.value(key).isDouble() || !std::isfinite(r.value(key).toDouble()))
                return std::unexpected(label + ": \"" + key + "\" must be a number, a fraction of the screen");
            rect << number(r.value(key).toDouble());
        }
        QString line = r.value("id").toString() + " " + r.value("playlist").toString() + " " + rect.join(' ');
        if (r.contains("z") && !r.value("z").isNull()) {
            const double z = r.value("z").toDouble(0.5);
            if (!r.value("z").isDouble() || z != std::floor(z) || std::abs(z) > 1e6)
                return std::unexpected(label + ": \"z\" must be a whole number (higher on top)");
            line += QString(" z=%1").arg(static_cast<qint64>(z));
        }
        out += line + "\n";
    }
    return out;
}

QString withSection(const QString &text, const publish::SourceSchedule &parsed, const QString &kind, const QString &name,
                    const QString &section)
{
    int ours = 0; // our header's line, 1-based
    for (const auto &p : parsed.playlists)
        if (kind == "playlist" && p.name == name)
            ours = p.line;
    for (const auto &l : parsed.layouts)
        if (kind == "layout" && l.name == name)
            ours = l.line;
    // Every "[" line is a section header (the parser allows nothing else),
    // so the next one after ours ends it.
    QStringList lines = text.split('\n');
    std::set<int> headers;
    for (int i = 0; i < lines.size(); ++i)
        if (lines[i].trimmed().startsWith('['))
            headers.insert(i + 1);
    if (!ours) {
        QString out = text;
        if (section.isEmpty())
            return out;
        if (!out.isEmpty() && !out.endsWith('\n'))
            out += '\n';
        return out + "\n" + section;
    }
    const auto next = headers.upper_bound(ours);
    const int end = next == headers.end() ? static_cast<int>(lines.size()) + 1 : *next; // 1-based, exclusive
    QStringList replaced = lines.mid(0, ours - 1);
    if (!section.isEmpty()) {
        QStringList sec = section.split('\n');
        if (sec.last().isEmpty())
            sec.removeLast();
        replaced << sec;
        if (end <= lines.size())
            replaced << QString(); // a blank line before the next section
    }
    replaced << lines.mid(end - 1);
    QString out = replaced.join('\n');
    if (!out.endsWith('\n'))
        out += '\n';
    return out;
}

} // namespace stoa::hub
