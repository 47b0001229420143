// publish/schedule_source_impl.h — the private half of the schedule source
// parser (schedule_source.h has the format's invariants), shared by the
// files it is split over by concern:
//   schedule_source.cpp        the line loop, section headers, key routing,
//                              the whole-file checks (finish()) and the API;
//   schedule_source_keys.cpp   the global, [window] and [command] keys;
//   schedule_source_items.cpp  [playlist] items and [layout] regions;
//   schedule_source_values.cpp the words and values every section reads
//                              (comments, quoting, days, times, fractions).
// Invariants: handlers return an error text without the "<file>:<line>: "
// prefix, which Parser::fail() adds, so every message names its line; the
// value readers are pure (no Parser state). Internal to those files.
#pragma once

#include "publish/schedule_source.h"

#include <QSet>
#include <QStringList>

#include <algorithm>
#include <cstdint>
#include <expected>
#include <optional>
#include <utility>
#include <vector>

namespace stoa::publish::source {

using schedule::Weekday;

// schedule_source_values.cpp
// Drops a comment: '#' or ';' at the start or after whitespace, outside quotes
// (so "https://x/#top" and "a;b" survive).
QString stripComment(const QString &line);
// Whitespace-separated words; "double quoted" words may hold spaces.
std::expected<QStringList, QString> splitWords(const QString &text);
std::optional<Weekday> dayFromWord(const QString &word);
// "mon-fri", "mon,wed,fri", "weekdays", "weekends", "daily", "sat sun", "fri-mon".
std::expected<std::vector<Weekday>, QString> parseDays(const QString &value);
// "06:00-10:30" (also "22:00 - 02:00") -> (from, until) minutes.
std::optional<std::pair<int, int>> parseTimeRange(const QString &value);
std::optional<std::int64_t> parseInteger(const QString &value);
// "0.75" or "75%": a fraction of the screen or picture (bounds are
// rectProblem()'s business).
std::optional<double> parseFraction(const QString &value);
// "X,Y,W,H" (`crop=`), each a fraction.
std::optional<schedule::FractionRect> parseRectWords(const QStringList &parts);

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

} // namespace stoa::publish::source
