// publish/schedule_source.cpp — see schedule_source.h. A small hand-written
// line parser: every message can then name its line, which a JSON or Qt
// settings parser would not give us.
#include "publish/schedule_source.h"

#include "schedule/identifiers.h"

#include "schedule/payload_fields.h"
#include "publish/duration.h"
#include "publish/media_type.h"

#include <QLoggingCategory>
#include <QRegularExpression>
#include <QSet>
#include <QStringList>
#include <QTimeZone>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

Q_LOGGING_CATEGORY(lcSource, "stoa.publish.source")

namespace stoa::publish {

using schedule::Weekday;

namespace {

// Drops a comment: '#' or ';' at the start or after whitespace, outside quotes
// (so "https://x/#top" and "a;b" survive).
QString stripComment(const QString &line)
{
    bool quoted = false;
    for (qsizetype i = 0; i < line.size(); ++i) {
        const QChar c = line[i];
        if (c == u'"') quoted = !quoted;
        else if (!quoted && (c == u'#' || c == u';') && (i == 0 || line[i - 1].isSpace()))
            return line.left(i);
    }
    return line;
}

// Whitespace-separated words; "double quoted" words may hold spaces.
std::expected<QStringList, QString> splitWords(const QString &text)
{
    QStringList words;
    QString current;
    bool quoted = false, inWord = false;
    for (const QChar c : text) {
        if (c == u'"') {
            quoted = !quoted;
            inWord = true;
        } else if (c.isSpace() && !quoted) {
            if (inWord) words << current;
            current.clear();
            inWord = false;
        } else {
            current += c;
            inWord = true;
        }
    }
    if (quoted) return std::unexpected(QStringLiteral("unterminated \"quote\""));
    if (inWord) words << current;
    return words;
}

std::optional<Weekday> dayFromWord(const QString &word)
{
    static const std::array<const char *, 7> kFull{"monday", "tuesday", "wednesday", "thursday",
                                                   "friday", "saturday", "sunday"};
    const QString w = word.toLower();
    for (std::size_t i = 0; i < kFull.size(); ++i)
        if (w.size() >= 3 && QLatin1String(kFull[i]).startsWith(w)) return static_cast<Weekday>(i + 1);
    return std::nullopt;
}

// "mon-fri", "mon,wed,fri", "weekdays", "weekends", "daily", "sat sun", "fri-mon".
std::expected<std::vector<Weekday>, QString> parseDays(const QString &value)
{
    const QString v = value.toLower().trimmed();
    if (v == QLatin1String("daily") || v == QLatin1String("every day") || v == QLatin1String("all"))
        return std::vector<Weekday>{};
    bool seen[8] = {};
    const QStringList parts = v.split(QRegularExpression(QStringLiteral("[,\\s]+")), Qt::SkipEmptyParts);
    if (parts.isEmpty()) return std::unexpected(QStringLiteral("is empty"));
    for (const QString &part : parts) {
        if (part == QLatin1String("weekdays")) {
            for (int d = 1; d <= 5; ++d) seen[d] = true;
            continue;
        }
        if (part == QLatin1String("weekends") || part == QLatin1String("weekend")) {
            seen[6] = seen[7] = true;
            continue;
        }
        const QStringList range = part.split(u'-');
        if (range.size() > 2) return std::unexpected(QStringLiteral("\"%1\" is not a day or a range like mon-fri").arg(part));
        const auto first = dayFromWord(range.front());
        const auto last = dayFromWord(range.back());
        if (!first || !last)
            return std::unexpected(QStringLiteral("\"%1\" is not a day (mon, tue, wed, thu, fri, sat, sun, "
                                                  "weekdays, weekends, daily or a range like mon-fri)").arg(part));
        for (int d = static_cast<int>(*first);; d = d % 7 + 1) { // ranges may wrap: fri-mon
            seen[d] = true;
            if (d == static_cast<int>(*last)) break;
        }
    }
    std::vector<Weekday> days;
    for (int d = 1; d <= 7; ++d)
        if (seen[d]) days.push_back(static_cast<Weekday>(d));
    if (days.size() == 7) days.clear(); // every day: write no `days`
    return days;
}

// "06:00-10:30" (also "22:00 - 02:00") -> (from, until) minutes.
std::optional<std::pair<int, int>> parseTimeRange(const QString &value)
{
    const QStringList parts = QString(value).remove(u' ').split(u'-');
    if (parts.size() != 2) return std::nullopt;
    const auto from = schedule::parseTimeOfDay(parts[0]);
    const auto until = schedule::parseTimeOfDay(parts[1]);
    if (!from || !until) return std::nullopt;
    return std::pair{*from, *until};
}

std::optional<std::int64_t> parseInteger(const QString &value)
{
    bool ok = false;
    const qlonglong n = value.trimmed().toLongLong(&ok);
    if (!ok) return std::nullopt;
    return n;
}

// "0.75" or "75%": a fraction of the screen or picture (bounds are
// rectProblem()'s business).
std::optional<double> parseFraction(const QString &value)
{
    const bool percent = value.endsWith(u'%');
    bool ok = false;
    const double v = (percent ? value.chopped(1) : value).toDouble(&ok);
    if (!ok || !std::isfinite(v)) return std::nullopt;
    return percent ? v / 100 : v;
}

// "X,Y,W,H" (`crop=`), each a fraction.
std::optional<schedule::FractionRect> parseRectWords(const QStringList &parts)
{
    if (parts.size() != 4) return std::nullopt;
    std::array<double, 4> v{};
    for (std::size_t i = 0; i < v.size(); ++i) {
        const auto f = parseFraction(parts[static_cast<qsizetype>(i)]);
        if (!f) return std::nullopt;
        v[i] = *f;
    }
    return schedule::FractionRect{v[0], v[1], v[2], v[3]};
}

// Accumulates the parse; each handler returns an error text without the
// "<file>:<line>: " prefix, which fail() adds.
class Parser {
public:
    explicit Parser(const QString &fileName) { m_out.fileName = fileName; }

