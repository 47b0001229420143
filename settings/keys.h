// settings/keys.h — every key of /etc/stoa/stoa.conf, in one table.
//
// Job: the one list of the keys both device processes share a file for:
// each key's name, which process reads it, its type (with range or
// choices), its default and a one-line description, and the typed field of
// `Settings` it sets. The agent, the player, `stoa provision`, the hub's
// provisioning bundle, `stoa-syncd --help` and docs/configuration.md all
// come from this table (tests/settings checks the doc against it).
// Invariants: a key's default parses as its own type (tests/settings);
// `defaults()` is the table's defaults applied to a `Settings`, so the
// defaults live here only; a key read by one process is still a known key
// for the other (a shared file must not be an error for either).
#pragma once

#include "settings/choices.h"

#include <chrono>
#include <cstdint>
#include <expected>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace stoa::settings {

// The names, for code that writes a stoa.conf (hub/provisioning.cpp) or
// maps a flag to a key: a misspelt constant does not compile.
namespace key {
inline constexpr std::string_view server = "server";
inline constexpr std::string_view dataDir = "data_dir";
inline constexpr std::string_view trustedKeys = "trusted_keys";
inline constexpr std::string_view deviceId = "device_id";
inline constexpr std::string_view syncdListen = "syncd_listen";
inline constexpr std::string_view caFile = "ca_file";
inline constexpr std::string_view tokenFile = "token_file";
inline constexpr std::string_view syncInterval = "sync_interval_s";
inline constexpr std::string_view statusInterval = "status_interval_s";
inline constexpr std::string_view unsupportedRetry = "unsupported_retry_s";
inline constexpr std::string_view backoffBase = "backoff_base_s";
inline constexpr std::string_view backoffCap = "backoff_cap_s";
inline constexpr std::string_view parallelDownloads = "parallel_downloads";
inline constexpr std::string_view maxDownloadRate = "max_download_rate";
inline constexpr std::string_view downloadWindow = "download_window";
inline constexpr std::string_view quota = "quota";
inline constexpr std::string_view minFree = "min_free";
inline constexpr std::string_view lowSpeedLimit = "low_speed_limit";
inline constexpr std::string_view lowSpeedTime = "low_speed_time_s";
inline constexpr std::string_view playsBatch = "plays_batch";
inline constexpr std::string_view maxPlayRecords = "max_play_records";
inline constexpr std::string_view rebootCommand = "reboot_command";
inline constexpr std::string_view repairInterval = "repair_interval_s";
inline constexpr std::string_view scrubRate = "scrub_rate";
inline constexpr std::string_view receiveBuffer = "receive_buffer";
inline constexpr std::string_view playerListen = "player_listen";
inline constexpr std::string_view rotation = "rotation";
inline constexpr std::string_view fadeMs = "fade_ms";
inline constexpr std::string_view displayPower = "display_power";
inline constexpr std::string_view videoEngine = "video_engine";
inline constexpr std::string_view web = "web";
inline constexpr std::string_view hubConsoleUrl = "hub_console_url";
} // namespace key

using Millis = std::chrono::milliseconds;
using Window = std::pair<int, int>; // local minutes [from, until); may wrap midnight

// Every key's typed value. Start from `defaults()`, not from `Settings{}`
// (whose members are only zeroed: the defaults are the table's).
struct Settings {
    std::string server, dataDir, trustedKeys, deviceId, syncdListen, playerListen;
    std::string caFile, tokenFile, rebootCommand;
    std::string hubConsoleUrl; // the hub console's address: the diagnostics QR code opens this device's page there
    Millis syncInterval{}, statusInterval{}, unsupportedRetry{}, repairInterval{};
    Millis backoffBase{}, backoffCap{}, fadeMs{};
    std::int64_t parallelDownloads = 0, lowSpeedTime = 0, playsBatch = 0, maxPlayRecords = 0, rotation = 0;
    std::uint64_t maxDownloadRate = 0, quota = 0, minFree = 0, lowSpeedLimit = 0;
    std::uint64_t receiveBuffer = 0, scrubRate = 0;
    std::optional<Window> downloadWindow;
    DisplayPower displayPower = DisplayPower::None;
    VideoEngine videoEngine = VideoEngine::Pipeline;
    bool web = false;
};

enum class Reader { Agent, Player, Both };

// String: any text; Path: a file or directory; Url: the server's base URL
// (no spaces; the agent judges the scheme when it connects); Address:
// ADDR:PORT. For these four (and TimeWindow) an empty value is accepted exactly
// when the default is empty ("none").
enum class Type { String, Path, Url, Address, Bool, Int, Size, Seconds, Milliseconds, TimeWindow, Enum };

using Field = std::variant<std::string Settings::*, bool Settings::*, std::int64_t Settings::*,
                           std::uint64_t Settings::*, Millis Settings::*, std::optional<Window> Settings::*,
                           DisplayPower Settings::*, VideoEngine Settings::*>;

struct Key {
    std::string_view name;
    Reader reader;
    Type type;
    std::string_view defaultText; // as written in the file
    std::string_view description; // one line, for --help readers and docs/configuration.md
    Field field;
    // Inclusive range in the type's unit (Int: itself, Size: bytes,
    // Seconds and Milliseconds: milliseconds); Int values are multiples of step.
    std::int64_t min = 0;
    std::int64_t max = std::numeric_limits<std::int64_t>::max();
    std::int64_t step = 1;
    std::span<const std::string_view> choices = {}; // Enum: index = the enum's value
};

// The table, in the order of `stoa-syncd --help` and the docs.
std::span<const Key> keys();
// nullptr for a key nobody reads.
const Key *findKey(std::string_view name);

const Settings &defaults();

std::string_view readerName(Reader reader); // "agent", "player", "both"
std::string typeName(const Key &key);       // "size (K/M/G), 0–64M", "one of: drm, vcgencmd, cec, none"

// Parses `text` as `key`'s value into `into`; on error, what a good value
// looks like. Nothing is written on error.
std::expected<void, std::string> assign(const Key &key, std::string_view text, Settings &into);

} // namespace stoa::settings
