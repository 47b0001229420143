// tools/inspect.h — `stoa inspect`: what a signed document says, and what plays when.
//
// Job: decode a manifest or keys envelope into an operator-readable report;
// for manifests, answer "what plays at T and until when" (resolveNowPlaying /
// resolveDisplay of schedule/engine.h, the player's own functions) or print a
// timeline of changes over N days by following nextChange.
// Invariants: the report says plainly whether signatures were checked; the
// timeline lists exactly the instants at which the engine's answer changes
// (non-exact sweeps are resolved again, never printed as changes).
#pragma once

#include "schedule/keys.h"
#include "schedule/manifest.h"
#include "publish/error.h"

#include <QByteArrayView>
#include <QDateTime>
#include <QString>
#include <QTimeZone>

#include <expected>
#include <optional>
#include <vector>

namespace stoa::tools {

struct InspectOptions {
    std::optional<QString> at;      // --at as typed (parseTimeArgument, in the manifest's zone); absent: the timeline
    QDateTime from;                 // timeline start (UTC); invalid: now
    int days = 7;                   // timeline length
    std::optional<std::vector<schedule::PublicKey>> trusted; // --trusted-keys: check signatures
};

// --at values: RFC 3339 with an offset ("2026-11-23T07:00:00Z"), or a local
// time without one ("2026-11-23T07:00", "2026-11-23 07:00[:SS]") read in
// `zone` when given, else refused.
std::optional<QDateTime> parseTimeArgument(const QString &text, const std::optional<QTimeZone> &zone);

// The whole report. Fails only when the envelope does not parse (or, with
// `trusted`, does not verify); the report text ends with a newline.
std::expected<QString, publish::Error> inspectEnvelope(QByteArrayView envelope, const InspectOptions &options);

// Pieces of the report, for tests and other tools.
QString describeManifest(const schedule::Manifest &manifest);
QString describeNowPlaying(const schedule::Manifest &manifest, const QDateTime &atUtc);
QString describeTimeline(const schedule::Manifest &manifest, const QDateTime &fromUtc, int days);

} // namespace stoa::tools
