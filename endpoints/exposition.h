// endpoints/exposition.h — the lexical pieces of the Prometheus text
// exposition format 0.0.4: sample values, label values and HELP text.
//
// Invariants: formatValue() output is accepted by Prometheus's parser (Go's
// strconv.ParseFloat) and round-trips to the same double; escaped strings
// are valid UTF-8 (invalid input bytes become U+FFFD) with no raw newline.
#pragma once

#include <string>
#include <string_view>

namespace stoa::endpoints::exposition {

// Shortest round-trip decimal ("0", "0.25", "1e+21"); "NaN", "+Inf", "-Inf"
// spelled as Prometheus spells them.
std::string formatValue(double v);

// Label value inside double quotes: \ → \\, " → \", newline → \n.
void appendLabelValue(std::string &out, std::string_view value);

// HELP text: \ → \\, newline → \n (quotes stay as they are, per 0.0.4).
void appendHelp(std::string &out, std::string_view help);

// The content type /metrics answers with.
inline constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

} // namespace stoa::endpoints::exposition