    std::expected<SourceSchedule, Error> run(QByteArrayView text);

private:
    enum class Section { Global, Playlist, Layout, Window, Command };

    std::expected<void, QString> sectionHeader(const QString &line);
    std::expected<void, QString> keyValue(const QString &key, const QString &value);
    std::expected<void, QString> globalKey(const QString &key, const QString &value);
    std::expected<void, QString> windowKey(const QString &key, const QString &value);
    std::expected<void, QString> commandKey(const QString &key, const QString &value);
    std::expected<void, QString> playlistItem(const QString &line);
    std::expected<void, QString> playlistSync(const QString &value);
    std::expected<void, QString> itemOption(SourceItem &item, const QString &what, const QString &word);
    std::expected<void, QString> layoutRegion(const QString &line);
    std::expected<void, QString> resolveWindow(SourceWindow &w);
    bool hasPlaylist(const QString &name) const
    {
        return std::any_of(m_out.playlists.begin(), m_out.playlists.end(), [&](const SourcePlaylist &p) { return p.name == name; });
    }
    bool hasLayout(const QString &name) const
    {
        return std::any_of(m_out.layouts.begin(), m_out.layouts.end(), [&](const SourceLayout &l) { return l.name == name; });
    }
    std::expected<void, QString> finish();

    Error fail(int line, const QString &message) const
    {
        return invalid(line > 0 ? QStringLiteral("%1:%2: %3").arg(m_out.fileName).arg(line).arg(message)
                                : QStringLiteral("%1: %2").arg(m_out.fileName, message));
    }

