// publish/schedule_source.h — the operator's schedule file ("schedule.ini").
//
// Job: parse the friendly, line-oriented source format documented in
// docs/stoa-command.md ("The schedule source") into plain structs that
// publish.cpp turns into a §3 manifest. Media are named by file name relative
// to the source directory, times are HH:MM, durations like "8s".
//
// Invariants of a parsed SourceSchedule:
//  - `timezone` is an IANA id known to Qt;
//  - playlist and window names are unique, every window / `default` names an
//    existing playlist, every playlist has at least one item;
//  - each item has exactly one of `file` / `url`; url items have a duration;
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
    QString file;                            // media file, relative to the source dir; empty for url items
    QString url;                             // http(s) URL; empty for file items
    std::optional<std::int64_t> durationMs;  // absent: images get `image-duration`, videos play to their end
    std::optional<schedule::Fit> fit;        // absent: the manifest default (contain)
    int line = 0;                            // where it was written, for later error messages
};

struct SourcePlaylist {
    QString name;
    std::vector<SourceItem> items; // at least one
    int line = 0;
};

// One [window NAME] section: a §3 schedule entry.
struct SourceWindow {
    QString name;                 // the section name (only for messages)
    QString playlist;             // defaults to the window's name
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
    std::optional<schedule::DisplayWindow> display;
    schedule::Settings settings;
    std::int64_t imageDurationMs = 10000; // `image-duration =`, for image items without one
    std::vector<SourcePlaylist> playlists; // in file order
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
