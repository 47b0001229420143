// publish/duration.h — human durations for the operator: "8s", "1500ms", "1h30m", "30d".
//
// Job: parse and print the duration syntax used by schedule sources and the
// --expires-in options. A duration is one or more <digits><unit> groups with
// unit ms, s, m, h or d (days of 24 h), e.g. "1m30s". Invariant: the parser
// is total (nullopt for anything else: no bare numbers, no negatives, no
// overflow) and results are > 0.
#pragma once

#include <QString>

#include <cstdint>
#include <optional>

namespace stoa::publish {

// Milliseconds, > 0; nullopt when `text` is not a duration.
std::optional<std::int64_t> parseDuration(const QString &text);

// The shortest exact spelling, e.g. 90000 -> "1m30s", 1500 -> "1s500ms".
QString formatDuration(std::int64_t ms);

} // namespace stoa::publish
