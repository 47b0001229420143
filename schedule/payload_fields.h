// schedule/payload_fields.h — typed readers for fields of signed payloads.
//
// Job: the value formats shared by the manifest (§3) and the keys document
// (§4): integers, RFC 3339 times, calendar dates, HH:MM times of day; and
// the v1.1 values the publisher's schedule source writes too (`#rrggbb`
// colours, fraction rectangles), so both sides apply one rule.
// Invariant: every reader is total: it returns nullopt for anything that is
// not exactly the expected form, never a guess (no local-time fallback, no
// "24:00", no two-digit years).
#pragma once

#include "schedule/manifest.h"

#include <QDate>
#include <QDateTime>
#include <QJsonValue>
#include <QString>

#include <cstdint>
#include <optional>

namespace stoa::schedule {

// A JSON number that is a whole number representable as int64 (42 and 42.0
// both qualify; 4.5, 1e300, "42" do not).
std::optional<std::int64_t> jsonInteger(const QJsonValue &value);

// RFC 3339 date-time with a mandatory offset ('Z' or ±HH:MM) and optional
// fractional seconds, returned in UTC.
std::optional<QDateTime> parseRfc3339(const QString &text);

// "YYYY-MM-DD", a real calendar date.
std::optional<QDate> parseIsoDate(const QString &text);

// "HH:MM" with 00 <= HH <= 23, 00 <= MM <= 59, as minutes since midnight.
std::optional<int> parseTimeOfDay(const QString &text);
// Minutes since midnight as "HH:MM" (1440, a window's end at midnight, is "24:00").
QString timeOfDayText(int minute);

// "#rrggbb", hex digits in either case (v1.1 §12 colours).
std::optional<Rgb> parseRgb(const QString &text);
// "#rrggbb" in lowercase, as written into manifests.
QString rgbText(Rgb colour);

// What is wrong with a v1.1 §12/§13 rectangle, naming the field ("w must be
// greater than 0", "x + w = 1.2 is over 1"); nullopt when it is valid.
std::optional<QString> rectProblem(const FractionRect &rect);

} // namespace stoa::schedule