    SourceSchedule m_out;
    Section m_section = Section::Global;
    QString m_sectionLabel;   // "[window breakfast]", for messages
    QSet<QString> m_keysSeen; // keys of the current section, to refuse repeats
    int m_line = 0;
    int m_errorLine = 0;      // line an error belongs to, when not m_line (finish())
    int m_defaultLine = 0;    // where `default =` was set
    int m_defaultLayoutLine = 0; // where `default-layout =` was set
    std::vector<int> m_commandLines; // where each [command] began
};

std::expected<SourceSchedule, Error> Parser::run(QByteArrayView text)
{
    const QString all = QString::fromUtf8(text);
    const QStringList lines = all.split(u'\n');
    for (const QString &raw : lines) {
        ++m_line;
        const QString line = stripComment(raw).trimmed();
        if (line.isEmpty()) continue;
        std::expected<void, QString> ok;
        static const QRegularExpression syncKey(QStringLiteral("^sync\\s*=\\s*(.*)$"), QRegularExpression::CaseInsensitiveOption);
        if (line.startsWith(u'[')) {
            ok = sectionHeader(line);
        } else if (const auto sync = syncKey.match(line); m_section == Section::Playlist && sync.hasMatch()) {
            ok = playlistSync(sync.captured(1).trimmed());
        } else if (m_section == Section::Playlist) {
            ok = playlistItem(line);
        } else if (m_section == Section::Layout) {
            ok = layoutRegion(line);
        } else {
            const qsizetype eq = line.indexOf(u'=');
            if (eq <= 0) {
                ok = std::unexpected(m_section == Section::Global
                    ? QStringLiteral("expected \"key = value\" or a [section], got \"%1\"").arg(line)
                    : QStringLiteral("%1: expected \"key = value\", got \"%2\"").arg(m_sectionLabel, line));
            } else {
                ok = keyValue(line.left(eq).trimmed().toLower(), line.mid(eq + 1).trimmed());
            }
        }
        if (!ok) return std::unexpected(fail(m_line, ok.error()));
    }
    m_line = 0;
    if (auto ok = finish(); !ok) return std::unexpected(fail(m_errorLine, ok.error()));
    qCDebug(lcSource) << "parsed" << m_out.fileName << m_out.playlists.size() << "playlists"
                      << m_out.layouts.size() << "layouts" << m_out.windows.size() << "windows";
    return std::move(m_out);
}

std::expected<void, QString> Parser::sectionHeader(const QString &line)
{
    if (!line.endsWith(u']')) return std::unexpected(QStringLiteral("section header \"%1\" lacks a closing ]").arg(line));
    const QStringList words = line.mid(1, line.size() - 2).simplified().split(u' ');
    const QString kind = words.value(0).toLower();
    if (words.size() != 2)
        return std::unexpected(QStringLiteral("section header \"%1\" must be [playlist NAME], [layout NAME], [window NAME] or [command ID]").arg(line));
    const QString name = words[1];
    m_sectionLabel = QStringLiteral("[%1 %2]").arg(kind, name);
    m_keysSeen.clear();
    if (kind == QLatin1String("playlist")) {
        const auto dup = std::find_if(m_out.playlists.begin(), m_out.playlists.end(),
                                      [&](const SourcePlaylist &p) { return p.name == name; });
        if (dup != m_out.playlists.end())
            return std::unexpected(QStringLiteral("playlist \"%1\" is already defined on line %2").arg(name).arg(dup->line));
        m_section = Section::Playlist;
        m_out.playlists.push_back(SourcePlaylist{name, {}, std::nullopt, m_line});
    } else if (kind == QLatin1String("layout")) {
        const auto dup = std::find_if(m_out.layouts.begin(), m_out.layouts.end(),
                                      [&](const SourceLayout &l) { return l.name == name; });
        if (dup != m_out.layouts.end())
            return std::unexpected(QStringLiteral("layout \"%1\" is already defined on line %2").arg(name).arg(dup->line));
        m_section = Section::Layout;
        m_out.layouts.push_back(SourceLayout{name, {}, m_line});
    } else if (kind == QLatin1String("window") || kind == QLatin1String("schedule")) {
        const auto dup = std::find_if(m_out.windows.begin(), m_out.windows.end(),
                                      [&](const SourceWindow &w) { return w.name == name; });
        if (dup != m_out.windows.end())
            return std::unexpected(QStringLiteral("window \"%1\" is already defined on line %2").arg(name).arg(dup->line));
        m_section = Section::Window;
        SourceWindow w;
        w.name = name;
        w.line = m_line;
        m_out.windows.push_back(std::move(w));
    } else if (kind == QLatin1String("command")) {
        const auto dup = std::find_if(m_out.commands.begin(), m_out.commands.end(),
                                      [&](const schedule::Command &c) { return c.id == name.toStdString(); });
        if (dup != m_out.commands.end())
            return std::unexpected(QStringLiteral("command id \"%1\" is used twice").arg(name));
        m_section = Section::Command;
        m_out.commands.push_back(schedule::Command{name.toStdString(), {}});
        m_commandLines.push_back(m_line);
    } else {
        return std::unexpected(QStringLiteral("unknown section kind \"%1\" (use playlist, layout, window or command)").arg(words.value(0)));
    }
    return {};
}

std::expected<void, QString> Parser::keyValue(const QString &key, const QString &value)
{
    if (m_keysSeen.contains(key))
        return std::unexpected(QStringLiteral("%1key \"%2\" is set twice")
                                   .arg(m_section == Section::Global ? QString() : m_sectionLabel + QLatin1String(": "), key));
    m_keysSeen.insert(key);
    if (value.isEmpty()) return std::unexpected(QStringLiteral("key \"%1\" has no value").arg(key));
    switch (m_section) {
    case Section::Global: return globalKey(key, value);
    case Section::Window: return windowKey(key, value);
    case Section::Command: return commandKey(key, value);
    case Section::Playlist:
    case Section::Layout: break;
    }
    return std::unexpected(QStringLiteral("internal: key in a playlist or layout"));
}

std::expected<void, QString> Parser::globalKey(const QString &key, const QString &value)
{
    auto seconds = [&](int minimum) -> std::expected<int, QString> {
        const auto ms = parseDuration(value);
        if (!ms || *ms % 1000 != 0 || *ms / 1000 < minimum || *ms / 1000 > 604800)
            return std::unexpected(QStringLiteral("%1 = \"%2\": expected whole seconds between %3s and 7d, e.g. 5m")
                                       .arg(key, value).arg(minimum));
        return static_cast<int>(*ms / 1000);
    };
    if (key == QLatin1String("timezone")) {
        if (!schedule::isIanaTimeZone(value.toUtf8()))
            return std::unexpected(QStringLiteral("timezone = \"%1\": not an IANA time zone known here (e.g. Europe/Oslo, UTC)").arg(value));
        m_out.timezone = value;
    } else if (key == QLatin1String("devices")) {
        const QStringList ids = value.split(QRegularExpression(QStringLiteral("[,\\s]+")), Qt::SkipEmptyParts);
        for (const QString &id : ids) {
            if (id != QLatin1String("*") && !isValidDeviceId(id))
                return std::unexpected(QStringLiteral("devices: \"%1\" is not a device id (1-64 of A-Z a-z 0-9 . _ -) or *").arg(id));
            m_out.devices.push_back(id);
        }
    } else if (key == QLatin1String("default")) {
        m_out.defaultPlaylist = value;
        m_defaultLine = m_line;
    } else if (key == QLatin1String("default-layout")) {
        m_out.defaultLayout = value;
        m_defaultLayoutLine = m_line;
    } else if (key == QLatin1String("display")) {
        const auto range = parseTimeRange(value);
        if (!range) return std::unexpected(QStringLiteral("display = \"%1\": expected ON-OFF times, e.g. 07:00-22:00").arg(value));
        m_out.display = schedule::DisplayWindow{range->first, range->second};
    } else if (key == QLatin1String("image-duration")) {
        const auto ms = parseDuration(value);
        if (!ms) return std::unexpected(QStringLiteral("image-duration = \"%1\": expected a duration, e.g. 8s").arg(value));
        m_out.imageDurationMs = *ms;
    } else if (key == QLatin1String("sync-interval")) {
        auto s = seconds(5);
        if (!s) return std::unexpected(s.error());
        m_out.settings.syncIntervalS = *s;
    } else if (key == QLatin1String("status-interval")) {
        auto s = seconds(10);
        if (!s) return std::unexpected(s.error());
        m_out.settings.statusIntervalS = *s;
    } else if (key == QLatin1String("rotation")) {
        const auto r = parseInteger(value);
        if (!r || (*r != 0 && *r != 90 && *r != 180 && *r != 270))
            return std::unexpected(QStringLiteral("rotation = \"%1\": must be 0, 90, 180 or 270").arg(value));
        m_out.settings.rotation = static_cast<int>(*r);
    } else {
        return std::unexpected(QStringLiteral("unknown key \"%1\" (before any section: timezone, devices, default, default-layout, "
                                              "display, image-duration, sync-interval, status-interval, rotation)").arg(key));
    }
    return {};
}

std::expected<void, QString> Parser::windowKey(const QString &key, const QString &value)
{
    SourceWindow &w = m_out.windows.back();
    const QString where = m_sectionLabel + QLatin1String(": ");
    if (key == QLatin1String("playlist") || key == QLatin1String("layout")) {
        if (m_keysSeen.contains(QStringLiteral("playlist")) && m_keysSeen.contains(QStringLiteral("layout")))
            return std::unexpected(where + QStringLiteral("a window plays either a playlist or a layout, not both"));
        (key == QLatin1String("playlist") ? w.playlist : w.layout) = value;
    } else if (key == QLatin1String("days")) {
        auto days = parseDays(value);
        if (!days) return std::unexpected(where + QStringLiteral("days = \"%1\": %2").arg(value, days.error()));
        w.days = std::move(*days);
    } else if (key == QLatin1String("time")) {
        if (m_keysSeen.contains(QStringLiteral("from")) || m_keysSeen.contains(QStringLiteral("until")))
            return std::unexpected(where + QStringLiteral("use either \"time\" or \"from\"/\"until\", not both"));
        const auto range = parseTimeRange(value);
        if (!range) return std::unexpected(where + QStringLiteral("time = \"%1\": expected FROM-UNTIL, e.g. 06:00-10:30").arg(value));
        w.fromMinute = range->first;
        w.untilMinute = range->second;
    } else if (key == QLatin1String("from") || key == QLatin1String("until")) {
        if (m_keysSeen.contains(QStringLiteral("time")))
            return std::unexpected(where + QStringLiteral("use either \"time\" or \"from\"/\"until\", not both"));
        const auto t = schedule::parseTimeOfDay(value);
        if (!t) return std::unexpected(where + QStringLiteral("%1 = \"%2\": expected HH:MM (00:00-23:59)").arg(key, value));
        (key == QLatin1String("from") ? w.fromMinute : w.untilMinute) = *t;
    } else if (key == QLatin1String("priority")) {
        const auto p = parseInteger(value);
        if (!p || *p < std::numeric_limits<int>::min() || *p > std::numeric_limits<int>::max())
            return std::unexpected(where + QStringLiteral("priority = \"%1\": expected a whole number").arg(value));
        w.priority = static_cast<int>(*p);
    } else if (key == QLatin1String("dates")) {
        const qsizetype dots = value.indexOf(QLatin1String(".."));
        if (dots < 0) return std::unexpected(where + QStringLiteral("dates = \"%1\": expected FIRST..LAST, e.g. 2026-11-01..2026-12-31 (either side may be empty)").arg(value));
        const QString first = value.left(dots).trimmed(), last = value.mid(dots + 2).trimmed();
        if (!first.isEmpty()) {
            w.startDate = schedule::parseIsoDate(first);
            if (!w.startDate) return std::unexpected(where + QStringLiteral("dates: \"%1\" is not a date YYYY-MM-DD").arg(first));
        }
        if (!last.isEmpty()) {
            w.endDate = schedule::parseIsoDate(last);
            if (!w.endDate) return std::unexpected(where + QStringLiteral("dates: \"%1\" is not a date YYYY-MM-DD").arg(last));
        }
        if (w.startDate && w.endDate && *w.endDate < *w.startDate)
            return std::unexpected(where + QStringLiteral("dates = \"%1\": the last date is before the first").arg(value));
    } else {
        return std::unexpected(where + QStringLiteral("unknown key \"%1\" (known: playlist, layout, days, time, from, until, priority, dates)").arg(key));
    }
    return {};
}

std::expected<void, QString> Parser::commandKey(const QString &key, const QString &value)
{
    if (key != QLatin1String("type"))
        return std::unexpected(m_sectionLabel + QStringLiteral(": unknown key \"%1\" (known: type)").arg(key));
    if (schedule::commandType(value.toStdString()) == schedule::CommandType::Unknown) {
        QStringList known;
        for (const auto &[text, type] : schedule::kCommandTypes)
            known << QString::fromUtf8(text.data(), qsizetype(text.size()));
        return std::unexpected(m_sectionLabel + QStringLiteral(": type = \"%1\": not a v1 command (%2)")
                                                    .arg(value, known.join(QStringLiteral(", "))));
    }
    m_out.commands.back().type = value.toStdString();
    return {};
}

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

// A window names its content explicitly, or by its own name: the playlist,
// else the layout, called like it.
std::expected<void, QString> Parser::resolveWindow(SourceWindow &w)
{
    if (w.playlist.isEmpty() && w.layout.isEmpty()) {
        if (hasPlaylist(w.name) && hasLayout(w.name))
            return std::unexpected(QStringLiteral("[window %1]: a playlist and a layout are both called \"%1\"; "
                                                  "say which with \"playlist =\" or \"layout =\"").arg(w.name));
        (hasLayout(w.name) ? w.layout : w.playlist) = w.name;
    }
    if (!w.layout.isEmpty() && !hasLayout(w.layout))
        return std::unexpected(QStringLiteral("[window %1]: layout \"%2\" is not defined").arg(w.name, w.layout));
    if (!w.playlist.isEmpty() && !hasPlaylist(w.playlist))
        return std::unexpected(QStringLiteral("[window %1]: playlist \"%2\" is not defined").arg(w.name, w.playlist));
    return {};
}

std::expected<void, QString> Parser::finish()
{
    if (m_out.timezone.isEmpty())
        return std::unexpected(QStringLiteral("\"timezone = ...\" is missing (an IANA name such as Europe/Oslo, before any section)"));
    for (const SourcePlaylist &p : m_out.playlists) {
        if (p.items.empty()) {
            m_errorLine = p.line;
            return std::unexpected(QStringLiteral("[playlist %1] has no items").arg(p.name));
        }
        if (!p.sync) continue;
        // Images and texts get `image-duration` written out; anything else
        // would reach devices without the duration §13 requires.
        for (const SourceItem &item : p.items) {
            const auto type = item.file.isEmpty() ? std::nullopt : mediaTypeForFile(item.file);
            if (item.durationMs || item.text || (type && type->kind == MediaKind::Image)) continue;
            m_errorLine = item.line;
            return std::unexpected(QStringLiteral("[playlist %1]: \"%2\" needs a duration: the playlist is synchronised (sync = ...)")
                                       .arg(p.name, item.file));
        }
    }
    for (const SourceLayout &l : m_out.layouts) {
        if (l.regions.empty()) {
            m_errorLine = l.line;
            return std::unexpected(QStringLiteral("[layout %1] has no regions").arg(l.name));
        }
        for (const SourceRegion &r : l.regions) {
            if (hasPlaylist(r.playlist)) continue;
            m_errorLine = r.line;
            return std::unexpected(QStringLiteral("[layout %1]: region \"%2\": playlist \"%3\" is not defined").arg(l.name, r.id, r.playlist));
        }
    }
    for (SourceWindow &w : m_out.windows) {
        m_errorLine = w.line;
        if (auto ok = resolveWindow(w); !ok) return ok;
    }
    for (std::size_t i = 0; i < m_out.commands.size(); ++i) {
        const schedule::Command &c = m_out.commands[i];
        m_errorLine = m_commandLines[i];
        if (c.type.empty())
            return std::unexpected(QStringLiteral("[command %1] has no \"type = ...\"").arg(QString::fromStdString(c.id)));
    }
    m_errorLine = m_defaultLine;
    if (m_out.defaultPlaylist && !hasPlaylist(*m_out.defaultPlaylist))
        return std::unexpected(QStringLiteral("default = \"%1\": no [playlist %1] is defined").arg(*m_out.defaultPlaylist));
    m_errorLine = m_defaultLayoutLine;
    if (m_out.defaultLayout && !hasLayout(*m_out.defaultLayout))
        return std::unexpected(QStringLiteral("default-layout = \"%1\": no [layout %1] is defined").arg(*m_out.defaultLayout));
    if (m_out.devices.empty()) m_out.devices.push_back(QStringLiteral("*"));
    return {};
}

} // namespace

std::expected<SourceSchedule, Error> parseScheduleSource(QByteArrayView text, const QString &fileName)
{
    return Parser(fileName).run(text);
}

bool isValidDeviceId(const QString &id) { return schedule::isDeviceId(id); }

} // namespace stoa::publish
