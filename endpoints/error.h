// endpoints/error.h — how the endpoints module reports failure.
//
// Every fallible call at this module's boundary returns Result<T>; no
// exception leaves it (handler exceptions are caught and answered with 500).
// The message is for logs and operators; the code lets callers react.
//
// These are set-up faults: a metric registration breaking the naming rules
// (a programming error: orDetached() logs it and the process runs on), a
// listen address from the configuration, a port that cannot be bound. The
// processes log the message and carry on without the series or the
// endpoints; the codes are for tests and for a caller that wants to say
// which it was. Not cache::Error (cache/error.h), whose codes are run-time
// conditions of the store that callers branch on: the two share only the
// std::expected shape, each with its own codes, and neither module may
// include the other (docs/architecture.md).
#pragma once

#include <expected>
#include <string>

namespace stoa::endpoints {

enum class ErrorCode {
    InvalidName,       // a metric or label name breaks the naming rules (metrics.h)
    InvalidArgument,   // anything else malformed: buckets, label counts, help text
    AlreadyRegistered, // the name exists with a different type, help, labels or buckets
    BadAddress,        // a listen address that is not ADDR:PORT (server.h)
    Bind,              // socket()/bind()/listen() failed (message carries errno text)
    Io,                // another OS call failed
    AlreadyRunning,    // start() on a server that is serving
};

struct Error {
    ErrorCode code = ErrorCode::Io;
    std::string message;
};

template <class T>
using Result = std::expected<T, Error>;

inline std::unexpected<Error> fail(ErrorCode code, std::string message)
{
    return std::unexpected(Error{code, std::move(message)});
}

} // namespace stoa::endpoints
