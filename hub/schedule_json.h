// hub/schedule_json.h — a stored schedule's parts as the operator API's JSON
// (docs/hub-api.md), and one [layout NAME] section written back as schedule
// text (docs/stoa-command.md, "Layouts, text, streams, sync and crop").
//
// Job: the shapes scheduleAsJson() and the layout routes (layout_api.cpp)
// share, and the text edits the layout and playlist routes make to the
// stored schedule.
// Invariants:
//  - the hub stores a schedule only as its text (publisher.h); nothing here
//    decides whether a layout is valid: the edited text goes through
//    putSchedule(), whose parser (publish/schedule_source.h, with
//    schedule::rectProblem()) is the one place the §12 rules live.
//    layoutSection() only checks what keeps the text well-formed: names of
//    [A-Za-z0-9._-] (no space, bracket, quote or comment character can
//    reach the file) and numbers where numbers go;
//  - withSection() changes exactly the lines of one section (its header to
//    the line before the next header) and leaves every other byte as it was.
#pragma once

#include "publish/schedule_source.h"

#include <QJsonObject>
#include <QString>

#include <expected>
#include <optional>
#include <string>

namespace stoa::hub {

// "contain", "cover" or "stretch".
const char *fitName(schedule::Fit fit);
// {"file", "url", "stream", "text", "scroll", "color", "background",
//  "duration_ms", "fit", "crop"}: absent kinds are null.
QJsonObject itemJson(const publish::SourceItem &item);
// {"name", "regions": [{"id", "playlist", "x", "y", "w", "h", "z"}]}
QJsonObject layoutJson(const publish::SourceLayout &layout);

// The [layout NAME] section for a PUT body {"regions": [...]}, each region
// {"id", "playlist", "x", "y", "w", "h", "z"?}; the error says which field
// of which region is not what it must be.
std::expected<QString, std::string> layoutSection(const QString &name, const QJsonObject &body);

// `text` (parsed as `parsed`) with the section `[kind name]` replaced by
// `section` (which ends in a newline), removed when `section` is empty, or
// appended when there is none. `kind`: "layout" or "playlist".
QString withSection(const QString &text, const publish::SourceSchedule &parsed, const QString &kind, const QString &name,
                    const QString &section);

} // namespace stoa::hub
