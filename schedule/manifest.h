// schedule/manifest.h — the manifest model of protocol-v1 §3, as plain data.
//
// Job: hold a parsed, validated manifest. Parsing and validation live in
// manifest_parse.{h,cpp}; the schedule engine (engine.h) reads these structs.
// Invariants once a Manifest came out of the parser:
//  - every PlaylistItem has exactly one of `asset` / `url`;
//  - every asset an item names is a key of `assets`;
//  - every playlist a ScheduleEntry or `defaultPlaylist` names exists;
//  - `timezone` is a valid IANA id known to Qt;
//  - times of day are minutes since local midnight in [0, 1440).
// Nothing here depends on the store, the network or the GUI.
#pragma once

#include <QDate>
#include <QDateTime>
#include <QString>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace stoa::schedule {

// An asset reference as written in the manifest: "sha256:<64 lowercase hex>".
struct AssetRef {
    std::string hex; // the 64 lowercase hex digits, without the "sha256:" prefix
    auto operator<=>(const AssetRef &) const = default;
};

struct Asset {
    std::uint64_t size = 0;  // exact byte size the device must download
    std::string mediaType;   // e.g. "image/jpeg", "video/mp4"
};

enum class Fit { Contain, Cover, Stretch };

struct PlaylistItem {
    std::optional<AssetRef> asset;      // exactly one of asset / url
    std::optional<QString> url;
    std::optional<std::int64_t> durationMs; // absent: image 10000, video to its end
    Fit fit = Fit::Contain;
    // Stoa's addition (docs/protocol.md): the incoming item fades in over this
    // many ms. Unknown to §3, so never a reason to reject: a value that is not
    // an integer in 0-10000 is ignored (absent: the player's default).
    std::optional<int> fadeMs;
};

struct Playlist {
    std::vector<PlaylistItem> items;
};

enum class Weekday { Mon = 1, Tue, Wed, Thu, Fri, Sat, Sun }; // matches Qt::DayOfWeek

struct ScheduleEntry {
    std::string playlist;
    int priority = 0;
    std::vector<Weekday> days;          // empty: every day
    std::optional<int> fromMinute;      // absent: start of day
    std::optional<int> untilMinute;     // absent: end of day; from > until wraps midnight
    std::optional<QDate> startDate;     // inclusive, local date
    std::optional<QDate> endDate;       // inclusive, local date
};

struct DisplayWindow {
    int onMinute = 0;  // screen powered on in [on, off), wrapping like schedule times
    int offMinute = 0;
};

struct Settings {
    std::optional<int> syncIntervalS;   // default 60, minimum 5
    std::optional<int> statusIntervalS; // default 60, minimum 10
    std::optional<int> rotation;        // 0, 90, 180, 270
};

// Spec §3 command types (v1), the one list both processes use.
enum class CommandType { Screenshot, RestartPlayer, Reboot, ClearCache, DisplayOn, DisplayOff, Unknown };

// The type a §3 `type` string names; Unknown for anything else.
inline CommandType commandType(std::string_view name)
{
    static constexpr std::pair<std::string_view, CommandType> kTypes[] = {
        {"screenshot", CommandType::Screenshot}, {"restart_player", CommandType::RestartPlayer},
        {"reboot", CommandType::Reboot},         {"clear_cache", CommandType::ClearCache},
        {"display_on", CommandType::DisplayOn},  {"display_off", CommandType::DisplayOff},
    };
    for (const auto &[text, type] : kTypes)
        if (text == name)
            return type;
    return CommandType::Unknown;
}

// Carried out by the player (the agent hands it over through the store);
// the others by the agent itself.
inline bool runsInPlayer(CommandType type)
{
    return type == CommandType::Screenshot || type == CommandType::RestartPlayer ||
           type == CommandType::DisplayOn || type == CommandType::DisplayOff;
}

struct Command {
    std::string id;
    std::string type; // as sent: unknown types are kept so they can be reported
};

struct Manifest {
    int schema = 1;
    std::int64_t version = 0;
    QDateTime issuedAt;  // UTC
    QDateTime expiresAt; // UTC
    std::vector<std::string> devices; // {"*"} or device ids
    QString timezone;                 // IANA id
    std::map<AssetRef, Asset> assets;
    std::map<std::string, Playlist> playlists;
    std::vector<ScheduleEntry> schedule;
    std::optional<std::string> defaultPlaylist;
    std::optional<DisplayWindow> display;
    Settings settings;
    std::vector<Command> commands;
};

} // namespace stoa::schedule
