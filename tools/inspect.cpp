// tools/inspect.cpp — see inspect.h.
#include "tools/inspect.h"

#include "schedule/engine.h"
#include "schedule/envelope.h"
#include "schedule/manifest_parse.h"
#include "schedule/payload_fields.h"
#include "schedule/trust_store.h"
#include "publish/duration.h"

#include <QLocale>
#include <QStringList>

#include <algorithm>
#include <array>

namespace stoa::tools {

using namespace schedule;

namespace {

constexpr int kMaxTimelineEvents = 5000; // a pathological schedule must not flood the terminal

QString shortRef(const Digest &digest) { return QString::fromStdString(digest.ref().substr(0, Digest::kPrefix.size() + 12)) + QStringLiteral("…"); }

QString dayName(Weekday d)
{
    static constexpr std::array<const char *, 7> kNames{"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
    return QLatin1String(kNames[static_cast<std::size_t>(d) - 1]);
}

QString bytes(std::uint64_t n)
{
    return QLocale::c().formattedDataSize(static_cast<qint64>(n), 1, QLocale::DataSizeTraditionalFormat);
}

// "2026-11-23 07:00 Mon Europe/Oslo (2026-11-23T06:00:00Z)"
QString when(const QDateTime &utc, const QTimeZone &zone)
{
    const QDateTime local = utc.toTimeZone(zone);
    return QStringLiteral("%1 %2 (%3)").arg(local.toString(QStringLiteral("yyyy-MM-dd HH:mm ddd")),
                                            QString::fromUtf8(zone.id()), utc.toUTC().toString(Qt::ISODate));
}

// "lobby" for a playlist, "layout menu" for a v1.1 §12 layout.
QString contentText(const ContentRef &c)
{
    return (c.kind == ContentKind::Layout ? QStringLiteral("layout ") : QString()) + QString::fromStdString(c.name);
}

QString playingText(const NowPlaying &np)
{
    switch (np.source) {
    case PlaySource::Idle: return QStringLiteral("(idle screen)");
    case PlaySource::Default: return contentText(np.contents.front()) + QStringLiteral(" (default)");
    case PlaySource::Schedule: break;
    }
    QStringList names;
    for (const auto &c : np.contents) names << contentText(c);
    return names.join(QLatin1String(" + ")) + (names.size() > 1 ? QStringLiteral(" (shared)") : QStringLiteral(" (schedule)"));
}

bool samePlaying(const NowPlaying &a, const NowPlaying &b) { return a.source == b.source && a.contents == b.contents; }

// Resolve again at non-exact instants until the answer really changes.
std::optional<std::pair<QDateTime, NowPlaying>> nextPlayingChange(const Manifest &m, const NowPlaying &current)
{
    NowPlaying probe = current;
    for (int guard = 0; guard < 1000 && probe.nextChange; ++guard) {
        const QDateTime t = *probe.nextChange;
        NowPlaying next = resolveNowPlaying(m, t);
        if (!samePlaying(next, current)) return std::pair{t, next};
        probe = next;
    }
    return std::nullopt;
}

QString itemText(const Manifest &m, const PlaylistItem &item)
{
    QString s;
    if (item.asset) {
        const auto it = m.assets.find(*item.asset);
        s = shortRef(*item.asset) + (it != m.assets.end() ? QStringLiteral(" %1, %2").arg(QString::fromStdString(it->second.mediaType), bytes(it->second.size)) : QString());
    } else if (item.text) {
        s = QStringLiteral("text \"%1\"%2").arg(item.text->text, item.text->scroll ? QStringLiteral(", scrolling") : QString());
    } else if (item.stream) {
        s = QStringLiteral("stream ") + *item.stream;
    } else {
        s = QStringLiteral("web page ") + item.url.value_or(QString());
    }
    s += item.durationMs ? QStringLiteral(", %1").arg(publish::formatDuration(*item.durationMs)) : QStringLiteral(", to its end");
    if (item.fit != Fit::Contain) s += item.fit == Fit::Cover ? QStringLiteral(", cover") : QStringLiteral(", stretch");
    return s;
}

} // namespace

std::optional<QDateTime> parseTimeArgument(const QString &text, const std::optional<QTimeZone> &zone)
{
    if (auto t = parseRfc3339(text)) return t;
    if (!zone) return std::nullopt;
    QString local = text.trimmed();
    local.replace(u' ', u'T');
    for (const char *format : {"yyyy-MM-ddTHH:mm", "yyyy-MM-ddTHH:mm:ss"}) {
        QDateTime t = QDateTime::fromString(local, QLatin1String(format));
        if (t.isValid()) return QDateTime(t.date(), t.time(), *zone).toUTC();
    }
    return std::nullopt;
}

QString describeManifest(const Manifest &m)
{
    QStringList out;
    out << QStringLiteral("version: %1").arg(m.version);
    out << QStringLiteral("issued: %1").arg(m.issuedAt.toUTC().toString(Qt::ISODate));
    out << QStringLiteral("expires: %1").arg(m.expiresAt.toUTC().toString(Qt::ISODate));
    QStringList devices;
    for (const auto &d : m.devices) devices << QString::fromStdString(d);
    out << QStringLiteral("devices: %1").arg(devices.join(QLatin1String(", ")));
    out << QStringLiteral("timezone: %1").arg(m.timezone);
    std::uint64_t total = 0;
    for (const auto &[ref, a] : m.assets) total += a.size;
    out << QStringLiteral("assets: %1 (%2)").arg(m.assets.size()).arg(bytes(total));
    for (const auto &[ref, a] : m.assets)
        out << QStringLiteral("  %1  %2  %3").arg(QString::fromStdString(ref.ref()), QString::fromStdString(a.mediaType), bytes(a.size));
    out << QStringLiteral("playlists: %1").arg(m.playlists.size());
    for (const auto &[name, p] : m.playlists) {
        out << QStringLiteral("  %1: %2 item(s)").arg(QString::fromStdString(name)).arg(p.items.size());
        for (std::size_t i = 0; i < p.items.size(); ++i)
            out << QStringLiteral("    %1. %2").arg(i + 1).arg(itemText(m, p.items[i]));
    }
    if (!m.layouts.empty()) out << QStringLiteral("layouts: %1").arg(m.layouts.size());
    for (const auto &[name, layout] : m.layouts) {
        out << QStringLiteral("  %1: %2 region(s)").arg(QString::fromStdString(name)).arg(layout.regions.size());
        for (const Region &r : layout.regions)
            out << QStringLiteral("    %1: %2 at x %3 y %4 w %5 h %6 z %7")
                       .arg(QString::fromStdString(r.id), QString::fromStdString(r.playlist))
                       .arg(r.rect.x).arg(r.rect.y).arg(r.rect.w).arg(r.rect.h).arg(r.z);
    }
    out << QStringLiteral("schedule: %1 entr%2").arg(m.schedule.size()).arg(m.schedule.size() == 1 ? "y" : "ies");
    for (std::size_t i = 0; i < m.schedule.size(); ++i) {
        const ScheduleEntry &e = m.schedule[i];
        QStringList parts{contentText(e.content()), QStringLiteral("priority %1").arg(e.priority)};
        QStringList days;
        for (auto d : e.days) days << dayName(d);
        parts << (days.isEmpty() ? QStringLiteral("every day") : days.join(u','));
        parts << (e.fromMinute || e.untilMinute
                      ? QStringLiteral("%1-%2").arg(schedule::timeOfDayText(e.fromMinute.value_or(0)), e.untilMinute ? schedule::timeOfDayText(*e.untilMinute) : QStringLiteral("24:00"))
                      : QStringLiteral("all day"));
        if (e.startDate || e.endDate)
            parts << QStringLiteral("%1..%2").arg(e.startDate ? e.startDate->toString(Qt::ISODate) : QString(),
                                                  e.endDate ? e.endDate->toString(Qt::ISODate) : QString());
        out << QStringLiteral("  %1. %2").arg(i + 1).arg(parts.join(QLatin1String("  ")));
    }
    const auto fallback = m.defaultContent();
    out << QStringLiteral("default: %1").arg(fallback ? contentText(*fallback) : QStringLiteral("(none: idle screen)"));
    out << QStringLiteral("display: %1").arg(m.display ? QStringLiteral("on %1, off %2").arg(schedule::timeOfDayText(m.display->onMinute), schedule::timeOfDayText(m.display->offMinute))
                                                        : QStringLiteral("always on"));
    QStringList settings;
    if (m.settings.syncIntervalS) settings << QStringLiteral("sync_interval_s=%1").arg(*m.settings.syncIntervalS);
    if (m.settings.statusIntervalS) settings << QStringLiteral("status_interval_s=%1").arg(*m.settings.statusIntervalS);
    if (m.settings.rotation) settings << QStringLiteral("rotation=%1").arg(*m.settings.rotation);
    out << QStringLiteral("settings: %1").arg(settings.isEmpty() ? QStringLiteral("(device defaults)") : settings.join(QLatin1String(", ")));
    QStringList commands;
    for (const auto &c : m.commands) commands << QStringLiteral("%1=%2").arg(QString::fromStdString(c.id), QString::fromStdString(c.type));
    out << QStringLiteral("commands: %1").arg(commands.isEmpty() ? QStringLiteral("(none)") : commands.join(QLatin1String(", ")));
    return out.join(u'\n') + u'\n';
}

QString describeNowPlaying(const Manifest &m, const QDateTime &atUtc)
{
    const QTimeZone zone(m.timezone.toUtf8());
    const NowPlaying now = resolveNowPlaying(m, atUtc);
    const DisplayPower display = resolveDisplay(m, atUtc);
    QStringList out;
    out << QStringLiteral("at: %1").arg(when(atUtc, zone));
    out << QStringLiteral("playing: %1").arg(playingText(now));
    if (auto next = nextPlayingChange(m, now))
        out << QStringLiteral("until: %1, then %2").arg(when(next->first, zone), playingText(next->second));
    else
        out << QStringLiteral("until: (no further change)");
    out << QStringLiteral("display: %1%2").arg(display.on ? QStringLiteral("on") : QStringLiteral("off"),
                                               display.nextChange ? QStringLiteral(", until ") + when(*display.nextChange, zone) : QString());
    return out.join(u'\n') + u'\n';
}

QString describeTimeline(const Manifest &m, const QDateTime &fromUtc, int days)
{
    const QTimeZone zone(m.timezone.toUtf8());
    const QDateTime end = fromUtc.addDays(days);
    std::vector<std::pair<QDateTime, QString>> events;
    NowPlaying playing = resolveNowPlaying(m, fromUtc);
    DisplayPower display = resolveDisplay(m, fromUtc);
    events.emplace_back(fromUtc, QStringLiteral("plays %1; display %2").arg(playingText(playing), display.on ? "on" : "off"));
    bool truncated = false;
    while (true) {
        auto next = nextPlayingChange(m, playing);
        if (!next || next->first >= end) break;
        if (events.size() >= kMaxTimelineEvents) { truncated = true; break; }
        events.emplace_back(next->first, QStringLiteral("plays %1").arg(playingText(next->second)));
        playing = next->second;
    }
    while (display.nextChange && *display.nextChange < end && events.size() < 2 * kMaxTimelineEvents) {
        const QDateTime t = *display.nextChange;
        display = resolveDisplay(m, t);
        events.emplace_back(t, QStringLiteral("display %1").arg(display.on ? "on" : "off"));
    }
    std::stable_sort(events.begin(), events.end(), [](const auto &a, const auto &b) { return a.first < b.first; });
    QStringList out;
    out << QStringLiteral("timeline: %1 day(s) from %2").arg(days).arg(when(fromUtc, zone));
    for (const auto &[t, text] : events)
        out << QStringLiteral("  %1  %2").arg(t.toTimeZone(zone).toString(QStringLiteral("yyyy-MM-dd HH:mm ddd")), text);
    if (truncated) out << QStringLiteral("  (more than %1 changes; stopped)").arg(kMaxTimelineEvents);
    return out.join(u'\n') + u'\n';
}

std::expected<QString, publish::Error> inspectEnvelope(QByteArrayView bytes, const InspectOptions &options)
{
    auto envelope = parseEnvelope(bytes);
    if (!envelope) return std::unexpected(publish::invalid(envelope.error().reason));
    const bool isManifest = envelope->payloadType == kManifestPayloadType;
    QStringList head;
    head << QStringLiteral("document: %1 (%2)").arg(isManifest ? QStringLiteral("manifest") : QStringLiteral("keys document"),
                                                    QString::fromUtf8(envelope->payloadType));
    QStringList keyIds;
    for (const auto &s : envelope->signatures) keyIds << (s.keyId.empty() ? QStringLiteral("(no keyid)") : QString::fromStdString(s.keyId));
    head << QStringLiteral("signatures: %1 (%2)").arg(envelope->signatures.size()).arg(keyIds.join(QLatin1String(", ")));
    if (options.trusted) {
        auto verified = verifyEnvelope(*envelope, *options.trusted);
        if (!verified) return std::unexpected(publish::invalid(QStringLiteral("signature check failed: %1").arg(verified.error().reason)));
        QStringList signers;
        for (const auto &s : verified->signers) signers << QString::fromStdString(s);
        head << QStringLiteral("signature: checked, valid; signed by %1").arg(signers.join(QLatin1String(", ")));
    } else {
        head << QStringLiteral("signature: NOT checked (give --trusted-keys PEM to check)");
    }
    QString report = head.join(u'\n') + u'\n';

    if (!isManifest) {
        auto doc = parseKeysDocument(envelope->payload);
        if (!doc) return std::unexpected(publish::invalid(doc.error().reason));
        report += QStringLiteral("version: %1\nexpires: %2\nthreshold: %3\nkeys: %4\n")
                      .arg(doc->version).arg(doc->expiresAt.toUTC().toString(Qt::ISODate)).arg(doc->threshold).arg(doc->keys.size());
        for (const auto &k : doc->keys) report += QStringLiteral("  %1\n").arg(QString::fromStdString(k.keyId()));
        if (doc->manifestVersionFloor)
            report += QStringLiteral("manifest version floor: %1\n").arg(*doc->manifestVersionFloor);
        return report;
    }
    auto manifest = parseManifest(envelope->payload);
    if (!manifest) return std::unexpected(publish::invalid(manifest.error().reason));
    report += describeManifest(*manifest);
    report += u'\n';
    if (options.at) {
        const auto at = parseTimeArgument(*options.at, QTimeZone(manifest->timezone.toUtf8()));
        if (!at)
            return std::unexpected(publish::usage(QStringLiteral("--at \"%1\": expected 2026-11-23T07:00:00Z (UTC), 2026-11-23T07:00+01:00 "
                                                        "or 2026-11-23T07:00 (the manifest's time zone, %2)").arg(*options.at, manifest->timezone)));
        report += describeNowPlaying(*manifest, *at);
    } else {
        const QDateTime from = options.from.isValid() ? options.from : QDateTime::currentDateTimeUtc();
        report += describeTimeline(*manifest, from, options.days);
    }
    return report;
}

} // namespace stoa::tools
