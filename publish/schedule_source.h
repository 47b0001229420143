// publish/schedule_source.h — the operator's schedule file ("schedule.ini").
//
// Job: parse the friendly, line-oriented source format documented in
// docs/stoa-command.md ("The schedule source") into plain structs that
// publish.cpp turns into a §3 manifest. Media are named by file name relative
// to the source directory, times are HH:MM, durations like "8s".
//
// Invariants of a parsed SourceSchedule:
//  - `timezone` is an IANA id known to Qt;
//  - playlist, layout and window names are unique (playlists and layouts are
//    separate name spaces); every window names exactly one existing playlist
//    or layout; `default` names a playlist, `default-layout` a layout; every
//    region names a playlist; every playlist and layout is non-empty;
//  - each item has exactly one of `file` / `url` / `stream` / `text`; url and
//    stream items have a duration; region rectangles and crops satisfy
//    schedule::rectProblem(); in a playlist with `sync`, every item but
//    images and texts (which get `image-duration`) has a duration;
//  - every error message starts with "<file>:<line>: " (or "<file>: " for
//    whole-file problems) and names the offending key or value.
// Media files are NOT opened here (publish does that, quoting the same line).
#pragma once

#include "schedule/manifest.h"
#include "publish/error.h"

#include <QByteArrayView>
#include <QString>

#include <cstdint>
#include <expected>
#include <optional>
#include <vector>

namespace stoa::publish {

struct SourceItem {
    QString file;                            // media file, relative to the source dir; empty for other kinds
    QString url;                             // http(s) web page; empty for other kinds
    QString stream;                          // v1.1 §14 live stream (rtsp(s)://, http(s)://….m3u8); empty for other kinds
    std::optional<schedule::TextItem> text;  // v1.1 §12 text item (`text "…" …`)
    std::optional<std::int64_t> durationMs;  // absent: images and texts get `image-duration`, videos play to their end
    std::optional<schedule::Fit> fit;        // absent: the manifest default (contain)
    std::optional<schedule::FractionRect> crop; // v1.1 §13 `crop=X,Y,W,H`
    int line = 0;                            // where it was written, for later error messages
};

struct SourcePlaylist {
    QString name;
    std::vector<SourceItem> items;   // at least one
    std::optional<QDateTime> sync;   // v1.1 §13 `sync = EPOCH` (UTC): a synchronised playlist
    int line = 0;
};

// One region line of a [layout NAME] section (v1.1 §12).
struct SourceRegion {
    QString id;                  // unique in its layout
    QString playlist;
    schedule::FractionRect rect; // of the screen
    int z = 0;
    int line = 0;
};

struct SourceLayout {
    QString name;
    std::vector<SourceRegion> regions; // at least one, in file order
    int line = 0;
};

// One [window NAME] section: a §3 schedule entry.
struct SourceWindow {
    QString name;                 // the section name (only for messages)
    // Exactly one is non-empty once parsed: `playlist =` or `layout =`;
    // neither given, the playlist (or else the layout) named like the window.
    QString playlist;
    QString layout;
    int priority = 0;
    std::vector<schedule::Weekday> days; // empty: every day
    std::optional<int> fromMinute;       // absent with untilMinute: all day
    std::optional<int> untilMinute;
    std::optional<QDate> startDate;
    std::optional<QDate> endDate;
    int line = 0;
};

struct SourceSchedule {
    QString fileName;                     // as given, for messages
    QString timezone;                     // IANA id (required)
    std::vector<QString> devices;         // `devices =`; empty: "*"
    std::optional<QString> defaultPlaylist;
    std::optional<QString> defaultLayout; // `default-layout =` (v1.1 §12; wins over `default` on 1.1 devices)
    std::optional<schedule::DisplayWindow> display;
    schedule::Settings settings;
    std::int64_t imageDurationMs = 10000; // `image-duration =`, for image items without one
    std::vector<SourcePlaylist> playlists; // in file order
    std::vector<SourceLayout> layouts;     // in file order
    std::vector<SourceWindow> windows;     // in file order (= schedule order)
    std::vector<schedule::Command> commands;
};

// The default file name looked for in a source directory.
inline constexpr char kSourceFileName[] = "schedule.ini";

// `fileName` only labels messages.
std::expected<SourceSchedule, Error> parseScheduleSource(QByteArrayView text, const QString &fileName);

// True when `id` is a §1 device id: 1-64 of [A-Za-z0-9._-].
bool isValidDeviceId(const QString &id);

} // namespace stoa::publish
