// player/options.cpp — command line and config file (see options.h).
#include "player/options.h"

#include "settings/stoa_conf.h"

#include <map>
#include <string_view>

namespace stoa::player {

namespace {

// The player's keys from the parsed file and flags (settings/keys.h).
void take(const settings::Settings &s, PlayerOptions &o)
{
    o.dataDir = s.dataDir;
    o.trustedKeys = s.trustedKeys;
    o.deviceId = s.deviceId;
    o.listen = s.playerListen;
    o.displayPower = s.displayPower;
    o.rotation = int(s.rotation);
    o.fadeMs = int(s.fadeMs.count());
    o.videoEngine = s.videoEngine;
    o.web = s.web;
    o.server = s.server;
    o.quotaBytes = s.quota;
    o.consoleUrl = s.hubConsoleUrl;
}

} // namespace

std::expected<PlayerOptions, OptionsError> parsePlayerOptions(const QStringList &arguments)
{
    PlayerOptions options;
    // First pass: where the config file is, so flags can override it afterwards.
    for (qsizetype i = 1; i + 1 < arguments.size(); ++i)
        if (arguments[i] == "--config") {
            options.configFile = arguments[i + 1].toStdString();
            options.configGiven = true;
        }
    settings::Settings s = settings::defaults();
    const auto problems = settings::readFile(QString::fromStdString(options.configFile), s, settings::Mode::Lenient,
                                             options.configGiven ? settings::IfMissing::Error : settings::IfMissing::Skip);
    for (const auto &problem : problems)
        options.configError += (options.configError.empty() ? "" : "; ") + problem.text();

    namespace key = settings::key;
    static const std::map<QString, std::string_view> valued = {
        {"--data-dir", key::dataDir}, {"--trusted-keys", key::trustedKeys},
        {"--device-id", key::deviceId}, {"--listen", key::playerListen}, {"--rotation", key::rotation},
        {"--fade-ms", key::fadeMs}, {"--video-engine", key::videoEngine}, {"--web", key::web},
    };
    for (qsizetype i = 1; i < arguments.size(); ++i) {
        const QString &a = arguments[i];
        if (a == "--help" || a == "-h") { options.help = true; continue; }
        if (a == "--version") { options.version = true; continue; }
        if (a == "--demo") { options.demo = true; continue; }
        if (a == "--windowed") { options.windowed = true; continue; }
        if (a == "--diagnostics") { options.diagnostics = true; continue; }
        if (a == "--no-auto-diagnostics") { options.autoDiagnostics = false; continue; }
        const bool takesValue = valued.contains(a) || a == "--config" || a == "--fake-now" ||
                                a == "--exit-after" || a == "--screenshot" ||
                                a == "--frame-log";
        if (!takesValue)
            return std::unexpected(OptionsError{"unknown option " + a.toStdString() + " (see --help)"});
        if (i + 1 >= arguments.size())
            return std::unexpected(OptionsError{"option " + a.toStdString() + " needs a value (see --help)"});
        const QString value = arguments[++i];
        if (a == "--config")
            continue;
        if (a == "--fake-now") {
            QDateTime t = QDateTime::fromString(value, Qt::ISODateWithMs);
            if (!t.isValid() || t.timeSpec() == Qt::LocalTime)
                return std::unexpected(OptionsError{"--fake-now needs an RFC 3339 time with a zone, got '" +
                                                    value.toStdString() + "'"});
            options.fakeNow = t.toUTC();
            continue;
        }
        if (a == "--exit-after") {
            bool ok = false;
            const qint64 ms = value.toLongLong(&ok);
            if (!ok || ms <= 0)
                return std::unexpected(OptionsError{"--exit-after needs milliseconds, got '" + value.toStdString() + "'"});
            options.exitAfterMs = ms;
            continue;
        }
        if (a == "--screenshot") {
            options.screenshotFile = value.toStdString();
            continue;
        }
        if (a == "--frame-log") {
            options.frameLogFile = value.toStdString();
            continue;
        }
        if (!settings::setValue(s, valued.at(a), value.toStdString()))
            return std::unexpected(OptionsError{"bad value for " + a.toStdString() + ": '" + value.toStdString() + "'"});
    }
    take(s, options);
    return options;
}

const char *playerUsage()
{
    return "usage: stoa-player [options] [Qt options, e.g. -platform offscreen]\n"
           "Plays the device's active manifest from the local store (protocol v1).\n\n"
           "  --config FILE         config file (default /etc/stoa/stoa.conf)\n"
           "  --data-dir DIR        the store (default /var/lib/stoa)\n"
           "  --trusted-keys FILE   PEM root keys (accepted; the store holds verified manifests)\n"
           "  --device-id ID        overrides the detected id\n"
           "  --listen ADDR:PORT    local endpoints /healthz /metrics /status (default 127.0.0.1:0)\n"
           "  --demo                play the bundled demo from a temporary store\n"
           "  --rotation DEG        0, 90, 180 or 270 (a manifest's settings win)\n"
           "  --fade-ms MS          cross-fade for items without their own fade_ms (default 0)\n"
           "  --video-engine E      pipeline (the player's own GStreamer pipelines; qt is retired\n"
           "                        and plays as pipeline)\n"
           "  --web on|off          play web items (default on when built with QtWebEngine)\n"
           "  --fake-now TIME       schedule as if the clock read TIME (RFC 3339) at start\n"
           "  --windowed            a window instead of full screen\n"
           "  --exit-after MS       quit after MS milliseconds\n"
           "  --screenshot FILE     with --exit-after: save a JPEG/PNG grab when quitting\n"
           "  --diagnostics         open the diagnostics screen at start (F1, D or a 3 s\n"
           "                        corner press toggle it at any time)\n"
           "  --no-auto-diagnostics do not open it by itself (no manifest / no server)\n"
           "  --frame-log FILE      write each frame swap and item switch (monotonic us) to FILE at exit\n"
           "  --version, --help\n\n"
           "Exit codes: 0 stopped, 2 bad options, 3 store unusable, 75 restart requested\n"
           "(restart_player command; run under systemd with Restart=always).\n"
           "See docs/player.md.\n";
}

} // namespace stoa::player
