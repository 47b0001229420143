// tools/tool_error.h — the error value of the stoa_tools library.
//
// Job: say what went wrong and which of the documented exit codes it maps to
// (docs/stoa-command.md). Library functions return std::expected<T, ToolError>;
// only the `stoa` executable turns a ToolError into an exit code and stderr.
// Invariant: `message` is one operator-readable line (or a few, for source
// files: "schedule.ini:12: ..."), no trailing period.
#pragma once

#include <QString>

namespace stoa::tools {

enum class ErrorKind {
    Invalid, // exit 1: verification / validation failed (bad source, bad signature, expired ...)
    Usage,   // exit 2: the command line is wrong
    Io,      // exit 3: a file could not be read or written, or would be overwritten
};

struct ToolError {
    ErrorKind kind;
    QString message;
};

inline ToolError invalid(QString message) { return {ErrorKind::Invalid, std::move(message)}; }
inline ToolError usage(QString message) { return {ErrorKind::Usage, std::move(message)}; }
inline ToolError ioError(QString message) { return {ErrorKind::Io, std::move(message)}; }

} // namespace stoa::tools
