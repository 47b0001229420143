// player/options.cpp — command line and config file (see options.h).
#include "player/options.h"

#include <QFile>
#include <QFileInfo>

#include <functional>
#include <map>
#include <vector>

namespace stoa::player {

namespace {

using Setter = std::function<bool(PlayerOptions &, const std::string &)>;

bool parseInt(const std::string &v, int &out)
{
    bool ok = false;
    const int n = QString::fromStdString(v).toInt(&ok);
    if (ok)
        out = n;
    return ok;
}

// The agent's size syntax (sync/config.cpp): digits with an optional K/M/G (powers of 1024).
bool parseSize(std::string v, std::uint64_t &out)
{
    if (v.empty())
        return false;
    std::uint64_t mult = 1;
    switch (v.back()) {
    case 'K': case 'k': mult = 1024; break;
    case 'M': case 'm': mult = 1024 * 1024; break;
    case 'G': case 'g': mult = 1024ull * 1024 * 1024; break;
    default: break;
    }
    if (mult != 1)
        v.pop_back();
    bool ok = !v.empty() && v.find_first_not_of("0123456789") == std::string::npos;
    const qulonglong n = ok ? QString::fromStdString(v).toULongLong(&ok) : 0;
    if (ok)
        out = n * mult;
    return ok;
}

const std::map<std::string, Setter> &playerKeys()
{
    static const std::map<std::string, Setter> keys = {
        {"data_dir", [](PlayerOptions &o, const std::string &v) { o.dataDir = v; return !v.empty(); }},
        {"trusted_keys", [](PlayerOptions &o, const std::string &v) { o.trustedKeys = v; return true; }},
        {"device_id", [](PlayerOptions &o, const std::string &v) { o.deviceId = v; return true; }},
        {"player_listen", [](PlayerOptions &o, const std::string &v) { o.listen = v; return !v.empty(); }},
        {"display_power", [](PlayerOptions &o, const std::string &v) {
             if (v != "none" && v != "drm" && v != "vcgencmd" && v != "cec")
                 return false;
             o.displayPower = v;
             return true;
         }},
        {"server", [](PlayerOptions &o, const std::string &v) { o.server = v; return true; }},
        {"quota", [](PlayerOptions &o, const std::string &v) { return parseSize(v, o.quotaBytes); }},
        {"rotation", [](PlayerOptions &o, const std::string &v) {
             int r = 0;
             if (!parseInt(v, r) || (r != 0 && r != 90 && r != 180 && r != 270))
                 return false;
             o.rotation = r;
             return true;
         }},
        {"video_engine", [](PlayerOptions &o, const std::string &v) {
             o.retiredVideoEngine = v == "qt";
             return v == "pipeline" || v == "qt";
         }},
        {"web", [](PlayerOptions &o, const std::string &v) {
             if (v != "on" && v != "off")
                 return false;
             o.web = v == "on";
             return true;
         }},
        {"fade_ms", [](PlayerOptions &o, const std::string &v) {
             int ms = 0;
             if (!parseInt(v, ms) || ms < 0 || ms > 10000)
                 return false;
             o.fadeMs = ms;
             return true;
         }},
    };
    return keys;
}

// Applies every good line; returns what was wrong with the others (a bad
// line must not cost the good ones: data_dir above a typo still counts).
std::vector<std::string> readConfigFile(const QString &path, PlayerOptions &options)
{
    std::vector<std::string> errors;
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly | QIODevice::Text))
        return {path.toStdString() + ": cannot read: " + f.errorString().toStdString()};
    int lineNo = 0;
    while (!f.atEnd()) {
        ++lineNo;
        QString line = QString::fromUtf8(f.readLine());
        if (const auto hash = line.indexOf(u'#'); hash >= 0)
            line.truncate(hash);
        line = line.trimmed();
        if (line.isEmpty())
            continue;
        const std::string where = path.toStdString() + ":" + std::to_string(lineNo) + ": ";
        const auto eq = line.indexOf(u'=');
        if (eq <= 0) {
            errors.push_back(where + "expected 'key = value'");
            continue;
        }
        const std::string key = line.left(eq).trimmed().toStdString();
        const std::string value = line.mid(eq + 1).trimmed().toStdString();
        const auto it = playerKeys().find(key);
        if (it == playerKeys().end())
            continue; // the agent's key: it checks its own keys
        if (!it->second(options, value))
            errors.push_back(where + "bad value for '" + key + "': '" + value + "'");
    }
    return errors;
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
    const QString config = QString::fromStdString(options.configFile);
    if (options.configGiven || QFileInfo::exists(config))
        for (const auto &error : readConfigFile(config, options))
            options.configError += (options.configError.empty() ? "" : "; ") + error;

    static const std::map<QString, std::string> valued = {
        {"--data-dir", "data_dir"}, {"--trusted-keys", "trusted_keys"},
        {"--device-id", "device_id"}, {"--listen", "player_listen"}, {"--rotation", "rotation"},
        {"--fade-ms", "fade_ms"}, {"--video-engine", "video_engine"}, {"--web", "web"},
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
        const std::string &key = valued.at(a);
        if (!playerKeys().at(key)(options, value.toStdString()))
            return std::unexpected(OptionsError{"bad value for " + a.toStdString() + ": '" + value.toStdString() + "'"});
    }
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
