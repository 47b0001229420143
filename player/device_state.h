// player/device_state.h — everything the device can say about itself, as plain data.
//
// Job: one snapshot (DeviceState) of identity, network, sync agent, manifests,
// what plays, cache, clock and health, gathered from the real sources
// (the store, the agent's status in the store, the player's own state, the
// kernel) without Qt Quick. The diagnostics screen shows it; the player's
// /status JSON (spec §5) and its metrics are built from the same struct, so
// every §5 field has a home here (noted "§5 x.y" below).
//
// Invariants:
//  - gathering never fails and never throws: a source that cannot be read
//    leaves its fields at "unknown" (nullopt / empty) and adds a sentence to
//    `storeErrors`; no agent status yet is `sync == nullopt`;
//  - times are UTC; "now" is the player's trusted now (spec §7), so relative
//    times ("12 s ago") agree with what the schedule uses;
//  - health is the one schedule::DeviceHealth: its sensor fields come
//    through an injected HealthProvider (the platform layer plugs in the
//    Pi's; without one they are unknown), its disk fields from the store's
//    cache::diskSpace, filled here.
#pragma once

#include "cache/space.h"
#include "cache/sync_status.h"
#include "player/network_info.h"
#include "schedule/device_health.h"
#include "schedule/trusted_time.h"

#include <QDateTime>
#include <QJsonObject>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace stoa::cache {
class Store;
}

namespace stoa::player {

// The sensors, called on the GUI thread at each refresh; must be quick (reads
// a few sysfs files). Its disk fields are not used (gatherDeviceState reads
// the store's).
using HealthProvider = std::function<schedule::DeviceHealth()>;

// An adopted or staged manifest as the store holds it.
struct ManifestInfo {
    std::int64_t version = 0;             // §5 manifest.version
    std::optional<QDateTime> issuedAt;    // nullopt when the payload did not parse
    std::optional<QDateTime> expiresAt;   // §5 manifest.expires_at
    bool stale = false;                   // expired by trusted now; still playing (§5 manifest.stale)
    std::vector<std::string> signerKeyIds;// keyids named by the envelope's signatures (verified when stored)
    std::size_t assetCount = 0;
    std::uint64_t assetBytes = 0;         // sum of declared asset sizes
    std::string parseError;               // non-empty: the stored envelope/payload did not parse
};

// An item the player skipped under the current manifest.
struct BadItem {
    std::string key;    // "sha256:<hex>" or the URL
    std::string reason; // as logged in the play record: "asset missing from the store"
};

// A region of the layout in force and what it shows (docs/protocol.md,
// now_playing.regions[]); asset and url both absent: it shows nothing.
struct RegionView {
    std::string id;                   // the region's id in the layout
    std::string playlist;             // the item's playlist, else the region's in force; empty: none
    std::optional<std::string> asset; // "sha256:<hex>"
    std::optional<std::string> url;   // web pages and streams
    std::string kind;                 // "image", "video", "web", "text", "stream"; empty: nothing shown
};

// What the player itself knows (from Playback::view()), handed to gatherDeviceState.
struct PlayerView {
    bool idle = true;                          // idle screen up (nothing playable or no manifest)
    std::string statusLine;                    // the idle screen's / playing line
    std::optional<std::int64_t> playingVersion;// the manifest version the player adopted
    std::string playlist;                      // §5 now_playing.playlist (empty when idle)
    std::optional<std::string> asset;          // §5 now_playing.asset, "sha256:<hex>"
    std::optional<std::string> url;            // §5 now_playing.url
    std::string kind;                          // "image", "video", "web"; empty when idle
    std::vector<BadItem> badItems;             // skipped under the current manifest, oldest first
    std::int64_t transitions = 0;              // items switched to since start
    int rotation = 0;                          // degrees in force
    std::string syncState;                     // v1.1 §13 sync.state; empty: no synchronised playlist plays
    // While a v1.1 §12 layout is in force: its name and its regions in
    // manifest order (now_playing.layout / .regions, docs/protocol.md); the
    // v1 fields above are then the first region's showing an item.
    std::optional<std::string> layout;
    std::vector<RegionView> regions;           // empty without a layout
};

// The now_playing object of /status and of kv player.now_playing (which the
// heartbeat carries as it is): spec §5's {"playlist", "asset", "url"}
// (null when absent), and while a layout is in force "layout" and
// "regions": [{"id", "playlist", "asset", "url"}] in manifest order; full
// screen: neither key. One writer for both, so they never disagree.
QJsonObject nowPlayingObject(const PlayerView &p);

// Inputs that do not live in the store.
struct GatherInputs {
    std::string deviceId;              // §5 device_id
    std::string configuredServer;      // the shared config's `server` (empty: none)
    std::uint64_t quotaBytes = 0;      // the shared config's `quota` (0: none)
    schedule::TrustedNow now;          // the player's trusted now
    std::int64_t systemUtcMs = 0;      // the raw system clock at the same moment
    std::int64_t processUptimeMs = -1; // -1: unknown
    PlayerView player;
    HealthProvider health;             // empty: sensors unknown
    std::vector<std::string> startupProblems; // found at start (a refused config line), shown as problems
    std::function<std::string()> display;     // the display power's state in words; empty: not managed
    std::string sysClassNet = "/sys/class/net"; // link states (tests may point elsewhere)
};

struct CacheInfo {
    std::uint64_t bytesUsed = 0;       // indexed blobs (§5 cache.bytes_used)
    std::uint64_t blobCount = 0;       // §5 cache.assets
    std::uint64_t pinnedBytes = 0;     // needed by the active or staged manifest
    std::uint64_t partialBytes = 0;    // partial downloads at their final size
    std::uint64_t quotaBytes = 0;      // §5 cache.bytes_limit; 0: no quota (the disk is the limit)
    bool known = false;                // false: the store's usage could not be read
};

struct ClockInfo {
    QDateTime trustedNowUtc;                 // §5 sent_at is taken from here
    bool trusted = false;                    // §5 clock.trusted
    std::string source;                      // §5 clock.source: "ntp", "system", "floor"
    std::int64_t systemUtcMs = 0;            // the raw system clock
    std::optional<std::int64_t> floorUtcMs;  // persisted floor (kv time_floor_ms): the last trusted time saved
    std::optional<std::int64_t> sinceFloorMs;// trusted now - floor (offset from the last trusted time)
    std::int64_t systemBehindMs = 0;         // trusted now - system clock (> 0: the system clock is behind)
};

struct DeviceState {
    // Identity.
    std::string deviceId;                    // §5 device_id
    std::string softwareVersion;             // §5 software_version (STOA_VERSION)
    std::int64_t processUptimeS = -1;        // the player process; -1 unknown
    std::int64_t systemUptimeS = -1;         // the machine (/proc/uptime); §5 uptime_s; -1 unknown
    std::string dataDir;

