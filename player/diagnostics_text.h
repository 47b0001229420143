// player/diagnostics_text.h — a DeviceState in words, for the diagnostics screen.
//
// Job: turn the snapshot into labelled rows (grouped in sections, two
// columns) and "the last errors in plain words", so the QML only lays text
// out and the wording is tested without a window.
//
// Invariants: every row has a stable `key` (the QML item's objectName is
// "diag_" + key, which tests and support scripts rely on); a value is never
// empty (unknown is "n/a", absent agent state is "no agent state yet");
// times are shown in UTC with a relative part against the trusted now.
#pragma once

#include "player/device_state.h"

#include <QString>
#include <QStringList>

#include <vector>

namespace stoa::player {

struct DiagRow {
    QString key;   // stable id: "server", "last_attempt", "net_eth0", ...
    QString label; // "Last attempt"
    QString value; // "10:00:03 UTC (12 s ago): cannot connect: ..."
    QString level; // "" neutral, "ok", "warn", "bad" (colour on screen)
};

struct DiagSection {
    QString title;
    std::vector<DiagRow> rows;
};

struct DiagnosticsText {
    QString headline;      // one line: what is wrong first, else what plays
    QString headlineLevel; // "ok", "warn", "bad"
    std::vector<DiagSection> left;  // network, sync
    std::vector<DiagSection> right; // content, device
    QStringList errors;    // the last errors in plain words, most important first
};

DiagnosticsText describeDeviceState(const DeviceState &s);

// Technical error text (curl, HTTP, store) turned into words an installer
// can act on, with the original kept in parentheses.
QString plainError(const std::string &raw);

QString formatBytes(std::uint64_t bytes);   // "12.3 MiB"
QString formatDuration(std::int64_t seconds); // "4 d 3 h", "2 h 12 min", "45 s"
// "2026-11-23 10:00:03 UTC (12 s ago)" / "(in 4 s)"; "never" for <= 0.
QString formatWhen(std::int64_t utcMs, std::int64_t nowMs);

} // namespace stoa::player
