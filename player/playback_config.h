// player/playback_config.h — how the screen plays: what main() reads from
// stoa.conf and the command line for Playback and its RegionPlayers.
// Plain values, copied into Playback at construction; the manifest's own
// settings (rotation, fade_ms per item) win over these where they exist.
#pragma once

#include "player/web_setup.h"

#include <chrono>
#include <cstdint>
#include <string>

namespace stoa::player {

struct PlaybackConfig {
    std::string deviceId;
    int rotation = 0;                               // local setting; a manifest's settings win
    int fadeMs = 0;                                 // default fade for items without fade_ms
    std::chrono::milliseconds loadTimeout{5000};    // an item not ready by then is skipped
    std::chrono::milliseconds badRetry{60000};      // a failed item is tried again after this, doubled per failure
    std::chrono::milliseconds badRetryMax{1800000}; // ... up to this
    // The web engine's warm-up (a hidden blank page) not done by then: the
    // pages' load timers start anyway, and the failure is logged.
    std::chrono::milliseconds webWarmUpTimeout{30000};
    // false: no warm-up, a page's timer runs from its load (the behaviour
    // before it: bench/web_start_bench.sh's baseline).
    bool webWarmUp = true;
    std::chrono::milliseconds watchInterval{250};   // ChangeWatcher poll
    std::int64_t defaultImageMs = 10000;            // spec §3 default for images; also web pages without duration_ms
    // Play web items (config `web`, docs/web.md). Off, or not built in: they are skipped and reported.
    bool web = kWebBuiltIn;
};

// Why a web item is skipped without a slot: the feature is not built, or turned off.
inline constexpr const char *kWebNotBuiltIn = "web content not built in";
inline constexpr const char *kWebTurnedOff = "web content turned off (web = off)";

} // namespace stoa::player
