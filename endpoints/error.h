// endpoints/error.h — how the endpoints module reports failure.
//
// Every fallible call at this module's boundary returns Result<T>; no
// exception leaves it (handler exceptions are caught and answered with 500).
// The message is for logs and operators; the code lets callers react.
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
