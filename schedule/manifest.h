// schedule/manifest.h — the manifest model of protocol-v1 §3 and v1.1 §12-14,
// as plain data.
//
// Job: hold a parsed, validated manifest. Parsing and validation live in
// manifest_parse.{h,cpp}; the schedule engine (engine.h) reads these structs.
// Invariants once a Manifest came out of the parser:
//  - every PlaylistItem has exactly one of `asset` / `url` / `text` / `stream`;
//  - every asset an item names is a key of `assets`;
//  - every playlist a ScheduleEntry, a Region or `defaultPlaylist` names
//    exists, every layout a ScheduleEntry or `defaultLayout` names exists;
//  - a ScheduleEntry names exactly one of a playlist or a layout;
//  - every FractionRect (region, crop) lies inside the unit square with
//    w, h > 0; region ids are unique within their layout;
//  - every item of a playlist with `sync` has `durationMs`, and the playlist
//    has at least one item;
//  - `timezone` is a valid IANA id known to Qt;
//  - times of day are minutes since local midnight in [0, 1440).
// Nothing here depends on the store, the network or the GUI.
#pragma once

#include "schedule/digest.h"

#include <QDate>
#include <QDateTime>
#include <QString>

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace stoa::schedule {

struct Asset {
    std::uint64_t size = 0;  // exact byte size the device must download
    std::string mediaType;   // e.g. "image/jpeg", "video/mp4"
};

enum class Fit { Contain, Cover, Stretch };

// A rectangle in fractions of a whole (v1.1 §12 regions: of the rotated
// screen; §13 crop: of the source picture). Valid when 0 <= x, 0 <= y,
// w > 0, h > 0, x + w <= 1 and y + h <= 1 (docs/protocol.md: the sums are
// compared with a tolerance of 1e-9, so 0.7 + 0.3 is not "out of bounds").
struct FractionRect {
    double x = 0;
    double y = 0;
    double w = 1;
    double h = 1;
    bool operator==(const FractionRect &) const = default;
};

// A `#rrggbb` colour (v1.1 §12 text items).
struct Rgb {
    std::uint8_t r = 0;
    std::uint8_t g = 0;
    std::uint8_t b = 0;
    bool operator==(const Rgb &) const = default;
};

// v1.1 §12 text item: a notice (centred, scaled to fit its rectangle) or,
// with `scroll`, a ticker moving right to left once per duration.
struct TextItem {
    QString text;                 // non-empty, any UTF-8
    bool scroll = false;
    Rgb color{255, 255, 255};     // absent in the manifest: white
    std::optional<Rgb> background; // absent: none, what lies below shows through
};

// Which of the four item kinds an item is (exactly one per item).
enum class ItemKind { Asset, Url, Text, Stream };

// Default length of an image, a text or a web page without duration_ms
// (spec §3 gives it for images; Stoa uses it for the other two as well,
// docs/protocol.md).
inline constexpr std::int64_t kDefaultItemMs = 10000;

struct PlaylistItem {
    // Exactly one of asset / url / text / stream (kind() says which).
    std::optional<Digest> asset;     // the manifest's "sha256:<hex>", checked at parse
    std::optional<QString> url;
    std::optional<TextItem> text;     // v1.1 §12
    std::optional<QString> stream;   // v1.1 §14: rtsp(s)://…, or http(s)://….m3u8 (HLS)
    // Absent: image, text and web page kDefaultItemMs, video to its end.
    // Always present on stream items and on every item of a sync playlist.
    std::optional<std::int64_t> durationMs;
    Fit fit = Fit::Contain;
    std::optional<FractionRect> crop; // v1.1 §13: only this part of the picture is shown, fitted by `fit`
    // Stoa's addition (docs/protocol.md): the incoming item fades in over this
    // many ms. Unknown to §3, so never a reason to reject: a value that is not
    // an integer in 0-10000 is ignored (absent: the player's default).
    std::optional<int> fadeMs;

    // The kind whose field is set (Asset for a hand-built item with none).
    ItemKind kind() const
    {
        return url ? ItemKind::Url : text ? ItemKind::Text : stream ? ItemKind::Stream : ItemKind::Asset;
    }
};

// v1.1 §13: a synchronised playlist's slots are laid out from `epoch`
// (sync_slot.h says which item plays at a trusted instant).
struct PlaylistSync {
    QDateTime epoch; // UTC
};

struct Playlist {
    std::vector<PlaylistItem> items;
    std::optional<PlaylistSync> sync; // v1.1 §13; absent: items simply follow each other
};

// v1.1 §12: one rectangle of a layout, playing its own playlist.
struct Region {
    std::string id;        // unique within its layout
    FractionRect rect;     // of the (rotated) screen
    int z = 0;             // higher on top; equal z: later in `regions` on top
    std::string playlist;  // the playlist it plays
};

// v1.1 §12: several regions on one screen.
struct Layout {
    std::vector<Region> regions; // non-empty, in manifest order
};

// What a schedule entry, a default or a resolved answer shows: a playlist
// full-screen, or a layout of regions (v1.1 §12). Playlists and layouts are
// separate name spaces.
enum class ContentKind { Playlist, Layout };
struct ContentRef {
    ContentKind kind = ContentKind::Playlist;
    std::string name;
    auto operator<=>(const ContentRef &) const = default;
};

enum class Weekday { Mon = 1, Tue, Wed, Thu, Fri, Sat, Sun }; // matches Qt::DayOfWeek

struct ScheduleEntry {
    // Exactly one of playlist / layout is non-empty (v1.1 §12); content()
    // says which as one value.
    std::string playlist;
    std::string layout;
    int priority = 0;
    std::vector<Weekday> days;          // empty: every day
    std::optional<int> fromMinute;      // absent: start of day
    std::optional<int> untilMinute;     // absent: end of day; from > until wraps midnight
    std::optional<QDate> startDate;     // inclusive, local date
    std::optional<QDate> endDate;       // inclusive, local date

    ContentRef content() const
    {
        return layout.empty() ? ContentRef{ContentKind::Playlist, playlist} : ContentRef{ContentKind::Layout, layout};
    }
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

// Each type's §3 `type` string, in the spec's order (publishers list them in
// their messages).
inline constexpr std::array<std::pair<std::string_view, CommandType>, 6> kCommandTypes{{
    {"screenshot", CommandType::Screenshot}, {"restart_player", CommandType::RestartPlayer},
    {"reboot", CommandType::Reboot},         {"clear_cache", CommandType::ClearCache},
    {"display_on", CommandType::DisplayOn},  {"display_off", CommandType::DisplayOff},
}};

// The type a §3 `type` string names; Unknown for anything else.
inline CommandType commandType(std::string_view name)
{
    for (const auto &[text, type] : kCommandTypes)
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
    std::map<Digest, Asset> assets;   // keyed by the asset's digest
    std::map<std::string, Playlist> playlists;
    std::map<std::string, Layout> layouts; // v1.1 §12
    std::vector<ScheduleEntry> schedule;
    std::optional<std::string> defaultPlaylist;
    // v1.1 §12: when both defaults are given, this one wins on this (1.1)
    // device; a 1.0 device reads only defaultPlaylist. defaultContent() says
    // which is in force.
    std::optional<std::string> defaultLayout;
    std::optional<DisplayWindow> display;
    Settings settings;
    std::vector<Command> commands;

    // What plays when no schedule entry is active; nullopt: the idle screen.
    std::optional<ContentRef> defaultContent() const
    {
        if (defaultLayout) return ContentRef{ContentKind::Layout, *defaultLayout};
        if (defaultPlaylist) return ContentRef{ContentKind::Playlist, *defaultPlaylist};
        return std::nullopt;
    }
};

} // namespace stoa::schedule