    // Where content comes from.
    std::string server;                      // configured server, else the one the agent reports; empty: none
    bool serverConfigured = false;           // the config or the agent names a server
    std::vector<InterfaceInfo> interfaces;   // loopback excluded, by name

    // The agent (nullopt: it never wrote its status: "no agent state yet").
    std::optional<cache::SyncStatus> sync;   // §5 sync.* (last_success_at, last_error, consecutive_failures, staged_blocked)

    // Manifests.
    std::optional<ManifestInfo> active;      // nullopt: none adopted yet (§5 manifest: null)
    std::optional<ManifestInfo> staged;      // waiting for its assets
    std::optional<std::int64_t> rollbackFloor;
    std::optional<double> stagedProgress;    // 0..1 of the staged manifest's bytes present (agent's count)

    // The player.
    PlayerView player;                       // §5 now_playing.{playlist,asset,url} (+ layout, regions)
    std::vector<std::string> pendingCommands;// §5 pending_commands: ids handed to the player, not done

    CacheInfo cache;
    ClockInfo clock;
    schedule::DeviceHealth health;           // §5 health.* (and what /status leaves out: diagnostics)

    // The display's power as the player last set it ("on (vcgencmd: display_power=1)",
    // "off until 07:00 UTC (command)", "failed: ..."); empty: not managed (display_power = none).
    std::string display;

    // Problems found at start-up, e.g. "stoa.conf:3: unknown key 'sever'".
    std::vector<std::string> startupProblems;

    // Sentences about sources that could not be read ("cannot read the staged manifest: database is locked").
    std::vector<std::string> storeErrors;
};

// Gathers a snapshot from `store` and `in`. Never fails (see invariants).
DeviceState gatherDeviceState(cache::Store &store, const GatherInputs &in);

// Seconds since boot from /proc/uptime; -1 when unreadable.
std::int64_t systemUptimeSeconds();

// Milliseconds since this process started (from /proc/self/stat); -1 when unreadable.
qint64 msSinceProcessStart();

} // namespace stoa::player
