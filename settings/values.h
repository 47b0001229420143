// settings/values.h — the syntax of one stoa.conf value, per type.
//
// Job: the one parser for each value type of the key table (keys.h): sizes,
// integers, seconds, milliseconds, on/off, HH:MM-HH:MM windows and listen
// addresses. Pure functions; ranges are the table's business, not these.
// Invariants: a parser accepts the whole text or nothing (no trailing
// junk); a size is never negative and never wraps (`-1` and an overflowing
// `99999999999G` are errors); milliseconds take no suffix.
#pragma once

#include <chrono>
#include <cstdint>
#include <expected>
#include <string>
#include <string_view>
#include <utility>

namespace stoa::settings {

// The error of a parser: what a good value would have looked like.
using Expected = std::string;

// Digits with an optional K, M or G (any case; powers of 1024): bytes.
std::expected<std::uint64_t, Expected> parseSize(std::string_view text);

// An optional '-' and digits.
std::expected<std::int64_t, Expected> parseInt(std::string_view text);

// Seconds, possibly fractional ("2.5"): rounded to milliseconds; at most 10^7 s.
std::expected<std::chrono::milliseconds, Expected> parseSeconds(std::string_view text);

// Whole milliseconds: digits only.
std::expected<std::chrono::milliseconds, Expected> parseMillis(std::string_view text);

// "on" or "off".
std::expected<bool, Expected> parseOnOff(std::string_view text);

// "HH:MM-HH:MM" (local time; may wrap midnight) -> minutes since midnight.
std::expected<std::pair<int, int>, Expected> parseWindow(std::string_view text);

// "ADDR:PORT" or "[v6]:PORT" or "localhost:PORT": the endpoint server does
// the real parse and reports a bind failure; this catches typos at load time.
std::expected<void, Expected> checkAddress(std::string_view text);

} // namespace stoa::settings
