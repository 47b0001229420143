// cache/error.h — how the store reports failure.
//
// Every fallible call of the cache module returns Result<T>; no exception
// leaves the module. The message is for logs and operators, the code is for
// callers that react differently (a full disk is not a corrupt blob).
//
// The codes are the module's contract: they name conditions of the device's
// disk and database that come and go at run time, and callers branch on
// them (sync/downloads.cpp: NoSpace/DiskFull hold a manifest back for space,
// Hash/SizeMismatch fetch the blob again; player/main.cpp: Busy means the
// agent holds the store, play from the mirror). endpoints::Error
// (endpoints/error.h) has the same two fields but is another idea, set-up
// faults its callers only log; no code converts one into the other, and no
// module lies below both to hold a shared type (endpoints depends on nothing
// of ours, and a shared "result" header would be the common/ module the tree
// does without). What they share is std::expected with a module's own error,
// as publish::Error, settings::SettingsError and hub::StorageError do.
#pragma once

#include <expected>
#include <string>

namespace stoa::cache {

enum class ErrorCode {
    Io,              // an OS call failed (message carries errno text)
    DiskFull,        // ENOSPC/EDQUOT while writing
    NoSpace,         // quota or free-disk floor cannot fit the request, even after eviction
    SizeMismatch,    // bytes written differ from the declared size
    HashMismatch,    // SHA-256 of the bytes differs from the name
    Database,        // SQLite reported an error
    Corrupt,         // something on disk is not what the store wrote
    Busy,            // another writer holds the resource
    InvalidArgument, // caller passed something malformed (bad hex, negative size)
    NotFound,
    Rollback,        // a manifest version not above the rollback floor
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

// "what: strerror(err)" — for OS failures.
Error osError(const std::string &what, int err);

} // namespace stoa::cache
