// player/diagnostics_text.cpp — wording of the diagnostics screen (see diagnostics_text.h).
#include "player/diagnostics_text.h"

#include <QTimeZone>

#include <cmath>

namespace stoa::player {

namespace {

QString q(const std::string &s)
{
    return QString::fromStdString(s);
}

QString shortKey(const std::string &key)
{
    // "sha256:9f86d081884c…": enough to recognise, short enough to read.
    return key.size() > 19 ? q(key.substr(0, 19)) + QStringLiteral("…") : q(key);
}

// One item in short form: "lobby: image sha256:9f86d081884c…", "news: text".
QString shownItem(const std::string &playlist, const std::string &kind, const std::optional<std::string> &asset,
                  const std::optional<std::string> &url)
{
    const QString what = asset ? shortKey(*asset) : q(url.value_or(""));
    return QStringLiteral("%1: %2").arg(q(playlist), q(kind)) + (what.isEmpty() ? QString() : QStringLiteral(" ") + what);
}

QString utc(const QDateTime &t)
{
    return t.isValid() ? t.toUTC().toString(QStringLiteral("yyyy-MM-dd HH:mm:ss")) + QStringLiteral(" UTC")
                       : QStringLiteral("n/a");
}

// The agent's word on what holds the staged manifest back, when it speaks of
// the staged manifest the store holds (not of one since replaced).
const cache::SyncStatus::StagedBlock *stagedBlock(const DeviceState &s)
{
    if (!s.sync || !s.sync->stagedBlocked || s.sync->stagedVersion == 0)
        return nullptr;
    if (s.staged && s.staged->version != s.sync->stagedVersion)
        return nullptr;
    return &*s.sync->stagedBlocked;
}

QString interfaceValue(const InterfaceInfo &i)
{
    QStringList addresses;
    for (const auto &a : i.ipv4)
        addresses << q(a);
    for (const auto &a : i.ipv6)
        addresses << q(a);
    QString v = QStringLiteral("link ") + q(i.operState);
    v += addresses.isEmpty() ? QStringLiteral(", no address") : QStringLiteral(" · ") + addresses.join(QStringLiteral(", "));
    return v;
}

DiagSection networkSection(const DeviceState &s)
{
    DiagSection sec{QStringLiteral("Network"), {}};
    for (const auto &i : s.interfaces) {
        const bool up = i.operState == "up" || (i.operState == "unknown" && !i.ipv4.empty());
        sec.rows.push_back({QStringLiteral("net_") + q(i.name), q(i.name), interfaceValue(i),
                            up && !(i.ipv4.empty() && i.ipv6.empty()) ? QStringLiteral("ok") : QString()});
    }
    if (sec.rows.empty())
        sec.rows.push_back({QStringLiteral("net_none"), QStringLiteral("Interfaces"),
                            QStringLiteral("no network interface"), QStringLiteral("bad")});
    return sec;
}

DiagSection syncSection(const DeviceState &s)
{
    const std::int64_t nowMs = s.clock.trustedNowUtc.toMSecsSinceEpoch();
    DiagSection sec{QStringLiteral("Sync"), {}};
    sec.rows.push_back({QStringLiteral("server"), QStringLiteral("Server"),
                        s.serverConfigured ? q(s.server) : QStringLiteral("none configured"),
                        s.serverConfigured ? QString() : QStringLiteral("bad")});
    if (!s.sync) {
        sec.rows.push_back({QStringLiteral("sync_state"), QStringLiteral("Agent"), QStringLiteral("no agent state yet"),
                            QStringLiteral("warn")});
        return sec;
    }
    const cache::SyncStatus &a = *s.sync;
    const bool failing = a.consecutiveFailures > 0;
    sec.rows.push_back({QStringLiteral("sync_state"), QStringLiteral("Agent"), q(a.state),
                        failing ? QStringLiteral("bad") : (a.state == "in_sync" ? QStringLiteral("ok") : QString())});
    QString attempt = formatWhen(a.lastAttemptAtMs, nowMs);
    if (a.lastAttemptAtMs > 0 && !a.lastResult.empty())
        attempt += QStringLiteral(": ") + (a.lastError.empty() ? q(a.lastResult) : plainError(a.lastResult));
    sec.rows.push_back({QStringLiteral("last_attempt"), QStringLiteral("Last attempt"), attempt,
                        failing ? QStringLiteral("bad") : QString()});
    sec.rows.push_back({QStringLiteral("last_success"), QStringLiteral("Last success"),
                        formatWhen(a.lastSuccessAtMs, nowMs), a.lastSuccessAtMs > 0 ? QString() : QStringLiteral("warn")});
    QString next = formatWhen(a.nextAttemptAtMs, nowMs);
    if (failing)
        next += QStringLiteral(" · backing off %1 s after %2 failure(s) in a row")
                    .arg(QString::number(a.backoffSeconds, 'f', a.backoffSeconds < 10 ? 1 : 0))
                    .arg(a.consecutiveFailures);
    sec.rows.push_back({QStringLiteral("next_attempt"), QStringLiteral("Next attempt"), next,
                        failing ? QStringLiteral("warn") : QString()});
    QString keys = a.keys.empty() ? QStringLiteral("n/a") : q(a.keys);
    if (s.active && !s.active->signerKeyIds.empty()) {
        QStringList ids;
        for (const auto &id : s.active->signerKeyIds)
            ids << q(id.substr(0, 12)) + QStringLiteral("…");
        keys += QStringLiteral(" · manifest signed by ") + ids.join(QStringLiteral(", "));
    }
    sec.rows.push_back({QStringLiteral("keys"), QStringLiteral("Signing keys"), keys, QString()});
    sec.rows.push_back({QStringLiteral("downloaded"), QStringLiteral("Downloaded"),
                        formatBytes(a.bytesDownloaded) + QStringLiteral(" since the agent started"), QString()});
    return sec;
}

DiagSection contentSection(const DeviceState &s)
{
    DiagSection sec{QStringLiteral("Content"), {}};
    if (s.active) {
        const ManifestInfo &m = *s.active;
        QString v = QStringLiteral("v%1").arg(m.version);
        if (!m.parseError.empty())
            v += QStringLiteral(" (%1)").arg(q(m.parseError));
        else
            v += QStringLiteral(", issued %1, expires %2").arg(utc(*m.issuedAt), utc(*m.expiresAt));
        if (m.stale)
            v += QStringLiteral(" · STALE (expired, still playing)");
        sec.rows.push_back({QStringLiteral("active_manifest"), QStringLiteral("Active manifest"), v,
                            m.stale ? QStringLiteral("warn") : QStringLiteral("ok")});
    } else {
        sec.rows.push_back({QStringLiteral("active_manifest"), QStringLiteral("Active manifest"),
                            QStringLiteral("none yet"), QStringLiteral("bad")});
    }
    QString staged = QStringLiteral("none");
    if (s.staged) {
        staged = QStringLiteral("v%1").arg(s.staged->version);
        if (s.stagedProgress)
            staged += QStringLiteral(": %1 % downloaded").arg(int(std::floor(*s.stagedProgress * 100)));
        if (s.sync && s.sync->stagedVersion == s.staged->version)
            staged += QStringLiteral(" (%1 asset(s), %2 missing)")
                          .arg(s.sync->stagedBlobsMissing)
                          .arg(formatBytes(s.sync->stagedBytesMissing));
        if (const auto *b = stagedBlock(s))
            staged += QStringLiteral(" · HELD BACK since %1: %2")
                          .arg(formatWhen(b->sinceMs, s.clock.trustedNowUtc.toMSecsSinceEpoch()), q(b->message));
        else if (s.sync && !s.sync->downloadError.empty())
            staged += QStringLiteral(" · last failure: ") + plainError(s.sync->downloadError);
    }
    sec.rows.push_back({QStringLiteral("staged_manifest"), QStringLiteral("Staged manifest"), staged,
                        stagedBlock(s) ? QStringLiteral("bad") : QString()});
    QString playing;
    if (s.player.idle)
        playing = QStringLiteral("idle screen: ") + q(s.player.statusLine);
    else if (s.player.layout)
        playing = QStringLiteral("layout %1, %2 region(s)").arg(q(*s.player.layout)).arg(s.player.regions.size());
    else
        playing = shownItem(s.player.playlist, s.player.kind, s.player.asset, s.player.url);
    sec.rows.push_back({QStringLiteral("now_playing"), QStringLiteral("Now playing"), playing,
                        s.player.idle ? QStringLiteral("warn") : QStringLiteral("ok")});
    // Under a layout, one row per region in manifest order (its id as the
    // label, like the network interfaces): what each rectangle shows.
    if (!s.player.idle)
        for (const RegionView &r : s.player.regions)
            sec.rows.push_back({QStringLiteral("region_") + q(r.id), QStringLiteral("Region ") + q(r.id),
                                r.kind.empty() ? (r.playlist.empty() ? QStringLiteral("nothing")
                                                                     : q(r.playlist) + QStringLiteral(": nothing on screen"))
                                               : shownItem(r.playlist, r.kind, r.asset, r.url),
                                r.kind.empty() ? QStringLiteral("warn") : QString()});
    sec.rows.push_back({QStringLiteral("skipped"), QStringLiteral("Skipped items"),
                        s.player.badItems.empty()
                            ? QStringLiteral("none")
                            : QStringLiteral("%1 (last: %2)").arg(s.player.badItems.size()).arg(q(s.player.badItems.back().reason)),
                        s.player.badItems.empty() ? QString() : QStringLiteral("warn")});
    QString cache = QStringLiteral("n/a");
    QString cacheLevel;
    if (s.cache.known) {
        cache = formatBytes(s.cache.bytesUsed);
        if (s.cache.quotaBytes > 0) {
            const int pct = int(std::lround(100.0 * double(s.cache.bytesUsed) / double(s.cache.quotaBytes)));
            cache += QStringLiteral(" of %1 quota (%2 %)").arg(formatBytes(s.cache.quotaBytes)).arg(pct);
            cacheLevel = pct >= 95 ? QStringLiteral("warn") : QString();
        } else {
            cache += QStringLiteral(", no quota");
        }
        cache += QStringLiteral(" · %1 asset(s)").arg(s.cache.blobCount);
    }
    sec.rows.push_back({QStringLiteral("cache"), QStringLiteral("Cache"), cache, cacheLevel});
    return sec;
}

DiagSection deviceSection(const DeviceState &s)
{
    DiagSection sec{QStringLiteral("Device"), {}};
    const ClockInfo &c = s.clock;
    QString clock = (c.trusted ? QStringLiteral("trusted") : QStringLiteral("NOT trusted")) +
                    QStringLiteral(" (%1) · %2").arg(q(c.source), utc(c.trustedNowUtc));
    if (c.systemBehindMs > 2000)
        clock += QStringLiteral(" · system clock %1 behind").arg(formatDuration(c.systemBehindMs / 1000));
    sec.rows.push_back({QStringLiteral("clock"), QStringLiteral("Clock"), clock,
                        c.trusted ? QStringLiteral("ok") : QStringLiteral("bad")});
    QString floor = QStringLiteral("none saved yet");
    if (c.floorUtcMs && *c.floorUtcMs > 0) {
        floor = utc(QDateTime::fromMSecsSinceEpoch(*c.floorUtcMs, Qt::UTC));
        if (c.sinceFloorMs)
            floor += QStringLiteral(" (now %1%2)")
                         .arg(*c.sinceFloorMs >= 0 ? QStringLiteral("+") : QStringLiteral("-"))
                         .arg(formatDuration(std::llabs(*c.sinceFloorMs) / 1000));
    }
    sec.rows.push_back({QStringLiteral("clock_floor"), QStringLiteral("Last trusted time"), floor, QString()});
    const schedule::DeviceHealth &h = s.health;
    QString cpu = h.cpuTempC ? QStringLiteral("%1 °C").arg(*h.cpuTempC, 0, 'f', 1) : QStringLiteral("n/a");
    cpu += QStringLiteral(" · ");
    if (!h.throttled)
        cpu += QStringLiteral("throttling n/a");
    else
        cpu += *h.throttled ? QStringLiteral("THROTTLED now") : QStringLiteral("not throttled");
    if (h.underVoltage && *h.underVoltage)
        cpu += QStringLiteral(" · UNDER-VOLTAGE");
    else if (h.problemSinceBoot && *h.problemSinceBoot)
        cpu += QStringLiteral(" · throttled or under-voltage since boot");
    const bool hot = (h.throttled && *h.throttled) || (h.underVoltage && *h.underVoltage);
    sec.rows.push_back({QStringLiteral("cpu"), QStringLiteral("CPU"), cpu, hot ? QStringLiteral("bad") : QString()});
    QString disk = QStringLiteral("n/a");
    if (h.diskFreeBytes)
        disk = formatBytes(*h.diskFreeBytes) + QStringLiteral(" free of ") + formatBytes(h.diskTotalBytes.value_or(0));
    sec.rows.push_back({QStringLiteral("disk"), QStringLiteral("Disk"), disk, QString()});
    QString up = s.systemUptimeS >= 0 ? QStringLiteral("device ") + formatDuration(s.systemUptimeS) : QStringLiteral("device n/a");
    up += s.processUptimeS >= 0 ? QStringLiteral(", player ") + formatDuration(s.processUptimeS) : QString();
    sec.rows.push_back({QStringLiteral("uptime"), QStringLiteral("Uptime"), up, QString()});
    if (!s.display.empty())
        sec.rows.push_back({QStringLiteral("display"), QStringLiteral("Display"), q(s.display),
                            s.display.find("failed") != std::string::npos ? QStringLiteral("bad") : QString()});
    return sec;
}

QStringList errorsInWords(const DeviceState &s)
{
    QStringList out;
    if (!s.serverConfigured)
        out << QStringLiteral("No server configured: set 'server = URL' in the config file (/etc/stoa/stoa.conf).");
    if (s.sync && !s.sync->lastError.empty())
        out << QStringLiteral("Sync failing (%1 time(s) in a row): %2")
                   .arg(s.sync->consecutiveFailures)
                   .arg(plainError(s.sync->lastError));
    if (const auto *b = stagedBlock(s))
        out << QStringLiteral("New content v%1 cannot be taken, since %2: %3")
                   .arg(s.sync->stagedVersion)
                   .arg(formatWhen(b->sinceMs, s.clock.trustedNowUtc.toMSecsSinceEpoch()), q(b->message));
    else if (s.sync && !s.sync->downloadError.empty())
        out << QStringLiteral("Download failed: ") + plainError(s.sync->downloadError);
    if (!s.sync && s.serverConfigured)
        out << QStringLiteral("The sync agent has not reported yet (is stoa-syncd running?).");
    if (!s.active)
        out << QStringLiteral("No content yet: this device has not received a manifest.");
    else if (s.active->stale)
        out << QStringLiteral("The manifest v%1 expired at %2; still playing it until a newer one arrives.")
                   .arg(s.active->version)
                   .arg(utc(*s.active->expiresAt));
    if (!s.clock.trusted)
        out << QStringLiteral("The clock is not trusted: the system clock is behind the last trusted time (no NTP?).");
    for (auto it = s.player.badItems.rbegin(); it != s.player.badItems.rend(); ++it)
        out << QStringLiteral("Skipped %1: %2").arg(shortKey(it->key), q(it->reason));
    for (const auto &e : s.startupProblems)
        out << QStringLiteral("Configuration: ") + q(e) + QStringLiteral(" (using defaults for the rest)");
    for (const auto &e : s.storeErrors)
        out << QStringLiteral("Store: ") + q(e);
    if (s.health.underVoltage && *s.health.underVoltage)
        out << QStringLiteral("Under-voltage: the power supply is too weak.");
    if (s.sync && !s.sync->heartbeat.empty() && s.sync->heartbeat != "ok" && s.sync->heartbeat.find("not supported") == std::string::npos)
        out << QStringLiteral("Heartbeat: ") + plainError(s.sync->heartbeat);
    return out;
}

} // namespace

QString plainError(const std::string &raw)
{
    const QString text = q(raw);
    struct Pattern {
        const char *needle;
        const char *words;
    };
    static const Pattern patterns[] = {
        {"Couldn't connect", "cannot reach the server (nothing answers at that address)"},
        {"Connection refused", "cannot reach the server (nothing answers at that address)"},
        {"Could not resolve", "the server's name does not resolve (DNS)"},
        {"resolve host", "the server's name does not resolve (DNS)"},
        {"timed out", "the server did not answer in time"},
        {"Timeout", "the server did not answer in time"},
        {"SSL", "secure connection (TLS) failed"},
        {"TLS", "secure connection (TLS) failed"},
        {"certificate", "the server's certificate is not trusted"},
        {"HTTP 401", "the server refused the device's token"},
        {"HTTP 403", "the server refused access"},
        {"HTTP 404", "the server has no manifest for this device"},
        {"HTTP 5", "the server had an error"},
        {"signature", "the manifest's signature is not trusted"},
        {"expired", "the server sent an expired manifest"},
        {"No space", "the disk is full"},
        {"quota", "the cache quota is too small for the content"},
    };
    for (const auto &p : patterns)
        if (text.contains(QLatin1String(p.needle), Qt::CaseInsensitive))
            return QStringLiteral("%1 (%2)").arg(QLatin1String(p.words), text);
    return text;
}

QString formatBytes(std::uint64_t n)
{
    if (n >= (1ull << 30))
        return QString::number(double(n) / double(1ull << 30), 'f', 2) + QStringLiteral(" GiB");
    if (n >= (1ull << 20))
        return QString::number(double(n) / double(1ull << 20), 'f', 1) + QStringLiteral(" MiB");
    if (n >= (1ull << 10))
        return QString::number(double(n) / double(1ull << 10), 'f', 1) + QStringLiteral(" KiB");
    return QString::number(n) + QStringLiteral(" bytes");
}

QString formatDuration(std::int64_t s)
{
    if (s < 0)
        return QStringLiteral("n/a");
    if (s >= 86400)
        return QStringLiteral("%1 d %2 h").arg(s / 86400).arg((s % 86400) / 3600);
    if (s >= 3600)
        return QStringLiteral("%1 h %2 min").arg(s / 3600).arg((s % 3600) / 60);
    if (s >= 60)
        return QStringLiteral("%1 min %2 s").arg(s / 60).arg(s % 60);
    return QStringLiteral("%1 s").arg(s);
}

QString formatWhen(std::int64_t utcMs, std::int64_t nowMs)
{
    if (utcMs <= 0)
        return QStringLiteral("never");
    const QString at = utc(QDateTime::fromMSecsSinceEpoch(utcMs, Qt::UTC));
    const std::int64_t delta = (utcMs - nowMs) / 1000;
    if (delta > 0)
        return at + QStringLiteral(" (in %1)").arg(formatDuration(delta));
    if (delta < 0)
        return at + QStringLiteral(" (%1 ago)").arg(formatDuration(-delta));
    return at + QStringLiteral(" (now)");
}

DiagnosticsText describeDeviceState(const DeviceState &s)
{
    DiagnosticsText t;
    t.left = {networkSection(s), syncSection(s)};
    t.right = {contentSection(s), deviceSection(s)};
    t.errors = errorsInWords(s);
    if (!s.serverConfigured) {
        t.headline = QStringLiteral("Not set up: no server configured");
        t.headlineLevel = QStringLiteral("bad");
    } else if (!s.active && stagedBlock(s)) {
        t.headline = QStringLiteral("Waiting for content: v%1 is held back").arg(s.sync->stagedVersion);
        t.headlineLevel = QStringLiteral("bad");
    } else if (!s.active) {
        t.headline = QStringLiteral("Waiting for content: no manifest yet");
        t.headlineLevel = QStringLiteral("bad");
    } else if (!s.sync) {
        t.headline = QStringLiteral("Playing v%1; no agent state yet").arg(s.active->version);
        t.headlineLevel = QStringLiteral("warn");
    } else if (s.sync->consecutiveFailures > 0) {
        t.headline = QStringLiteral("Playing v%1, but cannot sync").arg(s.active->version);
        t.headlineLevel = QStringLiteral("warn");
    } else if (stagedBlock(s)) {
        t.headline = QStringLiteral("Playing v%1; new content v%2 is held back")
                         .arg(s.active->version)
                         .arg(s.sync->stagedVersion);
        t.headlineLevel = QStringLiteral("warn");
    } else if (s.active->stale || !s.clock.trusted) {
        t.headline = QStringLiteral("Playing v%1 with warnings").arg(s.active->version);
        t.headlineLevel = QStringLiteral("warn");
    } else {
        t.headline = QStringLiteral("Playing v%1, in sync").arg(s.active->version);
        t.headlineLevel = QStringLiteral("ok");
    }
    return t;
}

} // namespace stoa::player
