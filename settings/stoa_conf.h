// settings/stoa_conf.h — reading /etc/stoa/stoa.conf into `Settings`.
//
// Job: the one reader of the file both device processes share: `key =
// value` lines, `#` starts a comment, blank lines are nothing; each key is
// checked against the table (keys.h) and its value converted to its type
// once, here. Two modes, one syntax and one error format:
//   Strict  (stoa-syncd, `stoa-syncd --check-config`, `stoa provision`):
//           the first problem is the answer; nothing may be guessed.
//   Lenient (stoa-player): every good line applies, every bad line is a
//           problem to show (the player never goes dark over a typo).
// Invariants: a problem names the file and line ("stoa.conf:12: unknown key
// 'sever'", "stoa.conf:3: bad value for 'quota': '-1'"); a bad line never
// changes a value; a key of the other process is known, never an error;
// every problem is logged (stoa.settings) with what a good value looks like.
#pragma once

#include "settings/keys.h"

#include <QString>

#include <expected>
#include <string>
#include <string_view>
#include <vector>

namespace stoa::settings {

inline constexpr const char *kDefaultConfigFile = "/etc/stoa/stoa.conf";

struct SettingsError {
    std::string file;     // as given; empty for a flag
    int line = 0;         // 0: the file as a whole, or a flag
    std::string key;      // empty when the line has none
    std::string message;  // "unknown key 'sever'", "bad value for 'quota': 'lots'"
    std::string expected; // for a bad value: what a good one looks like

    // The one format: "stoa.conf:12: bad value for 'quota': 'lots'".
    std::string text() const;
};

enum class Mode { Strict, Lenient };
enum class IfMissing { Skip, Error }; // the default file may be absent; a named one must exist

// Applies `path`'s lines to `into` in file order (a later line wins).
// Strict: at most one problem, and reading stops there. Lenient: all of them.
std::vector<SettingsError> readFile(const QString &path, Settings &into, Mode mode, IfMissing ifMissing);

// One value from the command line (a flag or `--set key=value`): the same
// checks as a line of the file. Errors: "unknown config key 'k'", "bad
// value for 'k': 'v'".
std::expected<void, SettingsError> setValue(Settings &into, std::string_view key, std::string_view value);

// The rules that span keys (backoff_cap_s not below backoff_base_s): after
// the file and the flags, in strict mode.
std::expected<void, SettingsError> checkTogether(const Settings &settings);

// docs/configuration.md's key table, made from the table (tests/settings
// compares the two, so the doc cannot drift).
std::string markdownKeyTable();

// The key names read by `reader` (Both counts for either), space separated,
// in table order; for usage texts.
std::string keyNames(Reader reader);

} // namespace stoa::settings
