// publish/schedule_source_items.cpp — the lines of a [playlist] (items:
// FILE, URL, stream or text, then options; `sync =`) and of a [layout]
// (regions), schedule_source_impl.h. Invariants: an item has exactly one
// kind; web pages and streams carry a duration; crops and region
// rectangles pass schedule::rectProblem(); region ids are unique in their
// layout. Whether the playlists they name exist is finish()'s check.
#include "publish/schedule_source_impl.h"

#include "schedule/identifiers.h"
#include "schedule/payload_fields.h"
#include "publish/duration.h"

#include <limits>

namespace stoa::publish::source {

std::expected<void, QString> Parser::playlistItem(const QString &line)
{
    auto words = splitWords(line);
    if (!words) return std::unexpected(m_sectionLabel + QStringLiteral(": ") + words.error());
    SourceItem item;
    item.line = m_line;
    QString what = words->takeFirst();
    if (what.contains(u'=') && words->isEmpty() && !what.contains(u'/'))
        return std::unexpected(m_sectionLabel + QStringLiteral(": \"%1\": a playlist holds items (FILE [DURATION] [FIT]), not keys").arg(what));
    if (what == QLatin1String("text")) {
        if (words->isEmpty() || words->front().isEmpty())
            return std::unexpected(m_sectionLabel + QStringLiteral(": text needs the words to show, e.g. text \"Doors close at 22:00\" 10s"));
        item.text = schedule::TextItem{words->takeFirst(), false, schedule::Rgb{255, 255, 255}, std::nullopt};
        what = QStringLiteral("text \"%1\"").arg(item.text->text);
    } else if (what.startsWith(QLatin1String("rtsp://")) || what.startsWith(QLatin1String("rtsps://"))
               || schedule::isStreamUrl(what)) {
        if (!schedule::isStreamUrl(what))
            return std::unexpected(m_sectionLabel + QStringLiteral(": \"%1\" is not a valid rtsp:// URL").arg(what));
        item.stream = what;
    } else if (what.startsWith(QLatin1String("http://")) || what.startsWith(QLatin1String("https://"))) {
        if (!schedule::isWebPageUrl(what))
            return std::unexpected(m_sectionLabel + QStringLiteral(": \"%1\" is not a valid http(s) URL").arg(what));
        item.url = what;
    } else if (what.contains(QLatin1String("://"))) {
        return std::unexpected(m_sectionLabel + QStringLiteral(": \"%1\": only http:// and https:// URLs (web pages, HLS streams) "
                                                               "and rtsp:// streams can be shown").arg(what));
    } else {
        item.file = what;
    }
    for (const QString &word : *words)
        if (auto ok = itemOption(item, what, word); !ok) return std::unexpected(m_sectionLabel + QStringLiteral(": ") + ok.error());
    if (!item.url.isEmpty() && !item.durationMs)
        return std::unexpected(m_sectionLabel + QStringLiteral(": web page \"%1\" needs a duration, e.g. \"%1 15s\"").arg(what));
    if (!item.stream.isEmpty() && !item.durationMs)
        return std::unexpected(m_sectionLabel + QStringLiteral(": live stream \"%1\" needs a duration, e.g. \"%1 30s\"").arg(what));
    m_out.playlists.back().items.push_back(std::move(item));
    return {};
}

// One word after an item's first: a duration, a fit, `crop=X,Y,W,H`, or for
// text items `scroll`, `color=#rrggbb`, `background=#rrggbb`.
std::expected<void, QString> Parser::itemOption(SourceItem &item, const QString &what, const QString &word)
{
    QString w = word.toLower();
    if (w.startsWith(QLatin1String("fit="))) w = w.mid(4);
    const bool text = item.text.has_value();
    const auto textOnly = [&]() -> std::expected<void, QString> {
        if (text) return {};
        return std::unexpected(QStringLiteral("\"%1\": \"%2\" applies to text items only").arg(what, word));
    };
    if (w == QLatin1String("contain") || w == QLatin1String("cover") || w == QLatin1String("stretch")) {
        if (text) return std::unexpected(QStringLiteral("%1: a fit applies to pictures, not to text").arg(what));
        if (item.fit) return std::unexpected(QStringLiteral("\"%1\": fit given twice").arg(what));
        item.fit = w == QLatin1String("contain") ? schedule::Fit::Contain
                 : w == QLatin1String("cover")   ? schedule::Fit::Cover
                                                 : schedule::Fit::Stretch;
    } else if (const auto ms = parseDuration(w)) {
        if (item.durationMs) return std::unexpected(QStringLiteral("\"%1\": duration given twice").arg(what));
        item.durationMs = *ms;
    } else if (w == QLatin1String("scroll")) {
        if (auto ok = textOnly(); !ok) return ok;
        item.text->scroll = true;
    } else if (w.startsWith(QLatin1String("color=")) || w.startsWith(QLatin1String("background="))) {
        if (auto ok = textOnly(); !ok) return ok;
        const QString value = word.mid(word.indexOf(u'=') + 1);
        const auto colour = schedule::parseRgb(value);
        if (!colour)
            return std::unexpected(QStringLiteral("%1: \"%2\": expected a colour #rrggbb, e.g. #ffcc00").arg(what, word));
        if (w.startsWith(QLatin1String("color="))) item.text->color = *colour;
        else item.text->background = *colour;
    } else if (w.startsWith(QLatin1String("crop="))) {
        if (text) return std::unexpected(QStringLiteral("%1: crop applies to pictures, not to text").arg(what));
        const auto rect = parseRectWords(w.mid(5).split(u','));
        if (!rect)
            return std::unexpected(QStringLiteral("\"%1\": \"%2\": expected crop=X,Y,W,H in fractions (or %), e.g. crop=0.5,0,0.5,0.5").arg(what, word));
        if (const auto problem = schedule::rectProblem(*rect))
            return std::unexpected(QStringLiteral("\"%1\": \"%2\": %3").arg(what, word, *problem));
        item.crop = *rect;
    } else {
        return std::unexpected(QStringLiteral("\"%1\" after \"%2\" is neither a duration (8s, 1500ms, 1m30s) "
                                              "nor a fit (contain, cover, stretch)%3").arg(word, what,
                                              text ? QStringLiteral(", scroll, color=#rrggbb or background=#rrggbb")
                                                   : QStringLiteral(" or crop=X,Y,W,H")));
    }
    return {};
}

std::expected<void, QString> Parser::playlistSync(const QString &value)
{
    SourcePlaylist &p = m_out.playlists.back();
    if (p.sync) return std::unexpected(m_sectionLabel + QStringLiteral(": sync is set twice"));
    const auto epoch = schedule::parseRfc3339(value);
    if (!epoch)
        return std::unexpected(m_sectionLabel + QStringLiteral(": sync = \"%1\": expected the epoch as an RFC 3339 time, "
                                                               "e.g. 2026-11-01T00:00:00Z").arg(value));
    p.sync = *epoch;
    return {};
}

// "ID PLAYLIST X Y W H [z=N]".
std::expected<void, QString> Parser::layoutRegion(const QString &line)
{
    const QString where = m_sectionLabel + QStringLiteral(": ");
    auto words = splitWords(line);
    if (!words) return std::unexpected(where + words.error());
    const QString usage = QStringLiteral("a region is ID PLAYLIST X Y W H [z=N] (fractions of the screen, or %), "
                                         "e.g. ticker news 0 0.9 1 0.1 z=1");
    if (words->size() != 6 && words->size() != 7) return std::unexpected(where + QStringLiteral("\"%1\": ").arg(line) + usage);
    SourceRegion region;
    region.id = words->at(0);
    region.playlist = words->at(1);
    region.line = m_line;
    const auto rect = parseRectWords(words->mid(2, 4));
    if (!rect) return std::unexpected(where + QStringLiteral("region \"%1\": X Y W H must be numbers; ").arg(region.id) + usage);
    if (const auto problem = schedule::rectProblem(*rect))
        return std::unexpected(where + QStringLiteral("region \"%1\": %2").arg(region.id, *problem));
    region.rect = *rect;
    if (words->size() == 7) {
        const QString z = words->at(6);
        const auto n = z.startsWith(QLatin1String("z=")) ? parseInteger(z.mid(2)) : std::nullopt;
        if (!n || *n < std::numeric_limits<int>::min() || *n > std::numeric_limits<int>::max())
            return std::unexpected(where + QStringLiteral("region \"%1\": \"%2\": expected z=N, a whole number (higher on top)").arg(region.id, z));
        region.z = static_cast<int>(*n);
    }
    SourceLayout &layout = m_out.layouts.back();
    const auto dup = std::find_if(layout.regions.begin(), layout.regions.end(),
                                  [&](const SourceRegion &r) { return r.id == region.id; });
    if (dup != layout.regions.end())
        return std::unexpected(where + QStringLiteral("region \"%1\" is already defined on line %2").arg(region.id).arg(dup->line));
    layout.regions.push_back(std::move(region));
    return {};
}

} // namespace stoa::publish::source
