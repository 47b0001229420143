// publish/schedule_source_keys.cpp — the schedule source's "key = value"
// lines (schedule_source_impl.h): the global keys before any section, a
// [window]'s and a [command]'s. Invariants: an unknown key is refused with
// the list of the known ones; a value is checked where it is read, with the
// example the message gives; `time` and `from`/`until` exclude each other.
#include "publish/schedule_source_impl.h"

#include "schedule/identifiers.h"
#include "schedule/payload_fields.h"
#include "publish/duration.h"

#include <QRegularExpression>

#include <limits>

namespace stoa::publish::source {

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

} // namespace stoa::publish::source
