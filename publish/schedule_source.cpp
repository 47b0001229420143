// publish/schedule_source.cpp — see schedule_source.h. A small hand-written
// line parser: every message can then name its line, which a JSON or Qt
// settings parser would not give us. This file has the line loop, the
// section headers, the routing of keys to their section's handler and the
// checks only the whole file can make (finish()); the handlers themselves
// are in schedule_source_keys.cpp and schedule_source_items.cpp, over
// schedule_source_impl.h.
#include "publish/schedule_source_impl.h"

#include "schedule/identifiers.h"
#include "publish/media_type.h"

#include <QLoggingCategory>
#include <QRegularExpression>

Q_LOGGING_CATEGORY(lcSource, "stoa.publish.source")

namespace stoa::publish {
namespace source {

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

} // namespace source

std::expected<SourceSchedule, Error> parseScheduleSource(QByteArrayView text, const QString &fileName)
{
    return source::Parser(fileName).run(text);
}

bool isValidDeviceId(const QString &id) { return schedule::isDeviceId(id); }

} // namespace stoa::publish
