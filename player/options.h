// player/options.h — stoa-player's settings: spec §9 flags over the config file.
//
// The config file is the one the sync agent reads (/etc/stoa/stoa.conf),
// read by settings/ in lenient mode: every good line applies, every bad one
// (not `key = value`, an unknown key, a bad value) is a problem naming file
// and line that the diagnostics screen shows, and never stops the player.
// The player takes its keys (settings/keys.h, "read by" player or both:
// the agent's server and quota are shown on the diagnostics screen) from
// the parsed result. A flag wins over the file. Qt's own options
// (-platform, ...) are taken out by QGuiApplication before we parse.
//
// Options beyond §9, for operators and harnesses (docs/player.md):
//   --fake-now T        schedule as if the wall clock read T (RFC 3339) at
//                       start, advancing with the monotonic clock
//   --windowed          a 1280x720 window instead of full screen
//   --exit-after MS     quit after MS of monotonic time (benchmarks, demos)
//   --screenshot FILE   save a grab of the window when quitting via --exit-after
//   --diagnostics       open the diagnostics screen at start (stays until closed)
//   --no-auto-diagnostics  never open it by itself (benchmarks, kiosks set up by hand)
//   --frame-log FILE    write every frame swap and switch to FILE at exit
//                       (player/frame_log.h; bench/frames_bench.cpp)
// `server` has no flag: the player never talks to it, it only shows it.
#pragma once

#include "settings/choices.h"

#include <QDateTime>
#include <QStringList>

#include <cstdint>
#include <expected>
#include <optional>
#include <string>

namespace stoa::player {

struct PlayerOptions {
    std::string configFile = "/etc/stoa/stoa.conf"; // missing default file is fine, a named one must exist
    bool configGiven = false;             // --config was on the command line
    std::string dataDir = "/var/lib/stoa";
    std::string trustedKeys = "/etc/stoa/root.pub"; // accepted; the store only holds verified envelopes
    std::string deviceId;                 // empty: detected (machine id)
    std::string listen = "127.0.0.1:0";   // /healthz /metrics /status (config key player_listen)
    settings::DisplayPower displayPower = settings::DisplayPower::None; // config display_power
    int rotation = 0;                     // 0/90/180/270 clockwise; a manifest's settings override it
    int fadeMs = 0;                       // default cross-fade for items without fade_ms; 0: hard cut
    // config video_engine: only `pipeline` plays (video_pipeline.h); `qt`
    // (Qt's MediaPlayer, removed) is accepted so an older stoa.conf still
    // works, and main() logs that it plays with the pipeline engine.
    settings::VideoEngine videoEngine = settings::VideoEngine::Pipeline;
    bool web = true;                      // config web = on|off, --web: play web items (when built in; docs/web.md)
    bool demo = false;                    // build and play the bundled demo in a temporary store
    bool help = false;
    bool version = false;
    bool windowed = false;
    std::optional<QDateTime> fakeNow;     // UTC; see --fake-now
    std::optional<std::int64_t> exitAfterMs;
    std::string screenshotFile;
    std::string frameLogFile;             // --frame-log: empty = no frame log
    std::string server;                   // config `server` (the agent's): shown, "none" opens diagnostics
    std::uint64_t quotaBytes = 0;         // config `quota` (the agent's, K/M/G suffixes): cache usage against it
    std::string consoleUrl;               // config `hub_console_url`: the diagnostics QR code links this device's page
    bool diagnostics = false;             // --diagnostics
    bool autoDiagnostics = true;          // --no-auto-diagnostics turns it off
    // A config FILE that could not be used ("stoa.conf:3: bad value for
    // 'rotation': '45'"): the player starts anyway with the defaults for
    // what the file would have set, and its diagnostics screen shows this.
    // Errors in flags are still fatal (exit 2): whoever typed them is there.
    std::string configError;
};

struct OptionsError {
    std::string message; // "stoa.conf:3: bad value for 'rotation': '45'"
};

// `arguments` as QCoreApplication::arguments() (program name first).
std::expected<PlayerOptions, OptionsError> parsePlayerOptions(const QStringList &arguments);

const char *playerUsage();

} // namespace stoa::player
