// publish/error.h — the error value of the publishing library (and of the
// `stoa` command's own libraries above it).
//
// Job: say what went wrong and which of the documented exit codes it maps to
// (docs/stoa-command.md). Library functions return std::expected<T, Error>;
// only an executable turns an Error into an exit code and stderr (`stoa`), or
// into an answer (the coming hub).
// Invariant: `message` is one operator-readable line (or a few, for source
// files: "schedule.ini:12: ..."), no trailing period.
#pragma once

#include <QString>

namespace stoa::publish {

enum class ErrorKind {
    Invalid, // exit 1: verification / validation failed (bad source, bad signature, expired ...)
    Usage,   // exit 2: the command line is wrong
    Io,      // exit 3: a file could not be read or written, or would be overwritten
};

struct Error {
    ErrorKind kind;
    QString message;
};

inline Error invalid(QString message) { return {ErrorKind::Invalid, std::move(message)}; }
inline Error usage(QString message) { return {ErrorKind::Usage, std::move(message)}; }
inline Error ioError(QString message) { return {ErrorKind::Io, std::move(message)}; }

} // namespace stoa::publish
