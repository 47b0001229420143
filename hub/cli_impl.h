// hub/cli_impl.h — what the `stoa-hub` subcommands share (cli.h is the
// command line itself): parsed options, the usage error, the storage a
// maintenance subcommand works on, files read whole; and the subcommands,
// one file per kind: cli_serve.cpp (serve), cli_admin.cpp (device and
// operator maintenance on the database), cli_api.cpp (scripts over a
// running hub's API). cli.cpp dispatches.
// Invariants: what went wrong goes to stderr with cli.h's exit codes; a
// command that issues a token prints it alone on the last line of stdout.
// Internal to those files.
#pragma once

#include "hub/cli.h"
#include "hub/storage.h"

#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace stoa::hub::cli {

struct Parsed {
    std::vector<std::string> positional;
    std::map<std::string, std::string> flags;
    std::string error;
};

// `known` options take a value; `switches` take none (their value is "").
Parsed parse(const std::vector<std::string> &args, std::initializer_list<const char *> known,
             std::initializer_list<const char *> switches = {});

// Prints `message` and the usage on stderr; returns 2.
int usageError(const std::string &message);
std::int64_t nowMs();
// The storage a maintenance subcommand works on, migrated.
// Errors print on stderr and set `exitCode`.
std::optional<std::unique_ptr<Storage>> openFor(const Parsed &p, int &exitCode);
// Prints the error; 1 for a refusal (conflict, unknown id, invalid), else 3.
int exitFor(const StorageError &e);
// `path`'s bytes appended to `out`; false when it cannot be read.
bool readFile(const std::string &path, std::string &out);

int serve(const std::vector<std::string> &args, const ServeHooks &hooks); // cli_serve.cpp
int device(const std::vector<std::string> &args);                       // cli_admin.cpp
int operatorCmd(const std::vector<std::string> &args);                  // cli_admin.cpp
// devices, media, schedule, command, call: cli_api.cpp.
int apiCommand(const std::string &cmd, const std::vector<std::string> &args);

} // namespace stoa::hub::cli
